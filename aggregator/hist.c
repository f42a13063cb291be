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

void hist_locate(uint64_t v, unsigned *octave, unsigned *sub)
{
	if (v < HIST_SUB) {
		*octave = 0;
		*sub = (unsigned)v;
		return;
	}
	unsigned top = 63u - (unsigned)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	unsigned o = top - HIST_SUB_BITS + 1;
	if (o >= HIST_OCTAVES) {
		*octave = HIST_OCTAVES - 1;
		*sub = HIST_SUB - 1;
		return;
	}
	*octave = o;
	*sub = (unsigned)(v >> (top - HIST_SUB_BITS)) - HIST_SUB;
}

uint64_t hist_bucket_width(unsigned octave)
{
	return octave == 0 ? 1 : 1ull << (octave - 1);
}

uint64_t hist_bucket_lower(unsigned octave, unsigned sub)
{
	if (octave == 0)
		return sub;
	return (uint64_t)(HIST_SUB + sub) << (octave - 1);
}

void hist_add(struct hist *h, struct hist_pool *p, uint64_t v)
{
	unsigned o, s;

	hist_locate(v, &o, &s);
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum = h->sum + v < h->sum ? UINT64_MAX : h->sum + v;
	struct hist_octave *oc = &h->oct[o];
	if (oc->n != UINT32_MAX) /* saturate rather than wrap */
		oc->n++;
	if (oc->chunk == HIST_NO_CHUNK) {
		oc->chunk = pool_get(p);
		if (oc->chunk == HIST_NO_CHUNK) {
			p->exhausted++;
			return;
		}
	}
	uint32_t *c = &p->chunks[oc->chunk - 1][s];
	if (*c != UINT32_MAX)
		(*c)++;
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
	dst->sum = dst->sum + src->sum < dst->sum ? UINT64_MAX : dst->sum + src->sum;
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

static double clamp(double v, uint64_t min, uint64_t max)
{
	if (v < (double)min)
		return (double)min;
	if (v > (double)max)
		return (double)max;
	return v;
}

double hist_quantile(const struct hist *h, const struct hist_pool *p, double q)
{
	return hist_quantile_n(&h, 1, p, q);
}

double hist_quantile_n(const struct hist *const *h, unsigned n, const struct hist_pool *p,
		       double q)
{
	uint64_t count = 0, min = UINT64_MAX, max = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!h[i]->count)
			continue;
		count += h[i]->count;
		min = h[i]->min < min ? h[i]->min : min;
		max = h[i]->max > max ? h[i]->max : max;
	}
	if (count == 0)
		return 0;
	if (q <= 0)
		return (double)min;
	if (q >= 1)
		return (double)max;
	/* Nearest rank: the smallest sample with at least ceil(q*n) samples <= it. */
	double r = q * (double)count;
	uint64_t rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
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
		uint64_t w = hist_bucket_width(o);
		if (!fine) /* no fine detail for some samples: the octave's middle */
			return clamp((double)hist_bucket_lower(o, 0) + (double)(w * HIST_SUB) / 2.0,
				     min, max);
		for (unsigned s = 0; s < HIST_SUB; s++) {
			for (unsigned i = 0; i < n; i++)
				if (h[i]->oct[o].chunk != HIST_NO_CHUNK)
					seen += p->chunks[h[i]->oct[o].chunk - 1][s];
			if (seen >= rank) {
				uint64_t lo = hist_bucket_lower(o, s);
				double mid = w == 1 ? (double)lo : (double)lo + (double)w / 2.0;
				return clamp(mid, min, max);
			}
		}
		/* Only reachable if a chunk counter saturated. */
		return clamp((double)hist_bucket_lower(o, HIST_SUB - 1), min, max);
	}
	return (double)max;
}

unsigned hist_bucket_index(const struct hist_bounds *b, uint64_t v)
{
	unsigned lo = 0, hi = b->n; /* answer in [lo, hi] */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (v <= b->le[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

unsigned hist_bucket_index_ratio(const struct hist_bounds *b, uint64_t num, uint64_t den)
{
	unsigned lo = 0, hi = b->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		/* num/den <= le  <=>  num <= le*den, in 128 bits: never overflows. */
		if ((unsigned __int128)num <= (unsigned __int128)b->le[mid] * den)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
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
const struct hist_bounds hist_u_duration = {u_duration_le, NULL, HIST_U_DURATION_N};
const struct hist_bounds hist_u_ttft = {u_ttft_le, NULL, HIST_U_TTFT_N};
const struct hist_bounds hist_u_tpot = {u_tpot_le, NULL, HIST_U_TPOT_N};

#define SET(var, name)                                                                     \
	_Static_assert(sizeof(name##_le) / sizeof(uint64_t) ==                              \
			       sizeof(name##_text) / sizeof(char *),                               \
		       #name " text per boundary");                                              \
	const struct hist_bounds var = {name##_le, name##_text,                             \
					sizeof(name##_le) / sizeof(uint64_t)}

SET(hist_tr_duration, tr_duration);
SET(hist_tr_ttft, tr_ttft);
SET(hist_tr_tpot, tr_tpot);
SET(hist_genai_duration, genai_duration);
SET(hist_genai_client_tpoc, genai_tpot);
SET(hist_genai_server_ttft, genai_server_ttft);
SET(hist_genai_server_tpot, genai_tpot);
SET(hist_genai_tokens, genai_tokens);
SET(hist_istio_duration, istio_duration);
