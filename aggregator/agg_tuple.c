/*
 * agg_tuple.c - which series a record counts in: its tuple (the key
 * series_key_from_record builds, label slots without a name left out), a
 * small direct-mapped cache from a tuple's raw bytes to its series, and
 * the runs of a batch (records in a row that share a tuple).
 *
 * A record's key is 376 bytes built from its strings, then a 128-bit hash
 * and a table probe: most of what finding a series costs. The cache
 * (struct agg_fp) skips all three by comparing the bytes the key is built
 * from with a cached tuple's, in place; a run pays that compare once per
 * record after its first. Only lookups that folded nothing are cached (a
 * fold is counted per record), and series never move or go, so a hit is
 * always the series the slow path would find.
 */
#include <stddef.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "agg_internal.h"

static int32_t find_price(const struct agg *a, const char *model)
{
	for (unsigned i = 0; i < a->cfg.n_prices; i++)
		if (strcmp(a->cfg.prices[i].model, model) == 0)
			return (int32_t)i;
	return SERIES_NO_PRICE;
}

/* The series of k (created with its price if new). */
static struct series *find(struct agg *a, struct series_key *k, struct series_hash h)
{
	bool created;
	struct series *s = series_lookup_hashed(&a->tab, k, h, &created);
	if (created)
		s->price = find_price(a, s->key.model);
	return s;
}

/* The record's tuple. A header label slot the daemon has no name for is
 * not a label: whatever a producer put there must not split series that
 * render with identical labels. */
void agg_tuple_key(const struct agg *a, struct series_key *k, const struct tr_record *rec,
		   const struct agg_identity *id)
{
	series_key_from_record(k, rec, id);
	for (unsigned i = 0; i < REC_LABELS; i++)
		if (!a->cfg.label_names[i][0])
			memset(k->labels[i], 0, sizeof(k->labels[i]));
}

_Static_assert(offsetof(struct tr_record, request_model) ==
			       offsetof(struct tr_record, authority) + REC_AUTHORITY_LEN &&
		       offsetof(struct tr_record, response_model) ==
			       offsetof(struct tr_record, request_model) + REC_MODEL_LEN &&
		       REC_AUTHORITY_LEN == REC_MODEL_LEN,
	       "authority and both models are one run of the record (struct agg_fp)");
_Static_assert(sizeof(struct agg_identity) == RING_WORKLOAD_LEN + RING_NAMESPACE_LEN,
	       "agg_identity is its two strings");

/* memcmp(a, b, n) == 0 for n a multiple of 16, without a call or an early
 * exit (the bytes are mostly equal): the differences OR-ed together, 16
 * bytes at a time (SSE2, every x86-64), 32 with AVX2 where the CPU has it
 * (picked at agg_create), 8 elsewhere. */
#if defined(__x86_64__)
static inline bool same_bytes(const void *a, const void *b, size_t n)
{
	const __m128i *x = a, *y = b;
	__m128i d = _mm_setzero_si128();
#pragma GCC unroll 16
	for (size_t i = 0; i < n / 16; i++)
		d = _mm_or_si128(d, _mm_xor_si128(_mm_loadu_si128(x + i), _mm_loadu_si128(y + i)));
	return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xffff;
}

__attribute__((target("avx2"))) static inline bool same_bytes_avx2(const void *a,
								   const void *b, size_t n)
{
	const __m256i *x = a, *y = b;
	__m256i d = _mm256_setzero_si256();
#pragma GCC unroll 8
	for (size_t i = 0; i < n / 32; i++)
		d = _mm256_or_si256(d, _mm256_xor_si256(_mm256_loadu_si256(x + i),
							_mm256_loadu_si256(y + i)));
	if (n % 32) { /* the last 16 */
		__m128i t = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + n / 32)),
					  _mm_loadu_si128((const __m128i *)(y + n / 32)));
		d = _mm256_or_si256(d, _mm256_zextsi128_si256(t));
	}
	return _mm256_testz_si256(d, d);
}
#define SAME_BYTES(x, y, n, avx2) ((avx2) ? same_bytes_avx2(x, y, n) : same_bytes(x, y, n))
#else
static inline bool same_bytes(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	uint64_t d = 0;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t u, v;
		memcpy(&u, x + i, 8);
		memcpy(&v, y + i, 8);
		d |= u ^ v;
	}
	return d == 0;
}
#define SAME_BYTES(x, y, n, avx2) ((void)(avx2), same_bytes(x, y, n))
#endif

