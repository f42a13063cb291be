/* test_mcp.c - MCP records (shm/record_mcp.h) are counted apart from the LLM
 * series: by method and outcome, tools/call by tool with a latency
 * histogram, statuses from flags and HTTP status, bounded with an overflow
 * fold; batches and single ingests agree; no LLM series moves. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "agg_internal.h"
#include "mcp.h"
#include "record_mcp.h"
#include "test_core_helpers.h"

static void mcp_record(struct tr_record *r, const char *method, const char *tool,
		       uint16_t status, uint32_t flags, uint64_t ms)
{
	memset(r, 0, sizeof(*r));
	r->kind = REC_KIND_EXCHANGE;
	r->reporter = REC_REPORTER_SOURCE;
	r->provider = REC_PROVIDER_MCP;
	r->operation = REC_OP_MCP;
	r->usage_status = REC_USAGE_NONE;
	r->status = status;
	r->flags = REC_F_LLM | flags;
	r->duration_ns = ms * 1000000u;
	snprintf(r->authority, sizeof(r->authority), "tools.internal:3000");
	snprintf(rec_mcp_method_field(r), REC_MCP_NAME_LEN, "%s", method);
	snprintf(rec_mcp_tool_field(r), REC_MCP_NAME_LEN, "%s", tool);
}

static char *render(const struct agg *a, struct strbuf *b)
{
	strbuf_init(b);
	cr_assert_eq(agg_render_metrics(a, NULL, b), 0);
	return b->data;
}

static void expect_line(const char *text, const char *line)
{
	cr_expect(strstr(text, line) != NULL, "missing line: %s", line);
}

#define LABELS "reporter=\"source\",source_workload=\"agent\",source_namespace=\"ai\",destination_service=\"tools.internal\""

Test(mcp, counted_by_method_tool_and_outcome_apart_from_llm_series)
{
	struct agg_config cfg = tc_config(AGG_FAM_TOKENRING | AGG_FAM_GEN_AI);
	struct agg *a;
	struct agg_identity id = {"agent", "ai"};
	const struct agg_identity *ids[8];
	struct tr_record recs[8];
	cr_assert_eq(agg_create(&cfg, &a), 0);
	mcp_record(&recs[0], "initialize", "", 200, 0, 3);
	mcp_record(&recs[1], "notifications/initialized", "", 202, 0, 1);
	mcp_record(&recs[2], "tools/list", "", 200, 0, 2);
	mcp_record(&recs[3], "tools/call", "add", 200, 0, 7);
	mcp_record(&recs[4], "tools/call", "add", 200, 0, 700);
	mcp_record(&recs[5], "tools/call", "divide", 200, REC_F_MCP_TOOL_ERROR, 4);
	mcp_record(&recs[6], "tools/call", "nope", 200, REC_F_MCP_RPC_ERROR, 2);
	mcp_record(&recs[7], "tools/call", "add", 0, 0, 9000);
	for (int i = 0; i < 8; i++)
		ids[i] = &id;
	agg_ingest_batch(a, recs, ids, 8);
	cr_expect_eq(agg_series(a), 0, "no LLM series");
	struct strbuf b;
	const char *t = render(a, &b);
	expect_line(t, "tokenring_mcp_requests_total{" LABELS ",method=\"initialize\",status=\"result\"} 1\n");
	expect_line(t, "tokenring_mcp_requests_total{" LABELS
		       ",method=\"notifications/initialized\",status=\"accepted\"} 1\n");
	expect_line(t, "tokenring_mcp_requests_total{" LABELS ",method=\"tools/call\",status=\"result\"} 2\n");
	expect_line(t, "tokenring_mcp_requests_total{" LABELS ",method=\"tools/call\",status=\"error\"} 1\n");
	expect_line(t, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"add\",status=\"result\"} 2\n");
	expect_line(t, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"add\",status=\"interrupted\"} 1\n");
	expect_line(t, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"divide\",status=\"tool_error\"} 1\n");
	expect_line(t, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"nope\",status=\"error\"} 1\n");
	expect_line(t, "tokenring_mcp_tool_call_duration_seconds_bucket{" LABELS
		       ",tool=\"add\",status=\"result\",le=\"0.01\"} 1\n");
	expect_line(t, "tokenring_mcp_tool_call_duration_seconds_bucket{" LABELS
		       ",tool=\"add\",status=\"result\",le=\"1\"} 2\n");
	expect_line(t, "tokenring_mcp_tool_call_duration_seconds_sum{" LABELS
		       ",tool=\"add\",status=\"result\"} 0.707\n");
	expect_line(t, "tokenring_mcp_tool_call_duration_seconds_count{" LABELS
		       ",tool=\"add\",status=\"result\"} 2\n");
	expect_line(t, "tokenring_mcp_series_overflow_total 0\n");
	cr_expect(strstr(t, "tokenring_requests_total{") == NULL, "an LLM series appeared");
	strbuf_free(&b);
	agg_destroy(a);
}

Test(mcp, bounded_with_an_overflow_fold)
{
	struct agg_config cfg = tc_config(AGG_FAM_TOKENRING);
	struct agg *a;
	struct tr_record r;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	/* one method row (tools/call), then a row per tool: MCP_MAX_SERIES - 1
	 * tools fit, the next 1024 fold */
	for (unsigned i = 0; i < MCP_MAX_SERIES - 1 + 1024; i++) {
		char tool[32];
		snprintf(tool, sizeof(tool), "tool-%u", i);
		mcp_record(&r, "tools/call", tool, 200, 0, 1);
		agg_ingest(a, &r, NULL);
	}
	struct strbuf b;
	const char *t = render(a, &b);
	expect_line(t, "tokenring_mcp_series_overflow_total 1024\n");
	expect_line(t, "tokenring_mcp_tool_calls_total{reporter=\"source\",source_workload=\"__overflow__\","
		       "source_namespace=\"__overflow__\",destination_service=\"__overflow__\","
		       "tool=\"__overflow__\",status=\"result\"} 1024\n");
	expect_line(t, "tokenring_mcp_tool_calls_total{reporter=\"source\",source_workload=\"unknown\","
		       "source_namespace=\"unknown\",destination_service=\"tools.internal\","
		       "tool=\"tool-2046\",status=\"result\"} 1\n");
	cr_expect(strstr(t, "tool=\"tool-2047\"") == NULL, "a tool past the bound got its own row");
	expect_line(t, "tokenring_mcp_requests_total{reporter=\"source\",source_workload=\"unknown\","
		       "source_namespace=\"unknown\",destination_service=\"tools.internal\","
		       "method=\"tools/call\",status=\"result\"} 3071\n");
	strbuf_free(&b);
	agg_destroy(a);
}

