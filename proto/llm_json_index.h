/*
 * llm_json_index.h - the JSON scanner's structural index (private to
 * llm_json.c and llm_json_index.c): JSCAN text read 64 bytes at a time as
 * bitmasks (bit i: byte i of the block), so that a string's end is the
 * next quote bit and a skipped container's end is found by counting the
 * bracket bits outside strings, with no work per byte or per token.
 *
 * - quotes not escaped: a quote is escaped iff the run of backslashes
 *   right before it is odd; runs are found with one addition each for the
 *   runs starting on even and on odd bits, and a run reaching the block's
 *   end carries into the next block (and, through the scanner's bs_odd,
 *   into the next piece).
 * - in-string mask: the prefix XOR of those quotes (a shift/XOR cascade:
 *   the carry-less multiply that does it in one instruction needs a
 *   run-time CPU check, and the shim links libc only), with the state at
 *   the block's start carried in.
 * - brackets outside strings: { and [ (opens), } and ] (closes).
 *
 * AVX2 where the file including this is compiled with it
 * (llm_json_index_avx2.c, called only on CPUs that have it: the choice is
 * made once per process in llm_json_index.c); else SSE2 (the x86-64
 * baseline) when the compiler has it; a portable loop otherwise, or when
 * JIDX_SCALAR is defined (the scalar unit tests build the scanner that
 * way, so the fallback cannot rot).
 *
 * Reads never leave [lo, e): a block with fewer than 64 bytes left is read
 * as the last 64 bytes of the piece shifted into place when the piece has
 * them, else copied into a zeroed buffer; bits past e are clear.
 */
#ifndef TOKENRING_LLM_JSON_INDEX_H
#define TOKENRING_LLM_JSON_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan_internal.h"

#ifndef JIDX_W
#define JIDX_W 64 /* bytes a block: 64 or 32 */
#endif
#if JIDX_W == 64
typedef uint64_t jidx_mask;
#elif JIDX_W == 32
typedef uint32_t jidx_mask;
#else
#error "JIDX_W: 64 or 32"
#endif

#if defined(__AVX2__) && !defined(JIDX_SCALAR)
#include <immintrin.h>
#define JIDX_AVX2_BITS 1
#elif defined(SCAN_SSE2) && !defined(JIDX_SCALAR)
#define JIDX_SSE2 1
#endif

/* The raw bits of one block. */
struct jidx_raw {
	jidx_mask quote, bs, brk; /* brk: { [ } ], told apart by bit 1 of the byte */
};

#if defined(JIDX_AVX2_BITS)
static inline jidx_mask jidx_lane(__m256i m, int lane)
{
	return (jidx_mask)((uint64_t)(uint32_t)_mm256_movemask_epi8(m) << (32 * lane));
}

/* The JIDX_W bytes at p (all readable), 32 an instruction; backslashes
 * placed only when the block has any, as below. */
static inline void jidx_bits(const char *p, struct jidx_raw *r)
{
	const __m256i vq = _mm256_set1_epi8('"'), vb = _mm256_set1_epi8('\\');
	const __m256i v20 = _mm256_set1_epi8(0x20), vo = _mm256_set1_epi8('{');
	const __m256i vc = _mm256_set1_epi8('}');
	__m256i anyb = _mm256_setzero_si256();
	jidx_mask q = 0, k = 0;
#pragma GCC unroll 2
	for (int i = 0; i < JIDX_W / 32; i++) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * i));
		__m256i w = _mm256_or_si256(v, v20); /* as below: '[' and ']' onto '{' '}' */
		q |= jidx_lane(_mm256_cmpeq_epi8(v, vq), i);
		k |= jidx_lane(_mm256_or_si256(_mm256_cmpeq_epi8(w, vo), _mm256_cmpeq_epi8(w, vc)),
			       i);
		anyb = _mm256_or_si256(anyb, _mm256_cmpeq_epi8(v, vb));
	}
	r->quote = q;
	r->brk = k;
	r->bs = 0;
	if (!_mm256_testz_si256(anyb, anyb)) {
#pragma GCC unroll 2
		for (int i = 0; i < JIDX_W / 32; i++) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * i));
			r->bs |= jidx_lane(_mm256_cmpeq_epi8(v, vb), i);
		}
	}
}
#elif defined(JIDX_SSE2)
static inline jidx_mask jidx_lane(__m128i m, int lane)
{
	return (jidx_mask)((jidx_mask)(unsigned)_mm_movemask_epi8(m) << (16 * lane));
}

/* The JIDX_W bytes at p (all readable). Backslashes are rare: one mask
 * tells whether the block has any, and only then are they placed. */
