/*
 * otlp_json.c - the OTLP JSON encoding of the label table (see otlp.h).
 *
 * Names and units from the OpenTelemetry GenAI semantic conventions:
 *   gen_ai.client.token.usage          {token}  histogram, gen_ai.token.type
 *   gen_ai.client.operation.duration   s        exponential histogram
 *   gen_ai.client.operation.time_to_first_chunk  s  (streams)
 *   gen_ai.server.request.duration     s
 *   gen_ai.server.time_to_first_token  s
 *   gen_ai.server.time_per_output_token s       histogram (no sketch)
 * Client metrics from reporter=source series, server ones from
 * reporter=destination. Durations are exponential histograms straight from
 * the series' sketches (scale 6, or --native-schema): the same buckets the
 * daemon counts in, nothing re-binned. Token usage and time per output
 * token have no sketch and keep the spec's explicit boundaries, exactly as
 * counted. tokenring's own counters (no GenAI name exists):
 * tokenring.requests, tokenring.usage (tokenring.usage.status),
 * tokenring.tokens.cached, tokenring.tokens.reasoning, tokenring.cost (USD).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "expo.h"
#include "otlp.h"

#define NS_PER_S 1e9

static void str_lit(struct strbuf *b, const char *s)
{
	strbuf_puts(b, s);
}

static void json_str(struct strbuf *b, const char *s, size_t n)
{
	strbuf_append(b, "\"", 1);
	esc_json(b, s, n);
	strbuf_append(b, "\"", 1);
}

static void u64_str(struct strbuf *b, uint64_t v)
{
	strbuf_append(b, "\"", 1);
	expo_u64(b, v);
	strbuf_append(b, "\"", 1);
}

/* One KeyValue with a string value; *first tracks the separating comma. */
static void attr_str(struct strbuf *b, bool *first, const char *key, const char *v, size_t n)
{
	strbuf_puts(b, *first ? "{\"key\":\"" : ",{\"key\":\"");
	*first = false;
	strbuf_puts(b, key);
	strbuf_puts(b, "\",\"value\":{\"stringValue\":");
	json_str(b, v, strnlen(v, n));
	strbuf_puts(b, "}}");
}

static void attr_int(struct strbuf *b, bool *first, const char *key, uint64_t v)
{
	strbuf_puts(b, *first ? "{\"key\":\"" : ",{\"key\":\"");
	*first = false;
	strbuf_puts(b, key);
	strbuf_puts(b, "\",\"value\":{\"intValue\":");
	u64_str(b, v);
	strbuf_puts(b, "}}");
}

/* "host:port" / "[v6]:port" (a series with no authority): the port. */
static bool dest_port(const char *d, size_t n, unsigned long *port)
{
	size_t len = strnlen(d, n);
	const char *colon = memrchr(d, ':', len);
	if (!colon || colon + 1 == d + len)
		return false;
	if (memchr(d, ':', (size_t)(colon - d)) && d[0] != '[')
		return false; /* a bare IPv6 host, no port */
	char *end;
	*port = strtoul(colon + 1, &end, 10);
	return end == d + len && *port > 0 && *port < 65536;
}

/* The attributes of a series (every label of the tuple), without the
 * closing bracket. */
static void series_attrs_text(struct strbuf *b, const struct agg *a, const struct series_key *k)
{
	bool first = true;
	strbuf_puts(b, "\"attributes\":[");
	const char *op = rec_operation_name(k->operation);
	const char *prov = expo_gen_ai_provider(k->provider);
	attr_str(b, &first, "gen_ai.operation.name", op, strlen(op));
	attr_str(b, &first, "gen_ai.provider.name", prov, strlen(prov));
	attr_str(b, &first, "gen_ai.request.model", k->model, sizeof(k->model));
	if (k->response_model[0])
		attr_str(b, &first, "gen_ai.response.model", k->response_model,
			 sizeof(k->response_model));
	size_t dlen = strnlen(k->destination, sizeof(k->destination));
	unsigned long port;
	if (dest_port(k->destination, sizeof(k->destination), &port)) {
		const char *colon = memrchr(k->destination, ':', dlen);
		size_t hl = (size_t)(colon - k->destination);
		if (k->destination[0] == '[' && hl >= 2) /* [v6] -> v6 */
			attr_str(b, &first, "server.address", k->destination + 1, hl - 2);
		else
			attr_str(b, &first, "server.address", k->destination, hl);
		attr_int(b, &first, "server.port", port);
	} else {
		attr_str(b, &first, "server.address", k->destination, dlen);
	}
	if (k->response_code == 0 || k->response_code >= 400) {
		char code[24];
		size_t n = k->response_code ? expo_utoa(code, k->response_code) : 6;
		if (!k->response_code)
			memcpy(code, "_OTHER", 6);
		attr_str(b, &first, "error.type", code, n);
	}
	if (k->response_code)
		attr_int(b, &first, "http.response.status_code", k->response_code);
	const char *rep = rec_reporter_name(k->reporter);
	attr_str(b, &first, "tokenring.reporter", rep, strlen(rep));
	attr_str(b, &first, "tokenring.source.workload", k->workload, sizeof(k->workload));
	attr_str(b, &first, "tokenring.source.namespace", k->namespace_, sizeof(k->namespace_));
	for (unsigned i = 0; i < REC_LABELS; i++)
		if (a->cfg.label_names[i][0])
			attr_str(b, &first, a->cfg.label_names[i], k->labels[i],
				 sizeof(k->labels[i]));
}

