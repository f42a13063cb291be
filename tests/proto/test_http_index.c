/* test_http_index.c - the head index (proto/http_index.c): heads read by
 * their line-feed and colon masks give exactly the events of the line
 * states, whatever the block edges, odd bytes, line lengths, header
 * counts and piece boundaries; and the walk never reads outside the
 * caller's buffer (inputs flush against a PROT_NONE page, after them and
 * before them). Every test runs each way of making the masks this build
 * has: AVX2 and SSE2 here, and the portable C of the same sources in
 * test_http_index_portable (built with -U__SSE2__). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http.h"
#include "http_internal.h"

/* ---- inputs against a PROT_NONE page ---- */

#define ARENA (1 << 17)

/* n bytes copied flush against a PROT_NONE page: after the last byte
 * (before = 0) or before the first (before = 1). Valid until the next call. */
static const char *guarded(const char *src, size_t n, int before)
{
	static char *arena;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (!arena) {
		arena = mmap(NULL, ARENA + 2 * page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		cr_assert_neq(arena, MAP_FAILED);
		cr_assert_eq(mprotect(arena, page, PROT_NONE), 0);
		cr_assert_eq(mprotect(arena + page + ARENA, page, PROT_NONE), 0);
	}
	cr_assert_leq(n, ARENA);
	char *dst = before ? arena + page : arena + page + ARENA - n;
	memcpy(dst, src, n);
	return dst;
}

/* ---- events as text ---- */

struct text {
	char s[1 << 16];
	size_t k;
	uint64_t body; /* body bytes not written yet: slices may be cut anywhere */
	unsigned heads;
};

#define EMIT(t, ...)                                                                           \
	((t)->k += (size_t)snprintf((t)->s + (t)->k, (t)->k < sizeof (t)->s ? sizeof (t)->s - (t)->k \
									      : 0,                       \
				    __VA_ARGS__))

static void flush_body(struct text *t)
{
	if (t->body)
		EMIT(t, "b%llu|", (unsigned long long)t->body);
	t->body = 0;
}

/* An event as the line events it stands for. */
static void text_event(struct text *t, const struct http_event *ev)
{
	if (ev->type == HTTP_EV_BODY) {
		t->body += ev->a_len;
		if (ev->last) {
			flush_body(t);
			EMIT(t, "M|");
		}
		return;
	}
	flush_body(t);
	switch (ev->type) {
	case HTTP_EV_HEAD:
		t->heads++;
		EMIT(t, "B|");
		__attribute__((fallthrough));
	case HTTP_EV_START_LINE:
		EMIT(t, "S%.*s %.*s %u %u %d|", (int)ev->a_len, ev->a ? ev->a : "", (int)ev->b_len,
		     ev->b ? ev->b : "", ev->status, ev->minor, ev->truncated);
		for (unsigned i = 0; ev->type == HTTP_EV_HEAD && i < ev->n_fields; i++)
			EMIT(t, "H%.*s=%.*s 0|", (int)ev->field[i].name_len, ev->field[i].name,
			     (int)ev->field[i].value_len, ev->field[i].value);
		if (ev->type == HTTP_EV_HEAD)
			EMIT(t, "E|");
		break;
	case HTTP_EV_HEADER:
		EMIT(t, "H%.*s=%.*s %d|", (int)ev->a_len, ev->a, (int)ev->b_len, ev->b, ev->truncated);
		break;
	default:
		EMIT(t, "%c|", "PBSHEbMX"[ev->type < 8 ? ev->type : 7]);
	}
}

/* The events of msg fed in pieces: cut at `cut` (0: none) and then in
 * pieces of `step` bytes (0: the rest at once); each piece flush against
 * a guard page (after it, or before it). whole: http_whole. */
static void run(struct text *t, enum http_kind kind, const char *msg, size_t n, uint64_t names,
		int whole, size_t cut, size_t step, int before)
{
	struct http_parser p;
	memset(t, 0, sizeof *t);
	http_init(&p, kind);
	http_want(&p, names);
	if (whole)
		http_whole(&p, names);
	for (size_t at = 0; at < n;) {
		size_t k = cut && at < cut ? cut - at : step && step < n - at ? step : n - at;
		const char *piece = guarded(msg + at, k, before);
		for (size_t left = k;;) {
			struct http_event ev;
			size_t used = http_next(&p, piece, left, &ev);
			cr_assert_leq(used, left);
			piece += used;
			left -= used;
			if (ev.type == HTTP_EV_PARTIAL)
				break;
			text_event(t, &ev);
		}
		at += k;
	}
	flush_body(t);
	cr_assert_lt(t->k, sizeof t->s, "event text fits");
}

static const uint64_t some = HTTP_WANT_NAME(4, 'h') | HTTP_WANT_NAME(12, 'c') |
			     HTTP_WANT_NAME(3, 'x') | HTTP_WANT_NAME(10, 'u');
static const uint64_t wants[] = {HTTP_WANT_NAME(4, 'h') | HTTP_WANT_NAME(12, 'c') |
					 HTTP_WANT_NAME(3, 'x') | HTTP_WANT_NAME(10, 'u'),
				 HTTP_WANT_ALL, 0};

/* The variants this build has (http_index_variant): 1, and 2 where the
 * CPU has AVX2. */
static int variants(void)
{
#ifdef HIDX_AVX2
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") ? 2 : 1;
#else
	return 1;
#endif
}

/*
 * msg framed every way must give the events of the line states fed a byte
 * at a time (no line is ever whole in a piece, so no fast road is taken):
 * whole in one piece, line by line (http_head_lines) and as whole heads
 * (http_head_fields), cut at `cut`, against a guard page after the input
 * and before it, with each variant of the masks. Returns how many whole
 * heads the uncut run gave (the index was really used).
 */
static unsigned agree(enum http_kind kind, const char *msg, size_t n, uint64_t names, size_t cut)
{
	static struct text ref, t;
	unsigned heads = 0;
	http_index_variant(1);
	run(&ref, kind, msg, n, names, 0, 0, 1, 0);
	cr_assert_eq(ref.heads, 0);
	for (int v = 1; v <= variants(); v++) {
		http_index_variant(v);
		for (int before = 0; before < 2; before++) {
			for (int whole = 0; whole < 2; whole++) {
				run(&t, kind, msg, n, names, whole, 0, 0, before);
				cr_assert_str_eq(t.s, ref.s, "v%d whole %d before %d:\n%.300s", v,
						 whole, before, msg);
				heads += t.heads;
				if (!cut)
					continue;
				run(&t, kind, msg, n, names, whole, cut, 0, before);
				cr_assert_str_eq(t.s, ref.s, "v%d whole %d cut %zu:\n%.300s", v, whole,
						 cut, msg);
			}
		}
	}
	http_index_variant(0);
	return heads;
}

/* A request head of header lines of the given lengths (CRLF included),
 * then a 3-byte body; returns its length. Names alternate among wanted
 * and skipped ones. */
static size_t head_of(char *out, const unsigned *lens, unsigned n_lines, int bare_lf)
{
	static const char *const names[] = {"X-Skipped-Name", "Host", "Content-Type", "Accept",
					    "X-A", "User-Agent", "A"};
	size_t k = (size_t)sprintf(out, "POST /v1/chat/completions HTTP/1.1\r\n");
	for (unsigned i = 0; i < n_lines; i++) {
		const char *name = names[i % 7];
		size_t nl = strlen(name), eol = bare_lf ? 1 : 2;
		size_t want = lens[i] > nl + 1 + eol ? lens[i] : nl + 1 + eol;
		k += (size_t)sprintf(out + k, "%s:", name);
		for (size_t j = nl + 1; j < want - eol; j++)
			out[k++] = (char)(j == nl + 1 ? ' ' : 'a' + j % 26);
		k += (size_t)sprintf(out + k, bare_lf ? "\n" : "\r\n");
	}
	k += (size_t)sprintf(out + k, "Content-Length: 3\r\n\r\nabc");
	return k;
}

/* Line ends on every byte of a 64-byte block (and so of 16 and 32), the
 * head cut on every byte around them too. */
Test(http_index, line_ends_straddle_blocks_and_pieces)
{
	static char msg[1 << 14];
	unsigned heads = 0, runs = 0;
	for (unsigned shift = 0; shift < 64; shift++) {
		for (int lf = 0; lf < 2; lf++) {
			/* the first line moves the others across the block edges */
			unsigned lens[12] = {8 + shift, 30, 31, 32, 33, 63, 64, 65, 14, 17, 9, 96};
			size_t n = head_of(msg, lens, 12, lf);
			size_t cut = 36 + 64 + shift % 64; /* one cut per shape: every offset */
			heads += agree(HTTP_REQUEST, msg, n, some, cut);
			runs++;
		}
	}
	cr_assert_geq(heads, runs * 2 * (unsigned)variants(), "whole heads came (%u, %u runs)", heads,
		      runs);
	/* every cut of one head: lines straddling each piece boundary */
	unsigned lens[6] = {40, 64, 23, 65, 70, 12};
	size_t n = head_of(msg, lens, 6, 0);
	for (size_t cut = 1; cut < n; cut++)
		agree(HTTP_REQUEST, msg, n, some, cut);
}

/* Each odd byte in every position of a head's first 3 blocks: the same
 * events as the line states (an error, a folded line, a name with a
 * space, a bare CR...). */
Test(http_index, odd_bytes_in_every_position)
{
	static const unsigned char odd[] = {' ', '\t', '\r', '\n', ':', 0x00, 0x01, 0x7f, 0x80,
					    0xff, 'A'};
	static char base[1024], msg[1024];
	unsigned lens[8] = {20, 33, 18, 40, 25, 30, 27, 22};
	size_t n = head_of(base, lens, 8, 0);
	unsigned heads = 0;
	for (size_t at = 36; at < 36 + 192 && at < n - 8; at++) {
		for (size_t o = 0; o < sizeof odd; o++) {
			memcpy(msg, base, n);
			msg[at] = (char)odd[o];
			for (size_t w = 0; w < sizeof wants / sizeof *wants; w++)
				heads += agree(HTTP_REQUEST, msg, n, wants[w], at + 1);
		}
	}
	cr_assert_gt(heads, 1000, "most still came whole (%u)", heads);
}

/* The header cap read by the index: 128 lines pass and 129 fail, lines
 * wanted or not, whole heads or line by line, cut or not. */
Test(http_index, header_cap)
{
	static char msg[1 << 13];
	for (int lines = 126; lines <= 131; lines++) {
		for (int where = 0; where < 3; where++) {
			int k = sprintf(msg, "GET / HTTP/1.1\r\n");
			for (int i = 0; i < lines; i++)
				k += sprintf(msg + k, "%s: %d\r\n",
					     (where == 0 && i == 0) || (where == 1 && i == lines - 1)
						     ? "Host"
						     : "X-Header-Number",
					     i);
			k += sprintf(msg + k, "\r\n");
			for (size_t w = 0; w < sizeof wants / sizeof *wants; w++)
				agree(HTTP_REQUEST, msg, (size_t)k, wants[w], (size_t)k / 2);
			/* (all names wanted: more than a head's fields, never whole) */
			static struct text t;
			run(&t, HTTP_REQUEST, msg, (size_t)k, some, 1, 0, 0, 0);
			int over = lines > HTTP_MAX_HEADERS;
			cr_assert_eq(t.heads, (unsigned)!over, "%d lines: whole", lines);
			cr_assert_eq(strstr(t.s, "X|") != NULL, over, "%d lines: %s", lines,
				     t.s + strlen(t.s) - 20);
		}
	}
}

/* Lines of every length around the kept head (256) and the longest line
 * (HTTP_MAX_LINE), with the colon early or late, wanted or not. */
Test(http_index, long_lines)
{
	static char msg[1 << 16];
	static const size_t lens[] = {250, 254, 255, 256, 257, 258, 259, 300, 16380, 16383, 16384,
				      16385, 16386, 16390};
	static const char *const names[] = {"X-Skipped", "Host"};
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		for (int shape = 0; shape < 8; shape++) {
			/* late: the name is the line but its last 4 bytes; a bare LF
			 * or CRLF (the line is lens[i] bytes without its LF) */
			int late = shape & 1, nm = shape >> 1 & 1, lf = shape >> 2;
			size_t name = late ? lens[i] - 4 : strlen(names[nm]);
			int k = sprintf(msg, "GET / HTTP/1.1\r\nX-First: 1\r\n");
			size_t start = (size_t)k;
			for (size_t j = 0; j < name; j++)
				msg[k++] = late ? 'n' : names[nm][j];
			k += sprintf(msg + k, ":");
			while ((size_t)k < start + lens[i] - !lf)
				msg[k++] = 'v';
			k += sprintf(msg + k, lf ? "\nHost: h\r\n\r\n" : "\r\nHost: h\r\n\r\n");
			agree(HTTP_REQUEST, msg, (size_t)k, some, 40);
		}
	}
}

