/* test_http_oracle.c - differential: the framer (http.h) and a well-kept
 * parser used only as an oracle (Debian's libhttp-parser) agree on random
 * pipelined streams of requests and of responses fed in random pieces:
 * same messages, methods, targets, status codes and body bytes; and the
 * same again when the framer skips the header lines it is not asked for
 * (http_want), which then come out as events exactly when wanted; and
 * again with whole heads as one event (http_whole), fed in random pieces
 * or all at once, with the same wanted headers as the line events; and
 * with heads that end their body-less messages (http_fold). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "test_http_oracle.h"
#include "test_support.h"

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* ---- the framer, fed in random pieces ---- */

static void on_event(struct view *v, const struct http_parser *p, const struct http_event *ev)
{
	struct msg *m = &v->m[v->n ? v->n - 1 : 0];
	switch (ev->type) {
	case HTTP_EV_MSG_BEGIN:
		memset(&v->m[v->n++], 0, sizeof v->m[0]);
		break;
	case HTTP_EV_HEAD:
		memset(&v->m[v->n++], 0, sizeof v->m[0]);
		m = &v->m[v->n - 1];
		v->done += (unsigned)ev->last; /* (http_fold) it ends with its head */
		/* its start line's fields are the event's */
		__attribute__((fallthrough));
	case HTTP_EV_START_LINE:
		if (p->kind == HTTP_REQUEST) {
			snprintf(m->method, sizeof m->method, "%.*s", (int)ev->a_len, ev->a);
			snprintf(m->url, sizeof m->url, "%.*s", (int)ev->b_len, ev->b);
		} else {
			m->status = ev->status;
		}
		break;
	case HTTP_EV_BODY:
		m->body += ev->a_len;
		v->done += (unsigned)ev->last;
		break;
	case HTTP_EV_MSG_END:
		v->done++;
		break;
	default:
		cr_assert_neq(ev->type, HTTP_EV_ERROR, "framer error in message %u", v->n);
	}
}

static int has_bit(uint64_t mask, const char *name, size_t n)
{
	return n && (mask & HTTP_WANT_NAME(n, (unsigned char)name[0]));
}

/* Header events (or an HTTP_EV_HEAD's fields) whose name has its bit in
 * mask; a head's fields must all have it. */
static unsigned count_headers(const struct http_event *ev, uint64_t mask)
{
	if (ev->type == HTTP_EV_HEAD) {
		for (unsigned i = 0; i < ev->n_fields; i++)
			cr_assert(has_bit(mask, ev->field[i].name, ev->field[i].name_len),
				  "unwanted field %.*s", (int)ev->field[i].name_len, ev->field[i].name);
		return ev->n_fields;
	}
	return ev->type == HTTP_EV_HEADER && has_bit(mask, ev->a, ev->a_len);
}

/* The piece size that means the whole buffer in one piece. */
#define WHOLE_PIECES 0

/* How often the whole-head events really came (the tests can fail). */
static unsigned whole_heads, last_slices;

/* Feed buf in random pieces (of at most 97 bytes, or the whole buffer
 * with WHOLE_PIECES); *wanted counts the header events whose name has its
 * bit in mask (with want set, every event must have it). whole: heads
 * come whole (http_whole, with the names of want); 2: and fold their
 * message's end (http_fold). */
static void framer(enum http_kind kind, const char *buf, size_t n, uint32_t *seed, struct view *v,
		   uint64_t want, uint64_t mask, unsigned *wanted, int whole, size_t pieces)
{
	struct http_parser p;
	http_init(&p, kind);
	if (want != HTTP_WANT_ALL)
		http_want(&p, want);
	if (whole)
		http_whole(&p, want);
	if (whole == 2)
		http_fold(&p);
	for (size_t at = 0; at < n;) {
		size_t k = pieces == WHOLE_PIECES ? n : 1 + rnd(seed) % pieces;
		k = k < n - at ? k : n - at;
		const char *piece = guard_copy(buf + at, k);
		size_t left = k;
		for (;;) {
			struct http_event ev;
			size_t used = http_next(&p, piece, left, &ev);
			piece += used;
			left -= used;
			if (ev.type == HTTP_EV_PARTIAL)
				break;
			*wanted += count_headers(&ev, mask);
			if (want != HTTP_WANT_ALL && ev.type == HTTP_EV_HEADER)
				cr_assert(count_headers(&ev, mask), "unwanted header %.*s reported",
					  (int)ev.a_len, ev.a);
			whole_heads += ev.type == HTTP_EV_HEAD;
			last_slices += ev.type == HTTP_EV_BODY && ev.last;
			on_event(v, &p, &ev);
		}
		at += k;
	}
	if (http_reads_to_close(&p))
		v->done++; /* the connection's close ends it */
}

