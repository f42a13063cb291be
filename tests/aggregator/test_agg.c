/* test_agg.c - ingest rules: tokens only from usage "available", TTFT only
 * for streams, time per output token only for streams with usage and > 1
 * output token, usage statuses counted, family parsing, config checks. */
#include <criterion/criterion.h>
#include <errno.h>

#include "agg_internal.h"
#include "test_core_helpers.h"

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
			     "duration", "le"};
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
	cr_assert_eq(s->ga_tokens[SERIES_TOK_INPUT].count, 1);
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
	cr_assert_eq(s->tr_duration.count, 1);
	cr_assert_eq(s->tr_ttft.count, 0);
	cr_assert_eq(s->tr_tpot.count, 0);
	/* stream without usage: TTFT yes, TPOT no */
	tc_record(&r);
	r.flags |= REC_F_STREAM;
	r.ttft_ns = MS(100);
	r.usage_status = REC_USAGE_NOT_REQUESTED;
	r.prompt_tokens = r.completion_tokens = r.total_tokens = 0;
	r.chunks = 10;
	agg_ingest(a, &r, NULL);
	cr_assert_eq(s->tr_ttft.count, 1);
	cr_assert_eq(s->tr_tpot.count, 0);
	cr_assert_eq(s->ga_tpot.count, 1, "per-chunk time needs no usage");
	/* stream with usage but a single output token: no TPOT */
	tc_record(&r);
	r.flags |= REC_F_STREAM;
	r.ttft_ns = MS(100);
	r.completion_tokens = 1;
	agg_ingest(a, &r, NULL);
	cr_assert_eq(s->tr_tpot.count, 0);
	/* stream with usage: (1100 - 100) ms / (11 - 1) = 100 ms exactly -> le 0.1 */
	tc_record(&r);
	r.flags |= REC_F_STREAM;
	r.duration_ns = MS(1100);
	r.ttft_ns = MS(100);
	r.completion_tokens = 11;
	agg_ingest(a, &r, NULL);
	cr_assert_eq(s->tr_tpot.count, 1);
	cr_assert_eq(s->tr_tpot.sum, MS(100));
	unsigned le_0_1 = 7; /* hist_tr_tpot: 0.001 .. 0.075, 0.1 */
	cr_assert_eq(hist_tr_tpot.le[le_0_1], MS(100));
	cr_assert_eq(s->tr_tpot.n[le_0_1], 1);
	/* TTFT after the end (clock skew in a bad record): no TPOT */
	r.ttft_ns = MS(2000);
	agg_ingest(a, &r, NULL);
	cr_assert_eq(s->tr_tpot.count, 1);
	cr_assert_eq(s->tr_ttft.count, 4);
	/* a TTFT on a non-stream is ignored */
	tc_record(&r);
	r.ttft_ns = MS(5);
	agg_ingest(a, &r, NULL);
	cr_assert_eq(s->tr_ttft.count, 4);
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
	/* client TTFT uses the duration buckets (0.01 first), server 0.001 .. */
	cr_assert_eq(c->ga_ttft.n[0], 1, "3 ms <= 0.01 s");
	cr_assert_eq(sv->ga_ttft.n[0], 0);
	cr_assert_eq(sv->ga_ttft.n[1], 1, "3 ms in (0.001, 0.005]");
	cr_assert_eq(c->ga_tokens[SERIES_TOK_OUTPUT].count, 1);
	cr_assert_eq(sv->ga_tokens[SERIES_TOK_OUTPUT].count, 0, "token usage is a client metric");
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
	cr_assert_eq(s->tr_duration.count, 0);
	cr_assert_eq(s->ga_duration.count, 0);
	cr_assert_eq(s->is_duration.count, 0);
	cr_assert_eq(s->st.prompt_tokens, 3);
	cr_assert_eq(s->q_duration.count, 1, "summary quantiles always kept");
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
