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
 * 2. Distributions at fine resolution (struct hist): an exponential sketch
 *    whose buckets are the ones Prometheus native histograms (schema 6) and
 *    OTLP exponential histograms (scale 6) use: base 2^(2^-6), 64 buckets
 *    per power of two, bucket i holding (2^((i-1)/64), 2^(i/64)] in the
 *    unit the value is exposed in (seconds, tokens). So both exports are
 *    the sketch's own counts, and any coarser schema/scale is an exact
 *    merge of them: no resolution is lost on the way out. The index comes
 *    from the double's exponent and a table lookup on its top mantissa
 *    bits (one compare), no libm. Values <= HIST_ZERO_THRESHOLD (0, and
 *    below a nanosecond in seconds) count in the zero bucket.
 *    Quantiles for the JSON outputs are answered with the middle of the
 *    bucket holding the nearest-rank sample: relative error at most
 *    (2^(1/64) - 1) / 2 < 0.55%. The 64 fine buckets of a power of two
 *    ("octave") live in 256-byte chunks taken from a hist_pool allocated
 *    once at start: a series only pays for the octaves its samples touch
 *    (LLM latencies of one series span a few octaves). When the pool is
 *    empty the octave still counts its samples (a quantile falling there is
 *    answered with the octave's middle, and an export of that distribution
 *    falls back to schema 0: octaves, still exact; counted in
 *    hist_pool.exhausted); memory never grows. Octave and fine counters are
 *    32-bit and saturate (4.29e9 samples of one series in one octave), the
 *    total count is 64-bit.
 *
 * Not thread-safe; the aggregation loop owns all of it.
 */
#ifndef TOKENRING_HIST_H
#define TOKENRING_HIST_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_SCALE 6 /* Prometheus schema / OTLP scale of the fine buckets */
#define HIST_SUB (1u << HIST_SCALE) /* fine buckets per octave */
/* Octave o holds (2^(o + HIST_OCT_MIN - 1), 2^(o + HIST_OCT_MIN)]: from
 * 2^-30 s (under 1 ns) to 2^28 (8.5 years in seconds, 268 M tokens); larger
 * values count in the last bucket (max stays exact). */
#define HIST_OCT_MIN (-29)
#define HIST_OCTAVES 58
#define HIST_ZERO_THRESHOLD 0x1p-30
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
	uint64_t zero; /* samples <= HIST_ZERO_THRESHOLD */
	double sum;
	double min;
	double max;
	struct hist_octave oct[HIST_OCTAVES];
};

/* Pool of nchunks chunks (0 is allowed: octave resolution only).
 * Returns 0 or -ENOMEM. */
int hist_pool_init(struct hist_pool *p, uint32_t nchunks);
void hist_pool_destroy(struct hist_pool *p);

void hist_init(struct hist *h);
/* hist_add, hist_place, hist_add_at, hist_add_count: inline, in
 * hist_add.h (included at the end). */
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

/* Fine bucket index of x > HIST_ZERO_THRESHOLD, numbered as Prometheus
 * native histograms number them at schema HIST_SCALE: bucket i holds
 * (2^((i-1)/64), 2^(i/64)]. (OTLP numbers the same bucket i - 1.) Not
 * clamped to the sketch's range. */
int32_t hist_index(double x);
/* 2^(i/64), the upper bound of fine bucket i, as a double. */
double hist_index_upper(int32_t i);
/* Octave and index within it of fine bucket i, clamped to the range. */
void hist_locate(int32_t i, unsigned *octave, unsigned *sub);
/* Fine index of the first bucket of octave o. */
static inline int32_t hist_octave_first(unsigned o)
{
	return ((int32_t)o + HIST_OCT_MIN - 1) * (int32_t)HIST_SUB + 1;
}

/*
 * The merged distribution of a group of sketches, for the exports. counts
 * are per bucket at `schema` (HIST_SCALE, or 0 when some sample of the
 * group has octave resolution only), from index `first` (Prometheus
 * numbering), n of them, zeros trimmed at both ends.
 */
#define HIST_FINE_BUCKETS (HIST_OCTAVES * HIST_SUB)
struct hist_dist {
	int32_t schema;
	int32_t first;
	uint32_t n;
	uint64_t count, zero;
	double sum;
	uint64_t counts[HIST_FINE_BUCKETS];
};
/* Fill d from the union of n sketches. */
void hist_dist_n(const struct hist *const *h, unsigned n, const struct hist_pool *p,
		 struct hist_dist *d);
/* Merge d's buckets down to schema s (<= d->schema, >= -4): exact, since
 * every bucket at s is a union of buckets at d->schema. */
void hist_dist_downscale(struct hist_dist *d, int32_t s);

/*
 * Fixed Prometheus boundaries. le[] are in the recorded unit (ns, or
 * tokens), strictly increasing; text[] is how each boundary is printed in
 * the family's unit (seconds, milliseconds, tokens). ix is the search index
 * (filled once at load, before main): from[e], the first boundary >= 2^e,
 * lands a value's search by its highest set bit at most a few boundaries
 * (those of one power of two) before its answer, and a copy of le[] ending
 * in UINT64_MAX lets the search stop without a bound check.
 */
#define HIST_MAX_UNION 33 /* boundaries in the largest set (HIST_U_DURATION_N) */
struct hist_bounds_index {
	uint8_t from[64];
	uint64_t le[HIST_MAX_UNION + 1]; /* le[0..n), then UINT64_MAX */
};
struct hist_bounds {
	const uint64_t *le;
	const char *const *text;
	unsigned n;
	const struct hist_bounds_index *ix; /* NULL: a plain search */
};

/* Index of the first boundary with v <= le[i]; n (the +Inf bucket) if none.
 * Counting samples per index and summing indexes 0..i gives exactly the
 * samples <= le[i]. Inline: ingest counts three to six values a record, and
 * the search is a few instructions once from[] has placed it. */
static inline unsigned hist_bucket_index(const struct hist_bounds *b, uint64_t v)
{
	const struct hist_bounds_index *x = b->ix;
	unsigned i = 0;
	if (!x) { /* a set without an index (a new one, say): slower, never wrong */
		while (i < b->n && v > b->le[i])
			i++;
		return i;
	}
	i = x->from[63 - __builtin_clzll(v | 1)]; /* le[< i] < 2^e <= v */
	while (v > x->le[i]) /* le[n] = UINT64_MAX >= v */
		i++;
	return i;
}
/* Same for the ratio num/den (den > 0) compared exactly: num/den <= le
 * exactly when ceil(num/den) <= le, le being an integer. */
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
_Static_assert(HIST_MAX_UNION == HIST_U_DURATION_N && HIST_MAX_BOUNDS <= HIST_MAX_UNION,
	       "the largest set");
extern const struct hist_bounds hist_u_duration;
extern const struct hist_bounds hist_u_ttft;
extern const struct hist_bounds hist_u_tpot;

#include "hist_add.h"

#endif
