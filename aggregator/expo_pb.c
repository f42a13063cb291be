/*
 * expo_pb.c - the Prometheus protobuf exposition
 * (io.prometheus.client.MetricFamily, length-delimited), served when a
 * scrape's Accept header asks for it, with native histograms.
 *
 * How: the text exposition is rendered as usual (one set of renderers, one
 * set of names, labels and values), while expo_hist_lines() hands every
 * histogram group it writes to expo_native_capture(), which encodes the
 * group's native buckets from the quantile sketches (hist_dist_n: the union
 * of the members' cumulative and interval sketches). The text is then
 * transcoded family by family; each histogram metric takes the next
 * captured native part, in the same order. A histogram without a sketch
 * (istio's milliseconds) keeps its classic buckets; with one, classic
 * buckets are added only when asked (agg_config.native_classic), and
 * otherwise its _bucket lines are not even written into the text (they
 * were most of its bytes): the metric opens at _sum.
 *
 * Cost (bench/export_results.md): the label text of a line is encoded once
 * per render and then found by hash (the memo), since every family over a
 * grouping repeats the same label sets; LabelPairs are written with their
 * length known, without pb_open/pb_close.
 *
 * Histogram count and sum come from the exact classic counters (the
 * sketch's count is the same number; its sum is a double sum).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL /* as expo.c: the core links no libxxhash */
#include <xxhash.h>

#include "expo.h"
#include "pb.h"

/* io.prometheus.client field numbers (metrics.proto). */
enum {
	MF_NAME = 1, MF_HELP = 2, MF_TYPE = 3, MF_METRIC = 4,
	M_LABEL = 1, M_GAUGE = 2, M_COUNTER = 3, M_UNTYPED = 5, M_HISTOGRAM = 7,
	LP_NAME = 1, LP_VALUE = 2,
	VALUE = 1, /* Gauge, Counter, Untyped */
	H_COUNT = 1, H_SUM = 2, H_BUCKET = 3, H_SCHEMA = 5, H_ZERO_THRESHOLD = 6,
	H_ZERO_COUNT = 7, H_POS_SPAN = 12, H_POS_DELTA = 13,
	B_CUMULATIVE = 1, B_UPPER = 2,
	SPAN_OFFSET = 1, SPAN_LENGTH = 2,
};
enum { T_COUNTER = 0, T_GAUGE = 1, T_UNTYPED = 3, T_HISTOGRAM = 4 };

/* Zero buckets inside a span are cheaper than a new span up to this run. */
#define EXPO_PB_GAP 2

/* Label text already encoded in this render: every family over one
 * grouping repeats the same label sets, so most lines' labels are a hash
 * and a compare away from their LabelPair bytes instead of a parse. */
struct memo_entry {
	uint64_t hash;
	size_t key, enc; /* offsets in memo_keys, memo_enc */
	uint32_t key_len, enc_len;
};

struct expo_native {
	struct hist_dist dist;
	struct strbuf text;  /* the text exposition being transcoded */
	struct strbuf parts; /* captured native parts: u32 length, then bytes */
	struct strbuf esc;   /* one unescaped label value */
	bool capture;
	struct memo_entry *memo;
	uint32_t *memo_index; /* open addressing: entry + 1, 0 empty */
	uint32_t memo_n, memo_mask;
	struct strbuf memo_keys, memo_enc;
};

void expo_native_free(struct expo_scratch *x)
{
	if (!x->native)
		return;
	strbuf_free(&x->native->text);
	strbuf_free(&x->native->parts);
	strbuf_free(&x->native->esc);
	strbuf_free(&x->native->memo_keys);
	strbuf_free(&x->native->memo_enc);
	free(x->native->memo);
	free(x->native->memo_index);
	free(x->native);
	x->native = NULL;
}

