/*
 * tls.h - what the TLS interposition files share (all hidden: the library
 * exports only the hooks themselves, see libtokenring.map).
 *
 *   tls_real.c   the real OpenSSL / GnuTLS functions, resolved lazily the
 *                first time each calling object runs a hook, in that
 *                object's own scope (a process may hold two copies of a
 *                library). Neither library is linked.
 *   tls_map.c    session (SSL *, gnutls_session_t) -> socket fd, a fixed
 *                lock-free table: no allocation, no lock on the call path
 *   hooks_tls.c  SSL_read/_ex, SSL_write/_ex, SSL_peek/_ex, SSL_shutdown,
 *                SSL_free, gnutls_record_send/recv, gnutls_bye,
 *                gnutls_deinit: feed what each call returned, as plaintext,
 *                to the fd's tracker (fdt_tls_feed)
 */
#ifndef TOKENRING_TLS_H
#define TOKENRING_TLS_H

#include <stdatomic.h>
#include <stdint.h>

enum tls_real_id {
	/* OpenSSL 1.1 / 3 (libssl) */
	TLS_SSL_READ,
	TLS_SSL_READ_EX,
	TLS_SSL_PEEK,
	TLS_SSL_PEEK_EX,
	TLS_SSL_WRITE,
	TLS_SSL_WRITE_EX,
	TLS_SSL_SHUTDOWN,
	TLS_SSL_FREE,
	TLS_SSL_GET_FD,
	/* GnuTLS 3 (libgnutls) */
	TLS_GNUTLS_RECORD_RECV,
	TLS_GNUTLS_RECORD_SEND,
	TLS_GNUTLS_BYE,
	TLS_GNUTLS_DEINIT,
	TLS_GNUTLS_TRANSPORT_GET_INT,
	TLS_REAL_COUNT
};

/* Calling objects remembered per hook (their code's address range). */
#define TLS_REAL_CALLERS 4

/* The real function for id as the code at `caller` (a return address in
 * the object that called the hook) would have bound it without the shim;
 * NULL if no loaded library defines it. Slow (dl_iterate_phdr, dlopen
 * RTLD_NOLOAD, dlsym): the first call from each calling object. */
void *tls_real_resolve(enum tls_real_id id, const void *caller);

/* The cached answer for caller, or NULL. A few loads and compares. */
void *tls_real_cached(enum tls_real_id id, const void *caller);

static inline void *tls_real(enum tls_real_id id, const void *caller)
{
	void *p = tls_real_cached(id, caller);
	return __builtin_expect(p != NULL, 1) ? p : tls_real_resolve(id, caller);
}

/* ---- session -> fd (tls_map.c) ----
 * One entry per live session seen moving plaintext. A session is used by
 * one thread at a time (both libraries require it), so only the thread
 * that claimed an entry writes its fields; claiming and releasing the key
 * are CASes. A full probe window just means "not cached": the hooks then
 * find the fd again on each call. */

struct tls_map_ent {
	_Atomic uintptr_t key; /* the session pointer; 0 = free */
	_Atomic int fd;
	_Atomic uint64_t entry; /* fd table entry last fed (fdt_tls_feed) */
};

/* The entry for session, or NULL. */
struct tls_map_ent *tls_map_find(const void *session);

/* Record session -> (fd, entry), claiming an entry if it has none.
 * Returns it, or NULL when the session's probe window is full. */
struct tls_map_ent *tls_map_put(const void *session, int fd, uint64_t entry);

/* Forget session (freed: its pointer may be reused by the next one). */
void tls_map_drop(struct tls_map_ent *ent, const void *session);

#endif
