/* test_llm_json_index.c - the JSON scanner's block index (proto/
 * llm_json_index.h) against byte-by-byte walks: escaped quotes with
 * backslash runs carried across blocks, the in-string mask carried across
 * blocks, brackets outside strings, and the skip of a container from any
 * start, at any end of the piece. Built three times: with SSE2, with the
 * portable loop (JIDX_SCALAR) and with AVX2 (JIDX_TEST_AVX2: the bits of
 * the header's inline functions made with AVX2; its main,
 * test_llm_json_index_avx2_main.c, skips visibly on a CPU without it),
 * which must agree bit for bit; each build's skip tests cross with every
 * variant the library has on this CPU (jidx_variant). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "llm_json_index.h"
#include "test_support.h"

#if defined(JIDX_TEST_AVX2) && !defined(JIDX_AVX2_BITS)
#error "JIDX_TEST_AVX2: build with -mavx2, or this build tests nothing new"
#endif

/* The variants of jidx_skip this build has: 1, and 2 where the CPU has
 * AVX2 (jidx_variant says which it took). */
static int variants(void)
{
#ifdef JIDX_DISPATCH
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") ? 2 : 1;
#else
	return 1;
#endif
}

static void use_variant(int v)
{
	cr_assert_eq(jidx_variant(v), v, "variant %d", v);
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Bytes drawn mostly from the ones the index looks at. */
static void fill(char *t, size_t n, uint32_t *seed, const char *alphabet)
{
	size_t k = strlen(alphabet);
	for (size_t i = 0; i < n; i++)
		t[i] = alphabet[rnd(seed) % k];
}

Test(jidx, unescaped_quotes_carry_backslash_runs_across_blocks)
{
	uint32_t seed = 12345;
	char t[JIDX_W * 4];
	for (int round = 0; round < 20000; round++) {
		fill(t, sizeof t, &seed, round & 1 ? "\\\\\\\"x" : "\\\"xxxxxx");
		unsigned esc = 0, odd = 0; /* odd: the reference's run parity */
		for (size_t b = 0; b < sizeof t; b += JIDX_W) {
			struct jidx_raw r;
			jidx_block(t + b, t + sizeof t, t, &r);
			jidx_mask q = jidx_unescaped(r.quote, r.bs, &esc);
			for (unsigned i = 0; i < JIDX_W; i++) {
				char c = t[b + i];
				int want = c == '"' && !odd;
				cr_assert_eq((int)(q >> i & 1u), want, "round %d byte %zu", round,
					     b + i);
				odd = c == '\\' ? !odd : 0;
			}
			cr_assert_eq(esc, odd, "round %d block %zu", round, b);
		}
	}
}

Test(jidx, in_string_mask_is_the_prefix_xor_of_quotes)
{
	uint32_t seed = 99;
	for (int round = 0; round < 5000; round++) {
		jidx_mask q = (jidx_mask)rnd(&seed) & (jidx_mask)rnd(&seed);
		if (JIDX_W == 64)
			q = (jidx_mask)(q ^ (uint64_t)rnd(&seed) << 31 ^ (uint64_t)rnd(&seed) << 33);
		jidx_mask in = round & 1 ? (jidx_mask)~(jidx_mask)0 : 0;
		jidx_mask x = jidx_prefix_xor(q, in);
		unsigned inside = in & 1u;
		for (unsigned i = 0; i < JIDX_W; i++) {
			inside ^= (unsigned)(q >> i & 1u);
			cr_assert_eq((unsigned)(x >> i & 1u), inside, "round %d bit %u", round, i);
		}
	}
}

/* The piece's tail: read in place, as the last JIDX_W bytes shifted, or
 * copied (a short piece); bits past the end clear; reads never past it. */
Test(jidx, block_bits_at_every_end_of_the_piece)
{
	uint32_t seed = 7;
	char t[JIDX_W * 2];
	fill(t, sizeof t, &seed, "\"\\{}[]x ");
	for (size_t n = 1; n <= sizeof t; n++) {
		const char *g = guard_copy(t, n);
		for (size_t at = 0; at < n; at++) {
			struct jidx_raw r;
			jidx_block(g + at, g + n, g, &r);
			for (unsigned i = 0; i < JIDX_W; i++) {
				char c = at + i < n ? t[at + i] : 0;
				cr_assert_eq((int)(r.quote >> i & 1u), c == '"', "n %zu at %zu", n, at);
				cr_assert_eq((int)(r.bs >> i & 1u), c == '\\', "n %zu at %zu", n, at);
				cr_assert_eq((int)(r.brk >> i & 1u), c && strchr("{}[]", c) != NULL,
					     "n %zu at %zu bit %u", n, at, i);
			}
		}
	}
}

/* The reference: a skipped container walked byte by byte (a backslash
 * outside strings is nothing, as in in_skip's own path). Walks [p, e)
 * from depth *depth outside strings; returns just past the close, or NULL
 * with *depth, *in (inside a string at e) and *stray (the first backslash
 * outside strings, or NULL) set. */
static const char *walk(const char *p, const char *e, uint32_t *depth, int *in,
			const char **stray)
{
	int odd = 0;
	*in = 0;
	for (; p < e; p++) {
		if (*in) {
			if (*p == '"' && !odd)
				*in = 0;
			odd = *p == '\\' ? !odd : 0;
		} else if (*p == '"') {
			*in = 1;
			odd = 0;
		} else if (*p == '{' || *p == '[') {
			++*depth;
		} else if ((*p == '}' || *p == ']') && --*depth == 0) {
			return p + 1;
		} else if (*p == '\\' && stray && !*stray) {
			*stray = p;
		}
	}
	return NULL;
}

/* Skipped containers of strings (escapes, backslash runs and brackets
 * inside), brackets and, in some rounds, a stray backslash outside
 * strings (malformed): from any start outside strings, jidx_skip ends
 * where the walk does, or stops short outside strings (at a string's
 * opening quote, a block's start or the end) with the walk's depth there,
 * never past a stray backslash; without one it always ends where the
 * walk does. */
static void skip_agrees(int v)
{
	uint32_t seed = 4242;
	static const char str_bytes[] = "x{}[]ab:,";
	char t[JIDX_W * 6];
	for (int round = 0; round < 4000; round++) {
		size_t n = 0;
		t[n++] = '[';
		while (n < sizeof t - 200) {
			switch (rnd(&seed) % 6) {
			case 0: { /* a string: escapes, backslash runs, brackets */
				size_t len = rnd(&seed) % (round & 1 ? 150 : 12);
				t[n++] = '"';
				for (size_t i = 0; i < len; i++) {
					uint32_t k = rnd(&seed) % 12;
					if (k == 0) {
						t[n++] = '\\';
						t[n++] = rnd(&seed) & 1 ? '"' : '\\';
					} else {
						t[n++] = str_bytes[k % (sizeof str_bytes - 1)];
					}
				}
				t[n++] = '"';
				break;
			}
			case 1:
				t[n++] = rnd(&seed) & 1 ? '{' : '[';
				break;
			case 2:
				t[n++] = rnd(&seed) & 1 ? '}' : ']';
				break;
			case 3:
				t[n++] = round % 4 == 3 && rnd(&seed) % 8 == 0 ? '\\' : ' ';
				break;
			default:
				t[n++] = ",:1"[rnd(&seed) % 3];
				break;
			}
		}
		const char *g = guard_copy(t, n);
		uint32_t d = 1;
		int in = 0;
		const char *stray = NULL;
		for (size_t start = 1; start < n; start += 1 + rnd(&seed) % 23) {
			d = 1;
			stray = NULL;
			if (walk(g + 1, g + start, &d, &in, &stray))
				break; /* the container ended before start */
			if (in)
				continue; /* the index starts outside strings */
			uint32_t dw = d, depth = d;
			const char *stray_after = NULL;
			const char *want = walk(g + start, g + n, &dw, &in, &stray_after);
			uint32_t never = 1u << 30; /* strays past the close too */
			const char *stray_any = NULL;
			walk(g + start, g + n, &never, &in, &stray_any);
			int closed = 0;
			const char *got = jidx_skip(&depth, g + start, g + n, g, &closed);
			if (closed || (want && !stray_any)) {
				cr_assert(closed, "v%d round %d start %zu", v, round, start);
				cr_assert_eq(got, want, "v%d round %d start %zu", v, round, start);
				cr_assert(!stray_after || want <= stray_after, "v%d round %d", v, round);
				continue;
			}
			/* (a stray backslash anywhere in a block stops it at the
			 * block's start, even after the close: malformed text is
			 * the byte-wise path's) */
			cr_assert(!stray_after || got <= stray_after, "v%d round %d start %zu", v, round,
				  start);
			cr_assert(!want || got < want, "v%d round %d start %zu", v, round, start);
			uint32_t dg = d;
			cr_assert(!walk(g + start, got, &dg, &in, NULL), "v%d round %d", v, round);
			cr_assert(!in, "v%d round %d start %zu: stopped in a string", v, round, start);
			cr_assert_eq(depth, dg, "v%d round %d start %zu", v, round, start);
			cr_assert(got == g + n || *got == '"' || got == g + start ||
					  (size_t)(got - g - start) % JIDX_W == 0,
				  "v%d round %d start %zu: stopped at %td", v, round, start, got - g);
		}
	}
}

Test(jidx, skip_ends_where_a_byte_walk_does)
{
	for (int v = 1; v <= variants(); v++) {
		use_variant(v);
		skip_agrees(v);
	}
	jidx_variant(0);
}

/* A container of strings with escapes, cut at every end from 1 to 5
 * blocks (so at, before and after every block edge) with the end against
 * a guard page: jidx_skip, with each variant, ends where the walk does or,
 * in a string cut by the end, at its opening quote with the walk's depth
 * there. */
Test(jidx, skip_at_every_end_of_the_piece)
{
	static const char unit[] = "[{\"a\\\"]\\\\\":[\"}\\\\\\\"\",1]},\"x{\"";
	char t[JIDX_W * 5 + 1];
	size_t k = strlen(unit);
	t[0] = '[';
	for (size_t i = 1; i < sizeof t; i++)
		t[i] = unit[i % k];
	for (int v = 1; v <= variants(); v++) {
		use_variant(v);
		for (size_t n = 2; n <= sizeof t; n++) {
			const char *g = guard_copy(t, n);
			uint32_t dw = 1, depth = 1;
			int in = 0, closed = 0;
			const char *want = walk(g + 1, g + n, &dw, &in, NULL);
			const char *got = jidx_skip(&depth, g + 1, g + n, g, &closed);
			if (want) {
				cr_assert(closed, "v%d n %zu", v, n);
				cr_assert_eq(got, want, "v%d n %zu", v, n);
				continue;
			}
			cr_assert(!closed, "v%d n %zu", v, n);
			if (!in) {
				cr_assert_eq(got, g + n, "v%d n %zu", v, n);
				cr_assert_eq(depth, dw, "v%d n %zu", v, n);
				continue;
			}
			cr_assert_eq(*got, '"', "v%d n %zu: stopped at %td", v, n, got - g);
			uint32_t dg = 1;
			cr_assert(!walk(g + 1, got, &dg, &in, NULL) && !in, "v%d n %zu", v, n);
			cr_assert_eq(depth, dg, "v%d n %zu", v, n);
		}
	}
	jidx_variant(0);
}