/* The strings of a tuple: authority, request and response model, one run. */
#define AGG_TUPLE_STRINGS (REC_AUTHORITY_LEN + 2 * REC_MODEL_LEN)
_Static_assert(AGG_TUPLE_STRINGS % 16 == 0 && sizeof(struct agg_identity) % 16 == 0 &&
		       REC_LABEL_LEN % 16 == 0,
	       "same_bytes sizes");

/* The address the destination comes from when the record has no
 * authority (series_key_from_record's choice). */
static const struct rec_addr *key_addr(const struct tr_record *rec)
{
	return rec->reporter == REC_REPORTER_DESTINATION ? &rec->local : &rec->peer;
}

/* The identity of a record without one. */
static const struct agg_identity no_identity;

/* Fill fp from rec and id (a tuple the cache does not have yet). */
static void fingerprint(const struct agg *a, struct agg_fp *fp, const struct tr_record *rec,
			const struct agg_identity *id)
{
	fp->reporter = rec->reporter;
	fp->provider = rec->provider;
	fp->operation = rec->operation;
	fp->reserved = 0;
	fp->status = rec->status;
	fp->reserved2 = 0;
	fp->reserved3 = 0;
	memcpy(fp->identity, id ? id : &no_identity, sizeof(fp->identity));
	memcpy(fp->strings, rec->authority, sizeof(fp->strings));
	if (rec->authority[0])
		memset(&fp->addr, 0, sizeof(fp->addr));
	else
		fp->addr = *key_addr(rec);
	for (unsigned i = 0; i < REC_LABELS; i++)
		if (a->cfg.label_names[i][0])
			memcpy(fp->labels[i], rec->labels[i], sizeof(fp->labels[i]));
		else
			memset(fp->labels[i], 0, sizeof(fp->labels[i]));
}

_Static_assert(offsetof(struct tr_record, provider) == offsetof(struct tr_record, reporter) + 1 &&
		       offsetof(struct tr_record, operation) ==
			       offsetof(struct tr_record, reporter) + 2,
	       "reporter, provider and operation: three bytes in a row (one load in fp_slot)");

/* The cache slot of rec's tuple: a mix of the words most likely to tell
 * tuples apart (the workload's, the authority's and the model's first
 * eight bytes, status and kind), read from the record. */
static uint32_t fp_slot(const struct tr_record *rec, const struct agg_identity *id)
{
	uint64_t w0 = 0, w1, w2;
	uint32_t kind;
	if (id)
		memcpy(&w0, id, 8);
	memcpy(&w1, rec->authority, 8);
	memcpy(&w2, rec->request_model, 8);
	memcpy(&kind, &rec->reporter, 4); /* reporter, provider, operation, and one more */
	uint64_t h = (w0 ^ (w1 * 0x9e3779b97f4a7c15ull) ^ (w2 * 0xc2b2ae3d27d4eb4full) ^
		      ((uint64_t)rec->status << 24 | (kind & 0xffffffu))) *
		     0xff51afd7ed558ccdull;
	return (uint32_t)(h >> 56) & (AGG_FP_SLOTS - 1);
}

/*
 * True if rec, written by id, has the tuple f was made from: the bytes
 * fingerprint() would copy compare equal to f's, read in place (no copy,
 * no call). Then rec's lookup is f's: the same key, the same series.
 * id_same: id is known to be f's (the pointer of a record that matched
 * f). avx2: compare 32 bytes at a time (only from a function built for
 * AVX2).
 */
static inline __attribute__((always_inline)) bool
fp_same(const struct agg *a, const struct agg_fp *f, const struct tr_record *rec,
	const struct agg_identity *id, bool id_same, bool avx2)
{
	if (f->status != rec->status || f->reporter != rec->reporter ||
	    f->provider != rec->provider || f->operation != rec->operation)
		return false;
	if (!SAME_BYTES(f->strings, rec->authority, AGG_TUPLE_STRINGS, avx2))
		return false;
	if (!id_same && !SAME_BYTES(f->identity, id ? id : &no_identity, sizeof(f->identity), avx2))
		return false;
	if (!rec->authority[0] && memcmp(&f->addr, key_addr(rec), sizeof(f->addr)) != 0)
		return false;
	if (a->fp->labels)
		for (unsigned i = 0; i < REC_LABELS; i++)
			if (a->cfg.label_names[i][0] &&
			    !SAME_BYTES(f->labels[i], rec->labels[i], REC_LABEL_LEN, avx2))
				return false;
	return true;
}

