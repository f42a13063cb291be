/*
 * agg.c - the aggregation core's entry points: create/destroy, family list
 * parsing, per-record ingest and the exposition dispatcher.
 *
 * Ingest is allocation-free and O(1) per record apart from the binary
 * searches over fixed bucket boundaries (< 20 each).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg_internal.h"

static const struct {
	const char *name;
	uint32_t bit;
} families[] = {
	{"tokenring", AGG_FAM_TOKENRING}, {"gen_ai", AGG_FAM_GEN_AI},
	{"asm", AGG_FAM_ASM},             {"istio", AGG_FAM_ISTIO},
	{"kgateway", AGG_FAM_KGATEWAY},
};

int agg_parse_families(const char *list, uint32_t *out, size_t *bad_at)
{
	uint32_t bits = 0;
	const char *p = list;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		bool found = false;
		for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
			if (strlen(families[i].name) == n && memcmp(families[i].name, p, n) == 0) {
				bits |= families[i].bit;
				found = true;
			}
		}
		if (!found) {
			if (bad_at)
				*bad_at = (size_t)(p - list);
			return -EINVAL;
		}
		if (!end)
			break;
		p = end + 1;
	}
	*out = bits;
	return 0;
}

/* Labels every family may use; a header label must not shadow one. */
static const char *const reserved_labels[] = {
	"reporter", "source_workload", "source_namespace", "destination_service",
	"provider", "model",           "response_code",    "le",
	"status",   "label",           NULL,
};

static bool valid_label_name(const char *n)
{
	size_t len = strnlen(n, AGG_LABEL_NAME_LEN);
	if (len == 0 || len == AGG_LABEL_NAME_LEN)
		return false;
	if (n[0] == '_' && n[1] == '_')
		return false; /* reserved by Prometheus */
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	for (unsigned i = 0; reserved_labels[i]; i++)
		if (strcmp(n, reserved_labels[i]) == 0)
			return false;
	return !alog_field_reserved(n);
}

static int scratch_init(struct expo_scratch *x, uint32_t slots)
{
	uint64_t size = 16;
	while (size < (uint64_t)slots * 2)
		size <<= 1;
	x->gmask = (uint32_t)size - 1;
	x->gindex = calloc(size, sizeof(*x->gindex));
	x->gkeys = calloc(slots, sizeof(*x->gkeys));
	x->ghash = calloc(slots, sizeof(*x->ghash));
	x->gfirst = calloc(slots, sizeof(*x->gfirst));
	x->glast = calloc(slots, sizeof(*x->glast));
	x->next = calloc(slots, sizeof(*x->next));
	x->loff = calloc(slots, sizeof(*x->loff));
	x->llen = calloc(slots, sizeof(*x->llen));
	x->hptr = calloc(slots, sizeof(*x->hptr));
	strbuf_init(&x->labels);
	if (!x->gindex || !x->gkeys || !x->ghash || !x->gfirst || !x->glast || !x->next ||
	    !x->loff || !x->llen || !x->hptr)
		return -ENOMEM;
	return 0;
}

static void scratch_free(struct expo_scratch *x)
{
	free(x->gindex);
	free(x->gkeys);
	free(x->ghash);
	free(x->gfirst);
	free(x->glast);
	free(x->next);
	free(x->loff);
	free(x->llen);
	free(x->hptr);
	strbuf_free(&x->labels);
}

