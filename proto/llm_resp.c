/*
 * llm_resp.c - what an LLM response reports: its model, the token usage
 * (every provider's spelling mapped onto the record's token types, values
 * taken as reported, never computed), and for streams the events carrying
 * content (chunk count, first-token time). Works on a whole JSON body,
 * NDJSON lines, a JSON-array stream or SSE data payloads alike: each
 * top-level object is one event.
 */
#include <stddef.h>
#include <string.h>

#include "llm_resp_internal.h"
#include "record_mcp.h"

/*
 * Embedding and rerank APIs bill only what they read: some (DashScope native,
 * Voyage, Jina rerank) report it as total_tokens alone. For those shapes, and
 * only when the response named no input or output count, that total is the
 * input. Re-derived whenever a count or a shape hint arrives, so the result
 * does not depend on the order of keys or on the split.
 */
static void input_from_total(struct llm_resp *r, struct tr_record *rec)
{
	if ((r->hints & (LLM_HINT_EMBEDDING | LLM_HINT_RERANK)) && r->tok_seen == LLM_TOK_TOTAL)
		rec->prompt_tokens = rec->total_tokens;
}

static void hint(struct resp_ctx *c, uint8_t h)
{
	c->r->hints |= h;
	input_from_total(c->r, c->rec);
}

/* Containers worth walking: those on the way to usage, model or content;
 * those whose opening tells something are asked about (resp_open). The
 * rest are skipped without a call. */
static const uint8_t resp_keys[JK_COUNT] = {
	[JK_NONE] = JSCAN_K_WALK, /* the event itself */
	[JK_CHOICES] = JSCAN_K_WALK,
	[JK_DELTA] = JSCAN_K_WALK,
	[JK_MESSAGE] = JSCAN_K_WALK,
	[JK_CANDIDATES] = JSCAN_K_WALK,
	[JK_CONTENT] = JSCAN_K_WALK,
	[JK_PARTS] = JSCAN_K_WALK,
	[JK_OUTPUT] = JSCAN_K_WALK,
	[JK_RESPONSE] = JSCAN_K_WALK,
	[JK_PROMPT_DETAILS] = JSCAN_K_WALK,
	[JK_COMPLETION_DETAILS] = JSCAN_K_WALK,
	[JK_INPUT_DETAILS] = JSCAN_K_WALK,
	[JK_OUTPUT_DETAILS] = JSCAN_K_WALK,
	[JK_CONTENT_BLOCK] = JSCAN_K_WALK,
	[JK_DATA] = JSCAN_K_WALK,	/* embeddings: data[].embedding tells the operation */
	[JK_TOOL_CALLS] = JSCAN_K_WALK, /* streamed tool calls: function.arguments is content */
	[JK_FUNCTION] = JSCAN_K_WALK,
	[JK_META] = JSCAN_K_WALK, /* Cohere: meta.billed_units */
	[JK_BILLED_UNITS] = JSCAN_K_WALK,
	[JK_RESULTS] = JSCAN_K_WALK, /* rerank: results[].relevance_score tells the operation */
	[JK_OUTPUTS] = JSCAN_K_WALK, /* Bedrock Mistral: outputs[].text */
	[JK_RESULT] = JSCAN_K_WALK,  /* MCP: result.isError */
	[JK_USAGE] = JSCAN_K_WALK | JSCAN_K_ASK,
	[JK_USAGE_METADATA] = JSCAN_K_WALK | JSCAN_K_ASK,
	[JK_BEDROCK_METRICS] = JSCAN_K_WALK | JSCAN_K_ASK,
	[JK_ERROR] = JSCAN_K_ASK,     /* MCP: a JSON-RPC error */
	[JK_EMBEDDING] = JSCAN_K_ASK, /* tells the operation */
	[JK_EMBEDDINGS] = JSCAN_K_ASK,
};

/* The outcome of a JSON-RPC answer, once it is known to be one. */
static void rpc_outcome(struct resp_ctx *c, uint8_t bit)
{
	struct llm_resp *r = c->r;
	r->rpc |= bit;
	llm_mcp_answer_bit(&r->answers, bit);
	if (!(r->rpc & LLM_RPC_JSONRPC))
		return;
	if (r->rpc & LLM_RPC_ERROR)
		c->rec->flags |= REC_F_MCP_RPC_ERROR;
	if (r->rpc & LLM_RPC_TOOL_ERROR)
		c->rec->flags |= REC_F_MCP_TOOL_ERROR;
}

