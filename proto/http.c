/*
 * http.c - the HTTP/1.1 framer behind http.h. A small state machine over
 * lines (found with memchr, kept as head + tail) and bodies (counted, never
 * copied). Each state handler consumes input and may produce one event.
 * Header lines whole in the buffer (the usual head) take a faster road,
 * http_index.c: read in place by an index of their line feeds and colons,
 * an event only for the names asked for (or, with http_whole, one event
 * for the whole head); anything unusual goes back to the line states.
 */
#include <stddef.h>
#include <string.h>

#include "http_internal.h"
#include "scan_internal.h"

/* Result of feeding a line fragment. */
enum line_res {
	LINE_MORE = 0, /* consumed all, no newline yet */
	LINE_DONE = 1, /* a whole line is in head/tail */
	LINE_LONG = 2, /* longer than HTTP_MAX_LINE */
};

void http_init(struct http_parser *p, enum http_kind kind)
{
	memset(p, 0, sizeof *p);
	p->kind = (uint8_t)kind;
	p->resp_step = kind == HTTP_RESPONSE;
	p->want = HTTP_WANT_ALL;
}

void http_want(struct http_parser *p, uint64_t names)
{
	p->want = names;
}

void http_whole(struct http_parser *p, uint64_t names)
{
	p->whole = 1;
	p->head_want = names;
}

/* An event's fields but for HTTP_EV_HEAD's (filled only when one is made). */
static void ev_clear(struct http_event *ev)
{
	memset(ev, 0, offsetof(struct http_event, n_fields));
}

void http_fold(struct http_parser *p)
{
	p->fold = 1;
	p->resp_step = 0;
}

void http_head_answer(struct http_parser *p, int head)
{
	p->head_answer = (uint8_t)(head != 0);
}

static void line_reset(struct http_parser *p);

/* The body's framing decided (S_BODY_BEGIN left): its state, or for a
 * message with no body, a zero-length Content-Length body (S_LENGTH with
 * nothing remaining owes its MSG_END). */
static void body_state(struct http_parser *p)
{
	switch (p->body) {
	case HTTP_BODY_LENGTH:
		p->remaining = p->length;
		p->state = S_LENGTH;
		return;
	case HTTP_BODY_CHUNKED:
		p->state = S_CHUNK_SIZE;
		line_reset(p);
		return;
	case HTTP_BODY_CLOSE:
		p->state = S_CLOSE;
		return;
	default:
		p->remaining = 0;
		p->state = S_LENGTH;
	}
}

void http_set_body(struct http_parser *p, enum http_body body)
{
	if (p->state == S_BODY_BEGIN) {
		p->body = (uint8_t)body;
	} else if (p->fresh) { /* a whole head's framing, decided again */
		p->body = (uint8_t)body;
		body_state(p);
	}
}

int http_reads_to_close(const struct http_parser *p)
{
	return p->body == HTTP_BODY_CLOSE && (p->state == S_CLOSE || p->state == S_BODY_BEGIN);
}

int http_idle(const struct http_parser *p)
{
	return p->state == S_IDLE;
}

/* The byte-wise definition, a word at a time (http_word_eq_). */
int http_name_eq(const char *a, size_t n, const char *lit, size_t k)
{
	if (n != k)
		return 0;
	if (n >= 8) { /* words, the last one overlapping */
		for (size_t i = 0; i + 8 < n; i += 8)
			if (!http_word_eq_(a + i, lit + i, 8))
				return 0;
		return http_word_eq_(a + n - 8, lit + n - 8, 8);
	}
	if (n >= 4) /* two 4-byte words, overlapping */
		return http_word_eq_(a, lit, 4) && http_word_eq_(a + n - 4, lit + n - 4, 4);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c != (unsigned char)lit[i])
			return 0;
	}
	return 1;
}

static void line_reset(struct http_parser *p)
{
	p->head_len = 0;
	p->tail_len = 0;
	p->line_len = 0;
}

