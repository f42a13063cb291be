/* test_mcp_sse.c - the older MCP transport (HTTP+SSE, protocol 2024-11-05)
 * through the connection tracker: a GET asking for text/event-stream is read
 * whatever its path (and one that does not ask is not), its `endpoint`
 * event's session is kept, and each answer on it goes out as a
 * REC_KIND_MCP_ANSWER entry with the id, outcome and time; the 202 POSTs
 * carry the same id hash and the session in their target. Every split of
 * the stream, both ends. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "conn_collect.h"
#include "llm.h"
#include "record_mcp.h"

static const char get_sse[] = "GET /sse HTTP/1.1\r\nhost: 127.0.0.1:3001\r\nconnection: keep-alive\r\n"
			      "Accept: text/event-stream\r\naccept-language: *\r\n"
			      "sec-fetch-mode: cors\r\nuser-agent: node\r\n\r\n";

#define EP "/messages?sessionId=3f2a1c4e-9b7d-4e21-8c5a-0d6e7f8a9b1c"

static char stream[4096];

/* The SDK's SSEServerTransport: headers, the endpoint event, then answers. */
static size_t make_stream(void)
{
	static const char *const ev[] = {
		"event: endpoint\ndata: " EP "\n\n",
		"event: message\ndata: {\"result\":{\"tools\":[]},\"jsonrpc\":\"2.0\",\"id\":1}\n\n",
		"event: message\ndata: {\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"x\"}],"
		"\"isError\":true},\"jsonrpc\":\"2.0\",\"id\":2}\n\n",
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"s-3\",\"error\":{\"code\":-32602,"
		"\"message\":\"Tool nope not found\"}}\n\n",
	};
	size_t at = (size_t)snprintf(stream, sizeof stream,
				     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				     "Cache-Control: no-cache\r\nConnection: keep-alive\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n");
	for (unsigned i = 0; i < 4; i++)
		at += (size_t)snprintf(stream + at, sizeof stream - at, "%zx\r\n%s\r\n",
				       strlen(ev[i]), ev[i]);
	return at;
}

static const uint32_t outcome[] = {0, REC_F_MCP_TOOL_ERROR, REC_F_MCP_RPC_ERROR};

static uint64_t id_of(unsigned i)
{
	return i == 2 ? llm_mcp_id(JT_STRING, "s-3", 3) : llm_mcp_id(JT_NUMBER, i ? "2" : "1", 1);
}

static void check_answers(const struct out *o, enum conn_role role, const char *how)
{
	cr_assert_eq(o->n, 3, "%s: %u entries", how, o->n);
	for (unsigned i = 0; i < 3; i++) {
		const struct tr_record *e = &o->rec[i];
		cr_expect_eq(e->kind, REC_KIND_MCP_ANSWER, "%s %u", how, i);
		cr_expect_str_eq(e->path, EP, "%s %u", how, i);
		cr_expect_eq(rec_mcp_id(e), id_of(i), "%s %u id", how, i);
		cr_expect_eq(e->flags & (REC_F_MCP_RPC_ERROR | REC_F_MCP_TOOL_ERROR), outcome[i],
			     "%s %u flags %#x", how, i, e->flags);
		cr_expect_eq(e->reporter, role == CONN_ROLE_SERVER ? REC_REPORTER_DESTINATION
								   : REC_REPORTER_SOURCE);
		cr_expect_eq(e->usage_status, REC_USAGE_NONE);
		cr_expect_eq(e->prompt_tokens | e->completion_tokens, 0);
	}
}

Test(mcp_sse, answers_on_the_get_stream_go_out_as_entries_at_every_split)
{
	size_t n = make_stream();
	char how[64];
	for (int role = CONN_ROLE_CLIENT; role <= CONN_ROLE_SERVER; role++) {
		enum conn_dir out = role == CONN_ROLE_SERVER ? CONN_DIR_IN : CONN_DIR_OUT;
		for (size_t cut = 0; cut < n; cut++) {
			struct conn c;
			struct conn_config cfg;
			struct out o;
			open_with(&c, &cfg, &o, (enum conn_role)role, get_sse, sizeof get_sse - 1);
			if (cut)
				conn_feed(&c, &cfg, !out, stream, cut, 2000, emit, &o);
			conn_feed(&c, &cfg, !out, stream + cut, n - cut, 3000, emit, &o);
			snprintf(how, sizeof how, "role %d cut %zu", role, cut);
			check_answers(&o, (enum conn_role)role, how);
			conn_close(&c, &cfg, 4000, emit, &o);
			cr_expect_eq(o.n, 3, "%s: the stream itself is no record", how);
		}
	}
}

