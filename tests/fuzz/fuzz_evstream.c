/* fuzz_evstream.c - libFuzzer target for the AWS event-stream decoder
 * (proto/evstream.c): any bytes, fed whole and in pieces of a size the
 * first byte picks, give the same messages, headers, payload bytes and
 * error, and are never read outside the input. Bedrock's reader on top of
 * it (llm_bedrock.c) is fuzz_llm's: a body whose first byte is 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	uint32_t headers, payload_bytes, payload_sum, ends;
};

static void on_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen,
		      int truncated)
{
	struct tally *t = ctx;
	if (nlen > EVS_NAME_KEEP || vlen > EVS_VALUE_KEEP || (truncated && vlen != EVS_VALUE_KEEP))
		abort();
	for (size_t i = 0; i < nlen; i++)
		t->payload_sum += (uint8_t)name[i];
	for (size_t i = 0; i < vlen; i++)
		t->payload_sum += (uint8_t)value[i];
	t->headers++;
}

static void on_payload(void *ctx, const char *p, size_t n)
{
	struct tally *t = ctx;
	if (n == 0)
		abort();
	for (size_t i = 0; i < n; i++)
		t->payload_sum = t->payload_sum * 31u + (uint8_t)p[i];
	t->payload_bytes += (uint32_t)n;
}

static void on_end(void *ctx)
{
	((struct tally *)ctx)->ends++;
}

static const struct evs_ops ops = {on_header, on_payload, on_end};

static enum evs_err decode(const char *buf, size_t n, size_t step, struct tally *t,
			   struct evs *d)
{
	memset(t, 0, sizeof *t);
	evs_init(d);
	for (size_t at = 0; at < n;) {
		size_t k = step && step < n - at ? step : n - at;
		evs_feed(d, buf + at, k, &ops, t);
		at += k;
	}
	return (enum evs_err)d->err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = 1 + data[0] % 23;
	const char *buf = (const char *)data + 1;
	size_t n = size - 1;
	struct tally a, b;
	struct evs da, db;
	enum evs_err ea = decode(buf, n, 0, &a, &da);
	enum evs_err eb = decode(buf, n, step, &b, &db);
	/* The payload is handed out as it arrives, so a split run has given at
	 * most what the whole run gave before the same error. */
	if (ea != eb || a.headers != b.headers || a.ends != b.ends ||
	    a.payload_bytes != b.payload_bytes || a.payload_sum != b.payload_sum ||
	    da.messages != a.ends)
		abort();
	return 0;
}
