/*
 * mcp.h - Model Context Protocol calls (records of provider mcp,
 * shm/record_mcp.h), kept apart from the LLM series: agents' tool calls are
 * not model calls and must not move request, token or gen_ai counters.
 *
 *   tokenring_mcp_requests_total{reporter, source_workload, source_namespace,
 *       destination_service, method, status}            every JSON-RPC call
 *   tokenring_mcp_tool_calls_total{..., tool, status}    tools/call by tool
 *   tokenring_mcp_tool_call_duration_seconds{..., tool, status}  histogram
 *   tokenring_mcp_calls_dropped_total{reporter, reason} calls or answers not counted
 *   tokenring_mcp_calls_waiting                          202 POSTs awaiting their answer
 *   tokenring_mcp_series_overflow_total                  calls folded away
 *
 * reporter is the side that saw the call, as for the LLM families (a call
 * seen by a shimmed client and a shimmed server is two samples).
 * status: result, error (a JSON-RPC error), tool_error (isError), accepted
 * (202: a notification), http_error (4xx/5xx), interrupted (no answer),
 * unanswered (a batched request the answer left out, or an SSE transport
 * POST whose answer never came), unpaired (a batched request whose answer
 * was past the ones the shim keeps). The older SSE transport's 202 POSTs
 * wait for their answer entry and take its outcome and latency (mcp.c).
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

/* One REC_KIND_MCP_ANSWER entry: pairs with its 202 POST (mcp.c). */
void mcp_answer(struct mcp_table *t, const struct tr_record *ans);

/* Count the 202 POSTs that waited past their time as unanswered, drop the
 * answers nobody claimed; now_ns is CLOCK_REALTIME (records' start_ns). */
void mcp_expire(struct mcp_table *t, uint64_t now_ns);

/* Append the families above; the strbuf's sticky error. */
int mcp_render(const struct mcp_table *t, struct strbuf *out);

#endif
