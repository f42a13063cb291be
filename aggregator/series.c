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
#include <arpa/inet.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

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
	if (max_series == 0 || max_values == 0 || max_series > (1u << 24))
		return -EINVAL;
	uint64_t slots = (uint64_t)max_series + SERIES_OVERFLOW_SLOTS;
	uint32_t size = pow2_at_least(slots * 2); /* load factor <= 1/2 */
	t->max_series = max_series;
	t->series = calloc(slots, sizeof(*t->series));
	t->index = calloc(size, sizeof(*t->index));
	if (!t->series || !t->index)
		goto fail;
	t->mask = size - 1;
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

static void format_addr(char *dst, size_t cap, const struct rec_addr *a)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == 4 && inet_ntop(AF_INET, a->addr, ip, sizeof(ip)))
		snprintf(dst, cap, "%s:%u", ip, a->port);
	else if (a->family == 6 && inet_ntop(AF_INET6, a->addr, ip, sizeof(ip)))
		snprintf(dst, cap, "[%s]:%u", ip, a->port);
	else
		snprintf(dst, cap, "unknown");
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
		format_addr(k->destination, sizeof(k->destination), to);
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

static struct series *probe(struct series_table *t, const struct series_key *k, uint64_t h,
			    uint32_t *empty_at)
{
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		uint32_t s = t->index[i];
		if (s == 0) {
			*empty_at = i;
			return NULL;
		}
		struct series *e = &t->series[s - 1];
		if (e->hash == h && memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
	}
}

static struct series *insert(struct series_table *t, const struct series_key *k, uint64_t h,
			     uint32_t at)
{
	struct series *s = &t->series[t->used];
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->hash = h;
	s->price = SERIES_NO_PRICE;
	t->index[at] = ++t->used;
	return s;
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

struct series *series_lookup(struct series_table *t, struct series_key *k, bool *created)
{
	uint32_t at;
	uint64_t h = series_key_hash(k);
	struct series *s = probe(t, k, h, &at);

	*created = false;
	if (s)
		return s;

	bool changed = bound_value(t, SERIES_B_MODEL, k->model, sizeof(k->model));
	changed |= bound_value(t, SERIES_B_RESPONSE_MODEL, k->response_model,
			       sizeof(k->response_model));
	for (unsigned i = 0; i < REC_LABELS; i++)
		changed |= bound_value(t, SERIES_B_LABEL0 + i, k->labels[i], sizeof(k->labels[i]));
	if (changed) {
		h = series_key_hash(k);
		s = probe(t, k, h, &at);
		if (s)
			return s;
	}
	if (t->used - (t->overflow_slot[0] >= 0) - (t->overflow_slot[1] >= 0) -
		    (t->overflow_slot[2] >= 0) <
	    t->max_series) {
		*created = true;
		return insert(t, k, h, at);
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
	h = series_key_hash(k);
	s = probe(t, k, h, &at);
	if (s) /* cannot happen: overflow keys are only made here */
		return s;
	t->overflow_slot[r] = (int32_t)t->used;
	*created = true;
	return insert(t, k, h, at);
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