int agg_create(const struct agg_config *cfg, struct agg **out)
{
	int rc = -ENOMEM;
	*out = NULL;

	if (cfg->n_prices > AGG_MAX_PRICES)
		return -EINVAL;
	for (unsigned i = 0; i < REC_LABELS; i++) {
		if (!cfg->label_names[i][0])
			continue;
		if (!valid_label_name(cfg->label_names[i]))
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(cfg->label_names[i], cfg->label_names[j]) == 0)
				return -EINVAL;
	}
	if (cfg->families & ~(uint32_t)(AGG_FAM_TOKENRING | AGG_FAM_GEN_AI | AGG_FAM_ASM |
					 AGG_FAM_ISTIO | AGG_FAM_KGATEWAY))
		return -EINVAL;

	struct agg *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cfg = *cfg;
	if (!a->cfg.max_series)
		a->cfg.max_series = AGG_DEFAULT_MAX_SERIES;
	if (!a->cfg.families)
		a->cfg.families = AGG_FAM_DEFAULT;
	if (!a->cfg.label_max_values)
		a->cfg.label_max_values = AGG_DEFAULT_LABEL_MAX_VALUES;
	for (unsigned i = 0; i < REC_LABELS; i++)
		a->cfg.label_names[i][AGG_LABEL_NAME_LEN - 1] = 0;
	for (unsigned i = 0; i < a->cfg.n_prices; i++)
		a->cfg.prices[i].model[REC_MODEL_LEN - 1] = 0;

	rc = series_table_init(&a->tab, a->cfg.max_series, a->cfg.label_max_values);
	if (rc)
		goto fail;
	uint32_t slots = a->cfg.max_series + SERIES_OVERFLOW_SLOTS;
	rc = hist_pool_init(&a->pool, slots * AGG_HIST_CHUNKS_PER_SERIES);
	if (rc)
		goto fail;
	rc = -ENOMEM;
	a->x = calloc(1, sizeof(*a->x));
	if (!a->x)
		goto fail;
	rc = scratch_init(a->x, slots);
	if (rc)
		goto fail;
	*out = a;
	return 0;
fail:
	agg_destroy(a);
	return rc;
}

void agg_destroy(struct agg *a)
{
	if (!a)
		return;
	if (a->x) {
		scratch_free(a->x);
		free(a->x);
	}
	hist_pool_destroy(&a->pool);
	series_table_destroy(&a->tab);
	free(a);
}

uint32_t agg_series(const struct agg *a)
{
	return a->tab.used;
}

static int32_t find_price(const struct agg *a, const char *model)
{
	for (unsigned i = 0; i < a->cfg.n_prices; i++)
		if (strcmp(a->cfg.prices[i].model, model) == 0)
			return (int32_t)i;
	return SERIES_NO_PRICE;
}

static void bucket_add(struct series_buckets *sb, unsigned idx, uint64_t v)
{
	sb->n[idx]++;
	sb->count++;
	sb->sum += v;
}

static void observe(struct series_buckets *sb, const struct hist_bounds *b, uint64_t v)
{
	bucket_add(sb, hist_bucket_index(b, v), v);
}

/* A per-token (or per-chunk) time: (duration - ttft) / (n - 1), compared
 * with the boundaries exactly; the sum gets the truncated quotient in ns. */
static void observe_ratio(struct series_buckets *sb, const struct hist_bounds *b, uint64_t num,
			  uint64_t den)
{
	bucket_add(sb, hist_bucket_index_ratio(b, num, den), num / den);
}

static void ingest_tokens(struct series *s, const struct tr_record *rec, uint32_t fam)
{
	struct series_stats *st = &s->st;
	st->prompt_tokens += rec->prompt_tokens;
	st->completion_tokens += rec->completion_tokens;
	st->total_tokens += rec->total_tokens;
	st->cached_tokens += rec->cached_tokens;
	st->cache_creation_tokens += rec->cache_creation_tokens;
	st->reasoning_tokens += rec->reasoning_tokens;
	if (!(fam & AGG_FAM_GEN_AI) || s->key.reporter != REC_REPORTER_SOURCE)
		return;
	observe(&s->ga_tokens[SERIES_TOK_INPUT], &hist_genai_tokens, rec->prompt_tokens);
	observe(&s->ga_tokens[SERIES_TOK_OUTPUT], &hist_genai_tokens, rec->completion_tokens);
	/* A type the provider did not report reads as 0 in the record: only
	 * non-zero counts are observations. */
	if (rec->cached_tokens)
		observe(&s->ga_tokens[SERIES_TOK_CACHED_INPUT], &hist_genai_tokens,
			rec->cached_tokens);
	if (rec->reasoning_tokens)
		observe(&s->ga_tokens[SERIES_TOK_REASONING], &hist_genai_tokens,
			rec->reasoning_tokens);
}