/* Heads whose end falls exactly on a block multiple (and one byte on
 * either side), the buffer ending with the head: the last block is read
 * from the 64 bytes that end the buffer, or from a copy when the buffer
 * is shorter, never past it nor before it. */
Test(http_index, heads_at_block_multiples)
{
	static char msg[1024];
	unsigned cases = 0;
	for (size_t total = 20; total <= 64 * 6 + 2; total++) {
		for (int resp = 0; resp < 2; resp++) {
			int k = sprintf(msg, resp ? "HTTP/1.1 204 No Content\r\n" : "GET / HTTP/1.1\r\n");
			if ((size_t)k + 4 > total)
				continue;
			/* pad with one skipped line, then a wanted one when room */
			size_t room = total - (size_t)k - 2;
			if (room >= 12 + 9) {
				k += sprintf(msg + k, "Host: h\r\n");
				room -= 9;
			}
			if (room >= 6) {
				k += sprintf(msg + k, "X-P:");
				for (size_t j = 0; j < room - 6; j++)
					msg[k++] = 'p';
				k += sprintf(msg + k, "\r\n");
			}
			k += sprintf(msg + k, "\r\n");
			agree(resp ? HTTP_RESPONSE : HTTP_REQUEST, msg, (size_t)k, some,
			      (size_t)k - 1);
			cases++;
		}
	}
	cr_assert_gt(cases, 700);
}

