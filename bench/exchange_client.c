/*
 * exchange_client - the app side of the shim's instruction counts
 * (bench/icount.py, issue 14): a client process doing N keep-alive HTTP
 * exchanges shaped like real traffic, counted under callgrind with and
 * without LD_PRELOAD=libtokenring.so, over N and 2N exchanges, so that the
 * difference is what the shim adds per exchange (or per SSE event).
 *
 *   exchange_client serve EVENTS
 *       prints its port, then answers every request of a keep-alive
 *       connection as nginx would (run it without the shim):
 *         GET                         {"status":"ok"}
 *         POST with "stream":true     an SSE chat completion stream of
 *                                     EVENTS content events (~230 bytes
 *                                     each, one HTTP chunk each), a usage
 *                                     event and [DONE]
 *         other POST                  a 234-byte chat completion
 *       each answer in one write, so the client reads it in one recv.
 *   exchange_client client PORT N chat|health|sse
 *       N exchanges on one connection, sent and read the way the OpenAI
 *       Python SDK (httpx) does: send(head), send(body), recv until the
 *       answer is whole.
 *
 * The chat and sse request heads are the SDK's own (about 700 bytes: its
 * X-Stainless-* headers and a bearer key); the chat body is 230 bytes. The
 * non-LLM GET is the commonest one an injected workload answers or makes: a
 * Kubernetes probe (tests/producer/corpus/plain_get.req).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_net.h"

#define BUF (1u << 20)

/* 230 bytes, and the same with stream + include_usage */
static const char chat_body[] =
	"{\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
	"{\"role\":\"user\",\"content\":\"Say hello in one short sentence, then stop.\"}],"
	"\"model\":\"gpt-4o-mini\",\"max_tokens\":64,\"temperature\":0.2,\"user\":\"bench-user-00012345\"}";
static const char sse_body[] =
	"{\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
	"{\"role\":\"user\",\"content\":\"Say hello in one short sentence.\"}],"
	"\"model\":\"gpt-4o-mini\",\"temperature\":0.2,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";

/* bench/httpload/nginx.py CHAT_BODY: 234 bytes */
static const char chat_answer[] =
	"{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"model\":\"bench-model\","
	"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
	"\"finish_reason\":\"stop\"}],"
	"\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13}}";
static const char health_answer[] = "{\"status\":\"ok\"}";

static const char sdk_head[] =
	"%s %s HTTP/1.1\r\n"
	"Host: 127.0.0.1:%u\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Connection: keep-alive\r\n"
	"Accept: application/json\r\n"
	"Content-Type: application/json\r\n"
	"User-Agent: OpenAI/Python 1.54.4\r\n"
	"X-Stainless-Lang: python\r\n"
	"X-Stainless-Package-Version: 1.54.4\r\n"
	"X-Stainless-OS: Linux\r\n"
	"X-Stainless-Arch: x64\r\n"
	"X-Stainless-Runtime: CPython\r\n"
	"X-Stainless-Runtime-Version: 3.11.2\r\n"
	"Authorization: Bearer sk-proj-b3JnLWJlbmNoLWtleS0wMDAxLXRva2VucmluZy1pbnN0cnVjdGlvbi1jb3VudHMtYmVuY2gtb25seQ"
	"T3BlbkFJ-c2stcHJvai1iZW5jaC1rZXktbm90LXJlYWwtMDAwMDAwMDAwMDAw\r\n"
	"X-Stainless-Async: false\r\n"
	"x-stainless-retry-count: 0\r\n"
	"x-stainless-read-timeout: 600\r\n"
	"x-stainless-raw-response: false\r\n"
	"%s"
	"\r\n";

static const char probe_head[] = "GET /healthz HTTP/1.1\r\n"
				 "Host: 127.0.0.1:%u\r\n"
				 "User-Agent: kube-probe/1.31\r\n"
				 "Accept: */*\r\n"
				 "\r\n";

static const char nginx_head[] = "HTTP/1.1 200 OK\r\n"
				 "Server: nginx/1.22.1\r\n"
				 "Date: Sun, 06 Dec 2026 04:00:00 GMT\r\n"
				 "Content-Type: %s\r\n"
				 "%s"
				 "Connection: keep-alive\r\n"
				 "\r\n";

static char *buf;

/* Index just past "\r\n\r\n" in b[0..n), or 0. */
static size_t head_end(const char *b, size_t n)
{
	const char *e = memmem(b, n, "\r\n\r\n", 4);
	return e ? (size_t)(e - b) + 4 : 0;
}

/* The number after a header name (case as sent by the peer), or -1. */
static long header_num(const char *b, size_t n, const char *name)
{
	const char *h = memmem(b, n, name, strlen(name));
	return h ? strtol(h + strlen(name), NULL, 10) : -1;
}

