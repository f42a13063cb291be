/*
 * llm_settle.c - the last decisions on an exchange, from what was seen of
 * it (struct llm_facts): is it LLM traffic, which provider and operation,
 * and its usage status. One rule for both sides: the shim settles what it
 * read on the wire, and tokenringd settles again once it has decoded a
 * compressed body, with the same function.
 */
#include "llm.h"

void llm_header_tokens(struct llm_facts *f, uint8_t which, const char *v, size_t n)
{
	uint32_t x;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (llm_parse_u32(v, n, &x))
		return;
	if (which == LLM_TOK_INPUT)
		f->hdr_input = x;
	else
		f->hdr_output = x;
	f->hdr_tok |= which;
}

void llm_usage_from_headers(struct llm_facts *f, struct tr_record *rec)
{
	if (f->usage_seen || !f->hdr_tok)
		return; /* the body's own report wins */
	if (f->hdr_tok & LLM_TOK_INPUT)
		rec->prompt_tokens = f->hdr_input;
	if (f->hdr_tok & LLM_TOK_OUTPUT)
		rec->completion_tokens = f->hdr_output;
	f->usage_seen = 1;
}

int llm_is_llm(const struct llm_facts *f)
{
	return f->known_path || (f->shape & (LLM_SHAPE_LLM | LLM_SHAPE_MCP)) || f->usage_object ||
	       f->usage_seen;
}

/* Provider from the body when neither path nor Host named one. OpenAI-style
 * is the default for anything LLM-shaped (vLLM, llama.cpp, gateways). */
uint8_t llm_provider_of(const struct llm_facts *f)
{
	if (f->shape & LLM_SHAPE_MCP) /* a tool server, wherever it is mounted */
		return REC_PROVIDER_MCP;
	if (f->route.provider != REC_PROVIDER_UNKNOWN)
		return f->route.provider;
	if (f->hints & LLM_HINT_GEMINI || f->shape & LLM_SHAPE_CONTENTS)
		return REC_PROVIDER_GEMINI;
	if (f->hints & LLM_HINT_ANTHROPIC)
		return REC_PROVIDER_ANTHROPIC;
	if (f->hints & LLM_HINT_OLLAMA)
		return REC_PROVIDER_OLLAMA;
	return REC_PROVIDER_OPENAI;
}

uint8_t llm_operation_of(const struct llm_facts *f)
{
	if (f->shape & LLM_SHAPE_MCP)
		return REC_OP_MCP;
	if (f->route.operation != REC_OP_UNKNOWN)
		return f->route.operation;
	if (f->op_hint != REC_OP_UNKNOWN)
		return f->op_hint;
	if (f->hints & LLM_HINT_EMBEDDING)
		return REC_OP_EMBEDDINGS;
	if (f->hints & LLM_HINT_RERANK)
		return REC_OP_RERANK;
	if (f->shape & LLM_SHAPE_MESSAGES)
		return REC_OP_CHAT;
	if (f->shape & LLM_SHAPE_CONTENTS)
		return REC_OP_GENERATE_CONTENT;
	if (f->shape & LLM_SHAPE_PROMPT)
		return REC_OP_TEXT_COMPLETION;
	return REC_OP_UNKNOWN;
}

/* OpenAI-style streams only report usage when stream_options asks (DeepSeek
 * copies that; Mistral always ends its stream with usage). The
 * responses API has no such option: its stream always ends with usage in
 * response.completed, so a stream without it is missing usage. */
static int usage_opt_in(uint8_t provider, uint8_t operation)
{
	if (operation == REC_OP_RESPONSES)
		return 0;
	return provider == REC_PROVIDER_OPENAI || provider == REC_PROVIDER_AZURE_OPENAI ||
	       provider == REC_PROVIDER_DASHSCOPE || provider == REC_PROVIDER_DEEPSEEK;
}

uint8_t llm_usage_status(const struct llm_facts *f, uint8_t provider, uint8_t operation)
{
	if (operation == REC_OP_MCP)
		return REC_USAGE_NONE; /* a tool call has no token usage to miss */
	if (f->interrupted)
		return REC_USAGE_INTERRUPTED;
	if (f->usage_seen)
		return REC_USAGE_AVAILABLE;
	if (f->undecodable)
		return REC_USAGE_UNDECODABLE;
	/* Only a stream can lack usage for want of asking; an error answer
	 * (JSON, not a stream) to a streaming request is simply missing it. */
	if (f->stream_req && !f->include_usage && f->resp_stream &&
	    usage_opt_in(provider, operation))
		return REC_USAGE_NOT_REQUESTED;
	return REC_USAGE_MISSING;
}
