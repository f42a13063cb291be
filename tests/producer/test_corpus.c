/* test_corpus.c - every corpus exchange (one per provider format, plain and
 * streamed) yields exactly the expected record, field by field, fed whole,
 * split at every byte boundary of the request and of the response, in
 * 1-byte pieces, and seen from the server side. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "record_mcp.h"
#include "test_support.h"

#define MAX_KEYS 32

struct expect {
	unsigned n;
	char key[MAX_KEYS][32];
	char val[MAX_KEYS][128];
};

struct corpus_case {
	char name[64];
	char *req, *resp;
	size_t req_len, resp_len;
	struct expect ex;
};

static const char *ex_str(const struct expect *e, const char *key, const char *dflt)
{
	for (unsigned i = 0; i < e->n; i++)
		if (strcmp(e->key[i], key) == 0)
			return e->val[i];
	return dflt;
}

static unsigned long ex_num(const struct expect *e, const char *key)
{
	return strtoul(ex_str(e, key, "0"), NULL, 10);
}

static void parse_expect(struct expect *e, char *text)
{
	for (char *line = strtok(text, "\n"); line && e->n < MAX_KEYS; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		cr_assert(eq, "bad expect line %s", line);
		*eq = 0;
		snprintf(e->key[e->n], sizeof e->key[0], "%s", line);
		snprintf(e->val[e->n], sizeof e->val[0], "%s", eq + 1);
		e->n++;
	}
}

static int load_case(struct corpus_case *c, const char *name)
{
	char path[512];
	size_t n;
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(path, sizeof path, "%s/%s.req", CORPUS_DIR, name);
	c->req = load_file(path, &c->req_len);
	snprintf(path, sizeof path, "%s/%s.resp", CORPUS_DIR, name);
	c->resp = load_file(path, &c->resp_len);
	snprintf(path, sizeof path, "%s/%s.expect", CORPUS_DIR, name);
	char *ex = load_file(path, &n);
	if (!c->req || !c->resp || !ex)
		return -1;
	memset(&c->ex, 0, sizeof c->ex);
	parse_expect(&c->ex, ex);
	free(ex);
	return 0;
}

/* Every case in the corpus directory, by its .expect file. */
static unsigned load_corpus(struct corpus_case *cases, unsigned max)
{
	DIR *d = opendir(CORPUS_DIR);
	struct dirent *de;
	unsigned n = 0;
	cr_assert(d, "corpus dir %s", CORPUS_DIR);
	while ((de = readdir(d)) && n < max) {
		size_t len = strlen(de->d_name);
		if (len < 8 || strcmp(de->d_name + len - 7, ".expect") != 0)
			continue;
		de->d_name[len - 7] = 0;
		cr_assert_eq(load_case(&cases[n], de->d_name), 0, "case %s", de->d_name);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 48, "corpus has %u cases", n);
	return n;
}

static const struct {
	const char *name;
	uint32_t bit;
} flag_names[] = {
	{"STREAM", REC_F_STREAM},	      {"LLM", REC_F_LLM},
	{"PARSE_ERROR", REC_F_PARSE_ERROR},   {"CONN_CLOSED", REC_F_CONN_CLOSED},
	{"NO_RESPONSE", REC_F_NO_RESPONSE},   {"REQUEST_ID_GENERATED", REC_F_REQUEST_ID_GENERATED},
	{"HAS_TRACE", REC_F_HAS_TRACE},	      {"TRUNC_PATH", REC_F_TRUNC_PATH},
	{"MCP_RPC_ERROR", REC_F_MCP_RPC_ERROR}, {"MCP_TOOL_ERROR", REC_F_MCP_TOOL_ERROR},
};

static uint32_t parse_flags(const char *s)
{
	uint32_t f = 0;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", s);
	for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
		unsigned i;
		for (i = 0; i < sizeof flag_names / sizeof *flag_names; i++)
			if (strcmp(flag_names[i].name, t) == 0)
				break;
		cr_assert_lt(i, sizeof flag_names / sizeof *flag_names, "unknown flag %s", t);
		f |= flag_names[i].bit;
	}
	return f;
}

