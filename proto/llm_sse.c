/*
 * llm_sse.c - server-sent events framing (text/event-stream): hands the
 * payload of every "data:" line to the caller and reports blank lines (the
 * end of an event). Lines are found with memchr; only the first five bytes
 * of a line (its field name) are looked at one by one, and those may be
 * split across feeds.
 */
#include <string.h>

#include "llm.h"

enum sse_state {
	L_START = 0, /* at a line start, reading the field name */
	L_DATA_SP,   /* after "data:": one optional space */
	L_DATA,      /* in a data payload */
	L_SKIP,      /* in another field or a comment */
};

static const char data_field[] = "data:";
#define DATA_FIELD_LEN (sizeof(data_field) - 1)

void llm_sse_reset(struct llm_sse *s)
{
	memset(s, 0, sizeof *s);
}

static const char *line_start(struct llm_sse *s, const char *p, const struct llm_sse_ops *ops,
			      void *ctx)
{
	char c = *p;
	if (s->plen == 0 && c == '\n') {
		ops->event_end(ctx);
		return p + 1;
	}
	if (s->plen == 0 && c == '\r')
		return p + 1;
	if (c == '\n') { /* a field without value: nothing to keep */
		s->plen = 0;
		return p + 1;
	}
	s->prefix[s->plen++] = c;
	if (s->plen == DATA_FIELD_LEN || c == ':')
		s->state = (s->plen == DATA_FIELD_LEN &&
			    memcmp(s->prefix, data_field, DATA_FIELD_LEN) == 0)
				   ? L_DATA_SP
				   : L_SKIP;
	return p + 1;
}

/* Up to the end of the line; returns NULL if the line goes on. */
static const char *to_eol(struct llm_sse *s, const char *p, const char *e)
{
	const char *q = memchr(p, '\n', (size_t)(e - p));
	if (!q)
		return NULL;
	s->state = L_START;
	s->plen = 0;
	return q;
}

void llm_sse_feed(struct llm_sse *s, const char *p, size_t n, const struct llm_sse_ops *ops,
		  void *ctx)
{
	const char *e = p + n;
	while (p < e) {
		const char *q;
		switch (s->state) {
		case L_START:
			/* the usual line, "data: " whole in the piece: no byte-wise
			 * field name */
			if (s->plen == 0 && e - p >= 6 && memcmp(p, "data: ", 6) == 0) {
				/* the usual line, read here whole (and the blank line
				 * after it: the usual event) without a trip through
				 * the states: what L_DATA and L_START would do */
				p += 6;
				q = memchr(p, '\n', (size_t)(e - p));
				if ((q ? q : e) > p)
					ops->data(ctx, p, (size_t)((q ? q : e) - p));
				if (!q) {
					s->state = L_DATA;
					return;
				}
				p = q + 1;
				if (p < e && *p == '\n') {
					ops->event_end(ctx);
					p++;
				}
				break;
			}
			p = line_start(s, p, ops, ctx);
			break;
		case L_DATA_SP:
			if (*p == ' ')
				p++;
			s->state = L_DATA;
			break;
		case L_DATA:
			q = to_eol(s, p, e);
			if ((q ? q : e) > p)
				ops->data(ctx, p, (size_t)((q ? q : e) - p));
			if (!q)
				return;
			p = q + 1;
			break;
		default:
			q = to_eol(s, p, e);
			if (!q)
				return;
			p = q + 1;
			break;
		}
	}
}
