/*
 * hist.c - log-linear quantile sketch with pooled fine buckets, and the
 * exact fixed-boundary bucket sets of every metric family.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

int hist_pool_init(struct hist_pool *p, uint32_t nchunks)
{
	memset(p, 0, sizeof(*p));
	if (nchunks) {
		p->chunks = calloc(nchunks, sizeof(*p->chunks));
		if (!p->chunks)
			return -ENOMEM;
	}
	p->nchunks = nchunks;
	/* Free list: chunk i (1-based) links to i+1; 0 terminates. */
	for (uint32_t i = 1; i <= nchunks; i++)
		p->chunks[i - 1][0] = i < nchunks ? i + 1 : 0;
	p->free_head = nchunks ? 1 : 0;
	return 0;
}

void hist_pool_destroy(struct hist_pool *p)
{
	free(p->chunks);
	memset(p, 0, sizeof(*p));
}

static uint32_t pool_get(struct hist_pool *p)
{
	uint32_t c = p->free_head;
	if (c == 0)
		return HIST_NO_CHUNK;
	p->free_head = p->chunks[c - 1][0];
	memset(p->chunks[c - 1], 0, sizeof(p->chunks[0]));
	p->in_use++;
	return c;
}

static void pool_put(struct hist_pool *p, uint32_t c)
{
	p->chunks[c - 1][0] = p->free_head;
	p->free_head = c;
	p->in_use--;
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Mantissa bits (52) of 2^(k/64), k = 0..63: the fine bucket boundaries
 * within an octave (the same doubles as Prometheus' schema-6 bounds); then
 * one above every mantissa, where the search of hist_fine_pos ends. */
const uint64_t hist_frac_bound[HIST_SUB + 1] = {
	0x0000000000000ull, 0x02c9a3e778061ull, 0x059b0d3158574ull, 0x0874518759bc8ull,
	0x0b5586cf9890full, 0x0e3ec32d3d1a2ull, 0x11301d0125b51ull, 0x1429aaea92de0ull,
	0x172b83c7d517bull, 0x1a35beb6fcb75ull, 0x1d4873168b9aaull, 0x2063b88628cd6ull,
	0x2387a6e756238ull, 0x26b4565e27cddull, 0x29e9df51fdee1ull, 0x2d285a6e4030bull,
	0x306fe0a31b715ull, 0x33c08b26416ffull, 0x371a7373aa9cbull, 0x3a7db34e59ff7ull,
	0x3dea64c123422ull, 0x4160a21f72e2aull, 0x44e086061892dull, 0x486a2b5c13cd0ull,
	0x4bfdad5362a27ull, 0x4f9b2769d2ca7ull, 0x5342b569d4f82ull, 0x56f4736b527daull,
	0x5ab07dd485429ull, 0x5e76f15ad2148ull, 0x6247eb03a5585ull, 0x6623882552225ull,
	0x6a09e667f3bcdull, 0x6dfb23c651a2full, 0x71f75e8ec5f74ull, 0x75feb564267c9ull,
	0x7a11473eb0187ull, 0x7e2f336cf4e62ull, 0x82589994cce13ull, 0x868d99b4492edull,
	0x8ace5422aa0dbull, 0x8f1ae99157736ull, 0x93737b0cdc5e5ull, 0x97d829fde4e50ull,
	0x9c49182a3f090ull, 0xa0c667b5de565ull, 0xa5503b23e255dull, 0xa9e6b5579fdbfull,
	0xae89f995ad3adull, 0xb33a2b84f15fbull, 0xb7f76f2fb5e47ull, 0xbcc1e904bc1d2ull,
	0xc199bdd85529cull, 0xc67f12e57d14bull, 0xcb720dcef9069ull, 0xd072d4a07897cull,
	0xd5818dcfba487ull, 0xda9e603db3285ull, 0xdfc97337b9b5full, 0xe502ee78b3ff6ull,
	0xea4afa2a490daull, 0xefa1bee615a27ull, 0xf50765b6e4540ull, 0xfa7c1819e90d8ull, UINT64_MAX};

/* For the mantissa's top 8 bits c: the largest k with hist_frac_bound[k]
 * below the cell's start. A cell (1/256 of an octave) is narrower than any
 * fine bucket (>= 1.08% of the octave), so at most one boundary lies inside
 * it and one compare finishes the search (test_hist checks every cell). */
_Static_assert(HIST_CELL_BITS == 8, "cell_first has 256 cells");
const uint8_t hist_cell_first[1u << HIST_CELL_BITS] = {
	0,  0,  0,  1,  1,  1,  2,  2,  2,  3,  3,  3,  4,  4,  4,  5,  5,  5,  6,  6,  6,  7,
	7,  7,  8,  8,  8,  9,  9,  9,  10, 10, 10, 11, 11, 11, 12, 12, 12, 13, 13, 13, 14, 14,
	14, 14, 15, 15, 15, 16, 16, 16, 17, 17, 17, 17, 18, 18, 18, 19, 19, 19, 20, 20, 20, 20,
	21, 21, 21, 22, 22, 22, 22, 23, 23, 23, 24, 24, 24, 24, 25, 25, 25, 25, 26, 26, 26, 27,
	27, 27, 27, 28, 28, 28, 28, 29, 29, 29, 29, 30, 30, 30, 30, 31, 31, 31, 31, 32, 32, 32,
	33, 33, 33, 33, 34, 34, 34, 34, 35, 35, 35, 35, 35, 36, 36, 36, 36, 37, 37, 37, 37, 38,
	38, 38, 38, 39, 39, 39, 39, 40, 40, 40, 40, 40, 41, 41, 41, 41, 42, 42, 42, 42, 43, 43,
	43, 43, 43, 44, 44, 44, 44, 45, 45, 45, 45, 45, 46, 46, 46, 46, 47, 47, 47, 47, 47, 48,
	48, 48, 48, 48, 49, 49, 49, 49, 50, 50, 50, 50, 50, 51, 51, 51, 51, 51, 52, 52, 52, 52,
	52, 53, 53, 53, 53, 53, 54, 54, 54, 54, 54, 55, 55, 55, 55, 55, 56, 56, 56, 56, 56, 57,
	57, 57, 57, 57, 58, 58, 58, 58, 58, 58, 59, 59, 59, 59, 59, 60, 60, 60, 60, 60, 61, 61,
	61, 61, 61, 61, 62, 62, 62, 62, 62, 63, 63, 63, 63, 63};

int32_t hist_index(double x)
{
	return hist_fine_pos(x) + hist_octave_first(0);
}

double hist_index_upper(int32_t i)
{
	/* 2^(i/64) = 2^floor(i/64) * 2^((i mod 64)/64) */
	int32_t e = i >= 0 ? i / (int32_t)HIST_SUB : -((-i + (int32_t)HIST_SUB - 1) / (int32_t)HIST_SUB);
	uint64_t bits = ((uint64_t)(e + HIST_EXP_BIAS) << HIST_MANT_BITS) |
			hist_frac_bound[(unsigned)(i - e * (int32_t)HIST_SUB)];
	double v;
	memcpy(&v, &bits, sizeof(v));
	return v;
}

void hist_locate(int32_t i, unsigned *octave, unsigned *sub)
{
	int32_t lo = hist_octave_first(0);
	int32_t hi = hist_octave_first(HIST_OCTAVES) - 1;
	if (i < lo)
		i = lo;
	if (i > hi)
		i = hi;
	*octave = (unsigned)(i - lo) / HIST_SUB;
	*sub = (unsigned)(i - lo) % HIST_SUB;
}

uint32_t *hist_chunk_first(struct hist_octave *oc, struct hist_pool *p, unsigned s)
{
	oc->chunk = pool_get(p);
	if (oc->chunk == HIST_NO_CHUNK) {
		p->exhausted++;
		return NULL;
	}
	return &p->chunks[oc->chunk - 1][s];
}

static uint32_t sat_add32(uint32_t a, uint32_t b)
{
	return a + b < a ? UINT32_MAX : a + b;
}

void hist_merge(struct hist *dst, const struct hist *src, struct hist_pool *p)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->zero += src->zero;
	dst->sum += src->sum;
	for (unsigned o = 0; o < HIST_OCTAVES; o++) {
		const struct hist_octave *so = &src->oct[o];
		struct hist_octave *d = &dst->oct[o];
		if (so->n == 0)
			continue;
		bool had = d->n != 0;
		d->n = sat_add32(d->n, so->n);
		if (so->chunk == HIST_NO_CHUNK) {
			/* src has no detail here: neither can dst, or its fine
			 * counts would no longer add up to the octave's */
			if (d->chunk != HIST_NO_CHUNK) {
				pool_put(p, d->chunk);
				d->chunk = HIST_NO_CHUNK;
			}
			continue;
		}
		if (d->chunk == HIST_NO_CHUNK) {
			if (had) /* dst already lost detail here */
				continue;
			d->chunk = pool_get(p);
			if (d->chunk == HIST_NO_CHUNK) {
				p->exhausted += so->n;
				continue;
			}
		}
		uint32_t *dc = p->chunks[d->chunk - 1];
		const uint32_t *sc = p->chunks[so->chunk - 1];
		for (unsigned s = 0; s < HIST_SUB; s++)
			dc[s] = sat_add32(dc[s], sc[s]);
	}
}

void hist_reset(struct hist *h, struct hist_pool *p)
{
	for (unsigned o = 0; o < HIST_OCTAVES; o++)
		if (h->oct[o].chunk != HIST_NO_CHUNK)
			pool_put(p, h->oct[o].chunk);
	hist_init(h);
}

static double clamp(double v, double min, double max)
{
	return v < min ? min : v > max ? max : v;
}

double hist_quantile(const struct hist *h, const struct hist_pool *p, double q)
{
	return hist_quantile_n(&h, 1, p, q);
}

/* Middle of the range (lo, hi]. */
static double middle(double lo, double hi)
{
	return lo + (hi - lo) / 2.0;
}

double hist_quantile_n(const struct hist *const *h, unsigned n, const struct hist_pool *p,
		       double q)
{
	uint64_t count = 0, zero = 0;
	double min = 0, max = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!h[i]->count)
			continue;
		min = count == 0 || h[i]->min < min ? h[i]->min : min;
		max = h[i]->max > max ? h[i]->max : max;
		count += h[i]->count;
		zero += h[i]->zero;
	}
	if (count == 0)
		return 0;
	if (q <= 0)
		return min;
	if (q >= 1)
		return max;
	/* Nearest rank: the smallest sample with at least ceil(q*n) samples <= it. */
	double r = q * (double)count;
	uint64_t rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = zero;
	if (seen >= rank)
		return clamp(0, min, max);
	for (unsigned o = 0; o < HIST_OCTAVES; o++) {
		uint64_t in_octave = 0;
		bool fine = true;
		for (unsigned i = 0; i < n; i++) {
			in_octave += h[i]->oct[o].n;
			if (h[i]->oct[o].n && h[i]->oct[o].chunk == HIST_NO_CHUNK)
				fine = false;
		}
		if (seen + in_octave < rank) {
			seen += in_octave;
			continue;
		}
		int32_t first = hist_octave_first(o);
		if (!fine) /* no fine detail for some samples: the octave's middle */
			return clamp(middle(hist_index_upper(first - 1),
					    hist_index_upper(first + (int32_t)HIST_SUB - 1)),
				     min, max);
		for (unsigned s = 0; s < HIST_SUB; s++) {
			for (unsigned i = 0; i < n; i++)
				if (h[i]->oct[o].chunk != HIST_NO_CHUNK)
					seen += p->chunks[h[i]->oct[o].chunk - 1][s];
			if (seen >= rank) {
				int32_t b = first + (int32_t)s;
				return clamp(middle(hist_index_upper(b - 1), hist_index_upper(b)),
					     min, max);
			}
		}
		/* Only reachable if a chunk counter saturated. */
		return clamp(hist_index_upper(first + (int32_t)HIST_SUB - 1), min, max);
	}
	return max;
}

