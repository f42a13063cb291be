/*
 * llm_keys.c - the names of the JSON keys the extractors know (llm_json.h
 * enum jkey). A key is looked up once, when its closing quote is read: an
 * index by length into the table (kept sorted by length) and a memcmp among
 * the few names of that length.
 */
#include <string.h>

#include "llm_json.h"
#include "llm_keys_internal.h"

struct key_name {
	const char *name;
	uint8_t len;
	uint8_t id;
};

#define K(s, id) {s, sizeof(s) - 1, id}

static const struct key_name keys[] = {
	K("id", JK_ID),
	K("data", JK_DATA),
	K("text", JK_TEXT),
	K("type", JK_TYPE),
	K("meta", JK_META),
	K("name", JK_NAME),
	K("delta", JK_DELTA),
	K("input", JK_INPUT),
	K("model", JK_MODEL),
	K("parts", JK_PARTS),
	K("usage", JK_USAGE),
	K("error", JK_ERROR),
	K("object", JK_OBJECT),
	K("output", JK_OUTPUT),
	K("prompt", JK_PROMPT),
	K("stream", JK_STREAM),
	K("method", JK_METHOD),
	K("params", JK_PARAMS),
	K("result", JK_RESULT),
	K("choices", JK_CHOICES),
	K("content", JK_CONTENT),
	K("message", JK_MESSAGE),
	K("results", JK_RESULTS),
	K("outputs", JK_OUTPUTS),
	K("jsonrpc", JK_JSONRPC),
	K("isError", JK_IS_ERROR),
	K("contents", JK_CONTENTS),
	K("function", JK_FUNCTION),
	K("messages", JK_MESSAGES),
	K("response", JK_RESPONSE),
	K("thinking", JK_THINKING),
	K("arguments", JK_ARGUMENTS),
	K("embedding", JK_EMBEDDING),
	K("inputText", JK_INPUT_TEXT),
	K("candidates", JK_CANDIDATES),
	K("embeddings", JK_EMBEDDINGS),
	K("eval_count", JK_EVAL_COUNT),
	K("tool_calls", JK_TOOL_CALLS),
	K("tokenCount", JK_TOKEN_COUNT),
	K("outputText", JK_OUTPUT_TEXT),
	K("generation", JK_GENERATION),
	K("inputTokens", JK_INPUT_TOKENS_CC),
	K("totalTokens", JK_TOTAL_TOKENS_CC),
	K("input_tokens", JK_INPUT_TOKENS),
	K("modelVersion", JK_MODEL_VERSION),
	K("partial_json", JK_PARTIAL_JSON),
	K("total_tokens", JK_TOTAL_TOKENS),
	K("billed_units", JK_BILLED_UNITS),
	K("outputTokens", JK_OUTPUT_TOKENS_CC),
	K("cached_tokens", JK_CACHED_TOKENS),
	K("content_block", JK_CONTENT_BLOCK),
	K("include_usage", JK_INCLUDE_USAGE),
	K("output_tokens", JK_OUTPUT_TOKENS),
	K("prompt_tokens", JK_PROMPT_TOKENS),
	K("usageMetadata", JK_USAGE_METADATA),
	K("stream_options", JK_STREAM_OPTIONS),
	K("totalTokenCount", JK_TOTAL_TOKEN_COUNT),
	K("relevance_score", JK_RELEVANCE_SCORE),
	K("inputTokenCount", JK_INPUT_TOKEN_COUNT),
	K("promptTokenCount", JK_PROMPT_TOKEN_COUNT),
	K("reasoning_tokens", JK_REASONING_TOKENS),
	K("outputTokenCount", JK_OUTPUT_TOKEN_COUNT),
	K("completion_tokens", JK_COMPLETION_TOKENS),
	K("prompt_eval_count", JK_PROMPT_EVAL_COUNT),
	K("reasoning_content", JK_REASONING_CONTENT),
	K("thoughtsTokenCount", JK_THOUGHTS_TOKEN_COUNT),
	K("prompt_token_count", JK_PROMPT_TOKEN_COUNT_SNAKE),
	K("inputTextTokenCount", JK_INPUT_TEXT_TOKEN_COUNT),
	K("candidatesTokenCount", JK_CANDIDATES_TOKEN_COUNT),
	K("input_tokens_details", JK_INPUT_DETAILS),
	K("cacheReadInputTokens", JK_CACHE_READ_CC),
	K("output_tokens_details", JK_OUTPUT_DETAILS),
	K("prompt_tokens_details", JK_PROMPT_DETAILS),
	K("cacheWriteInputTokens", JK_CACHE_WRITE_CC),
	K("generation_token_count", JK_GENERATION_TOKEN_COUNT),
	K("cache_read_input_tokens", JK_CACHE_READ),
	K("cachedContentTokenCount", JK_CACHED_CONTENT_TOKEN_COUNT),
	K("prompt_cache_hit_tokens", JK_PROMPT_CACHE_HIT),
	K("completion_tokens_details", JK_COMPLETION_DETAILS),
	K("totalOutputTextTokenCount", JK_OUTPUT_TEXT_TOKEN_COUNT),
	K("cache_creation_input_tokens", JK_CACHE_CREATION),
	K("amazon-bedrock-invocationMetrics", JK_BEDROCK_METRICS),
};

