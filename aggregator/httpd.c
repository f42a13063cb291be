/*
 * httpd.c - HTTP connections on the daemon's io_uring. Each connection has
 * at most one operation in flight (a recv or a send), so its buffers are
 * never touched by the kernel and by us at once. Deadlines are checked on
 * the loop's tick: a connection that is idle, dribbles its head (slowloris)
 * or does not read its reply is closed when its deadline passes, and when
 * every slot is taken a new connection evicts the least recently active
 * idle one, so a crowd of idle sockets cannot lock the scraper out.
 *
 * Closing with an operation in flight: shutdown() makes the kernel finish
 * the pending recv/send at once; the fd is closed when that completion
 * arrives, so the slot is never reused under a live operation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "httpd.h"
#include "loop.h"

#define HTTPD_BACKLOG 1024

enum conn_state {
	CONN_FREE = 0,
	CONN_READING,
	CONN_WRITING,
	CONN_LINGER,  /* error reply sent, write side shut: discard input until EOF */
	CONN_CLOSING, /* shut down, waiting for the in-flight op to complete */
};

struct httpd_conn {
	int fd;
	uint32_t gen;
	enum conn_state state;
	bool op_pending;
	bool close_after; /* after the reply is sent */
	bool heavy;       /* counted in heavy_active while its reply is sent */
	bool linger;      /* after the reply: read and discard before closing, so
			   * unread request bytes do not turn close() into a RST
			   * that destroys the reply before the client reads it */
	char *in;         /* HTTPD_IN_CAP bytes, allocated on first use, kept */
	size_t in_len;
	struct strbuf head; /* reply head */
	struct strbuf body; /* reply body, rendered in place by the handler */
	size_t body_len;    /* body bytes to send (0 for HEAD) */
	size_t sent;        /* of head.len + body_len */
	struct iovec iov[2];
	struct msghdr msg;
	uint64_t deadline_ns;
	uint64_t last_active_ns;
};

static void conn_arm_recv(struct httpd *h, struct httpd_conn *c, uint32_t idx,
			  enum conn_state st);
static void conn_process(struct httpd *h, struct httpd_conn *c, uint32_t idx, uint64_t now);
static void conn_setup(struct httpd *h, uint32_t slot, int fd, uint64_t now);

static void arm_accept(struct httpd *h)
{
	struct io_uring_sqe *sqe = loop_sqe(h->ring);
	if (!sqe)
		return; /* retried on the next tick */
	io_uring_prep_multishot_accept(sqe, h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, loop_ud(LOOP_OP_ACCEPT, 0, 0));
	h->accept_armed = true;
}

int httpd_start(struct httpd *h, struct io_uring *ring, const struct sockaddr *addr,
		socklen_t addrlen, uint32_t max_conns, uint64_t timeout_ns, httpd_handler handler,
		void *ctx)
{
	int one = 1, err;
	memset(h, 0, sizeof *h);
	h->ring = ring;
	h->max_conns = max_conns;
	h->timeout_ns = timeout_ns;
	h->handler = handler;
	h->ctx = ctx;
	h->conns = calloc(max_conns, sizeof *h->conns);
	if (!h->conns)
		return -ENOMEM;
	h->listen_fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0) {
		err = -errno;
		goto fail_free;
	}
	setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(h->listen_fd, addr, addrlen) || listen(h->listen_fd, HTTPD_BACKLOG)) {
		err = -errno;
		goto fail_close;
	}
	socklen_t bl = sizeof h->bound;
	getsockname(h->listen_fd, (struct sockaddr *)&h->bound, &bl);
	arm_accept(h);
	return 0;

fail_close:
	close(h->listen_fd);
fail_free:
	free(h->conns);
	h->conns = NULL;
	return err;
}

void httpd_bound_str(const struct httpd *h, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	if (h->bound.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&h->bound;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
		snprintf(buf, cap, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)&h->bound;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
		snprintf(buf, cap, "%s:%u", a, ntohs(s4->sin_port));
	}
}

static void heavy_done(struct httpd *h, struct httpd_conn *c)
{
	if (c->heavy) {
		c->heavy = false;
		h->heavy_active--;
	}
}