static inline void jidx_bits(const char *p, struct jidx_raw *r)
{
	const __m128i vq = _mm_set1_epi8('"'), vb = _mm_set1_epi8('\\');
	const __m128i v20 = _mm_set1_epi8(0x20), vo = _mm_set1_epi8('{'), vc = _mm_set1_epi8('}');
	__m128i anyb = _mm_setzero_si128();
	jidx_mask q = 0, k = 0;
#pragma GCC unroll 4
	for (int i = 0; i < JIDX_W / 16; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
		__m128i w = _mm_or_si128(v, v20); /* '[' | 0x20 is '{', ']' | 0x20 is '}' */
		q |= jidx_lane(_mm_cmpeq_epi8(v, vq), i);
		k |= jidx_lane(_mm_or_si128(_mm_cmpeq_epi8(w, vo), _mm_cmpeq_epi8(w, vc)), i);
		anyb = _mm_or_si128(anyb, _mm_cmpeq_epi8(v, vb));
	}
	r->quote = q;
	r->brk = k;
	r->bs = 0;
	if (_mm_movemask_epi8(anyb)) {
#pragma GCC unroll 4
		for (int i = 0; i < JIDX_W / 16; i++) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
			r->bs |= jidx_lane(_mm_cmpeq_epi8(v, vb), i);
		}
	}
}
#else
static inline void jidx_bits(const char *p, struct jidx_raw *r)
{
	jidx_mask q = 0, b = 0, k = 0;
	for (unsigned i = 0; i < JIDX_W; i++) {
		jidx_mask bit = (jidx_mask)((jidx_mask)1 << i);
		char x = p[i];
		q |= x == '"' ? bit : 0;
		b |= x == '\\' ? bit : 0;
		k |= (x == '{' || x == '[' || x == '}' || x == ']') ? bit : 0;
	}
	r->quote = q;
	r->bs = b;
	r->brk = k;
}
#endif

/* The block at p: bits of [p, min(p + JIDX_W, e)), reads within [lo, e). */
static inline void jidx_block(const char *p, const char *e, const char *lo, struct jidx_raw *r)
{
	if (e - p >= JIDX_W) {
		jidx_bits(p, r);
		return;
	}
	unsigned n = (unsigned)(e - p), sh = JIDX_W - n; /* 1..JIDX_W-1 */
	if (e - lo >= JIDX_W) { /* the piece's last JIDX_W bytes, shifted down */
		jidx_bits(e - JIDX_W, r);
		r->quote >>= sh;
		r->bs >>= sh;
		r->brk >>= sh;
		return;
	}
	char buf[JIDX_W] = {0}; /* a short piece */
	memcpy(buf, p, n);
	jidx_bits(buf, r);
}

/*
 * The quotes of a block not escaped by a backslash. *esc: the block's
 * first byte is escaped (an odd run ended the previous block); set for
 * the next one. A run starting on an even bit and ending before bit 63
 * sets, when added to its start bit, the bit just past it; that byte is
 * escaped iff the run is odd, i.e. iff that bit is odd (and the other way
 * round for runs starting on odd bits). A run that reaches bit 63 escapes
 * the next block's first byte iff it started on an odd bit: the addition
 * of the odd starts overflows exactly then.
 */
static inline jidx_mask jidx_unescaped(jidx_mask quote, jidx_mask bs, unsigned *esc)
{
	const jidx_mask even = (jidx_mask)0x5555555555555555u;
	if (!(bs | *esc))
		return quote; /* the usual block */
	jidx_mask first = (jidx_mask)*esc; /* bit 0 */
	bs &= (jidx_mask)~first;	   /* an escaped backslash escapes nothing */
	jidx_mask starts = bs & (jidx_mask)~(jidx_mask)(bs << 1);
	jidx_mask se, so;
	(void)__builtin_add_overflow(bs, (jidx_mask)(starts & even), &se);
	*esc = __builtin_add_overflow(bs, (jidx_mask)(starts & ~even), &so);
	jidx_mask escaped = first | (se & ~bs & ~even) | (so & ~bs & even);
	return quote & (jidx_mask)~escaped;
}

/* Bit i: an odd number of quote bits at 0..i (the byte is in a string, an
 * opening quote included, a closing one not), XOR the state carried in
 * (0 or all ones). */
static inline jidx_mask jidx_prefix_xor(jidx_mask q, jidx_mask in)
{
#pragma GCC unroll 6
	for (unsigned k = 1; k < JIDX_W; k <<= 1)
		q ^= (jidx_mask)(q << k);
	return q ^ in;
}

/*
 * A skipped container crossed from p (outside any string, *depth brackets
 * open) a block at a time: returns just past the bracket that closes it
 * (*closed set); e if the piece ends outside any string; else the opening
 * quote of a string cut by the end of the piece, or a position outside
 * strings before a backslash outside a string (malformed: the byte-wise
 * path decides), from which in_skip goes on its own way.
 */
const char *jidx_skip(uint32_t *depth, const char *p, const char *e, const char *lo, int *closed);

/* Tests and fuzzing: cross with the base bits (1: SSE2, or the portable
 * loop), with AVX2 (2: where the CPU has it, else 1) or as the CPU allows
 * (0, the default). Returns the variant now in effect (0: not decided). */
int jidx_variant(int v);
#if defined(__x86_64__) && defined(SCAN_SSE2) && !defined(JIDX_SCALAR)
#define JIDX_DISPATCH 1 /* llm_json_index_avx2.c is built */
const char *jidx_skip_avx2(uint32_t *depth, const char *p, const char *e, const char *lo,
			   int *closed);
#endif

#endif
