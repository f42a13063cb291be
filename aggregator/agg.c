/*
 * agg.c - the aggregation core's entry points: create/destroy, family list
 * parsing, per-record ingest and the exposition dispatcher.
 *
 * Ingest is allocation-free and O(1) per record: a compare with the tuple
 * of the run it is in (records come in runs of one tuple), the run's first
 * record a tuple cache probe or one table lookup; then a few indexed
 * searches over fixed bucket boundaries (hist_bucket_index) and three sketch
 * adds (hist_add.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "agg_internal.h"
#include "mcp.h"
#include "record_mcp.h"
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

static int32_t find_price(const struct agg *a, const char *model)
{
	for (unsigned i = 0; i < a->cfg.n_prices; i++)
		if (strcmp(a->cfg.prices[i].model, model) == 0)
			return (int32_t)i;
	return SERIES_NO_PRICE;
}

/* Sketches hold seconds, the unit the native histograms are exposed in. */
static double agg_seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* Where a record's duration and TTFT count in the sketches: found once per
 * record, used by the prefetch stages and by the accounting. */
struct agg_place {
	double dur, ttft; /* seconds */
	unsigned dur_o, dur_sub;
	unsigned ttft_o, ttft_sub;
};

static void place(const struct tr_record *rec, struct agg_place *pl)
{
	pl->dur = agg_seconds(rec->duration_ns);
	hist_place(pl->dur, &pl->dur_o, &pl->dur_sub);
	pl->ttft = 0;
	pl->ttft_o = pl->ttft_sub = 0;
	if (rec->ttft_ns) {
		pl->ttft = agg_seconds(rec->ttft_ns);
		hist_place(pl->ttft, &pl->ttft_o, &pl->ttft_sub);
	}
}

/* words: a SERIES_BUCKETS (sum, then counts). */
static inline void bucket_add(uint64_t *words, unsigned idx, uint64_t v)
{
	words[0] += v;
	words[1 + idx]++;
}

static inline void observe(uint64_t *words, const struct hist_bounds *b, uint64_t v)
{
	bucket_add(words, hist_bucket_index(b, v), v);
}

/* A per-token (or per-chunk) time: (duration - ttft) / (n - 1), compared
 * with the boundaries exactly; the sum gets the truncated quotient in ns. */
static void observe_ratio(uint64_t *words, const struct hist_bounds *b, uint64_t num,
			  uint64_t den)
{
	bucket_add(words, hist_bucket_index_ratio(b, num, den), num / den);
}

#define WORDS(member) ((uint64_t *)&(member))

/* A token count: its bucket words and its sketch (tokens are the unit). */
static inline __attribute__((always_inline)) void
observe_tokens(struct agg *a, struct series *s, enum series_token_type t, uint32_t v)
{
	uint32_t place = hist_token_place(v);
	bucket_add(WORDS(s->tokens[t]), place >> HIST_TOKEN_FINE_BITS, v);
	hist_add_count(&s->nh_tokens[t], &a->pool, v, place);
}

/* A per-token time: bucket words, and the sketch in seconds. */
static void observe_per_token(struct agg *a, uint64_t *words, struct hist *h,
			      const struct hist_bounds *b, uint64_t num, uint64_t den)
{
	observe_ratio(words, b, num, den);
	hist_add(h, &a->pool, (double)num / (double)den / 1e9);
}

static inline __attribute__((always_inline)) void
ingest_tokens(struct agg *a, struct series *s, const struct tr_record *rec, uint32_t fam)
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
	observe_tokens(a, s, SERIES_TOK_INPUT, rec->prompt_tokens);
	observe_tokens(a, s, SERIES_TOK_OUTPUT, rec->completion_tokens);
	/* A type the provider did not report reads as 0 in the record: only
	 * non-zero counts are observations. */
	if (rec->cached_tokens)
		observe_tokens(a, s, SERIES_TOK_CACHED_INPUT, rec->cached_tokens);
	if (rec->reasoning_tokens)
		observe_tokens(a, s, SERIES_TOK_REASONING, rec->reasoning_tokens);
}

/* pl: where the record counts in the sketches if a prefetch stage found it
 * already, else NULL (hist_add finds it, in one call). */
