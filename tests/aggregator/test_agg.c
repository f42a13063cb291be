/* test_agg.c - ingest rules: tokens only from usage "available", TTFT only
 * for streams, time per output token only for streams with usage and > 1
 * output token, usage statuses counted, family parsing, config checks. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_internal.h"
#include "test_core_helpers.h"

#define CNT(member, nb) series_buckets_count((const uint64_t *)&(member), nb)

static struct agg *make(void)
{
	struct agg_config cfg = tc_config(AGG_FAM_TOKENRING | AGG_FAM_GEN_AI);
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	return a;
}

static struct series *only(struct agg *a)
{
	cr_assert_eq(agg_series(a), 1);
	return &a->tab.series[0];
}

Test(agg, parse_families)
{
	uint32_t f = 0;
	size_t bad = 99;
	cr_assert_eq(agg_parse_families("tokenring,gen_ai,asm,istio,kgateway", &f, &bad), 0);
	cr_assert_eq(f, AGG_FAM_TOKENRING | AGG_FAM_GEN_AI | AGG_FAM_ASM | AGG_FAM_ISTIO |
				AGG_FAM_KGATEWAY);
	cr_assert_eq(agg_parse_families("istio", &f, NULL), 0);
	cr_assert_eq(f, AGG_FAM_ISTIO);
	cr_assert_eq(agg_parse_families("tokenring,prom", &f, &bad), -EINVAL);
	cr_assert_eq(bad, 10);
	cr_assert_eq(agg_parse_families("", &f, &bad), -EINVAL);
	cr_assert_eq(bad, 0);
	cr_assert_eq(agg_parse_families("asm,", &f, &bad), -EINVAL);
	cr_assert_eq(bad, 4);
}

Test(agg, create_checks_header_label_names)
{
	const char *bad[] = {"model", "reporter", "1team", "te-am", "__x", "request_model",
			     "duration", "le", "llm", "requests", "success_rate",
			     "latency_p99_ms", "usage_missing"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct agg_config cfg = tc_config(0);
		struct agg *a = (struct agg *)1;
		strcpy(cfg.label_names[0], bad[i]);
		cr_assert_eq(agg_create(&cfg, &a), -EINVAL, "%s", bad[i]);
		cr_assert_null(a);
	}
	struct agg_config cfg = tc_config(0);
	struct agg *a;
	strcpy(cfg.label_names[0], "team");
	strcpy(cfg.label_names[1], "team");
	cr_assert_eq(agg_create(&cfg, &a), -EINVAL, "duplicate names");
	strcpy(cfg.label_names[1], "tenant_id");
	cr_assert_eq(agg_create(&cfg, &a), 0);
	agg_destroy(a);
	cfg = tc_config(1u << 7);
	cr_assert_eq(agg_create(&cfg, &a), -EINVAL, "unknown family bit");
	cfg = tc_config(0);
	cfg.max_series = AGG_MAX_SERIES_LIMIT + 1;
	cr_assert_eq(agg_create(&cfg, &a), -EINVAL);
	cfg = tc_config(0);
	cfg.label_max_values = AGG_LABEL_MAX_VALUES_LIMIT + 1;
	cr_assert_eq(agg_create(&cfg, &a), -EINVAL);
}

Test(agg, tokens_only_when_usage_available)
{
	struct agg *a = make();
	struct tr_record r;
	tc_record(&r);
	agg_ingest(a, &r, NULL);
	/* a hostile/buggy record with tokens but status missing: not counted */
	r.usage_status = REC_USAGE_MISSING;
	agg_ingest(a, &r, NULL);
	r.usage_status = 77; /* out of range: counted as none */
	agg_ingest(a, &r, NULL);
	struct series *s = only(a);
	cr_assert_eq(s->st.requests, 3);
	cr_assert_eq(s->st.prompt_tokens, 3);
	cr_assert_eq(s->st.completion_tokens, 55);
	cr_assert_eq(s->st.total_tokens, 58);
	cr_assert_eq(s->st.usage[REC_USAGE_AVAILABLE], 1);
	cr_assert_eq(s->st.usage[REC_USAGE_MISSING], 1);
	cr_assert_eq(s->st.usage[REC_USAGE_NONE], 1);
	cr_assert_eq(CNT(s->tokens[SERIES_TOK_INPUT], HIST_TOKENS_N), 1);
	agg_destroy(a);
}

