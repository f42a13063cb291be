/*
 * otlp_json.c - the OTLP JSON encoding of the label table (see otlp.h).
 *
 * Names and units from the OpenTelemetry GenAI semantic conventions:
 *   gen_ai.client.token.usage          {token}  gen_ai.token.type
 *   gen_ai.client.operation.duration   s
 *   gen_ai.client.operation.time_to_first_chunk  s  (streams)
 *   gen_ai.client.operation.time_per_output_chunk s (streams)
 *   gen_ai.server.request.duration     s
 *   gen_ai.server.time_to_first_token  s
 *   gen_ai.server.time_per_output_token s
 * Client metrics from reporter=source series, server ones from
 * reporter=destination. All are exponential histograms straight from the
 * series' sketches (scale 6, or --native-schema): the same buckets the
 * daemon counts in, nothing re-binned; or, with --otlp-histograms
 * explicit, the spec's boundaries, exactly as counted. tokenring's own
 * counters (no GenAI name exists):
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
#include "otlp_delta.h"

#define NS_PER_S 1e9

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
 * text). With delta temporality the cache also keeps what the last export
 * carried (struct otlp_delta, otlp_delta.c). */

struct otlp_cache {
	struct strbuf text;
	size_t *off;
	uint32_t *len;
	uint32_t built, cap;
	struct otlp_delta *delta; /* delta temporality only */
};

void otlp_cache_free(struct expo_scratch *x)
{
	if (!x->otlp)
		return;
	strbuf_free(&x->otlp->text);
	free(x->otlp->off);
	free(x->otlp->len);
	otlp_delta_free(x->otlp->delta);
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

/* The counter at off in series s since the last export. */
static uint64_t counter(const struct agg *a, const struct series *s, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)s + off, sizeof v);
	return v - *otlp_delta_words(a->x->otlp->delta, (uint32_t)(s - a->tab.series), off);
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
 * of an export: rendered once per export. Cumulative points start when the
 * daemon did; delta points where the last export ended, so consecutive
 * deltas tile time and a receiver can see a gap (a batch that was never
 * delivered). */
static char times_text[96];
static size_t times_len;

static void times_prepare(uint64_t start_ns, uint64_t now_ns)
{
	int n = snprintf(times_text, sizeof times_text,
			 "\"startTimeUnixNano\":\"%llu\",\"timeUnixNano\":\"%llu\"",
			 (unsigned long long)start_ns, (unsigned long long)now_ns);
	times_len = n > 0 ? (size_t)n : 0;
}

/* One data point's opening: the metric's opening before its first point,
 * then the attributes and the times. */
struct point_ctx {
	struct strbuf *b;
	bool *mfirst;     /* no metric written yet in the export */
	bool any, pfirst; /* of this metric */
	const char *name, *unit, *desc, *kind;
	bool monotonic;
	int temporality;
};

static void point_open(struct point_ctx *p, const struct agg *a, const struct series *s,
		       const char *xk, const char *xv)
{
	struct strbuf *b = p->b;
	if (!p->any) {
		strbuf_puts(b, *p->mfirst ? "{\"name\":\"" : ",{\"name\":\"");
		*p->mfirst = false;
		strbuf_puts(b, p->name);
		strbuf_puts(b, "\",\"unit\":\"");
		strbuf_puts(b, p->unit);
		strbuf_puts(b, "\",\"description\":");
		json_str(b, p->desc, strlen(p->desc));
		strbuf_puts(b, ",\"");
		strbuf_puts(b, p->kind);
		strbuf_puts(b, p->temporality == OTLP_DELTA ? "\":{\"aggregationTemporality\":1,"
							     : "\":{\"aggregationTemporality\":2,");
		if (p->monotonic)
			strbuf_puts(b, "\"isMonotonic\":true,");
		strbuf_puts(b, "\"dataPoints\":[{");
	} else {
		strbuf_puts(b, ",{");
	}
	p->any = true;
	series_attrs(b, a, s, xk, xv);
	strbuf_append(b, times_text, times_len);
}