/* The containers resp_keys asks about (never at depth 0: JK_NONE walks). */
static int resp_open(void *ctx, const struct jscan *s, int is_object)
{
	struct llm_resp *r = ((struct resp_ctx *)ctx)->r;
	enum jkey k = jscan_key(s);
	if (jscan_level(s) == 1 && k == JK_ERROR && is_object)
		rpc_outcome(ctx, LLM_RPC_ERROR);
	if (is_object && (k == JK_USAGE || k == JK_USAGE_METADATA || k == JK_BEDROCK_METRICS)) {
		r->usage_object = 1;
		if (k == JK_USAGE_METADATA)
			r->hints |= LLM_HINT_GEMINI;
	}
	if (k == JK_EMBEDDING || k == JK_EMBEDDINGS)
		hint(ctx, LLM_HINT_EMBEDDING);
	return resp_keys[k] & JSCAN_K_WALK;
}

/* Where a usage key's value goes; NULL for keys that are not token counts. */
static uint32_t *token_field(struct tr_record *rec, enum jkey k)
{
	switch (k) {
	case JK_PROMPT_TOKENS:
	case JK_INPUT_TOKENS:
	case JK_PROMPT_TOKEN_COUNT:
	case JK_INPUT_TOKENS_CC:
	case JK_INPUT_TOKEN_COUNT:
		return &rec->prompt_tokens;
	case JK_COMPLETION_TOKENS:
	case JK_OUTPUT_TOKENS:
	case JK_CANDIDATES_TOKEN_COUNT:
	case JK_OUTPUT_TOKENS_CC:
	case JK_OUTPUT_TOKEN_COUNT:
		return &rec->completion_tokens;
	case JK_TOTAL_TOKENS:
	case JK_TOTAL_TOKEN_COUNT:
	case JK_TOTAL_TOKENS_CC:
		return &rec->total_tokens;
	case JK_CACHED_TOKENS:
	case JK_PROMPT_CACHE_HIT: /* DeepSeek's spelling of the same count */
	case JK_CACHE_READ:
	case JK_CACHE_READ_CC:
	case JK_CACHED_CONTENT_TOKEN_COUNT:
		return &rec->cached_tokens;
	case JK_CACHE_CREATION:
	case JK_CACHE_WRITE_CC:
		return &rec->cache_creation_tokens;
	case JK_REASONING_TOKENS:
	case JK_THOUGHTS_TOKEN_COUNT:
		return &rec->reasoning_tokens;
	default:
		return NULL;
	}
}

/* Counts some APIs put at the top of the body, not under usage: Ollama,
 * and the model bodies of Bedrock's InvokeModel (Titan, Llama). */
static uint32_t *top_level_count(struct tr_record *rec, enum jkey k)
{
	switch (k) {
	case JK_PROMPT_EVAL_COUNT:
	case JK_INPUT_TEXT_TOKEN_COUNT:
	case JK_PROMPT_TOKEN_COUNT_SNAKE:
		return &rec->prompt_tokens;
	case JK_EVAL_COUNT:
	case JK_OUTPUT_TEXT_TOKEN_COUNT:
	case JK_GENERATION_TOKEN_COUNT:
		return &rec->completion_tokens;
	default:
		return NULL;
	}
}

static uint8_t tok_kind(const struct tr_record *rec, const uint32_t *f)
{
	if (f == &rec->prompt_tokens)
		return LLM_TOK_INPUT;
	if (f == &rec->completion_tokens)
		return LLM_TOK_OUTPUT;
	return f == &rec->total_tokens ? LLM_TOK_TOTAL : 0;
}

/* Whether a container of token counts is on the path above the value. */
static int under_counts(const struct jscan *s)
{
	for (unsigned d = 1; d <= s->depth; d++) {
		enum jkey k = (enum jkey)s->key[d];
		if (k == JK_USAGE || k == JK_USAGE_METADATA || k == JK_BILLED_UNITS ||
		    k == JK_BEDROCK_METRICS)
			return 1;
	}
	return 0;
}

/* The scalar handlers (resp_by_key): each is called for its keys only,
 * with any type; `how`: RESP_TRUNCATED and RESP_NONEMPTY (jscan_ops.scalar's
 * truncated and nonempty, in one argument so that all are in registers). */
#define RESP_TRUNCATED 1u
#define RESP_NONEMPTY 2u
typedef void resp_scalar_fn(struct resp_ctx *c, const struct jscan *s, enum jtype t,
			    const char *v, size_t n, unsigned how);

