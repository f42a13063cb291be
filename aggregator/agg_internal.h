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

/* Render-time grouping: families whose labels are a subset of the tuple
 * merge series that differ only in dropped labels, so no two exposed
 * series share a label set. A series' key never changes and series are
 * never removed, so each family's grouping is kept from scrape to scrape
 * and only extended with the series created since (expo_group); a group's
 * label text is escaped once, when the group appears. Allocated at
 * agg_create; the label text is the one buffer that grows (bounded by the
 * groups, so by --max-series). */
enum expo_grouping {
	EXPO_G_TOKENRING,
	EXPO_G_GEN_AI,
	EXPO_G_ASM,
	EXPO_G_ISTIO,
	EXPO_G_KGATEWAY,
	EXPO_G_SUMMARY,
	EXPO_GROUPINGS
};

struct expo_groups {
	uint32_t *gindex; /* open addressing over groups: 0 empty, else g + 1 */
	uint32_t gmask;
	uint64_t *ghash;  /* hash of group g's projected key */
	uint32_t *gfirst; /* first member series of group g (its representative) */
	uint32_t *glast;  /* last member */
	uint32_t *next;   /* next member of the same group, per series; EXPO_END ends */
	uint32_t ngroups;
	uint32_t built;      /* series [0, built) are grouped */
	struct strbuf labels; /* rendered label text of every group */
	size_t *loff;         /* group g's labels at labels.data + loff[g] */
	uint32_t *llen;
};

struct expo_scratch {
	struct expo_groups grp[EXPO_GROUPINGS];
	struct expo_groups *cur; /* the grouping expo_group last made current */
	struct strbuf line;      /* one series' line prefix */
	const struct hist **hptr; /* members' sketches for a group quantile (2 per series) */
	struct expo_native *native; /* protobuf exposition scratch (expo_pb.c), lazily */
	struct otlp_cache *otlp;    /* OTLP attribute text per series (otlp_json.c), lazily */
};

/* A record's raw tuple bytes: everything series_key_from_record reads to
 * build the key (and a little more, which only splits cache entries), so
 * equal fingerprints mean equal keys. Compared whole, never hashed for
 * identity: a cache hit is exact. */
struct agg_fp {
	uint8_t reporter, provider, operation, reserved;
	uint16_t status;
	uint16_t reserved2;
	char identity[RING_WORKLOAD_LEN + RING_NAMESPACE_LEN]; /* agg_identity, or zeros */
	char strings[3 * REC_MODEL_LEN]; /* rec authority, request_model, response_model */
	struct rec_addr addr; /* the address the destination comes from, if no authority */
	char labels[REC_LABELS][REC_LABEL_LEN]; /* configured label slots, others zero */
	uint32_t reserved3;
};

_Static_assert(sizeof(struct agg_fp) == 400, "no padding: fingerprints compare with memcmp");

/* The tuple cache: fingerprint -> series, direct-mapped. A hit skips the
 * key, its 128-bit hash and the table probe (most of ingest's work: a
 * workload's records mostly repeat a few tuples). Only lookups that folded
 * nothing are cached (a fold counts per record). Series never move or go,
 * so an entry never goes stale. */
#define AGG_FP_SLOTS 256u
#define AGG_FP_EMPTY UINT32_MAX
struct agg_fp_cache {
	struct agg_fp key[AGG_FP_SLOTS];
	uint32_t series[AGG_FP_SLOTS]; /* index in tab.series, or AGG_FP_EMPTY */
	bool labels;                   /* any header label configured */
};

struct agg {
	struct agg_config cfg;
	struct agg_fp_cache *fp;
	struct series_table tab;
	struct hist_pool pool;
	struct expo_scratch *x; /* mutable from const renderers */
	struct mcp_table *mcp;  /* MCP calls, apart from the LLM series (mcp.h) */
	uint64_t records;       /* ingested */
	uint64_t parse_errors;  /* records flagged REC_F_PARSE_ERROR */
	bool avx2;              /* the CPU has AVX2 (agg.c's tuple compare) */
};

/* agg_tuple.c: which series a record counts in. */

/* A record's tuple as a key: series_key_from_record, with the header label
 * slots the daemon has no name for cleared (whatever a producer put there
 * must not split series that render with identical labels). */
void agg_tuple_key(const struct agg *a, struct series_key *k, const struct tr_record *rec,
		   const struct agg_identity *id);
/* The series of key k (h: its hash), created if new; fp (the tuple's raw
 * bytes) is remembered in cache slot `slot` unless the lookup folded.
 * *unfolded: the lookup folded nothing (so an equal tuple finds s again
 * without a fold to count). */
struct series *agg_tuple_find(struct agg *a, struct series_key *k, struct series_hash h,
			      const struct agg_fp *fp, uint32_t slot, bool *unfolded);
/* One record's series: the tuple cache, else key and agg_tuple_find. */
struct series *agg_tuple_lookup(struct agg *a, const struct tr_record *rec,
				const struct agg_identity *id, bool *unfolded);
/* Where a run's series is, as agg_tuple_run found it. */
struct agg_run {
	struct series *hit; /* the tuple's cached series, or NULL: fp holds the tuple */
	uint32_t slot;      /* the tuple's cache slot */
	struct agg_fp fp;   /* for agg_tuple_find, when hit is NULL */
};
/* The run of records from recs[from] that share its tuple (ids may be
 * NULL): returns its end (the first record after it with another tuple, or
 * n), and fills *run. */
size_t agg_tuple_run(const struct agg *a, const struct tr_record *recs,
		     const struct agg_identity *const *ids, size_t from, size_t n,
		     struct agg_run *run);

/* Sketch pool sizing: 4 sketches per series (duration and TTFT, cumulative
 * and interval) x 4 octaves on average; a series' latencies typically span
 * 3-5 octaves, idle series take none. 4 KiB per series. */
#define AGG_HIST_CHUNKS_PER_SERIES 16u

/* True if name is a key of the summary objects (a header label may not
 * take one: the JSON would carry it twice). */
bool summary_field_reserved(const char *name);

/* Per-family renderers (expo_<family>.c). Each appends its metric families
 * to out; 0 or -ENOMEM. */
int expo_tokenring(const struct agg *a, struct strbuf *out);
int expo_gen_ai(const struct agg *a, struct strbuf *out);
int expo_asm(const struct agg *a, struct strbuf *out);
int expo_istio(const struct agg *a, struct strbuf *out);
int expo_kgateway(const struct agg *a, struct strbuf *out);
int expo_self(const struct agg *a, const struct agg_self *self, struct strbuf *out);
/* Frees the protobuf exposition scratch (expo_pb.c) and the OTLP cache
 * (otlp_json.c). */
void expo_native_free(struct expo_scratch *x);
void otlp_cache_free(struct expo_scratch *x);

#endif
