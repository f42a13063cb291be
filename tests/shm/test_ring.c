/* test_ring.c - the ring's single-process contract: layout, create/attach
 * validation, wrap-around, full ring, checksum failure, stuck and garbage
 * slots, late commits, the producer table and the accounting identity. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "ring_checksum.h"
#include "ring_test_util.h"

static char path[256];
static struct ring cons, prod;

static void make_ring(const char *name, uint32_t cap)
{
	cr_assert_eq(test_ring_pair(path, sizeof path, name, cap, 1000, &cons, &prod), 0);
}

static void teardown(void)
{
	test_ring_unpair(path, &cons, &prod);
}

static void assert_identity(void)
{
	struct ring_stats st;
	ring_get_stats(&cons, &st);
	cr_assert_eq(st.head, st.tail, "not quiescent");
	cr_assert_eq(st.tail, st.consumed + st.corrupt + st.skipped);
}

Test(ring, layout_is_fixed)
{
	cr_assert_eq(offsetof(struct ring_header, heartbeat_ns), 64);
	cr_assert_eq(offsetof(struct ring_header, tail), 128);
	cr_assert_eq(offsetof(struct ring_header, dropped), 192);
	cr_assert_eq(ring_memsize(3), 0);
	cr_assert_eq(ring_memsize(1), 0);
	cr_assert_eq(ring_memsize(RING_MAX_CAPACITY * 2u), 0);
	cr_assert_eq(ring_memsize(1024) % 4096, 0);
	cr_assert_eq(ring_memsize(1024) - ring_memsize(512), 512u * REC_SIZE);
}

Test(ring, create_sets_mode_and_header, .fini = teardown)
{
	make_ring("mode", 64);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0660);
	cr_assert_eq((size_t)st.st_size, ring_memsize(64));
	cr_assert_eq(prod.capacity, 64);
	cr_assert_neq(prod.epoch, 0);
	cr_assert_eq(prod.epoch, cons.epoch);
	cr_assert(!ring_retired(&prod));
}

Test(ring, wraps_around_many_laps_in_order, .fini = teardown)
{
	make_ring("wrap", 4);
	struct tr_record in, out[4];
	uint64_t next = 0;
	for (uint64_t n = 0; n < 1000; n++) {
		test_fill(&in, 1, n);
		cr_assert_eq(ring_publish(&prod, &in), 0);
		if (n % 3 == 2) {
			size_t got = ring_consume(&cons, out, 4, test_mono_ns());
			cr_assert_eq(got, 3);
			for (size_t i = 0; i < got; i++)
				cr_assert(test_check(&out[i], 1, next++));
		}
	}
	size_t got = ring_consume(&cons, out, 4, test_mono_ns());
	cr_assert_eq(got, 1000 - next);
	assert_identity();
}

Test(ring, full_ring_drops_and_counts_exactly, .fini = teardown)
{
	make_ring("full", 8);
	struct tr_record in, out[8];
	int ok = 0, dropped = 0;
	for (int n = 0; n < 20; n++) {
		test_fill(&in, 2, (uint64_t)n);
		int rc = ring_publish(&prod, &in);
		if (rc == 0)
			ok++;
		else {
			cr_assert_eq(rc, -ENOSPC);
			dropped++;
		}
	}
	cr_assert_eq(ok, 8);
	cr_assert_eq(dropped, 12);
	struct ring_stats st;
	ring_get_stats(&cons, &st);
	cr_assert_eq(st.dropped[RING_DROP_FULL], 12);
	cr_assert_eq(ring_consume(&cons, out, 8, test_mono_ns()), 8);
	for (int i = 0; i < 8; i++)
		cr_assert(test_check(&out[i], 2, (uint64_t)i));
	/* room again after the drain */
	cr_assert_eq(ring_publish(&prod, &in), 0);
	cr_assert_eq(ring_consume(&cons, out, 8, test_mono_ns()), 1);
	assert_identity();
}

