/*
 * fdtable_tls.c - the fd table's TLS plaintext entry points, called by
 * hooks_tls.c (the slot pool and its operations: fdtable_internal.h).
 *
 * A TLS connection's socket is classified PASS by its first (ciphertext)
 * byte. The first plaintext a TLS hook sees on it installs a fresh slot
 * with SLOT_F_TLS in place of that PASS: from then on fdt_feed skips the
 * raw ciphertext and only the plaintext below is parsed, so nothing is
 * counted twice. close/dup2/close_range finish a TLS slot like any other.
 */
#include <errno.h>

#include "fdtable_internal.h"

bool fdt_tls_entry(uint64_t e)
{
	if (fdt_entry_code(e) < FDT_SLOT0)
		return false;
	uint64_t v = atomic_load_explicit(&fdt_slots[fdt_entry_code(e) - FDT_SLOT0].state,
					  memory_order_relaxed);
	return (uint32_t)(v >> 32) == fdt_entry_gen(e) && (v & SLOT_F_TLS);
}

bool fdt_ciphertext_seen(int fd)
{
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	if (t == NULL || (unsigned)fd >= FDT_MAX_FDS)
		return false;
	uint64_t e = atomic_load_explicit(&t[fd], memory_order_relaxed);
	if (e == FDT_PASS)
		return true;
	if (fdt_entry_code(e) < FDT_SLOT0)
		return false;
	uint64_t v = atomic_load_explicit(&fdt_slots[fdt_entry_code(e) - FDT_SLOT0].state,
					  memory_order_relaxed);
	return (uint32_t)(v >> 32) == fdt_entry_gen(e) && (v & SLOT_F_OPAQUE);
}

/* Replace old (PASS or an opaque slot from the ciphertext, or a stale one) with a TLS
 * slot. Returns the entry now on fd, or 0 when fd is not tracked. */
static uint64_t tls_install(_Atomic uint64_t *t, int fd, uint64_t old)
{
	struct rec_addr local, peer;
	struct fd_slot *s;
	uint64_t e;

	if (!fdt_probe_tcp(fd, &local, &peer, true)) {
		/* Not TCP (a unix socket, a pipe): never probe this fd again. */
		fdt_hwm_raise(fd);
		if (atomic_compare_exchange_strong_explicit(&t[fd], &old, FDT_PASS_TLS,
							    memory_order_acq_rel,
							    memory_order_acquire) &&
		    fdt_entry_code(old) >= FDT_SLOT0)
			fdt_slot_close_entry(old);
		return 0;
	}
	s = fdt_slot_new(fd, CONN_ROLE_AUTO, &local, &peer, SLOT_F_TLS, &e);
	if (s == NULL)
		return 0; /* pool full: tried again at the next call */
	fdt_slot_release(s);
	fdt_hwm_raise(fd);
	if (atomic_compare_exchange_strong_explicit(&t[fd], &old, e, memory_order_acq_rel,
						    memory_order_acquire)) {
		if (fdt_entry_code(old) >= FDT_SLOT0) {
			/* an opaque slot (its ClientHello) turns out readable:
			 * nothing to report about it */
			fdt_slot_mark(old, SLOT_F_NOREPORT);
			fdt_slot_close_entry(old);
		}
		return e;
	}
	/* Another thread changed the entry first: ours was never reachable. */
	fdt_slot_free(s);
	return fdt_tls_entry(old) ? old : 0;
}

/* Parse plaintext on a TLS slot we hold. */
static void tls_feed_slot(struct fd_slot *s, enum conn_dir dir, const void *buf, size_t len)
{
	/* the clock is read only if the call needs it (shim_feed_clock) */
	struct shim_emit_ctx ctx = {.slot = s, .extra_flags = REC_F_TLS, .now = CONN_NOW_LAZY};
	if (SHIM_UNLIKELY(atomic_load_explicit(&s->state, memory_order_relaxed) &
			  SLOT_F_INHERITED)) /* a fork child now uses the connection */
		atomic_fetch_and_explicit(&s->state, ~(uint64_t)SLOT_F_INHERITED,
					  memory_order_relaxed);
	conn_feed(s->conn, shim_current_config(), dir, buf, len, CONN_NOW_LAZY, shim_emit, &ctx);
}

