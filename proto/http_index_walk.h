/*
 * http_index_walk.h - the walk over a head's index (http_index.c): header
 * lines whole in the caller's buffer visited by bit iteration over masks
 * of their line feeds and first colons, 64 bytes a block. One template,
 * instantiated once per way of making the masks: included by
 * http_index.c (SSE2, or portable C) and http_index_avx2.c (AVX2), each of
 * which first defines
 *
 *   static inline void hidx_masks(const char *b, uint64_t *lf, uint64_t *colon,
 *                                 uint64_t *weak)
 *
 * (bit i of *lf / *colon / *weak set when b[i] is '\n' / ':' / <= ' ',
 * for the 64 bytes at b) and HIDX_LINES / HIDX_HEAD, the names of its
 * two entry points.
 *
 * Each line's first colon comes from the masks by one subtraction per
 * block: with S the line starts (the bit after each line feed) and T the
 * colons and line feeds, T - S borrows from each line's start up to its
 * first colon, or its line feed when it has none, which the subtraction
 * clears: F = T & ~(T - S) holds exactly one bit per line, the borrow
 * carried into the next block when a line crosses one. So a line costs
 * no search and no mask clean-up: its end is the next line-feed bit, its
 * colon the next F bit; what would make it unusual is found for the
 * whole block at once (hidx_block), and a usual line costs its name's
 * bit.
 */
#ifndef TOKENRING_HTTP_INDEX_WALK_H
#define TOKENRING_HTTP_INDEX_WALK_H

#include <string.h>

#include "http_internal.h"
#include "scan_internal.h"

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
 * value; gathering, one wanted header too many). The value is trimmed
 * once, for the framing header's value and the field alike.
 */
__attribute__((always_inline)) static inline int wanted_line(struct http_parser *p, const char *s,
							     const char *nl, const char *colon,
							     struct http_event *ev, int gather,
							     uint64_t want, uint64_t bit, size_t *nh)
{
	size_t n = (size_t)(nl - s), n_len = (size_t)(colon - s);
	n -= nl[-1] == '\r';
	if (gather && (want & bit) && ev->n_fields == HTTP_HEAD_FIELDS)
		return -1;
	/* (*end is the line's CR or LF: the first loop stops there) */
	const char *v = colon + 1, *end = s + n;
	while (http_ows(*v))
		v++;
	while (end > v && (unsigned char)end[-1] <= ' ' && http_ows(end[-1]))
		end--;
	if (n_len == 14 && http_lit_is(s, 14, "content-length")) {
		if (http_take_length(p, v, (size_t)(end - v)))
			return -1;
	} else if (n_len == 17 && http_lit_is(s, 17, "transfer-encoding")) {
		http_te_in_place(p, s, n);
	}
	++*nh;
	if (!(want & bit))
		return 0;
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
 * colon at its first colon, or at nl when it has none), read in place: 0
 * when it is consumed without an event, 1 when it made *ev (a wanted
 * header, or the blank line that ends the head), -1 when the general path
 * must take it. The usual line pays one combined test and its name's bit:
 * a name before a first colon inside the line, the line, CR included, no
 * longer than the kept head, a visible first byte (no folding, no blank
 * line) and no space or control byte before the colon. Whatever fails it
 * goes to the general path (but the blank line, odd_line), which refuses
 * or keeps it the same way, so every outcome is the general path's; so
 * does anything wanted_line leaves. *nh counts the header lines (it is
 * p->n_headers outside these calls); gathering a whole head, the cap is
 * checked for a wanted line as it comes and for the skipped ones once,
 * at the end (http_head_whole). Only a block's first line can be longer
 * than a block (first: the length is tested).
 */
__attribute__((always_inline)) static inline int head_line(struct http_parser *p, const char *s,
							   const char *nl, const char *colon,
							   struct http_event *ev, int gather,
							   uint64_t want, size_t *nh, int first)
{
	size_t len = (size_t)(nl - s), n_len = (size_t)(colon - s);
	if ((n_len - 1 >= len - 1) | (first && len > HTTP_LINE_KEEP))
		return odd_line(p, s, len, ev);
	unsigned char c0 = (unsigned char)*s;
	if ((c0 <= ' ') | ((unsigned char)colon[-1] <= ' ') | (!gather && *nh >= HTTP_MAX_HEADERS))
		return -1;
	unsigned at = (unsigned)(n_len * 7u + (c0 | 0x20u)) & 63u;
	if (!(((want | FRAMING_NAMES) >> at) & 1)) { /* the usual line: skipped */
		++*nh;
		return 0;
	}
	if (*nh >= HTTP_MAX_HEADERS)
		return -1;
	return wanted_line(p, s, nl, colon, ev, gather, want, (uint64_t)1 << at, nh);
}

/* Where the walk has got to: the start of the line being read, its first
 * colon (or line feed) when found in an earlier block (else NULL), the
 * bits the next block takes from this one (its first byte starts a line;
 * the subtraction's borrow), and the header count. */
struct hidx_walk {
	const char *s, *colon;
	uint64_t start, borrow;
	size_t nh;
};

/*
 * The lines ending in one block at b, its line feeds and colons as bit
 * masks: 0 when the walk goes on into the next block, else head_line's
 * result for the line it stopped at. Only the block's first line can
 * have its colon in an earlier block: it is read before the loop, so the
 * loop's lines take theirs from the F bits alone. With start (a whole
 * head's first block) the first line is the start line: -1 when it is
 * malformed, -2 when it does not end in the block.
 */