Test(agg, time_per_output_token_rules)
{
	struct agg *a = make();
	struct tr_record r;
	/* plain response: duration only */
	tc_record(&r);
	agg_ingest(a, &r, NULL);
	struct series *s = only(a);
	cr_assert_eq(CNT(s->duration, HIST_U_DURATION_N), 1);
	cr_assert_eq(CNT(s->ttft, HIST_U_TTFT_N), 0);
	cr_assert_eq(CNT(s->tpot, HIST_U_TPOT_N), 0);
	/* stream without usage: TTFT yes, TPOT no */
	tc_record(&r);
	r.flags |= REC_F_STREAM;
	r.ttft_ns = MS(100);
	r.usage_status = REC_USAGE_NOT_REQUESTED;
	r.prompt_tokens = r.completion_tokens = r.total_tokens = 0;
	r.chunks = 10;
	agg_ingest(a, &r, NULL);
	cr_assert_eq(CNT(s->ttft, HIST_U_TTFT_N), 1);
	cr_assert_eq(CNT(s->tpot, HIST_U_TPOT_N), 0);
	cr_assert_eq(CNT(s->tpoc, HIST_TPOC_N), 1, "per-chunk time needs no usage");
	/* stream with usage but a single output token: no TPOT */
	tc_record(&r);
	r.flags |= REC_F_STREAM;
	r.ttft_ns = MS(100);
	r.completion_tokens = 1;
	agg_ingest(a, &r, NULL);
	cr_assert_eq(CNT(s->tpot, HIST_U_TPOT_N), 0);
	/* stream with usage: (1100 - 100) ms / (11 - 1) = 100 ms exactly -> le 0.1 */
	tc_record(&r);
	r.flags |= REC_F_STREAM;
	r.duration_ns = MS(1100);
	r.ttft_ns = MS(100);
	r.completion_tokens = 11;
	agg_ingest(a, &r, NULL);
	cr_assert_eq(CNT(s->tpot, HIST_U_TPOT_N), 1);
	cr_assert_eq(s->tpot.sum, MS(100));
	unsigned le_0_1 = 7; /* hist_u_tpot: 0.001 .. 0.075, 0.1 */
	cr_assert_eq(hist_u_tpot.le[le_0_1], MS(100));
	cr_assert_eq(s->tpot.n[le_0_1], 1);
	/* TTFT after the end (clock skew in a bad record): no TPOT */
	r.ttft_ns = MS(2000);
	agg_ingest(a, &r, NULL);
	cr_assert_eq(CNT(s->tpot, HIST_U_TPOT_N), 1);
	cr_assert_eq(CNT(s->ttft, HIST_U_TTFT_N), 4);
	/* a TTFT on a non-stream is ignored */
	tc_record(&r);
	r.ttft_ns = MS(5);
	agg_ingest(a, &r, NULL);
	cr_assert_eq(CNT(s->ttft, HIST_U_TTFT_N), 4);
	agg_destroy(a);
}

