/*
 * fdtable_internal.h - what fdtable.c (the fd table, the raw socket path)
 * and fdtable_tls.c (the TLS plaintext entry points) share: the slot pool,
 * the entry encoding, and the slot operations. Nothing here is seen
 * outside the two files (shim_internal.h is the interface).
 *
 * Table entry (64-bit, one atomic word): FDT_UNKNOWN (classify on next
 * use), FDT_PASS (not ours: the call costs this one load), or a slot code
 * with the slot's generation in the high half. Swapping the whole word is
 * how ownership of a slot moves: whoever exchanges an entry away from a
 * slot code (close, dup2, a desync) is responsible for finishing that slot.
 */
#ifndef TOKENRING_FDTABLE_INTERNAL_H
#define TOKENRING_FDTABLE_INTERNAL_H

#include "shim_internal.h"

/* The slot pool, mmap'ed once by fdt_init. */
extern struct fd_slot *fdt_slots;
/* Per slot: the counters of an opaque connection (fdtable_opaque.c). */
extern struct fdt_opaque *fdt_opaques;

static inline uint32_t fdt_entry_code(uint64_t e) { return (uint32_t)e; }
static inline uint32_t fdt_entry_gen(uint64_t e) { return (uint32_t)(e >> 32); }
static inline uint64_t fdt_slot_entry(uint32_t idx, uint32_t gen)
{
	return ((uint64_t)gen << 32) | (FDT_SLOT0 + idx);
}

/* The shim is initialised and active (runs the lazy init if nobody has). */
bool fdt_active(void);

/* 1 + the highest fd given an entry grows to cover fd (close_range scans
 * only up to it). */
void fdt_hwm_raise(int fd);

/* Is fd a TCP socket over IPv4/IPv6? Fills local (and peer if asked and
 * connected). */
bool fdt_probe_tcp(int fd, struct rec_addr *local, struct rec_addr *peer, bool want_peer);

/* A fresh slot, set up for a connection on fd (-1: a TLS session with no
 * socket) with role, addresses (NULL: unknown) and flags (0 or SLOT_F_TLS),
 * returned try-locked (BUSY) with its table entry in *entry. NULL when the
 * pool is exhausted. The one place a slot is set up. */
struct fd_slot *fdt_slot_new(int fd, enum conn_role role, const struct rec_addr *local,
			     const struct rec_addr *peer, uint64_t flags, uint64_t *entry);

/* Return a slot to the pool (caller holds BUSY, or owns it outright: it
 * was never reachable from the table). */
void fdt_slot_free(struct fd_slot *s);

/* Try-lock the slot an entry names. NULL: gone (closed, reused) or busy
 * (then marked DESYNC for its holder to act on). */
struct fd_slot *fdt_slot_acquire(uint64_t e);

/* Unlock; finishes the slot if a FINISH flag was raised meanwhile. */
void fdt_slot_release(struct fd_slot *s);

/* Take over a slot whose entry we swapped away: finish it now, or leave a
 * CLOSE mark for the thread feeding it. */
void fdt_slot_close_entry(uint64_t e);

/* OR flag into the state of the slot e names, if it still holds e's
 * connection. */
void fdt_slot_mark(uint64_t e, uint64_t flag);

/* Does entry e name a live TLS slot (plaintext fed by the TLS hooks)? */
bool fdt_tls_entry(uint64_t e);

/* An opaque connection: its first bytes start a TLS handshake record (hs:
 * its message type), the slot is held (BUSY). */
void fdt_opaque_start(struct fd_slot *s, enum conn_dir dir, const struct iovec *iov,
		      size_t total, int hs);
/* A ClientHello that comes after its connection was made opaque. */
void fdt_opaque_late_hello(struct fdt_opaque *o, const struct iovec *iov, size_t total);

#endif
