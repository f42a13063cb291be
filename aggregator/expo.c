/*
 * expo.c - exposition helpers shared by the family renderers: fast number
 * formatting, headers, labels and the render-time grouping of series.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "esc.h"
#include "expo.h"

size_t expo_utoa(char *buf, uint64_t v)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	size_t n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(buf, p, n);
	return n;
}

int expo_u64(struct strbuf *b, uint64_t v)
{
	char tmp[24];
	return strbuf_append(b, tmp, expo_utoa(tmp, v));
}

int expo_scaled(struct strbuf *b, uint64_t v, unsigned digits)
{
	uint64_t scale = 1;
	for (unsigned i = 0; i < digits; i++)
		scale *= 10;
	int rc = expo_u64(b, v / scale);
	uint64_t frac = v % scale;
	if (rc || frac == 0)
		return rc;
	char tmp[24];
	unsigned n = digits;
	tmp[0] = '.';
	for (unsigned i = digits; i > 0; i--) {
		tmp[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	while (tmp[n] == '0')
		n--;
	return strbuf_append(b, tmp, n + 1);
}

int expo_double(struct strbuf *b, double v)
{
	/* Shortest of %.15g / %.17g that reads back as the same double. */
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	return strbuf_puts(b, tmp);
}

int expo_header(struct strbuf *b, const char *name, const char *help, const char *type)
{
	return strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int expo_label(struct strbuf *b, bool *first, const char *name, const char *value, size_t n)
{
	int rc = 0;
	if (!*first)
		rc = strbuf_append(b, ",", 1);
	*first = false;
	if (!rc)
		rc = strbuf_puts(b, name);
	if (!rc)
		rc = strbuf_append(b, "=\"", 2);
	if (!rc)
		rc = esc_prom(b, value, n);
	if (!rc)
		rc = strbuf_append(b, "\"", 1);
	return rc;
}

bool expo_is_source(const struct series_key *k)
{
	return k->reporter == REC_REPORTER_SOURCE;
}

bool expo_is_destination(const struct series_key *k)
{
	return k->reporter == REC_REPORTER_DESTINATION;
}

int expo_group(const struct agg *a, expo_project_fn project, expo_labels_fn labels)
{
	struct expo_scratch *x = a->x;
	const struct series_table *t = &a->tab;

	x->ngroups = 0;
	memset(x->gindex, 0, ((size_t)x->gmask + 1) * sizeof(*x->gindex));
	strbuf_reset(&x->labels);
	for (uint32_t i = 0; i < t->used; i++) {
		struct series_key pk;
		const struct series *s = &t->series[i];
		uint64_t h;
		if (project) {
			project(&s->key, &pk);
			h = XXH3_64bits(&pk, sizeof(pk));
		} else {
			pk = s->key;
			h = s->hash;
		}
		x->next[i] = EXPO_END;
		uint32_t slot = (uint32_t)h & x->gmask;
		for (;; slot = (slot + 1) & x->gmask) {
			uint32_t g1 = x->gindex[slot];
			if (g1 == 0) {
				uint32_t g = x->ngroups++;
				x->gindex[slot] = g + 1;
				x->gkeys[g] = pk;
				x->ghash[g] = h;
				x->gfirst[g] = x->glast[g] = i;
				break;
			}
			uint32_t g = g1 - 1;
			if (x->ghash[g] == h && memcmp(&x->gkeys[g], &pk, sizeof(pk)) == 0) {
				x->next[x->glast[g]] = i;
				x->glast[g] = i;
				break;
			}
		}
	}
	for (uint32_t g = 0; g < x->ngroups; g++) {
		size_t at = x->labels.len;
		int rc = labels(&x->labels, &x->gkeys[g], &a->cfg);
		if (rc)
			return rc;
		x->loff[g] = at;
		x->llen[g] = (uint32_t)(x->labels.len - at);
	}
	return 0;
}

static uint64_t field(const struct series *s, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)s + off, sizeof(v));
	return v;
}

