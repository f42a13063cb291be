/* test_body.c - compressed bodies from wire to record, in one process: the
 * shim's exchange tracker (producer/conn*.c) copies a compressed body into
 * body entries, tokenringd's body table (aggregator/body.c) decodes them and
 * fills the record. Every coding, JSON and SSE, any read split; and the
 * faults: entries dropped, reordered, torn or orphaned, a bomb, corrupt and
 * cut streams, the per-body and memory bounds, an unknown coding. */
#include <brotli/encode.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "body.h"
#include "conn.h"

#define MAX_ENTRIES 4096
#define MAX_RECS 8

/* What the shim would have put in the ring, in order. */
struct ringlog {
	struct rec_body e[MAX_ENTRIES];
	unsigned n;
	struct tr_record rec[MAX_RECS];
	unsigned nrec;
	int drop_at; /* index of an entry the "ring" drops (-1: none) */
	unsigned offered;
};

static struct ringlog *L;

static void on_rec(void *ctx, struct tr_record *r)
{
	struct ringlog *l = ctx;
	cr_assert_lt(l->nrec, MAX_RECS);
	r->pid = 42;
	l->rec[l->nrec++] = *r;
}

static int on_body(void *ctx, struct rec_body *b)
{
	struct ringlog *l = ctx;
	if ((int)l->offered++ == l->drop_at)
		return -1;
	cr_assert_lt(l->n, MAX_ENTRIES);
	b->pid = 42;
	l->e[l->n++] = *b;
	return 0;
}

static struct conn_config cfg = {.body_emit = on_body};

/* ---- compressing, as servers do ---- */

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* Compress events one by one with a flush after each (SSE as providers
 * send it); ends[i] = compressed length after event i. */
static struct buf compress_events(unsigned coding, const char *const *ev, unsigned nev,
				  size_t *ends)
{
	struct buf out = {0};
	unsigned char tmp[1 << 16];
	if (coding == REC_CODING_GZIP || coding == REC_CODING_DEFLATE) {
		z_stream z = {0};
		cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, coding == REC_CODING_GZIP ? 31 : -15, 8,
					  Z_DEFAULT_STRATEGY),
			     Z_OK);
		for (unsigned i = 0; i <= nev; i++) {
			z.next_in = (unsigned char *)(i < nev ? ev[i] : "");
			z.avail_in = i < nev ? (unsigned)strlen(ev[i]) : 0;
			do {
				z.next_out = tmp;
				z.avail_out = sizeof tmp;
				deflate(&z, i < nev ? Z_SYNC_FLUSH : Z_FINISH);
				put(&out, tmp, sizeof tmp - z.avail_out);
			} while (z.avail_out == 0);
			if (i < nev && ends)
				ends[i] = out.n;
		}
		deflateEnd(&z);
	} else if (coding == REC_CODING_BR) {
		BrotliEncoderState *s = BrotliEncoderCreateInstance(NULL, NULL, NULL);
		for (unsigned i = 0; i <= nev; i++) {
			size_t in_n = i < nev ? strlen(ev[i]) : 0;
			const uint8_t *in = (const uint8_t *)(i < nev ? ev[i] : "");
			do {
				size_t avail = sizeof tmp;
				uint8_t *o = tmp;
				BrotliEncoderCompressStream(s, i < nev ? BROTLI_OPERATION_FLUSH
								       : BROTLI_OPERATION_FINISH,
							    &in_n, &in, &avail, &o, NULL);
				put(&out, tmp, sizeof tmp - avail);
			} while (in_n || BrotliEncoderHasMoreOutput(s) ||
				 (i == nev && !BrotliEncoderIsFinished(s)));
			if (i < nev && ends)
				ends[i] = out.n;
		}
		BrotliEncoderDestroyInstance(s);
	} else {
		ZSTD_CCtx *c = ZSTD_createCCtx();
		for (unsigned i = 0; i <= nev; i++) {
			ZSTD_inBuffer in = {i < nev ? ev[i] : "", i < nev ? strlen(ev[i]) : 0, 0};
			size_t left;
			do {
				ZSTD_outBuffer o = {tmp, sizeof tmp, 0};
				left = ZSTD_compressStream2(c, &o, &in, i < nev ? ZSTD_e_flush : ZSTD_e_end);
				put(&out, tmp, o.pos);
			} while (left);
			if (i < nev && ends)
				ends[i] = out.n;
		}
		ZSTD_freeCCtx(c);
	}
	return out;
}

static const char *coding_hdr(unsigned c)
{
	return c == REC_CODING_GZIP ? "gzip" : c == REC_CODING_DEFLATE ? "deflate" : c == REC_CODING_BR ? "br" : "zstd";
}