static inline __attribute__((always_inline)) void
ingest_times(struct agg *a, struct series *s, const struct tr_record *rec,
	     const struct agg_place *pl)
{
	uint32_t fam = a->cfg.families;
	const uint32_t timed = AGG_FAM_TOKENRING | AGG_FAM_GEN_AI;
	uint64_t dur = rec->duration_ns;

	if (fam & (timed | AGG_FAM_ISTIO))
		observe(WORDS(s->duration), &hist_u_duration, dur);
	if (pl)
		hist_add_at(&s->iv_duration, &a->pool, pl->dur, pl->dur_o, pl->dur_sub);
	else
		hist_add(&s->iv_duration, &a->pool, agg_seconds(dur));

	bool stream = rec->flags & REC_F_STREAM;
	uint64_t ttft = rec->ttft_ns;
	if (!stream || ttft == 0)
		return;
	if (fam & timed)
		observe(WORDS(s->ttft), &hist_u_ttft, ttft);
	if (pl)
		hist_add_at(&s->iv_ttft, &a->pool, pl->ttft, pl->ttft_o, pl->ttft_sub);
	else
		hist_add(&s->iv_ttft, &a->pool, agg_seconds(ttft));

	if (dur < ttft || !(fam & timed))
		return;
	/* Time per output token: streams with usage and > 1 output token. */
	if (rec->usage_status == REC_USAGE_AVAILABLE && rec->completion_tokens > 1)
		observe_per_token(a, WORDS(s->tpot), &s->nh_tpot, &hist_u_tpot, dur - ttft,
				  rec->completion_tokens - 1);
	/* The client-side GenAI metric is per output chunk, which a client
	 * sees whether or not usage was requested. */
	if ((fam & AGG_FAM_GEN_AI) && s->key.reporter == REC_REPORTER_SOURCE && rec->chunks > 1)
		observe_per_token(a, WORDS(s->tpoc), &s->nh_tpoc, &hist_genai_client_tpoc,
				  dur - ttft, rec->chunks - 1);
}

static inline __attribute__((always_inline)) void
account(struct agg *a, struct series *s, const struct tr_record *rec, const struct agg_place *pl)
{
	a->records++;
	a->parse_errors += (rec->flags & REC_F_PARSE_ERROR) != 0;
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
		ingest_tokens(a, s, rec, a->cfg.families);
	ingest_times(a, s, rec, pl);
}

static struct series *find(struct agg *a, struct series_key *k, struct series_hash h)
{
	bool created;
	struct series *s = series_lookup_hashed(&a->tab, k, h, &created);
	if (created)
		s->price = find_price(a, s->key.model);
	return s;
}

/* The record's tuple. A header label slot the daemon has no name for is
 * not a label: whatever a producer put there must not split series that
 * render with identical labels. */
static void make_key(const struct agg *a, struct series_key *k, const struct tr_record *rec,
		     const struct agg_identity *id)
{
	series_key_from_record(k, rec, id);
	for (unsigned i = 0; i < REC_LABELS; i++)
		if (!a->cfg.label_names[i][0])
			memset(k->labels[i], 0, sizeof(k->labels[i]));
}

_Static_assert(offsetof(struct tr_record, request_model) ==
			       offsetof(struct tr_record, authority) + REC_AUTHORITY_LEN &&
		       offsetof(struct tr_record, response_model) ==
			       offsetof(struct tr_record, request_model) + REC_MODEL_LEN &&
		       REC_AUTHORITY_LEN == REC_MODEL_LEN,
	       "authority and both models are one run of the record (struct agg_fp)");
_Static_assert(sizeof(struct agg_identity) == RING_WORKLOAD_LEN + RING_NAMESPACE_LEN,
	       "agg_identity is its two strings");

_Static_assert(offsetof(struct tr_record, peer) ==
		       offsetof(struct tr_record, local) + sizeof(struct rec_addr),
	       "local and peer are one run of the record");

/* memcmp(a, b, n) == 0 for n a multiple of 16, without a call or an early
 * exit (the bytes are mostly equal): the differences OR-ed together, 16
 * bytes at a time (SSE2, every x86-64), 32 with AVX2 where the CPU has it
 * (picked at agg_create), 8 elsewhere. */