static void memo_reset(struct expo_native *n)
{
	n->memo_n = 0;
	if (n->memo_index)
		memset(n->memo_index, 0, ((size_t)n->memo_mask + 1) * sizeof(uint32_t));
	strbuf_reset(&n->memo_keys);
	strbuf_reset(&n->memo_enc);
}

static const struct memo_entry *memo_find(const struct expo_native *n, uint64_t h,
					  const char *key, size_t len)
{
	if (!n->memo_index)
		return NULL;
	for (uint32_t i = (uint32_t)h & n->memo_mask;; i = (i + 1) & n->memo_mask) {
		uint32_t e = n->memo_index[i];
		if (!e)
			return NULL;
		const struct memo_entry *m = &n->memo[e - 1];
		if (m->hash == h && m->key_len == len &&
		    memcmp(n->memo_keys.data + m->key, key, len) == 0)
			return m;
	}
}

/* Remember key -> enc (the bytes just written); a failure only loses the
 * memo entry (the render itself is unaffected). */
static void memo_add(struct expo_native *n, uint64_t h, const char *key, size_t len,
		     const char *enc, size_t enc_len)
{
	if (2 * ((size_t)n->memo_n + 1) > (size_t)n->memo_mask + 1 || !n->memo_index) {
		uint32_t cap = n->memo_index ? (n->memo_mask + 1) * 2 : 4096;
		uint32_t *idx = calloc(cap, sizeof(*idx));
		struct memo_entry *m = realloc(n->memo, cap / 2 * sizeof(*m));
		if (!idx || !m) {
			free(idx);
			if (m)
				n->memo = m;
			return;
		}
		n->memo = m;
		free(n->memo_index);
		n->memo_index = idx;
		n->memo_mask = cap - 1;
		for (uint32_t e = 0; e < n->memo_n; e++) {
			uint32_t i = (uint32_t)n->memo[e].hash & n->memo_mask;
			while (idx[i])
				i = (i + 1) & n->memo_mask;
			idx[i] = e + 1;
		}
	}
	struct memo_entry *m = &n->memo[n->memo_n];
	m->hash = h;
	m->key = n->memo_keys.len;
	m->enc = n->memo_enc.len;
	m->key_len = (uint32_t)len;
	m->enc_len = (uint32_t)enc_len;
	strbuf_append(&n->memo_keys, key, len);
	strbuf_append(&n->memo_enc, enc, enc_len);
	if (strbuf_error(&n->memo_keys) || strbuf_error(&n->memo_enc)) {
		memo_reset(n); /* start over; the arenas' errors stay sticky */
		strbuf_free(&n->memo_keys);
		strbuf_free(&n->memo_enc);
		return;
	}
	uint32_t i = (uint32_t)h & n->memo_mask;
	while (n->memo_index[i])
		i = (i + 1) & n->memo_mask;
	n->memo_index[i] = ++n->memo_n;
}

/* The sketches behind the SERIES_BUCKETS at off (cumulative and interval
 * for durations and TTFT, one for the others), when the exposed unit is
 * the sketch's: seconds (sum_digits 9), or tokens (0). Istio's
 * milliseconds have none: 1000 is not a power of two, so no schema holds
 * them exactly. Returns how many (0..2). */
