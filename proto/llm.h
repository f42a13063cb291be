/*
 * llm.h - LLM field extraction from HTTP bodies and routes: what the
 * request asked for (model, stream, include_usage), what the response
 * reported (model, token usage, stream chunks, first-token time), and which
 * provider and operation a path and Host name. Bounded and allocation-free;
 * bodies are fed as they arrive (dechunked), in any split.
 */
#ifndef TOKENRING_LLM_H
#define TOKENRING_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "evstream.h"
#include "llm_json.h"
#include "llm_mcp.h"
#include "record.h"

/* Top-level request keys that mark an LLM body (DESIGN: "a JSON request
 * body with a top-level model, messages or prompt"). */
#define LLM_SHAPE_MODEL 0x01u
#define LLM_SHAPE_MESSAGES 0x02u
#define LLM_SHAPE_PROMPT 0x04u
#define LLM_SHAPE_INPUT 0x08u
#define LLM_SHAPE_CONTENTS 0x10u
#define LLM_SHAPE_MCP 0x20u /* a JSON-RPC request with an MCP method (record_mcp.h) */
#define LLM_SHAPE_LLM (LLM_SHAPE_MODEL | LLM_SHAPE_MESSAGES | LLM_SHAPE_PROMPT)

struct llm_req {
	struct jscan js;
	uint8_t jsonrpc;       /* "jsonrpc" at the top: a JSON-RPC message */
	uint8_t method_len;    /* bytes of method held */
	uint8_t method_trunc;
	uint8_t mcp;           /* the method was written to the record as MCP's */
	char method[LLM_MCP_METHOD_KEEP];
	uint8_t shape;         /* LLM_SHAPE_* */
	uint8_t stream;        /* "stream": true */
	uint8_t include_usage; /* "stream_options": {"include_usage": true} */
	uint8_t json_error;    /* the body started as JSON and broke */
	uint8_t began;         /* body bytes were seen */
	uint64_t id;           /* a JSON-RPC request's id (llm_mcp_id), 0 = none */
	struct llm_mcp_batch batch; /* a top-level array: a JSON-RPC batch's calls */
};

void llm_req_begin(struct llm_req *r);
/* Scan request body bytes; sets rec->request_model (and its trunc flag).
 * A model the path named (llm_set_path_model, set before the body) is kept:
 * the body's "model" only fills an empty field. */
void llm_req_body(struct llm_req *r, struct tr_record *rec, const char *p, size_t n);

/* How a response body is read. */
enum llm_body_mode {
	LLM_BODY_OFF = 0,  /* not scanned (compressed, or not JSON) */
	LLM_BODY_JSON = 1, /* JSON value(s): one document, NDJSON, or a JSON array stream */
	LLM_BODY_SSE = 2,  /* text/event-stream: JSON in data: lines */
	LLM_BODY_EVSTREAM = 3, /* AWS event stream (Bedrock): JSON payloads, or base64 JSON in them */
};

/* A Bedrock event-stream body (llm_bedrock.c): the framing, what the
 * current message's payload holds, and the base64 reader of "chunk"
 * payloads ({"bytes":"<base64 of the model's own JSON event>"}). */
struct llm_bedrock {
	struct evs evs;
	uint8_t payload; /* private: how the current payload is read */
	uint8_t phase;   /* private: where the base64 reader is in {"bytes":"..."} */
	uint8_t matched; /* bytes of "bytes" matched */
	uint8_t sextets; /* base64 digits in quad */
	uint32_t quad;
};

/* Server-sent-events line state (llm_sse.c). */
struct llm_sse {
	uint8_t state;
	uint8_t plen;
	char prefix[6];
};

/* Response-side shape hints, for provider/operation when the route is
 * not a known one. */
#define LLM_HINT_GEMINI 0x01u
#define LLM_HINT_OLLAMA 0x02u
#define LLM_HINT_ANTHROPIC 0x04u
#define LLM_HINT_OPENAI 0x08u
#define LLM_HINT_EMBEDDING 0x10u
#define LLM_HINT_RERANK 0x20u /* results[].relevance_score */