/* The calls of a JSON-RPC batch (one record each, REC_F_MCP_BATCH): a
 * notification is accepted even in a 200 answer, a request the answer left
 * out is unanswered, one whose answer the shim may not have kept is
 * unpaired, and the calls the shim did not keep are counted as dropped
 * (on the first call's record) by reporter. */
Test(mcp, batch_calls_by_outcome_and_dropped_calls)
{
	struct agg_config cfg = tc_config(AGG_FAM_TOKENRING);
	struct agg *a;
	struct agg_identity id = {"agent", "ai"};
	struct tr_record r[5];
	cr_assert_eq(agg_create(&cfg, &a), 0);
	mcp_record(&r[0], "tools/call", "add", 200, REC_F_MCP_BATCH, 7);
	rec_mcp_set_dropped(&r[0], 3);
	mcp_record(&r[1], "notifications/cancelled", "", 200,
		   REC_F_MCP_BATCH | REC_F_MCP_NOTIFICATION, 7);
	mcp_record(&r[2], "tools/call", "add", 200, REC_F_MCP_BATCH | REC_F_MCP_UNANSWERED, 7);
	mcp_record(&r[3], "tools/call", "add", 200, REC_F_MCP_BATCH | REC_F_MCP_UNPAIRED, 7);
	mcp_record(&r[4], "tools/list", "", 200, REC_F_MCP_BATCH | REC_F_MCP_RPC_ERROR, 7);
	r[4].reporter = REC_REPORTER_DESTINATION;
	rec_mcp_set_dropped(&r[4], 2);
	for (int i = 0; i < 5; i++)
		agg_ingest(a, &r[i], &id);
	struct strbuf b;
	const char *t = render(a, &b);
	expect_line(t, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"add\",status=\"result\"} 1\n");
	expect_line(t, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"add\",status=\"unanswered\"} 1\n");
	expect_line(t, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"add\",status=\"unpaired\"} 1\n");
	expect_line(t, "tokenring_mcp_requests_total{" LABELS
		       ",method=\"notifications/cancelled\",status=\"accepted\"} 1\n");
	expect_line(t, "tokenring_mcp_calls_dropped_total{reporter=\"source\",reason=\"batch_overflow\"} 3\n");
	expect_line(t, "tokenring_mcp_calls_dropped_total{reporter=\"destination\","
		       "reason=\"batch_overflow\"} 2\n");
	strbuf_free(&b);
	agg_destroy(a);
}

