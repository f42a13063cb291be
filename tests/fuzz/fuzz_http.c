/* fuzz_http.c - libFuzzer target for the HTTP/1.1 framer (http.h): any
 * bytes, cut at points taken from the input, must frame without over-reads,
 * hangs or out-of-range events, and identically whether cut or not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Count events and body bytes; returns the events seen. */
static unsigned run(enum http_kind kind, const char *buf, size_t n, size_t step, uint64_t *body)
{
	struct http_parser p;
	unsigned events = 0;
	http_init(&p, kind);
	for (size_t at = 0; at < n;) {
		size_t len = step && step < n - at ? step : n - at;
		const char *piece = buf + at;
		for (;;) {
			struct http_event ev;
			size_t used = http_next(&p, piece, len, &ev);
			if (used > len)
				abort();
			piece += used;
			len -= used;
			if (ev.type == HTTP_EV_PARTIAL)
				break;
			if (ev.type == HTTP_EV_BODY) {
				if (ev.a < buf || ev.a + ev.a_len > buf + n)
					abort();
				*body += ev.a_len;
			} else {
				events++;
			}
			if (ev.type == HTTP_EV_HEADERS_END && (events & 1))
				http_set_body(&p, HTTP_BODY_NONE);
		}
		at += step && step < n - at ? step : n - at;
	}
	return events;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = data[0] % 8;
	const char *buf = (const char *)data + 1;
	size_t n = size - 1;
	for (int kind = 0; kind < 2; kind++) {
		uint64_t whole_body = 0, cut_body = 0;
		unsigned whole = run((enum http_kind)kind, buf, n, 0, &whole_body);
		unsigned cut = run((enum http_kind)kind, buf, n, step ? step : 1, &cut_body);
		if (whole != cut || whole_body != cut_body)
			abort(); /* framing must not depend on how bytes arrive */
	}
	return 0;
}
