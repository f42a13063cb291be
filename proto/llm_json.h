/*
 * llm_json.h - a bounded, streaming JSON key scanner. It walks a JSON text
 * fed in arbitrary pieces and reports scalars with the path of known keys
 * above them; it never buffers the document, so a body of any size is
 * scanned (usage usually comes last). Memory is this struct.
 *
 * Speed: string contents (the bulk of LLM bodies: prompts, completions,
 * base64) are crossed with memchr; containers the caller does not care about
 * (a request's messages, an embedding vector) are skipped 64 bytes a step,
 * their brackets outside strings counted on bitmasks (a structural index
 * with escapes and string spans carried across blocks). Only the
 * structural bytes of the containers walked are looked at one by one.
 *
 * Several top-level values may follow each other (NDJSON); a top-level
 * array's elements are reported as events too (Gemini's JSON-array stream).
 */
#ifndef TOKENRING_LLM_JSON_H
#define TOKENRING_LLM_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSCAN_MAX_DEPTH 12 /* containers walked; deeper ones are skipped (< 16: obj_bits) */
#define JSCAN_VALUE_KEEP 64 /* bytes of a string or literal kept */
#define JSCAN_KEY_MAX 40    /* a longer key cannot be a known one */

/* Known keys (the only ones the extractors look for). */
enum jkey {
	JK_NONE = 0, /* no key: top level, or an element of a top-level array */
	JK_OTHER,
	JK_MODEL,
	JK_MODEL_VERSION,
	JK_STREAM,
	JK_STREAM_OPTIONS,
	JK_INCLUDE_USAGE,
	JK_MESSAGES,
	JK_PROMPT,
	JK_INPUT,
	JK_CONTENTS,
	JK_USAGE,
	JK_USAGE_METADATA,
	JK_PROMPT_TOKENS,
	JK_COMPLETION_TOKENS,
	JK_TOTAL_TOKENS,
	JK_INPUT_TOKENS,
	JK_OUTPUT_TOKENS,
	JK_PROMPT_DETAILS,
	JK_COMPLETION_DETAILS,
	JK_INPUT_DETAILS,
	JK_OUTPUT_DETAILS,
	JK_CACHED_TOKENS,
	JK_REASONING_TOKENS,
	JK_CACHE_READ,
	JK_CACHE_CREATION,
	JK_PROMPT_EVAL_COUNT,
	JK_EVAL_COUNT,
	JK_PROMPT_TOKEN_COUNT,
	JK_CANDIDATES_TOKEN_COUNT,
	JK_TOTAL_TOKEN_COUNT,
	JK_CACHED_CONTENT_TOKEN_COUNT,
	JK_THOUGHTS_TOKEN_COUNT,
	JK_TYPE,
	JK_OBJECT,
	JK_CHOICES,
	JK_DELTA,
	JK_MESSAGE,
	JK_CANDIDATES,
	JK_CONTENT,
	JK_PARTS,
	JK_OUTPUT,
	JK_TEXT,
	JK_RESPONSE,
	JK_CONTENT_BLOCK,
	JK_REASONING_CONTENT,
	JK_THINKING,
	JK_PARTIAL_JSON,
	JK_ARGUMENTS,
	JK_EMBEDDING,
	JK_EMBEDDINGS,
	JK_DATA,
	JK_TOOL_CALLS,
	JK_FUNCTION,
	JK_META,
	JK_BILLED_UNITS,
	JK_RESULTS,
	JK_RELEVANCE_SCORE,
	JK_PROMPT_CACHE_HIT,
	JK_INPUT_TOKENS_CC, /* Bedrock Converse spells usage in camelCase */
	JK_OUTPUT_TOKENS_CC,
	JK_TOTAL_TOKENS_CC,
	JK_CACHE_READ_CC,
	JK_CACHE_WRITE_CC,
	JK_BEDROCK_METRICS,
	JK_INPUT_TOKEN_COUNT,
	JK_OUTPUT_TOKEN_COUNT,
	JK_INPUT_TEXT_TOKEN_COUNT,
	JK_OUTPUT_TEXT_TOKEN_COUNT,
	JK_TOKEN_COUNT,
	JK_OUTPUT_TEXT,
	JK_PROMPT_TOKEN_COUNT_SNAKE,
	JK_GENERATION_TOKEN_COUNT,
	JK_GENERATION,
	JK_OUTPUTS,
	JK_INPUT_TEXT,
	JK_JSONRPC, /* MCP: JSON-RPC 2.0 requests and responses */
	JK_METHOD,
	JK_PARAMS,
	JK_NAME,
	JK_ERROR,
	JK_RESULT,
	JK_IS_ERROR,
	JK_ID, /* MCP: the JSON-RPC id pairs a batch's answers with its calls */
	JK_COUNT
};