static void conn_free(struct httpd *h, struct httpd_conn *c)
{
	heavy_done(h, c);
	close(c->fd);
	c->fd = -1;
	c->state = CONN_FREE;
	c->op_pending = false;
	c->in_len = 0;
	c->sent = 0;
	strbuf_free(&c->head);
	strbuf_free(&c->body);
	c->gen++;
	h->stats.active--;
	if (h->n_pending) { /* a connection accepted while every slot was taken */
		int fd = h->pending[0];
		memmove(h->pending, h->pending + 1, --h->n_pending * sizeof *h->pending);
		conn_setup(h, (uint32_t)(c - h->conns), fd, loop_now_ns());
	}
}

/* Close now if nothing is in flight, else shut down and close on the
 * completion. */
static void conn_close(struct httpd *h, struct httpd_conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	if (c->op_pending) {
		shutdown(c->fd, SHUT_RDWR);
		c->state = CONN_CLOSING;
	} else {
		conn_free(h, c);
	}
}

/* Read into the free part of the input buffer; st is READING or LINGER. */
static void conn_arm_recv(struct httpd *h, struct httpd_conn *c, uint32_t idx,
			  enum conn_state st)
{
	struct io_uring_sqe *sqe = loop_sqe(h->ring);
	if (!sqe) {
		conn_close(h, c);
		return;
	}
	io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, HTTPD_IN_CAP - c->in_len, 0);
	io_uring_sqe_set_data64(sqe, loop_ud(LOOP_OP_RECV, idx, c->gen));
	c->op_pending = true;
	c->state = st;
}

static void conn_arm_send(struct httpd *h, struct httpd_conn *c, uint32_t idx)
{
	struct io_uring_sqe *sqe = loop_sqe(h->ring);
	if (!sqe) {
		conn_close(h, c);
		return;
	}
	/* Head and body go out as one sendmsg of two iovecs: a body of many
	 * megabytes (/metrics with many series) is never copied. */
	size_t hl = c->head.len;
	memset(&c->msg, 0, sizeof c->msg);
	c->msg.msg_iov = c->iov;
	if (c->sent < hl) {
		c->iov[0] = (struct iovec){c->head.data + c->sent, hl - c->sent};
		c->iov[1] = (struct iovec){c->body.data, c->body_len};
		c->msg.msg_iovlen = c->body_len ? 2 : 1;
	} else {
		c->iov[0] = (struct iovec){c->body.data + (c->sent - hl), c->body_len - (c->sent - hl)};
		c->msg.msg_iovlen = 1;
	}
	io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, loop_ud(LOOP_OP_SEND, idx, c->gen));
	c->op_pending = true;
	c->state = CONN_WRITING;
}

/* Queue a reply the server makes itself (errors) and close after it. */
static void conn_reply_error(struct httpd *h, struct httpd_conn *c, uint32_t idx, int status,
			     uint64_t now)
{
	char body[64];
	int n = snprintf(body, sizeof body, "%d %s\n", status, httpd_reason(status));
	strbuf_reset(&c->head);
	strbuf_reset(&c->body);
	c->sent = 0;
	c->body_len = (size_t)n;
	h->stats.errors++;
	if (httpd_format_head(&c->head, status, "text/plain; charset=utf-8", (size_t)n, false, NULL,
			      NULL) ||
	    strbuf_append(&c->body, body, (size_t)n)) {
		conn_close(h, c);
		return;
	}
	c->close_after = true;
	c->linger = true;
	c->in_len = 0; /* whatever follows is not read */
	c->deadline_ns = now + h->timeout_ns;
	conn_arm_send(h, c, idx);
}

