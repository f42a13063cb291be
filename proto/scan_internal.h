/*
 * scan_internal.h - byte search for the framers and the JSON scanner
 * (http.c, llm_json.c): the first of one or two given bytes in a range,
 * inline, 16 bytes a step with SSE2 (the x86-64 baseline, so the glibc and
 * the musl builds both have it) for the first 32 bytes, memchr past them
 * and on other targets.
 *
 * Why not memchr: the ranges searched are mostly short (a header line, a
 * JSON key), where a libc call costs more than the search; and the JSON
 * scanner wants "the next quote or backslash": short ranges are searched
 * here in one pass, long ones with memchr.
 *
 * Reads never leave [p, lim): callers pass as lim the end of the caller's
 * buffer, which may lie past the end of the range searched (a header name
 * is searched for its colon up to its line's end, with the rest of the
 * buffer readable after it). The parsers' guard-page tests hold this.
 */
#ifndef TOKENRING_SCAN_INTERNAL_H
#define TOKENRING_SCAN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define SCAN_SSE2 1
#endif

#ifdef SCAN_SSE2
/* Bytes of the 16 at p equal to a or b, as 0xff lanes. */
static inline unsigned scan_eq2(const char *p, __m128i a, __m128i b)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, a), _mm_cmpeq_epi8(v, b)));
}

static inline const char *scan_hit(const char *q, const char *stop)
{
	return q < stop ? q : stop;
}
#endif

/* The first byte in [p, stop) equal to a or b, or stop; reads stay below
 * lim (stop <= lim). Pass a == b for one byte. Short ranges (a header
 * name, a JSON key) take one or two 16-byte steps; long ones (a 4 KiB
 * completion) go to memchr. */
static inline const char *scan_find2(const char *p, const char *stop, const char *lim, char a,
				     char b)
{
#ifdef SCAN_SSE2
	const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
	for (int i = 0; i < 2 && p < stop && lim - p >= 16; i++, p += 16) {
		unsigned m = scan_eq2(p, va, vb);
		if (m)
			return scan_hit(p + __builtin_ctz(m), stop);
	}
#else
	(void)lim;
#endif
	/* Long ranges (and the portable build): libc's memchr, vectorised as
	 * wide as the CPU allows; one pass per byte searched still costs
	 * fewer instructions than 16-byte steps. */
	if (p >= stop)
		return stop;
	const char *q = memchr(p, a, (size_t)(stop - p));
	if (a != b) {
		const char *r = memchr(p, b, (size_t)((q ? q : stop) - p));
		q = r ? r : q;
	}
	return q ? q : stop;
}

/* The first byte in [p, e) equal to c, or e. */
static inline const char *scan_find(const char *p, const char *e, char c)
{
	return scan_find2(p, e, e, c, c);
}

/*
 * The JSON scanner's skipped containers where the block index stops short
 * (llm_json_skip.c, beside the searches above). *depth its brackets still
 * open (1 at its start). jskip_brackets: the brackets of [p, r), a region
 * with no string in it; returns just past the bracket that closes the
 * container, or NULL.
 */
const char *jskip_brackets(uint32_t *depth, const char *p, const char *r);

#endif