#if defined(__x86_64__)
static inline bool same_bytes(const void *a, const void *b, size_t n)
{
	const __m128i *x = a, *y = b;
	__m128i d = _mm_setzero_si128();
#pragma GCC unroll 16
	for (size_t i = 0; i < n / 16; i++)
		d = _mm_or_si128(d, _mm_xor_si128(_mm_loadu_si128(x + i), _mm_loadu_si128(y + i)));
	return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xffff;
}

__attribute__((target("avx2"))) static inline bool same_bytes_avx2(const void *a,
								   const void *b, size_t n)
{
	const __m256i *x = a, *y = b;
	__m256i d = _mm256_setzero_si256();
#pragma GCC unroll 8
	for (size_t i = 0; i < n / 32; i++)
		d = _mm256_or_si256(d, _mm256_xor_si256(_mm256_loadu_si256(x + i),
							_mm256_loadu_si256(y + i)));
	if (n % 32) { /* the last 16 */
		__m128i t = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + n / 32)),
					  _mm_loadu_si128((const __m128i *)(y + n / 32)));
		d = _mm256_or_si256(d, _mm256_zextsi128_si256(t));
	}
	return _mm256_testz_si256(d, d);
}
#define SAME_BYTES(x, y, n, avx2) ((avx2) ? same_bytes_avx2(x, y, n) : same_bytes(x, y, n))
#else
static inline bool same_bytes(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	uint64_t d = 0;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t u, v;
		memcpy(&u, x + i, 8);
		memcpy(&v, y + i, 8);
		d |= u ^ v;
	}
	return d == 0;
}
#define SAME_BYTES(x, y, n, avx2) ((void)(avx2), same_bytes(x, y, n))
#endif

/* The strings of a tuple: authority, request and response model, one run. */
#define AGG_TUPLE_STRINGS (REC_AUTHORITY_LEN + 2 * REC_MODEL_LEN)
_Static_assert(AGG_TUPLE_STRINGS % 16 == 0 && sizeof(struct agg_identity) % 16 == 0 &&
		       REC_LABEL_LEN % 16 == 0,
	       "same_bytes sizes");

/* The address the destination comes from when the record has no
 * authority (series_key_from_record's choice). */
static const struct rec_addr *key_addr(const struct tr_record *rec)
{
	return rec->reporter == REC_REPORTER_DESTINATION ? &rec->local : &rec->peer;
}

/* The identity of a record without one. */
static const struct agg_identity no_identity;

/* Fill fp from rec and id (a tuple the cache does not have yet). */
static void fingerprint(const struct agg *a, struct agg_fp *fp, const struct tr_record *rec,
			const struct agg_identity *id)
{
	fp->reporter = rec->reporter;
	fp->provider = rec->provider;
	fp->operation = rec->operation;
	fp->reserved = 0;
	fp->status = rec->status;
	fp->reserved2 = 0;
	fp->reserved3 = 0;
	memcpy(fp->identity, id ? id : &no_identity, sizeof(fp->identity));
	memcpy(fp->strings, rec->authority, sizeof(fp->strings));
	if (rec->authority[0])
		memset(&fp->addr, 0, sizeof(fp->addr));
	else
		fp->addr = *key_addr(rec);
	for (unsigned i = 0; i < REC_LABELS; i++)
		if (a->cfg.label_names[i][0])
			memcpy(fp->labels[i], rec->labels[i], sizeof(fp->labels[i]));
		else
			memset(fp->labels[i], 0, sizeof(fp->labels[i]));
}

/* The cache slot of rec's tuple: a mix of the words most likely to tell
 * tuples apart (the workload's, the authority's and the model's first
 * eight bytes, status and kind), read from the record. */
static uint32_t fp_slot(const struct tr_record *rec, const struct agg_identity *id)
{
	uint64_t w0 = 0, w1, w2;
	if (id)
		memcpy(&w0, id, 8);
	memcpy(&w1, rec->authority, 8);
	memcpy(&w2, rec->request_model, 8);
	uint64_t h = (w0 ^ (w1 * 0x9e3779b97f4a7c15ull) ^ (w2 * 0xc2b2ae3d27d4eb4full) ^
		      ((uint64_t)rec->status << 24 | (uint64_t)rec->reporter << 16 |
		       (uint64_t)rec->provider << 8 | rec->operation)) *
		     0xff51afd7ed558ccdull;
	return (uint32_t)(h >> 56) & (AGG_FP_SLOTS - 1);
}

