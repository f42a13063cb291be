/* test_mcp_batch.c - JSON-RPC batches to an MCP server (proto/llm_mcp.h)
 * through the connection tracker: one record per call with its own
 * method, tool, outcome and latency, the wire's bytes once, calls past
 * LLM_MCP_CALLS counted as dropped; request and response split at every
 * byte, from both ends, answered as a JSON array or as SSE events. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "conn_collect.h"
#include "llm.h"
#include "record_mcp.h"

static char req_buf[8192], resp_buf[8192];

static size_t post(const char *body)
{
	return (size_t)snprintf(req_buf, sizeof req_buf,
				"POST /mcp HTTP/1.1\r\nHost: tools.example:3000\r\n"
				"content-type: application/json\r\n"
				"accept: application/json, text/event-stream\r\n"
				"mcp-protocol-version: 2025-03-26\r\nx-request-id: batch-1\r\n"
				"content-length: %zu\r\n\r\n%s",
				strlen(body), body);
}

static size_t answer_json(const char *body)
{
	return (size_t)snprintf(resp_buf, sizeof resp_buf,
				"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				"Content-Length: %zu\r\n\r\n%s",
				strlen(body), body);
}

/* Each event a chunk of its own. */
static size_t answer_sse(const char *const *events, unsigned n)
{
	size_t at = (size_t)snprintf(resp_buf, sizeof resp_buf,
				     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				     "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (unsigned i = 0; i < n; i++) {
		char ev[1024];
		int k = snprintf(ev, sizeof ev, "event: message\ndata: %s\n\n", events[i]);
		at += (size_t)snprintf(resp_buf + at, sizeof resp_buf - at, "%x\r\n%s\r\n", k, ev);
	}
	at += (size_t)snprintf(resp_buf + at, sizeof resp_buf - at, "0\r\n\r\n");
	return at;
}

static void feed(struct conn *c, enum conn_dir dir, const char *p, size_t n, size_t split,
		 uint64_t now, struct out *o)
{
	static const struct conn_config cfg;
	if (split && split < n) {
		conn_feed(c, &cfg, dir, p, split, now, emit, o);
		p += split;
		n -= split;
	}
	conn_feed(c, &cfg, dir, p, n, now, emit, o);
}

/* Request then response, each cut once; the records out. */
static void replay(enum conn_role role, size_t req_len, size_t resp_len, size_t req_split,
		   size_t resp_split, struct out *o)
{
	struct conn c;
	static const struct conn_config cfg;
	enum conn_dir req_dir = role == CONN_ROLE_SERVER ? CONN_DIR_IN : CONN_DIR_OUT;
	memset(o, 0, sizeof *o);
	conn_init(&c, role);
	feed(&c, req_dir, req_buf, req_len, req_split, 1000, o);
	cr_assert_eq(o->n, 0);
	feed(&c, !req_dir, resp_buf, resp_len, resp_split, 5000, o);
	conn_close(&c, &cfg, 9000, emit, o);
}

struct want {
	const char *method, *tool;
	uint32_t flags; /* besides LLM | MCP_BATCH */
	uint64_t id;    /* llm_mcp_id of its "id", 0 = none */
};

#define NUM(s) llm_mcp_id(JT_NUMBER, s, sizeof(s) - 1)
#define STR(s) llm_mcp_id(JT_STRING, s, sizeof(s) - 1)

static void check(const struct out *o, const struct want *w, unsigned n, uint32_t dropped,
		  uint64_t req_len, uint64_t resp_len, uint16_t status, const char *how)
{
	cr_assert_eq(o->n, n, "%s: %u records", how, o->n);
	for (unsigned i = 0; i < n; i++) {
		const struct tr_record *r = &o->rec[i];
		cr_expect(rec_is_mcp(r), "%s call %u", how, i);
		cr_expect_eq(r->operation, REC_OP_MCP);
		cr_expect_eq(r->status, status, "%s call %u status", how, i);
		cr_expect_str_eq(rec_mcp_method(r), w[i].method, "%s call %u", how, i);
		cr_expect_str_eq(rec_mcp_tool(r), w[i].tool, "%s call %u", how, i);
		cr_expect_str_eq(r->request_id, "batch-1");
		uint32_t mcp = REC_F_MCP_RPC_ERROR | REC_F_MCP_TOOL_ERROR | REC_F_MCP_BATCH |
			       REC_F_MCP_NOTIFICATION | REC_F_MCP_UNANSWERED | REC_F_MCP_UNPAIRED |
			       REC_F_TRUNC_ANY | REC_F_PARSE_ERROR;
		cr_expect_eq(r->flags & mcp, w[i].flags | REC_F_MCP_BATCH, "%s call %u flags %#x",
			     how, i, r->flags);
		cr_expect_eq(r->req_bytes, i ? 0 : req_len, "%s call %u req_bytes", how, i);
		cr_expect_eq(r->resp_bytes, i ? 0 : resp_len, "%s call %u resp_bytes", how, i);
		cr_expect_eq(rec_mcp_dropped(r), i ? 0 : dropped, "%s call %u dropped", how, i);
		cr_expect_eq(r->usage_status, REC_USAGE_NONE);
		cr_expect_eq(r->prompt_tokens | r->completion_tokens, 0);
		cr_expect_eq(rec_mcp_id(r), w[i].id, "%s call %u id", how, i);
	}
}