/* Series keys never change and series are never removed: each series'
 * attribute text is rendered once, when the series first shows up in an
 * export, and kept (bounded by --max-series, like the exposition's label
 * text). */
struct otlp_cache {
	struct strbuf text;
	size_t *off;
	uint32_t *len;
	uint32_t built, cap;
};

void otlp_cache_free(struct expo_scratch *x)
{
	if (!x->otlp)
		return;
	strbuf_free(&x->otlp->text);
	free(x->otlp->off);
	free(x->otlp->len);
	free(x->otlp);
	x->otlp = NULL;
}

static struct otlp_cache *cache_update(const struct agg *a)
{
	struct otlp_cache *c = a->x->otlp;
	if (!c) {
		c = calloc(1, sizeof(*c));
		uint32_t cap = a->tab.max_series + SERIES_OVERFLOW_SLOTS;
		if (c) {
			c->off = calloc(cap, sizeof(*c->off));
			c->len = calloc(cap, sizeof(*c->len));
			c->cap = cap;
		}
		if (!c || !c->off || !c->len) {
			if (c) {
				free(c->off);
				free(c->len);
				free(c);
			}
			return NULL;
		}
		a->x->otlp = c;
	}
	for (; c->built < a->tab.used && c->built < c->cap; c->built++) {
		size_t at = c->text.len;
		series_attrs_text(&c->text, a, &a->tab.series[c->built].key);
		if (strbuf_error(&c->text)) {
			strbuf_truncate(&c->text, at); /* retried by the next export */
			return NULL;
		}
		c->off[c->built] = at;
		c->len[c->built] = (uint32_t)(c->text.len - at);
	}
	return c;
}

/* A point's attributes: the series' cached text, plus one more. */
static void series_attrs(struct strbuf *b, const struct agg *a, const struct series *s,
			 const char *extra_key, const char *extra_value)
{
	const struct otlp_cache *c = a->x->otlp;
	uint32_t i = (uint32_t)(s - a->tab.series);
	strbuf_append(b, c->text.data + c->off[i], c->len[i]);
	if (extra_key) {
		bool first = false;
		attr_str(b, &first, extra_key, extra_value, strlen(extra_value));
	}
	strbuf_puts(b, "],");
}

/* `"startTimeUnixNano":"..","timeUnixNano":".."`, the same in every point
 * of an export: rendered once per export. */
static char times_text[96];
static size_t times_len;

static void times_prepare(const struct otlp_render *r)
{
	int n = snprintf(times_text, sizeof times_text,
			 "\"startTimeUnixNano\":\"%llu\",\"timeUnixNano\":\"%llu\"",
			 (unsigned long long)r->start_ns, (unsigned long long)r->now_ns);
	times_len = n > 0 ? (size_t)n : 0;
}

static void times(struct strbuf *b, const struct otlp_render *r)
{
	(void)r;
	strbuf_append(b, times_text, times_len);
}

/* A metric's opening up to its data points, and its closing. */
static void metric_open(struct strbuf *b, bool *first, const char *name, const char *unit,
			const char *desc, const char *kind, bool monotonic)
{
	strbuf_puts(b, *first ? "{\"name\":\"" : ",{\"name\":\"");
	*first = false;
	strbuf_puts(b, name);
	strbuf_puts(b, "\",\"unit\":\"");
	strbuf_puts(b, unit);
	strbuf_puts(b, "\",\"description\":");
	json_str(b, desc, strlen(desc));
	strbuf_puts(b, ",\"");
	strbuf_puts(b, kind);
	strbuf_puts(b, "\":{\"aggregationTemporality\":2,");
	if (monotonic)
		strbuf_puts(b, "\"isMonotonic\":true,");
	strbuf_puts(b, "\"dataPoints\":[");
}