/* ---- random messages ---- */

static int put(char *b, const char *fmt, unsigned x)
{
	return sprintf(b, fmt, x);
}

static int headers(char *b, uint32_t *s)
{
	int k = 0;
	for (unsigned i = rnd(s) % 8; i > 0; i--)
		k += sprintf(b + k, "X-H%u:%s%.*s\r\n", i, rnd(s) & 1 ? " " : "", (int)(rnd(s) % 60),
			     "abcdefghijklmnopqrstuvwxyz0123456789 ;,=/abcdefghijklmnopqrstuvwxyz");
	return k;
}

static int body(char *b, uint32_t *s, int allow_close)
{
	int k = 0;
	switch (rnd(s) % (allow_close ? 4 : 3)) {
	case 0: { /* Content-Length */
		unsigned n = rnd(s) % 2000;
		k += put(b + k, "Content-Length: %u\r\n\r\n", n);
		memset(b + k, 'b', n);
		return k + (int)n;
	}
	case 1: { /* chunked, with extensions and trailers sometimes */
		k += sprintf(b + k, "Transfer-Encoding: chunked\r\n\r\n");
		for (unsigned c = rnd(s) % 5; c > 0; c--) {
			unsigned n = 1 + rnd(s) % 700;
			k += sprintf(b + k, rnd(s) & 1 ? "%x\r\n" : "%X;ext=\"v\"\r\n", n);
			memset(b + k, 'c', n);
			k += (int)n;
			k += sprintf(b + k, "\r\n");
		}
		return k + sprintf(b + k, rnd(s) & 1 ? "0\r\n\r\n" : "0\r\nX-Trailer: t\r\n\r\n");
	}
	case 2:
		return k + put(b + k, "Content-Length: %u\r\n\r\n", 0);
	default: /* close-delimited (the last response only) */
		k += sprintf(b + k, "\r\n");
		memset(b + k, 'z', 321);
		return k + 321;
	}
}

static size_t requests(char *b, uint32_t *s)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
	size_t k = 0;
	for (unsigned i = 1 + rnd(s) % 6; i > 0; i--) {
		k += (size_t)sprintf(b + k, "%s /v1/p%u?q=%u HTTP/1.%u\r\nHost: h\r\n",
				     methods[rnd(s) % 6], rnd(s) % 1000, rnd(s) % 10, rnd(s) & 1);
		k += (size_t)headers(b + k, s);
		k += (size_t)body(b + k, s, 0);
	}
	return k;
}

static size_t responses(char *b, uint32_t *s)
{
	static const unsigned codes[] = {200, 201, 204, 304, 404, 500, 100};
	size_t k = 0;
	for (unsigned i = 1 + rnd(s) % 6; i > 0; i--) {
		unsigned code = codes[rnd(s) % 7];
		k += (size_t)sprintf(b + k, "HTTP/1.1 %u Whatever Reason\r\n", code);
		k += (size_t)headers(b + k, s);
		if (code == 204 || code == 304 || code == 100)
			k += (size_t)sprintf(b + k, "\r\n");
		else
			k += (size_t)body(b + k, s, i == 1);
	}
	return k;
}

static void compare(const struct view *a, const struct view *b, const char *buf)
{
	cr_assert_eq(a->n, b->n, "messages %u vs oracle %u in:\n%.400s", a->n, b->n, buf);
	cr_assert_eq(a->done, b->done, "completed %u vs oracle %u", a->done, b->done);
	for (unsigned i = 0; i < a->n; i++) {
		cr_assert_str_eq(a->m[i].method, b->m[i].method, "message %u", i);
		cr_assert_str_eq(a->m[i].url, b->m[i].url, "message %u", i);
		cr_assert_eq(a->m[i].status, b->m[i].status, "message %u", i);
		cr_assert_eq(a->m[i].body, b->m[i].body, "message %u body", i);
	}
}

