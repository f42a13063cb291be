/*
 * conn_hdr.c - the headers the record keeps: Host, x-request-id,
 * traceparent, user-agent and the configured label headers on requests;
 * Content-Type on responses and Content-Encoding on both (they decide how
 * the body is read); Bedrock's token count headers on responses (usage
 * when the body has none). The model a path names is copied decoded.
 */
#include <string.h>

#include "conn_internal.h"

static void set_field(struct tr_record *r, char *dst, size_t cap, const struct http_field *h,
		      int truncated, uint32_t flag)
{
	rec_set_str(dst, cap, h->value, h->value_len, &r->flags, flag);
	if (truncated)
		r->flags |= flag;
}

/* Configured label headers (none by default: one load each to know). */
static void label_headers(struct tr_record *r, const struct conn_config *cfg,
			  const struct http_field *h, int truncated)
{
	static const uint32_t flags[REC_LABELS] = {REC_F_TRUNC_LABEL0, REC_F_TRUNC_LABEL1};
	for (unsigned i = 0; i < REC_LABELS; i++) {
		const char *want = cfg->label_headers[i];
		if (!want[0])
			continue;
		size_t n = strnlen(want, sizeof cfg->label_headers[i]);
		if (n == h->name_len && strncasecmp(want, h->name, n) == 0)
			set_field(r, r->labels[i], REC_LABEL_LEN, h, truncated, flags[i]);
	}
}

uint64_t conn_req_headers_wanted(const struct conn_config *cfg)
{
	uint64_t m = HTTP_WANT_NAME(4, 'h') | HTTP_WANT_NAME(10, 'u') | HTTP_WANT_NAME(11, 't') |
		     HTTP_WANT_NAME(12, 'x') | HTTP_WANT_NAME(16, 'c');
	for (unsigned i = 0; i < REC_LABELS; i++) {
		const char *h = cfg->label_headers[i];
		if (h[0])
			m |= HTTP_WANT_NAME(strnlen(h, sizeof cfg->label_headers[i]), h[0]);
	}
	return m;
}

/*
 * A GET on an unknown path is not read (conn_may_llm), except one that asks
 * for an event stream (Accept: text/event-stream): the older MCP transport
 * (HTTP+SSE, protocol 2024-11-05) answers its POSTs on such a stream, opened
 * with GET on any path, and their real outcomes are read there. Headers
 * before Accept (Host...) were skipped: the stream's answers need only its
 * endpoint's session (conn_mcp_stream).
 */
static int sse_stream_get(const struct tr_record *r, const struct http_field *h)
{
	return h->value_len >= 17 && strcmp(r->method, "GET") == 0 &&
	       memmem(h->value, h->value_len, "text/event-stream", 17);
}

/* The names the record keeps are told apart by length first: most headers
 * (Accept, Connection, Authorization, X-Stainless-*...) match none. */
void conn_req_header(struct conn_state *st, struct conn_exch *ex, const struct conn_config *cfg,
		     const struct http_field *h, int truncated)
{
	struct tr_record *r = &ex->rec;
	const char *a = h->name;
	switch (h->name_len) {
	case 4:
		if (http_lit_is(a, 4, "host") && r->authority[0] == 0)
			/* (an absolute-form target already named it) */
			set_field(r, r->authority, REC_AUTHORITY_LEN, h, truncated,
				  REC_F_TRUNC_AUTHORITY);
		break;
	case 6:
		if (!ex->may_llm && http_lit_is(a, 6, "accept") && sse_stream_get(r, h)) {
			ex->may_llm = 1; /* from here on read like any candidate */
			http_want(&st->req, conn_req_headers_wanted(cfg));
			llm_req_begin(&st->lreq);
		}
		break;
	case 10:
		if (http_lit_is(a, 10, "user-agent"))
			set_field(r, r->user_agent, REC_USER_AGENT_LEN, h, truncated,
				  REC_F_TRUNC_USER_AGENT);
		break;
	case 11:
		if (http_lit_is(a, 11, "traceparent") &&
		    conn_parse_traceparent(h->value, h->value_len, r->trace_id) == 0)
			r->flags |= REC_F_HAS_TRACE;
		break;
	case 12:
		if (http_lit_is(a, 12, "x-request-id"))
			set_field(r, r->request_id, REC_REQUEST_ID_LEN, h, truncated,
				  REC_F_TRUNC_REQUEST_ID);
		break;
	case 16:
		if (http_lit_is(a, 16, "content-encoding"))
			st->req_coding = (uint8_t)http_coding(h->value, h->value_len);
		break;
	default:
		break;
	}
	label_headers(r, cfg, h, truncated);
}

