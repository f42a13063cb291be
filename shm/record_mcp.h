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
 * a 2xx status and an answer in the body, is a result. Token fields stay 0.
 * Read them through these accessors, never the LLM field names.
 */
#ifndef TOKENRING_RECORD_MCP_H
#define TOKENRING_RECORD_MCP_H

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

#endif
