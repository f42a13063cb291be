/*
 * cover.c - the table behind cover.h: series keyed by (type, reason,
 * workload, namespace, sni), found by an FNV-1a hash with linear probing
 * in a table twice the series bound, so a probe always ends at a free
 * slot. Memory: COVER_TABLE_SLOTS series, allocated once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cover.h"

_Static_assert((COVER_TABLE_SLOTS & (COVER_TABLE_SLOTS - 1)) == 0, "power of two");

int cover_create(struct cover **out)
{
	struct cover *c = calloc(1, sizeof *c);
	if (c == NULL)
		return -ENOMEM;
	c->slots = calloc(COVER_TABLE_SLOTS, sizeof *c->slots);
	if (c->slots == NULL) {
		free(c);
		return -ENOMEM;
	}
	for (unsigned t = 0; t < REC_EVENT_TYPE_COUNT; t++) {
		struct cover_series *o = &c->overflow[t];
		o->type = (uint8_t)t;
		strcpy(o->workload, COVER_OVERFLOW);
		strcpy(o->namespace_, COVER_OVERFLOW);
		if (t == REC_EVENT_OPAQUE_TLS)
			strcpy(o->sni, COVER_OVERFLOW);
	}
	*out = c;
	return 0;
}

void cover_destroy(struct cover *c)
{
	if (c == NULL)
		return;
	free(c->slots);
	free(c);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

/* The series for a key (strings NUL-terminated, within their fields). */
static struct cover_series *find(struct cover *c, const struct cover_series *k)
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = fnv(h, &k->type, 2);
	h = fnv(h, k->workload, strlen(k->workload) + 1);
	h = fnv(h, k->namespace_, strlen(k->namespace_) + 1);
	h = fnv(h, k->sni, strlen(k->sni));
	for (uint32_t i = (uint32_t)h & (COVER_TABLE_SLOTS - 1);; i = (i + 1) & (COVER_TABLE_SLOTS - 1)) {
		struct cover_series *s = &c->slots[i];
		if (!s->used) {
			if (c->live >= COVER_MAX_SERIES) {
				c->folded++;
				return &c->overflow[k->type];
			}
			*s = *k;
			s->used = 1;
			c->live++;
			return s;
		}
		if (s->type == k->type && s->reason == k->reason &&
		    strcmp(s->workload, k->workload) == 0 &&
		    strcmp(s->namespace_, k->namespace_) == 0 && strcmp(s->sni, k->sni) == 0)
			return s;
	}
}

static void copy_str(char *dst, size_t cap, const char *src, size_t srccap)
{
	size_t n = strnlen(src, srccap < cap ? srccap : cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void cover_ingest(struct cover *c, const struct tr_event *ev, const struct agg_identity *id)
{
	struct cover_series k;
	struct cover_series *s;

	if (ev->type == REC_EVENT_NONE || ev->type >= REC_EVENT_TYPE_COUNT ||
	    ev->reason >= REC_REASON_COUNT) {
		c->invalid++;
		return;
	}
	memset(&k, 0, sizeof k);
	k.type = (uint8_t)ev->type;
	/* the reason is a label of the two reasoned families only */
	k.reason = ev->type == REC_EVENT_OPAQUE_TLS ? REC_REASON_NONE : (uint8_t)ev->reason;
	copy_str(k.workload, sizeof k.workload, id->workload, sizeof id->workload);
	copy_str(k.namespace_, sizeof k.namespace_, id->namespace_, sizeof id->namespace_);
	if (ev->type == REC_EVENT_OPAQUE_TLS)
		copy_str(k.sni, sizeof k.sni, ev->sni, sizeof ev->sni);
	s = find(c, &k);
	s->count += ev->count;
	s->sent += ev->bytes_sent;
	s->received += ev->bytes_received;
}
