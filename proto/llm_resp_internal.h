/*
 * llm_resp_internal.h - what the response readers share inside proto/:
 * llm_resp.c owns the JSON extraction, llm_bedrock.c unwraps Bedrock's
 * event stream into it.
 */
#ifndef TOKENRING_LLM_RESP_INTERNAL_H
#define TOKENRING_LLM_RESP_INTERNAL_H

#include "llm.h"

struct resp_ctx {
	struct llm_resp *r;
	struct tr_record *rec;
};

/* JSON bytes of the current event (a whole body, an NDJSON line, an SSE or
 * event-stream payload) into the extractor. */
void llm_resp_json(struct resp_ctx *c, const char *p, size_t n);

/* An event's payload ended: one that was not a whole JSON value is
 * dropped and the scanner starts over (the values count is kept). */
void llm_resp_event_end(struct llm_resp *r);

void llm_bedrock_begin(struct llm_bedrock *b);
void llm_bedrock_feed(struct resp_ctx *c, const char *p, size_t n);

#endif
