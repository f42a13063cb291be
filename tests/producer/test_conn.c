/* test_conn.c - the exchange tracker's HTTP/1.1 behaviours: keep-alive,
 * pipelining, 100 Continue, body-less responses, close-delimited bodies,
 * early responses, closes mid-exchange, roles, ids and labels. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static struct conn_config cfg_all = {.http_all = 1};

struct tracker {
	struct conn c;
	struct collect out;
};

static void setup(struct tracker *t, enum conn_role role)
{
	memset(&t->out, 0, sizeof t->out);
	conn_init(&t->c, role);
}

static void out_(struct tracker *t, const char *s, uint64_t now)
{
	feed_pieces(&t->c, &cfg_all, CONN_DIR_OUT, s, strlen(s), 0, 0, now, &t->out);
}

static void in_(struct tracker *t, const char *s, uint64_t now)
{
	feed_pieces(&t->c, &cfg_all, CONN_DIR_IN, s, strlen(s), 0, 0, now, &t->out);
}

#define GET(p) "GET " p " HTTP/1.1\r\nHost: h\r\nx-request-id: id-" p "\r\n\r\n"
#define OK(body) "HTTP/1.1 200 OK\r\nContent-Length: " #body "\r\n\r\n"

Test(conn, keep_alive_exchanges_come_out_one_by_one)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, GET("/a"), 10);
	in_(&t, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 20);
	cr_assert_eq(t.out.n, 1);
	out_(&t, GET("/b"), 30);
	in_(&t, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 45);
	cr_assert_eq(t.out.n, 2);
	cr_expect_str_eq(t.out.rec[0].path, "/a");
	cr_expect_eq(t.out.rec[0].status, 200);
	cr_expect_eq(t.out.rec[0].resp_bytes, 41);
	cr_expect_str_eq(t.out.rec[1].path, "/b");
	cr_expect_str_eq(t.out.rec[1].request_id, "id-/b");
	cr_expect_eq(t.out.rec[1].status, 404);
	cr_expect_eq(t.out.rec[1].duration_ns, 15);
	cr_expect_eq(t.out.rec[1].flags, 0);
	cr_expect_eq(t.out.rec[1].usage_status, REC_USAGE_NONE);
}

Test(conn, pipelined_requests_pair_fifo)
{
	struct tracker t;
	setup(&t, CONN_ROLE_CLIENT);
	out_(&t, GET("/1") GET("/2") GET("/3"), 100);
	in_(&t, OK(1) "x" "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nyy", 200);
	cr_assert_eq(t.out.n, 2);
	in_(&t, "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n", 300);
	cr_assert_eq(t.out.n, 3);
	const char *paths[] = {"/1", "/2", "/3"};
	const unsigned codes[] = {200, 201, 202};
	for (int i = 0; i < 3; i++) {
		cr_expect_str_eq(t.out.rec[i].path, paths[i]);
		cr_expect_eq(t.out.rec[i].status, codes[i]);
		cr_expect_eq(t.out.rec[i].req_bytes, strlen(GET("/1")));
	}
	cr_expect_eq(t.out.rec[2].duration_ns, 200);
}

Test(conn, pipelining_deeper_than_tracked_is_a_parse_error)
{
	struct tracker t;
	setup(&t, CONN_ROLE_CLIENT);
	out_(&t, GET("/1") GET("/2") GET("/3") GET("/4") GET("/5"), 1);
	in_(&t, OK(0), 2);
	cr_expect_eq(t.out.n, 0);
	conn_close(&t.c, &cfg_all, 3, collect_emit, &t.out);
	cr_assert_eq(t.out.n, 4);
	for (int i = 0; i < 4; i++)
		cr_expect(t.out.rec[i].flags & REC_F_PARSE_ERROR);
	cr_expect_eq(t.out.rec[0].resp_bytes, strlen(OK(0)));
}

Test(conn, continue_100_is_interim)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
		 "Content-Length: 2\r\n\r\n", 10);
	in_(&t, "HTTP/1.1 100 Continue\r\n\r\n", 20);
	cr_assert_eq(t.out.n, 0);
	out_(&t, "{}", 30);
	in_(&t, OK(2) "{}", 50);
	cr_assert_eq(t.out.n, 1);
	cr_expect_eq(t.out.rec[0].status, 200);
	cr_expect_eq(t.out.rec[0].ttfb_ns, 40, "ttfb is the final response's");
	cr_expect_eq(t.out.rec[0].resp_bytes, strlen("HTTP/1.1 100 Continue\r\n\r\n" OK(2) "{}"));
	cr_expect_eq(t.out.rec[0].usage_status, REC_USAGE_MISSING);
	cr_expect(t.out.rec[0].flags & REC_F_LLM);
}

Test(conn, head_204_304_have_no_body)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n", 1);
	in_(&t, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", 2);
	cr_assert_eq(t.out.n, 1);
	out_(&t, GET("/y"), 3);
	in_(&t, "HTTP/1.1 204 No Content\r\n\r\n", 4);
	cr_assert_eq(t.out.n, 2);
	out_(&t, GET("/z"), 5);
	in_(&t, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 6);
	cr_assert_eq(t.out.n, 3);
	cr_expect_eq(t.out.rec[2].status, 304);
	cr_expect_str_eq(t.out.rec[0].method, "HEAD");
}

Test(conn, close_delimited_response_ends_at_close)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, GET("/old"), 1);
	in_(&t, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"usage\":{\"prompt_tokens\":4", 2);
	in_(&t, ",\"completion_tokens\":5}}", 3);
	cr_assert_eq(t.out.n, 0);
	conn_close(&t.c, &cfg_all, 9, collect_emit, &t.out);
	cr_assert_eq(t.out.n, 1);
	cr_expect_eq(t.out.rec[0].flags, REC_F_LLM);
	cr_expect_eq(t.out.rec[0].usage_status, REC_USAGE_AVAILABLE);
	cr_expect_eq(t.out.rec[0].prompt_tokens, 4);
	cr_expect_eq(t.out.rec[0].completion_tokens, 5);
	cr_expect_eq(t.out.rec[0].duration_ns, 8);
}

Test(conn, early_response_before_request_body_ends)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\nabc", 1);
	in_(&t, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 2);
	cr_assert_eq(t.out.n, 0, "waits for the request to end");
	conn_close(&t.c, &cfg_all, 3, collect_emit, &t.out);
	cr_assert_eq(t.out.n, 1);
	cr_expect_eq(t.out.rec[0].status, 413);
	cr_expect_eq(t.out.rec[0].flags & (REC_F_CONN_CLOSED | REC_F_PARSE_ERROR), 0);
	cr_expect_eq(t.out.rec[0].duration_ns, 1, "ends at the response's last byte");
}

Test(conn, close_mid_stream_is_interrupted)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\nContent-Length: 51\r\n\r\n"
		 "{\"model\":\"m\",\"stream\":true,\"messages\":[],\"x\":null}", 1);
	in_(&t, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5d\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}}\n\n\r\n", 5);
	conn_close(&t.c, &cfg_all, 9, collect_emit, &t.out);
	cr_assert_eq(t.out.n, 1);
	const struct tr_record *r = &t.out.rec[0];
	cr_expect_eq(r->flags, REC_F_LLM | REC_F_STREAM | REC_F_CONN_CLOSED | REC_F_REQUEST_ID_GENERATED);
	cr_expect_eq(r->usage_status, REC_USAGE_INTERRUPTED);
	cr_expect_eq(r->prompt_tokens, 0, "tokens only when usage is available");
	cr_expect_eq(r->chunks, 1);
	cr_expect_eq(r->ttft_ns, 4);
	cr_expect_str_eq(r->request_model, "m");
}

/* A streamed chat request, and a gateway's answer to it: a stream served as
 * application/json, read as one because it opens with "data:"
 * (llm_resp_body). */
