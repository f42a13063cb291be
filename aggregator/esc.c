/*
 * esc.c - output escaping for Prometheus label values and JSON strings.
 * Plain runs are copied with one append; only special bytes take the slow
 * path, so a clean model name costs a scan and a memcpy.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "esc.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

size_t esc_utf8_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* no overlong */
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* <= U+10FFFF */
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Shared walker: copies runs of bytes that need nothing, hands every other
 * position to `special`, which appends its replacement. */
typedef int (*esc_special_fn)(struct strbuf *b, unsigned char c);
typedef int (*esc_bad_fn)(struct strbuf *b);

static int walk(struct strbuf *b, const char *str, size_t n, const unsigned char *needs,
		esc_special_fn special, esc_bad_fn bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0, i = 0;
	int rc = 0;

	while (i < n && s[i]) {
		unsigned char c = s[i];
		if (c < 0x80 && !needs[c]) {
			i++;
			continue;
		}
		size_t len = c < 0x80 ? 1 : esc_utf8_char(s + i, n - i);
		if (len > 1) {
			/* A multi-byte character must not hide a NUL inside: it
			 * cannot, continuation bytes are >= 0x80. Copy as is. */
			i += len;
			continue;
		}
		if ((rc = strbuf_append(b, s + run, i - run)))
			return rc;
		rc = len == 0 ? bad(b) : special(b, c);
		if (rc)
			return rc;
		i++;
		run = i;
	}
	return strbuf_append(b, s + run, i - run);
}

/* Bytes below 0x80 that cannot be copied as they are. */
static const unsigned char prom_needs[128] = {[0 ... 0x1f] = 1, ['\\'] = 1, ['"'] = 1,
					      [0x7f] = 1};
static const unsigned char json_needs[128] = {[0 ... 0x1f] = 1, ['\\'] = 1, ['"'] = 1};

/* The escapes both syntaxes share; NULL for any other byte. */
static const char *common_escape(unsigned char c)
{
	return c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : NULL;
}

static int prom_special(struct strbuf *b, unsigned char c)
{
	const char *e = common_escape(c);
	return e ? strbuf_append(b, e, 2) : strbuf_append(b, REPLACEMENT, 3);
}

static int prom_replacement(struct strbuf *b)
{
	return strbuf_append(b, REPLACEMENT, 3);
}

int esc_prom(struct strbuf *b, const char *s, size_t n)
{
	return walk(b, s, n, prom_needs, prom_special, prom_replacement);
}

int esc_json(struct strbuf *b, const char *s, size_t n)
{
	if (strbuf_reserve(b, ESC_JSON_MAX(n)))
		return strbuf_error(b);
	char *end = esc_json_put(b->data + b->len, s, n);
	b->len = (size_t)(end - b->data);
	b->data[b->len] = 0;
	return 0;
}

static char *json_byte(char *p, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	const char *e = common_escape(c);
	if (e) {
		memcpy(p, e, 2);
		return p + 2;
	}
	char two = c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : c == '\f' ? 'f' : 0;
	if (two) {
		p[0] = '\\';
		p[1] = two;
		return p + 2;
	}
	memcpy(p, "\\u00", 4);
	p[4] = hex[c >> 4];
	p[5] = hex[c & 15];
	return p + 6;
}

size_t esc_json_char(char *p, const char *str, size_t n, size_t *used)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	*used = 1;
	if (c < 0x80)
		return json_needs[c] ? (size_t)(json_byte(p, c) - p) : (*p = (char)c, 1);
	size_t len = esc_utf8_char(s, n);
	if (len == 0) {
		memcpy(p, "\\ufffd", 6);
		return 6;
	}
	memcpy(p, s, len);
	*used = len;
	return len;
}

static const unsigned char utf8_needs[128]; /* all zero: ASCII passes */

static int no_special(struct strbuf *b, unsigned char c)
{
	return strbuf_append(b, &c, 1);
}

int esc_utf8(struct strbuf *b, const char *s, size_t n)
{
	return walk(b, s, n, utf8_needs, no_special, prom_replacement);
}
