/*
 * fdtable.c - per-fd state: a flat table indexed by fd, and a pool of
 * connection fdt_slots (the conn trackers), both mmap'ed once at init so the
 * per-call path never allocates. Untouched pages cost no memory: RSS grows
 * only with the fds and connections actually used.
 *
 * The table entry's encoding is in fdtable_internal.h; the TLS plaintext
 * entry points (hooks_tls.c's side) are in fdtable_tls.c; the counters of
 * connections counted, not parsed (a TLS handshake on the raw calls), in
 * fdtable_opaque.c.
 *
 * Slot state (64-bit): generation (high) | SLOT_F_* (low). The BUSY bit is
 * the per-connection try-lock: a thread that finds it set re-checks it
 * SLOT_SPIN times, then marks the connection DESYNC instead of waiting
 * (the bytes it carried are lost to the parser, so the framing of this
 * connection can no longer be trusted). The holder sees DESYNC, CLOSE or
 * GIVEUP when it releases and finishes the slot: in-flight exchanges are
 * emitted (PARSE_ERROR for a desync; nothing for a fork child's inherited
 * connection) and the slot goes back to the pool.
 * The generation check after every CAS stops a stale reader from touching
 * a slot that was freed and reused for another connection.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fdtable_internal.h"
#include "record_event.h"
#include "tls_hello.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* Busy slot: re-check this many times (a pause each, well under a
 * microsecond in all) before declaring the connection desynchronised.
 * Enough for a feed of a few bytes in the other thread to finish; never a
 * wait on a thread that may be descheduled (or on the code a signal
 * handler interrupted, which can never finish while we spin). */
#define SLOT_SPIN 16

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

_Atomic(_Atomic uint64_t *) fdt_table;
struct fd_slot *fdt_slots;
static struct conn *conns;
static _Atomic uint32_t fd_hwm; /* 1 + highest fd ever given an entry */
__thread int fdt_tls_seen __attribute__((tls_model("initial-exec")));

struct fdt_opaque *fdt_opaques;

/*
 * Bytes on a socket whose slot is not parsed from the raw calls: a TLS
 * slot (its plaintext comes from the TLS hooks: skip the ciphertext) or an
 * opaque one (count them). Checked without the slot's try-lock, so a
 * thread reading the socket never contends with one feeding the session's
 * plaintext, and an opaque connection costs two loads and an add per call.
 * true: handled. An add racing the connection's end may be lost; never a
 * crash or a wrong connection's parse.
 */
static inline bool raw_fast(int fd, enum conn_dir dir, const struct iovec *iov, size_t total)
{
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	if (t == NULL || (unsigned)fd >= FDT_MAX_FDS)
		return false;
	uint64_t e = atomic_load_explicit(&t[fd], memory_order_relaxed);
	if (fdt_entry_code(e) < FDT_SLOT0)
		return false;
	uint32_t i = fdt_entry_code(e) - FDT_SLOT0;
	uint64_t v = atomic_load_explicit(&fdt_slots[i].state, memory_order_relaxed);
	if ((uint32_t)(v >> 32) != fdt_entry_gen(e))
		return false;
	if (v & SLOT_F_TLS)
		return true;
	if (!(v & SLOT_F_OPAQUE))
		return false;
	if (SHIM_UNLIKELY(v & SLOT_F_INHERITED)) /* a fork child now uses it */
		atomic_fetch_and_explicit(&fdt_slots[i].state, ~(uint64_t)SLOT_F_INHERITED,
					  memory_order_relaxed);
	struct fdt_opaque *o = &fdt_opaques[i];
	atomic_fetch_add_explicit(dir == CONN_DIR_OUT ? &o->sent : &o->received, total,
				  memory_order_relaxed);
	if (SHIM_UNLIKELY(atomic_load_explicit(&o->sni_pending, memory_order_relaxed)))
		fdt_opaque_late_hello(o, iov, total);
	return true;
}

/* Flags every record of a slot carries whoever finishes it. */
static inline uint32_t slot_rec_flags(uint64_t v) { return (v & SLOT_F_TLS) ? REC_F_TLS : 0; }

_Static_assert(sizeof(struct fd_slot) == 64, "one cache line per slot");

