/*
 * mcp.h - Model Context Protocol calls (records of provider mcp,
 * shm/record_mcp.h), kept apart from the LLM series: agents' tool calls are
 * not model calls and must not move request, token or gen_ai counters.
 *
 *   tokenring_mcp_requests_total{reporter, source_workload, source_namespace,
 *       destination_service, method, status}            every JSON-RPC call
 *   tokenring_mcp_tool_calls_total{..., tool, status}    tools/call by tool
 *   tokenring_mcp_tool_call_duration_seconds{..., tool, status}  histogram
 *   tokenring_mcp_series_overflow_total                  calls folded away
 *
 * reporter is the side that saw the call, as for the LLM families (a call
 * seen by a shimmed client and a shimmed server is two samples).
 * status: result, error (a JSON-RPC error), tool_error (isError), accepted
 * (202: a notification, or the old SSE transport, whose answer travels on
 * another stream), http_error (4xx/5xx), interrupted (no answer).
 * Bounded like every label set: at most MCP_MAX_SERIES rows, allocated at
 * creation; past it a call folds into every label "__overflow__" (status
 * kept) and the overflow counter says so. Single-threaded, like struct agg.
 */
#ifndef TOKENRING_MCP_H
#define TOKENRING_MCP_H

#include <stdint.h>

#include "agg.h"
#include "record.h"
#include "strbuf.h"

#define MCP_MAX_SERIES 2048u

struct mcp_table;

/* 0 or -ENOMEM. */
int mcp_create(struct mcp_table **out);
void mcp_destroy(struct mcp_table *t);

/* Count one MCP record (rec_is_mcp(rec)); id may be NULL. */
void mcp_ingest(struct mcp_table *t, const struct tr_record *rec, const struct agg_identity *id);

/* Append the families above; the strbuf's sticky error. */
int mcp_render(const struct mcp_table *t, struct strbuf *out);

#endif
