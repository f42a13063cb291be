/* fuzz_llm.c - libFuzzer target for the LLM extractors: the JSON key
 * scanner, the SSE framer, and the request/response extractors on any
 * bytes in any pieces. Strings written to the record stay NUL-terminated,
 * and a whole feed and a cut feed agree on what was extracted (models,
 * counts, flags, hints, JSON-RPC answers and batch calls with their ids).
 * The same bytes, read as a skipped container, are crossed by the block
 * index (llm_json_index.h) as a byte-by-byte walk crosses them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "llm_json_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void resp(const char *buf, size_t n, size_t step, enum llm_body_mode mode,
		 struct tr_record *rec, struct llm_resp *r)
{
	memset(rec, 0, sizeof *rec);
	llm_resp_begin(r, mode);
	for (size_t at = 0; at < n;) {
		size_t k = step && step < n - at ? step : n - at;
		llm_resp_body(r, rec, buf + at, k, at);
		at += k;
	}
	if (strnlen(rec->response_model, REC_MODEL_LEN) >= REC_MODEL_LEN)
		abort();
}

static void req(const char *buf, size_t n, size_t step, struct tr_record *rec, struct llm_req *q)
{
	memset(rec, 0, sizeof *rec);
	llm_req_begin(q);
	for (size_t at = 0; at < n;) {
		size_t k = step && step < n - at ? step : n - at;
		llm_req_body(q, rec, buf + at, k);
		at += k;
	}
}

/* The JSON-RPC answers read (their times are the pieces' and differ). */
static int same_answers(const struct llm_resp *x, const struct llm_resp *y)
{
	if (x->answers.n != y->answers.n || x->answers.dropped != y->answers.dropped)
		return 0;
	for (unsigned i = 0; i < x->answers.n; i++)
		if (x->answers.a[i].id != y->answers.a[i].id ||
		    x->answers.a[i].rpc != y->answers.a[i].rpc)
			return 0;
	return 1;
}

/* The reference: [p, e) walked byte by byte from *depth brackets open,
 * outside strings; just past the close, or NULL with *in set if the text
 * ends in a string. *stray: the first backslash outside strings. */
static const char *skip_walk(const char *p, const char *e, uint32_t *depth, int *in,
			     const char **stray)
{
	int odd = 0;
	for (*in = 0; p < e; p++) {
		if (*in) {
			if (*p == '"' && !odd)
				*in = 0;
			odd = *p == '\\' ? !odd : 0;
		} else if (*p == '"') {
			*in = 1;
			odd = 0;
		} else if (*p == '{' || *p == '[') {
			++*depth;
		} else if ((*p == '}' || *p == ']') && --*depth == 0) {
			return p + 1;
		} else if (*p == '\\' && !*stray) {
			*stray = p;
		}
	}
	return NULL;
}

/* jidx_skip ends where the walk does, or (after a stray backslash, or at
 * a string cut by the end) stops short outside strings with the walk's
 * depth there: with each variant of the block bits this CPU runs (1: SSE2
 * or the portable loop, 2: AVX2; jidx_variant), the one the process
 * chose last (0), so the scanner below runs as it would unfuzzed. */
static void check_skip_variant(const char *p, size_t n);

static void check_skip(const char *p, size_t n)
{
	for (int v = 1; v <= 2; v++)
		if (jidx_variant(v) == v)
			check_skip_variant(p, n);
	jidx_variant(0);
	check_skip_variant(p, n);
}

static void check_skip_variant(const char *p, size_t n)
{
	const char *e = p + n, *stray = NULL;
	uint32_t dw = 1, depth = 1, never = 1u << 30;
	int in, closed = 0;
	skip_walk(p, e, &never, &in, &stray);
	const char *want = skip_walk(p, e, &dw, &in, &(const char *){NULL});
	const char *got = jidx_skip(&depth, p, e, p, &closed);
	if (closed || (want && !stray)) {
		if (!closed || got != want)
			abort();
		return;
	}
	if ((stray && got > stray) || (want && got >= want) || got < p || got > e)
		abort();
	uint32_t dg = 1;
	if (skip_walk(p, got, &dg, &in, &(const char *){NULL}) || in || dg != depth)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_skip((const char *)data, size);
	if (size < 1)
		return 0;
	size_t step = 1 + data[0] % 16;
	enum llm_body_mode mode = data[0] & 0x80 ? LLM_BODY_SSE : LLM_BODY_JSON;
	const char *buf = (const char *)data + 1;
	size_t n = size - 1;
	struct tr_record a, b;
	struct llm_resp ra, rb;
	resp(buf, n, 0, mode, &a, &ra);
	resp(buf, n, step, mode, &b, &rb);
	if (a.prompt_tokens != b.prompt_tokens || a.completion_tokens != b.completion_tokens ||
	    a.total_tokens != b.total_tokens || ra.chunks != rb.chunks ||
	    ra.usage_seen != rb.usage_seen || memcmp(a.response_model, b.response_model, REC_MODEL_LEN))
		abort();
	if (a.cached_tokens != b.cached_tokens || a.reasoning_tokens != b.reasoning_tokens ||
	    a.cache_creation_tokens != b.cache_creation_tokens || a.flags != b.flags ||
	    ra.hints != rb.hints || ra.op_hint != rb.op_hint || ra.json_error != rb.json_error ||
	    ra.usage_object != rb.usage_object || ra.rpc != rb.rpc || !same_answers(&ra, &rb))
		abort();
	struct llm_req qa, qb;
	req(buf, n, 0, &a, &qa);
	req(buf, n, step, &b, &qb);
	if (strnlen(a.request_model, REC_MODEL_LEN) >= REC_MODEL_LEN ||
	    memcmp(a.request_model, b.request_model, REC_MODEL_LEN) || qa.shape != qb.shape ||
	    qa.stream != qb.stream || qa.include_usage != qb.include_usage || qa.id != qb.id ||
	    qa.mcp != qb.mcp || qa.json_error != qb.json_error || qa.batch.n != qb.batch.n ||
	    qa.batch.dropped != qb.batch.dropped)
		abort();
	for (unsigned i = 0; i < qa.batch.n; i++)
		if (qa.batch.call[i].id != qb.batch.call[i].id ||
		    qa.batch.call[i].method_len != qb.batch.call[i].method_len ||
		    qa.batch.call[i].tool_len != qb.batch.call[i].tool_len)
			abort();
	return 0;
}
