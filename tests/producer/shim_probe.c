/*
 * shim_probe.c - drives every interposed call the way unusual clients do,
 * for the integration tests, which run it with and without the shim.
 *
 *   shim_probe errno PORT_CLOSED
 *       One transcript line per call: return value and errno of failing
 *       calls (EBADF, ENOTSOCK, EAGAIN, ECONNREFUSED, EPIPE, ECONNRESET,
 *       EINVAL), and errno after successful calls on a tracked socket
 *       (which must be left as the app set it). Must be byte-identical
 *       with and without LD_PRELOAD.
 *   shim_probe http PORT
 *       Two POSTs on one keep-alive connection to 127.0.0.1:PORT, sent
 *       with writev + sendmsg, then sendmmsg + sendto; the responses read
 *       with a MSG_PEEK, 1-byte read()s, readv, recvmsg, recvmmsg, recv
 *       and recvfrom. Prints per request the bytes really sent and
 *       received, and the response status line, as JSON lines.
 *   shim_probe signal PORT
 *       The http exchange 20 times while a 50 us interval timer's handler
 *       writes and reads a pipe (hooks inside signal handlers).
 *   shim_probe trunc PORT
 *       A request, then recv(MSG_TRUNC) discards the first 5 reply bytes
 *       (TCP: consumed, never seen), the rest is read; a second request on
 *       the same connection follows. Prints what was received.
 *   shim_probe reset PORT
 *       Three connections each send a request and never read the reply;
 *       they end by close(), dup2() over them, and close_range(). Each must
 *       give a record flagged closed-before-any-response.
 *   shim_probe vfork PORT
 *       Sends a request, vfork()s a child that closes the socket (its own
 *       fd table) and _exit()s, then reads the reply: the child must not
 *       have reset the parent's (shared-memory) connection state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define SENTINEL_ERRNO 4242

static void line(const char *what, long r, int err)
{
	printf("%s r=%ld errno=%s\n", what, r,
	       err == SENTINEL_ERRNO ? "kept" : err == 0 ? "0" : strerror(err));
}

#define CALL(what, expr)                                                                   \
	do {                                                                               \
		errno = 0;                                                                 \
		long r_ = (long)(expr);                                                    \
		line(what, r_, errno);                                                     \
	} while (0)

/* errno must survive a successful call the shim parses. */
#define KEEP(what, expr)                                                                   \
	do {                                                                               \
		errno = SENTINEL_ERRNO;                                                    \
		long r_ = (long)(expr);                                                    \
		line(what, r_, errno);                                                     \
	} while (0)

static int tcp_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A connected loopback pair: (client, server side). */
static void tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&a, sizeof a);
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&a, &len);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	connect(*c, (struct sockaddr *)&a, sizeof a);
	*s = accept(l, NULL, NULL);
	close(l);
}

