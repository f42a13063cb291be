/*
 * llm_keys.c - the names of the JSON keys the extractors know (llm_json.h
 * enum jkey). A key is looked up once, when its closing quote is read: a
 * binary search on length over the table (kept sorted by length, which a
 * unit test checks) and a memcmp among the few of that length.
 */
#include <string.h>

#include "llm_json.h"

struct key_name {
	const char *name;
	uint8_t len;
	uint8_t id;
};

#define K(s, id) {s, sizeof(s) - 1, id}

static const struct key_name keys[] = {
	K("data", JK_DATA),
	K("text", JK_TEXT),
	K("type", JK_TYPE),
	K("delta", JK_DELTA),
	K("input", JK_INPUT),
	K("model", JK_MODEL),
	K("parts", JK_PARTS),
	K("usage", JK_USAGE),
	K("object", JK_OBJECT),
	K("output", JK_OUTPUT),
	K("prompt", JK_PROMPT),
	K("stream", JK_STREAM),
	K("choices", JK_CHOICES),
	K("content", JK_CONTENT),
	K("message", JK_MESSAGE),
	K("contents", JK_CONTENTS),
	K("function", JK_FUNCTION),
	K("messages", JK_MESSAGES),
	K("response", JK_RESPONSE),
	K("thinking", JK_THINKING),
	K("arguments", JK_ARGUMENTS),
	K("embedding", JK_EMBEDDING),
	K("candidates", JK_CANDIDATES),
	K("embeddings", JK_EMBEDDINGS),
	K("eval_count", JK_EVAL_COUNT),
	K("tool_calls", JK_TOOL_CALLS),
	K("input_tokens", JK_INPUT_TOKENS),
	K("modelVersion", JK_MODEL_VERSION),
	K("partial_json", JK_PARTIAL_JSON),
	K("total_tokens", JK_TOTAL_TOKENS),
	K("cached_tokens", JK_CACHED_TOKENS),
	K("content_block", JK_CONTENT_BLOCK),
	K("include_usage", JK_INCLUDE_USAGE),
	K("output_tokens", JK_OUTPUT_TOKENS),
	K("prompt_tokens", JK_PROMPT_TOKENS),
	K("usageMetadata", JK_USAGE_METADATA),
	K("stream_options", JK_STREAM_OPTIONS),
	K("totalTokenCount", JK_TOTAL_TOKEN_COUNT),
	K("promptTokenCount", JK_PROMPT_TOKEN_COUNT),
	K("reasoning_tokens", JK_REASONING_TOKENS),
	K("completion_tokens", JK_COMPLETION_TOKENS),
	K("prompt_eval_count", JK_PROMPT_EVAL_COUNT),
	K("reasoning_content", JK_REASONING_CONTENT),
	K("thoughtsTokenCount", JK_THOUGHTS_TOKEN_COUNT),
	K("candidatesTokenCount", JK_CANDIDATES_TOKEN_COUNT),
	K("input_tokens_details", JK_INPUT_DETAILS),
	K("output_tokens_details", JK_OUTPUT_DETAILS),
	K("prompt_tokens_details", JK_PROMPT_DETAILS),
	K("cache_read_input_tokens", JK_CACHE_READ),
	K("cachedContentTokenCount", JK_CACHED_CONTENT_TOKEN_COUNT),
	K("completion_tokens_details", JK_COMPLETION_DETAILS),
	K("cache_creation_input_tokens", JK_CACHE_CREATION),
};

_Static_assert(sizeof(keys) / sizeof(*keys) == JK_COUNT - 2, "a name per known key");

#define N_KEYS (sizeof(keys) / sizeof(*keys))

enum jkey jscan_key_id(const char *name, size_t n)
{
	size_t lo = 0, hi = N_KEYS;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (keys[mid].len < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* First and last bytes tell most same-length names apart before memcmp. */
	for (; lo < N_KEYS && keys[lo].len == n; lo++)
		if (keys[lo].name[0] == name[0] && keys[lo].name[n - 1] == name[n - 1] &&
		    memcmp(keys[lo].name, name, n) == 0)
			return (enum jkey)keys[lo].id;
	return JK_OTHER;
}

const char *jscan_key_name(enum jkey k)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].id == k)
			return keys[i].name;
	return "";
}
