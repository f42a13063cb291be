/*
 * hooks_tls.c - the plaintext side of TLS: OpenSSL 1.1 / 3 (SSL_read,
 * SSL_read_ex, SSL_peek, SSL_peek_ex, SSL_write, SSL_write_ex,
 * SSL_shutdown, SSL_free) and GnuTLS (gnutls_record_recv,
 * gnutls_record_send, gnutls_bye, gnutls_deinit).
 *
 * Each makes the real call and returns exactly what it returned; then the
 * bytes the call moved (> 0, or *readbytes / *written for the _ex calls)
 * are fed as plaintext to the tracker of the session's socket, the same
 * HTTP/1.1 framer the raw socket hooks use. A peek consumes nothing and
 * feeds nothing. The socket is found at the session's first plaintext:
 * the one SSL_get_fd names, else the fd the call itself did socket I/O on
 * (fdt_tls_seen: curl's own BIO, GnuTLS push/pull callbacks), else, for
 * GnuTLS, gnutls_transport_get_int if it names a fd whose first bytes were
 * ciphertext; then it is remembered per session (tls_map.c), also for the
 * calls that return bytes decrypted earlier with no socket I/O. The real
 * functions are those the caller would bind to without the shim
 * (tls_real.c). Library types are opaque here: no OpenSSL or GnuTLS
 * header is needed to build.
 *
 * A session with no socket at all (memory BIOs: Python asyncio's
 * SSLObject, so httpx.AsyncClient and aiohttp) is still parsed, on a slot
 * of its own; its records have no addresses. Not seen: TLS libraries
 * linked statically into the program (Go, Node's bundled OpenSSL, rustls,
 * BoringSSL): see docs/tls.md.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "shim_internal.h"
#include "tls.h"

#define EXPORT __attribute__((visibility("default")))

typedef struct ssl_st SSL;                          /* opaque */
typedef struct gnutls_session_int *gnutls_session_t; /* opaque */

typedef int (*ssl_rw_fn)(SSL *, void *, int);
typedef int (*ssl_rw_ex_fn)(SSL *, void *, size_t, size_t *);
typedef int (*ssl_write_fn)(SSL *, const void *, int);
typedef int (*ssl_write_ex_fn)(SSL *, const void *, size_t, size_t *);
typedef int (*ssl_shutdown_fn)(SSL *);
typedef void (*ssl_free_fn)(SSL *);
typedef int (*ssl_get_fd_fn)(const SSL *);
typedef ssize_t (*gnutls_recv_fn)(gnutls_session_t, void *, size_t);
typedef ssize_t (*gnutls_send_fn)(gnutls_session_t, const void *, size_t);
typedef int (*gnutls_bye_fn)(gnutls_session_t, int);
typedef void (*gnutls_deinit_fn)(gnutls_session_t);
typedef int (*gnutls_get_int_fn)(gnutls_session_t);

/* The interposed API, declared here as the libraries declare it. */
int SSL_read(SSL *ssl, void *buf, int num);
int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes);
int SSL_peek(SSL *ssl, void *buf, int num);
int SSL_peek_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes);
int SSL_write(SSL *ssl, const void *buf, int num);
int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written);
int SSL_shutdown(SSL *ssl);
void SSL_free(SSL *ssl);
ssize_t gnutls_record_recv(gnutls_session_t session, void *data, size_t size);
ssize_t gnutls_record_send(gnutls_session_t session, const void *data, size_t size);
int gnutls_bye(gnutls_session_t session, int how);
void gnutls_deinit(gnutls_session_t session);

enum tls_lib { LIB_OPENSSL, LIB_GNUTLS };

/* Watch this thread's socket I/O for the length of one TLS call. Calls
 * nest (a BIO that writes through another session): each level keeps its
 * own answer. */
static inline int watch_begin(void)
{
	int outer = fdt_tls_seen;
	fdt_tls_seen = -1;
	return outer;
}

