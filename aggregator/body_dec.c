/*
 * body_dec.c - streaming decoders for the Content-Encodings providers use:
 * gzip (zlib, several members allowed), deflate (zlib-wrapped as RFC 9110
 * says, or raw as some servers send: told apart by the zlib header check),
 * br (libbrotli), zstd (libzstd, several frames allowed, window at most
 * 2^BODY_ZSTD_WINDOW_LOG_MAX). Output goes out in BODY_DEC_CHUNK pieces,
 * never held whole; decoding stops at the bomb cap (body.h).
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDStream_advanced: our allocator */
#include <brotli/decode.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "body_dec.h"

#define BODY_DEC_CHUNK 16384

static void fail(struct body_dec *d, enum body_reason r)
{
	d->state = BODY_DEC_FAILED;
	d->reason = (uint8_t)r;
}

/* Hand out decoded bytes within the cap; 0, or -1 once the cap is hit. */
static int emit(struct body_dec *d, const char *p, size_t n, body_out_fn out, void *ctx)
{
	uint64_t cap = BODY_BOMB_FREE + BODY_BOMB_RATIO * d->in;
	if (cap > BODY_DECODED_MAX)
		cap = BODY_DECODED_MAX;
	if (d->out + n > cap) {
		if (cap > d->out)
			out(ctx, p, (size_t)(cap - d->out));
		d->out = cap;
		fail(d, BODY_R_BOMB);
		return -1;
	}
	d->out += n;
	if (n)
		out(ctx, p, n);
	return 0;
}

/* ---- zlib: gzip and deflate ---- */

static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
	const struct body_mem *m = opaque;
	return m->alloc(m->opaque, (size_t)items * size);
}

static void z_free(void *opaque, void *p)
{
	const struct body_mem *m = opaque;
	m->free(m->opaque, p);
}

static int z_start(struct body_dec *d, int window_bits)
{
	z_stream *z = d->mem->alloc(d->mem->opaque, sizeof *z);
	if (!z)
		return -1;
	memset(z, 0, sizeof *z);
	z->zalloc = z_alloc;
	z->zfree = z_free;
	z->opaque = (void *)d->mem;
	if (inflateInit2(z, window_bits) != Z_OK) {
		d->mem->free(d->mem->opaque, z);
		return -1;
	}
	d->impl = z;
	return 0;
}

static void z_feed(struct body_dec *d, const unsigned char *p, size_t n, body_out_fn out,
		   void *ctx)
{
	z_stream *z = d->impl;
	char buf[BODY_DEC_CHUNK];
	while (n > 0) {
		if (d->state == BODY_DEC_DONE) {
			if (d->coding != REC_CODING_GZIP) { /* bytes after the end */
				fail(d, BODY_R_CORRUPT);
				return;
			}
			inflateReset(z); /* the next gzip member */
			d->state = BODY_DEC_RUNNING;
		}
		unsigned take = n > (1u << 30) ? 1u << 30 : (unsigned)n;
		z->next_in = (unsigned char *)p;
		z->avail_in = take;
		int rc;
		do {
			z->next_out = (unsigned char *)buf;
			z->avail_out = sizeof buf;
			rc = inflate(z, Z_NO_FLUSH);
			if (emit(d, buf, sizeof buf - z->avail_out, out, ctx))
				return;
			if (rc == Z_STREAM_END) {
				d->state = BODY_DEC_DONE;
				break;
			}
			if (rc == Z_MEM_ERROR) {
				fail(d, BODY_R_MEMORY);
				return;
			}
			if (rc != Z_OK && rc != Z_BUF_ERROR) {
				fail(d, BODY_R_CORRUPT);
				return;
			}
			if (rc == Z_BUF_ERROR)
				break; /* no progress possible with what it has */
		} while (z->avail_in > 0 || z->avail_out == 0);
		size_t used = take - z->avail_in;
		if (used == 0 && d->state != BODY_DEC_DONE) {
			fail(d, BODY_R_CORRUPT); /* input it will never take */
			return;
		}
		p += used;
		n -= used;
	}
}

/* deflate: the first two bytes say zlib (RFC 1950 header) or raw. */
static void deflate_feed(struct body_dec *d, const unsigned char *p, size_t n, body_out_fn out,
			 void *ctx)
{
	if (!d->impl) {
		while (d->nhead < 2 && n > 0) {
			d->head[d->nhead++] = *p++;
			n--;
		}
		if (d->nhead < 2)
			return;
		unsigned cmf = d->head[0], flg = d->head[1];
		int zlib = (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf << 8 | flg) % 31 == 0;
		if (z_start(d, zlib ? 15 : -15)) {
			fail(d, BODY_R_MEMORY);
			return;
		}
		z_feed(d, d->head, 2, out, ctx);
		if (d->state == BODY_DEC_FAILED)
			return;
	}
	z_feed(d, p, n, out, ctx);
}

/* ---- brotli ---- */

