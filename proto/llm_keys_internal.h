/*
 * llm_keys_internal.h - the JSON scanner's key index (llm_keys.c builds it,
 * llm_json.c's fast path reads it inline): a key's id in one probe, without
 * a loop.
 *
 * The index is a perfect hash of the known names: a key is hashed from its
 * first 8 bytes (zero past its end) and its length, with a multiplier
 * chosen when the index is built so that no two known names share a slot
 * (1024 one-byte slots for ~80 names: a few multipliers are tried, once per
 * process). A key then lands on exactly one slot: an unknown key (most
 * keys of a body) usually finds it empty; otherwise the slot's name is
 * compared as integers (its first 8 bytes with its length, the last 8 and
 * the second 8 of a longer name, the middle of a name longer than 24 with
 * memcmp).
 *
 * Built lazily by the first thread to need it, without a lock: the others
 * use jscan_key_id (llm_keys.c) until it is ready.
 */
#ifndef TOKENRING_LLM_KEYS_INTERNAL_H
#define TOKENRING_LLM_KEYS_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "llm_json.h"

#define JKEY_SLOT_BITS 10u

struct jkey_name {
	uint64_t first; /* jkey_first8 of the name */
	uint64_t last;  /* its last 8 bytes, if it has more than 8 */
	uint64_t mid;   /* bytes 8..15, if it has more than 16 */
	const char *name;
	uint8_t len;
};

struct jkey_len {
	uint64_t mask; /* the bytes of a name of this length among its first 8 */
	uint64_t tag;  /* its length, in the top byte, if under 8 */
};

struct jkey_index {
	/* JSCAN_KEY_MAX once the index is ready, 0 before: the one test a
	 * lookup makes of the index's state and of the key's length */
	_Atomic size_t max_len;
	_Atomic int state; /* JKEY_INDEX_* */
	uint64_t mul;
	struct jkey_name by_id[JK_COUNT];
	struct jkey_len by_len[JSCAN_KEY_MAX + 1];
	uint8_t slot[1u << JKEY_SLOT_BITS]; /* a key id, JK_NONE: empty */
};

enum { JKEY_INDEX_NONE = 0, JKEY_INDEX_BUILDING, JKEY_INDEX_READY, JKEY_INDEX_FAILED };

extern struct jkey_index jkey_index;

/* Builds the index if nobody has begun to (and returns at once if someone
 * has). */
void jkey_index_build(void);

static inline uint64_t jkey_load8(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

/* A key's first 8 bytes (8 readable at k), as one word: a name shorter
 * than 8 is zero past its end and has its length in the top byte, so one
 * compare tells its bytes and its length (and an empty slot, all zero,
 * from any key). n: 1..JSCAN_KEY_MAX, by_len filled. */
static inline uint64_t jkey_first8(const char *k, size_t n)
{
	return (jkey_load8(k) & jkey_index.by_len[n].mask) | jkey_index.by_len[n].tag;
}

static inline unsigned jkey_slot(uint64_t first, size_t n, uint64_t mul)
{
	return (unsigned)(((first ^ n) * mul) >> (64 - JKEY_SLOT_BITS));
}

/* The id of the key at k (n bytes, the quotes excluded), with bytes
 * readable up to lim (8 are needed; nearer the end jscan_key_id reads it). */
static inline enum jkey jkey_lookup(const char *k, size_t n, const char *lim)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* acquire: pairs with the release in jkey_index_build */
	if (n - 1 < atomic_load_explicit(&jkey_index.max_len, memory_order_acquire) &&
	    lim - k >= 8) {
		uint64_t f = jkey_first8(k, n);
		unsigned id = jkey_index.slot[jkey_slot(f, n, jkey_index.mul)];
		const struct jkey_name *x = &jkey_index.by_id[id]; /* [JK_NONE]: zero */
		if (x->first != f)
			return JK_OTHER;
		if (n >= 8 && (x->len != n || x->last != jkey_load8(k + n - 8) ||
			       (n > 16 && x->mid != jkey_load8(k + 8)) ||
			       (n > 24 && memcmp(x->name + 16, k + 16, n - 24) != 0)))
			return JK_OTHER;
		return (enum jkey)id;
	}
	if (atomic_load_explicit(&jkey_index.state, memory_order_relaxed) == JKEY_INDEX_NONE)
		jkey_index_build();
#else
	(void)lim;
#endif
	return n <= JSCAN_KEY_MAX ? jscan_key_id(k, n) : JK_OTHER;
}

#endif
