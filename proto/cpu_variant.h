/*
 * cpu_variant.h - which code a vectorised scanner runs, decided once per
 * process on first use: 1 = its baseline (SSE2, or portable C), 2 = AVX2
 * (where the CPU and the OS have it). Each scanner keeps its own decision
 * so that a test can force one scanner at a time. Deciding is idempotent
 * (cpuid only), so a benign race just decides twice. x86-64 only: callers
 * include it where their AVX2 file is built.
 */
#ifndef TOKENRING_CPU_VARIANT_H
#define TOKENRING_CPU_VARIANT_H

#include <stdatomic.h>

/* Out of line and cold: the decided path keeps no frame of its own. */
__attribute__((noinline, cold)) static int cpu_variant_pick(_Atomic int *variant)
{
	__builtin_cpu_init();
	int v = __builtin_cpu_supports("avx2") ? 2 : 1;
	atomic_store_explicit(variant, v, memory_order_relaxed);
	return v;
}

static inline int cpu_variant(_Atomic int *variant)
{
	int v = atomic_load_explicit(variant, memory_order_relaxed);
	return __builtin_expect(v != 0, 1) ? v : cpu_variant_pick(variant);
}

/* For tests: run variant v (0: decide again); AVX2 only where the CPU has
 * it. Returns the variant now in force (0 until decided). */
static inline int cpu_variant_force(_Atomic int *variant, int v)
{
	__builtin_cpu_init();
	if (v == 2 && !__builtin_cpu_supports("avx2"))
		v = 1;
	atomic_store_explicit(variant, v, memory_order_relaxed);
	return v;
}

#endif
