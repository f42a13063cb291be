/*
 * pb.h - a minimal protocol buffers wire-format writer (encoding only) for
 * the two protobuf payloads tokenringd produces: the Prometheus exposition
 * (io.prometheus.client.MetricFamily, length-delimited) and OTLP/HTTP
 * protobuf. Why hand-written: Debian's C protobuf runtime (protobuf-c)
 * needs generated code for every message and a runtime that allocates per
 * field; what we emit is a handful of known messages written in one pass
 * into the render buffer (docs/export.md).
 *
 * Nested messages: pb_open() before the fields, pb_close() after them: the
 * length is measured and its varint written in front, in the one byte kept
 * for it when the message is under 128 bytes, else after moving the
 * message up (a memmove per long message).
 *
 * Every call appends to a strbuf and returns its sticky error (strbuf.h):
 * a writer checks strbuf_error() once at the end.
 */
#ifndef TOKENRING_PB_H
#define TOKENRING_PB_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Wire types. */
#define PB_VARINT 0u
#define PB_I64 1u
#define PB_LEN 2u

/* Any varint; pb_varint below inlines the one-byte case (field keys,
 * lengths of label names and values), which is most of a render's calls. */
int pb_varint_any(struct strbuf *b, uint64_t v);

static inline int pb_varint(struct strbuf *b, uint64_t v)
{
	if (v < 0x80 && !b->err && b->cap - b->len > 1) {
		b->data[b->len++] = (char)v;
		b->data[b->len] = 0;
		return 0;
	}
	return pb_varint_any(b, v);
}

static inline int pb_key(struct strbuf *b, unsigned field, unsigned wire_type)
{
	return pb_varint(b, (uint64_t)field << 3 | wire_type);
}

/* Bytes of a varint of v. */
static inline size_t pb_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int pb_uint(struct strbuf *b, unsigned field, uint64_t v);
/* sint32/sint64: zigzag. */
int pb_sint(struct strbuf *b, unsigned field, int64_t v);
int pb_double(struct strbuf *b, unsigned field, double v);
/* fixed64 (OTLP timestamps). */
int pb_fixed64(struct strbuf *b, unsigned field, uint64_t v);
int pb_bytes(struct strbuf *b, unsigned field, const void *p, size_t n);
int pb_str(struct strbuf *b, unsigned field, const char *s);

/* Start a nested message (or packed field) `field`: returns the offset
 * pb_close needs. */
size_t pb_open(struct strbuf *b, unsigned field);
/* Finish the message opened at `at`: its length goes in front. */
int pb_close(struct strbuf *b, size_t at);
/* A length-delimited frame without a key (the delimited exposition). */
size_t pb_open_frame(struct strbuf *b);

static inline uint64_t pb_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

#endif
