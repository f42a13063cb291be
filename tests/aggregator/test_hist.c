/* test_hist.c - the quantile sketch against sorted samples (relative error
 * bound), and the exactness of fixed Prometheus buckets at their
 * boundaries. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank quantile of sorted samples. */
static uint64_t nearest_rank(const uint64_t *s, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n);
	if (rank == 0)
		rank = 1;
	return s[rank - 1];
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void check_quantiles(uint64_t *v, size_t n, const char *what)
{
	struct hist_pool pool;
	struct hist h;
	cr_assert_eq(hist_pool_init(&pool, 64), 0);
	hist_init(&h);
	for (size_t i = 0; i < n; i++)
		hist_add(&h, &pool, (double)v[i] / 1e9); /* ns, kept in seconds */
	qsort(v, n, sizeof(*v), cmp_u64);
	cr_assert_eq(pool.exhausted, 0);
	static const double qs[] = {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double want = (double)nearest_rank(v, n, qs[i]);
		double got = hist_quantile(&h, &pool, qs[i]) * 1e9;
		double err = want == 0 ? fabs(got) : fabs(got - want) / want;
		cr_assert_leq(err, 0.0055, "%s q=%.3f want %.0f got %.1f err %.5f", what, qs[i],
			      want, got, err);
	}
	cr_assert_eq(hist_quantile(&h, &pool, 0), (double)v[0] / 1e9);
	cr_assert_eq(hist_quantile(&h, &pool, 1), (double)v[n - 1] / 1e9);
	cr_assert_eq(h.count, n);
	hist_reset(&h, &pool);
	cr_assert_eq(pool.in_use, 0, "reset gives every chunk back");
	hist_pool_destroy(&pool);
}

Test(hist, quantiles_log_uniform_latencies)
{
	/* 1 ms .. 100 s, log-uniform: every octave populated */
	static uint64_t v[20000];
	for (size_t i = 0; i < 20000; i++)
		v[i] = (uint64_t)(1e6 * pow(10, (double)(rnd() % 100000) / 20000.0));
	check_quantiles(v, 20000, "log-uniform");
}

Test(hist, quantiles_tight_cluster_and_small_values)
{
	static uint64_t v[5000];
	for (size_t i = 0; i < 5000; i++)
		v[i] = 250000000ull + rnd() % 3000000; /* 250 ms +- 1% */
	check_quantiles(v, 5000, "cluster");
	for (size_t i = 0; i < 5000; i++)
		v[i] = rnd() % 200; /* exact region and first octaves */
	check_quantiles(v, 5000, "small");
}

Test(hist, small_integers_within_the_bound)
{
	struct hist_pool pool;
	struct hist h;
	hist_pool_init(&pool, 8);
	hist_init(&h);
	for (uint64_t v = 0; v < 64; v++)
		hist_add(&h, &pool, (double)v);
	cr_assert_eq(h.zero, 1, "0 is in the zero bucket");
	double q = hist_quantile(&h, &pool, 0.5); /* rank 32: the sample 31 */
	cr_assert(fabs(q - 31) / 31 < 0.0055, "q=%f", q);
	cr_assert_eq(hist_quantile(&h, &pool, 1.0 / 64), 0.0);
	hist_pool_destroy(&pool);
}

/* The definition: bucket i holds (2^((i-1)/64), 2^(i/64)]. */
static void check_index(double x)
{
	int32_t i = hist_index(x);
	cr_assert(hist_index_upper(i - 1) < x && x <= hist_index_upper(i), "x=%a i=%d", x, i);
}

Test(hist, index_is_the_exponential_bucket)
{
	/* powers of two are the top of the bucket below them */
	for (int e = -40; e < 40; e++) {
		cr_assert_eq(hist_index(ldexp(1, e)), e * 64);
		check_index(ldexp(1, e));
		check_index(nextafter(ldexp(1, e), 0));
		check_index(nextafter(ldexp(1, e), 1e300));
	}
	/* every bound and its neighbours, in two octaves */
	for (int32_t i = -64; i < 64; i++) {
		double u = hist_index_upper(i);
		cr_assert_eq(u, exp2((double)i / 64), "bound %d", i);
		cr_assert_eq(hist_index(u), i);
		cr_assert_eq(hist_index(nextafter(u, 1e300)), i + 1);
		check_index(nextafter(u, 0));
	}
	/* every table cell, at its first and last mantissa */
	for (uint64_t c = 0; c < 256; c++) {
		for (int end = 0; end < 2; end++) {
			uint64_t m = end ? ((c + 1) << 44) - 1 : (c << 44) | 1;
			uint64_t bits = (1023ull << 52) | m;
			double x;
			memcpy(&x, &bits, sizeof x);
			check_index(x);
		}
	}
	for (int k = 0; k < 100000; k++)
		check_index(ldexp((double)(rnd() >> 11) + 1, -80 + (int)(rnd() % 120)));
	/* integer nanoseconds as the daemon converts them */
	for (uint64_t ns = 1; ns < 100000; ns += 7)
		check_index((double)ns / 1e9);
}