static void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int fdt_init(void)
{
	_Atomic uint64_t *t = map_anon(sizeof(*t) * FDT_MAX_FDS);
	fdt_slots = map_anon(sizeof(*fdt_slots) * FDT_SLOTS);
	conns = map_anon(sizeof(*conns) * FDT_SLOTS);
	fdt_opaques = map_anon(sizeof(*fdt_opaques) * FDT_SLOTS);
	if (t == NULL || fdt_slots == NULL || conns == NULL || fdt_opaques == NULL)
		return -ENOMEM; /* the few mappings made stay: init runs once */
	for (unsigned i = 0; i < FDT_SLOTS; i++)
		fdt_slots[i].conn = &conns[i];
	/* release: pairs with the acquire in fdt_maybe_tracked / fdt_feed */
	atomic_store_explicit(&fdt_table, t, memory_order_release);
	return 0;
}

void fdt_hwm_raise(int fd)
{
	uint32_t want = (uint32_t)fd + 1;
	uint32_t cur = atomic_load_explicit(&fd_hwm, memory_order_relaxed);
	while (cur < want && !atomic_compare_exchange_weak_explicit(
				     &fd_hwm, &cur, want, memory_order_relaxed,
				     memory_order_relaxed))
		;
}

void shim_addr_from_sockaddr(struct rec_addr *out, const struct sockaddr *sa, socklen_t len)
{
	memset(out, 0, sizeof *out);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->family = 4;
		out->port = ntohs(in->sin_port);
		memcpy(out->addr, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 &&
		   len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		out->port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out->family = 4; /* ::ffff:a.b.c.d is an IPv4 peer */
			memcpy(out->addr, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			out->family = 6;
			memcpy(out->addr, &in6->sin6_addr, 16);
		}
	}
}

/* Take a free slot; returned with USED|BUSY held and its generation. */
static struct fd_slot *slot_alloc(uint32_t *idx_out, uint32_t *gen_out)
{
	/* Lowest free slot first: keeps the touched (resident) part small. */
	for (uint32_t i = 0; i < FDT_SLOTS; i++) {
		uint64_t v = atomic_load_explicit(&fdt_slots[i].state, memory_order_relaxed);
		if (v & SLOT_F_USED)
			continue;
		uint32_t gen = (uint32_t)(v >> 32) + 1;
		uint64_t want = ((uint64_t)gen << 32) | SLOT_F_USED | SLOT_F_BUSY;
		if (atomic_compare_exchange_strong_explicit(&fdt_slots[i].state, &v, want,
							    memory_order_acquire,
							    memory_order_relaxed)) {
			*idx_out = i;
			*gen_out = gen;
			return &fdt_slots[i];
		}
	}
	return NULL;
}

struct fd_slot *fdt_slot_new(int fd, enum conn_role role, const struct rec_addr *local,
			     const struct rec_addr *peer, uint64_t flags, uint64_t *entry)
{
	uint32_t idx, gen;
	struct fd_slot *s = slot_alloc(&idx, &gen);

	if (s == NULL)
		return NULL;
	shim_ring_poll();
	s->fd = fd;
	/* TLS plaintext needs no first-byte check: conn_tracking() decides. */
	s->seen_first = (flags & SLOT_F_TLS) != 0;
	if (local != NULL)
		s->local = *local;
	else
		memset(&s->local, 0, sizeof s->local);
	if (peer != NULL)
		s->peer = *peer;
	else
		memset(&s->peer, 0, sizeof s->peer);
	conn_init(s->conn, role);
	if (flags != 0)
		atomic_fetch_or_explicit(&s->state, flags, memory_order_relaxed);
	*entry = fdt_slot_entry(idx, gen);
	return s;
}

void fdt_slot_free(struct fd_slot *s)
{
	uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
	/* release: the next owner's acquire CAS in slot_alloc sees our writes
	 * to the conn finished. */
	atomic_store_explicit(&s->state, v & 0xffffffff00000000ull, memory_order_release);
}

/* Finish a slot its holder is giving up: emit what is in flight, point the
 * fd (if it still names this slot) at PASS when parsing stopped, free. */