/*
 * True if rec, written by id, has the tuple f was made from: the bytes
 * fingerprint() would copy compare equal to f's, read in place (no copy,
 * no call). Then rec's lookup is f's: the same key, the same series.
 * id_same: id is known to be f's (the pointer of a record that matched
 * f). avx2: compare 32 bytes at a time (only from a function built for
 * AVX2).
 */
static inline __attribute__((always_inline)) bool
fp_same(const struct agg *a, const struct agg_fp *f, const struct tr_record *rec,
	const struct agg_identity *id, bool id_same, bool avx2)
{
	if (f->status != rec->status || f->reporter != rec->reporter ||
	    f->provider != rec->provider || f->operation != rec->operation)
		return false;
	if (!SAME_BYTES(f->strings, rec->authority, AGG_TUPLE_STRINGS, avx2))
		return false;
	if (!id_same && !SAME_BYTES(f->identity, id ? id : &no_identity, sizeof(f->identity), avx2))
		return false;
	if (!rec->authority[0] && memcmp(&f->addr, key_addr(rec), sizeof(f->addr)) != 0)
		return false;
	if (a->fp->labels)
		for (unsigned i = 0; i < REC_LABELS; i++)
			if (a->cfg.label_names[i][0] &&
			    !SAME_BYTES(f->labels[i], rec->labels[i], REC_LABEL_LEN, avx2))
				return false;
	return true;
}

/* The cached series of rec's tuple (slot: fp_slot's), or NULL. */
static inline __attribute__((always_inline)) struct series *
fp_hit(const struct agg *a, uint32_t slot, const struct tr_record *rec,
       const struct agg_identity *id, bool avx2)
{
	uint32_t i = a->fp->series[slot];
	if (i == AGG_FP_EMPTY || !fp_same(a, &a->fp->key[slot], rec, id, false, avx2))
		return NULL;
	return &a->tab.series[i];
}

static uint64_t folds(const struct agg *a)
{
	uint64_t n = a->tab.overflow_records;
	for (unsigned i = 0; i < SERIES_BOUNDED; i++)
		n += a->tab.label_overflow[i];
	return n;
}

/* The slow path: key, lookup; remember the tuple unless the lookup folded.
 * *unfolded: the lookup folded nothing (so an equal tuple finds s again
 * without a fold to count). */
static struct series *find_and_remember(struct agg *a, struct series_key *k, struct series_hash h,
					const struct agg_fp *fp, uint32_t slot, bool *unfolded)
{
	uint64_t before = folds(a);
	struct series *s = find(a, k, h);
	*unfolded = folds(a) == before;
	if (*unfolded) {
		a->fp->key[slot] = *fp;
		a->fp->series[slot] = (uint32_t)(s - a->tab.series);
	}
	return s;
}

/* One record's series: the tuple cache, else key and lookup. */
static struct series *lookup(struct agg *a, const struct tr_record *rec,
			     const struct agg_identity *id, bool *unfolded)
{
	uint32_t slot = fp_slot(rec, id);
	struct series *s = fp_hit(a, slot, rec, id, false);
	if (s) {
		*unfolded = true; /* only unfolded lookups are cached */
		return s;
	}
	struct agg_fp fp;
	fingerprint(a, &fp, rec, id);
	struct series_key k;
	make_key(a, &k, rec, id);
	return find_and_remember(a, &k, series_hash_key(&a->tab, &k), &fp, slot, unfolded);
}

/*
 * The run of records from recs[from] that share its tuple: returns its
 * end (the first record after it with another tuple, or n). *hit: the
 * tuple's cached series, else NULL, and fp then holds the tuple (to be
 * remembered once looked up). *slot: the tuple's cache slot. Each record
 * after the first is compared with the tuple in the cache (or fp): one
 * call per run, not per record.
 */
