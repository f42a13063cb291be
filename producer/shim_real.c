/*
 * shim_real.c - the real libc functions behind the hooks.
 *
 * Resolved lazily with dlsym(RTLD_NEXT) the first time each is needed: a
 * hook can run before the shim's constructor (another library's
 * constructor writes), so nothing here waits for it. dlsym may allocate and
 * may itself read or write (error strings, a preloaded malloc that logs):
 * a thread-local flag marks "inside dlsym", and a hook re-entered then gets
 * NULL and makes the raw system call instead (see hooks_*.c), so the
 * bootstrap can never recurse.
 */
#include <dlfcn.h>
#include <stddef.h>

#include "shim_internal.h"

void *_Atomic shim_real_fn[REAL_COUNT];

static const char *const real_names[REAL_COUNT] = {
	[REAL_SEND] = "send",
	[REAL_SENDTO] = "sendto",
	[REAL_SENDMSG] = "sendmsg",
	[REAL_SENDMMSG] = "sendmmsg",
	[REAL_WRITE] = "write",
	[REAL_WRITEV] = "writev",
	[REAL_RECV] = "recv",
	[REAL_RECVFROM] = "recvfrom",
	[REAL_RECVMSG] = "recvmsg",
	[REAL_RECVMMSG] = "recvmmsg",
	[REAL_READ] = "read",
	[REAL_READV] = "readv",
	[REAL_CONNECT] = "connect",
	[REAL_ACCEPT] = "accept",
	[REAL_ACCEPT4] = "accept4",
	[REAL_CLOSE] = "close",
	[REAL_CLOSE_RANGE] = "close_range",
	[REAL_DUP2] = "dup2",
	[REAL_DUP3] = "dup3",
	[REAL_FORK] = "fork",
	[REAL_DLOPEN] = "dlopen",
};

/* initial-exec: no allocation on first access from a preloaded library. */
static __thread int in_dlsym __attribute__((tls_model("initial-exec")));

void *shim_real_resolve(enum shim_real_id id)
{
	void *p;

	/* dlsym itself is absent only for the musl build in a glibc older
	 * than 2.34 without libdl.so.2 (libc_compat.h): raw system calls. */
	if (in_dlsym || !shim_have_dl())
		return NULL;
	in_dlsym = 1;
	p = dlsym(RTLD_NEXT, real_names[id]);
	in_dlsym = 0;
	/* Every resolver stores the same value; relaxed is enough because the
	 * pointed-to code is immutable and already mapped. */
	if (p != NULL)
		atomic_store_explicit(&shim_real_fn[id], p, memory_order_relaxed);
	return p;
}
