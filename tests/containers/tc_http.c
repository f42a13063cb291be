/*
 * tc_http.c - a minimal LLM client and server in plain C, built twice by
 * tests/containers (with gcc against glibc, with musl-gcc against musl) so
 * the same program runs under each C library with each build of the shim.
 *
 *   tc_http server N      listen on 127.0.0.1:0, print "listening on PORT",
 *                         answer N chat requests (one per connection), exit
 *   tc_http client PORT N send N chat requests, one connection each, and
 *                         print each response body on a line
 *
 * What it prints depends on nothing but the exchange, so a run under a
 * shim that steps aside can be compared byte for byte with a run without.
 * send/recv on the client, read/write on the server: both families hooked.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MODEL "tc-model"
#define BODY_FMT "{\"model\":\"" MODEL "\",\"messages\":[{\"role\":\"user\",\"content\":\"q%d\"}]}"
#define RESP_FMT                                                                           \
	"{\"id\":\"r%d\",\"object\":\"chat.completion\",\"model\":\"" MODEL "\","          \
	"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"a%d\"}," \
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%d,"                   \
	"\"completion_tokens\":%d,\"total_tokens\":%d}}"

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* Read one HTTP message (head + Content-Length body) into buf. */
static size_t read_message(int fd, char *buf, size_t cap, int use_recv)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = use_recv ? recv(fd, buf + got, cap - 1 - got, 0)
				     : read(fd, buf + got, cap - 1 - got);
		if (n <= 0)
			die("read");
		got += (size_t)n;
		buf[got] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end == NULL)
			continue;
		char *cl = strstr(buf, "Content-Length: ");
		size_t need = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
		if (got >= need)
			return got;
	}
}

#ifndef TC_HTTP_LIB
static int server(int n)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	char req[4096], body[1024], resp[2048];

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 16) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &len) != 0)
		die("listen");
	printf("listening on %d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			die("accept");
		read_message(c, req, sizeof req, 0);
		int bl = snprintf(body, sizeof body, RESP_FMT, i, i, 10 + i, 20 + i, 30 + 2 * i);
		int rl = snprintf(resp, sizeof resp,
				  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				  "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
				  bl, body);
		if (write(c, resp, (size_t)rl) != rl)
			die("write");
		close(c);
	}
	close(ls);
	return 0;
}
#endif

#ifdef TC_HTTP_LIB
/* Built into libtc_deep_a.so (deep_main.c): the client, called from a
 * library opened with RTLD_DEEPBIND. */
int tc_http_client(int port, int n);
int tc_http_client(int port, int n)
#else
static int client(int port, int n)
#endif
{
	char body[512], req[1024], resp[4096];
	for (int i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
			die("connect");
		int bl = snprintf(body, sizeof body, BODY_FMT, i);
		int rl = snprintf(req, sizeof req,
				  "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				  "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				  port, bl, body);
		if (send(s, req, (size_t)rl, 0) != rl)
			die("send");
		read_message(s, resp, sizeof resp, 1);
		printf("%s\n", strstr(resp, "\r\n\r\n") + 4);
		close(s);
	}
	return 0;
}

#ifndef TC_HTTP_LIB
int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "server") == 0)
		return server(atoi(argv[2]));
	if (argc == 4 && strcmp(argv[1], "client") == 0)
		return client(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: tc_http server N | client PORT N\n");
	return 2;
}
#endif
