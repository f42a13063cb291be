/*
 * ring_checksum_avx2.c - the record checksum (ring_checksum.h) four lanes
 * at a time: one 32-byte block per load, five vector instructions per
 * block, the copy a store of the same register. This file alone is
 * compiled with -mavx2; ring_checksum.c calls it only on CPUs with AVX2.
 */
#include <immintrin.h>
#include <stdbool.h>

#include "ring_checksum.h"

/* acc += lo32(d ^ k) * hi32(d ^ k) + d, per 64-bit lane */
static inline __m256i step(__m256i acc, __m256i d, const unsigned char *key)
{
	__m256i x = _mm256_xor_si256(d, _mm256_loadu_si256((const __m256i *)key));
	__m256i p = _mm256_mul_epu32(x, _mm256_srli_epi64(x, 32));
	acc = _mm256_add_epi64(_mm256_add_epi64(acc, p), d);
	/* Keep the sum in one register block by block: left alone, GCC
	 * reassociates the twenty adds into a tree and spills the blocks. */
	__asm__("" : "+x"(acc));
	return acc;
}

/* copy is a constant in each caller: the hash-only variant has no stores */
static inline __attribute__((always_inline)) uint64_t sum(unsigned char *dst,
							   const unsigned char *src, bool copy)
{
	const unsigned char *key = (const unsigned char *)ring_sum_key;
	/* block 0: bytes 16..31, zero-extended (seq and checksum are not ours) */
	__m128i h = _mm_loadu_si128((const __m128i *)(src + REC_CHECKSUM_FROM));
	if (copy)
		_mm_storeu_si128((__m128i *)(dst + REC_CHECKSUM_FROM), h);
	/* two accumulators: consecutive blocks do not wait on each other */
	__m256i acc0 = step(_mm256_setzero_si256(), _mm256_zextsi128_si256(h), key);
	__m256i acc1 = _mm256_setzero_si256();
#pragma GCC unroll 20
	for (unsigned b = 1; b < RING_SUM_BLOCKS; b++) {
		__m256i d = _mm256_loadu_si256((const __m256i *)(src + RING_SUM_BLOCK * b));
		if (copy)
			_mm256_storeu_si256((__m256i *)(dst + RING_SUM_BLOCK * b), d);
		if (b & 1)
			acc1 = step(acc1, d, key + RING_SUM_BLOCK * b);
		else
			acc0 = step(acc0, d, key + RING_SUM_BLOCK * b);
	}
	__m256i acc = _mm256_add_epi64(acc0, acc1);
	__m128i lo = _mm256_castsi256_si128(acc), hi = _mm256_extracti128_si256(acc, 1);
	return ring_sum_final((uint64_t)_mm_cvtsi128_si64(lo), (uint64_t)_mm_extract_epi64(lo, 1),
			      (uint64_t)_mm_cvtsi128_si64(hi), (uint64_t)_mm_extract_epi64(hi, 1));
}

uint64_t ring_checksum_avx2(const struct tr_record *rec)
{
	return sum(NULL, (const unsigned char *)rec, false);
}

uint64_t ring_copy_checksum_avx2(void *dst, const void *src)
{
	return sum(dst, src, true);
}
