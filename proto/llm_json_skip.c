/*
 * llm_json_skip.c - the bytes of a container the JSON scanner skips (a
 * request's messages, an embedding vector, tools): crossed without a state
 * per byte, only the brackets outside strings counted, so that the scanner
 * (llm_json.c in_skip) knows where the container ends. Strings of a
 * skipped container are found by in_skip; these see the regions between.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan_internal.h"

/* Regions shorter than this are cheaper to walk than to count with memchr. */
#define SKIP_FAST_MIN 32

static size_t count_char(const char *p, const char *e, char c)
{
	size_t n = 0;
	while (p < e && (p = memchr(p, c, (size_t)(e - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * Brackets in [p, r), a region with no string in it. Returns just past the
 * bracket that closes the skipped container, or NULL. When the region holds
 * fewer closes than are open it cannot end the container, so counting (with
 * memchr) is enough; only the final region is walked byte by byte.
 */
const char *jskip_brackets(uint32_t *depth, const char *p, const char *r)
{
	if (r - p >= SKIP_FAST_MIN) {
		size_t closes = count_char(p, r, '}') + count_char(p, r, ']');
		if (closes < *depth) {
			*depth += (uint32_t)(count_char(p, r, '{') + count_char(p, r, '['));
			*depth -= (uint32_t)closes;
			return NULL;
		}
	}
	for (; p < r; p++) {
		if (*p == '{' || *p == '[')
			++*depth;
		else if ((*p == '}' || *p == ']') && --*depth == 0)
			return p + 1;
	}
	return NULL;
}

#ifdef SCAN_SSE2
/* Bits set in a 16-bit mask (SSE2, the baseline, has no popcount). */
static unsigned pop16(unsigned x)
{
	static const uint8_t pop4[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
	return (unsigned)pop4[x & 15] + pop4[x >> 4 & 15] + pop4[x >> 8 & 15] + pop4[x >> 12];
}

static unsigned eq_mask(__m128i v, char c)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
}

/*
 * A skipped container crossed 16 bytes a step where its strings are short
 * and have no escapes (a request's messages: {"role":"user","content":..),
 * with no state per byte: quotes, backslashes and brackets are found at
 * once, the bytes inside strings masked out by a prefix XOR of the quote
 * bits, and the depth moved by the brackets left. Returns where it
 * stopped, outside any string: just past the close that ends the
 * container (*closed set); at the opening quote of a string with an escape
 * or cut by the end of the piece (in_skip's string path takes it); or at a
 * block with a backslash, or the last 15 bytes (in_skip's own path takes
 * them). A string that runs past its block is crossed with scan_find2
 * (long contents go to memchr). The same brackets count as in
 * skip_brackets.
 */
const char *jskip_blocks(uint32_t *depth, const char *p, const char *e, int *closed)
{
	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned q = eq_mask(v, '"'), in = q;
		if (eq_mask(v, '\\'))
			return p;
		in ^= in << 1; /* bit i: an odd number of quotes at 0..i, in a string */
		in ^= in << 2;
		in ^= in << 4;
		in ^= in << 8;
		unsigned live = 0xffff; /* the bytes of this block read here */
		unsigned last_q = 31u - (unsigned)__builtin_clz(q | 1u); /* (q: 0 leaves live whole) */
		if (in & 0x8000) /* up to the last string's opening quote */
			live = (1u << last_q) - 1;
		unsigned out = ~in & live;
		unsigned o = (eq_mask(v, '{') | eq_mask(v, '[')) & out;
		unsigned c = (eq_mask(v, '}') | eq_mask(v, ']')) & out;
		if (!(o | c)) { /* text of strings, the usual block: nothing to count */
		} else if (c && pop16(c) >= *depth) {
			for (unsigned m = o | c; m; m &= m - 1) {
				unsigned i = (unsigned)__builtin_ctz(m);
				if (o >> i & 1u) {
					++*depth;
				} else if (--*depth == 0) {
					*closed = 1;
					return p + i + 1;
				}
			}
		} else {
			*depth = *depth + pop16(o) - pop16(c);
		}
		if (live == 0xffff) {
			p += 16;
			continue;
		}
		/* the string that runs past the block: its end, if no escape
		 * comes first, and on from there */
		const char *open = p + last_q;
		const char *close = scan_find2(open + 1, e, e, '"', '\\');
		if (close == e || *close != '"')
			return open;
		p = close + 1;
	}
	return p;
}
#endif