static void slot_finish(struct fd_slot *s, uint64_t v)
{
	struct shim_emit_ctx ctx = {
		.slot = s,
		.extra_flags = ((v & SLOT_F_DESYNC) ? REC_F_PARSE_ERROR : 0) | slot_rec_flags(v),
	};
	if (v & SLOT_F_INHERITED) /* the parent's exchanges: not ours to report */
		conn_init(s->conn, CONN_ROLE_AUTO);
	else if (v & SLOT_F_OPAQUE) {
		if (!(v & SLOT_F_NOREPORT))
			shim_cover_opaque(s, &fdt_opaques[s - fdt_slots]);
	} else
		conn_close(s->conn, shim_current_config(), shim_now_ns(), shim_emit, &ctx);
	if (!(v & SLOT_F_CLOSE) || (v & SLOT_F_DESYNC)) {
		/* Parsing stopped but the fd lives on: pass it through from now on. */
		_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_relaxed);
		uint64_t mine = fdt_slot_entry((uint32_t)(s - fdt_slots), (uint32_t)(v >> 32));
		if ((unsigned)s->fd < FDT_MAX_FDS)
			atomic_compare_exchange_strong_explicit(
				&t[s->fd], &mine, (v & SLOT_F_TLS) ? FDT_PASS_TLS : FDT_PASS,
				memory_order_acq_rel, memory_order_relaxed);
	}
	fdt_slot_free(s);
}

struct fd_slot *fdt_slot_acquire(uint64_t e)
{
	struct fd_slot *s = &fdt_slots[fdt_entry_code(e) - FDT_SLOT0];
	uint32_t gen = fdt_entry_gen(e);
	uint64_t v = atomic_load_explicit(&s->state, memory_order_acquire);
	int spins = 0;

	for (;;) {
		if ((uint32_t)(v >> 32) != gen || !(v & SLOT_F_USED) || (v & SLOT_F_FINISH))
			return NULL;
		if (v & SLOT_F_BUSY) {
			if (spins++ < SLOT_SPIN) {
				cpu_relax();
				v = atomic_load_explicit(&s->state, memory_order_acquire);
				continue;
			}
			if (atomic_compare_exchange_weak_explicit(&s->state, &v,
								  v | SLOT_F_DESYNC,
								  memory_order_acquire,
								  memory_order_acquire))
				return NULL;
			continue;
		}
		/* acquire: pairs with the release in slot_release / slot_free, so
		 * the previous holder's conn writes are visible. */
		if (atomic_compare_exchange_weak_explicit(&s->state, &v, v | SLOT_F_BUSY,
							  memory_order_acquire,
							  memory_order_acquire))
			return s;
	}
}

void fdt_slot_release(struct fd_slot *s)
{
	uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
	for (;;) {
		if (v & SLOT_F_FINISH) {
			slot_finish(s, v);
			return;
		}
		/* release: pairs with the acquire CAS of the next holder. */
		if (atomic_compare_exchange_weak_explicit(&s->state, &v, v & ~(uint64_t)SLOT_F_BUSY,
							  memory_order_release,
							  memory_order_relaxed))
			return;
	}
}

void fdt_slot_close_entry(uint64_t e)
{
	struct fd_slot *s = &fdt_slots[fdt_entry_code(e) - FDT_SLOT0];
	uint32_t gen = fdt_entry_gen(e);
	uint64_t v = atomic_load_explicit(&s->state, memory_order_acquire);

	for (;;) {
		if ((uint32_t)(v >> 32) != gen || !(v & SLOT_F_USED) || (v & SLOT_F_CLOSE))
			return;
		if (v & SLOT_F_BUSY) {
			if (atomic_compare_exchange_weak_explicit(&s->state, &v, v | SLOT_F_CLOSE,
								  memory_order_acq_rel,
								  memory_order_acquire))
				return; /* the holder finishes it in slot_release */
			continue;
		}
		if (atomic_compare_exchange_weak_explicit(
			    &s->state, &v, v | SLOT_F_BUSY | SLOT_F_CLOSE,
			    memory_order_acquire, memory_order_acquire)) {
			slot_finish(s, v | SLOT_F_CLOSE);
			return;
		}
	}
}

