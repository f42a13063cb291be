/*
 * body.c - compressed bodies in tokenringd (body.h): a table of exchanges
 * being decoded, keyed by the writer (pid, producer, producer_gen) and the
 * shim's exchange id; each holds, per direction, a streaming decoder and
 * the proto/ extractor its output feeds. Entries are decoded as they are
 * taken from the ring, so nothing compressed or decoded is kept: memory is
 * the decoders' state (counted, bounded by --body-memory) and a scratch
 * record per exchange. The exchange's record, which the shim publishes
 * after the entries, picks up the result and frees the slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "body_dec.h"
#include "llm.h"

#define BODY_BUCKETS 8192u /* hash heads, a power of two > BODY_MAX_PENDING */
#define NIL UINT32_MAX
#define ALLOC_HEAD 16 /* size kept before each allocation, for the count */

struct side {
	uint8_t active;    /* its first entry came */
	uint8_t last;      /* its last entry came */
	uint8_t stray;     /* an entry out of sequence: bytes are missing */
	uint8_t too_large; /* past --body-max-bytes */
	uint64_t next_off;
	struct body_dec dec;
	struct llm_req req;   /* REC_BODY_REQUEST */
	struct llm_resp resp; /* REC_BODY_RESPONSE */
};

struct pend {
	uint32_t pid, xid;
	uint16_t producer, gen;
	uint8_t used;
	uint32_t hnext;            /* hash chain */
	uint32_t older, newer;     /* LRU list, by last entry */
	uint64_t last_ns;
	struct tr_record scratch;  /* what the extractors found */
	struct side s[2];
};

struct body_table {
	struct body_config cfg;
	struct body_mem mem;
	struct body_stats st;
	uint32_t buckets[BODY_BUCKETS];
	uint32_t free_head;        /* free list through hnext */
	uint32_t oldest, newest;
	struct pend *p;            /* cfg.max_pending of them */
};

/* ---- counted allocation (the decoders' only memory) ---- */

static void *mem_alloc(void *opaque, size_t n)
{
	struct body_table *t = opaque;
	if (n > t->cfg.memory || t->st.memory + n + ALLOC_HEAD > t->cfg.memory)
		return NULL;
	unsigned char *p = malloc(n + ALLOC_HEAD);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof n);
	t->st.memory += n + ALLOC_HEAD;
	return p + ALLOC_HEAD;
}

static void mem_free(void *opaque, void *q)
{
	struct body_table *t = opaque;
	size_t n;
	if (!q)
		return;
	unsigned char *p = (unsigned char *)q - ALLOC_HEAD;
	memcpy(&n, p, sizeof n);
	t->st.memory -= n + ALLOC_HEAD;
	free(p);
}

/* ---- the table ---- */

int body_create(const struct body_config *cfg, struct body_table **out)
{
	struct body_table *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	if (t->cfg.max_pending == 0 || t->cfg.max_pending > BODY_MAX_PENDING)
		t->cfg.max_pending = BODY_MAX_PENDING;
	t->p = calloc(t->cfg.max_pending, sizeof *t->p);
	if (!t->p) {
		free(t);
		return -ENOMEM;
	}
	t->mem = (struct body_mem){mem_alloc, mem_free, t};
	for (uint32_t i = 0; i < BODY_BUCKETS; i++)
		t->buckets[i] = NIL;
	for (uint32_t i = 0; i < t->cfg.max_pending; i++)
		t->p[i].hnext = i + 1 < t->cfg.max_pending ? i + 1 : NIL;
	t->free_head = 0;
	t->oldest = t->newest = NIL;
	*out = t;
	return 0;
}

static uint32_t bucket_of(uint32_t pid, uint16_t producer, uint16_t gen, uint32_t xid)
{
	uint64_t h = ((uint64_t)pid << 32 | xid) ^ ((uint64_t)producer << 48 | (uint64_t)gen << 16);
	h *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 51) & (BODY_BUCKETS - 1);
}

static uint32_t find(const struct body_table *t, uint32_t pid, uint16_t producer, uint16_t gen,
		     uint32_t xid)
{
	for (uint32_t i = t->buckets[bucket_of(pid, producer, gen, xid)]; i != NIL;
	     i = t->p[i].hnext) {
		const struct pend *p = &t->p[i];
		if (p->xid == xid && p->pid == pid && p->producer == producer && p->gen == gen)
			return i;
	}
	return NIL;
}

