/*
 * conn_emit.c - the last step of an exchange: decide whether it is an LLM
 * exchange, settle provider, operation and usage status (the rules are
 * proto/llm_settle.c's, shared with tokenringd), turn monotonic
 * times into the record's durations, and hand the record to the hooks.
 */
#include <string.h>

#include "conn_internal.h"
#include "record_mcp.h"

/* Tokens are only ever what the response reported. */
static void clear_tokens(struct tr_record *r)
{
	r->prompt_tokens = 0;
	r->completion_tokens = 0;
	r->total_tokens = 0;
	r->cached_tokens = 0;
	r->cache_creation_tokens = 0;
	r->reasoning_tokens = 0;
}

static void settle_llm(struct conn_exch *ex)
{
	struct tr_record *r = &ex->rec;
	r->flags |= REC_F_LLM;
	r->provider = llm_provider_of(&ex->f);
	r->operation = llm_operation_of(&ex->f);
	r->usage_status = llm_usage_status(&ex->f, r->provider, r->operation);
	if (r->usage_status != REC_USAGE_AVAILABLE)
		clear_tokens(r);
}

/* What the daemon needs to settle again after decoding a body the shim
 * copied (aggregator/body.c): the request facts it cannot see when only
 * the response was compressed, and whether the provider is a guess. */
static void body_facts(struct conn_exch *ex)
{
	struct tr_record *r = &ex->rec;
	if (!(r->body_bits & (REC_B_REQ_COPIED | REC_B_RESP_COPIED)) &&
	    REC_CODING_REQ(r->codings) == REC_CODING_NONE &&
	    REC_CODING_RESP(r->codings) == REC_CODING_NONE)
		return;
	if (ex->f.stream_req)
		r->body_bits |= REC_B_STREAM_REQ;
	if (ex->f.include_usage)
		r->body_bits |= REC_B_INCLUDE_USAGE;
	if (ex->f.route.provider == REC_PROVIDER_UNKNOWN && !ex->f.hints &&
	    !(ex->f.shape & LLM_SHAPE_CONTENTS))
		r->body_bits |= REC_B_PROVIDER_GUESSED;
	if (r->body_lost)
		r->flags |= REC_F_BODY_LOST;
}

static void settle_times(struct conn_call *k, struct conn_exch *ex)
{
	struct tr_record *r = &ex->rec;
	uint64_t end = ex->t_end ? ex->t_end : conn_now(k);
	r->duration_ns = end > ex->t0 ? end - ex->t0 : 0;
	if (ex->f.resp_stream) {
		r->flags |= REC_F_STREAM;
		r->chunks = ex->chunks;
		if (ex->ttft_at)
			r->ttft_ns = ex->ttft_at > ex->t0 ? ex->ttft_at - ex->t0 : 1;
	}
}

/* A JSON-RPC batch to an MCP server: one record per call it kept, paired
 * by id with the answers read (proto/llm_mcp.h, shm/record_mcp.h). The
 * scanners' state belongs to the connection: it is this exchange's only if
 * it was read for this record (a pipelined request may have reset it). */
static int emit_mcp_batch(struct conn_call *k, struct conn_exch *ex)
{
	const struct llm_mcp_batch *b = &k->st->lreq.batch;
	const struct llm_mcp_answers *a = &k->st->lresp.answers;
	if (!rec_is_mcp(&ex->rec) || !llm_mcp_owns(&b->owner, &ex->rec) || b->n == 0)
		return 0;
	if (!llm_mcp_owns(&a->owner, &ex->rec))
		a = NULL;
	for (unsigned i = 0; i < b->n; i++) {
		struct tr_record call;
		llm_mcp_call_record(&call, &ex->rec, b, a, i, ex->t0);
		k->emit(k->ctx, &call);
	}
	return 1;
}

void conn_mcp_stream(struct conn_call *k, struct conn_exch *ex)
{
	struct llm_mcp_answers *a = &k->st->lresp.answers;
	if (a->endpoint_state != LLM_MCP_EP_KEPT || (a->n == 0 && a->dropped == 0))
		return;
	for (unsigned i = 0; i < a->n || (i == 0 && a->dropped); i++) {
		struct tr_record e = ex->rec;
		e.kind = REC_KIND_MCP_ANSWER;
		e.reporter = k->st->role == CONN_ROLE_SERVER ? REC_REPORTER_DESTINATION
							     : REC_REPORTER_SOURCE;
		e.provider = REC_PROVIDER_MCP;
		e.operation = REC_OP_MCP;
		e.usage_status = REC_USAGE_NONE;
		clear_tokens(&e);
		e.flags &= REC_F_TRUNC_ANY;
		e.flags |= REC_F_LLM;
		rec_set_str(e.path, REC_PATH_LEN, a->endpoint, a->endpoint_len, &e.flags,
			    REC_F_TRUNC_PATH);
		if (i < a->n) {
			const struct llm_mcp_answer *ans = &a->a[i];
			e.flags |= (ans->rpc & LLM_RPC_ERROR ? REC_F_MCP_RPC_ERROR : 0) |
				   (ans->rpc & LLM_RPC_TOOL_ERROR ? REC_F_MCP_TOOL_ERROR : 0);
			e.start_ns = ex->rec.start_ns + (ans->at > ex->t0 ? ans->at - ex->t0 : 0);
			rec_mcp_set_id(&e, ans->id);
		}
		e.duration_ns = 0;
		rec_mcp_set_dropped(&e, i == 0 ? a->dropped : 0);
		k->emit(k->ctx, &e);
	}
	a->n = 0;
	a->dropped = 0;
}

void conn_finish(struct conn_call *k, struct conn_exch *ex)
{
	struct tr_record *r = &ex->rec;
	if (ex->quiet) /* never recorded, its record never kept (conn.c, exch_begin) */
		return;
	/* What llm_is_llm says once llm_usage_from_headers has run (token-count
	 * headers make it LLM traffic): known before, so an exchange that is
	 * not recorded (most: a GET /healthz, any non-LLM call) settles
	 * nothing and gets no request id. */
	int llm = llm_is_llm(&ex->f) || ex->f.hdr_tok;
	if (!llm && !k->cfg->http_all)
		return;
	r->reporter = k->st->role == CONN_ROLE_SERVER ? REC_REPORTER_DESTINATION
						       : REC_REPORTER_SOURCE;
	settle_times(k, ex);
	llm_usage_from_headers(&ex->f, r);
	body_facts(ex);
	if (llm)
		settle_llm(ex);
	else {
		r->usage_status = REC_USAGE_NONE;
		clear_tokens(r);
	}
	if (ex->id_due) {
		conn_make_request_id(r->request_id, REC_REQUEST_ID_LEN, ex->t0, r->start_ns);
		r->flags |= REC_F_REQUEST_ID_GENERATED;
	}
	if (emit_mcp_batch(k, ex))
		return;
	if (rec_is_mcp(r) && llm_mcp_owns(&k->st->lreq.batch.owner, r))
		rec_mcp_set_id(r, k->st->lreq.id); /* pairs a 202's answer (aggregator/mcp.c) */
	k->emit(k->ctx, r);
}
