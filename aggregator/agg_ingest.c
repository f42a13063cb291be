/*
 * agg_ingest.c - records into the table: what a record moves in its
 * series (counters, Prometheus bucket words, sketches), and the batch
 * path that feeds it.
 *
 * Ingest is allocation-free and O(1) per record: a compare with the tuple
 * of the run it is in (records come in runs of one tuple), the run's first
 * record a tuple cache probe or one table lookup (agg_tuple.c); then a few
 * indexed searches over fixed bucket boundaries (hist_bucket_index) and
 * three sketch adds (hist_add.h), all inlined into one loop per run.
 */
#include <string.h>

#include "agg_internal.h"
#include "mcp.h"
#include "record_mcp.h"

/* Sketches hold seconds, the unit the native histograms are exposed in. */
static double agg_seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* Where a run's first record's duration and TTFT count in the sketches:
 * found at the pipeline's first stage, used by the prefetch stages and by
 * the accounting (the run's later records find theirs as they are added). */
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
			s = agg_tuple_lookup(a, &recs[k], ids ? ids[k] : NULL, &unfolded);
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
	struct series *s = agg_tuple_lookup(a, rec, id, &unfolded);
	account_run(a, s, unfolded, rec, &id, 1, NULL);
}

/* One run in flight through the pipeline. */
struct agg_inflight {
	size_t from, to;       /* its records [from, to) */
	struct agg_place pl;   /* its first record's places in the sketches */
	struct agg_run run;    /* a tuple cache hit, or the tuple to look up */
	struct series_hash h;  /* on a miss: the key's hash */
	struct series_key key; /* on a miss */
};

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
	 * run e is found (agg_tuple_run: its first record looked up in the
	 * tuple cache, each later one compared with that tuple, which is all
	 * a record after the first costs to find its series), on a cache miss
	 * keyed and hashed and its index slot prefetched; run e-STAGE's
	 * series lines are prefetched through the (by then cached) slot; run
	 * e-2*STAGE's sketch chunks are prefetched through the (by then
	 * cached) octave lines; run e-3*STAGE is accounted. The result is the
	 * same as agg_ingest in order: lookups and bounds are applied at
	 * accounting time; the stages ahead only read. */
	struct agg_inflight fl[AGG_PIPE];
	const size_t lag = 3 * AGG_STAGE;
	size_t runs = 0, next = 0; /* runs found; the first record of none */

	for (size_t e = 0; next < n || e < runs + lag; e++) {
		if (e >= lag && e - lag < runs) { /* first: e's entry reuses no live slot */
			struct agg_inflight *f = &fl[(e - lag) & (AGG_PIPE - 1)];
			struct series *s = f->run.hit;
			bool unfolded = true;
			if (!s)
				s = agg_tuple_find(a, &f->key, f->h, &f->run.fp, f->run.slot, &unfolded);
			account_run(a, s, unfolded, recs + f->from, ids ? ids + f->from : NULL,
				    f->to - f->from, &f->pl);
		}
		if (e >= 2 * AGG_STAGE && e - 2 * AGG_STAGE < runs) {
			const struct agg_inflight *f = &fl[(e - 2 * AGG_STAGE) & (AGG_PIPE - 1)];
			struct series *s = f->run.hit ? f->run.hit : series_peek(&a->tab, f->h);
			if (s)
				prefetch_chunks(a, s, &recs[f->from], &f->pl);
		}
		if (e >= AGG_STAGE && e - AGG_STAGE < runs) {
			const struct agg_inflight *f = &fl[(e - AGG_STAGE) & (AGG_PIPE - 1)];
			struct series *s = f->run.hit ? f->run.hit : series_peek(&a->tab, f->h);
			if (s)
				prefetch_series(s, &recs[f->from], &f->pl);
		}
		if (next < n) { /* here runs == e */
			struct agg_inflight *f = &fl[e & (AGG_PIPE - 1)];
			const struct tr_record *rec = &recs[next];
			f->from = next;
			next = f->to = agg_tuple_run(a, recs, ids, next, n, &f->run);
			runs++;
			place(rec, &f->pl);
			if (f->run.hit) {
				__builtin_prefetch(f->run.hit, 1);
				continue;
			}
			agg_tuple_key(a, &f->key, rec, ids ? ids[f->from] : NULL);
			f->h = series_hash_key(&a->tab, &f->key);
			__builtin_prefetch(series_slot_addr(&a->tab, f->h), 0);
		}
	}
}
