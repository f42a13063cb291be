/*
 * http_head.c - reading a message's head: the start line's fields, the
 * framing headers, and the header lines whole in the caller's buffer read
 * in place (one vector pass over the head, an event or a field only for
 * the names asked for). Anything unusual goes back to the line-by-line
 * states of http.c, which refuse or keep it the same way, so every
 * outcome is theirs.
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
static int framing_in_place(struct http_parser *p, const char *s, size_t n, size_t n_len)
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

/* Names the framer reads itself, whether wanted or not. */
#define FRAMING_NAMES (HTTP_WANT_NAME(14, 'c') | HTTP_WANT_NAME(17, 't'))

/*
 * One header line whole in the caller's buffer, [s, nl) (nl at its LF;
 * colon its first colon, or NULL), read in place: 0 when it is consumed
 * without an event (a name nobody asked for; or, gathering a whole head,
 * a wanted one put in ev->field[]), 1 when it made *ev (a wanted header,
 * or the blank line that ends the head), -1 when the general path must
 * take it: a line longer than the kept head, folding, one header too
 * many, no colon, a space before it, a bad framing value (or, gathering,
 * one wanted header too many). There it is refused or kept the same way,
 * so every outcome is the general path's. The framing headers are read
 * here either way. Most lines are none of these and cost a few checks.
 */
static inline int head_line(struct http_parser *p, const char *s, const char *nl,
			    const char *colon, struct http_event *ev, int gather)
{
	size_t n = (size_t)(nl - s);
	n -= n && nl[-1] == '\r';
	if (n == 0) {
		http_headers_end(p, ev);
		return 1;
	}
	if (!colon || colon == s || n > HTTP_LINE_KEEP || http_ows(*s) || http_ows(colon[-1]) ||
	    p->n_headers >= HTTP_MAX_HEADERS)
		return -1;
	size_t n_len = (size_t)(colon - s);
	uint64_t bit = HTTP_WANT_NAME(n_len, (unsigned char)*s);
	uint64_t want = gather ? p->head_want : p->want;
	if (!((want | FRAMING_NAMES) & bit)) { /* the usual line: skipped */
		p->n_headers++;
		return 0;
	}
	if (gather && (want & bit) && ev->n_fields == HTTP_HEAD_FIELDS)
		return -1;
	if ((n_len == 14 || n_len == 17) && framing_in_place(p, s, n, n_len))
		return -1;
	p->n_headers++;
	if (!(want & bit))
		return 0;
	const char *v = colon + 1, *end = s + n;
	while (v < end && http_ows(*v))
		v++;
	while (end > v && http_ows(end[-1]))
		end--;
	if (gather) {
		struct http_field *f = &ev->field[ev->n_fields++];
		f->name = s;
		f->name_len = (uint32_t)n_len;
		f->value = v;
		f->value_len = (uint32_t)(end - v);
		return 0;
	}
	ev->a = s;
	ev->a_len = n_len;
	ev->b = v;
	ev->b_len = (size_t)(end - v);
	ev->type = HTTP_EV_HEADER;
	return 1;
}

/*
 * Header lines whole at buf, read in place in one pass: line feeds and
 * colons are found 16 bytes a step, a line's first colon from the masks
 * (never a byte at a time), and the lines visited in order. Lines nobody
 * wants are consumed without an event; the first wanted one (when not
 * gathering) or the blank line makes *ev and ends the call. Returns the
 * bytes consumed; stops, consuming nothing of it, at a line not whole in
 * buf or one head_line leaves to the general path.
 */
__attribute__((always_inline)) /* one copy per value of gather */
static inline size_t lines(struct http_parser *p, const char *buf, size_t len,
			   struct http_event *ev, int gather)
{
	const char *s = buf, *e = buf + len;
	int r;
#ifdef SCAN_SSE2
	const char *colon = NULL;
	const __m128i lf = _mm_set1_epi8('\n'), co = _mm_set1_epi8(':');
	for (const char *b = buf; e - b >= 16; b += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)b);
		unsigned ml = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf));
		unsigned mc = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, co));
		for (; ml; ml &= ml - 1) {
			unsigned at = (unsigned)__builtin_ctz(ml);
			unsigned before = mc & ((1u << at) - 1u);
			if (!colon && before)
				colon = b + __builtin_ctz(before);
			if ((r = head_line(p, s, b + at, colon, ev, gather)) < 0)
				return (size_t)(s - buf);
			s = b + at + 1;
			if (r)
				return (size_t)(s - buf);
			colon = NULL;
			mc &= ~((2u << at) - 1u); /* the next line's colons only */
		}
		if (!colon && mc)
			colon = b + __builtin_ctz(mc);
	}
#endif
	/* the last bytes (and the portable build): a line at a time */
	while (s < e) {
		const char *nl = scan_find(s, e, '\n');
		if (nl == e)
			break;
		const char *cend = nl - s > HTTP_LINE_KEEP ? s + HTTP_LINE_KEEP : nl;
		const char *c = scan_find2(s, cend, e, ':', ':');
		if ((r = head_line(p, s, nl, c == cend ? NULL : c, ev, gather)) < 0)
			break;
		s = nl + 1;
		if (r)
			break;
	}
	return (size_t)(s - buf);
}

size_t http_head_lines(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
	return lines(p, buf, len, ev, 0);
}

/*
 * A message's whole head at buf, start line to blank line, read in one
 * call (http_whole): returns its length with *ev an HTTP_EV_HEAD, or 0
 * when the head must take the line-by-line road (not whole in buf, a
 * start line longer than the kept head, anything head_line leaves to the
 * general path). The caller then resets the message's fields and starts
 * over from its first byte, so that road sees the message untouched.
 */
size_t http_head_whole(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
	const char *e = buf + len, *nl = scan_find(buf, e, '\n');
	if (nl == e || nl - buf > HTTP_LINE_KEEP)
		return 0;
	http_line_in_place(p, buf, (size_t)(nl - buf));
	if (http_start_fields(p, ev))
		return 0;
	size_t k = lines(p, nl + 1, (size_t)(e - nl - 1), ev, 1);
	if (ev->type != HTTP_EV_HEADERS_END)
		return 0;
	ev->type = HTTP_EV_HEAD;
	return (size_t)(nl + 1 - buf) + k;
}
