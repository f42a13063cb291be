/*
 * record.h - the one fixed-size record a producer (libtokenring.so) writes
 * per HTTP request/response exchange, and the daemon reads.
 *
 * This struct IS the contract between the two sides: its size and every
 * offset are pinned by _Static_assert, and any change bumps RING_VERSION in
 * ring.h so a producer of another layout refuses to attach instead of
 * writing garbage. Only fixed-width integers and fixed-length char arrays:
 * the bytes live in shared memory mapped at different addresses by
 * processes in different containers and PID namespaces.
 *
 * Strings are NUL-terminated inside their array. A value longer than its
 * array is cut at a UTF-8 boundary and the matching REC_F_TRUNC_* flag is
 * set. Readers must still treat every string as untrusted bytes (bounded
 * strnlen; escape before output): a buggy or hostile writer can put anything
 * here, and the checksum only proves the record was not torn.
 */
#ifndef TOKENRING_RECORD_H
#define TOKENRING_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Size of one record (and of one ring slot). Ten cache lines. */
#define REC_SIZE 640

/* String field capacities, NUL included. */
#define REC_METHOD_LEN 8
#define REC_REQUEST_ID_LEN 40
#define REC_PATH_LEN 128
#define REC_AUTHORITY_LEN 64
#define REC_MODEL_LEN 64
#define REC_USER_AGENT_LEN 32
#define REC_LABEL_LEN 32
#define REC_LABELS 2 /* header-derived labels (--label-header) */
#define REC_TRACE_ID_LEN 16 /* binary W3C trace id, all zero = none */

/* Who wrote the record: the process calling the LLM, or the one serving it. */
enum rec_reporter {
	REC_REPORTER_UNKNOWN = 0,
	REC_REPORTER_SOURCE = 1,      /* client side: the process sent the request */
	REC_REPORTER_DESTINATION = 2, /* server side: the process received it */
};

/* Provider, from the path, Host and body shape. OpenAI-compatible servers
 * (vLLM, llama.cpp, gateways) are REC_PROVIDER_OPENAI unless a more
 * specific signal says otherwise. */
enum rec_provider {
	REC_PROVIDER_UNKNOWN = 0,
	REC_PROVIDER_OPENAI = 1,
	REC_PROVIDER_ANTHROPIC = 2,
	REC_PROVIDER_DASHSCOPE = 3,
	REC_PROVIDER_OLLAMA = 4,
	REC_PROVIDER_GEMINI = 5,
	REC_PROVIDER_AZURE_OPENAI = 6,
	REC_PROVIDER_COHERE = 7,
	REC_PROVIDER_VOYAGE = 8,
	REC_PROVIDER_JINA = 9,
	REC_PROVIDER_MISTRAL = 10,
	REC_PROVIDER_DEEPSEEK = 11,
	REC_PROVIDER_VERTEX_AI = 12, /* Google Vertex AI (Gemini, Anthropic and others on it) */
	REC_PROVIDER_BEDROCK = 13,   /* AWS Bedrock runtime (Converse, InvokeModel) */
	REC_PROVIDER_MCP = 14,       /* a Model Context Protocol server (record_mcp.h) */
	REC_PROVIDER_COUNT
};

/* The API operation, mapped by the daemon to gen_ai.operation.name. */
enum rec_operation {
	REC_OP_UNKNOWN = 0,
	REC_OP_CHAT = 1,            /* chat completions, messages, /api/chat */
	REC_OP_TEXT_COMPLETION = 2, /* completions, /api/generate */
	REC_OP_EMBEDDINGS = 3,
	REC_OP_GENERATE_CONTENT = 4, /* Gemini generateContent */
	REC_OP_RESPONSES = 5,        /* OpenAI responses API */
	REC_OP_RERANK = 6,           /* Cohere, Voyage, Jina rerank */
	REC_OP_MCP = 7,              /* a JSON-RPC call to an MCP server (record_mcp.h) */
	REC_OP_COUNT
};

/* What a ring entry is. Every entry is one REC_SIZE slot with the same
 * control line (seq, checksum); `kind` says how the rest is laid out. A
 * consumer that meets a kind it does not know counts it and skips it, so a
 * new kind never breaks an older daemon's accounting. Kinds other than
 * EXCHANGE define their layout in a header of their own in shm/. */
enum rec_kind {
	REC_KIND_EXCHANGE = 0, /* struct tr_record: one request/response exchange */
	REC_KIND_BODY = 1,     /* struct rec_body (record_body.h): compressed body bytes */
	REC_KIND_EVENT = 2,    /* struct tr_event (record_event.h): what could not be read */
	REC_KIND_MCP_ANSWER = 3, /* struct tr_record (record_mcp.h): an answer on an MCP SSE stream */
	REC_KIND_COUNT
};

/* Whether token usage is known, and if not, why. Tokens are never guessed:
 * every status but AVAILABLE leaves the token fields at 0. */
