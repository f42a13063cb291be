/* test_llm_json.c - the streaming JSON key scanner and SSE framing at every
 * split (escapes, skipped containers, depth, errors), and a differential
 * test: cJSON, a full parser, is the oracle for the fields the extractors
 * read from thousands of generated documents fed in random pieces. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "test_support.h"

struct seen {
	char text[512];
	size_t len;
	unsigned events;
};

/* Record every scalar as key-id=value; walk everything. */
static void on_scalar(void *ctx, const struct jscan *s, enum jtype t, const char *v, size_t n,
		      int truncated, int nonempty)
{
	struct seen *z = ctx;
	(void)t;
	(void)truncated;
	(void)nonempty;
	if (z->len >= sizeof z->text - 1)
		return;
	int k = snprintf(z->text + z->len, sizeof z->text - z->len, "%u:%d=%.*s;", s->depth,
			 jscan_key(s), (int)n, v);
	z->len = k < 0 ? z->len : z->len + (size_t)k;
}

static void on_event(void *ctx, const struct jscan *s)
{
	(void)s;
	((struct seen *)ctx)->events++;
}

/* Walk the top level and usage only, as the extractors do. */
static int skip_other(void *ctx, const struct jscan *s, int is_object)
{
	(void)ctx;
	(void)is_object;
	return s->depth == 0 || jscan_key(s) == JK_USAGE;
}

static const struct jscan_ops walk_ops = {NULL, on_scalar, on_event, NULL};
static const struct jscan_ops skip_ops = {skip_other, on_scalar, on_event, NULL};
/* The same choices made by key (jscan_ops.keys): usage walked without a
 * call, the top level asked, the rest skipped without a call. */
static const uint8_t skip_keys[JK_COUNT] = {[JK_NONE] = JSCAN_K_ASK, [JK_USAGE] = JSCAN_K_WALK};
static const struct jscan_ops skip_keys_ops = {skip_other, on_scalar, on_event, skip_keys};

static enum jscan_err scan_split(const char *doc, size_t split, const struct jscan_ops *ops,
				 struct seen *z)
{
	struct jscan s;
	size_t n = strlen(doc);
	jscan_reset(&s);
	memset(z, 0, sizeof *z);
	if (split)
		jscan_feed(&s, guard_copy(doc, split), split, ops, z);
	return jscan_feed(&s, guard_copy(doc + split, n - split), n - split, ops, z);
}

/* The same scalars and events at every split as whole. */
static void same_at_every_split(const char *doc, const struct jscan_ops *ops, const char *want)
{
	struct seen whole, part;
	cr_assert_eq(scan_split(doc, 0, ops, &whole), JSCAN_OK, "%s", doc);
	cr_assert_str_eq(whole.text, want);
	for (size_t k = 1; k < strlen(doc); k++) {
		cr_assert_eq(scan_split(doc, k, ops, &part), JSCAN_OK, "split %zu", k);
		cr_assert_str_eq(part.text, whole.text, "split %zu", k);
		cr_assert_eq(part.events, whole.events, "split %zu", k);
	}
	if (ops == &skip_ops) /* choices by key are the callback's */
		same_at_every_split(doc, &skip_keys_ops, want);
}

Test(jscan, escaped_quotes_and_backslash_runs)
{
	same_at_every_split("{\"model\":\"a\\\"b\\\\\",\"type\":\"\\\\\\\"x\"}",
			    &walk_ops, "1:2=a\\\"b\\\\;1:33=\\\\\\\"x;");
}

Test(jscan, skipped_containers_hide_brackets_and_keys_in_strings)
{
	const char *doc = "{\"messages\":[{\"content\":\"}]}\\\"usage\\\":{\",\"x\":[[1,2],{\"a\":\"]\"}]}],"
			  "\"tools\":[{\"model\":\"decoy\"}],\"model\":\"real\",\"stream\":true}";
	same_at_every_split(doc, &skip_ops, "1:2=real;1:4=true;");
}

/* A long skipped container of short strings without escapes (a chat
 * history) is crossed 64 bytes a step (jidx_skip): brackets inside its
 * strings, strings across block edges, one escape near the end, at every
 * split. */