static inline __attribute__((always_inline)) size_t
find_run_with(const struct agg *a, const struct tr_record *recs,
	      const struct agg_identity *const *ids, size_t from, size_t n, struct agg_fp *fp,
	      uint32_t *slot, struct series **hit, bool avx2)
{
	const struct tr_record *rec = &recs[from];
	const struct agg_identity *id = ids ? ids[from] : NULL;
	*slot = fp_slot(rec, id);
	*hit = fp_hit(a, *slot, rec, id, avx2);
	const struct agg_fp *f = &a->fp->key[*slot];
	if (!*hit) {
		fingerprint(a, fp, rec, id);
		f = fp;
	}
	size_t k = from + 1;
	while (k < n) {
		const struct agg_identity *kid = ids ? ids[k] : NULL;
		if (!fp_same(a, f, &recs[k], kid, kid == id, avx2))
			break;
		k++;
	}
	return k;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static size_t
find_run_avx2(const struct agg *a, const struct tr_record *recs,
	      const struct agg_identity *const *ids, size_t from, size_t n, struct agg_fp *fp,
	      uint32_t *slot, struct series **hit)
{
	return find_run_with(a, recs, ids, from, n, fp, slot, hit, true);
}
#endif

static size_t find_run(const struct agg *a, const struct tr_record *recs,
		       const struct agg_identity *const *ids, size_t from, size_t n,
		       struct agg_fp *fp, uint32_t *slot, struct series **hit)
{
#if defined(__x86_64__)
	if (a->avx2)
		return find_run_avx2(a, recs, ids, from, n, fp, slot, hit);
#endif
	return find_run_with(a, recs, ids, from, n, fp, slot, hit, false);
}

/* Lines a record's accounting touches, prefetched ahead of time: the
 * series' counters and first bucket lines, and the sketch octaves the
 * record's duration and TTFT fall in. */
static void prefetch_series(const struct series *s, const struct tr_record *rec,
			    const struct agg_place *pl)
{
	__builtin_prefetch(&s->hash, 1);
	__builtin_prefetch(&s->st, 1);
	__builtin_prefetch((const char *)&s->st + 64, 1);
	__builtin_prefetch((const char *)&s->st + 128, 1);
	__builtin_prefetch(&s->duration, 1);
	__builtin_prefetch((const char *)&s->duration + 64, 1);
	__builtin_prefetch((const char *)&s->duration + 128, 1);
	__builtin_prefetch(&s->iv_duration, 1);
	__builtin_prefetch(&s->iv_duration.oct[pl->dur_o], 1);
	if (rec->ttft_ns)
		__builtin_prefetch(&s->iv_ttft.oct[pl->ttft_o], 1);
}

/* The sketch chunks the record will count in (their index lines were
 * prefetched a stage before). */
static void prefetch_chunks(const struct agg *a, const struct series *s,
			    const struct tr_record *rec, const struct agg_place *pl)
{
	uint32_t c = s->iv_duration.oct[pl->dur_o].chunk;
	if (c != HIST_NO_CHUNK)
		__builtin_prefetch(&a->pool.chunks[c - 1][pl->dur_sub], 1);
	if (rec->ttft_ns) {
		c = s->iv_ttft.oct[pl->ttft_o].chunk;
		if (c != HIST_NO_CHUNK)
			__builtin_prefetch(&a->pool.chunks[c - 1][pl->ttft_sub], 1);
	}
}

/*
 * The n records of a run into series s, in order (pl: the first record's
 * place, if a prefetch stage found it). One frame for the run: a record
 * after the first costs its accounting only. If the run's lookup folded
 * (unfolded false), each record looks up again, so each counts its fold.
 */
static void account_run(struct agg *a, struct series *s, bool unfolded,
			const struct tr_record *recs, const struct agg_identity *const *ids,
			size_t n, const struct agg_place *pl)
{
	for (size_t k = 0; k < n; k++) {
		if (k > 0 && !unfolded)
			s = lookup(a, &recs[k], ids ? ids[k] : NULL, &unfolded);
		account(a, s, &recs[k], k == 0 ? pl : NULL);
	}
}

void agg_ingest(struct agg *a, const struct tr_record *rec, const struct agg_identity *id)
{
	if (rec_is_mcp(rec)) {
		mcp_ingest(a->mcp, rec, id);
		return;
	}
	bool unfolded;
	struct series *s = lookup(a, rec, id, &unfolded);
	account_run(a, s, unfolded, rec, &id, 1, NULL);
}

#define AGG_STAGE 4 /* runs between pipeline stages */
#define AGG_PIPE 16 /* ring of in-flight runs (>= 3 stages + 1, power of two) */
_Static_assert((AGG_PIPE & (AGG_PIPE - 1)) == 0 && AGG_PIPE > 3 * AGG_STAGE, "pipe ring");

static void ingest_llm(struct agg *a, const struct tr_record *recs,
		       const struct agg_identity *const *ids, size_t n);

/* MCP records go to their own table (mcp.h); the LLM records between them
 * keep the pipeline. */
void agg_ingest_batch(struct agg *a, const struct tr_record *recs,
		      const struct agg_identity *const *ids, size_t n)
{
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		if (!rec_is_mcp(&recs[i]))
			continue;
		ingest_llm(a, recs + from, ids ? ids + from : NULL, i - from);
		mcp_ingest(a->mcp, &recs[i], ids ? ids[i] : NULL);
		from = i + 1;
	}
	ingest_llm(a, recs + from, ids ? ids + from : NULL, n - from);
}