/* A token count, or a rerank score (any key: token_field says which). */
static void on_number(struct resp_ctx *c, const struct jscan *s, enum jtype t, const char *v,
		      size_t n, unsigned how)
{
	(void)how;
	if (t != JT_NUMBER)
		return;
	enum jkey k = jscan_key(s);
	uint32_t *f = NULL, x;
	if (k == JK_RELEVANCE_SCORE) {
		hint(c, LLM_HINT_RERANK);
		return;
	}
	if (under_counts(s))
		f = token_field(c->rec, k);
	else if (jscan_level(s) == 1)
		f = top_level_count(c->rec, k);
	else if (jscan_level(s) == 3 && k == JK_TOKEN_COUNT && jscan_key_at_level(s, 1) == JK_RESULTS)
		f = &c->rec->completion_tokens; /* Bedrock Titan: results[].tokenCount */
	if (!f || llm_parse_u32(v, n, &x))
		return;
	if (k == JK_PROMPT_EVAL_COUNT || k == JK_EVAL_COUNT)
		c->r->hints |= LLM_HINT_OLLAMA;
	*f = x; /* later reports (stream deltas, cumulative metadata) win */
	c->r->usage_seen = 1;
	c->r->tok_seen |= tok_kind(c->rec, f);
	input_from_total(c->r, c->rec);
}

static int is_model_key(const struct jscan *s)
{
	enum jkey k = jscan_key(s), parent = jscan_key_at_level(s, 1);
	if (jscan_level(s) == 1)
		return k == JK_MODEL || k == JK_MODEL_VERSION;
	/* Anthropic message_start and the responses API nest the model. */
	return jscan_level(s) == 2 && k == JK_MODEL &&
	       (parent == JK_MESSAGE || parent == JK_RESPONSE);
}

/* Event "type" (Anthropic, responses API): a dotted type that is not a
 * delta (response.completed, *.done) repeats content already counted. */
static void on_type(struct llm_resp *r, const char *v, size_t n)
{
	if (n >= 13 && memcmp(v, "message_start", 13) == 0)
		r->hints |= LLM_HINT_ANTHROPIC;
	if (memchr(v, '.', n) && !(n >= 6 && memcmp(v + n - 6, ".delta", 6) == 0))
		r->ev_excluded = 1;
}

static void on_object(struct llm_resp *r, const char *v, size_t n)
{
	if (n >= 15 && memcmp(v, "chat.completion", 15) == 0)
		r->op_hint = REC_OP_CHAT;
	else if (n == 15 && memcmp(v, "text_completion", 15) == 0)
		r->op_hint = REC_OP_TEXT_COMPLETION;
	else if (n == 8 && memcmp(v, "response", 8) == 0)
		r->op_hint = REC_OP_RESPONSES;
	else
		return;
	r->hints |= LLM_HINT_OPENAI;
}

static void on_model(struct resp_ctx *c, const struct jscan *s, enum jtype t, const char *v,
		     size_t n, unsigned how)
{
	struct tr_record *rec = c->rec;
	if (t == JT_STRING && is_model_key(s) && rec->response_model[0] == 0 && n > 0)
		llm_set_json_str(rec->response_model, REC_MODEL_LEN, v, n, (how & RESP_TRUNCATED) != 0,
				 &rec->flags, REC_F_TRUNC_RESPONSE_MODEL);
}

static void on_type_key(struct resp_ctx *c, const struct jscan *s, enum jtype t, const char *v,
			size_t n, unsigned how)
{
	(void)how;
	if (t == JT_STRING && jscan_level(s) == 1)
		on_type(c->r, v, n);
}

static void on_object_key(struct resp_ctx *c, const struct jscan *s, enum jtype t,
			  const char *v, size_t n, unsigned how)
{
	(void)how;
	if (t == JT_STRING && jscan_level(s) == 1)
		on_object(c->r, v, n);
}

static void on_embedding(struct resp_ctx *c, const struct jscan *s, enum jtype t, const char *v,
			 size_t n, unsigned how)
{
	(void)s, (void)v, (void)n, (void)how;
	if (t == JT_STRING) /* encoding_format base64: one string */
		hint(c, LLM_HINT_EMBEDDING);
}

/* Content: the event carries some (a chunk, for the count and TTFT). */
static void on_content(struct resp_ctx *c, const struct jscan *s, enum jtype t, const char *v,
		       size_t n, unsigned how)
{
	(void)s, (void)v, (void)n;
	if (t == JT_STRING && (how & RESP_NONEMPTY))
		c->r->ev_content = 1;
}

