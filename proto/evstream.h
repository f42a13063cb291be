/*
 * evstream.h - incremental decoder of AWS's binary event-stream framing
 * (application/vnd.amazon.eventstream: Bedrock's ConverseStream and
 * InvokeModelWithResponseStream). A message is
 *
 *   total length (u32 BE) | headers length (u32 BE) | prelude CRC32 (u32 BE)
 *   headers: { name len (u8) | name | type (u8) | value }...
 *   payload: total - headers - EVS_OVERHEAD bytes
 *   message CRC32 (u32 BE) over every byte before it
 *
 * Bytes are fed in any split; nothing is buffered but the 12-byte prelude,
 * the 4-byte CRC and a bounded copy of each header name and string value.
 * The prelude CRC is checked before the lengths are trusted; the payload is
 * handed out as it arrives, so the message CRC can only be checked once it
 * has been: a mismatch is reported at the message's end and the decoder
 * stops. No allocation, no I/O: it runs in the shim.
 */
#ifndef TOKENRING_EVSTREAM_H
#define TOKENRING_EVSTREAM_H

#include <stddef.h>
#include <stdint.h>

#define EVS_PRELUDE 12                   /* total, headers length, prelude CRC */
#define EVS_OVERHEAD (EVS_PRELUDE + 4)   /* prelude and message CRC */
#define EVS_MAX_MESSAGE (16u << 20)      /* AWS's limit on one message */
#define EVS_MAX_HEADERS (128u << 10)     /* AWS's limit on a message's headers */
#define EVS_NAME_KEEP 16                 /* header name bytes kept (":event-type" fits) */
#define EVS_VALUE_KEEP 32                /* string header value bytes kept */

enum evs_err {
	EVS_OK = 0,
	EVS_BAD_PRELUDE_CRC = 1,
	EVS_BAD_LENGTH = 2,  /* lengths out of bounds or inconsistent */
	EVS_BAD_HEADER = 3,  /* a header runs past the headers, or an unknown type */
	EVS_BAD_MESSAGE_CRC = 4,
};

/* What the decoder reports. All may be NULL. */
struct evs_ops {
	/* A header of type string (7); name and value cut to the keep sizes
	 * (truncated set when the value was longer). */
	void (*header)(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen,
		       int truncated);
	/* Payload bytes, in order, possibly in several pieces per message. */
	void (*payload)(void *ctx, const char *p, size_t n);
	/* The message ended; its CRC matched (an error ends the stream with
	 * evs_feed's return instead). */
	void (*message_end)(void *ctx);
};

struct evs {
	uint8_t state;    /* private */
	uint8_t err;      /* enum evs_err; sticky */
	uint8_t htype;    /* header being read: value type */
	uint8_t got;      /* bytes of the current fixed-size field */
	uint8_t vtrunc;
	uint8_t nkeep;    /* header name bytes kept */
	uint8_t vkeep;    /* string header value bytes kept */
	uint32_t payload; /* payload length from the prelude */
	uint32_t hleft;   /* header bytes left */
	uint32_t left;    /* bytes left in the current field or section */
	uint32_t crc;     /* running CRC32 of the message so far */
	uint32_t messages; /* messages that ended with a good CRC */
	uint8_t fixed[EVS_PRELUDE]; /* the prelude being read */
	uint8_t word[4];            /* a small field: length, type, CRC */
	char name[EVS_NAME_KEEP];
	char value[EVS_VALUE_KEEP];
};

void evs_init(struct evs *d);

/* Decode n bytes. Returns the error state (sticky: after an error every
 * byte is ignored). */
enum evs_err evs_feed(struct evs *d, const char *p, size_t n, const struct evs_ops *ops,
		      void *ctx);

/* Whether the decoder is between messages. */
int evs_between(const struct evs *d);

/* CRC-32 (IEEE 802.3, as zlib's crc32) of n bytes continuing from crc
 * (0 to start). */
uint32_t evs_crc32(uint32_t crc, const void *p, size_t n);

#endif