/* Which token counts a response reported (llm_resp.tok_seen). */
#define LLM_TOK_INPUT 0x01u
#define LLM_TOK_OUTPUT 0x02u
#define LLM_TOK_TOTAL 0x04u

/* Longest opening that marks an event stream served as another type. */
#define LLM_SNIFF_MAX 6 /* "event:" */

struct llm_resp {
	struct jscan js;
	struct llm_sse sse;
	struct llm_bedrock bedrock;
	uint8_t mode;         /* enum llm_body_mode */
	uint8_t sniffed;      /* LLM_BODY_JSON: the body's first bytes were looked at */
	uint8_t sniff_len;    /* bytes held in sniff while undecided */
	char sniff[LLM_SNIFF_MAX];
	uint8_t usage_seen;   /* a token count was read */
	uint8_t usage_object; /* a usage / usageMetadata object was seen */
	uint8_t ev_content;   /* the current event carries content */
	uint8_t ev_excluded;  /* the current event is a summary (e.g. response.completed) */
	uint8_t hints;        /* LLM_HINT_* */
	uint8_t op_hint;      /* enum rec_operation from "object" */
	uint8_t json_error;
	uint8_t tok_seen; /* LLM_TOK_* */
	uint8_t rpc;      /* LLM_RPC_* (llm_mcp.h): what a JSON-RPC (MCP) answer said */
	uint32_t chunks;  /* events with content */
	uint64_t now;     /* time of the bytes being scanned */
	uint64_t ttft_at; /* time the first content event ended, 0 = none */
	struct llm_mcp_answers answers; /* JSON-RPC answers by id, for a batch's calls */
};

void llm_resp_begin(struct llm_resp *r, enum llm_body_mode mode);
/* Scan response body bytes received at time now; fills rec's response_model
 * and token fields as reported. In LLM_BODY_JSON mode a body that opens like
 * an event stream ("data:", "event:" or a ":" comment) is read as one,
 * whatever its Content-Type said: OpenAI-compatible gateways serve SSE as
 * application/json. One whose first byte is 0 is an AWS event stream (its
 * big-endian length is below 16 MiB): Bedrock's streaming APIs. */
void llm_resp_body(struct llm_resp *r, struct tr_record *rec, const char *p, size_t n,
		   uint64_t now);

/* Feed SSE bytes: data-line payloads go to data(), a blank line ends an
 * event (event_end()). */
struct llm_sse_ops {
	void (*data)(void *ctx, const char *p, size_t n);
	void (*event_end)(void *ctx);
};
void llm_sse_reset(struct llm_sse *s);
void llm_sse_feed(struct llm_sse *s, const char *p, size_t n, const struct llm_sse_ops *ops,
		  void *ctx);

/* Provider and operation of a route. */
struct llm_route {
	uint8_t provider;  /* enum rec_provider */
	uint8_t operation; /* enum rec_operation */
};

/*
 * Classify a request target (query string ignored) and Host. Returns 1 when
 * the path is a known LLM API; *out gets what the path and host say
 * (UNKNOWN where they say nothing).
 */
int llm_route(const char *path, size_t plen, const char *host, size_t hlen,
	      struct llm_route *out);
/* The same for a path already cut before its query string ('?') and a host
 * before its port (':'): for a caller that found both already. */
int llm_route_cut(const char *path, size_t n, const char *host, size_t hlen,
		  struct llm_route *out);

/* The last bytes of every path llm_route knows: 'd' 'e' 'k' 'm' 's' 't',
 * as bits of (byte - 96). */
#define LLM_ROUTE_LAST_BYTES                                                               \
	(1u << ('d' - 96) | 1u << ('e' - 96) | 1u << ('k' - 96) | 1u << ('m' - 96) |        \
	 1u << ('s' - 96) | 1u << ('t' - 96))

/* Whether llm_route_cut may know the path (n bytes, cut before its query):
 * 0 rules it out from its last byte, or the one prefix tested first
 * (DashScope's "/api/..."), with no call (GET /healthz stops here). */