/* Keep the last HTTP_LINE_TAIL bytes of the line seen so far. */
static void tail_append(struct http_parser *p, const char *s, size_t n)
{
	if (n >= HTTP_LINE_TAIL) {
		memcpy(p->tail, s + n - HTTP_LINE_TAIL, HTTP_LINE_TAIL);
		p->tail_len = HTTP_LINE_TAIL;
		return;
	}
	size_t keep = p->tail_len;
	if (keep + n > HTTP_LINE_TAIL) {
		size_t drop = keep + n - HTTP_LINE_TAIL;
		memmove(p->tail, p->tail + drop, keep - drop);
		keep -= drop;
	}
	memcpy(p->tail + keep, s, n);
	p->tail_len = (uint8_t)(keep + n);
}

static void line_append(struct http_parser *p, const char *s, size_t n)
{
	if (p->head_len < HTTP_LINE_KEEP) {
		size_t room = HTTP_LINE_KEEP - p->head_len;
		size_t k = n < room ? n : room;
		memcpy(p->head + p->head_len, s, k);
		p->head_len = (uint16_t)(p->head_len + k);
	}
	tail_append(p, s, n);
	p->line_len += (uint32_t)n;
}

/* Drop a trailing CR (CRLF line ends; a bare LF is accepted too). */
static void line_strip_cr(struct http_parser *p)
{
	if (p->tail_len == 0 || p->tail[p->tail_len - 1] != '\r')
		return;
	p->tail_len--;
	p->line_len--;
	if (p->head_len > p->line_len)
		p->head_len = (uint16_t)p->line_len;
}

/* Feed bytes to the current line; *used gets the bytes consumed. On
 * LINE_DONE the line is at lh (head_len bytes) and lt (tail_len bytes). */
static enum line_res line_feed(struct http_parser *p, const char *buf, size_t len, size_t *used)
{
	const char *e = buf + len, *nl = scan_find(buf, e, '\n');
	if (nl == e)
		nl = NULL;
	size_t n = nl ? (size_t)(nl - buf) : len;
	if ((uint64_t)p->line_len + n > HTTP_MAX_LINE) {
		*used = len;
		return LINE_LONG;
	}
	*used = nl ? n + 1 : len;
	if (nl && p->line_len == 0) {
		http_line_in_place(p, buf, n);
		return LINE_DONE;
	}
	line_append(p, buf, n);
	if (!nl)
		return LINE_MORE;
	line_strip_cr(p);
	p->lh = p->head;
	p->lt = p->tail;
	return LINE_DONE;
}

static size_t fail(struct http_parser *p, struct http_event *ev, size_t used)
{
	p->state = S_DEAD;
	ev->type = HTTP_EV_ERROR;
	return used;
}

/* A complete start line: request or status line. */
static int start_line(struct http_parser *p, struct http_event *ev)
{
	if (http_start_fields(p, ev))
		return -1;
	ev->type = HTTP_EV_START_LINE;
	p->state = S_HEADER;
	/* The event points into head; its bytes stay until the next call. */
	line_reset(p);
	return 0;
}

/* Split "name: value" out of head; returns -1 if there is no colon. */
static int split_header(struct http_parser *p, struct http_event *ev)
{
	const char *colon = scan_find(p->lh, p->lh + p->head_len, ':');
	if (colon == p->lh + p->head_len || colon == p->lh)
		return -1;
	const char *v = colon + 1, *end = p->lh + p->head_len;
	while (v < end && http_ows(*v))
		v++;
	ev->truncated = http_line_truncated(p);
	while (!ev->truncated && end > v && http_ows(end[-1]))
		end--;
	ev->a = p->lh;
	ev->a_len = (size_t)(colon - p->lh);
	ev->b = v;
	ev->b_len = (size_t)(end - v);
	return http_ows(colon[-1]) ? -1 : 0;
}

/* The framing headers the parser needs itself. */
static int track_header(struct http_parser *p, const struct http_event *ev)
{
	if (http_name_is(ev->a, ev->a_len, "content-length"))
		return ev->truncated ? -1 : http_take_length(p, ev->b, ev->b_len);
	if (http_name_is(ev->a, ev->a_len, "transfer-encoding"))
		http_take_te(p);
	return 0;
}

