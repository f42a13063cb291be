/*
 * summary.c - the JSON summaries: GET /api/v1/summary (cumulative since
 * start) and the summary log (one line per label tuple active in the
 * interval, with "__time__" in unix seconds as SLS expects).
 *
 * A summary tuple is the tokenring tuple without response_code (so that
 * successes and success_rate mean something): reporter, source_workload,
 * source_namespace, destination_service, provider, model and the header
 * labels. A success is a 2xx or 3xx response. Latencies are milliseconds
 * from the log-linear sketches (relative error < 1%).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "esc.h"
#include "expo.h"

#define NS_PER_S 1000000000ull

static void project(const struct series_key *in, struct series_key *out)
{
	expo_keep(in, out,
		  EXPO_KEEP_REPORTER | EXPO_KEEP_WORKLOAD | EXPO_KEEP_DEST | EXPO_KEEP_PROVIDER |
			  EXPO_KEEP_MODEL | EXPO_KEEP_LABELS);
}

static int no_labels(struct strbuf *b, const struct series_key *k, const struct agg_config *cfg)
{
	(void)b;
	(void)k;
	(void)cfg;
	return 0;
}

/* Every key a summary object has besides the header labels. */
static const char *const fields[] = {
	"__time__", "reporter", "source_workload", "source_namespace", "destination_service",
	"provider", "model", "requests", "successes", "success_rate", "4xx", "5xx",
	"prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens",
	"cache_creation_tokens", "reasoning_tokens", "chunks", "latency_p50_ms", "latency_p95_ms",
	"latency_p99_ms", "ttft_p50_ms", "ttft_p95_ms", "ttft_p99_ms", "usage_none",
	"usage_available", "usage_not_requested", "usage_missing", "usage_interrupted",
	"usage_undecodable", NULL,
};

bool summary_field_reserved(const char *name)
{
	for (unsigned i = 0; fields[i]; i++)
		if (strcmp(fields[i], name) == 0)
			return true;
	return false;
}

/* Add a string as valid UTF-8 (cJSON escapes but passes bad bytes on). */
static bool add_str(cJSON *o, const char *name, const char *v, size_t cap, struct strbuf *tmp)
{
	strbuf_reset(tmp);
	if (esc_utf8(tmp, v, cap) || !tmp->data)
		return cJSON_AddStringToObject(o, name, "") != NULL;
	return cJSON_AddStringToObject(o, name, tmp->data) != NULL;
}

static bool add_num(cJSON *o, const char *name, double v)
{
	return cJSON_AddNumberToObject(o, name, v) != NULL;
}

static void sum_group(const struct agg *a, uint32_t g, bool interval, struct series_stats *out)
{
	const struct expo_groups *x = a->x->cur;
	uint64_t *o = (uint64_t *)out;
	const size_t nf = sizeof(*out) / sizeof(uint64_t);
	memset(out, 0, sizeof(*out));
	for (uint32_t i = x->gfirst[g]; i != EXPO_END; i = x->next[i]) {
		const struct series *s = &a->tab.series[i];
		uint64_t cur[sizeof(*out) / sizeof(uint64_t)], base[sizeof(*out) / sizeof(uint64_t)];
		memcpy(cur, &s->st, sizeof(cur));
		memcpy(base, &s->iv_base, sizeof(base));
		for (size_t f = 0; f < nf; f++)
			o[f] += interval ? cur[f] - base[f] : cur[f];
	}
}

/* Add name = the q-quantile in ms over the group's sketches at offset iv
 * (and, for the cumulative view, also at offset cum); null without
 * samples (a request without a stream has no TTFT, not a TTFT of 0). */
static bool add_quantile(cJSON *o, const char *name, const struct agg *a, uint32_t g, size_t iv,
			 size_t cum, bool interval, double q)
{
	const struct expo_groups *x = a->x->cur;
	const struct hist **hp = a->x->hptr;
	unsigned n = 0;
	uint64_t count = 0;
	for (uint32_t i = x->gfirst[g]; i != EXPO_END; i = x->next[i]) {
		const char *s = (const char *)&a->tab.series[i];
		hp[n] = (const struct hist *)(s + iv);
		count += hp[n++]->count;
		if (!interval) {
			hp[n] = (const struct hist *)(s + cum);
			count += hp[n++]->count;
		}
	}
	if (count == 0)
		return cJSON_AddNullToObject(o, name) != NULL;
	return add_num(o, name, hist_quantile_n(hp, n, &a->pool, q) * 1e3 /* s to ms */);
}

