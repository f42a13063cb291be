/*
 * body.h - tokenringd's side of compressed bodies (shm/record_body.h): it
 * takes the body entries the shim copied, decodes each exchange's bodies
 * as their entries come (zlib, libbrotli, libzstd, streaming), runs the
 * same proto/ extraction the shim runs on plain bodies, and when the
 * exchange's record arrives fills it in (model, tokens, usage status,
 * stream chunks, time to first token from the entries' wire times) and
 * settles it with proto/llm_settle.c's rules.
 *
 * Bounded: compressed bytes per body (--body-max-bytes), decoder memory
 * across all exchanges (--body-memory; every decoder allocates through a
 * counting allocator that refuses past it), decoded bytes per body
 * (BODY_DECODED_MAX, and BODY_BOMB_RATIO times the compressed bytes past
 * the first BODY_BOMB_FREE), exchanges decoded at once (BODY_MAX_PENDING,
 * least recently fed evicted first). Entries whose record never comes are
 * expired after BODY_IDLE_NS. Every failure is counted by coding and
 * reason; nothing is guessed: a body that could not be read makes the
 * usage status `undecodable`.
 *
 * Single-threaded (the daemon's loop). Allocation happens only when an
 * exchange's first entry arrives (its decoder state), within the bounds.
 */
#ifndef TOKENRING_BODY_H
#define TOKENRING_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "record_body.h"

#define BODY_DEFAULT_MAX_BYTES (1ull << 20)  /* compressed, per body */
#define BODY_DEFAULT_MEMORY (64ull << 20)    /* decoder memory, all exchanges */
#define BODY_DECODED_MAX (16ull << 20)       /* decoded bytes per body */
#define BODY_BOMB_FREE (1ull << 20)          /* decoded bytes always allowed */
#define BODY_BOMB_RATIO 1000ull              /* then decoded <= ratio x compressed */
#define BODY_MAX_PENDING 4096u               /* exchanges being decoded at once */
#define BODY_IDLE_NS (300ull * 1000 * 1000 * 1000) /* entries without a record expire */
#define BODY_ZSTD_WINDOW_LOG_MAX 23          /* 8 MiB: what zstd levels <= 19 use */

/* Why a body could not be read (tokenring_body_decode_errors_total). */
enum body_reason {
	BODY_R_CORRUPT = 0,   /* the decoder rejected the bytes */
	BODY_R_TRUNCATED,     /* the body ended before the compressed stream did */
	BODY_R_BOMB,          /* decoded size past the cap or the ratio */
	BODY_R_TOO_LARGE,     /* compressed size past --body-max-bytes (or the shim's copy) */
	BODY_R_MEMORY,        /* --body-memory reached: no decoder, or evicted */
	BODY_R_LOST,          /* body entries dropped by a full ring, or never seen */
	BODY_R_UNKNOWN_CODING, /* a Content-Encoding we have no decoder for */
	BODY_R_COUNT
};

struct body_stats {
	uint64_t entries;          /* body entries taken from the ring */
	uint64_t bodies;           /* bodies decoded to their end */
	uint64_t orphaned;         /* exchanges whose record never came (expired, evicted) */
	uint64_t stray_entries;    /* entries not in sequence (torn, reordered, lost before) */
	uint64_t decoded_bytes[REC_CODING_COUNT];
	uint64_t errors[REC_CODING_COUNT][BODY_R_COUNT];
	uint64_t memory;           /* decoder bytes allocated now */
	uint64_t pending;          /* exchanges being decoded now */
};

struct body_config {
	uint64_t max_bytes; /* compressed bytes per body */
	uint64_t memory;    /* decoder memory across exchanges */
	uint32_t max_pending; /* exchanges at once; 0 = BODY_MAX_PENDING */
};

struct body_table;

/* Returns 0 or -ENOMEM. */
int body_create(const struct body_config *cfg, struct body_table **out);
void body_destroy(struct body_table *t);

/* One REC_KIND_BODY entry, in ring order; now_ns is the daemon's clock
 * (for expiry). The entry is untrusted: anything out of sequence is
 * counted and ignored. */
void body_take(struct body_table *t, const struct rec_body *b, uint64_t now_ns);

/* An exchange record: if it names body entries (body_xid) or a coding,
 * fill in what its decoded bodies say and settle it again. Records without
 * either are left untouched. */
void body_complete(struct body_table *t, struct tr_record *rec);

/* Expire exchanges idle past BODY_IDLE_NS (call now and then). */
void body_expire(struct body_table *t, uint64_t now_ns);

const struct body_stats *body_stats(const struct body_table *t);

/* The reason label of tokenring_body_decode_errors_total (inline: the
 * exposition in the core library names them without linking decoders). */
static inline const char *body_reason_name(unsigned r)
{
	static const char *const names[BODY_R_COUNT] = {
		[BODY_R_CORRUPT] = "corrupt",   [BODY_R_TRUNCATED] = "truncated",
		[BODY_R_BOMB] = "bomb",         [BODY_R_TOO_LARGE] = "too_large",
		[BODY_R_MEMORY] = "memory",     [BODY_R_LOST] = "lost",
		[BODY_R_UNKNOWN_CODING] = "unknown_coding",
	};
	return r < BODY_R_COUNT ? names[r] : "unknown";
}

#endif