/* ---- one exchange through the shim's tracker ---- */

static struct conn C;

static void send_request(const char *body)
{
	char req[512];
	int n = snprintf(req, sizeof req,
			 "POST /v1/chat/completions HTTP/1.1\r\nHost: api\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 strlen(body), body);
	conn_feed(&C, &cfg, CONN_DIR_OUT, req, (size_t)n, 1000, on_rec, L);
}

/* The response head, then its compressed body in pieces of `split` bytes
 * (0: each event's bytes in one read), read at 1 ms apart per event so the
 * shim cuts entries at event boundaries. */
static void send_response(const char *ctype, const char *coding, const struct buf *body,
			  const size_t *ends, unsigned nev, size_t split, int cut_at_event)
{
	char head[256];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Encoding: %s\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 ctype, coding, body->n);
	uint64_t t = 2000000;
	conn_feed(&C, &cfg, CONN_DIR_IN, head, (size_t)n, t, on_rec, L);
	size_t from = 0;
	for (unsigned i = 0; i < nev; i++) {
		if (cut_at_event >= 0 && (int)i == cut_at_event)
			return;
		size_t to = i + 1 < nev ? ends[i] : body->n;
		t += 2000000; /* 2 ms: past the shim's 1 ms entry slack */
		while (from < to) {
			size_t k = split && to - from > split ? split : to - from;
			conn_feed(&C, &cfg, CONN_DIR_IN, body->p + from, k, t, on_rec, L);
			from += k;
		}
	}
}

static struct body_table *T;
static struct body_config BCFG;

static void setup(void)
{
	L = calloc(1, sizeof *L);
	L->drop_at = -1;
	conn_init(&C, CONN_ROLE_AUTO);
	BCFG.max_bytes = BODY_DEFAULT_MAX_BYTES;
	BCFG.memory = BODY_DEFAULT_MEMORY;
}

static void teardown(void)
{
	if (T)
		cr_expect_eq(body_stats(T)->pending, 0, "every exchange released");
	body_destroy(T);
	T = NULL;
	free(L);
}

/* The daemon's side: entries in ring order, then the records. */
static const struct tr_record *daemon_reads(void)
{
	if (!T)
		cr_assert_eq(body_create(&BCFG, &T), 0);
	for (unsigned i = 0; i < L->n; i++)
		body_take(T, &L->e[i], 1);
	cr_assert_eq(L->nrec, 1);
	body_complete(T, &L->rec[0]);
	return &L->rec[0];
}

static const char *const SSE[] = {
	"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024\","
	"\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
	"data: {\"id\":\"c\",\"model\":\"gpt-4o-2024\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
	"data: {\"id\":\"c\",\"model\":\"gpt-4o-2024\",\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n",
	"data: {\"id\":\"c\",\"model\":\"gpt-4o-2024\",\"choices\":[{\"delta\":{\"content\":\"!\"}}]}\n\n",
	"data: {\"id\":\"c\",\"model\":\"gpt-4o-2024\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
	"11,\"completion_tokens\":3,\"total_tokens\":14,\"prompt_tokens_details\":{\"cached_tokens\""
	":5},\"completion_tokens_details\":{\"reasoning_tokens\":1}}}\n\n",
	"data: [DONE]\n\n",
};
#define NSSE (sizeof SSE / sizeof *SSE)
static const char STREAM_REQ[] =
	"{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";

static void expect_stream_usage(const struct tr_record *r)
{
	cr_expect_eq(r->usage_status, REC_USAGE_AVAILABLE, "usage %s", rec_usage_name(r->usage_status));
	cr_expect_str_eq(r->request_model, "gpt-4o");
	cr_expect_str_eq(r->response_model, "gpt-4o-2024");
	cr_expect_eq(r->prompt_tokens, 11);
	cr_expect_eq(r->completion_tokens, 3);
	cr_expect_eq(r->total_tokens, 14);
	cr_expect_eq(r->cached_tokens, 5);
	cr_expect_eq(r->reasoning_tokens, 1);
	cr_expect_eq(r->chunks, 3, "content chunks %u", r->chunks);
	cr_expect(r->flags & REC_F_STREAM);
	cr_expect(r->flags & REC_F_LLM);
}

TestSuite(body, .init = setup, .fini = teardown);