Test(ring, torn_record_fails_checksum_and_is_counted, .fini = teardown)
{
	make_ring("torn", 8);
	struct tr_record in, out[8];
	for (int n = 0; n < 3; n++) {
		test_fill(&in, 3, (uint64_t)n);
		cr_assert_eq(ring_publish(&prod, &in), 0);
	}
	/* flip one byte of the middle record after it was published */
	((unsigned char *)prod.slots)[REC_SIZE * 1 + 300] ^= 0x40;
	cr_assert_eq(ring_consume(&cons, out, 8, test_mono_ns()), 2);
	cr_assert(test_check(&out[0], 3, 0));
	cr_assert(test_check(&out[1], 3, 2));
	struct ring_stats st;
	ring_get_stats(&cons, &st);
	cr_assert_eq(st.corrupt, 1);
	cr_assert_eq(st.consumed, 2);
	assert_identity();
}

Test(ring, stuck_slot_is_skipped_after_timeout_and_late_commit_refused, .fini = teardown)
{
	make_ring("stuck", 8);
	cons.skip_timeout_ns = 50 * 1000 * 1000;
	struct tr_record in, out[8];
	uint64_t pos;
	struct tr_record *slot = ring_claim(&prod, &pos);
	cr_assert_not_null(slot);
	test_fill(&in, 4, 1);
	cr_assert_eq(ring_publish(&prod, &in), 0);
	uint64_t t0 = 1000000000ull;
	/* the unpublished slot blocks delivery until the timeout passes */
	cr_assert_eq(ring_consume(&cons, out, 8, t0), 0);
	cr_assert_eq(ring_consume(&cons, out, 8, t0 + 49 * 1000 * 1000), 0);
	cr_assert_eq(ring_consume(&cons, out, 8, t0 + 50 * 1000 * 1000), 1);
	cr_assert(test_check(&out[0], 4, 1));
	/* the slow producer finally commits: refused, counted, never delivered */
	test_fill(slot, 4, 0);
	cr_assert_eq(ring_commit(&prod, slot, pos), -ESTALE);
	cr_assert_eq(ring_consume(&cons, out, 8, t0 + 60 * 1000 * 1000), 0);
	struct ring_stats st;
	ring_get_stats(&cons, &st);
	cr_assert_eq(st.skipped, 1);
	cr_assert_eq(st.consumed, 1);
	cr_assert_eq(st.dropped[RING_DROP_LATE], 1);
	assert_identity();
	/* the skipped slot is usable on the next lap */
	for (int n = 0; n < 8; n++) {
		test_fill(&in, 4, 10 + (uint64_t)n);
		cr_assert_eq(ring_publish(&prod, &in), 0);
	}
	cr_assert_eq(ring_consume(&cons, out, 8, t0 + 70 * 1000 * 1000), 8);
	for (int n = 0; n < 8; n++)
		cr_assert(test_check(&out[n], 4, 10 + (uint64_t)n));
}

/* Deliver n fresh records one at a time; each must arrive intact. */
static void assert_ring_works(uint32_t producer, int n)
{
	struct tr_record in, out[4];
	for (int i = 0; i < n; i++) {
		test_fill(&in, producer, (uint64_t)i);
		cr_assert_eq(ring_publish(&prod, &in), 0, "publish %d", i);
		cr_assert_eq(ring_consume(&cons, out, 4, test_mono_ns()), 1, "consume %d", i);
		cr_assert(test_check(&out[0], producer, (uint64_t)i));
	}
}

Test(ring, garbage_slots_are_repaired_never_delivered, .fini = teardown)
{
	make_ring("garbage", 16);
	unsigned int seed = 12345;
	for (size_t i = 0; i < 16u * REC_SIZE; i++)
		prod.slots[i] = (unsigned char)rand_r(&seed);
	struct tr_record out[4];
	cr_assert_eq(ring_consume(&cons, out, 4, test_mono_ns()), 0);
	/* every slot is garbage; the consumer repairs each as it reaches it */
	assert_ring_works(5, 40);
	assert_identity();
}

Test(ring, garbage_tail_is_pulled_back_and_counted, .fini = teardown)
{
	make_ring("garbtail", 16);
	unsigned int seed = 777;
	for (size_t i = 0; i < 16u * REC_SIZE; i++)
		prod.slots[i] = (unsigned char)rand_r(&seed);
	atomic_store(&prod.hdr->tail, 1000);
	struct tr_record out[64];
	cr_assert_eq(ring_consume(&cons, out, 64, test_mono_ns()), 0,
		     "garbage must never be delivered");
	struct ring_stats st;
	ring_get_stats(&cons, &st);
	cr_assert_eq(st.tail, 0);
	cr_assert_eq(st.corrupt, 1);
	assert_ring_works(5, 40);
}