static void metric_close(struct strbuf *b)
{
	strbuf_puts(b, "]}}");
}

typedef bool (*series_filter)(const struct series *s);

static bool is_source(const struct series *s)
{
	return s->key.reporter == REC_REPORTER_SOURCE;
}

static bool is_destination(const struct series *s)
{
	return s->key.reporter == REC_REPORTER_DESTINATION;
}

static bool any_series(const struct series *s)
{
	(void)s;
	return true;
}

/* A Sum of the uint64_t at off in struct series, one point per series
 * passing filter with a non-zero value. */
static void sum_metric(struct strbuf *b, bool *mfirst, const struct agg *a,
		       const struct otlp_render *r, const char *name, const char *unit,
		       const char *desc, size_t off, series_filter filter, const char *xk,
		       const char *xv)
{
	bool any = false, pfirst = true;
	for (uint32_t i = 0; i < a->tab.used; i++) {
		const struct series *s = &a->tab.series[i];
		uint64_t v;
		memcpy(&v, (const char *)s + off, sizeof(v));
		if (!filter(s) || v == 0)
			continue;
		if (!any)
			metric_open(b, mfirst, name, unit, desc, "sum", true);
		any = true;
		strbuf_puts(b, pfirst ? "{" : ",{");
		pfirst = false;
		series_attrs(b, a, s, xk, xv);
		times(b, r);
		strbuf_puts(b, ",\"asInt\":");
		u64_str(b, v);
		strbuf_puts(b, "}");
	}
	if (any)
		metric_close(b);
}

/* Explicit-bucket histogram point of SERIES_BUCKETS words (stored over
 * `store`), shown at `show`'s boundaries; values scaled by 1/unit. */
/* `"explicitBounds":[..]` of a boundary set in the exported unit: the same
 * in every point of a metric, rendered once per metric. */
static void bounds_text(struct strbuf *t, const struct hist_bounds *show, double unit)
{
	strbuf_reset(t);
	strbuf_puts(t, ",\"explicitBounds\":[");
	for (unsigned j = 0; j < show->n; j++) {
		if (j)
			strbuf_append(t, ",", 1);
		expo_double(t, (double)show->le[j] / unit);
	}
	strbuf_puts(t, "]");
}

static void explicit_point(struct strbuf *b, const uint64_t *w, const struct hist_bounds *store,
			   const struct hist_bounds *show, double unit, const struct strbuf *bounds)
{
	uint64_t count = series_buckets_count(w, store->n);
	strbuf_puts(b, ",\"count\":");
	u64_str(b, count);
	strbuf_puts(b, ",\"sum\":");
	expo_double(b, (double)w[0] / unit);
	strbuf_puts(b, ",\"bucketCounts\":[");
	uint64_t prev = 0, run = 0;
	unsigned k = 0;
	for (unsigned j = 0; j < show->n; j++) {
		unsigned at = hist_bucket_index(store, show->le[j]);
		for (; k <= at; k++)
			run += w[1 + k];
		if (j)
			strbuf_append(b, ",", 1);
		u64_str(b, run - prev);
		prev = run;
	}
	strbuf_append(b, ",", 1);
	u64_str(b, count - prev);
	strbuf_append(b, "]", 1);
	strbuf_append(b, bounds->data, bounds->len);
}

/* Exponential histogram point of a series' two sketches (cumulative and
 * interval), sum from the exact classic counter (ns). */