static int probe_errno(int closed_port)
{
	char buf[64] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct mmsghdr mm = {.msg_hdr = mh};
	int c, s, p[2];

	signal(SIGPIPE, SIG_IGN);
	CALL("read_badf", read(-1, buf, 1));
	CALL("write_badf", write(-1, buf, 1));
	CALL("readv_badf", readv(999, &iov, 1));
	CALL("writev_badf", writev(999, &iov, 1));
	CALL("send_badf", send(999, buf, 1, 0));
	CALL("recv_badf", recv(999, buf, 1, 0));
	CALL("sendmsg_badf", sendmsg(999, &mh, 0));
	CALL("recvmsg_badf", recvmsg(999, &mh, 0));
	CALL("sendmmsg_badf", sendmmsg(999, &mm, 1, 0));
	CALL("recvmmsg_badf", recvmmsg(999, &mm, 1, 0, NULL));
	CALL("close_badf", close(-1));
	CALL("dup2_badf", dup2(-1, 50));
	CALL("dup3_same", dup3(1, 1, 0));
	CALL("close_range_inval", close_range(5, 4, 0));
	if (pipe(p) != 0)
		return 1;
	CALL("accept_notsock", accept(p[0], NULL, NULL));
	CALL("send_notsock", send(p[1], buf, 1, 0));
	CALL("pipe_write", write(p[1], buf, 3));
	CALL("pipe_read", read(p[0], buf, 3));
	close(p[0]);
	close(p[1]);
	CALL("connect_refused", tcp_connect(closed_port));

	{ /* a pending connection, accepted into unwritable memory: EFAULT */
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t len = sizeof a;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int l = socket(AF_INET, SOCK_STREAM, 0), pc = socket(AF_INET, SOCK_STREAM, 0);
		bind(l, (struct sockaddr *)&a, sizeof a);
		listen(l, 1);
		getsockname(l, (struct sockaddr *)&a, &len);
		connect(pc, (struct sockaddr *)&a, sizeof a);
		CALL("accept_efault", accept(l, (struct sockaddr *)8, (socklen_t *)8));
		close(pc);
		close(l);
	}
	tcp_pair(&c, &s);
	fcntl(s, F_SETFL, O_NONBLOCK);
	CALL("recv_eagain", recv(s, buf, sizeof buf, 0));
	CALL("sendmsg_efault", sendmsg(c, NULL, 0));
	CALL("recvmsg_efault", recvmsg(s, NULL, 0));
	CALL("read_eagain", read(s, buf, sizeof buf));
	KEEP("send_ok", send(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, 0));
	usleep(10000);
	KEEP("recv_peek_ok", recv(s, buf, 5, MSG_PEEK));
	KEEP("recv_ok", recv(s, buf, 27, 0));
	KEEP("write_ok", write(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38));
	usleep(10000);
	KEEP("read_ok", read(c, buf, sizeof buf));
	/* The server resets (SO_LINGER 0): the client's next calls fail. */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(s);
	usleep(20000);
	CALL("recv_reset", recv(c, buf, sizeof buf, 0));
	CALL("send_after_reset", send(c, buf, 1, 0));
	CALL("close_ok", close(c));

	tcp_pair(&c, &s);
	close(s);
	usleep(20000);
	CALL("read_eof", read(c, buf, sizeof buf));
	send(c, buf, 1, 0); /* provokes the RST */
	usleep(20000);
	CALL("send_epipe", send(c, buf, 1, 0));
	close(c);
	return 0;
}

/* ---- http mode ---- */

static const char body_fmt[] = "{\"model\":\"probe-model\",\"messages\":[{\"role\":\"user\","
			       "\"content\":\"request %d\"}]}";

/* Read one full response (headers + Content-Length body) with reader
 * `how` cycling through the receive calls; returns bytes consumed. */
static long read_response(int fd, int variant, char *status, size_t cap)
{
	char buf[8192];
	long got = 0, need = -1;
	int step = 0;

	for (;;) {
		ssize_t r;
		char *p = buf + got;
		size_t room = sizeof buf - (size_t)got - 1;
		if (need >= 0 && got >= need)
			break;
		if (variant == 0) {
			if (step == 0) { /* peek: must not count */
				char peek[16];
				recv(fd, peek, sizeof peek, MSG_PEEK);
			}
			if (step < 40) {
				r = read(fd, p, 1);
			} else if (step % 2) {
				struct iovec v[3] = {{p, 3}, {p + 3, 0}, {p + 3, room > 10 ? 7 : 1}};
				r = readv(fd, v, 3);
			} else {
				struct iovec v[2] = {{p, 5}, {p + 5, room - 5}};
				struct msghdr mh = {.msg_iov = v, .msg_iovlen = 2};
				r = recvmsg(fd, &mh, 0);
			}
		} else {
			if (step == 0) {
				struct iovec v = {p, 10};
				struct mmsghdr mm = {.msg_hdr = {.msg_iov = &v, .msg_iovlen = 1}};
				int n = recvmmsg(fd, &mm, 1, 0, NULL);
				r = n == 1 ? (ssize_t)mm.msg_len : -1;
			} else if (step % 2) {
				r = recv(fd, p, room < 13 ? room : 13, 0);
			} else {
				r = recvfrom(fd, p, room, 0, NULL, NULL);
			}
		}
		step++;
		if (r <= 0)
			return -1;
		got += r;
		buf[got] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (need < 0 && end != NULL) {
			char *cl = strcasestr(buf, "content-length:");
			need = (end + 4 - buf) + (cl ? atol(cl + 15) : 0);
		}
	}
	char *eol = strstr(buf, "\r\n");
	size_t n = eol ? (size_t)(eol - buf) : 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(status, buf, n);
	status[n] = '\0';
	return got;
}