static void ingest_times(struct agg *a, struct series *s, const struct tr_record *rec)
{
	uint32_t fam = a->cfg.families;
	bool server = s->key.reporter == REC_REPORTER_DESTINATION;
	uint64_t dur = rec->duration_ns;

	if (fam & AGG_FAM_TOKENRING)
		observe(&s->tr_duration, &hist_tr_duration, dur);
	if (fam & AGG_FAM_GEN_AI)
		observe(&s->ga_duration, &hist_genai_duration, dur);
	if (fam & AGG_FAM_ISTIO)
		observe(&s->is_duration, &hist_istio_duration, dur);
	hist_add(&s->q_duration, &a->pool, dur);
	hist_add(&s->iv_duration, &a->pool, dur);

	bool stream = rec->flags & REC_F_STREAM;
	uint64_t ttft = rec->ttft_ns;
	if (!stream || ttft == 0)
		return;
	if (fam & AGG_FAM_TOKENRING)
		observe(&s->tr_ttft, &hist_tr_ttft, ttft);
	if (fam & AGG_FAM_GEN_AI)
		observe(&s->ga_ttft, server ? &hist_genai_server_ttft : &hist_genai_duration, ttft);
	hist_add(&s->q_ttft, &a->pool, ttft);
	hist_add(&s->iv_ttft, &a->pool, ttft);

	if (dur < ttft)
		return;
	/* Time per output token: streams with usage and > 1 output token. */
	bool usage = rec->usage_status == REC_USAGE_AVAILABLE;
	if (usage && rec->completion_tokens > 1) {
		uint64_t den = rec->completion_tokens - 1;
		if (fam & AGG_FAM_TOKENRING)
			observe_ratio(&s->tr_tpot, &hist_tr_tpot, dur - ttft, den);
		if ((fam & AGG_FAM_GEN_AI) && server)
			observe_ratio(&s->ga_tpot, &hist_genai_server_tpot, dur - ttft, den);
	}
	/* The client-side GenAI metric is per output chunk, which a client
	 * sees whether or not usage was requested. */
	if ((fam & AGG_FAM_GEN_AI) && !server && s->key.reporter == REC_REPORTER_SOURCE &&
	    rec->chunks > 1)
		observe_ratio(&s->ga_tpot, &hist_genai_client_tpoc, dur - ttft, rec->chunks - 1);
}

void agg_ingest(struct agg *a, const struct tr_record *rec, const struct agg_identity *id)
{
	struct series_key k;
	bool created;

	series_key_from_record(&k, rec, id);
	struct series *s = series_lookup(&a->tab, &k, &created);
	if (created)
		s->price = find_price(a, s->key.model);
	a->records++;

	struct series_stats *st = &s->st;
	st->requests++;
	unsigned cls = rec->status / 100;
	st->status_class[cls >= 1 && cls <= 5 ? cls : 0]++;
	st->req_bytes += rec->req_bytes;
	st->resp_bytes += rec->resp_bytes;
	st->chunks += rec->chunks;
	unsigned us = rec->usage_status < REC_USAGE_COUNT ? rec->usage_status : REC_USAGE_NONE;
	st->usage[us]++;
	if (us == REC_USAGE_AVAILABLE)
		ingest_tokens(s, rec, a->cfg.families);
	ingest_times(a, s, rec);
}

int agg_render_metrics(const struct agg *a, const struct agg_self *self, struct strbuf *out)
{
	uint32_t fam = a->cfg.families;
	int rc = 0;

	if (!rc && (fam & AGG_FAM_TOKENRING))
		rc = expo_tokenring(a, out);
	if (!rc && (fam & AGG_FAM_GEN_AI))
		rc = expo_gen_ai(a, out);
	if (!rc && (fam & AGG_FAM_ASM))
		rc = expo_asm(a, out);
	if (!rc && (fam & AGG_FAM_ISTIO))
		rc = expo_istio(a, out);
	if (!rc && (fam & AGG_FAM_KGATEWAY))
		rc = expo_kgateway(a, out);
	if (!rc)
		rc = expo_self(a, self, out);
	return rc;
}