static void hex16(const uint8_t *id, char *out)
{
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

static void check_strings(const struct corpus_case *c, const struct tr_record *r, const char *how)
{
	const struct expect *e = &c->ex;
	cr_expect_str_eq(r->method, ex_str(e, "method", ""), "%s %s method", c->name, how);
	cr_expect_str_eq(r->path, ex_str(e, "path", ""), "%s %s path", c->name, how);
	cr_expect_str_eq(r->authority, ex_str(e, "authority", ""), "%s %s authority", c->name, how);
	cr_expect_str_eq(r->request_model, ex_str(e, "request_model", ""), "%s %s request_model",
			 c->name, how);
	cr_expect_str_eq(r->response_model, ex_str(e, "response_model", ""),
			 "%s %s response_model", c->name, how);
	cr_expect_str_eq(r->user_agent, ex_str(e, "user_agent", "OpenAI/Python 1.54.3"),
			 "%s %s user_agent", c->name, how);
	cr_expect_str_eq(r->labels[0], ex_str(e, "label0", ""), "%s %s label0", c->name, how);
	const char *rid = ex_str(e, "request_id", NULL);
	if (rid)
		cr_expect_str_eq(r->request_id, rid, "%s %s request_id", c->name, how);
	else
		cr_expect_eq(strlen(r->request_id), 36, "%s %s generated id %s", c->name, how,
			     r->request_id);
	char trace[33] = "00000000000000000000000000000000";
	hex16(r->trace_id, trace);
	cr_expect_str_eq(trace, ex_str(e, "trace", "00000000000000000000000000000000"),
			 "%s %s trace", c->name, how);
}

static void check_numbers(const struct corpus_case *c, const struct tr_record *r, const char *how)
{
	const struct expect *e = &c->ex;
	cr_expect_eq(r->status, ex_num(e, "status"), "%s %s status %u", c->name, how, r->status);
	cr_expect_str_eq(rec_provider_name(r->provider), ex_str(e, "provider", "unknown"),
			 "%s %s provider", c->name, how);
	cr_expect_str_eq(rec_operation_name(r->operation), ex_str(e, "operation", "unknown"),
			 "%s %s operation", c->name, how);
	cr_expect_str_eq(rec_usage_name(r->usage_status), ex_str(e, "usage", "none"),
			 "%s %s usage", c->name, how);
	cr_expect_eq(r->prompt_tokens, ex_num(e, "prompt"), "%s %s prompt %u", c->name, how,
		     r->prompt_tokens);
	cr_expect_eq(r->completion_tokens, ex_num(e, "completion"), "%s %s completion %u",
		     c->name, how, r->completion_tokens);
	cr_expect_eq(r->total_tokens, ex_num(e, "total"), "%s %s total", c->name, how);
	if (rec_is_mcp(r)) { /* the cache fields hold the JSON-RPC id's hash */
		const char *id = ex_str(e, "mcp_id", "");
		size_t n = strlen(id);
		uint64_t want = !n ? 0
			      : id[0] == '"' ? llm_mcp_id(JT_STRING, id + 1, n - 2)
					     : llm_mcp_id(JT_NUMBER, id, n);
		cr_expect_eq(rec_mcp_id(r), want, "%s %s mcp_id", c->name, how);
	} else {
		cr_expect_eq(r->cached_tokens, ex_num(e, "cached"), "%s %s cached", c->name, how);
		cr_expect_eq(r->cache_creation_tokens, ex_num(e, "cache_creation"),
			     "%s %s cache_creation", c->name, how);
	}
	cr_expect_eq(r->reasoning_tokens, ex_num(e, "reasoning"), "%s %s reasoning", c->name, how);
	cr_expect_eq(r->chunks, ex_num(e, "chunks"), "%s %s chunks %u", c->name, how, r->chunks);
	cr_expect_eq(r->flags, parse_flags(ex_str(e, "flags", "")), "%s %s flags %#x", c->name,
		     how, r->flags);
	cr_expect_eq(r->req_bytes, c->req_len, "%s %s req_bytes", c->name, how);
	cr_expect_eq(r->resp_bytes, c->resp_len, "%s %s resp_bytes", c->name, how);
	cr_expect_neq(r->start_ns, 0, "%s %s start_ns", c->name, how);
}

static void config_for(const struct corpus_case *c, struct conn_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->http_all = (int)ex_num(&c->ex, "http_all");
	snprintf(cfg->label_headers[0], sizeof cfg->label_headers[0], "x-team");
}

/* One replay: request then response, each cut as asked; one record out. */
static struct tr_record replay(const struct corpus_case *c, enum conn_role role, size_t req_split,
			       size_t resp_split, size_t step, const char *how)
{
	struct conn conn;
	struct conn_config cfg;
	struct collect out = {0};
	enum conn_dir req_dir = role == CONN_ROLE_SERVER ? CONN_DIR_IN : CONN_DIR_OUT;
	config_for(c, &cfg);
	conn_init(&conn, role);
	feed_pieces(&conn, &cfg, req_dir, c->req, c->req_len, req_split, step, 1000, &out);
	cr_assert_eq(out.n, 0, "%s %s: record before the response", c->name, how);
	feed_pieces(&conn, &cfg, !req_dir, c->resp, c->resp_len, resp_split, step, 2000, &out);
	/* A response cut short or delimited by the close only ends at close. */
	unsigned at_close = (unsigned)ex_num(&c->ex, "at_close");
	cr_assert_eq(out.n, 1 - at_close, "%s %s: %u records after the response", c->name, how, out.n);
	conn_close(&conn, &cfg, 3000, collect_emit, &out);
	cr_assert_eq(out.n, 1, "%s %s: %u records after close", c->name, how, out.n);
	check_strings(c, &out.rec[0], how);
	check_numbers(c, &out.rec[0], how);
	return out.rec[0];
}

static struct corpus_case cases[128];

Test(corpus, whole_exchange_gives_exact_fields_and_times)
{
	unsigned n = load_corpus(cases, 128);
	for (unsigned i = 0; i < n; i++) {
		struct tr_record r = replay(&cases[i], CONN_ROLE_AUTO, 0, 0, 0, "whole");
		cr_expect_eq(r.reporter, REC_REPORTER_SOURCE, "%s reporter", cases[i].name);
		cr_expect_eq(r.duration_ns, ex_num(&cases[i].ex, "at_close") ? 2000u : 1000u,
			     "%s duration", cases[i].name);
		cr_expect_eq(r.ttfb_ns, 1000, "%s ttfb", cases[i].name);
		cr_expect_eq(r.ttft_ns, r.chunks ? 1000u : 0u, "%s ttft %lu", cases[i].name,
			     (unsigned long)r.ttft_ns);
	}
}

Test(corpus, request_split_at_every_byte)
{
	unsigned n = load_corpus(cases, 128);
	for (unsigned i = 0; i < n; i++)
		for (size_t k = 1; k < cases[i].req_len; k++)
			replay(&cases[i], CONN_ROLE_AUTO, k, 0, 0, "req-split");
}

Test(corpus, response_split_at_every_byte, .timeout = 120)
{
	unsigned n = load_corpus(cases, 128);
	for (unsigned i = 0; i < n; i++)
		for (size_t k = 1; k < cases[i].resp_len; k++)
			replay(&cases[i], CONN_ROLE_CLIENT, 0, k, 0, "resp-split");
}

Test(corpus, one_byte_feeds)
{
	unsigned n = load_corpus(cases, 128);
	for (unsigned i = 0; i < n; i++)
		replay(&cases[i], CONN_ROLE_AUTO, 0, 0, 1, "1-byte");
}

Test(corpus, three_byte_feeds_cross_every_token)
{
	unsigned n = load_corpus(cases, 128);
	for (unsigned i = 0; i < n; i++)
		replay(&cases[i], CONN_ROLE_AUTO, 0, 0, 3, "3-byte");
}

/* Pieces of random sizes in both directions: splits at several places at once. */
Test(corpus, random_piece_sizes)
{
	unsigned n = load_corpus(cases, 128);
	uint32_t seed = 99;
	for (unsigned i = 0; i < n; i++) {
		for (int rep = 0; rep < 40; rep++) {
			seed = seed * 1103515245u + 12345u;
			size_t step = 1 + (seed >> 16) % 200;
			replay(&cases[i], CONN_ROLE_AUTO, (seed >> 8) % cases[i].req_len, 0, step,
			       "random-pieces");
		}
	}
}

Test(corpus, server_side_reports_destination)
{
	unsigned n = load_corpus(cases, 128);
	for (unsigned i = 0; i < n; i++) {
		struct tr_record r = replay(&cases[i], CONN_ROLE_SERVER, 0,
					    0, 0, "server");
		cr_expect_eq(r.reporter, REC_REPORTER_DESTINATION, "%s reporter", cases[i].name);
	}
}