void fdt_slot_mark(uint64_t e, uint64_t flag)
{
	struct fd_slot *s = &fdt_slots[fdt_entry_code(e) - FDT_SLOT0];
	uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
	while ((uint32_t)(v >> 32) == fdt_entry_gen(e) && (v & SLOT_F_USED) &&
	       !atomic_compare_exchange_weak_explicit(&s->state, &v, v | flag,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

/* Does entry e name a live slot for this very connection (same addresses
 * both ends)? Another thread may use a socket between the real
 * connect/accept and its hook (a non-blocking connect: the event loop
 * writes as soon as it is writable) and so classify it lazily first: that
 * slot holds the connection's first bytes and must stay. */
static bool same_connection(uint64_t e, const struct rec_addr *local, const struct rec_addr *peer)
{
	if (fdt_entry_code(e) < FDT_SLOT0)
		return false;
	struct fd_slot *s = &fdt_slots[fdt_entry_code(e) - FDT_SLOT0];
	/* acquire: pairs with the release that published the slot's setup */
	uint64_t v = atomic_load_explicit(&s->state, memory_order_acquire);
	bool same = (uint32_t)(v >> 32) == fdt_entry_gen(e) && (v & SLOT_F_USED) &&
		    !(v & SLOT_F_FINISH) && memcmp(&s->local, local, sizeof *local) == 0 &&
		    memcmp(&s->peer, peer, sizeof *peer) == 0;
	/* the addresses were read from the slot this generation names */
	return same && atomic_load_explicit(&s->state, memory_order_acquire) >> 32 == v >> 32;
}

/* Set up a fresh slot for fd and install it. exchange (connect, accept):
 * in place of whatever the entry holds (a stale one is finished), unless
 * it already names this very connection; else only over `expect` (lazy
 * classification: if another thread classified it first, theirs stands).
 * Returns the entry now on fd; FDT_PASS (counted as untracked) if the pool
 * is exhausted. */
static uint64_t slot_install(int fd, enum conn_role role, const struct rec_addr *local,
			     const struct rec_addr *peer, uint64_t expect, bool exchange)
{
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	uint64_t e = FDT_PASS, old;
	struct fd_slot *s = fdt_slot_new(fd, role, local, peer, 0, &e);

	if (s != NULL)
		fdt_slot_release(s);
	fdt_hwm_raise(fd);
	old = exchange ? atomic_load_explicit(&t[fd], memory_order_acquire) : expect;
	for (;;) {
		if (exchange && same_connection(old, local, peer))
			break;
		if (atomic_compare_exchange_weak_explicit(&t[fd], &old, e, memory_order_acq_rel,
							  memory_order_acquire)) {
			if (exchange && fdt_entry_code(old) >= FDT_SLOT0)
				fdt_slot_close_entry(old);
			if (s == NULL) {
				SHIM_DEBUG("fd %d: connection pool full, not tracked", fd);
				shim_cover_untracked(REC_REASON_SLOTS_FULL);
			}
			return e;
		}
		if (!exchange && old != expect)
			break;
	}
	/* The connection is already classified (by another thread): theirs
	 * stands. Our slot was never reachable from the table, so it is ours
	 * alone to free. */
	if (s != NULL)
		fdt_slot_free(s);
	return old;
}

bool fdt_probe_tcp(int fd, struct rec_addr *local, struct rec_addr *peer, bool want_peer)
{
	int proto = 0;
	socklen_t len = sizeof proto;
	struct sockaddr_storage ss;

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_MPTCP))
		return false;
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return false;
	shim_addr_from_sockaddr(local, (struct sockaddr *)&ss, len);
	memset(peer, 0, sizeof *peer);
	if (want_peer) {
		len = sizeof ss;
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
			shim_addr_from_sockaddr(peer, (struct sockaddr *)&ss, len);
	}
	return true;
}

/* First use of an fd the shim never saw created: classify it once. */
static uint64_t classify(int fd)
{
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	struct rec_addr local, peer;

	if (!fdt_probe_tcp(fd, &local, &peer, true)) {
		uint64_t expect = FDT_UNKNOWN;
		fdt_hwm_raise(fd);
		if (atomic_compare_exchange_strong_explicit(&t[fd], &expect, FDT_PASS,
							    memory_order_acq_rel,
							    memory_order_acquire))
			return FDT_PASS;
		return expect;
	}
	return slot_install(fd, CONN_ROLE_AUTO, &local, &peer, FDT_UNKNOWN, false);
}

bool fdt_active(void)
{
	int mode = atomic_load_explicit(&shim_mode, memory_order_acquire);
	if (SHIM_UNLIKELY(mode == SHIM_MODE_UNINIT))
		mode = shim_init();
	return mode == SHIM_MODE_ACTIVE;
}

/* The slot for fd, try-locked, classifying the fd first if needed. A raw
 * caller (bytes of the socket itself) never gets a TLS slot: its plaintext
 * comes from the TLS hooks. The check is made on the entry this call then
 * locks, not on an earlier load: a TLS hook may install the slot between
 * the two (the lost-connection race tls_fdtable_stress found). */
static struct fd_slot *lookup_locked(int fd, bool raw)
{
	_Atomic uint64_t *t;
	uint64_t e;

	if (!fdt_active() || (unsigned)fd >= FDT_MAX_FDS)
		return NULL;
	t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	e = atomic_load_explicit(&t[fd], memory_order_acquire);
	if (fdt_entry_code(e) == FDT_UNKNOWN)
		e = classify(fd);
	if (fdt_entry_code(e) < FDT_SLOT0 || (raw && fdt_tls_entry(e)))
		return NULL;
	return fdt_slot_acquire(e);
}

/* HTTP/1.x on the wire starts with a method (A-Z) or "HTTP/" (server
 * speaks first only in error cases): anything else (TLS 0x16, RESP '*',
 * binary protocols, SMTP banners "220") is not ours. */
static inline bool http_first_byte(unsigned char c) { return c >= 'A' && c <= 'Z'; }

/* Slot state bits that send a raw feed down the slow path: anything but a
 * plain HTTP slot nobody holds. */
#define FEED_SLOW_BITS                                                                     \
	(SLOT_F_BUSY | SLOT_F_FINISH | SLOT_F_TLS | SLOT_F_OPAQUE | SLOT_F_INHERITED |       \
	 SLOT_F_NOREPORT)

/* The slot a raw feed goes to, try-locked, or NULL (not tracked, or
 * handled here: TLS ciphertext, an opaque connection's count). The common
 * case, a plain HTTP slot nobody holds, is one entry load, one state load
 * and the CAS that locks it: the CAS is made on the very state word read,
 * so a TLS hook installing its slot meanwhile makes it fail. A slot code
 * in the table means init made the shim active, for good. Everything
 * else takes the path that handles each case (raw_fast, lookup_locked). */
static inline struct fd_slot *feed_acquire(int fd, enum conn_dir dir, const struct iovec *iov,
					   size_t total)
{
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	if (SHIM_LIKELY(t != NULL && (unsigned)fd < FDT_MAX_FDS)) {
		uint64_t e = atomic_load_explicit(&t[fd], memory_order_acquire);
		if (SHIM_LIKELY(fdt_entry_code(e) >= FDT_SLOT0)) {
			struct fd_slot *s = &fdt_slots[fdt_entry_code(e) - FDT_SLOT0];
			uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
			/* acquire: pairs with the release in slot_release / slot_free */
			if (SHIM_LIKELY((uint32_t)(v >> 32) == fdt_entry_gen(e) &&
					(v & (SLOT_F_USED | FEED_SLOW_BITS)) == SLOT_F_USED) &&
			    atomic_compare_exchange_strong_explicit(&s->state, &v, v | SLOT_F_BUSY,
								    memory_order_acquire,
								    memory_order_relaxed))
				return s;
		}
	}
	if (raw_fast(fd, dir, iov, total))
		return NULL;
	struct fd_slot *s = lookup_locked(fd, true);
	if (s != NULL &&
	    SHIM_UNLIKELY(atomic_load_explicit(&s->state, memory_order_relaxed) &
			  SLOT_F_INHERITED)) /* a fork child now uses the connection */
		atomic_fetch_and_explicit(&s->state, ~(uint64_t)SLOT_F_INHERITED,
					  memory_order_relaxed);
	return s;
}

/* Unlock after a feed: the CAS alone when nothing was raised meanwhile. */
static inline void feed_release(struct fd_slot *s)
{
	uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
	/* release: pairs with the acquire CAS of the next holder. */
	if (SHIM_UNLIKELY(v & SLOT_F_FINISH) ||
	    !atomic_compare_exchange_strong_explicit(&s->state, &v, v & ~(uint64_t)SLOT_F_BUSY,
						     memory_order_release, memory_order_relaxed))
		fdt_slot_release(s);
}

/* The first bytes of a connection: a TLS hello makes it opaque, anything
 * but A-Z makes it not ours (GIVEUP: slot_release finishes the slot,
 * nothing having been fed, and points the fd at PASS). true: feed them. */
static bool first_bytes(struct fd_slot *s, int fd, enum conn_dir dir, const struct iovec *iov,
			size_t iovcnt, size_t total)
{
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		s->seen_first = 1;
		int hs = tls_handshake_type(iov[i].iov_base, iov[i].iov_len);
		/* a hello either way (or too short to tell): anything else only
		 * looks like TLS and passes through */
		if (SHIM_UNLIKELY(hs == 0 || hs == TLS_HS_CLIENT_HELLO ||
				  hs == TLS_HS_SERVER_HELLO)) {
			fdt_opaque_start(s, dir, &iov[i], total, hs);
			return false;
		}
		if (!http_first_byte(*(const unsigned char *)iov[i].iov_base)) {
			SHIM_DEBUG("fd %d: not HTTP/1.x, passing through", fd);
			atomic_fetch_or_explicit(&s->state, SLOT_F_GIVEUP, memory_order_relaxed);
			return false;
		}
		return true;
	}
	return true;
}