Test(jscan, skipped_history_is_crossed_in_strides)
{
	char doc[4096];
	int k = sprintf(doc, "{\"messages\":[");
	for (int i = 0; i < 12; i++)
		k += sprintf(doc + k, "%s{\"role\":\"]}\",\"content\":\"turn %d: [x] {y} ]}%.*s\","
				      "\"tools\":[[],{\"a\":\"}\"}],\"x\":\"{[\",\"n\":%d}",
			     i ? "," : "", i, i * 3, "abcdefghijklmnopqrstuvwxyz0123456789", i);
	sprintf(doc + k, ",{\"content\":\"esc \\\"]}\\\\\"}],\"model\":\"m\",\"stream\":true}");
	same_at_every_split(doc, &skip_ops, "1:2=m;1:4=true;");
}

Test(jscan, long_skipped_number_array_is_counted_not_walked)
{
	char doc[20000];
	int k = sprintf(doc, "{\"embedding\":[");
	for (int i = 0; i < 2000; i++)
		k += sprintf(doc + k, "%s-0.%04d", i ? "," : "", i);
	sprintf(doc + k, "],\"usage\":{\"prompt_tokens\":8}}");
	struct seen z;
	cr_assert_eq(scan_split(doc, 0, &skip_ops, &z), JSCAN_OK);
	cr_assert_str_eq(z.text, "2:13=8;");
}

Test(jscan, deep_nesting_is_skipped_not_an_error)
{
	char doc[400];
	int k = sprintf(doc, "{\"choices\":");
	for (int i = 0; i < 40; i++)
		k += sprintf(doc + k, "[");
	for (int i = 0; i < 40; i++)
		k += sprintf(doc + k, "]");
	sprintf(doc + k, ",\"model\":\"m\"}");
	same_at_every_split(doc, &walk_ops, "1:2=m;");
}

Test(jscan, ndjson_and_top_level_arrays_give_events)
{
	struct seen z;
	cr_assert_eq(scan_split("{\"a\":1}\n{\"b\":2}\n", 0, &walk_ops, &z), JSCAN_OK);
	cr_expect_eq(z.events, 2);
	cr_assert_eq(scan_split("[{\"a\":1},\n{\"b\":2}]", 0, &walk_ops, &z), JSCAN_OK);
	cr_expect_eq(z.events, 2);
}

Test(jscan, errors_are_named)
{
	struct seen z;
	cr_expect_eq(scan_split("<html>", 0, &walk_ops, &z), JSCAN_NOT_JSON);
	cr_expect_eq(scan_split("{\"a\" 1}", 0, &walk_ops, &z), JSCAN_SYNTAX);
	cr_expect_eq(scan_split("{\"a\":1]", 0, &walk_ops, &z), JSCAN_SYNTAX);
	cr_expect_eq(scan_split("{\"a\":tru}", 0, &walk_ops, &z), JSCAN_SYNTAX);
	cr_expect_eq(scan_split("{\"a\":1,}", 0, &walk_ops, &z), JSCAN_SYNTAX);
	cr_expect_eq(scan_split("{}x", 0, &walk_ops, &z), JSCAN_SYNTAX);
}

struct sse_seen {
	char data[256];
	size_t len;
	unsigned events;
};

static void sse_data(void *ctx, const char *p, size_t n)
{
	struct sse_seen *z = ctx;
	memcpy(z->data + z->len, p, n);
	z->len += n;
}

static void sse_end(void *ctx)
{
	struct sse_seen *z = ctx;
	z->data[z->len++] = '|';
	z->events++;
}

Test(sse, fields_comments_crlf_and_no_space_at_every_split)
{
	static const struct llm_sse_ops ops = {sse_data, sse_end};
	const char *in = "event: a\ndata: {\"x\":1}\n\n:comment\r\nid:7\r\ndata:[DONE]\r\n\r\ndatum: no\n\n";
	for (size_t k = 0; k < strlen(in); k++) {
		struct llm_sse s;
		struct sse_seen z = {0};
		llm_sse_reset(&s);
		if (k)
			llm_sse_feed(&s, guard_copy(in, k), k, &ops, &z);
		llm_sse_feed(&s, guard_copy(in + k, strlen(in) - k), strlen(in) - k, &ops, &z);
		z.data[z.len] = 0;
		cr_assert_str_eq(z.data, "{\"x\":1}|[DONE]\r||", "split %zu", k);
		cr_assert_eq(z.events, 3, "split %zu", k);
	}
}

