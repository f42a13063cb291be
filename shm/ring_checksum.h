/* ring_checksum.h - private: the checksum variants behind
 * ring_record_checksum (exposed for the test that proves they agree). */
#ifndef TOKENRING_RING_CHECKSUM_H
#define TOKENRING_RING_CHECKSUM_H

#include <stdint.h>

#include "record.h"

uint64_t ring_checksum_generic(const struct tr_record *rec);
#if defined(__x86_64__)
uint64_t ring_checksum_avx2(const struct tr_record *rec); /* only on AVX2 CPUs */
#endif

#endif
