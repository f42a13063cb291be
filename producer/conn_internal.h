/*
 * conn_internal.h - the real layout behind struct conn (conn.h) and the
 * helpers the conn_*.c files share. Not for the hooks.
 */
#ifndef TOKENRING_CONN_INTERNAL_H
#define TOKENRING_CONN_INTERNAL_H

#include <string.h>

#include "conn.h"
#include "http.h"
#include "llm.h"
#include "record_body.h"

/* Exchanges in flight on one connection: requests sent (pipelined) whose
 * responses have not ended. Deeper pipelining stops the tracking of the
 * connection (REC_F_PARSE_ERROR); real clients hardly pipeline at all. */
#define CONN_MAX_PENDING 4

/* What the tracker does with a connection's bytes. */
enum conn_mode {
	CONN_M_FRESH = 0,  /* nothing seen yet */
	CONN_M_HTTP = 1,   /* framing */
	CONN_M_DEAD = 2,   /* parse error: bytes are only counted */
	CONN_M_OTHER = 3,  /* not HTTP/1.x (or upgraded): ignored */
};

/* Response body kinds, from Content-Type. */
enum conn_ctype {
	CONN_CT_OTHER = 0,
	CONN_CT_SSE = 1,
	CONN_CT_NDJSON = 2,
};

/* One request/response exchange being tracked. */
struct conn_exch {
	struct tr_record rec;
	uint64_t t0;      /* monotonic time of the request's first byte */
	uint64_t t_msg;   /* first byte of the response message being read */
	uint64_t t_end;   /* response's last byte */
	uint64_t ttft_at; /* monotonic time of the first content event, 0 = none */
	uint32_t chunks;
	struct llm_facts f; /* what settles it (proto/llm_settle.c) */
	uint64_t body_off[2]; /* body bytes copied per rec_body_dir (conn_body.c) */
	uint8_t filled;       /* CONN_FILLED_*: record strings written (conn_fill_str) */
	/* Everything above is cleared for an exchange that may be recorded
	 * (conn.c, exch_keep); what follows, for every exchange (exch_begin). */
	uint8_t req_done;
	uint8_t resp_begun; /* any response byte (interim included) */
	uint8_t resp_done;
	uint8_t is_head;
	uint8_t is_connect;
	uint8_t path_stream; /* the path names a streaming API (conn_path_streams) */
	uint8_t may_llm;     /* conn_may_llm, from the request line */
	uint8_t id_due;      /* headers ended without x-request-id: one is made at emit */
	/* A head read whole that cannot be LLM traffic (conn_may_llm, no
	 * event-stream Accept): it is framed and counted, never recorded, so
	 * its record is not cleared or filled and no time is read for it
	 * (exch_quiet in conn.c says which fields it still keeps). */
	uint8_t quiet;
};

struct conn_state {
	uint8_t role; /* enum conn_role */
	uint8_t mode; /* enum conn_mode */
	uint8_t head; /* index of the oldest exchange in ex[] */
	uint8_t count;
	uint8_t resp_off;     /* leading exchanges whose response has ended */
	uint8_t req_open;     /* the newest exchange's request is being read */
	uint8_t resp_open;    /* a response message is being read */
	uint8_t resp_interim; /* ... and it is a 1xx */
	uint8_t resp_read;    /* ... and its headers ended: lresp is its extractor's */
	uint8_t resp_ctype;   /* enum conn_ctype of the response being read */
	uint8_t req_coding;   /* enum rec_coding of the request being read */
	uint8_t resp_coding;  /* ... and of the response being read */
	uint8_t copy[2];      /* this message's body goes out as body entries (per rec_body_dir) */
	struct http_parser req;
	struct http_parser resp;
	struct llm_req lreq;
	struct llm_resp lresp;
	struct conn_exch ex[CONN_MAX_PENDING];
	/* Body bytes gathered for the next body entry (conn_body.c): one for
	 * the connection, flushed when the exchange or direction changes. */
	struct rec_body pend;
	uint64_t pend_first; /* pend's first byte, as its t_ns */
};

_Static_assert(sizeof(struct conn_state) <= CONN_STATE_SIZE, "conn state fits struct conn");
_Static_assert(_Alignof(struct conn_state) <= 64, "conn state alignment");