/* JSON-RPC's keys: jsonrpc and id at the top, result.isError. */
static void on_rpc(struct resp_ctx *c, const struct jscan *s, enum jtype t, const char *v,
		   size_t n, unsigned how)
{
	enum jkey k = jscan_key(s);
	(void)how;
	if (jscan_level(s) == 1 && k == JK_JSONRPC)
		rpc_outcome(c, LLM_RPC_JSONRPC);
	else if (jscan_level(s) == 1 && k == JK_ID && t != JT_NULL)
		llm_mcp_answer_id(&c->r->answers, t, v, n);
	else if (jscan_level(s) == 2 && k == JK_IS_ERROR && t == JT_TRUE &&
		 jscan_key_at_level(s, 1) == JK_RESULT)
		rpc_outcome(c, LLM_RPC_TOOL_ERROR);
}

/* The handler of each key a response's strings and JSON-RPC scalars are
 * read for; a known key without one (most of them: request keys,
 * containers) costs no call. Numbers go to on_number whatever the key
 * (token_field and top_level_count say which it reads). */
static resp_scalar_fn *const resp_by_key[JK_COUNT] = {
	[JK_MODEL] = on_model,
	[JK_MODEL_VERSION] = on_model,
	[JK_TYPE] = on_type_key,
	[JK_OBJECT] = on_object_key,
	[JK_EMBEDDING] = on_embedding,
	[JK_CONTENT] = on_content,
	[JK_TEXT] = on_content,
	[JK_DELTA] = on_content,
	[JK_RESPONSE] = on_content,
	[JK_REASONING_CONTENT] = on_content,
	[JK_THINKING] = on_content,
	[JK_PARTIAL_JSON] = on_content,
	[JK_ARGUMENTS] = on_content,
	[JK_OUTPUT_TEXT] = on_content,
	[JK_GENERATION] = on_content,
	[JK_JSONRPC] = on_rpc,
	[JK_ID] = on_rpc,
	[JK_IS_ERROR] = on_rpc,
};

/* A dispatch only: one load and, for a key with a handler, a jump. */
static void resp_scalar(void *ctx, const struct jscan *s, enum jtype t, const char *v, size_t n,
			int truncated, int nonempty)
{
	resp_scalar_fn *f = resp_by_key[jscan_key(s)];
	if (!f && t == JT_NUMBER)
		f = on_number;
	if (f)
		f(ctx, s, t, v, n,
		  (truncated ? RESP_TRUNCATED : 0u) | (nonempty ? RESP_NONEMPTY : 0u));
}

static void resp_event_end(void *ctx, const struct jscan *s)
{
	struct llm_resp *r = ((struct resp_ctx *)ctx)->r;
	(void)s;
	llm_mcp_answer_end(&r->answers, r->now);
	if (r->ev_content && !r->ev_excluded) {
		if (r->chunks++ == 0)
			r->ttft_at = r->now;
	}
	r->ev_content = 0;
	r->ev_excluded = 0;
}

static const struct jscan_ops resp_ops = {
	.open = resp_open,
	.scalar = resp_scalar,
	.event_end = resp_event_end,
	.keys = resp_keys,
};

static void sse_data(void *ctx, const char *p, size_t n)
{
	struct resp_ctx *c = ctx;
	llm_mcp_sse_data(&c->r->answers, p, n); /* the SSE transport's endpoint event */
	jscan_feed(&c->r->js, p, n, &resp_ops, c);
}

void llm_resp_json(struct resp_ctx *c, const char *p, size_t n)
{
	jscan_feed(&c->r->js, p, n, &resp_ops, c);
}

/* A blank line ends an SSE event (and a message an event stream): a
 * payload that was not one whole JSON value ([DONE], plain text) is dropped
 * here and the scanner starts over, still counting the values begun (more
 * than one tells a stream). */
void llm_resp_event_end(struct llm_resp *r)
{
	if (!jscan_between(&r->js)) {
		uint32_t values = r->js.values;
		jscan_reset(&r->js);
		r->js.values = values;
		r->ev_content = 0;
		r->ev_excluded = 0;
		llm_mcp_answer_drop(&r->answers); /* half an answer is none */
	}
}

static void sse_event_end(void *ctx)
{
	struct llm_resp *r = ((struct resp_ctx *)ctx)->r;
	llm_mcp_sse_event_end(&r->answers);
	llm_resp_event_end(r);
}