Test(ring, tail_behind_head_is_pulled_forward_and_counted, .fini = teardown)
{
	make_ring("behind", 16);
	struct tr_record out[4];
	atomic_store(&prod.hdr->tail, (uint64_t)-5);
	cr_assert_eq(ring_consume(&cons, out, 4, test_mono_ns()), 0);
	cr_assert_eq(cons.head, 0);
	struct ring_stats st;
	ring_get_stats(&cons, &st);
	cr_assert_eq(st.tail, 0);
	cr_assert_eq(st.corrupt, 1);
	assert_ring_works(8, 20);
}

static void patch_header(size_t off, uint32_t value)
{
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, &value, sizeof value, (off_t)off), (ssize_t)sizeof value);
	close(fd);
}

Test(ring, attach_refuses_wrong_version_size_and_magic, .fini = teardown)
{
	make_ring("refuse", 16);
	struct ring r;
	patch_header(offsetof(struct ring_header, version), RING_VERSION + 1);
	cr_assert_eq(ring_attach(path, &r), -RING_EVERSION);
	cr_assert_str_eq(ring_strerror(-RING_EVERSION), "ring file of another layout version");
	patch_header(offsetof(struct ring_header, version), RING_VERSION);
	patch_header(offsetof(struct ring_header, record_size), 512);
	cr_assert_eq(ring_attach(path, &r), -RING_ERECSIZE);
	patch_header(offsetof(struct ring_header, record_size), REC_SIZE);
	patch_header(offsetof(struct ring_header, capacity), 32);
	cr_assert_eq(ring_attach(path, &r), -RING_EGEOMETRY);
	patch_header(offsetof(struct ring_header, capacity), 16);
	patch_header(offsetof(struct ring_header, magic), 0xdeadbeef);
	cr_assert_eq(ring_attach(path, &r), -RING_EMAGIC);
	cr_assert_eq(ring_attach("/dev/shm/tokenring-test-does-not-exist", &r), -ENOENT);
}

Test(ring, symlink_and_non_regular_paths_are_refused, .fini = teardown)
{
	make_ring("target", 16);
	char link[300];
	snprintf(link, sizeof link, "%s.link", path);
	unlink(link);
	cr_assert_eq(symlink(path, link), 0);
	struct ring r;
	cr_assert_eq(ring_attach(link, &r), -RING_ENOTREG);
	cr_assert_eq(ring_create(link, NULL, &r), -RING_ENOTREG);
	cr_assert_eq(ring_attach("/dev/shm", &r), -RING_ENOTREG);
	unlink(link);
}

Test(ring, restart_with_same_layout_adopts_and_keeps_records, .fini = teardown)
{
	make_ring("adopt", 16);
	struct tr_record in, out[16];
	for (int n = 0; n < 5; n++) {
		test_fill(&in, 6, (uint64_t)n);
		cr_assert_eq(ring_publish(&prod, &in), 0);
	}
	cr_assert_eq(ring_consume(&cons, out, 2, test_mono_ns()), 2);
	uint64_t epoch = cons.epoch;
	ring_detach(&cons); /* the daemon dies */
	struct ring_config cfg;
	ring_config_default(&cfg);
	cfg.capacity = 16;
	cr_assert_eq(ring_create(path, &cfg, &cons), 0);
	cr_assert_eq(cons.epoch, epoch);
	cr_assert(!ring_retired(&prod));
	cr_assert_eq(ring_consume(&cons, out, 16, test_mono_ns()), 3);
	for (int i = 0; i < 3; i++)
		cr_assert(test_check(&out[i], 6, 2 + (uint64_t)i));
	assert_identity();
}

Test(ring, restart_with_other_capacity_retires_old_file, .fini = teardown)
{
	make_ring("retire", 16);
	ring_detach(&cons);
	struct ring_config cfg;
	ring_config_default(&cfg);
	cfg.capacity = 32;
	cr_assert_eq(ring_create(path, &cfg, &cons), 0);
	cr_assert(ring_retired(&prod), "old mapping must say retired");
	struct ring fresh;
	cr_assert_eq(ring_attach(path, &fresh), 0);
	cr_assert_eq(fresh.capacity, 32);
	cr_assert_neq(fresh.epoch, prod.epoch);
	ring_detach(&fresh);
}