static int configured_prefix(const struct conn_config *cfg, const char *path)
{
	for (unsigned i = 0; i < cfg->n_llm_paths && i < CONN_MAX_LLM_PATHS; i++) {
		size_t n = strnlen(cfg->llm_paths[i], CONN_LLM_PATH_LEN);
		if (n && strncmp(path, cfg->llm_paths[i], n) == 0)
			return 1;
	}
	return 0;
}

/*
 * Whether an exchange can be LLM traffic, decided from its request line:
 * with TOKENRING_HTTP=all every exchange is recorded; an LLM call is a
 * POST (PUT and PATCH are let through too), or goes to a known LLM route
 * or a configured prefix (GET /v1/models...). Anything else (GET /healthz,
 * a probe, static files) is framed and counted, but its headers and
 * bodies are not read: it can never be recorded, so nothing is looked for.
 *
 * So a GET answered with a `usage` object on an unknown path is not
 * recorded, on purpose: no LLM API spends tokens on a GET; such an answer
 * retrieves a stored result (OpenAI's GET /v1/responses/{id}, batch
 * retrievals), and counting it would count the same tokens twice.
 * TOKENRING_HTTP=all and TOKENRING_LLM_PATHS still record it
 * (tests/producer/test_conn.c, get_answered_with_usage_...).
 */
int conn_may_llm(const struct tr_record *r, const struct conn_config *cfg, const char *method,
		 size_t mlen)
{
	struct llm_route route;
	if (cfg->http_all || (mlen == 4 && memcmp(method, "POST", 4) == 0) ||
	    (mlen == 3 && memcmp(method, "PUT", 3) == 0) ||
	    (mlen == 5 && memcmp(method, "PATCH", 5) == 0))
		return 1;
	return llm_route(r->path, strnlen(r->path, REC_PATH_LEN), "", 0, &route) ||
	       configured_prefix(cfg, r->path);
}

void conn_req_headers_done(struct conn_exch *ex, const struct conn_config *cfg)
{
	struct tr_record *r = &ex->rec;
	size_t plen = strnlen(r->path, REC_PATH_LEN);
	size_t hlen = strnlen(r->authority, REC_AUTHORITY_LEN);
	ex->f.known_path = (uint8_t)llm_route(r->path, plen, r->authority, hlen, &ex->f.route);
	if (configured_prefix(cfg, r->path))
		ex->f.known_path = 1;
	size_t at, mlen = llm_path_model(r->path, plen, &at);
	if (mlen)
		llm_set_path_model(r, r->path + at, mlen); /* "%3A" read as ':' */
	ex->path_stream = conn_path_streams(r->path, plen);
	ex->id_due = r->request_id[0] == 0;
}

/* Gemini streams by path (":streamGenerateContent"), whatever its
 * Content-Type says: a colon is rare in a path, so memchr finds the few
 * places worth comparing. */
int conn_path_streams(const char *path, size_t n)
{
	static const char verb[] = ":streamGenerateContent";
	const size_t k = sizeof verb - 1;
	for (const char *p = path, *e = path + n; (size_t)(e - p) >= k;) {
		const char *c = memchr(p, ':', (size_t)(e - p) - k + 1);
		if (!c)
			return 0;
		if (memcmp(c, verb, k) == 0)
			return 1;
		p = c + 1;
	}
	return 0;
}

/* Media type of a Content-Type value, parameters ignored. */
static enum conn_ctype ctype_of(const char *v, size_t n)
{
	const char *semi = memchr(v, ';', n);
	if (semi)
		n = (size_t)(semi - v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (http_lit_is(v, n, "text/event-stream"))
		return CONN_CT_SSE;
	if (http_lit_is(v, n, "application/x-ndjson") || http_lit_is(v, n, "application/jsonl") ||
	    http_lit_is(v, n, "application/json-seq"))
		return CONN_CT_NDJSON;
	return CONN_CT_OTHER;
}

void conn_resp_header(struct conn_state *st, struct conn_exch *ex, const struct http_field *h)
{
	const char *a = h->name, *v = h->value;
	size_t n = h->name_len, vn = h->value_len;
	if (http_lit_is(a, n, "content-type"))
		st->resp_ctype = (uint8_t)ctype_of(v, vn);
	else if (http_lit_is(a, n, "content-encoding"))
		st->resp_coding = (uint8_t)http_coding(v, vn);
	else if (http_lit_is(a, n, "x-amzn-bedrock-input-token-count"))
		llm_header_tokens(&ex->f, LLM_TOK_INPUT, v, vn);
	else if (http_lit_is(a, n, "x-amzn-bedrock-output-token-count"))
		llm_header_tokens(&ex->f, LLM_TOK_OUTPUT, v, vn);
}
