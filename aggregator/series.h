/*
 * series.h - the label table: one series per label tuple, keyed by XXH3 of
 * the tuple, open addressing with linear probing, all memory allocated at
 * series_table_init for max_series + SERIES_OVERFLOW_SLOTS series.
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

/* Exact Prometheus bucket counts (not cumulative; index hist_bucket_index)
 * with count and sum. */
#define SERIES_BUCKETS (HIST_MAX_BOUNDS + 1)
struct series_buckets {
	uint64_t n[SERIES_BUCKETS];
	uint64_t count;
	uint64_t sum; /* in the recorded unit: ns or tokens */
};

/* gen_ai_token_type values kept apart. */
enum series_token_type {
	SERIES_TOK_INPUT = 0,
	SERIES_TOK_OUTPUT = 1,
	SERIES_TOK_CACHED_INPUT = 2,
	SERIES_TOK_REASONING = 3,
	SERIES_TOK_TYPES
};

struct series {
	struct series_key key;
	uint64_t hash;
	int32_t price; /* index in agg_config.prices, or SERIES_NO_PRICE */
	uint32_t reserved;
	struct series_stats st;
	/* tokenring family */
	struct series_buckets tr_duration, tr_ttft, tr_tpot;
	/* gen_ai family: client series (reporter source) use the client
	 * boundaries, server series the server ones */
	struct series_buckets ga_duration, ga_ttft, ga_tpot;
	struct series_buckets ga_tokens[SERIES_TOK_TYPES];
	/* istio family */
	struct series_buckets is_duration;
	/* quantile sketches: cumulative and current summary interval */
	struct hist q_duration, q_ttft;
	struct hist iv_duration, iv_ttft;
	struct series_stats iv_base; /* st at the start of the interval */
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
	uint32_t *index;     /* open addressing: 0 empty, else series index + 1 */
	uint32_t mask;
	int32_t overflow_slot[SERIES_OVERFLOW_SLOTS]; /* series index or -1 */
	struct series_values values[SERIES_BOUNDED];
	uint64_t overflow_records;
	uint64_t label_overflow[SERIES_BOUNDED];
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

/* Label name of a bounded label for tokenring_label_overflow_total. */
const char *series_bounded_name(unsigned i, const struct agg_config *cfg);

/* XXH3 of a key. */
uint64_t series_key_hash(const struct series_key *k);

#endif
