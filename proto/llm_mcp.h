/*
 * llm_mcp.h - the calls of a JSON-RPC batch to an MCP server. MCP's
 * Streamable HTTP transport (protocol 2025-03-26) lets a POST body be a
 * JSON array of requests and notifications; the server answers the
 * requests (those with an "id") in any order, in a JSON array or as SSE
 * events. Each call is one record (shm/record_mcp.h): the request scanner
 * keeps the first LLM_MCP_CALLS calls of a batch (method, tool, id), the
 * response scanner the answers it sees (id, outcome, time), and the shim
 * pairs them by id when the exchange ends (producer/conn_emit.c). State is
 * bounded: an MCP call past LLM_MCP_CALLS is not kept but counted in the
 * batch's dropped calls, which the first call's record carries.
 */
#ifndef TOKENRING_LLM_MCP_H
#define TOKENRING_LLM_MCP_H

#include <stddef.h>
#include <stdint.h>

#include "llm_json.h"
#include "record.h"

/* Calls of one batch kept (and answers kept per response). */
#define LLM_MCP_CALLS 8
/* Bytes of a JSON-RPC method kept until the body shows it is MCP's
 * ("notifications/resources/list_changed" is the longest in the spec). */
#define LLM_MCP_METHOD_KEEP 48
/* Bytes of a batched call's tool name kept (raw JSON); longer ones are
 * cut and flagged truncated like any record string. */
#define LLM_MCP_TOOL_KEEP 48

/* A JSON-RPC answer's outcome bits (also llm_resp.rpc). */
#define LLM_RPC_JSONRPC 0x01u
#define LLM_RPC_ERROR 0x02u      /* a top-level "error" */
#define LLM_RPC_TOOL_ERROR 0x04u /* "result": {"isError": true} */

/* llm_mcp_call.trunc */
#define LLM_MCP_TRUNC_METHOD 0x01u
#define LLM_MCP_TRUNC_TOOL 0x02u

struct llm_mcp_call {
	uint64_t id; /* llm_mcp_id() of its "id"; 0: none, a notification */
	uint8_t method_len;
	uint8_t tool_len;
	uint8_t trunc; /* LLM_MCP_TRUNC_* */
	char method[LLM_MCP_METHOD_KEEP]; /* raw JSON string bytes */
	char tool[LLM_MCP_TOOL_KEEP];
};

/* What an exchange's pieces were read for: the record's address and start
 * time, so a state left from another exchange of the connection is never
 * paired with this one. */
struct llm_mcp_owner {
	const struct tr_record *rec;
	uint64_t start_ns;
};

/* The calls of a request body that is a JSON array (llm_req.batch). */
struct llm_mcp_batch {
	struct llm_mcp_owner owner;
	uint8_t n;       /* calls kept in call[] */
	uint8_t cur;     /* private: what the element being read showed */
	uint32_t dropped; /* MCP calls past LLM_MCP_CALLS */
	struct llm_mcp_call call[LLM_MCP_CALLS];
};

struct llm_mcp_answer {
	uint64_t id;
	uint64_t at; /* time its event or element ended (the scanner's now) */
	uint8_t rpc; /* LLM_RPC_* */
};

/* Bytes of the SSE transport's endpoint URL kept ("/messages?sessionId=" and
 * a UUID are 56). */
#define LLM_MCP_ENDPOINT_KEEP 96

/* Bytes of an answer's id kept until the answer shows it is JSON-RPC (a
 * chat chunk's "id" is never hashed); a longer id is hashed at once. */
#define LLM_MCP_ID_KEEP 32

/* The JSON-RPC answers of a response body (llm_resp.answers): each
 * top-level value, array element or SSE event with "jsonrpc" and an id.
 * On the older SSE transport's GET stream (protocol 2024-11-05) the first
 * event, `endpoint`, is the URL the client POSTs to, with its session; once
 * it is kept, the answers are sent out as they come (conn_mcp_stream). */
struct llm_mcp_answers {
	struct llm_mcp_owner owner;
	uint8_t n;
	uint8_t ev_rpc;   /* private: the answer being read */
	uint8_t ev_data;  /* private: the SSE event being read has had data */
	uint8_t endpoint_state; /* LLM_MCP_EP_* */
	uint8_t endpoint_len;
	uint8_t ev_id_len; /* private: 1 + bytes in ev_id_raw (an id not hashed yet), 0: none */
	uint8_t ev_id_type; /* private: its enum jtype */
	uint64_t ev_id;   /* private */
	char ev_id_raw[LLM_MCP_ID_KEEP]; /* private */
	uint32_t dropped; /* answers past LLM_MCP_CALLS */
	struct llm_mcp_answer a[LLM_MCP_CALLS];
	char endpoint[LLM_MCP_ENDPOINT_KEEP];
};

