/*
 * conn_emit.c - the last step of an exchange: decide whether it is an LLM
 * exchange, settle provider, operation and usage status, turn monotonic
 * times into the record's durations, and hand the record to the hooks.
 */
#include <string.h>

#include "conn_internal.h"

static int is_llm(const struct conn_exch *ex)
{
	return ex->known_path || (ex->shape & LLM_SHAPE_LLM) || ex->usage_object ||
	       ex->usage_seen;
}

/* Provider from the body when neither path nor Host named one. OpenAI-style
 * is the default for anything LLM-shaped (vLLM, llama.cpp, gateways). */
static uint8_t provider_of(const struct conn_exch *ex)
{
	if (ex->route.provider != REC_PROVIDER_UNKNOWN)
		return ex->route.provider;
	if (ex->hints & LLM_HINT_GEMINI || ex->shape & LLM_SHAPE_CONTENTS)
		return REC_PROVIDER_GEMINI;
	if (ex->hints & LLM_HINT_ANTHROPIC)
		return REC_PROVIDER_ANTHROPIC;
	if (ex->hints & LLM_HINT_OLLAMA)
		return REC_PROVIDER_OLLAMA;
	return REC_PROVIDER_OPENAI;
}

static uint8_t operation_of(const struct conn_exch *ex)
{
	if (ex->route.operation != REC_OP_UNKNOWN)
		return ex->route.operation;
	if (ex->op_hint != REC_OP_UNKNOWN)
		return ex->op_hint;
	if (ex->hints & LLM_HINT_EMBEDDING)
		return REC_OP_EMBEDDINGS;
	if (ex->shape & LLM_SHAPE_MESSAGES)
		return REC_OP_CHAT;
	if (ex->shape & LLM_SHAPE_CONTENTS)
		return REC_OP_GENERATE_CONTENT;
	if (ex->shape & LLM_SHAPE_PROMPT)
		return REC_OP_TEXT_COMPLETION;
	return REC_OP_UNKNOWN;
}

/* OpenAI-style streams only report usage when stream_options asks. The
 * responses API has no such option: its stream always ends with usage in
 * response.completed, so a stream without it is missing usage. */
static int usage_opt_in(const struct tr_record *r)
{
	if (r->operation == REC_OP_RESPONSES)
		return 0;
	return r->provider == REC_PROVIDER_OPENAI || r->provider == REC_PROVIDER_AZURE_OPENAI ||
	       r->provider == REC_PROVIDER_DASHSCOPE;
}

static uint8_t usage_status(const struct conn_exch *ex)
{
	if (ex->interrupted)
		return REC_USAGE_INTERRUPTED;
	if (ex->usage_seen)
		return REC_USAGE_AVAILABLE;
	/* Only a stream can lack usage for want of asking; an error answer
	 * (JSON, not a stream) to a streaming request is simply missing it. */
	if (ex->stream_req && !ex->include_usage && ex->resp_stream && usage_opt_in(&ex->rec))
		return REC_USAGE_NOT_REQUESTED;
	return REC_USAGE_MISSING;
}

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
	r->provider = provider_of(ex);
	r->operation = operation_of(ex);
	r->usage_status = usage_status(ex);
	if (r->usage_status != REC_USAGE_AVAILABLE)
		clear_tokens(r);
}

static void settle_times(struct conn_exch *ex, uint64_t now)
{
	struct tr_record *r = &ex->rec;
	uint64_t end = ex->t_end ? ex->t_end : now;
	r->duration_ns = end > ex->t0 ? end - ex->t0 : 0;
	if (ex->resp_stream) {
		r->flags |= REC_F_STREAM;
		r->chunks = ex->chunks;
		if (ex->ttft_at)
			r->ttft_ns = ex->ttft_at > ex->t0 ? ex->ttft_at - ex->t0 : 1;
	}
}

void conn_finish(const struct conn_call *k, struct conn_exch *ex)
{
	struct tr_record *r = &ex->rec;
	r->reporter = k->st->role == CONN_ROLE_SERVER ? REC_REPORTER_DESTINATION
						       : REC_REPORTER_SOURCE;
	settle_times(ex, k->now);
	if (is_llm(ex))
		settle_llm(ex);
	else {
		r->usage_status = REC_USAGE_NONE;
		clear_tokens(r);
	}
	if ((r->flags & REC_F_LLM) || k->cfg->http_all)
		k->emit(k->ctx, r);
}
