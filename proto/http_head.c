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

/* A line with no colon after its first byte, or longer than the kept
 * head: the blank line that ends the head (1, *ev made), or -1 for the
 * general path. */
static int odd_line(struct http_parser *p, const char *s, size_t len, struct http_event *ev)
{
	if (len == 0 || (len == 1 && *s == '\r')) {
		http_headers_end(p, ev);
		return 1;
	}
	return -1;
}

/*
 * A usual line (see head_line) whose name's bit is wanted or a framing
 * name's: 0 when it is consumed without an event (a framing header nobody
 * asked for; or, gathering, a wanted one put in ev->field[]), 1 when it
 * made *ev (a wanted header), -1 for the general path (a bad framing
 * value; gathering, one wanted header too many).
 */
__attribute__((always_inline)) static inline int wanted_line(struct http_parser *p, const char *s,
							     const char *nl, const char *colon,
							     struct http_event *ev, int gather,
							     uint64_t want, uint64_t bit)
{
	size_t n = (size_t)(nl - s), n_len = (size_t)(colon - s);
	n -= nl[-1] == '\r';
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
 * One header line whole in the caller's buffer, [s, nl) (nl at its LF;
 * colon at its first colon, or anywhere from nl on when it has none, or
 * anywhere past the first HTTP_LINE_KEEP bytes), read in place: 0 when
 * it is consumed without an event, 1 when it made *ev (a wanted header,
 * or the blank line that ends the head), -1 when the general path must
 * take it. The usual line pays one combined test and its name's bit: a
 * name before a first colon inside the line, the line, CR included, no
 * longer than the kept head, a visible first byte (no folding, no blank
 * line) and no space or control byte before the colon. Whatever fails it
 * goes to the general path (but the blank line, odd_line), which refuses
 * or keeps it the same way, so every outcome is the general path's; so
 * does anything wanted_line leaves. *nh counts the header lines (it is
 * p->n_headers outside these calls); gathering a whole head, the cap is
 * checked for a wanted line as it comes and for the skipped ones once,
 * at the end (http_head_whole).
 */
__attribute__((always_inline)) static inline int head_line(struct http_parser *p, const char *s,
							   const char *nl, const char *colon,
							   struct http_event *ev, int gather,
							   uint64_t want, size_t *nh)
{
	size_t len = (size_t)(nl - s), n_len = (size_t)(colon - s);
	if ((n_len - 1 >= len - 1) | (len > HTTP_LINE_KEEP))
		return odd_line(p, s, len, ev);
	unsigned char c0 = (unsigned char)*s;
	if ((c0 <= ' ') | ((unsigned char)colon[-1] <= ' ') | (!gather && *nh >= HTTP_MAX_HEADERS))
		return -1;
	uint64_t bit = HTTP_WANT_NAME(n_len, c0);
	if (!((want | FRAMING_NAMES) & bit)) { /* the usual line: skipped */
		++*nh;
		return 0;
	}
	if (*nh >= HTTP_MAX_HEADERS)
		return -1;
	p->n_headers = (uint16_t)*nh;
	int r = wanted_line(p, s, nl, colon, ev, gather, want, bit);
	*nh = p->n_headers;
	return r;
}

/* Where the lines() visit has got to: the start of the line being read,
 * its first colon when one was found in an earlier block (else `none`),
 * and the header count. */
struct head_walk {
	const char *s, *colon, *none;
	size_t nh;
};

/*
 * The lines ending in one block at b, its line feeds and colons as bit
 * masks (bit i for b[i]; colons before the walk's line start cleared):
 * 0 when the walk goes on into the next block, else head_line's result
 * for the line it stopped at. A line's first colon is the lowest bit of
 * colons | line feeds, the LF's own when it has none in this block, unless
 * one was carried from an earlier block.
 */
