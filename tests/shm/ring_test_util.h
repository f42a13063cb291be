/* ring_test_util.h - helpers shared by the ring tests: unique ring paths
 * and records filled with a checkable pattern. */
#ifndef RING_TEST_UTIL_H
#define RING_TEST_UTIL_H

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"

static inline void test_ring_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "/dev/shm/tokenring-test-%d-%s", (int)getpid(), name);
	unlink(buf);
}

/* A record whose every payload byte derives from (producer, n). */
static inline void test_fill(struct tr_record *r, uint32_t producer, uint64_t n)
{
	unsigned char *p = (unsigned char *)r;
	for (size_t i = REC_CHECKSUM_FROM; i < REC_SIZE; i++)
		p[i] = (unsigned char)(producer * 131u + n * 7u + i);
	r->pid = producer;
	r->duration_ns = n;
}

/* True if r carries exactly test_fill(producer, n)'s bytes. */
static inline int test_check(const struct tr_record *r, uint32_t producer, uint64_t n)
{
	struct tr_record want;
	test_fill(&want, producer, n);
	return memcmp((const unsigned char *)r + REC_CHECKSUM_FROM,
		      (const unsigned char *)&want + REC_CHECKSUM_FROM,
		      REC_SIZE - REC_CHECKSUM_FROM) == 0;
}

/* Create a consumer handle and attach a producer handle to a fresh ring. */
static inline int test_ring_pair(char *path, size_t cap, const char *name, uint32_t capacity,
				 uint64_t skip_timeout_ns, struct ring *cons, struct ring *prod)
{
	test_ring_path(path, cap, name);
	struct ring_config cfg;
	ring_config_default(&cfg);
	cfg.capacity = capacity;
	cfg.skip_timeout_ns = skip_timeout_ns;
	int err = ring_create(path, &cfg, cons);
	return err ? err : ring_attach(path, prod);
}

static inline void test_ring_unpair(const char *path, struct ring *cons, struct ring *prod)
{
	ring_detach(prod);
	ring_detach(cons);
	unlink(path);
}

static inline uint64_t test_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
