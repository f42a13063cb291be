/*
 * tls_probe.c - drives OpenSSL's plaintext calls the unusual ways, for the
 * TLS integration test (run under LD_PRELOAD=libtokenring.so).
 *
 *   tls_probe PORT [TWIN_MODULE]
 *
 * Two TLS sessions to 127.0.0.1:PORT, two POSTs on each (keep-alive):
 *   - session 1 on a socket BIO (SSL_set_fd: SSL_get_fd names the socket),
 *   - session 2 on a BIO of our own that calls send/recv (as curl's
 *     OpenSSL backend does: SSL_get_fd is -1).
 * On each, request 1 goes out with SSL_write in 7-byte pieces and its
 * response is read with an SSL_peek before every 1-byte SSL_read (most
 * reads return bytes decrypted earlier, with no socket I/O at all);
 * request 2 goes out with one SSL_write_ex and comes back through
 * SSL_peek_ex + SSL_read_ex. Prints one JSON line per request: the
 * plaintext bytes sent and received, and the response's status line.
 *
 * With TWIN_MODULE (tls_twin_client.so): only session 1, then the module
 * is opened RTLD_LOCAL and runs one exchange over a stand-in TLS library
 * with OpenSSL's names (a second "libssl" in the process, as a Python
 * wheel bundles): one more line, {"twin_sent":N,"twin_received":M}.
 */
#include <dlfcn.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIECE 7
#define RESP_MAX 65536

static void die(const char *what)
{
	fprintf(stderr, "tls_probe: %s\n", what);
	exit(1);
}

/* ---- a BIO that is not a socket BIO: send/recv on an fd it keeps ---- */

static int own_write(BIO *b, const char *buf, int len)
{
	ssize_t r = send((int)(intptr_t)BIO_get_data(b), buf, (size_t)len, 0);
	return r < 0 ? -1 : (int)r;
}

static int own_read(BIO *b, char *buf, int len)
{
	ssize_t r = recv((int)(intptr_t)BIO_get_data(b), buf, (size_t)len, 0);
	return r < 0 ? -1 : (int)r;
}

static long own_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int own_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO *own_bio(int fd)
{
	static BIO_METHOD *m;
	BIO *b;
	if (m == NULL) {
		m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tls-probe");
		if (m == NULL)
			die("BIO_meth_new");
		BIO_meth_set_write(m, own_write);
		BIO_meth_set_read(m, own_read);
		BIO_meth_set_ctrl(m, own_ctrl);
		BIO_meth_set_create(m, own_create);
	}
	b = BIO_new(m);
	if (b == NULL)
		die("BIO_new");
	BIO_set_data(b, (void *)(intptr_t)fd);
	return b;
}

/* ---- requests ---- */

static int tcp_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect");
	return fd;
}

static size_t make_request(char *out, size_t cap, int port, int n)
{
	char body[256];
	int blen = snprintf(body, sizeof body,
			    "{\"model\":\"probe-%d\",\"messages\":[{\"role\":\"user\","
			    "\"content\":\"%.*s\"}]}",
			    n, n * 2, "a a a a a a a a a a a a a a a a");
	int len = snprintf(out, cap,
			   "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			   "User-Agent: tls-probe/1\r\nContent-Type: application/json\r\n"
			   "x-request-id: tls-probe-%d\r\nContent-Length: %d\r\n\r\n%s",
			   port, n, blen, body);
	return (size_t)len;
}

/* Bytes of a complete response in buf[0..len), or 0 while incomplete
 * (the test server always sends Content-Length on non-streamed replies). */
static size_t response_end(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	const char *cl;
	if (end == NULL)
		return 0;
	cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
	if (cl == NULL)
		die("no Content-Length");
	size_t total = (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10);
	return len >= total ? total : 0;
}

static void report(size_t sent, const char *resp, size_t received)
{
	const char *eol = memmem(resp, received, "\r\n", 2);
	printf("{\"sent\":%zu,\"received\":%zu,\"status\":\"%.*s\"}\n", sent, received,
	       eol ? (int)(eol - resp) : 0, resp);
}

/* Request 1: 7-byte SSL_writes; SSL_peek, then a 1-byte SSL_read. */
static void exchange_small(SSL *ssl, int port, int n)
{
	static char req[1024], resp[RESP_MAX];
	size_t len = make_request(req, sizeof req, port, n), got = 0;
	char peek[16];

	for (size_t off = 0; off < len;) {
		int w = SSL_write(ssl, req + off, (int)(len - off < PIECE ? len - off : PIECE));
		if (w <= 0)
			die("SSL_write");
		off += (size_t)w;
	}
	while (response_end(resp, got) == 0) {
		if (got >= sizeof resp || SSL_peek(ssl, peek, sizeof peek) <= 0 ||
		    SSL_read(ssl, resp + got, 1) != 1)
			die("SSL_peek/SSL_read");
		got++;
	}
	report(len, resp, got);
}

/* Request 2: one SSL_write_ex; SSL_peek_ex, then SSL_read_ex. */
static void exchange_ex(SSL *ssl, int port, int n)
{
	static char req[1024], resp[RESP_MAX];
	size_t len = make_request(req, sizeof req, port, n), got = 0, w = 0, r;
	char peek[64];

	if (SSL_write_ex(ssl, req, len, &w) != 1 || w != len)
		die("SSL_write_ex");
	while (response_end(resp, got) == 0) {
		if (got + 100 > sizeof resp || SSL_peek_ex(ssl, peek, sizeof peek, &r) != 1 ||
		    SSL_read_ex(ssl, resp + got, 100, &r) != 1)
			die("SSL_peek_ex/SSL_read_ex");
		got += r;
	}
	report(len, resp, got);
}

static void session(SSL_CTX *ctx, int port, int own, int first)
{
	int fd = tcp_connect(port);
	SSL *ssl = SSL_new(ctx);
	if (ssl == NULL)
		die("SSL_new");
	if (own) {
		BIO *b = own_bio(fd);
		SSL_set_bio(ssl, b, b);
	} else if (SSL_set_fd(ssl, fd) != 1) {
		die("SSL_set_fd");
	}
	if (SSL_connect(ssl) != 1)
		die("SSL_connect");
	exchange_small(ssl, port, first);
	exchange_ex(ssl, port, first + 1);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
}

int main(int argc, char **argv)
{
	SSL_CTX *ctx;
	int port;

	if (argc != 2 && argc != 3)
		die("usage: tls_probe PORT [TWIN_MODULE]");
	port = atoi(argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		die("SSL_CTX_new");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* self-signed test server */
	session(ctx, port, 0, 1);
	if (argc == 3) {
		void *m = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
		size_t (*twin)(size_t *) = m ? (size_t(*)(size_t *))dlsym(m, "twin_exchange") : NULL;
		size_t sent = 0, got;
		if (twin == NULL)
			die(dlerror());
		got = twin(&sent);
		printf("{\"twin_sent\":%zu,\"twin_received\":%zu}\n", sent, got);
	} else {
		session(ctx, port, 1, 3);
	}
	SSL_CTX_free(ctx);
	return 0;
}
