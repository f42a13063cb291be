/*
 * ring_checksum_avx2.c - the AVX2 build of the record checksum gives the
 * generic one's value on random records, and its fused copy copies the
 * covered bytes exactly, leaving seq and checksum of the destination
 * untouched, with the same value. A plain program so that a CPU
 * without AVX2 is a visible skip (exit 77, CTest SKIP_RETURN_CODE) with
 * the reason printed, not a check that quietly does nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring_checksum.h"

int main(void)
{
	if (!__builtin_cpu_supports("avx2")) {
		printf("skipped: this CPU has no AVX2, so ring_checksum_avx2 cannot run here\n");
		return 77;
	}
	struct tr_record r, copy;
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
		memset(&copy, 0xa5, sizeof copy);
		uint64_t fused = ring_copy_checksum_avx2(&copy, &r);
		unsigned char head[REC_CHECKSUM_FROM];
		memset(head, 0xa5, sizeof head);
		if (fused != generic || memcmp(&copy, head, sizeof head) != 0 ||
		    memcmp((char *)&copy + REC_CHECKSUM_FROM, (char *)&r + REC_CHECKSUM_FROM,
			   REC_SIZE - REC_CHECKSUM_FROM) != 0) {
			printf("round %d: the fused AVX2 copy differs (sum %016llx)\n", round,
			       (unsigned long long)fused);
			return 1;
		}
	}
	printf("2000 random records: the AVX2 and generic checksums agree, and so do "
	       "the fused AVX2 copy's bytes and value\n");
	return 0;
}