void fdt_feed(int fd, enum conn_dir dir, const struct iovec *iov, size_t iovcnt,
	      size_t total)
{
	int saved_errno = errno;
	/* Ciphertext of a TLS session (its plaintext comes from the TLS hooks)
	 * and an opaque connection's bytes are handled in feed_acquire. */
	struct fd_slot *s = feed_acquire(fd, dir, iov, total);
	if (s == NULL)
		goto out;
	if (SHIM_UNLIKELY(!s->seen_first) && !first_bytes(s, fd, dir, iov, iovcnt, total)) {
		fdt_slot_release(s);
		goto out;
	}
	const struct conn_config *cfg = shim_current_config();
	/* The clock is read by the tracker when the call needs it (conn.h,
	 * CONN_NOW_LAZY), into ctx.now (shim_feed_clock): once per call. */
	struct shim_emit_ctx ctx = {.slot = s, .extra_flags = 0, .now = CONN_NOW_LAZY};
	if (SHIM_LIKELY(iovcnt == 1)) { /* every call but a vectored one */
		size_t n = iov->iov_len < total ? iov->iov_len : total;
		if (n > 0)
			conn_feed(s->conn, cfg, dir, iov->iov_base, n, CONN_NOW_LAZY, shim_emit,
				  &ctx);
	} else {
		for (size_t i = 0; i < iovcnt && total > 0; i++) {
			size_t n = iov[i].iov_len < total ? iov[i].iov_len : total;
			if (n == 0)
				continue;
			conn_feed(s->conn, cfg, dir, iov[i].iov_base, n, ctx.now, shim_emit, &ctx);
			total -= n;
		}
	}
	/* The parser has given up on this connection (HTTP/2, an upgrade,
	 * TLS) with nothing in flight: from now on one table load. */
	if (SHIM_UNLIKELY(!conn_tracking(s->conn))) {
		SHIM_DEBUG("fd %d: no longer HTTP/1.x, passing through", fd);
		atomic_fetch_or_explicit(&s->state, SLOT_F_GIVEUP, memory_order_relaxed);
	}
	feed_release(s);
out:
	errno = saved_errno;
}