Test(body, sse_every_coding_any_split_exact)
{
	static const unsigned codings[] = {REC_CODING_GZIP, REC_CODING_DEFLATE, REC_CODING_BR,
					   REC_CODING_ZSTD};
	static const size_t splits[] = {0, 1, 7, 600};
	for (unsigned c = 0; c < 4; c++)
		for (unsigned s = 0; s < 4; s++) {
			size_t ends[NSSE];
			struct buf b = compress_events(codings[c], SSE, NSSE, ends);
			memset(L, 0, sizeof *L);
			L->drop_at = -1;
			conn_init(&C, CONN_ROLE_AUTO);
			send_request(STREAM_REQ);
			send_response("text/event-stream", coding_hdr(codings[c]), &b, ends, NSSE,
				      splits[s], -1);
			const struct tr_record *r = daemon_reads();
			expect_stream_usage(r);
			cr_expect_eq(REC_CODING_RESP(r->codings), codings[c]);
			/* first content event: the second, read 2 x 2 ms after the head,
			 * 2 ms after the request's first byte at t=1000 */
			cr_expect_eq(r->ttft_ns, 2000000 + 2 * 2000000 - 1000, "%s split %zu ttft %llu",
				     coding_hdr(codings[c]), splits[s], (unsigned long long)r->ttft_ns);
			free(b.p);
		}
}

Test(body, ring_slots_per_exchange)
{
	size_t ends[NSSE];
	struct buf b = compress_events(REC_CODING_GZIP, SSE, NSSE, ends);
	send_request(STREAM_REQ);
	send_response("text/event-stream", "gzip", &b, ends, NSSE, 1, -1);
	/* one entry per event (they came 2 ms apart), whatever the read size */
	cr_expect_eq(L->n, NSSE, "entries %u", L->n);
	expect_stream_usage(daemon_reads());
	free(b.p);
}

Test(body, dropped_entry_makes_usage_undecodable)
{
	size_t ends[NSSE];
	struct buf b = compress_events(REC_CODING_GZIP, SSE, NSSE, ends);
	L->drop_at = 2;
	send_request(STREAM_REQ);
	send_response("text/event-stream", "gzip", &b, ends, NSSE, 0, -1);
	const struct tr_record *r = daemon_reads();
	cr_expect_eq(r->body_lost, 1);
	cr_expect(r->flags & REC_F_BODY_LOST);
	cr_expect_eq(r->usage_status, REC_USAGE_UNDECODABLE);
	cr_expect_eq(r->prompt_tokens, 0, "never guessed");
	cr_expect_eq(body_stats(T)->errors[REC_CODING_GZIP][BODY_R_LOST], 1);
	cr_expect_eq(body_stats(T)->stray_entries, NSSE - 3, "entries after the gap");
	free(b.p);
}

Test(body, reordered_entries_are_counted_not_trusted)
{
	size_t ends[NSSE];
	struct buf b = compress_events(REC_CODING_BR, SSE, NSSE, ends);
	send_request(STREAM_REQ);
	send_response("text/event-stream", "br", &b, ends, NSSE, 0, -1);
	struct rec_body tmp = L->e[1];
	L->e[1] = L->e[2];
	L->e[2] = tmp;
	const struct tr_record *r = daemon_reads();
	cr_expect_eq(r->usage_status, REC_USAGE_UNDECODABLE);
	cr_expect_eq(body_stats(T)->errors[REC_CODING_BR][BODY_R_LOST], 1);
	cr_expect_eq(body_stats(T)->stray_entries, NSSE - 1);
	free(b.p);
}

Test(body, torn_and_orphaned_entries_expire)
{
	cr_assert_eq(body_create(&BCFG, &T), 0);
	size_t ends[NSSE];
	struct buf b = compress_events(REC_CODING_ZSTD, SSE, NSSE, ends);
	send_request(STREAM_REQ);
	send_response("text/event-stream", "zstd", &b, ends, NSSE, 0, 3); /* no record yet */
	cr_assert_eq(L->nrec, 0);
	cr_assert_gt(L->n, 0);
	for (unsigned i = 0; i < L->n; i++)
		body_take(T, &L->e[i], 100);
	struct rec_body torn = L->e[0];
	torn.len = 60000; /* more than a slot holds */
	body_take(T, &torn, 100);
	torn = L->e[0];
	torn.dir = 7;
	body_take(T, &torn, 100);
	torn = L->e[0];
	torn.xid = 999;
	torn.offset = 5; /* a middle with no start */
	body_take(T, &torn, 100);
	cr_expect_eq(body_stats(T)->stray_entries, 3);
	cr_expect_eq(body_stats(T)->pending, 1);
	cr_expect_gt(body_stats(T)->memory, 0);
	body_expire(T, 100 + BODY_IDLE_NS / 2);
	cr_expect_eq(body_stats(T)->pending, 1, "not idle long enough");
	body_expire(T, 101 + BODY_IDLE_NS);
	cr_expect_eq(body_stats(T)->orphaned, 1);
	cr_expect_eq(body_stats(T)->pending, 0);
	cr_expect_eq(body_stats(T)->memory, 0, "decoder memory returned");
	free(b.p);
}

