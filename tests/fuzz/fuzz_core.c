/*
 * fuzz_core.c - libFuzzer target for the aggregation core: the input
 * is a run of records (any bytes: a hostile writer's records pass the
 * checksum) plus the identities they come with. Each is accounted, logged
 * and, now and then, everything is rendered. Properties: nothing crashes,
 * leaks or trips a sanitizer; every access log line is one JSON object;
 * every exposition sample line ends in a number; the series stay within
 * --max-series plus the overflow series. And the meaning: every record
 * fed is one request, after every render: the tokenring_requests_total
 * samples (LLM and HTTP exchanges) plus the tokenring_mcp_requests_total
 * samples (MCP calls, counted apart: aggregator/mcp.c) plus the MCP calls
 * waiting for their answer (tokenring_mcp_calls_waiting), summed over every
 * series (overflow included), equal the number of records fed. Every
 * fifth record goes in twice in one batch, the copy with its numbers
 * changed, so the batch's same-tuple path sees hostile tuples too.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"

#define MAX_SERIES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The sum of every sample of family `name` in an exposition. */
static double family_total(const struct strbuf *b, const char *name)
{
	size_t n = strlen(name);
	double sum = 0;
	for (const char *l = b->data; l && *l;) {
		const char *nl = strchr(l, '\n');
		if (strncmp(l, name, n) == 0 && (l[n] == '{' || l[n] == ' ')) {
			const char *sp = nl;
			while (sp[-1] != ' ')
				sp--;
			sum += strtod(sp, NULL);
		}
		l = nl + 1;
	}
	return sum;
}

/* Requests of every kind the daemon counts: exchanges and MCP calls. */
static double requests_total(const struct strbuf *b)
{
	return family_total(b, "tokenring_requests_total") +
	       family_total(b, "tokenring_mcp_requests_total") +
	       family_total(b, "tokenring_mcp_calls_waiting"); /* counted once answered */
}

static void check_exposition(const struct strbuf *b)
{
	for (const char *l = b->data; l && *l;) {
		const char *nl = strchr(l, '\n');
		if (!nl)
			abort(); /* every line ends */
		if (*l != '#') {
			const char *sp = nl;
			while (sp > l && sp[-1] != ' ')
				sp--;
			if (sp == l)
				abort();
			char *end;
			strtod(sp, &end);
			if (end != nl)
				abort(); /* the value is a number */
		}
		l = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agg_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.families = AGG_FAM_TOKENRING | AGG_FAM_GEN_AI | AGG_FAM_ASM | AGG_FAM_ISTIO |
		       AGG_FAM_KGATEWAY;
	cfg.max_series = MAX_SERIES;
	cfg.label_max_values = 4;
	strcpy(cfg.label_names[0], "team");
	cfg.n_prices = 1;
	strcpy(cfg.prices[0].model, "m");
	cfg.prices[0].input_usd_per_mtok = 1;
	struct agg *a;
	if (agg_create(&cfg, &a))
		abort();
	struct strbuf out;
	strbuf_init(&out);
	const size_t step = sizeof(struct tr_record) + sizeof(struct agg_identity);
	uint64_t fed = 0; /* records ingested, doubles included */
	for (size_t at = 0, n = 0; at < size; at += step, n++) {
		struct tr_record r;
		struct agg_identity id;
		uint8_t chunk[sizeof(r) + sizeof(id)];
		memset(chunk, 0, sizeof(chunk));
		memcpy(chunk, data + at, size - at < step ? size - at : step);
		memcpy(&r, chunk, sizeof(r));
		memcpy(&id, chunk + sizeof(r), sizeof(id));
		const struct agg_identity *idp = n % 3 ? &id : NULL;
		if (n % 5 == 4) {
			struct tr_record two[2] = {r, r};
			const struct agg_identity *twoid[2] = {idp, idp};
			two[1].duration_ns = ~r.duration_ns;
			two[1].ttft_ns = r.duration_ns;
			two[1].completion_tokens = r.prompt_tokens;
			agg_ingest_batch(a, two, twoid, 2);
			fed += 2;
		} else if (n % 2) {
			agg_ingest(a, &r, idp);
			fed++;
		} else {
			agg_ingest_batch(a, &r, &idp, 1);
			fed++;
		}
		strbuf_reset(&out);
		if (alog_format(&r, idp, &cfg, &out))
			abort();
		cJSON *j = cJSON_Parse(out.data);
		if (!j)
			abort();
		cJSON_Delete(j);
		if (n % 4 == 3) {
			strbuf_reset(&out);
			if (agg_render_metrics(a, NULL, &out))
				abort();
			check_exposition(&out);
			if (requests_total(&out) != (double)fed)
				abort(); /* every record fed is one request */
		}
	}
	if (agg_series(a) > MAX_SERIES + 3)
		abort();
	strbuf_reset(&out);
	if (agg_render_metrics(a, NULL, &out))
		abort();
	check_exposition(&out);
	if (requests_total(&out) != (double)fed)
		abort();
	strbuf_reset(&out);
	if (agg_render_summary(a, 1, &out))
		abort();
	cJSON *doc = cJSON_Parse(out.data);
	if (!doc)
		abort();
	cJSON_Delete(doc);
	strbuf_reset(&out);
	if (agg_summary_lines(a, 2, &out))
		abort();
	strbuf_free(&out);
	agg_destroy(a);
	return 0;
}