/* Host, and the framing headers: the generated X-H1..X-H7 lines are
 * skipped. With Host alone, the framing headers are read in place too
 * (unreported), and the messages must still come out whole. */
static const uint64_t want = HTTP_WANT_NAME(4, 'h') | HTTP_WANT_NAME(14, 'c') |
			     HTTP_WANT_NAME(17, 't');
static const uint64_t want_host = HTTP_WANT_NAME(4, 'h');

/* Many random streams of one kind: the framer and the oracle agree. */
static void agree(enum http_kind kind, size_t (*gen)(char *, uint32_t *), uint32_t seed)
{
	static char buf[1 << 16];
	size_t total = 0, msgs = 0;
	for (int iter = 0; iter < 1500; iter++) {
		struct view ours = {0}, theirs = {0}, skipping = {0}, again = {0}, hosts = {0};
		struct view heads = {0}, cut_heads = {0};
		size_t n = gen(buf, &seed);
		unsigned all = 0, some = 0, all_hosts = 0, some_hosts = 0, in_heads = 0, in_cut = 0;
		total += n;
		cr_assert_eq(oracle_parse(kind == HTTP_REQUEST, buf, n, &theirs), 0);
		framer(kind, buf, n, &seed, &ours, HTTP_WANT_ALL, want, &all, 0, 97);
		compare(&ours, &theirs, buf);
		framer(kind, buf, n, &seed, &skipping, want, want, &some, 0, 97);
		compare(&skipping, &theirs, buf);
		cr_assert_eq(some, all, "wanted headers reported %u, of %u", some, all);
		framer(kind, buf, n, &seed, &again, HTTP_WANT_ALL, want_host, &all_hosts, 0, 97);
		framer(kind, buf, n, &seed, &hosts, want_host, want_host, &some_hosts, 0, 97);
		compare(&hosts, &theirs, buf);
		cr_assert_eq(some_hosts, all_hosts, "Host reported %u, of %u", some_hosts, all_hosts);
		framer(kind, buf, n, &seed, &heads, want, want, &in_heads, 1, WHOLE_PIECES);
		compare(&heads, &theirs, buf);
		cr_assert_eq(in_heads, all, "wanted headers in whole heads %u, of %u", in_heads, all);
		framer(kind, buf, n, &seed, &cut_heads, want, want, &in_cut, 1, 97);
		compare(&cut_heads, &theirs, buf);
		cr_assert_eq(in_cut, all, "wanted headers in cut heads %u, of %u", in_cut, all);
		/* heads that end their body-less messages (http_fold) */
		struct view folded = {0}, cut_folded = {0};
		unsigned in_folded = 0, in_cut_folded = 0;
		framer(kind, buf, n, &seed, &folded, want, want, &in_folded, 2, WHOLE_PIECES);
		compare(&folded, &theirs, buf);
		framer(kind, buf, n, &seed, &cut_folded, want, want, &in_cut_folded, 2, 97);
		compare(&cut_folded, &theirs, buf);
		cr_assert_eq(in_folded + in_cut_folded, 2 * all, "wanted headers, folded");
		msgs += ours.done;
	}
	cr_assert_gt(msgs, 3000, "the streams really hold messages (%zu)", msgs);
	cr_assert_gt(whole_heads, msgs, "heads came whole (%u)", whole_heads);
	cr_assert_gt(last_slices, msgs / 8, "bodies ended with their last slice (%u)", last_slices);
	cr_assert_gt(total, 1000000, "and bytes (%zu)", total);
}

Test(http_oracle, pipelined_requests_agree, .timeout = 60)
{
	agree(HTTP_REQUEST, requests, 2024);
}

Test(http_oracle, pipelined_responses_agree, .timeout = 60)
{
	agree(HTTP_RESPONSE, responses, 4048);
}

/* http_name_eq compares 8 (or 4) bytes at a time: it agrees with the byte-wise
 * definition (ASCII letters in either case, every other byte only itself)
 * on names mutated at random, literals with punctuation included. */
static int name_eq_ref(const char *a, size_t n, const char *lit, size_t k)
{
	if (n != k)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c != (unsigned char)lit[i])
			return 0;
	}
	return 1;
}