static unsigned sketches_of(size_t off, unsigned sum_digits, size_t sk[2])
{
#define SK1(words, h) {offsetof(struct series, words), 9, 1, {offsetof(struct series, h), 0}}
#define SK2(words, f) {offsetof(struct series, words), 9, 2, \
	{offsetof(struct series, q_##f), offsetof(struct series, iv_##f)}}
#define SKT(t) {offsetof(struct series, tokens[t]), 0, 1, \
	{offsetof(struct series, nh_tokens[t]), 0}}
	static const struct {
		size_t words;
		unsigned digits, n;
		size_t sk[2];
	} map[] = {
		SK2(duration, duration), SK2(ttft, ttft), SK1(tpot, nh_tpot), SK1(tpoc, nh_tpoc),
		SKT(SERIES_TOK_INPUT), SKT(SERIES_TOK_OUTPUT), SKT(SERIES_TOK_CACHED_INPUT),
		SKT(SERIES_TOK_REASONING),
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (map[i].words == off && map[i].digits == sum_digits) {
			sk[0] = map[i].sk[0];
			sk[1] = map[i].sk[1];
			return map[i].n;
		}
	}
	return 0;
}

/* Spans: runs of buckets from a non-empty one at j, ending after the last
 * non-empty bucket before more than EXPO_PB_GAP empty ones. */
static uint32_t span_end(const struct hist_dist *d, uint32_t j)
{
	uint32_t end = j + 1, zeros = 0;
	for (uint32_t k = j + 1; k < d->n; k++) {
		zeros = d->counts[k] ? 0 : zeros + 1;
		if (zeros > EXPO_PB_GAP)
			break;
		if (d->counts[k])
			end = k + 1;
	}
	return end;
}

static uint32_t next_start(const struct hist_dist *d, uint32_t j)
{
	while (j < d->n && d->counts[j] == 0)
		j++;
	return j;
}

/* Native fields of a Histogram for d: schema, zero bucket, spans, deltas. */
static int expo_native_fields(struct strbuf *b, const struct hist_dist *d)
{
	pb_sint(b, H_SCHEMA, d->schema);
	pb_double(b, H_ZERO_THRESHOLD, HIST_ZERO_THRESHOLD);
	pb_uint(b, H_ZERO_COUNT, d->zero);
	int32_t prev_end = 0; /* index after the previous span */
	for (uint32_t j = 0; j < d->n;) {
		uint32_t end = span_end(d, j);
		int32_t idx = d->first + (int32_t)j;
		size_t at = pb_open(b, H_POS_SPAN);
		pb_sint(b, SPAN_OFFSET, j == 0 ? idx : idx - prev_end);
		pb_uint(b, SPAN_LENGTH, end - j);
		pb_close(b, at);
		prev_end = d->first + (int32_t)end;
		j = next_start(d, end);
	}
	if (d->n == 0)
		return strbuf_error(b);
	/* deltas over the same buckets, packed */
	size_t at = pb_open(b, H_POS_DELTA);
	uint64_t last = 0;
	for (uint32_t j = 0; j < d->n;) {
		uint32_t end = span_end(d, j);
		for (uint32_t k = j; k < end; k++) {
			pb_varint(b, pb_zigzag((int64_t)(d->counts[k] - last)));
			last = d->counts[k];
		}
		j = next_start(d, end);
	}
	return pb_close(b, at);
}

int expo_native_capture(const struct agg *a, uint32_t g, size_t off, unsigned sum_digits,
			bool *native_only)
{
	struct expo_native *n = a->x->native;
	if (!n || !n->capture)
		return 0;
	size_t at = n->parts.len;
	uint32_t len = 0;
	size_t sk[2];
	unsigned nsk = sketches_of(off, sum_digits, sk);
	if (strbuf_append(&n->parts, &len, sizeof(len)) || !nsk)
		return strbuf_error(&n->parts);
	const struct expo_groups *x = a->x->cur;
	const struct hist **hp = a->x->hptr; /* room for 2 per series */
	unsigned m = 0;
	for (uint32_t i = x->gfirst[g]; i != EXPO_END; i = x->next[i]) {
		const char *s = (const char *)&a->tab.series[i];
		for (unsigned k = 0; k < nsk; k++)
			hp[m++] = (const struct hist *)(s + sk[k]);
	}
	hist_dist_n(hp, m, &a->pool, &n->dist);
	hist_dist_downscale(&n->dist, HIST_SCALE - (int32_t)a->cfg.native_coarsen);
	if (expo_native_fields(&n->parts, &n->dist))
		return strbuf_error(&n->parts);
	len = (uint32_t)(n->parts.len - at - sizeof(len));
	memcpy(n->parts.data + at, &len, sizeof(len));
	*native_only = !a->cfg.native_classic;
	return 0;
}

/* ---- transcoding our own text exposition ---- */

struct family {
	const char *name, *help;
	size_t nlen, hlen;
	int type;
	size_t frame; /* SIZE_MAX until the first metric opens the frame */
};

/* Next line of the text: [*p, eol); advances *p past the newline. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
	if (*p >= end)
		return false;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (!nl)
		nl = end;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl < end ? nl + 1 : end;
	return true;
}

/* Label pairs of `{a="x",b="y"}` at *p (advanced past '}'), written as
 * LabelPair messages, leaving out the label `skip` (le). The text is ours:
 * values escaped with \\, \" and \n only. */
static int labels_pb(struct strbuf *out, struct strbuf *esc, const char **p, const char *end,
		     const char *skip)
{
	const char *s = *p;
	if (s >= end || *s != '{')
		return 0;
	s++;
	while (s < end && *s != '}') {
		const char *eq = memchr(s, '=', (size_t)(end - s));
		if (!eq || eq + 1 >= end || eq[1] != '"')
			return -EINVAL;
		const char *name = s;
		size_t nlen = (size_t)(eq - s);
		s = eq + 2;
		/* the value up to its closing quote; copied (unescaped) only when
		 * it holds a backslash, else encoded straight from the text */
		const char *q = s;
		while (q < end && *q != '"' && *q != '\\')
			q++;
		const char *val = s;
		size_t vlen = (size_t)(q - s);
		s = q;
		if (s < end && *s == '\\') {
			strbuf_reset(esc);
			strbuf_append(esc, val, vlen);
			while (s < end && *s != '"') {
				if (*s == '\\' && s + 1 < end) {
					char c = s[1] == 'n' ? '\n' : s[1];
					strbuf_append(esc, &c, 1);
					s += 2;
					continue;
				}
				q = s;
				while (q < end && *q != '"' && *q != '\\')
					q++;
				strbuf_append(esc, s, (size_t)(q - s));
				s = q;
			}
			if (strbuf_error(esc))
				return strbuf_fail(out, strbuf_error(esc));
			val = esc->data ? esc->data : "";
			vlen = esc->len;
		}
		if (s >= end)
			return -EINVAL;
		s++; /* closing quote */
		if (s < end && *s == ',')
			s++;
		if (strlen(skip) == nlen && memcmp(name, skip, nlen) == 0)
			continue;
		/* LabelPair: its length is known, no pb_open/pb_close */
		pb_key(out, M_LABEL, PB_LEN);
		pb_varint(out, 2 + pb_varint_len(nlen) + nlen + pb_varint_len(vlen) + vlen);
		pb_bytes(out, LP_NAME, name, nlen);
		pb_bytes(out, LP_VALUE, val, vlen);
	}
	*p = s < end ? s + 1 : s;
	return strbuf_error(out);
}

/* labels_pb for a line whose labels carry no `le` (counters, gauges, a
 * histogram's _sum), through the render's memo: the label text up to the
 * line's last brace (the value after it holds none) is the key. */
static int labels_memo(struct expo_native *n, struct strbuf *out, const char **p,
		       const char *end)
{
	const char *s = *p;
	if (s >= end || *s != '{')
		return 0;
	const char *close = memrchr(s, '}', (size_t)(end - s));
	if (!close)
		return -EINVAL;
	size_t len = (size_t)(close + 1 - s);
	uint64_t h = XXH3_64bits(s, len);
	const struct memo_entry *m = memo_find(n, h, s, len);
	if (m) {
		*p = close + 1;
		return strbuf_append(out, n->memo_enc.data + m->enc, m->enc_len);
	}
	size_t mark = out->len;
	int rc = labels_pb(out, &n->esc, p, end, "");
	if (!rc && *p == close + 1)
		memo_add(n, h, s, len, out->data + mark, out->len - mark);
	return rc;
}

/* The value after the labels: " 123\n". */
static double value_of(const char *s, const char *end)
{
	char tmp[48];
	while (s < end && *s == ' ')
		s++;
	/* most values are counts: whole decimals, read without strtod */
	uint64_t v = 0;
	const char *p = s;
	while (p < end && *p >= '0' && *p <= '9' && p - s < 19)
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (p == end && p > s)
		return (double)v;
	size_t n = (size_t)(end - s) < sizeof(tmp) - 1 ? (size_t)(end - s) : sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	return strtod(tmp, NULL);
}

/* The value of a line: after the closing brace (label values may hold
 * braces, the number does not), or after the name. */
static const char *value_at(const char *line, size_t len, size_t name_len)
{
	const char *brace = memrchr(line, '}', len);
	return brace ? brace + 1 : line + name_len;
}

/* The le="..." of a bucket line (the last label: `le="X"} V`), as a double. */
static double le_of(const char *line, size_t len)
{
	const char *brace = memrchr(line, '}', len);
	if (!brace || brace - line < 2)
		return 0;
	const char *q = memrchr(line, '"', (size_t)(brace - 1 - line));
	return q ? value_of(q + 1, brace - 1) : 0;
}

static int open_family(struct strbuf *out, struct family *f)
{
	if (f->frame != SIZE_MAX)
		return 0;
	f->frame = pb_open_frame(out);
	pb_bytes(out, MF_NAME, f->name, f->nlen);
	if (f->hlen)
		pb_bytes(out, MF_HELP, f->help, f->hlen);
	return pb_uint(out, MF_TYPE, (uint64_t)f->type);
}

static int close_family(struct strbuf *out, struct family *f)
{
	if (f->frame != SIZE_MAX)
		pb_close(out, f->frame);
	f->frame = SIZE_MAX;
	return strbuf_error(out);
}

static int type_of(const char *t, size_t n)
{
	if (n == 7 && memcmp(t, "counter", 7) == 0)
		return T_COUNTER;
	if (n == 5 && memcmp(t, "gauge", 5) == 0)
		return T_GAUGE;
	if (n == 9 && memcmp(t, "histogram", 9) == 0)
		return T_HISTOGRAM;
	return T_UNTYPED;
}

/* Histogram being assembled from its _bucket, _sum and _count lines. */
struct pb_hist {
	size_t metric, hist; /* open message offsets */
	unsigned nb;
	double le[HIST_MAX_BOUNDS + 1];
	uint64_t cum[HIST_MAX_BOUNDS + 1];
	double sum;
	bool open;
};

static int hist_finish(struct strbuf *out, struct expo_native *n, size_t *part_at,
		       struct pb_hist *h, uint64_t count, bool classic)
{
	pb_uint(out, H_COUNT, count);
	pb_double(out, H_SUM, h->sum);
	uint32_t plen = 0;
	if (*part_at + sizeof(plen) > n->parts.len)
		return strbuf_fail(out, -EINVAL); /* a histogram the capture did not see: a bug */
	memcpy(&plen, n->parts.data + *part_at, sizeof(plen));
	if (classic || plen == 0) {
		for (unsigned k = 0; k < h->nb; k++) {
			size_t at = pb_open(out, H_BUCKET);
			pb_uint(out, B_CUMULATIVE, h->cum[k]);
			pb_double(out, B_UPPER, h->le[k]);
			pb_close(out, at);
		}
	}
	strbuf_append(out, n->parts.data + *part_at + sizeof(plen), plen);
	*part_at += sizeof(plen) + plen;
	pb_close(out, h->hist);
	h->open = false;
	return pb_close(out, h->metric);
}

static bool has_suffix_at(const char *line, size_t len, const struct family *f, const char *sfx)
{
	size_t sl = strlen(sfx);
	return len >= f->nlen + sl && memcmp(line + f->nlen, sfx, sl) == 0 &&
	       (len == f->nlen + sl || line[f->nlen + sl] == '{' || line[f->nlen + sl] == ' ');
}

static int transcode(struct expo_native *n, struct strbuf *out, bool classic)
{
	const char *p = n->text.data ? n->text.data : "", *end = p + n->text.len;
	const char *line;
	size_t len, part_at = 0;
	struct family f = {.frame = SIZE_MAX};
	struct pb_hist h = {.open = false};
	while (!strbuf_error(out) && next_line(&p, end, &line, &len)) {
		if (len >= 7 && memcmp(line, "# HELP ", 7) == 0) {
			close_family(out, &f);
			const char *nm = line + 7, *sp = memchr(nm, ' ', len - 7);
			f.name = nm;
			f.nlen = sp ? (size_t)(sp - nm) : len - 7;
			f.help = sp ? sp + 1 : "";
			f.hlen = sp ? (size_t)(line + len - sp - 1) : 0;
			f.type = T_UNTYPED;
			continue;
		}
		if (len >= 7 && memcmp(line, "# TYPE ", 7) == 0) {
			const char *t = line + 7 + f.nlen + 1;
			if (t <= line + len)
				f.type = type_of(t, (size_t)(line + len - t));
			continue;
		}
		if (len == 0 || line[0] == '#')
			continue;
		open_family(out, &f);
		const char *ls = line + f.nlen, *le = line + len;
		if (f.type != T_HISTOGRAM) {
			while (ls < le && *ls != '{' && *ls != ' ')
				ls++;
			size_t at = pb_open(out, MF_METRIC);
			labels_memo(n, out, &ls, le);
			unsigned field = f.type == T_COUNTER ? M_COUNTER
					 : f.type == T_GAUGE ? M_GAUGE
							     : M_UNTYPED;
			size_t v = pb_open(out, field);
			pb_double(out, VALUE, value_of(ls, le));
			pb_close(out, v);
			pb_close(out, at);
			continue;
		}
		bool bucket = has_suffix_at(line, len, &f, "_bucket");
		bool sum = !bucket && has_suffix_at(line, len, &f, "_sum");
		if ((bucket || sum) && !h.open) {
			/* a metric opens at its first line: _bucket, or _sum when
			 * the native part replaced the bucket lines */
			h.metric = pb_open(out, MF_METRIC);
			ls = line + f.nlen + (bucket ? 7 : 4);
			if (bucket)
				labels_pb(out, &n->esc, &ls, le, "le");
			else
				labels_memo(n, out, &ls, le);
			h.hist = pb_open(out, M_HISTOGRAM);
			h.nb = 0;
			h.open = true;
		}
		if (bucket) {
			double bound = le_of(line, len);
			if (h.nb < HIST_MAX_BOUNDS && bound != __builtin_inf()) {
				h.le[h.nb] = bound;
				h.cum[h.nb++] = (uint64_t)value_of(value_at(line, len, len), le);
			}
		} else if (sum) {
			h.sum = value_of(value_at(line, len, f.nlen + 4), le);
		} else if (has_suffix_at(line, len, &f, "_count") && h.open) {
			uint64_t count = (uint64_t)value_of(value_at(line, len, f.nlen + 6), le);
			hist_finish(out, n, &part_at, &h, count, classic);
		}
	}
	return close_family(out, &f);
}

int agg_render_protobuf(const struct agg *a, const struct agg_self *self, struct strbuf *out)
{
	struct expo_scratch *x = a->x;
	if (!x->native) {
		x->native = calloc(1, sizeof(*x->native));
		if (!x->native)
			return -ENOMEM;
	}
	struct expo_native *n = x->native;
	strbuf_reset(&n->text);
	strbuf_reset(&n->parts);
	memo_reset(n);
	n->capture = true;
	int rc = agg_render_metrics(a, self, &n->text);
	n->capture = false;
	if (rc)
		return rc;
	size_t mark = out->len;
	transcode(n, out, a->cfg.native_classic);
	return strbuf_settle(out, mark);
}