/* Parse what is buffered: answer one complete request, or read more. */
static void conn_process(struct httpd *h, struct httpd_conn *c, uint32_t idx, uint64_t now)
{
	struct httpd_req req;
	int rc = httpd_parse_request(c->in, c->in_len, &req);
	if (rc < 0) {
		conn_reply_error(h, c, idx, -rc, now);
		return;
	}
	if (rc == HTTPD_PARTIAL || c->in_len < req.head_len + req.content_length) {
		if (c->in_len == HTTPD_IN_CAP) { /* cannot happen with the caps, but never spin */
			conn_reply_error(h, c, idx, 431, now);
			return;
		}
		conn_arm_recv(h, c, idx, CONN_READING);
		return;
	}
	h->stats.requests++;
	strbuf_reset(&c->body);
	struct httpd_response resp = {
		.status = 500,
		.content_type = "text/plain; charset=utf-8",
		.allow = NULL,
		.retry_after = NULL,
		.heavy = false,
		.body = &c->body,
	};
	h->handler(h->ctx, &req, &resp);
	if (resp.heavy) {
		c->heavy = true;
		h->heavy_active++;
	}
	bool head_only = httpd_method_is(&req, "HEAD");
	c->close_after = !req.keep_alive;
	strbuf_reset(&c->head);
	c->sent = 0;
	c->body_len = head_only ? 0 : c->body.len;
	if (httpd_format_head(&c->head, resp.status, resp.content_type, c->body.len, req.keep_alive,
			      resp.allow, resp.retry_after)) {
		conn_close(h, c);
		return;
	}
	/* Keep pipelined bytes that follow this request. */
	size_t used = req.head_len + (size_t)req.content_length;
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	c->deadline_ns = now + h->timeout_ns; /* the client must read the reply in time */
	conn_arm_send(h, c, idx);
}

/* A free slot, or -1. */
static int conn_slot(struct httpd *h)
{
	for (uint32_t i = 0; i < h->max_conns; i++)
		if (h->conns[i].state == CONN_FREE)
			return (int)i;
	return -1;
}

/* All slots taken: close the least recently active connection that is
 * waiting for a request (idle keep-alive or a dribbling head), so the next
 * client gets a slot once its recv completes. Replies in flight are kept. */
static void evict_one(struct httpd *h, int keep)
{
	int victim = -1;
	for (uint32_t i = 0; i < h->max_conns; i++) {
		struct httpd_conn *c = &h->conns[i];
		if (c->state == CONN_READING && (int)i != keep &&
		    (victim < 0 || c->last_active_ns < h->conns[victim].last_active_ns))
			victim = (int)i;
	}
	if (victim >= 0) {
		h->stats.evicted++;
		conn_close(h, &h->conns[victim]);
	}
}

static void on_accept(struct httpd *h, int res, unsigned flags, uint64_t now)
{
	if (!(flags & IORING_CQE_F_MORE))
		h->accept_armed = false; /* re-armed below or on the next tick */
	if (res < 0) {
		if (res == -EMFILE || res == -ENFILE) {
			/* Out of fds (idle sockets hold them): free one; accept is
			 * re-armed on the next tick, not in a hot loop. */
			h->stats.rejected++;
			evict_one(h, -1);
		} else if (res != -ECANCELED && !h->accept_armed) {
			arm_accept(h);
		}
		return;
	}
	if (!h->accept_armed)
		arm_accept(h);
	int slot = conn_slot(h);
	if (slot < 0) {
		/* Every slot taken: park the fd until an evicted one frees. A
		 * full queue drops its oldest fd (it never sent a byte that we
		 * read): the newest client, likely the scraper behind a flood,
		 * keeps its chance. */
		if (h->n_pending == HTTPD_PENDING) {
			h->stats.rejected++;
			close(h->pending[0]);
			memmove(h->pending, h->pending + 1, --h->n_pending * sizeof *h->pending);
			h->pending[h->n_pending++] = res;
			return;
		}
		h->pending[h->n_pending++] = res;
		evict_one(h, -1);
		return;
	}
	conn_setup(h, (uint32_t)slot, res, now);
}

