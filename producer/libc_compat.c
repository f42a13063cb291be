/*
 * libc_compat.c - private definitions of libc calls whose exported symbol
 * is newer than the oldest C library the shim supports (libc_compat.h):
 * the shim's objects (the ring's included) bind to these, inside the
 * library, and import nothing newer than GLIBC_2.17.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* fstat: a symbol since glibc 2.33 (before, an inline over __fxstat, which
 * musl has only as a compatibility name). The kernel's struct stat is the
 * C library's on x86-64 and aarch64, glibc and musl alike. */
__attribute__((visibility("hidden"))) int fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}
