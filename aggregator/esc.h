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

#include "strbuf.h"

/* Prometheus text format label value (without the quotes): backslash,
 * double quote and newline escaped as \\ \" \n; other control bytes
 * (U+0000..U+001F but \n, and U+007F) become U+FFFD, since the format has
 * no escape for them and log pipelines choke on them. 0 or -ENOMEM. */
int esc_prom(struct strbuf *b, const char *s, size_t n);

/* JSON string contents (without the quotes): RFC 8259 escapes, control
 * bytes as \u00XX, invalid UTF-8 as \ufffd. 0 or -ENOMEM. */
int esc_json(struct strbuf *b, const char *s, size_t n);

/* esc_json into caller-reserved memory: writes at most ESC_JSON_MAX(n)
 * bytes at p and returns the end. The access log's fast path: clean runs go
 * 8 bytes per step (a word test for quote, backslash, control and non-ASCII
 * bytes); only the rest takes the byte-wise path. */
#define ESC_JSON_MAX(n) (6 * (n))
char *esc_json_put(char *p, const char *s, size_t n);

/* Copy as valid UTF-8 without other escaping (for a JSON library that
 * escapes by itself but passes bad bytes through): invalid bytes become
 * U+FFFD. 0 or -ENOMEM. */
int esc_utf8(struct strbuf *b, const char *s, size_t n);

/* Length of the valid UTF-8 character at s (1..4), or 0 if the bytes at s
 * do not start one (n is the bytes available). */
size_t esc_utf8_char(const unsigned char *s, size_t n);

#endif
