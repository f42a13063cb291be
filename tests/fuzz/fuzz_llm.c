/* fuzz_llm.c - libFuzzer target for the LLM extractors: the JSON key
 * scanner, the SSE framer, and the request/response extractors on any
 * bytes in any pieces. Strings written to the record stay NUL-terminated,
 * and a whole feed and a cut feed agree on what was extracted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
	struct llm_req q;
	llm_req_begin(&q);
	for (size_t at = 0; at < n; at += step)
		llm_req_body(&q, &a, buf + at, step < n - at ? step : n - at);
	if (strnlen(a.request_model, REC_MODEL_LEN) >= REC_MODEL_LEN)
		abort();
	return 0;
}