static inline int watch_end(int outer)
{
	int seen = fdt_tls_seen;
	fdt_tls_seen = outer;
	return seen > 0 ? seen - 1 : -1;
}

/* The session's socket as the library reports it, or -1. */
static int lib_fd(const void *session, enum tls_lib lib, const void *caller)
{
	if (lib == LIB_OPENSSL) {
		ssl_get_fd_fn fn = (ssl_get_fd_fn)tls_real(TLS_SSL_GET_FD, caller);
		return fn ? fn((const SSL *)session) : -1;
	}
	/* Only meaningful after gnutls_transport_set_int; a pointer transport
	 * gives a number that is out of range or not a TCP socket, which
	 * fdt_tls_feed refuses. */
	gnutls_get_int_fn fn = (gnutls_get_int_fn)tls_real(TLS_GNUTLS_TRANSPORT_GET_INT, caller);
	return fn ? fn((gnutls_session_t)session) : -1;
}

/* gnutls_transport_get_int answers a number whatever the transport was
 * set with (a pointer transport gives its low bits): trust it only for a
 * fd whose first bytes were ciphertext. */
static bool gnutls_fd_plausible(int fd) { return fdt_ciphertext_seen(fd); }

/* Which socket a session's first plaintext belongs to, or -1 (none: a
 * memory BIO or transport). seen: the fd the call did socket I/O on. */
static int first_fd(const void *session, enum tls_lib lib, int seen, const void *caller)
{
	int fd = lib == LIB_OPENSSL ? lib_fd(session, lib, caller) : -1;
	if (fd < 0)
		fd = seen;
	if (fd < 0 && lib == LIB_GNUTLS) {
		fd = lib_fd(session, lib, caller);
		if (!gnutls_fd_plausible(fd))
			fd = -1;
	}
	return fd;
}

/* A call on session moved n plaintext bytes (n > 0) in direction dir;
 * seen: the fd its socket I/O used, or -1. */
static void moved(const void *session, enum tls_lib lib, enum conn_dir dir, const void *buf,
		  size_t n, int seen, const void *caller)
{
	int saved_errno = errno;
	struct tls_map_ent *m;
	uint64_t old = 0, e;
	int fd;

	if (atomic_load_explicit(&shim_mode, memory_order_relaxed) == SHIM_MODE_DISABLED)
		return;
	m = tls_map_find(session);
	if (m != NULL) {
		fd = atomic_load_explicit(&m->fd, memory_order_relaxed);
		old = atomic_load_explicit(&m->entry, memory_order_relaxed);
	} else {
		fd = first_fd(session, lib, seen, caller);
	}
	if (fd >= 0) {
		e = fdt_tls_feed(fd, dir, buf, n);
	} else {
		/* A detached slot is reachable only through the map: no entry,
		 * no slot (it could never be freed). */
		if (m == NULL && tls_map_put(session, -1, 0) == NULL)
			goto out;
		e = fdt_tls_detached_feed(old, dir, buf, n);
	}
	/* A socket session is remembered once fed (a wrong guess of its fd
	 * feeds nothing and is not kept); a detached one always is. */
	if (e != old && (fd < 0 || e != 0))
		(void)tls_map_put(session, fd, e);
out:
	errno = saved_errno;
}

/* Bytes went out that we cannot see (GnuTLS resumed a send with a NULL
 * buffer): the stream position is lost, so parsing of it stops. */
static void lost(const void *session)
{
	int saved_errno = errno;
	struct tls_map_ent *m = tls_map_find(session);
	int fd = m ? atomic_load_explicit(&m->fd, memory_order_relaxed) : -1;
	if (fd >= 0)
		fdt_lose(fd, false);
	else if (m != NULL) { /* detached: its exchanges end, cut short */
		fdt_tls_detached_end(atomic_load_explicit(&m->entry, memory_order_relaxed),
				     false, true);
		(void)tls_map_put(session, -1, FDT_PASS_TLS);
	}
	errno = saved_errno;
}

