/*
 * hooks_dl.c - dlopen: after one with RTLD_DEEPBIND, the objects it
 * brought in are rebound to the shim for the names it interposes
 * (dl_rebind.c says how, and why nothing else changes). Every other
 * dlopen is passed through untouched.
 *
 * Compiled with SHIM_DEFINES_DLOPEN: this file defines dlopen, so
 * libc_compat.h must not pin a version on the name here.
 */
#include <dlfcn.h>
#include <errno.h>

#include "shim_internal.h"

#define EXPORT __attribute__((visibility("default")))

typedef void *(*dlopen_fn)(const char *, int);

EXPORT void *dlopen(const char *file, int mode)
{
	dlopen_fn fn = (dlopen_fn)shim_real(REAL_DLOPEN);
	bool deep = false;
	void *h;

	if (fn == NULL)
		return NULL; /* no loader API in this process (libc_compat.h) */
#ifdef RTLD_DEEPBIND
	deep = (mode & RTLD_DEEPBIND) &&
	       atomic_load_explicit(&shim_mode, memory_order_acquire) == SHIM_MODE_ACTIVE;
#endif
	if (deep)
		shim_dl_snapshot();
	h = fn(file, mode);
	if (deep && h != NULL)
		shim_dl_rebind();
	return h;
}
