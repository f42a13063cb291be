/*
 * fuzz_httpd_parse.c - libFuzzer target for tokenringd's HTTP request-head
 * parser (aggregator/httpd_parse.c), which reads bytes from any client that
 * can reach the metrics port.
 *
 * Checks, beyond "no crash, no out-of-bounds read" (ASan, UBSan):
 *  - the result is a head length in (0, len] or one of the documented codes;
 *  - an accepted head: method and path lie inside it, the body is bounded
 *    (HTTPD_MAX_BODY), the head is at most 64 + HTTPD_MAX_HEAD bytes and
 *    ends with CRLF CRLF;
 *  - resumability: every strict prefix of an accepted head is PARTIAL, and
 *    parsing the head plus any trailing bytes gives the same request;
 *  - meaning: an accepted request's method and path are the ones the
 *    request line names (an independent reading of the line: up to the
 *    first space, then up to the next space or '?'), and a request built
 *    from a method and a path taken from the input parses back to exactly
 *    that method and path;
 *  - the response head formatter terminates its head for every status.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "strbuf.h"

#define CHECK(c)                  \
	do {                      \
		if (!(c))         \
			abort(); \
	} while (0)

static void check_accepted(const char *buf, size_t len, int rc, const struct httpd_req *q)
{
	size_t h = (size_t)rc;
	CHECK(h <= len && h == q->head_len);
	CHECK(h >= 4 && memcmp(buf + h - 4, "\r\n\r\n", 4) == 0);
	CHECK(h <= 64 + HTTPD_MAX_HEAD);
	CHECK(q->method >= buf && q->method + q->method_len <= buf + h && q->method_len > 0);
	CHECK(q->path >= buf && q->path + q->path_len <= buf + h);
	CHECK(q->minor_version >= 0 && q->minor_version <= 9);
	CHECK(q->content_length <= HTTPD_MAX_BODY);
	/* strict prefixes: need more bytes */
	size_t cuts[3] = {h - 1, h / 2, h > 2 ? (size_t)(buf[0] & 0x7f) % (h - 1) : 0};
	for (int i = 0; i < 3; i++) {
		struct httpd_req p;
		char *copy = malloc(cuts[i] + 1);
		memcpy(copy, buf, cuts[i]);
		CHECK(httpd_parse_request(copy, cuts[i], &p) == HTTPD_PARTIAL);
		free(copy);
	}
}

/* The request line read independently of the parser: method and path as
 * byte ranges of buf. */
static void check_request_line(const char *buf, size_t h, const struct httpd_req *q)
{
	size_t at = 0;
	while (buf[at] == '\r' || buf[at] == '\n')
		at++;
	const char *line = buf + at;
	const char *eol = memmem(line, h - at, "\r\n", 2);
	CHECK(eol != NULL);
	const char *sp = memchr(line, ' ', (size_t)(eol - line));
	CHECK(sp != NULL);
	const char *sp2 = memchr(sp + 1, ' ', (size_t)(eol - sp - 1));
	CHECK(sp2 != NULL);
	const char *qm = memchr(sp + 1, '?', (size_t)(sp2 - sp - 1));
	const char *pend = qm ? qm : sp2;
	CHECK(q->method == line && q->method_len == (size_t)(sp - line));
	CHECK(q->path == sp + 1 && q->path_len == (size_t)(pend - sp - 1));
}

/* A request made of a method and a path drawn from the input: the parser
 * must give back exactly those. */
static void check_built_request(const uint8_t *data, size_t size)
{
	static const char tchars[] = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
				     "klmnopqrstuvwxyz";
	char method[16], path[64], req[160];
	size_t ml = 1 + (size ? data[0] % (sizeof method - 1) : 0), pl = 0;
	for (size_t i = 0; i < ml; i++)
		method[i] = tchars[(i + 1 < size ? data[i + 1] : i) % (sizeof tchars - 1)];
	path[pl++] = '/';
	for (size_t i = ml + 1; i < size && pl < sizeof path; i++)
		if (data[i] > 0x20 && data[i] < 0x7f && data[i] != '?')
			path[pl++] = (char)data[i];
	int n = snprintf(req, sizeof req, "%.*s %.*s?x=1 HTTP/1.1\r\nHost: h\r\n\r\n", (int)ml,
			 method, (int)pl, path);
	struct httpd_req q;
	CHECK(httpd_parse_request(req, (size_t)n, &q) == n);
	CHECK(q.method_len == ml && memcmp(q.method, method, ml) == 0);
	CHECK(q.path_len == pl && memcmp(q.path, path, pl) == 0);
	CHECK(q.keep_alive && q.minor_version == 1 && q.content_length == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct httpd_req q;
	memset(&q, 0, sizeof q);
	int rc = httpd_parse_request(buf, size, &q);
	CHECK(rc > 0 || rc == HTTPD_PARTIAL || rc == HTTPD_BAD || rc == HTTPD_BODY_TOO_LARGE ||
	      rc == HTTPD_HEAD_TOO_LARGE || rc == HTTPD_BAD_VERSION);
	if (rc > 0) {
		check_accepted(buf, size, rc, &q);
		check_request_line(buf, (size_t)rc, &q);
		/* the head alone parses to the same request */
		struct httpd_req again;
		char *head = malloc((size_t)rc);
		memcpy(head, buf, (size_t)rc);
		CHECK(httpd_parse_request(head, (size_t)rc, &again) == rc);
		CHECK(again.method_len == q.method_len && again.path_len == q.path_len &&
		      again.content_length == q.content_length && again.keep_alive == q.keep_alive &&
		      again.minor_version == q.minor_version);
		CHECK(again.method - head == q.method - buf && again.path - head == q.path - buf);
		free(head);
		(void)httpd_method_is(&q, "GET");
		(void)httpd_path_is(&q, "/metrics");
	} else if (rc == HTTPD_PARTIAL) {
		CHECK(size < 64 + HTTPD_MAX_HEAD + 4);
	}
	check_built_request(data, size);
	/* response heads: always terminated, whatever the status */
	struct strbuf out;
	strbuf_init(&out);
	int status = size >= 2 ? (int)(data[0] | (data[1] << 8)) % 1000 : 200;
	CHECK(httpd_format_head(&out, status, "text/plain", size, size & 1, size & 2 ? "GET" : NULL,
				size & 4 ? "1" : NULL) == 0);
	CHECK(out.len >= 4 && memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);
	CHECK(httpd_reason(status) != NULL);
	strbuf_free(&out);
	return 0;
}