static void lru_unlink(struct body_table *t, uint32_t i)
{
	struct pend *p = &t->p[i];
	if (p->older != NIL)
		t->p[p->older].newer = p->newer;
	else
		t->oldest = p->newer;
	if (p->newer != NIL)
		t->p[p->newer].older = p->older;
	else
		t->newest = p->older;
}

static void lru_push(struct body_table *t, uint32_t i)
{
	struct pend *p = &t->p[i];
	p->older = t->newest;
	p->newer = NIL;
	if (t->newest != NIL)
		t->p[t->newest].newer = i;
	else
		t->oldest = i;
	t->newest = i;
}

static void release(struct body_table *t, uint32_t i)
{
	struct pend *p = &t->p[i];
	uint32_t *link = &t->buckets[bucket_of(p->pid, p->producer, p->gen, p->xid)];
	while (*link != i)
		link = &t->p[*link].hnext;
	*link = p->hnext;
	lru_unlink(t, i);
	body_dec_free(&p->s[0].dec);
	body_dec_free(&p->s[1].dec);
	p->used = 0;
	p->hnext = t->free_head;
	t->free_head = i;
	t->st.pending--;
}

/* Drop the least recently fed exchange: its record never came, or we need
 * the room more. */
static void evict_oldest(struct body_table *t)
{
	if (t->oldest == NIL)
		return;
	release(t, t->oldest);
	t->st.orphaned++;
}

static uint32_t create(struct body_table *t, const struct rec_body *b, uint64_t now)
{
	if (t->free_head == NIL)
		evict_oldest(t);
	uint32_t i = t->free_head;
	struct pend *p = &t->p[i];
	t->free_head = p->hnext;
	memset(p, 0, sizeof *p);
	p->used = 1;
	p->pid = b->pid;
	p->xid = b->xid;
	p->producer = b->producer;
	p->gen = b->producer_gen;
	p->last_ns = now;
	uint32_t *head = &t->buckets[bucket_of(p->pid, p->producer, p->gen, p->xid)];
	p->hnext = *head;
	*head = i;
	lru_push(t, i);
	t->st.pending++;
	return i;
}

void body_destroy(struct body_table *t)
{
	if (!t)
		return;
	while (t->oldest != NIL)
		release(t, t->oldest);
	free(t->p);
	free(t);
}

/* ---- decoding, entry by entry ---- */

struct out_ctx {
	struct pend *p;
	struct side *s;
	unsigned dir;
	uint64_t t_ns;
};

static void decoded(void *vctx, const char *q, size_t n)
{
	struct out_ctx *c = vctx;
	if (c->dir == REC_BODY_REQUEST)
		llm_req_body(&c->s->req, &c->p->scratch, q, n);
	else
		llm_resp_body(&c->s->resp, &c->p->scratch, q, n, c->t_ns);
}

/* A side's decoder, evicting idle exchanges while memory is short. */
static void start_side(struct body_table *t, uint32_t i, const struct rec_body *b)
{
	struct side *s = &t->p[i].s[b->dir];
	s->active = 1;
	if (b->dir == REC_BODY_REQUEST)
		llm_req_begin(&s->req);
	else
		llm_resp_begin(&s->resp, b->bflags & REC_BODY_F_SSE ? LLM_BODY_SSE : LLM_BODY_JSON);
	while (body_dec_init(&s->dec, b->coding, &t->mem) != 0 &&
	       s->dec.reason == BODY_R_MEMORY && t->oldest != i) {
		body_dec_free(&s->dec);
		evict_oldest(t);
	}
}

