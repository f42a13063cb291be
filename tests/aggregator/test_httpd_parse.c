/* test_httpd_parse.c - tokenringd's request-head parser: complete heads at
 * any split, keep-alive rules, and the 400/413/431/505 refusals; inputs sit
 * flush against a PROT_NONE page so an over-read crashes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "httpd.h"

/* Copy s to the end of a page followed by a PROT_NONE page. */
static const char *guarded(const char *s, size_t n)
{
	static char *map;
	static size_t pages;
	long pg = sysconf(_SC_PAGESIZE);
	size_t need = (n + (size_t)pg - 1) / (size_t)pg + 1;
	if (map)
		munmap(map, pages * (size_t)pg);
	pages = need;
	map = mmap(NULL, pages * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	cr_assert(map != MAP_FAILED);
	char *guard = map + (pages - 1) * (size_t)pg;
	cr_assert_eq(mprotect(guard, (size_t)pg, PROT_NONE), 0);
	memcpy(guard - n, s, n);
	return guard - n;
}

static int parse(const char *s, struct httpd_req *req)
{
	return httpd_parse_request(guarded(s, strlen(s)), strlen(s), req);
}

Test(httpd_parse, simple_get)
{
	struct httpd_req r;
	const char *s = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
	cr_assert_eq(parse(s, &r), (int)strlen(s));
	cr_assert(httpd_method_is(&r, "GET"));
	cr_assert(httpd_path_is(&r, "/metrics"));
	cr_assert_eq(r.minor_version, 1);
	cr_assert(r.keep_alive);
	cr_assert_eq(r.content_length, 0);
}

Test(httpd_parse, every_split_is_partial_until_complete)
{
	struct httpd_req r;
	const char *s = "GET /healthz HTTP/1.1\r\nHost: localhost:9464\r\nUser-Agent: t\r\n\r\n";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(httpd_parse_request(guarded(s, i), i, &r), HTTPD_PARTIAL, "at %zu", i);
	cr_assert_eq(httpd_parse_request(guarded(s, n), n, &r), (int)n);
}

Test(httpd_parse, keep_alive_rules)
{
	struct httpd_req r;
	cr_assert_gt(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &r), 0);
	cr_assert_not(r.keep_alive);
	cr_assert_gt(parse("GET / HTTP/1.0\r\n\r\n", &r), 0);
	cr_assert_not(r.keep_alive);
	cr_assert_gt(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), 0);
	cr_assert(r.keep_alive);
	cr_assert_gt(parse("GET / HTTP/1.1\r\nConnection: upgrade, CLOSE\r\n\r\n", &r), 0);
	cr_assert_not(r.keep_alive);
}

Test(httpd_parse, body_length_and_pipelining)
{
	struct httpd_req r;
	const char *s = "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
	int rc = parse(s, &r);
	cr_assert_eq(rc, (int)(strstr(s, "hello") - s));
	cr_assert_eq(r.content_length, 5);
}

Test(httpd_parse, leading_empty_lines_are_skipped)
{
	struct httpd_req r;
	const char *s = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	cr_assert_eq(parse(s, &r), (int)strlen(s));
	cr_assert(httpd_path_is(&r, "/"));
}