#define LLM_MCP_EP_NONE 0
#define LLM_MCP_EP_READING 1 /* an event whose data is not JSON: maybe the endpoint */
#define LLM_MCP_EP_KEPT 2    /* endpoint[] holds a URL with a sessionId */

/* A JSON-RPC id (a scalar: its type and raw bytes) as a nonzero 64-bit
 * FNV-1a hash; both ends send the id's bytes unchanged, so request and
 * answer hash alike. */
uint64_t llm_mcp_id(enum jtype t, const char *v, size_t n);

/* Whether the method names an MCP call: initialize, ping, or a namespaced
 * one (tools/call, notifications/initialized...); other JSON-RPC (an
 * Ethereum node's eth_call) is not MCP. */
int llm_mcp_method(const char *m, size_t n);

/* Request side: a batch element's scalar (level 1: jsonrpc, method, id;
 * level 2: params.name), and its end. */
void llm_mcp_batch_scalar(struct llm_mcp_batch *b, const struct jscan *s, enum jtype t,
			  const char *v, size_t n, int truncated);
void llm_mcp_batch_end(struct llm_mcp_batch *b);
/* Calls seen (kept or dropped). */
static inline uint32_t llm_mcp_batch_calls(const struct llm_mcp_batch *b)
{
	return b->n + b->dropped;
}

/* Response side: one answer's outcome bit or id, and its end at time now. */
void llm_mcp_answer_bit(struct llm_mcp_answers *a, uint8_t bit);
/* An answer's top-level "id" (a scalar, not null): hashed (llm_mcp_id) once
 * the answer is known to be JSON-RPC, at its end if "jsonrpc" comes later. */
void llm_mcp_answer_id(struct llm_mcp_answers *a, enum jtype t, const char *v, size_t n);
/* The answer being read is dropped (half an answer is none). */
static inline void llm_mcp_answer_drop(struct llm_mcp_answers *a)
{
	a->ev_rpc = 0;
	a->ev_id = 0;
	a->ev_id_len = 0;
}

void llm_mcp_answer_keep(struct llm_mcp_answers *a, uint64_t now);
/* The answer's end: inline, since every event of every stream ends one and
 * almost none is JSON-RPC. */
static inline void llm_mcp_answer_end(struct llm_mcp_answers *a, uint64_t now)
{
	if (a->ev_rpc & LLM_RPC_JSONRPC)
		llm_mcp_answer_keep(a, now);
	llm_mcp_answer_drop(a);
}

/* SSE data bytes of the event being read, and the event's end: keeps the
 * first event whose data is a URL with a session (the `endpoint` event).
 * Inline for the usual data (JSON, or not the event's first line) and
 * the usual end (no endpoint being read); llm_mcp.c reads the rest. */
void llm_mcp_sse_endpoint(struct llm_mcp_answers *a, const char *p, size_t n);
void llm_mcp_sse_endpoint_end(struct llm_mcp_answers *a);
static inline void llm_mcp_sse_data(struct llm_mcp_answers *a, const char *p, size_t n)
{
	if (n && a->endpoint_state != LLM_MCP_EP_READING &&
	    (a->ev_data || a->endpoint_state != LLM_MCP_EP_NONE || (p[0] != '/' && p[0] != 'h'))) {
		a->ev_data = 1;
		return;
	}
	llm_mcp_sse_endpoint(a, p, n);
}

static inline void llm_mcp_sse_event_end(struct llm_mcp_answers *a)
{
	a->ev_data = 0;
	if (a->endpoint_state == LLM_MCP_EP_READING)
		llm_mcp_sse_endpoint_end(a);
}

static inline int llm_mcp_owns(const struct llm_mcp_owner *o, const struct tr_record *rec)
{
	return o->rec == rec && o->start_ns == rec->start_ns;
}

/*
 * The record of call i of a batch, from the exchange's settled record ex
 * (t0: the monotonic time its request began, the clock of the answers'
 * times): method and tool, REC_F_MCP_BATCH, and what its answer said:
 * outcome flags and its own latency (request start to the end of its
 * answer's event or element); a notification is REC_F_MCP_NOTIFICATION; a
 * request with no answer among those kept is REC_F_MCP_UNPAIRED when
 * answers were not kept, else REC_F_MCP_UNANSWERED if the body was a
 * complete answer (a 202 answers nothing). The wire's bytes and the
 * batch's dropped calls are on call 0 only, so sums stay exact.
 */
void llm_mcp_call_record(struct tr_record *out, const struct tr_record *ex,
			 const struct llm_mcp_batch *b, const struct llm_mcp_answers *a, unsigned i,
			 uint64_t t0);

#endif