Test(agg, server_and_client_series_apart)
{
	struct agg *a = make();
	struct tr_record r;
	tc_record(&r);
	r.flags |= REC_F_STREAM;
	r.ttft_ns = MS(3);
	agg_ingest(a, &r, NULL);
	r.reporter = REC_REPORTER_DESTINATION;
	agg_ingest(a, &r, NULL);
	cr_assert_eq(agg_series(a), 2);
	struct series *c = &a->tab.series[0], *sv = &a->tab.series[1];
	/* both store 3 ms in the union's (1, 5] ms bucket ... */
	cr_assert_eq(c->ttft.n[1], 1);
	cr_assert_eq(sv->ttft.n[1], 1);
	/* ... and render it at their own family boundaries: the client's TTFC
	 * starts at 0.01 s, the server's TTFT at 0.001 s */
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_render_metrics(a, NULL, &b), 0);
	cr_assert_not_null(strstr(b.data, "gen_ai_client_operation_time_to_first_chunk_seconds_bucket{"
					  "gen_ai_operation_name=\"chat\",gen_ai_provider_name="
					  "\"dashscope\",gen_ai_request_model=\"qwen1.5-72b-chat\","
					  "server_address=\"dashscope.aliyuncs.com\",le=\"0.01\"} 1\n"));
	cr_assert_not_null(strstr(b.data, "gen_ai_server_time_to_first_token_seconds_bucket{"
					  "gen_ai_operation_name=\"chat\",gen_ai_provider_name="
					  "\"dashscope\",gen_ai_request_model=\"qwen1.5-72b-chat\","
					  "server_address=\"dashscope.aliyuncs.com\",le=\"0.001\"} 0\n"));
	cr_assert_not_null(strstr(b.data, "gen_ai_server_time_to_first_token_seconds_bucket{"
					  "gen_ai_operation_name=\"chat\",gen_ai_provider_name="
					  "\"dashscope\",gen_ai_request_model=\"qwen1.5-72b-chat\","
					  "server_address=\"dashscope.aliyuncs.com\",le=\"0.005\"} 1\n"));
	strbuf_free(&b);
	cr_assert_eq(CNT(c->tokens[SERIES_TOK_OUTPUT], HIST_TOKENS_N), 1);
	cr_assert_eq(CNT(sv->tokens[SERIES_TOK_OUTPUT], HIST_TOKENS_N), 0,
		     "token usage is a client metric");
	agg_destroy(a);
}

Test(agg, disabled_families_cost_nothing_at_ingest)
{
	struct agg_config cfg = tc_config(AGG_FAM_ASM);
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct tr_record r;
	tc_record(&r);
	agg_ingest(a, &r, NULL);
	struct series *s = only(a);
	cr_assert_eq(CNT(s->duration, HIST_U_DURATION_N), 0);
	cr_assert_eq(CNT(s->ttft, HIST_U_TTFT_N), 0);
	cr_assert_eq(s->st.prompt_tokens, 3);
	cr_assert_eq(s->iv_duration.count, 1, "summary quantiles always kept");
	agg_destroy(a);
}

Test(agg, price_per_series)
{
	struct agg_config cfg = tc_config(0);
	cfg.n_prices = 2;
	strcpy(cfg.prices[0].model, "gpt-4o");
	strcpy(cfg.prices[1].model, "qwen1.5-72b-chat");
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct tr_record r;
	tc_record(&r);
	agg_ingest(a, &r, NULL);
	strcpy(r.request_model, "other");
	agg_ingest(a, &r, NULL);
	cr_assert_eq(a->tab.series[0].price, 1);
	cr_assert_eq(a->tab.series[1].price, SERIES_NO_PRICE);
	agg_destroy(a);
	cfg.n_prices = AGG_MAX_PRICES + 1;
	cr_assert_eq(agg_create(&cfg, &a), -EINVAL);
}

/* Two tables that saw the same records render the same bytes: exposition
 * and summary. */