static int probe_http(int port, int rounds)
{
	int fd = tcp_connect(port);
	if (fd < 0) {
		perror("connect");
		return 1;
	}
	for (int i = 0; i < rounds; i++) {
		char body[256], head[512], status[128];
		int blen = snprintf(body, sizeof body, body_fmt, i);
		int hlen = snprintf(head, sizeof head,
				    "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				    "User-Agent: shim-probe/1\r\nx-request-id: probe-%d\r\n"
				    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n",
				    port, i, blen);
		long sent = 0;
		if (i % 2 == 0) {
			/* headers as three iovecs (one empty), then the body by sendmsg */
			struct iovec v[3] = {{head, 10}, {head + 10, 0}, {head + 10, (size_t)hlen - 10}};
			sent += writev(fd, v, 3);
			struct iovec b = {body, (size_t)blen};
			struct msghdr mh = {.msg_iov = &b, .msg_iovlen = 1};
			sent += sendmsg(fd, &mh, 0);
		} else {
			struct iovec v[2] = {{head, (size_t)hlen}, {body, 4}};
			struct mmsghdr mm = {.msg_hdr = {.msg_iov = v, .msg_iovlen = 2}};
			if (sendmmsg(fd, &mm, 1, 0) == 1)
				sent += mm.msg_len;
			sent += sendto(fd, body + 4, (size_t)blen - 4, 0, NULL, 0);
		}
		long got = read_response(fd, i % 2, status, sizeof status);
		printf("{\"request\":%d,\"sent\":%ld,\"received\":%ld,\"status\":\"%s\"}\n", i, sent,
		       got, status);
	}
	close(fd);
	return 0;
}

static int send_request(int fd, int port, int i)
{
	char body[256], head[512];
	int blen = snprintf(body, sizeof body, body_fmt, i);
	int hlen = snprintf(head, sizeof head,
			    "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			    "x-request-id: probe-%d\r\nContent-Length: %d\r\n\r\n%s",
			    port, i, blen, body);
	return send(fd, head, (size_t)hlen, 0) == hlen ? 0 : -1;
}

static int probe_trunc(int port)
{
	char status[128];
	int fd = tcp_connect(port);
	if (fd < 0 || send_request(fd, port, 1) != 0)
		return 1;
	usleep(50000);
	long cut = recv(fd, NULL, 5, MSG_TRUNC);
	long got = read_response(fd, 1, status, sizeof status);
	if (send_request(fd, port, 2) != 0)
		return 1;
	long got2 = read_response(fd, 1, status, sizeof status);
	printf("{\"discarded\":%ld,\"received\":%ld,\"received2\":%ld,\"status2\":\"%s\"}\n", cut,
	       got, got2, status);
	close(fd);
	return 0;
}

static int probe_reset(int port)
{
	int fds[3], devnull = open("/dev/null", O_RDONLY);
	for (int i = 0; i < 3; i++) {
		fds[i] = tcp_connect(port);
		if (fds[i] < 0 || send_request(fds[i], port, i) != 0)
			return 1;
	}
	usleep(50000); /* the replies arrive, unread */
	close(fds[0]);
	dup2(devnull, fds[1]);
	close(fds[1]);
	close_range((unsigned)fds[2], (unsigned)fds[2], 0);
	close(devnull);
	printf("reset done\n");
	return 0;
}

static int probe_vfork(int port)
{
	char status[128];
	int fd = tcp_connect(port);
	if (fd < 0 || send_request(fd, port, 7) != 0)
		return 1;
	pid_t pid = vfork();
	if (pid == 0) {
		close(fd); /* the child's own fd table: the parent's fd stays open */
		_exit(0);
	}
	long got = read_response(fd, 1, status, sizeof status);
	printf("{\"received\":%ld,\"status\":\"%s\"}\n", got, status);
	close(fd);
	return 0;
}

/* A timer signal every 50 us whose handler writes and reads a pipe: hooks
 * run inside a signal handler, interrupting hooks of the main flow. */
static int sig_pipe[2];

static void on_alarm(int sig)
{
	char c = 's';
	int saved = errno;
	(void)sig;
	if (write(sig_pipe[1], &c, 1) == 1 && read(sig_pipe[0], &c, 1) != 1)
		_exit(3);
	errno = saved;
}

static int probe_signal(int port)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	struct itimerval it = {{0, 50}, {0, 50}};
	if (pipe(sig_pipe) != 0)
		return 1;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	int rc = probe_http(port, 20);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	return rc;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "errno") == 0)
		return probe_errno(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "http") == 0)
		return probe_http(atoi(argv[2]), 2);
	if (argc == 3 && strcmp(argv[1], "signal") == 0)
		return probe_signal(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "reset") == 0)
		return probe_reset(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "trunc") == 0)
		return probe_trunc(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "vfork") == 0)
		return probe_vfork(atoi(argv[2]));
	fprintf(stderr, "usage: shim_probe errno CLOSED_PORT | http|reset|vfork PORT\n");
	return 2;
}