Test(body, stream_cut_mid_body_is_interrupted_with_what_was_decoded)
{
	size_t ends[NSSE];
	struct buf b = compress_events(REC_CODING_GZIP, SSE, NSSE, ends);
	send_request(STREAM_REQ);
	send_response("text/event-stream", "gzip", &b, ends, NSSE, 0, 3);
	conn_close(&C, &cfg, 50000000, on_rec, L);
	const struct tr_record *r = daemon_reads();
	cr_expect_eq(r->usage_status, REC_USAGE_INTERRUPTED);
	cr_expect_str_eq(r->response_model, "gpt-4o-2024");
	cr_expect_eq(r->chunks, 2, "the content events before the cut");
	cr_expect_eq(r->prompt_tokens, 0);
	for (unsigned c = 0; c < REC_CODING_COUNT; c++)
		for (unsigned w = 0; w < BODY_R_COUNT; w++)
			cr_expect_eq(body_stats(T)->errors[c][w], 0, "a cut is not a decoding error");
	free(b.p);
}

static const char JSON_BODY[] =
	"{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024\",\"choices\":[{"
	"\"message\":{\"role\":\"assistant\",\"content\":\"hi\"}}],\"usage\":{\"prompt_tokens\":7,"
	"\"completion_tokens\":2,\"total_tokens\":9}}";

static const struct tr_record *json_exchange(unsigned coding, const char *hdr, struct buf *b)
{
	size_t end = b->n;
	send_request("{\"model\":\"gpt-4o\",\"messages\":[]}");
	send_response("application/json", hdr, b, &end, 1, 0, -1);
	return daemon_reads();
	(void)coding;
}

Test(body, json_every_coding)
{
	static const unsigned codings[] = {REC_CODING_GZIP, REC_CODING_DEFLATE, REC_CODING_BR,
					   REC_CODING_ZSTD};
	for (unsigned c = 0; c < 4; c++) {
		const char *one[] = {JSON_BODY};
		struct buf b = compress_events(codings[c], one, 1, NULL);
		memset(L, 0, sizeof *L);
		L->drop_at = -1;
		conn_init(&C, CONN_ROLE_AUTO);
		const struct tr_record *r = json_exchange(codings[c], coding_hdr(codings[c]), &b);
		cr_expect_eq(r->usage_status, REC_USAGE_AVAILABLE, "%s", coding_hdr(codings[c]));
		cr_expect_eq(r->prompt_tokens, 7);
		cr_expect_eq(r->completion_tokens, 2);
		cr_expect_eq(r->total_tokens, 9);
		cr_expect_str_eq(r->response_model, "gpt-4o-2024");
		cr_expect(!(r->flags & REC_F_STREAM));
		free(b.p);
	}
	cr_expect_eq(body_stats(T)->bodies, 4);
}

Test(body, zlib_wrapped_deflate)
{
	struct buf b = {0};
	uLongf n = compressBound(sizeof JSON_BODY);
	b.p = malloc(n);
	cr_assert_eq(compress(b.p, &n, (const Bytef *)JSON_BODY, sizeof JSON_BODY - 1), Z_OK);
	b.n = n;
	const struct tr_record *r = json_exchange(REC_CODING_DEFLATE, "deflate", &b);
	cr_expect_eq(r->usage_status, REC_USAGE_AVAILABLE);
	cr_expect_eq(r->total_tokens, 9);
	free(b.p);
}

Test(body, bomb_is_cut_at_the_cap)
{
	size_t big = 64u << 20;
	char *spaces = malloc(big + sizeof JSON_BODY);
	memset(spaces, ' ', big);
	memcpy(spaces + big, JSON_BODY, sizeof JSON_BODY);
	const char *one[] = {spaces};
	struct buf b = compress_events(REC_CODING_ZSTD, one, 1, NULL);
	free(spaces);
	cr_assert_lt(b.n, 64u << 10, "a bomb: %zu bytes", b.n);
	const struct tr_record *r = json_exchange(REC_CODING_ZSTD, "zstd", &b);
	cr_expect_eq(r->usage_status, REC_USAGE_UNDECODABLE);
	cr_expect_eq(body_stats(T)->errors[REC_CODING_ZSTD][BODY_R_BOMB], 1);
	/* stopped once decoded > 1 MiB + 1000 x the compressed bytes fed so far */
	uint64_t out = body_stats(T)->decoded_bytes[REC_CODING_ZSTD];
	cr_expect_gt(out, BODY_BOMB_FREE);
	cr_expect_leq(out, BODY_BOMB_FREE + BODY_BOMB_RATIO * b.n, "decoded %llu",
		      (unsigned long long)out);
	free(b.p);
}

