/*
 * test_expo_render.c - renders a small known set of records in the given
 * families (argv[1], default all) to stdout, for `promtool check metrics`
 * (test_promtool.sh). Covers client and server series, streams, every
 * usage status, errors, overflowed series and hostile label values.
 * argv[2] = "empty": no records at all.
 */
#include <stdio.h>
#include <string.h>

#include "test_core_helpers.h"

int main(int argc, char **argv)
{
	struct agg_config cfg = tc_config(0);
	const char *fams = argc > 1 ? argv[1] : "tokenring,gen_ai,asm,istio,kgateway";
	if (agg_parse_families(fams, &cfg.families, NULL)) {
		fprintf(stderr, "bad families %s\n", fams);
		return 2;
	}
	cfg.max_series = 6;
	cfg.label_max_values = 4;
	strcpy(cfg.label_names[0], "team");
	cfg.n_prices = 1;
	strcpy(cfg.prices[0].model, "qwen-turbo");
	cfg.prices[0].input_usd_per_mtok = 0.3;
	cfg.prices[0].output_usd_per_mtok = 0.6;
	struct agg *a;
	if (agg_create(&cfg, &a))
		return 1;
	struct agg_identity id = tc_identity();
	struct tr_record r;
	unsigned records = argc > 2 && strcmp(argv[2], "empty") == 0 ? 0 : 40;
	for (unsigned i = 0; i < records; i++) {
		tc_record(&r);
		r.duration_ns = MS(5 + 97 * i);
		if (i % 2) {
			r.flags |= REC_F_STREAM;
			r.ttft_ns = MS(3 + i);
			r.chunks = i;
			r.completion_tokens = i;
		}
		if (i % 3 == 0)
			r.reporter = REC_REPORTER_DESTINATION;
		if (i % 5 == 0)
			r.status = 500;
		if (i % 7 == 0) {
			r.usage_status = REC_USAGE_NOT_REQUESTED;
			r.prompt_tokens = r.completion_tokens = r.total_tokens = 0;
		}
		if (i % 4 == 0) {
			strcpy(r.request_model, "qwen-turbo");
			strcpy(r.response_model, "qwen-turbo-2024");
			r.cached_tokens = 2;
			r.reasoning_tokens = 9;
		}
		if (i % 11 == 0) /* hostile model name */
			memcpy(r.request_model, "ev\"il\\mo\ndel\xff\x01", 15);
		snprintf(r.labels[0], sizeof(r.labels[0]), "team-%u", i % 6);
		agg_ingest(a, &r, &id);
	}
	/* MCP calls (record_mcp.h), one with a hostile tool name */
	for (unsigned i = 0; i < 4; i++) {
		tc_record(&r);
		r.provider = REC_PROVIDER_MCP;
		r.operation = REC_OP_MCP;
		r.usage_status = REC_USAGE_NONE;
		r.flags = i == 2 ? REC_F_MCP_TOOL_ERROR : 0;
		memset(r.request_model, 0, sizeof(r.request_model));
		memcpy(r.request_model, i == 3 ? "to\"ol\\x\ny" : "search", i == 3 ? 9 : 6);
		memset(r.response_model, 0, sizeof(r.response_model));
		memcpy(r.response_model, i == 0 ? "initialize" : "tools/call", 10);
		agg_ingest(a, &r, &id);
	}
	struct agg_self self;
	memset(&self, 0, sizeof(self));
	self.ring.capacity = 1024;
	self.ring.tail = 40;
	self.ring.head = 40;
	self.ring.consumed = 40;
	self.version = "0.1.0";
	self.start_time_seconds = 1720754403.5;
	struct strbuf b;
	strbuf_init(&b);
	int rc = agg_render_metrics(a, &self, &b);
	if (!rc)
		fwrite(b.data, 1, b.len, stdout);
	strbuf_free(&b);
	agg_destroy(a);
	return rc ? 1 : 0;
}