/* Whether the header name at a (n bytes) is reported, or one the framer reads. */
static int wanted(const struct http_parser *p, const char *a, size_t n)
{
	return (p->want & HTTP_WANT_NAME(n, (unsigned char)a[0])) != 0;
}

static int header_line(struct http_parser *p, struct http_event *ev)
{
	if (p->line_len == 0) {
		http_headers_end(p, ev);
		return 0;
	}
	if (++p->n_headers > HTTP_MAX_HEADERS)
		return -1;
	if (http_ows(p->lh[0])) { /* obsolete line folding: ignored */
		line_reset(p);
		return 0;
	}
	if (split_header(p, ev) || track_header(p, ev))
		return -1;
	line_reset(p);
	if (!wanted(p, ev->a, ev->a_len)) { /* framed and checked, not reported */
		ev_clear(ev);
		return 0;
	}
	ev->type = HTTP_EV_HEADER;
	return 0;
}

static size_t msg_end(struct http_parser *p, struct http_event *ev)
{
	ev->type = HTTP_EV_MSG_END;
	p->state = S_IDLE;
	return 0;
}

static size_t on_body_begin(struct http_parser *p, struct http_event *ev)
{
	if (p->body == HTTP_BODY_NONE)
		return msg_end(p, ev);
	body_state(p);
	return 0;
}

/* Hand out up to `remaining` body bytes. */
static size_t body_slice(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
	size_t n = p->remaining < len ? (size_t)p->remaining : len;
	p->remaining -= n;
	ev->type = HTTP_EV_BODY;
	ev->a = buf;
	ev->a_len = n;
	return n;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* chunk-size [; ext]: returns -1 when malformed. */
static int parse_chunk_size(struct http_parser *p)
{
	size_t i = 0;
	uint64_t x = 0;
	for (; i < p->head_len && hex_val(p->lh[i]) >= 0; i++) {
		if (i >= HTTP_MAX_CHUNK_DIGITS)
			return -1;
		x = x << 4 | (uint64_t)hex_val(p->lh[i]);
	}
	if (i == 0)
		return -1;
	while (i < p->head_len && http_ows(p->lh[i]))
		i++;
	if (i < p->head_len && p->lh[i] != ';')
		return -1;
	p->remaining = x;
	return 0;
}

/* A bare chunk-size line ("1a2\r\n") whole at buf: its length, 0 when the
 * line needs the general path (cut, extensions, spaces, too many digits). */
static size_t chunk_size_fast(struct http_parser *p, const char *buf, size_t len)
{
	size_t i = 0;
	uint64_t x = 0;
	for (; i < len && i <= HTTP_MAX_CHUNK_DIGITS && hex_val(buf[i]) >= 0; i++)
		x = x << 4 | (uint64_t)hex_val(buf[i]);
	if (i == 0 || i > HTTP_MAX_CHUNK_DIGITS || len - i < 2 || buf[i] != '\r' ||
	    buf[i + 1] != '\n')
		return 0;
	p->remaining = x;
	p->state = x ? S_CHUNK_DATA : S_TRAILER;
	line_reset(p);
	return i + 2;
}

/* The chunk-size line, or the empty line that ends chunk data. */
static int chunk_line(struct http_parser *p)
{
	if (p->state == S_CHUNK_END) {
		if (p->line_len != 0)
			return -1;
		p->state = S_CHUNK_SIZE;
	} else if (parse_chunk_size(p)) {
		return -1;
	} else {
		p->state = p->remaining ? S_CHUNK_DATA : S_TRAILER;
	}
	line_reset(p);
	return 0;
}

static int trailer_line(struct http_parser *p, struct http_event *ev)
{
	if (p->line_len == 0) {
		msg_end(p, ev);
		return 0;
	}
	if (++p->n_headers > HTTP_MAX_HEADERS)
		return -1;
	line_reset(p);
	return 0;
}

/* Every line-oriented state: gather the line, then hand it to its parser. */
static size_t on_line(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
	size_t used;
	enum line_res r = line_feed(p, buf, len, &used);
	if (r == LINE_LONG)
		return fail(p, ev, used);
	if (r == LINE_MORE)
		return used;
	int bad;
	switch (p->state) {
	case S_START:
		bad = start_line(p, ev);
		break;
	case S_HEADER:
		bad = header_line(p, ev);
		break;
	case S_TRAILER:
		bad = trailer_line(p, ev);
		break;
	default:
		bad = chunk_line(p);
		break;
	}
	return bad ? fail(p, ev, used) : used;
}

/* Per-message fields only: head/tail are overwritten as lines come. */
static void msg_reset(struct http_parser *p)
{
	p->body = HTTP_BODY_NONE;
	p->te_chunked = 0;
	p->has_length = 0;
	p->status = 0;
	p->n_headers = 0;
	p->remaining = 0;
	p->length = 0;
	line_reset(p);
}

/* Begin a message: leading blank lines between messages are tolerated. */
static size_t on_idle(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
	size_t i = 0;
	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i == len)
		return len;
	msg_reset(p);
	if (i == 0 && p->whole) {
		ev->n_fields = 0;
		size_t k = http_head_whole(p, buf, len, ev);
		if (k) { /* the framing decided with the head (http_whole) */
			if (p->resp_step) /* a response's, http_set_body may yet
					     make body-less: its step follows */
				return k;
			if (p->fold && p->body == HTTP_BODY_NONE) {
				ev->last = 1; /* the message ends with its head */
				p->state = S_IDLE;
				return k;
			}
			body_state(p);
			p->fresh = 1;
			return k;
		}
		ev_clear(ev); /* the line states start over from the first byte */
		msg_reset(p);
	}
	p->state = S_START;
	ev->type = HTTP_EV_MSG_BEGIN;
	return i;
}

