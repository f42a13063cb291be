/*
 * ring_checksum.h - private: the record checksum's definition, shared by
 * its variants (generic here, AVX2 in ring_checksum_avx2.c), and the fused
 * copy both sides of the ring use.
 *
 * The checksum covers bytes [REC_CHECKSUM_FROM, REC_SIZE) of a slot, read
 * as little-endian 64-bit words in 32-byte blocks of four lanes. Block 0 is
 * bytes 16..31 (its first half, seq and checksum, is not covered) followed
 * by 16 zero bytes; block b > 0 is bytes 32b..32b+31. For each word w of
 * lane l with its position's key word k (ring_sum_key: one per word, the
 * block-0 padding's keys 0, so padding adds nothing):
 *
 *     acc[l] += lo32(w ^ k) * hi32(w ^ k) + w        (mod 2^64)
 *
 * and the checksum is fmix64(acc[0] + rotl(acc[1], 17) + rotl(acc[2], 31)
 * + rotl(acc[3], 47)). This is XXH3's accumulate step (a per-position key,
 * a 32x32->64 multiply per word, the word itself added so no bit is lost to
 * a zero factor), without its scramble rounds and with a 4-lane merge. It
 * detects torn and garbage records as XXH3-64 did (bytes a torn write or
 * random garbage leaves pass only by chance, p ~ 2^-64; the checksum was
 * never a defence against a writer that computes it), at about half the
 * instructions (five per 32 bytes with AVX2, no loop), and the copy into or
 * out of the slot rides on the same loads. RING_VERSION changes with it.
 * shm/ring_layout.py mirrors it (checksum(), checked against this code by
 * tests/shm/test_ring_layout.py).
 */
#ifndef TOKENRING_RING_CHECKSUM_H
#define TOKENRING_RING_CHECKSUM_H

#include <stdint.h>

#include "record.h"

#define RING_SUM_BLOCK 32u
#define RING_SUM_BLOCKS (REC_SIZE / RING_SUM_BLOCK)
#define RING_SUM_WORDS (REC_SIZE / 8)
_Static_assert(REC_SIZE % RING_SUM_BLOCK == 0, "whole checksum blocks");
_Static_assert(REC_CHECKSUM_FROM == RING_SUM_BLOCK / 2, "block 0 is half covered");

/* Key word per word position (block b, lane l at [4b + l]); words 2 and 3
 * (block 0's padding) are 0. */
extern const uint64_t ring_sum_key[RING_SUM_WORDS] __attribute__((visibility("hidden")));

static inline uint64_t ring_sum_rotl(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

/* The lanes to the checksum (a bijection after the sum: fmix64). */
static inline uint64_t ring_sum_final(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	uint64_t h = a0 + ring_sum_rotl(a1, 17) + ring_sum_rotl(a2, 31) + ring_sum_rotl(a3, 47);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/*
 * Copy bytes [REC_CHECKSUM_FROM, REC_SIZE) of src to dst (NULL: no copy)
 * and return their checksum, read once. dst's seq and checksum words are
 * not written (in a slot, seq is the control word). Any alignment.
 * Async-signal-safe, no allocation.
 */
uint64_t ring_copy_checksum(void *dst, const void *src);

/* The variants (exposed for the tests that prove they agree). */
uint64_t ring_checksum_generic(const struct tr_record *rec);
uint64_t ring_copy_checksum_generic(void *dst, const void *src);
#if defined(__x86_64__)
/* Only on AVX2 CPUs; dst must not be NULL. */
uint64_t ring_checksum_avx2(const struct tr_record *rec);
uint64_t ring_copy_checksum_avx2(void *dst, const void *src);
#endif

#endif
