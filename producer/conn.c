/*
 * conn.c - one connection's exchange tracker (conn.h): runs the request and
 * response framers on the right directions, pairs responses with requests
 * in FIFO order, feeds bodies to the LLM extractors and hands finished
 * exchanges to conn_emit.c.
 *
 * Exchanges live in a small ring (ex[], oldest at head). The request framer
 * fills the newest; the response framer fills the oldest whose response has
 * not ended (head + resp_off). A record goes out when both its request and
 * its response ended, oldest first, so emission order is request order.
 */
#include <string.h>

#include "conn_internal.h"

static struct conn_state *state_of(struct conn *c)
{
	return (struct conn_state *)(void *)c->opaque;
}

void conn_init(struct conn *c, enum conn_role role)
{
	struct conn_state *st = state_of(c);
	memset(st, 0, sizeof *st);
	st->role = (uint8_t)role;
	http_init(&st->req, HTTP_REQUEST);
	http_init(&st->resp, HTTP_RESPONSE);
	http_want(&st->resp, CONN_RESP_HEADERS);
}

enum conn_role conn_role_of(const struct conn *c)
{
	return (enum conn_role)((const struct conn_state *)(const void *)c->opaque)->role;
}

int conn_tracking(const struct conn *c)
{
	const struct conn_state *st = (const struct conn_state *)(const void *)c->opaque;
	return st->mode == CONN_M_FRESH || st->mode == CONN_M_HTTP || st->count > 0;
}

static struct conn_exch *nth(struct conn_state *st, unsigned i)
{
	_Static_assert((CONN_MAX_PENDING & (CONN_MAX_PENDING - 1)) == 0, "a power of two");
	return &st->ex[(st->head + i) & (CONN_MAX_PENDING - 1u)];
}

static struct conn_exch *newest(struct conn_state *st)
{
	return st->count ? nth(st, st->count - 1u) : NULL;
}

/* The exchange the response framer is filling, or NULL. */
static struct conn_exch *resp_target(struct conn_state *st)
{
	return st->resp_off < st->count ? nth(st, st->resp_off) : NULL;
}

static enum conn_dir request_dir(const struct conn_state *st)
{
	return st->role == CONN_ROLE_SERVER ? CONN_DIR_IN : CONN_DIR_OUT;
}

/* Emit, oldest first, every exchange whose request and response ended
 * (an exchange that cannot be recorded only leaves the ring). */
static void drain(struct conn_call *k)
{
	struct conn_state *st = k->st;
	while (st->count && nth(st, 0)->req_done && nth(st, 0)->resp_done) {
		if (!nth(st, 0)->quiet)
			conn_finish(k, nth(st, 0));
		st->head = (uint8_t)((st->head + 1) & (CONN_MAX_PENDING - 1u));
		st->count--;
		st->resp_off--;
	}
}

/* Stop parsing: in-flight exchanges keep counting bytes and go out at close. */
static void go_dead(struct conn_state *st)
{
	st->mode = CONN_M_DEAD;
	for (unsigned i = 0; i < st->count; i++)
		nth(st, i)->rec.flags |= REC_F_PARSE_ERROR;
}

/* Copy what the response extractor found into the exchange. An exchange
 * that cannot be LLM traffic (conn_may_llm) never has its extractors
 * begun or fed: their state is another exchange's, and its own facts stay
 * as a fresh extractor would leave them (zero). */
static void take_resp_llm(struct conn_state *st, struct conn_exch *ex)
{
	const struct llm_resp *r = &st->lresp;
	if (!ex->may_llm)
		return;
	ex->chunks = r->chunks;
	ex->ttft_at = r->ttft_at;
	ex->f.usage_seen = r->usage_seen;
	ex->f.usage_object = r->usage_object;
	ex->f.hints = r->hints;
	ex->f.op_hint = r->op_hint;
	/* A stream the headers did not announce: read as one because its
	 * first bytes were an event ("data:", "event:", a 0 byte: see
	 * llm_resp_body), even a single event; or NDJSON, several values. */
	if (r->mode == LLM_BODY_SSE || r->mode == LLM_BODY_EVSTREAM || r->js.values > 1)
		ex->f.resp_stream = 1;
	if (r->json_error)
		ex->rec.flags |= REC_F_PARSE_ERROR;
}