/* The older SSE transport: a 202 POST (or one cut before its 202) waits for
 * the answer entry of the same process, end, session and id, in either
 * order, and is counted with its outcome and latency; one still waiting
 * after the timeout is unanswered; an answer nobody claims is dropped. */
static void sse_post(struct tr_record *r, const char *tool, uint16_t status, const char *session,
		     uint64_t id, uint64_t start_s)
{
	mcp_record(r, "tools/call", tool, status, 0, 2);
	snprintf(r->path, sizeof(r->path), "/messages?sessionId=%s", session);
	rec_mcp_set_id(r, id);
	r->producer = 3;
	r->producer_gen = 1;
	r->start_ns = start_s * 1000000000ull;
}

static void sse_answer(struct tr_record *r, const char *session, uint64_t id, uint32_t flags,
		       uint64_t at_ms)
{
	sse_post(r, "", 200, session, id, 0);
	r->kind = REC_KIND_MCP_ANSWER;
	r->flags = REC_F_LLM | flags;
	memset(rec_mcp_method_field(r), 0, REC_MCP_NAME_LEN);
	r->start_ns = at_ms * 1000000ull;
}

Test(mcp, sse_transport_posts_paired_with_their_answers)
{
	struct agg_config cfg = tc_config(AGG_FAM_TOKENRING);
	struct agg *a;
	struct agg_identity id = {"agent", "ai"};
	struct tr_record r;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct mcp_table *t = agg_mcp(a);
	/* POST first, its answer 40 ms later */
	sse_post(&r, "add", 202, "s1", 7, 1000);
	agg_ingest(a, &r, &id);
	sse_answer(&r, "s2", 7, 0, 1000000 + 30); /* another session: not its answer */
	mcp_answer(t, &r);
	sse_answer(&r, "s1", 7, REC_F_MCP_TOOL_ERROR, 1000000 + 40);
	mcp_answer(t, &r);
	/* the answer first, then a POST cut before its 202 */
	sse_answer(&r, "s1", 8, REC_F_MCP_RPC_ERROR, 1000000 + 90);
	mcp_answer(t, &r);
	sse_post(&r, "nope", 0, "s1", 8, 1000);
	agg_ingest(a, &r, &id);
	/* a POST never answered, and a notification (no id: counted at once) */
	sse_post(&r, "slow", 202, "s1", 9, 1000);
	agg_ingest(a, &r, &id);
	sse_post(&r, "", 202, "s1", 0, 1000);
	snprintf(rec_mcp_method_field(&r), REC_MCP_NAME_LEN, "notifications/initialized");
	agg_ingest(a, &r, &id);
	struct strbuf b;
	const char *txt = render(a, &b);
	expect_line(txt, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"add\",status=\"tool_error\"} 1\n");
	expect_line(txt, "tokenring_mcp_tool_call_duration_seconds_sum{" LABELS
			 ",tool=\"add\",status=\"tool_error\"} 0.04\n");
	expect_line(txt, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"nope\",status=\"error\"} 1\n");
	expect_line(txt, "tokenring_mcp_requests_total{" LABELS
			 ",method=\"notifications/initialized\",status=\"accepted\"} 1\n");
	cr_expect(strstr(txt, "tool=\"slow\"") == NULL, "a call waiting is not counted yet");
	strbuf_free(&b);
	mcp_expire(t, 1000 * 1000000000ull + 299 * 1000000000ull);
	txt = render(a, &b);
	cr_expect(strstr(txt, "tool=\"slow\"") == NULL, "not before its time");
	strbuf_free(&b);
	mcp_expire(t, 1000 * 1000000000ull + 301 * 1000000000ull);
	txt = render(a, &b);
	expect_line(txt, "tokenring_mcp_tool_calls_total{" LABELS ",tool=\"slow\",status=\"unanswered\"} 1\n");
	expect_line(txt, "tokenring_mcp_calls_dropped_total{reporter=\"source\",reason=\"answer_unpaired\"} 1\n");
	strbuf_free(&b);
	agg_destroy(a);
}