/* The SDK's head and nginx's answer, cut everywhere: the shapes the
 * bench counts come whole and agree. */
Test(http_index, reference_heads_cut_everywhere)
{
	static const char req[] =
		"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
		"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"
		"Accept: application/json\r\nContent-Type: application/json\r\n"
		"User-Agent: OpenAI/Python 1.54.4\r\nX-Stainless-Lang: python\r\n"
		"X-Stainless-Package-Version: 1.54.4\r\nX-Stainless-OS: Linux\r\n"
		"Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789abcdef\r\n"
		"x-stainless-retry-count: 0\r\nContent-Length: 4\r\n\r\n{}{}";
	static const char resp[] = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
				   "Date: Sun, 06 Dec 2026 04:00:00 GMT\r\n"
				   "Content-Type: application/json\r\nContent-Length: 2\r\n"
				   "Connection: keep-alive\r\n\r\n{}";
	unsigned heads = 0;
	for (size_t cut = 0; cut < sizeof req - 1; cut++)
		heads += agree(HTTP_REQUEST, req, sizeof req - 1, some, cut);
	for (size_t cut = 0; cut < sizeof resp - 1; cut++)
		heads += agree(HTTP_RESPONSE, resp, sizeof resp - 1, some, cut);
	cr_assert_geq(heads, (unsigned)(sizeof req + sizeof resp - 2) * 2);
}