Test(hist, locate_clamps_to_the_range)
{
	unsigned o, s;
	hist_locate(hist_index(1e300), &o, &s);
	cr_assert_eq(o, HIST_OCTAVES - 1);
	cr_assert_eq(s, HIST_SUB - 1);
	hist_locate(hist_index(1e-300), &o, &s);
	cr_assert_eq(o, 0);
	cr_assert_eq(s, 0);
	hist_locate(hist_index(1.0), &o, &s); /* (2^-1/64, 1]: octave 0 - HIST_OCT_MIN */
	cr_assert_eq(o, (unsigned)-HIST_OCT_MIN);
	cr_assert_eq(s, HIST_SUB - 1);
	cr_assert_eq(hist_octave_first(o) + (int32_t)s, 0);
}

/* Exported buckets at every schema 6..-4 hold exactly the samples their
 * definition says, counted by brute force. */
Test(hist, dist_and_downscale_are_exact)
{
	struct hist_pool pool;
	struct hist h[2];
	static double v[6000];
	static struct hist_dist d;
	hist_pool_init(&pool, 64);
	hist_init(&h[0]);
	hist_init(&h[1]);
	size_t n = 0;
	for (; n < 5000; n++) {
		v[n] = (double)(1 + rnd() % 3000000000ull) / 1e9; /* 1 ns .. 3 s */
		hist_add(&h[n % 2], &pool, v[n]);
	}
	for (int e = -8; e < 2; e++) /* powers of two: the edges of every schema */
		hist_add(&h[0], &pool, v[n++] = ldexp(1, e));
	hist_add(&h[1], &pool, v[n++] = 0);
	const struct hist *hs[2] = {&h[0], &h[1]};
	for (int32_t s = 6; s >= -4; s--) {
		hist_dist_n(hs, 2, &pool, &d);
		cr_assert_eq(d.schema, 6);
		hist_dist_downscale(&d, s);
		cr_assert_eq(d.schema, s);
		cr_assert_eq(d.zero, 1);
		cr_assert_eq(d.count, n);
		uint64_t total = d.zero;
		for (uint32_t j = 0; j < d.n; j++) {
			int32_t idx = d.first + (int32_t)j;
			/* bounds at schema s are fine bounds at index idx * 2^(6-s) */
			double lo = hist_index_upper((idx - 1) * (1 << (6 - s)));
			double hi = hist_index_upper(idx * (1 << (6 - s)));
			uint64_t brute = 0;
			for (size_t k = 0; k < n; k++)
				brute += v[k] > lo && v[k] <= hi;
			cr_assert_eq(d.counts[j], brute, "schema %d bucket %d", s, idx);
			total += d.counts[j];
		}
		cr_assert_eq(total, n);
		cr_assert_neq(d.counts[0], 0, "trimmed");
		cr_assert_neq(d.counts[d.n - 1], 0, "trimmed");
	}
	hist_pool_destroy(&pool);
}

Test(hist, dist_without_detail_is_octaves)
{
	struct hist_pool pool;
	struct hist h;
	static struct hist_dist d;
	hist_pool_init(&pool, 0);
	hist_init(&h);
	hist_add(&h, &pool, 0.3);
	hist_add(&h, &pool, 0.5); /* top of (0.25, 0.5] */
	hist_add(&h, &pool, 0.7);
	const struct hist *hs[1] = {&h};
	hist_dist_n(hs, 1, &pool, &d);
	cr_assert_eq(d.schema, 0);
	cr_assert_eq(d.first, -1);
	cr_assert_eq(d.n, 2);
	cr_assert_eq(d.counts[0], 2);
	cr_assert_eq(d.counts[1], 1);
	hist_pool_destroy(&pool);
}