/* The session ended (eof: the peer's close_notify; else shutdown/free). */
static void ended(const void *session, bool eof, bool forget)
{
	int saved_errno = errno;
	struct tls_map_ent *m = tls_map_find(session);

	if (m != NULL) {
		int fd = atomic_load_explicit(&m->fd, memory_order_relaxed);
		uint64_t e = atomic_load_explicit(&m->entry, memory_order_relaxed);
		if (fd >= 0)
			fdt_tls_end(fd, e, eof);
		else
			fdt_tls_detached_end(e, eof, forget);
		if (forget)
			tls_map_drop(m, session);
	}
	errno = saved_errno;
}

/* ---- OpenSSL ---- */

static int ssl_read_common(enum tls_real_id id, SSL *ssl, void *buf, int num,
			   const void *caller)
{
	ssl_rw_fn fn = (ssl_rw_fn)tls_real(id, caller);
	if (SHIM_UNLIKELY(fn == NULL)) {
		errno = ENOSYS;
		return -1;
	}
	int outer = watch_begin();
	int r = fn(ssl, buf, num);
	int seen = watch_end(outer);
	if (id == TLS_SSL_PEEK)
		return r;
	if (r > 0)
		moved(ssl, LIB_OPENSSL, CONN_DIR_IN, buf, (size_t)r, seen, caller);
	else if (r == 0 && num > 0)
		ended(ssl, true, false); /* close_notify (or EOF) */
	return r;
}

EXPORT int SSL_read(SSL *ssl, void *buf, int num)
{
	return ssl_read_common(TLS_SSL_READ, ssl, buf, num, __builtin_return_address(0));
}

EXPORT int SSL_peek(SSL *ssl, void *buf, int num)
{
	return ssl_read_common(TLS_SSL_PEEK, ssl, buf, num, __builtin_return_address(0));
}

static int ssl_read_ex_common(enum tls_real_id id, SSL *ssl, void *buf, size_t num,
			      size_t *readbytes, const void *caller)
{
	ssl_rw_ex_fn fn = (ssl_rw_ex_fn)tls_real(id, caller);
	if (SHIM_UNLIKELY(fn == NULL)) {
		errno = ENOSYS;
		return 0;
	}
	int outer = watch_begin();
	int r = fn(ssl, buf, num, readbytes);
	int seen = watch_end(outer);
	/* 1: *readbytes bytes read; 0: failure (EOF included, told apart only
	 * by SSL_get_error: left to close(), which ends the connection). */
	if (id == TLS_SSL_READ_EX && r == 1 && readbytes != NULL && *readbytes > 0)
		moved(ssl, LIB_OPENSSL, CONN_DIR_IN, buf, *readbytes, seen, caller);
	return r;
}

EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
	return ssl_read_ex_common(TLS_SSL_READ_EX, ssl, buf, num, readbytes,
				  __builtin_return_address(0));
}

EXPORT int SSL_peek_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
	return ssl_read_ex_common(TLS_SSL_PEEK_EX, ssl, buf, num, readbytes,
				  __builtin_return_address(0));
}

EXPORT int SSL_write(SSL *ssl, const void *buf, int num)
{
	const void *caller = __builtin_return_address(0);
	ssl_write_fn fn = (ssl_write_fn)tls_real(TLS_SSL_WRITE, caller);
	if (SHIM_UNLIKELY(fn == NULL)) {
		errno = ENOSYS;
		return -1;
	}
	int outer = watch_begin();
	int r = fn(ssl, buf, num);
	int seen = watch_end(outer);
	if (r > 0)
		moved(ssl, LIB_OPENSSL, CONN_DIR_OUT, buf, (size_t)r, seen, caller);
	return r;
}

