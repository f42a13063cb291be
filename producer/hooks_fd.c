/*
 * hooks_fd.c - the calls that create, replace or end a fd's identity:
 * connect, accept, accept4 (a TCP connection starts: track it, with its
 * role and addresses), close, close_range, dup2, dup3 (the number is
 * about to mean something else: finish and forget its state), and fork
 * (the child refreshes its pid and registers as a producer of its own).
 *
 * Ordering: close and close_range drop the state *before* the real call,
 * so a connection another thread opens on the freed number right after
 * can never be clobbered by our reset; dup2/dup3 drop it *after* success
 * (the target number stays occupied throughout, and a failed call must
 * not lose the target's state).
 */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim_internal.h"

#define EXPORT __attribute__((visibility("default")))

/* glibc declares the sockaddr parameters as transparent unions under
 * _GNU_SOURCE, plain pointers otherwise (then the names are macros); musl
 * as plain pointers, without the names. */
#if !SHIM_LIBC_GLIBC
#define __SOCKADDR_ARG struct sockaddr *__restrict
#define __CONST_SOCKADDR_ARG const struct sockaddr *__restrict
#endif
#ifdef __SOCKADDR_ARG
#define SA_PTR(a) (a)
#else
#define SA_PTR(a) ((a).__sockaddr__)
#endif

/* Declared by glibc 2.34+ only. */
int close_range(unsigned int first, unsigned int last, int flags);

typedef int (*connect_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
typedef int (*accept_fn)(int, __SOCKADDR_ARG, socklen_t *);
typedef int (*accept4_fn)(int, __SOCKADDR_ARG, socklen_t *, int);
typedef int (*close_fn)(int);
typedef int (*close_range_fn)(unsigned int, unsigned int, int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef pid_t (*fork_fn)(void);

static inline bool shim_off(void)
{
	return atomic_load_explicit(&shim_mode, memory_order_relaxed) == SHIM_MODE_DISABLED;
}

static inline bool inet(const struct sockaddr *sa)
{
	return sa != NULL && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
}

EXPORT int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	connect_fn fn = (connect_fn)shim_real(REAL_CONNECT);
	const struct sockaddr *sa = SA_PTR(addr);
	int r = fn ? fn(fd, addr, len) : (int)syscall(SYS_connect, fd, sa, len);
	/* A non-blocking connect in progress is a connection being made:
	 * the app's next send is its first byte. */
	if ((r == 0 || errno == EINPROGRESS) && inet(sa) && !shim_off())
		fdt_track(fd, sa, len, CONN_ROLE_CLIENT);
	return r;
}

EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *lenp)
{
	accept_fn fn = (accept_fn)shim_real(REAL_ACCEPT);
	int r = fn ? fn(fd, addr, lenp) : (int)syscall(SYS_accept4, fd, SA_PTR(addr), lenp, 0);
	/* The peer comes from getpeername, not the caller's buffer: it may be
	 * absent or truncated, and *lenp must not be read before the call (an
	 * invalid pointer is the kernel's EFAULT to report, not our crash). */
	if (r >= 0 && !shim_off())
		fdt_track(r, NULL, 0, CONN_ROLE_SERVER);
	return r;
}

EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *lenp, int flags)
{
	accept4_fn fn = (accept4_fn)shim_real(REAL_ACCEPT4);
	int r = fn ? fn(fd, addr, lenp, flags)
		   : (int)syscall(SYS_accept4, fd, SA_PTR(addr), lenp, flags);
	if (r >= 0 && !shim_off())
		fdt_track(r, NULL, 0, CONN_ROLE_SERVER);
	return r;
}

EXPORT int close(int fd)
{
	close_fn fn = (close_fn)shim_real(REAL_CLOSE);
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	if (t != NULL && (unsigned)fd < FDT_MAX_FDS &&
	    atomic_load_explicit(&t[fd], memory_order_relaxed) != FDT_UNKNOWN)
		fdt_reset(fd);
	return fn ? fn(fd) : (int)syscall(SYS_close, fd);
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	close_range_fn fn = (close_range_fn)shim_real(REAL_CLOSE_RANGE);
	/* Only a call the kernel will accept closes anything; CLOEXEC only
	 * marks the fds. */
	if (first <= last &&
	    ((unsigned)flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) == 0 &&
	    !((unsigned)flags & CLOSE_RANGE_CLOEXEC))
		fdt_reset_range(first, last);
#ifdef SYS_close_range
	return fn ? fn(first, last, flags) : (int)syscall(SYS_close_range, first, last, flags);
#else
	if (fn)
		return fn(first, last, flags);
	errno = ENOSYS;
	return -1;
#endif
}

EXPORT int dup2(int oldfd, int newfd)
{
	dup2_fn fn = (dup2_fn)shim_real(REAL_DUP2);
	int r = fn ? fn(oldfd, newfd) : (int)syscall(SYS_dup2, oldfd, newfd);
	if (r >= 0 && oldfd != newfd)
		fdt_reset(newfd);
	return r;
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	dup3_fn fn = (dup3_fn)shim_real(REAL_DUP3);
	int r = fn ? fn(oldfd, newfd, flags) : (int)syscall(SYS_dup3, oldfd, newfd, flags);
	if (r >= 0)
		fdt_reset(newfd);
	return r;
}

EXPORT pid_t fork(void)
{
	fork_fn fn = (fork_fn)shim_real(REAL_FORK);
	pid_t r;

	if (fn == NULL) { /* only while dlsym runs in this thread: refuse, no raw fork */
		errno = EAGAIN;
		return -1;
	}
	r = fn();
	if (r == 0) {
		int saved_errno = errno;
		atomic_store_explicit(&shim_pid, (uint32_t)syscall(SYS_getpid),
				      memory_order_relaxed);
		if (atomic_load_explicit(&shim_mode, memory_order_acquire) == SHIM_MODE_ACTIVE) {
			fdt_after_fork_child();
			shim_ring_after_fork_child();
		}
		errno = saved_errno;
	}
	return r;
}
