/* test_expo.c - Prometheus exposition: exact text for a small known set of
 * records, label escaping (quotes, backslashes, newlines, control bytes,
 * invalid UTF-8, 10 KB values), number formatting, no duplicate series. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "esc.h"
#include "expo.h"
#include "test_core_helpers.h"

/* Three records: two from sleep to dashscope (one plain, one stream with
 * cached and reasoning tokens and a response model), one served by vllm
 * (reporter destination, 503, usage missing, no authority). */
static char *render(const char *families, struct agg_config *cfgp)
{
	struct agg_config cfg = cfgp ? *cfgp : tc_config(0);
	cr_assert_eq(agg_parse_families(families, &cfg.families, NULL), 0);
	cfg.n_prices = 1;
	strcpy(cfg.prices[0].model, "qwen1.5-72b-chat");
	cfg.prices[0].input_usd_per_mtok = 2;
	cfg.prices[0].output_usd_per_mtok = 6;
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct agg_identity id = tc_identity();
	struct tr_record r;
	tc_record(&r);
	strcpy(r.labels[0], "dev");
	agg_ingest(a, &r, &id);
	tc_record(&r);
	strcpy(r.labels[0], "dev");
	r.flags |= REC_F_STREAM;
	r.duration_ns = MS(2759);
	r.ttft_ns = MS(500);
	r.prompt_tokens = 11;
	r.completion_tokens = 90;
	r.total_tokens = 101;
	r.chunks = 30;
	r.cached_tokens = 5;
	r.cache_creation_tokens = 4;
	r.reasoning_tokens = 7;
	strcpy(r.response_model, "qwen1.5-72b-chat-0712");
	agg_ingest(a, &r, &id);
	tc_record(&r);
	r.reporter = REC_REPORTER_DESTINATION;
	strcpy(r.request_model, "llama3");
	r.status = 503;
	r.usage_status = REC_USAGE_MISSING;
	r.prompt_tokens = r.completion_tokens = r.total_tokens = 0;
	r.duration_ns = MS(120);
	r.provider = REC_PROVIDER_OPENAI;
	r.authority[0] = 0;
	struct agg_identity id2 = tc_identity();
	strcpy(id2.workload, "vllm");
	strcpy(id2.namespace_, "llm");
	agg_ingest(a, &r, &id2);
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_render_metrics(a, NULL, &b), 0);
	agg_destroy(a);
	/* cut the self-metrics off: tested separately */
	char *self = strstr(b.data, "# HELP tokenring_ring_capacity");
	cr_assert_not_null(self);
	*self = 0;
	return b.data;
}

static void has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	cr_assert_fail("missing line: %s", line);
}

