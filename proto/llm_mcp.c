/*
 * llm_mcp.c - the calls of a JSON-RPC batch and their answers (llm_mcp.h):
 * what the request and response scanners keep of each, and the record of
 * each call once they are paired by id.
 */
#include <string.h>

#include "llm.h"
#include "record_mcp.h"

/* llm_mcp_batch.cur: what the element being read showed. */
#define CUR_JSONRPC 0x01u
#define CUR_MCP 0x02u /* an MCP method */

uint64_t llm_mcp_id(enum jtype t, const char *v, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = (h ^ (uint8_t)t) * 0x100000001b3ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)v[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

int llm_mcp_method(const char *m, size_t n)
{
	return (n == 10 && memcmp(m, "initialize", 10) == 0) || (n == 4 && memcmp(m, "ping", 4) == 0) ||
	       memchr(m, '/', n) != NULL;
}

static uint8_t keep(char *dst, size_t cap, const char *v, size_t n, int truncated, uint8_t *trunc,
		    uint8_t bit)
{
	size_t k = n < cap ? n : cap;
	memcpy(dst, v, k);
	if (truncated || k < n)
		*trunc |= bit;
	return (uint8_t)k;
}

void llm_mcp_batch_scalar(struct llm_mcp_batch *b, const struct jscan *s, enum jtype t,
			  const char *v, size_t n, int truncated)
{
	enum jkey k = jscan_key(s);
	/* Past LLM_MCP_CALLS only whether the element is an MCP call matters. */
	struct llm_mcp_call *c = b->n < LLM_MCP_CALLS ? &b->call[b->n] : NULL;
	if (jscan_level(s) == 2 && k == JK_NAME && jscan_key_at_level(s, 1) == JK_PARAMS &&
	    t == JT_STRING && c && !c->tool_len)
		c->tool_len = keep(c->tool, LLM_MCP_TOOL_KEEP, v, n, truncated, &c->trunc,
				   LLM_MCP_TRUNC_TOOL);
	if (jscan_level(s) != 1)
		return;
	if (k == JK_JSONRPC)
		b->cur |= CUR_JSONRPC;
	else if (k == JK_METHOD && t == JT_STRING && llm_mcp_method(v, n)) {
		b->cur |= CUR_MCP;
		if (c && !c->method_len)
			c->method_len = keep(c->method, LLM_MCP_METHOD_KEEP, v, n, truncated,
					     &c->trunc, LLM_MCP_TRUNC_METHOD);
	} else if (k == JK_ID && t != JT_NULL && c)
		c->id = llm_mcp_id(t, v, n);
}

void llm_mcp_batch_end(struct llm_mcp_batch *b)
{
	int call = (b->cur & (CUR_JSONRPC | CUR_MCP)) == (CUR_JSONRPC | CUR_MCP);
	b->cur = 0;
	if (!call) {
		if (b->n < LLM_MCP_CALLS)
			memset(&b->call[b->n], 0, sizeof b->call[0]);
		return;
	}
	if (b->n < LLM_MCP_CALLS)
		b->n++;
	else
		b->dropped++;
	if (b->n < LLM_MCP_CALLS) /* the next element's (llm_req_begin clears the first) */
		memset(&b->call[b->n], 0, sizeof b->call[0]);
}

void llm_mcp_answer_bit(struct llm_mcp_answers *a, uint8_t bit)
{
	a->ev_rpc |= bit;
}

void llm_mcp_answer_id(struct llm_mcp_answers *a, enum jtype t, const char *v, size_t n)
{
	a->ev_id_len = 0;
	if ((a->ev_rpc & LLM_RPC_JSONRPC) || n > LLM_MCP_ID_KEEP) {
		a->ev_id = llm_mcp_id(t, v, n);
		return;
	}
	/* most answers with an "id" are not JSON-RPC (every chat chunk has
	 * one): keeping its bytes costs less than hashing them */
	a->ev_id = 0;
	a->ev_id_type = (uint8_t)t;
	a->ev_id_len = (uint8_t)(n + 1); /* "" is an id too */
	memcpy(a->ev_id_raw, v, n);
}

/* A JSON-RPC answer ends (llm_mcp_answer_end): kept with its id. */
void llm_mcp_answer_keep(struct llm_mcp_answers *a, uint64_t now)
{
	if (a->ev_id_len)
		a->ev_id = llm_mcp_id((enum jtype)a->ev_id_type, a->ev_id_raw, a->ev_id_len - 1u);
	if (!a->ev_id)
		return;
	if (a->n < LLM_MCP_CALLS)
		a->a[a->n++] = (struct llm_mcp_answer){a->ev_id, now, a->ev_rpc};
	else
		a->dropped++;
}

/* SSE data that may be the endpoint (llm_mcp_sse_data read the rest):
 * an event's first data line starting like a path or an http(s) URL, not
 * JSON, and what follows it in the event. */
void llm_mcp_sse_endpoint(struct llm_mcp_answers *a, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (a->endpoint_state != LLM_MCP_EP_READING) {
		a->ev_data = 1;
		a->endpoint_state = LLM_MCP_EP_READING;
	}
	size_t k = LLM_MCP_ENDPOINT_KEEP - a->endpoint_len;
	k = n < k ? n : k;
	memcpy(a->endpoint + a->endpoint_len, p, k);
	a->endpoint_len = (uint8_t)(a->endpoint_len + k);
}

/* The end of an event being read as the endpoint. */
void llm_mcp_sse_endpoint_end(struct llm_mcp_answers *a)
{
	const char *at;
	/* (a URL cut to the buffer would name a session that matches nothing) */
	if (a->endpoint_len < LLM_MCP_ENDPOINT_KEEP &&
	    rec_mcp_session(a->endpoint, a->endpoint_len, &at)) {
		a->endpoint_state = LLM_MCP_EP_KEPT;
		return;
	}
	a->endpoint_state = LLM_MCP_EP_NONE;
	a->endpoint_len = 0;
}

static const struct llm_mcp_answer *answer_of(const struct llm_mcp_answers *a, uint64_t id)
{
	for (unsigned i = 0; a && id && i < a->n; i++)
		if (a->a[i].id == id)
			return &a->a[i];
	return NULL;
}

/* Whether the exchange ended with a complete 2xx answer other than 202
 * (which acknowledges without answering: the SSE transport's POST). */
static int answered_in_body(const struct tr_record *ex)
{
	return ex->status >= 200 && ex->status < 300 && ex->status != 202 &&
	       !(ex->flags & (REC_F_CONN_CLOSED | REC_F_NO_RESPONSE));
}

void llm_mcp_call_record(struct tr_record *out, const struct tr_record *ex,
			const struct llm_mcp_batch *b, const struct llm_mcp_answers *a, unsigned i,
			uint64_t t0)
{
	const struct llm_mcp_call *c = &b->call[i];
	*out = *ex;
	out->flags &= ~(REC_F_MCP_RPC_ERROR | REC_F_MCP_TOOL_ERROR | REC_F_TRUNC_REQUEST_MODEL |
			REC_F_TRUNC_RESPONSE_MODEL);
	out->flags |= REC_F_MCP_BATCH;
	memset(out->request_model, 0, sizeof out->request_model);
	memset(out->response_model, 0, sizeof out->response_model);
	llm_set_json_str(rec_mcp_method_field(out), REC_MCP_NAME_LEN, c->method, c->method_len,
			 c->trunc & LLM_MCP_TRUNC_METHOD, &out->flags, REC_F_TRUNC_RESPONSE_MODEL);
	llm_set_json_str(rec_mcp_tool_field(out), REC_MCP_NAME_LEN, c->tool, c->tool_len,
			 c->trunc & LLM_MCP_TRUNC_TOOL, &out->flags, REC_F_TRUNC_REQUEST_MODEL);
	const struct llm_mcp_answer *ans = answer_of(a, c->id);
	if (!c->id)
		out->flags |= REC_F_MCP_NOTIFICATION;
	else if (ans) {
		if (ans->rpc & LLM_RPC_ERROR)
			out->flags |= REC_F_MCP_RPC_ERROR;
		if (ans->rpc & LLM_RPC_TOOL_ERROR)
			out->flags |= REC_F_MCP_TOOL_ERROR;
		out->duration_ns = ans->at > t0 ? ans->at - t0 : 1;
	} else if (a && a->dropped)
		out->flags |= REC_F_MCP_UNPAIRED; /* its answer may be among those not kept */
	else if (answered_in_body(ex))
		out->flags |= REC_F_MCP_UNANSWERED;
	rec_mcp_set_id(out, c->id);
	if (i > 0) { /* the wire's bytes once per batch */
		out->req_bytes = 0;
		out->resp_bytes = 0;
	}
	rec_mcp_set_dropped(out, i == 0 ? b->dropped : 0);
}
