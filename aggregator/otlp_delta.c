/*
 * otlp_delta.c - the baseline of OTLP delta temporality (see otlp_delta.h).
 *
 * Counters and bucket words are kept as one copy of the bytes [BASE_FROM,
 * BASE_TO) of each struct series; sketch distributions as their trimmed
 * bucket counts, packed one after another in a growing array per side
 * (a series' sketches span a few hundred fine buckets, most none).
 */
#include <stdlib.h>
#include <string.h>

#include "otlp_delta.h"

#define BASE_FROM offsetof(struct series, st)
#define BASE_TO (offsetof(struct series, tokens) + sizeof(((struct series *)0)->tokens))
#define BASE_LEN (BASE_TO - BASE_FROM)
_Static_assert(offsetof(struct series, st) < offsetof(struct series, duration) &&
		       offsetof(struct series, duration) < offsetof(struct series, ttft) &&
		       offsetof(struct series, ttft) < offsetof(struct series, tpot) &&
		       offsetof(struct series, tpot) < offsetof(struct series, tpoc) &&
		       offsetof(struct series, tpoc) < offsetof(struct series, tokens),
	       "the delta baseline copies st .. tokens of struct series in one range");

struct otlp_prev { /* one sketch pair's distribution at the last export */
	int32_t schema, first;
	uint32_t n;
	uint64_t count, zero;
	size_t at; /* its counts in otlp_delta.counts[side] */
};

struct otlp_delta {
	uint32_t cap;              /* series */
	unsigned char *base;       /* cap * BASE_LEN */
	struct otlp_prev *prev[2]; /* cap * OTLP_DELTA_SKETCHES each */
	uint64_t *counts[2];
	size_t used[2], room[2];
	unsigned side;    /* the side the last export wrote */
	uint64_t last_ns; /* the last export's time: the next one's start */
	bool oom;         /* a store failed in this render */
};

void otlp_delta_free(struct otlp_delta *dl)
{
	if (!dl)
		return;
	free(dl->base);
	for (int i = 0; i < 2; i++) {
		free(dl->prev[i]);
		free(dl->counts[i]);
	}
	free(dl);
}

struct otlp_delta *otlp_delta_begin(struct otlp_delta **dlp, uint32_t cap)
{
	struct otlp_delta *dl = *dlp;
	if (!dl) {
		dl = calloc(1, sizeof(*dl));
		if (!dl)
			return NULL;
		dl->cap = cap;
		dl->base = calloc(cap, BASE_LEN);
		dl->prev[0] = calloc((size_t)cap * OTLP_DELTA_SKETCHES, sizeof(struct otlp_prev));
		dl->prev[1] = calloc((size_t)cap * OTLP_DELTA_SKETCHES, sizeof(struct otlp_prev));
		if (!dl->base || !dl->prev[0] || !dl->prev[1]) {
			otlp_delta_free(dl);
			return NULL;
		}
		*dlp = dl;
	}
	unsigned next = !dl->side;
	memset(dl->prev[next], 0, (size_t)dl->cap * OTLP_DELTA_SKETCHES * sizeof(struct otlp_prev));
	dl->used[next] = 0;
	dl->oom = false;
	return dl;
}

uint64_t otlp_delta_last_ns(const struct otlp_delta *dl)
{
	return dl->last_ns;
}

bool otlp_delta_failed(const struct otlp_delta *dl)
{
	return dl->oom;
}

void otlp_delta_commit(struct otlp_delta *dl, const struct agg *a, uint64_t now_ns)
{
	for (uint32_t i = 0; i < a->tab.used; i++)
		memcpy(dl->base + (size_t)i * BASE_LEN,
		       (const unsigned char *)&a->tab.series[i] + BASE_FROM, BASE_LEN);
	dl->side = !dl->side;
	dl->last_ns = now_ns;
}

static const uint64_t zero_words[HIST_MAX_UNION + 2];

const uint64_t *otlp_delta_words(const struct otlp_delta *dl, uint32_t i, size_t off)
{
	if (!dl)
		return zero_words;
	return (const void *)(dl->base + (size_t)i * BASE_LEN + (off - BASE_FROM));
}

/* Keep d (a series' distribution now) as the next side's entry. */
static void prev_store(struct otlp_delta *dl, uint32_t i, unsigned slot, const struct hist_dist *d)
{
	unsigned next = !dl->side;
	if (dl->used[next] + d->n > dl->room[next]) {
		size_t room = dl->room[next] ? dl->room[next] * 2 : 4096;
		while (room < dl->used[next] + d->n)
			room *= 2;
		uint64_t *p = realloc(dl->counts[next], room * sizeof(uint64_t));
		if (!p) {
			dl->oom = true;
			return;
		}
		dl->counts[next] = p;
		dl->room[next] = room;
	}
	struct otlp_prev *e = &dl->prev[next][(size_t)i * OTLP_DELTA_SKETCHES + slot];
	*e = (struct otlp_prev){.schema = d->schema, .first = d->first, .n = d->n,
				.count = d->count, .zero = d->zero, .at = dl->used[next]};
	if (d->n) /* counts[next] may still be NULL */
		memcpy(dl->counts[next] + e->at, d->counts, d->n * sizeof(uint64_t));
	dl->used[next] += d->n;
}

/* The last export's entry of series i's sketch pair slot, into p (empty if
 * none). */
static void prev_load(const struct otlp_delta *dl, uint32_t i, unsigned slot, struct hist_dist *p)
{
	const struct otlp_prev *e = &dl->prev[dl->side][(size_t)i * OTLP_DELTA_SKETCHES + slot];
	p->schema = e->n || e->count ? e->schema : HIST_SCALE;
	p->first = e->first;
	p->n = e->n;
	p->count = e->count;
	p->zero = e->zero;
	if (e->n) /* counts[side] may still be NULL */
		memcpy(p->counts, dl->counts[dl->side] + e->at, e->n * sizeof(uint64_t));
}

/* d -= p, bucket by bucket. Counts only grow and a schema only falls (a
 * sketch that ran out of chunks exports at 0 from then on), so p, brought
 * to d's schema, lies within d's buckets. */
static void dist_subtract(struct hist_dist *d, struct hist_dist *p)
{
	if (p->schema > d->schema)
		hist_dist_downscale(p, d->schema);
	else if (d->schema > p->schema)
		hist_dist_downscale(d, p->schema);
	for (uint32_t j = 0; j < p->n; j++) {
		int64_t at = (int64_t)p->first + j - d->first;
		if (at >= 0 && at < (int64_t)d->n)
			d->counts[at] -= p->counts[j];
	}
	d->count -= p->count;
	d->zero -= p->zero;
	uint32_t lo = 0;
	while (lo < d->n && !d->counts[lo])
		lo++;
	while (d->n > lo && !d->counts[d->n - 1])
		d->n--;
	if (lo) {
		memmove(d->counts, d->counts + lo, (d->n - lo) * sizeof(uint64_t));
		d->first += (int32_t)lo;
		d->n -= lo;
	}
}

bool otlp_delta_since(struct otlp_delta *dl, uint32_t i, unsigned slot, struct hist_dist *d,
		      struct hist_dist *p)
{
	prev_store(dl, i, slot, d);
	prev_load(dl, i, slot, p);
	bool whole = p->count == 0;
	dist_subtract(d, p);
	return whole;
}

void otlp_delta_carry(struct otlp_delta *dl, uint32_t i, unsigned slot, struct hist_dist *p)
{
	prev_load(dl, i, slot, p);
	prev_store(dl, i, slot, p);
}
