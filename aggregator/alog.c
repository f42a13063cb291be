/*
 * alog.c - the access log line: one JSON object per record, with the field
 * names of ASM's sidecar access log (seed 000) and, as there, every value a
 * JSON string ("-" when unknown, as Envoy prints it), so one log index
 * serves both. tokenring's extras follow the same convention.
 *
 * Direction. ASM's fields are an Envoy sidecar's view: "downstream" is the
 * application side of the proxy, "upstream" the far side. In seed 000 the
 * calling app (reporter source) shows downstream_remote_address = the app's
 * own address (192.168.34.235:39066), downstream_local_address = the
 * address the app dialed (47.93.x.x:80) and upstream_host = the provider.
 * The shim sits where the sidecar would, so:
 *   reporter source:      downstream_remote_address = local (this process)
 *                         downstream_local_address  = peer (what it dialed)
 *                         upstream_host             = peer
 *   reporter destination: downstream_remote_address = peer (the client)
 *                         downstream_local_address  = local (this server)
 *                         upstream_host             = local (the app served it)
 * bytes_received / bytes_sent are the request / response bytes (on the
 * wire, headers included: the shim sees no proxy-side body split).
 * duration and time_to_first_token are whole milliseconds, like Envoy's
 * %DURATION%; start_time is UTC with milliseconds, like %START_TIME%.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "esc.h"
#include "expo.h"
#include "series.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

/* Field names tokenring writes; a header label may not take one. */
static const char *const fields[] = {
	"start_time", "duration", "method", "path", "protocol", "response_code",
	"response_flags", "bytes_received", "bytes_sent", "request_id", "authority_for",
	"upstream_host", "downstream_local_address", "downstream_remote_address",
	"user_agent", "trace_id", "request_model", "request_prompt_tokens",
	"request_completion_tokens", "total_tokens", "response_model", "provider",
	"operation", "streaming", "time_to_first_token", "reporter", "source_workload",
	"source_namespace", "usage_status", "cached_tokens", "cache_creation_tokens",
	"reasoning_tokens", "chunks", "content_encoding", "request_content_encoding", NULL,
};

bool alog_field_reserved(const char *name)
{
	for (unsigned i = 0; fields[i]; i++)
		if (strcmp(fields[i], name) == 0)
			return true;
	return false;
}

/* ,"key":"  -- no comma right after the opening brace. */
static int key(struct strbuf *b, const char *k)
{
	bool first = b->len && b->data[b->len - 1] == '{';
	int rc = first ? strbuf_append(b, "\"", 1) : strbuf_append(b, ",\"", 2);
	if (!rc)
		rc = strbuf_puts(b, k);
	if (!rc)
		rc = strbuf_append(b, "\":\"", 3);
	return rc;
}

static int end(struct strbuf *b)
{
	return strbuf_append(b, "\"", 1);
}

/* "k":"escaped value or -" */
static int str_field(struct strbuf *b, const char *k, const char *v, size_t cap)
{
	int rc = key(b, k);
	size_t n = strnlen(v, cap);
	if (!rc)
		rc = n ? esc_json(b, v, n) : strbuf_append(b, "-", 1);
	if (!rc)
		rc = end(b);
	return rc;
}

static int u64_field(struct strbuf *b, const char *k, uint64_t v)
{
	int rc = key(b, k);
	if (!rc)
		rc = expo_u64(b, v);
	if (!rc)
		rc = end(b);
	return rc;
}

/* Tokens are written only when the provider reported usage. */
static int tok_field(struct strbuf *b, const char *k, uint64_t v, bool usage)
{
	return usage ? u64_field(b, k, v) : str_field(b, k, "", 0);
}

static int addr_field(struct strbuf *b, const char *k, const struct rec_addr *a)
{
	char out[SERIES_ADDR_LEN];
	series_format_addr(out, sizeof(out), a);
	return str_field(b, k, out, sizeof(out));
}

static int time_field(struct strbuf *b, uint64_t start_ns)
{
	char out[64];
	time_t secs = (time_t)(start_ns / NS_PER_S);
	unsigned ms = (unsigned)(start_ns / NS_PER_MS % 1000);
	struct tm tm;

	if (start_ns == 0 || !gmtime_r(&secs, &tm))
		return str_field(b, "start_time", "", 0);
	snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	return str_field(b, "start_time", out, sizeof(out));
}

static int trace_field(struct strbuf *b, const struct tr_record *rec)
{
	static const char hex[] = "0123456789abcdef";
	char out[2 * REC_TRACE_ID_LEN + 1];
	out[0] = 0;
	if (rec->flags & REC_F_HAS_TRACE) {
		for (unsigned i = 0; i < REC_TRACE_ID_LEN; i++) {
			out[2 * i] = hex[rec->trace_id[i] >> 4];
			out[2 * i + 1] = hex[rec->trace_id[i] & 15];
		}
		out[2 * REC_TRACE_ID_LEN] = 0;
	}
	return str_field(b, "trace_id", out, sizeof(out));
}

/* Envoy-style response flags for what the shim can tell. */
static const char *response_flags(const struct tr_record *rec)
{
	if (rec->flags & REC_F_NO_RESPONSE)
		return "UC"; /* connection closed before any response byte */
	if (rec->flags & REC_F_CONN_CLOSED)
		return "UPE"; /* closed mid-response */
	if (rec->flags & REC_F_PARSE_ERROR)
		return "DPE"; /* framing or body could not be parsed */
	return "-";
}

