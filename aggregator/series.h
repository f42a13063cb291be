/*
 * series.h - the label table: one series per label tuple, keyed by XXH3 of
 * the tuple, open addressing with linear probing, all memory allocated at
 * series_table_init for max_series + SERIES_OVERFLOW_SLOTS series.
 *
 * Identity: a tuple is its 128-bit XXH3 (seeded per table at init), not a
 * byte compare of the 376-byte key: ingest then touches one line of the
 * series for the lookup instead of seven, which is most of the cost with
 * 10 k live series. Two tuples merge only if both 64-bit halves collide
 * (p ~ 2^-128 per pair); the stored key is for rendering.
 *
 * Bounds (never more memory, always counted):
 *  - per label value (model, response_model, each header label): at most
 *    max_values distinct values are admitted; a further new value becomes
 *    AGG_OTHER_VALUE and label_overflow[label] counts the record. Known
 *    values keep their series.
 *  - per table: past max_series live series, a new tuple folds into the
 *    overflow series of its reporter, whose key has model = AGG_OVERFLOW_MODEL,
 *    every other string label AGG_OVERFLOW_MODEL too, provider and operation
 *    unknown and response_code 0 (one series per reporter: 3 in all, so the
 *    fold itself is bounded). overflow_records counts the folded records.
 */
#ifndef TOKENRING_SERIES_H
#define TOKENRING_SERIES_H

#include <stdbool.h>
#include <stdint.h>

#include "agg.h"
#include "hist.h"
#include "record.h"
#include "ring.h"

#define SERIES_DEST_LEN 64
#define SERIES_OVERFLOW_SLOTS 3 /* one per reporter value */
#define SERIES_NO_PRICE (-1)

/* Labels with a value bound (index into label_overflow[]). */
enum series_bounded {
	SERIES_B_MODEL = 0,
	SERIES_B_RESPONSE_MODEL = 1,
	SERIES_B_LABEL0 = 2, /* header label 0 .. REC_LABELS-1 */
	SERIES_BOUNDED = SERIES_B_LABEL0 + REC_LABELS
};

/* The tuple. Fixed-size, zero-padded strings: equality is memcmp and the
 * hash covers the whole struct. */
struct series_key {
	uint8_t reporter;  /* enum rec_reporter */
	uint8_t provider;  /* enum rec_provider */
	uint8_t operation; /* enum rec_operation */
	uint8_t reserved;
	uint16_t response_code;
	uint16_t reserved2;
	char workload[RING_WORKLOAD_LEN];
	char namespace_[RING_NAMESPACE_LEN];
	char destination[SERIES_DEST_LEN];
	char model[REC_MODEL_LEN]; /* request model, else response model, else "unknown" */
	char response_model[REC_MODEL_LEN]; /* "" when the response named none */
	char labels[REC_LABELS][REC_LABEL_LEN];
};

/* Counters. Token counters only move for usage "available" records. */
struct series_stats {
	uint64_t requests;
	uint64_t status_class[6]; /* [0] no response or other, [1..5] 1xx..5xx */
	uint64_t req_bytes, resp_bytes;
	uint64_t prompt_tokens, completion_tokens, total_tokens;
	uint64_t cached_tokens, cache_creation_tokens, reasoning_tokens;
	uint64_t chunks;
	uint64_t usage[REC_USAGE_COUNT];
};

/* Exact Prometheus bucket counts over a boundary set of nb boundaries: the
 * sum (recorded unit, ns or tokens), then nb + 1 counts (not cumulative;
 * index hist_bucket_index; the last is +Inf). The count is not stored:
 * one line less to touch per observation. Generic code sees the words as
 * uint64_t[nb + 2]. */
#define SERIES_BUCKETS(nb)                                                                 \
	struct {                                                                           \
		uint64_t sum;                                                              \
		uint64_t n[(nb) + 1];                                                      \
	}

static inline uint64_t series_buckets_count(const uint64_t *words, unsigned nb)
{
	uint64_t c = 0;
	for (unsigned i = 0; i <= nb; i++)
		c += words[1 + i];
	return c;
}

/* gen_ai_token_type values kept apart. */
enum series_token_type {
	SERIES_TOK_INPUT = 0,
	SERIES_TOK_OUTPUT = 1,
	SERIES_TOK_CACHED_INPUT = 2,
	SERIES_TOK_REASONING = 3,
	SERIES_TOK_TYPES
};

