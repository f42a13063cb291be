/*
 * conn.h - one TCP connection's HTTP/1.1 exchange tracker: the contract
 * between the shim's hooks (producer/hooks*.c, which see bytes) and the
 * framer + LLM extractors (producer/http*.c, llm*.c, which understand them).
 *
 * The hooks feed every byte the application actually sent or received on a
 * socket, in order, per direction, with CLOCK_MONOTONIC times. The tracker
 * frames requests and responses incrementally (any split, 1-byte feeds
 * included), pairs them FIFO (pipelining), extracts the LLM fields and, when
 * an exchange ends, fills a tr_record and hands it to the emit callback.
 *
 * Rules that follow from running inside foreign processes: no allocation,
 * no locks, no syscalls except clock_gettime (vDSO), bounded state (the
 * struct below is the whole of it), never reads outside the given buffer.
 * One thread at a time per conn (the hooks serialise per fd).
 */
#ifndef TOKENRING_CONN_H
#define TOKENRING_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "record_body.h"

/* Which side of the connection this process is. AUTO: decided by the first
 * bytes: a request line sent out = client (reporter source), a request line
 * received = server (reporter destination). */
enum conn_role {
	CONN_ROLE_AUTO = 0,
	CONN_ROLE_CLIENT = 1,
	CONN_ROLE_SERVER = 2,
};

/* Direction of bytes relative to this process. */
enum conn_dir {
	CONN_DIR_OUT = 0, /* the app wrote/sent them */
	CONN_DIR_IN = 1,  /* the app read/received them */
};

#define CONN_MAX_LLM_PATHS 8
#define CONN_LLM_PATH_LEN 64

/* Called for each body entry of a compressed body (record_body.h), before
 * the exchange's record; the callee adds pid, producer and producer_gen.
 * Returns 0 when the entry is in the ring, -1 when it was dropped (the
 * record then counts it in body_lost). */
typedef int (*conn_body_fn)(void *ctx, struct rec_body *b);

/* Process-wide settings, read once from the environment by the shim. */
struct conn_config {
	int http_all; /* TOKENRING_HTTP=all: record every exchange, not only LLM */
	unsigned n_llm_paths; /* TOKENRING_LLM_PATHS prefixes (comma-separated) */
	char llm_paths[CONN_MAX_LLM_PATHS][CONN_LLM_PATH_LEN];
	/* request header names whose values go to rec.labels[i] ("" = none),
	 * copied from the ring header's label_headers at attach */
	char label_headers[REC_LABELS][32];
	/* where compressed body bytes go (same ctx as the emit callback);
	 * NULL: not copied, the record says usage missing as before */
	conn_body_fn body_emit;
	/* CLOCK_MONOTONIC nanoseconds, for a call made with CONN_NOW_LAZY
	 * (same ctx as the emit callback); NULL: such a call's time is 0 */
	uint64_t (*clock)(void *ctx);
};

/* conn_feed's now_ns when the caller has not read the clock: the tracker
 * reads cfg->clock at most once per call, and only if the call needs a
 * time (an exchange's first byte, a response's first and last bytes, a
 * body it reads or copies). Most calls of an exchange that cannot be
 * recorded, and a request body's, need none. */
#define CONN_NOW_LAZY 0

/* Called once per finished exchange. The record has every HTTP/LLM field,
 * times, flags, reporter, status and start_ns filled; the caller adds pid,
 * producer, producer_gen, local and peer before publishing. The record is
 * only valid during the call. */
typedef void (*conn_emit_fn)(void *ctx, struct tr_record *rec);

/* Size of the opaque state; conn.c static-asserts the real struct fits.
 * Callers keep these in a preallocated pool. */
#define CONN_STATE_SIZE 6016

struct conn {
	_Alignas(64) unsigned char opaque[CONN_STATE_SIZE];
};

/* Reset to a fresh connection (also after close and fd reuse). */
void conn_init(struct conn *c, enum conn_role role);

/*
 * Account len bytes the app moved in direction dir at time now_ns, or at
 * the time cfg->clock gives when now_ns is CONN_NOW_LAZY (may be called
 * with len 0: no-op). May call emit zero or more times (pipelined
 * exchanges finishing in this chunk). Malformed input never crashes: the
 * tracker marks the exchange REC_F_PARSE_ERROR and stops parsing this
 * connection (counting bytes only) until conn_init.
 */
void conn_feed(struct conn *c, const struct conn_config *cfg, enum conn_dir dir,
	       const void *buf, size_t len, uint64_t now_ns, conn_emit_fn emit, void *ctx);

/*
 * The connection closed (close, shutdown of both sides, reset). Exchanges in
 * flight are emitted with REC_F_CONN_CLOSED (and REC_F_NO_RESPONSE when no
 * response byte came), usage status INTERRUPTED where it applies; a response
 * framed by connection close (no length, not chunked) ends normally here.
 * The conn is then reset as by conn_init(c, CONN_ROLE_AUTO).
 */
void conn_close(struct conn *c, const struct conn_config *cfg, uint64_t now_ns,
		conn_emit_fn emit, void *ctx);

/*
 * Whether conn_feed still looks at this connection's bytes: 0 once it is
 * known not to be HTTP/1.x (TLS, HTTP/2, a server that speaks first, a 101
 * upgrade), so a hook may skip the call. Added by the parse branch.
 */
int conn_tracking(const struct conn *c);

/* The role decided so far (AUTO until the first request line). */
enum conn_role conn_role_of(const struct conn *c);

#endif
