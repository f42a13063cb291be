/*
 * burst_bench.c - loss versus burst length for several ring capacities.
 * A producer publishes a burst of B records back to back (as fast as the
 * ring takes them); a consumer thread drains on a 1 ms tick, as tokenringd
 * does. The ring absorbs a burst up to its capacity plus what the consumer
 * drains meanwhile; past that records are dropped and counted. Prints
 * "capacity burst dropped" lines; the dropped counts come from the ring's
 * own counters and are cross-checked against what the producer saw.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"

static struct ring cons, prod;
static _Atomic int stop;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *consumer(void *arg)
{
	(void)arg;
	static struct tr_record out[1024];
	struct timespec tick = {0, 1000000};
	while (!atomic_load(&stop)) {
		while (ring_consume(&cons, out, 1024, mono_ns()) == 1024)
			;
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static uint64_t burst(uint64_t n)
{
	struct tr_record rec;
	memset(&rec, 0x5a, sizeof rec);
	uint64_t dropped = 0;
	for (uint64_t i = 0; i < n; i++) {
		rec.duration_ns = i;
		if (ring_publish(&prod, &rec) != 0)
			dropped++;
	}
	return dropped;
}

static void drained(void)
{
	struct ring_stats st;
	do {
		usleep(2000);
		ring_get_stats(&prod, &st);
	} while (st.head != st.tail);
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	const uint32_t caps[] = {1024, 4096, 16384, 65536};
	const uint64_t bursts[] = {1000, 4000, 16000, 64000, 256000, 1024000};
	size_t nb = quick ? 4 : sizeof bursts / sizeof bursts[0];
	char path[128];
	snprintf(path, sizeof path, "/dev/shm/tokenring-burst-%d", (int)getpid());
	for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
		struct ring_config cfg;
		ring_config_default(&cfg);
		cfg.capacity = caps[c];
		unlink(path);
		if (ring_create(path, &cfg, &cons) != 0 || ring_attach(path, &prod) != 0)
			return 1;
		atomic_store(&stop, 0);
		pthread_t t;
		pthread_create(&t, NULL, consumer, NULL);
		for (size_t b = 0; b < nb; b++) {
			struct ring_stats before, after;
			ring_get_stats(&prod, &before);
			uint64_t seen = burst(bursts[b]);
			drained();
			ring_get_stats(&prod, &after);
			uint64_t counted = 0;
			for (int i = 0; i < RING_DROP_REASONS; i++)
				counted += after.dropped[i] - before.dropped[i];
			if (counted != seen) {
				fprintf(stderr, "burst_bench: counters %llu != producer %llu\n",
					(unsigned long long)counted, (unsigned long long)seen);
				return 1;
			}
			printf("%u %llu %llu\n", caps[c], (unsigned long long)bursts[b],
			       (unsigned long long)seen);
			fflush(stdout);
		}
		atomic_store(&stop, 1);
		pthread_join(t, NULL);
		ring_detach(&prod);
		ring_detach(&cons);
		unlink(path);
	}
	return 0;
}
