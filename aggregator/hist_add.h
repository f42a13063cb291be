/*
 * hist_add.h - the sketch's add path (struct hist, hist.h), inline.
 *
 * Ingest adds three to six samples a record (duration, input and output
 * tokens, and the stream's times): out of line, about 65 instructions
 * each. Inline, in a caller where the sketch is at a constant offset of
 * the series, the place is a few integer operations on the double's bits
 * and a table load (or, for a token count, one table entry), and the add
 * a few read-modify-writes: 35 to 45 (bench/results/2026-12-06-daemon-
 * instructions.md). Included by hist.h, after the structs and tables it
 * uses; the cold part (an octave's first chunk) stays in hist.c.
 */
#ifndef TOKENRING_HIST_ADD_H
#define TOKENRING_HIST_ADD_H

#include <string.h>

#define HIST_MANT_BITS 52
#define HIST_MANT_MASK ((1ull << HIST_MANT_BITS) - 1)
#define HIST_EXP_BIAS 1023
#define HIST_CELL_BITS 8
/* Mantissa bits of 2^(k/64), k = 0..63, then one above every mantissa (so
 * the search's one compare needs no bound check). */
extern const uint64_t hist_frac_bound[HIST_SUB + 1];
/* For the mantissa's top HIST_CELL_BITS bits: the largest k with
 * hist_frac_bound[k] below the cell's start (see hist.c). */
extern const uint8_t hist_cell_first[1u << HIST_CELL_BITS];

/* The counter of fine bucket s of octave oc when oc has no chunk yet: takes
 * one from the pool; NULL when the pool is empty (p->exhausted counts the
 * sample). Once per octave of a sketch, so out of line. */
uint32_t *hist_chunk_first(struct hist_octave *oc, struct hist_pool *p, unsigned s);

/* Fine position (octave * HIST_SUB + sub) of x, from its exponent and
 * mantissa, not clamped: the octave may be below 0 or past the last. An
 * exact power of two is the top of the octave below: its mantissa is 0, the
 * search answers 0, and the position steps back one, to the last bucket
 * of the octave below. */
static inline int32_t hist_fine_pos(double x)
{
	uint64_t bits;
	memcpy(&bits, &x, sizeof(bits));
	int32_t o = (int32_t)(bits >> HIST_MANT_BITS) - (HIST_EXP_BIAS + HIST_OCT_MIN - 1);
	uint64_t m = bits & HIST_MANT_MASK;
	unsigned k = hist_cell_first[m >> (HIST_MANT_BITS - HIST_CELL_BITS)];
	k += m > hist_frac_bound[k + 1];
	return o * (int32_t)HIST_SUB + (int32_t)k - (m == 0);
}

/* Octave and fine bucket of x > HIST_ZERO_THRESHOLD, clamped to the
 * sketch's range (below: the first bucket; above: the last). */
static inline void hist_place_positive(double x, unsigned *octave, unsigned *sub)
{
	int32_t f = hist_fine_pos(x);
	if (f < 0)
		f = 0;
	else if (f >= (int32_t)HIST_FINE_BUCKETS)
		f = (int32_t)HIST_FINE_BUCKETS - 1;
	*octave = (unsigned)f / HIST_SUB;
	*sub = (unsigned)f % HIST_SUB;
}

/* Octave and fine bucket within it where x counts (hist_locate of
 * hist_index(x)); octave 0, sub 0 for x <= HIST_ZERO_THRESHOLD, which
 * counts in the zero bucket. */
static inline void hist_place(double x, unsigned *octave, unsigned *sub)
{
	if (x <= HIST_ZERO_THRESHOLD) {
		*octave = *sub = 0;
		return;
	}
	hist_place_positive(x, octave, sub);
}

/* The totals every sample moves. */
static inline void hist_add_totals(struct hist *h, double x)
{
	if (h->count == 0 || x < h->min)
		h->min = x;
	if (x > h->max)
		h->max = x;
	h->count++;
	h->sum += x;
}

/* c + 1, except at UINT32_MAX: counters saturate, never wrap (an add, a
 * branch never taken, a store). */
static inline void hist_sat_inc(uint32_t *c)
{
	uint32_t t;
	if (!__builtin_add_overflow(*c, 1u, &t))
		*c = t;
}

/* One sample in octave o, fine bucket s. */
static inline void hist_add_fine(struct hist *h, struct hist_pool *p, unsigned o, unsigned s)
{
	struct hist_octave *oc = &h->oct[o];
	hist_sat_inc(&oc->n);
	uint32_t *c;
	if (__builtin_expect(oc->chunk != HIST_NO_CHUNK, 1))
		c = &p->chunks[oc->chunk - 1][s];
	else if (!(c = hist_chunk_first(oc, p, s)))
		return;
	hist_sat_inc(c);
}

/* hist_add with x's place already known (from hist_place): a caller that
 * prefetched the place's lines does not compute it twice. */
static inline void hist_add_at(struct hist *h, struct hist_pool *p, double x, unsigned octave,
			       unsigned sub)
{
	hist_add_totals(h, x);
	if (x <= HIST_ZERO_THRESHOLD) {
		h->zero++;
		return;
	}
	hist_add_fine(h, p, octave, sub);
}

/* Record one value x >= 0 in its exposed unit. Never allocates; O(1). */
static inline void hist_add(struct hist *h, struct hist_pool *p, double x)
{
	hist_add_totals(h, x);
	if (x <= HIST_ZERO_THRESHOLD) {
		h->zero++;
		return;
	}
	unsigned o, s;
	hist_place_positive(x, &o, &s);
	hist_add_fine(h, p, o, s);
}

/*
 * A token count's two places: its fine position in the sketch (octave *
 * HIST_SUB + sub, clamped; meaningless for 0, which is the zero bucket) in
 * bits 0-11, and its bucket in hist_genai_tokens in bits 12-15. Found
 * once, before main, for the counts below HIST_TOKEN_TABLE (most requests'
 * input and output tokens; 8 KiB, of which a workload touches a few lines),
 * with hist_fine_pos and hist_bucket_index: the same answers without either
 * search. Larger counts take the searches.
 */
#define HIST_TOKEN_TABLE 4096u
#define HIST_TOKEN_FINE_BITS 12
#define HIST_TOKEN_FINE_MASK ((1u << HIST_TOKEN_FINE_BITS) - 1)
extern uint16_t hist_token_places[HIST_TOKEN_TABLE];
uint32_t hist_token_place_big(uint32_t v);

static inline uint32_t hist_token_place(uint32_t v)
{
	return __builtin_expect(v < HIST_TOKEN_TABLE, 1) ? hist_token_places[v]
							 : hist_token_place_big(v);
}

/* hist_add(h, p, (double)v) for a count v whose place is hist_token_place(v). */
static inline void hist_add_count(struct hist *h, struct hist_pool *p, uint32_t v,
				  uint32_t place)
{
	hist_add_totals(h, (double)v);
	if (v == 0) {
		h->zero++;
		return;
	}
	unsigned f = place & HIST_TOKEN_FINE_MASK;
	hist_add_fine(h, p, f / HIST_SUB, f % HIST_SUB);
}

#endif