/* The metric's closing, if it had a point. */
static void metric_close(struct point_ctx *p)
{
	if (p->any)
		strbuf_puts(p->b, "]}}");
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

/* A Sum: n uint64_t counters of struct series from off, one point each
 * (named by the attribute xk = xv[u], when given) where it moved; or the
 * cost, from the token counters and the series' price. */
struct otlp_sum {
	const char *name, *unit, *desc;
	size_t off;
	unsigned n;
	const char *xk;
	const char *const *xv;
	bool cost;
};

static void sum_metric(struct strbuf *b, bool *mfirst, const struct agg *a,
		       const struct otlp_render *r, const struct otlp_sum *m)
{
	struct point_ctx p = {.b = b, .mfirst = mfirst, .name = m->name, .unit = m->unit,
			      .desc = m->desc, .kind = "sum", .monotonic = true,
			      .temporality = r->temporality};
	for (uint32_t i = 0; i < a->tab.used; i++) {
		const struct series *s = &a->tab.series[i];
		for (unsigned u = 0; u < m->n; u++) {
			uint64_t v = 0;
			double usd = 0;
			if (m->cost) {
				if (s->price == SERIES_NO_PRICE)
					continue;
				const struct agg_price *pr = &a->cfg.prices[s->price];
				uint64_t in = counter(a, s, offsetof(struct series, st.prompt_tokens));
				uint64_t out =
					counter(a, s, offsetof(struct series, st.completion_tokens));
				usd = ((double)in * pr->input_usd_per_mtok +
				       (double)out * pr->output_usd_per_mtok) / 1e6;
				v = in | out;
			} else if (!m->xv || m->xv[u]) {
				v = counter(a, s, m->off + u * sizeof(uint64_t));
			}
			if (!v)
				continue;
			point_open(&p, a, s, m->xk, m->xv ? m->xv[u] : NULL);
			if (m->cost) {
				strbuf_puts(b, ",\"asDouble\":");
				expo_double(b, usd);
			} else {
				strbuf_puts(b, ",\"asInt\":");
				u64_str(b, v);
			}
			strbuf_append(b, "}", 1);
		}
	}
	metric_close(&p);
}

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

/* Explicit-bucket histogram point of the words w (SERIES_BUCKETS over
 * `store`), shown at `show`'s boundaries; values scaled by 1/unit. */
static void explicit_point(struct strbuf *b, const uint64_t *w, uint64_t count,
			   const struct hist_bounds *store, const struct hist_bounds *show,
			   double unit, const struct strbuf *bounds)
{
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

/* Exponential histogram point of the distribution d, sum from the exact
 * classic counter (recorded unit, unit_div per exported one); min and max
 * only when known for what d holds. */
static void exponential_point(struct strbuf *b, const struct hist_dist *d, uint64_t sum,
			      double unit_div, const double *minmax)
{
	char tmp[16];
	strbuf_puts(b, ",\"count\":");
	u64_str(b, d->count);
	strbuf_puts(b, ",\"sum\":");
	expo_double(b, (double)sum / unit_div);
	strbuf_puts(b, ",\"scale\":");
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
		/* the bulk of an export: hundreds of counts per point, written
		 * straight into room reserved for the longest (`"20 digits",`) */
		if (strbuf_reserve(b, (size_t)d->n * 23 + 2) == 0) {
			char *p = b->data + b->len;
			for (uint32_t j = 0; j < d->n; j++) {
				*p++ = '"';
				p += expo_utoa(p, d->counts[j]);
				*p++ = '"';
				*p++ = ',';
			}
			p[-1] = ']'; /* n > 0: the last comma */
			*p++ = '}';
			*p = 0;
			b->len = (size_t)(p - b->data);
		}
	}
	if (minmax) {
		strbuf_puts(b, ",\"min\":");
		expo_double(b, minmax[0]);
		strbuf_puts(b, ",\"max\":");
		expo_double(b, minmax[1]);
	}
}

/* A histogram metric: per series passing filter, nsub bucket-word sets
 * from off (stride apart, the attribute xk = xv[t] telling them apart);
 * exponential from the sketches (q, and iv when not 0; sub-value t's are
 * t * sizeof(struct hist) further) unless explicit buckets are asked for,
 * then at the boundaries `show`. */
struct otlp_hist {
	const char *name, *unit, *desc;
	series_filter filter;
	size_t off, stride;
	unsigned nsub;
	const char *xk;
	const char *const *xv;
	int slot;     /* delta state index of sub-value 0's sketch (t: slot + t) */
	size_t q, iv; /* the sketches */
	const struct hist_bounds *store, *show;
	double unit_div; /* recorded unit per exported one */
};

static const char *const token_types[SERIES_TOK_TYPES] = {
	[SERIES_TOK_INPUT] = "input",
	[SERIES_TOK_OUTPUT] = "output",
	[SERIES_TOK_CACHED_INPUT] = "cached_input",
	[SERIES_TOK_REASONING] = "reasoning",
};

#define WORDS(f) offsetof(struct series, f), 0, 1, NULL, NULL
#define SKETCH(slot, f) slot, offsetof(struct series, q_##f), offsetof(struct series, iv_##f)
#define SKETCH1(slot, f) slot, offsetof(struct series, f), 0
static const struct otlp_hist hists[] = {
	{"gen_ai.client.token.usage", "{token}", "Number of input and output tokens used.",
	 is_source, offsetof(struct series, tokens), sizeof(((struct series *)0)->tokens[0]),
	 SERIES_TOK_TYPES, "gen_ai.token.type", token_types, SKETCH1(4, nh_tokens),
	 &hist_genai_tokens, &hist_genai_tokens, 1},
	{"gen_ai.client.operation.duration", "s", "GenAI operation duration.", is_source,
	 WORDS(duration), SKETCH(0, duration), &hist_u_duration, &hist_genai_duration, NS_PER_S},
	{"gen_ai.client.operation.time_to_first_chunk", "s",
	 "Time to receive the first chunk in a streaming operation.", is_source, WORDS(ttft),
	 SKETCH(1, ttft), &hist_u_ttft, &hist_genai_duration, NS_PER_S},
	{"gen_ai.client.operation.time_per_output_chunk", "s",
	 "Time per output chunk after the first chunk in a streaming operation.", is_source,
	 WORDS(tpoc), SKETCH1(3, nh_tpoc), &hist_genai_client_tpoc, &hist_genai_client_tpoc,
	 NS_PER_S},
	{"gen_ai.server.request.duration", "s", "Generative AI server request duration.",
	 is_destination, WORDS(duration), SKETCH(0, duration), &hist_u_duration,
	 &hist_genai_duration, NS_PER_S},
	{"gen_ai.server.time_to_first_token", "s",
	 "Time to generate first token for successful responses.", is_destination, WORDS(ttft),
	 SKETCH(1, ttft), &hist_u_ttft, &hist_genai_server_ttft, NS_PER_S},
	{"gen_ai.server.time_per_output_token", "s",
	 "Time per output token generated after the first token for successful responses.",
	 is_destination, WORDS(tpot), SKETCH1(2, nh_tpot), &hist_u_tpot, &hist_genai_server_tpot,
	 NS_PER_S},
};
_Static_assert(4 + SERIES_TOK_TYPES == OTLP_DELTA_SKETCHES, "one delta slot per sketch");

/* Scratch of one render. */
struct render_scratch {
	struct hist_dist *d, *p;
	struct strbuf bounds;
};

/* The exponential point of series i's sketches for sub-value t (delta:
 * since the last export, whose distribution is replaced by today's). */
static void sketch_point(struct strbuf *b, const struct agg *a, const struct otlp_hist *h,
			 uint32_t i, unsigned t, const uint64_t *dw, struct render_scratch *x)
{
	const char *s = (const char *)&a->tab.series[i] + t * sizeof(struct hist);
	const struct hist *hs[2] = {(const void *)(s + h->q), (const void *)(s + h->iv)};
	unsigned n = h->iv ? 2 : 1;
	hist_dist_n(hs, n, &a->pool, x->d);
	hist_dist_downscale(x->d, HIST_SCALE - (int32_t)a->cfg.native_coarsen);
	double minmax[2] = {__builtin_inf(), 0};
	for (unsigned k = 0; k < n; k++) {
		if (!hs[k]->count)
			continue;
		minmax[0] = hs[k]->min < minmax[0] ? hs[k]->min : minmax[0];
		minmax[1] = hs[k]->max > minmax[1] ? hs[k]->max : minmax[1];
	}
	bool whole = true; /* d holds every sample: min and max are its own */
	struct otlp_delta *dl = a->x->otlp->delta;
	if (dl)
		whole = otlp_delta_since(dl, i, (unsigned)h->slot + t, x->d, x->p);
	exponential_point(b, x->d, dw[0], h->unit_div, whole ? minmax : NULL);
}

static void hist_metric(struct strbuf *b, bool *mfirst, const struct agg *a,
			const struct otlp_render *r, const struct otlp_hist *h,
			struct render_scratch *x)
{
	bool expo = h->slot >= 0 && !r->explicit_buckets;
	struct otlp_delta *dl = a->x->otlp->delta;
	struct point_ctx p = {.b = b, .mfirst = mfirst, .name = h->name, .unit = h->unit,
			      .desc = h->desc,
			      .kind = expo ? "exponentialHistogram" : "histogram",
			      .temporality = r->temporality};
	bounds_text(&x->bounds, h->show, h->unit_div);
	unsigned nw = h->store->n + 2;
	for (uint32_t i = 0; i < a->tab.used; i++) {
		const struct series *s = &a->tab.series[i];
		if (!h->filter(s))
			continue;
		for (unsigned t = 0; t < h->nsub; t++) {
			size_t off = h->off + t * h->stride;
			const uint64_t *w = (const void *)((const char *)s + off);
			const uint64_t *pw = otlp_delta_words(dl, i, off);
			uint64_t dw[HIST_MAX_UNION + 2];
			for (unsigned j = 0; j < nw; j++)
				dw[j] = w[j] - pw[j];
			uint64_t count = series_buckets_count(dw, h->store->n);
			if (!count) {
				if (dl && expo) /* nothing new: the last distribution stays */
					otlp_delta_carry(dl, i, (unsigned)h->slot + t, x->p);
				continue;
			}
			point_open(&p, a, s, h->xk, h->xv ? h->xv[t] : NULL);
			if (expo)
				sketch_point(b, a, h, i, t, dw, x);
			else
				explicit_point(b, dw, count, h->store, h->show, h->unit_div,
					       &x->bounds);
			strbuf_append(b, "}", 1);
		}
	}
	metric_close(&p);
}

static const char *const usage_status[REC_USAGE_COUNT] = {
	[REC_USAGE_NONE] = NULL, /* not a status users see */
	[REC_USAGE_AVAILABLE] = "available",
	[REC_USAGE_NOT_REQUESTED] = "not_requested",
	[REC_USAGE_MISSING] = "missing",
	[REC_USAGE_INTERRUPTED] = "interrupted",
};

#define ST(f) offsetof(struct series, st.f)
static const struct otlp_sum sums[] = {
	{"tokenring.requests", "{request}", "Requests seen by the shim.", ST(requests), 1, NULL,
	 NULL, false},
	{"tokenring.usage", "{request}",
	 "Requests by usage status (whether the response reported token usage).", ST(usage),
	 REC_USAGE_COUNT, "tokenring.usage.status", usage_status, false},
	{"tokenring.tokens.cached", "{token}", "Cached input tokens (part of the input tokens).",
	 ST(cached_tokens), 1, NULL, NULL, false},
	{"tokenring.tokens.reasoning", "{token}",
	 "Reasoning tokens (part of the output tokens).", ST(reasoning_tokens), 1, NULL, NULL,
	 false},
	{"tokenring.cost", "USD", "Cost from the configured per-model prices.", 0, 1, NULL, NULL,
	 true},
};

int otlp_render_json(const struct agg *a, const struct otlp_render *r, struct strbuf *b)
{
	size_t mark = b->len;
	struct render_scratch x = {.d = malloc(sizeof(struct hist_dist)),
				   .p = malloc(sizeof(struct hist_dist))};
	strbuf_init(&x.bounds);
	struct otlp_cache *c = x.d && x.p ? cache_update(a) : NULL;
	bool delta = r->temporality == OTLP_DELTA;
	struct otlp_delta *dl = c && delta ? otlp_delta_begin(&c->delta, c->cap) : NULL;
	if (!c || (delta && !dl)) {
		free(x.d);
		free(x.p);
		return strbuf_fail(b, -ENOMEM);
	}
	uint64_t start_ns = dl && otlp_delta_last_ns(dl) ? otlp_delta_last_ns(dl) : r->start_ns;
	times_prepare(start_ns, r->now_ns);
	strbuf_puts(b, "{\"resourceMetrics\":[{\"resource\":{\"attributes\":");
	strbuf_puts(b, r->resource_json);
	strbuf_puts(b, "},\"scopeMetrics\":[{\"scope\":{\"name\":\"tokenringd\",\"version\":");
	json_str(b, r->scope_version, strlen(r->scope_version));
	strbuf_puts(b, "},\"metrics\":[");
	bool mfirst = true;
	if (a->cfg.families & AGG_FAM_GEN_AI)
		for (size_t i = 0; i < sizeof(hists) / sizeof(hists[0]); i++)
			hist_metric(b, &mfirst, a, r, &hists[i], &x);
	for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++)
		if (!sums[i].cost || a->cfg.n_prices)
			sum_metric(b, &mfirst, a, r, &sums[i]);
	strbuf_puts(b, "]}]}]}");
	if (strbuf_error(&x.bounds))
		strbuf_fail(b, strbuf_error(&x.bounds));
	if (dl && otlp_delta_failed(dl))
		strbuf_fail(b, -ENOMEM);
	strbuf_free(&x.bounds);
	free(x.d);
	free(x.p);
	int rc = strbuf_settle(b, mark);
	if (rc == 0 && dl)
		otlp_delta_commit(dl, a, r->now_ns);
	return rc;
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
