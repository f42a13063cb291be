/*
 * http.h - incremental, resumable HTTP/1.1 message framer, one per direction
 * of a connection. Pull style: the caller hands it whatever bytes arrived and
 * gets back one event at a time (start line, header, end of headers, a slice
 * of body, end of message), with the number of bytes consumed. Any split of
 * the input, 1-byte feeds included, yields the same events (body slices may
 * be cut differently).
 *
 * Bounded and allocation-free: a line is never buffered whole. A line that
 * arrives in one piece is read in place; one split across feeds keeps its
 * first HTTP_LINE_KEEP bytes and its last HTTP_LINE_TAIL bytes,
 * which holds every field the tracker records (values are truncated into
 * fixed record fields anyway) and the version at the end of a long request
 * line. Bodies are never copied: BODY events point into the caller's buffer,
 * with chunked encoding already removed.
 */
#ifndef TOKENRING_HTTP_H
#define TOKENRING_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define HTTP_MAX_LINE 16384  /* start, header or chunk-size line: longer = error */
#define HTTP_MAX_HEADERS 128 /* header (and trailer) lines per message */
#define HTTP_LINE_KEEP 256   /* bytes kept from the start of a line */
#define HTTP_LINE_TAIL 16    /* bytes kept from the end of a line */
#define HTTP_MAX_CHUNK_DIGITS 15 /* hex digits of a chunk size (< 2^60) */
#define HTTP_MAX_LENGTH_DIGITS 18 /* decimal digits of a Content-Length */

enum http_kind {
	HTTP_REQUEST = 0,
	HTTP_RESPONSE = 1,
};

/* How the body of the current message is delimited. */
enum http_body {
	HTTP_BODY_NONE = 0,
	HTTP_BODY_LENGTH = 1,
	HTTP_BODY_CHUNKED = 2,
	HTTP_BODY_CLOSE = 3, /* response read until the connection closes */
};

enum http_ev_type {
	HTTP_EV_PARTIAL = 0, /* every given byte consumed; feed more */
	HTTP_EV_MSG_BEGIN,   /* a message's first byte is next (0 bytes consumed) */
	HTTP_EV_START_LINE,  /* request: a=method b=target; response: status */
	HTTP_EV_HEADER,      /* a=name b=value (trimmed; cut if truncated) */
	HTTP_EV_HEADERS_END, /* blank line; body framing is decided on the next call */
	HTTP_EV_BODY,        /* a = body bytes (dechunked) in the caller's buffer */
	HTTP_EV_MSG_END,     /* the message is complete */
	HTTP_EV_ERROR,       /* malformed: the parser is dead, consumes all from now */
	HTTP_EV_HEAD,        /* http_whole: MSG_BEGIN, START_LINE, the wanted HEADERs
				and HEADERS_END at once (fields[]) */
};

/* A header line of an HTTP_EV_HEAD: name and value (trimmed) in the caller's
 * buffer. Never truncated: a head with a longer line is not read whole. */
struct http_field {
	const char *name;
	const char *value;
	uint32_t name_len;
	uint32_t value_len;
};

#define HTTP_HEAD_FIELDS 16 /* wanted headers an HTTP_EV_HEAD holds */

struct http_event {
	enum http_ev_type type;
	const char *a;
	size_t a_len;
	const char *b;
	size_t b_len;
	int truncated;   /* START_LINE/HEADER: the line was longer than kept */
	unsigned status; /* START_LINE of a response */
	unsigned minor;  /* START_LINE: HTTP/1.minor */
	int last;        /* BODY (http_whole): the message ends with this slice */
	int more;        /* another event may come without more input */
	/* HTTP_EV_HEAD only (last: http_next clears the fields above alone) */
	unsigned n_fields;
	struct http_field field[HTTP_HEAD_FIELDS];
};