static void conn_setup(struct httpd *h, uint32_t slot, int fd, uint64_t now)
{
	struct httpd_conn *c = &h->conns[slot];
	if (!c->in && !(c->in = malloc(HTTPD_IN_CAP))) {
		h->stats.rejected++;
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	c->in_len = 0;
	c->sent = 0;
	c->body_len = 0;
	c->close_after = false;
	c->linger = false;
	strbuf_init(&c->head);
	strbuf_init(&c->body);
	c->last_active_ns = now;
	c->deadline_ns = now + h->timeout_ns;
	h->stats.accepted++;
	h->stats.active++;
	conn_arm_recv(h, c, slot, CONN_READING);
	if (h->stats.active == h->max_conns)
		evict_one(h, (int)slot); /* keep a slot coming free for the next client */
}

static void on_recv(struct httpd *h, struct httpd_conn *c, uint32_t idx, int res, uint64_t now)
{
	if (c->state == CONN_CLOSING || res <= 0) {
		conn_free(h, c);
		return;
	}
	if (c->state == CONN_LINGER) { /* discard until EOF or the deadline */
		conn_arm_recv(h, c, idx, CONN_LINGER);
		return;
	}
	if (c->in_len == 0)
		c->deadline_ns = now + h->timeout_ns; /* the whole request must arrive in time */
	c->in_len += (size_t)res;
	c->last_active_ns = now;
	conn_process(h, c, idx, now);
}

static void on_send(struct httpd *h, struct httpd_conn *c, uint32_t idx, int res, uint64_t now)
{
	if (c->state == CONN_CLOSING || res <= 0) {
		conn_free(h, c);
		return;
	}
	c->sent += (size_t)res;
	c->last_active_ns = now;
	if (c->sent < c->head.len + c->body_len) {
		conn_arm_send(h, c, idx);
		return;
	}
	heavy_done(h, c);
	if (c->close_after && c->linger) {
		shutdown(c->fd, SHUT_WR);
		c->in_len = 0;
		c->deadline_ns = now + (h->timeout_ns < HTTPD_LINGER_NS ? h->timeout_ns : HTTPD_LINGER_NS);
		conn_arm_recv(h, c, idx, CONN_LINGER);
		return;
	}
	if (c->close_after) {
		conn_free(h, c);
		return;
	}
	if (c->body.cap > HTTPD_KEEP_OUT_CAP)
		strbuf_free(&c->body); /* a big scrape's buffer is not kept per idle connection */
	c->sent = 0;
	c->deadline_ns = now + h->timeout_ns; /* keep-alive idle deadline */
	if (c->in_len)
		conn_process(h, c, idx, now); /* a pipelined request is already here */
	else
		conn_arm_recv(h, c, idx, CONN_READING);
}

void httpd_on_cqe(struct httpd *h, uint64_t ud, int res, unsigned flags, uint64_t now)
{
	enum loop_op op = loop_ud_op(ud);
	if (op == LOOP_OP_ACCEPT) {
		on_accept(h, res, flags, now);
		return;
	}
	uint32_t idx = loop_ud_index(ud);
	if (idx >= h->max_conns)
		return;
	struct httpd_conn *c = &h->conns[idx];
	if (c->state == CONN_FREE || c->gen != loop_ud_gen(ud))
		return; /* stale: cannot happen with one op in flight, but be safe */
	c->op_pending = false;
	if (op == LOOP_OP_RECV)
		on_recv(h, c, idx, res, now);
	else if (op == LOOP_OP_SEND)
		on_send(h, c, idx, res, now);
}

void httpd_tick(struct httpd *h, uint64_t now)
{
	if (!h->accept_armed)
		arm_accept(h);
	for (uint32_t i = 0; i < h->max_conns; i++) {
		struct httpd_conn *c = &h->conns[i];
		if ((c->state == CONN_READING || c->state == CONN_WRITING || c->state == CONN_LINGER) &&
		    now > c->deadline_ns) {
			h->stats.timeouts++;
			conn_close(h, c);
		}
	}
}

void httpd_stop(struct httpd *h)
{
	if (!h->conns)
		return;
	for (uint32_t i = 0; i < h->max_conns; i++) {
		struct httpd_conn *c = &h->conns[i];
		if (c->state != CONN_FREE) {
			close(c->fd);
			strbuf_free(&c->head);
			strbuf_free(&c->body);
		}
		free(c->in);
	}
	for (unsigned i = 0; i < h->n_pending; i++)
		close(h->pending[i]);
	h->n_pending = 0;
	free(h->conns);
	h->conns = NULL;
	close(h->listen_fd);
}
