/*
 * expo.h - shared pieces of the Prometheus text exposition (format 0.0.4)
 * used by the expo_<family>.c renderers: number formatting without printf,
 * HELP/TYPE headers, label writing with escaping, and render-time grouping.
 *
 * Grouping: a family shows a subset of the label tuple (asm shows four of
 * its labels, gen_ai maps response_code to error_type, ...). Two series
 * differing only in hidden labels must become one exposed series, or the
 * scrape would carry duplicates. expo_group() projects every series key
 * (the projection zeroes or rewrites what the family does not show),
 * groups equal projections, and renders each group's label text once;
 * the *_lines() helpers then sum members per group. All scratch memory is
 * allocated at agg_create; only the output strbuf grows.
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

/* Group the live series by project() and render each group's labels.
 * project may be NULL (identity). 0 or -ENOMEM. */
int expo_group(const struct agg *a, expo_project_fn project, expo_labels_fn labels);

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

/* Histogram lines for struct series_buckets at offset off: cumulative
 * _bucket per boundary and +Inf, _sum (recorded unit scaled down by
 * 10^sum_digits) and _count. Groups whose count is 0 are left out. */
int expo_hist_lines(const struct agg *a, struct strbuf *b, const char *name, size_t off,
		    const struct hist_bounds *bounds, unsigned sum_digits, expo_filter_fn filter,
		    const char *extra);

/* Members of group g: for (i = gfirst[g]; i != EXPO_END; i = next[i]). */
#define EXPO_END UINT32_MAX

bool expo_is_source(const struct series_key *k);
bool expo_is_destination(const struct series_key *k);

#endif
