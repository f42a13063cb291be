/*
 * body_dec.h - one streaming decoder for a Content-Encoding (gzip,
 * deflate zlib-wrapped or raw, br, zstd), with the decompression-bomb cap
 * and memory from a caller's counting allocator. Internal to body.c.
 */
#ifndef TOKENRING_BODY_DEC_H
#define TOKENRING_BODY_DEC_H

#include <stddef.h>
#include <stdint.h>

#include "body.h"

/* Allocation hooks: alloc returns NULL past the caller's bound. */
struct body_mem {
	void *(*alloc)(void *opaque, size_t n);
	void (*free)(void *opaque, void *p);
	void *opaque;
};

typedef void (*body_out_fn)(void *ctx, const char *p, size_t n);

enum body_dec_state {
	BODY_DEC_RUNNING = 0,
	BODY_DEC_DONE = 1,  /* the compressed stream ended */
	BODY_DEC_FAILED = 2, /* see reason */
};

struct body_dec {
	uint8_t coding; /* enum rec_coding */
	uint8_t state;  /* enum body_dec_state */
	uint8_t reason; /* enum body_reason when FAILED */
	uint8_t nhead;  /* deflate: header bytes held until zlib vs raw is known */
	unsigned char head[2];
	uint64_t in;  /* compressed bytes fed */
	uint64_t out; /* decoded bytes produced */
	void *impl;   /* z_stream, BrotliDecoderState or ZSTD_DStream */
	const struct body_mem *mem;
};

/* Returns 0, or -1 with d->state FAILED (unknown coding, no memory). */
int body_dec_init(struct body_dec *d, unsigned coding, const struct body_mem *mem);

/* Decode n more bytes; decoded output goes to out() in pieces. After the
 * stream's end, further bytes are an error (corrupt) unless they start a
 * new gzip member or zstd frame. */
void body_dec_feed(struct body_dec *d, const void *p, size_t n, body_out_fn out, void *ctx);

/* The body ended: FAILED (truncated) unless the stream ended too. */
void body_dec_finish(struct body_dec *d);

void body_dec_free(struct body_dec *d);

#endif
