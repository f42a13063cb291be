/* shim_fdtable_stress.c - two threads feed one tracked fd at once (plain
 * pthreads so it also runs under ThreadSanitizer, where Criterion cannot).
 * The per-slot try-lock never waits: interleaved whole feeds are pipelined
 * exchanges and all recorded; a feed that loses the lock gives the
 * connection up (PASS), with what was in flight flagged parse_error. Either
 * way every record is whole and the ring loses nothing. Exit 0 = pass. */
#include <pthread.h>

#include "shim_test_util.h"

enum { ROUNDS = 2000 };

#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                           \
		}                                                                          \
	} while (0)

struct hammer {
	int fd;
	_Atomic int done;
};

static void *hammer_fd(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < ROUNDS; i++) {
		feed_str(h->fd, CONN_DIR_OUT, req);
		feed_str(h->fd, CONN_DIR_IN, resp);
	}
	atomic_fetch_add(&h->done, 1);
	return NULL;
}

int main(void)
{
	int c, s;
	struct tr_record out[64];
	struct hammer h = {0};
	pthread_t t[2];
	size_t n, total = 0, flagged = 0;
	struct ring_stats st;

	CHECK(test_ring_setup() == 0);
	CHECK(tcp_pair(&c, &s) == 0);
	fdt_track(c, NULL, 0, CONN_ROLE_CLIENT);
	h.fd = c;
	pthread_create(&t[0], NULL, hammer_fd, &h);
	pthread_create(&t[1], NULL, hammer_fd, &h);
	for (;;) {
		int finished = atomic_load(&h.done) == 2;
		n = drain(out, 64);
		for (size_t i = 0; i < n; i++) {
			if (out[i].flags & REC_F_PARSE_ERROR)
				flagged++;
			else
				CHECK(out[i].total_tokens == 7 && out[i].status == 200);
		}
		total += n;
		if (finished && n == 0)
			break;
		if (n == 0)
			usleep(100);
	}
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	ring_get_stats(&consumer, &st);
	CHECK(st.dropped[RING_DROP_FULL] + st.dropped[RING_DROP_CONTENTION] == 0);
	CHECK(st.corrupt == 0);
	if (entry_of(c) == FDT_PASS) {
		CHECK(total < 2 * ROUNDS);
	} else {
		CHECK(total == 2 * ROUNDS);
		CHECK(flagged == 0);
	}
	printf("records %zu, flagged %zu, connection %s\n", total, flagged,
	       entry_of(c) == FDT_PASS ? "given up after contention" : "tracked throughout");
	test_ring_teardown();
	return 0;
}