Test(ring, producer_table_register_lookup_reap, .fini = teardown)
{
	make_ring("producers", 16);
	uint16_t gen;
	int idx = ring_producer_register(&prod, 42, "reviews-v1", "bookinfo", 100, &gen);
	cr_assert_geq(idx, 0);
	const struct ring_producer *p = ring_producer_lookup(&cons, (unsigned)idx, gen);
	cr_assert_not_null(p);
	cr_assert_eq(p->pid, 42);
	cr_assert_str_eq(p->workload, "reviews-v1");
	cr_assert_str_eq(p->namespace_, "bookinfo");
	cr_assert_null(ring_producer_lookup(&cons, (unsigned)idx, gen + 1u));
	cr_assert_null(ring_producer_lookup(&cons, RING_PRODUCERS, gen));
	cr_assert_eq(ring_producer_touch(&prod, idx, gen, 500), 0);
	cr_assert_eq(ring_producers_reap(&cons, 1000, 600), 0);
	cr_assert_eq(ring_producers_reap(&cons, 1200, 600), 1);
	cr_assert_null(ring_producer_lookup(&cons, (unsigned)idx, gen));
	cr_assert_eq(ring_producer_touch(&prod, idx, gen, 1300), -ENOENT);
	uint16_t gen2;
	cr_assert_eq(ring_producer_register(&prod, 43, "w", "ns", 1300, &gen2), idx);
	cr_assert_neq(gen2, gen);
}

Test(ring, producer_table_full_is_counted, .fini = teardown)
{
	make_ring("ptfull", 16);
	uint16_t gen;
	for (unsigned i = 0; i < RING_PRODUCERS; i++)
		cr_assert_eq(ring_producer_register(&prod, i, "w", "n", 1, &gen), (int)i);
	cr_assert_eq(ring_producer_register(&prod, 999, "w", "n", 1, &gen), -ENOSPC);
	struct ring_stats st;
	ring_get_stats(&cons, &st);
	cr_assert_eq(st.producers, RING_PRODUCERS);
	cr_assert_eq(st.registrations_failed, 1);
}

Test(ring, label_headers_reach_producers, .fini = teardown)
{
	make_ring("labels", 16);
	const char *names[REC_LABELS] = {"x-team", NULL};
	ring_set_label_headers(&cons, names);
	cr_assert_str_eq(prod.hdr->label_headers[0], "x-team");
	cr_assert_str_eq(prod.hdr->label_headers[1], "");
}

Test(ring, checksum_variants_agree)
{
	struct tr_record r, copy;
	unsigned int seed = 99;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof r; i++)
			((unsigned char *)&r)[i] = (unsigned char)rand_r(&seed);
		uint64_t generic = ring_checksum_generic(&r);
		cr_assert_eq(ring_record_checksum(&r), generic); /* AVX2: ring_checksum_avx2.c */
		/* the fused copies: same value, covered bytes only */
		for (int v = 0; v < 2; v++) {
			memset(&copy, 0x5a, sizeof copy);
			uint64_t sum = v ? ring_copy_checksum_generic(&copy, &r)
					 : ring_copy_checksum(&copy, &r);
			cr_assert_eq(sum, generic);
			cr_assert_eq(copy.seq, 0x5a5a5a5a5a5a5a5aull);
			cr_assert_eq(copy.checksum, 0x5a5a5a5a5a5a5a5aull);
			cr_assert_arr_eq((char *)&copy + REC_CHECKSUM_FROM,
					 (char *)&r + REC_CHECKSUM_FROM, REC_SIZE - REC_CHECKSUM_FROM);
		}
	}
}

/* Every covered word matters: flipping any one bit of bytes
 * [REC_CHECKSUM_FROM, REC_SIZE) changes the checksum; seq and checksum
 * themselves are not covered. */