/* The whole parser state; plain data, reset by http_init. */
struct http_parser {
	uint8_t kind;  /* enum http_kind */
	uint8_t state; /* private (http.c) */
	uint8_t body;  /* enum http_body of the current message */
	uint8_t te_chunked;
	uint8_t has_length;
	uint8_t tail_len;
	uint8_t whole; /* http_whole */
	uint8_t fold;  /* http_fold */
	uint8_t resp_step; /* a response's whole head keeps its body's step
			      (no http_fold: http_set_body may follow) */
	uint8_t fresh; /* a whole head was just decided: http_set_body applies */
	uint8_t head_answer; /* http_head_answer: the next response's */
	uint16_t status;
	uint16_t n_headers;
	uint16_t head_len;
	uint32_t line_len;
	uint64_t want;      /* http_want: header names reported */
	uint64_t head_want; /* http_whole: header names an HTTP_EV_HEAD holds */
	uint64_t remaining; /* body bytes left: Content-Length or current chunk */
	uint64_t length;    /* Content-Length as declared */
	/* The line just completed: in head/tail, or in place in the caller's
	 * buffer; valid until the next http_next call, like the events. */
	const char *lh;
	const char *lt;
	char head[HTTP_LINE_KEEP];
	char tail[HTTP_LINE_TAIL];
};

/* Reset; every header is reported (http_want(p, HTTP_WANT_ALL)). */
void http_init(struct http_parser *p, enum http_kind kind);

#define HTTP_WANT_ALL UINT64_MAX
/* The bit of a want mask for header names of n bytes starting with c
 * (either case). Names share bits: a caller may get a few it did not ask
 * for, and checks the names it gets anyway. */
#define HTTP_WANT_NAME(n, c) ((uint64_t)1 << ((((unsigned)(n)) * 7u + ((unsigned)(c) | 0x20u)) & 63u))

/*
 * Which header lines come out as HTTP_EV_HEADER events: exactly those
 * whose name has its HTTP_WANT_NAME bit in `names` (an OR of them). The
 * others are still framed and checked (a malformed line is an error all
 * the same, and counts towards HTTP_MAX_HEADERS) but cost no event: most
 * of a request head (Accept, Authorization, the SDKs' own headers) is
 * skipped in place, in one pass over the lines whole in the buffer. The
 * framing headers (Content-Length, Transfer-Encoding) are read by the
 * framer whether reported or not. Applies from the next header line on;
 * trailers are never reported.
 */
void http_want(struct http_parser *p, uint64_t names);

/*
 * Fewer, bigger events, for a caller that wants to pay per message rather
 * than per line. A head whole in one buffer (the usual case: clients send
 * it in one write, servers answer in one) comes out as one HTTP_EV_HEAD:
 * the start line's fields, and the header lines whose names have their bit
 * in `names` in fields[] in order. A head split across calls, or one with
 * anything unusual (a line longer than HTTP_LINE_KEEP, folding, more than
 * HTTP_HEAD_FIELDS wanted lines, an error), comes out as the usual events,
 * filtered by http_want as before: every outcome equals the line-by-line
 * path's. And the last slice of a Content-Length body has `last` set and
 * ends the message (no MSG_END follows). Lasts until http_init.
 *
 * A request's body framing is decided with its HTTP_EV_HEAD (no step of
 * its own follows): ev->more then says exactly whether an event is owed
 * (its zero-length end). A response's is decided by the next call, since
 * http_set_body may still make it body-less (unless http_fold).
 */
void http_whole(struct http_parser *p, uint64_t names);

/*
 * Opt in, after http_whole, to fewer events still. The caller says before
 * each response whether it answers a HEAD request (http_head_answer), so
 * no http_set_body is needed after the head; and it reads `last` on an
 * HTTP_EV_HEAD: a message with no body (a request without Content-Length
 * or chunked coding; a 1xx, 204 or 304 response, or one answering HEAD)
 * ends with its head, no MSG_END follows. A GET and its answer's head are
 * then one event each. Callers that do neither keep http_whole's events.
 * Lasts until http_init.
 */