static void take_req_llm(struct conn_state *st, struct conn_exch *ex)
{
	if (!ex->may_llm)
		return;
	ex->f.shape = st->lreq.shape;
	ex->f.stream_req = st->lreq.stream;
	ex->f.include_usage = st->lreq.include_usage;
	if (st->lreq.json_error)
		ex->rec.flags |= REC_F_PARSE_ERROR;
}

/*
 * A new exchange's state. Every exchange clears what framing and pairing
 * read, and the record fields they count or test (bytes, status, flags,
 * codings, and the body entry fields conn_body.c matches across
 * exchanges). The rest, the record and what settles it, is cleared and
 * stamped (exch_keep) only for an exchange that may be recorded: a head
 * read whole (`whole`) is decided before anything else is written, and
 * one that cannot be LLM traffic stays quiet; a head read line by line is
 * kept from its first byte, as a later header may make it a candidate.
 */
static void exch_begin(struct conn_exch *ex, int whole)
{
	ex->req_done = 0;
	ex->resp_begun = 0;
	ex->resp_done = 0;
	ex->is_head = 0;
	ex->is_connect = 0;
	ex->path_stream = 0;
	ex->may_llm = 0;
	ex->id_due = 0;
	ex->quiet = (uint8_t)whole;
	ex->rec.req_bytes = 0;
	ex->rec.resp_bytes = 0;
	ex->rec.status = 0;
	ex->rec.flags = 0;
	ex->rec.body_xid = 0;
	ex->rec.codings = 0;
	ex->rec.body_bits = 0;
	ex->rec.body_lost = 0;
}

/* The exchange may be recorded: a clean record (the request bytes counted
 * so far kept), and its first byte's times, read in the call that
 * carried it. */
static void exch_keep(struct conn_call *k, struct conn_exch *ex)
{
	uint64_t req_bytes = ex->rec.req_bytes;
	memset(ex, 0, offsetof(struct conn_exch, req_done));
	ex->rec.req_bytes = req_bytes;
	ex->quiet = 0;
	ex->t0 = conn_now(k);
	ex->rec.start_ns = conn_realtime_ns();
}

static void req_begin(struct conn_call *k, int whole)
{
	struct conn_state *st = k->st;
	if (st->count == CONN_MAX_PENDING) {
		go_dead(st);
		return;
	}
	st->count++;
	struct conn_exch *ex = newest(st);
	exch_begin(ex, whole);
	if (!whole)
		exch_keep(k, ex);
	st->req_open = 1;
	st->req_coding = REC_CODING_NONE;
}

/* A request through a forward proxy names the origin in the target
 * (absolute form, "http://host/path"): its authority (host, hlen) and the
 * path after it. 0 for the usual origin form. */
static inline int absolute_form(const char **t, size_t *n, const char **host, size_t *hlen)
{
	if (**t != 'h') /* (the usual origin form starts with '/') */
		return 0;
	size_t skip = *n >= 7 && memcmp(*t, "http://", 7) == 0	  ? 7
		      : *n >= 8 && memcmp(*t, "https://", 8) == 0 ? 8
								  : 0;
	if (!skip)
		return 0;
	const char *h = *t + skip, *end = *t + *n;
	const char *slash = memchr(h, '/', (size_t)(end - h));
	*host = h;
	*hlen = (size_t)((slash ? slash : end) - h);
	*t = slash ? slash : "/";
	*n = slash ? (size_t)(end - slash) : 1;
	return 1;
}

