/*
 * fuzz_ring.c - libFuzzer target: the consumer over arbitrary shared bytes.
 * Each input overwrites every slot of a small ring and the producers' tail
 * (a buggy or hostile writer), then the consumer drains with time moving
 * on. Properties: nothing crashes or reads outside the mapping, every record
 * delivered carries a valid checksum, the consumer reaches the tail in a
 * bounded number of calls, and afterwards the ring works again: a fresh
 * record goes through intact, first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"

#define CAP 8u

static struct ring cons, prod;
static uint64_t clock_ns = 1;

static void setup_once(void)
{
	static int done;
	if (done)
		return;
	/* In memory: size, then init (no file, no syscall per run). */
	struct ring_config cfg;
	ring_config_default(&cfg);
	cfg.capacity = CAP;
	cfg.skip_timeout_ns = 1000;
	size_t size = ring_memsize(CAP);
	void *mem = aligned_alloc(64, size);
	if (!mem)
		abort();
	memset(mem, 0, size);
	if (ring_init(mem, size, &cfg, &cons) != 0 || ring_attach_mem(mem, size, &prod) != 0)
		abort();
	done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup_once();
	if (size < 1)
		return 0;
	uint64_t head = cons.head;
	/* tail anywhere from behind head to far past capacity */
	uint64_t tail = head + (uint64_t)(int8_t)data[0];
	data++, size--;
	size_t n = size < CAP * REC_SIZE ? size : CAP * REC_SIZE;
	memcpy(prod.slots, data, n);
	atomic_store(&prod.hdr->tail, tail);
	struct tr_record out[CAP];
	for (int call = 0; call < 4 * 128 + 4; call++) {
		size_t got = ring_consume(&cons, out, CAP, clock_ns += 2000);
		for (size_t i = 0; i < got; i++)
			if (out[i].checksum != ring_record_checksum(&out[i]))
				abort();
		if (cons.head == atomic_load(&prod.hdr->tail))
			break;
	}
	if (cons.head != atomic_load(&prod.hdr->tail))
		abort(); /* the consumer must reach the tail */
	ring_consume(&cons, out, CAP, clock_ns += 2000); /* repairs the slot at head */
	struct tr_record rec;
	memset(&rec, 0x3c, sizeof rec);
	if (ring_publish(&prod, &rec) != 0)
		abort();
	/* ours comes first; garbage past it that forged a valid checksum may
	 * follow, which is no worse than a hostile producer publishing it */
	if (ring_consume(&cons, out, CAP, clock_ns += 2000) < 1 ||
	    memcmp((char *)&out[0] + REC_CHECKSUM_FROM, (char *)&rec + REC_CHECKSUM_FROM,
		   REC_SIZE - REC_CHECKSUM_FROM) != 0)
		abort();
	return 0;
}