enum rec_usage {
	REC_USAGE_NONE = 0,          /* not an LLM exchange (TOKENRING_HTTP=all) */
	REC_USAGE_AVAILABLE = 1,     /* the response reported usage */
	REC_USAGE_NOT_REQUESTED = 2, /* a stream without stream_options.include_usage */
	REC_USAGE_MISSING = 3,       /* a complete response without usage */
	REC_USAGE_INTERRUPTED = 4,   /* connection closed or reset mid-response */
	REC_USAGE_UNDECODABLE = 5,   /* compressed body the daemon could not decode */
	REC_USAGE_COUNT
};

/* rec.flags bits. */
#define REC_F_TRUNC_METHOD (1u << 0)
#define REC_F_TRUNC_PATH (1u << 1)
#define REC_F_TRUNC_AUTHORITY (1u << 2)
#define REC_F_TRUNC_REQUEST_ID (1u << 3)
#define REC_F_TRUNC_USER_AGENT (1u << 4)
#define REC_F_TRUNC_REQUEST_MODEL (1u << 5)
#define REC_F_TRUNC_RESPONSE_MODEL (1u << 6)
#define REC_F_TRUNC_LABEL0 (1u << 7)
#define REC_F_TRUNC_LABEL1 (1u << 8)
#define REC_F_TRUNC_ANY 0x1ffu
#define REC_F_STREAM (1u << 9)             /* response was SSE / NDJSON stream */
#define REC_F_LLM (1u << 10)               /* classified as an LLM exchange */
#define REC_F_TLS (1u << 11)               /* plaintext seen through a TLS library */
#define REC_F_PARSE_ERROR (1u << 12)       /* framing or JSON could not be parsed */
#define REC_F_CONN_CLOSED (1u << 13)       /* closed before the response ended */
#define REC_F_NO_RESPONSE (1u << 14)       /* closed before any response byte */
#define REC_F_REQUEST_ID_GENERATED (1u << 15) /* no x-request-id: shim made one */
#define REC_F_HAS_TRACE (1u << 16)         /* trace_id is from a traceparent */
#define REC_F_BODY_LOST (1u << 17)         /* body entries dropped (ring full): body_lost */
#define REC_F_MCP_RPC_ERROR (1u << 18)     /* MCP: the answer was a JSON-RPC error */
#define REC_F_MCP_TOOL_ERROR (1u << 19)    /* MCP: a tool result with isError true */
#define REC_F_MCP_BATCH (1u << 20)         /* MCP: one call of a JSON-RPC batch */
#define REC_F_MCP_NOTIFICATION (1u << 21)  /* MCP: a batched notification (no answer due) */
#define REC_F_MCP_UNANSWERED (1u << 22)    /* MCP: a batched request the answer left out */
#define REC_F_MCP_UNPAIRED (1u << 23)      /* MCP: its answer may be among those not kept */

/* Content-Encoding of a body, one nibble per direction in rec.codings. */
enum rec_coding {
	REC_CODING_NONE = 0, /* identity, or no Content-Encoding */
	REC_CODING_GZIP = 1, /* gzip, x-gzip */
	REC_CODING_DEFLATE = 2, /* zlib-wrapped or raw deflate */
	REC_CODING_BR = 3,
	REC_CODING_ZSTD = 4,
	REC_CODING_UNKNOWN = 5, /* anything else, or several codings stacked */
	REC_CODING_COUNT
};
#define REC_CODING_REQ(c) ((unsigned)(c) & 0xfu)
#define REC_CODING_RESP(c) ((unsigned)(c) >> 4)
#define REC_CODINGS(req, resp) ((uint8_t)((req) | (resp) << 4))

/* rec.body_bits: what the shim knew about the bodies it copied as body
 * entries (record_body.h), for the daemon that decodes them. */
#define REC_B_REQ_COPIED 0x01u  /* request body went out as body entries */
#define REC_B_RESP_COPIED 0x02u /* response body went out as body entries */
#define REC_B_REQ_CUT 0x04u     /* ... but only its first REC_BODY_MAX_COPY bytes */
#define REC_B_RESP_CUT 0x08u
#define REC_B_STREAM_REQ 0x10u  /* the request asked for a stream (uncompressed request) */
#define REC_B_INCLUDE_USAGE 0x20u /* ... with stream_options.include_usage */
#define REC_B_SSE 0x40u         /* response Content-Type text/event-stream */
#define REC_B_PROVIDER_GUESSED 0x80u /* provider is the default, not from route or body */

/* An IPv4 or IPv6 endpoint; family 0 = unknown. */
struct rec_addr {
	uint8_t family; /* 4 or 6, 0 = unknown */
	uint8_t reserved;
	uint16_t port;    /* host byte order */
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
};

/*
 * One exchange. Times are nanoseconds; start_ns is CLOCK_REALTIME, every
 * other time is a CLOCK_MONOTONIC difference relative to the request's
 * first byte. 0 means "not seen" for ttfb_ns and ttft_ns.
 */