Test(hist, pool_exhaustion_degrades_and_counts)
{
	struct hist_pool pool;
	struct hist a, b;
	hist_pool_init(&pool, 1);
	hist_init(&a);
	hist_init(&b);
	hist_add(&a, &pool, 1000000); /* takes the only chunk */
	hist_add(&b, &pool, 5000000);
	hist_add(&b, &pool, 5000001);
	cr_assert_eq(pool.exhausted, 2);
	cr_assert_eq(b.count, 2);
	/* b's octave has no detail: answered inside the octave, clamped to [min,max] */
	double q = hist_quantile(&b, &pool, 0.5);
	cr_assert(q >= 5000000 && q <= 5000001, "q=%f", q);
	hist_reset(&a, &pool);
	cr_assert_eq(pool.in_use, 0);
	hist_add(&b, &pool, 7000000); /* the freed chunk is reused */
	cr_assert_eq(pool.in_use, 1);
	hist_reset(&b, &pool);
	hist_pool_destroy(&pool);
}

Test(hist, quantile_of_several_sketches_is_the_union)
{
	struct hist_pool pool;
	struct hist h[3], all;
	hist_pool_init(&pool, 64);
	hist_init(&all);
	static uint64_t v[3000];
	for (int k = 0; k < 3; k++)
		hist_init(&h[k]);
	for (size_t i = 0; i < 3000; i++) {
		v[i] = 1000000ull * (1 + i % 997) * (1 + i % 3);
		hist_add(&h[i % 3], &pool, v[i]);
		hist_add(&all, &pool, v[i]);
	}
	const struct hist *hs[3] = {&h[0], &h[1], &h[2]};
	for (double q = 0.05; q < 1; q += 0.05)
		cr_assert_eq(hist_quantile_n(hs, 3, &pool, q), hist_quantile(&all, &pool, q),
			     "q=%f", q);
	hist_pool_destroy(&pool);
}

static const struct hist_bounds *const all_bounds[] = {
	&hist_tr_duration,       &hist_tr_ttft,           &hist_tr_tpot,
	&hist_genai_duration,    &hist_genai_client_tpoc, &hist_genai_server_ttft,
	&hist_genai_server_tpot, &hist_genai_tokens,      &hist_istio_duration,
};

Test(hist, bucket_index_exact_at_every_boundary)
{
	for (size_t b = 0; b < sizeof(all_bounds) / sizeof(all_bounds[0]); b++) {
		const struct hist_bounds *hb = all_bounds[b];
		cr_assert_leq(hb->n, HIST_MAX_BOUNDS);
		for (unsigned i = 0; i < hb->n; i++) {
			uint64_t le = hb->le[i];
			if (i)
				cr_assert_gt(le, hb->le[i - 1], "strictly increasing");
			/* a sample == le is counted at le; le+1 is not */
			cr_assert_eq(hist_bucket_index(hb, le), i);
			cr_assert_eq(hist_bucket_index(hb, le + 1), i + 1);
			if (le > 0 && (i == 0 || le - 1 > hb->le[i - 1]))
				cr_assert_eq(hist_bucket_index(hb, le - 1), i);
			/* ratios compared exactly: 3*le/3 sits on the boundary */
			cr_assert_eq(hist_bucket_index_ratio(hb, 3 * le, 3), i);
			cr_assert_eq(hist_bucket_index_ratio(hb, 3 * le + 1, 3), i + 1);
			/* the printed boundary is the exact value in the family unit */
			double printed = strtod(hb->text[i], NULL);
			double unit = hb == &hist_genai_tokens ? 1
				      : hb == &hist_istio_duration ? 1e6
								    : 1e9;
			cr_assert_eq((uint64_t)llround(printed * unit), le, "%s", hb->text[i]);
		}
		cr_assert_eq(hist_bucket_index(hb, UINT64_MAX), hb->n);
		cr_assert_eq(hist_bucket_index(hb, 0), 0);
	}
}

Test(hist, cumulative_counts_match_brute_force)
{
	/* samples at, just below and just above every Envoy boundary */
	const struct hist_bounds *hb = &hist_istio_duration;
	uint64_t counts[HIST_MAX_BOUNDS + 1] = {0};
	uint64_t samples[3 * HIST_MAX_BOUNDS];
	size_t n = 0;
	for (unsigned i = 0; i < hb->n; i++) {
		samples[n++] = hb->le[i] - 1;
		samples[n++] = hb->le[i];
		samples[n++] = hb->le[i] + 1;
	}
	for (size_t k = 0; k < n; k++)
		counts[hist_bucket_index(hb, samples[k])]++;
	uint64_t cum = 0;
	for (unsigned i = 0; i < hb->n; i++) {
		cum += counts[i];
		uint64_t brute = 0;
		for (size_t k = 0; k < n; k++)
			brute += samples[k] <= hb->le[i];
		cr_assert_eq(cum, brute, "le=%s", hb->text[i]);
	}
	cr_assert_eq(cum + counts[hb->n], n);
}