static unsigned count_lines(const char *text, const char *prefix)
{
	unsigned n = 0;
	size_t pl = strlen(prefix);
	for (const char *p = text; *p;) {
		if (strncmp(p, prefix, pl) == 0)
			n++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

/* Every sample line's series (text before the last space) is unique. */
static void no_duplicate_series(const char *text)
{
	char *copy = strdup(text);
	unsigned n = 0;
	char *lines[4096];
	for (char *save, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#')
			continue;
		char *sp = strrchr(l, ' ');
		cr_assert_not_null(sp);
		*sp = 0;
		cr_assert_lt(n, 4096);
		lines[n++] = l;
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			cr_assert_str_neq(lines[i], lines[j], "duplicate series");
	free(copy);
}

Test(expo, golden_asm_and_kgateway)
{
	char *t = render("asm,kgateway", NULL);
	cr_assert_str_eq(
		t,
		"# HELP asm_llm_proxy_prompt_tokens Number of input tokens\n"
		"# TYPE asm_llm_proxy_prompt_tokens counter\n"
		"asm_llm_proxy_prompt_tokens{llmproxy_source_workload=\"sleep\","
		"llmproxy_source_workload_namespace=\"default\","
		"llmproxy_destination_service=\"dashscope.aliyuncs.com\","
		"llmproxy_model=\"qwen1.5-72b-chat\"} 14\n"
		"# HELP asm_llm_proxy_completion_tokens Number of output tokens\n"
		"# TYPE asm_llm_proxy_completion_tokens counter\n"
		"asm_llm_proxy_completion_tokens{llmproxy_source_workload=\"sleep\","
		"llmproxy_source_workload_namespace=\"default\","
		"llmproxy_destination_service=\"dashscope.aliyuncs.com\","
		"llmproxy_model=\"qwen1.5-72b-chat\"} 145\n"
		"# HELP ai_prompt_tokens_total Prompt tokens\n"
		"# TYPE ai_prompt_tokens_total counter\n"
		"ai_prompt_tokens_total{llm=\"dashscope\",model=\"qwen1.5-72b-chat\"} 14\n"
		"# HELP ai_completion_tokens_total Completion tokens\n"
		"# TYPE ai_completion_tokens_total counter\n"
		"ai_completion_tokens_total{llm=\"dashscope\",model=\"qwen1.5-72b-chat\"} 145\n");
	free(t);
}

/* The whole default exposition for one streamed record, byte for byte
 * (test_expo_golden.prom; its values were checked by hand: 7.64 s <= 10,
 * TTFT 0.5 s counted at le="0.5", (7640 - 500) ms / 54 tokens = 132.2 ms,
 * (7640 - 500) ms / 29 chunks = 246.2 ms, 3 input tokens <= 4, 55 <= 64). */
Test(expo, golden_default_families)
{
	struct agg_config cfg = tc_config(AGG_FAM_DEFAULT);
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct agg_identity id = tc_identity();
	struct tr_record r;
	tc_record(&r);
	r.flags |= REC_F_STREAM;
	r.ttft_ns = MS(500);
	r.chunks = 30;
	agg_ingest(a, &r, &id);
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_render_metrics(a, NULL, &b), 0);
	char *self = strstr(b.data, "# HELP tokenring_ring_capacity");
	cr_assert_not_null(self);
	*self = 0;
	FILE *f = fopen(CORE_TEST_DIR "/test_expo_golden.prom", "r");
	cr_assert_not_null(f);
	static char want[1 << 16];
	size_t n = fread(want, 1, sizeof(want) - 1, f);
	fclose(f);
	want[n] = 0;
	cr_assert_str_eq(b.data, want);
	strbuf_free(&b);
	agg_destroy(a);
}

Test(expo, kgateway_custom_label_from_header)
{
	struct agg_config cfg = tc_config(0);
	strcpy(cfg.label_names[0], "team");
	char *t = render("kgateway", &cfg);
	has_line(t, "ai_prompt_tokens_total{llm=\"dashscope\",model=\"qwen1.5-72b-chat\","
		    "team=\"dev\"} 14");
	free(t);
}

#define SRC "reporter=\"source\",source_workload=\"sleep\",source_namespace=\"default\"," \
	    "destination_service=\"dashscope.aliyuncs.com\",provider=\"dashscope\","     \
	    "model=\"qwen1.5-72b-chat\",response_code=\"200\""
#define DST "reporter=\"destination\",source_workload=\"vllm\",source_namespace=\"llm\"," \
	    "destination_service=\"192.168.34.235:39066\",provider=\"openai\","          \
	    "model=\"llama3\",response_code=\"503\""

Test(expo, tokenring_family_exact_values)
{
	char *t = render("tokenring", NULL);
	has_line(t, "# TYPE tokenring_requests_total counter");
	has_line(t, "tokenring_requests_total{" SRC "} 2");
	has_line(t, "tokenring_requests_total{" DST "} 1");
	has_line(t, "tokenring_prompt_tokens_total{" SRC "} 14");
	has_line(t, "tokenring_prompt_tokens_total{" DST "} 0");
	has_line(t, "tokenring_completion_tokens_total{" SRC "} 145");
	has_line(t, "tokenring_cached_tokens_total{" SRC "} 5");
	has_line(t, "tokenring_cache_creation_tokens_total{" SRC "} 4");
	has_line(t, "tokenring_reasoning_tokens_total{" SRC "} 7");
	has_line(t, "tokenring_request_bytes_total{" SRC "} 170");
	has_line(t, "tokenring_response_bytes_total{" DST "} 617");
	has_line(t, "tokenring_stream_chunks_total{" SRC "} 30");
	has_line(t, "tokenring_usage_total{" SRC ",status=\"available\"} 2");
	has_line(t, "tokenring_usage_total{" DST ",status=\"missing\"} 1");
	cr_assert_eq(count_lines(t, "tokenring_usage_total{"), 2, "zero statuses left out");
	/* 14 prompt * $2/M + 145 completion * $6/M */
	has_line(t, "tokenring_cost_usd_total{" SRC "} 0.000898");
	cr_assert_eq(count_lines(t, "tokenring_cost_usd_total{"), 1, "no price, no cost line");
	has_line(t, "tokenring_request_duration_seconds_bucket{" SRC ",le=\"2.5\"} 0");
	has_line(t, "tokenring_request_duration_seconds_bucket{" SRC ",le=\"5\"} 1");
	has_line(t, "tokenring_request_duration_seconds_bucket{" SRC ",le=\"10\"} 2");
	has_line(t, "tokenring_request_duration_seconds_bucket{" SRC ",le=\"+Inf\"} 2");
	has_line(t, "tokenring_request_duration_seconds_sum{" SRC "} 10.399");
	has_line(t, "tokenring_request_duration_seconds_count{" SRC "} 2");
	has_line(t, "tokenring_request_duration_seconds_bucket{" DST ",le=\"0.1\"} 0");
	has_line(t, "tokenring_request_duration_seconds_bucket{" DST ",le=\"0.25\"} 1");
	has_line(t, "tokenring_request_duration_seconds_sum{" DST "} 0.12");
	has_line(t, "tokenring_time_to_first_token_seconds_bucket{" SRC ",le=\"0.5\"} 1");
	has_line(t, "tokenring_time_to_first_token_seconds_bucket{" SRC ",le=\"0.25\"} 0");
	has_line(t, "tokenring_time_to_first_token_seconds_count{" SRC "} 1");
	cr_assert_eq(count_lines(t, "tokenring_time_to_first_token_seconds_count{"), 1,
		     "non-streams have no TTFT");
	/* (2759 - 500) ms / (90 - 1) tokens = 25.382022 ms */
	has_line(t, "tokenring_time_per_output_token_seconds_bucket{" SRC ",le=\"0.025\"} 0");
	has_line(t, "tokenring_time_per_output_token_seconds_bucket{" SRC ",le=\"0.05\"} 1");
	has_line(t, "tokenring_time_per_output_token_seconds_sum{" SRC "} 0.025382022");
	/* 11 counters/usage/cost families + 3 histograms, each HELP+TYPE once */
	cr_assert_eq(count_lines(t, "# TYPE "), 14);
	cr_assert_eq(count_lines(t, "# HELP "), 14);
	cr_assert_eq(count_lines(t, "tokenring_request_duration_seconds_bucket{" SRC), 16);
	no_duplicate_series(t);
	free(t);
}

#define GA_SRC "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"dashscope\"," \
	       "gen_ai_request_model=\"qwen1.5-72b-chat\""
#define GA_STREAM GA_SRC ",gen_ai_response_model=\"qwen1.5-72b-chat-0712\""
#define GA_ADDR ",server_address=\"dashscope.aliyuncs.com\""

Test(expo, gen_ai_family_spec_names_and_buckets)
{
	char *t = render("gen_ai", NULL);
	has_line(t, "# TYPE gen_ai_client_token_usage histogram");
	has_line(t, "gen_ai_client_token_usage_bucket{" GA_SRC GA_ADDR
		    ",gen_ai_token_type=\"input\",le=\"1\"} 0");
	has_line(t, "gen_ai_client_token_usage_bucket{" GA_SRC GA_ADDR
		    ",gen_ai_token_type=\"input\",le=\"4\"} 1");
	has_line(t, "gen_ai_client_token_usage_bucket{" GA_SRC GA_ADDR
		    ",gen_ai_token_type=\"output\",le=\"64\"} 1");
	has_line(t, "gen_ai_client_token_usage_bucket{" GA_SRC GA_ADDR
		    ",gen_ai_token_type=\"output\",le=\"67108864\"} 1");
	has_line(t, "gen_ai_client_token_usage_sum{" GA_STREAM GA_ADDR
		    ",gen_ai_token_type=\"output\"} 90");
	has_line(t, "gen_ai_client_token_usage_sum{" GA_STREAM GA_ADDR
		    ",gen_ai_token_type=\"cached_input\"} 5");
	has_line(t, "gen_ai_client_token_usage_sum{" GA_STREAM GA_ADDR
		    ",gen_ai_token_type=\"reasoning\"} 7");
	cr_assert_eq(count_lines(t, "gen_ai_client_token_usage_count{"), 6,
		     "input+output twice, cached_input and reasoning once (reported)");
	has_line(t, "gen_ai_client_operation_duration_seconds_bucket{" GA_SRC GA_ADDR
		    ",le=\"5.12\"} 0");
	has_line(t, "gen_ai_client_operation_duration_seconds_bucket{" GA_SRC GA_ADDR
		    ",le=\"10.24\"} 1");
	has_line(t, "gen_ai_client_operation_duration_seconds_bucket{" GA_SRC GA_ADDR
		    ",le=\"81.92\"} 1");
	has_line(t, "gen_ai_client_operation_time_to_first_chunk_seconds_bucket{" GA_STREAM
		    GA_ADDR ",le=\"0.32\"} 0");
	has_line(t, "gen_ai_client_operation_time_to_first_chunk_seconds_bucket{" GA_STREAM
		    GA_ADDR ",le=\"0.64\"} 1");
	/* (2759 - 500) ms / (30 - 1) chunks = 77.896551 ms */
	has_line(t, "gen_ai_client_operation_time_per_output_chunk_seconds_sum{" GA_STREAM
		    GA_ADDR "} 0.077896551");
	has_line(t, "gen_ai_client_operation_time_per_output_chunk_seconds_bucket{" GA_STREAM
		    GA_ADDR ",le=\"0.075\"} 0");
	has_line(t, "gen_ai_client_operation_time_per_output_chunk_seconds_bucket{" GA_STREAM
		    GA_ADDR ",le=\"0.1\"} 1");
	/* server side: the 503 carries error_type */
	has_line(t, "gen_ai_server_request_duration_seconds_bucket{gen_ai_operation_name="
		    "\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"llama3\","
		    "server_address=\"192.168.34.235:39066\",error_type=\"503\",le=\"0.16\"} 1");
	has_line(t, "# TYPE gen_ai_server_time_to_first_token_seconds histogram");
	has_line(t, "# TYPE gen_ai_server_time_per_output_token_seconds histogram");
	cr_assert_eq(count_lines(t, "gen_ai_server_time_to_first_token_seconds_bucket"), 0);
	no_duplicate_series(t);
	free(t);
}

#define IS_SRC "reporter=\"source\",source_workload=\"sleep\",source_workload_namespace=" \
	       "\"default\",destination_service=\"dashscope.aliyuncs.com\","               \
	       "request_protocol=\"http\",response_code=\"200\",model=\"qwen1.5-72b-chat\""

Test(expo, istio_family_envoy_buckets)
{
	char *t = render("istio", NULL);
	has_line(t, "istio_requests_total{" IS_SRC "} 2");
	has_line(t, "istio_request_duration_milliseconds_bucket{" IS_SRC ",le=\"0.5\"} 0");
	has_line(t, "istio_request_duration_milliseconds_bucket{" IS_SRC ",le=\"2500\"} 0");
	has_line(t, "istio_request_duration_milliseconds_bucket{" IS_SRC ",le=\"5000\"} 1");
	has_line(t, "istio_request_duration_milliseconds_bucket{" IS_SRC ",le=\"10000\"} 2");
	has_line(t, "istio_request_duration_milliseconds_bucket{" IS_SRC ",le=\"3600000\"} 2");
	has_line(t, "istio_request_duration_milliseconds_sum{" IS_SRC "} 10399");
	cr_assert_eq(count_lines(t, "istio_request_duration_milliseconds_bucket{" IS_SRC), 20);
	no_duplicate_series(t);
	free(t);
}

Test(expo, self_metrics)
{
	struct agg_config cfg = tc_config(0);
	strcpy(cfg.label_names[1], "tenant");
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct agg_self self;
	memset(&self, 0, sizeof(self));
	self.ring.capacity = 4096;
	self.ring.tail = 1000;
	self.ring.head = 990;
	self.ring.consumed = 985;
	self.ring.corrupt = 3;
	self.ring.skipped = 2;
	self.ring.dropped[RING_DROP_FULL] = 17;
	self.ring.dropped[RING_DROP_LATE] = 1;
	self.ring.producers = 4;
	self.access_log_lines = 985;
	self.version = "1.2.3";
	self.start_time_seconds = 1720754403.25;
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_render_metrics(a, &self, &b), 0);
	has_line(b.data, "tokenring_ring_capacity 4096");
	has_line(b.data, "tokenring_ring_fill 10");
	has_line(b.data, "tokenring_ring_records_total 1000");
	has_line(b.data, "tokenring_ring_consumed_total 985");
	has_line(b.data, "tokenring_ring_corrupt_total 3");
	has_line(b.data, "tokenring_ring_skipped_total 2");
	has_line(b.data, "tokenring_ring_dropped_total{reason=\"full\"} 17");
	has_line(b.data, "tokenring_ring_dropped_total{reason=\"contention\"} 0");
	has_line(b.data, "tokenring_ring_dropped_total{reason=\"late\"} 1");
	has_line(b.data, "tokenring_ring_dropped_total{reason=\"detached\"} 0");
	has_line(b.data, "tokenring_ring_producers 4");
	has_line(b.data, "tokenring_series 0");
	has_line(b.data, "tokenring_series_max 10000");
	has_line(b.data, "tokenring_series_overflow_total 0");
	has_line(b.data, "tokenring_label_overflow_total{label=\"model\"} 0");
	has_line(b.data, "tokenring_label_overflow_total{label=\"tenant\"} 0");
	cr_assert_eq(count_lines(b.data, "tokenring_label_overflow_total{"), 3,
		     "model, response_model, tenant (only configured header labels)");
	has_line(b.data, "tokenring_access_log_lines_total 985");
	has_line(b.data, "tokenring_start_time_seconds 1720754403.25");
	has_line(b.data, "tokenring_build_info{version=\"1.2.3\"} 1");
	strbuf_free(&b);
	agg_destroy(a);
}

static char *prom(const char *s, size_t n)
{
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(esc_prom(&b, s, n), 0);
	if (!b.data)
		return strdup("");
	return b.data;
}

static char *json(const char *s, size_t n)
{
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(esc_json(&b, s, n), 0);
	if (!b.data)
		return strdup("");
	return b.data;
}

#define FFFD "\xef\xbf\xbd"

Test(expo, escape_prometheus_label_values)
{
	struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{"plain-model_1.5", 15, "plain-model_1.5"},
		{"a\"b", 3, "a\\\"b"},
		{"a\\b", 3, "a\\\\b"},
		{"a\nb", 3, "a\\nb"},
		{"\\\"\n", 3, "\\\\\\\"\\n"},
		{"tab\there\r\x01\x7f", 12, "tab" FFFD "here" FFFD FFFD FFFD},
		{"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", 14, "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"},
		{"\xff", 1, FFFD},
		{"\xc0\x80", 2, FFFD FFFD},             /* overlong NUL */
		{"\xed\xa0\x80", 3, FFFD FFFD FFFD},   /* surrogate */
		{"\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD}, /* > U+10FFFF */
		{"\xe6\x97", 2, FFFD FFFD},             /* truncated at the end */
		{"ab\0cd", 5, "ab"},                    /* stops at NUL */
		{"abcdef", 3, "abc"},                   /* reads at most n */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = prom(cases[i].in, cases[i].n);
		cr_assert_str_eq(got, cases[i].out, "case %zu", i);
		free(got);
	}
}

Test(expo, escape_json_strings)
{
	char *got = json("q\"b\\n\nr\rt\tc\x01\x1f\x7f\xfe\xc3\xa9", 17);
	cr_assert_str_eq(got, "q\\\"b\\\\n\\nr\\rt\\tc\\u0001\\u001f\x7f\\ufffd\xc3\xa9");
	free(got);
}

Test(expo, escape_10k_value)
{
	/* 10 KB of quotes and backslashes with a bad byte every 1000 */
	size_t n = 10240;
	char *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		in[i] = i % 1000 == 999 ? (char)0xff : i % 2 ? '"' : '\\';
	char *got = prom(in, n);
	size_t bad = n / 1000, esc = n - bad;
	cr_assert_eq(strlen(got), esc * 2 + bad * 3);
	cr_assert_eq(memcmp(got, "\\\\\\\"", 4), 0);
	free(got);
	got = json(in, n);
	cr_assert_eq(strlen(got), esc * 2 + bad * 6);
	free(got);
	free(in);
}

Test(expo, hostile_model_name_in_scrape)
{
	struct agg_config cfg = tc_config(AGG_FAM_TOKENRING | AGG_FAM_ISTIO);
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct tr_record r;
	tc_record(&r);
	memcpy(r.request_model, "x\"} 1\nfake_metric 2\n\\\xff", 23);
	agg_ingest(a, &r, NULL);
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_render_metrics(a, NULL, &b), 0);
	cr_assert_null(strstr(b.data, "\nfake_metric"), "no injected line");
	cr_assert_not_null(strstr(b.data, "model=\"x\\\"} 1\\nfake_metric 2\\n\\\\" FFFD "\""));
	strbuf_free(&b);
	agg_destroy(a);
}

