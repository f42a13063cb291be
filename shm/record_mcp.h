/*
 * record_mcp.h - how an MCP exchange (a JSON-RPC call to a Model Context
 * Protocol server over HTTP) is written into a struct tr_record. It is an
 * exchange like any other (REC_KIND_EXCHANGE: same pairing, timing, bytes,
 * status), so it reuses that layout; provider REC_PROVIDER_MCP and
 * operation REC_OP_MCP mark it, and two string fields that only mean
 * something for LLM calls carry MCP's names instead:
 *
 *   request_model   the tool a tools/call names (params.name), else empty
 *   response_model  the JSON-RPC method (initialize, tools/list, tools/call...)
 *
 * The outcome is in flags: REC_F_MCP_RPC_ERROR (the answer was a JSON-RPC
 * error), REC_F_MCP_TOOL_ERROR (a result with isError true); neither, with
 * a 2xx status and an answer in the body, is a result.
 *
 * A JSON-RPC batch (a POST body that is an array of calls, MCP protocol
 * 2025-03-26) is one record per call, each with REC_F_MCP_BATCH, its own
 * method, tool and outcome, and its own latency when its answer came as
 * its own SSE event (proto/llm_mcp.h). The exchange's wire bytes are on the
 * batch's first call only, and so is the count of calls the shim did not
 * keep (past LLM_MCP_CALLS): rec_mcp_dropped(). Flags only batched calls
 * carry: REC_F_MCP_NOTIFICATION (no answer due: accepted),
 * REC_F_MCP_UNANSWERED (the server's complete answer left it out),
 * REC_F_MCP_UNPAIRED (its answer may be among answers past the ones kept).
 *
 * Token fields carry no tokens (usage is `none`, so no reader shows them);
 * three hold MCP values instead:
 *
 *   cached_tokens, cache_creation_tokens  the JSON-RPC id's hash (low, high
 *                  32 bits: proto/llm_mcp.h llm_mcp_id; 0 = none)
 *   total_tokens   calls of the batch not kept (first call's record); on an
 *                  answer entry, answers the shim could not keep
 *
 * REC_KIND_MCP_ANSWER entries (same layout, same accessors) carry one
 * answer seen on the older SSE transport's GET stream (protocol
 * 2024-11-05, where each POST is answered 202 and the real answer comes as
 * an SSE `message` event): path is the stream's endpoint URL (its
 * sessionId), start_ns when the answer's event ended, the id and the
 * outcome flags as above. tokenringd pairs them with the 202 POST records
 * of the same process, session and id (aggregator/mcp.c).
 *
 * Read them through these accessors, never the LLM field names.
 */
#ifndef TOKENRING_RECORD_MCP_H
#define TOKENRING_RECORD_MCP_H

#include <string.h>

#include "record.h"

#define REC_MCP_NAME_LEN REC_MODEL_LEN

static inline int rec_is_mcp(const struct tr_record *r)
{
	return r->provider == REC_PROVIDER_MCP;
}

/* The tool of a tools/call ("" for other methods); NUL-terminated. */
static inline const char *rec_mcp_tool(const struct tr_record *r)
{
	return r->request_model;
}

static inline char *rec_mcp_tool_field(struct tr_record *r)
{
	return r->request_model;
}

/* The JSON-RPC method; NUL-terminated. */
static inline const char *rec_mcp_method(const struct tr_record *r)
{
	return r->response_model;
}

static inline char *rec_mcp_method_field(struct tr_record *r)
{
	return r->response_model;
}

/* The JSON-RPC id's hash, 0 = none (a notification, or not kept). */
static inline uint64_t rec_mcp_id(const struct tr_record *r)
{
	return (uint64_t)r->cache_creation_tokens << 32 | r->cached_tokens;
}

static inline void rec_mcp_set_id(struct tr_record *r, uint64_t id)
{
	r->cached_tokens = (uint32_t)id;
	r->cache_creation_tokens = (uint32_t)(id >> 32);
}

/* The session a URL names (a POST's target, an answer entry's endpoint):
 * its sessionId query parameter's value, up to '&' or the end; returns its
 * length and sets *at, 0 if none. */
static inline size_t rec_mcp_session(const char *url, size_t n, const char **at)
{
	static const char key[] = "sessionId=";
	const size_t k = sizeof key - 1;
	const char *end = url + n;
	for (const char *p = memchr(url, '?', n); p && (size_t)(end - p) > k;
	     p = memchr(p + 1, '&', (size_t)(end - p - 1))) {
		if (memcmp(p + 1, key, k) == 0) {
			const char *v = p + 1 + k;
			const char *amp = memchr(v, '&', (size_t)(end - v));
			*at = v;
			return (size_t)((amp ? amp : end) - v);
		}
	}
	return 0;
}

/* Calls of this record's batch the shim did not keep (first call only). */
static inline uint32_t rec_mcp_dropped(const struct tr_record *r)
{
	return r->total_tokens;
}

static inline void rec_mcp_set_dropped(struct tr_record *r, uint32_t n)
{
	r->total_tokens = n;
}

#endif
