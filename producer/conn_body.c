/*
 * conn_body.c - compressed bodies leave the shim as body entries
 * (shm/record_body.h): the shim never decompresses, it copies the body
 * bytes (dechunked, still compressed) into the ring ahead of the
 * exchange's record, and tokenringd decodes them (aggregator/body.c).
 *
 * Cost in the app: one copy of the body bytes into a pending entry in the
 * connection's state, and one ring publish per REC_BODY_PAYLOAD bytes. No
 * allocation, no lock, no syscall: the only process-wide state is the
 * exchange id counter (one atomic add per copied exchange).
 *
 * Which bodies: a compressed body of an exchange that is already known to
 * be LLM traffic when its headers end (a known LLM path or configured
 * prefix, a request body shaped like an LLM call), or every compressed body
 * with TOKENRING_HTTP=all. A compressed request to an unknown path is not
 * copied: nothing says it is LLM traffic until decoded.
 *
 * Times: an entry holds bytes that arrived within CONN_BODY_SLACK_NS of
 * each other, and carries the arrival of its last byte, so tokenringd can
 * place the first content event of a decoded stream on the wire clock
 * (time to first token) within that slack.
 */
#include <stdatomic.h>
#include <string.h>

#include "conn_internal.h"

#define CONN_BODY_SLACK_NS 1000000ull /* 1 ms: TTFT resolution of compressed streams */

static _Atomic uint32_t next_xid;

static uint8_t coding_of(const struct conn_exch *ex, enum rec_body_dir dir)
{
	return (uint8_t)(dir == REC_BODY_REQUEST ? REC_CODING_REQ(ex->rec.codings)
						 : REC_CODING_RESP(ex->rec.codings));
}

static uint8_t copied_bit(enum rec_body_dir dir)
{
	return dir == REC_BODY_REQUEST ? REC_B_REQ_COPIED : REC_B_RESP_COPIED;
}

void conn_body_begin(struct conn_call *k, struct conn_exch *ex, enum rec_body_dir dir)
{
	struct conn_state *st = k->st;
	uint8_t c = coding_of(ex, dir);
	st->copy[dir] = 0;
	if (!k->cfg->body_emit || c == REC_CODING_NONE || c == REC_CODING_UNKNOWN)
		return;
	int llm = ex->f.known_path || (ex->f.shape & LLM_SHAPE_LLM) ||
		  (ex->rec.body_bits & REC_B_REQ_COPIED);
	if (!llm && !k->cfg->http_all)
		return;
	if (ex->rec.body_xid == 0) {
		uint32_t id;
		do /* relaxed: only uniqueness within the process matters */
			id = atomic_fetch_add_explicit(&next_xid, 1, memory_order_relaxed) + 1;
		while (id == 0);
		ex->rec.body_xid = id;
	}
	ex->rec.body_bits |= copied_bit(dir);
	ex->body_off[dir] = 0;
	st->copy[dir] = 1;
}

/* Hand the pending entry to the ring; a drop is counted in the record. */
static void flush(struct conn_call *k, struct conn_exch *ex)
{
	struct rec_body *b = &k->st->pend;
	if (b->kind != REC_KIND_BODY)
		return; /* nothing pending */
	if (k->cfg->body_emit(k->ctx, b) != 0 && ex && ex->rec.body_lost != UINT16_MAX)
		ex->rec.body_lost++;
	b->kind = REC_KIND_EXCHANGE; /* marks the buffer empty */
}

/* The exchange the pending entry belongs to, if it is still in flight. */
static struct conn_exch *pend_owner(struct conn_state *st)
{
	for (unsigned i = 0; i < CONN_MAX_PENDING; i++)
		if (st->ex[i].rec.body_xid == st->pend.xid)
			return &st->ex[i];
	return NULL;
}

static void start(struct conn_state *st, const struct conn_exch *ex, enum rec_body_dir dir)
{
	struct rec_body *b = &st->pend;
	b->kind = REC_KIND_BODY;
	b->xid = ex->rec.body_xid;
	b->dir = (uint8_t)dir;
	b->coding = coding_of(ex, dir);
	/* tokenringd decodes as entries come, before the record tells it how */
	b->bflags = dir == REC_BODY_RESPONSE && (ex->rec.body_bits & REC_B_SSE) ? REC_BODY_F_SSE : 0;
	b->len = 0;
	b->offset = ex->body_off[dir];
}

void conn_body_bytes(struct conn_call *k, struct conn_exch *ex, enum rec_body_dir dir,
		     const char *p, size_t n)
{
	struct conn_state *st = k->st;
	struct rec_body *b = &st->pend;
	if (!st->copy[dir] || n == 0)
		return;
	uint64_t now = conn_now(k), t = now > ex->t0 ? now - ex->t0 : 1;
	if (b->kind == REC_KIND_BODY &&
	    (b->xid != ex->rec.body_xid || b->dir != dir || t - st->pend_first > CONN_BODY_SLACK_NS))
		flush(k, pend_owner(st));
	if (ex->body_off[dir] + n > REC_BODY_MAX_COPY) {
		n = ex->body_off[dir] < REC_BODY_MAX_COPY
			    ? (size_t)(REC_BODY_MAX_COPY - ex->body_off[dir])
			    : 0;
		ex->rec.body_bits |= dir == REC_BODY_REQUEST ? REC_B_REQ_CUT : REC_B_RESP_CUT;
		st->copy[dir] = 0;
	}
	while (n > 0) {
		if (b->kind != REC_KIND_BODY) {
			start(st, ex, dir);
			st->pend_first = t;
		}
		size_t room = REC_BODY_PAYLOAD - b->len;
		size_t m = n < room ? n : room;
		memcpy(b->payload + b->len, p, m);
		b->len = (uint16_t)(b->len + m);
		b->t_ns = t;
		ex->body_off[dir] += m;
		p += m;
		n -= m;
		if (b->len == REC_BODY_PAYLOAD && n > 0)
			flush(k, ex);
	}
}

void conn_body_end(struct conn_call *k, struct conn_exch *ex, enum rec_body_dir dir)
{
	struct conn_state *st = k->st;
	struct rec_body *b = &st->pend;
	if (!(ex->rec.body_bits & copied_bit(dir)))
		return;
	if (b->kind != REC_KIND_BODY || b->xid != ex->rec.body_xid || b->dir != dir) {
		flush(k, pend_owner(st));
		start(st, ex, dir); /* an empty last entry: the body ended here */
		uint64_t now = conn_now(k);
		b->t_ns = now > ex->t0 ? now - ex->t0 : 1;
	}
	b->bflags |= REC_BODY_F_LAST;
	flush(k, ex);
	st->copy[dir] = 0;
}

void conn_body_flush(struct conn_call *k)
{
	flush(k, pend_owner(k->st));
}
