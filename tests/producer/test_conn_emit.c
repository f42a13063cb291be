/* test_conn_emit.c - which finished exchanges become records (conn_finish):
 * an LLM exchange is recorded with its settled usage and a generated
 * request id; one that is not LLM traffic is recorded only with
 * TOKENRING_HTTP=all; token-count headers alone make an exchange LLM
 * traffic (Bedrock), so the early exit for unrecorded exchanges must count
 * them. */
#include <criterion/criterion.h>
#include <string.h>

#include "test_support.h"

static void exchange(const struct conn_config *cfg, const char *req, const char *resp,
		     struct collect *out)
{
	struct conn c;
	memset(out, 0, sizeof *out);
	conn_init(&c, CONN_ROLE_CLIENT);
	feed_pieces(&c, cfg, CONN_DIR_OUT, req, strlen(req), 0, 0, 100, out);
	feed_pieces(&c, cfg, CONN_DIR_IN, resp, strlen(resp), 0, 0, 250, out);
}

static const char healthz[] = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n";
static const char healthz_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n"
				 "{\"status\":\"ok\"}";

Test(conn_emit, a_plain_get_is_not_recorded)
{
	struct conn_config cfg = {0};
	struct collect out;
	exchange(&cfg, healthz, healthz_ok, &out);
	cr_expect_eq(out.n, 0);
}

Test(conn_emit, a_plain_get_is_recorded_with_http_all)
{
	struct conn_config cfg = {.http_all = 1};
	struct collect out;
	exchange(&cfg, healthz, healthz_ok, &out);
	cr_assert_eq(out.n, 1);
	cr_expect_str_eq(out.rec[0].path, "/healthz");
	cr_expect_eq(out.rec[0].flags & REC_F_LLM, 0);
	cr_expect_eq(out.rec[0].flags & REC_F_REQUEST_ID_GENERATED, REC_F_REQUEST_ID_GENERATED);
	cr_expect_eq(strlen(out.rec[0].request_id), 36);
	cr_expect_eq(out.rec[0].usage_status, REC_USAGE_NONE);
	cr_expect_eq(out.rec[0].duration_ns, 150);
	cr_expect_eq(out.rec[0].reporter, REC_REPORTER_SOURCE);
}

Test(conn_emit, token_count_headers_alone_make_it_llm)
{
	struct conn_config cfg = {0};
	struct collect out;
	static const char req[] = "POST /internal/score HTTP/1.1\r\nHost: h\r\n"
				  "Content-Length: 2\r\n\r\n{}";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
				   "x-amzn-bedrock-input-token-count: 12\r\n"
				   "x-amzn-bedrock-output-token-count: 5\r\n"
				   "Content-Length: 2\r\n\r\nok";
	exchange(&cfg, req, resp, &out);
	cr_assert_eq(out.n, 1);
	cr_expect_eq(out.rec[0].flags & REC_F_LLM, REC_F_LLM);
	cr_expect_eq(out.rec[0].prompt_tokens, 12);
	cr_expect_eq(out.rec[0].completion_tokens, 5);
	cr_expect_eq(strlen(out.rec[0].request_id), 36);
}

Test(conn_emit, an_unknown_post_without_llm_signs_is_not_recorded)
{
	struct conn_config cfg = {0};
	struct collect out;
	static const char req[] = "POST /internal/score HTTP/1.1\r\nHost: h\r\n"
				  "Content-Length: 2\r\n\r\n{}";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	exchange(&cfg, req, resp, &out);
	cr_expect_eq(out.n, 0);
}

Test(conn_emit, a_chat_completion_is_recorded_with_its_usage)
{
	struct conn_config cfg = {0};
	struct collect out;
	static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
				  "Content-Type: application/json\r\nContent-Length: 19\r\n\r\n"
				  "{\"model\":\"gpt-4o\"} ";
	static const char resp[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 72\r\n\r\n"
		"{\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}    ";
	exchange(&cfg, req, resp, &out);
	cr_assert_eq(out.n, 1);
	cr_expect_eq(out.rec[0].flags & REC_F_LLM, REC_F_LLM);
	cr_expect_eq(out.rec[0].provider, REC_PROVIDER_OPENAI);
	cr_expect_eq(out.rec[0].operation, REC_OP_CHAT);
	cr_expect_eq(out.rec[0].usage_status, REC_USAGE_AVAILABLE);
	cr_expect_eq(out.rec[0].prompt_tokens, 3);
	cr_expect_eq(out.rec[0].completion_tokens, 4);
	cr_expect_eq(strlen(out.rec[0].request_id), 36);
}