/* Record strings a header may write more than once (conn_hdr.c). */
#define CONN_FILLED_AUTHORITY 0x01u
#define CONN_FILLED_USER_AGENT 0x02u
#define CONN_FILLED_REQUEST_ID 0x04u
#define CONN_FILLED_LABEL0 0x08u /* << label index */

/* rec_set_str into a kept record (cleared: exch_keep): the first write of
 * a field that fits is its copy alone, the rest of the field being zero
 * already; a later one (a repeated header) rewrites it all. */
static inline void conn_fill_str(struct conn_exch *ex, unsigned bit, char *dst, size_t cap,
				 const char *src, size_t len, uint32_t flag)
{
	if (!(ex->filled & bit) && len < cap)
		memcpy(dst, src, len);
	else
		rec_set_str(dst, cap, src, len, &ex->rec.flags, flag);
	ex->filled |= (uint8_t)bit;
}

/* Everything one conn_feed / conn_close call carries around. */
struct conn_call {
	struct conn_state *st;
	const struct conn_config *cfg;
	uint64_t now; /* CONN_NOW_LAZY until read: conn_now */
	conn_emit_fn emit;
	void *ctx;
};

/* The call's time: the caller's, or the clock's, read at the first need
 * and then the same for the whole call (conn.h, CONN_NOW_LAZY). */
static inline uint64_t conn_now(struct conn_call *k)
{
	if (k->now == CONN_NOW_LAZY && k->cfg->clock != NULL)
		k->now = k->cfg->clock(k->ctx);
	return k->now;
}

/* conn_hdr.c: request and response headers into the record. The framers
 * report only the names these read (http_want): Content-Type,
 * Content-Encoding and Bedrock's X-Amzn-Bedrock-*-Token-Count on responses;
 * on requests, those of conn_req_header and the configured label headers. */
#define CONN_RESP_HEADERS                                                                  \
	(HTTP_WANT_NAME(12, 'c') | HTTP_WANT_NAME(16, 'c') | HTTP_WANT_NAME(32, 'x') |      \
	 HTTP_WANT_NAME(33, 'x'))
/* An exchange that cannot be LLM traffic by its request line still has its
 * Accept header read: a GET asking for text/event-stream may be an MCP SSE
 * transport stream (conn_req_header). */
#define CONN_REQ_SSE_WANT HTTP_WANT_NAME(6, 'a')
uint64_t conn_req_headers_wanted(const struct conn_config *cfg);
/* Whether an exchange can be LLM traffic (the rule: conn_hdr.c): by its
 * method, else by its path (as the record keeps it: plen bytes, no NUL). */
int conn_llm_method(const struct conn_config *cfg, const char *method, size_t mlen);
int conn_llm_path(const struct conn_config *cfg, const char *path, size_t plen);
/* An Accept header that makes a GET (method, mlen) a candidate. */
int conn_sse_get(const char *method, size_t mlen, const struct http_field *h);
void conn_req_header(struct conn_state *st, struct conn_exch *ex, const struct conn_config *cfg,
		     const struct http_field *h, int truncated);
void conn_req_headers_done(struct conn_exch *ex, const struct conn_config *cfg);
int conn_path_streams(const char *path, size_t n);
void conn_resp_header(struct conn_state *st, struct conn_exch *ex, const struct http_field *h);

/* conn_id.c: ids. */
void conn_make_request_id(char *out, size_t cap, uint64_t now_mono, uint64_t start_real);
int conn_parse_traceparent(const char *v, size_t n, uint8_t out[REC_TRACE_ID_LEN]);
uint64_t conn_realtime_ns(void);

/* conn_body.c: compressed bodies copied out as body entries. */
void conn_body_begin(struct conn_call *k, struct conn_exch *ex, enum rec_body_dir dir);
void conn_body_bytes(struct conn_call *k, struct conn_exch *ex, enum rec_body_dir dir,
		     const char *p, size_t n);
void conn_body_end(struct conn_call *k, struct conn_exch *ex, enum rec_body_dir dir);
void conn_body_flush(struct conn_call *k);

/* conn_emit.c: finish an exchange's record and hand it out. */
void conn_finish(struct conn_call *k, struct conn_exch *ex);
/* conn_emit.c: answers read so far on an MCP SSE transport stream go out
 * as REC_KIND_MCP_ANSWER entries (shm/record_mcp.h). */
void conn_mcp_stream(struct conn_call *k, struct conn_exch *ex);

#endif
