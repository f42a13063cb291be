/*
 * llm_json_index.c - a skipped container crossed with the block index
 * (the walk: llm_json_index_walk.h), a block's bits made with SSE2 (the
 * x86-64 baseline) or, on CPUs that have it, AVX2
 * (llm_json_index_avx2.c, chosen once per process); with the portable
 * loop elsewhere or under JIDX_SCALAR (tests/producer/parse_tests.cmake
 * builds and runs each).
 */
#include <stdatomic.h>

#define JIDX_SKIP jidx_skip_base
#include "llm_json_index_walk.h"

#ifdef JIDX_DISPATCH
/* 0 = not decided yet, 1 = the base bits, 2 = AVX2. Deciding is
 * idempotent (cpuid only), so a benign race just decides twice. */
static _Atomic int variant;

__attribute__((noinline, cold)) static int pick_variant(void)
{
	__builtin_cpu_init();
	int v = __builtin_cpu_supports("avx2") ? 2 : 1;
	atomic_store_explicit(&variant, v, memory_order_relaxed);
	return v;
}

int jidx_variant(int v)
{
	__builtin_cpu_init();
	if (v == 2 && !__builtin_cpu_supports("avx2"))
		v = 1;
	atomic_store_explicit(&variant, v, memory_order_relaxed);
	return v;
}

const char *jidx_skip(uint32_t *depth, const char *p, const char *e, const char *lo, int *closed)
{
	int v = atomic_load_explicit(&variant, memory_order_relaxed);
	if (__builtin_expect(v == 0, 0))
		v = pick_variant();
	if (v == 2)
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