struct tr_record {
	/* line 0 */
	uint64_t seq;      /* slot control word, owned by the ring (ring.c) */
	uint64_t checksum; /* ring checksum of bytes [REC_CHECKSUM_FROM, REC_SIZE) */
	uint64_t start_ns;
	uint64_t duration_ns; /* request first byte -> response last byte */
	uint64_t ttfb_ns;     /* -> first response byte */
	uint64_t ttft_ns;     /* -> first token (first content chunk of a stream) */
	uint64_t req_bytes;   /* request bytes on the wire, headers included */
	uint64_t resp_bytes;  /* response bytes on the wire, headers included */
	/* line 1 */
	uint32_t pid;         /* writer's pid, as it sees itself */
	uint16_t status;      /* HTTP status, 0 = no response */
	uint16_t producer;    /* index into the ring's producer table */
	uint32_t prompt_tokens;
	uint32_t completion_tokens;
	uint32_t total_tokens; /* as reported; never computed */
	uint32_t cached_tokens; /* cache reads: OpenAI cached_tokens, Anthropic cache_read */
	uint32_t cache_creation_tokens; /* Anthropic cache_creation_input_tokens */
	uint32_t reasoning_tokens;
	uint32_t chunks; /* stream events carrying content (SSE data / NDJSON lines) */
	uint32_t flags;  /* REC_F_* */
	uint8_t reporter;     /* enum rec_reporter */
	uint8_t provider;     /* enum rec_provider */
	uint8_t operation;    /* enum rec_operation */
	uint8_t usage_status; /* enum rec_usage */
	uint16_t producer_gen; /* generation of the producer table entry */
	uint8_t kind;          /* enum rec_kind; REC_KIND_EXCHANGE for this layout */
	uint8_t reserved0;
	uint8_t trace_id[REC_TRACE_ID_LEN];
	/* line 2.. strings */
	char method[REC_METHOD_LEN];
	struct rec_addr local; /* this process's end of the socket */
	struct rec_addr peer;  /* the other end */
	char request_id[REC_REQUEST_ID_LEN];
	char path[REC_PATH_LEN];
	char authority[REC_AUTHORITY_LEN];
	char request_model[REC_MODEL_LEN];
	char response_model[REC_MODEL_LEN];
	char user_agent[REC_USER_AGENT_LEN];
	/* Compressed bodies (record_body.h): the body entries of this exchange
	 * carry body_xid; 0 = none. */
	uint32_t body_xid;
	uint8_t codings;    /* REC_CODINGS(request, response) */
	uint8_t body_bits;  /* REC_B_* */
	uint16_t body_lost; /* body entries the ring dropped (saturating) */
	char labels[REC_LABELS][REC_LABEL_LEN];
};

#define REC_CHECKSUM_FROM offsetof(struct tr_record, start_ns)

_Static_assert(sizeof(struct tr_record) == REC_SIZE, "record size is the ring contract");
_Static_assert(REC_SIZE % 64 == 0, "records are whole cache lines");
_Static_assert(sizeof(struct rec_addr) == 20, "rec_addr layout");
_Static_assert(offsetof(struct tr_record, seq) == 0, "seq first");
_Static_assert(offsetof(struct tr_record, checksum) == 8, "checksum layout");
_Static_assert(offsetof(struct tr_record, start_ns) == 16, "checksum range");
_Static_assert(offsetof(struct tr_record, pid) == 64, "line 1 layout");
_Static_assert(offsetof(struct tr_record, kind) == 110, "kind layout");
_Static_assert(offsetof(struct tr_record, trace_id) == 112, "trace_id layout");
_Static_assert(offsetof(struct tr_record, method) == 128, "string area layout");
_Static_assert(offsetof(struct tr_record, request_id) == 176, "request_id layout");
_Static_assert(offsetof(struct tr_record, path) == 216, "path layout");
_Static_assert(offsetof(struct tr_record, body_xid) == 568, "body fields layout");
_Static_assert(offsetof(struct tr_record, labels) == 576, "labels layout");

/* Names used in metrics and logs for the enums; never NULL for any value
 * (out-of-range values from a hostile writer map to "unknown"). */
const char *rec_reporter_name(unsigned v);
const char *rec_provider_name(unsigned v);  /* "openai", "anthropic", ... */
const char *rec_operation_name(unsigned v); /* gen_ai.operation.name values */
const char *rec_usage_name(unsigned v);     /* "available", "not_requested", ... */
const char *rec_kind_name(unsigned v);      /* "exchange", "body" */
const char *rec_coding_name(unsigned v);    /* "identity", "gzip", "deflate", "br", "zstd" */

/*
 * Copy src into a fixed field of cap bytes, always NUL-terminated. If src
 * does not fit it is cut at a UTF-8 character boundary and `flag` is OR-ed
 * into *flags. len is the source length (src need not be NUL-terminated).
 */
void rec_set_str(char *dst, size_t cap, const char *src, size_t len, uint32_t *flags,
		 uint32_t flag);

#endif
