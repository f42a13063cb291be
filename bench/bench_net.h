/*
 * bench_net.h - the loopback server plumbing the bench clients share
 * (compress_client.c, exchange_client.c): a listening socket whose port is
 * printed on stdout for the harness, and connections with Nagle off so
 * that every request and answer leaves in one write.
 */
#ifndef TOKENRING_BENCH_NET_H
#define TOKENRING_BENCH_NET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

/* Listen on 127.0.0.1, an ephemeral port, printed (and flushed); exits on failure. */
static inline int bench_listen(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 16) ||
	    getsockname(ls, (struct sockaddr *)&a, &al))
		exit(1);
	printf("%u\n", ntohs(a.sin_port));
	fflush(stdout);
	return ls;
}

/* The next connection, TCP_NODELAY set; -1 if accept failed. */
static inline int bench_accept(int ls)
{
	int fd = accept(ls, NULL, NULL), one = 1;
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* A connection to 127.0.0.1:port, TCP_NODELAY set; exits on failure. */
static inline int bench_connect(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof a))
		exit(1);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

#endif
