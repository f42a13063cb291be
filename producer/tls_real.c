/*
 * tls_real.c - the real TLS library functions behind hooks_tls.c.
 *
 * The shim links neither libssl nor libgnutls (it depends on libc alone):
 * a hook runs only because the process called SSL_write or
 * gnutls_record_send, so the library is loaded by then, and the real
 * function is looked up the first time a hook needs it:
 *   1. dlsym(RTLD_NEXT): the library is in the global scope (linked by the
 *      program, e.g. curl, gnutls-cli);
 *   2. else the copy already mapped in the process, found by name with
 *      dl_iterate_phdr and opened with RTLD_NOLOAD (no new load): a
 *      library pulled in by a module opened RTLD_LOCAL (Python's _ssl,
 *      ctypes) is outside RTLD_NEXT's scope. The handle stays open: the
 *      pointers we keep must never dangle.
 * Every resolver stores the same value, so racing threads are harmless.
 */
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "tls.h"

void *_Atomic tls_real_fn[TLS_REAL_COUNT];

struct tls_sym {
	const char *name;
	const char *lib; /* file name prefix of the library defining it */
};

static const struct tls_sym syms[TLS_REAL_COUNT] = {
	[TLS_SSL_READ] = {"SSL_read", "libssl.so"},
	[TLS_SSL_READ_EX] = {"SSL_read_ex", "libssl.so"},
	[TLS_SSL_PEEK] = {"SSL_peek", "libssl.so"},
	[TLS_SSL_PEEK_EX] = {"SSL_peek_ex", "libssl.so"},
	[TLS_SSL_WRITE] = {"SSL_write", "libssl.so"},
	[TLS_SSL_WRITE_EX] = {"SSL_write_ex", "libssl.so"},
	[TLS_SSL_SHUTDOWN] = {"SSL_shutdown", "libssl.so"},
	[TLS_SSL_FREE] = {"SSL_free", "libssl.so"},
	[TLS_SSL_GET_FD] = {"SSL_get_fd", "libssl.so"},
	[TLS_GNUTLS_RECORD_RECV] = {"gnutls_record_recv", "libgnutls.so"},
	[TLS_GNUTLS_RECORD_SEND] = {"gnutls_record_send", "libgnutls.so"},
	[TLS_GNUTLS_BYE] = {"gnutls_bye", "libgnutls.so"},
	[TLS_GNUTLS_DEINIT] = {"gnutls_deinit", "libgnutls.so"},
	[TLS_GNUTLS_TRANSPORT_GET_INT] = {"gnutls_transport_get_int", "libgnutls.so"},
};

struct lib_search {
	const char *prefix;
	char path[512];
};

static int find_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct lib_search *q = arg;
	const char *base = strrchr(info->dlpi_name, '/');
	(void)size;
	base = base ? base + 1 : info->dlpi_name;
	if (strncmp(base, q->prefix, strlen(q->prefix)) != 0 ||
	    strlen(info->dlpi_name) >= sizeof q->path)
		return 0;
	memcpy(q->path, info->dlpi_name, strlen(info->dlpi_name) + 1);
	return 1; /* the first loaded copy: the one the program bound first */
}

void *tls_real_resolve(enum tls_real_id id)
{
	void *p = dlsym(RTLD_NEXT, syms[id].name);

	if (p == NULL) {
		struct lib_search q = {.prefix = syms[id].lib};
		void *h;
		if (dl_iterate_phdr(find_lib, &q) == 1 &&
		    (h = dlopen(q.path, RTLD_LAZY | RTLD_NOLOAD)) != NULL)
			p = dlsym(h, syms[id].name);
	}
	if (p != NULL)
		atomic_store_explicit(&tls_real_fn[id], p, memory_order_relaxed);
	return p;
}