/* Every cut of the request, then every cut of the response, both roles. */
static void check_every_split(size_t req_len, size_t resp_len, const struct want *w, unsigned n,
			      uint32_t dropped, uint16_t status)
{
	struct out o;
	char how[64];
	for (int role = CONN_ROLE_CLIENT; role <= CONN_ROLE_SERVER; role++) {
		for (size_t s = 0; s < req_len; s++) {
			snprintf(how, sizeof how, "role %d request cut %zu", role, s);
			replay((enum conn_role)role, req_len, resp_len, s, 0, &o);
			check(&o, w, n, dropped, req_len, resp_len, status, how);
		}
		for (size_t s = 0; s < resp_len; s++) {
			snprintf(how, sizeof how, "role %d response cut %zu", role, s);
			replay((enum conn_role)role, req_len, resp_len, 0, s, &o);
			check(&o, w, n, dropped, req_len, resp_len, status, how);
		}
	}
}

/* As the SDK's client sends it: key order method, params, jsonrpc, id. */
static const char batch4[] =
	"[{\"method\":\"tools/call\",\"params\":{\"name\":\"add\",\"arguments\":{\"a\":2,\"b\":3}},"
	"\"jsonrpc\":\"2.0\",\"id\":1},"
	"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":0}},"
	" {\"jsonrpc\":\"2.0\",\"id\":\"b-2\",\"method\":\"tools/call\","
	"\"params\":{\"name\":\"divide\",\"arguments\":{\"a\":1,\"b\":0}}},\n"
	"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{}}]";

#define WANT4                                                                      \
	{                                                                          \
		{"tools/call", "add", 0, NUM("1")},                                \
		{"notifications/cancelled", "", REC_F_MCP_NOTIFICATION, 0},        \
		{"tools/call", "divide", REC_F_MCP_TOOL_ERROR, STR("b-2")},        \
		{"tools/list", "", REC_F_MCP_RPC_ERROR, NUM("3")},                 \
	}

Test(mcp_batch, json_array_answer_in_another_order)
{
	size_t rq = post(batch4);
	size_t rs = answer_json(
		"[{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32601,\"message\":\"nein\"}},"
		"{\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"Division durch null\"}],"
		"\"isError\":true},\"jsonrpc\":\"2.0\",\"id\":\"b-2\"},"
		"{\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"5\"}]},\"jsonrpc\":\"2.0\","
		"\"id\":1}]");
	const struct want want4[] = WANT4;
	check_every_split(rq, rs, want4, 4, 0, 200);
}

/* An answer's id is kept unhashed until "jsonrpc" shows (llm_mcp.c): an id
 * before "jsonrpc", and one longer than the bytes kept, pair alike. */
#define LONG_ID "req-0123456789abcdef0123456789abcdef-long"
Test(mcp_batch, ids_before_jsonrpc_and_long_ids_pair)
{
	size_t rq = post("[{\"jsonrpc\":\"2.0\",\"id\":\"" LONG_ID "\",\"method\":\"tools/list\"},"
			 "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}]");
	size_t rs = answer_json("[{\"id\":7,\"result\":{\"tools\":[]},\"jsonrpc\":\"2.0\"},"
				"{\"id\":\"" LONG_ID "\",\"jsonrpc\":\"2.0\",\"error\":{\"code\":1}}]");
	const struct want w[] = {{"tools/list", "", REC_F_MCP_RPC_ERROR, STR(LONG_ID)},
				 {"tools/list", "", 0, NUM("7")}};
	check_every_split(rq, rs, w, 2, 0, 200);
}

Test(mcp_batch, sse_answers_each_with_its_own_latency)
{
	static const char *const ev[] = {
		"{\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"5\"}]},\"jsonrpc\":\"2.0\",\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32601,\"message\":\"nein\"}}",
		"{\"result\":{\"content\":[],\"isError\":true},\"jsonrpc\":\"2.0\",\"id\":\"b-2\"}",
	};
	size_t rq = post(batch4);
	size_t rs = answer_sse(ev, 3);
	const struct want want4[] = WANT4;
	check_every_split(rq, rs, want4, 4, 0, 200);

	/* Each event read at its own time: each call's latency is its own. */
	struct conn c;
	struct conn_config cfg;
	struct out o;
	open_with(&c, &cfg, &o, CONN_ROLE_CLIENT, req_buf, rq);
	const char *p = resp_buf;
	uint64_t now = 2000;
	for (const char *e; (e = strstr(p + 1, "\r\nevent:")) != NULL; p = e, now += 1000)
		conn_feed(&c, &cfg, CONN_DIR_IN, p, (size_t)(e - p), now, emit, &o);
	conn_feed(&c, &cfg, CONN_DIR_IN, p, rs - (size_t)(p - resp_buf), now, emit, &o);
	cr_assert_eq(o.n, 4);
	/* event k (1-based) ends in the piece fed at 2000 + 1000 k */
	cr_expect_eq(o.rec[0].duration_ns, 2000, "add answered first");
	cr_expect_eq(o.rec[2].duration_ns, 4000, "divide third");
	cr_expect_eq(o.rec[3].duration_ns, 3000, "tools/list second");
	cr_expect_eq(o.rec[1].duration_ns, now - 1000, "the notification: the exchange's");
}

