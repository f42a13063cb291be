/*
 * llm_json_skip.c - the bytes of a container the JSON scanner skips (a
 * request's messages, an embedding vector, tools) where the block index
 * (llm_json_index.c jidx_skip) stops short: a region between strings
 * crossed without a state per byte, only its brackets counted, so that the
 * scanner (llm_json.c in_skip) knows where the container ends. Strings of
 * a skipped container are found by in_skip; these see the regions between.
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
