/*
 * llm_json_index_walk.h - a skipped container (a request's messages, an
 * embedding vector, tools) crossed with the block index
 * (llm_json_index.h) 64 bytes a step, its depth counted on the bracket
 * bits outside strings: no work per string, per token or per byte. One
 * template, instantiated once per way of making a block's bits: included
 * by llm_json_index.c (SSE2, or the portable loop) and
 * llm_json_index_avx2.c (AVX2), each of which first includes
 * llm_json_index.h (whose jidx_bits follows the file's compile flags) and
 * defines JIDX_SKIP, the name of the entry point.
 */
#ifndef TOKENRING_LLM_JSON_INDEX_WALK_H
#define TOKENRING_LLM_JSON_INDEX_WALK_H

#include "llm_json_index.h"

const char *JIDX_SKIP(uint32_t *depth, const char *p, const char *e, const char *lo, int *closed);

/* (jidx_skip in llm_json_index.h says what it returns) */
const char *JIDX_SKIP(uint32_t *depth, const char *p, const char *e, const char *lo, int *closed)
{
	unsigned esc = 0;
	jidx_mask in = 0;	 /* all ones: the block starts inside a string */
	const char *open = NULL; /* that string's opening quote */
	for (const char *b = p; b < e; b += JIDX_W) {
		struct jidx_raw r;
		jidx_block(b, e, lo, &r);
		jidx_mask q = jidx_unescaped(r.quote, r.bs, &esc);
		jidx_mask x = jidx_prefix_xor(q, in);
		/* A backslash outside strings escapes nothing there: malformed,
		 * and up to it the bits are right; the byte-wise path takes it
		 * from a point outside strings. */
		if (r.bs & ~x)
			return in ? open : b;
		for (jidx_mask m = r.brk & (jidx_mask)~x; m; m &= (jidx_mask)(m - 1)) {
			unsigned i = (unsigned)__builtin_ctzll(m);
			if (b[i] & 2) { /* { and [ have bit 1, } and ] not */
				++*depth;
			} else if (--*depth == 0) {
				*closed = 1;
				return b + i + 1;
			}
		}
		jidx_mask opens = q & x;
		if (opens) /* (promoted to 64 bits whatever the width) */
			open = b + (63 - __builtin_clzll(opens));
		in = (jidx_mask)0 - (jidx_mask)(x >> (JIDX_W - 1));
	}
	return in ? open : e;
}

#endif