/* ---- differential: cJSON as the oracle ---- */

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static const char *const noise_strings[] = {
	"plain", "with \"quotes\" and \\backslashes\\", "}]{[ brackets ]}", "\"usage\": {\"prompt_tokens\": 1}",
	"unicode \u00e9\u20ac\xf0\x9f\x98\x80", "tab\tnewline\n", "", "\\\\\\\"",
};

static cJSON *noise(uint32_t *s, int depth)
{
	switch (rnd(s) % (depth > 3 ? 3 : 6)) {
	case 0:
		return cJSON_CreateString(noise_strings[rnd(s) % 8]);
	case 1:
		return cJSON_CreateNumber((double)(rnd(s) % 100000) / 7.0);
	case 2:
		return rnd(s) & 1 ? cJSON_CreateTrue() : cJSON_CreateNull();
	case 3: {
		cJSON *a = cJSON_CreateArray();
		for (unsigned i = rnd(s) % 5; i > 0; i--)
			cJSON_AddItemToArray(a, noise(s, depth + 1));
		return a;
	}
	default: {
		cJSON *o = cJSON_CreateObject();
		static const char *const keys[] = {"usage", "model", "id", "x", "prompt_tokens", "data"};
		for (unsigned i = rnd(s) % 4; i > 0; i--)
			cJSON_AddItemToObject(o, keys[rnd(s) % 6], noise(s, depth + 1));
		return o;
	}
	}
}

/* A response-like document: usage and model at the top level (maybe), and
 * noise (decoy usage/model keys included) under keys nobody walks. */
static cJSON *make_doc(uint32_t *s)
{
	cJSON *d = cJSON_CreateObject();
	static const char *const noise_keys[] = {"metadata", "tools", "system_fingerprint", "logprobs"};
	unsigned parts = 2 + rnd(s) % 4;
	int has_model = rnd(s) % 3 != 0, has_usage = rnd(s) % 4 != 0;
	for (unsigned i = 0; i < parts; i++) {
		if (has_model && i == parts / 2) {
			char m[48];
			snprintf(m, sizeof m, "model-%u", rnd(s) % 1000);
			cJSON_AddStringToObject(d, "model", m);
		}
		cJSON_AddItemToObject(d, noise_keys[rnd(s) % 4], noise(s, 0));
	}
	if (has_usage) {
		cJSON *u = cJSON_AddObjectToObject(d, "usage");
		cJSON_AddItemToObject(u, "x", noise(s, 2));
		cJSON_AddNumberToObject(u, "prompt_tokens", rnd(s) % 100000);
		cJSON_AddNumberToObject(u, "completion_tokens", rnd(s) % 100000);
		if (rnd(s) & 1)
			cJSON_AddNumberToObject(u, "total_tokens", rnd(s) % 200000);
		cJSON *det = cJSON_AddObjectToObject(u, "prompt_tokens_details");
		cJSON_AddNumberToObject(det, "cached_tokens", rnd(s) % 1000);
	}
	return d;
}

static uint32_t oracle_num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (uint32_t)v->valuedouble : 0;
}

static void check_against_oracle(const cJSON *d, const struct tr_record *r,
				 const struct llm_resp *lr, const char *text)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(d, "model");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(d, "usage");
	cr_assert_str_eq(r->response_model, cJSON_IsString(m) ? m->valuestring : "", "%s", text);
	cr_assert_eq(lr->usage_seen, u != NULL, "%s", text);
	cr_assert_eq(r->prompt_tokens, oracle_num(u, "prompt_tokens"), "%s", text);
	cr_assert_eq(r->completion_tokens, oracle_num(u, "completion_tokens"), "%s", text);
	cr_assert_eq(r->total_tokens, oracle_num(u, "total_tokens"), "%s", text);
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details");
	cr_assert_eq(r->cached_tokens, oracle_num(det, "cached_tokens"), "%s", text);
}

