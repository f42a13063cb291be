/* test_ring_kill.c - a producer SIGKILLed between claim and commit never
 * wedges the consumer: the slot is skipped after the timeout, counted, and
 * records behind it are delivered intact. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring.h"
#include "ring_test_util.h"

static char path[256];
static struct ring cons, prod;

static void make_ring(const char *name)
{
	cr_assert_eq(test_ring_pair(path, sizeof path, name, 64, 20 * 1000 * 1000, &cons, &prod), 0);
}

static void teardown(void)
{
	test_ring_unpair(path, &cons, &prod);
}

/* Fork a producer that claims a slot, writes half a record and stops
 * there; SIGKILL it once it says it is there. */
static void kill_producer_mid_write(void)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct ring r;
		uint64_t pos;
		if (ring_attach(path, &r) != 0)
			_exit(3);
		struct tr_record *slot = ring_claim(&r, &pos);
		if (!slot)
			_exit(4);
		memset((char *)slot + REC_CHECKSUM_FROM, 0xab, REC_SIZE / 2);
		char c = 'x';
		if (write(fds[1], &c, 1) != 1)
			_exit(5);
		for (;;)
			pause();
	}
	char c;
	cr_assert_eq(read(fds[0], &c, 1), 1);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fds[0]);
	close(fds[1]);
}

/* Consume until want records arrived, or fail after two seconds. */
static void consume_exactly(size_t want, uint32_t producer, uint64_t first)
{
	struct tr_record out[64];
	size_t got = 0;
	uint64_t deadline = test_mono_ns() + 2000000000ull;
	while (got < want) {
		cr_assert_lt(test_mono_ns(), deadline, "consumer wedged at %zu of %zu", got, want);
		size_t n = ring_consume(&cons, out, 64, test_mono_ns());
		for (size_t i = 0; i < n; i++)
			cr_assert(test_check(&out[i], producer, first + got + i));
		got += n;
		usleep(1000);
	}
	cr_assert_eq(ring_consume(&cons, out, 64, test_mono_ns()), 0);
}

Test(ring_kill, killed_producer_slot_is_skipped, .fini = teardown)
{
	make_ring("kill");
	kill_producer_mid_write();
	struct tr_record in;
	for (int n = 0; n < 3; n++) {
		test_fill(&in, 9, (uint64_t)n);
		cr_assert_eq(ring_publish(&prod, &in), 0);
	}
	consume_exactly(3, 9, 0);
	struct ring_stats st;
	ring_get_stats(&cons, &st);
	cr_assert_eq(st.skipped, 1);
	cr_assert_eq(st.consumed, 3);
	cr_assert_eq(st.tail, st.consumed + st.corrupt + st.skipped);
}

Test(ring_kill, repeated_kills_keep_accounting_exact, .fini = teardown)
{
	make_ring("killrep");
	struct tr_record in;
	uint64_t n = 0;
	for (int round = 0; round < 10; round++) {
		kill_producer_mid_write();
		for (int i = 0; i < 5; i++, n++) {
			test_fill(&in, 10, n);
			cr_assert_eq(ring_publish(&prod, &in), 0);
		}
		consume_exactly(5, 10, n - 5);
	}
	struct ring_stats st;
	ring_get_stats(&cons, &st);
	cr_assert_eq(st.skipped, 10);
	cr_assert_eq(st.consumed, 50);
	cr_assert_eq(st.corrupt, 0);
	cr_assert_eq(st.tail, st.consumed + st.corrupt + st.skipped);
}
