/*
 * series.c - the label table and the per-label value bounds.
 *
 * Lookup fast path: one XXH3 over the fixed-size key and one probe. Only a
 * miss (a tuple never seen, or one whose value was folded before) pays for
 * the value-bound checks, a second hash and the insert.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "esc.h"
#include "series.h"

struct series_value {
	uint64_t hash; /* 0 = empty slot (a real hash of 0 is stored as 1) */
	char v[REC_MODEL_LEN];
};
_Static_assert(REC_LABEL_LEN <= REC_MODEL_LEN, "label values fit a value slot");

static uint32_t pow2_at_least(uint64_t n)
{
	uint64_t p = 16;
	while (p < n)
		p <<= 1;
	return p > UINT32_MAX ? 0 : (uint32_t)p;
}

static int values_init(struct series_values *s, uint32_t max)
{
	uint32_t size = pow2_at_least((uint64_t)max * 2);
	if (!size)
		return -EINVAL;
	s->slots = calloc(size, sizeof(*s->slots));
	if (!s->slots)
		return -ENOMEM;
	s->mask = size - 1;
	s->count = 0;
	s->max = max;
	return 0;
}

/* Admit v (NUL-terminated, < REC_MODEL_LEN) or report that the bound is hit.
 * Returns true if v may be used as is. */
static bool values_admit(struct series_values *s, const char *v)
{
	size_t n = strlen(v);
	uint64_t h = XXH3_64bits(v, n);
	if (h == 0)
		h = 1;
	for (uint32_t i = (uint32_t)h & s->mask;; i = (i + 1) & s->mask) {
		struct series_value *e = &s->slots[i];
		if (e->hash == 0) {
			if (s->count >= s->max)
				return false;
			e->hash = h;
			memcpy(e->v, v, n + 1);
			s->count++;
			return true;
		}
		if (e->hash == h && strcmp(e->v, v) == 0)
			return true;
	}
}

int series_table_init(struct series_table *t, uint32_t max_series, uint32_t max_values)
{
	int rc = -ENOMEM;

	memset(t, 0, sizeof(*t));
	if (max_series == 0 || max_values == 0 || max_series > AGG_MAX_SERIES_LIMIT ||
	    max_values > AGG_LABEL_MAX_VALUES_LIMIT)
		return -EINVAL;
	uint64_t slots = (uint64_t)max_series + SERIES_OVERFLOW_SLOTS;
	uint32_t size = pow2_at_least(slots * 2); /* load factor <= 1/2 */
	t->max_series = max_series;
	t->series = calloc(slots, sizeof(*t->series));
	t->index = calloc(size, sizeof(*t->index));
	if (!t->series || !t->index)
		goto fail;
	t->mask = size - 1;
	/* A per-table seed: a writer cannot precompute colliding tuples. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t->seed = XXH3_64bits(&ts, sizeof(ts)) ^ (uint64_t)(uintptr_t)t;
	for (unsigned i = 0; i < SERIES_OVERFLOW_SLOTS; i++)
		t->overflow_slot[i] = -1;
	for (unsigned i = 0; i < SERIES_BOUNDED; i++) {
		rc = values_init(&t->values[i], max_values);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	series_table_destroy(t);
	return rc;
}

void series_table_destroy(struct series_table *t)
{
	for (unsigned i = 0; i < SERIES_BOUNDED; i++)
		free(t->values[i].slots);
	free(t->index);
	free(t->series);
	memset(t, 0, sizeof(*t));
}

uint64_t series_key_hash(const struct series_key *k)
{
	return XXH3_64bits(k, sizeof(*k));
}

/* Bounded copy of an untrusted, maybe unterminated field. */
static void copy_field(char *dst, size_t cap, const char *src, size_t src_cap)
{
	size_t n = strnlen(src, src_cap);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0; /* the rest of dst is already zero */
}

void series_format_addr(char *dst, size_t cap, const struct rec_addr *a)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == 4 && inet_ntop(AF_INET, a->addr, ip, sizeof(ip)))
		snprintf(dst, cap, "%s:%u", ip, a->port);
	else if (a->family == 6 && inet_ntop(AF_INET6, a->addr, ip, sizeof(ip)))
		snprintf(dst, cap, "[%s]:%u", ip, a->port);
	else if (cap)
		dst[0] = 0;
}