Test(http_oracle, name_eq_agrees_with_bytewise_definition)
{
	static const char *const lits[] = {"host", "content-length", "transfer-encoding",
					   "x-request-id", "text/event-stream", ".aliyuncs.com",
					   "a_b~c{d}e@f[g]h`i^j\\k", "0123456789abcdef",
					   "accept", "chunked", "br", "gzip", "a@[`{"};
	uint32_t seed = 77;
	unsigned same = 0;
	for (size_t li = 0; li < sizeof lits / sizeof *lits; li++) {
		const char *lit = lits[li];
		size_t k = strlen(lit);
		char a[64];
		for (int it = 0; it < 20000; it++) {
			memcpy(a, lit, k);
			for (unsigned f = 1 + rnd(&seed) % 3; f > 0; f--) {
				size_t at = rnd(&seed) % k;
				uint32_t r = rnd(&seed);
				unsigned flip = r % 4 == 1 ? 0x20u : 0x40u;
				a[at] = (char)(r % 4 == 0 ? r >> 8 : ((unsigned char)a[at] ^ flip));
			}
			int eq = name_eq_ref(a, k, lit, k);
			same += (unsigned)eq;
			cr_assert_eq(http_name_eq(guard_copy(a, k), k, lit, k), eq, "%s vs %.*s", lit,
				     (int)k, a);
		}
		for (size_t i = 0; i < k; i++)
			a[i] = (char)(lit[i] >= 'a' && lit[i] <= 'z' ? lit[i] - 32 : lit[i]);
		cr_assert(http_name_eq(guard_copy(a, k), k, lit, k), "upper case %s", lit);
	}
	cr_assert_gt(same, 1000, "the mutations also keep names equal (%u)", same);
}

/* http_lit_is, whole inline with each literal's masks folded, agrees with
 * the byte-wise definition too, on the literals the hot paths use. */
#define LIT_AGREES(lit)                                                                   \
	do {                                                                              \
		size_t k_ = sizeof lit - 1;                                               \
		char a_[64];                                                              \
		for (int it_ = 0; it_ < 20000; it_++) {                                   \
			memcpy(a_, lit, k_);                                              \
			size_t at_ = rnd(&seed) % k_;                                     \
			uint32_t r_ = rnd(&seed);                                         \
			a_[at_] = (char)(r_ % 3 == 0   ? r_ >> 8                          \
					 : r_ % 3 == 1 ? (unsigned char)a_[at_] ^ 0x20u   \
						       : (unsigned char)a_[at_] ^ 0x40u); \
			size_t n_ = k_ - (r_ % 7 == 0);                                   \
			int eq_ = name_eq_ref(a_, n_, lit, k_);                           \
			same += (unsigned)eq_;                                            \
			cr_assert_eq(http_lit_is(guard_copy(a_, n_), n_, lit), eq_, "%s", lit); \
		}                                                                         \
	} while (0)

Test(http_oracle, lit_is_agrees_with_bytewise_definition)
{
	uint32_t seed = 78;
	unsigned same = 0;
	LIT_AGREES("host");
	LIT_AGREES("accept");
	LIT_AGREES("chunked");
	LIT_AGREES("user-agent");
	LIT_AGREES("x-request-id");
	LIT_AGREES("content-length");
	LIT_AGREES("transfer-encoding");
	LIT_AGREES("application/x-ndjson");
	LIT_AGREES("x-amzn-bedrock-input-token-count");
	cr_assert_gt(same, 5000, "the mutations also keep names equal (%u)", same);
}

/* Lines the framer refuses are refused whether their header is wanted or
 * skipped: a name whose colon lies past the kept head, no colon, a space
 * before the colon; a long value is fine either way. */
static enum http_ev_type last_event(const char *msg, uint64_t names)
{
	struct http_parser p;
	struct http_event ev = {0};
	const char *buf = guard_copy(msg, strlen(msg));
	size_t left = strlen(msg);
	http_init(&p, HTTP_REQUEST);
	if (names != HTTP_WANT_ALL)
		http_want(&p, names);
	enum http_ev_type last = HTTP_EV_PARTIAL;
	for (;;) {
		size_t used = http_next(&p, buf, left, &ev);
		buf += used;
		left -= used;
		if (ev.type == HTTP_EV_PARTIAL)
			return last;
		last = ev.type;
		if (ev.type == HTTP_EV_ERROR)
			return last;
	}
}