Test(expo, number_formatting)
{
	struct {
		uint64_t v;
		unsigned digits;
		const char *out;
	} cases[] = {
		{0, 9, "0"},           {1, 9, "0.000000001"}, {1500000000, 9, "1.5"},
		{2000000000, 9, "2"},  {123456, 6, "0.123456"}, {10399000000, 6, "10399"},
		{UINT64_MAX, 0, "18446744073709551615"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf b;
		strbuf_init(&b);
		cr_assert_eq(expo_scaled(&b, cases[i].v, cases[i].digits), 0);
		cr_assert_str_eq(b.data, cases[i].out);
		strbuf_free(&b);
	}
	struct strbuf b;
	strbuf_init(&b);
	expo_double(&b, 0.000898);
	cr_assert_str_eq(b.data, "0.000898");
	strbuf_reset(&b);
	expo_double(&b, 0.1 + 0.2); /* needs 17 digits to read back */
	cr_assert_eq(strtod(b.data, NULL), 0.1 + 0.2);
	strbuf_free(&b);
}

/* Samples exactly on, 1 ns under and 1 ns over Envoy boundaries: the
 * rendered cumulative count at le=B is exactly the samples <= B. */
Test(expo, rendered_buckets_exact_at_boundaries)
{
	struct agg_config cfg = tc_config(AGG_FAM_ISTIO | AGG_FAM_GEN_AI);
	struct agg *a;
	cr_assert_eq(agg_create(&cfg, &a), 0);
	struct tr_record r;
	uint64_t ds[] = {500000 - 1, 500000, 500000 + 1, MS(1), MS(5) + 1, MS(10) - 1, MS(10)};
	for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		tc_record(&r);
		r.duration_ns = ds[i];
		r.prompt_tokens = (uint32_t)(i == 0 ? 4 : i == 1 ? 5 : 16);
		struct agg_identity id = tc_identity();
		agg_ingest(a, &r, &id);
	}
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(agg_render_metrics(a, NULL, &b), 0);
	has_line(b.data, "istio_request_duration_milliseconds_bucket{" IS_SRC ",le=\"0.5\"} 2");
	has_line(b.data, "istio_request_duration_milliseconds_bucket{" IS_SRC ",le=\"1\"} 4");
	has_line(b.data, "istio_request_duration_milliseconds_bucket{" IS_SRC ",le=\"5\"} 4");
	has_line(b.data, "istio_request_duration_milliseconds_bucket{" IS_SRC ",le=\"10\"} 7");
	has_line(b.data, "istio_request_duration_milliseconds_sum{" IS_SRC "} 27.5");
	/* token boundaries: 4 <= 4, 5 > 4, 16 <= 16 */
	has_line(b.data, "gen_ai_client_token_usage_bucket{" GA_SRC GA_ADDR
			 ",gen_ai_token_type=\"input\",le=\"1\"} 0");
	has_line(b.data, "gen_ai_client_token_usage_bucket{" GA_SRC GA_ADDR
			 ",gen_ai_token_type=\"input\",le=\"4\"} 1");
	has_line(b.data, "gen_ai_client_token_usage_bucket{" GA_SRC GA_ADDR
			 ",gen_ai_token_type=\"input\",le=\"16\"} 7");
	strbuf_free(&b);
	agg_destroy(a);
}