static const struct llm_sse_ops sse_ops = {
	.data = sse_data,
	.event_end = sse_event_end,
};

/* The JSON-RPC answers and the endpoint are written before they are read
 * (up to answers.n and endpoint_len): every exchange clears the rest only. */
_Static_assert(offsetof(struct llm_resp, answers) + sizeof(struct llm_mcp_answers) ==
		       sizeof(struct llm_resp),
	       "the answers are the response's last member");
_Static_assert(offsetof(struct llm_mcp_answers, endpoint) + LLM_MCP_ENDPOINT_KEEP ==
			       sizeof(struct llm_mcp_answers) &&
		       offsetof(struct llm_mcp_answers, a) +
				       LLM_MCP_CALLS * sizeof(struct llm_mcp_answer) ==
			       offsetof(struct llm_mcp_answers, endpoint),
	       "the answers and the endpoint close llm_mcp_answers");

void llm_resp_begin(struct llm_resp *r, enum llm_body_mode mode)
{
	memset(r, 0, offsetof(struct llm_resp, answers.a));
	r->mode = (uint8_t)mode;
	llm_bedrock_begin(&r->bedrock);
}

static void json_feed(struct resp_ctx *c, const char *p, size_t n)
{
	struct llm_resp *r = c->r;
	if (!r->js.err && jscan_feed(&r->js, p, n, &resp_ops, c) == JSCAN_SYNTAX)
		r->json_error = 1;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_prefix(const char *have, size_t n, const char *lit)
{
	return n <= strlen(lit) && memcmp(have, lit, n) == 0;
}

/*
 * Decide, from the first bytes of a body declared as something else,
 * whether it is an event stream. Bytes are held (at most LLM_SNIFF_MAX)
 * while they may still spell a field name, so any split decides alike; once
 * decided, the held bytes are replayed into the chosen reader. Returns the
 * bytes of p consumed. Not inlined: once per body, it would make every
 * call of llm_resp_body (one per event of a stream) save its registers.
 */
__attribute__((noinline)) static size_t sniff(struct resp_ctx *c, const char *p, size_t n)
{
	struct llm_resp *r = c->r;
	size_t i = 0;
	if (r->sniff_len == 0) {
		while (i < n && is_ws(p[i]))
			i++; /* blank space before either kind of body means nothing */
		if (i < n && (p[i] == '{' || p[i] == '[')) {
			r->sniffed = 1; /* the usual body: JSON, read in place */
			return i;
		}
	}
	for (; i < n && !r->sniffed; i++) {
		r->sniff[r->sniff_len++] = p[i];
		int data = is_prefix(r->sniff, r->sniff_len, "data:");
		int event = is_prefix(r->sniff, r->sniff_len, "event:");
		int comment = r->sniff[0] == ':';
		if (r->sniff[0] == 0) {
			r->sniffed = 1;
			r->mode = LLM_BODY_EVSTREAM;
			llm_bedrock_feed(c, r->sniff, 1);
		} else if (comment || (data && r->sniff_len == 5) || (event && r->sniff_len == 6)) {
			r->sniffed = 1;
			r->mode = LLM_BODY_SSE;
			llm_sse_feed(&r->sse, r->sniff, r->sniff_len, &sse_ops, c);
		} else if (!data && !event) {
			r->sniffed = 1;
			json_feed(c, r->sniff, r->sniff_len);
		}
	}
	return i;
}

void llm_resp_body(struct llm_resp *r, struct tr_record *rec, const char *p, size_t n,
		   uint64_t now)
{
	struct resp_ctx c = {r, rec};
	r->now = now;
	if (!r->answers.owner.rec)
		r->answers.owner = (struct llm_mcp_owner){rec, rec->start_ns};
	if (r->mode == LLM_BODY_JSON && !r->sniffed) {
		size_t used = sniff(&c, p, n);
		p += used;
		n -= used;
	}
	if (r->mode == LLM_BODY_EVSTREAM) {
		llm_bedrock_feed(&c, p, n);
	} else if (r->mode == LLM_BODY_SSE) {
		llm_sse_feed(&r->sse, p, n, &sse_ops, &c);
	} else if (r->mode == LLM_BODY_JSON && n) {
		json_feed(&c, p, n);
	}
}

int llm_parse_u32(const char *v, size_t n, uint32_t *out)
{
	uint64_t x = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > UINT32_MAX)
		return -1;
	*out = (uint32_t)x;
	return 0;
}
