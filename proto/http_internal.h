/*
 * http_internal.h - what the framer's two files share: the states, and the
 * small helpers both the line-by-line path (http.c) and the in-place head
 * reading (http_head.c) use.
 */
#ifndef TOKENRING_HTTP_INTERNAL_H
#define TOKENRING_HTTP_INTERNAL_H

#include "http.h"

enum http_state {
	S_IDLE = 0,   /* between messages */
	S_START,      /* reading the start line */
	S_HEADER,     /* reading header lines */
	S_BODY_BEGIN, /* headers ended: decide the framing */
	S_LENGTH,     /* Content-Length body */
	S_CHUNK_SIZE, /* chunk-size line */
	S_CHUNK_DATA, /* chunk data */
	S_CHUNK_END,  /* the CRLF after chunk data */
	S_TRAILER,    /* trailer lines after the last chunk */
	S_CLOSE,      /* body until connection close */
	S_DEAD,       /* after an error: swallow everything */
};

static inline int http_ows(char c)
{
	return c == ' ' || c == '\t';
}

static inline int http_line_truncated(const struct http_parser *p)
{
	return p->line_len > p->head_len;
}

/* A line whole in one piece (the usual case) is read in place: head and
 * tail point into the caller's buffer, nothing is copied. */
static inline void http_line_in_place(struct http_parser *p, const char *buf, size_t n)
{
	if (n && buf[n - 1] == '\r')
		n--;
	p->line_len = (uint32_t)n;
	p->head_len = (uint16_t)(n < HTTP_LINE_KEEP ? n : HTTP_LINE_KEEP);
	p->tail_len = (uint8_t)(n < HTTP_LINE_TAIL ? n : HTTP_LINE_TAIL);
	p->lh = buf;
	p->lt = buf + n - p->tail_len;
}

/* The blank line: the body's framing follows from the headers. */
static inline void http_headers_end(struct http_parser *p, struct http_event *ev)
{
	ev->type = HTTP_EV_HEADERS_END;
	p->state = S_BODY_BEGIN;
	if (p->te_chunked)
		p->body = HTTP_BODY_CHUNKED;
	else if (p->has_length)
		p->body = HTTP_BODY_LENGTH;
	else
		p->body = p->kind == HTTP_REQUEST ? HTTP_BODY_NONE : HTTP_BODY_CLOSE;
	/* Interim (1xx), 204 and 304 responses never carry a body, nor one
	 * answering HEAD (http_head_answer). */
	if (p->kind == HTTP_RESPONSE &&
	    (p->status < 200 || p->status == 204 || p->status == 304 || p->head_answer))
		p->body = HTTP_BODY_NONE;
}

/* http_head.c */
int http_start_fields(struct http_parser *p, struct http_event *ev);
int http_start_in_place(struct http_parser *p, const char *s, size_t n, struct http_event *ev);
void http_take_te(struct http_parser *p);
void http_te_in_place(struct http_parser *p, const char *s, size_t n);

/* Content-Length: digits only, bounded, equal if repeated. Inline: the
 * head's walk reads it in the wanted line's pass. (A digit at a time: a
 * word at a time counted more instructions for the usual 2-5 digits.) */
static inline int http_take_length(struct http_parser *p, const char *v, size_t n)
{
	uint64_t x = 0;
	if (n == 0 || n > HTTP_MAX_LENGTH_DIGITS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)v[i] - (unsigned)'0';
		if (d > 9)
			return -1;
		x = x * 10 + d;
	}
	if (p->has_length && p->length != x)
		return -1;
	p->has_length = 1;
	p->length = x;
	return 0;
}

/*
 * http_index.c: heads read in place by their index (http_index_walk.h).
 * http_head_lines: header lines whole at buf, an event for the first
 * wanted one (http_want) or the blank line; returns the bytes consumed,
 * stopping at a line not whole in buf or one left to the general path.
 * http_head_whole: a whole head at once (http_whole), or 0.
 */
size_t http_head_lines(struct http_parser *p, const char *buf, size_t len, struct http_event *ev);
size_t http_head_whole(struct http_parser *p, const char *buf, size_t len, struct http_event *ev);
/* Tests: make the masks the base way (1: SSE2, or portable C), with AVX2
 * (2: where the CPU has it) or as the CPU allows (0, the default). */
void http_index_variant(int v);
#if defined(__x86_64__) && defined(__SSE2__)
#define HIDX_AVX2 1 /* http_index_avx2.c is built */
size_t hidx_lines_avx2(struct http_parser *p, const char *buf, size_t len, struct http_event *ev);
size_t hidx_head_avx2(struct http_parser *p, const char *buf, size_t len, struct http_event *ev);
#endif

#endif