#define STREAM_REQ                                                                   \
	"POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\nContent-Length: 50\r\n\r\n" \
	"{\"model\":\"m\",\"stream\":true,\"messages\":[],\"x\":null}"
#define SNIFFED_SSE                                                                      \
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 62\r\n\r\n" \
	"data: {\"model\":\"m-1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"

/* It is a stream even with a single event: its chunk, time to first token
 * and "not requested" usage are kept as for any stream. */
Test(conn, sniffed_single_event_stream_is_a_stream)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, STREAM_REQ, 1);
	in_(&t, SNIFFED_SSE, 5);
	cr_assert_eq(t.out.n, 1);
	const struct tr_record *r = &t.out.rec[0];
	cr_expect_eq(r->flags, REC_F_LLM | REC_F_STREAM | REC_F_REQUEST_ID_GENERATED);
	cr_expect_eq(r->usage_status, REC_USAGE_NOT_REQUESTED, "a stream without include_usage");
	cr_expect_eq(r->chunks, 1);
	cr_expect_eq(r->ttft_ns, 4);
	cr_expect_str_eq(r->response_model, "m-1");
}

/* A response cut in its headers read nothing: the previous answer's
 * extractor state (a stream, its chunk) is not taken for it. */
Test(conn, response_cut_in_its_headers_inherits_nothing)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, STREAM_REQ, 1);
	in_(&t, SNIFFED_SSE, 5);
	out_(&t, STREAM_REQ, 6);
	in_(&t, "HTTP/1.1 200 OK\r\nContent-Ty", 7);
	conn_close(&t.c, &cfg_all, 9, collect_emit, &t.out);
	cr_assert_eq(t.out.n, 2);
	const struct tr_record *r = &t.out.rec[1];
	cr_expect_eq(r->flags, REC_F_LLM | REC_F_CONN_CLOSED | REC_F_REQUEST_ID_GENERATED);
	cr_expect_eq(r->usage_status, REC_USAGE_INTERRUPTED);
	cr_expect_eq(r->chunks, 0);
	cr_expect_eq(r->ttft_ns, 0);
	cr_expect_str_eq(r->response_model, "");
}

