/* tls_twin.h - the stand-in TLS library of the two-copies test
 * (tls_twin_ssl.c) and the module that uses it (tls_twin_client.c). */
#ifndef TLS_TWIN_H
#define TLS_TWIN_H

#include <stddef.h>

typedef struct ssl_st SSL;

SSL *twin_new(const char *resp);
size_t twin_sent(const SSL *s);
int SSL_write(SSL *s, const void *buf, int num);
int SSL_read(SSL *s, void *buf, int num);
int SSL_get_fd(const SSL *s);
void SSL_free(SSL *s);

/* tls_twin_client.c: one exchange over a twin session; returns the
 * response bytes read, sets *sent to the request bytes written. */
size_t twin_exchange(size_t *sent);

#endif