struct series {
	uint64_t hash;  /* XXH3-128 low half (index tag from its high bits) */
	uint64_t hash2; /* high half */
	struct series_key key;
	int32_t price; /* index in agg_config.prices, or SERIES_NO_PRICE */
	uint32_t reserved;
	struct series_stats st;
	/* Prometheus buckets over the union of the families' boundaries (hist.h):
	 * duration (tokenring, gen_ai, istio), TTFT (streams), time per output
	 * token (streams with usage, > 1 token), time per output chunk (gen_ai
	 * client streams, > 1 chunk), tokens per request by type (gen_ai client) */
	SERIES_BUCKETS(HIST_U_DURATION_N) duration;
	SERIES_BUCKETS(HIST_U_TTFT_N) ttft;
	SERIES_BUCKETS(HIST_U_TPOT_N) tpot;
	SERIES_BUCKETS(HIST_TPOC_N) tpoc;
	SERIES_BUCKETS(HIST_TOKENS_N) tokens[SERIES_TOK_TYPES];
	/* quantile sketches: ingest feeds the current summary interval (iv_);
	 * agg_summary_lines folds it into the earlier intervals (q_), so the
	 * cumulative view is the union of both and ingest pays for one. */
	struct hist q_duration, q_ttft;
	struct hist iv_duration, iv_ttft;
	struct series_stats iv_base; /* st at the start of the interval */
	/* sketches of the other histograms, for the exports only (native
	 * histograms, OTLP exponential histograms; no summary quantile, so no
	 * interval twin): time per output token and per output chunk in
	 * seconds, tokens per request by type, each fed where its bucket words
	 * are */
	struct hist nh_tpot, nh_tpoc;
	struct hist nh_tokens[SERIES_TOK_TYPES];
};

/* A bounded set of distinct label values. */
struct series_values {
	struct series_value *slots; /* open addressing, power-of-two size */
	uint32_t mask;
	uint32_t count;
	uint32_t max;
};

struct series_table {
	struct series *series; /* [0, used): live series in creation order */
	uint32_t used;
	uint32_t max_series; /* regular series; overflow ones come on top */
	/* open addressing: 0 empty, else (hash >> 32) << 32 | (series index + 1),
	 * so a probe past another tuple's slot does not touch that series */
	uint64_t *index;
	uint32_t mask;
	int32_t overflow_slot[SERIES_OVERFLOW_SLOTS]; /* series index or -1 */
	struct series_values values[SERIES_BOUNDED];
	uint64_t overflow_records;
	uint64_t label_overflow[SERIES_BOUNDED];
	uint64_t seed;
};

/* Allocate for max_series (+ overflow) series and value sets of max_values.
 * Returns 0 or -ENOMEM / -EINVAL. */
int series_table_init(struct series_table *t, uint32_t max_series, uint32_t max_values);
void series_table_destroy(struct series_table *t);

/* Fill a key from a record: strings copied bounded (untrusted), model
 * resolved, destination from the authority's host, else the peer (reporter
 * source) or local (reporter destination) address as ip:port. */
void series_key_from_record(struct series_key *k, const struct tr_record *rec,
			    const struct agg_identity *id);

/* Find or create the series for k, applying the value bounds and the
 * series bound (k may be rewritten to the folded tuple). Never NULL.
 * *created tells whether a new series was made (its stats zeroed). */
struct series *series_lookup(struct series_table *t, struct series_key *k, bool *created);

/* The table's identity hash of k (seeded XXH3-128). */
struct series_hash {
	uint64_t lo, hi;
};
struct series_hash series_hash_key(const struct series_table *t, const struct series_key *k);
/* series_lookup with h = series_hash_key(t, k) already computed. */
struct series *series_lookup_hashed(struct series_table *t, struct series_key *k,
				    struct series_hash h, bool *created);
/* Prefetch helpers for batched ingest: the index slot of h, and the series
 * it most likely names (NULL if none yet). Read-only, never wrong to call. */
const void *series_slot_addr(const struct series_table *t, struct series_hash h);
struct series *series_peek(const struct series_table *t, struct series_hash h);

/* Label name of a bounded label for tokenring_label_overflow_total. */
const char *series_bounded_name(unsigned i, const struct agg_config *cfg);

/* "ip:port" or "[ip6]:port" of an endpoint, "" if its family is unknown. */
#define SERIES_ADDR_LEN 56 /* INET6_ADDRSTRLEN + brackets, colon, port */
void series_format_addr(char *dst, size_t cap, const struct rec_addr *a);

/* XXH3 of a key. */
uint64_t series_key_hash(const struct series_key *k);

#endif