uint64_t fdt_tls_feed(int fd, enum conn_dir dir, const void *buf, size_t len)
{
	int saved_errno = errno;
	_Atomic uint64_t *t;
	struct fd_slot *s;
	uint64_t e = 0;

	if (!fdt_active() || (unsigned)fd >= FDT_MAX_FDS || len == 0)
		goto out;
	t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	e = atomic_load_explicit(&t[fd], memory_order_acquire);
	if (e == FDT_PASS_TLS) {
		e = 0;
		goto out;
	}
	if (!fdt_tls_entry(e) && (e = tls_install(t, fd, e)) == 0)
		goto out;
	s = fdt_slot_acquire(e);
	if (s == NULL) {
		e = 0;
		goto out;
	}
	tls_feed_slot(s, dir, buf, len);
	if (!conn_tracking(s->conn)) {
		SHIM_DEBUG("fd %d: TLS plaintext is not HTTP/1.x, passing through", fd);
		atomic_fetch_or_explicit(&s->state, SLOT_F_GIVEUP, memory_order_relaxed);
	}
	fdt_slot_release(s);
out:
	errno = saved_errno;
	return e;
}

/* The TLS session on slot e ended: finish its exchanges (on EOF only as
 * a client: a server may still answer a half-closed request). */
static void tls_end_slot(uint64_t e, bool eof)
{
	struct fd_slot *s = fdt_slot_acquire(e);
	if (s == NULL)
		return;
	if (!eof || conn_role_of(s->conn) == CONN_ROLE_CLIENT) {
		struct shim_emit_ctx ctx = {.slot = s, .extra_flags = REC_F_TLS};
		conn_close(s->conn, shim_current_config(), shim_now_ns(), shim_emit, &ctx);
	}
	fdt_slot_release(s);
}

void fdt_tls_end(int fd, uint64_t entry, bool eof)
{
	int saved_errno = errno;
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);

	if (t != NULL && (unsigned)fd < FDT_MAX_FDS && fdt_entry_code(entry) >= FDT_SLOT0 &&
	    atomic_load_explicit(&t[fd], memory_order_acquire) == entry)
		tls_end_slot(entry, eof);
	errno = saved_errno;
}

uint64_t fdt_tls_detached_feed(uint64_t e, enum conn_dir dir, const void *buf, size_t len)
{
	int saved_errno = errno;
	struct fd_slot *s;

	if (e == FDT_PASS_TLS || !fdt_active() || len == 0)
		goto out;
	if (e == 0) {
		/* fd -1: no table entry, so slot_finish never touches the table */
		s = fdt_slot_new(-1, CONN_ROLE_AUTO, NULL, NULL, SLOT_F_TLS, &e);
		if (s == NULL)
			goto out;
	} else if ((s = fdt_slot_acquire(e)) == NULL) {
		/* Lost to contention (its holder finishes it as a desync) or
		 * freed: a new slot mid-stream would misframe, so stop here. */
		e = FDT_PASS_TLS;
		goto out;
	}
	tls_feed_slot(s, dir, buf, len);
	if (!conn_tracking(s->conn)) {
		/* Not HTTP/1.x: free the slot now; the caller keeps PASS_TLS. */
		atomic_fetch_or_explicit(&s->state, SLOT_F_CLOSE, memory_order_relaxed);
		e = FDT_PASS_TLS;
	}
	fdt_slot_release(s);
out:
	errno = saved_errno;
	return e;
}

void fdt_tls_detached_end(uint64_t e, bool eof, bool free_slot)
{
	int saved_errno = errno;

	if (fdt_entry_code(e) < FDT_SLOT0 || e == FDT_PASS_TLS)
		goto out;
	if (free_slot)
		fdt_slot_close_entry(e); /* finishes it now, or marks it for its holder */
	else
		tls_end_slot(e, eof);
out:
	errno = saved_errno;
}