Test(hist, merge_equals_adding_everything)
{
	struct hist_pool pool;
	struct hist a, b, all;
	hist_pool_init(&pool, 64);
	hist_init(&a);
	hist_init(&b);
	hist_init(&all);
	for (uint64_t i = 1; i <= 4000; i++) {
		uint64_t v = 1000ull * i * (i % 7 + 1);
		hist_add(i % 3 ? &a : &b, &pool, v);
		hist_add(&all, &pool, v);
	}
	hist_merge(&a, &b, &pool);
	cr_assert_eq(a.count, all.count);
	cr_assert_eq(a.sum, all.sum);
	cr_assert_eq(a.min, all.min);
	cr_assert_eq(a.max, all.max);
	for (double q = 0.01; q < 1; q += 0.01)
		cr_assert_eq(hist_quantile(&a, &pool, q), hist_quantile(&all, &pool, q), "q=%f", q);
	uint32_t used = pool.in_use;
	hist_reset(&b, &pool);
	cr_assert_lt(pool.in_use, used, "src chunks given back, dst keeps its own");
	cr_assert_eq(hist_quantile(&a, &pool, 0.5), hist_quantile(&all, &pool, 0.5));
	hist_pool_destroy(&pool);
}

/* Every family boundary is stored: it is in its quantity's union, and the
 * unions are strictly increasing. */
Test(hist, unions_hold_every_family_boundary)
{
	const struct {
		const struct hist_bounds *family, *store;
	} uses[] = {
		{&hist_tr_duration, &hist_u_duration},     {&hist_genai_duration, &hist_u_duration},
		{&hist_istio_duration, &hist_u_duration},  {&hist_tr_ttft, &hist_u_ttft},
		{&hist_genai_duration, &hist_u_ttft},      {&hist_genai_server_ttft, &hist_u_ttft},
		{&hist_tr_tpot, &hist_u_tpot},             {&hist_genai_server_tpot, &hist_u_tpot},
	};
	for (size_t u = 0; u < sizeof(uses) / sizeof(uses[0]); u++) {
		const struct hist_bounds *f = uses[u].family, *st = uses[u].store;
		for (unsigned i = 1; i < st->n; i++)
			cr_assert_gt(st->le[i], st->le[i - 1]);
		cr_assert_leq(st->n, HIST_MAX_UNION);
		for (unsigned k = 0; k < f->n; k++) {
			unsigned at = hist_bucket_index(st, f->le[k]);
			cr_assert(at < st->n && st->le[at] == f->le[k], "use %zu boundary %s", u,
				  f->text[k]);
		}
	}
	/* and nothing in a union that no family shows */
	const struct hist_bounds *dur_fams[] = {&hist_tr_duration, &hist_genai_duration,
						&hist_istio_duration};
	for (unsigned i = 0; i < hist_u_duration.n; i++) {
		bool found = false;
		for (unsigned f = 0; f < 3; f++)
			for (unsigned k = 0; k < dur_fams[f]->n; k++)
				found |= dur_fams[f]->le[k] == hist_u_duration.le[i];
		cr_assert(found, "union boundary %u", i);
	}
}

/* The plain search hist_bucket_index's index replaces. */
static unsigned linear_index(const struct hist_bounds *b, uint64_t v)
{
	unsigned i = 0;
	while (i < b->n && v > b->le[i])
		i++;
	return i;
}

/* The indexed search (highest set bit, then the few boundaries of that
 * power of two) answers as the plain one: at every power of two and its
 * neighbours, at every boundary's, and at random values, for every family
 * set and every union ingest counts in; the ratio form as its exact
 * definition num <= le * den. */
Test(hist, indexed_search_equals_the_plain_one)
{
	const struct hist_bounds *sets[] = {
		&hist_u_duration, &hist_u_ttft, &hist_u_tpot, &hist_tr_duration,
		&hist_tr_ttft, &hist_tr_tpot, &hist_genai_duration, &hist_genai_client_tpoc,
		&hist_genai_server_ttft, &hist_genai_server_tpot, &hist_genai_tokens,
		&hist_istio_duration,
	};
	uint64_t x = 42;
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		const struct hist_bounds *b = sets[s];
		cr_assert_not_null(b->ix, "set %zu has its index", s);
		for (unsigned e = 0; e < 64; e++)
			for (int d = -1; d <= 1; d++) {
				uint64_t v = (1ull << e) + (uint64_t)(int64_t)d;
				cr_assert_eq(hist_bucket_index(b, v), linear_index(b, v), "2^%u%+d", e,
					     d);
			}
		for (unsigned i = 0; i < b->n; i++)
			for (int d = -2; d <= 2; d++) {
				uint64_t v = b->le[i] + (uint64_t)(int64_t)d;
				cr_assert_eq(hist_bucket_index(b, v), linear_index(b, v));
			}
		for (int k = 0; k < 20000; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t v = x >> (x % 64); /* every magnitude */
			cr_assert_eq(hist_bucket_index(b, v), linear_index(b, v), "%llu",
				     (unsigned long long)v);
			uint64_t den = 1 + (x >> 40) % 1000, num = v >> 8;
			unsigned want = 0;
			while (want < b->n &&
			       (unsigned __int128)num > (unsigned __int128)b->le[want] * den)
				want++;
			cr_assert_eq(hist_bucket_index_ratio(b, num, den), want);
		}
	}
}

