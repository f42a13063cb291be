/* test_conn_quiet.c - what the tracker writes and reads per exchange: a
 * head read whole that cannot be LLM traffic stays quiet (never recorded,
 * no record written, no clock read); every other exchange's record is the
 * same whether its head came whole or byte by byte; and a lazily read
 * clock (CONN_NOW_LAZY) is read only by the calls that need a time and
 * gives the same times as the caller's. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

/* A clock that counts its reads; the emit context too (collect first, so
 * collect_emit takes it as its own). */
struct clocked {
	struct collect out;
	uint64_t t;
	unsigned reads;
};

static uint64_t fake_clock(void *ctx)
{
	struct clocked *c = ctx;
	c->reads++;
	return c->t;
}

/* One call: at time t, given (lazy = 0) or read from the fake clock. */
static void feed_at(struct conn *c, const struct conn_config *cfg, struct clocked *k, int lazy,
		    enum conn_dir dir, const char *s, uint64_t t)
{
	size_t n = strlen(s);
	k->t = t;
	conn_feed(c, cfg, dir, guard_copy(s, n), n, lazy ? CONN_NOW_LAZY : t, collect_emit, k);
}

/* The record fields made from the clocks of the call, which two runs
 * cannot share: the real-time start and what is derived from it. */
static void strip_start(struct tr_record *r)
{
	r->start_ns = 0;
	if (r->flags & REC_F_REQUEST_ID_GENERATED)
		memset(r->request_id, 0, sizeof r->request_id);
}

static void expect_same_record(struct tr_record a, struct tr_record b, const char *what)
{
	strip_start(&a);
	strip_start(&b);
	cr_expect(memcmp(&a, &b, sizeof a) == 0, "%s: records differ (path %s / %s, flags %#x / %#x)",
		  what, a.path, b.path, a.flags, b.flags);
}

/* Each request with its answer, fed whole (one call each way) and byte by
 * byte (every head read line by line): the same records, byte for byte. */
static void whole_and_bytewise(const struct conn_config *cfg, const char *rq, size_t rqlen,
			       const char *rs, unsigned want)
{
	struct collect out[2];
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct conn c;
		memset(&out[bytewise], 0, sizeof out[bytewise]);
		conn_init(&c, CONN_ROLE_CLIENT);
		feed_pieces(&c, cfg, CONN_DIR_OUT, rq, rqlen, 0, (size_t)bytewise, 10,
			    &out[bytewise]);
		feed_pieces(&c, cfg, CONN_DIR_IN, rs, strlen(rs), 0, (size_t)bytewise, 30,
			    &out[bytewise]);
		conn_close(&c, cfg, 50, collect_emit, &out[bytewise]);
	}
	cr_assert_eq(out[0].n, want, "whole: %u records for %.40s", out[0].n, rq);
	cr_assert_eq(out[1].n, want, "byte by byte: %u records for %.40s", out[1].n, rq);
	for (unsigned i = 0; i < want; i++)
		expect_same_record(out[0].rec[i], out[1].rec[i], rq);
}