static size_t step(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
	switch (p->state) {
	case S_IDLE:
		return on_idle(p, buf, len, ev);
	case S_HEADER:
		if (p->line_len == 0) {
			size_t k = http_head_lines(p, buf, len, ev);
			if (k)
				return k;
		}
		return on_line(p, buf, len, ev);
	case S_CHUNK_END:
		/* the CRLF after chunk data, whole: no line to gather */
		if (p->line_len == 0 && len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
			p->state = S_CHUNK_SIZE;
			return 2;
		}
		return on_line(p, buf, len, ev);
	case S_CHUNK_SIZE:
		if (p->line_len == 0) {
			size_t k = chunk_size_fast(p, buf, len);
			if (k)
				return k;
		}
		return on_line(p, buf, len, ev);
	case S_START:
	case S_TRAILER:
		return on_line(p, buf, len, ev);
	case S_BODY_BEGIN:
		return on_body_begin(p, ev);
	case S_LENGTH: {
		if (p->remaining == 0)
			return msg_end(p, ev);
		size_t n = body_slice(p, buf, len, ev);
		if (p->remaining == 0 && p->whole) { /* the message ends with it */
			ev->last = 1;
			p->state = S_IDLE;
		}
		return n;
	}
	case S_CHUNK_DATA: {
		size_t n = body_slice(p, buf, len, ev);
		if (p->remaining == 0) {
			p->state = S_CHUNK_END;
			line_reset(p);
		}
		return n;
	}
	case S_CLOSE:
		ev->type = HTTP_EV_BODY;
		ev->a = buf;
		ev->a_len = len;
		return len;
	default:
		return len;
	}
}

/* States that owe an event without needing any input. */
static int owes_event(const struct http_parser *p)
{
	return p->state == S_BODY_BEGIN || (p->state == S_LENGTH && p->remaining == 0);
}

size_t http_next(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
	size_t used = 0;
	ev_clear(ev);
	p->fresh = 0;
	/* Each step either produces an event, consumes input, or moves to a
	 * state that owes one: the loop always ends. */
	while (ev->type == HTTP_EV_PARTIAL) {
		if (used == len && !owes_event(p))
			break;
		used += step(p, buf + used, len - used, ev);
	}
	ev->more = owes_event(p);
	return used;
}
