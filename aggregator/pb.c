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

int pb_varint(struct strbuf *b, uint64_t v)
{
	char tmp[PB_VARINT_MAX];
	return strbuf_append(b, tmp, varint_enc(tmp, v));
}

int pb_key(struct strbuf *b, unsigned field, unsigned wire_type)
{
	return pb_varint(b, (uint64_t)field << 3 | wire_type);
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
	return strbuf_append(b, tmp, 8);
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
	return strbuf_append(b, p, n);
}

int pb_str(struct strbuf *b, unsigned field, const char *s)
{
	return pb_bytes(b, field, s, strlen(s));
}

size_t pb_open(struct strbuf *b, unsigned field)
{
	pb_key(b, field, PB_LEN);
	return b->len;
}

size_t pb_open_frame(struct strbuf *b)
{
	return b->len;
}

int pb_close(struct strbuf *b, size_t at)
{
	if (strbuf_error(b) || at > b->len)
		return strbuf_fail(b, -ENOMEM);
	size_t n = b->len - at;
	char tmp[PB_VARINT_MAX];
	size_t k = varint_enc(tmp, n);
	int rc = strbuf_reserve(b, k);
	if (rc)
		return rc;
	memmove(b->data + at + k, b->data + at, n);
	memcpy(b->data + at, tmp, k);
	b->len += k;
	b->data[b->len] = 0;
	return 0;
}