void series_key_from_record(struct series_key *k, const struct tr_record *rec,
			    const struct agg_identity *id)
{
	memset(k, 0, sizeof(*k));
	k->reporter = rec->reporter <= REC_REPORTER_DESTINATION ? rec->reporter : 0;
	k->provider = rec->provider < REC_PROVIDER_COUNT ? rec->provider : 0;
	k->operation = rec->operation < REC_OP_COUNT ? rec->operation : 0;
	k->response_code = rec->status;
	if (id) {
		copy_field(k->workload, sizeof(k->workload), id->workload, sizeof(id->workload));
		copy_field(k->namespace_, sizeof(k->namespace_), id->namespace_,
			   sizeof(id->namespace_));
	}
	if (!k->workload[0])
		memcpy(k->workload, "unknown", sizeof("unknown"));
	if (!k->namespace_[0])
		memcpy(k->namespace_, "unknown", sizeof("unknown"));

	/* destination_service: the authority's host (port dropped, as Istio
	 * names a service), else the address the exchange went to. */
	size_t an = strnlen(rec->authority, sizeof(rec->authority));
	if (an) {
		const char *a = rec->authority;
		size_t host = an;
		if (a[0] == '[') {
			const char *close = memchr(a, ']', an);
			if (close)
				host = (size_t)(close - a) + 1;
		} else {
			const char *colon = memchr(a, ':', an);
			if (colon)
				host = (size_t)(colon - a);
		}
		if (host == 0)
			host = an;
		copy_field(k->destination, sizeof(k->destination), a, host);
	} else {
		const struct rec_addr *to =
			rec->reporter == REC_REPORTER_DESTINATION ? &rec->local : &rec->peer;
		series_format_addr(k->destination, sizeof(k->destination), to);
		if (!k->destination[0])
			memcpy(k->destination, "unknown", sizeof("unknown"));
	}

	copy_field(k->model, sizeof(k->model), rec->request_model, sizeof(rec->request_model));
	copy_field(k->response_model, sizeof(k->response_model), rec->response_model,
		   sizeof(rec->response_model));
	if (!k->model[0])
		memcpy(k->model, k->response_model, sizeof(k->model));
	if (!k->model[0])
		memcpy(k->model, "unknown", sizeof("unknown"));
	for (unsigned i = 0; i < REC_LABELS; i++)
		copy_field(k->labels[i], sizeof(k->labels[i]), rec->labels[i],
			   sizeof(rec->labels[i]));
}

static struct series *probe(struct series_table *t, XXH128_hash_t hh, uint32_t *empty_at)
{
	const uint64_t h = hh.low64;
	const uint64_t tag = h & 0xffffffff00000000ull;
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		uint64_t slot = t->index[i];
		if (slot == 0) {
			*empty_at = i;
			return NULL;
		}
		if ((slot & 0xffffffff00000000ull) != tag)
			continue;
		struct series *e = &t->series[(uint32_t)slot - 1];
		if (e->hash == h && e->hash2 == hh.high64)
			return e;
	}
}

static struct series *insert(struct series_table *t, const struct series_key *k,
			     XXH128_hash_t hh, uint32_t at)
{
	const uint64_t h = hh.low64;
	struct series *s = &t->series[t->used];
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->hash = h;
	s->hash2 = hh.high64;
	s->price = SERIES_NO_PRICE;
	t->index[at] = (h & 0xffffffff00000000ull) | ++t->used;
	return s;
}

/*
 * Canonical label text: what the exposition would print for a value, so
 * that two keys are equal exactly when their rendered labels are. Invalid
 * UTF-8 and control bytes other than \n become U+FFFD (as esc_prom prints
 * them; its remaining escapes are one-to-one), cut at a character boundary
 * to fit. Without this, "m\xff" and "m\xfe" would be two series rendered
 * with the same labels: a duplicate sample in the scrape. Returns true if
 * the field changed. Only the lookup's slow path runs it: stored keys are
 * canonical, so a canonical record hits on its first probe.
 */
#define CANON_MAX 64 /* largest key string field */
_Static_assert(RING_WORKLOAD_LEN <= CANON_MAX && RING_NAMESPACE_LEN <= CANON_MAX &&
		       SERIES_DEST_LEN <= CANON_MAX && REC_MODEL_LEN <= CANON_MAX &&
		       REC_LABEL_LEN <= CANON_MAX,
	       "canonical() buffer");

static bool canonical(char *field, size_t cap)
{
	const unsigned char *s = (const unsigned char *)field;
	size_t n = strnlen(field, cap), i = 0;
	for (; i < n; i++) /* fast scan: printable ASCII */
		if (s[i] < 0x20 || s[i] >= 0x7f)
			break;
	if (i == n)
		return false;
	char out[CANON_MAX];
	memcpy(out, field, i); /* the clean prefix */
	size_t o = i;
	bool changed = false;
	while (i < n) {
		size_t len = s[i] == '\n' ? 1 : s[i] < 0x20 || s[i] == 0x7f ? 0
				       : esc_utf8_char(s + i, n - i);
		const char *src = (const char *)s + i;
		size_t put = len;
		if (len == 0) {
			src = "\xef\xbf\xbd";
			put = 3;
			len = 1;
			changed = true;
		}
		if (o + put > cap - 1) {
			changed = true; /* no room for the whole character: cut */
			break;
		}
		memcpy(out + o, src, put);
		o += put;
		i += len;
	}
	if (!changed)
		return false;
	memset(field, 0, cap);
	memcpy(field, out, o);
	return true;
}