/* Random bytes through both escapers: the output is valid UTF-8, has no
 * raw control byte, and parses back (JSON) or splits (Prometheus) cleanly. */
Test(expo, escaping_random_bytes)
{
	uint64_t x = 0x243f6a8885a308d3ull;
	for (unsigned round = 0; round < 2000; round++) {
		unsigned char in[96];
		size_t n = 1 + round % sizeof(in);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[i] = x % 7 ? (unsigned char)(x >> 24) : (unsigned char)"\"\\\n\x01\x7f"[x % 5];
		}
		char *p = prom((const char *)in, n);
		const unsigned char *o = (const unsigned char *)p;
		size_t len = strlen(p);
		for (size_t i = 0; i < len;) {
			size_t c = esc_utf8_char(o + i, len - i);
			cr_assert_gt(c, 0, "valid UTF-8 at %zu (round %u)", i, round);
			cr_assert(o[i] >= 0x20 && o[i] != 0x7f, "no raw control byte");
			if (o[i] == '"')
				cr_assert_fail("unescaped quote");
			if (o[i] == '\\') {
				cr_assert(o[i + 1] == '\\' || o[i + 1] == '"' || o[i + 1] == 'n');
				i += 2;
				continue;
			}
			i += c;
		}
		free(p);
		char *j = json((const char *)in, n);
		char *doc = malloc(strlen(j) + 3);
		sprintf(doc, "\"%s\"", j);
		cJSON *v = cJSON_Parse(doc);
		cr_assert_not_null(v, "JSON string parses (round %u)", round);
		cr_assert(cJSON_IsString(v));
		cJSON_Delete(v);
		free(doc);
		free(j);
	}
}

