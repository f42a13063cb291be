/* shim_early_ctor.c - a preloaded library whose constructor makes an LLM
 * request before libtokenring.so's own constructor has run (it is loaded
 * after the shim in LD_PRELOAD, so the ELF init order runs it first): the
 * shim must initialise lazily inside the hooked calls and still record the
 * exchange. Port from SHIM_EARLY_PORT; prints "early: ..." lines to stderr
 * around the request so the test can see the order. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void say(const char *s)
{
	if (write(2, s, strlen(s)) < 0)
		_exit(3);
}

__attribute__((constructor)) static void early_request(void)
{
	const char *port = getenv("SHIM_EARLY_PORT");
	char req[256], buf[4096];
	struct sockaddr_in a = {.sin_family = AF_INET};
	if (port == NULL)
		return;
	say("early: start\n");
	a.sin_port = htons((uint16_t)atoi(port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		_exit(4);
	int n = snprintf(req, sizeof req,
			 "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n"
			 "Connection: close\r\nx-request-id: early-1\r\nContent-Length: 17\r\n\r\n"
			 "{\"model\":\"early\"}",
			 port);
	if (write(fd, req, (size_t)n) != n)
		_exit(5);
	while (read(fd, buf, sizeof buf) > 0)
		;
	close(fd);
	say("early: done\n");
}
