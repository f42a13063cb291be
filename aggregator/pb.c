/*
 * pb.c - protocol buffers wire-format writer (see pb.h).
 */
#include <errno.h>
#include <string.h>

#include "pb.h"

#define PB_VARINT_MAX 10

static size_t varint_enc(char *tmp, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		tmp[n++] = (char)(byte | (v ? 0x80 : 0));
	} while (v);
	return n;
}

/* Most writes are a few bytes into a buffer with room: skip the call. */
static inline int put(struct strbuf *b, const void *p, size_t n)
{
	if (b->err || b->cap - b->len <= n)
		return strbuf_append(b, p, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int pb_varint_any(struct strbuf *b, uint64_t v)
{
	char tmp[PB_VARINT_MAX];
	return put(b, tmp, varint_enc(tmp, v));
}

int pb_uint(struct strbuf *b, unsigned field, uint64_t v)
{
	pb_key(b, field, PB_VARINT);
	return pb_varint(b, v);
}

int pb_sint(struct strbuf *b, unsigned field, int64_t v)
{
	return pb_uint(b, field, pb_zigzag(v));
}

static int le64(struct strbuf *b, uint64_t v)
{
	char tmp[8];
	for (unsigned i = 0; i < 8; i++)
		tmp[i] = (char)(v >> (8 * i));
	return put(b, tmp, 8);
}

int pb_double(struct strbuf *b, unsigned field, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	pb_key(b, field, PB_I64);
	return le64(b, bits);
}

int pb_fixed64(struct strbuf *b, unsigned field, uint64_t v)
{
	pb_key(b, field, PB_I64);
	return le64(b, v);
}

int pb_bytes(struct strbuf *b, unsigned field, const void *p, size_t n)
{
	pb_key(b, field, PB_LEN);
	pb_varint(b, n);
	return put(b, p, n);
}

int pb_str(struct strbuf *b, unsigned field, const char *s)
{
	return pb_bytes(b, field, s, strlen(s));
}

/* One byte is kept for the length: a message under 128 bytes (most of
 * them) is then closed in place, without moving it. */
size_t pb_open(struct strbuf *b, unsigned field)
{
	pb_key(b, field, PB_LEN);
	put(b, "", 1);
	return b->len;
}

size_t pb_open_frame(struct strbuf *b)
{
	put(b, "", 1);
	return b->len;
}

int pb_close(struct strbuf *b, size_t at)
{
	if (strbuf_error(b) || at > b->len || at == 0)
		return strbuf_fail(b, -ENOMEM);
	size_t n = b->len - at;
	char tmp[PB_VARINT_MAX];
	size_t k = varint_enc(tmp, n);
	if (k > 1) { /* the reserved byte is too small: make room */
		int rc = strbuf_reserve(b, k - 1);
		if (rc)
			return rc;
		memmove(b->data + at + k - 1, b->data + at, n);
		b->len += k - 1;
		b->data[b->len] = 0;
	}
	memcpy(b->data + at - 1, tmp, k);
	return 0;
}