static bool canonical_key(struct series_key *k)
{
	bool c = canonical(k->workload, sizeof(k->workload));
	c |= canonical(k->namespace_, sizeof(k->namespace_));
	c |= canonical(k->destination, sizeof(k->destination));
	c |= canonical(k->model, sizeof(k->model));
	c |= canonical(k->response_model, sizeof(k->response_model));
	for (unsigned i = 0; i < REC_LABELS; i++)
		c |= canonical(k->labels[i], sizeof(k->labels[i]));
	return c;
}

/* Replace a value past its bound by AGG_OTHER_VALUE; true if changed. */
static bool bound_value(struct series_table *t, unsigned which, char *v, size_t cap)
{
	if (!v[0] || strcmp(v, AGG_OTHER_VALUE) == 0)
		return false; /* "" (no header, no response model) costs nothing */
	if (values_admit(&t->values[which], v))
		return false;
	t->label_overflow[which]++;
	memset(v, 0, cap);
	memcpy(v, AGG_OTHER_VALUE, sizeof(AGG_OTHER_VALUE));
	return true;
}

static XXH128_hash_t key_hash128(const struct series_table *t, const struct series_key *k)
{
	return XXH3_128bits_withSeed(k, sizeof(*k), t->seed);
}

struct series_hash series_hash_key(const struct series_table *t, const struct series_key *k)
{
	XXH128_hash_t hh = key_hash128(t, k);
	return (struct series_hash){hh.low64, hh.high64};
}

const void *series_slot_addr(const struct series_table *t, struct series_hash h)
{
	return &t->index[(uint32_t)h.lo & t->mask];
}

struct series *series_peek(const struct series_table *t, struct series_hash h)
{
	uint64_t slot = t->index[(uint32_t)h.lo & t->mask];
	if (slot == 0 || (slot & 0xffffffff00000000ull) != (h.lo & 0xffffffff00000000ull))
		return NULL;
	return &t->series[(uint32_t)slot - 1];
}

struct series *series_lookup(struct series_table *t, struct series_key *k, bool *created)
{
	return series_lookup_hashed(t, k, series_hash_key(t, k), created);
}

struct series *series_lookup_hashed(struct series_table *t, struct series_key *k,
				    struct series_hash h, bool *created)
{
	uint32_t at;
	XXH128_hash_t hh = {h.lo, h.hi};
	struct series *s = probe(t, hh, &at);

	*created = false;
	if (s)
		return s;

	bool changed = canonical_key(k);
	changed |= bound_value(t, SERIES_B_MODEL, k->model, sizeof(k->model));
	changed |= bound_value(t, SERIES_B_RESPONSE_MODEL, k->response_model,
			       sizeof(k->response_model));
	for (unsigned i = 0; i < REC_LABELS; i++)
		changed |= bound_value(t, SERIES_B_LABEL0 + i, k->labels[i], sizeof(k->labels[i]));
	if (changed) {
		hh = key_hash128(t, k);
		s = probe(t, hh, &at);
		if (s)
			return s;
	}
	uint32_t overflow_series = 0;
	for (unsigned i = 0; i < SERIES_OVERFLOW_SLOTS; i++)
		overflow_series += t->overflow_slot[i] >= 0;
	if (t->used - overflow_series < t->max_series) {
		*created = true;
		return insert(t, k, hh, at);
	}

	/* Table full: fold into the reporter's overflow series. */
	t->overflow_records++;
	unsigned r = k->reporter < SERIES_OVERFLOW_SLOTS ? k->reporter : 0;
	uint8_t reporter = k->reporter;
	memset(k, 0, sizeof(*k));
	k->reporter = reporter;
	memcpy(k->workload, AGG_OVERFLOW_MODEL, sizeof(AGG_OVERFLOW_MODEL));
	memcpy(k->namespace_, AGG_OVERFLOW_MODEL, sizeof(AGG_OVERFLOW_MODEL));
	memcpy(k->destination, AGG_OVERFLOW_MODEL, sizeof(AGG_OVERFLOW_MODEL));
	memcpy(k->model, AGG_OVERFLOW_MODEL, sizeof(AGG_OVERFLOW_MODEL));
	if (t->overflow_slot[r] >= 0)
		return &t->series[t->overflow_slot[r]];
	hh = key_hash128(t, k);
	s = probe(t, hh, &at);
	if (s) /* cannot happen: overflow keys are only made here */
		return s;
	t->overflow_slot[r] = (int32_t)t->used;
	*created = true;
	return insert(t, k, hh, at);
}

const char *series_bounded_name(unsigned i, const struct agg_config *cfg)
{
	switch (i) {
	case SERIES_B_MODEL:
		return "model";
	case SERIES_B_RESPONSE_MODEL:
		return "response_model";
	default:
		if (i - SERIES_B_LABEL0 < REC_LABELS && cfg->label_names[i - SERIES_B_LABEL0][0])
			return cfg->label_names[i - SERIES_B_LABEL0];
		return "unknown";
	}
}
