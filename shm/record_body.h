/*
 * record_body.h - the ring entry that carries compressed body bytes
 * (REC_KIND_BODY). The shim never decompresses: for an LLM exchange whose
 * request or response body has a Content-Encoding, it copies the body
 * bytes as they arrive (dechunked, still compressed) into entries of this
 * layout, ahead of the exchange's record, and tokenringd reassembles and
 * decodes them when the record comes (aggregator/body.h).
 *
 * Same REC_SIZE slot and same control line as struct tr_record (seq and
 * checksum first; the checksum covers [REC_CHECKSUM_FROM, REC_SIZE)), and
 * the writer's identity (pid, producer, producer_gen) and `kind` at the
 * same offsets, so the ring, the consumer's kind dispatch and the shim's
 * publish path treat both kinds alike. The entry is tied to its exchange
 * by (producer, producer_gen, pid, xid); the record carries the same xid
 * in body_xid. Within one direction entries come in order with contiguous
 * offsets; a gap means entries were lost (counted in rec.body_lost), and
 * a reader must treat every field as untrusted (a hostile writer can put
 * any offset, length or xid here).
 */
#ifndef TOKENRING_RECORD_BODY_H
#define TOKENRING_RECORD_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* Which body of the exchange. */
enum rec_body_dir {
	REC_BODY_REQUEST = 0,
	REC_BODY_RESPONSE = 1,
};

/* rec_body.bflags */
#define REC_BODY_F_LAST 0x01u /* the message's body ends with this entry */
#define REC_BODY_F_SSE 0x02u  /* response Content-Type text/event-stream */

/* Bytes of one body the shim copies at most; past them the record says
 * REC_B_*_CUT. Matches tokenringd's default per-exchange bound. */
#define REC_BODY_MAX_COPY (1u << 20)

struct rec_body {
	/* line 0 */
	uint64_t seq;      /* slot control word, owned by the ring */
	uint64_t checksum; /* as in struct tr_record */
	uint64_t offset;   /* of payload[0] within this direction's body */
	uint64_t t_ns;     /* arrival of payload's last byte, ns after the request's first byte */
	uint32_t xid;      /* the exchange's rec.body_xid */
	uint16_t len;      /* payload bytes used */
	uint8_t dir;       /* enum rec_body_dir */
	uint8_t bflags;    /* REC_BODY_F_* */
	uint8_t coding;    /* enum rec_coding of this direction's body */
	uint8_t unused0[23];
	/* line 1: identity at struct tr_record's offsets */
	uint32_t pid;
	uint16_t unused1;
	uint16_t producer;
	uint8_t unused2[36];
	uint16_t producer_gen;
	uint8_t kind; /* REC_KIND_BODY */
	uint8_t reserved;
	uint8_t payload[REC_SIZE - 112];
};

#define REC_BODY_PAYLOAD (sizeof(((struct rec_body *)0)->payload))

_Static_assert(sizeof(struct rec_body) == REC_SIZE, "one ring slot");
_Static_assert(offsetof(struct rec_body, offset) == REC_CHECKSUM_FROM, "checksum line shared");
_Static_assert(offsetof(struct rec_body, pid) == offsetof(struct tr_record, pid), "pid shared");
_Static_assert(offsetof(struct rec_body, producer) == offsetof(struct tr_record, producer),
	       "producer shared");
_Static_assert(offsetof(struct rec_body, producer_gen) ==
		       offsetof(struct tr_record, producer_gen),
	       "producer_gen shared");
_Static_assert(offsetof(struct rec_body, kind) == offsetof(struct tr_record, kind), "kind shared");
_Static_assert(offsetof(struct rec_body, payload) == 112, "payload layout");
_Static_assert(REC_BODY_PAYLOAD < 65536, "len fits");

#endif