Test(http_oracle, skipped_lines_fail_as_reported_ones_do)
{
	static char msg[1024], name[400];
	memset(name, 'n', 300);
	name[300] = 0;
	static const char *const bad[] = {"%s: v\r\n", "NoColon\r\n", "Sp : v\r\n"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int k = sprintf(msg, "GET / HTTP/1.1\r\nHost: h\r\n");
		k += sprintf(msg + k, bad[i], name);
		sprintf(msg + k, "\r\n");
		cr_assert_eq(last_event(msg, HTTP_WANT_ALL), HTTP_EV_ERROR, "case %zu reported", i);
		cr_assert_eq(last_event(msg, HTTP_WANT_NAME(4, 'h')), HTTP_EV_ERROR, "case %zu skipped",
			     i);
	}
	/* framing headers read in place fail as the reported ones do */
	static const char *const framing[] = {"Content-Length: 12a\r\n",
					      "Content-Length: 3\r\nContent-Length: 4\r\n"};
	for (size_t i = 0; i < sizeof framing / sizeof *framing; i++) {
		sprintf(msg, "POST / HTTP/1.1\r\nHost: h\r\n%s\r\nabcd", framing[i]);
		cr_assert_eq(last_event(msg, HTTP_WANT_ALL), HTTP_EV_ERROR, "framing %zu reported", i);
		cr_assert_eq(last_event(msg, HTTP_WANT_NAME(4, 'h')), HTTP_EV_ERROR,
			     "framing %zu in place", i);
	}
	sprintf(msg, "POST / HTTP/1.1\r\nContent-Length: %.*s4\r\n\r\nabcd", 300,
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000");
	cr_assert_eq(last_event(msg, HTTP_WANT_ALL), HTTP_EV_ERROR, "a cut length is refused");
	cr_assert_eq(last_event(msg, HTTP_WANT_NAME(4, 'h')), HTTP_EV_ERROR, "in place too");
	sprintf(msg, "GET / HTTP/1.1\r\nX-Long: %s\r\n\r\n", name);
	cr_assert_eq(last_event(msg, HTTP_WANT_ALL), HTTP_EV_MSG_END);
	cr_assert_eq(last_event(msg, HTTP_WANT_NAME(4, 'h')), HTTP_EV_MSG_END);
}

/* ---- whole heads and the line states, on the lines whole heads give back ---- */

/* The events of buf, given at once, as text, a whole head written as the
 * line events it stands for, so that both modes must write the same text;
 * *heads counts the whole heads. */
static void event_text(enum http_kind kind, const char *buf, size_t n, uint64_t names, int whole,
		       char *out, size_t cap, unsigned *heads)
{
	struct http_parser p;
	size_t k = 0;
	http_init(&p, kind);
	http_want(&p, names);
	if (whole)
		http_whole(&p, names);
#define EMIT(...) (k += (size_t)snprintf(out + k, k < cap ? cap - k : 0, __VA_ARGS__))
	const char *piece = guard_copy(buf, n);
	for (size_t len = n;;) {
		struct http_event ev;
		size_t used = http_next(&p, piece, len, &ev);
		piece += used;
		len -= used;
		if (ev.type == HTTP_EV_PARTIAL)
			break;
		switch (ev.type) {
		case HTTP_EV_HEAD:
			++*heads;
			EMIT("B|");
			__attribute__((fallthrough));
		case HTTP_EV_START_LINE:
			EMIT("S%.*s %.*s %u %u %d|", (int)ev.a_len, ev.a ? ev.a : "", (int)ev.b_len,
			     ev.b ? ev.b : "", ev.status, ev.minor, ev.truncated);
			for (unsigned i = 0; ev.type == HTTP_EV_HEAD && i < ev.n_fields; i++)
				EMIT("H%.*s=%.*s 0|", (int)ev.field[i].name_len,
				     ev.field[i].name, (int)ev.field[i].value_len,
				     ev.field[i].value);
			if (ev.type == HTTP_EV_HEAD)
				EMIT("E|");
			break;
		case HTTP_EV_HEADER:
			EMIT("H%.*s=%.*s %d|", (int)ev.a_len, ev.a, (int)ev.b_len, ev.b,
			     ev.truncated);
			break;
		case HTTP_EV_BODY:
			EMIT("b%zu|%s", ev.a_len, ev.last ? "M|" : "");
			break;
		default:
			EMIT("%c|", "PBSHEbMX"[ev.type < 8 ? ev.type : 7]);
		}
	}
#undef EMIT
	cr_assert_lt(k, cap, "event text fits");
}

/* Both modes, given at once: the same text. Returns whether the whole
 * head came as one event, and the text in out. */
static int both_modes(enum http_kind kind, const char *buf, uint64_t names, char *out,
		      size_t cap)
{
	static char lines[1 << 16];
	unsigned heads = 0, none = 0;
	size_t n = strlen(buf);
	event_text(kind, buf, n, names, 0, lines, sizeof lines, &none);
	event_text(kind, buf, n, names, 1, out, cap, &heads);
	cr_assert_eq(none, 0);
	cr_assert_str_eq(out, lines, "whole heads vs lines for:\n%.300s", buf);
	return heads != 0;
}

/* Each line the fast test of a whole head sends back to the line states
 * (and its near misses, which it keeps), between a usual line and a
 * wanted one, then a second message: the same events either way, with
 * the names wanted, all, or none. */
Test(http_oracle, whole_heads_give_back_odd_lines)
{
	static char pad[400], msg[1 << 12], out[1 << 16];
	memset(pad, 'p', sizeof pad - 1);
	static const char *const odd[] = {
		"X-A : v\r\n", "X-A\t: v\r\n", " folded\r\n", "\tfolded\r\n", ": v\r\n", "NoColon\r\n",
		"\x01X: v\r\n", "X\x01: v\r\n", "X-A\r: v\r\n", "\r: v\r\n", "X-A: v\n", "X-A:v\r\n",
		"Host:\r\n", "Host: a b \t\r\n", "Host:\ta\r\n", "X-A: v\r\r\n", "X-A: :\r\n",
		"Content-Length: 2\r\n", "Content-Length: 3\r\n", "Content-Length : 2\r\n",
		"Transfer-Encoding: gzip\r\n", "\x80X: v\r\n", "X: v\r\n",
	};
	static const uint64_t wants[] = {HTTP_WANT_NAME(4, 'h') | HTTP_WANT_NAME(3, 'x'),
					 HTTP_WANT_ALL, 0};
	unsigned whole = 0, cases = 0;
	for (size_t w = 0; w < sizeof wants / sizeof *wants; w++) {
		for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
			snprintf(msg, sizeof msg,
				 "POST /v1/chat HTTP/1.1\r\nUser-Agent: t\r\n%sHost: h\r\n"
				 "Content-Length: 2\r\n\r\nokGET / HTTP/1.1\r\nHost: x\r\n\r\n",
				 odd[i]);
			whole += (unsigned)both_modes(HTTP_REQUEST, msg, wants[w], out, sizeof out);
			cases++;
		}
		/* lines of 250..262 bytes, CR included or not, the colon early or
		 * past the kept head */
		for (int len = 250; len <= 262; len++) {
			for (int shape = 0; shape < 4; shape++) {
				int name = shape & 2 ? len - 4 : 3;
				const char *end = shape & 1 ? "\r\n" : "\n";
				snprintf(msg, sizeof msg,
					 "HTTP/1.1 200 OK\r\n%.*s: %.*s%sContent-Length: 0\r\n\r\n",
					 name, pad, len - name - 2 - (shape & 1), pad, end);
				whole += (unsigned)both_modes(HTTP_RESPONSE, msg, wants[w], out,
							      sizeof out);
				cases++;
			}
		}
	}
	cr_assert_gt(whole, cases / 2, "most heads still come whole (%u of %u)", whole, cases);
}

