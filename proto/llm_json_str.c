/*
 * llm_json_str.c - JSON string values as the text they stand for, for the
 * strings the record keeps from a body (model names): `"a\"b"` is a"b and
 * Python's default `"\u00e9\u4e2d"` is é中, not the escapes. Bounded (the
 * output is never longer than the caller's buffer; escapes only shrink the
 * text except the replacement character, which is bounded by cap too) and
 * allocation-free.
 *
 * Invalid escapes are not guessed at: an unknown escape letter, a \u
 * without four hex digits, a lone surrogate and \u0000 (a NUL would end
 * the record's string early) each become U+FFFD. A value the scanner cut
 * (JSCAN_VALUE_KEEP) may end inside an escape: that tail is dropped.
 */
#include <string.h>

#include "llm.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

static int hex4(const char *p, const char *end, unsigned *out)
{
	unsigned v = 0;
	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16u;
		if (d == 16)
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

/* UTF-8 of code point cp into buf; its length. */
static size_t utf8(unsigned cp, char *buf)
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xc0 | cp >> 6);
		buf[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | cp >> 12);
		buf[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	buf[0] = (char)(0xf0 | cp >> 18);
	buf[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	buf[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	buf[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One escape at p (after the backslash): its text in out, the raw bytes it
 * took in *used; 0 when the escape is cut short by the end of the value. */
static size_t escape(const char *p, const char *end, char *out, size_t *used)
{
	static const char plain_from[] = "\"\\/bfnrt", plain_to[] = "\"\\/\b\f\n\r\t";
	if (p == end)
		return 0;
	const char *hit = memchr(plain_from, *p, sizeof plain_from - 1);
	if (hit) {
		out[0] = plain_to[hit - plain_from];
		*used = 1;
		return 1;
	}
	if (*p != 'u') {
		*used = 1;
		memcpy(out, REPLACEMENT, 3);
		return 3;
	}
	unsigned cp, lo;
	if (end - p < 5)
		return 0; /* cut inside \uXXXX */
	if (hex4(p + 1, end, &cp)) {
		*used = 1;
		memcpy(out, REPLACEMENT, 3);
		return 3;
	}
	*used = 5;
	if (cp >= 0xd800 && cp < 0xdc00) { /* high surrogate: its pair must follow */
		if (end - p >= 11 && p[5] == '\\' && p[6] == 'u' && hex4(p + 7, end, &lo) == 0 &&
		    lo >= 0xdc00 && lo < 0xe000) {
			*used = 11;
			return utf8(0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00), out);
		}
		if (end - p < 11 && end - p > 5 && p[5] == '\\')
			return 0; /* the pair may have been cut off */
		cp = 0xfffd;
	} else if ((cp >= 0xdc00 && cp < 0xe000) || cp == 0) {
		cp = 0xfffd;
	}
	return utf8(cp, out);
}

size_t llm_json_str(char *dst, size_t cap, const char *v, size_t n)
{
	const char *p = v, *end = v + n;
	size_t len = 0;
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		size_t run = (size_t)((bs ? bs : end) - p);
		if (run > cap - len)
			run = cap - len;
		memcpy(dst + len, p, run);
		len += run;
		p += run;
		if (!bs || p != bs)
			break; /* the end, or dst full */
		char out[4];
		size_t used = 0, k = escape(p + 1, end, out, &used);
		if (k == 0 || k > cap - len)
			break;
		memcpy(dst + len, out, k);
		len += k;
		p += 1 + used;
	}
	return len;
}

void llm_set_json_str(char *field, size_t cap, const char *v, size_t n, int truncated,
		      uint32_t *flags, uint32_t flag)
{
	char text[JSCAN_VALUE_KEEP];
	if (memchr(v, '\\', n)) { /* rare: decode; plain values go straight in */
		n = llm_json_str(text, sizeof text, v, n);
		v = text;
	}
	rec_set_str(field, cap, v, n, flags, flag);
	if (truncated)
		*flags |= flag;
}