void body_take(struct body_table *t, const struct rec_body *b, uint64_t now_ns)
{
	t->st.entries++;
	if (b->dir > REC_BODY_RESPONSE || b->len > REC_BODY_PAYLOAD || b->xid == 0) {
		t->st.stray_entries++;
		return;
	}
	uint32_t i = find(t, b->pid, b->producer, b->producer_gen, b->xid);
	if (i == NIL) {
		if (b->offset != 0) { /* the start is gone: nothing to decode from */
			t->st.stray_entries++;
			return;
		}
		i = create(t, b, now_ns);
	}
	struct pend *p = &t->p[i];
	struct side *s = &p->s[b->dir];
	if (!s->active) {
		if (b->offset != 0) {
			s->active = 1;
			s->stray = 1;
		} else {
			start_side(t, i, b);
		}
	}
	if (s->last || s->stray || b->offset != s->next_off || b->coding != s->dec.coding) {
		s->stray = 1;
		t->st.stray_entries++;
		body_dec_free(&s->dec);
		return;
	}
	p->last_ns = now_ns;
	lru_unlink(t, i);
	lru_push(t, i);
	s->next_off += b->len;
	if (s->next_off > t->cfg.max_bytes) {
		s->too_large = 1;
		body_dec_free(&s->dec);
	} else {
		struct out_ctx c = {p, s, b->dir, b->t_ns ? b->t_ns : 1};
		body_dec_feed(&s->dec, b->payload, b->len, decoded, &c);
		if (s->dec.state == BODY_DEC_FAILED)
			body_dec_free(&s->dec);
	}
	if (b->bflags & REC_BODY_F_LAST) {
		s->last = 1;
		if (!s->too_large) {
			body_dec_finish(&s->dec);
			if (s->dec.state == BODY_DEC_DONE)
				t->st.bodies++;
		}
		body_dec_free(&s->dec); /* the memory is for bodies still coming */
	}
}

void body_expire(struct body_table *t, uint64_t now_ns)
{
	while (t->oldest != NIL && now_ns - t->p[t->oldest].last_ns > BODY_IDLE_NS)
		evict_oldest(t);
}

const struct body_stats *body_stats(const struct body_table *t)
{
	return &t->st;
}

/* ---- the record ---- */

/* Why a side's body could not be read, or -1 if it was read whole (or the
 * connection was cut, which is the record's interrupted status, not a
 * decoding error). */
static int side_reason(const struct tr_record *rec, const struct pend *p, unsigned dir,
		       unsigned coding)
{
	uint8_t copied = dir == REC_BODY_REQUEST ? REC_B_REQ_COPIED : REC_B_RESP_COPIED;
	uint8_t cut = dir == REC_BODY_REQUEST ? REC_B_REQ_CUT : REC_B_RESP_CUT;
	const struct side *s = p ? &p->s[dir] : NULL;
	if (coding == REC_CODING_UNKNOWN)
		return BODY_R_UNKNOWN_CODING;
	if (!(rec->body_bits & copied))
		return -1; /* the shim did not copy it (not known LLM traffic then) */
	if (!s || !s->active || s->stray || rec->body_lost)
		return BODY_R_LOST;
	if (s->too_large || (rec->body_bits & cut))
		return BODY_R_TOO_LARGE;
	if (s->dec.state == BODY_DEC_FAILED &&
	    (s->dec.reason != BODY_R_TRUNCATED || rec->usage_status != REC_USAGE_INTERRUPTED))
		return s->dec.reason;
	if (!s->last && rec->usage_status != REC_USAGE_INTERRUPTED)
		return BODY_R_TRUNCATED;
	return -1;
}

static void copy_tokens(struct tr_record *dst, const struct tr_record *src)
{
	dst->prompt_tokens = src->prompt_tokens;
	dst->completion_tokens = src->completion_tokens;
	dst->total_tokens = src->total_tokens;
	dst->cached_tokens = src->cached_tokens;
	dst->cache_creation_tokens = src->cache_creation_tokens;
	dst->reasoning_tokens = src->reasoning_tokens;
}

static void copy_model(char *dst, const char *src, uint32_t *flags, uint32_t src_flags,
		       uint32_t flag)
{
	if (dst[0] || !src[0])
		return;
	memcpy(dst, src, REC_MODEL_LEN);
	dst[REC_MODEL_LEN - 1] = 0;
	*flags |= src_flags & flag;
}