/* The portable build really is: no SSE2 masks compiled in (CMake builds
 * test_http_index_portable with -U__SSE2__ and HIDX_TEST_PORTABLE). */
#include "scan_internal.h"
Test(http_index, masks_of_this_build)
{
#ifdef HIDX_TEST_PORTABLE
#ifdef SCAN_SSE2
	cr_assert_fail("the portable build has SSE2 masks");
#endif
	cr_assert_eq(variants(), 1);
#else
#ifndef SCAN_SSE2
	cr_assert_fail("this build has no SSE2 masks");
#endif
#endif
}

/* Start lines of every length around a block (the head's first block
 * holds its start line, or the walk finds its end by a search) and past
 * the kept head, a few odd ones among them; requests and responses. */
Test(http_index, start_lines_of_every_length)
{
	static char msg[1024];
	unsigned heads = 0;
	for (int len = 10; len <= 300; len++) {
		for (int shape = 0; shape < 4; shape++) {
			int k;
			if (shape & 1) { /* a status line with a long reason */
				k = sprintf(msg, "HTTP/1.1 200 ");
				for (; k < len; k++)
					msg[k] = shape & 2 ? (k % 7 ? 'r' : ' ') : 'R';
			} else { /* a request line: the target's length varies */
				k = sprintf(msg, "POST /");
				for (; k < len - 9; k++)
					msg[k] = shape & 2 ? (k % 9 ? 't' : ':') : 'u';
				k += sprintf(msg + k, " HTTP/1.1");
			}
			k += sprintf(msg + k, "\r\nHost: h\r\nContent-Length: 2\r\n\r\nok");
			heads += agree(shape & 1 ? HTTP_RESPONSE : HTTP_REQUEST, msg, (size_t)k, some,
				       (size_t)len + 1);
		}
	}
	cr_assert_gt(heads, 1500 * (unsigned)variants(), "most came whole (%u)", heads);
}
