/*
 * shim_overhead - what libtokenring.so adds, measured by running this same
 * program with and without LD_PRELOAD and comparing (not a test: numbers
 * only, printed as one JSON line).
 *
 *   shim_overhead passthrough N
 *       N write()s of one byte to /dev/null and N write+read pairs on a
 *       pipe: ns per call on fds the shim classifies as not ours.
 *   shim_overhead request N
 *       N small LLM requests (POST /v1/chat/completions, JSON reply with
 *       usage) over one keep-alive loopback TCP connection to a server
 *       thread in this process: both ends are tracked by the shim, so each
 *       request makes two records. Reports median and p99 round trip (ns)
 *       after a warm-up.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 2000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int passthrough(long n)
{
	int devnull = open("/dev/null", O_WRONLY), p[2];
	char c = 'x';
	if (devnull < 0 || pipe(p) != 0)
		return 1;
	for (int i = 0; i < WARMUP; i++)
		if (write(devnull, &c, 1) != 1)
			return 1;
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (write(devnull, &c, 1) != 1)
			return 1;
	uint64_t t1 = now_ns();
	for (long i = 0; i < n; i++)
		if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
			return 1;
	uint64_t t2 = now_ns();
	printf("{\"devnull_write_ns\":%.2f,\"pipe_write_read_pair_ns\":%.2f}\n",
	       (double)(t1 - t0) / (double)n, (double)(t2 - t1) / (double)n);
	return 0;
}

static const char request_fmt[] =
	"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	"Content-Length: %zu\r\n\r\n%s";
static const char request_body[] =
	"{\"model\":\"bench-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
static const char reply_body[] =
	"{\"id\":\"x\",\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
	"\"assistant\",\"content\":\"hi\"}}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,"
	"\"total_tokens\":2}}";

/* Read one message whose total length is known in advance. */
static int read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

struct server {
	int fd;
	long n;
	size_t req_len;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	char buf[1024], reply[1024];
	int len = snprintf(reply, sizeof reply,
			   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			   "Content-Length: %zu\r\n\r\n%s",
			   sizeof reply_body - 1, reply_body);
	for (long i = 0; i < s->n; i++) {
		if (read_exact(s->fd, buf, s->req_len) != 0 ||
		    write(s->fd, reply, (size_t)len) != len)
			break;
	}
	return NULL;
}

static int request(long n)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof a;
	char req[1024], buf[1024];
	int one = 1;
	int len = snprintf(req, sizeof req, request_fmt, sizeof request_body - 1, request_body);
	size_t reply_len = (size_t)snprintf(buf, sizeof buf,
					    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					    "Content-Length: %zu\r\n\r\n%s",
					    sizeof reply_body - 1, reply_body);
	uint64_t *lat = calloc((size_t)n, sizeof *lat);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (lat == NULL || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) != 0)
		return 1;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, sizeof a) != 0)
		return 1;
	struct server s = {.fd = accept(l, NULL, NULL), .n = n + WARMUP, .req_len = (size_t)len};
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	pthread_t th;
	pthread_create(&th, NULL, serve, &s);
	for (long i = 0; i < n + WARMUP; i++) {
		uint64_t t0 = now_ns();
		if (write(c, req, (size_t)len) != len || read_exact(c, buf, reply_len) != 0)
			return 1;
		if (i >= WARMUP)
			lat[i - WARMUP] = now_ns() - t0;
	}
	pthread_join(th, NULL);
	close(c);
	close(s.fd);
	close(l);
	qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
	printf("{\"requests\":%ld,\"p50_ns\":%llu,\"p99_ns\":%llu}\n", n,
	       (unsigned long long)lat[n / 2], (unsigned long long)lat[n * 99 / 100]);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;
	if (argc == 3 && n > 0 && strcmp(argv[1], "passthrough") == 0)
		return passthrough(n);
	if (argc == 3 && n > 0 && strcmp(argv[1], "request") == 0)
		return request(n);
	fprintf(stderr, "usage: shim_overhead passthrough|request N\n");
	return 2;
}
