/* fuzz_http.c - libFuzzer target for the HTTP/1.1 framer (http.h): any
 * bytes, cut at points taken from the input, must frame without over-reads,
 * hangs or out-of-range events, and identically whether cut or not; and
 * identically again with whole heads as one event (http_whole), whose
 * messages, start lines, wanted headers and bodies must be the line
 * events' exactly; with each way the head's index makes its masks
 * (http_index.c: AVX2 where the CPU has it, and SSE2); and with heads that
 * end their body-less messages (http_fold, http_head_answer). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a run saw, in an order-sensitive digest: every message's start
 * line, its wanted headers and its body length, and how it ended. */
struct seen {
	unsigned events; /* MSG_BEGIN, START_LINE, HEADER, HEADERS_END, MSG_END, ERROR */
	uint64_t body;
	uint64_t digest;
};

static void mix(struct seen *s, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		s->digest = (s->digest ^ b[i]) * 0x100000001b3ull;
}

static void mix_event(struct seen *s, enum http_ev_type type)
{
	s->events++;
	mix(s, &type, sizeof type);
	mix(s, &s->body, sizeof s->body); /* body bytes so far, at each boundary */
}

static void header(struct seen *s, const char *a, size_t a_len, const char *b, size_t b_len,
		   int truncated)
{
	mix_event(s, HTTP_EV_HEADER);
	mix(s, a, a_len);
	mix(s, "\n", 1);
	mix(s, b, b_len);
	mix(s, &truncated, sizeof truncated);
}

static void start_line(struct seen *s, const struct http_event *ev)
{
	mix_event(s, HTTP_EV_START_LINE);
	mix(s, ev->a, ev->a_len);
	mix(s, " ", 1);
	mix(s, ev->b, ev->b_len);
	mix(s, &ev->status, sizeof ev->status);
	mix(s, &ev->minor, sizeof ev->minor);
	mix(s, &ev->truncated, sizeof ev->truncated);
}

/* An event as the line-by-line events it stands for. */
static void record(struct seen *s, const struct http_event *ev)
{
	switch (ev->type) {
	case HTTP_EV_BODY:
		s->body += ev->a_len;
		if (ev->last)
			mix_event(s, HTTP_EV_MSG_END);
		break;
	case HTTP_EV_HEAD:
		mix_event(s, HTTP_EV_MSG_BEGIN);
		start_line(s, ev);
		for (unsigned i = 0; i < ev->n_fields; i++)
			header(s, ev->field[i].name, ev->field[i].name_len, ev->field[i].value,
			       ev->field[i].value_len, 0);
		mix_event(s, HTTP_EV_HEADERS_END);
		if (ev->last) /* (http_fold) the message ends with its head */
			mix_event(s, HTTP_EV_MSG_END);
		break;
	case HTTP_EV_START_LINE:
		start_line(s, ev);
		break;
	case HTTP_EV_HEADER:
		header(s, ev->a, ev->a_len, ev->b, ev->b_len, ev->truncated);
		break;
	default:
		mix_event(s, ev->type);
		break;
	}
}

/* whole: 0 line events, 1 http_whole, 2 http_whole and http_fold (told
 * which responses answer HEAD instead of http_set_body after their head);
 * sb_req: every other head is made body-less, requests' too. */
static void run(enum http_kind kind, const char *buf, size_t n, size_t step, uint64_t want,
		int whole, int sb_req, struct seen *s)
{
	struct http_parser p;
	unsigned heads = 0;
	http_init(&p, kind);
	http_want(&p, want);
	if (whole)
		http_whole(&p, want);
	if (whole == 2)
		http_fold(&p);
	for (size_t at = 0; at < n;) {
		size_t len = step && step < n - at ? step : n - at;
		const char *piece = buf + at;
		for (int owed = 1;;) {
			struct http_event ev;
			if (whole == 2 && kind == HTTP_RESPONSE && http_idle(&p))
				http_head_answer(&p, heads & 1);
			size_t used = http_next(&p, piece, len, &ev);
			if (used > len || (ev.type == HTTP_EV_HEAD && !whole))
				abort();
			/* no input left and no event owed: this call had none */
			if (!owed && len == 0 && ev.type != HTTP_EV_PARTIAL)
				abort();
			owed = ev.more;
			piece += used;
			len -= used;
			if (ev.type == HTTP_EV_PARTIAL)
				break;
			if (ev.type == HTTP_EV_BODY && (ev.a < buf || ev.a + ev.a_len > buf + n))
				abort();
			record(s, &ev);
			/* every other head is a HEAD request's answer: no body */
			if (ev.type == HTTP_EV_HEADERS_END || ev.type == HTTP_EV_HEAD)
				if ((heads++ & 1) && whole != 2 && (kind == HTTP_RESPONSE || sb_req))
					http_set_body(&p, HTTP_BODY_NONE);
		}
		at += step && step < n - at ? step : n - at;
	}
}

static int same(const struct seen *a, const struct seen *b)
{
	return a->events == b->events && a->body == b->body && a->digest == b->digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* the first byte: where to cut (low 3 bits), and the names wanted
	 * (all, none, or a few chosen by the high bits) */
	size_t step = data[0] % 8;
	unsigned pick = data[0] >> 3;
	uint64_t want = pick < 8    ? HTTP_WANT_ALL
			: pick < 12 ? 0
				    : HTTP_WANT_NAME(4, 'h') | HTTP_WANT_NAME(pick, 'x') |
					      HTTP_WANT_NAME(12, 'c') | HTTP_WANT_NAME(6, 'a');
	const char *buf = (const char *)data + 1;
	size_t n = size - 1;
	for (int kind = 0; kind < 2; kind++) {
		enum http_kind k = (enum http_kind)kind;
		size_t cut_at = step ? step : 1;
		struct seen whole = {0}, cut = {0}, heads = {0}, cut_heads = {0};
		struct seen base = {0}, cut_base = {0}, plain = {0}, folded = {0}, cut_folded = {0};
		run(k, buf, n, 0, want, 0, 1, &whole);
		run(k, buf, n, cut_at, want, 0, 1, &cut);
		run(k, buf, n, 0, want, 1, 1, &heads);
		run(k, buf, n, cut_at, want, 1, 1, &cut_heads);
		http_index_variant(1); /* the SSE2 masks */
		run(k, buf, n, 0, want, 1, 1, &base);
		run(k, buf, n, cut_at, want, 0, 1, &cut_base);
		http_index_variant(0);
		/* framing must not depend on how bytes arrive, nor on how the
		 * events are grouped, nor on how the masks are made */
		if (!same(&whole, &cut) || !same(&whole, &heads) || !same(&whole, &cut_heads) ||
		    !same(&whole, &base) || !same(&whole, &cut_base))
			abort();
		/* nor on whether the heads fold their message's end (requests
		 * keep their bodies: only responses are told about HEAD) */
		run(k, buf, n, 0, want, 0, 0, &plain);
		run(k, buf, n, 0, want, 2, 0, &folded);
		run(k, buf, n, cut_at, want, 2, 0, &cut_folded);
		if (!same(&plain, &folded) || !same(&plain, &cut_folded))
			abort();
	}
	return 0;
}