/* hist_place is hist_locate(hist_index(x)) (zero bucket aside), for
 * exact powers of two, their neighbours and random doubles across and past
 * the sketch's range. */
Test(hist, place_is_locate_of_index)
{
	uint64_t x = 7;
	for (int k = 0; k < 200000; k++) {
		double v;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		if (k < 400) {
			v = ldexp(1.0, k / 4 - 60);
			v = k % 4 == 1 ? nextafter(v, 0) : k % 4 == 2 ? nextafter(v, INFINITY) : v;
		} else {
			v = ldexp(1.0 + (double)(x >> 11) / 9007199254740992.0,
				  (int)((x >> 3) % 140) - 70);
		}
		unsigned o, s, lo, ls;
		hist_place(v, &o, &s);
		if (v <= HIST_ZERO_THRESHOLD) {
			cr_assert(o == 0 && s == 0);
			continue;
		}
		hist_locate(hist_index(v), &lo, &ls);
		cr_assert(o == lo && s == ls, "%a: place %u/%u, locate %u/%u", v, o, s, lo, ls);
	}
}

/* A token count's table places (and the searches past the table) are the
 * sketch's place of the count as a double and its gen_ai token bucket, and
 * hist_add_count builds the same sketch as hist_add: every count of the
 * table, both sides of every power of two up to 2^32, and random counts. */
Test(hist, token_places_are_the_searches)
{
	static uint32_t v[HIST_TOKEN_TABLE + 200 + 2000];
	size_t n = 0;
	for (uint32_t i = 0; i < HIST_TOKEN_TABLE + 200; i++)
		v[n++] = i;
	for (unsigned e = 12; e < 32; e++) {
		v[n++] = (1u << e) - 1;
		v[n++] = 1u << e;
		v[n++] = (1u << e) + 1;
	}
	v[n++] = UINT32_MAX;
	while (n < sizeof(v) / sizeof(v[0]))
		v[n++] = (uint32_t)(rnd() >> (rnd() % 33 + 31));
	struct hist_pool pool;
	struct hist by_double, by_count;
	cr_assert_eq(hist_pool_init(&pool, 2 * HIST_OCTAVES), 0);
	hist_init(&by_double);
	hist_init(&by_count);
	for (size_t i = 0; i < n; i++) {
		uint32_t place = hist_token_place(v[i]);
		unsigned o, s;
		hist_place((double)v[i], &o, &s);
		if (v[i])
			cr_assert_eq(place & HIST_TOKEN_FINE_MASK, o * HIST_SUB + s, "count %u", v[i]);
		cr_assert_eq(place >> HIST_TOKEN_FINE_BITS,
			     hist_bucket_index(&hist_genai_tokens, v[i]), "count %u", v[i]);
		hist_add(&by_double, &pool, (double)v[i]);
		hist_add_count(&by_count, &pool, v[i], place);
	}
	cr_assert_eq(pool.exhausted, 0);
	cr_assert(by_count.count == by_double.count && by_count.zero == by_double.zero &&
		  by_count.sum == by_double.sum && by_count.min == by_double.min &&
		  by_count.max == by_double.max);
	for (unsigned o = 0; o < HIST_OCTAVES; o++) {
		const struct hist_octave *x = &by_double.oct[o], *y = &by_count.oct[o];
		cr_assert_eq(x->n, y->n, "octave %u", o);
		cr_assert_eq(x->chunk != HIST_NO_CHUNK, y->chunk != HIST_NO_CHUNK);
		if (x->chunk != HIST_NO_CHUNK)
			cr_assert_arr_eq(pool.chunks[x->chunk - 1], pool.chunks[y->chunk - 1],
					 sizeof(pool.chunks[0]), "octave %u", o);
	}
	hist_pool_destroy(&pool);
}
