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
	expo_u64(b, v / scale);
	uint64_t frac = v % scale;
	if (frac == 0)
		return strbuf_error(b);
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
	if (!*first)
		strbuf_append(b, ",", 1);
	*first = false;
	strbuf_puts(b, name);
	strbuf_append(b, "=\"", 2);
	esc_prom(b, value, n);
	return strbuf_append(b, "\"", 1);
}

void expo_keep(const struct series_key *in, struct series_key *out, unsigned keep)
{
	memset(out, 0, sizeof(*out));
	if (keep & EXPO_KEEP_REPORTER)
		out->reporter = in->reporter;
	if (keep & EXPO_KEEP_PROVIDER)
		out->provider = in->provider;
	if (keep & EXPO_KEEP_OPERATION)
		out->operation = in->operation;
	if (keep & EXPO_KEEP_CODE)
		out->response_code = in->response_code;
	if (keep & EXPO_KEEP_WORKLOAD) {
		memcpy(out->workload, in->workload, sizeof(out->workload));
		memcpy(out->namespace_, in->namespace_, sizeof(out->namespace_));
	}
	if (keep & EXPO_KEEP_DEST)
		memcpy(out->destination, in->destination, sizeof(out->destination));
	if (keep & EXPO_KEEP_MODEL)
		memcpy(out->model, in->model, sizeof(out->model));
	if (keep & EXPO_KEEP_RESPONSE_MODEL)
		memcpy(out->response_model, in->response_model, sizeof(out->response_model));
	if (keep & EXPO_KEEP_LABELS)
		memcpy(out->labels, in->labels, sizeof(out->labels));
}

bool expo_is_source(const struct series_key *k)
{
	return k->reporter == REC_REPORTER_SOURCE;
}

bool expo_is_destination(const struct series_key *k)
{
	return k->reporter == REC_REPORTER_DESTINATION;
}

static void project_key(expo_project_fn project, const struct series_key *in,
			struct series_key *out)
{
	if (project)
		project(in, out);
	else
		*out = *in;
}

struct expo_groups *expo_group(const struct agg *a, enum expo_grouping which,
			       expo_project_fn project, expo_labels_fn labels)
{
	struct expo_groups *x = &a->x->grp[which];
	const struct series_table *t = &a->tab;

	a->x->cur = x;
	for (uint32_t i = x->built; i < t->used; i++) {
		struct series_key pk, rep;
		project_key(project, &t->series[i].key, &pk);
		uint64_t h = XXH3_64bits(&pk, sizeof(pk));
		x->next[i] = EXPO_END;
		for (uint32_t slot = (uint32_t)h & x->gmask;; slot = (slot + 1) & x->gmask) {
			uint32_t g1 = x->gindex[slot];
			if (g1 == 0) { /* a new group: its labels are rendered now, once */
				uint32_t g = x->ngroups;
				size_t at = x->labels.len;
				labels(&x->labels, &pk, &a->cfg);
				if (strbuf_settle(&x->labels, at))
					return NULL; /* retried by the next call */
				x->loff[g] = at;
				x->llen[g] = (uint32_t)(x->labels.len - at);
				x->gindex[slot] = g + 1;
				x->ghash[g] = h;
				x->gfirst[g] = x->glast[g] = i;
				x->ngroups++;
				break;
			}
			uint32_t g = g1 - 1;
			if (x->ghash[g] != h)
				continue;
			project_key(project, &t->series[x->gfirst[g]].key, &rep);
			if (memcmp(&rep, &pk, sizeof(pk)) == 0) {
				x->next[x->glast[g]] = i;
				x->glast[g] = i;
				break;
			}
		}
		x->built = i + 1;
	}
	return x;
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
	strbuf_puts(b, name);
	if (suffix)
		strbuf_puts(b, suffix);
	if (!llen && !extra && !le)
		return strbuf_append(b, " ", 1);
	strbuf_append(b, "{", 1);
	const char *sep = "";
	if (llen) {
		strbuf_append(b, labels, llen);
		sep = ",";
	}
	if (extra) {
		strbuf_puts(b, sep);
		strbuf_puts(b, extra);
		sep = ",";
	}
	if (le) {
		strbuf_puts(b, sep);
		strbuf_append(b, "le=\"", 4);
		strbuf_puts(b, le);
		strbuf_append(b, "\"", 1);
	}
	return strbuf_append(b, "} ", 2);
}

