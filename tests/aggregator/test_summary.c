/* test_summary.c - GET /api/v1/summary and the summary log lines: parsed
 * back with cJSON; per-tuple success rate, 4xx/5xx, tokens, quantiles,
 * usage mix; intervals start afresh after each summary_lines call. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "agg_internal.h"
#include "test_core_helpers.h"

#define NOW 1720754460123456789ull /* __time__ = 1720754460 */

static double num(const cJSON *o, const char *k)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsNumber(f), "%s is a number", k);
	return f->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsString(f), "%s is a string", k);
	return f->valuestring;
}

/* 100 requests sleep -> qwen: durations 1..100 ms, every 10th a 500,
 * every 20th (from 5) a 429; streams with TTFT 10 ms for even i. */
static struct agg *make(void)
{
	struct agg_config cfg = tc_config(0);
	strcpy(cfg.label_names[0], "team");
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct agg_identity id = tc_identity();
	for (unsigned i = 1; i <= 100; i++) {
		struct tr_record r;
		tc_record(&r);
		strcpy(r.labels[0], "dev");
		r.duration_ns = MS(i);
		if (i % 10 == 0)
			r.status = 500;
		else if (i % 20 == 5)
			r.status = 429;
		if (i % 2 == 0) {
			r.flags |= REC_F_STREAM;
			r.ttft_ns = MS(10);
			r.chunks = 3;
		}
		if (i % 25 == 0) {
			r.usage_status = REC_USAGE_NOT_REQUESTED;
			r.prompt_tokens = r.completion_tokens = r.total_tokens = 0;
		}
		agg_ingest(a, &r, &id);
	}
	return a;
}

Test(summary, document_cumulative)
{
	struct agg *a = make();
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_render_summary(a, NOW, &b), 0);
	cJSON *doc = cJSON_Parse(b.data);
	cr_assert_not_null(doc, "%s", b.data);
	cr_assert_eq(num(doc, "__time__"), 1720754460.0);
	cr_assert_eq(num(doc, "records"), 100);
	const cJSON *series = cJSON_GetObjectItemCaseSensitive(doc, "series");
	cr_assert(cJSON_IsArray(series));
	/* 200, 429 and 500 series are one summary tuple */
	cr_assert_eq(cJSON_GetArraySize(series), 1);
	const cJSON *s = cJSON_GetArrayItem(series, 0);
	cr_assert_str_eq(str(s, "reporter"), "source");
	cr_assert_str_eq(str(s, "source_workload"), "sleep");
	cr_assert_str_eq(str(s, "source_namespace"), "default");
	cr_assert_str_eq(str(s, "destination_service"), "dashscope.aliyuncs.com");
	cr_assert_str_eq(str(s, "provider"), "dashscope");
	cr_assert_str_eq(str(s, "model"), "qwen1.5-72b-chat");
	cr_assert_str_eq(str(s, "team"), "dev");
	cr_assert_eq(num(s, "requests"), 100);
	cr_assert_eq(num(s, "successes"), 85);
	cr_assert_eq(num(s, "success_rate"), 0.85);
	cr_assert_eq(num(s, "4xx"), 5);
	cr_assert_eq(num(s, "5xx"), 10);
	cr_assert_eq(num(s, "prompt_tokens"), 96 * 3);
	cr_assert_eq(num(s, "completion_tokens"), 96 * 55);
	cr_assert_eq(num(s, "total_tokens"), 96 * 58);
	cr_assert_eq(num(s, "usage_available"), 96);
	cr_assert_eq(num(s, "usage_not_requested"), 4);
	cr_assert_eq(num(s, "usage_missing"), 0);
	cr_assert_eq(num(s, "chunks"), 50 * 3);
	/* nearest rank of 1..100 ms: p50 = 50, p95 = 95, p99 = 99 (within 1%) */
	cr_assert_leq(fabs(num(s, "latency_p50_ms") - 50) / 50, 0.01);
	cr_assert_leq(fabs(num(s, "latency_p95_ms") - 95) / 95, 0.01);
	cr_assert_leq(fabs(num(s, "latency_p99_ms") - 99) / 99, 0.01);
	cr_assert_eq(num(s, "ttft_p50_ms"), 10);
	cr_assert_eq(num(s, "ttft_p99_ms"), 10);
	cJSON_Delete(doc);
	strbuf_free(&b);
	agg_destroy(a);
}

