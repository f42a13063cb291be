/*
 * hist.h - latency and size distributions for the aggregation core.
 *
 * Two different jobs, two different tools, because one structure cannot do
 * both exactly within fixed memory:
 *
 * 1. Prometheus buckets (hist_bounds + hist_bucket_index): a family's
 *    histogram has fixed boundaries known at compile time. Each series
 *    keeps one counter per boundary of the *union* of the boundaries every
 *    family uses for that quantity (hist_u_*: tokenring, gen_ai and Envoy's
 *    durations in one set), and the record's exact integer value
 *    (nanoseconds or tokens) is compared with the exact integer boundaries.
 *    A family's cumulative count at its le=B is the union's cumulative
 *    count at B (B is in the union): exactly the samples <= B, at every
 *    boundary of every family, with no rounding, and one counter array and
 *    one search per quantity at ingest instead of one per family.
 *
 * 2. Quantiles for the JSON outputs (struct hist): a log-linear sketch with
 *    HIST_SUB buckets per power of two ("octave"), i.e. bucket width at most
 *    1/64 of its lower edge. A quantile is answered with the middle of the
 *    bucket holding the nearest-rank sample, so the relative error is at
 *    most 1/128 (< 0.8%); values below HIST_SUB are exact. The fine buckets
 *    of an octave live in 256-byte chunks taken from a hist_pool allocated
 *    once at start: a series only pays for the octaves its samples touch
 *    (LLM latencies of one series span a few octaves). When the pool is
 *    empty the octave still counts its samples and a quantile falling there
 *    is answered with the octave's middle (coarser, and counted in
 *    hist_pool.exhausted); memory never grows. Octave and fine counters are
 *    32-bit and saturate (4.29e9 samples of one series in one octave), the
 *    total count is 64-bit.
 *
 * Not thread-safe; the aggregation loop owns all of it.
 */
#ifndef TOKENRING_HIST_H
#define TOKENRING_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS) /* fine buckets per octave */
/* Octave 0 is [0, 64) at width 1; octave o >= 1 is [64 << (o-1), 64 << o)
 * at width 1 << (o-1). 38 octaves reach 2^43 (2.4 hours in ns); larger
 * values count in the last bucket (max stays exact). */
#define HIST_OCTAVES 38
#define HIST_NO_CHUNK 0u

struct hist_pool {
	uint32_t (*chunks)[HIST_SUB]; /* chunk i at chunks[i - 1]; 0 = none */
	uint32_t nchunks;
	uint32_t free_head; /* free list threaded through chunk word 0 */
	uint32_t in_use;
	uint64_t exhausted; /* samples that found no chunk for their octave */
};

/* One octave: its sample count and its fine chunk side by side, so an add
 * touches one line of the sketch besides the header and the chunk. */
struct hist_octave {
	uint32_t n;     /* samples in the octave (saturating at UINT32_MAX) */
	uint32_t chunk; /* pool index + 1, or HIST_NO_CHUNK */
};

struct hist {
	uint64_t count;
	uint64_t sum; /* saturating */
	uint64_t min;
	uint64_t max;
	struct hist_octave oct[HIST_OCTAVES];
};

/* Pool of nchunks chunks (0 is allowed: octave resolution only).
 * Returns 0 or -ENOMEM. */
int hist_pool_init(struct hist_pool *p, uint32_t nchunks);
void hist_pool_destroy(struct hist_pool *p);

void hist_init(struct hist *h);
/* Record one value. Never allocates; O(1). */
void hist_add(struct hist *h, struct hist_pool *p, uint64_t v);
/* Add every sample of src to dst (src unchanged). dst takes chunks from the
 * pool for octaves it had none for; if the pool is empty those samples keep
 * octave resolution (counted in exhausted). */
void hist_merge(struct hist *dst, const struct hist *src, struct hist_pool *p);
/* Forget every sample and give the chunks back to the pool. */
void hist_reset(struct hist *h, struct hist_pool *p);
/* Estimate of the nearest-rank q-quantile (sample of rank ceil(q * count),
 * q in [0, 1]), clamped to [min, max]. 0 when empty. */
double hist_quantile(const struct hist *h, const struct hist_pool *p, double q);
/* Same over the union of n sketches (a group of series), without merging
 * them into new memory. */
double hist_quantile_n(const struct hist *const *h, unsigned n, const struct hist_pool *p,
		       double q);

/* Fine bucket of v: octave and index within it; and the bucket's range. */
void hist_locate(uint64_t v, unsigned *octave, unsigned *sub);
uint64_t hist_bucket_lower(unsigned octave, unsigned sub);
uint64_t hist_bucket_width(unsigned octave);

/*
 * Fixed Prometheus boundaries. le[] are in the recorded unit (ns, or
 * tokens), strictly increasing; text[] is how each boundary is printed in
 * the family's unit (seconds, milliseconds, tokens).
 */
struct hist_bounds {
	const uint64_t *le;
	const char *const *text;
	unsigned n;
};

/* Index of the first boundary with v <= le[i]; n (the +Inf bucket) if none.
 * Counting samples per index and summing indexes 0..i gives exactly the
 * samples <= le[i]. */
unsigned hist_bucket_index(const struct hist_bounds *b, uint64_t v);
/* Same for the ratio num/den (den > 0) compared exactly: num <= le*den. */
unsigned hist_bucket_index_ratio(const struct hist_bounds *b, uint64_t num, uint64_t den);

/* The boundary sets of the families (see hist.c for the values). */
#define HIST_MAX_BOUNDS 20 /* in one family's set */
extern const struct hist_bounds hist_tr_duration;   /* tokenring, seconds */
extern const struct hist_bounds hist_tr_ttft;       /* tokenring, seconds */
extern const struct hist_bounds hist_tr_tpot;       /* tokenring, seconds */
extern const struct hist_bounds hist_genai_duration; /* 0.01 .. 81.92 s doubling */
extern const struct hist_bounds hist_genai_client_tpoc; /* time per output chunk */
extern const struct hist_bounds hist_genai_server_ttft; /* 0.001 .. 10 s */
extern const struct hist_bounds hist_genai_server_tpot; /* 0.01 .. 2.5 s */
extern const struct hist_bounds hist_genai_tokens;   /* 1, 4, 16 .. 67108864 */
extern const struct hist_bounds hist_istio_duration; /* Envoy defaults, ms */

/* What series store: unions of the family sets per quantity (text NULL).
 * Every boundary of a family set is in its union (tested). */
#define HIST_U_DURATION_N 33 /* tr_duration + genai_duration + istio_duration */
#define HIST_U_TTFT_N 29     /* tr_ttft + genai_duration (client) + genai_server_ttft */
#define HIST_U_TPOT_N 17     /* tr_tpot + genai_server_tpot */
#define HIST_TPOC_N 13       /* genai_client_tpoc */
#define HIST_TOKENS_N 14     /* genai_tokens */
#define HIST_MAX_UNION HIST_U_DURATION_N
extern const struct hist_bounds hist_u_duration;
extern const struct hist_bounds hist_u_ttft;
extern const struct hist_bounds hist_u_tpot;

#endif
