/*
 * esc.h - escaping untrusted bytes (record strings come from any process
 * that can write the ring) for the two output syntaxes.
 *
 * Both functions read at most n bytes and stop early at a NUL. Invalid
 * UTF-8 (bad lead or continuation bytes, overlong forms, surrogates,
 * > U+10FFFF, truncated sequences) is replaced by U+FFFD per maximal bad
 * subsequence start byte, so the output is always valid UTF-8.
 */
#ifndef TOKENRING_ESC_H
#define TOKENRING_ESC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "strbuf.h"

/* Prometheus text format label value (without the quotes): backslash,
 * double quote and newline escaped as \\ \" \n; other control bytes
 * (U+0000..U+001F but \n, and U+007F) become U+FFFD, since the format has
 * no escape for them and log pipelines choke on them. 0 or -ENOMEM. */
int esc_prom(struct strbuf *b, const char *s, size_t n);

/* JSON string contents (without the quotes): RFC 8259 escapes, control
 * bytes as \u00XX, invalid UTF-8 as \ufffd. 0 or -ENOMEM. */
int esc_json(struct strbuf *b, const char *s, size_t n);

/* One character of s[0..n) (n >= 1, s[0] != 0) that the fast path below
 * stopped at, escaped into p: returns the bytes written (<= 6) and in *used
 * the bytes of s it took. */
size_t esc_json_char(char *p, const char *s, size_t n, size_t *used);

/* Word-at-a-time test: the bytes of w that are a quote, a backslash, a
 * control byte (NUL included) or >= 0x80 get their high bit set. Bytes above
 * the first such byte may be flagged falsely (a borrow runs upwards), but
 * the lowest flagged byte is always the first special one, which is all the
 * caller uses. */
#define ESC_ONES 0x0101010101010101ull
#define ESC_HIGH 0x8080808080808080ull
static inline uint64_t esc_word_special(uint64_t w)
{
	uint64_t q = w ^ (ESC_ONES * '"'), bs = w ^ (ESC_ONES * '\\');
	uint64_t lt = (w - ESC_ONES * 0x20) & ~w;
	return (lt | ((q - ESC_ONES) & ~q) | ((bs - ESC_ONES) & ~bs) | w) & ESC_HIGH;
}

/*
 * esc_json into caller-reserved memory: writes at most ESC_JSON_MAX(n)
 * bytes at p and returns the end. The access log's fast path, inline so a
 * clean field costs no call: runs go 16 bytes per step (SSE2) or 8 (the
 * word test); the whole block is stored and the pointer advances to the
 * first special byte, which ends the string (NUL) or takes esc_json_char.
 */
#define ESC_JSON_MAX(n) (6 * (n))
static inline char *esc_json_put(char *p, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
#if defined(__SSE2__)
		if (i + 16 <= n) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
			__m128i ctl = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)); /* >= 0x80 too */
			__m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
			__m128i bs = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(q, bs)));
			_mm_storeu_si128((__m128i *)(void *)p, v);
			if (!m) {
				p += 16;
				i += 16;
				continue;
			}
			p += __builtin_ctz(m);
			i += (size_t)__builtin_ctz(m);
		} else
#endif
		if (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			uint64_t m = esc_word_special(w);
			memcpy(p, &w, 8);
			if (!m) {
				p += 8;
				i += 8;
				continue;
			}
			p += __builtin_ctzll(m) >> 3;
			i += (size_t)__builtin_ctzll(m) >> 3;
		}
		if (s[i] == 0)
			break;
		size_t used;
		p += esc_json_char(p, (const char *)s + i, n - i, &used);
		i += used;
	}
	return p;
}

/* Copy as valid UTF-8 without other escaping (for a JSON library that
 * escapes by itself but passes bad bytes through): invalid bytes become
 * U+FFFD. 0 or -ENOMEM. */
int esc_utf8(struct strbuf *b, const char *s, size_t n);

/* Length of the valid UTF-8 character at s (1..4), or 0 if the bytes at s
 * do not start one (n is the bytes available). */
size_t esc_utf8_char(const unsigned char *s, size_t n);

#endif
