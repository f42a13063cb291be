/* test_garbage.c - malformed input never crashes or over-reads: it marks the
 * exchange REC_F_PARSE_ERROR, stops parsing and keeps counting bytes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "test_support.h"

static struct conn_config cfg_all = {.http_all = 1};

/* Feed a request (and maybe a response), close, return the records. */
static struct collect run(const char *rq, size_t rqlen, const char *rs, size_t rslen)
{
	struct conn c;
	struct collect out = {0};
	conn_init(&c, CONN_ROLE_CLIENT);
	feed_pieces(&c, &cfg_all, CONN_DIR_OUT, rq, rqlen, 0, 0, 1, &out);
	if (rs)
		feed_pieces(&c, &cfg_all, CONN_DIR_IN, rs, rslen, 0, 0, 2, &out);
	conn_close(&c, &cfg_all, 3, collect_emit, &out);
	return out;
}

static void expect_error(const char *rq, size_t rqlen, const char *rs, size_t rslen)
{
	struct collect out = run(rq, rqlen, rs, rslen);
	cr_assert_eq(out.n, 1, "%u records", out.n);
	cr_expect(out.rec[0].flags & REC_F_PARSE_ERROR, "flags %#x", out.rec[0].flags);
	cr_expect_eq(out.rec[0].req_bytes, rqlen, "every request byte counted");
	if (rs)
		cr_expect_eq(out.rec[0].resp_bytes, rslen, "every response byte counted");
}

#define S(x) x, sizeof(x) - 1

Test(garbage, binary_after_an_upper_case_byte)
{
	static const char bin[] = "G\x00\xff\xfe\x01\r\n\r\n\x80\x81";
	expect_error(S(bin), NULL, 0);
}

Test(garbage, http_0_9_request_line)
{
	expect_error(S("GET /\r\n\r\n"), NULL, 0);
}

