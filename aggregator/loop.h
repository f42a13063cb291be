/*
 * loop.h - what every part of tokenringd's single io_uring shares: how an
 * operation and its owner are packed into a CQE's user_data, and getting an
 * SQE when the submission queue is full.
 *
 * user_data layout (64 bits): op (8) | index (24) | generation (32). The
 * generation makes a completion for a connection slot that was closed and
 * reused meanwhile recognisable as stale.
 */
#ifndef TOKENRING_LOOP_H
#define TOKENRING_LOOP_H

#include <liburing.h>
#include <stdint.h>

enum loop_op {
	LOOP_OP_NONE = 0, /* completions nobody waits for (cancels, closes) */
	LOOP_OP_TICK = 1,
	LOOP_OP_SIGNAL = 2,
	LOOP_OP_ACCEPT = 3,
	LOOP_OP_RECV = 4,
	LOOP_OP_SEND = 5,
	LOOP_OP_LOG_WRITE = 6,
};

#define LOOP_INDEX_MAX ((1u << 24) - 1)

static inline uint64_t loop_ud(enum loop_op op, uint32_t index, uint32_t gen)
{
	return ((uint64_t)op << 56) | ((uint64_t)(index & LOOP_INDEX_MAX) << 32) | gen;
}
static inline enum loop_op loop_ud_op(uint64_t ud) { return (enum loop_op)(ud >> 56); }
static inline uint32_t loop_ud_index(uint64_t ud) { return (uint32_t)(ud >> 32) & LOOP_INDEX_MAX; }
static inline uint32_t loop_ud_gen(uint64_t ud) { return (uint32_t)ud; }

/* An SQE, submitting what is queued first if the SQ is full. Never NULL
 * unless the ring itself is broken (then the caller treats the operation
 * as failed with -EBUSY). */
struct io_uring_sqe *loop_sqe(struct io_uring *ring);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
uint64_t loop_now_ns(void);
uint64_t loop_realtime_ns(void);

#endif