void hist_dist_n(const struct hist *const *h, unsigned n, const struct hist_pool *p,
		 struct hist_dist *d)
{
	bool fine = true;
	unsigned olo = HIST_OCTAVES, ohi = 0; /* octaves in use: [olo, ohi) */
	d->count = d->zero = 0;
	d->sum = 0;
	for (unsigned i = 0; i < n; i++) {
		d->count += h[i]->count;
		d->zero += h[i]->zero;
		d->sum += h[i]->sum;
		for (unsigned o = 0; o < HIST_OCTAVES; o++) {
			if (!h[i]->oct[o].n)
				continue;
			olo = o < olo ? o : olo;
			ohi = o + 1 > ohi ? o + 1 : ohi;
			if (h[i]->oct[o].chunk == HIST_NO_CHUNK)
				fine = false;
		}
	}
	d->schema = fine ? HIST_SCALE : 0;
	if (olo >= ohi) {
		d->first = 0;
		d->n = 0;
		return;
	}
	/* only the octaves in use are cleared and filled: a group's samples
	 * span a few of the 58 */
	unsigned per = fine ? HIST_SUB : 1;
	memset(d->counts, 0, sizeof(uint64_t) * (ohi - olo) * per);
	for (unsigned i = 0; i < n; i++) {
		for (unsigned o = olo; o < ohi; o++) {
			const struct hist_octave *oc = &h[i]->oct[o];
			if (!oc->n)
				continue;
			if (!fine) {
				d->counts[o - olo] += oc->n;
				continue;
			}
			const uint32_t *c = p->chunks[oc->chunk - 1];
			uint64_t *dst = d->counts + (o - olo) * HIST_SUB;
			for (unsigned s = 0; s < HIST_SUB; s++)
				dst[s] += c[s];
		}
	}
	/* index of counts[0]: octave olo's first bucket, at the schema */
	d->first = fine ? hist_octave_first(olo) : HIST_OCT_MIN + (int32_t)olo;
	unsigned lo = 0, hi = (ohi - olo) * per;
	while (lo < hi && d->counts[lo] == 0)
		lo++;
	while (hi > lo && d->counts[hi - 1] == 0)
		hi--;
	if (lo)
		memmove(d->counts, d->counts + lo, sizeof(uint64_t) * (hi - lo));
	d->first += (int32_t)lo;
	d->n = hi - lo;
}

