/* shim_test_util.h - helpers for the fd-table tests (which link the shim's
 * core directly, no LD_PRELOAD): a ring to receive records, loopback TCP
 * pairs, feeding strings, and one canned LLM exchange. */
#ifndef SHIM_TEST_UTIL_H
#define SHIM_TEST_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring.h"
#include "shim_internal.h"

static char ring_file[128];
static struct ring consumer;

/* Create a ring and point the (already initialised) shim at it. */
static inline int test_ring_setup(void)
{
	struct ring_config cfg;
	snprintf(ring_file, sizeof ring_file, "/dev/shm/tokenring-test-fdt-%d", (int)getpid());
	unlink(ring_file);
	ring_config_default(&cfg);
	cfg.capacity = 8192; /* > every record a test makes: never full */
	if (ring_create(ring_file, &cfg, &consumer) != 0)
		return -1;
	setenv("TOKENRING_RING", ring_file, 1);
	/* The constructor ran init before main: re-read the ring path. */
	if (shim_init() != SHIM_MODE_ACTIVE)
		return -1;
	shim_ring_init();
	return 0;
}

static inline void test_ring_teardown(void)
{
	ring_detach(&consumer);
	unlink(ring_file);
}

static inline size_t drain(struct tr_record *out, size_t max)
{
	return ring_consume(&consumer, out, max, shim_now_ns());
}

static inline uint64_t entry_of(int fd)
{
	_Atomic uint64_t *t = atomic_load(&fdt_table);
	return atomic_load(&t[fd]);
}

/* A connected loopback TCP pair; returns 0 or -1. */
static inline int tcp_pair(int *client, int *server)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) != 0)
		return -1;
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*client, (struct sockaddr *)&a, sizeof a) != 0)
		return -1;
	*server = accept(l, NULL, NULL);
	close(l);
	return *server >= 0 ? 0 : -1;
}

static inline void feed_str(int fd, enum conn_dir dir, const char *s)
{
	struct iovec v = {.iov_base = (void *)s, .iov_len = strlen(s)};
	fdt_feed(fd, dir, &v, 1, v.iov_len);
}

static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\n"
			  "x-request-id: r1\r\nContent-Length: 16\r\n\r\n{\"model\":\"m-fd\"}";
static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 83\r\n\r\n"
			   "{\"model\":\"m-fd\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,"
			   "\"total_tokens\":7}}";

#endif