Test(differential, response_fields_match_cjson, .timeout = 60)
{
	uint32_t seed = 0x9e3779b9u;
	for (int i = 0; i < 3000; i++) {
		cJSON *d = make_doc(&seed);
		char *text = i & 1 ? cJSON_Print(d) : cJSON_PrintUnformatted(d);
		size_t n = strlen(text), at = 0;
		struct llm_resp lr;
		struct tr_record rec;
		memset(&rec, 0, sizeof rec);
		llm_resp_begin(&lr, LLM_BODY_JSON);
		if (i % 3 == 0) /* blank space first, in a piece of its own */
			llm_resp_body(&lr, &rec, guard_copy(" \r\n", 3), 3, 1);
		while (at < n) {
			size_t k = 1 + rnd(&seed) % 64;
			k = k < n - at ? k : n - at;
			llm_resp_body(&lr, &rec, guard_copy(text + at, k), k, 1);
			at += k;
		}
		cr_assert_eq(lr.json_error, 0, "%s", text);
		check_against_oracle(d, &rec, &lr, text);
		free(text);
		cJSON_Delete(d);
	}
}

Test(differential, request_fields_match_cjson, .timeout = 60)
{
	uint32_t seed = 77;
	for (int i = 0; i < 2000; i++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, "messages", noise(&seed, 0));
		if (rnd(&seed) & 1)
			cJSON_AddStringToObject(d, "model", noise_strings[rnd(&seed) % 8]);
		if (rnd(&seed) & 1)
			cJSON_AddBoolToObject(d, "stream", rnd(&seed) & 1);
		cJSON_AddItemToObject(d, "tools", noise(&seed, 0));
		if (rnd(&seed) & 1) {
			cJSON *so = cJSON_AddObjectToObject(d, "stream_options");
			cJSON_AddBoolToObject(so, "include_usage", rnd(&seed) & 1);
		}
		char *text = cJSON_PrintUnformatted(d);
		struct llm_req lq;
		struct tr_record rec;
		memset(&rec, 0, sizeof rec);
		llm_req_begin(&lq);
		size_t n = strlen(text), cut = rnd(&seed) % (n + 1);
		llm_req_body(&lq, &rec, guard_copy(text, cut), cut);
		llm_req_body(&lq, &rec, guard_copy(text + cut, n - cut), n - cut);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(d, "model");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(d, "stream");
		const cJSON *iu = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(d, "stream_options"), "include_usage");
		/* The record keeps the raw (escaped) JSON text of the model, cut to fit. */
		if (cJSON_IsString(m) && !strpbrk(m->valuestring, "\"\\\t\n"))
			cr_assert_eq(strncmp(rec.request_model, m->valuestring, REC_MODEL_LEN - 1), 0,
				     "%s", text);
		cr_assert_eq(!!(lq.shape & LLM_SHAPE_MODEL), m != NULL, "%s", text);
		cr_assert_eq(lq.stream, cJSON_IsTrue(st), "%s", text);
		cr_assert_eq(lq.include_usage, cJSON_IsTrue(iu), "%s", text);
		cr_assert_eq(lq.json_error, 0);
		free(text);
		cJSON_Delete(d);
	}
}

Test(jscan, every_known_key_name_maps_to_its_id)
{
	for (int k = JK_MODEL; k < JK_COUNT; k++) {
		const char *name = jscan_key_name((enum jkey)k);
		cr_assert_neq(strlen(name), 0, "key %d has a name", k);
		cr_assert_eq(jscan_key_id(name, strlen(name)), (enum jkey)k, "%s", name);
	}
	cr_expect_eq(jscan_key_id("Model", 5), JK_OTHER, "case matters");
	cr_expect_eq(jscan_key_id("mode", 4), JK_OTHER);
	cr_expect_eq(jscan_key_id("", 0), JK_OTHER);
}

/* The index compares a key's bytes as words (llm_keys_internal.h): a name
 * with any one byte changed, whole in a document, is not taken for it (it
 * gets the id the table gives it, usually none). */
Test(jscan, a_key_one_byte_off_a_known_name_is_not_it)
{
	for (int k = JK_MODEL; k < JK_COUNT; k++) {
		const char *name = jscan_key_name((enum jkey)k);
		size_t len = strlen(name);
		for (size_t i = 0; i < len; i++) {
			char key[64], doc[128], want[32] = "";
			struct seen z;
			memcpy(key, name, len + 1);
			key[i] = key[i] == 'q' ? 'Q' : 'q';
			enum jkey id = jscan_key_id(key, len);
			cr_assert_neq(id, (enum jkey)k, "%s", key);
			if (id != JK_OTHER)
				snprintf(want, sizeof want, "1:%d=1;", id);
			snprintf(doc, sizeof doc, "{\"%s\":1}", key);
			cr_assert_eq(scan_split(doc, 0, &walk_ops, &z), JSCAN_OK);
			cr_assert_str_eq(z.text, want, "%s", doc);
		}
	}
}

