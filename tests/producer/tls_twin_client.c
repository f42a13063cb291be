/*
 * tls_twin_client.c - a module linked against the stand-in TLS library
 * (tls_twin_ssl.c), opened RTLD_LOCAL by tls_probe next to the real
 * libssl: its SSL_* calls reach the shim's hooks, which must call the
 * stand-in's functions, the ones this module's scope binds to.
 */
#include <string.h>

#include "tls_twin.h"

#define TWIN_BODY                                                                          \
	"{\"model\":\"twin-model\",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6," \
	"\"total_tokens\":11}}"

static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: twin.example\r\n"
			  "Content-Type: application/json\r\nContent-Length: 22\r\n\r\n"
			  "{\"model\":\"twin-model\"}";
static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			   "Content-Length: 90\r\n\r\n" TWIN_BODY;

_Static_assert(sizeof(TWIN_BODY) - 1 == 90, "Content-Length");

size_t twin_exchange(size_t *sent)
{
	char buf[64];
	size_t got = 0;
	int r;
	SSL *s = twin_new(resp);

	if (s == NULL || SSL_get_fd(s) != -1)
		return 0;
	SSL_write(s, req, 40);
	SSL_write(s, req + 40, (int)(sizeof req - 1 - 40));
	while ((r = SSL_read(s, buf, sizeof buf)) > 0)
		got += (size_t)r;
	*sent = twin_sent(s);
	SSL_free(s);
	return got;
}
