/* fuzz_conn.c - libFuzzer target for the whole tracker (conn.h): the input
 * is a script of feeds (a header byte: bit 7 = direction, low bits = length)
 * on one connection, then a close. Records must be well-formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *ctx, struct tr_record *r)
{
	(void)ctx;
	if (strnlen(r->path, REC_PATH_LEN) >= REC_PATH_LEN ||
	    strnlen(r->request_model, REC_MODEL_LEN) >= REC_MODEL_LEN ||
	    strnlen(r->method, REC_METHOD_LEN) >= REC_METHOD_LEN || r->usage_status >= REC_USAGE_COUNT ||
	    r->provider >= REC_PROVIDER_COUNT || r->operation >= REC_OP_COUNT)
		abort();
	if (r->usage_status != REC_USAGE_AVAILABLE && (r->prompt_tokens || r->completion_tokens))
		abort(); /* tokens are never invented */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conn c;
	struct conn_config cfg;
	if (size < 1)
		return 0;
	memset(&cfg, 0, sizeof cfg);
	cfg.http_all = data[0] & 1;
	conn_init(&c, (enum conn_role)(data[0] % 3));
	size_t at = 1;
	uint64_t now = 1;
	while (at < size) {
		uint8_t h = data[at++];
		size_t len = (size_t)(h & 0x7f) * 4 + 1;
		if (len > size - at)
			len = size - at;
		conn_feed(&c, &cfg, h & 0x80 ? CONN_DIR_IN : CONN_DIR_OUT, data + at, len, now++,
			  check, NULL);
		at += len;
	}
	conn_close(&c, &cfg, now, check, NULL);
	return 0;
}
