/*
 * http_index.c - header lines whole in the caller's buffer, read by an
 * index of the head (the walk: http_index_walk.h): line feeds and colons
 * found 64 bytes at a time into bit masks, with SSE2 (the x86-64
 * baseline) or, on CPUs that have it, AVX2 (http_index_avx2.c, chosen
 * once per process); in portable C elsewhere (a byte loop, compiled and
 * tested on x86-64 too: tests/producer/http_index_tests.cmake).
 */

#include "http_internal.h"

#include "scan_internal.h"

#define HIDX_LINES hidx_lines_base
#define HIDX_HEAD hidx_head_base
size_t hidx_lines_base(struct http_parser *p, const char *buf, size_t len, struct http_event *ev);
size_t hidx_head_base(struct http_parser *p, const char *buf, size_t len, struct http_event *ev);

#ifdef SCAN_SSE2
static inline uint64_t eq16(__m128i v, __m128i c)
{
	return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c));
}

static inline void hidx_masks(const char *b, uint64_t *lf, uint64_t *colon)
{
	const __m128i l = _mm_set1_epi8('\n'), c = _mm_set1_epi8(':');
	const __m128i *q = (const __m128i *)(const void *)b;
	__m128i v0 = _mm_loadu_si128(q), v1 = _mm_loadu_si128(q + 1);
	__m128i v2 = _mm_loadu_si128(q + 2), v3 = _mm_loadu_si128(q + 3);
	*lf = eq16(v0, l) | eq16(v1, l) << 16 | eq16(v2, l) << 32 | eq16(v3, l) << 48;
	*colon = eq16(v0, c) | eq16(v1, c) << 16 | eq16(v2, c) << 32 | eq16(v3, c) << 48;
}
#else
static inline void hidx_masks(const char *b, uint64_t *lf, uint64_t *colon)
{
	uint64_t l = 0, c = 0;
	for (unsigned i = 0; i < 64; i++) {
		l |= (uint64_t)(b[i] == '\n') << i;
		c |= (uint64_t)(b[i] == ':') << i;
	}
	*lf = l;
	*colon = c;
}
#endif

#include "http_index_walk.h"

#ifdef HIDX_AVX2
#include "cpu_variant.h"

static _Atomic int variant; /* cpu_variant.h: 0 until decided */

static inline int avx2(void)
{
	return cpu_variant(&variant) == 2;
}

void http_index_variant(int v)
{
	cpu_variant_force(&variant, v);
}
#else
void http_index_variant(int v)
{
	(void)v;
}
#endif

size_t http_head_lines(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
#ifdef HIDX_AVX2
	if (avx2())
		return hidx_lines_avx2(p, buf, len, ev);
#endif
	return hidx_lines_base(p, buf, len, ev);
}

/*
 * A message's whole head at buf, start line to blank line, read in one
 * call (http_whole): returns its length with *ev an HTTP_EV_HEAD, or 0
 * when the head must take the line-by-line road (not whole in buf, a
 * start line longer than the kept head, anything the walk leaves to the
 * general path). The caller then resets the message's fields and starts
 * over from its first byte, so that road sees the message untouched.
 */
size_t http_head_whole(struct http_parser *p, const char *buf, size_t len, struct http_event *ev)
{
#ifdef HIDX_AVX2
	if (avx2())
		return hidx_head_avx2(p, buf, len, ev);
#endif
	return hidx_head_base(p, buf, len, ev);
}
