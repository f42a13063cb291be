/*
 * ring_checksum_avx2.c - the AVX2 build of the record checksum gives the
 * generic one's value on random records. A plain program so that a CPU
 * without AVX2 is a visible skip (exit 77, CTest SKIP_RETURN_CODE) with
 * the reason printed, not a check that quietly does nothing.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ring_checksum.h"

int main(void)
{
	if (!__builtin_cpu_supports("avx2")) {
		printf("skipped: this CPU has no AVX2, so ring_checksum_avx2 cannot run here\n");
		return 77;
	}
	struct tr_record r;
	unsigned int seed = 99;
	for (int round = 0; round < 2000; round++) {
		for (size_t i = 0; i < sizeof r; i++)
			((unsigned char *)&r)[i] = (unsigned char)rand_r(&seed);
		uint64_t generic = ring_checksum_generic(&r), avx2 = ring_checksum_avx2(&r);
		if (avx2 != generic) {
			printf("round %d: avx2 %016llx, generic %016llx\n", round,
			       (unsigned long long)avx2, (unsigned long long)generic);
			return 1;
		}
	}
	printf("2000 random records: the AVX2 and generic checksums agree\n");
	return 0;
}
