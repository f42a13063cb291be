/*
 * libc_compat.h - what lets one source tree give two shims that load
 * anywhere (docs/containers.md): the glibc build on every glibc from 2.17,
 * the musl build on musl, and each of them, preloaded into a process of
 * the other C library, loading cleanly and stepping aside. Force-included
 * (-include) into every object of libtokenring.so's own sources.
 *
 * glibc build: the dynamic-loader calls are bound to their oldest symbol
 * versions. glibc 2.34 moved dlsym/dlopen/dladdr/dlvsym from libdl.so.2
 * into libc.so.6 under a new version GLIBC_2.34, and a library linked on
 * a newer system asks for that version, which older loaders refuse. The
 * old versions are still defined by every glibc since (compat symbols in
 * libc.so.6), and libtokenring.so names libdl.so.2 as a dependency so
 * that a glibc older than 2.34 finds them there. fstat (GLIBC_2.33) is
 * replaced by a private definition (libc_compat.c).
 *
 * Both builds: dlvsym (glibc only) and gnu_get_libc_version (how the
 * shim tells which C library it runs in) are weak, so a musl loader
 * resolves them to NULL instead of refusing the library. The musl build
 * also takes the dl* calls weak: a glibc older than 2.34 defines them
 * only in libdl.so.2, which the process may not have loaded.
 */
#ifndef TOKENRING_LIBC_COMPAT_H
#define TOKENRING_LIBC_COMPAT_H

#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stddef.h>

#if defined(__GLIBC__)
#define SHIM_LIBC_GLIBC 1
#if defined(__x86_64__)
#define SHIM_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define SHIM_GLIBC_BASE "GLIBC_2.17"
#else
#error "libtokenring: the oldest glibc symbol version of this architecture is not known"
#endif
__asm__(".symver dlsym,dlsym@" SHIM_GLIBC_BASE);
__asm__(".symver dlvsym,dlvsym@" SHIM_GLIBC_BASE);
#ifndef SHIM_DEFINES_DLOPEN /* hooks_dl.c defines it */
__asm__(".symver dlopen,dlopen@" SHIM_GLIBC_BASE);
#endif
__asm__(".symver dladdr,dladdr@" SHIM_GLIBC_BASE);
__asm__(".symver dlclose,dlclose@" SHIM_GLIBC_BASE);
__asm__(".symver dlerror,dlerror@" SHIM_GLIBC_BASE);
#else
#define SHIM_LIBC_GLIBC 0
void *dlvsym(void *handle, const char *name, const char *version);
#pragma weak dlsym
#ifndef SHIM_DEFINES_DLOPEN
#pragma weak dlopen
#endif
#pragma weak dladdr
#pragma weak dlclose
#pragma weak dlerror
#endif
#pragma weak dlvsym

/* The *mmsg calls' flags: int in glibc, unsigned int in musl. */
#if SHIM_LIBC_GLIBC
typedef int shim_mmsg_flags;
#else
typedef unsigned int shim_mmsg_flags;
#endif

const char *gnu_get_libc_version(void);
#pragma weak gnu_get_libc_version

/* Are the dynamic loader's calls there? Always in the glibc build (libdl.so.2
 * is a dependency); the musl build's weak ones are NULL in a glibc older
 * than 2.34 that did not load libdl.so.2. */
static inline bool shim_have_dl(void)
{
#if SHIM_LIBC_GLIBC
	return true;
#else
#ifdef SHIM_DEFINES_DLOPEN /* hooks_dl.c: dlopen is ours there, not weak */
	return dlsym != NULL && dladdr != NULL;
#else
	return dlsym != NULL && dlopen != NULL && dladdr != NULL;
#endif
#endif
}

/*
 * Does this process run the C library this shim was built for? false: the
 * shim must step aside (every hook a pure passthrough); *why says which
 * mismatch, for TOKENRING_DEBUG=1.
 */
static inline bool shim_libc_matches(const char **why)
{
	bool glibc = gnu_get_libc_version != NULL;
	if (glibc == SHIM_LIBC_GLIBC)
		return true;
	*why = glibc ? "musl build in a glibc process" : "glibc build in a non-glibc process";
	return false;
}

#endif
