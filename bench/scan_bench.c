/*
 * scan_bench.c - body scan rate of the shim's HTTP/LLM tracker (conn_feed),
 * the part of the per-request cost that grows with the response. Three
 * shapes, each a whole client-side exchange fed as recv would return it:
 *   big_content  one chat completion whose content string is 4 MiB, in
 *                64 KiB reads (usage sits at the very end)
 *   embeddings   an embeddings response of 8192-float vectors, 64 KiB reads
 *   sse_events   a chunked SSE stream of ~280-byte chat chunks, one read per
 *                event (how a stream arrives)
 * Prints "shape GB_per_s" lines (median of 7 runs); checks that usage was
 * found, so a broken parser cannot look fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"

#define RUNS 7

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static uint32_t got_completion;

static void on_emit(void *ctx, struct tr_record *rec)
{
	(void)ctx;
	got_completion = rec->completion_tokens;
}

static const char REQ[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\n"
			  "Content-Type: application/json\r\nContent-Length: 56\r\n\r\n"
			  "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";

struct body {
	char *p;
	size_t len;
	size_t read_size; /* bytes per feed; 0 = the event table below */
	size_t *events;   /* event boundaries for sse */
	size_t nevents;
};

/* Append formatted text; the buffers are sized generously up front. */
#define ADD(b, ...) ((b)->len += (size_t)sprintf((b)->p + (b)->len, __VA_ARGS__))

static void make_big_content(struct body *b)
{
	size_t n = 4u << 20;
	b->p = malloc(n + 4096);
	b->len = 0;
	const char *head = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":"
			   "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"";
	const char *tail = "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,"
			   "\"completion_tokens\":777,\"total_tokens\":782}}";
	char hdr[128];
	size_t body = strlen(head) + n + strlen(tail);
	int h = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n", body);
	memcpy(b->p, hdr, (size_t)h);
	b->len = (size_t)h;
	ADD(b, "%s", head);
	for (size_t i = 0; i < n; i++)
		b->p[b->len++] = "lorem ipsum dolor sit amet "[i % 27];
	ADD(b, "%s", tail);
	b->read_size = 65536;
}

static void make_embeddings(struct body *b)
{
	b->p = malloc(8u << 20);
	b->len = 0;
	char *json = malloc(8u << 20);
	size_t j = (size_t)sprintf(json, "{\"object\":\"list\",\"data\":[");
	for (int v = 0; v < 32; v++) {
		j += (size_t)sprintf(json + j, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":[",
				     v ? "," : "", v);
		for (int k = 0; k < 8192; k++)
			j += (size_t)sprintf(json + j, "%s-0.0%05d", k ? "," : "", (k * 7919) % 100000);
		j += (size_t)sprintf(json + j, "]}");
	}
	j += (size_t)sprintf(json + j, "],\"model\":\"e\",\"usage\":{\"prompt_tokens\":777,"
				      "\"completion_tokens\":777,\"total_tokens\":777}}");
	ADD(b, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    j);
	memcpy(b->p + b->len, json, j);
	b->len += j;
	free(json);
	b->read_size = 65536;
}

static void make_sse(struct body *b)
{
	size_t events = 20000;
	b->p = malloc(events * 400 + 4096);
	b->events = malloc((events + 4) * sizeof(size_t));
	b->len = 0;
	b->nevents = 0;
	b->events[b->nevents++] = 0;
	ADD(b, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	       "Transfer-Encoding: chunked\r\n\r\n");
	b->events[b->nevents++] = b->len;
	char ev[512];
	for (size_t i = 0; i < events; i++) {
		int n = snprintf(ev, sizeof ev,
				 "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\","
				 "\"created\":1732400000,\"model\":\"m\",\"system_fingerprint\":\"fp_1\","
				 "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok%zu\"},"
				 "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n", i);
		ADD(b, "%x\r\n%s\r\n", n, ev);
		b->events[b->nevents++] = b->len;
	}
	int n = snprintf(ev, sizeof ev,
			 "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\","
			 "\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
			 "\"completion_tokens\":777,\"total_tokens\":782}}\n\ndata: [DONE]\n\n");
	ADD(b, "%x\r\n%s\r\n0\r\n\r\n", n, ev);
	b->events[b->nevents++] = b->len;
	b->read_size = 0;
}

/* One exchange; returns the response bytes per second. */
static double run_once(const struct body *b, struct conn *c, const struct conn_config *cfg)
{
	conn_init(c, CONN_ROLE_CLIENT);
	got_completion = 0;
	conn_feed(c, cfg, CONN_DIR_OUT, REQ, sizeof REQ - 1, now_ns(), on_emit, NULL);
	uint64_t t0 = now_ns();
	if (b->read_size) {
		for (size_t off = 0; off < b->len; off += b->read_size) {
			size_t n = b->len - off < b->read_size ? b->len - off : b->read_size;
			conn_feed(c, cfg, CONN_DIR_IN, b->p + off, n, t0, on_emit, NULL);
		}
	} else {
		for (size_t e = 1; e < b->nevents; e++)
			conn_feed(c, cfg, CONN_DIR_IN, b->p + b->events[e - 1],
				  b->events[e] - b->events[e - 1], t0, on_emit, NULL);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	if (got_completion != 777) {
		fprintf(stderr, "scan_bench: usage not found (%u)\n", got_completion);
		exit(1);
	}
	return (double)b->len / secs / 1e9;
}

int main(void)
{
	static struct conn c;
	static struct conn_config cfg;
	struct {
		const char *name;
		void (*make)(struct body *);
	} shapes[] = {{"big_content", make_big_content},
		      {"embeddings", make_embeddings},
		      {"sse_events", make_sse}};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		struct body b = {0};
		shapes[s].make(&b);
		double v[RUNS];
		run_once(&b, &c, &cfg); /* warm up */
		for (int r = 0; r < RUNS; r++)
			v[r] = run_once(&b, &c, &cfg);
		qsort(v, RUNS, sizeof v[0], cmp);
		printf("%s %.2f %.2f %.2f %zu\n", shapes[s].name, v[RUNS / 2], v[0], v[RUNS - 1], b.len);
		free(b.p);
		free(b.events);
	}
	return 0;
}
