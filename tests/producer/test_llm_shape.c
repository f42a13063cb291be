/* test_llm_shape.c - behind a gateway path (/proxy) the body decides:
 * what makes an exchange LLM, which provider and operation it is, and the
 * usage status when usage is absent, empty or not requested. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

struct shape_case {
	const char *req_body, *resp_ctype, *resp_body;
	int llm;
	uint8_t provider, op, usage;
	uint32_t prompt, completion;
};

static const struct shape_case shapes[] = {
	/* request shape alone */
	{"{\"model\":\"x\"}", "application/json", "{}", 1, REC_PROVIDER_OPENAI, REC_OP_UNKNOWN,
	 REC_USAGE_MISSING, 0, 0},
	{"{\"messages\":[]}", "application/json", "{\"error\":1}", 1, REC_PROVIDER_OPENAI,
	 REC_OP_CHAT, REC_USAGE_MISSING, 0, 0},
	{"{\"prompt\":\"p\"}", "application/json", "{}", 1, REC_PROVIDER_OPENAI,
	 REC_OP_TEXT_COMPLETION, REC_USAGE_MISSING, 0, 0},
	{"{\"tools\":{\"model\":\"nested\"}}", "application/json", "{}", 0, 0, 0, REC_USAGE_NONE, 0, 0},
	{"[{\"model\":\"x\"}]", "application/json", "{}", 0, 0, 0, REC_USAGE_NONE, 0, 0},
	/* response shape alone */
	{"", "application/json", "{\"usage\":{}}", 1, REC_PROVIDER_OPENAI, REC_OP_UNKNOWN,
	 REC_USAGE_MISSING, 0, 0},
	{"", "application/json", "{\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
	 1, REC_PROVIDER_OPENAI, REC_OP_CHAT, REC_USAGE_AVAILABLE, 1, 2},
	{"", "application/json", "{\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":4}}", 1,
	 REC_PROVIDER_GEMINI, REC_OP_UNKNOWN, REC_USAGE_AVAILABLE, 3, 4},
	{"", "application/x-ndjson", "{\"response\":\"a\"}\n{\"done\":true,\"prompt_eval_count\":5,\"eval_count\":6}\n",
	 1, REC_PROVIDER_OLLAMA, REC_OP_UNKNOWN, REC_USAGE_AVAILABLE, 5, 6},
	{"", "text/event-stream", "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":7}}}\n\n",
	 1, REC_PROVIDER_ANTHROPIC, REC_OP_UNKNOWN, REC_USAGE_AVAILABLE, 7, 0},
	{"", "application/json", "{\"object\":\"list\",\"data\":[{\"embedding\":[1,2]}],\"usage\":{\"prompt_tokens\":8}}",
	 1, REC_PROVIDER_OPENAI, REC_OP_EMBEDDINGS, REC_USAGE_AVAILABLE, 8, 0},
	/* usage inside content or under unknown keys is not usage */
	{"", "application/json", "{\"x\":{\"usage\":{\"prompt_tokens\":9}},\"y\":\"\\\"usage\\\":{}\"}", 0, 0, 0,
	 REC_USAGE_NONE, 0, 0},
	/* not requested: an OpenAI-style stream without include_usage */
	{"{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":false}}", "text/event-stream",
	 "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n", 1, REC_PROVIDER_OPENAI,
	 REC_OP_UNKNOWN, REC_USAGE_NOT_REQUESTED, 0, 0},
	{"{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}", "text/event-stream",
	 "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n", 1, REC_PROVIDER_OPENAI,
	 REC_OP_UNKNOWN, REC_USAGE_MISSING, 0, 0},
	/* compressed bodies are not read */
	{"", "application/json\r\nContent-Encoding: gzip", "{\"usage\":{\"prompt_tokens\":1}}", 0, 0, 0,
	 REC_USAGE_NONE, 0, 0},
};

static struct collect exchange(const struct shape_case *c)
{
	char rq[1024], rs[1024];
	struct conn conn;
	struct collect out = {0};
	struct conn_config cfg = {.http_all = 1};
	int n = snprintf(rq, sizeof rq, "POST /proxy HTTP/1.1\r\nHost: gw\r\nContent-Length: %zu\r\n\r\n%s",
			 strlen(c->req_body), c->req_body);
	int m = snprintf(rs, sizeof rs, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
			 c->resp_ctype, strlen(c->resp_body), c->resp_body);
	conn_init(&conn, CONN_ROLE_CLIENT);
	feed_pieces(&conn, &cfg, CONN_DIR_OUT, rq, (size_t)n, 0, 0, 1, &out);
	feed_pieces(&conn, &cfg, CONN_DIR_IN, rs, (size_t)m, 0, 0, 2, &out);
	return out;
}

Test(shape, body_decides_behind_a_gateway)
{
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		const struct shape_case *c = &shapes[i];
		struct collect out = exchange(c);
		cr_assert_eq(out.n, 1, "case %zu", i);
		const struct tr_record *r = &out.rec[0];
		cr_expect_eq(!!(r->flags & REC_F_LLM), c->llm, "case %zu llm", i);
		cr_expect_eq(r->provider, c->provider, "case %zu provider %u", i, r->provider);
		cr_expect_eq(r->operation, c->op, "case %zu op %u", i, r->operation);
		cr_expect_eq(r->usage_status, c->usage, "case %zu usage %u", i, r->usage_status);
		cr_expect_eq(r->prompt_tokens, c->prompt, "case %zu prompt", i);
		cr_expect_eq(r->completion_tokens, c->completion, "case %zu completion", i);
		cr_expect_eq(r->flags & REC_F_PARSE_ERROR, 0, "case %zu parse error", i);
	}
}

Test(shape, streamed_tool_call_arguments_are_content)
{
	static const struct shape_case c = {
		"{\"model\":\"m\",\"stream\":true}", "text/event-stream",
		"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n"
		"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n"
		"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
		"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]}}]}\n\n",
		1, REC_PROVIDER_OPENAI, REC_OP_UNKNOWN, REC_USAGE_NOT_REQUESTED, 0, 0};
	struct collect out = exchange(&c);
	cr_assert_eq(out.n, 1);
	cr_expect_eq(out.rec[0].chunks, 2);
	cr_expect_eq(out.rec[0].flags & REC_F_STREAM, REC_F_STREAM);
}

Test(shape, error_answer_to_a_stream_request_is_missing_usage)
{
	static const struct shape_case c = {
		"{\"model\":\"m\",\"stream\":true}", "application/json",
		"{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}",
		1, REC_PROVIDER_OPENAI, REC_OP_UNKNOWN, REC_USAGE_MISSING, 0, 0};
	struct collect out = exchange(&c);
	cr_assert_eq(out.n, 1);
	cr_expect_eq(out.rec[0].usage_status, REC_USAGE_MISSING);
	cr_expect_eq(out.rec[0].flags & REC_F_STREAM, 0);
}
