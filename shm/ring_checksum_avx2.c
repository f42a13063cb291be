/* ring_checksum_avx2.c - XXH3 built with AVX2 (this file alone is compiled
 * with -mavx2; ring_checksum.c calls it only on CPUs that have AVX2). The
 * namespace keeps its inlined xxHash apart from the generic copy. */
#define XXH_INLINE_ALL
#define XXH_NAMESPACE tr_avx2_
#include <xxhash.h>

#include "ring_checksum.h"

uint64_t ring_checksum_avx2(const struct tr_record *rec)
{
	return XXH3_64bits((const unsigned char *)rec + REC_CHECKSUM_FROM,
			   REC_SIZE - REC_CHECKSUM_FROM);
}