/* name{labels,extra,le="x"} — opening part up to and excluding the value. */
int expo_line_start(struct strbuf *b, const char *name, const char *suffix, const char *labels,
		    size_t llen, const char *extra, const char *le)
{
	int rc = strbuf_puts(b, name);
	if (!rc && suffix)
		rc = strbuf_puts(b, suffix);
	bool any = llen || extra || le;
	if (rc || !any)
		return rc ? rc : strbuf_append(b, " ", 1);
	rc = strbuf_append(b, "{", 1);
	bool first = true;
	if (!rc && llen) {
		rc = strbuf_append(b, labels, llen);
		first = false;
	}
	if (!rc && extra) {
		if (!first)
			rc = strbuf_append(b, ",", 1);
		if (!rc)
			rc = strbuf_puts(b, extra);
		first = false;
	}
	if (!rc && le) {
		if (!first)
			rc = strbuf_append(b, ",", 1);
		if (!rc)
			rc = strbuf_append(b, "le=\"", 4);
		if (!rc)
			rc = strbuf_puts(b, le);
		if (!rc)
			rc = strbuf_append(b, "\"", 1);
	}
	if (!rc)
		rc = strbuf_append(b, "} ", 2);
	return rc;
}

static int u64_lines(const struct agg *a, struct strbuf *b, const char *name, size_t off,
		     expo_filter_fn filter, const char *extra, bool skip_zero)
{
	const struct expo_scratch *x = a->x;
	for (uint32_t g = 0; g < x->ngroups; g++) {
		if (filter && !filter(&x->gkeys[g]))
			continue;
		uint64_t sum = 0;
		for (uint32_t i = x->gfirst[g]; i != EXPO_END; i = x->next[i])
			sum += field(&a->tab.series[i], off);
		if (skip_zero && sum == 0)
			continue;
		int rc = expo_line_start(b, name, NULL, x->labels.data + x->loff[g], x->llen[g], extra,
				    NULL);
		if (!rc)
			rc = expo_u64(b, sum);
		if (!rc)
			rc = strbuf_append(b, "\n", 1);
		if (rc)
			return rc;
	}
	return 0;
}

int expo_u64_lines(const struct agg *a, struct strbuf *b, const char *name, size_t off,
		   expo_filter_fn filter, const char *extra)
{
	return u64_lines(a, b, name, off, filter, extra, false);
}

int expo_u64_lines_nonzero(const struct agg *a, struct strbuf *b, const char *name, size_t off,
			   expo_filter_fn filter, const char *extra)
{
	return u64_lines(a, b, name, off, filter, extra, true);
}

int expo_hist_lines(const struct agg *a, struct strbuf *b, const char *name, size_t off,
		    const struct hist_bounds *bounds, unsigned sum_digits, expo_filter_fn filter,
		    const char *extra)
{
	const struct expo_scratch *x = a->x;
	for (uint32_t g = 0; g < x->ngroups; g++) {
		if (filter && !filter(&x->gkeys[g]))
			continue;
		struct series_buckets acc;
		memset(&acc, 0, sizeof(acc));
		for (uint32_t i = x->gfirst[g]; i != EXPO_END; i = x->next[i]) {
			const struct series_buckets *sb =
				(const void *)((const char *)&a->tab.series[i] + off);
			for (unsigned k = 0; k <= bounds->n; k++)
				acc.n[k] += sb->n[k];
			acc.count += sb->count;
			acc.sum += sb->sum;
		}
		if (acc.count == 0)
			continue;
		const char *lb = x->labels.data + x->loff[g];
		size_t ll = x->llen[g];
		uint64_t cum = 0;
		int rc = 0;
		for (unsigned k = 0; k <= bounds->n && !rc; k++) {
			cum += acc.n[k];
			rc = expo_line_start(b, name, "_bucket", lb, ll, extra,
					k < bounds->n ? bounds->text[k] : "+Inf");
			if (!rc)
				rc = expo_u64(b, cum);
			if (!rc)
				rc = strbuf_append(b, "\n", 1);
		}
		if (!rc)
			rc = expo_line_start(b, name, "_sum", lb, ll, extra, NULL);
		if (!rc)
			rc = expo_scaled(b, acc.sum, sum_digits);
		if (!rc)
			rc = strbuf_append(b, "\n", 1);
		if (!rc)
			rc = expo_line_start(b, name, "_count", lb, ll, extra, NULL);
		if (!rc)
			rc = expo_u64(b, acc.count);
		if (!rc)
			rc = strbuf_append(b, "\n", 1);
		if (rc)
			return rc;
	}
	return 0;
}