/* Settle the record again with what decoding added (proto/llm_settle.c). */
static void settle(struct tr_record *rec, const struct pend *p, const int ok[2],
		   int undecodable)
{
	const struct side *rq = p && ok[REC_BODY_REQUEST] ? &p->s[REC_BODY_REQUEST] : NULL;
	const struct side *rs = p && ok[REC_BODY_RESPONSE] ? &p->s[REC_BODY_RESPONSE] : NULL;
	struct llm_facts f = {0};
	int was_llm = (rec->flags & REC_F_LLM) != 0;
	f.known_path = (uint8_t)was_llm;
	if (was_llm && !(rec->body_bits & REC_B_PROVIDER_GUESSED))
		f.route.provider = rec->provider;
	f.route.operation = was_llm ? rec->operation : REC_OP_UNKNOWN;
	f.stream_req = (rec->body_bits & REC_B_STREAM_REQ) != 0;
	f.include_usage = (rec->body_bits & REC_B_INCLUDE_USAGE) != 0;
	f.resp_stream = (rec->flags & REC_F_STREAM) != 0;
	f.usage_seen = rec->usage_status == REC_USAGE_AVAILABLE;
	f.interrupted = rec->usage_status == REC_USAGE_INTERRUPTED;
	f.undecodable = (uint8_t)undecodable;
	if (rq) {
		f.shape = rq->req.shape;
		f.stream_req |= rq->req.stream;
		f.include_usage |= rq->req.include_usage;
		if (rq->req.json_error)
			rec->flags |= REC_F_PARSE_ERROR;
	}
	if (rs) {
		f.usage_seen |= rs->resp.usage_seen;
		f.usage_object = rs->resp.usage_object;
		f.hints = rs->resp.hints;
		f.op_hint = rs->resp.op_hint;
		if (rs->resp.js.values > 1)
			f.resp_stream = 1; /* NDJSON without its content type */
		if (rs->resp.json_error)
			rec->flags |= REC_F_PARSE_ERROR;
	}
	if (!llm_is_llm(&f))
		return;
	rec->flags |= REC_F_LLM;
	rec->provider = llm_provider_of(&f);
	rec->operation = llm_operation_of(&f);
	uint8_t before = rec->usage_status;
	rec->usage_status = llm_usage_status(&f, rec->provider, rec->operation);
	if (rs && rs->resp.usage_seen && before != REC_USAGE_AVAILABLE)
		copy_tokens(rec, &p->scratch);
	if (rec->usage_status != REC_USAGE_AVAILABLE) {
		struct tr_record zero = {0};
		copy_tokens(rec, &zero);
	}
	if (rs && f.resp_stream) {
		rec->flags |= REC_F_STREAM;
		rec->chunks = rs->resp.chunks;
		if (rs->resp.ttft_at)
			rec->ttft_ns = rs->resp.ttft_at;
	}
}

void body_complete(struct body_table *t, struct tr_record *rec)
{
	if (rec->body_xid == 0 && rec->codings == 0)
		return;
	uint32_t i = rec->body_xid ? find(t, rec->pid, rec->producer, rec->producer_gen,
					    rec->body_xid)
				   : NIL;
	struct pend *p = i != NIL ? &t->p[i] : NULL;
	int ok[2] = {0, 0}, undecodable = 0;
	for (unsigned dir = 0; dir < 2; dir++) {
		unsigned c = dir == REC_BODY_REQUEST ? REC_CODING_REQ(rec->codings)
						     : REC_CODING_RESP(rec->codings);
		if (c == REC_CODING_NONE || (c >= REC_CODING_UNKNOWN && !(rec->flags & REC_F_LLM)))
			continue; /* an unknown coding on traffic not known as LLM: not ours */
		int why = side_reason(rec, p, dir, c < REC_CODING_COUNT ? c : REC_CODING_UNKNOWN);
		if (why >= 0) {
			t->st.errors[c < REC_CODING_COUNT ? c : REC_CODING_UNKNOWN][why]++;
			undecodable = 1;
		}
		/* What was decoded before a failure still counts. */
		ok[dir] = p && p->s[dir].active && !p->s[dir].stray;
		if (ok[dir] && c < REC_CODING_COUNT)
			t->st.decoded_bytes[c] += p->s[dir].dec.out;
	}
	if (p) {
		copy_model(rec->request_model, p->scratch.request_model, &rec->flags,
			   p->scratch.flags, REC_F_TRUNC_REQUEST_MODEL);
		copy_model(rec->response_model, p->scratch.response_model, &rec->flags,
			   p->scratch.flags, REC_F_TRUNC_RESPONSE_MODEL);
	}
	settle(rec, p, ok, undecodable);
	if (p)
		release(t, i);
}
