/* test_path_model.c - a model named in the path (Bedrock's /model/{id}/...)
 * is copied into the record with its percent escapes decoded when the
 * request's headers end (llm_set_path_model), so a request whose body never
 * comes or is never read has the model's real name too. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "llm.h"

static void set(struct tr_record *r, const char *m)
{
	memset(r, 0, sizeof *r);
	llm_set_path_model(r, m, strlen(m));
}

Test(path_model, escapes_decoded_once)
{
	struct tr_record r;
	set(&r, "anthropic.claude-3-haiku-20240307-v1%3A0");
	cr_expect_str_eq(r.request_model, "anthropic.claude-3-haiku-20240307-v1:0");
	cr_expect_eq(r.flags, 0);
	set(&r, "a%3a0%2541");
	cr_expect_str_eq(r.request_model, "a:0%41", "lower-case hex; %25 is a '%%' and stays one");
	set(&r, "bad%zz%4");
	cr_expect_str_eq(r.request_model, "bad%zz%4", "a '%%' without two hex digits stays");
	set(&r, "end%");
	cr_expect_str_eq(r.request_model, "end%");
}

Test(path_model, cut_to_the_field_with_its_flag)
{
	struct tr_record r;
	char m[200];
	/* 62 plain bytes then an escape: the escape is the 63rd byte, it fits */
	memset(m, 'x', 62);
	strcpy(m + 62, "%3A");
	set(&r, m);
	cr_expect_eq(strlen(r.request_model), REC_MODEL_LEN - 1);
	cr_expect_eq(r.request_model[62], ':');
	cr_expect_eq(r.flags, 0, "the whole escaped name fits decoded");
	strcpy(m + 62, "%3A0");
	set(&r, m);
	cr_expect_eq(strlen(r.request_model), REC_MODEL_LEN - 1);
	cr_expect_eq(r.flags, REC_F_TRUNC_REQUEST_MODEL);
}

struct one {
	unsigned n;
	struct tr_record rec;
};

static void emit(void *ctx, struct tr_record *rec)
{
	struct one *o = ctx;
	o->n++;
	o->rec = *rec;
}

/* A request whose body is never read (gzip: the shim does not decode; with
 * no body sink configured it is not copied either). */
Test(path_model, decoded_when_the_body_is_not_read)
{
	static const char req[] =
		"POST /model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke HTTP/1.1\r\n"
		"Host: bedrock-runtime.us-east-1.amazonaws.com\r\nContent-Type: application/json\r\n"
		"Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Content-Length: 2\r\n\r\n{}";
	for (int role = CONN_ROLE_CLIENT; role <= CONN_ROLE_SERVER; role++) {
		struct conn c;
		struct conn_config cfg;
		struct one o = {0};
		enum conn_dir out = role == CONN_ROLE_SERVER ? CONN_DIR_IN : CONN_DIR_OUT;
		memset(&cfg, 0, sizeof cfg);
		conn_init(&c, (enum conn_role)role);
		conn_feed(&c, &cfg, out, req, sizeof req - 1, 1000, emit, &o);
		conn_feed(&c, &cfg, !out, resp, sizeof resp - 1, 2000, emit, &o);
		cr_assert_eq(o.n, 1, "role %d", role);
		cr_expect_str_eq(o.rec.request_model, "anthropic.claude-3-haiku-20240307-v1:0");
		cr_expect_eq(o.rec.provider, REC_PROVIDER_BEDROCK);
	}
}