static void exponential_point(struct strbuf *b, const struct agg *a, const struct hist *q,
			      const struct hist *iv, uint64_t sum_ns, struct hist_dist *d)
{
	const struct hist *hs[2] = {q, iv};
	hist_dist_n(hs, 2, &a->pool, d);
	hist_dist_downscale(d, HIST_SCALE - (int32_t)a->cfg.native_coarsen);
	strbuf_puts(b, ",\"count\":");
	u64_str(b, d->count);
	strbuf_puts(b, ",\"sum\":");
	expo_double(b, (double)sum_ns / NS_PER_S);
	strbuf_puts(b, ",\"scale\":");
	char tmp[16];
	snprintf(tmp, sizeof tmp, "%d", d->schema);
	strbuf_puts(b, tmp);
	strbuf_puts(b, ",\"zeroCount\":");
	u64_str(b, d->zero);
	strbuf_puts(b, ",\"zeroThreshold\":");
	expo_double(b, HIST_ZERO_THRESHOLD);
	if (d->n) {
		/* OTLP numbers bucket (base^i, base^(i+1)] as i: Prometheus' i - 1 */
		snprintf(tmp, sizeof tmp, "%d", d->first - 1);
		strbuf_puts(b, ",\"positive\":{\"offset\":");
		strbuf_puts(b, tmp);
		strbuf_puts(b, ",\"bucketCounts\":[");
		for (uint32_t j = 0; j < d->n; j++) {
			if (j)
				strbuf_append(b, ",", 1);
			u64_str(b, d->counts[j]);
		}
		strbuf_puts(b, "]}");
	}
	double min = q->count && (!iv->count || q->min < iv->min) ? q->min : iv->min;
	double max = q->max > iv->max ? q->max : iv->max;
	strbuf_puts(b, ",\"min\":");
	expo_double(b, min);
	strbuf_puts(b, ",\"max\":");
	expo_double(b, max);
}

struct otlp_hist {
	const char *name, *desc;
	series_filter filter;
	size_t off;                /* SERIES_BUCKETS */
	size_t q, iv;              /* sketches, or 0 */
	const struct hist_bounds *store, *show;
};

#define SKETCH(f) offsetof(struct series, q_##f), offsetof(struct series, iv_##f)
static const struct otlp_hist hists[] = {
	{"gen_ai.client.operation.duration", "GenAI operation duration.", is_source,
	 offsetof(struct series, duration), SKETCH(duration), &hist_u_duration,
	 &hist_genai_duration},
	{"gen_ai.client.operation.time_to_first_chunk",
	 "Time to receive the first chunk in a streaming operation.", is_source,
	 offsetof(struct series, ttft), SKETCH(ttft), &hist_u_ttft, &hist_genai_duration},
	{"gen_ai.server.request.duration", "Generative AI server request duration.",
	 is_destination, offsetof(struct series, duration), SKETCH(duration), &hist_u_duration,
	 &hist_genai_duration},
	{"gen_ai.server.time_to_first_token", "Time to generate first token for successful "
	 "responses.", is_destination, offsetof(struct series, ttft), SKETCH(ttft), &hist_u_ttft,
	 &hist_genai_server_ttft},
	{"gen_ai.server.time_per_output_token", "Time per output token generated after the "
	 "first token for successful responses.", is_destination, offsetof(struct series, tpot),
	 0, 0, &hist_u_tpot, &hist_genai_server_tpot},
};

static void hist_metric(struct strbuf *b, bool *mfirst, const struct agg *a,
			const struct otlp_render *r, const struct otlp_hist *h,
			struct hist_dist *d, struct strbuf *bounds)
{
	bool expo = h->q && !r->explicit_buckets;
	bounds_text(bounds, h->show, NS_PER_S);
	bool any = false, pfirst = true;
	for (uint32_t i = 0; i < a->tab.used; i++) {
		const struct series *s = &a->tab.series[i];
		const uint64_t *w = (const void *)((const char *)s + h->off);
		if (!h->filter(s) || series_buckets_count(w, h->store->n) == 0)
			continue;
		if (!any)
			metric_open(b, mfirst, h->name, "s", h->desc,
				    expo ? "exponentialHistogram" : "histogram", false);
		any = true;
		strbuf_puts(b, pfirst ? "{" : ",{");
		pfirst = false;
		series_attrs(b, a, s, NULL, NULL);
		times(b, r);
		if (expo)
			exponential_point(b, a, (const struct hist *)((const char *)s + h->q),
					  (const struct hist *)((const char *)s + h->iv), w[0], d);
		else
			explicit_point(b, w, h->store, h->show, NS_PER_S, bounds);
		strbuf_puts(b, "}");
	}
	if (any)
		metric_close(b);
}

