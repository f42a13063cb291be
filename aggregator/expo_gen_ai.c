/*
 * expo_gen_ai.c - the `gen_ai` family: the OpenTelemetry GenAI semantic
 * conventions' metrics in their Prometheus form (dots become underscores,
 * the unit a suffix), with the spec's attribute names and its advisory
 * bucket boundaries (hist.c). Client metrics come from reporter=source
 * records, server metrics from reporter=destination ones.
 *
 * Attributes: gen_ai_operation_name, gen_ai_provider_name,
 * gen_ai_request_model, gen_ai_response_model (when the response named
 * one), server_address (destination_service), error_type (only on errors:
 * the HTTP status code, or "_OTHER" when no response came back).
 * Workload and header labels are not GenAI attributes: series differing in
 * those are summed.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "expo.h"

/* response_code carries the error class here: 0 no error, 1 no response,
 * else the status >= 400. */
#define GA_NO_ERROR 0
#define GA_NO_RESPONSE 1

static void project(const struct series_key *in, struct series_key *out)
{
	expo_keep(in, out,
		  EXPO_KEEP_REPORTER | EXPO_KEEP_PROVIDER | EXPO_KEEP_OPERATION | EXPO_KEEP_DEST |
			  EXPO_KEEP_MODEL | EXPO_KEEP_RESPONSE_MODEL);
	uint16_t c = in->response_code;
	out->response_code = c == 0 ? GA_NO_RESPONSE : c >= 400 ? c : GA_NO_ERROR;
}

const char *expo_gen_ai_provider(unsigned p)
{
	switch (p) {
	case REC_PROVIDER_GEMINI:
		return "gcp.gemini";
	case REC_PROVIDER_AZURE_OPENAI:
		return "azure.ai.openai";
	case REC_PROVIDER_MISTRAL:
		return "mistral_ai";
	default:
		return rec_provider_name(p);
	}
}

static int labels(struct strbuf *b, const struct series_key *k, const struct agg_config *cfg)
{
	(void)cfg;
	bool first = true;
	const char *op = rec_operation_name(k->operation);
	const char *prov = expo_gen_ai_provider(k->provider);
	expo_label(b, &first, "gen_ai_operation_name", op, strlen(op));
	expo_label(b, &first, "gen_ai_provider_name", prov, strlen(prov));
	expo_label(b, &first, "gen_ai_request_model", k->model, sizeof(k->model));
	if (k->response_model[0])
		expo_label(b, &first, "gen_ai_response_model", k->response_model,
			   sizeof(k->response_model));
	expo_label(b, &first, "server_address", k->destination, sizeof(k->destination));
	if (k->response_code != GA_NO_ERROR) {
		char code[24];
		size_t n;
		if (k->response_code == GA_NO_RESPONSE) {
			memcpy(code, "_OTHER", 6);
			n = 6;
		} else {
			n = expo_utoa(code, k->response_code);
		}
		expo_label(b, &first, "error_type", code, n);
	}
	return strbuf_error(b);
}

struct ga_hist {
	const char *name;
	const char *help;
	size_t off;
	const struct hist_bounds *store, *show;
	expo_filter_fn filter;
};

static void token_usage(const struct agg *a, struct strbuf *out)
{
	static const char *const types[SERIES_TOK_TYPES] = {
		[SERIES_TOK_INPUT] = "gen_ai_token_type=\"input\"",
		[SERIES_TOK_OUTPUT] = "gen_ai_token_type=\"output\"",
		[SERIES_TOK_CACHED_INPUT] = "gen_ai_token_type=\"cached_input\"",
		[SERIES_TOK_REASONING] = "gen_ai_token_type=\"reasoning\"",
	};
	const char *name = "gen_ai_client_token_usage";
	expo_header(out, name,
		    "Number of tokens used per request, by gen_ai_token_type "
		    "(cached_input and reasoning when the provider reports them).",
		    "histogram");
	for (unsigned t = 0; t < SERIES_TOK_TYPES; t++)
		expo_hist_lines(a, out, name, offsetof(struct series, tokens[t]),
				&hist_genai_tokens, &hist_genai_tokens, 0, expo_is_source, types[t]);
}

int expo_gen_ai(const struct agg *a, struct strbuf *out)
{
	static const struct ga_hist hists[] = {
		{"gen_ai_client_operation_duration_seconds", "GenAI operation duration.",
		 offsetof(struct series, duration), &hist_u_duration, &hist_genai_duration,
		 expo_is_source},
		{"gen_ai_client_operation_time_to_first_chunk_seconds",
		 "Streams: time to receive the first chunk.", offsetof(struct series, ttft),
		 &hist_u_ttft, &hist_genai_duration, expo_is_source},
		{"gen_ai_client_operation_time_per_output_chunk_seconds",
		 "Streams: (duration - time to first chunk) / (chunks - 1).",
		 offsetof(struct series, tpoc), &hist_genai_client_tpoc, &hist_genai_client_tpoc,
		 expo_is_source},
		{"gen_ai_server_request_duration_seconds", "Generative AI server request duration.",
		 offsetof(struct series, duration), &hist_u_duration, &hist_genai_duration,
		 expo_is_destination},
		{"gen_ai_server_time_to_first_token_seconds",
		 "Streams: time to generate the first token.", offsetof(struct series, ttft),
		 &hist_u_ttft, &hist_genai_server_ttft, expo_is_destination},
		{"gen_ai_server_time_per_output_token_seconds",
		 "Streams with usage: (duration - time to first token) / (output tokens - 1).",
		 offsetof(struct series, tpot), &hist_u_tpot, &hist_genai_server_tpot,
		 expo_is_destination},
	};
	if (!expo_group(a, EXPO_G_GEN_AI, project, labels))
		return strbuf_fail(out, -ENOMEM);
	token_usage(a, out);
	for (size_t i = 0; i < sizeof(hists) / sizeof(hists[0]); i++) {
		expo_header(out, hists[i].name, hists[i].help, "histogram");
		expo_hist_lines(a, out, hists[i].name, hists[i].off, hists[i].store, hists[i].show,
				9, hists[i].filter, NULL);
	}
	return strbuf_error(out);
}