static void assert_same_output(const struct agg *a, const struct agg *b)
{
	struct strbuf s1, s2;
	strbuf_init(&s1);
	strbuf_init(&s2);
	cr_assert_eq(agg_render_metrics(a, NULL, &s1), 0);
	cr_assert_eq(agg_render_metrics(b, NULL, &s2), 0);
	cr_assert_str_eq(s1.data, s2.data);
	strbuf_reset(&s1);
	strbuf_reset(&s2);
	cr_assert_eq(agg_render_summary(a, 1, &s1), 0);
	cr_assert_eq(agg_render_summary(b, 1, &s2), 0);
	cr_assert_str_eq(s1.data, s2.data);
	strbuf_free(&s1);
	strbuf_free(&s2);
}

/* The batched ingest gives byte-for-byte the same exposition and summary
 * as record-by-record ingest, bounds and overflow included. */
/* Every family on, small bounds so that folding happens. */
static struct agg_config all_families(uint32_t max_series, uint32_t max_values)
{
	struct agg_config cfg = tc_config(AGG_FAM_TOKENRING | AGG_FAM_GEN_AI | AGG_FAM_ASM |
					  AGG_FAM_ISTIO | AGG_FAM_KGATEWAY);
	cfg.max_series = max_series;
	cfg.label_max_values = max_values;
	strcpy(cfg.label_names[0], "team");
	return cfg;
}

Test(agg, batch_equals_sequential)
{
	struct agg_config cfg = all_families(20, 5);
	struct agg *seq, *bat;
	cr_assert_eq(agg_create(&cfg, &seq), 0);
	cr_assert_eq(agg_create(&cfg, &bat), 0);
	enum { N = 777 };
	static struct tr_record recs[N];
	static struct agg_identity idv[3];
	const struct agg_identity *ids[N];
	for (unsigned w = 0; w < 3; w++) {
		idv[w] = tc_identity();
		idv[w].workload[0] = (char)('a' + w);
	}
	uint64_t x = 12345;
	for (unsigned i = 0; i < N; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		struct tr_record *r = &recs[i];
		tc_record(r);
		snprintf(r->request_model, sizeof(r->request_model), "m%u", (unsigned)(x >> 60));
		snprintf(r->labels[0], sizeof(r->labels[0]), "t%u", (unsigned)(x >> 58) % 7);
		r->reporter = (uint8_t)(1 + (x >> 40) % 2);
		r->status = (x >> 30) % 5 ? 200 : 500;
		r->duration_ns = (x >> 20) % 5000000000ull;
		if ((x >> 10) % 2) {
			r->flags |= REC_F_STREAM;
			r->ttft_ns = r->duration_ns / 3;
			r->chunks = (uint32_t)(x % 50);
		}
		ids[i] = (x >> 5) % 4 ? &idv[(x >> 7) % 3] : NULL;
	}
	for (unsigned i = 0; i < N; i++)
		agg_ingest(seq, &recs[i], ids[i]);
	/* uneven batches, including tiny ones shorter than the pipeline */
	unsigned sizes[] = {1, 2, 5, 100, 13, 256, 400};
	unsigned at = 0;
	for (unsigned k = 0; at < N; k++) {
		unsigned n = sizes[k % 7] < N - at ? sizes[k % 7] : N - at;
		agg_ingest_batch(bat, &recs[at], &ids[at], n);
		at += n;
	}
	agg_ingest_batch(bat, recs, NULL, 0);
	struct strbuf s1, s2;
	strbuf_init(&s1);
	strbuf_init(&s2);
	cr_assert_eq(agg_render_metrics(seq, NULL, &s1), 0);
	cr_assert_eq(agg_render_metrics(bat, NULL, &s2), 0);
	cr_assert_gt(seq->tab.overflow_records, 0, "overflow exercised");
	cr_assert_gt(seq->tab.label_overflow[SERIES_B_LABEL0], 0, "label bound exercised");
	cr_assert_eq(s1.len, s2.len);
	cr_assert_str_eq(s1.data, s2.data);
	strbuf_reset(&s1);
	strbuf_reset(&s2);
	cr_assert_eq(agg_render_summary(seq, 1, &s1), 0);
	cr_assert_eq(agg_render_summary(bat, 1, &s2), 0);
	cr_assert_str_eq(s1.data, s2.data);
	strbuf_free(&s1);
	strbuf_free(&s2);
	agg_destroy(seq);
	agg_destroy(bat);
}