Test(body, corrupt_gzip)
{
	const char *one[] = {JSON_BODY};
	struct buf b = compress_events(REC_CODING_GZIP, one, 1, NULL);
	b.p[10] = 0x07; /* first deflate block: BTYPE 11, reserved */
	const struct tr_record *r = json_exchange(REC_CODING_GZIP, "gzip", &b);
	cr_expect_eq(r->usage_status, REC_USAGE_UNDECODABLE);
	cr_expect_eq(body_stats(T)->errors[REC_CODING_GZIP][BODY_R_CORRUPT], 1);
	free(b.p);
}

Test(body, truncated_body_in_a_complete_message)
{
	const char *one[] = {JSON_BODY};
	struct buf b = compress_events(REC_CODING_GZIP, one, 1, NULL);
	b.n -= 8; /* no gzip trailer: the message ends, the stream does not */
	const struct tr_record *r = json_exchange(REC_CODING_GZIP, "gzip", &b);
	cr_expect_eq(r->usage_status, REC_USAGE_AVAILABLE, "usage came before the cut");
	cr_expect_eq(body_stats(T)->errors[REC_CODING_GZIP][BODY_R_TRUNCATED], 1, "still counted");
	free(b.p);
}

Test(body, per_body_bound)
{
	BCFG.max_bytes = 16;
	const char *one[] = {JSON_BODY};
	struct buf b = compress_events(REC_CODING_BR, one, 1, NULL);
	const struct tr_record *r = json_exchange(REC_CODING_BR, "br", &b);
	cr_expect_eq(r->usage_status, REC_USAGE_UNDECODABLE);
	cr_expect_eq(body_stats(T)->errors[REC_CODING_BR][BODY_R_TOO_LARGE], 1);
	free(b.p);
}

Test(body, memory_bound)
{
	BCFG.memory = 4096; /* less than inflate's window */
	const char *one[] = {JSON_BODY};
	struct buf b = compress_events(REC_CODING_GZIP, one, 1, NULL);
	const struct tr_record *r = json_exchange(REC_CODING_GZIP, "gzip", &b);
	cr_expect_eq(r->usage_status, REC_USAGE_UNDECODABLE);
	cr_expect_eq(body_stats(T)->errors[REC_CODING_GZIP][BODY_R_MEMORY], 1);
	cr_expect_eq(body_stats(T)->memory, 0);
	free(b.p);
}

Test(body, unknown_coding_is_undecodable_not_guessed)
{
	struct buf b = {(unsigned char *)strdup(JSON_BODY), sizeof JSON_BODY - 1, 0};
	const struct tr_record *r = json_exchange(REC_CODING_UNKNOWN, "compress", &b);
	cr_expect_eq(L->n, 0, "nothing copied");
	cr_expect_eq(r->usage_status, REC_USAGE_UNDECODABLE);
	cr_expect_eq(body_stats(T)->errors[REC_CODING_UNKNOWN][BODY_R_UNKNOWN_CODING], 1);
	free(b.p);
}

Test(body, compressed_request_body)
{
	const char *one[] = {"{\"model\":\"qwen-max\",\"stream\":true,\"messages\":[]}"};
	struct buf rq = compress_events(REC_CODING_ZSTD, one, 1, NULL);
	char head[256];
	int n = snprintf(head, sizeof head,
			 "POST /v1/chat/completions HTTP/1.1\r\nHost: api\r\nContent-Encoding: zstd\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 rq.n);
	conn_feed(&C, &cfg, CONN_DIR_OUT, head, (size_t)n, 1000, on_rec, L);
	conn_feed(&C, &cfg, CONN_DIR_OUT, rq.p, rq.n, 1000, on_rec, L);
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				   "Content-Length: 59\r\n\r\n"
				   "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
	conn_feed(&C, &cfg, CONN_DIR_IN, resp, sizeof resp - 1, 5000, on_rec, L);
	const struct tr_record *r = daemon_reads();
	cr_expect_str_eq(r->request_model, "qwen-max");
	cr_expect_eq(REC_CODING_REQ(r->codings), REC_CODING_ZSTD);
	/* the stream asked for no usage: decided from the decoded request */
	cr_expect_eq(r->usage_status, REC_USAGE_NOT_REQUESTED, "%s", rec_usage_name(r->usage_status));
	cr_expect_eq(r->chunks, 1);
	free(rq.p);
}