/* The header cap: 128 lines pass and 129 fail, however many of them are
 * wanted and wherever (the cap of the lines a whole head skips is checked
 * at its end, that of the wanted ones as they come). */
Test(http_oracle, whole_heads_keep_the_header_cap)
{
	static char msg[1 << 13], out[1 << 16];
	static const uint64_t names = HTTP_WANT_NAME(4, 'h') | HTTP_WANT_NAME(3, 'x');
	for (int lines = 126; lines <= 131; lines++) {
		for (int where = 0; where < 3; where++) { /* a wanted line first, last, none */
			int k = sprintf(msg, "GET / HTTP/1.1\r\n");
			for (int i = 0; i < lines; i++)
				k += sprintf(msg + k, "%s: %d\r\n",
					     (where == 0 && i == 0) || (where == 1 && i == lines - 1)
						     ? "Host"
						     : "X-Header-Number",
					     i);
			sprintf(msg + k, "\r\n");
			int whole = both_modes(HTTP_REQUEST, msg, names, out, sizeof out);
			int over = lines > HTTP_MAX_HEADERS;
			cr_assert_eq(whole, !over, "%d lines (%d): whole", lines, where);
			cr_assert_eq(strstr(out, "X|") != NULL, over, "%d lines (%d): %s", lines,
				     where, out + strlen(out) - 20);
		}
	}
}