static void br_feed(struct body_dec *d, const unsigned char *p, size_t n, body_out_fn out,
		    void *ctx)
{
	BrotliDecoderState *s = d->impl;
	char buf[BODY_DEC_CHUNK];
	if (d->state == BODY_DEC_DONE) {
		if (n)
			fail(d, BODY_R_CORRUPT);
		return;
	}
	for (;;) {
		uint8_t *next_out = (uint8_t *)buf;
		size_t avail_out = sizeof buf;
		BrotliDecoderResult r =
			BrotliDecoderDecompressStream(s, &n, &p, &avail_out, &next_out, NULL);
		if (emit(d, buf, sizeof buf - avail_out, out, ctx))
			return;
		switch (r) {
		case BROTLI_DECODER_RESULT_SUCCESS:
			d->state = BODY_DEC_DONE;
			if (n)
				fail(d, BODY_R_CORRUPT);
			return;
		case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
			return;
		case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
			continue;
		default: {
			int e = BrotliDecoderGetErrorCode(s);
			fail(d, e <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
					   e >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES
				   ? BODY_R_MEMORY
				   : BODY_R_CORRUPT);
			return;
		}
		}
	}
}

/* ---- zstd ---- */

static void zstd_feed(struct body_dec *d, const unsigned char *p, size_t n, body_out_fn out,
		      void *ctx)
{
	ZSTD_DStream *s = d->impl;
	char buf[BODY_DEC_CHUNK];
	ZSTD_inBuffer in = {p, n, 0};
	for (;;) {
		ZSTD_outBuffer o = {buf, sizeof buf, 0};
		size_t rc = ZSTD_decompressStream(s, &o, &in);
		if (ZSTD_isError(rc)) {
			fail(d, ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation
					? BODY_R_MEMORY
					: ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge
					? BODY_R_BOMB
					: BODY_R_CORRUPT);
			return;
		}
		if (emit(d, buf, o.pos, out, ctx))
			return;
		if (rc == 0)
			d->state = BODY_DEC_DONE; /* a frame ended; another may follow */
		else if (in.pos > 0 || o.pos > 0)
			d->state = BODY_DEC_RUNNING;
		if (in.pos == in.size && o.pos < o.size)
			return;
	}
}

/* ---- the interface ---- */

int body_dec_init(struct body_dec *d, unsigned coding, const struct body_mem *mem)
{
	memset(d, 0, sizeof *d);
	d->coding = (uint8_t)coding;
	d->mem = mem;
	switch (coding) {
	case REC_CODING_GZIP:
		if (z_start(d, 15 + 16) == 0)
			return 0;
		break;
	case REC_CODING_DEFLATE:
		return 0; /* started at the second byte */
	case REC_CODING_BR:
		d->impl = BrotliDecoderCreateInstance(mem->alloc, mem->free, mem->opaque);
		if (d->impl)
			return 0;
		break;
	case REC_CODING_ZSTD: {
		ZSTD_customMem cm = {mem->alloc, mem->free, mem->opaque};
		ZSTD_DStream *s = ZSTD_createDStream_advanced(cm);
		if (!s)
			break;
		ZSTD_DCtx_setParameter(s, ZSTD_d_windowLogMax, BODY_ZSTD_WINDOW_LOG_MAX);
		d->impl = s;
		return 0;
	}
	default:
		fail(d, BODY_R_UNKNOWN_CODING);
		return -1;
	}
	fail(d, BODY_R_MEMORY);
	return -1;
}

void body_dec_feed(struct body_dec *d, const void *p, size_t n, body_out_fn out, void *ctx)
{
	if (d->state == BODY_DEC_FAILED || n == 0)
		return;
	d->in += n;
	switch (d->coding) {
	case REC_CODING_GZIP:
		z_feed(d, p, n, out, ctx);
		break;
	case REC_CODING_DEFLATE:
		deflate_feed(d, p, n, out, ctx);
		break;
	case REC_CODING_BR:
		br_feed(d, p, n, out, ctx);
		break;
	case REC_CODING_ZSTD:
		zstd_feed(d, p, n, out, ctx);
		break;
	default:
		fail(d, BODY_R_UNKNOWN_CODING);
		break;
	}
}

void body_dec_finish(struct body_dec *d)
{
	if (d->state == BODY_DEC_RUNNING)
		fail(d, BODY_R_TRUNCATED);
}

void body_dec_free(struct body_dec *d)
{
	if (!d->impl)
		return;
	switch (d->coding) {
	case REC_CODING_GZIP:
	case REC_CODING_DEFLATE:
		inflateEnd(d->impl);
		d->mem->free(d->mem->opaque, d->impl);
		break;
	case REC_CODING_BR:
		BrotliDecoderDestroyInstance(d->impl);
		break;
	case REC_CODING_ZSTD:
		ZSTD_freeDStream(d->impl);
		break;
	default:
		break;
	}
	d->impl = NULL;
}