/* The request line into the kept record (its first write: conn_fill_str). */
static void req_fill(struct conn_exch *ex, const struct http_event *ev)
{
	struct tr_record *r = &ex->rec;
	const char *target = ev->b, *host;
	size_t tlen = ev->b_len, hlen;
	if (absolute_form(&target, &tlen, &host, &hlen))
		conn_fill_str(ex, CONN_FILLED_AUTHORITY, r->authority, REC_AUTHORITY_LEN, host,
			      hlen, REC_F_TRUNC_AUTHORITY);
	conn_fill_str(ex, 0, r->method, REC_METHOD_LEN, ev->a, ev->a_len, REC_F_TRUNC_METHOD);
	conn_fill_str(ex, 0, r->path, REC_PATH_LEN, target, tlen, REC_F_TRUNC_PATH);
	if (ev->truncated)
		r->flags |= REC_F_TRUNC_PATH;
}

/* The path as the record would keep it, without copying it: cut to the
 * field as rec_set_str cuts it, and at a NUL, as every reader of the
 * field stops there. */
static size_t kept_path(const struct http_event *ev, const char **path)
{
	const char *t = ev->b, *host;
	size_t n = ev->b_len, hlen;
	(void)absolute_form(&t, &n, &host, &hlen);
	if (n >= REC_PATH_LEN) {
		n = REC_PATH_LEN - 1;
		while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
			n--;
	}
	const char *nul = memchr(t, 0, n);
	*path = t;
	return nul ? (size_t)(nul - t) : n;
}

/* Whether the next response answers a HEAD request, told to its framer
 * before its first byte (http_head_answer, http_fold): whenever the
 * response target may have changed while no response is being read (a
 * request's method known, a response ended). */
static void answer_next(struct conn_state *st)
{
	if (st->resp_open)
		return;
	const struct conn_exch *t = resp_target(st);
	http_head_answer(&st->resp, t != NULL && t->is_head);
}

/* The request's head read: what the record keeps from it, and how its
 * body is read. A quiet exchange (a head read whole) is decided from the
 * event's bytes, and only a candidate's record is kept and filled. */
static void req_start(struct conn_call *k, struct conn_exch *ex, const struct http_event *ev)
{
	ex->is_head = ev->a_len == 4 && memcmp(ev->a, "HEAD", 4) == 0;
	ex->is_connect = ev->a_len == 7 && memcmp(ev->a, "CONNECT", 7) == 0;
	int may = conn_llm_method(k->cfg, ev->a, ev->a_len);
	if (!ex->quiet) {
		req_fill(ex, ev);
		may = may || conn_llm_path(k->cfg, ex->rec.path,
					   strnlen(ex->rec.path, REC_PATH_LEN));
	} else {
		const char *path;
		if (!may) {
			size_t n = kept_path(ev, &path);
			may = conn_llm_path(k->cfg, path, n);
		}
		if (may) {
			exch_keep(k, ex);
			req_fill(ex, ev);
		}
	}
	/* an exchange that cannot be recorded: framing only, no extractor */
	ex->may_llm = (uint8_t)may;
	if (may)
		llm_req_begin(&k->st->lreq);
	if (ex->is_head)
		answer_next(k->st);
}

/* An event-stream Accept made a quiet GET a candidate (conn_req_header's
 * rule, read here from the event's bytes): kept and read from here on. */
static void req_promote(struct conn_call *k, struct conn_exch *ex, const struct http_event *ev)
{
	exch_keep(k, ex);
	req_fill(ex, ev);
	ex->may_llm = 1;
	http_want(&k->st->req, conn_req_headers_wanted(k->cfg));
	llm_req_begin(&k->st->lreq);
}

/* Body entries are for compressed bodies only (conn_body.c): most bodies
 * are not, and cost no call. */
static void body_begin(struct conn_call *k, struct conn_exch *ex, enum rec_body_dir dir)
{
	unsigned c = dir == REC_BODY_REQUEST ? REC_CODING_REQ(ex->rec.codings)
					     : REC_CODING_RESP(ex->rec.codings);
	if (c == REC_CODING_NONE)
		k->st->copy[dir] = 0;
	else
		conn_body_begin(k, ex, dir);
}

