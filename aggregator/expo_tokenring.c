/*
 * expo_tokenring.c - the `tokenring` family: tokenring's own names, with
 * the full label tuple (reporter, source_workload, source_namespace,
 * destination_service, provider, model, response_code, then the configured
 * header labels). The operation and the response model are not labels
 * here, so series differing only in those are summed.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "expo.h"

static void project(const struct series_key *in, struct series_key *out)
{
	expo_keep(in, out,
		  EXPO_KEEP_REPORTER | EXPO_KEEP_WORKLOAD | EXPO_KEEP_DEST | EXPO_KEEP_PROVIDER |
			  EXPO_KEEP_MODEL | EXPO_KEEP_CODE | EXPO_KEEP_LABELS);
}

static int labels(struct strbuf *b, const struct series_key *k, const struct agg_config *cfg)
{
	bool first = true;
	char code[24];
	size_t n = expo_utoa(code, k->response_code);
	const char *rep = rec_reporter_name(k->reporter);
	const char *prov = rec_provider_name(k->provider);
	expo_label(b, &first, "reporter", rep, strlen(rep));
	expo_label(b, &first, "source_workload", k->workload, sizeof(k->workload));
	expo_label(b, &first, "source_namespace", k->namespace_, sizeof(k->namespace_));
	expo_label(b, &first, "destination_service", k->destination, sizeof(k->destination));
	expo_label(b, &first, "provider", prov, strlen(prov));
	expo_label(b, &first, "model", k->model, sizeof(k->model));
	expo_label(b, &first, "response_code", code, n);
	for (unsigned i = 0; i < REC_LABELS; i++)
		if (cfg->label_names[i][0])
			expo_label(b, &first, cfg->label_names[i], k->labels[i],
				   sizeof(k->labels[i]));
	return strbuf_error(b);
}

struct counter {
	const char *name;
	const char *help;
	size_t off;
};

#define ST(f) offsetof(struct series, st.f)

static const struct counter counters[] = {
	{"tokenring_requests_total",
	 "Requests: LLM exchanges (every HTTP exchange with TOKENRING_HTTP=all).", ST(requests)},
	{"tokenring_prompt_tokens_total", "Input (prompt) tokens as reported by the provider.",
	 ST(prompt_tokens)},
	{"tokenring_completion_tokens_total",
	 "Output (completion) tokens as reported by the provider.", ST(completion_tokens)},
	{"tokenring_cached_tokens_total",
	 "Input tokens served from the provider's prompt cache (cache reads).",
	 ST(cached_tokens)},
	{"tokenring_cache_creation_tokens_total",
	 "Input tokens written to the provider's prompt cache (Anthropic cache creation).",
	 ST(cache_creation_tokens)},
	{"tokenring_reasoning_tokens_total", "Reasoning tokens, as reported by the provider.",
	 ST(reasoning_tokens)},
	{"tokenring_request_bytes_total", "Request bytes on the wire, headers included.",
	 ST(req_bytes)},
	{"tokenring_response_bytes_total", "Response bytes on the wire, headers included.",
	 ST(resp_bytes)},
	{"tokenring_stream_chunks_total", "Stream events carrying content (SSE or NDJSON).",
	 ST(chunks)},
};

static void usage_lines(const struct agg *a, struct strbuf *out)
{
	static const char *const extra[REC_USAGE_COUNT] = {
		[REC_USAGE_NONE] = "status=\"none\"",
		[REC_USAGE_AVAILABLE] = "status=\"available\"",
		[REC_USAGE_NOT_REQUESTED] = "status=\"not_requested\"",
		[REC_USAGE_MISSING] = "status=\"missing\"",
		[REC_USAGE_INTERRUPTED] = "status=\"interrupted\"",
		[REC_USAGE_UNDECODABLE] = "status=\"undecodable\"",
	};
	expo_header(out, "tokenring_usage_total",
		    "Requests by token usage status: available, not_requested (stream "
		    "without include_usage), missing, interrupted, undecodable (compressed "
		    "body that could not be decoded); none for non-LLM HTTP.",
		    "counter");
	for (unsigned s = 0; s < REC_USAGE_COUNT; s++)
		expo_u64_lines_nonzero(a, out, "tokenring_usage_total",
				       offsetof(struct series, st.usage) + s * sizeof(uint64_t), NULL,
				       extra[s]);
}

static void cost_lines(const struct agg *a, struct strbuf *out)
{
	const struct expo_groups *x = a->x->cur;
	expo_header(out, "tokenring_cost_usd_total",
		    "Cost in USD from the configured per-model prices.", "counter");
	for (uint32_t g = 0; g < x->ngroups; g++) {
		const struct series *first = &a->tab.series[x->gfirst[g]];
		if (first->price == SERIES_NO_PRICE)
			continue; /* every member has the group's model, so its price */
		const struct agg_price *p = &a->cfg.prices[first->price];
		uint64_t in = 0, outt = 0;
		for (uint32_t i = x->gfirst[g]; i != EXPO_END; i = x->next[i]) {
			in += a->tab.series[i].st.prompt_tokens;
			outt += a->tab.series[i].st.completion_tokens;
		}
		double usd = ((double)in * p->input_usd_per_mtok +
			      (double)outt * p->output_usd_per_mtok) / 1e6;
		expo_line_start(out, "tokenring_cost_usd_total", NULL, x->labels.data + x->loff[g],
				x->llen[g], NULL, NULL);
		expo_double(out, usd);
		strbuf_append(out, "\n", 1);
	}
}

struct tr_hist {
	const char *name;
	const char *help;
	size_t off;
	const struct hist_bounds *store, *show;
};

static const struct tr_hist hists[] = {
	{"tokenring_request_duration_seconds", "Request first byte to response last byte.",
	 offsetof(struct series, duration), &hist_u_duration, &hist_tr_duration},
	{"tokenring_time_to_first_token_seconds",
	 "Streams: request first byte to the first content chunk.", offsetof(struct series, ttft),
	 &hist_u_ttft, &hist_tr_ttft},
	{"tokenring_time_per_output_token_seconds",
	 "Streams with usage and more than one output token: "
	 "(duration - time to first token) / (output tokens - 1).",
	 offsetof(struct series, tpot), &hist_u_tpot, &hist_tr_tpot},
};

int expo_tokenring(const struct agg *a, struct strbuf *out)
{
	if (!expo_group(a, EXPO_G_TOKENRING, project, labels))
		return strbuf_fail(out, -ENOMEM);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		expo_header(out, counters[i].name, counters[i].help, "counter");
		expo_u64_lines(a, out, counters[i].name, counters[i].off, NULL, NULL);
	}
	usage_lines(a, out);
	if (a->cfg.n_prices)
		cost_lines(a, out);
	for (size_t i = 0; i < sizeof(hists) / sizeof(hists[0]); i++) {
		expo_header(out, hists[i].name, hists[i].help, "histogram");
		expo_hist_lines(a, out, hists[i].name, hists[i].off, hists[i].store, hists[i].show,
				9, NULL, NULL);
	}
	return strbuf_error(out);
}
