/*
 * tls_map.c - which socket a TLS session talks over.
 *
 * SSL_get_fd answers only for a socket BIO; curl installs its own BIO and
 * GnuTLS apps their own push/pull callbacks, and a call that returns data
 * already decrypted does no socket I/O at all. So the hooks remember, per
 * session, the fd they last fed and the fd-table entry it had: the entry
 * also tells SSL_free whether that fd still is this session's connection
 * (the fd may have been closed and its number reused since).
 *
 * Open addressing over a fixed array in .bss (pages cost memory only once
 * touched): a key lives in one of TLS_MAP_PROBE entries from its hash, and
 * a lookup always scans the whole window, so a dropped key (set back to 0:
 * no tombstones) never hides another. A full window means "not cached":
 * the fd is found again from the call, never wrongly.
 */
#include <stddef.h>

#include "tls.h"

#define TLS_MAP_SIZE 4096u /* power of two: sessions tracked at once */
#define TLS_MAP_PROBE 8u

_Static_assert((TLS_MAP_SIZE & (TLS_MAP_SIZE - 1)) == 0, "mask needs a power of two");

static struct tls_map_ent map[TLS_MAP_SIZE];

static inline uint32_t slot_of(uintptr_t key)
{
	/* Fibonacci hashing; allocator pointers are 16-byte aligned. */
	return (uint32_t)(((uint64_t)(key >> 4) * 0x9e3779b97f4a7c15ull) >> 52) &
	       (TLS_MAP_SIZE - 1);
}

struct tls_map_ent *tls_map_find(const void *session)
{
	uintptr_t key = (uintptr_t)session;
	uint32_t h = slot_of(key);

	for (uint32_t i = 0; i < TLS_MAP_PROBE; i++) {
		struct tls_map_ent *e = &map[(h + i) & (TLS_MAP_SIZE - 1)];
		/* acquire: pairs with the release CAS that claimed the key */
		if (atomic_load_explicit(&e->key, memory_order_acquire) == key)
			return e;
	}
	return NULL;
}

struct tls_map_ent *tls_map_put(const void *session, int fd, uint64_t entry)
{
	uintptr_t key = (uintptr_t)session;
	struct tls_map_ent *e = tls_map_find(session);
	uint32_t h = slot_of(key);

	for (uint32_t i = 0; e == NULL && i < TLS_MAP_PROBE; i++) {
		struct tls_map_ent *c = &map[(h + i) & (TLS_MAP_SIZE - 1)];
		uintptr_t expect = 0;
		if (atomic_load_explicit(&c->key, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong_explicit(&c->key, &expect, key,
							    memory_order_acq_rel,
							    memory_order_relaxed))
			e = c;
	}
	if (e == NULL)
		return NULL; /* window full: found again from the call next time */
	atomic_store_explicit(&e->fd, fd, memory_order_relaxed);
	atomic_store_explicit(&e->entry, entry, memory_order_relaxed);
	return e;
}

void tls_map_drop(struct tls_map_ent *ent, const void *session)
{
	uintptr_t key = (uintptr_t)session;
	atomic_compare_exchange_strong_explicit(&ent->key, &key, 0, memory_order_release,
						memory_order_relaxed);
}