/* The scanner's own key index (llm_keys.c) agrees with the table: every
 * known name, whole in the buffer or cut at every byte, comes back with its
 * id; near misses and unknown keys give no scalar at all. */
Test(jscan, keys_in_documents_get_their_ids_and_unknown_keys_no_scalar)
{
	for (int k = JK_MODEL; k < JK_COUNT; k++) {
		char doc[320], want[160], near[3][64];
		const char *name = jscan_key_name((enum jkey)k);
		int w = snprintf(want, sizeof want, "1:%d=7;", k);
		snprintf(near[0], sizeof near[0], "%ss", name);
		snprintf(near[1], sizeof near[1], "x%s", name);
		snprintf(near[2], sizeof near[2], "%.*s", (int)strlen(name) - 1, name);
		for (int i = 0; i < 3; i++) { /* a near miss may be another known key */
			enum jkey id = jscan_key_id(near[i], strlen(near[i]));
			if (id != JK_OTHER)
				w += snprintf(want + w, sizeof want - (size_t)w, "1:%d=%d;", id, i);
		}
		snprintf(doc, sizeof doc, "{\"%s\":7,\"%s\":0,\"%s\":1,\"%s\":2}", name, near[0],
			 near[1], near[2]);
		same_at_every_split(doc, &walk_ops, want);
	}
	same_at_every_split("{\"uid\":\"chatcmpl-1\",\"Model\":\"m\",\"index\":0,\"created\":1,"
			    "\"system_fingerprint\":\"fp\",\"completion_tokens_detail\":1}",
			    &walk_ops, "");
}

/* ---- the block index (proto/llm_json_index.c) at its edges ---- */

/* The error (or none) is the same whole and at every split. */
static void same_error_at_every_split(const char *doc, const struct jscan_ops *ops,
				      enum jscan_err want)
{
	struct seen whole, part;
	cr_assert_eq(scan_split(doc, 0, ops, &whole), want, "%s", doc);
	for (size_t k = 1; k < strlen(doc); k++) {
		cr_assert_eq(scan_split(doc, k, ops, &part), want, "split %zu: %s", k, doc);
		cr_assert_str_eq(part.text, whole.text, "split %zu", k);
	}
}

/* Escaped quotes and backslash runs in a skipped container, moved byte by
 * byte across the index's 64-byte block edges (pad), and cut at every
 * byte by the end of a piece; strings longer than a block among them. */