Test(agg, unconfigured_label_slot_is_ignored)
{
	struct agg_config cfg = tc_config(0);
	strcpy(cfg.label_names[1], "tenant");
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct tr_record r;
	tc_record(&r);
	strcpy(r.labels[1], "acme");
	for (unsigned i = 0; i < 5; i++) {
		snprintf(r.labels[0], sizeof(r.labels[0]), "junk-%u", i);
		agg_ingest(a, &r, NULL);
	}
	cr_assert_eq(agg_series(a), 1, "slot 0 has no label name: not part of the tuple");
	cr_assert_str_eq(a->tab.series[0].key.labels[0], "");
	cr_assert_str_eq(a->tab.series[0].key.labels[1], "acme");
	cr_assert_eq(a->tab.label_overflow[SERIES_B_LABEL0], 0);
	agg_destroy(a);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Records of random bytes (a hostile or buggy writer whose record passed
 * the checksum): ingest, render, summarise and log them without a crash,
 * with bounded series and one sample per label set. */
Test(agg, garbage_records)
{
	struct agg_config cfg = all_families(50, 10);
	strcpy(cfg.label_names[1], "tenant");
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct strbuf log;
	strbuf_init(&log);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < 3000; i++) {
		struct tr_record r;
		unsigned char *p = (unsigned char *)&r;
		for (size_t k = 0; k < sizeof(r); k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[k] = (unsigned char)x;
		}
		if (i % 3 == 0) { /* plausible enums and small strings a third of the time */
			r.reporter = (uint8_t)(i % 3);
			r.usage_status = (uint8_t)(i % REC_USAGE_COUNT);
			r.request_model[i % 8] = 0;
		}
		if (i % 3 == 1) { /* byte strings that print alike must not split */
			static const char *const alike[] = {"m\xff", "m\xfe", "m\x01", "m\x80"};
			memset(&r, 0, offsetof(struct tr_record, method));
			memset(r.request_model, 0, sizeof(r.request_model));
			strcpy(r.request_model, alike[i % 4]);
			memset(r.authority, 0, sizeof(r.authority));
			memset(r.labels, 0, sizeof(r.labels));
			r.reporter = REC_REPORTER_SOURCE;
		}
		struct agg_identity id;
		memcpy(&id, p + 100, sizeof(id)); /* unterminated identity too */
		agg_ingest(a, &r, i % 2 ? &id : NULL);
		strbuf_reset(&log);
		cr_assert_eq(alog_format(&r, &id, &cfg, &log), 0);
		cJSON *j = cJSON_Parse(log.data);
		cr_assert_not_null(j, "log line %u parses", i);
		cJSON_Delete(j);
	}
	cr_assert_leq(agg_series(a), 50 + 3);
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_render_metrics(a, NULL, &b), 0);
	/* every sample line: series, space, number; no series twice */
	unsigned samples = 0;
	static char *series[200000];
	for (char *l = b.data; *l;) {
		char *nl = strchr(l, '\n');
		cr_assert_not_null(nl);
		*nl = 0;
		if (*l != '#') {
			char *sp = strrchr(l, ' ');
			cr_assert_not_null(sp);
			char *end;
			strtod(sp + 1, &end);
			cr_assert_eq(end, nl, "numeric value");
			*sp = 0;
			cr_assert_lt(samples, 200000);
			series[samples++] = l;
		}
		l = nl + 1;
	}
	cr_assert_gt(samples, 100);
	qsort(series, samples, sizeof(*series), cmp_str);
	for (unsigned i = 1; i < samples; i++)
		cr_assert_str_neq(series[i - 1], series[i], "duplicate series");
	strbuf_reset(&b);
	cr_assert_eq(agg_render_summary(a, 1, &b), 0);
	cJSON *doc = cJSON_Parse(b.data);
	cr_assert_not_null(doc);
	cJSON_Delete(doc);
	strbuf_reset(&b);
	cr_assert_eq(agg_summary_lines(a, 2, &b), 0);
	strbuf_free(&b);
	strbuf_free(&log);
	agg_destroy(a);
}

