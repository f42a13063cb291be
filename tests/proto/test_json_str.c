/* test_json_str.c - strings taken from a body are the text the client
 * meant: JSON escapes decoded (quotes, backslashes, \uXXXX, surrogate pairs
 * into UTF-8), invalid escapes as U+FFFD, bounded, and a value cut inside
 * an escape loses only that escape; end to end through llm_req_body and
 * llm_resp_body at every split of the body. */
#include <criterion/criterion.h>
#include <string.h>

#include "llm.h"

static void expect_text(const char *raw, const char *want)
{
	char out[JSCAN_VALUE_KEEP];
	size_t n = llm_json_str(out, sizeof out, raw, strlen(raw));
	cr_expect_eq(n, strlen(want), "%s: length %zu", raw, n);
	cr_expect(memcmp(out, want, n < strlen(want) ? n : strlen(want)) == 0, "%s", raw);
}

Test(json_str, plain_text_is_unchanged)
{
	expect_text("gpt-4o-mini", "gpt-4o-mini");
	expect_text("", "");
}

Test(json_str, simple_escapes)
{
	expect_text("a\\\"b", "a\"b");
	expect_text("a\\\\b", "a\\b");
	expect_text("a\\/b\\n\\t\\r\\b\\f", "a/b\n\t\r\b\f");
}

Test(json_str, unicode_escapes_become_utf8)
{
	expect_text("\\u00e9\\u4e2d", "\xc3\xa9\xe4\xb8\xad"); /* é中 as Python sends it */
	expect_text("\\u0041\\u00E9", "A\xc3\xa9");
	expect_text("\\ud83d\\ude00", "\xf0\x9f\x98\x80"); /* a surrogate pair: U+1F600 */
}

Test(json_str, invalid_escapes_are_replacement_characters)
{
	expect_text("a\\qb", "a\xef\xbf\xbd" "b");
	expect_text("\\u12G4x", "\xef\xbf\xbd" "12G4x"); /* \\u replaced, the rest kept */
	expect_text("\\ud83dx", "\xef\xbf\xbdx");         /* lone high surrogate */
	expect_text("\\ude00x", "\xef\xbf\xbdx");         /* lone low surrogate */
	expect_text("\\ud83d\\u0041", "\xef\xbf\xbd" "A"); /* high + not a low */
	expect_text("a\\u0000b", "a\xef\xbf\xbd" "b");    /* no NUL inside a name */
}

Test(json_str, escape_cut_at_the_end_is_dropped)
{
	expect_text("ab\\", "ab");
	expect_text("ab\\u00", "ab");
	expect_text("ab\\ud83d\\ude", "ab");
	expect_text("ab\\ud83d\\", "ab");
}

Test(json_str, output_is_bounded)
{
	char out[8];
	const char *raw = "\\u4e2d\\u4e2d\\u4e2d\\u4e2d";
	memset(out, 'x', sizeof out);
	size_t n = llm_json_str(out, 7, raw, strlen(raw));
	cr_expect_eq(n, 6, "two whole characters of three bytes fit in 7");
	cr_expect_eq(out[7], 'x', "nothing past cap");
}

/* The request's and the response's model through the extractors, at every
 * split of the body. */
Test(json_str, models_from_bodies_at_every_split)
{
	static const char req[] = "{\"model\":\"caf\\u00e9-\\\"v2\\\"\",\"messages\":[]}";
	static const char resp[] = "{\"model\":\"\\u4e2d\\ud83d\\ude00\",\"usage\":{\"prompt_tokens\":1}}";
	for (size_t cut = 0; cut <= sizeof req - 1; cut++) {
		struct llm_req r;
		struct tr_record rec;
		memset(&rec, 0, sizeof rec);
		llm_req_begin(&r);
		llm_req_body(&r, &rec, req, cut);
		llm_req_body(&r, &rec, req + cut, sizeof req - 1 - cut);
		cr_expect_str_eq(rec.request_model, "caf\xc3\xa9-\"v2\"", "split %zu", cut);
		cr_expect_eq(rec.flags & REC_F_TRUNC_REQUEST_MODEL, 0);
	}
	for (size_t cut = 0; cut <= sizeof resp - 1; cut++) {
		struct llm_resp r;
		struct tr_record rec;
		memset(&rec, 0, sizeof rec);
		llm_resp_begin(&r, LLM_BODY_JSON);
		llm_resp_body(&r, &rec, resp, cut, 1);
		llm_resp_body(&r, &rec, resp + cut, sizeof resp - 1 - cut, 2);
		cr_expect_str_eq(rec.response_model, "\xe4\xb8\xad\xf0\x9f\x98\x80", "split %zu", cut);
	}
}