Test(jscan_index, escapes_straddle_block_and_piece_edges)
{
	static const char x[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	for (int pad = 0; pad < 70; pad++) {
		char doc[1024];
		snprintf(doc, sizeof doc,
			 "{\"messages\":[{\"content\":\"%.*s\\\"]}\\\\\\\\\\\\\\\"[{\\\\\"},"
			 "{\"content\":\"%s%s \\\\\\\"}]\",\"n\":[1,[2]]}],\"model\":\"m\","
			 "\"stream\":true}",
			 pad, x, x, x + pad);
		same_at_every_split(doc, &skip_ops, "1:2=m;1:4=true;");
	}
}

/* A walked string longer than a block, escapes in it: cut to
 * JSCAN_VALUE_KEEP bytes whole or cut anywhere. */
Test(jscan_index, walked_strings_longer_than_a_block)
{
	char doc[512], want[128];
	const char *v = "a\\\"b0123456789012345678901234567890123456789012345678901234567890123"
			"456789\\\\";
	snprintf(doc, sizeof doc, "{\"model\":\"%s\",\"type\":\"t\"}", v);
	snprintf(want, sizeof want, "1:2=%.*s;1:33=t;", JSCAN_VALUE_KEEP, v);
	same_at_every_split(doc, &walk_ops, want);
}

/* A chat chunk (bench/exchange_client.c's) cut at every byte: every key
 * split at every byte of it. */
Test(jscan_index, chat_chunk_at_every_split)
{
	same_at_every_split("{\"id\":\"chatcmpl-AbCdEf01\",\"object\":\"chat.completion.chunk\","
			    "\"created\":1733450000,\"model\":\"gpt-4o-mini-2024-07-18\","
			    "\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{\"index\":0,"
			    "\"delta\":{\"content\":\" tok0001\"},\"finish_reason\":null}]}",
			    &walk_ops,
			    "1:83=chatcmpl-AbCdEf01;1:34=chat.completion.chunk;"
			    "1:2=gpt-4o-mini-2024-07-18;4:39= tok0001;");
}

/* JSCAN_MAX_DEPTH containers walked; the one below is skipped whole (its
 * brackets and escapes in strings across block edges), then the walk goes
 * on at every level above it. */
Test(jscan_index, nesting_at_max_depth)
{
	char doc[1024], want[256];
	int k = 0, w = 0;
	for (int d = 1; d < JSCAN_MAX_DEPTH; d++)
		k += sprintf(doc + k, "{\"type\":%d,\"choices\":", d);
	k += sprintf(doc + k, "{\"type\":%d,\"choices\":{\"model\":\"deep ]}\\\"[{ %s\"},\"text\":1}",
		     JSCAN_MAX_DEPTH, "0123456789012345678901234567890123456789012345678901234567890");
	for (int d = JSCAN_MAX_DEPTH - 1; d >= 1; d--)
		k += sprintf(doc + k, ",\"model\":\"m%d\"}", d);
	for (int d = 1; d <= JSCAN_MAX_DEPTH; d++)
		w += sprintf(want + w, "%d:%d=%d;", d, JK_TYPE, d);
	w += sprintf(want + w, "%d:%d=1;", JSCAN_MAX_DEPTH, JK_TEXT);
	for (int d = JSCAN_MAX_DEPTH - 1; d >= 1; d--)
		w += sprintf(want + w, "%d:%d=m%d;", d, JK_MODEL, d);
	same_at_every_split(doc, &walk_ops, want);
}

/* Malformed text around the block edges of a skipped container: a
 * backslash outside strings (nothing to a skipped container: no error, as
 * before the index), a stray close after it, a string never closed. */
Test(jscan_index, malformed_at_block_edges_keeps_its_error)
{
	static const char x[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	for (int pad = 0; pad < 70; pad += 3) {
		char doc[512];
		snprintf(doc, sizeof doc, "{\"messages\":[\"%.*s\",\\\"],\"model\":\"m\"}", pad, x);
		same_error_at_every_split(doc, &skip_ops, JSCAN_OK);
		snprintf(doc, sizeof doc, "{\"messages\":[\"%.*s\",\\ \"a]\"],\"model\":\"m\"}", pad,
			 x);
		same_error_at_every_split(doc, &skip_ops, JSCAN_OK);
		snprintf(doc, sizeof doc, "{\"messages\":[\"%.*s\"]]],\"model\":\"m\"}", pad, x);
		same_error_at_every_split(doc, &skip_ops, JSCAN_SYNTAX);
		snprintf(doc, sizeof doc, "{\"messages\":[\"%.*s\"],\"model\" \"m\"}", pad, x);
		same_error_at_every_split(doc, &skip_ops, JSCAN_SYNTAX);
	}
}

/* Events of NDJSON and of a top-level array whose skipped members cross
 * block edges. */
static int walk_events(void *ctx, const struct jscan *s, int is_object)
{
	(void)ctx;
	(void)is_object;
	return s->depth == 0 || jscan_level(s) == 0;
}

Test(jscan_index, ndjson_and_top_level_arrays_across_blocks)
{
	static const struct jscan_ops ops = {walk_events, on_scalar, on_event, NULL};
	const char *tools = "[{\"name\":\"a ]}\\\"\",\"x\":[[[]]]},{\"description\":"
			    "\"0123456789012345678901234567890123456789012345678901234567890\"}]";
	char doc[1024];
	snprintf(doc, sizeof doc, "{\"tools\":%s,\"model\":\"a\"}\n{\"tools\":%s,\"model\":\"b\"}\n",
		 tools, tools);
	same_at_every_split(doc, &ops, "1:2=a;1:2=b;");
	struct seen z;
	cr_assert_eq(scan_split(doc, 0, &ops, &z), JSCAN_OK);
	cr_assert_eq(z.events, 2);
	snprintf(doc, sizeof doc, "[{\"tools\":%s,\"model\":\"a\"},\n{\"tools\":%s,\"model\":\"b\"}]",
		 tools, tools);
	same_at_every_split(doc, &ops, "2:2=a;2:2=b;");
	cr_assert_eq(scan_split(doc, 0, &ops, &z), JSCAN_OK);
	cr_assert_eq(z.events, 2);
}
