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

/* The version that ends a request line at end, avail bytes of it kept
 * (the whole line, or the tail of a long one). */
static int request_version(const char *end, size_t avail)
{
	if (avail < 9 || end[-9] != ' ')
		return -1;
	return version_minor(end - 8);
}

/* The method's bytes at the start of the line h[0..n): GET and POST (and
 * their space) by one word compare each, others a byte at a time. */
static size_t method_len(const char *h, size_t n)
{
	size_t m = 0;
	if (n >= 8) {
		uint64_t w, get = 0, post = 0;
		memcpy(&w, h, 8);
		memcpy(&get, "GET ", 4);
		memcpy(&post, "POST ", 5);
		if ((w & 0xffffffffull) == get)
			return 3;
		if ((w & 0xffffffffffull) == post)
			return 4;
	}
	while (m < n && is_method_char(h[m]))
		m++;
	return m;
}

/* The first space in [t, stop), or NULL, reading only [lo, lim) (lo <= t,
 * stop <= lim): 16 bytes a step, the last step the 16 that end at lim. A
 * target is short: no call for it. */
static const char *first_space(const char *lo, const char *t, const char *stop, const char *lim)
{
#ifdef SCAN_SSE2
	if (lim - lo >= 16) {
		const __m128i sp = _mm_set1_epi8(' ');
		for (const char *q = t; q < stop; q += 16) {
			const char *at = lim - q >= 16 ? q : lim - 16;
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)at);
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, sp)) >> (q - at);
			if (m)
				return q + __builtin_ctz(m) < stop ? q + __builtin_ctz(m) : NULL;
		}
		return NULL;
	}
#else
	(void)lo;
	(void)lim;
#endif
	return t < stop ? memchr(t, ' ', (size_t)(stop - t)) : NULL;
}

/* A request line: h[0..n) its kept head, cut when the line was longer
 * (its version then at the end of the kept tail: end, avail bytes). */
static int request_fields(const char *h, size_t n, int cut, const char *end, size_t avail,
			  struct http_event *ev)
{
	size_t m = method_len(h, n);
	if (m == 0 || m >= n || h[m] != ' ')
		return -1;
	int minor = request_version(end, avail);
	if (minor < 0)
		return -1;
	/* The target runs to the space before the version, or to the end of
	 * what was kept of a long line. */
	size_t tend = n;
	if (!cut) {
		if (n < m + 1 + 1 + 9)
			return -1;
		tend = n - 9;
	}
	const char *t = h + m + 1;
	size_t cap = tend - (m + 1);
	const char *sp = first_space(h, t, t + cap, h + n);
	ev->a = h;
	ev->a_len = m;
	ev->b = t;
	ev->b_len = sp ? (size_t)(sp - t) : cap;
	ev->truncated = cut && !sp;
	ev->minor = (unsigned)minor;
	return ev->b_len == 0 ? -1 : 0;
}

/* A status line, h[0..n) its kept head. */
static int status_fields(struct http_parser *p, const char *h, size_t n, struct http_event *ev)
{
	if (n < 12 || h[8] != ' ')
		return -1;
	int minor = version_minor(h);
	if (minor < 0)
		return -1;
	unsigned d0 = (unsigned char)h[9] - (unsigned)'0', d1 = (unsigned char)h[10] - (unsigned)'0';
	unsigned d2 = (unsigned char)h[11] - (unsigned)'0';
	if ((d0 > 9) | (d1 > 9) | (d2 > 9))
		return -1;
	unsigned st = d0 * 100 + d1 * 10 + d2;
	if (st < 100 || (n > 12 && h[12] != ' '))
		return -1;
	p->status = (uint16_t)st;
	ev->status = st;
	ev->minor = (unsigned)minor;
	return 0;
}

/* The start line at lh/lt into ev: request or status line; -1 if malformed. */
int http_start_fields(struct http_parser *p, struct http_event *ev)
{
	if (p->kind == HTTP_RESPONSE)
		return status_fields(p, p->lh, p->head_len, ev);
	int cut = http_line_truncated(p);
	return request_fields(p->lh, p->head_len, cut, cut ? p->lt + p->tail_len : p->lh + p->head_len,
			      cut ? p->tail_len : p->head_len, ev);
}

/* The same for a start line whole in place, s[0..n) up to its LF (a CR
 * before it dropped), n <= HTTP_LINE_KEEP: no head or tail to set. */
int http_start_in_place(struct http_parser *p, const char *s, size_t n, struct http_event *ev)
{
	n -= n && s[n - 1] == '\r';
	if (p->kind == HTTP_RESPONSE)
		return status_fields(p, s, n, ev);
	return request_fields(s, n, 0, s + n, n, ev);
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
void http_te_in_place(struct http_parser *p, const char *s, size_t n)
{
	p->tail_len = (uint8_t)(n < HTTP_LINE_TAIL ? n : HTTP_LINE_TAIL);
	p->lt = s + n - p->tail_len;
	http_take_te(p);
	p->tail_len = 0;
}
