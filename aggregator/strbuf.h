/*
 * strbuf.h - a growable byte buffer for rendering (exposition, JSON, log
 * lines). The only heap that grows in the daemon, bounded by what it renders.
 *
 * Errors are sticky, as in Go's bufio.Writer: the first failure (-ENOMEM)
 * is remembered in the buffer, every later append does nothing and returns
 * it, and a renderer checks once at the end (strbuf_error) instead of after
 * every call. The appends still return the buffer's error (0 when fine), so
 * `rc = strbuf_append(...)` keeps working where a caller wants to stop early.
 * strbuf_reset clears the error; strbuf_settle drops a failed partial render.
 */
#ifndef TOKENRING_STRBUF_H
#define TOKENRING_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	int err; /* first error (-ENOMEM); 0 while every append succeeded */
};

void strbuf_init(struct strbuf *b);
void strbuf_free(struct strbuf *b);
/* Empty the buffer and forget its error; keeps the memory. */
static inline void strbuf_reset(struct strbuf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = 0;
}
/* The first error since init/reset/settle: 0 or -ENOMEM. */
static inline int strbuf_error(const struct strbuf *b) { return b->err; }
/* Ensure room for n more bytes (plus the NUL). 0 or the sticky error. */
int strbuf_reserve(struct strbuf *b, size_t n);
int strbuf_append(struct strbuf *b, const void *p, size_t n);
int strbuf_puts(struct strbuf *b, const char *s);
int strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record an error that happened beside the buffer (a scratch buffer or a
 * table ran out) so the render's single check sees it; keeps the first.
 * Returns the buffer's error. */
int strbuf_fail(struct strbuf *b, int err);
/* Cut the buffer back to n bytes (n <= len) and forget its error. */
void strbuf_truncate(struct strbuf *b, size_t n);
/* End a render that began at length mark: if it failed, cut the buffer back
 * to mark (no half line is left behind) and clear the error, so the buffer
 * stays usable; returns that error, else 0. The buffer must have been
 * error-free at mark. */
int strbuf_settle(struct strbuf *b, size_t mark);

#endif
