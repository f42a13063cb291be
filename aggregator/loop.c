/*
 * loop.c - small helpers every part of the io_uring loop uses.
 */
#include <time.h>

#include "loop.h"

struct io_uring_sqe *loop_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		/* SQ full: hand the queued entries to the kernel and retry once. */
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t loop_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t loop_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }
