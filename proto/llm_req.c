/*
 * llm_req.c - what an LLM request body asks for: the top-level model,
 * whether it streams and whether it asked for usage in the stream. Only the
 * top level and stream_options are walked; messages, tools and the rest are
 * skipped with memchr (llm_json.c), so a 20 MB base64 image costs little.
 */
#include <stddef.h>
#include <string.h>

#include "llm.h"
#include "record_mcp.h"

struct req_ctx {
	struct llm_req *r;
	struct tr_record *rec;
};

static uint8_t shape_of(enum jkey k)
{
	switch (k) {
	case JK_MODEL:
		return LLM_SHAPE_MODEL;
	case JK_MESSAGES:
		return LLM_SHAPE_MESSAGES;
	case JK_PROMPT:
		return LLM_SHAPE_PROMPT;
	case JK_INPUT:
		return LLM_SHAPE_INPUT;
	case JK_INPUT_TEXT: /* Bedrock Titan: a prompt by another name */
		return LLM_SHAPE_PROMPT;
	case JK_CONTENTS:
		return LLM_SHAPE_CONTENTS;
	default:
		return 0;
	}
}

static int req_open(void *ctx, const struct jscan *s, int is_object)
{
	struct req_ctx *c = ctx;
	if (s->depth == 0)
		return 1; /* an array: a JSON-RPC batch's elements are read */
	if (s->top_array) /* a batch element, and its params */
		return is_object && (s->depth == 1 || (s->depth == 2 && jscan_key(s) == JK_PARAMS));
	if (s->depth == 1) {
		c->r->shape |= shape_of(jscan_key(s));
		return is_object && (jscan_key(s) == JK_STREAM_OPTIONS || jscan_key(s) == JK_PARAMS);
	}
	return 0;
}

/* Once the body has shown both "jsonrpc" and an MCP method, in either
 * order, the exchange is MCP's: the method goes to the record. */
static void mcp_check(struct llm_req *r, struct tr_record *rec)
{
	if (r->mcp || !r->jsonrpc || !r->method_len || !llm_mcp_method(r->method, r->method_len))
		return;
	r->mcp = 1;
	r->shape |= LLM_SHAPE_MCP;
	llm_set_json_str(rec_mcp_method_field(rec), REC_MCP_NAME_LEN, r->method, r->method_len,
			 r->method_trunc, &rec->flags, REC_F_TRUNC_RESPONSE_MODEL);
}

static void keep_method(struct llm_req *r, const char *v, size_t n, int truncated)
{
	size_t k = n < LLM_MCP_METHOD_KEEP ? n : LLM_MCP_METHOD_KEEP;
	memcpy(r->method, v, k);
	r->method_len = (uint8_t)k;
	r->method_trunc = truncated || k < n;
}

static void req_scalar(void *ctx, const struct jscan *s, enum jtype t, const char *v, size_t n,
		       int truncated, int nonempty)
{
	struct req_ctx *c = ctx;
	enum jkey k = jscan_key(s);
	(void)nonempty;
	if (s->top_array) {
		llm_mcp_batch_scalar(&c->r->batch, s, t, v, n, truncated);
		return;
	}
	/* params.name: the tool of tools/call (record_mcp.h) */
	if (s->depth == 2 && k == JK_NAME && s->key[1] == JK_PARAMS && t == JT_STRING &&
	    rec_mcp_tool(c->rec)[0] == 0) {
		llm_set_json_str(rec_mcp_tool_field(c->rec), REC_MCP_NAME_LEN, v, n, truncated,
				 &c->rec->flags, REC_F_TRUNC_REQUEST_MODEL);
		return;
	}
	if (s->depth == 2 && k == JK_INCLUDE_USAGE && s->key[1] == JK_STREAM_OPTIONS) {
		c->r->include_usage = t == JT_TRUE;
		return;
	}
	if (s->depth != 1)
		return;
	if (k == JK_ID && t != JT_NULL) {
		c->r->id = llm_mcp_id(t, v, n);
		return;
	}
	c->r->shape |= shape_of(k);
	if (k == JK_STREAM)
		c->r->stream = t == JT_TRUE;
	if (k == JK_JSONRPC || (k == JK_METHOD && t == JT_STRING && !c->r->method_len)) {
		if (k == JK_JSONRPC)
			c->r->jsonrpc = 1;
		else
			keep_method(c->r, v, n, truncated);
		mcp_check(c->r, c->rec);
	}
	if (k == JK_MODEL && t == JT_STRING && c->rec->request_model[0] == 0) {
		llm_set_json_str(c->rec->request_model, REC_MODEL_LEN, v, n, truncated,
				 &c->rec->flags, REC_F_TRUNC_REQUEST_MODEL);
	}
}