/* A body's Content-Encoding as the record names it; "-" for none. */
static int coding_field(struct strbuf *out, const char *k, unsigned coding)
{
	const char *c = coding == REC_CODING_NONE ? "-" : rec_coding_name(coding);
	return str_field(out, k, c, strlen(c) + 1);
}

int alog_format(const struct tr_record *rec, const struct agg_identity *id,
		const struct agg_config *cfg, struct strbuf *out)
{
	bool src = rec->reporter != REC_REPORTER_DESTINATION;
	bool usage = rec->usage_status == REC_USAGE_AVAILABLE;
	const char *rep = rec_reporter_name(rec->reporter);
	const char *prov = rec_provider_name(rec->provider);
	const char *op = rec_operation_name(rec->operation);
	const char *us = rec_usage_name(rec->usage_status);
	size_t mark = out->len;
	int rc = strbuf_append(out, "{", 1);

	if (!rc)
		rc = time_field(out, rec->start_ns);
	if (!rc)
		rc = u64_field(out, "duration", rec->duration_ns / NS_PER_MS);
	if (!rc)
		rc = str_field(out, "method", rec->method, sizeof(rec->method));
	if (!rc)
		rc = str_field(out, "path", rec->path, sizeof(rec->path));
	if (!rc)
		rc = str_field(out, "protocol", "HTTP/1.1", 9);
	if (!rc)
		rc = u64_field(out, "response_code", rec->status);
	if (!rc)
		rc = str_field(out, "response_flags", response_flags(rec), 4);
	if (!rc)
		rc = u64_field(out, "bytes_received", rec->req_bytes);
	if (!rc)
		rc = u64_field(out, "bytes_sent", rec->resp_bytes);
	if (!rc)
		rc = str_field(out, "request_id", rec->request_id, sizeof(rec->request_id));
	if (!rc)
		rc = str_field(out, "authority_for", rec->authority, sizeof(rec->authority));
	if (!rc)
		rc = addr_field(out, "upstream_host", src ? &rec->peer : &rec->local);
	if (!rc)
		rc = addr_field(out, "downstream_local_address", src ? &rec->peer : &rec->local);
	if (!rc)
		rc = addr_field(out, "downstream_remote_address", src ? &rec->local : &rec->peer);
	if (!rc)
		rc = str_field(out, "user_agent", rec->user_agent, sizeof(rec->user_agent));
	if (!rc)
		rc = trace_field(out, rec);
	if (!rc)
		rc = str_field(out, "request_model", rec->request_model, sizeof(rec->request_model));
	if (!rc)
		rc = tok_field(out, "request_prompt_tokens", rec->prompt_tokens, usage);
	if (!rc)
		rc = tok_field(out, "request_completion_tokens", rec->completion_tokens, usage);
	/* tokenring's extras */
	if (!rc)
		rc = tok_field(out, "total_tokens", rec->total_tokens, usage);
	if (!rc)
		rc = str_field(out, "response_model", rec->response_model,
			       sizeof(rec->response_model));
	if (!rc)
		rc = str_field(out, "provider", prov, strlen(prov) + 1);
	if (!rc)
		rc = str_field(out, "operation", op, strlen(op) + 1);
	if (!rc)
		rc = str_field(out, "streaming", rec->flags & REC_F_STREAM ? "true" : "false", 6);
	if (!rc) {
		if ((rec->flags & REC_F_STREAM) && rec->ttft_ns)
			rc = u64_field(out, "time_to_first_token", rec->ttft_ns / NS_PER_MS);
		else
			rc = str_field(out, "time_to_first_token", "", 0);
	}
	if (!rc)
		rc = str_field(out, "reporter", rep, strlen(rep) + 1);
	if (!rc)
		rc = str_field(out, "source_workload", id ? id->workload : "",
			       id ? sizeof(id->workload) : 0);
	if (!rc)
		rc = str_field(out, "source_namespace", id ? id->namespace_ : "",
			       id ? sizeof(id->namespace_) : 0);
	if (!rc)
		rc = str_field(out, "usage_status", us, strlen(us) + 1);
	if (!rc)
		rc = tok_field(out, "cached_tokens", rec->cached_tokens, usage);
	if (!rc)
		rc = tok_field(out, "cache_creation_tokens", rec->cache_creation_tokens, usage);
	if (!rc)
		rc = tok_field(out, "reasoning_tokens", rec->reasoning_tokens, usage);
	if (!rc)
		rc = u64_field(out, "chunks", rec->chunks);
	if (!rc)
		rc = coding_field(out, "content_encoding", REC_CODING_RESP(rec->codings));
	if (!rc)
		rc = coding_field(out, "request_content_encoding", REC_CODING_REQ(rec->codings));
	for (unsigned i = 0; i < REC_LABELS && !rc; i++) {
		const char *name = cfg ? cfg->label_names[i] : "";
		if (!name[0] || alog_field_reserved(name))
			continue;
		rc = str_field(out, name, rec->labels[i], sizeof(rec->labels[i]));
	}
	if (!rc)
		rc = strbuf_append(out, "}\n", 2);
	if (rc) { /* leave no half line behind */
		out->len = mark;
		if (out->data)
			out->data[mark] = 0;
	}
	return rc;
}
