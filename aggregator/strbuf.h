/*
 * strbuf.h - a growable byte buffer for rendering (exposition, JSON, log
 * lines). The only heap that grows in the daemon, bounded by what it renders.
 */
#ifndef TOKENRING_STRBUF_H
#define TOKENRING_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
};

void strbuf_init(struct strbuf *b);
void strbuf_free(struct strbuf *b);
static inline void strbuf_reset(struct strbuf *b) { b->len = 0; if (b->data) b->data[0] = 0; }
/* Ensure room for n more bytes. 0 or -ENOMEM. */
int strbuf_reserve(struct strbuf *b, size_t n);
int strbuf_append(struct strbuf *b, const void *p, size_t n);
int strbuf_puts(struct strbuf *b, const char *s);
int strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