/* The cached series of rec's tuple (slot: fp_slot's), or NULL. */
static inline __attribute__((always_inline)) struct series *
fp_hit(const struct agg *a, uint32_t slot, const struct tr_record *rec,
       const struct agg_identity *id, bool avx2)
{
	uint32_t i = a->fp->series[slot];
	if (i == AGG_FP_EMPTY || !fp_same(a, &a->fp->key[slot], rec, id, false, avx2))
		return NULL;
	return &a->tab.series[i];
}

static uint64_t folds(const struct agg *a)
{
	uint64_t n = a->tab.overflow_records;
	for (unsigned i = 0; i < SERIES_BOUNDED; i++)
		n += a->tab.label_overflow[i];
	return n;
}

struct series *agg_tuple_find(struct agg *a, struct series_key *k, struct series_hash h,
			      const struct agg_fp *fp, uint32_t slot, bool *unfolded)
{
	uint64_t before = folds(a);
	struct series *s = find(a, k, h);
	*unfolded = folds(a) == before;
	if (*unfolded) {
		a->fp->key[slot] = *fp;
		a->fp->series[slot] = (uint32_t)(s - a->tab.series);
	}
	return s;
}

struct series *agg_tuple_lookup(struct agg *a, const struct tr_record *rec,
				const struct agg_identity *id, bool *unfolded)
{
	uint32_t slot = fp_slot(rec, id);
	struct series *s = fp_hit(a, slot, rec, id, false);
	if (s) {
		*unfolded = true; /* only unfolded lookups are cached */
		return s;
	}
	struct agg_fp fp;
	fingerprint(a, &fp, rec, id);
	struct series_key k;
	agg_tuple_key(a, &k, rec, id);
	return agg_tuple_find(a, &k, series_hash_key(&a->tab, &k), &fp, slot, unfolded);
}

/* agg_tuple_run's body; avx2: compare 32 bytes at a time (only from a
 * function built for AVX2). Each record after the first is compared with
 * the tuple in the cache (or run->fp): one call per run, not per record. */
static inline __attribute__((always_inline)) size_t
find_run_with(const struct agg *a, const struct tr_record *recs,
	      const struct agg_identity *const *ids, size_t from, size_t n, struct agg_run *run,
	      bool avx2)
{
	const struct tr_record *rec = &recs[from];
	const struct agg_identity *id = ids ? ids[from] : NULL;
	run->slot = fp_slot(rec, id);
	run->hit = fp_hit(a, run->slot, rec, id, avx2);
	const struct agg_fp *f = &a->fp->key[run->slot];
	if (!run->hit) {
		fingerprint(a, &run->fp, rec, id);
		f = &run->fp;
	}
	size_t k = from + 1;
	while (k < n) {
		const struct agg_identity *kid = ids ? ids[k] : NULL;
		if (!fp_same(a, f, &recs[k], kid, kid == id, avx2))
			break;
		k++;
	}
	return k;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static size_t
find_run_avx2(const struct agg *a, const struct tr_record *recs,
	      const struct agg_identity *const *ids, size_t from, size_t n, struct agg_run *run)
{
	return find_run_with(a, recs, ids, from, n, run, true);
}
#endif

__attribute__((noinline)) static size_t
find_run_plain(const struct agg *a, const struct tr_record *recs,
	       const struct agg_identity *const *ids, size_t from, size_t n, struct agg_run *run)
{
	return find_run_with(a, recs, ids, from, n, run, false);
}

/* A dispatch only: six arguments and both variants out of line, so each
 * is a jump, and this function has no frame of its own. */
size_t agg_tuple_run(const struct agg *a, const struct tr_record *recs,
		     const struct agg_identity *const *ids, size_t from, size_t n,
		     struct agg_run *run)
{
#if defined(__x86_64__)
	if (a->avx2)
		return find_run_avx2(a, recs, ids, from, n, run);
#endif
	return find_run_plain(a, recs, ids, from, n, run);
}