/* One summary object for group g; with "__time__" first when time >= 0. */
static cJSON *group_json(const struct agg *a, uint32_t g, bool interval, double time,
			 struct strbuf *tmp)
{
	/* the summary projection keeps every field used here */
	const struct series_key *k = expo_gkey(a, a->x->cur, g);
	struct series_stats st;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	sum_group(a, g, interval, &st);
	const char *rep = rec_reporter_name(k->reporter);
	const char *prov = rec_provider_name(k->provider);
	bool ok = time < 0 || add_num(o, "__time__", time);
	ok = ok && add_str(o, "reporter", rep, strlen(rep), tmp);
	ok = ok && add_str(o, "source_workload", k->workload, sizeof(k->workload), tmp);
	ok = ok && add_str(o, "source_namespace", k->namespace_, sizeof(k->namespace_), tmp);
	ok = ok && add_str(o, "destination_service", k->destination, sizeof(k->destination), tmp);
	ok = ok && add_str(o, "provider", prov, strlen(prov), tmp);
	ok = ok && add_str(o, "model", k->model, sizeof(k->model), tmp);
	for (unsigned i = 0; i < REC_LABELS && ok; i++)
		if (a->cfg.label_names[i][0])
			ok = add_str(o, a->cfg.label_names[i], k->labels[i], sizeof(k->labels[i]),
				     tmp);
	uint64_t succ = st.status_class[2] + st.status_class[3];
	ok = ok && add_num(o, "requests", (double)st.requests);
	ok = ok && add_num(o, "successes", (double)succ);
	ok = ok && add_num(o, "success_rate", st.requests ? (double)succ / (double)st.requests : 0);
	ok = ok && add_num(o, "4xx", (double)st.status_class[4]);
	ok = ok && add_num(o, "5xx", (double)st.status_class[5]);
	ok = ok && add_num(o, "prompt_tokens", (double)st.prompt_tokens);
	ok = ok && add_num(o, "completion_tokens", (double)st.completion_tokens);
	ok = ok && add_num(o, "total_tokens", (double)st.total_tokens);
	ok = ok && add_num(o, "cached_tokens", (double)st.cached_tokens);
	ok = ok && add_num(o, "cache_creation_tokens", (double)st.cache_creation_tokens);
	ok = ok && add_num(o, "reasoning_tokens", (double)st.reasoning_tokens);
	/* stream size, known with or without usage */
	ok = ok && add_num(o, "chunks", (double)st.chunks);
	size_t dur = offsetof(struct series, iv_duration), dur_c = offsetof(struct series, q_duration);
	size_t ttft = offsetof(struct series, iv_ttft), ttft_c = offsetof(struct series, q_ttft);
	static const double qs[3] = {0.5, 0.95, 0.99};
	static const char *const dn[3] = {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms"};
	static const char *const tn[3] = {"ttft_p50_ms", "ttft_p95_ms", "ttft_p99_ms"};
	for (unsigned i = 0; i < 3 && ok; i++) {
		ok = add_quantile(o, dn[i], a, g, dur, dur_c, interval, qs[i]);
		ok = ok && add_quantile(o, tn[i], a, g, ttft, ttft_c, interval, qs[i]);
	}
	static const char *const un[REC_USAGE_COUNT] = {
		"usage_none", "usage_available", "usage_not_requested", "usage_missing",
		"usage_interrupted", "usage_undecodable"};
	for (unsigned u = 0; u < REC_USAGE_COUNT && ok; u++)
		ok = add_num(o, un[u], (double)st.usage[u]);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int append_json(struct strbuf *out, cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);
	if (!text)
		return -ENOMEM;
	int rc = strbuf_puts(out, text);
	cJSON_free(text);
	return rc;
}

int agg_render_summary(const struct agg *a, uint64_t now_realtime_ns, struct strbuf *out)
{
	struct strbuf tmp;
	if (!expo_group(a, EXPO_G_SUMMARY, project, no_labels))
		return -ENOMEM;
	int rc = -ENOMEM;
	strbuf_init(&tmp);
	cJSON *doc = cJSON_CreateObject();
	if (!doc ||
	    !cJSON_AddNumberToObject(doc, "__time__", (double)(now_realtime_ns / NS_PER_S)) ||
	    !cJSON_AddNumberToObject(doc, "records", (double)a->records) ||
	    !cJSON_AddNumberToObject(doc, "series_count", (double)a->tab.used))
		goto out;
	cJSON *arr = cJSON_AddArrayToObject(doc, "series");
	if (!arr)
		goto out;
	for (uint32_t g = 0; g < a->x->cur->ngroups; g++) {
		cJSON *o = group_json(a, g, false, -1, &tmp);
		if (!o)
			goto out;
		cJSON_AddItemToArray(arr, o);
	}
	rc = append_json(out, doc);
	if (!rc)
		rc = strbuf_append(out, "\n", 1);
out:
	cJSON_Delete(doc);
	strbuf_free(&tmp);
	return rc;
}

int agg_summary_lines(struct agg *a, uint64_t now_realtime_ns, struct strbuf *out)
{
	struct strbuf tmp;
	const struct expo_groups *x = expo_group(a, EXPO_G_SUMMARY, project, no_labels);
	if (!x)
		return -ENOMEM;
	int rc = 0;
	strbuf_init(&tmp);
	for (uint32_t g = 0; g < x->ngroups && !rc; g++) {
		uint64_t active = 0;
		for (uint32_t i = x->gfirst[g]; i != EXPO_END; i = x->next[i])
			active += a->tab.series[i].st.requests - a->tab.series[i].iv_base.requests;
		if (!active)
			continue;
		cJSON *o = group_json(a, g, true, (double)(now_realtime_ns / NS_PER_S), &tmp);
		if (!o) {
			rc = -ENOMEM;
			break;
		}
		rc = append_json(out, o);
		if (!rc)
			rc = strbuf_append(out, "\n", 1);
		cJSON_Delete(o);
	}
	strbuf_free(&tmp);
	if (rc)
		return rc;
	/* Start the next interval. */
	for (uint32_t i = 0; i < a->tab.used; i++) {
		struct series *s = &a->tab.series[i];
		s->iv_base = s->st;
		hist_merge(&s->q_duration, &s->iv_duration, &a->pool);
		hist_merge(&s->q_ttft, &s->iv_ttft, &a->pool);
		hist_reset(&s->iv_duration, &a->pool);
		hist_reset(&s->iv_ttft, &a->pool);
	}
	return 0;
}
