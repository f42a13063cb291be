/*
 * tls_twin_ssl.c - a stand-in TLS library under OpenSSL's names, for the
 * "two copies of libssl in one process" test (a Python wheel bundling its
 * own libssl next to the system one). No crypto and no socket: SSL_write
 * keeps what it is given, SSL_read hands out a canned response. Its
 * struct ssl_st is not OpenSSL's: if the shim ever passed one of these to
 * the real libssl (or a real SSL * here), the process would crash.
 */
#include <stdlib.h>
#include <string.h>

#include "tls_twin.h"

struct ssl_st {
	unsigned magic;
	size_t sent;
	const char *resp;
	size_t resp_len, resp_off;
};

#define TWIN_MAGIC 0x7457494eu

SSL *twin_new(const char *resp)
{
	SSL *s = calloc(1, sizeof *s);
	if (s != NULL) {
		s->magic = TWIN_MAGIC;
		s->resp = resp;
		s->resp_len = strlen(resp);
	}
	return s;
}

size_t twin_sent(const SSL *s) { return s->sent; }

int SSL_write(SSL *s, const void *buf, int num)
{
	(void)buf;
	if (s->magic != TWIN_MAGIC)
		abort();
	s->sent += (size_t)num;
	return num;
}

int SSL_read(SSL *s, void *buf, int num)
{
	size_t n = s->resp_len - s->resp_off;
	if (s->magic != TWIN_MAGIC)
		abort();
	if (n > (size_t)num)
		n = (size_t)num;
	memcpy(buf, s->resp + s->resp_off, n);
	s->resp_off += n;
	return (int)n;
}

int SSL_get_fd(const SSL *s)
{
	if (s->magic != TWIN_MAGIC)
		abort();
	return -1;
}

void SSL_free(SSL *s)
{
	if (s != NULL && s->magic != TWIN_MAGIC)
		abort();
	free(s);
}
