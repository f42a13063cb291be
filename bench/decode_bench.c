/*
 * decode_bench - tokenringd's compressed-body path (aggregator/body.h) per
 * coding: an SSE stream of EVENTS OpenAI chunks and a 4 KiB JSON answer,
 * compressed whole (as a server that flushes rarely sends them), cut into
 * body entries of REC_BODY_PAYLOAD bytes, then body_take + body_complete
 * REPEAT times. Prints one JSON line per coding and body: decoded MB/s
 * (median of ROUNDS), and the ring slots one exchange uses (entries + its
 * record). Numbers only, never a test.
 */
#include <brotli/encode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>

#include "body.h"

#define EVENTS 1000
#define REPEAT 200
#define ROUNDS 5

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t pack(unsigned coding, const char *in, size_t n, unsigned char *out, size_t cap)
{
	if (coding == REC_CODING_GZIP || coding == REC_CODING_DEFLATE) {
		z_stream z = {0};
		deflateInit2(&z, 6, Z_DEFLATED, coding == REC_CODING_GZIP ? 31 : 15, 8,
			     Z_DEFAULT_STRATEGY);
		z.next_in = (unsigned char *)in;
		z.avail_in = (unsigned)n;
		z.next_out = out;
		z.avail_out = (unsigned)cap;
		deflate(&z, Z_FINISH);
		size_t got = cap - z.avail_out;
		deflateEnd(&z);
		return got;
	}
	if (coding == REC_CODING_BR) {
		size_t got = cap;
		BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n,
				      (const uint8_t *)in, &got, out);
		return got;
	}
	return ZSTD_compress(out, cap, in, n, 3);
}

static double cmp_d(const void *a, const void *b)
{
	return *(const double *)a - *(const double *)b;
}

static int by_double(const void *a, const void *b)
{
	double d = cmp_d(a, b);
	return d < 0 ? -1 : d > 0;
}

static void run(const char *what, unsigned coding, const char *plain, size_t n)
{
	size_t cap = n + 1024;
	unsigned char *z = malloc(cap);
	size_t zn = pack(coding, plain, n, z, cap);
	struct body_config cfg = {BODY_DEFAULT_MAX_BYTES, BODY_DEFAULT_MEMORY, 0};
	struct body_table *t;
	if (body_create(&cfg, &t))
		exit(1);
	unsigned entries = (unsigned)((zn + REC_BODY_PAYLOAD - 1) / REC_BODY_PAYLOAD);
	double rate[ROUNDS];
	uint32_t xid = 1;
	for (unsigned r = 0; r < ROUNDS; r++) {
		double t0 = now_s();
		for (unsigned k = 0; k < REPEAT; k++, xid++) {
			struct rec_body b = {0};
			b.kind = REC_KIND_BODY;
			b.pid = 1;
			b.xid = xid;
			b.dir = REC_BODY_RESPONSE;
			b.coding = (uint8_t)coding;
			for (size_t off = 0; off < zn; off += REC_BODY_PAYLOAD) {
				size_t len = zn - off < REC_BODY_PAYLOAD ? zn - off : REC_BODY_PAYLOAD;
				b.offset = off;
				b.len = (uint16_t)len;
				b.bflags = (off + len == zn ? REC_BODY_F_LAST : 0) |
					   (plain[0] == 'd' ? REC_BODY_F_SSE : 0);
				memcpy(b.payload, z + off, len);
				body_take(t, &b, 1);
			}
			struct tr_record rec = {0};
			rec.pid = 1;
			rec.body_xid = xid;
			rec.codings = REC_CODINGS(REC_CODING_NONE, coding);
			rec.body_bits = REC_B_RESP_COPIED;
			rec.flags = REC_F_LLM;
			rec.usage_status = REC_USAGE_MISSING;
			body_complete(t, &rec);
			if (rec.usage_status != REC_USAGE_AVAILABLE) {
				fprintf(stderr, "decode_bench: %s %s: usage %s\n", what,
					rec_coding_name(coding), rec_usage_name(rec.usage_status));
				exit(1);
			}
		}
		rate[r] = (double)n * REPEAT / (now_s() - t0) / 1e6;
	}
	qsort(rate, ROUNDS, sizeof *rate, by_double);
	printf("{\"body\":\"%s\",\"coding\":\"%s\",\"decoded_bytes\":%zu,\"compressed_bytes\":%zu,"
	       "\"decoded_mb_s\":%.0f,\"ring_slots\":%u}\n",
	       what, rec_coding_name(coding), n, zn, rate[ROUNDS / 2], entries + 1);
	body_destroy(t);
	free(z);
}

int main(void)
{
	size_t cap = EVENTS * 256 + 512, n = 0;
	char *sse = malloc(cap);
	for (unsigned i = 0; i < EVENTS; i++)
		n += (size_t)snprintf(sse + n, cap - n,
				      "data: {\"id\":\"chatcmpl-%u\",\"object\":\"chat.completion.chunk\","
				      "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
				      "\"tok%u \"}}]}\n\n",
				      i % 7, i);
	n += (size_t)snprintf(sse + n, cap - n,
			      "data: {\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
			      "\"completion_tokens\":%u,\"total_tokens\":%u}}\n\ndata: [DONE]\n\n",
			      EVENTS, EVENTS + 9);
	char json[4096];
	int head = snprintf(json, sizeof json,
			    "{\"model\":\"gpt-4o\",\"object\":\"chat.completion\",\"choices\":[{\"message\":{"
			    "\"role\":\"assistant\",\"content\":\"");
	size_t j = (size_t)head;
	static const char tail[] = "\"}}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":700,"
				   "\"total_tokens\":709}}";
	for (unsigned w = 0; j + 12 < sizeof json - sizeof tail; w++)
		j += (size_t)snprintf(json + j, sizeof json - j, "word%u ", w % 97);
	memcpy(json + j, tail, sizeof tail);
	j += sizeof tail - 1;
	for (unsigned c = REC_CODING_GZIP; c < REC_CODING_UNKNOWN; c++) {
		run("sse", c, sse, n);
		run("json4k", c, json, j);
	}
	free(sse);
	return 0;
}