static void body_end(struct conn_call *k, struct conn_exch *ex, enum rec_body_dir dir)
{
	if (ex->rec.body_bits & (dir == REC_BODY_REQUEST ? REC_B_REQ_COPIED : REC_B_RESP_COPIED))
		conn_body_end(k, ex, dir);
}

static void req_headers_end(struct conn_call *k, struct conn_exch *ex)
{
	struct conn_state *st = k->st;
	if (ex->may_llm)
		conn_req_headers_done(ex, k->cfg);
	ex->rec.codings = REC_CODINGS(st->req_coding, REC_CODING_RESP(ex->rec.codings));
	body_begin(k, ex, REC_BODY_REQUEST);
}

/* A whole head at once (http_whole): its fields are those the line-by-line
 * events would have reported, filtered the same way (the names wanted
 * change when an Accept header makes the exchange a candidate). */
static void req_head(struct conn_call *k, struct conn_exch *ex, const struct http_event *ev)
{
	req_start(k, ex, ev);
	uint64_t llm = ex->may_llm && ev->n_fields ? conn_req_headers_wanted(k->cfg) : 0;
	for (unsigned i = 0; i < ev->n_fields; i++) {
		const struct http_field *f = &ev->field[i];
		if (!ex->may_llm) { /* only an Accept (CONN_REQ_SSE_WANT) can matter */
			if (f->name_len != 6 || !conn_sse_get(ev->a, ev->a_len, f))
				continue;
			req_promote(k, ex, ev);
			llm = conn_req_headers_wanted(k->cfg);
		} else if (!(llm & HTTP_WANT_NAME(f->name_len, (unsigned char)f->name[0]))) {
			continue;
		}
		conn_req_header(k->st, ex, k->cfg, f, 0);
	}
	req_headers_end(k, ex);
}

static void req_end(struct conn_call *k, struct conn_exch *ex)
{
	struct conn_state *st = k->st;
	body_end(k, ex, REC_BODY_REQUEST);
	take_req_llm(st, ex);
	ex->req_done = 1;
	st->req_open = 0;
	drain(k);
}

/* A header event as a field. */
static struct http_field field_of(const struct http_event *ev)
{
	return (struct http_field){ev->a, ev->b, (uint32_t)ev->a_len, (uint32_t)ev->b_len};
}

/* (the events that end a message end it in one place: req_end and
 * resp_end stay inline) */
static void on_req_event(struct conn_call *k, const struct http_event *ev)
{
	struct conn_state *st = k->st;
	struct conn_exch *ex = newest(st);
	int end = 0;
	switch (ev->type) {
	case HTTP_EV_MSG_BEGIN:
		req_begin(k, 0);
		break;
	case HTTP_EV_HEAD:
		req_head(k, ex, ev);
		end = ev->last; /* a body-less request ends with its head (http_fold) */
		break;
	case HTTP_EV_START_LINE:
		req_start(k, ex, ev);
		http_want(&st->req, ex->may_llm ? conn_req_headers_wanted(k->cfg) : CONN_REQ_SSE_WANT);
		break;
	case HTTP_EV_HEADER: {
		struct http_field f = field_of(ev);
		conn_req_header(st, ex, k->cfg, &f, ev->truncated);
		break;
	}
	case HTTP_EV_HEADERS_END:
		req_headers_end(k, ex);
		break;
	case HTTP_EV_BODY:
		if (ex->may_llm) {
			if (st->req_coding == REC_CODING_NONE)
				llm_req_body(&st->lreq, &ex->rec, ev->a, ev->a_len);
			else
				conn_body_bytes(k, ex, REC_BODY_REQUEST, ev->a, ev->a_len);
		}
		end = ev->last;
		break;
	case HTTP_EV_MSG_END:
		end = 1;
		break;
	default:
		go_dead(st);
		break;
	}
	if (end)
		req_end(k, ex);
}

