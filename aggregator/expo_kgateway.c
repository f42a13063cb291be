/*
 * expo_kgateway.c - the `kgateway` family: kgateway AI Gateway's token
 * counters (seed 004): ai_prompt_tokens_total and ai_completion_tokens_total
 * with `llm` (the provider) and `model` (the request's model), plus the
 * configured header labels, as kgateway's custom labels (team, ...) add
 * them. A gateway is the caller of the provider: reporter=source records.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "expo.h"

static void project(const struct series_key *in, struct series_key *out)
{
	expo_keep(in, out,
		  EXPO_KEEP_REPORTER | EXPO_KEEP_PROVIDER | EXPO_KEEP_MODEL | EXPO_KEEP_LABELS);
}

static int labels(struct strbuf *b, const struct series_key *k, const struct agg_config *cfg)
{
	bool first = true;
	const char *llm = rec_provider_name(k->provider);
	expo_label(b, &first, "llm", llm, strlen(llm));
	expo_label(b, &first, "model", k->model, sizeof(k->model));
	for (unsigned i = 0; i < REC_LABELS; i++)
		if (cfg->label_names[i][0])
			expo_label(b, &first, cfg->label_names[i], k->labels[i],
				   sizeof(k->labels[i]));
	return strbuf_error(b);
}

int expo_kgateway(const struct agg *a, struct strbuf *out)
{
	if (!expo_group(a, EXPO_G_KGATEWAY, project, labels))
		return strbuf_fail(out, -ENOMEM);
	expo_header(out, "ai_prompt_tokens_total", "Prompt tokens", "counter");
	expo_u64_lines(a, out, "ai_prompt_tokens_total", offsetof(struct series, st.prompt_tokens),
		       expo_is_source, NULL);
	expo_header(out, "ai_completion_tokens_total", "Completion tokens", "counter");
	return expo_u64_lines(a, out, "ai_completion_tokens_total",
			      offsetof(struct series, st.completion_tokens), expo_is_source, NULL);
}
