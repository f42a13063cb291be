/*
 * expo.h - shared pieces of the Prometheus text exposition (format 0.0.4)
 * used by the expo_<family>.c renderers: number formatting without printf,
 * HELP/TYPE headers, label writing with escaping, and render-time grouping.
 *
 * Grouping: a family shows a subset of the label tuple (asm shows four of
 * its labels, gen_ai maps response_code to error_type, ...). Two series
 * differing only in hidden labels must become one exposed series, or the
 * scrape would carry duplicates. expo_group() projects each series key
 * (the projection zeroes or rewrites what the family does not show),
 * groups equal projections, and renders a group's label text once, when
 * the group appears; groupings persist across scrapes (keys never change)
 * and only new series are added. The *_lines() helpers then sum members
 * per group. Grouping arrays are allocated at agg_create; the label text
 * and the output strbuf grow.
 */
#ifndef TOKENRING_EXPO_H
#define TOKENRING_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg_internal.h"

/* Decimal of v into buf (>= 21 bytes, not terminated); returns the length. */
size_t expo_utoa(char *buf, uint64_t v);
/* Decimal of v. */
int expo_u64(struct strbuf *b, uint64_t v);
/* v / 10^digits, exactly, trailing fractional zeros trimmed ("1.5", "2"). */
int expo_scaled(struct strbuf *b, uint64_t v, unsigned digits);
/* A double, printed so that it reads back exactly. */
int expo_double(struct strbuf *b, double v);

/* "# HELP name help\n# TYPE name type\n" */
int expo_header(struct strbuf *b, const char *name, const char *help, const char *type);

/* Append `name="value"` (value escaped, read up to n bytes), preceded by a
 * comma unless *first. */
int expo_label(struct strbuf *b, bool *first, const char *name, const char *value, size_t n);

typedef void (*expo_project_fn)(const struct series_key *in, struct series_key *out);
typedef int (*expo_labels_fn)(struct strbuf *b, const struct series_key *k,
			      const struct agg_config *cfg);
typedef bool (*expo_filter_fn)(const struct series_key *k);

/* Parts of a key a family shows (expo_keep). */
#define EXPO_KEEP_REPORTER (1u << 0)
#define EXPO_KEEP_WORKLOAD (1u << 1) /* workload and namespace */
#define EXPO_KEEP_DEST (1u << 2)
#define EXPO_KEEP_PROVIDER (1u << 3)
#define EXPO_KEEP_OPERATION (1u << 4)
#define EXPO_KEEP_MODEL (1u << 5)
#define EXPO_KEEP_RESPONSE_MODEL (1u << 6)
#define EXPO_KEEP_CODE (1u << 7)
#define EXPO_KEEP_LABELS (1u << 8)
/* out = the parts of in named by keep, everything else zero. */
void expo_keep(const struct series_key *in, struct series_key *out, unsigned keep);

/* Make grouping `which` current, extended to every live series: series
 * created since the last call join their group (project() of their key;
 * NULL = identity) and a new group's labels are rendered once. Returns the
 * grouping, or NULL on -ENOMEM. */
struct expo_groups *expo_group(const struct agg *a, enum expo_grouping which,
			       expo_project_fn project, expo_labels_fn labels);

/* The key of group g's first member: what filters look at (the reporter
 * is kept by every projection). */
static inline const struct series_key *expo_gkey(const struct agg *a,
						 const struct expo_groups *x, uint32_t g)
{
	return &a->tab.series[x->gfirst[g]].key;
}

/* Counter/gauge lines: for each group passing filter (NULL = all),
 * `name{labels[,extra]} sum` of the uint64_t at offset `off` in struct
 * series over the group's members. extra may be NULL. */
int expo_u64_lines(const struct agg *a, struct strbuf *b, const char *name, size_t off,
		   expo_filter_fn filter, const char *extra);
/* Same, leaving out groups whose sum is 0 (e.g. one line per status). */
int expo_u64_lines_nonzero(const struct agg *a, struct strbuf *b, const char *name, size_t off,
			   expo_filter_fn filter, const char *extra);
/* One sample line: name{labels[,extra]} and the value to follow. */
int expo_line_start(struct strbuf *b, const char *name, const char *suffix, const char *labels,
		    size_t llen, const char *extra, const char *le);

/* Histogram lines for the SERIES_BUCKETS at offset off, stored over the
 * boundaries `store`, shown at the boundaries `show` (each of which is in
 * store; may be the same set): cumulative _bucket per shown boundary and
 * +Inf, _sum (recorded unit scaled down by 10^sum_digits) and _count.
 * Groups whose count is 0 are left out. */
int expo_hist_lines(const struct agg *a, struct strbuf *b, const char *name, size_t off,
		    const struct hist_bounds *store, const struct hist_bounds *show,
		    unsigned sum_digits, expo_filter_fn filter, const char *extra);

/* Protobuf exposition (expo_pb.c): expo_hist_lines hands each histogram
 * group it renders (sketch behind `off`, unit from sum_digits) to the
 * native capture, which does nothing unless a protobuf render is running.
 * *native_only is set when the group's native part replaces its classic
 * buckets (no _bucket lines needed: only _sum and _count are written).
 * 0 or -ENOMEM. */
int expo_native_capture(const struct agg *a, uint32_t g, size_t off, unsigned sum_digits,
			bool *native_only);

/* Members of group g: for (i = gfirst[g]; i != EXPO_END; i = next[i]).
 * The *_lines() helpers render over the current grouping (a->x->cur). */
#define EXPO_END UINT32_MAX

/* gen_ai.provider.name of a provider: the spec's well-known value where it
 * has one (gcp.gemini, azure.ai.openai), else rec_provider_name. */
const char *expo_gen_ai_provider(unsigned p);

bool expo_is_source(const struct series_key *k);
bool expo_is_destination(const struct series_key *k);

#endif