/* Content-Length values of every length, read a word at a time up to 8
 * digits (http_take_length): the body framed is the value's, a non-digit
 * anywhere (or a 19th digit) is an error, whole heads or line by line. */
Test(http_oracle, content_length_values)
{
	static char msg[256], out[1 << 12];
	uint32_t seed = 99;
	static const char bad[] = {'/', ':', 'a', 'A', 0, '\x80', '\xb0', '\xff', '+', '-'};
	for (int digits = 1; digits <= 19; digits++) {
		for (int it = 0; it < 400; it++) {
			char v[24];
			for (int i = 0; i < digits; i++)
				v[i] = (char)('0' + rnd(&seed) % 10);
			int at = it % 3 == 0 ? (int)(rnd(&seed) % (unsigned)digits) : -1;
			if (at >= 0)
				v[at] = bad[rnd(&seed) % sizeof bad];
			unsigned long long x = 0;
			for (int i = 0; i < digits; i++)
				x = x * 10 + (unsigned long long)(v[i] - '0');
			int ok = at < 0 && digits <= HTTP_MAX_LENGTH_DIGITS;
			int k = sprintf(msg, "HTTP/1.1 200 OK\r\nContent-Length: ");
			memcpy(msg + k, v, (size_t)digits);
			k += digits;
			k += sprintf(msg + k, "\r\n\r\n");
			for (int whole = 0; whole < 2; whole++) {
				struct http_parser p;
				struct http_event ev;
				http_init(&p, HTTP_RESPONSE);
				if (whole)
					http_whole(&p, 0);
				const char *b = guard_copy(msg, (size_t)k);
				size_t left = (size_t)k;
				enum http_ev_type last = HTTP_EV_PARTIAL;
				do {
					size_t used = http_next(&p, b, left, &ev);
					b += used;
					left -= used;
					if (ev.type != HTTP_EV_PARTIAL)
						last = ev.type;
				} while (ev.type != HTTP_EV_PARTIAL && ev.type != HTTP_EV_ERROR);
				cr_assert_eq(last == HTTP_EV_ERROR, !ok, "%.*s (%d)", digits, v, whole);
				if (ok) /* the body still owed is the value */
					cr_assert_eq(p.remaining, x, "%.*s (%d)", digits, v, whole);
			}
		}
	}
	(void)out;
}

/* ---- heads that end their messages (http_fold, http_head_answer) ---- */

/* The events of msg cut at `cut` (0: whole) as text: a head "H<method or
 * status>", its line events "B", "S<...>", "E", bodies "b<n>", MSG_END
 * "M"; a `last` adds "." (the message ended with it). expand: write heads
 * and lasts as the line events they stand for, to compare the two ways.
 * answers: which responses (by order) answer HEAD, told before each with
 * http_head_answer when fold, else by http_set_body after its head. */