static void token_usage(struct strbuf *b, bool *mfirst, const struct agg *a,
			const struct otlp_render *r, struct strbuf *bounds)
{
	static const char *const types[SERIES_TOK_TYPES] = {
		[SERIES_TOK_INPUT] = "input",
		[SERIES_TOK_OUTPUT] = "output",
		[SERIES_TOK_CACHED_INPUT] = "cached_input",
		[SERIES_TOK_REASONING] = "reasoning",
	};
	bool any = false, pfirst = true;
	bounds_text(bounds, &hist_genai_tokens, 1);
	for (uint32_t i = 0; i < a->tab.used; i++) {
		const struct series *s = &a->tab.series[i];
		if (!is_source(s))
			continue;
		for (unsigned t = 0; t < SERIES_TOK_TYPES; t++) {
			const uint64_t *w = (const void *)&s->tokens[t];
			if (series_buckets_count(w, HIST_TOKENS_N) == 0)
				continue;
			if (!any)
				metric_open(b, mfirst, "gen_ai.client.token.usage", "{token}",
					    "Number of input and output tokens used.", "histogram",
					    false);
			any = true;
			strbuf_puts(b, pfirst ? "{" : ",{");
			pfirst = false;
			series_attrs(b, a, s, "gen_ai.token.type", types[t]);
			times(b, r);
			explicit_point(b, w, &hist_genai_tokens, &hist_genai_tokens, 1, bounds);
			strbuf_puts(b, "}");
		}
	}
	if (any)
		metric_close(b);
}

static void usage_metric(struct strbuf *b, bool *mfirst, const struct agg *a,
			 const struct otlp_render *r)
{
	static const char *const status[REC_USAGE_COUNT] = {
		[REC_USAGE_NONE] = "none",
		[REC_USAGE_AVAILABLE] = "available",
		[REC_USAGE_NOT_REQUESTED] = "not_requested",
		[REC_USAGE_MISSING] = "missing",
		[REC_USAGE_INTERRUPTED] = "interrupted",
	};
	bool any = false, pfirst = true;
	for (uint32_t i = 0; i < a->tab.used; i++) {
		const struct series *s = &a->tab.series[i];
		for (unsigned u = 0; u < REC_USAGE_COUNT; u++) {
			if (!s->st.usage[u] || !status[u])
				continue;
			if (!any)
				metric_open(b, mfirst, "tokenring.usage", "{request}",
					    "Requests by usage status (whether the response "
					    "reported token usage).",
					    "sum", true);
			any = true;
			strbuf_puts(b, pfirst ? "{" : ",{");
			pfirst = false;
			series_attrs(b, a, s, "tokenring.usage.status", status[u]);
			times(b, r);
			strbuf_puts(b, ",\"asInt\":");
			u64_str(b, s->st.usage[u]);
			strbuf_puts(b, "}");
		}
	}
	if (any)
		metric_close(b);
}

static void cost_metric(struct strbuf *b, bool *mfirst, const struct agg *a,
			const struct otlp_render *r)
{
	bool any = false, pfirst = true;
	for (uint32_t i = 0; i < a->tab.used; i++) {
		const struct series *s = &a->tab.series[i];
		if (s->price == SERIES_NO_PRICE)
			continue;
		const struct agg_price *p = &a->cfg.prices[s->price];
		double usd = ((double)s->st.prompt_tokens * p->input_usd_per_mtok +
			      (double)s->st.completion_tokens * p->output_usd_per_mtok) / 1e6;
		if (!any)
			metric_open(b, mfirst, "tokenring.cost", "USD",
				    "Cost from the configured per-model prices.", "sum", true);
		any = true;
		strbuf_puts(b, pfirst ? "{" : ",{");
		pfirst = false;
		series_attrs(b, a, s, NULL, NULL);
		times(b, r);
		strbuf_puts(b, ",\"asDouble\":");
		expo_double(b, usd);
		strbuf_puts(b, "}");
	}
	if (any)
		metric_close(b);
}

#define ST(f) offsetof(struct series, st.f)