EXPORT int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written)
{
	const void *caller = __builtin_return_address(0);
	ssl_write_ex_fn fn = (ssl_write_ex_fn)tls_real(TLS_SSL_WRITE_EX, caller);
	if (SHIM_UNLIKELY(fn == NULL)) {
		errno = ENOSYS;
		return 0;
	}
	int outer = watch_begin();
	int r = fn(ssl, buf, num, written);
	int seen = watch_end(outer);
	if (r == 1 && written != NULL && *written > 0)
		moved(ssl, LIB_OPENSSL, CONN_DIR_OUT, buf, *written, seen, caller);
	return r;
}

EXPORT int SSL_shutdown(SSL *ssl)
{
	const void *caller = __builtin_return_address(0);
	ssl_shutdown_fn fn = (ssl_shutdown_fn)tls_real(TLS_SSL_SHUTDOWN, caller);
	if (SHIM_UNLIKELY(fn == NULL)) {
		errno = ENOSYS;
		return -1;
	}
	int r = fn(ssl);
	ended(ssl, false, false);
	return r;
}

EXPORT void SSL_free(SSL *ssl)
{
	const void *caller = __builtin_return_address(0);
	ssl_free_fn fn = (ssl_free_fn)tls_real(TLS_SSL_FREE, caller);
	if (ssl != NULL)
		ended(ssl, false, true); /* before: the pointer may be reused after */
	if (fn != NULL)
		fn(ssl);
}

/* ---- GnuTLS ---- */

EXPORT ssize_t gnutls_record_recv(gnutls_session_t session, void *data, size_t size)
{
	const void *caller = __builtin_return_address(0);
	gnutls_recv_fn fn = (gnutls_recv_fn)tls_real(TLS_GNUTLS_RECORD_RECV, caller);
	if (SHIM_UNLIKELY(fn == NULL)) {
		errno = ENOSYS;
		return -1;
	}
	int outer = watch_begin();
	ssize_t r = fn(session, data, size);
	int seen = watch_end(outer);
	if (r > 0)
		moved(session, LIB_GNUTLS, CONN_DIR_IN, data, (size_t)r, seen, caller);
	else if (r == 0 && size > 0)
		ended(session, true, false);
	return r;
}

EXPORT ssize_t gnutls_record_send(gnutls_session_t session, const void *data, size_t size)
{
	const void *caller = __builtin_return_address(0);
	gnutls_send_fn fn = (gnutls_send_fn)tls_real(TLS_GNUTLS_RECORD_SEND, caller);
	if (SHIM_UNLIKELY(fn == NULL)) {
		errno = ENOSYS;
		return -1;
	}
	int outer = watch_begin();
	ssize_t r = fn(session, data, size);
	int seen = watch_end(outer);
	/* After GNUTLS_E_AGAIN a send may be resumed with (NULL, 0): it then
	 * returns the bytes of the earlier buffer, which we no longer have. */
	if (r > 0 && data == NULL)
		lost(session);
	else if (r > 0)
		moved(session, LIB_GNUTLS, CONN_DIR_OUT, data, (size_t)r, seen, caller);
	return r;
}

EXPORT int gnutls_bye(gnutls_session_t session, int how)
{
	const void *caller = __builtin_return_address(0);
	gnutls_bye_fn fn = (gnutls_bye_fn)tls_real(TLS_GNUTLS_BYE, caller);
	if (SHIM_UNLIKELY(fn == NULL)) {
		errno = ENOSYS;
		return -1;
	}
	int r = fn(session, how);
	ended(session, false, false);
	return r;
}

EXPORT void gnutls_deinit(gnutls_session_t session)
{
	const void *caller = __builtin_return_address(0);
	gnutls_deinit_fn fn = (gnutls_deinit_fn)tls_real(TLS_GNUTLS_DEINIT, caller);
	if (session != NULL)
		ended(session, false, true);
	if (fn != NULL)
		fn(session);
}