_Static_assert(sizeof(keys) / sizeof(*keys) == JK_COUNT - 2, "a name per known key");
_Static_assert(sizeof(keys) / sizeof(*keys) < 256, "len_start holds indexes as bytes");

#define N_KEYS (sizeof(keys) / sizeof(*keys))

/* len_start[n]: index of the first name of length n (the table is sorted by
 * length); names of length n are [len_start[n], len_start[n + 1]). Kept in
 * step with keys[] by hand; the unit test looking every name up catches a
 * slip. */
static const uint8_t len_start[JSCAN_KEY_MAX + 2] = {
	0, 0, 0, 1, 1, 6, 12, 19, 26, 31, 34, 41,
	43, 49, 55, 56, 59, 62, 65, 67, 68, 71, 74, 75,
	78, 78, 80, 80, 81, 81, 81, 81, 81, 82, 82, 82,
	82, 82, 82, 82, 82, 82,
};


enum jkey jscan_key_id(const char *name, size_t n)
{
	if (n == 0 || n > JSCAN_KEY_MAX)
		return JK_OTHER;
	/* First and last bytes tell most same-length names apart before memcmp. */
	for (size_t i = len_start[n]; i < len_start[n + 1]; i++)
		if (keys[i].name[0] == name[0] && keys[i].name[n - 1] == name[n - 1] &&
		    memcmp(keys[i].name, name, n) == 0)
			return (enum jkey)keys[i].id;
	return JK_OTHER;
}

const char *jscan_key_name(enum jkey k)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].id == k)
			return keys[i].name;
	return "";
}

struct jkey_index jkey_index;

/* Whether mul puts every known name in a slot of its own; fills the slots
 * if so. */
static int jkey_try(uint64_t mul)
{
	memset(jkey_index.slot, 0, sizeof jkey_index.slot);
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct jkey_name *x = &jkey_index.by_id[keys[i].id];
		unsigned h = jkey_slot(x->first, x->len, mul);
		if (jkey_index.slot[h])
			return 0;
		jkey_index.slot[h] = keys[i].id;
	}
	jkey_index.mul = mul;
	return 1;
}

void jkey_index_build(void)
{
	int expect = JKEY_INDEX_NONE;
	if (!atomic_compare_exchange_strong_explicit(&jkey_index.state, &expect,
						     JKEY_INDEX_BUILDING, memory_order_relaxed,
						     memory_order_relaxed))
		return;
	for (unsigned n = 1; n <= JSCAN_KEY_MAX; n++)
		jkey_index.by_len[n] = n < 8 ? (struct jkey_len){(1ull << (8 * n)) - 1,
							       (uint64_t)n << 56}
					     : (struct jkey_len){~0ull, 0};
	for (size_t i = 0; i < N_KEYS; i++) {
		char pad[JSCAN_KEY_MAX + 8] = {0};
		size_t n = keys[i].len;
		memcpy(pad, keys[i].name, n);
		jkey_index.by_id[keys[i].id] = (struct jkey_name){
			.first = jkey_first8(pad, n),
			.last = n >= 8 ? jkey_load8(pad + n - 8) : 0,
			.mid = n > 16 ? jkey_load8(pad + 8) : 0,
			.name = keys[i].name,
			.len = (uint8_t)n,
		};
	}
	/* Odd multipliers along a Weyl sequence: each try is a fresh hash.
	 * With 1024 slots for ~80 names about one in twenty works; a table
	 * that found none would leave the scanner on jscan_key_id. */
	uint64_t mul = 0x9e3779b97f4a7c15ull;
	int found = 0;
	for (int t = 0; t < 4096 && !(found = jkey_try(mul | 1)); t++)
		mul += 0xbf58476d1ce4e5b9ull;
	atomic_store_explicit(&jkey_index.state, found ? JKEY_INDEX_READY : JKEY_INDEX_FAILED,
			      memory_order_relaxed);
	/* release: pairs with the acquire in jkey_lookup (the index is whole) */
	if (found)
		atomic_store_explicit(&jkey_index.max_len, JSCAN_KEY_MAX, memory_order_release);
}