#define S(x) x, sizeof(x) - 1
static const char ok_json[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			      "Content-Length: 15\r\n\r\n{\"status\":\"ok\"}";

Test(conn_quiet, a_quiet_get_is_never_recorded_not_even_cut_short)
{
	struct conn_config cfg = {0};
	struct conn c;
	struct collect out = {0};
	conn_init(&c, CONN_ROLE_CLIENT);
	feed_pieces(&c, &cfg, CONN_DIR_OUT, S("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"), 0, 0, 1,
		    &out);
	conn_close(&c, &cfg, 2, collect_emit, &out);
	cr_expect_eq(out.n, 0, "a GET /healthz is framed and counted, never recorded");

	struct conn_config all = {.http_all = 1};
	conn_init(&c, CONN_ROLE_CLIENT);
	feed_pieces(&c, &all, CONN_DIR_OUT, S("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"), 0, 0, 1,
		    &out);
	conn_close(&c, &all, 2, collect_emit, &out);
	cr_assert_eq(out.n, 1, "TOKENRING_HTTP=all records it");
	cr_expect_str_eq(out.rec[0].method, "GET");
	cr_expect_str_eq(out.rec[0].path, "/healthz");
	cr_expect_str_eq(out.rec[0].authority, "h");
	cr_expect_eq(out.rec[0].flags & (REC_F_CONN_CLOSED | REC_F_NO_RESPONSE),
		     REC_F_CONN_CLOSED | REC_F_NO_RESPONSE);
}

/* After quiet exchanges in the same slots, a recorded one starts clean: a
 * quiet exchange does not clear its record, a kept one clears all of it. */
Test(conn_quiet, quiet_exchanges_leave_nothing_in_the_next_record)
{
	struct conn_config cfg = {0};
	struct conn c;
	struct collect out = {0};
	static const char chat[] =
		"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		"User-Agent: u\r\nx-request-id: r1\r\nContent-Length: 2\r\n\r\n{}";
	static const char answer[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
	conn_init(&c, CONN_ROLE_CLIENT);
	for (int i = 0; i < 6; i++) { /* every slot of the exchange ring, twice */
		feed_pieces(&c, &cfg, CONN_DIR_OUT,
			    S("GET /a/very/long/path/of/a/probe/that/is/never/recorded HTTP/1.1\r\n"
			      "Host: a-long-host-name.example\r\nUser-Agent: kube-probe/1.31\r\n\r\n"),
			    0, 0, 1, &out);
		feed_pieces(&c, &cfg, CONN_DIR_IN, S(ok_json), 0, 0, 2, &out);
	}
	cr_expect_eq(out.n, 0);
	feed_pieces(&c, &cfg, CONN_DIR_OUT, S(chat), 0, 0, 10, &out);
	feed_pieces(&c, &cfg, CONN_DIR_IN, S(answer), 0, 0, 30, &out);
	cr_assert_eq(out.n, 1);

	struct conn fresh;
	struct collect ref = {0};
	conn_init(&fresh, CONN_ROLE_CLIENT);
	feed_pieces(&fresh, &cfg, CONN_DIR_OUT, S(chat), 0, 0, 10, &ref);
	feed_pieces(&fresh, &cfg, CONN_DIR_IN, S(answer), 0, 0, 30, &ref);
	cr_assert_eq(ref.n, 1);
	expect_same_record(out.rec[0], ref.rec[0], "after six quiet exchanges");
	cr_expect_eq(out.rec[0].req_bytes, sizeof chat - 1);
	cr_expect_eq(out.rec[0].duration_ns, 20);
	cr_expect_eq(out.rec[0].ttfb_ns, 20);
}

Test(conn_quiet, whole_heads_and_line_by_line_heads_make_the_same_records)
{
	struct conn_config cfg = {0};
	/* a candidate by its method */
	whole_and_bytewise(&cfg, S("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
				   "User-Agent: sdk\r\nContent-Length: 2\r\n\r\n{}"),
			   ok_json, 1);
	/* a GET by a known route, in absolute form (a forward proxy) */
	whole_and_bytewise(&cfg, S("GET http://api.openai.com:80/v1/chat/completions?x=1 HTTP/1.1\r\n"
				   "Host: proxy\r\nUser-Agent: sdk\r\n\r\n"),
			   ok_json, 1);
	/* (a GET made a candidate by an event-stream Accept: its entries at
	 * every split are tests/proto/test_mcp_sse.c's) */
	/* the path as the record keeps it ends at a NUL: a known route */
	whole_and_bytewise(&cfg, S("GET /v1/chat/completions\0/x HTTP/1.1\r\nHost: h\r\n\r\n"), ok_json,
			   1);
	/* ... and a known route after a NUL is not one */
	whole_and_bytewise(&cfg, S("GET /x\0/v1/chat/completions HTTP/1.1\r\nHost: h\r\n\r\n"), ok_json,
			   0);
	/* DashScope's native API is known by its prefix, whatever its end */
	whole_and_bytewise(&cfg, S("GET /api/v1/services/aigc/text-generation/generation HTTP/1.1\r\n"
				   "Host: dashscope.aliyuncs.com\r\n\r\n"),
			   ok_json, 1);
	/* ... a path ending like a route's but none is not */
	whole_and_bytewise(&cfg, S("GET /healthcheck?chat=completions HTTP/1.1\r\nHost: h\r\n\r\n"),
			   ok_json, 0);
	whole_and_bytewise(&cfg, S("GET /v1/chat/completions?q=/x HTTP/1.1\r\nHost: h\r\n\r\n"),
			   ok_json, 1);
	/* a Gemini path: the model and the stream are read from it */
	whole_and_bytewise(
		&cfg,
		S("GET /v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse HTTP/1.1\r\n"
		  "Host: generativelanguage.googleapis.com\r\n\r\n"),
		ok_json, 1);
	/* a path longer than the field, cut where a known route would end */
	char rq[512];
	int n = snprintf(rq, sizeof rq, "GET /%0*d/v1/chat/completions\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
			 127 - 1 - (int)strlen("/v1/chat/completions"), 0);
	whole_and_bytewise(&cfg, rq, (size_t)n, ok_json, 1);
	/* a configured prefix */
	struct conn_config pre = {.n_llm_paths = 1};
	snprintf(pre.llm_paths[0], sizeof pre.llm_paths[0], "/llm/");
	whole_and_bytewise(&pre, S("GET /llm/x HTTP/1.1\r\nHost: h\r\n\r\n"), ok_json, 1);
	whole_and_bytewise(&pre, S("GET /llm HTTP/1.1\r\nHost: h\r\n\r\n"), ok_json, 0);
	whole_and_bytewise(&pre, S("GET /ll\0m/x HTTP/1.1\r\nHost: h\r\n\r\n"), ok_json, 0);
}

/* A header the record keeps, repeated: the last one wins, and the field
 * holds exactly its bytes (the first write of a field is a bare copy). */
Test(conn_quiet, a_repeated_header_rewrites_its_whole_field)
{
	struct conn_config cfg = {.http_all = 1};
	snprintf(cfg.label_headers[1], sizeof cfg.label_headers[1], "x-team");
	static const char rq[] = "GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: a-long-user-agent/1.0\r\n"
				 "X-Team: platform-infrastructure\r\nUser-Agent: ab\r\nX-Team: ml\r\n"
				 "x-request-id: long-request-id-0123456789\r\nx-request-id: r2\r\n\r\n";
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct conn c;
		struct collect out = {0};
		conn_init(&c, CONN_ROLE_CLIENT);
		feed_pieces(&c, &cfg, CONN_DIR_OUT, S(rq), 0, (size_t)bytewise, 1, &out);
		feed_pieces(&c, &cfg, CONN_DIR_IN, S(ok_json), 0, 0, 2, &out);
		cr_assert_eq(out.n, 1);
		char ua[REC_USER_AGENT_LEN] = "ab", team[REC_LABEL_LEN] = "ml";
		char id[REC_REQUEST_ID_LEN] = "r2";
		cr_expect(memcmp(out.rec[0].user_agent, ua, sizeof ua) == 0, "user agent %s",
			  out.rec[0].user_agent);
		cr_expect(memcmp(out.rec[0].labels[1], team, sizeof team) == 0, "label %s",
			  out.rec[0].labels[1]);
		cr_expect(memcmp(out.rec[0].request_id, id, sizeof id) == 0, "request id %s",
			  out.rec[0].request_id);
	}
}

#define CHAT_HEAD                                                                      \
	"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nx-request-id: r\r\n" \
	"Content-Length: 50\r\n\r\n"
#define CHAT_BODY "{\"model\":\"m\",\"stream\":true,\"messages\":[],\"x\":null}"
#define SSE_HEAD                                                                       \
	"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
#define SSE_EVENT "3e\r\ndata: {\"model\":\"m-1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n\r\n"
#define SSE_DONE "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"

/* The SDK's way: head and body sent apart, the answer streamed in pieces.
 * Run once with the caller's times, once with the clock read lazily at
 * the same times: the same record, and the clock read only by the calls
 * that need it (the body's call needs none). */
Test(conn_quiet, a_lazy_clock_gives_the_same_times_and_is_read_only_when_needed)
{
	struct conn_config cfg = {.clock = fake_clock};
	struct clocked k[2];
	for (int lazy = 0; lazy < 2; lazy++) {
		struct conn c;
		memset(&k[lazy], 0, sizeof k[lazy]);
		conn_init(&c, CONN_ROLE_CLIENT);
		feed_at(&c, &cfg, &k[lazy], lazy, CONN_DIR_OUT, CHAT_HEAD, 100);
		cr_expect_eq(k[lazy].reads, (unsigned)lazy, "the request's first byte");
		feed_at(&c, &cfg, &k[lazy], lazy, CONN_DIR_OUT, CHAT_BODY, 150);
		cr_expect_eq(k[lazy].reads, (unsigned)lazy, "a request body needs no time");
		feed_at(&c, &cfg, &k[lazy], lazy, CONN_DIR_IN, SSE_HEAD, 300);
		feed_at(&c, &cfg, &k[lazy], lazy, CONN_DIR_IN, SSE_EVENT, 350);
		feed_at(&c, &cfg, &k[lazy], lazy, CONN_DIR_IN, SSE_DONE, 500);
		cr_expect_eq(k[lazy].reads, 4u * (unsigned)lazy, "once per call that needs it");
	}
	cr_assert_eq(k[0].out.n, 1);
	cr_assert_eq(k[1].out.n, 1);
	expect_same_record(k[0].out.rec[0], k[1].out.rec[0], "lazy clock");
	const struct tr_record *r = &k[1].out.rec[0];
	cr_expect_eq(r->ttfb_ns, 200, "first response byte at 300");
	cr_expect_eq(r->ttft_ns, 250, "first content event at 350");
	cr_expect_eq(r->duration_ns, 400, "last response byte at 500");
	cr_expect_eq(r->chunks, 1);
	cr_expect_str_eq(r->request_id, "r");
}

/* A call that needs a time reads the clock once, however many exchanges
 * it begins and ends (pipelined requests, their answers in one read); a
 * quiet exchange needs none at all. */
Test(conn_quiet, the_clock_is_read_once_per_call_and_never_for_a_quiet_exchange)
{
	struct conn_config cfg = {.clock = fake_clock};
	struct clocked k = {0};
	struct conn c;
	conn_init(&c, CONN_ROLE_CLIENT);
	feed_at(&c, &cfg, &k, 1, CONN_DIR_OUT, "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n", 10);
	feed_at(&c, &cfg, &k, 1, CONN_DIR_IN, ok_json, 20);
	cr_expect_eq(k.reads, 0, "a quiet exchange reads no clock");
	cr_expect_eq(k.out.n, 0);

	feed_at(&c, &cfg, &k, 1, CONN_DIR_OUT,
		CHAT_HEAD CHAT_BODY "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n" CHAT_HEAD CHAT_BODY, 30);
	cr_expect_eq(k.reads, 1);
	feed_at(&c, &cfg, &k, 1, CONN_DIR_IN,
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		70);
	cr_expect_eq(k.reads, 2);
	cr_assert_eq(k.out.n, 2, "the two chat requests, not the GET between them");
	for (unsigned i = 0; i < 2; i++) {
		cr_expect_eq(k.out.rec[i].ttfb_ns, 40);
		cr_expect_eq(k.out.rec[i].duration_ns, 40);
	}
}

/* Without a clock, a lazy call's time is 0, as the caller's 0 always was. */
Test(conn_quiet, no_clock_means_time_zero)
{
	struct conn_config cfg = {0};
	struct clocked k = {0};
	struct conn c;
	conn_init(&c, CONN_ROLE_CLIENT);
	feed_at(&c, &cfg, &k, 1, CONN_DIR_OUT, CHAT_HEAD CHAT_BODY, 5);
	feed_at(&c, &cfg, &k, 1, CONN_DIR_IN, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 9);
	cr_assert_eq(k.out.n, 1);
	cr_expect_eq(k.out.rec[0].ttfb_ns, 1, "0 means not seen: a same-time byte is 1");
	cr_expect_eq(k.out.rec[0].duration_ns, 0);
	cr_expect_eq(k.reads, 0);
}

/* Heads that end their messages (http_fold): a body-less request, and an
 * answer to HEAD whatever its Content-Length, told to the response framer
 * before its first byte even when the HEAD is pipelined behind answers
 * still to come. Whole and byte by byte, the same records. */
Test(conn_quiet, answers_to_head_end_with_their_heads_when_pipelined)
{
	struct conn_config all = {.http_all = 1};
	static const char rq[] = "HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n"
				 "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
				 "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n"
				 "GET /d HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char rs[] = "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"
				 "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
				 "HTTP/1.1 100 Continue\r\n\r\n"
				 "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
				 "HTTP/1.1 204 No Content\r\n\r\n";
	whole_and_bytewise(&all, S(rq), rs, 4);

	struct conn c;
	struct collect out = {0};
	conn_init(&c, CONN_ROLE_CLIENT);
	feed_pieces(&c, &all, CONN_DIR_OUT, S(rq), 0, 0, 1, &out);
	feed_pieces(&c, &all, CONN_DIR_IN, S(rs), 0, 0, 2, &out);
	cr_assert_eq(out.n, 4);
	static const char *paths[] = {"/a", "/b", "/c", "/d"};
	static const unsigned status[] = {200, 200, 200, 204};
	for (unsigned i = 0; i < 4; i++) {
		cr_expect_str_eq(out.rec[i].path, paths[i]);
		cr_expect_eq(out.rec[i].status, status[i], "%s", paths[i]);
		cr_expect_eq(out.rec[i].flags & (REC_F_PARSE_ERROR | REC_F_CONN_CLOSED), 0);
	}
	cr_expect_eq(out.rec[1].resp_bytes, strlen("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"));
	cr_expect_eq(out.rec[2].resp_bytes,
		     strlen("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"));

	/* a HEAD sent while a GET's answer is half read: the GET's body is
	 * still read by its length, the HEAD's answer has none */
	conn_init(&c, CONN_ROLE_CLIENT);
	memset(&out, 0, sizeof out);
	feed_pieces(&c, &all, CONN_DIR_OUT, S("GET /e HTTP/1.1\r\nHost: h\r\n\r\n"), 0, 0, 1, &out);
	feed_pieces(&c, &all, CONN_DIR_IN, S("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"), 0, 0, 2,
		    &out);
	feed_pieces(&c, &all, CONN_DIR_OUT, S("HEAD /f HTTP/1.1\r\nHost: h\r\n\r\n"), 0, 0, 3, &out);
	feed_pieces(&c, &all, CONN_DIR_IN, S("cd" "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"), 0, 0,
		    4, &out);
	cr_assert_eq(out.n, 2);
	cr_expect_str_eq(out.rec[1].path, "/f");
	cr_expect_eq(out.rec[1].resp_bytes, strlen("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"));
	cr_expect_eq(out.rec[1].flags & (REC_F_PARSE_ERROR | REC_F_CONN_CLOSED), 0);
}