/* The word-at-a-time path of esc_json agrees with the byte path: every byte
 * value at every position of a 16-byte string (two words) escapes exactly
 * as that byte alone does (a 1-byte input never takes the word path). */
Test(expo, escape_json_word_path_matches_byte_path)
{
	for (unsigned c = 0; c < 256; c++) {
		char one = (char)c;
		char *alone = json(&one, 1);
		for (unsigned k = 0; k < 16; k++) {
			char in[16], want[64];
			memset(in, 'a', sizeof(in));
			in[k] = (char)c;
			int n = snprintf(want, sizeof(want), "%.*s%s%.*s", (int)k, "aaaaaaaaaaaaaaaa",
					 alone, c ? (int)(15 - k) : 0, "aaaaaaaaaaaaaaaa");
			cr_assert_lt(n, (int)sizeof(want));
			char *got = json(in, sizeof(in));
			cr_assert_str_eq(got, want, "byte 0x%02x at %u", c, k);
			free(got);
		}
		free(alone);
	}
	/* a valid 3-byte character across the word boundary passes unchanged */
	char *got = json("abcdef\xe6\x97\xa5klmnopq", 16);
	cr_assert_str_eq(got, "abcdef\xe6\x97\xa5klmnopq");
	free(got);
}

/* The render buffer keeps its first error: later appends do nothing and
 * report it; settle drops the failed part and makes the buffer usable. */