static void resp_begin(struct conn_call *k)
{
	struct conn_state *st = k->st;
	struct conn_exch *ex = resp_target(st);
	if (!ex) { /* a response nobody asked for: we lost the thread */
		go_dead(st);
		return;
	}
	http_want(&st->resp, ex->may_llm ? CONN_RESP_HEADERS : 0);
	st->resp_open = 1;
	st->resp_interim = 0;
	st->resp_read = 0;
	st->resp_ctype = CONN_CT_OTHER;
	st->resp_coding = REC_CODING_NONE;
	if (!ex->quiet) /* (a quiet exchange is never recorded: no time) */
		ex->t_msg = conn_now(k);
	ex->resp_begun = 1;
}

static uint64_t since(uint64_t t0, uint64_t t)
{
	return t > t0 ? t - t0 : 1; /* 0 means "not seen" in the record */
}

static void resp_status(struct conn_state *st, struct conn_exch *ex, const struct http_event *ev)
{
	if (ev->status < 200) {
		st->resp_interim = 1; /* 100 Continue and friends: bytes only */
		if (ev->status == 101) {
			ex->rec.status = 101;
			if (!ex->quiet)
				ex->rec.ttfb_ns = since(ex->t0, ex->t_msg);
		}
		return;
	}
	ex->rec.status = (uint16_t)ev->status;
	if (!ex->quiet)
		ex->rec.ttfb_ns = since(ex->t0, ex->t_msg);
}

/* 101 Switching Protocols or a CONNECT tunnel: the exchange ends, the bytes
 * after are not HTTP (TLS to the origin, WebSocket...). */
static void resp_upgraded(struct conn_call *k, struct conn_exch *ex)
{
	ex->resp_done = 1;
	ex->req_done = 1;
	if (!ex->quiet)
		ex->t_end = conn_now(k);
	k->st->resp_off++;
	k->st->req_open = 0;
	drain(k);
	k->st->mode = CONN_M_OTHER;
}

static void resp_headers_done(struct conn_call *k, struct conn_exch *ex)
{
	struct conn_state *st = k->st;
	if (st->resp_interim)
		return;
	if (ex->is_connect && ex->rec.status >= 200 && ex->rec.status < 300) {
		st->resp_open = 0;
		resp_upgraded(k, ex);
		return;
	}
	if (ex->is_head)
		http_set_body(&st->resp, HTTP_BODY_NONE);
	if (ex->quiet) { /* no header was read: no coding, no type, nothing kept */
		st->copy[REC_BODY_RESPONSE] = 0;
		return;
	}
	/* A response body's shape (usage, model) is looked for only where it
	 * can matter (conn_may_llm: a POST, a known route, TOKENRING_HTTP=all;
	 * gateways route LLM POSTs by any path). A GET /healthz answer is
	 * never read: no extractor is even begun for it. */
	enum llm_body_mode mode = LLM_BODY_JSON;
	if (st->resp_coding != REC_CODING_NONE)
		mode = LLM_BODY_OFF; /* tokenringd reads it from the body entries */
	else if (st->resp_ctype == CONN_CT_SSE)
		mode = LLM_BODY_SSE;
	ex->f.resp_stream = st->resp_ctype != CONN_CT_OTHER || ex->path_stream;
	if (st->resp_ctype == CONN_CT_SSE)
		ex->rec.body_bits |= REC_B_SSE;
	ex->rec.codings = REC_CODINGS(REC_CODING_REQ(ex->rec.codings), st->resp_coding);
	if (ex->may_llm) { /* (take_resp_llm) */
		llm_resp_begin(&st->lresp, mode);
		st->resp_read = 1;
	}
	body_begin(k, ex, REC_BODY_RESPONSE);
}

