/*
 * hooks_io.c - the data calls: send, sendto, sendmsg, sendmmsg, write,
 * writev, recv, recvfrom, recvmsg, recvmmsg, read, readv.
 *
 * Each makes the real call first and returns exactly what it returned;
 * only then, and only for bytes the call actually moved (return > 0), are
 * the bytes fed to the fd's tracker. A fd classified as not ours (file,
 * pipe, UDP, TLS...) costs one table load after the call. Work after the
 * call saves and restores errno (fdt_* do it), so the caller sees the
 * call's own errno.
 *
 * Semantics kept: MSG_PEEK reads are not consumption (the bytes come
 * again); MSG_TRUNC on a TCP recv discards bytes the app never sees, so
 * that connection stops being parsed; vectored calls feed their iovecs in
 * order up to the returned count; the *mmsg calls feed each message up to
 * its msg_len. EOF (0 from a read of > 0 bytes) and ECONNRESET / EPIPE end
 * the exchanges in flight.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim_internal.h"

#define EXPORT __attribute__((visibility("default")))

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *,
			     socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef int (*sendmmsg_fn)(int, struct mmsghdr *, unsigned int, shim_mmsg_flags);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef int (*recvmmsg_fn)(int, struct mmsghdr *, unsigned int, shim_mmsg_flags,
			   struct timespec *);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*readv_fn)(int, const struct iovec *, int);

/* After a call that moved r bytes (or failed): feed, or note the end. */
static inline void done_buf(int fd, enum conn_dir dir, const void *buf, size_t asked,
			    ssize_t r)
{
	if (SHIM_LIKELY(r > 0)) {
		if (fdt_maybe_tracked(fd)) {
			struct iovec v = {.iov_base = (void *)buf, .iov_len = (size_t)r};
			fdt_feed(fd, dir, &v, 1, (size_t)r);
		}
	} else if (r == 0) {
		if (dir == CONN_DIR_IN && asked > 0 && fdt_maybe_tracked(fd))
			fdt_peer_closed(fd, true);
	} else if (SHIM_UNLIKELY(errno == ECONNRESET || errno == EPIPE)) {
		if (fdt_maybe_tracked(fd))
			fdt_peer_closed(fd, false);
	}
}

static inline void done_iov(int fd, enum conn_dir dir, const struct iovec *iov, size_t cnt,
			    ssize_t r)
{
	if (SHIM_LIKELY(r > 0)) {
		if (fdt_maybe_tracked(fd))
			fdt_feed(fd, dir, iov, cnt, (size_t)r);
	} else if (r == 0) {
		size_t asked = 0;
		for (size_t i = 0; i < cnt && asked == 0; i++)
			asked += iov[i].iov_len;
		if (dir == CONN_DIR_IN && asked > 0 && fdt_maybe_tracked(fd))
			fdt_peer_closed(fd, true);
	} else if (SHIM_UNLIKELY(errno == ECONNRESET || errno == EPIPE)) {
		if (fdt_maybe_tracked(fd))
			fdt_peer_closed(fd, false);
	}
}

/* Receive-side flags: a peek consumes nothing; TCP MSG_TRUNC discards. */
static inline void done_recv_buf(int fd, const void *buf, size_t len, int flags, ssize_t r)
{
	if (SHIM_UNLIKELY(flags & MSG_PEEK))
		return;
	if (SHIM_UNLIKELY(flags & MSG_TRUNC)) {
		if (r > 0 && fdt_maybe_tracked(fd))
			fdt_lose(fd, true);
		return;
	}
	done_buf(fd, CONN_DIR_IN, buf, len, r);
}

/* The *mmsg calls: r messages went, each up to its own msg_len. */
static void feed_mmsg(int fd, enum conn_dir dir, const struct mmsghdr *vec, int r)
{
	for (int i = 0; i < r; i++)
		if (vec[i].msg_len > 0)
			fdt_feed(fd, dir, vec[i].msg_hdr.msg_iov, vec[i].msg_hdr.msg_iovlen,
				 vec[i].msg_len);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	send_fn fn = (send_fn)shim_real(REAL_SEND);
	ssize_t r = fn ? fn(fd, buf, len, flags) : syscall(SYS_sendto, fd, buf, len, flags, 0, 0);
	done_buf(fd, CONN_DIR_OUT, buf, len, r);
	return r;
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
		      const struct sockaddr *addr, socklen_t alen)
{
	sendto_fn fn = (sendto_fn)shim_real(REAL_SENDTO);
	ssize_t r = fn ? fn(fd, buf, len, flags, addr, alen)
		       : syscall(SYS_sendto, fd, buf, len, flags, addr, alen);
	done_buf(fd, CONN_DIR_OUT, buf, len, r);
	return r;
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	sendmsg_fn fn = (sendmsg_fn)shim_real(REAL_SENDMSG);
	ssize_t r = fn ? fn(fd, msg, flags) : syscall(SYS_sendmsg, fd, msg, flags);
	/* msg is only known valid if the call succeeded (EFAULT otherwise) */
	done_iov(fd, CONN_DIR_OUT, r >= 0 ? msg->msg_iov : NULL, r >= 0 ? msg->msg_iovlen : 0, r);
	return r;
}

EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, shim_mmsg_flags flags)
{
	sendmmsg_fn fn = (sendmmsg_fn)shim_real(REAL_SENDMMSG);
	int r = fn ? fn(fd, vec, vlen, flags) : (int)syscall(SYS_sendmmsg, fd, vec, vlen, flags);
	if (r > 0 && fdt_maybe_tracked(fd))
		feed_mmsg(fd, CONN_DIR_OUT, vec, r);
	return r;
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	write_fn fn = (write_fn)shim_real(REAL_WRITE);
	ssize_t r = fn ? fn(fd, buf, len) : syscall(SYS_write, fd, buf, len);
	done_buf(fd, CONN_DIR_OUT, buf, len, r);
	return r;
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	writev_fn fn = (writev_fn)shim_real(REAL_WRITEV);
	ssize_t r = fn ? fn(fd, iov, cnt) : syscall(SYS_writev, fd, iov, cnt);
	if (cnt > 0)
		done_iov(fd, CONN_DIR_OUT, iov, (size_t)cnt, r);
	return r;
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	recv_fn fn = (recv_fn)shim_real(REAL_RECV);
	ssize_t r = fn ? fn(fd, buf, len, flags)
		       : syscall(SYS_recvfrom, fd, buf, len, flags, 0, 0);
	done_recv_buf(fd, buf, len, flags, r);
	return r;
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			socklen_t *alen)
{
	recvfrom_fn fn = (recvfrom_fn)shim_real(REAL_RECVFROM);
	ssize_t r = fn ? fn(fd, buf, len, flags, addr, alen)
		       : syscall(SYS_recvfrom, fd, buf, len, flags, addr, alen);
	done_recv_buf(fd, buf, len, flags, r);
	return r;
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	recvmsg_fn fn = (recvmsg_fn)shim_real(REAL_RECVMSG);
	ssize_t r = fn ? fn(fd, msg, flags) : syscall(SYS_recvmsg, fd, msg, flags);
	if (SHIM_UNLIKELY(flags & MSG_PEEK))
		return r;
	if (SHIM_UNLIKELY(flags & MSG_TRUNC)) {
		if (r > 0 && fdt_maybe_tracked(fd))
			fdt_lose(fd, true);
		return r;
	}
	done_iov(fd, CONN_DIR_IN, r >= 0 ? msg->msg_iov : NULL, r >= 0 ? msg->msg_iovlen : 0, r);
	return r;
}

EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, shim_mmsg_flags flags,
		    struct timespec *timeout)
{
	recvmmsg_fn fn = (recvmmsg_fn)shim_real(REAL_RECVMMSG);
	int r = fn ? fn(fd, vec, vlen, flags, timeout)
		   : (int)syscall(SYS_recvmmsg, fd, vec, vlen, flags, timeout);
	if (r <= 0 || (flags & MSG_PEEK) || !fdt_maybe_tracked(fd))
		return r;
	if (SHIM_UNLIKELY(flags & MSG_TRUNC)) {
		fdt_lose(fd, true);
		return r;
	}
	feed_mmsg(fd, CONN_DIR_IN, vec, r);
	return r;
}

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	read_fn fn = (read_fn)shim_real(REAL_READ);
	ssize_t r = fn ? fn(fd, buf, len) : syscall(SYS_read, fd, buf, len);
	done_buf(fd, CONN_DIR_IN, buf, len, r);
	return r;
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	readv_fn fn = (readv_fn)shim_real(REAL_READV);
	ssize_t r = fn ? fn(fd, iov, cnt) : syscall(SYS_readv, fd, iov, cnt);
	if (cnt > 0)
		done_iov(fd, CONN_DIR_IN, iov, (size_t)cnt, r);
	return r;
}