Test(conn, close_before_any_response_byte)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "POST /api/chat HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}", 1);
	conn_close(&t.c, &cfg_all, 7, collect_emit, &t.out);
	cr_assert_eq(t.out.n, 1);
	cr_expect_eq(t.out.rec[0].flags, REC_F_LLM | REC_F_CONN_CLOSED | REC_F_NO_RESPONSE |
						 REC_F_REQUEST_ID_GENERATED);
	cr_expect_eq(t.out.rec[0].status, 0);
	cr_expect_eq(t.out.rec[0].usage_status, REC_USAGE_INTERRUPTED);
	cr_expect_eq(t.out.rec[0].provider, REC_PROVIDER_OLLAMA);
	cr_expect_eq(t.out.rec[0].duration_ns, 6);
	cr_expect_eq(conn_role_of(&t.c), CONN_ROLE_AUTO, "close resets");
}

Test(conn, auto_role_server_when_request_is_received)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	in_(&t, GET("/s"), 1);
	cr_expect_eq(conn_role_of(&t.c), CONN_ROLE_SERVER);
	out_(&t, OK(0), 2);
	cr_assert_eq(t.out.n, 1);
	cr_expect_eq(t.out.rec[0].reporter, REC_REPORTER_DESTINATION);
}

Test(conn, not_http_is_not_tracked)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	cr_expect(conn_tracking(&t.c));
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	feed_pieces(&t.c, &cfg_all, CONN_DIR_OUT, tls, sizeof tls - 1, 0, 0, 1, &t.out);
	cr_expect_not(conn_tracking(&t.c));
	out_(&t, GET("/late"), 2);
	in_(&t, OK(0), 3);
	conn_close(&t.c, &cfg_all, 4, collect_emit, &t.out);
	cr_expect_eq(t.out.n, 0);
	setup(&t, CONN_ROLE_CLIENT); /* a server that speaks first (SMTP, MySQL) */
	in_(&t, "220 mail ESMTP\r\n", 1);
	cr_expect_not(conn_tracking(&t.c));
}

