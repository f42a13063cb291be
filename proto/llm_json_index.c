/*
 * llm_json_index.c - a skipped container crossed with the block index
 * (the walk: llm_json_index_walk.h), a block's bits made with SSE2 (the
 * x86-64 baseline) or, on CPUs that have it, AVX2
 * (llm_json_index_avx2.c, chosen once per process); with the portable
 * loop elsewhere or under JIDX_SCALAR (tests/producer/parse_tests.cmake
 * builds and runs each).
 */

#define JIDX_SKIP jidx_skip_base
#include "llm_json_index_walk.h"

#ifdef JIDX_DISPATCH
#include "cpu_variant.h"

static _Atomic int variant; /* cpu_variant.h: 0 until decided */

int jidx_variant(int v)
{
	return cpu_variant_force(&variant, v);
}

const char *jidx_skip(uint32_t *depth, const char *p, const char *e, const char *lo, int *closed)
{
	if (cpu_variant(&variant) == 2)
		return jidx_skip_avx2(depth, p, e, lo, closed);
	return jidx_skip_base(depth, p, e, lo, closed);
}
#else
int jidx_variant(int v)
{
	return v == 0 ? 0 : 1;
}

const char *jidx_skip(uint32_t *depth, const char *p, const char *e, const char *lo, int *closed)
{
	return jidx_skip_base(depth, p, e, lo, closed);
}
#endif
