/*
 * strbuf.c - growable render buffer. Grows geometrically so appending n
 * bytes in total costs O(n); keeps one spare byte for the terminating NUL,
 * so data is always a C string once anything was appended. The first
 * failure sticks (strbuf.h): every function starts by returning it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define STRBUF_MIN_CAP 256u

void strbuf_init(struct strbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
}

void strbuf_free(struct strbuf *b)
{
	free(b->data);
	strbuf_init(b);
}

int strbuf_fail(struct strbuf *b, int err)
{
	if (!b->err)
		b->err = err;
	return b->err;
}

int strbuf_reserve(struct strbuf *b, size_t n)
{
	if (b->err)
		return b->err;
	/* +1: the NUL terminator always has room. */
	if (n > SIZE_MAX - b->len - 1)
		return strbuf_fail(b, -ENOMEM);
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : STRBUF_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return strbuf_fail(b, -ENOMEM);
	b->data = p;
	b->cap = cap;
	return 0;
}

int strbuf_append(struct strbuf *b, const void *p, size_t n)
{
	int rc = strbuf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int strbuf_puts(struct strbuf *b, const char *s)
{
	return strbuf_append(b, s, strlen(s));
}

int strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	if (b->err)
		return b->err;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return strbuf_fail(b, -EINVAL);
	if ((size_t)n < sizeof(small))
		return strbuf_append(b, small, (size_t)n);
	int rc = strbuf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void strbuf_truncate(struct strbuf *b, size_t n)
{
	b->err = 0;
	if (n < b->len)
		b->len = n;
	if (b->data)
		b->data[b->len] = 0;
}

int strbuf_settle(struct strbuf *b, size_t mark)
{
	int err = b->err;
	if (err)
		strbuf_truncate(b, mark);
	return err;
}
