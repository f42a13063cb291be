/*
 * conn_hdr.c - the headers the record keeps: Host, x-request-id,
 * traceparent, user-agent and the configured label headers on requests;
 * Content-Type on responses and Content-Encoding on both (they decide how
 * the body is read); Bedrock's token count headers on responses (usage
 * when the body has none). The model a path names is copied decoded.
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "conn_internal.h"
#include "scan_internal.h"

static void set_field(struct conn_exch *ex, unsigned bit, char *dst, size_t cap,
		      const struct http_field *h, int truncated, uint32_t flag)
{
	conn_fill_str(ex, bit, dst, cap, h->value, h->value_len, flag);
	if (truncated)
		ex->rec.flags |= flag;
}

/* Configured label headers (none by default: one load each to know). */
static void label_headers(struct conn_exch *ex, const struct conn_config *cfg,
			  const struct http_field *h, int truncated)
{
	static const uint32_t flags[REC_LABELS] = {REC_F_TRUNC_LABEL0, REC_F_TRUNC_LABEL1};
	for (unsigned i = 0; i < REC_LABELS; i++) {
		const char *want = cfg->label_headers[i];
		if (!want[0])
			continue;
		size_t n = strnlen(want, sizeof cfg->label_headers[i]);
		if (n == h->name_len && strncasecmp(want, h->name, n) == 0)
			set_field(ex, CONN_FILLED_LABEL0 << i, ex->rec.labels[i], REC_LABEL_LEN, h,
				  truncated, flags[i]);
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
int conn_sse_get(const char *method, size_t mlen, const struct http_field *h)
{
	return h->value_len >= 17 && http_lit_is(h->name, h->name_len, "accept") && mlen == 3 &&
	       memcmp(method, "GET", 3) == 0 && memmem(h->value, h->value_len, "text/event-stream", 17);
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
			set_field(ex, CONN_FILLED_AUTHORITY, r->authority, REC_AUTHORITY_LEN, h,
				  truncated, REC_F_TRUNC_AUTHORITY);
		break;
	case 6:
		if (!ex->may_llm && conn_sse_get(r->method, strnlen(r->method, REC_METHOD_LEN), h)) {
			ex->may_llm = 1; /* from here on read like any candidate */
			http_want(&st->req, conn_req_headers_wanted(cfg));
			llm_req_begin(&st->lreq);
		}
		break;
	case 10:
		if (http_lit_is(a, 10, "user-agent"))
			set_field(ex, CONN_FILLED_USER_AGENT, r->user_agent, REC_USER_AGENT_LEN, h,
				  truncated, REC_F_TRUNC_USER_AGENT);
		break;
	case 11:
		if (http_lit_is(a, 11, "traceparent") &&
		    conn_parse_traceparent(h->value, h->value_len, r->trace_id) == 0)
			r->flags |= REC_F_HAS_TRACE;
		break;
	case 12:
		if (http_lit_is(a, 12, "x-request-id"))
			set_field(ex, CONN_FILLED_REQUEST_ID, r->request_id, REC_REQUEST_ID_LEN, h,
				  truncated, REC_F_TRUNC_REQUEST_ID);
		break;
	case 16:
		if (http_lit_is(a, 16, "content-encoding"))
			st->req_coding = (uint8_t)http_coding(h->value, h->value_len);
		break;
	default:
		break;
	}
	label_headers(ex, cfg, h, truncated);
}

/* path (plen bytes, no NUL) starts with a TOKENRING_LLM_PATHS prefix. */
static int configured_prefix(const struct conn_config *cfg, const char *path, size_t plen)
{
	for (unsigned i = 0; i < cfg->n_llm_paths && i < CONN_MAX_LLM_PATHS; i++) {
		size_t n = strnlen(cfg->llm_paths[i], CONN_LLM_PATH_LEN);
		if (n && n <= plen && memcmp(path, cfg->llm_paths[i], n) == 0)
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
int conn_llm_method(const struct conn_config *cfg, const char *method, size_t mlen)
{
	return cfg->http_all || (mlen == 4 && memcmp(method, "POST", 4) == 0) ||
	       (mlen == 3 && memcmp(method, "PUT", 3) == 0) ||
	       (mlen == 5 && memcmp(method, "PATCH", 5) == 0);
}

int conn_llm_path(const struct conn_config *cfg, const char *path, size_t plen)
{
	struct llm_route route;
	const char *q = memchr(path, '?', plen);
	size_t n = q ? (size_t)(q - path) : plen;
	return (llm_route_maybe(path, n) && llm_route_cut(path, n, "", 0, &route)) ||
	       (cfg->n_llm_paths && configured_prefix(cfg, path, plen));
}

/* Where a record string field's text ends (its first NUL) and where its
 * first '?' and ':' are (len when there is none): the field is NUL-padded
 * and whole in memory, so one pass reads it 16 bytes a step. */
struct field_marks {
	size_t len, query, colon;
};

static void field_marks(const char *f, size_t cap, struct field_marks *m)
{
#if defined(__SSE2__)
	const __m128i nul = _mm_setzero_si128(), q = _mm_set1_epi8('?'), c = _mm_set1_epi8(':');
	unsigned qs = 0, cs = 0;
	size_t i = 0, qi = 0, ci = 0;
	for (; i < cap; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(f + i));
		unsigned z = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nul));
		if (!qs) {
			qs = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, q));
			qi = i;
		}
		if (!cs) {
			cs = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c));
			ci = i;
		}
		if (z) {
			i += (size_t)__builtin_ctz(z);
			break;
		}
	}
	m->len = i < cap ? i : cap;
	m->query = qs && qi + (size_t)__builtin_ctz(qs) < m->len ? qi + (size_t)__builtin_ctz(qs)
								  : m->len;
	m->colon = cs && ci + (size_t)__builtin_ctz(cs) < m->len ? ci + (size_t)__builtin_ctz(cs)
								  : m->len;
#else
	m->len = strnlen(f, cap);
	const char *q = memchr(f, '?', m->len), *c = memchr(f, ':', m->len);
	m->query = q ? (size_t)(q - f) : m->len;
	m->colon = c ? (size_t)(c - f) : m->len;
#endif
}

void conn_req_headers_done(struct conn_exch *ex, const struct conn_config *cfg)
{
	struct tr_record *r = &ex->rec;
	struct field_marks p, h;
	field_marks(r->path, REC_PATH_LEN, &p);
	field_marks(r->authority, REC_AUTHORITY_LEN, &h);
	size_t plen = p.len;
	ex->f.known_path =
		(uint8_t)llm_route_cut(r->path, p.query, r->authority, h.colon, &ex->f.route);
	if (configured_prefix(cfg, r->path, plen))
		ex->f.known_path = 1;
	/* a model in the path needs a ':' or the Bedrock prefix, a stream by
	 * path a ':' (llm_path_model, conn_path_streams): most paths have
	 * neither, and cost no call */
	if (p.colon < plen || (plen >= 7 && memcmp(r->path, "/model/", 7) == 0)) {
		size_t at, mlen = llm_path_model(r->path, plen, &at);
		if (mlen)
			llm_set_path_model(r, r->path + at, mlen); /* "%3A" read as ':' */
		ex->path_stream = (uint8_t)(p.colon < plen && conn_path_streams(r->path, plen));
	}
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
	n = (size_t)(scan_find(v, v + n, ';') - v); /* (a short value: no libc call) */
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
