/* tls_fdtable_stress.c - TLS sessions under threads (plain pthreads, so it
 * also runs under ThreadSanitizer): per connection, a writer feeds request
 * plaintext, a reader feeds response plaintext right after the raw
 * ciphertext it "received" (as SSL_read does: the raw hook runs first), a
 * third thread keeps reading raw ciphertext; detached sessions are fed
 * and freed at the same time. Every exchange must give exactly one record
 * flagged TLS: the raw ciphertext never contends with the plaintext. */
#include <pthread.h>
#include <stdatomic.h>

#include "shim_test_util.h"

#define CONNS 4
#define ROUNDS 200
#define DETACHED 4

static const char cipher[] = "\x17\x03\x03\x00\x10 sixteen bytes..";

struct conn_arg {
	int fd;
	atomic_int turn; /* 0: request next, 1: response next */
	atomic_int done;
};

static void *writer(void *p)
{
	struct conn_arg *a = p;
	for (int i = 0; i < ROUNDS; i++) {
		while (atomic_load(&a->turn) != 0)
			;
		fdt_tls_feed(a->fd, CONN_DIR_OUT, req, strlen(req));
		atomic_store(&a->turn, 1);
	}
	return NULL;
}

static void *reader(void *p)
{
	struct conn_arg *a = p;
	for (int i = 0; i < ROUNDS; i++) {
		while (atomic_load(&a->turn) != 1)
			;
		feed_str(a->fd, CONN_DIR_IN, cipher);
		fdt_tls_feed(a->fd, CONN_DIR_IN, resp, strlen(resp));
		atomic_store(&a->turn, 0);
	}
	atomic_store(&a->done, 1);
	return NULL;
}

static void *raw_reader(void *p)
{
	struct conn_arg *a = p;
	while (!atomic_load(&a->done))
		feed_str(a->fd, CONN_DIR_IN, cipher);
	return NULL;
}

static void *detached(void *p)
{
	(void)p;
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t e = fdt_tls_detached_feed(0, CONN_DIR_OUT, req, strlen(req));
		e = fdt_tls_detached_feed(e, CONN_DIR_IN, resp, strlen(resp));
		fdt_tls_detached_end(e, false, true);
	}
	return NULL;
}

int main(void)
{
	struct conn_arg args[CONNS];
	pthread_t th[CONNS * 3 + DETACHED];
	int n = 0, peers[CONNS];
	static struct tr_record out[CONNS * ROUNDS + DETACHED * ROUNDS + 16];
	size_t got = 0, r;

	if (test_ring_setup() != 0)
		return 1;
	for (int i = 0; i < CONNS; i++) {
		if (tcp_pair(&args[i].fd, &peers[i]) != 0)
			return 1;
		feed_str(args[i].fd, CONN_DIR_OUT, "\x16\x03\x01 client hello");
		atomic_init(&args[i].turn, 0);
		atomic_init(&args[i].done, 0);
		pthread_create(&th[n++], NULL, writer, &args[i]);
		pthread_create(&th[n++], NULL, reader, &args[i]);
		pthread_create(&th[n++], NULL, raw_reader, &args[i]);
	}
	for (int i = 0; i < DETACHED; i++)
		pthread_create(&th[n++], NULL, detached, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	while ((r = drain(out + got, sizeof out / sizeof out[0] - got)) > 0)
		got += r;
	test_ring_teardown();
	for (size_t i = 0; i < got; i++) {
		if (!(out[i].flags & REC_F_TLS) || (out[i].flags & REC_F_PARSE_ERROR) ||
		    out[i].total_tokens != 7) {
			fprintf(stderr, "record %zu: flags %#x tokens %u\n", i, out[i].flags,
				(unsigned)out[i].total_tokens);
			return 1;
		}
	}
	if (got != (size_t)(CONNS + DETACHED) * ROUNDS) {
		fprintf(stderr, "%zu records, want %d\n", got, (CONNS + DETACHED) * ROUNDS);
		return 1;
	}
	printf("1 passed, 0 failed\n");
	return 0;
}
