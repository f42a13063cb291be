/*
 * expo_asm.c - the `asm` family: Alibaba Service Mesh's LLM proxy token
 * counters exactly as its sidecar exposes them (seeds 000, 001):
 * asm_llm_proxy_prompt_tokens and asm_llm_proxy_completion_tokens (counters
 * without the _total suffix, as ASM names them) with the four llmproxy_*
 * labels. ASM's plugin runs on the caller's sidecar, so only reporter=source
 * records count here (a call seen by both ends is counted once).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "expo.h"

static void project(const struct series_key *in, struct series_key *out)
{
	expo_keep(in, out,
		  EXPO_KEEP_REPORTER | EXPO_KEEP_WORKLOAD | EXPO_KEEP_DEST | EXPO_KEEP_MODEL);
}

static int labels(struct strbuf *b, const struct series_key *k, const struct agg_config *cfg)
{
	(void)cfg;
	bool first = true;
	expo_label(b, &first, "llmproxy_source_workload", k->workload, sizeof(k->workload));
	expo_label(b, &first, "llmproxy_source_workload_namespace", k->namespace_,
		   sizeof(k->namespace_));
	expo_label(b, &first, "llmproxy_destination_service", k->destination,
		   sizeof(k->destination));
	return expo_label(b, &first, "llmproxy_model", k->model, sizeof(k->model));
}

int expo_asm(const struct agg *a, struct strbuf *out)
{
	if (!expo_group(a, EXPO_G_ASM, project, labels))
		return strbuf_fail(out, -ENOMEM);
	expo_header(out, "asm_llm_proxy_prompt_tokens", "Number of input tokens", "counter");
	expo_u64_lines(a, out, "asm_llm_proxy_prompt_tokens",
		       offsetof(struct series, st.prompt_tokens), expo_is_source, NULL);
	expo_header(out, "asm_llm_proxy_completion_tokens", "Number of output tokens", "counter");
	return expo_u64_lines(a, out, "asm_llm_proxy_completion_tokens",
			      offsetof(struct series, st.completion_tokens), expo_is_source, NULL);
}
