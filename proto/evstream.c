/*
 * evstream.c - the AWS event-stream decoder behind evstream.h. One loop
 * takes, for the field being read, as many bytes as it still needs (or as
 * are there), folds them into the running CRC and acts on them; fields are
 * never assembled except the fixed ones (prelude, lengths, CRC).
 */
#include <string.h>

#include "evstream.h"

enum evs_state {
	S_PRELUDE = 0,
	S_NAME_LEN,  /* header: name length byte */
	S_NAME,      /* header: name bytes */
	S_TYPE,      /* header: value type byte */
	S_VALUE_LEN, /* header (bytes, string): 2-byte value length */
	S_VALUE,     /* header: value bytes (fixed size or as long as said) */
	S_PAYLOAD,
	S_CRC,
	S_DEAD,
};

/* Header value types (the event-stream specification's numbering). */
enum { T_TRUE = 0, T_FALSE, T_BYTE, T_SHORT, T_INT, T_LONG, T_BYTES, T_STRING, T_TIME, T_UUID };

/* CRC-32, reflected polynomial 0xEDB88320, four bits at a time: a 16-entry
 * table keeps the shim's footprint small; event-stream messages are short. */
static const uint32_t crc_nibble[16] = {
	0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
	0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
	0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t evs_crc32(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= b[i];
		crc = (crc >> 4) ^ crc_nibble[crc & 15u];
		crc = (crc >> 4) ^ crc_nibble[crc & 15u];
	}
	return ~crc;
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void evs_init(struct evs *d)
{
	memset(d, 0, sizeof *d);
	d->left = EVS_PRELUDE;
}

int evs_between(const struct evs *d)
{
	return d->state == S_PRELUDE && d->got == 0 && d->err == EVS_OK;
}

static void fail(struct evs *d, enum evs_err e)
{
	d->err = (uint8_t)e;
	d->state = S_DEAD;
}

static void enter(struct evs *d, enum evs_state s, uint32_t left)
{
	d->state = (uint8_t)s;
	d->left = left;
	d->got = 0;
}

/* After the headers (or a header): the next header, the payload or the CRC. */
static void after_header(struct evs *d)
{
	if (d->hleft)
		enter(d, S_NAME_LEN, 1);
	else if (d->payload)
		enter(d, S_PAYLOAD, d->payload);
	else
		enter(d, S_CRC, 4);
}

static void prelude_done(struct evs *d)
{
	if (evs_crc32(0, d->fixed, 8) != be32(d->fixed + 8)) {
		fail(d, EVS_BAD_PRELUDE_CRC);
		return;
	}
	uint32_t total = be32(d->fixed), hlen = be32(d->fixed + 4);
	if (total > EVS_MAX_MESSAGE || hlen > EVS_MAX_HEADERS || total < hlen + EVS_OVERHEAD) {
		fail(d, EVS_BAD_LENGTH);
		return;
	}
	d->hleft = hlen;
	d->payload = total - hlen - EVS_OVERHEAD;
	d->crc = evs_crc32(0, d->fixed, EVS_PRELUDE);
	after_header(d);
}

/* Value size of a fixed-size type; -1 for bytes/string, -2 if unknown. */
static int fixed_size(uint8_t t)
{
	static const signed char size[] = {0, 0, 1, 2, 4, 8, -1, -1, 8, 16};
	return t < sizeof size ? size[t] : -2;
}

static void type_done(struct evs *d, uint8_t t)
{
	int size = fixed_size(t);
	d->htype = t;
	d->vkeep = 0;
	d->vtrunc = 0;
	if (size == -2)
		fail(d, EVS_BAD_HEADER);
	else if (size == -1)
		enter(d, S_VALUE_LEN, 2);
	else if (size == 0)
		after_header(d);
	else
		enter(d, S_VALUE, (uint32_t)size);
}

static void value_done(struct evs *d, const struct evs_ops *ops, void *ctx)
{
	if (d->htype == T_STRING && ops->header)
		ops->header(ctx, d->name, d->nkeep, d->value, d->vkeep, d->vtrunc);
	after_header(d);
}

/* Append k bytes to a bounded copy; returns whether some did not fit. */
static int keep(char *dst, uint8_t *have, size_t cap, const char *p, size_t k)
{
	size_t room = cap - *have, n = k < room ? k : room;
	memcpy(dst + *have, p, n);
	*have = (uint8_t)(*have + n);
	return n < k;
}

/* The current field is complete: decide what comes next. */
static void field_done(struct evs *d, const struct evs_ops *ops, void *ctx)
{
	switch (d->state) {
	case S_PRELUDE:
		prelude_done(d);
		break;
	case S_NAME_LEN:
		d->nkeep = 0;
		if (d->word[0] == 0)
			fail(d, EVS_BAD_HEADER);
		else
			enter(d, S_NAME, d->word[0]);
		break;
	case S_NAME:
		enter(d, S_TYPE, 1);
		break;
	case S_TYPE:
		type_done(d, d->word[0]);
		break;
	case S_VALUE_LEN:
		d->state = S_VALUE;
		d->left = (uint32_t)d->word[0] << 8 | d->word[1];
		if (d->left == 0)
			value_done(d, ops, ctx);
		break;
	case S_VALUE:
		value_done(d, ops, ctx);
		break;
	case S_PAYLOAD:
		enter(d, S_CRC, 4);
		break;
	case S_CRC:
		if (be32(d->word) != d->crc) {
			fail(d, EVS_BAD_MESSAGE_CRC);
			break;
		}
		d->messages++;
		enter(d, S_PRELUDE, EVS_PRELUDE);
		if (ops->message_end)
			ops->message_end(ctx);
		break;
	default:
		break;
	}
}

/* Act on k bytes of the current field (k <= d->left). */
static void take(struct evs *d, const char *p, uint32_t k, const struct evs_ops *ops, void *ctx)
{
	uint32_t at = d->got; /* fixed fields only: at most EVS_PRELUDE */
	switch (d->state) {
	case S_PRELUDE:
		memcpy(d->fixed + at, p, k);
		break;
	case S_NAME_LEN:
	case S_TYPE:
	case S_VALUE_LEN:
	case S_CRC:
		memcpy(d->word + at, p, k);
		break;
	case S_NAME:
		keep(d->name, &d->nkeep, EVS_NAME_KEEP, p, k);
		break;
	case S_VALUE:
		if (d->htype == T_STRING && keep(d->value, &d->vkeep, EVS_VALUE_KEEP, p, k))
			d->vtrunc = 1;
		break;
	default: /* S_PAYLOAD */
		if (ops->payload)
			ops->payload(ctx, p, k);
		break;
	}
	d->left -= k;
	if (d->state == S_PRELUDE || d->state == S_NAME_LEN || d->state == S_TYPE ||
	    d->state == S_VALUE_LEN || d->state == S_CRC)
		d->got = (uint8_t)(at + k);
}

static int in_headers(const struct evs *d)
{
	return d->state >= S_NAME_LEN && d->state <= S_VALUE;
}

enum evs_err evs_feed(struct evs *d, const char *p, size_t n, const struct evs_ops *ops,
		      void *ctx)
{
	while (n && !d->err) {
		uint32_t k = d->left < n ? d->left : (uint32_t)n;
		if (in_headers(d)) {
			if (k > d->hleft) {
				fail(d, EVS_BAD_HEADER); /* a header runs past the headers */
				break;
			}
			d->hleft -= k;
		}
		if (d->state != S_PRELUDE && d->state != S_CRC)
			d->crc = evs_crc32(d->crc, p, k);
		enum evs_state was = d->state;
		take(d, p, k, ops, ctx);
		p += k;
		n -= k;
		if (d->left == 0 && d->state == was)
			field_done(d, ops, ctx);
	}
	return (enum evs_err)d->err;
}