Test(mcp_batch, calls_past_the_kept_ones_are_dropped_visibly)
{
	char body[4096], ans[4096];
	size_t b = 0, a = 0;
	unsigned calls = LLM_MCP_CALLS + 3;
	b += (size_t)snprintf(body + b, sizeof body - b, "[");
	a += (size_t)snprintf(ans + a, sizeof ans - a, "[");
	for (unsigned i = 1; i <= calls; i++) {
		b += (size_t)snprintf(body + b, sizeof body - b,
				      "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"tools/call\","
				      "\"params\":{\"name\":\"t%u\"}}",
				      i > 1 ? "," : "", i, i);
		/* answered in order: every kept call's answer is kept */
		a += (size_t)snprintf(ans + a, sizeof ans - a,
				      "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"result\":{}}",
				      i > 1 ? "," : "", i);
	}
	snprintf(body + b, sizeof body - b, "]");
	snprintf(ans + a, sizeof ans - a, "]");
	struct want w[LLM_MCP_CALLS];
	char tools[LLM_MCP_CALLS][8];
	for (unsigned i = 0; i < LLM_MCP_CALLS; i++) {
		snprintf(tools[i], sizeof tools[i], "t%u", i + 1);
		char id[8];
		int k = snprintf(id, sizeof id, "%u", i + 1);
		w[i] = (struct want){"tools/call", tools[i], 0, llm_mcp_id(JT_NUMBER, id, (size_t)k)};
	}
	size_t rq = post(body), rs = answer_json(ans);
	check_every_split(rq, rs, w, LLM_MCP_CALLS, 3, 200);

	/* Answered in reverse: the kept answers are the dropped calls' and
	 * the last kept ones'; the first three kept calls cannot be settled. */
	a = (size_t)snprintf(ans, sizeof ans, "[");
	for (unsigned i = calls; i >= 1; i--)
		a += (size_t)snprintf(ans + a, sizeof ans - a,
				      "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"result\":{}}",
				      i < calls ? "," : "", i);
	snprintf(ans + a, sizeof ans - a, "]");
	for (unsigned i = 0; i < 3; i++)
		w[i].flags = REC_F_MCP_UNPAIRED;
	rs = answer_json(ans);
	struct out o;
	replay(CONN_ROLE_CLIENT, rq, rs, 0, 0, &o);
	check(&o, w, LLM_MCP_CALLS, 3, rq, rs, 200, "reverse");
}

Test(mcp_batch, a_request_left_out_of_the_answer_is_unanswered)
{
	size_t rq = post("[{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"},"
			 "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"resources/list\"}]");
	size_t rs = answer_json("[{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"resources\":[]}}]");
	const struct want w[] = {{"ping", "", REC_F_MCP_UNANSWERED, NUM("7")},
				 {"resources/list", "", 0, NUM("8")}};
	check_every_split(rq, rs, w, 2, 0, 200);
}

Test(mcp_batch, notifications_only_accepted_with_202)
{
	size_t rq = post("[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
			 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/list_changed\"}]");
	size_t rs = (size_t)snprintf(resp_buf, sizeof resp_buf,
				     "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
	static const struct want w[] = {{"notifications/initialized", "", REC_F_MCP_NOTIFICATION, 0},
					{"notifications/roots/list_changed", "", REC_F_MCP_NOTIFICATION, 0}};
	check_every_split(rq, rs, w, 2, 0, 202);
}

Test(mcp_batch, a_json_rpc_batch_that_is_not_mcp_is_not_counted)
{
	size_t rq = post("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_call\"}]");
	size_t rs = answer_json("[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x0\"}]");
	struct out o;
	replay(CONN_ROLE_CLIENT, rq, rs, 0, 0, &o);
	cr_expect_eq(o.n, 0, "not LLM, not MCP: no record");
}

/* Escaped and long names: decoded and cut like any record string. */
Test(mcp_batch, names_decoded_and_cut_like_record_strings)
{
	size_t rq = post("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
			 "{\"name\":\"gr\\u00fc\\u00dfe\"}},{\"jsonrpc\":\"2.0\",\"id\":2,"
			 "\"method\":\"tools/call\",\"params\":{\"name\":"
			 "\"a_tool_name_that_is_longer_than_forty_eight_bytes_by_far\"}}]");
	size_t rs = answer_json("[{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}},"
				"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}]");
	const struct want w[] = {
		{"tools/call", "gr\xc3\xbc\xc3\x9f" "e", 0, NUM("1")},
		{"tools/call", "a_tool_name_that_is_longer_than_forty_eight_byte",
		 REC_F_TRUNC_REQUEST_MODEL, NUM("2")},
	};
	check_every_split(rq, rs, w, 2, 0, 200);
}
