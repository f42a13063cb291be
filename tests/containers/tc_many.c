/*
 * tc_many.c - more TCP connections at once than the shim's slot table holds
 * (FDT_SLOTS, 4096), to see the ones past it counted as untracked.
 *
 *   tc_many PAIRS   connect to itself PAIRS times over loopback, accepting
 *                   each (so 2 * PAIRS sockets, all open together), then
 *                   close them all; prints "PAIRS pairs"
 *
 * Both ends of a pair take a slot: with PAIRS > 2048 the last
 * 2 * PAIRS - 4096 connect/accept calls find the table full.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int pairs = argc == 2 ? atoi(argv[1]) : 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	struct rlimit rl;
	int *fds = calloc((size_t)pairs * 2, sizeof *fds);

	if (pairs <= 0 || fds == NULL) {
		fprintf(stderr, "usage: tc_many PAIRS\n");
		return 2;
	}
	/* room for every socket: raise the soft limit as far as it must go */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)(2 * pairs + 64)) {
		rl.rlim_cur = (rlim_t)(2 * pairs + 64);
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			perror("setrlimit (the hard limit is too low)");
			return 3;
		}
	}
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 64) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &len) != 0) {
		perror("listen");
		return 2;
	}
	for (int i = 0; i < pairs; i++) {
		fds[2 * i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[2 * i] < 0 || connect(fds[2 * i], (struct sockaddr *)&a, sizeof a) != 0 ||
		    (fds[2 * i + 1] = accept(ls, NULL, NULL)) < 0) {
			perror("connect/accept");
			return 2;
		}
	}
	for (int i = 0; i < 2 * pairs; i++)
		close(fds[i]);
	close(ls);
	printf("%d pairs\n", pairs);
	free(fds);
	return 0;
}