/* Groupings are kept from scrape to scrape and extended with new series:
 * scraping in between changes nothing in what a later scrape shows. */
Test(agg, groupings_extend_across_scrapes)
{
	struct agg_config cfg = all_families(40, 8);
	struct agg *inc, *once;
	cr_assert_eq(agg_create(&cfg, &inc), 0);
	cr_assert_eq(agg_create(&cfg, &once), 0);
	struct agg_identity ids[3];
	for (unsigned w = 0; w < 3; w++) {
		ids[w] = tc_identity();
		ids[w].workload[0] = (char)('p' + w);
	}
	struct strbuf b1, b2;
	strbuf_init(&b1);
	strbuf_init(&b2);
	uint64_t x = 99;
	for (unsigned i = 0; i < 600; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		struct tr_record r;
		tc_record(&r);
		/* new tuples keep coming: some join existing groups of a family
		 * (another status or operation), some make new ones */
		snprintf(r.request_model, sizeof(r.request_model), "m%u", (unsigned)(x >> 61));
		snprintf(r.labels[0], sizeof(r.labels[0]), "t%u", (unsigned)(x >> 57) % 5);
		r.status = (x >> 30) % 3 ? 200 : 429;
		r.operation = (uint8_t)(1 + (x >> 20) % 2);
		r.reporter = (uint8_t)(1 + (x >> 40) % 2);
		r.duration_ns = (x >> 8) % 3000000000ull;
		const struct agg_identity *id = &ids[(x >> 45) % 3];
		agg_ingest(inc, &r, id);
		agg_ingest(once, &r, id);
		if (i % 37 == 0) { /* a scrape and a summary now and then */
			strbuf_reset(&b1);
			cr_assert_eq(agg_render_metrics(inc, NULL, &b1), 0);
			cr_assert_eq(agg_render_summary(inc, 1, &b1), 0);
		}
	}
	strbuf_reset(&b1);
	cr_assert_eq(agg_render_metrics(inc, NULL, &b1), 0);
	cr_assert_eq(agg_render_summary(inc, 1, &b1), 0);
	cr_assert_eq(agg_render_metrics(once, NULL, &b2), 0);
	cr_assert_eq(agg_render_summary(once, 1, &b2), 0);
	cr_assert_gt(agg_series(inc), 30);
	cr_assert_str_eq(b1.data, b2.data);
	strbuf_free(&b1);
	strbuf_free(&b2);
	agg_destroy(inc);
	agg_destroy(once);
}

/* The tuple cache (struct agg_fp) is invisible: the same records ingested
 * with the cache emptied before every record (slow path only) render the
 * same metrics and summary and count the same folds. The stream repeats
 * tuples, varies what the cache key must see (identity, status, models,
 * the address a missing authority falls back to) and what it must not
 * depend on (an unconfigured label slot, the local port of a client), and
 * runs past both bounds so folds are counted per record. */
