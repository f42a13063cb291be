/*
 * ring_internal.h - layout arithmetic shared by the ring's .c files.
 * Line 0 of struct ring_header (magic .. state) is frozen across layout
 * versions: a producer of any version can read "retired" from an old file.
 */
#ifndef TOKENRING_RING_INTERNAL_H
#define TOKENRING_RING_INTERNAL_H

#include <stdatomic.h>
#include <time.h>

#include "ring.h"

#define RING_PAGE 4096u

static inline uint64_t ring_round_page(uint64_t n)
{
	return (n + RING_PAGE - 1) & ~(uint64_t)(RING_PAGE - 1);
}

/* Offset of the first slot: control area, then the producer table. */
static inline uint64_t ring_slots_offset(void)
{
	return ring_round_page(RING_CONTROL_SIZE +
			       (uint64_t)RING_PRODUCERS * sizeof(struct ring_producer));
}

static inline struct tr_record *ring_slot(const struct ring *r, uint64_t pos)
{
	return (struct tr_record *)(r->slots + (size_t)(pos & r->mask) * REC_SIZE);
}

/* The slot control word. The record declares it plain uint64_t so the
 * struct stays a plain value type; in the ring it is only touched through
 * this atomic view (same size and alignment on every supported target). */
static inline _Atomic uint64_t *ring_seq(struct tr_record *slot)
{
	return (_Atomic uint64_t *)&slot->seq;
}

static inline uint64_t ring_now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