static size_t sse_stream(char *out, unsigned events)
{
	size_t n = 0;
	for (unsigned i = 0; i <= events; i++) {
		char ev[512];
		int k = i < events
				? snprintf(ev, sizeof ev,
					   "data: {\"id\":\"chatcmpl-AbCdEf01\",\"object\":"
					   "\"chat.completion.chunk\",\"created\":1733450000,"
					   "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":"
					   "\"fp_0ba0d124f1\",\"choices\":[{\"index\":0,\"delta\":"
					   "{\"content\":\" tok%04u\"},"
					   "\"finish_reason\":null}]}\n\n",
					   i % 10000)
				: snprintf(ev, sizeof ev,
					   "data: {\"id\":\"chatcmpl-AbCdEf01\",\"object\":"
					   "\"chat.completion.chunk\",\"created\":1733450000,"
					   "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],"
					   "\"usage\":{\"prompt_tokens\":23,\"completion_tokens\":%u,"
					   "\"total_tokens\":%u}}\n\ndata: [DONE]\n\n",
					   events, 23 + events);
		n += (size_t)sprintf(out + n, "%x\r\n%s\r\n", k, ev);
	}
	return n + (size_t)sprintf(out + n, "0\r\n\r\n");
}

static size_t answer(char *out, const char *req, size_t head, size_t body, unsigned events)
{
	char len[64];
	if (memcmp(req, "GET ", 4) == 0) {
		snprintf(len, sizeof len, "Content-Length: %zu\r\n", sizeof health_answer - 1);
		size_t n = (size_t)sprintf(out, nginx_head, "application/json", len);
		memcpy(out + n, health_answer, sizeof health_answer - 1);
		return n + sizeof health_answer - 1;
	}
	if (memmem(req + head, body, "\"stream\":true", 13)) {
		size_t n = (size_t)sprintf(out, nginx_head, "text/event-stream; charset=utf-8",
					   "Transfer-Encoding: chunked\r\n");
		return n + sse_stream(out + n, events);
	}
	snprintf(len, sizeof len, "Content-Length: %zu\r\n", sizeof chat_answer - 1);
	size_t n = (size_t)sprintf(out, nginx_head, "application/json", len);
	memcpy(out + n, chat_answer, sizeof chat_answer - 1);
	return n + sizeof chat_answer - 1;
}

static void serve(unsigned events)
{
	char *out = malloc(BUF);
	if (!out)
		exit(1);
	int ls = bench_listen();
	for (;;) {
		int fd = bench_accept(ls);
		if (fd < 0)
			continue;
		size_t have = 0;
		for (;;) {
			size_t h;
			while (!(h = head_end(buf, have))) {
				ssize_t r = read(fd, buf + have, BUF - have);
				if (r <= 0)
					goto done;
				have += (size_t)r;
			}
			long cl = header_num(buf, h, "Content-Length: ");
			size_t need = h + (cl > 0 ? (size_t)cl : 0);
			while (have < need) {
				ssize_t r = read(fd, buf + have, BUF - have);
				if (r <= 0)
					goto done;
				have += (size_t)r;
			}
			size_t n = answer(out, buf, h, need - h, events);
			if (write(fd, out, n) != (ssize_t)n)
				break;
			memmove(buf, buf + need, have - need);
			have -= need;
		}
done:
		close(fd);
	}
}

/* Whether b[0..n) is a whole answer (Content-Length or chunked). */
static int answer_whole(const char *b, size_t n)
{
	size_t h = head_end(b, n);
	if (!h)
		return 0;
	long cl = header_num(b, h, "Content-Length: ");
	if (cl >= 0)
		return n >= h + (size_t)cl;
	return n >= h + 5 && memcmp(b + n - 5, "0\r\n\r\n", 5) == 0;
}

static void client(unsigned port, unsigned n, const char *kind)
{
	int get = strcmp(kind, "health") == 0, sse = strcmp(kind, "sse") == 0;
	const char *body = get ? "" : sse ? sse_body : chat_body;
	size_t blen = strlen(body);
	char head[2048], cl[64] = "";
	if (!get)
		snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", blen);
	int hn = get ? snprintf(head, sizeof head, probe_head, port)
		     : snprintf(head, sizeof head, sdk_head, "POST", "/v1/chat/completions", port, cl);
	int fd = bench_connect(port);
	for (unsigned i = 0; i < n; i++) {
		if (send(fd, head, (size_t)hn, 0) != hn)
			exit(1);
		if (blen && send(fd, body, blen, 0) != (ssize_t)blen)
			exit(1);
		size_t have = 0;
		do {
			ssize_t r = recv(fd, buf + have, BUF - have, 0);
			if (r <= 0)
				exit(1);
			have += (size_t)r;
		} while (!answer_whole(buf, have));
	}
	close(fd);
}

int main(int argc, char **argv)
{
	buf = malloc(BUF);
	if (!buf)
		return 1;
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		serve((unsigned)atoi(argv[2]));
	else if (argc == 5 && strcmp(argv[1], "client") == 0)
		client((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), argv[4]);
	else {
		fprintf(stderr, "usage: exchange_client serve EVENTS | client PORT N chat|health|sse\n");
		return 2;
	}
	return 0;
}