__attribute__((always_inline)) static inline int block(struct http_parser *p,
						       struct http_event *ev, int gather,
						       uint64_t want, struct head_walk *w,
						       const char *b, uint64_t ml, uint64_t mc)
{
	for (; ml; ml &= ml - 1) {
		unsigned at = (unsigned)__builtin_ctzll(ml);
		const char *colon = b + __builtin_ctzll(mc | ml);
		colon = w->colon < colon ? w->colon : colon;
		int r = head_line(p, w->s, b + at, colon, ev, gather, want, &w->nh);
		if (r < 0)
			return r;
		w->s = b + at + 1;
		if (r)
			return r;
		w->colon = w->none;
		mc &= -(2ull << at); /* the next line's colons only (none after bit 63) */
	}
	if (mc && w->colon == w->none)
		w->colon = b + __builtin_ctzll(mc);
	return 0;
}

#ifdef SCAN_SSE2
static inline uint64_t eq16(__m128i v, __m128i c)
{
	return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c));
}
#endif

/*
 * Header lines whole at buf, read in place in one pass: line feeds and
 * colons are found 64 bytes a step (16 near the end), each line's first
 * colon from the masks (never a byte at a time), and the lines visited in
 * order. Lines nobody wants are consumed without an event; the first
 * wanted one (when not gathering) or the blank line makes *ev and ends
 * the call. Returns the bytes consumed; stops, consuming nothing of it,
 * at a line not whole in buf or one head_line leaves to the general path.
 */
__attribute__((always_inline)) /* one copy per value of gather */
static inline size_t lines(struct http_parser *p, const char *buf, size_t len,
			   struct http_event *ev, int gather)
{
	const char *e = buf + len;
	uint64_t want = gather ? p->head_want : p->want;
	struct head_walk w = {buf, e, e, p->n_headers};
	int r = 0;
#ifdef SCAN_SSE2
	const __m128i lf = _mm_set1_epi8('\n'), co = _mm_set1_epi8(':');
	const char *b = buf;
	for (; e - b >= 64; b += 64) {
		const __m128i *q = (const __m128i *)(const void *)b;
		__m128i v0 = _mm_loadu_si128(q), v1 = _mm_loadu_si128(q + 1);
		__m128i v2 = _mm_loadu_si128(q + 2), v3 = _mm_loadu_si128(q + 3);
		uint64_t ml = eq16(v0, lf) | eq16(v1, lf) << 16 | eq16(v2, lf) << 32 |
			      eq16(v3, lf) << 48;
		uint64_t mc = eq16(v0, co) | eq16(v1, co) << 16 | eq16(v2, co) << 32 |
			      eq16(v3, co) << 48;
		if ((r = block(p, ev, gather, want, &w, b, ml, mc)))
			goto out;
	}
	for (; e - b >= 16; b += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)b);
		if ((r = block(p, ev, gather, want, &w, b, eq16(v, lf), eq16(v, co))))
			goto out;
	}
	if (b < e && e - buf >= 16) { /* the last bytes: the last 16, shifted */
		unsigned drop = (unsigned)(16 - (e - b));
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(e - 16));
		r = block(p, ev, gather, want, &w, b, eq16(v, lf) >> drop, eq16(v, co) >> drop);
		goto out;
	}
#endif
	/* a short rest (and the portable build): a line at a time */
	while (w.s < e) {
		const char *nl = scan_find(w.s, e, '\n');
		if (nl == e)
			break;
		const char *cend = nl - w.s > HTTP_LINE_KEEP ? w.s + HTTP_LINE_KEEP : nl;
		r = head_line(p, w.s, nl, scan_find2(w.s, cend, e, ':', ':'), ev, gather, want, &w.nh);
		if (r < 0)
			break;
		w.s = nl + 1;
		if (r)
			break;
	}
#ifdef SCAN_SSE2
out:
#endif
	/* over the cap, the count stays over it (a uint16_t could wrap) */
	p->n_headers = (uint16_t)(w.nh > HTTP_MAX_HEADERS ? HTTP_MAX_HEADERS + 1 : w.nh);
	return (size_t)(w.s - buf);
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
	if (ev->type != HTTP_EV_HEADERS_END || p->n_headers > HTTP_MAX_HEADERS)
		return 0;
	ev->type = HTTP_EV_HEAD;
	return (size_t)(nl + 1 - buf) + k;
}