/* Each answer's time is when its event ended: entry i+1 fed at 1000 (i+2). */
Test(mcp_sse, each_answer_at_its_own_time)
{
	size_t n = make_stream();
	struct conn c;
	struct conn_config cfg;
	struct out o;
	open_with(&c, &cfg, &o, CONN_ROLE_CLIENT, get_sse, sizeof get_sse - 1);
	const char *p = stream, *e;
	uint64_t now = 2000;
	for (; (e = strstr(p + 1, "\r\nevent: message")) != NULL; p = e, now += 1000)
		conn_feed(&c, &cfg, CONN_DIR_IN, p, (size_t)(e - p), now, emit, &o);
	conn_feed(&c, &cfg, CONN_DIR_IN, p, n - (size_t)(p - stream), now, emit, &o);
	cr_assert_eq(o.n, 3);
	/* start_ns is the GET's real start plus the monotonic time since */
	cr_expect_eq(o.rec[1].start_ns - o.rec[0].start_ns, 1000);
	cr_expect_eq(o.rec[2].start_ns - o.rec[1].start_ns, 1000);
}

/* Without Accept: text/event-stream a GET on an unknown path is framed,
 * not read: no entry even if the answer is the same stream. */
Test(mcp_sse, a_get_that_does_not_ask_for_events_is_not_read)
{
	static const char get_plain[] = "GET /sse HTTP/1.1\r\nhost: 127.0.0.1:3001\r\n"
					 "accept: */*\r\n\r\n";
	size_t n = make_stream();
	struct conn c;
	struct conn_config cfg;
	struct out o;
	open_with(&c, &cfg, &o, CONN_ROLE_CLIENT, get_plain, sizeof get_plain - 1);
	conn_feed(&c, &cfg, CONN_DIR_IN, stream, n, 2000, emit, &o);
	conn_close(&c, &cfg, 3000, emit, &o);
	cr_expect_eq(o.n, 0);
}

/* The POST the answer belongs to: 202, its id hash, the session in its
 * target; also when the connection closes before its 202 was read. */
Test(mcp_sse, the_post_carries_the_id_and_the_session)
{
	static const char post[] =
		"POST " EP " HTTP/1.1\r\nhost: 127.0.0.1:3001\r\ncontent-type: application/json\r\n"
		"content-length: 90\r\n\r\n"
		"{\"method\":\"tools/call\",\"params\":{\"name\":\"nope\",\"arguments\":{}},"
		"\"jsonrpc\":\"2.0\",\"id\":\"s-3\"}";
	static const char accepted[] = "HTTP/1.1 202 Accepted\r\nContent-Length: 8\r\n\r\nAccepted";
	for (int closed = 0; closed <= 1; closed++) {
		struct conn c;
		struct conn_config cfg;
		struct out o;
		open_with(&c, &cfg, &o, CONN_ROLE_CLIENT, post, sizeof post - 1);
		if (!closed)
			conn_feed(&c, &cfg, CONN_DIR_IN, accepted, sizeof accepted - 1, 2000, emit, &o);
		conn_close(&c, &cfg, 3000, emit, &o);
		cr_assert_eq(o.n, 1, "closed %d", closed);
		const struct tr_record *r = &o.rec[0];
		const char *at = "";
		cr_expect(rec_is_mcp(r));
		cr_expect_eq(r->kind, REC_KIND_EXCHANGE);
		cr_expect_eq(r->status, closed ? 0 : 202);
		cr_expect_str_eq(rec_mcp_method(r), "tools/call");
		cr_expect_str_eq(rec_mcp_tool(r), "nope");
		cr_expect_eq(rec_mcp_id(r), id_of(2), "closed %d", closed);
		cr_expect_eq(rec_mcp_session(r->path, strlen(r->path), &at), 36);
		cr_expect_eq(strncmp(at, "3f2a1c4e-", 9), 0);
	}
}
