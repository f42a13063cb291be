/*
 * httpd_parse.c - the request-head parser and response-head formatter of
 * tokenringd's HTTP server. The daemon only serves a few GET endpoints, so
 * the parser is strict (it answers 400 rather than guess) and small: it
 * finds the end of the head with memmem, then walks the lines once.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Comma-separated list value contains token tok (case-insensitive). */
static bool list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return true;
	}
	return false;
}

static int parse_request_line(const char *p, const char *end, struct httpd_req *req)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp || sp == p)
		return HTTPD_BAD;
	for (const char *q = p; q < sp; q++)
		if (!is_tchar((unsigned char)*q))
			return HTTPD_BAD;
	req->method = p;
	req->method_len = (size_t)(sp - p);
	const char *t = sp + 1;
	const char *sp2 = memchr(t, ' ', (size_t)(end - t));
	if (!sp2 || sp2 == t)
		return HTTPD_BAD;
	for (const char *q = t; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return HTTPD_BAD;
	const char *qm = memchr(t, '?', (size_t)(sp2 - t));
	req->path = t;
	req->path_len = (size_t)((qm ? qm : sp2) - t);
	const char *v = sp2 + 1;
	if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || !isdigit((unsigned char)v[5]) ||
	    v[6] != '.' || !isdigit((unsigned char)v[7]))
		return HTTPD_BAD;
	if (v[5] != '1')
		return HTTPD_BAD_VERSION;
	req->minor_version = v[7] - '0';
	return 0;
}

int httpd_parse_request(const char *buf, size_t len, struct httpd_req *req)
{
	size_t skip = 0;
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
		skip++;
	if (skip > 64)
		return HTTPD_BAD;
	const char *start = buf + skip;
	size_t avail = len - skip;
	size_t scan = avail < HTTPD_MAX_HEAD ? avail : HTTPD_MAX_HEAD;
	const char *hend = memmem(start, scan, "\r\n\r\n", 4);
	if (!hend)
		return avail >= HTTPD_MAX_HEAD ? HTTPD_HEAD_TOO_LARGE : HTTPD_PARTIAL;

	memset(req, 0, sizeof *req);
	const char *p = start;
	const char *eol = memmem(p, (size_t)(hend + 2 - p), "\r\n", 2);
	int rc = parse_request_line(p, eol, req);
	if (rc)
		return rc;
	bool conn_close = false, conn_keep = false, have_cl = false;
	unsigned headers = 0;
	p = eol + 2;
	while (p < hend + 2) {
		eol = memmem(p, (size_t)(hend + 2 - p), "\r\n", 2);
		if (++headers > HTTPD_MAX_HEADERS)
			return HTTPD_HEAD_TOO_LARGE;
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return HTTPD_BAD; /* also rejects obs-fold continuation lines */
		for (const char *q = p; q < colon; q++)
			if (!is_tchar((unsigned char)*q))
				return HTTPD_BAD;
		const char *v = colon + 1;
		const char *ve = eol;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *q = v; q < ve; q++)
			if ((unsigned char)*q < 0x20 && *q != '\t')
				return HTTPD_BAD;
		size_t nl = (size_t)(colon - p), vl = (size_t)(ve - v);
		if (nl == 14 && strncasecmp(p, "content-length", 14) == 0) {
			uint64_t cl = 0;
			if (vl == 0 || vl > 18)
				return vl > 18 ? HTTPD_BODY_TOO_LARGE : HTTPD_BAD;
			for (size_t i = 0; i < vl; i++) {
				if (!isdigit((unsigned char)v[i]))
					return HTTPD_BAD;
				cl = cl * 10 + (uint64_t)(v[i] - '0');
			}
			if (have_cl && cl != req->content_length)
				return HTTPD_BAD; /* conflicting lengths: request smuggling shape */
			have_cl = true;
			req->content_length = cl;
		} else if (nl == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
			return HTTPD_BAD; /* no endpoint takes a body; refuse framing we skip */
		} else if (nl == 6 && strncasecmp(p, "accept", 6) == 0) {
			req->accept_protobuf |=
				memmem(v, vl, "application/vnd.google.protobuf", 31) &&
				memmem(v, vl, "proto=io.prometheus.client.MetricFamily", 39) &&
				memmem(v, vl, "encoding=delimited", 18);
		} else if (nl == 10 && strncasecmp(p, "connection", 10) == 0) {
			conn_close |= list_has(v, vl, "close");
			conn_keep |= list_has(v, vl, "keep-alive");
		}
		p = eol + 2;
	}
	if (req->content_length > HTTPD_MAX_BODY)
		return HTTPD_BODY_TOO_LARGE;
	req->keep_alive = req->minor_version >= 1 ? !conn_close : (conn_keep && !conn_close);
	req->head_len = (size_t)(hend + 4 - buf);
	return (int)req->head_len;
}

bool httpd_method_is(const struct httpd_req *req, const char *m)
{
	return strlen(m) == req->method_len && memcmp(req->method, m, req->method_len) == 0;
}

bool httpd_path_is(const struct httpd_req *req, const char *p)
{
	return strlen(p) == req->path_len && memcmp(req->path, p, req->path_len) == 0;
}

const char *httpd_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

int httpd_format_head(struct strbuf *out, int status, const char *content_type,
		      size_t content_length, bool keep_alive, const char *allow,
		      const char *retry_after)
{
	int rc = strbuf_printf(out,
			       "HTTP/1.1 %d %s\r\nServer: tokenringd\r\nContent-Type: %s\r\n"
			       "Content-Length: %zu\r\nCache-Control: no-store\r\n%s%s%s%s%s%s%s\r\n",
			       status, httpd_reason(status), content_type, content_length,
			       keep_alive ? "" : "Connection: close\r\n", allow ? "Allow: " : "",
			       allow ? allow : "", allow ? "\r\n" : "",
			       retry_after ? "Retry-After: " : "", retry_after ? retry_after : "",
			       retry_after ? "\r\n" : "");
	return rc < 0 ? -ENOMEM : 0;
}