Test(agg, tuple_cache_is_invisible)
{
	struct agg_config cfg = all_families(40, 3);
	struct agg *cached, *slow;
	cr_assert_eq(agg_create(&cfg, &cached), 0);
	cr_assert_eq(agg_create(&cfg, &slow), 0);
	struct agg_identity idv[2] = {tc_identity(), tc_identity()};
	strcpy(idv[1].namespace_, "other");
	uint64_t x = 99;
	for (unsigned i = 0; i < 3000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		struct tr_record r;
		tc_record(&r);
		snprintf(r.request_model, sizeof(r.request_model), "m%u", (unsigned)(x >> 61));
		snprintf(r.labels[0], sizeof(r.labels[0]), "t%u", (unsigned)(x >> 59) % 5);
		memset(r.labels[1], (int)(x >> 8), sizeof(r.labels[1])); /* no name: not a label */
		r.status = (x >> 30) % 4 ? 200 : 429;
		r.reporter = (uint8_t)(1 + (x >> 40) % 2);
		r.local.port = (uint16_t)(x >> 16); /* a client's ephemeral port */
		if ((x >> 50) % 3 == 0) {
			r.authority[0] = 0; /* destination from the address */
			r.peer.addr[3] = (uint8_t)((x >> 44) % 3);
		}
		const struct agg_identity *id = (x >> 5) % 5 ? &idv[(x >> 7) % 2] : NULL;
		agg_ingest_batch(cached, &r, &id, 1);
		for (unsigned s = 0; s < AGG_FP_SLOTS; s++)
			slow->fp->series[s] = AGG_FP_EMPTY;
		agg_ingest(slow, &r, id);
	}
	unsigned used = 0;
	for (unsigned s = 0; s < AGG_FP_SLOTS; s++)
		used += cached->fp->series[s] != AGG_FP_EMPTY;
	cr_assert_gt(used, 4, "the cache was used");
	cr_assert_gt(slow->tab.overflow_records, 0, "series bound exercised");
	cr_assert_gt(slow->tab.label_overflow[SERIES_B_MODEL], 0, "model bound exercised");
	cr_assert_eq(cached->tab.overflow_records, slow->tab.overflow_records);
	for (unsigned b = 0; b < SERIES_BOUNDED; b++)
		cr_assert_eq(cached->tab.label_overflow[b], slow->tab.label_overflow[b]);
	assert_same_output(cached, slow);
	agg_destroy(cached);
	agg_destroy(slow);
}

/* Runs of one tuple (the batch's "same as the record before" path):
 * byte-for-byte the exposition and summary of record-by-record ingest with
 * the tuple cache wiped before every record, folds included. Runs cross
 * the series and value bounds (a run whose tuple folds counts each
 * record's fold), a run may differ only in a byte the key ignores (past a
 * string's NUL, an unnamed label slot: still one series), in its
 * identity's pointer but not its bytes, or in the one address a
 * destination comes from; a record in a run may change one label of the
 * tuple or its writer (then it is another tuple); and runs straddle batch
 * boundaries. Both tuple compares: AVX2 (where the CPU has it) and SSE2. */