Test(conn, upgrade_101_stops_tracking)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 1);
	in_(&t, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", 2);
	cr_assert_eq(t.out.n, 1);
	cr_expect_eq(t.out.rec[0].status, 101);
	cr_expect_not(conn_tracking(&t.c));
}

Test(conn, non_llm_not_emitted_by_default)
{
	struct conn c;
	struct collect out = {0};
	struct conn_config cfg = {0};
	conn_init(&c, CONN_ROLE_AUTO);
	const char *rq = GET("/index.html");
	const char *rs = OK(0);
	conn_feed(&c, &cfg, CONN_DIR_OUT, rq, strlen(rq), 1, collect_emit, &out);
	conn_feed(&c, &cfg, CONN_DIR_IN, rs, strlen(rs), 2, collect_emit, &out);
	cr_expect_eq(out.n, 0);
	snprintf(cfg.llm_paths[0], sizeof cfg.llm_paths[0], "/index");
	cfg.n_llm_paths = 1;
	conn_feed(&c, &cfg, CONN_DIR_OUT, rq, strlen(rq), 3, collect_emit, &out);
	conn_feed(&c, &cfg, CONN_DIR_IN, rs, strlen(rs), 4, collect_emit, &out);
	cr_assert_eq(out.n, 1, "a configured prefix makes it LLM");
	cr_expect_eq(out.rec[0].flags & REC_F_LLM, REC_F_LLM);
	cr_expect_eq(out.rec[0].usage_status, REC_USAGE_MISSING);
}

/* The rule of conn_may_llm (producer/conn_hdr.c): a GET whose answer
 * carries usage retrieves a stored result (GET /v1/responses/{id}), whose
 * tokens were counted when they were spent; it is recorded only on a
 * configured prefix or with TOKENRING_HTTP=all. */
static unsigned get_with_usage(struct conn_config *cfg, struct tr_record *got)
{
	struct conn c;
	struct collect out = {0};
	const char *rq = "GET /v1/responses/resp_67ccd2bed1ec8190 HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
	const char *rs = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 85\r\n\r\n"
			 "{\"object\":\"response\",\"model\":\"gpt-4o\",\"usage\":{\"input_tokens\":36,\"output_tokens\":87}}";
	conn_init(&c, CONN_ROLE_AUTO);
	feed_pieces(&c, cfg, CONN_DIR_OUT, rq, strlen(rq), 0, 0, 1, &out);
	feed_pieces(&c, cfg, CONN_DIR_IN, rs, strlen(rs), 0, 0, 2, &out);
	if (out.n)
		*got = out.rec[0];
	return out.n;
}

Test(conn, get_answered_with_usage_is_recorded_only_where_configured)
{
	struct conn_config cfg = {0};
	struct tr_record r;
	cr_expect_eq(get_with_usage(&cfg, &r), 0, "a GET on an unknown path: framed, not read");

	snprintf(cfg.llm_paths[0], sizeof cfg.llm_paths[0], "/v1/responses/");
	cfg.n_llm_paths = 1;
	cr_assert_eq(get_with_usage(&cfg, &r), 1, "TOKENRING_LLM_PATHS records it");
	cr_expect_eq(r.usage_status, REC_USAGE_AVAILABLE);
	cr_expect_eq(r.prompt_tokens, 36);
	cr_expect_eq(r.completion_tokens, 87);

	struct conn_config all = {.http_all = 1};
	cr_assert_eq(get_with_usage(&all, &r), 1, "TOKENRING_HTTP=all records it");
	cr_expect_eq(r.flags & REC_F_LLM, REC_F_LLM, "its answer's usage makes it LLM");
	cr_expect_eq(r.usage_status, REC_USAGE_AVAILABLE);
	cr_expect_eq(r.prompt_tokens, 36);
	cr_expect_eq(r.completion_tokens, 87);
	cr_expect_str_eq(r.response_model, "gpt-4o");
}