/* A batch element ended: its first MCP call makes the exchange MCP's (the
 * calls' own records are made when it ends: llm_mcp_call_record). */
static void req_event_end(void *ctx, const struct jscan *s)
{
	struct req_ctx *c = ctx;
	struct llm_req *r = c->r;
	if (!s->top_array)
		return;
	llm_mcp_batch_end(&r->batch);
	if (r->mcp || r->batch.n == 0)
		return;
	const struct llm_mcp_call *first = &r->batch.call[0];
	r->mcp = 1;
	r->shape |= LLM_SHAPE_MCP;
	llm_set_json_str(rec_mcp_method_field(c->rec), REC_MCP_NAME_LEN, first->method,
			 first->method_len, first->trunc & LLM_MCP_TRUNC_METHOD, &c->rec->flags,
			 REC_F_TRUNC_RESPONSE_MODEL);
}

/* The containers req_open is asked about: the top level (and a batch's
 * elements), those that name the request's shape, stream_options and
 * params. Any other (tools, response_format, metadata...) is skipped
 * without a call: req_open would say 0 and note nothing. */
static const uint8_t req_keys[JK_COUNT] = {
	[JK_NONE] = JSCAN_K_ASK,     [JK_MODEL] = JSCAN_K_ASK,
	[JK_MESSAGES] = JSCAN_K_ASK, [JK_PROMPT] = JSCAN_K_ASK,
	[JK_INPUT] = JSCAN_K_ASK,    [JK_INPUT_TEXT] = JSCAN_K_ASK,
	[JK_CONTENTS] = JSCAN_K_ASK, [JK_STREAM_OPTIONS] = JSCAN_K_ASK,
	[JK_PARAMS] = JSCAN_K_ASK,
};

static const struct jscan_ops req_ops = {
	.open = req_open,
	.scalar = req_scalar,
	.event_end = req_event_end,
	.keys = req_keys,
};

/* The batch's calls past the first are cleared as the batch reaches them
 * (llm_mcp_batch_end): a request that is no batch clears 200 bytes, not
 * its 1 KiB. */
_Static_assert(offsetof(struct llm_req, batch) + sizeof(struct llm_mcp_batch) ==
		       sizeof(struct llm_req),
	       "the batch is the request's last member");
_Static_assert(offsetof(struct llm_mcp_batch, call) +
			       LLM_MCP_CALLS * sizeof(struct llm_mcp_call) ==
		       sizeof(struct llm_mcp_batch),
	       "the calls are the batch's last member");

void llm_req_begin(struct llm_req *r)
{
	memset(r, 0, offsetof(struct llm_req, batch.call[1]));
}

void llm_req_body(struct llm_req *r, struct tr_record *rec, const char *p, size_t n)
{
	struct req_ctx c = {r, rec};
	if (!r->began) {
		r->began = 1;
		r->batch.owner = (struct llm_mcp_owner){rec, rec->start_ns};
	}
	if (r->js.err)
		return;
	if (jscan_feed(&r->js, p, n, &req_ops, &c) == JSCAN_SYNTAX)
		r->json_error = 1;
}