/* Appends without per-call checks: the caller reserved the room. */
static inline char *put(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* The hot copy of a line prefix: whole 32-byte blocks, inlined, no libc
 * call per line. Reads and writes up to EXPO_SLACK - 1 bytes past n: the
 * source (x->line) and the destination keep that much room reserved. */
#define EXPO_SLACK 32
static inline char *put_blocks(char *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += EXPO_SLACK)
		__builtin_memcpy(p + i, s + i, EXPO_SLACK);
	return p + n;
}

static inline char *put_u64(char *p, uint64_t v)
{
	unsigned n = 1;
	for (uint64_t t = v; t >= 10; t /= 10)
		n++;
	for (unsigned i = n; i > 0; i--) {
		p[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

/* v / 10^digits, exact, trailing fractional zeros trimmed (<= 41 bytes). */
static char *put_scaled(char *p, uint64_t v, unsigned digits)
{
	uint64_t scale = 1;
	for (unsigned i = 0; i < digits; i++)
		scale *= 10;
	p = put_u64(p, v / scale);
	uint64_t frac = v % scale;
	if (frac == 0)
		return p;
	*p++ = '.';
	for (unsigned i = digits; i > 0; i--) {
		p[i - 1] = (char)('0' + frac % 10);
		frac /= 10;
	}
	unsigned n = digits;
	while (p[n - 1] == '0')
		n--;
	return p + n;
}

/* One series' name and labels, lengths measured once per metric. */
struct line_parts {
	const char *name, *suffix, *labels, *extra;
	size_t nlen, slen, llen, elen;
};

/* Room raw_prefix needs besides the parts' lengths. */
#define EXPO_PREFIX_EXTRA 12

/* Write name[suffix]{labels[,extra]} then "} " -- or, open_le, the same
 * with ",le=\"" left open for the boundary text. Without labels, extra or
 * le: "name[suffix] ". The caller reserved the room. */
static char *raw_prefix(char *p, const struct line_parts *l, bool open_le)
{
	p = put(p, l->name, l->nlen);
	p = put(p, l->suffix, l->slen);
	if (!l->llen && !l->elen && !open_le) {
		*p++ = ' ';
		return p;
	}
	*p++ = '{';
	p = put(p, l->labels, l->llen);
	if (l->elen) {
		if (l->llen)
			*p++ = ',';
		p = put(p, l->extra, l->elen);
	}
	if (open_le) {
		if (l->llen || l->elen)
			*p++ = ',';
		return put(p, "le=\"", 4);
	}
	return put(p, "} ", 2);
}

static void parts(struct line_parts *l, const struct expo_groups *x, uint32_t g,
		  const char *name, const char *suffix, const char *extra)
{
	l->name = name;
	l->nlen = strlen(name);
	l->suffix = suffix ? suffix : "";
	l->slen = strlen(l->suffix);
	l->labels = x->labels.data + x->loff[g];
	l->llen = x->llen[g];
	l->extra = extra;
	l->elen = extra ? strlen(extra) : 0;
}

static size_t parts_len(const struct line_parts *l)
{
	return l->nlen + l->slen + l->llen + l->elen + EXPO_PREFIX_EXTRA;
}

/* Groups are rendered in series creation order, a stride of a few KiB
 * through the table that the hardware prefetcher does not follow: fetch the
 * bytes of the group EXPO_AHEAD places on ourselves. */
#define EXPO_AHEAD 8
static inline void prefetch_group(const struct agg *a, uint32_t g, size_t off, size_t bytes)
{
	const struct expo_groups *x = a->x->cur;
	if (g + EXPO_AHEAD >= x->ngroups)
		return;
	const char *p = (const char *)&a->tab.series[x->gfirst[g + EXPO_AHEAD]] + off;
	for (size_t i = 0; i < bytes; i += 64)
		__builtin_prefetch(p + i, 0);
}

static int u64_lines(const struct agg *a, struct strbuf *b, const char *name, size_t off,
		     expo_filter_fn filter, const char *extra, bool skip_zero)
{
	const struct expo_groups *x = a->x->cur;
	for (uint32_t g = 0; g < x->ngroups; g++) {
		prefetch_group(a, g, off, sizeof(uint64_t));
		if (filter && !filter(expo_gkey(a, x, g)))
			continue;
		uint64_t sum = 0;
		for (uint32_t i = x->gfirst[g]; i != EXPO_END; i = x->next[i])
			sum += field(&a->tab.series[i], off);
		if (skip_zero && sum == 0)
			continue;
		struct line_parts l;
		parts(&l, x, g, name, NULL, extra);
		if (strbuf_reserve(b, parts_len(&l) + 22))
			return strbuf_error(b);
		char *p = raw_prefix(b->data + b->len, &l, false);
		p = put_u64(p, sum);
		*p++ = '\n';
		*p = 0;
		b->len = (size_t)(p - b->data);
	}
	return strbuf_error(b);
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
		    const struct hist_bounds *store, const struct hist_bounds *show,
		    unsigned sum_digits, expo_filter_fn filter, const char *extra)
{
	const struct expo_groups *x = a->x->cur;
	struct strbuf *line = &a->x->line;
	unsigned at[HIST_MAX_BOUNDS]; /* shown boundary k is stored boundary at[k] */
	/* each boundary's line tail `TEXT"} `, padded for a fixed-size copy */
	char tail[HIST_MAX_BOUNDS + 1][16];
	unsigned tail_len[HIST_MAX_BOUNDS + 1];
	if (show->n > HIST_MAX_BOUNDS || store->n > HIST_MAX_UNION)
		return strbuf_fail(b, -EINVAL); /* the sets are compile-time constants: a bug */
	for (unsigned k = 0; k <= show->n; k++) {
		const char *le = k < show->n ? show->text[k] : "+Inf";
		size_t n = strlen(le);
		if (n > sizeof(tail[k]) - 4)
			return strbuf_fail(b, -EINVAL); /* boundary texts are short constants */
		memset(tail[k], 0, sizeof(tail[k]));
		memcpy(tail[k], le, n);
		memcpy(tail[k] + n, "\"} ", 3);
		tail_len[k] = (unsigned)n + 3;
		if (k < show->n)
			at[k] = hist_bucket_index(store, show->le[k]);
	}
	for (uint32_t g = 0; g < x->ngroups; g++) {
		prefetch_group(a, g, off, (store->n + 2) * sizeof(uint64_t));
		if (filter && !filter(expo_gkey(a, x, g)))
			continue;
		uint64_t acc[HIST_MAX_UNION + 2] = {0}; /* sum, then counts */
		for (uint32_t i = x->gfirst[g]; i != EXPO_END; i = x->next[i]) {
			const uint64_t *w = (const void *)((const char *)&a->tab.series[i] + off);
			for (unsigned k = 0; k < store->n + 2; k++)
				acc[k] += w[k];
		}
		uint64_t count = series_buckets_count(acc, store->n);
		if (count == 0)
			continue;
		bool native_only = false;
		if (expo_native_capture(a, g, off, sum_digits, &native_only))
			return strbuf_fail(b, -ENOMEM);
		/* cumulative over the stored boundaries */
		uint64_t cum[HIST_MAX_UNION + 1];
		uint64_t run = 0;
		for (unsigned k = 0; k <= store->n; k++)
			cum[k] = run += acc[1 + k];
		/* _bucket lines: one prefix, then boundary text and count */
		struct line_parts l;
		parts(&l, x, g, name, "_bucket", extra);
		strbuf_reset(line);
		if (strbuf_reserve(line, parts_len(&l) + EXPO_SLACK))
			return strbuf_fail(b, strbuf_error(line));
		line->len = (size_t)(raw_prefix(line->data, &l, true) - line->data);
		/* per line: prefix (+ block slack), tail, 20 digits, newline; then
		 * _sum and _count */
		size_t per = line->len + EXPO_SLACK + 16 + 21;
		if (strbuf_reserve(b, per * (show->n + 1) + 2 * (parts_len(&l) + 64)))
			return strbuf_error(b);
		char *p = b->data + b->len;
		/* a protobuf render with this group's native part needs no bucket
		 * lines: the transcoder opens the histogram at _sum */
		for (unsigned k = 0; k <= show->n && !native_only; k++) {
			p = put_blocks(p, line->data, line->len);
			__builtin_memcpy(p, tail[k], 16);
			p += tail_len[k];
			p = put_u64(p, k < show->n ? cum[at[k]] : count);
			*p++ = '\n';
		}
		l.suffix = "_sum";
		l.slen = 4;
		p = raw_prefix(p, &l, false);
		p = put_scaled(p, acc[0], sum_digits);
		*p++ = '\n';
		l.suffix = "_count";
		l.slen = 6;
		p = raw_prefix(p, &l, false);
		p = put_u64(p, count);
		*p++ = '\n';
		*p = 0;
		b->len = (size_t)(p - b->data);
	}
	return strbuf_error(b);
}