Test(agg, tuple_runs_are_invisible)
{
	struct agg_config cfg = all_families(48, 4);
	struct agg *bat, *sse2, *slow;
	cr_assert_eq(agg_create(&cfg, &bat), 0);
	cr_assert_eq(agg_create(&cfg, &sse2), 0);
	cr_assert_eq(agg_create(&cfg, &slow), 0);
	sse2->avx2 = false; /* the compare every x86-64 has, whatever this CPU has */
	enum { N = 3000 };
	static struct tr_record recs[N];
	static struct agg_identity idv[3];
	const struct agg_identity *ids[N];
	idv[0] = tc_identity();
	idv[1] = tc_identity(); /* same bytes, another pointer */
	idv[2] = tc_identity();
	strcpy(idv[2].workload, "other");
	uint64_t x = 5;
	unsigned left = 0;
	for (unsigned i = 0; i < N; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		if (left == 0) { /* a new run: a new tuple */
			left = 1 + (unsigned)(x >> 59);
			tc_record(&recs[i]);
			snprintf(recs[i].request_model, sizeof(recs[i].request_model), "m%u",
				 (unsigned)(x >> 40) % 6);
			snprintf(recs[i].labels[0], sizeof(recs[i].labels[0]), "t%u",
				 (unsigned)(x >> 36) % 5);
			recs[i].status = (x >> 30) % 3 ? 200 : 503;
			if ((x >> 20) % 4 == 0)
				recs[i].authority[0] = 0; /* destination from the peer */
			ids[i] = (x >> 10) % 5 ? &idv[(x >> 12) % 3] : NULL;
		} else { /* the run goes on: same tuple, other numbers */
			recs[i] = recs[i - 1];
			ids[i] = ids[i - 1];
			if (ids[i] == &idv[0] && (x >> 8) % 2)
				ids[i] = &idv[1];
			switch ((x >> 50) % 10) {
			case 0: /* past the NUL: not part of the key */
				recs[i].request_model[sizeof(recs[i].request_model) - 1] = 'z';
				break;
			case 1: /* an unnamed label slot: not a label */
				recs[i].labels[1][0] = (char)('a' + (x >> 5) % 20);
				break;
			case 2: /* the local port: the destination is the peer */
				recs[i].local.port = (uint16_t)(x >> 3);
				break;
			case 3: /* the peer: a new tuple when no authority names it */
				recs[i].peer.addr[3] = (uint8_t)((x >> 7) % 2);
				break;
			case 4: /* a named header label: another tuple */
				recs[i].labels[0][1] = (char)('0' + (x >> 9) % 10);
				break;
			case 5: /* the response code */
				recs[i].status = recs[i].status == 200 ? 429 : 200;
				break;
			case 6: /* the response model (the last of the three strings) */
				recs[i].response_model[0] = (char)('a' + (x >> 11) % 3);
				break;
			case 7: /* the reporter */
				recs[i].reporter = (uint8_t)(1 + (x >> 13) % 2);
				break;
			case 8: /* the writer: another workload, or none known */
				ids[i] = (x >> 14) % 2 ? NULL : ids[i] == &idv[2] ? &idv[0] : &idv[2];
				break;
			default:
				break;
			}
		}
		left--;
		recs[i].duration_ns = (x >> 16) % 3000000000ull;
		recs[i].prompt_tokens = (uint32_t)(x % 300);
		if ((x >> 48) % 2) {
			recs[i].flags |= REC_F_STREAM;
			recs[i].ttft_ns = recs[i].duration_ns / 4;
			recs[i].chunks = (uint32_t)(x % 40);
		}
	}
	unsigned sizes[] = {1, 7, 64, 3, 200, 1024, 2};
	for (unsigned at = 0, k = 0; at < N; k++) {
		unsigned n = sizes[k % 7] < N - at ? sizes[k % 7] : N - at;
		agg_ingest_batch(bat, &recs[at], &ids[at], n);
		agg_ingest_batch(sse2, &recs[at], &ids[at], n);
		at += n;
	}
	for (unsigned i = 0; i < N; i++) {
		for (unsigned s = 0; s < AGG_FP_SLOTS; s++)
			slow->fp->series[s] = AGG_FP_EMPTY;
		agg_ingest(slow, &recs[i], ids[i]);
	}
	cr_assert_gt(slow->tab.overflow_records, 0, "series bound exercised");
	cr_assert_gt(slow->tab.label_overflow[SERIES_B_MODEL], 0, "model bound exercised");
	cr_assert_eq(bat->tab.overflow_records, slow->tab.overflow_records);
	for (unsigned b = 0; b < SERIES_BOUNDED; b++)
		cr_assert_eq(bat->tab.label_overflow[b], slow->tab.label_overflow[b]);
	cr_assert_eq(bat->records, N);
	assert_same_output(bat, slow);
	cr_assert_eq(sse2->tab.overflow_records, slow->tab.overflow_records);
	for (unsigned b = 0; b < SERIES_BOUNDED; b++)
		cr_assert_eq(sse2->tab.label_overflow[b], slow->tab.label_overflow[b]);
	assert_same_output(sse2, slow);
	agg_destroy(bat);
	agg_destroy(sse2);
	agg_destroy(slow);
}