int otlp_render_json(const struct agg *a, const struct otlp_render *r, struct strbuf *b)
{
	size_t mark = b->len;
	struct hist_dist *d = malloc(sizeof(*d));
	if (!d || !cache_update(a)) {
		free(d);
		return strbuf_fail(b, -ENOMEM);
	}
	times_prepare(r);
	str_lit(b, "{\"resourceMetrics\":[{\"resource\":{\"attributes\":");
	strbuf_puts(b, r->resource_json);
	str_lit(b, "},\"scopeMetrics\":[{\"scope\":{\"name\":\"tokenringd\",\"version\":");
	json_str(b, r->scope_version, strlen(r->scope_version));
	str_lit(b, "},\"metrics\":[");
	bool mfirst = true;
	struct strbuf bounds;
	strbuf_init(&bounds);
	if (a->cfg.families & AGG_FAM_GEN_AI) {
		token_usage(b, &mfirst, a, r, &bounds);
		for (size_t i = 0; i < sizeof(hists) / sizeof(hists[0]); i++)
			hist_metric(b, &mfirst, a, r, &hists[i], d, &bounds);
	}
	if (strbuf_error(&bounds))
		strbuf_fail(b, strbuf_error(&bounds));
	strbuf_free(&bounds);
	sum_metric(b, &mfirst, a, r, "tokenring.requests", "{request}",
		   "Requests seen by the shim.", ST(requests), any_series, NULL, NULL);
	usage_metric(b, &mfirst, a, r);
	sum_metric(b, &mfirst, a, r, "tokenring.tokens.cached", "{token}",
		   "Cached input tokens (part of the input tokens).", ST(cached_tokens),
		   any_series, NULL, NULL);
	sum_metric(b, &mfirst, a, r, "tokenring.tokens.reasoning", "{token}",
		   "Reasoning tokens (part of the output tokens).", ST(reasoning_tokens),
		   any_series, NULL, NULL);
	if (a->cfg.n_prices)
		cost_metric(b, &mfirst, a, r);
	str_lit(b, "]}]}]}");
	free(d);
	return strbuf_settle(b, mark);
}

/* ---- Resource ---- */

#define OTLP_MAX_RESOURCE 64 /* attributes kept; more are ignored */

struct kv {
	char *key, *value;
};

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Percent-decode s[0..n) into a new string. */
static char *decode(const char *s, size_t n)
{
	char *o = malloc(n + 1), *p = o;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*p++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = 0;
	return o;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static bool add_kv(struct kv *kv, unsigned *n, const char *k, size_t kl, const char *v,
		   size_t vl)
{
	for (unsigned i = 0; i < *n; i++)
		if (strlen(kv[i].key) == kl && memcmp(kv[i].key, k, kl) == 0)
			return true; /* the first wins */
	if (*n == OTLP_MAX_RESOURCE)
		return true;
	kv[*n].key = decode(k, kl);
	kv[*n].value = decode(v, vl);
	if (!kv[*n].key || !kv[*n].value) {
		free(kv[*n].key);
		free(kv[*n].value);
		return false;
	}
	(*n)++;
	return true;
}

int otlp_resource_json(struct strbuf *out, const char *version, const char *host_name,
		       const char *(*env)(const char *name))
{
	struct kv kv[OTLP_MAX_RESOURCE];
	unsigned n = 0;
	bool ok = true;
	const char *svc = env("OTEL_SERVICE_NAME");
	if (svc && *svc)
		ok &= add_kv(kv, &n, "service.name", 12, svc, strlen(svc));
	const char *ra = env("OTEL_RESOURCE_ATTRIBUTES");
	for (const char *p = ra; p && *p;) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			const char *ks = p, *ke = eq, *vs = eq + 1, *ve = end;
			trim(&ks, &ke);
			trim(&vs, &ve);
			if (ke > ks)
				ok &= add_kv(kv, &n, ks, (size_t)(ke - ks), vs, (size_t)(ve - vs));
		}
		p = *end ? end + 1 : end;
	}
	ok &= add_kv(kv, &n, "service.name", 12, "tokenringd", 10);
	ok &= add_kv(kv, &n, "service.version", 15, version, strlen(version));
	if (host_name && *host_name)
		ok &= add_kv(kv, &n, "host.name", 9, host_name, strlen(host_name));
	const char *node = env("NODE_NAME"), *ns = env("POD_NAMESPACE");
	if (node && *node)
		ok &= add_kv(kv, &n, "k8s.node.name", 13, node, strlen(node));
	if (ns && *ns)
		ok &= add_kv(kv, &n, "k8s.namespace.name", 18, ns, strlen(ns));
	strbuf_append(out, "[", 1);
	for (unsigned i = 0; i < n; i++) {
		strbuf_puts(out, i ? ",{\"key\":" : "{\"key\":");
		json_str(out, kv[i].key, strlen(kv[i].key));
		strbuf_puts(out, ",\"value\":{\"stringValue\":");
		json_str(out, kv[i].value, strlen(kv[i].value));
		strbuf_puts(out, "}}");
		free(kv[i].key);
		free(kv[i].value);
	}
	strbuf_append(out, "]", 1);
	return ok ? strbuf_error(out) : strbuf_fail(out, -ENOMEM);
}