enum jtype {
	JT_STRING = 0,
	JT_NUMBER,
	JT_TRUE,
	JT_FALSE,
	JT_NULL,
};

struct jscan;

/* What the scanner tells its user. All optional (NULL = ignore). */
struct jscan_ops {
	/* A container opens as a value at depth s->depth whose key is
	 * jscan_key(s). Return 1 to walk into it, 0 to skip it. (See keys.) */
	int (*open)(void *ctx, const struct jscan *s, int is_object);
	/* A scalar at depth s->depth with key jscan_key(s). Strings come raw
	 * (escapes not decoded), cut to JSCAN_VALUE_KEEP bytes (truncated set);
	 * `nonempty` tells whether the full value had any byte. Never called
	 * for a key that is not a known one (JK_OTHER: "id", "index",
	 * "created"... most scalars of a body): an extractor that reads a key
	 * gives it an id in enum jkey. */
	void (*scalar)(void *ctx, const struct jscan *s, enum jtype t, const char *v, size_t n,
		       int truncated, int nonempty);
	/* A top-level value, or an element of a top-level array, ended. */
	void (*event_end)(void *ctx, const struct jscan *s);
	/* Optional, indexed by enum jkey: what to do with a container under
	 * that key without a call (most containers of a body are decided by
	 * their key alone): JSCAN_K_WALK walks into it, JSCAN_K_ASK asks
	 * open(), neither skips it. NULL: open() is asked for every one. */
	const uint8_t *keys;
};

#define JSCAN_K_WALK 1u
#define JSCAN_K_ASK 2u

enum jscan_err {
	JSCAN_OK = 0,
	JSCAN_NOT_JSON = 1, /* the text does not start with { or [ */
	JSCAN_SYNTAX = 2,   /* malformed after a JSON start */
};

struct jscan {
	uint8_t state;   /* private */
	uint8_t depth;   /* containers open and walked */
	uint8_t err;     /* enum jscan_err; sticky until jscan_reset */
	uint8_t is_key;  /* the string being read is a key */
	uint8_t first;   /* just after { or [: a close is allowed */
	uint8_t bs_odd;  /* string: an odd run of backslashes ended the last piece */
	uint8_t top_array; /* the current top-level value is an array */
	uint8_t truncated;
	uint16_t obj_bits; /* bit d: container at depth d (1..) is an object; bit 0 clear */
	uint16_t keep;     /* bytes in buf */
	uint32_t nonempty; /* string: bytes seen */
	uint32_t skip_depth; /* brackets open inside a skipped container */
	uint32_t values;   /* top-level values begun */
	uint8_t key[JSCAN_MAX_DEPTH + 1]; /* key[d]: key of the value at depth d */
	char buf[JSCAN_VALUE_KEEP];
};

void jscan_reset(struct jscan *s);

/* Scan n bytes. Returns the error state (sticky): after an error the rest of
 * the text is ignored until jscan_reset. */
enum jscan_err jscan_feed(struct jscan *s, const char *p, size_t n, const struct jscan_ops *ops,
			  void *ctx);

/* The key of the value at the current depth. */
static inline enum jkey jscan_key(const struct jscan *s)
{
	return (enum jkey)s->key[s->depth];
}

/* Depth within the current event: an element of a top-level array counts
 * as a top-level object (level 1 = its members). */
static inline unsigned jscan_level(const struct jscan *s)
{
	return s->top_array ? s->depth - 1u : s->depth;
}

/* The key at event level l (1 = a member of the event's object). */
static inline enum jkey jscan_key_at_level(const struct jscan *s, unsigned l)
{
	return (enum jkey)s->key[s->top_array ? l + 1 : l];
}

/* Whether a key at depth 1..depth (the path above the value) is k. */
int jscan_under(const struct jscan *s, enum jkey k);

/* The key id of a key name (exact, case-sensitive), JK_OTHER if unknown. */
enum jkey jscan_key_id(const char *name, size_t n);

/* The name of a known key ("" for JK_NONE, JK_OTHER); for tests and logs. */
const char *jscan_key_name(enum jkey k);

/* Whether the scanner is between top-level values (nothing half read). */
int jscan_between(const struct jscan *s);

#endif
