/*
 * http_head.c - the fields of a message's head: the start line's, and the
 * framing headers' (Content-Length, Transfer-Encoding), for the line
 * states (http.c) and for the heads read in place (http_index.c) alike.
 */
#include <string.h>

#include "http_internal.h"
#include "scan_internal.h"

/* "HTTP/1.x" at s (8 bytes): returns x, or -1. */
static int version_minor(const char *s)
{
	if (memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9')
		return -1;
	return s[7] - '0';
}

static int is_method_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* The version at the end of the request line, from head or tail. */
static int request_version(const struct http_parser *p)
{
	int cut = http_line_truncated(p);
	const char *end = cut ? p->lt + p->tail_len : p->lh + p->head_len;
	size_t avail = cut ? p->tail_len : p->head_len;
	if (avail < 9 || end[-9] != ' ')
		return -1;
	return version_minor(end - 8);
}

static int parse_request_line(struct http_parser *p, struct http_event *ev)
{
	size_t m = 0;
	while (m < p->head_len && is_method_char(p->lh[m]))
		m++;
	if (m == 0 || m >= p->head_len || p->lh[m] != ' ')
		return -1;
	int minor = request_version(p);
	if (minor < 0)
		return -1;
	/* The target runs to the space before the version, or to the end of
	 * what was kept of a long line. */
	size_t tend = p->head_len;
	if (!http_line_truncated(p)) {
		if (p->head_len < m + 1 + 1 + 9)
			return -1;
		tend = p->head_len - 9;
	}
	const char *t = p->lh + m + 1;
	size_t cap = tend - (m + 1);
	const char *sp = scan_find(t, t + cap, ' ');
	sp = sp == t + cap ? NULL : sp;
	ev->a = p->lh;
	ev->a_len = m;
	ev->b = t;
	ev->b_len = sp ? (size_t)(sp - t) : cap;
	ev->truncated = http_line_truncated(p) && !sp;
	ev->minor = (unsigned)minor;
	return ev->b_len == 0 ? -1 : 0;
}

static int parse_status_line(struct http_parser *p, struct http_event *ev)
{
	const char *h = p->lh;
	if (p->head_len < 12 || h[8] != ' ')
		return -1;
	int minor = version_minor(h);
	if (minor < 0)
		return -1;
	unsigned st = 0;
	for (int i = 9; i < 12; i++) {
		if (h[i] < '0' || h[i] > '9')
			return -1;
		st = st * 10 + (unsigned)(h[i] - '0');
	}
	if (st < 100 || (p->head_len > 12 && h[12] != ' '))
		return -1;
	p->status = (uint16_t)st;
	ev->status = st;
	ev->minor = (unsigned)minor;
	return 0;
}

/* The start line at lh/lt into ev: request or status line; -1 if malformed. */
int http_start_fields(struct http_parser *p, struct http_event *ev)
{
	return p->kind == HTTP_REQUEST ? parse_request_line(p, ev) : parse_status_line(p, ev);
}

/* Content-Length: digits only, bounded, equal if repeated. */
int http_take_length(struct http_parser *p, const char *v, size_t n)
{
	uint64_t x = 0;
	if (n == 0 || n > HTTP_MAX_LENGTH_DIGITS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (p->has_length && p->length != x)
		return -1;
	p->has_length = 1;
	p->length = x;
	return 0;
}

/* Transfer-Encoding: chunked only when it is the final coding (the tail of
 * the line holds it however long the list of codings is). */
void http_take_te(struct http_parser *p)
{
	size_t n = p->tail_len;
	while (n > 0 && http_ows(p->lt[n - 1]))
		n--;
	if (n < 8 || !http_lit_is(p->lt + n - 7, 7, "chunked")) {
		p->te_chunked = 0;
		return;
	}
	char before = p->lt[n - 8];
	p->te_chunked = http_ows(before) || before == ',' || before == ':';
}

/* take_te reads the tail of the line: for a line read in place, [s, s +
 * n), it is set around the call (no line is kept between calls). */
static void te_in_place(struct http_parser *p, const char *s, size_t n)
{
	p->tail_len = (uint8_t)(n < HTTP_LINE_TAIL ? n : HTTP_LINE_TAIL);
	p->lt = s + n - p->tail_len;
	http_take_te(p);
	p->tail_len = 0;
}

/* The framing headers of a line read in place, [s, s + n) with its name
 * n_len bytes: 0, or -1 for a value the general path refuses. */
int http_framing_in_place(struct http_parser *p, const char *s, size_t n, size_t n_len)
{
	if (n_len == 14 && http_lit_is(s, 14, "content-length")) {
		const char *v = s + 15, *end = s + n;
		while (v < end && http_ows(*v))
			v++;
		while (end > v && http_ows(end[-1]))
			end--;
		return http_take_length(p, v, (size_t)(end - v));
	}
	if (n_len == 17 && http_lit_is(s, 17, "transfer-encoding"))
		te_in_place(p, s, n);
	return 0;
}