static void resp_end(struct conn_call *k, struct conn_exch *ex)
{
	struct conn_state *st = k->st;
	st->resp_open = 0;
	if (st->resp_interim) {
		if (ex->rec.status == 101)
			resp_upgraded(k, ex);
		return;
	}
	body_end(k, ex, REC_BODY_RESPONSE);
	take_resp_llm(st, ex);
	ex->resp_done = 1;
	if (!ex->quiet)
		ex->t_end = conn_now(k);
	st->resp_off++;
	drain(k);
	answer_next(st);
}

/* A whole head at once (http_whole): see req_head. */
static void resp_head(struct conn_call *k, struct conn_exch *ex, const struct http_event *ev)
{
	struct conn_state *st = k->st;
	resp_status(st, ex, ev);
	if (ex->may_llm)
		for (unsigned i = 0; i < ev->n_fields; i++)
			conn_resp_header(st, ex, &ev->field[i]);
	resp_headers_done(k, ex);
}

static void on_resp_event(struct conn_call *k, const struct http_event *ev)
{
	struct conn_state *st = k->st;
	struct conn_exch *ex = resp_target(st);
	int end = 0;
	switch (ev->type) {
	case HTTP_EV_MSG_BEGIN:
		resp_begin(k);
		break;
	case HTTP_EV_HEAD:
		resp_head(k, ex, ev);
		/* a body-less answer ends with its head (http_fold), unless its
		 * head already ended the exchange (a CONNECT tunnel) */
		end = ev->last && st->resp_open;
		break;
	case HTTP_EV_START_LINE:
		resp_status(st, ex, ev);
		break;
	case HTTP_EV_HEADER: {
		struct http_field f = field_of(ev);
		conn_resp_header(st, ex, &f);
		break;
	}
	case HTTP_EV_HEADERS_END:
		resp_headers_done(k, ex);
		break;
	case HTTP_EV_BODY:
		if (st->resp_coding == REC_CODING_NONE) {
			if (ex->may_llm) { /* (take_resp_llm) */
				llm_resp_body(&st->lresp, &ex->rec, ev->a, ev->a_len, conn_now(k));
				conn_mcp_stream(k, ex);
			}
		} else
			conn_body_bytes(k, ex, REC_BODY_RESPONSE, ev->a, ev->a_len);
		end = ev->last;
		break;
	case HTTP_EV_MSG_END:
		end = 1;
		break;
	default:
		go_dead(st);
		break;
	}
	if (end)
		resp_end(k, ex);
}

/* The exchange this direction's bytes count towards right now, or NULL. */
static struct conn_exch *counting(struct conn_state *st, int is_req)
{
	if (is_req)
		return st->req_open ? newest(st) : NULL;
	return st->resp_open || st->mode == CONN_M_DEAD ? resp_target(st) : NULL;
}

static void count_bytes(struct conn_state *st, int is_req, size_t n)
{
	struct conn_exch *ex = counting(st, is_req);
	if (!ex || n == 0)
		return;
	if (is_req) {
		ex->rec.req_bytes += n;
	} else {
		ex->rec.resp_bytes += n;
		ex->resp_begun = 1;
	}
}

/* Run one direction's framer over the bytes; after a parse error the rest
 * is only counted. */
static void feed_side(struct conn_call *k, int is_req, const char *buf, size_t len)
{
	struct conn_state *st = k->st;
	struct http_parser *p = is_req ? &st->req : &st->resp;
	while (st->mode == CONN_M_HTTP) {
		struct http_event ev;
		size_t n = http_next(p, buf, len, &ev);
		if (ev.type == HTTP_EV_HEAD) { /* the message began with these bytes */
			if (is_req)
				req_begin(k, 1);
			else
				resp_begin(k);
		}
		count_bytes(st, is_req, n);
		buf += n;
		len -= n;
		if (ev.type == HTTP_EV_PARTIAL)
			return;
		if (st->mode != CONN_M_HTTP) /* no exchange for it */
			break;
		if (is_req)
			on_req_event(k, &ev);
		else
			on_resp_event(k, &ev);
		if (len == 0 && !ev.more) /* the call after would say PARTIAL */
			return;
	}
	if (st->mode == CONN_M_DEAD)
		count_bytes(st, is_req, len);
}

