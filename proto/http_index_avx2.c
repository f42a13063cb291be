/*
 * http_index_avx2.c - the head index's masks (http_index.c) 32 bytes an
 * instruction: this file is compiled with -mavx2, and http_index.c calls
 * it only on CPUs that have AVX2.
 */
#include <immintrin.h>

#include "http_internal.h"

#define HIDX_LINES hidx_lines_avx2
#define HIDX_HEAD hidx_head_avx2

static inline uint64_t eq32(__m256i v, __m256i c)
{
	return (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, c));
}

static inline void hidx_masks(const char *b, uint64_t *lf, uint64_t *colon)
{
	const __m256i l = _mm256_set1_epi8('\n'), c = _mm256_set1_epi8(':');
	const __m256i *q = (const __m256i *)(const void *)b;
	__m256i v0 = _mm256_loadu_si256(q), v1 = _mm256_loadu_si256(q + 1);
	*lf = eq32(v0, l) | eq32(v1, l) << 32;
	*colon = eq32(v0, c) | eq32(v1, c) << 32;
}

#include "http_index_walk.h"