Test(garbage, http_2_preface)
{
	expect_error(S("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), NULL, 0);
}

Test(garbage, header_line_of_100_kib)
{
	size_t n = 100 * 1024;
	char *rq = malloc(n + 64);
	int k = sprintf(rq, "GET / HTTP/1.1\r\nX-Big: ");
	memset(rq + k, 'a', n - (size_t)k - 4);
	memcpy(rq + n - 4, "\r\n\r\n", 4);
	expect_error(rq, n, NULL, 0);
	/* and in 1-byte feeds */
	struct conn c;
	struct collect out = {0};
	conn_init(&c, CONN_ROLE_CLIENT);
	feed_pieces(&c, &cfg_all, CONN_DIR_OUT, rq, n, 0, 1, 1, &out);
	conn_close(&c, &cfg_all, 2, collect_emit, &out);
	cr_assert_eq(out.n, 1);
	cr_expect(out.rec[0].flags & REC_F_PARSE_ERROR);
	cr_expect_eq(out.rec[0].req_bytes, n);
	free(rq);
}

Test(garbage, too_many_headers)
{
	char rq[8192];
	int k = sprintf(rq, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 200; i++)
		k += sprintf(rq + k, "X-H%d: v\r\n", i);
	k += sprintf(rq + k, "\r\n");
	expect_error(rq, (size_t)k, NULL, 0);
}

Test(garbage, negative_content_length)
{
	expect_error(S("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\nabc"), NULL, 0);
}

Test(garbage, huge_content_length)
{
	expect_error(S("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"), NULL, 0);
}

Test(garbage, conflicting_content_lengths)
{
	expect_error(S("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"), NULL, 0);
}

#define REQ "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
#define CHUNKED "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

Test(garbage, chunk_size_not_hex)
{
	expect_error(S(REQ), S(CHUNKED "zz\r\nabc\r\n0\r\n\r\n"));
}

Test(garbage, chunk_size_too_long)
{
	expect_error(S(REQ), S(CHUNKED "10000000000000000\r\nabc"));
}

Test(garbage, chunk_data_without_crlf)
{
	expect_error(S(REQ), S(CHUNKED "3\r\nabcdef\r\n0\r\n\r\n"));
}

Test(garbage, status_line_without_code)
{
	expect_error(S(REQ), S("HTTP/1.1 abc\r\n\r\n"));
}

Test(garbage, unsolicited_response_after_an_exchange)
{
	struct conn c;
	struct collect out = {0};
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	conn_init(&c, CONN_ROLE_CLIENT);
	conn_feed(&c, &cfg_all, CONN_DIR_OUT, REQ, strlen(REQ), 1, collect_emit, &out);
	conn_feed(&c, &cfg_all, CONN_DIR_IN, ok, strlen(ok), 2, collect_emit, &out);
	conn_feed(&c, &cfg_all, CONN_DIR_IN, ok, strlen(ok), 3, collect_emit, &out);
	cr_expect_eq(out.n, 1);
	cr_expect_eq(out.rec[0].flags & REC_F_PARSE_ERROR, 0);
	conn_feed(&c, &cfg_all, CONN_DIR_OUT, REQ, strlen(REQ), 4, collect_emit, &out);
	conn_close(&c, &cfg_all, 5, collect_emit, &out);
	cr_expect_eq(out.n, 1, "a dead connection makes no new exchanges");
}

Test(garbage, broken_json_body_flags_but_http_goes_on)
{
	const char *rq = "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"model\":]}x";
	const char *rs = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
	struct conn c;
	struct collect out = {0};
	conn_init(&c, CONN_ROLE_CLIENT);
	conn_feed(&c, &cfg_all, CONN_DIR_OUT, rq, strlen(rq), 1, collect_emit, &out);
	conn_feed(&c, &cfg_all, CONN_DIR_IN, rs, strlen(rs), 2, collect_emit, &out);
	cr_assert_eq(out.n, 1);
	cr_expect_eq(out.rec[0].flags & (REC_F_PARSE_ERROR | REC_F_LLM), REC_F_PARSE_ERROR | REC_F_LLM);
	cr_expect_eq(out.rec[0].status, 200);
	cr_expect_eq(out.rec[0].usage_status, REC_USAGE_MISSING);
}

Test(garbage, html_error_page_is_not_a_json_error)
{
	const char *rs = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 14\r\n\r\n<html>x</html>";
	struct collect out = run(S("POST /v1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"), rs, strlen(rs));
	cr_assert_eq(out.n, 1);
	cr_expect_eq(out.rec[0].flags & REC_F_PARSE_ERROR, 0);
	cr_expect_eq(out.rec[0].status, 502);
}

/* xorshift: deterministic noise. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

Test(garbage, random_bytes_both_directions_no_crash, .timeout = 60)
{
	static const char *const frags[] = {"GET / HTTP/1.1\r\n", "HTTP/1.1 200 OK\r\n", "\r\n",
					    "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n",
					    "5\r\n", "data: {\"usage\":{", "\"prompt_tokens\":7", "}}\n\n",
					    "[{\"a\":\"\\\\\\\"\"}]", "\xff\x00"};
	uint32_t seed = 12345;
	char buf[512];
	for (int iter = 0; iter < 4000; iter++) {
		struct conn c;
		struct collect out = {0};
		conn_init(&c, (enum conn_role)(iter % 3));
		for (int m = 0; m < 12; m++) {
			size_t n = 0;
			while (n < 400) {
				const char *f = frags[rnd(&seed) % (sizeof frags / sizeof *frags)];
				size_t fl = strlen(f) ? strlen(f) : 1;
				memcpy(buf + n, f, fl);
				n += fl;
				if (rnd(&seed) % 4 == 0)
					buf[n++] = (char)rnd(&seed);
			}
			conn_feed(&c, &cfg_all, (enum conn_dir)(rnd(&seed) & 1), guard_copy(buf, n), n,
				  (uint64_t)m, collect_emit, &out);
		}
		conn_close(&c, &cfg_all, 99, collect_emit, &out);
		for (unsigned i = 0; i < out.n && i < MAX_RECS; i++) {
			cr_assert_lt(strnlen(out.rec[i].path, REC_PATH_LEN), REC_PATH_LEN);
			cr_assert_lt(strnlen(out.rec[i].response_model, REC_MODEL_LEN), REC_MODEL_LEN);
			cr_assert_leq(out.rec[i].usage_status, REC_USAGE_INTERRUPTED);
		}
	}
}

/* A request whose X-Pad header line is exactly `line` bytes before CRLF. */
static struct collect padded(size_t line)
{
	static char rq[HTTP_MAX_LINE + 256];
	int k = sprintf(rq, "GET / HTTP/1.1\r\n");
	int h = sprintf(rq + k, "X-Pad: ");
	memset(rq + k + h, 'p', line - (size_t)h);
	k += (int)line;
	k += sprintf(rq + k, "\r\n\r\n");
	return run(rq, (size_t)k, "HTTP/1.1 204 No Content\r\n\r\n", 27);
}

Test(garbage, header_line_cap_is_exact)
{
	struct collect ok = padded(HTTP_MAX_LINE - 1);
	cr_assert_eq(ok.n, 1);
	cr_expect_eq(ok.rec[0].flags & REC_F_PARSE_ERROR, 0, "CR included, the line fits");
	cr_expect_eq(ok.rec[0].status, 204);
	struct collect bad = padded(HTTP_MAX_LINE);
	cr_assert_eq(bad.n, 1);
	cr_expect(bad.rec[0].flags & REC_F_PARSE_ERROR);
}

Test(garbage, long_values_are_cut_and_flagged)
{
	char rq[2048], ua[600], host[300], rid[100];
	memset(ua, 'u', sizeof ua - 1);
	ua[sizeof ua - 1] = 0;
	memset(host, 'h', sizeof host - 1);
	host[sizeof host - 1] = 0;
	memset(rid, 'r', sizeof rid - 1);
	rid[sizeof rid - 1] = 0;
	int k = snprintf(rq, sizeof rq, "GET / HTTP/1.1\r\nUser-Agent: %s\r\nHost: %s\r\nX-Request-Id: %s\r\n\r\n",
			 ua, host, rid);
	struct collect out = run(rq, (size_t)k, "HTTP/1.1 204 No Content\r\n\r\n", 27);
	cr_assert_eq(out.n, 1);
	const struct tr_record *r = &out.rec[0];
	uint32_t want = REC_F_TRUNC_USER_AGENT | REC_F_TRUNC_AUTHORITY | REC_F_TRUNC_REQUEST_ID;
	cr_expect_eq(r->flags & (want | REC_F_PARSE_ERROR), want);
	cr_expect_eq(strlen(r->user_agent), REC_USER_AGENT_LEN - 1);
	cr_expect_eq(strlen(r->authority), REC_AUTHORITY_LEN - 1);
	cr_expect_eq(strlen(r->request_id), REC_REQUEST_ID_LEN - 1);
	cr_expect_eq(r->flags & REC_F_REQUEST_ID_GENERATED, 0);
}
