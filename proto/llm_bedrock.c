/*
 * llm_bedrock.c - Bedrock's streaming bodies into the JSON extractor.
 * ConverseStream sends each event (messageStart, contentBlockDelta,
 * metadata with usage...) as an event-stream message whose payload is the
 * event's JSON. InvokeModelWithResponseStream sends ":event-type chunk"
 * messages whose payload is {"bytes":"<base64>"}: the base64 holds the
 * model's own stream event (Anthropic's message_start..., Titan's,
 * Llama's), its last one with amazon-bedrock-invocationMetrics. Exceptions
 * (":message-type exception") carry an error, not an event, and are skipped.
 * Base64 is decoded as it streams into a small stack buffer; nothing of a
 * payload is kept.
 */
#include <string.h>

#include "llm_resp_internal.h"

enum payload_kind {
	P_JSON = 0, /* the payload is the event */
	P_CHUNK,    /* {"bytes":"<base64 of the event>"} */
	P_SKIP,     /* an exception or error message */
};

/* Where the reader of a chunk payload is. */
enum chunk_phase {
	C_SEEK = 0, /* looking for the key "bytes" */
	C_COLON,
	C_QUOTE,
	C_BASE64,
	C_DONE,
};

static const char bytes_key[] = "\"bytes\"";
#define BYTES_KEY_LEN (sizeof(bytes_key) - 1)
#define DECODE_BATCH 96 /* decoded bytes handed to the scanner at a time */

void llm_bedrock_begin(struct llm_bedrock *b)
{
	memset(b, 0, sizeof *b);
	evs_init(&b->evs);
}

static int is(const char *v, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(v, lit, n) == 0;
}

static void on_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen,
		      int truncated)
{
	struct llm_bedrock *b = &((struct resp_ctx *)ctx)->r->bedrock;
	(void)truncated;
	if (is(name, nlen, ":message-type") && !is(value, vlen, "event"))
		b->payload = P_SKIP;
	else if (is(name, nlen, ":event-type") && is(value, vlen, "chunk") && b->payload != P_SKIP)
		b->payload = P_CHUNK;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == '/' ? 63 : -1;
}

struct out {
	char buf[DECODE_BATCH];
	size_t n;
};

static void put(struct resp_ctx *c, struct out *o, uint8_t byte)
{
	o->buf[o->n++] = (char)byte;
	if (o->n == sizeof o->buf) {
		llm_resp_json(c, o->buf, o->n);
		o->n = 0;
	}
}

/* The digits of an unfinished quad at '=' or the closing quote: 2 give one
 * byte, 3 give two. */
static void flush_quad(struct resp_ctx *c, struct llm_bedrock *b, struct out *o)
{
	if (b->sextets == 2)
		put(c, o, (uint8_t)(b->quad >> 4));
	else if (b->sextets == 3) {
		put(c, o, (uint8_t)(b->quad >> 10));
		put(c, o, (uint8_t)(b->quad >> 2));
	}
	b->sextets = 0;
	b->quad = 0;
}

static void base64_char(struct resp_ctx *c, struct llm_bedrock *b, struct out *o, char ch)
{
	int v = b64_value(ch);
	if (ch == '"') {
		flush_quad(c, b, o);
		b->phase = C_DONE;
	} else if (ch == '=') {
		flush_quad(c, b, o);
	} else if (v >= 0) {
		b->quad = b->quad << 6 | (uint32_t)v;
		if (++b->sextets == 4) {
			put(c, o, (uint8_t)(b->quad >> 16));
			put(c, o, (uint8_t)(b->quad >> 8));
			put(c, o, (uint8_t)b->quad);
			b->sextets = 0;
			b->quad = 0;
		}
	} /* anything else ("\/" escapes, line breaks) carries no digit */
}

static int is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* One byte of a chunk payload outside the base64 run. */
static void chunk_char(struct llm_bedrock *b, char ch)
{
	switch (b->phase) {
	case C_SEEK:
		if (ch == bytes_key[b->matched])
			b->matched++;
		else
			b->matched = ch == '"'; /* only a quote can restart the key */
		if (b->matched == BYTES_KEY_LEN)
			b->phase = C_COLON;
		break;
	case C_COLON:
		if (!is_ws(ch))
			b->phase = ch == ':' ? C_QUOTE : C_SEEK;
		b->matched = 0;
		break;
	case C_QUOTE:
		if (!is_ws(ch))
			b->phase = ch == '"' ? C_BASE64 : C_SEEK;
		break;
	default:
		break;
	}
}

static void chunk_payload(struct resp_ctx *c, const char *p, size_t n)
{
	struct llm_bedrock *b = &c->r->bedrock;
	struct out o = {.n = 0};
	for (size_t i = 0; i < n && b->phase != C_DONE; i++) {
		if (b->phase == C_BASE64)
			base64_char(c, b, &o, p[i]);
		else
			chunk_char(b, p[i]);
	}
	if (o.n)
		llm_resp_json(c, o.buf, o.n);
}

static void on_payload(void *ctx, const char *p, size_t n)
{
	struct resp_ctx *c = ctx;
	switch (c->r->bedrock.payload) {
	case P_JSON:
		llm_resp_json(c, p, n);
		break;
	case P_CHUNK:
		chunk_payload(c, p, n);
		break;
	default:
		break;
	}
}

static void on_message_end(void *ctx)
{
	struct resp_ctx *c = ctx;
	struct llm_bedrock *b = &c->r->bedrock;
	llm_resp_event_end(c->r);
	b->payload = P_JSON;
	b->phase = C_SEEK;
	b->matched = 0;
	b->sextets = 0;
	b->quad = 0;
}

static const struct evs_ops bedrock_ops = {
	.header = on_header,
	.payload = on_payload,
	.message_end = on_message_end,
};

void llm_bedrock_feed(struct resp_ctx *c, const char *p, size_t n)
{
	struct llm_bedrock *b = &c->r->bedrock;
	if (b->evs.err)
		return;
	if (evs_feed(&b->evs, p, n, &bedrock_ops, c) != EVS_OK)
		c->r->json_error = 1; /* a broken frame or CRC: the record says parse error */
}