Test(conn, generated_request_ids_are_uuid_shaped_and_distinct)
{
	struct tracker t;
	char seen[3][REC_REQUEST_ID_LEN];
	setup(&t, CONN_ROLE_AUTO);
	for (int i = 0; i < 3; i++) {
		out_(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1);
		in_(&t, OK(0), 2);
	}
	cr_assert_eq(t.out.n, 3);
	for (int i = 0; i < 3; i++) {
		const char *id = t.out.rec[i].request_id;
		cr_expect_eq(strlen(id), 36);
		cr_expect(id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-');
		cr_expect_eq(id[14], '4');
		cr_expect(strchr("89ab", id[19]) != NULL);
		for (int j = 0; j < 36; j++)
			cr_expect(j == 8 || j == 13 || j == 18 || j == 23 ||
					  (id[j] && strchr("0123456789abcdef", id[j]) != NULL),
				  "hex digit at %d: %s", j, id);
		cr_expect(t.out.rec[i].flags & REC_F_REQUEST_ID_GENERATED);
		memcpy(seen[i], id, sizeof seen[i]);
	}
	cr_expect_str_neq(seen[0], seen[1]);
	cr_expect_str_neq(seen[1], seen[2]);
}

Test(conn, traceparent_and_labels)
{
	struct conn c;
	struct collect out = {0};
	struct conn_config cfg = {.http_all = 1};
	snprintf(cfg.label_headers[1], sizeof cfg.label_headers[1], "X-Tenant-Id");
	conn_init(&c, CONN_ROLE_AUTO);
	const char *rq = "GET / HTTP/1.1\r\nTRACEPARENT: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
			 "x-tenant-id: acme-corporation-with-a-very-long-name\r\n\r\n";
	conn_feed(&c, &cfg, CONN_DIR_OUT, rq, strlen(rq), 1, collect_emit, &out);
	conn_feed(&c, &cfg, CONN_DIR_IN, OK(0), strlen(OK(0)), 2, collect_emit, &out);
	cr_assert_eq(out.n, 1);
	static const uint8_t want[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
					 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
	cr_expect_arr_eq(out.rec[0].trace_id, want, 16);
	cr_expect(out.rec[0].flags & REC_F_HAS_TRACE);
	cr_expect_str_eq(out.rec[0].labels[1], "acme-corporation-with-a-very-lo");
	cr_expect(out.rec[0].flags & REC_F_TRUNC_LABEL1);
	cr_expect_str_eq(out.rec[0].labels[0], "");
}

Test(conn, bad_traceparent_is_ignored)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "GET / HTTP/1.1\r\ntraceparent: 00-00000000000000000000000000000000-b7ad6b7169203331-01\r\n\r\n", 1);
	in_(&t, OK(0), 2);
	out_(&t, "GET / HTTP/1.1\r\ntraceparent: 00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01\r\n\r\n", 3);
	in_(&t, OK(0), 4);
	cr_assert_eq(t.out.n, 2);
	for (int i = 0; i < 2; i++)
		cr_expect_eq(t.out.rec[i].flags & REC_F_HAS_TRACE, 0);
}

Test(conn, long_path_and_model_are_truncated_and_flagged)
{
	struct tracker t;
	char rq[1200], path[400];
	memset(path, 'p', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = 0;
	char model[100];
	memset(model, 'm', sizeof model - 1);
	model[sizeof model - 1] = 0;
	char body[200];
	snprintf(body, sizeof body, "{\"model\":\"%s\"}", model);
	snprintf(rq, sizeof rq, "POST %s HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s", path, strlen(body), body);
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, rq, 1);
	in_(&t, OK(0), 2);
	cr_assert_eq(t.out.n, 1);
	cr_expect_eq(strlen(t.out.rec[0].path), REC_PATH_LEN - 1);
	cr_expect_eq(strlen(t.out.rec[0].request_model), REC_MODEL_LEN - 1);
	cr_expect_eq(t.out.rec[0].flags & (REC_F_TRUNC_PATH | REC_F_TRUNC_REQUEST_MODEL | REC_F_PARSE_ERROR),
		     REC_F_TRUNC_PATH | REC_F_TRUNC_REQUEST_MODEL);
	cr_expect_eq(t.out.rec[0].req_bytes, strlen(rq));
}