Test(ring, checksum_covers_every_bit_once)
{
	struct tr_record r;
	unsigned int seed = 7;
	for (size_t i = 0; i < sizeof r; i++)
		((unsigned char *)&r)[i] = (unsigned char)rand_r(&seed);
	uint64_t base = ring_record_checksum(&r);
	for (size_t bit = 0; bit < 8 * sizeof r; bit++) {
		((unsigned char *)&r)[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		uint64_t flipped = ring_record_checksum(&r);
		if (bit < 8 * REC_CHECKSUM_FROM)
			cr_assert_eq(flipped, base, "bit %zu is not covered", bit);
		else
			cr_assert_neq(flipped, base, "bit %zu", bit);
		((unsigned char *)&r)[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
}

/* Size, then init in caller memory (no file): the whole protocol runs in a
 * buffer, and a second handle on it is validated like a mapping. */
Test(ring, init_in_memory_and_attach_mem)
{
	size_t size = ring_memsize(16);
	void *mem = aligned_alloc(64, size);
	cr_assert_not_null(mem);
	memset(mem, 0, size);
	struct ring c, p;
	cr_assert_eq(ring_init(mem, size - 64, NULL, &c), -RING_EGEOMETRY, "size must match");
	cr_assert_eq(ring_init((char *)mem + 8, size, NULL, &c), -RING_EGEOMETRY, "aligned");
	struct ring_config cfg;
	ring_config_default(&cfg);
	cfg.capacity = 16;
	cr_assert_eq(ring_init(mem, size, &cfg, &c), 0);
	cr_assert_eq(ring_attach_mem(mem, size, &p), 0);
	cr_assert_eq(ring_check(&c), 0);
	for (uint64_t i = 0; i < 40; i++) { /* wraps the 16 slots twice */
		struct tr_record rec, out;
		test_fill(&rec, 7, i);
		cr_assert_eq(ring_publish(&p, &rec), 0);
		cr_assert_eq(ring_consume(&c, &out, 1, test_mono_ns()), 1);
		cr_assert(test_check(&out, 7, i), "record %llu intact", (unsigned long long)i);
	}
	struct ring_stats st;
	ring_get_stats(&c, &st);
	cr_assert_eq(st.tail, 40);
	cr_assert_eq(st.consumed, 40);
	/* retired: producers see it, a new attach is refused, check says so */
	ring_retire(&c);
	cr_assert(ring_retired(&p));
	cr_assert_eq(ring_check(&c), -RING_ERETIRED);
	struct ring q;
	cr_assert_eq(ring_attach_mem(mem, size, &q), -RING_ERETIRED);
	/* an overwritten header is refused by the same validation as a file */
	((struct ring_header *)mem)->magic = 0;
	cr_assert_eq(ring_check(&c), -RING_EMAGIC);
	cr_assert_eq(ring_attach_mem(mem, size, &q), -RING_EMAGIC);
	ring_detach(&p); /* does not unmap memory it does not own */
	ring_detach(&c);
	free(mem);
}

Test(ring, producer_ref_packs_index_and_generation)
{
	uint32_t ref = ring_producer_ref(RING_PRODUCERS - 1, 0xbeef);
	cr_assert_eq(ring_producer_ref_index(ref), RING_PRODUCERS - 1);
	cr_assert_eq(ring_producer_ref_gen(ref), 0xbeef);
	cr_assert_eq(ring_producer_ref_index(ring_producer_ref(RING_NO_PRODUCER, 0)),
		     RING_NO_PRODUCER);
	cr_assert_eq(ring_producer_ref(1, 2), 0x00020001u);
}

/* Label header names read by a producer are bounded even when a writer
 * left them unterminated. */
Test(ring, label_headers_get_is_bounded, .fini = teardown)
{
	make_ring("labels-get", 8);
	const char *names[REC_LABELS] = {"x-team", NULL};
	ring_set_label_headers(&cons, names);
	char got[REC_LABELS][RING_LABEL_HEADER_LEN];
	ring_label_headers_get(&prod, got);
	cr_assert_str_eq(got[0], "x-team");
	cr_assert_str_eq(got[1], "");
	memset(cons.hdr->label_headers[1], 'h', RING_LABEL_HEADER_LEN); /* no NUL */
	ring_label_headers_get(&prod, got);
	cr_assert_eq(strlen(got[1]), RING_LABEL_HEADER_LEN - 1);
}
