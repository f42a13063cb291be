/*
 * llm_keys.c - the names of the JSON keys the extractors know (llm_json.h
 * enum jkey). A key is looked up once, when its closing quote is read.
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
	K("model", JK_MODEL),
	K("modelVersion", JK_MODEL_VERSION),
	K("stream", JK_STREAM),
	K("stream_options", JK_STREAM_OPTIONS),
	K("include_usage", JK_INCLUDE_USAGE),
	K("messages", JK_MESSAGES),
	K("prompt", JK_PROMPT),
	K("input", JK_INPUT),
	K("contents", JK_CONTENTS),
	K("usage", JK_USAGE),
	K("usageMetadata", JK_USAGE_METADATA),
	K("prompt_tokens", JK_PROMPT_TOKENS),
	K("completion_tokens", JK_COMPLETION_TOKENS),
	K("total_tokens", JK_TOTAL_TOKENS),
	K("input_tokens", JK_INPUT_TOKENS),
	K("output_tokens", JK_OUTPUT_TOKENS),
	K("prompt_tokens_details", JK_PROMPT_DETAILS),
	K("completion_tokens_details", JK_COMPLETION_DETAILS),
	K("input_tokens_details", JK_INPUT_DETAILS),
	K("output_tokens_details", JK_OUTPUT_DETAILS),
	K("cached_tokens", JK_CACHED_TOKENS),
	K("reasoning_tokens", JK_REASONING_TOKENS),
	K("cache_read_input_tokens", JK_CACHE_READ),
	K("cache_creation_input_tokens", JK_CACHE_CREATION),
	K("prompt_eval_count", JK_PROMPT_EVAL_COUNT),
	K("eval_count", JK_EVAL_COUNT),
	K("promptTokenCount", JK_PROMPT_TOKEN_COUNT),
	K("candidatesTokenCount", JK_CANDIDATES_TOKEN_COUNT),
	K("totalTokenCount", JK_TOTAL_TOKEN_COUNT),
	K("cachedContentTokenCount", JK_CACHED_CONTENT_TOKEN_COUNT),
	K("thoughtsTokenCount", JK_THOUGHTS_TOKEN_COUNT),
	K("type", JK_TYPE),
	K("object", JK_OBJECT),
	K("choices", JK_CHOICES),
	K("delta", JK_DELTA),
	K("message", JK_MESSAGE),
	K("candidates", JK_CANDIDATES),
	K("content", JK_CONTENT),
	K("parts", JK_PARTS),
	K("output", JK_OUTPUT),
	K("text", JK_TEXT),
	K("response", JK_RESPONSE),
	K("content_block", JK_CONTENT_BLOCK),
	K("reasoning_content", JK_REASONING_CONTENT),
	K("thinking", JK_THINKING),
	K("partial_json", JK_PARTIAL_JSON),
	K("arguments", JK_ARGUMENTS),
	K("embedding", JK_EMBEDDING),
	K("embeddings", JK_EMBEDDINGS),
};

_Static_assert(sizeof(keys) / sizeof(*keys) == JK_COUNT - 2, "a name per known key");

enum jkey jscan_key_id(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (keys[i].len == n && memcmp(keys[i].name, name, n) == 0)
			return (enum jkey)keys[i].id;
	return JK_OTHER;
}