Test(conn, absolute_form_target_through_a_proxy)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "POST http://api.openai.com/v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		 "Content-Length: 2\r\n\r\n{}", 1);
	in_(&t, OK(0), 2);
	out_(&t, "GET http://example.com HTTP/1.1\r\n\r\n", 3);
	in_(&t, OK(0), 4);
	cr_assert_eq(t.out.n, 2);
	cr_expect_str_eq(t.out.rec[0].path, "/v1/chat/completions");
	cr_expect_str_eq(t.out.rec[0].authority, "api.openai.com");
	cr_expect_eq(t.out.rec[0].provider, REC_PROVIDER_OPENAI);
	cr_expect_eq(t.out.rec[0].operation, REC_OP_CHAT);
	cr_expect_str_eq(t.out.rec[1].path, "/");
	cr_expect_str_eq(t.out.rec[1].authority, "example.com");
}

Test(conn, connect_tunnel_stops_tracking)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n", 1);
	in_(&t, "HTTP/1.1 200 Connection established\r\n\r\n", 2);
	cr_assert_eq(t.out.n, 1);
	cr_expect_eq(t.out.rec[0].status, 200);
	cr_expect_eq(t.out.rec[0].flags & REC_F_PARSE_ERROR, 0);
	cr_expect_not(conn_tracking(&t.c));
	static const char hello[] = "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03";
	feed_pieces(&t.c, &cfg_all, CONN_DIR_OUT, hello, sizeof hello - 1, 0, 0, 3, &t.out);
	conn_close(&t.c, &cfg_all, 4, collect_emit, &t.out);
	cr_expect_eq(t.out.n, 1, "tunnelled TLS makes no record");
}

Test(conn, attached_mid_exchange_a_response_first_is_not_tracked)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	in_(&t, OK(2) "{}", 1);
	cr_expect_not(conn_tracking(&t.c));
	out_(&t, GET("/next"), 2);
	conn_close(&t.c, &cfg_all, 3, collect_emit, &t.out);
	cr_expect_eq(t.out.n, 0, "no parse-error record for a stream we joined late");
}

Test(conn, ttft_is_when_the_first_content_event_ends)
{
	struct tracker t;
	setup(&t, CONN_ROLE_AUTO);
	out_(&t, "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 100);
	in_(&t, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
		"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n", 150);
	in_(&t, "data: {\"choices\":[{\"delta\":{\"con", 170);
	in_(&t, "tent\":\"Hel", 180);
	in_(&t, "lo\"}}]}\n", 190);
	in_(&t, "\n", 195);
	in_(&t, "data: {\"choices\":[{\"delta\":{\"content\":\"!\"}}]}\n\n", 260);
	conn_feed(&t.c, &cfg_all, CONN_DIR_IN, "x", 0, 999, collect_emit, &t.out); /* len 0: no-op */
	conn_close(&t.c, &cfg_all, 300, collect_emit, &t.out);
	cr_assert_eq(t.out.n, 1);
	const struct tr_record *r = &t.out.rec[0];
	cr_expect_eq(r->ttfb_ns, 50);
	cr_expect_eq(r->ttft_ns, 90, "the event's closing brace came at 190");
	cr_expect_eq(r->chunks, 2);
	cr_expect_eq(r->duration_ns, 200, "close-delimited: ends at close");
	cr_expect_eq(r->usage_status, REC_USAGE_MISSING);
	cr_expect_eq(r->flags, REC_F_LLM | REC_F_STREAM | REC_F_REQUEST_ID_GENERATED);
}