__attribute__((always_inline)) static inline int hidx_block(struct http_parser *p,
							    struct http_event *ev, int gather,
							    uint64_t want, struct hidx_walk *w,
							    const char *b, uint64_t ml, uint64_t mc,
							    int start)
{
	uint64_t S = ml << 1 | w->start, T = mc | ml;
	uint64_t d = T - S, f = T & ~(d - w->borrow);
	w->borrow = (T < S) | (d < w->borrow);
	w->start = ml >> 63;
	if (ml) {
		const char *colon = w->colon;
		if (!colon) {
			colon = b + (unsigned)__builtin_ctzll(f);
			f &= f - 1;
		}
		w->colon = NULL;
		const char *nl = b + (unsigned)__builtin_ctzll(ml);
		if (start) {
			if (http_start_in_place(p, b, (size_t)(nl - b), ev))
				return -1;
		} else {
			int r = head_line(p, w->s, nl, colon, ev, gather, want, &w->nh, 1);
			if (r < 0)
				return r;
			if (r) {
				w->s = nl + 1;
				return r;
			}
		}
		w->s = nl + 1;
		ml &= ml - 1;
	} else if (start) {
		return -2;
	}
	for (; ml; ml &= ml - 1) {
		const char *nl = b + (unsigned)__builtin_ctzll(ml);
		const char *colon = b + (unsigned)__builtin_ctzll(f);
		f &= f - 1;
		int r = head_line(p, w->s, nl, colon, ev, gather, want, &w->nh, 0);
		if (r < 0)
			return r;
		w->s = nl + 1;
		if (r)
			return r;
	}
	if (f) /* the line going on into the next block */
		w->colon = b + (unsigned)__builtin_ctzll(f);
	return 0;
}

/* The 64 bytes at b, or the fewer up to e (from the 64 that end at e when
 * lo leaves room, else from a copy), as masks of the bytes from b. */
__attribute__((always_inline)) static inline void hidx_last(const char *lo, const char *b,
							    const char *e, uint64_t *ml,
							    uint64_t *mc)
{
	if (e - b >= 64) {
		hidx_masks(b, ml, mc);
	} else if (e - lo >= 64) {
		unsigned drop = (unsigned)(64 - (e - b));
		hidx_masks(e - 64, ml, mc);
		*ml >>= drop;
		*mc >>= drop;
	} else {
		char t[64] = {0};
		memcpy(t, b, (size_t)(e - b) & 63); /* (fewer than 64 here) */
		hidx_masks(t, ml, mc);
	}
}

/*
 * Header lines whole at buf, read in place in one pass, 64 bytes a block
 * (the last one's as hidx_last reads them: lo is the start of the
 * caller's buffer, lo <= buf). Lines nobody wants are consumed without
 * an event; the first wanted one (when not gathering) or the blank line
 * makes *ev and ends the call. Returns the bytes consumed; stops,
 * consuming nothing of it, at a line not whole in buf or one head_line
 * leaves to the general path. With start (gathering a whole head from
 * its first byte, buf == lo), the first line is the start line; *r is
 * then the last result (-2: the start line does not end in 64 bytes).
 */
__attribute__((always_inline)) /* one copy per value of gather and start */
static inline size_t hidx_walk(struct http_parser *p, const char *lo, const char *buf, size_t len,
			       struct http_event *ev, int gather, int start, int *r)
{
	const char *e = buf + len, *b = buf;
	uint64_t want = gather ? p->head_want : p->want, ml, mc;
	struct hidx_walk w = {buf, NULL, 1, 0, p->n_headers};
	*r = 0;
	if (start) {
		hidx_last(lo, b, e, &ml, &mc);
		if ((*r = hidx_block(p, ev, gather, want, &w, b, ml, mc, 1)))
			goto out;
		b += 64;
	}
	for (; e - b >= 64; b += 64) {
		hidx_masks(b, &ml, &mc);
		if ((*r = hidx_block(p, ev, gather, want, &w, b, ml, mc, 0)))
			goto out;
	}
	if (b < e) { /* the last bytes */
		hidx_last(lo, b, e, &ml, &mc);
		*r = hidx_block(p, ev, gather, want, &w, b, ml, mc, 0);
	}
out:
	/* over the cap, the count stays over it (a uint16_t could wrap) */
	p->n_headers = (uint16_t)(w.nh > HTTP_MAX_HEADERS ? HTTP_MAX_HEADERS + 1 : w.nh);
	return (size_t)(w.s - buf);
}

size_t HIDX_LINES(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
	int r;
	return hidx_walk(p, buf, buf, len, ev, 0, 0, &r);
}

/* http_head_whole's (http_index.c) */
size_t HIDX_HEAD(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
	int r;
	size_t k = hidx_walk(p, buf, buf, len, ev, 1, 1, &r);
	if (r == -2) { /* a start line longer than a block */
		const char *e = buf + len, *nl = scan_find(buf, e, '\n');
		if (nl == e || nl - buf > HTTP_LINE_KEEP)
			return 0;
		if (http_start_in_place(p, buf, (size_t)(nl - buf), ev))
			return 0;
		k = (size_t)(nl + 1 - buf) + hidx_walk(p, buf, nl + 1, (size_t)(e - nl - 1), ev, 1, 0, &r);
	}
	if (r != 1 || ev->type != HTTP_EV_HEADERS_END || p->n_headers > HTTP_MAX_HEADERS)
		return 0;
	ev->type = HTTP_EV_HEAD;
	return k;
}

#endif