static void ingest_llm(struct agg *a, const struct tr_record *recs,
		       const struct agg_identity *const *ids, size_t n)
{
	/* A software pipeline over the batch's runs (records in a row sharing
	 * a tuple: mostly one writer's one model), AGG_STAGE runs per stage:
	 * run e is found (its end by comparing each record with its first:
	 * what a record after the first costs to find its series), its
	 * first record fingerprinted and looked up in the tuple cache, else
	 * keyed and hashed and its index slot prefetched; run e-STAGE's
	 * series lines are prefetched through the (by then cached) slot; run
	 * e-2*STAGE's sketch chunks are prefetched through the (by then
	 * cached) octave lines; run e-3*STAGE is accounted. The result is the
	 * same as agg_ingest in order: lookups and bounds are applied at
	 * accounting time; the stages ahead only read. */
	struct series_key keys[AGG_PIPE];
	struct series_hash hs[AGG_PIPE];
	struct agg_fp fps[AGG_PIPE];
	uint32_t slots[AGG_PIPE];
	struct series *hit[AGG_PIPE]; /* a tuple cache hit, or NULL: look up */
	struct agg_place pl[AGG_PIPE];
	size_t from[AGG_PIPE], to[AGG_PIPE]; /* the run's records [from, to) */
	const size_t lag = 3 * AGG_STAGE;
	size_t runs = 0, next = 0; /* runs found; the first record of none */

	for (size_t e = 0; next < n || e < runs + lag; e++) {
		if (e >= lag && e - lag < runs) { /* first: e's entry reuses no live slot */
			size_t q = (e - lag) & (AGG_PIPE - 1);
			struct series *s = hit[q];
			bool unfolded = true;
			if (!s)
				s = find_and_remember(a, &keys[q], hs[q], &fps[q], slots[q], &unfolded);
			account_run(a, s, unfolded, recs + from[q], ids ? ids + from[q] : NULL,
				    to[q] - from[q], &pl[q]);
		}
		if (e >= 2 * AGG_STAGE && e - 2 * AGG_STAGE < runs) {
			size_t q = (e - 2 * AGG_STAGE) & (AGG_PIPE - 1);
			struct series *s = hit[q] ? hit[q] : series_peek(&a->tab, hs[q]);
			if (s)
				prefetch_chunks(a, s, &recs[from[q]], &pl[q]);
		}
		if (e >= AGG_STAGE && e - AGG_STAGE < runs) {
			size_t q = (e - AGG_STAGE) & (AGG_PIPE - 1);
			struct series *s = hit[q] ? hit[q] : series_peek(&a->tab, hs[q]);
			if (s)
				prefetch_series(s, &recs[from[q]], &pl[q]);
		}
		if (next < n) { /* here runs == e */
			size_t q = e & (AGG_PIPE - 1);
			const struct tr_record *rec = &recs[next];
			const struct agg_identity *id = ids ? ids[next] : NULL;
			from[q] = next;
			next = to[q] = find_run(a, recs, ids, next, n, &fps[q], &slots[q], &hit[q]);
			runs++;
			place(rec, &pl[q]);
			if (hit[q]) {
				__builtin_prefetch(hit[q], 1);
				continue;
			}
			make_key(a, &keys[q], rec, id);
			hs[q] = series_hash_key(&a->tab, &keys[q]);
			__builtin_prefetch(series_slot_addr(&a->tab, hs[q]), 0);
		}
	}
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