Test(httpd_parse, refusals)
{
	struct httpd_req r;
	cr_assert_eq(parse("GARBAGE\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("GET  / HTTP/1.1\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("GET / HTTP/1.1 x\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("G(T / HTTP/1.1\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("GET /\x01 HTTP/1.1\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("GET / HTTP/2.0\r\n\r\n", &r), HTTPD_BAD_VERSION);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nBad Name: b\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &r),
		     HTTPD_BAD);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), HTTPD_BAD);
	cr_assert_eq(parse("POST / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", &r),
		     HTTPD_BODY_TOO_LARGE);
	cr_assert_eq(parse("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", &r),
		     HTTPD_BODY_TOO_LARGE);
}

Test(httpd_parse, oversized_heads_are_431)
{
	struct httpd_req r;
	static char big[HTTPD_MAX_HEAD + 64];
	strcpy(big, "GET / HTTP/1.1\r\nX-Big: ");
	size_t n = strlen(big);
	memset(big + n, 'a', sizeof big - n - 1);
	/* No end of head within the limit: 431 once the limit is reached. */
	cr_assert_eq(httpd_parse_request(guarded(big, HTTPD_MAX_HEAD - 1), HTTPD_MAX_HEAD - 1, &r),
		     HTTPD_PARTIAL);
	cr_assert_eq(httpd_parse_request(guarded(big, HTTPD_MAX_HEAD), HTTPD_MAX_HEAD, &r),
		     HTTPD_HEAD_TOO_LARGE);
	/* Too many header lines. */
	static char many[HTTPD_MAX_HEAD];
	size_t used = (size_t)sprintf(many, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTPD_MAX_HEADERS; i++)
		used += (size_t)sprintf(many + used, "H%d: v\r\n", i);
	used += (size_t)sprintf(many + used, "\r\n");
	cr_assert_eq(httpd_parse_request(guarded(many, used), used, &r), HTTPD_HEAD_TOO_LARGE);
}

Test(httpd_parse, response_head_format)
{
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(httpd_format_head(&b, 405, "text/plain", 3, false, "GET, HEAD", NULL), 0);
	cr_assert_str_eq(b.data, "HTTP/1.1 405 Method Not Allowed\r\nServer: tokenringd\r\n"
				 "Content-Type: text/plain\r\nContent-Length: 3\r\n"
				 "Cache-Control: no-store\r\nConnection: close\r\nAllow: GET, HEAD\r\n\r\n");
	strbuf_reset(&b);
	cr_assert_eq(httpd_format_head(&b, 503, "text/plain", 0, true, NULL, "1"), 0);
	cr_assert_str_eq(b.data, "HTTP/1.1 503 Service Unavailable\r\nServer: tokenringd\r\n"
				 "Content-Type: text/plain\r\nContent-Length: 0\r\n"
				 "Cache-Control: no-store\r\nRetry-After: 1\r\n\r\n");
	strbuf_free(&b);
}

/* Deterministic mutation run: byte flips, insertions and cuts of valid
 * requests, each parsed flush against the guard page. Any over-read
 * crashes; every result must be a documented one and stay in bounds. */
Test(httpd_parse, mutated_requests_stay_in_bounds)
{
	static const char *const seeds[] = {
		"GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
		"POST /x?y HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
		"HEAD /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	char buf[512];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int iter = 0; iter < 30000; iter++) {
		const char *seed = seeds[iter % 3];
		size_t n = strlen(seed);
		memcpy(buf, seed, n);
		for (int m = 0; m < 1 + iter % 4; m++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			size_t at = (size_t)(x >> 8) % (n + 1);
			if (x % 3 == 0 && at < n) { /* flip */
				buf[at] = (char)(x >> 32);
			} else if (x % 3 == 1 && n < sizeof buf - 1) { /* insert */
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = (char)(x >> 40);
				n++;
			} else if (x % 3 == 2) { /* cut */
				n = at;
			}
		}
		struct httpd_req r;
		const char *g = guarded(buf, n);
		int rc = httpd_parse_request(g, n, &r);
		cr_assert(rc == HTTPD_PARTIAL || rc == HTTPD_BAD || rc == HTTPD_BODY_TOO_LARGE ||
			  rc == HTTPD_HEAD_TOO_LARGE || rc == HTTPD_BAD_VERSION || rc > 0,
			  "rc %d", rc);
		if (rc > 0) {
			cr_assert_leq((size_t)rc, n);
			cr_assert(r.method >= g && r.method + r.method_len <= g + n);
			cr_assert(r.path >= g && r.path + r.path_len <= g + n);
			cr_assert_leq(r.content_length, HTTPD_MAX_BODY);
		}
	}
}