static void fold_text(enum http_kind kind, const char *msg, size_t cut, int fold,
		      unsigned answers, int expand, char *out, size_t cap)
{
	struct http_parser p;
	size_t k = 0, n = strlen(msg), body = 0;
	unsigned heads = 0;
	http_init(&p, kind);
	http_whole(&p, HTTP_WANT_NAME(4, 'h'));
	if (fold)
		http_fold(&p);
	out[0] = 0;
	for (size_t at = 0; at < n;) {
		size_t len = cut && at < cut ? cut - at : n - at;
		const char *piece = guard_copy(msg + at, len);
		for (;;) {
			struct http_event ev;
			if (fold && kind == HTTP_RESPONSE && http_idle(&p))
				http_head_answer(&p, answers >> heads & 1);
			size_t used = http_next(&p, piece, len, &ev);
			piece += used;
			len -= used;
			if (ev.type == HTTP_EV_PARTIAL)
				break;
			cr_assert_neq(ev.type, HTTP_EV_ERROR);
			const char *end = ev.last ? (expand ? "M" : ".") : "";
			int head = ev.type == HTTP_EV_HEAD;
			if (head || ev.type == HTTP_EV_START_LINE) {
				const char *pre = head ? (expand ? "BS" : "H") : "S";
				if (kind == HTTP_REQUEST)
					snprintf(out + k, cap - k, "%s%.*s", pre, (int)ev.a_len, ev.a);
				else
					snprintf(out + k, cap - k, "%s%u", pre, ev.status);
				k += strlen(out + k);
				snprintf(out + k, cap - k, "%s%s", head && expand ? "E" : "", end);
			} else if (ev.type == HTTP_EV_HEADER) {
				/* (a head's fields are not written) */
			} else if (ev.type == HTTP_EV_BODY) { /* slices merged: cut anywhere */
				body += ev.a_len;
				if (ev.last) /* (every body here has a length) */
					snprintf(out + k, cap - k, "b%zu%s", body, end), body = 0;
			} else {
				if (body)
					snprintf(out + k, cap - k, "b%zu", body), body = 0;
				k += strlen(out + k);
				snprintf(out + k, cap - k, "%c", "PBSHEbMX"[ev.type < 8 ? ev.type : 7]);
			}
			k += strlen(out + k);
			if (ev.type == HTTP_EV_HEADERS_END || ev.type == HTTP_EV_HEAD)
				if ((answers >> heads++ & 1) && !fold)
					http_set_body(&p, HTTP_BODY_NONE);
		}
		at += cut && at < cut ? cut : n - at;
	}
	cr_assert_lt(k, cap - 1);
}

Test(http_oracle, fold_ends_bodyless_messages_with_their_head)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
				  "POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"
				  "HEAD /y HTTP/1.1\r\n\r\n";
	static const char resp[] = "HTTP/1.1 100 Continue\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
				   "HTTP/1.1 204 No Content\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
	static char a[512], b[512];
	/* whole: one event per body-less message, its head */
	fold_text(HTTP_REQUEST, req, 0, 1, 0, 0, a, sizeof a);
	cr_assert_str_eq(a, "HGET.HPOSTb2.HHEAD.");
	fold_text(HTTP_REQUEST, req, 0, 0, 0, 0, a, sizeof a);
	cr_assert_str_eq(a, "HGETMHPOSTb2.HHEADM");
	/* the second response answers HEAD: its Content-Length frames nothing */
	fold_text(HTTP_RESPONSE, resp, 0, 1, 2, 0, a, sizeof a);
	cr_assert_str_eq(a, "H100.H200.H204.H200b3.");
	fold_text(HTTP_RESPONSE, resp, 0, 0, 2, 0, a, sizeof a);
	cr_assert_str_eq(a, "H100MH200MH204MH200b3.");
	/* cut anywhere (heads then go line by line): the same messages */
	fold_text(HTTP_REQUEST, req, 0, 0, 0, 1, b, sizeof b);
	for (size_t cut = 1; cut < sizeof req - 1; cut++) {
		fold_text(HTTP_REQUEST, req, cut, 1, 0, 1, a, sizeof a);
		cr_assert_str_eq(a, b, "request cut at %zu: %s vs %s", cut, a, b);
	}
	fold_text(HTTP_RESPONSE, resp, 0, 0, 2, 1, b, sizeof b);
	for (size_t cut = 1; cut < sizeof resp - 1; cut++) {
		fold_text(HTTP_RESPONSE, resp, cut, 1, 2, 1, a, sizeof a);
		cr_assert_str_eq(a, b, "response cut at %zu", cut);
	}
}