void http_fold(struct http_parser *p);

/*
 * The responses from the next one on answer a HEAD request (1) or not
 * (0, as after http_init): such a response has no body whatever its
 * headers say, as if http_set_body(p, HTTP_BODY_NONE) came right after
 * its head. Call it before each response's first byte, while the parser
 * is idle (http_idle); an interim (1xx) response has no body anyway.
 */
void http_head_answer(struct http_parser *p, int head);

/*
 * Consume bytes from buf[0..len) until one event is complete; returns the
 * bytes consumed and fills *ev. Returns with ev->type == HTTP_EV_PARTIAL only
 * when all len bytes are consumed and no further event can be produced
 * without input, so callers loop until PARTIAL (len may be 0: pending
 * zero-length events such as MSG_END of a body-less message still come).
 * ev->more says whether such a pending event is owed after this one: a
 * caller with no bytes left may stop when it is 0, without the call that
 * would return PARTIAL.
 * Never reads outside buf[0..len).
 */
size_t http_next(struct http_parser *p, const char *buf, size_t len, struct http_event *ev);

/*
 * Override the body framing the parser derived from the headers. Only
 * meaningful right after HTTP_EV_HEADERS_END or HTTP_EV_HEAD: a response
 * to HEAD has no body whatever its headers say. (After a request's
 * HTTP_EV_HEAD, whose ev->more was exact for the framing its headers
 * said, a caller that makes its body shorter loops until PARTIAL.)
 */
void http_set_body(struct http_parser *p, enum http_body body);

/* Whether the current message's body ends only when the connection closes
 * (a response with neither Content-Length nor chunked encoding). */
int http_reads_to_close(const struct http_parser *p);

/* Whether the parser is between messages (nothing of a message pending). */
int http_idle(const struct http_parser *p);

/* Case-insensitive equality of a[0..n) and k bytes of lowercase lit
 * (ASCII letters match either case; every other byte only itself). */
int http_name_eq(const char *a, size_t n, const char *lit, size_t k);

/* Up to 8 bytes of a name against as many of a lowercase literal: equal,
 * but for the case bit (0x20) where the literal has a letter a-z (found
 * per byte without carries: the sums stay below 0x100 for 7-bit bytes,
 * and a byte with bit 7 set is never a letter). */
static inline int http_word_eq_(const char *a, const char *lit, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x80 * ones;
	uint64_t x = 0, l = 0;
	__builtin_memcpy(&x, a, n);
	__builtin_memcpy(&l, lit, n);
	uint64_t low7 = l & ~high;
	uint64_t letter = (low7 + 0x1f * ones) & ~(low7 + 0x05 * ones) & ~l & high;
	return ((x ^ l) & ~(letter >> 2)) == 0;
}

/* The same against a NUL-terminated lowercase literal; inline so that the
 * literal's length folds and most names are rejected on length alone. */
static inline int http_name_is(const char *a, size_t n, const char *lit)
{
	size_t k = __builtin_strlen(lit);
	return n == k && http_name_eq(a, n, lit, k);
}

/* http_name_is for a string literal of 4..24 bytes, on the hot paths:
 * whole inline, its letter masks fold when compiling, and a word costs a
 * load, a xor and a test. */
static inline int http_lit_is(const char *a, size_t n, const char *lit)
{
	size_t k = __builtin_strlen(lit);
	if (n != k)
		return 0;
	if (k < 4 || k > 24)
		return http_name_eq(a, n, lit, k);
	if (k < 8)
		return http_word_eq_(a, lit, 4) && http_word_eq_(a + k - 4, lit + k - 4, 4);
	for (size_t i = 0; i + 8 < k; i += 8)
		if (!http_word_eq_(a + i, lit + i, 8))
			return 0;
	return http_word_eq_(a + k - 8, lit + k - 8, 8);
}

/* A Content-Encoding header value as enum rec_coding (http_coding.c). */
enum rec_coding http_coding(const char *v, size_t n);

#endif
