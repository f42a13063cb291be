/*
 * ring_producers.c - the producer table: one entry per producer process
 * holding its identity (workload, namespace), so records carry a 4-byte
 * reference instead of 112 bytes of strings. Entries move free -> filling
 * -> ready by the producer and ready -> free only by the consumer (reap).
 * The generation number makes a record's reference stale, not wrong, once
 * its entry is reused.
 */
#include <errno.h>
#include <string.h>

#include "ring_internal.h"

static void copy_bounded(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;
	memcpy(dst, src ? src : "", n);
	memset(dst + n, 0, cap - n);
}

int ring_producer_register(struct ring *r, uint32_t pid, const char *workload,
			   const char *namespace_, uint64_t now_ns, uint16_t *gen)
{
	for (unsigned i = 0; i < RING_PRODUCERS; i++) {
		struct ring_producer *p = &r->producers[i];
		uint32_t expect = RING_PRODUCER_FREE;
		if (atomic_load_explicit(&p->state, memory_order_relaxed) != RING_PRODUCER_FREE ||
		    !atomic_compare_exchange_strong_explicit(&p->state, &expect, RING_PRODUCER_FILLING,
							     memory_order_acquire,
							     memory_order_relaxed))
			continue;
		p->pid = pid;
		p->gen = (uint16_t)(p->gen + 1);
		copy_bounded(p->workload, sizeof(p->workload), workload);
		copy_bounded(p->namespace_, sizeof(p->namespace_), namespace_);
		atomic_store_explicit(&p->last_seen_ns, now_ns, memory_order_relaxed);
		*gen = p->gen;
		/* release: pairs with ring_producer_lookup's acquire */
		atomic_store_explicit(&p->state, RING_PRODUCER_READY, memory_order_release);
		return (int)i;
	}
	atomic_fetch_add_explicit(&r->hdr->registrations_failed, 1, memory_order_relaxed);
	return -ENOSPC;
}

int ring_producer_touch(struct ring *r, int idx, uint16_t gen, uint64_t now_ns)
{
	if (idx < 0 || (unsigned)idx >= RING_PRODUCERS)
		return -ENOENT;
	struct ring_producer *p = &r->producers[idx];
	if (atomic_load_explicit(&p->state, memory_order_acquire) != RING_PRODUCER_READY || p->gen != gen)
		return -ENOENT;
	atomic_store_explicit(&p->last_seen_ns, now_ns, memory_order_relaxed);
	return 0;
}

const struct ring_producer *ring_producer_lookup(const struct ring *r, unsigned idx,
						 unsigned gen)
{
	if (idx >= RING_PRODUCERS)
		return NULL;
	const struct ring_producer *p = &r->producers[idx];
	/* acquire: pairs with the release in ring_producer_register */
	if (atomic_load_explicit(&p->state, memory_order_acquire) != RING_PRODUCER_READY ||
	    p->gen != gen)
		return NULL;
	return p;
}

unsigned ring_producers_reap(struct ring *r, uint64_t now_ns, uint64_t idle_ns)
{
	unsigned freed = 0;
	for (unsigned i = 0; i < RING_PRODUCERS; i++) {
		struct ring_producer *p = &r->producers[i];
		if (atomic_load_explicit(&p->state, memory_order_acquire) != RING_PRODUCER_READY)
			continue;
		uint64_t seen = atomic_load_explicit(&p->last_seen_ns, memory_order_relaxed);
		if (now_ns <= seen || now_ns - seen <= idle_ns)
			continue;
		uint32_t expect = RING_PRODUCER_READY;
		if (atomic_compare_exchange_strong_explicit(&p->state, &expect, RING_PRODUCER_FREE,
							    memory_order_acq_rel,
							    memory_order_relaxed))
			freed++;
	}
	return freed;
}

void ring_set_label_headers(struct ring *r, const char *const names[REC_LABELS])
{
	for (unsigned i = 0; i < REC_LABELS; i++)
		copy_bounded(r->hdr->label_headers[i], RING_LABEL_HEADER_LEN,
			     names ? names[i] : NULL);
}

void ring_label_headers_get(const struct ring *r, char out[REC_LABELS][RING_LABEL_HEADER_LEN])
{
	for (unsigned i = 0; i < REC_LABELS; i++) {
		memcpy(out[i], r->hdr->label_headers[i], RING_LABEL_HEADER_LEN);
		out[i][RING_LABEL_HEADER_LEN - 1] = 0; /* shared bytes: bound them */
	}
}
