/*
 * agg_internal.h - the aggregation core's private state, shared by agg.c,
 * the expo_*.c renderers and summary.c. Not part of the loop contract.
 */
#ifndef TOKENRING_AGG_INTERNAL_H
#define TOKENRING_AGG_INTERNAL_H

#include <stdint.h>

#include "agg.h"
#include "hist.h"
#include "series.h"
#include "strbuf.h"

/* Render-time grouping scratch (allocated at create, reused per scrape):
 * families whose labels are a subset of the tuple merge series that differ
 * only in dropped labels, so no two exposed series share a label set. */
struct expo_scratch {
	uint32_t *gindex;         /* open addressing over groups: 0 empty, else g + 1 */
	uint32_t gmask;
	struct series_key *gkeys; /* projected key of group g */
	uint64_t *ghash;
	uint32_t *gfirst;         /* first member series of group g */
	uint32_t *next;           /* next member of the same group, per series; UINT32_MAX ends */
	uint32_t *glast;          /* last member (building only) */
	uint32_t ngroups;
	struct strbuf labels;     /* rendered label text of every group */
	size_t *loff;             /* group g's labels at labels.data + loff[g] */
	uint32_t *llen;
	const struct hist **hptr; /* members' sketches for a group quantile */
};

struct agg {
	struct agg_config cfg;
	struct series_table tab;
	struct hist_pool pool;
	struct expo_scratch *x; /* mutable from const renderers */
	uint64_t records;       /* ingested */
};

#define AGG_HIST_CHUNKS_PER_SERIES 8u /* pool sizing: 4 sketches x 2 octaves */

/* Per-family renderers (expo_<family>.c). Each appends its metric families
 * to out; 0 or -ENOMEM. */
int expo_tokenring(const struct agg *a, struct strbuf *out);
int expo_gen_ai(const struct agg *a, struct strbuf *out);
int expo_asm(const struct agg *a, struct strbuf *out);
int expo_istio(const struct agg *a, struct strbuf *out);
int expo_kgateway(const struct agg *a, struct strbuf *out);
int expo_self(const struct agg *a, const struct agg_self *self, struct strbuf *out);

#endif
