/*
 * ring_checksum.c - the record checksum (definition in ring_checksum.h):
 * the portable variant, the key, and the run-time choice of the AVX2
 * variant where the CPU has it. Both variants compute the same value; only
 * the speed differs. The producer hashes while it copies a record into its
 * slot, the consumer while it copies it out: one pass over the bytes each.
 */
#include <stdatomic.h>
#include <string.h>

#include "ring.h"
#include "ring_checksum.h"

/* splitmix64 from 0x746f6b656e72696e ("nirnekot"), words 2 and 3 zeroed:
 * shm/ring_layout.py generates the same table (and the test compares). */
const uint64_t ring_sum_key[RING_SUM_WORDS] = {
	0x9c1b581750b62576ull, 0xdea387ac0382f707ull, 0x0000000000000000ull, 0x0000000000000000ull,
	0xaae168cbb44162f0ull, 0xd7a642895f2ef0c4ull, 0x88ad48072e75ddabull, 0x4294b2ac55265a2eull,
	0xd273634a503b7ab5ull, 0x3747bd04b684106cull, 0x093dfe09b8009289ull, 0xee48ad42a8ff6ef1ull,
	0x2827c478fe4991b7ull, 0xed9299b78eef8d39ull, 0x357c1350e68c5eb5ull, 0x2f7d925a7b8f6a51ull,
	0x2cb5d0df4351359full, 0xff1a4818ee2ae07cull, 0x10cd27d30da08027ull, 0x112a4e2574646ea6ull,
	0x1c9f214c67c0987cull, 0x6af1c420a3327422ull, 0x2e5e42c34ed333c7ull, 0xea6e0d5615b315faull,
	0x5bb4c2b50e7ebf6aull, 0x40b62a7645ed7d8aull, 0xead2741ef98c8f8aull, 0x4e467aa9f85e96fdull,
	0x9d8e49fa8daa6b02ull, 0xb3e15e5029599ed5ull, 0x3ee7b39c9579e24bull, 0x778ef531f1868e05ull,
	0x0d33e5122961e455ull, 0x4bc690866dc4c61cull, 0xb1d068ecd9d5fad8ull, 0xbc611b23d0c0b3a9ull,
	0x0727b59e9eb1d873ull, 0xf51e6125a18807c7ull, 0x1ded20dadec6b8adull, 0xbc1be6d7af8f03edull,
	0xff5055edbec325e2ull, 0xc1d04b7d66ed0ad6ull, 0x5d432ca94372c5f4ull, 0x276e8767e2a51d7cull,
	0x772c50f446de1082ull, 0x93a10facb7a5c3a4ull, 0xb4dc93f73b94fed1ull, 0x7372f1fcdc787704ull,
	0x85d7de3367ebb2f2ull, 0x8045c65c894f4ca6ull, 0x4fc80d833d6659e2ull, 0xf8e6c8d1d6351ba7ull,
	0x20be875e340714eeull, 0xa6fbf659a4c5844bull, 0x2b9439093a3c2b6aull, 0xcb19915f7bd8f9d6ull,
	0x35161255eada7fbaull, 0xb1823fea82a157c0ull, 0x8c5d14539167f39bull, 0x289e9df5ce02eb0dull,
	0x0c0ea44cdf43906eull, 0xb6af0a01d852b81dull, 0x30e95640e94499f0ull, 0xfcf3b475ac12c306ull,
	0xee03cbb1374953e7ull, 0x757491a4d2e79478ull, 0x4be8704f9ec06862ull, 0x47c39f7b76049630ull,
	0x05c9d95892c35f5aull, 0x410b7e6c2e3cd24aull, 0xd0f295ff4f2360f2ull, 0x681389920f458ef6ull,
	0x05ef9235ff096a94ull, 0x5b2803674fcbf9e5ull, 0xe5141ebd7d005b5eull, 0xa2d04e216fe6e88eull,
	0x6af8df951393c204ull, 0x782cba773b0c9dbeull, 0xbf9e9c850fa5ad12ull, 0x6d4a8e662c8a73c3ull,
};

static inline uint64_t sum_step(uint64_t w, uint64_t k)
{
	uint64_t x = w ^ k;
	return (x & 0xffffffffu) * (x >> 32) + w;
}

uint64_t ring_copy_checksum_generic(void *dst, const void *src)
{
	const unsigned char *s = src;
	uint64_t acc[4] = {0, 0, 0, 0}, w;
	for (unsigned l = 0; l < 2; l++) { /* block 0: words 2 and 3 in lanes 0 and 1 */
		memcpy(&w, s + REC_CHECKSUM_FROM + 8 * l, sizeof w);
		acc[l] += sum_step(w, ring_sum_key[l]);
	}
	for (unsigned i = 4; i < RING_SUM_WORDS; i++) {
		memcpy(&w, s + 8 * i, sizeof w);
		acc[i & 3] += sum_step(w, ring_sum_key[i]);
	}
	if (dst)
		memcpy((unsigned char *)dst + REC_CHECKSUM_FROM, s + REC_CHECKSUM_FROM,
		       REC_SIZE - REC_CHECKSUM_FROM);
	return ring_sum_final(acc[0], acc[1], acc[2], acc[3]);
}

uint64_t ring_checksum_generic(const struct tr_record *rec)
{
	return ring_copy_checksum_generic(NULL, rec);
}

#if defined(__x86_64__)
/* 0 = not decided yet, 1 = generic, 2 = AVX2. Deciding is idempotent and
 * async-signal-safe (cpuid only), so a benign race just decides twice. */
static _Atomic int variant;

/* Out of line and cold: the decided path keeps no frame of its own. */
__attribute__((noinline, cold)) static int pick_variant(void)
{
	__builtin_cpu_init();
	int v = __builtin_cpu_supports("avx2") ? 2 : 1;
	atomic_store_explicit(&variant, v, memory_order_relaxed);
	return v;
}

static inline int current_variant(void)
{
	int v = atomic_load_explicit(&variant, memory_order_relaxed);
	return __builtin_expect(v != 0, 1) ? v : pick_variant();
}

uint64_t ring_record_checksum(const struct tr_record *rec)
{
	return current_variant() == 2 ? ring_checksum_avx2(rec) : ring_checksum_generic(rec);
}

uint64_t ring_copy_checksum(void *dst, const void *src)
{
	if (current_variant() != 2)
		return ring_copy_checksum_generic(dst, src);
	return dst ? ring_copy_checksum_avx2(dst, src) : ring_checksum_avx2(src);
}
#else
uint64_t ring_record_checksum(const struct tr_record *rec)
{
	return ring_checksum_generic(rec);
}

uint64_t ring_copy_checksum(void *dst, const void *src)
{
	return ring_copy_checksum_generic(dst, src);
}
#endif
