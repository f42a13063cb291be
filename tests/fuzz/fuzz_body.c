/* fuzz_body.c - libFuzzer target for tokenringd's compressed-body path
 * (aggregator/body.c, body_dec.c): the input is a script of ring entries
 * and records from a hostile or broken writer: body entries torn (any
 * length, direction, coding, flags), reordered, repeated or orphaned,
 * payloads of any bytes fed to every decoder, records naming any exchange,
 * and expiry. Checked: no crash, no leak, no read outside an entry, and the
 * table's bounds: memory within --body-memory, every exchange released at
 * the end, usage status in range and tokens only with usage available.
 *
 * Script: a sequence of ops, each one byte then its operands:
 *   0 entry: xid(1) dir(1) coding(1) flags(1) offset-mode(1) len(2) payload
 *   1 record: xid(1) codings(1) body_bits(1) usage(1) body_lost(1)
 *   2 expire
 * offset-mode 0 continues the direction where the last entry of that
 * exchange ended, 1 restarts at 0, else is the offset itself. */
#include <stdlib.h>
#include <string.h>

#include "body.h"

#define XIDS 4

static uint64_t next_off[XIDS][2];

static size_t take(const uint8_t **p, size_t *n, void *out, size_t k)
{
	size_t m = k < *n ? k : *n;
	memset(out, 0, k);
	memcpy(out, *p, m);
	*p += m;
	*n -= m;
	return m;
}

static void check(const struct tr_record *r)
{
	if (r->usage_status >= REC_USAGE_COUNT)
		abort();
	if (r->usage_status != REC_USAGE_AVAILABLE && (r->prompt_tokens || r->completion_tokens))
		abort();
	if (memchr(r->response_model, 0, REC_MODEL_LEN) == NULL ||
	    memchr(r->request_model, 0, REC_MODEL_LEN) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct body_config cfg = {.max_bytes = 4096, .memory = 1u << 20, .max_pending = 3};
	struct body_table *t;
	if (body_create(&cfg, &t))
		return 0;
	memset(next_off, 0, sizeof next_off);
	uint64_t now = 1;
	while (size > 0) {
		uint8_t op;
		take(&data, &size, &op, 1);
		now += 1000;
		if (op % 3 == 0) {
			uint8_t h[5];
			uint16_t len;
			take(&data, &size, h, sizeof h);
			take(&data, &size, &len, sizeof len);
			struct rec_body b = {0};
			b.kind = REC_KIND_BODY;
			b.pid = 7;
			b.xid = h[0] % XIDS + (h[0] >= 0xf0 ? 0 : 1); /* xid 0 sometimes */
			b.dir = h[1] % 3 == 2 ? h[1] : h[1] % 2;
			b.coding = h[2] % (REC_CODING_COUNT + 1);
			b.bflags = h[3];
			uint64_t *o = &next_off[b.xid % XIDS][b.dir & 1];
			b.offset = h[4] == 0 ? *o : h[4] == 1 ? 0 : h[4];
			b.len = len % 1024 == 1023 ? len : len % (REC_BODY_PAYLOAD + 1);
			size_t got = take(&data, &size, b.payload,
					  b.len < REC_BODY_PAYLOAD ? b.len : REC_BODY_PAYLOAD);
			if (b.len <= REC_BODY_PAYLOAD && got < b.len)
				b.len = (uint16_t)got;
			*o = b.offset + b.len;
			body_take(t, &b, now);
		} else if (op % 3 == 1) {
			uint8_t h[5];
			take(&data, &size, h, sizeof h);
			struct tr_record r = {0};
			r.pid = 7;
			r.body_xid = h[0] % (XIDS + 1);
			r.codings = h[1];
			r.body_bits = h[2];
			r.usage_status = h[3] % REC_USAGE_COUNT;
			r.body_lost = h[4] & 1;
			r.flags = (h[4] & 2) ? REC_F_LLM : 0;
			r.provider = REC_PROVIDER_OPENAI;
			body_complete(t, &r);
			check(&r);
		} else {
			body_expire(t, now + BODY_IDLE_NS + 1);
		}
		if (body_stats(t)->memory > cfg.memory)
			abort();
	}
	body_expire(t, UINT64_MAX);
	if (body_stats(t)->pending || body_stats(t)->memory)
		abort();
	body_destroy(t);
	return 0;
}