/* ceil(i / 2^k) for any sign: bucket i at schema s lies in bucket
 * ceil(i / 2^(s - t)) at schema t (upper bounds 2^(i / 2^s)). */
static int32_t ceil_shift(int32_t i, unsigned k)
{
	return -((-i) >> k);
}

void hist_dist_downscale(struct hist_dist *d, int32_t s)
{
	if (s >= d->schema)
		return;
	unsigned k = (unsigned)(d->schema - s);
	if (d->n == 0) {
		d->schema = s;
		return;
	}
	int32_t first = ceil_shift(d->first, k);
	uint32_t out = 0;
	for (uint32_t j = 0; j < d->n; j++) {
		uint32_t at = (uint32_t)(ceil_shift(d->first + (int32_t)j, k) - first);
		uint64_t c = d->counts[j];
		if (at >= out) {
			while (out <= at)
				d->counts[out++] = 0; /* at <= j: never ahead of the read */
		}
		d->counts[at] += c;
	}
	d->first = first;
	d->n = out;
	d->schema = s;
}

unsigned hist_bucket_index_ratio(const struct hist_bounds *b, uint64_t num, uint64_t den)
{
	return hist_bucket_index(b, num / den + (num % den != 0));
}

#define BOUNDS(name, ...)                                                                  \
	static const uint64_t name##_le[] = {__VA_ARGS__};                                  \
	_Static_assert(sizeof(name##_le) / sizeof(uint64_t) <= HIST_MAX_BOUNDS, #name);

BOUNDS(tr_duration, 5 * NS_PER_MS, 10 * NS_PER_MS, 25 * NS_PER_MS, 50 * NS_PER_MS,
       100 * NS_PER_MS, 250 * NS_PER_MS, 500 * NS_PER_MS, 1 * NS_PER_S, 2500 * NS_PER_MS,
       5 * NS_PER_S, 10 * NS_PER_S, 30 * NS_PER_S, 60 * NS_PER_S, 120 * NS_PER_S,
       300 * NS_PER_S)
static const char *const tr_duration_text[] = {"0.005", "0.01", "0.025", "0.05", "0.1",
						"0.25",  "0.5",  "1",     "2.5",  "5",
						"10",    "30",   "60",    "120",  "300"};

BOUNDS(tr_ttft, 10 * NS_PER_MS, 25 * NS_PER_MS, 50 * NS_PER_MS, 100 * NS_PER_MS,
       250 * NS_PER_MS, 500 * NS_PER_MS, 1 * NS_PER_S, 2500 * NS_PER_MS, 5 * NS_PER_S,
       10 * NS_PER_S, 30 * NS_PER_S)
static const char *const tr_ttft_text[] = {"0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
					   "1",    "2.5",   "5",    "10",  "30"};

BOUNDS(tr_tpot, 1 * NS_PER_MS, 2500000ull, 5 * NS_PER_MS, 10 * NS_PER_MS, 25 * NS_PER_MS,
       50 * NS_PER_MS, 75 * NS_PER_MS, 100 * NS_PER_MS, 150 * NS_PER_MS, 250 * NS_PER_MS,
       500 * NS_PER_MS, 1 * NS_PER_S)
static const char *const tr_tpot_text[] = {"0.001", "0.0025", "0.005", "0.01",
					   "0.025", "0.05",   "0.075", "0.1",
					   "0.15",  "0.25",   "0.5",   "1"};

/* OpenTelemetry GenAI: gen_ai.client.operation.duration,
 * gen_ai.server.request.duration and gen_ai.client.operation.time_to_first_chunk. */
BOUNDS(genai_duration, 10 * NS_PER_MS, 20 * NS_PER_MS, 40 * NS_PER_MS, 80 * NS_PER_MS,
       160 * NS_PER_MS, 320 * NS_PER_MS, 640 * NS_PER_MS, 1280 * NS_PER_MS, 2560 * NS_PER_MS,
       5120 * NS_PER_MS, 10240 * NS_PER_MS, 20480 * NS_PER_MS, 40960 * NS_PER_MS,
       81920 * NS_PER_MS)
static const char *const genai_duration_text[] = {
	"0.01", "0.02", "0.04",  "0.08",  "0.16",  "0.32",  "0.64",
	"1.28", "2.56", "5.12", "10.24", "20.48", "40.96", "81.92"};

/* gen_ai.server.time_per_output_token and
 * gen_ai.client.operation.time_per_output_chunk. */
BOUNDS(genai_tpot, 10 * NS_PER_MS, 25 * NS_PER_MS, 50 * NS_PER_MS, 75 * NS_PER_MS,
       100 * NS_PER_MS, 150 * NS_PER_MS, 200 * NS_PER_MS, 300 * NS_PER_MS, 400 * NS_PER_MS,
       500 * NS_PER_MS, 750 * NS_PER_MS, 1 * NS_PER_S, 2500 * NS_PER_MS)
static const char *const genai_tpot_text[] = {"0.01", "0.025", "0.05", "0.075", "0.1",
					      "0.15", "0.2",   "0.3",  "0.4",   "0.5",
					      "0.75", "1",     "2.5"};

/* gen_ai.server.time_to_first_token. */
BOUNDS(genai_server_ttft, 1 * NS_PER_MS, 5 * NS_PER_MS, 10 * NS_PER_MS, 20 * NS_PER_MS,
       40 * NS_PER_MS, 60 * NS_PER_MS, 80 * NS_PER_MS, 100 * NS_PER_MS, 250 * NS_PER_MS,
       500 * NS_PER_MS, 750 * NS_PER_MS, 1 * NS_PER_S, 2500 * NS_PER_MS, 5 * NS_PER_S,
       7500 * NS_PER_MS, 10 * NS_PER_S)
static const char *const genai_server_ttft_text[] = {
	"0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1",
	"0.25",  "0.5",   "0.75", "1",    "2.5",  "5",    "7.5",  "10"};

/* gen_ai.client.token.usage: powers of 4. */
BOUNDS(genai_tokens, 1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
       16777216, 67108864)
static const char *const genai_tokens_text[] = {
	"1",     "4",      "16",      "64",      "256",      "1024",     "4096",
	"16384", "65536", "262144", "1048576", "4194304", "16777216", "67108864"};

/* Envoy's default histogram buckets, as istio_request_duration_milliseconds. */
BOUNDS(istio_duration, 500000ull, 1 * NS_PER_MS, 5 * NS_PER_MS, 10 * NS_PER_MS,
       25 * NS_PER_MS, 50 * NS_PER_MS, 100 * NS_PER_MS, 250 * NS_PER_MS, 500 * NS_PER_MS,
       1 * NS_PER_S, 2500 * NS_PER_MS, 5 * NS_PER_S, 10 * NS_PER_S, 30 * NS_PER_S,
       60 * NS_PER_S, 300 * NS_PER_S, 600 * NS_PER_S, 1800 * NS_PER_S, 3600 * NS_PER_S)
static const char *const istio_duration_text[] = {
	"0.5",  "1",    "5",    "10",    "25",    "50",     "100",    "250",     "500",    "1000",
	"2500", "5000", "10000", "30000", "60000", "300000", "600000", "1800000", "3600000"};

/* Unions, in ns. Sorted and holding every family boundary (test_hist). */
#define MSF(x) ((uint64_t)((x) * 1000000.0))
static const uint64_t u_duration_le[] = {
	500000ull,  MSF(1),     MSF(5),      MSF(10),     MSF(20),     MSF(25),     MSF(40),
	MSF(50),    MSF(80),    MSF(100),    MSF(160),    MSF(250),    MSF(320),    MSF(500),
	MSF(640),   MSF(1000),  MSF(1280),   MSF(2500),   MSF(2560),   MSF(5000),   MSF(5120),
	MSF(10000), MSF(10240), MSF(20480),  MSF(30000),  MSF(40960),  MSF(60000),  MSF(81920),
	MSF(120000), MSF(300000), MSF(600000), MSF(1800000), MSF(3600000)};
static const uint64_t u_ttft_le[] = {
	MSF(1),    MSF(5),    MSF(10),   MSF(20),   MSF(25),    MSF(40),    MSF(50),    MSF(60),
	MSF(80),   MSF(100),  MSF(160),  MSF(250),  MSF(320),   MSF(500),   MSF(640),   MSF(750),
	MSF(1000), MSF(1280), MSF(2500), MSF(2560), MSF(5000),  MSF(5120),  MSF(7500),  MSF(10000),
	MSF(10240), MSF(20480), MSF(30000), MSF(40960), MSF(81920)};
static const uint64_t u_tpot_le[] = {MSF(1),   2500000ull, MSF(5),   MSF(10),  MSF(25),  MSF(50),
				     MSF(75),  MSF(100),   MSF(150), MSF(200), MSF(250), MSF(300),
				     MSF(400), MSF(500),   MSF(750), MSF(1000), MSF(2500)};
_Static_assert(sizeof(u_duration_le) / sizeof(uint64_t) == HIST_U_DURATION_N, "duration union");
_Static_assert(sizeof(u_ttft_le) / sizeof(uint64_t) == HIST_U_TTFT_N, "ttft union");
_Static_assert(sizeof(u_tpot_le) / sizeof(uint64_t) == HIST_U_TPOT_N, "tpot union");
_Static_assert(sizeof(genai_tpot_le) / sizeof(uint64_t) == HIST_TPOC_N, "tpoc set");
_Static_assert(sizeof(genai_tokens_le) / sizeof(uint64_t) == HIST_TOKENS_N, "tokens set");
static struct hist_bounds_index u_duration_ix, u_ttft_ix, u_tpot_ix;
const struct hist_bounds hist_u_duration = {u_duration_le, NULL, HIST_U_DURATION_N,
					    &u_duration_ix};
const struct hist_bounds hist_u_ttft = {u_ttft_le, NULL, HIST_U_TTFT_N, &u_ttft_ix};
const struct hist_bounds hist_u_tpot = {u_tpot_le, NULL, HIST_U_TPOT_N, &u_tpot_ix};

#define SET(var, name)                                                                     \
	_Static_assert(sizeof(name##_le) / sizeof(uint64_t) ==                              \
			       sizeof(name##_text) / sizeof(char *),                               \
		       #name " text per boundary");                                              \
	static struct hist_bounds_index var##_ix;                                         \
	const struct hist_bounds var = {name##_le, name##_text,                             \
					sizeof(name##_le) / sizeof(uint64_t), &var##_ix}

SET(hist_tr_duration, tr_duration);
SET(hist_tr_ttft, tr_ttft);
SET(hist_tr_tpot, tr_tpot);
SET(hist_genai_duration, genai_duration);
SET(hist_genai_client_tpoc, genai_tpot);
SET(hist_genai_server_ttft, genai_server_ttft);
SET(hist_genai_server_tpot, genai_tpot);
SET(hist_genai_tokens, genai_tokens);
SET(hist_istio_duration, istio_duration);

/* The search index of every set, filled before main (a constructor: no
 * thread exists yet, and the sets stay const for their users). */
static void fill_index(const struct hist_bounds *b, struct hist_bounds_index *x)
{
	unsigned i = 0;
	for (unsigned e = 0; e < 64; e++) {
		while (i < b->n && b->le[i] < 1ull << e)
			i++;
		x->from[e] = (uint8_t)i;
	}
	memcpy(x->le, b->le, b->n * sizeof(*b->le));
	x->le[b->n] = UINT64_MAX;
}

_Static_assert(HIST_FINE_BUCKETS <= HIST_TOKEN_FINE_MASK + 1 &&
		       HIST_TOKENS_N < 1u << (16 - HIST_TOKEN_FINE_BITS),
	       "a token count's places fit 16 bits");
uint16_t hist_token_places[HIST_TOKEN_TABLE];

uint32_t hist_token_place_big(uint32_t v)
{
	unsigned o, s;
	hist_place((double)v, &o, &s);
	return (o * HIST_SUB + s) | hist_bucket_index(&hist_genai_tokens, v)
					    << HIST_TOKEN_FINE_BITS;
}

__attribute__((constructor)) static void hist_bounds_index(void)
{
	static const struct {
		const struct hist_bounds *b;
		struct hist_bounds_index *x;
	} sets[] = {
		{&hist_u_duration, &u_duration_ix},
		{&hist_u_ttft, &u_ttft_ix},
		{&hist_u_tpot, &u_tpot_ix},
		{&hist_tr_duration, &hist_tr_duration_ix},
		{&hist_tr_ttft, &hist_tr_ttft_ix},
		{&hist_tr_tpot, &hist_tr_tpot_ix},
		{&hist_genai_duration, &hist_genai_duration_ix},
		{&hist_genai_client_tpoc, &hist_genai_client_tpoc_ix},
		{&hist_genai_server_ttft, &hist_genai_server_ttft_ix},
		{&hist_genai_server_tpot, &hist_genai_server_tpot_ix},
		{&hist_genai_tokens, &hist_genai_tokens_ix},
		{&hist_istio_duration, &hist_istio_duration_ix},
	};
	for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
		fill_index(sets[i].b, sets[i].x);
	for (uint32_t v = 0; v < HIST_TOKEN_TABLE; v++) /* after the indexes it reads */
		hist_token_places[v] = (uint16_t)hist_token_place_big(v);
}