Test(summary, lines_per_interval)
{
	struct agg *a = make();
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_summary_lines(a, NOW, &b), 0);
	cr_assert_eq(b.data[b.len - 1], '\n');
	cr_assert_null(memchr(b.data, '\n', b.len - 1), "one active tuple, one line");
	cJSON *l = cJSON_Parse(b.data);
	cr_assert_not_null(l);
	cr_assert_str_eq(l->child->string, "__time__", "__time__ first");
	cr_assert_eq(num(l, "__time__"), 1720754460.0);
	cr_assert_eq(num(l, "requests"), 100);
	cr_assert_eq(num(l, "success_rate"), 0.85);
	cJSON_Delete(l);

	/* nothing new: no line */
	strbuf_reset(&b);
	cr_assert_eq(agg_summary_lines(a, NOW + 10000000000ull, &b), 0);
	cr_assert_eq(b.len, 0);

	/* the next interval only counts its own records */
	struct agg_identity id = tc_identity();
	struct tr_record r;
	tc_record(&r);
	strcpy(r.labels[0], "dev");
	r.duration_ns = MS(700);
	r.status = 503;
	agg_ingest(a, &r, &id);
	cr_assert_eq(agg_summary_lines(a, NOW + 20000000000ull, &b), 0);
	l = cJSON_Parse(b.data);
	cr_assert_not_null(l);
	cr_assert_eq(num(l, "__time__"), 1720754480.0);
	cr_assert_eq(num(l, "requests"), 1);
	cr_assert_eq(num(l, "successes"), 0);
	cr_assert_eq(num(l, "success_rate"), 0);
	cr_assert_eq(num(l, "5xx"), 1);
	cr_assert_eq(num(l, "prompt_tokens"), 3);
	cr_assert_eq(num(l, "latency_p50_ms"), 700);
	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(l, "ttft_p50_ms")),
		  "no stream in the interval: no TTFT, not 0");
	cJSON_Delete(l);

	/* while the document stays cumulative */
	strbuf_reset(&b);
	cr_assert_eq(agg_render_summary(a, NOW, &b), 0);
	cJSON *doc = cJSON_Parse(b.data);
	const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "series"), 0);
	cr_assert_eq(num(s, "requests"), 101);
	/* quantiles over both intervals: 1..100 ms and 700 ms */
	cr_assert_eq(num(s, "latency_p99_ms") < 101, 1);
	cr_assert_leq(fabs(num(s, "latency_p50_ms") - 51) / 51, 0.01);
	cr_assert_eq(num(s, "latency_p99_ms") >= 99 * 0.99, 1);
	cJSON_Delete(doc);
	strbuf_free(&b);
	agg_destroy(a);
}

Test(summary, hostile_strings_stay_valid_json)
{
	struct agg_config cfg = tc_config(0);
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct tr_record r;
	tc_record(&r);
	memcpy(r.request_model, "m\"\\\n\x01\xff", 7);
	agg_ingest(a, &r, NULL);
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_render_summary(a, NOW, &b), 0);
	cJSON *doc = cJSON_Parse(b.data);
	cr_assert_not_null(doc, "%s", b.data);
	const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "series"), 0);
	/* the control byte and the bad byte both print as U+FFFD */
	cr_assert_str_eq(str(s, "model"), "m\"\\\n\xef\xbf\xbd\xef\xbf\xbd");
	cr_assert_str_eq(str(s, "source_workload"), "unknown");
	cJSON_Delete(doc);
	strbuf_free(&b);
	agg_destroy(a);
}

/* Many intervals: the interval sketches give their chunks back every time,
 * the pool holds exactly the cumulative sketches' chunks, and the
 * cumulative quantiles cover every interval. */
Test(summary, intervals_do_not_leak_sketch_chunks)
{
	struct agg_config cfg = tc_config(0);
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct strbuf b;
	strbuf_init(&b);
	uint64_t x = 7;
	for (unsigned iv = 0; iv < 50; iv++) {
		for (unsigned i = 0; i < 40; i++) {
			struct tr_record r;
			tc_record(&r);
			x = x * 6364136223846793005ull + 1;
			snprintf(r.request_model, sizeof(r.request_model), "m%u", (unsigned)(x >> 61));
			r.duration_ns = MS(1) << (x >> 59) % 20; /* 1 ms .. 9 min: many octaves */
			r.flags |= REC_F_STREAM;
			r.ttft_ns = r.duration_ns / 4;
			agg_ingest(a, &r, NULL);
		}
		strbuf_reset(&b);
		cr_assert_eq(agg_summary_lines(a, NOW, &b), 0);
		uint32_t held = 0;
		for (uint32_t s = 0; s < a->tab.used; s++) {
			const struct series *se = &a->tab.series[s];
			cr_assert_eq(se->iv_duration.count, 0);
			/* the cumulative sketches, and the export-only ones */
			const struct hist *kept[] = {&se->q_duration, &se->q_ttft, &se->nh_tpot,
						     &se->nh_tpoc, &se->nh_tokens[0],
						     &se->nh_tokens[1], &se->nh_tokens[2],
						     &se->nh_tokens[3]};
			for (unsigned k = 0; k < sizeof kept / sizeof kept[0]; k++)
				for (unsigned o = 0; o < HIST_OCTAVES; o++)
					held += kept[k]->oct[o].chunk != HIST_NO_CHUNK;
		}
		cr_assert_eq(a->pool.in_use, held, "interval %u", iv);
	}
	cr_assert_eq(a->pool.exhausted, 0);
	uint64_t total = 0;
	for (uint32_t s = 0; s < a->tab.used; s++)
		total += a->tab.series[s].q_duration.count;
	cr_assert_eq(total, 50 * 40);
	strbuf_free(&b);
	agg_destroy(a);
}