static inline int llm_route_maybe(const char *p, size_t n)
{
	if (n < 4)
		return 0;
	unsigned last = (unsigned char)p[n - 1] - 96u;
	return p[1] == 'a' || (last < 32 && (LLM_ROUTE_LAST_BYTES >> last & 1));
}

/*
 * The model a request target names, for APIs that carry it in the path
 * rather than the body (Gemini: /v1beta/models/gemini-2.0-flash:generateContent).
 * Returns its length and sets *at to its offset in path; 0 if none.
 */
size_t llm_path_model(const char *path, size_t plen, size_t *at);

/* Set rec->request_model to the n bytes of a model named in the path, its
 * percent escapes decoded (Bedrock clients send "...-v1%3A0" for "-v1:0"; a
 * '%' without two hex digits stays), cut to the field with its truncation
 * flag. Done when the request's headers end, so a request without a body,
 * or one whose body is not read, has the model's real name too. */
void llm_set_path_model(struct tr_record *rec, const char *model, size_t n);

/* What was seen of one exchange, for the decisions that end it
 * (llm_settle.c); the shim fills it from the wire, tokenringd again after
 * decoding a compressed body. */
struct llm_facts {
	struct llm_route route; /* what the path and Host said */
	uint8_t known_path;     /* a known LLM API or configured prefix */
	uint8_t shape;          /* request LLM_SHAPE_* */
	uint8_t stream_req;
	uint8_t include_usage;
	uint8_t resp_stream; /* response is SSE / NDJSON / a JSON-array stream */
	uint8_t usage_seen;
	uint8_t usage_object;
	uint8_t hints;   /* LLM_HINT_* */
	uint8_t op_hint; /* enum rec_operation */
	uint8_t interrupted;
	uint8_t undecodable; /* a compressed body that mattered could not be decoded */
	uint8_t hdr_tok;     /* LLM_TOK_INPUT / _OUTPUT: counts the response headers gave */
	uint32_t hdr_input;  /* X-Amzn-Bedrock-Input-Token-Count */
	uint32_t hdr_output; /* X-Amzn-Bedrock-Output-Token-Count */
};

/* A token count a response header reported (which: LLM_TOK_INPUT or
 * LLM_TOK_OUTPUT); a value that is not a 32-bit decimal is ignored. Bedrock
 * sends X-Amzn-Bedrock-{Input,Output}-Token-Count on every InvokeModel
 * answer, and some model bodies (Mistral's) carry no usage at all. */
void llm_header_tokens(struct llm_facts *f, uint8_t which, const char *v, size_t n);
/* When the body reported no usage, the header counts are the usage: into
 * rec's token fields, and f->usage_seen. Call before settling. */
void llm_usage_from_headers(struct llm_facts *f, struct tr_record *rec);

int llm_is_llm(const struct llm_facts *f);
uint8_t llm_provider_of(const struct llm_facts *f);
uint8_t llm_operation_of(const struct llm_facts *f);
/* Usage status; tokens are only ever what the response reported. */
uint8_t llm_usage_status(const struct llm_facts *f, uint8_t provider, uint8_t operation);

/* A raw JSON string value (llm_json.h's scalar, quotes off) as its text:
 * escapes decoded, surrogate pairs joined into UTF-8, invalid escapes and
 * \u0000 as U+FFFD, an escape cut at the end dropped. Writes at most cap
 * bytes to dst (not NUL-terminated); returns the length (llm_json_str.c). */
size_t llm_json_str(char *dst, size_t cap, const char *v, size_t n);

/* Set a record string field from a raw JSON string value, decoded as
 * above; `flag` marks it truncated (by the field or by the scanner). */
void llm_set_json_str(char *field, size_t cap, const char *v, size_t n, int truncated,
		      uint32_t *flags, uint32_t flag);

/* Parse an unsigned decimal JSON number that fits 32 bits; -1 otherwise. */
int llm_parse_u32(const char *v, size_t n, uint32_t *out);

#endif
