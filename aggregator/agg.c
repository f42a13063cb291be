/*
 * agg.c - the aggregation core's life and configuration: create/destroy,
 * the family list, label name checks, and the exposition dispatcher.
 * Ingest is agg_ingest.c; which series a record counts in, agg_tuple.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg_internal.h"
#include "mcp.h"
#include "cover.h"

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

/* Every label name some family, the summary or the self-metrics writes
 * (a header label beside one would make a scrape carry the name twice, which
 * invalidates it), and label names the exposition reserves. */
static const char *const reserved_labels[] = {
	"reporter", "source_workload", "source_namespace", "source_workload_namespace",
	"destination_service", "provider", "model", "response_code", "request_protocol",
	"le", "quantile", "status", "label", "reason", "version", "llm", "token_type",
	"error_type", "server_address", "family", "coding", NULL,
};
/* Prefixes of families' label names (gen_ai_*, llmproxy_*). */
static const char *const reserved_prefixes[] = {"gen_ai_", "llmproxy_", NULL};

const char *agg_label_name_check(const char *name, size_t n)
{
	if (n == 0 || n >= AGG_LABEL_NAME_LEN)
		return "must be 1 to 31 bytes long";
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return "must match [a-zA-Z_][a-zA-Z0-9_]*";
	}
	if (n >= 2 && name[0] == '_' && name[1] == '_')
		return "must not start with __ (reserved by Prometheus)";
	char buf[AGG_LABEL_NAME_LEN];
	memcpy(buf, name, n);
	buf[n] = 0;
	for (unsigned i = 0; reserved_labels[i]; i++)
		if (strcmp(buf, reserved_labels[i]) == 0)
			return "is a built-in label";
	for (unsigned i = 0; reserved_prefixes[i]; i++)
		if (strncmp(buf, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
			return "uses a built-in label prefix (gen_ai_, llmproxy_)";
	if (alog_field_reserved(buf))
		return "is an access log field";
	if (summary_field_reserved(buf))
		return "is a summary key";
	return NULL;
}

static int groups_init(struct expo_groups *x, uint32_t slots)
{
	uint64_t size = 16;
	while (size < (uint64_t)slots * 2)
		size <<= 1;
	x->gmask = (uint32_t)size - 1;
	x->gindex = calloc(size, sizeof(*x->gindex));
	x->ghash = calloc(slots, sizeof(*x->ghash));
	x->gfirst = calloc(slots, sizeof(*x->gfirst));
	x->glast = calloc(slots, sizeof(*x->glast));
	x->next = calloc(slots, sizeof(*x->next));
	x->loff = calloc(slots, sizeof(*x->loff));
	x->llen = calloc(slots, sizeof(*x->llen));
	strbuf_init(&x->labels);
	if (!x->gindex || !x->ghash || !x->gfirst || !x->glast || !x->next || !x->loff ||
	    !x->llen)
		return -ENOMEM;
	return 0;
}

static void groups_free(struct expo_groups *x)
{
	free(x->gindex);
	free(x->ghash);
	free(x->gfirst);
	free(x->glast);
	free(x->next);
	free(x->loff);
	free(x->llen);
	strbuf_free(&x->labels);
}

static int scratch_init(struct expo_scratch *x, uint32_t slots)
{
	strbuf_init(&x->line);
	for (unsigned i = 0; i < EXPO_GROUPINGS; i++)
		if (groups_init(&x->grp[i], slots))
			return -ENOMEM;
	x->hptr = calloc((size_t)slots * 2, sizeof(*x->hptr));
	return x->hptr ? 0 : -ENOMEM;
}

static void scratch_free(struct expo_scratch *x)
{
	for (unsigned i = 0; i < EXPO_GROUPINGS; i++)
		groups_free(&x->grp[i]);
	free(x->hptr);
	strbuf_free(&x->line);
	expo_native_free(x);
	otlp_cache_free(x);
}

int agg_create(const struct agg_config *cfg, struct agg **out)
{
	int rc = -ENOMEM;
	*out = NULL;

	if (cfg->n_prices > AGG_MAX_PRICES || cfg->max_series > AGG_MAX_SERIES_LIMIT ||
	    cfg->label_max_values > AGG_LABEL_MAX_VALUES_LIMIT)
		return -EINVAL;
	for (unsigned i = 0; i < REC_LABELS; i++) {
		if (!cfg->label_names[i][0])
			continue;
		const char *n = cfg->label_names[i];
		if (agg_label_name_check(n, strnlen(n, AGG_LABEL_NAME_LEN)))
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
	rc = -ENOMEM;
	a->fp = calloc(1, sizeof(*a->fp));
	if (!a->fp)
		goto fail;
	for (unsigned i = 0; i < AGG_FP_SLOTS; i++)
		a->fp->series[i] = AGG_FP_EMPTY;
	for (unsigned i = 0; i < REC_LABELS; i++)
		a->fp->labels |= a->cfg.label_names[i][0] != 0;
#if defined(__x86_64__)
	__builtin_cpu_init();
	a->avx2 = __builtin_cpu_supports("avx2");
#endif
	rc = mcp_create(&a->mcp);
	if (rc)
		goto fail;
	*out = a;
	return 0;
fail:
	agg_destroy(a);
	return rc;
}

struct mcp_table *agg_mcp(struct agg *a)
{
	return a->mcp;
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
	free(a->fp);
	mcp_destroy(a->mcp);
	free(a);
}

uint32_t agg_series(const struct agg *a)
{
	return a->tab.used;
}

int agg_render_metrics(const struct agg *a, const struct agg_self *self, struct strbuf *out)
{
	static const struct {
		uint32_t fam;
		int (*render)(const struct agg *a, struct strbuf *out);
	} renderers[] = {
		{AGG_FAM_TOKENRING, expo_tokenring}, {AGG_FAM_GEN_AI, expo_gen_ai},
		{AGG_FAM_ASM, expo_asm},             {AGG_FAM_ISTIO, expo_istio},
		{AGG_FAM_KGATEWAY, expo_kgateway},
	};
	for (size_t i = 0; i < sizeof(renderers) / sizeof(renderers[0]); i++)
		if (a->cfg.families & renderers[i].fam)
			renderers[i].render(a, out);
	if (a->cfg.families & AGG_FAM_TOKENRING)
		mcp_render(a->mcp, out);
	if (self != NULL && self->cover != NULL)
		expo_cover(self->cover, out);
	return expo_self(a, self, out);
}