Test(expo, strbuf_remembers_first_error)
{
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(strbuf_puts(&b, "kept"), 0);
	size_t mark = b.len;
	cr_assert_eq(strbuf_append(&b, ",x", 2), 0);
	cr_assert_eq(strbuf_reserve(&b, SIZE_MAX), -ENOMEM);
	cr_assert_eq(strbuf_puts(&b, "lost"), -ENOMEM, "sticky");
	cr_assert_eq(expo_u64(&b, 42), -ENOMEM);
	cr_assert_eq(strbuf_printf(&b, "%d", 7), -ENOMEM);
	cr_assert_eq(strbuf_error(&b), -ENOMEM);
	cr_assert_str_eq(b.data, "kept,x", "nothing appended after the error");
	struct tr_record r;
	tc_record(&r);
	cr_assert_eq(alog_format(&r, NULL, NULL, &b), -ENOMEM);
	cr_assert_eq(strbuf_settle(&b, mark), -ENOMEM);
	cr_assert_eq(strbuf_error(&b), 0);
	cr_assert_str_eq(b.data, "kept", "the failed render is cut off");
	cr_assert_eq(strbuf_puts(&b, "!"), 0);
	cr_assert_str_eq(b.data, "kept!");
	cr_assert_eq(strbuf_fail(&b, -EINVAL), -EINVAL);
	cr_assert_eq(strbuf_fail(&b, -ENOMEM), -EINVAL, "the first error stays");
	strbuf_reset(&b);
	cr_assert_eq(strbuf_error(&b), 0);
	cr_assert_eq(b.len, 0);
	strbuf_free(&b);
}