void fdt_lose(int fd, bool raw)
{
	int saved_errno = errno;
	struct fd_slot *s = lookup_locked(fd, raw);
	if (s != NULL) {
		atomic_fetch_or_explicit(&s->state, SLOT_F_DESYNC, memory_order_relaxed);
		fdt_slot_release(s);
	}
	errno = saved_errno;
}

void fdt_peer_closed(int fd, bool eof)
{
	int saved_errno = errno;
	struct fd_slot *s = lookup_locked(fd, false);
	if (s != NULL) {
		uint64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
		/* An opaque connection ends here for its client (some runtimes,
		 * libuv's, close with a raw system call no hook sees): reported
		 * now, the fd passed through from then on. A server waits for
		 * close(), as below. */
		if (SHIM_UNLIKELY(st & SLOT_F_OPAQUE)) {
			if (!eof || fdt_opaques[s - fdt_slots].reporter == REC_REPORTER_SOURCE)
				atomic_fetch_or_explicit(&s->state, SLOT_F_GIVEUP,
							 memory_order_relaxed);
			fdt_slot_release(s);
			goto out;
		}
		/* EOF ends a close-delimited response for a client; a server
		 * seeing EOF may be reading a half-closed request and still
		 * answer, so it waits for close(). A reset ends both. */
		if (!eof || conn_role_of(s->conn) == CONN_ROLE_CLIENT) {
			uint64_t v = atomic_load_explicit(&s->state, memory_order_relaxed);
			struct shim_emit_ctx ctx = {.slot = s, .extra_flags = slot_rec_flags(v)};
			conn_close(s->conn, shim_current_config(), shim_now_ns(), shim_emit,
				   &ctx);
		}
		fdt_slot_release(s);
	}
out:
	errno = saved_errno;
}


