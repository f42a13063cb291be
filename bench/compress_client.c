/*
 * compress_client - the app side of bench/compress_bench.py: what the shim
 * adds to a process whose LLM answers come compressed, against the same
 * answers uncompressed. Run under callgrind with and without LD_PRELOAD, for
 * N and 2N exchanges, so the difference is per exchange and repeatable.
 *
 *   compress_client serve
 *       prints its port, then answers every POST on a keep-alive
 *       connection with a 4 KiB chat completion, gzip-compressed when the
 *       request says Accept-Encoding: gzip (run it without the shim).
 *   compress_client client PORT N plain|gzip
 *       N requests on one connection; reads each answer whole.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "bench_net.h"

#define BODY 4096

static char plain[BODY + 1];
static unsigned char packed[BODY + 256];
static size_t packed_n;

static void make_bodies(void)
{
	static const char head[] = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":"
				   "\"gpt-4o\",\"choices\":[{\"message\":{\"role\":\"assistant\","
				   "\"content\":\"";
	static const char tail[] = "\"}}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":"
				   "700,\"total_tokens\":709}}";
	size_t n = sizeof head - 1;
	memcpy(plain, head, n);
	for (unsigned w = 0; n < BODY - (sizeof tail - 1); w++) {
		int k = snprintf(plain + n, BODY - (sizeof tail - 1) - n + 1, "w%u ", w % 97);
		n += (size_t)k;
	}
	n = BODY - (sizeof tail - 1);
	memcpy(plain + n, tail, sizeof tail);
	uLongf zn = sizeof packed;
	z_stream z = {0};
	deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)plain;
	z.avail_in = BODY;
	z.next_out = packed;
	z.avail_out = (unsigned)zn;
	deflate(&z, Z_FINISH);
	packed_n = zn - z.avail_out;
	deflateEnd(&z);
}

static int read_until(int fd, char *buf, size_t cap, size_t *have, const char *mark)
{
	while (!memmem(buf, *have, mark, strlen(mark))) {
		ssize_t r = read(fd, buf + *have, cap - *have);
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
	return 0;
}

static void serve(void)
{
	int ls = bench_listen();
	for (;;) {
		int fd = bench_accept(ls);
		if (fd < 0)
			continue;
		static char buf[65536];
		size_t have = 0;
		for (;;) {
			if (read_until(fd, buf, sizeof buf, &have, "\r\n\r\n"))
				break;
			char *end = memmem(buf, have, "\r\n\r\n", 4) + 4;
			char *cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
			size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
			size_t need = (size_t)(end - buf) + body;
			while (have < need) {
				ssize_t r = read(fd, buf + have, sizeof buf - have);
				if (r <= 0)
					goto done;
				have += (size_t)r;
			}
			int gz = memmem(buf, (size_t)(end - buf), "Accept-Encoding: gzip", 21) != NULL;
			char head[256];
			int hn = snprintf(head, sizeof head,
					  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%s"
					  "Content-Length: %zu\r\n\r\n",
					  gz ? "Content-Encoding: gzip\r\n" : "", gz ? packed_n : (size_t)BODY);
			char out[BODY + 512];
			memcpy(out, head, (size_t)hn);
			memcpy(out + hn, gz ? (const void *)packed : plain, gz ? packed_n : BODY);
			if (write(fd, out, (size_t)hn + (gz ? packed_n : BODY)) < 0)
				break;
			memmove(buf, buf + need, have - need);
			have -= need;
		}
done:
		close(fd);
	}
}

static void client(unsigned port, unsigned n, int gz)
{
	static const char body[] = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
				   "\"content\":\"one two three four\"}]}";
	char req[512];
	int rn = snprintf(req, sizeof req,
			  "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			  "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
			  gz ? "Accept-Encoding: gzip\r\n" : "", sizeof body - 1, body);
	int fd = bench_connect(port);
	static char buf[65536];
	for (unsigned i = 0; i < n; i++) {
		if (write(fd, req, (size_t)rn) != rn)
			exit(1);
		size_t have = 0;
		if (read_until(fd, buf, sizeof buf, &have, "\r\n\r\n"))
			exit(1);
		char *end = memmem(buf, have, "\r\n\r\n", 4) + 4;
		char *cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
		size_t need = (size_t)(end - buf) + strtoul(cl + 16, NULL, 10);
		while (have < need) {
			ssize_t r = read(fd, buf + have, sizeof buf - have);
			if (r <= 0)
				exit(1);
			have += (size_t)r;
		}
	}
	close(fd);
}

int main(int argc, char **argv)
{
	make_bodies();
	if (argc == 2 && strcmp(argv[1], "serve") == 0)
		serve();
	else if (argc == 5 && strcmp(argv[1], "client") == 0)
		client((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), strcmp(argv[4], "gzip") == 0);
	else {
		fprintf(stderr, "usage: compress_client serve | client PORT N plain|gzip\n");
		return 2;
	}
	return 0;
}