static int method_byte(char c)
{
	return c >= 'A' && c <= 'Z';
}

/*
 * The first byte of a connection decides: a request line starts with an
 * upper-case method. In AUTO role whoever sends it is the client. Anything
 * else (TLS, HTTP/2 binary, a server that speaks first) is not tracked.
 */
static void classify(struct conn_state *st, const struct conn_config *cfg, enum conn_dir dir,
		     const char *buf, size_t len)
{
	/* A response first: we attached after its request and cannot pair it. */
	int response = len >= 5 && memcmp(buf, "HTTP/", 5) == 0;
	if (!method_byte(buf[0]) || response) {
		st->mode = CONN_M_OTHER;
		return;
	}
	if (st->role == CONN_ROLE_AUTO)
		st->role = dir == CONN_DIR_OUT ? CONN_ROLE_CLIENT : CONN_ROLE_SERVER;
	st->mode = dir == request_dir(st) ? CONN_M_HTTP : CONN_M_OTHER;
	/* Heads whole in one call come as one event each, with the header
	 * lines any exchange may want (filtered per exchange: req_head). */
	http_whole(&st->req, conn_req_headers_wanted(cfg) | CONN_REQ_SSE_WANT);
	http_whole(&st->resp, CONN_RESP_HEADERS);
	/* ... and a body-less message's end with its head (answer_next says
	 * which responses answer HEAD) */
	http_fold(&st->req);
	http_fold(&st->resp);
}

void conn_feed(struct conn *c, const struct conn_config *cfg, enum conn_dir dir,
	       const void *buf, size_t len, uint64_t now_ns, conn_emit_fn emit, void *ctx)
{
	struct conn_state *st = state_of(c);
	struct conn_call k = {st, cfg, now_ns, emit, ctx};
	if (len == 0 || st->mode == CONN_M_OTHER)
		return;
	if (st->mode == CONN_M_FRESH) {
		classify(st, cfg, dir, buf, len);
		if (st->mode != CONN_M_HTTP)
			return;
	}
	feed_side(&k, dir == request_dir(st), buf, len);
}

/* At close, the exchange the response framer was on may end normally. */
static void close_exchange(struct conn_call *k, struct conn_exch *ex, int is_target)
{
	struct conn_state *st = k->st;
	int to_close = is_target && st->resp_open && st->mode == CONN_M_HTTP &&
		       http_reads_to_close(&st->resp);
	/* (a response cut in its headers has nothing read: lresp still holds
	 * the previous answer's) */
	if (is_target && st->resp_open && st->resp_read)
		take_resp_llm(st, ex);
	if (ex->resp_done)
		return;
	ex->t_end = conn_now(k);
	if (to_close) {
		ex->resp_done = 1;
		return;
	}
	ex->rec.flags |= REC_F_CONN_CLOSED;
	if (!ex->resp_begun)
		ex->rec.flags |= REC_F_NO_RESPONSE;
	ex->f.interrupted = 1;
}

void conn_close(struct conn *c, const struct conn_config *cfg, uint64_t now_ns,
		conn_emit_fn emit, void *ctx)
{
	struct conn_state *st = state_of(c);
	struct conn_call k = {st, cfg, now_ns, emit, ctx};
	conn_body_flush(&k); /* body entries go before the records they belong to */
	for (unsigned i = 0; i < st->count; i++) {
		struct conn_exch *ex = nth(st, i);
		if (st->req_open && i == st->count - 1u)
			take_req_llm(st, ex);
		close_exchange(&k, ex, ex == resp_target(st));
		conn_finish(&k, ex);
	}
	conn_init(c, CONN_ROLE_AUTO);
}