void fdt_track(int fd, const struct sockaddr *peer_sa, socklen_t peerlen, enum conn_role role)
{
	int saved_errno = errno;
	struct rec_addr local, peer;

	if (!fdt_active())
		goto out;
	if (SHIM_UNLIKELY((unsigned)fd >= FDT_MAX_FDS)) {
		/* beyond the table: a TCP connection passes through, counted */
		if (fd >= 0 && fdt_probe_tcp(fd, &local, &peer, false))
			shim_cover_untracked(REC_REASON_FD_RANGE);
		goto out;
	}
	if (!fdt_probe_tcp(fd, &local, &peer, peer_sa == NULL)) {
		_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
		uint64_t old = atomic_exchange_explicit(&t[fd], FDT_PASS, memory_order_acq_rel);
		fdt_hwm_raise(fd);
		if (fdt_entry_code(old) >= FDT_SLOT0)
			fdt_slot_close_entry(old);
		goto out;
	}
	if (peer_sa != NULL)
		shim_addr_from_sockaddr(&peer, peer_sa, peerlen);
	slot_install(fd, role, &local, &peer, 0, true);
out:
	errno = saved_errno;
}

/* In a vfork child (shared memory, separate fd table) closing an fd must
 * not touch the parent's state. The pid tells: it differs from ours. */
static bool in_foreign_child(void)
{
	return (uint32_t)syscall(SYS_getpid) !=
	       atomic_load_explicit(&shim_pid, memory_order_relaxed);
}

static void reset_one(_Atomic uint64_t *t, int fd, int *foreign)
{
	uint64_t e = atomic_load_explicit(&t[fd], memory_order_relaxed);
	if (e == FDT_UNKNOWN)
		return;
	if (fdt_entry_code(e) >= FDT_SLOT0) {
		if (*foreign < 0)
			*foreign = in_foreign_child();
		if (*foreign)
			return;
	}
	/* A PASS mark is dropped even in a vfork child: the cost is one
	 * re-classification in the parent, never wrong data. */
	e = atomic_exchange_explicit(&t[fd], FDT_UNKNOWN, memory_order_acq_rel);
	if (fdt_entry_code(e) >= FDT_SLOT0)
		fdt_slot_close_entry(e);
}

void fdt_reset(int fd)
{
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	int saved_errno = errno, foreign = -1;

	if (t != NULL && (unsigned)fd < FDT_MAX_FDS)
		reset_one(t, fd, &foreign);
	errno = saved_errno;
}

void fdt_reset_range(unsigned first, unsigned last)
{
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	int saved_errno = errno, foreign = -1;
	uint32_t hwm = atomic_load_explicit(&fd_hwm, memory_order_relaxed);

	if (t == NULL)
		return;
	if (last >= hwm)
		last = hwm - 1; /* hwm == 0: last wraps, first > last, no loop */
	for (unsigned fd = first; fd <= last && hwm > 0; fd++)
		reset_one(t, (int)fd, &foreign);
	errno = saved_errno;
}

void fdt_after_fork_child(void)
{
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	if (t == NULL)
		return;
	/* Only this thread survived the fork: a slot another thread was
	 * feeding has a half-updated tracker and no holder. Drop it. Every
	 * other connection is the parent's until this child uses it: a child
	 * that just closes inherited fds (before exec) must not report the
	 * parent's exchanges in flight as cut short. */
	for (unsigned i = 0; i < FDT_SLOTS; i++) {
		uint64_t v = atomic_load_explicit(&fdt_slots[i].state, memory_order_relaxed);
		if ((v & SLOT_F_USED) && !(v & SLOT_F_BUSY))
			atomic_store_explicit(&fdt_slots[i].state, v | SLOT_F_INHERITED,
					      memory_order_relaxed);
		if ((v & SLOT_F_USED) && (v & SLOT_F_BUSY)) {
			uint64_t mine = fdt_slot_entry(i, (uint32_t)(v >> 32));
			if ((unsigned)fdt_slots[i].fd < FDT_MAX_FDS)
				atomic_compare_exchange_strong_explicit(
					&t[fdt_slots[i].fd], &mine, FDT_PASS, memory_order_relaxed,
					memory_order_relaxed);
			fdt_slot_free(&fdt_slots[i]);
		}
	}
}
