/*
 * tls_hello.h - the server name (SNI) of a TLS ClientHello, read from the
 * first bytes a client writes on a connection: what the shim can say about
 * a TLS connection whose plaintext it never sees (docs/containers.md).
 * Pure: no allocation, no I/O; bounded by the input length; never reads
 * past len.
 */
#ifndef TOKENRING_TLS_HELLO_H
#define TOKENRING_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

enum tls_hello_result {
	TLS_HELLO_NOT = 0,     /* not the start of a TLS ClientHello */
	TLS_HELLO_SNI = 1,     /* a ClientHello with a host_name: copied to out */
	TLS_HELLO_NO_SNI = 2,  /* a whole ClientHello without one */
	TLS_HELLO_PARTIAL = 3, /* a ClientHello's start; its SNI is beyond len */
};

/* Does buf start like a TLS handshake record carrying a ClientHello? (Its
 * first 6 bytes; fewer than 6: whatever they allow.) */
int tls_hello_is_start(const uint8_t *buf, size_t len);

#define TLS_HS_CLIENT_HELLO 1
#define TLS_HS_SERVER_HELLO 2

/* The handshake message type that starts a TLS handshake record at buf
 * (TLS_HS_CLIENT_HELLO, TLS_HS_SERVER_HELLO, ...), 0 if buf is too short to
 * hold it, -1 if buf does not start a TLS handshake record. */
int tls_handshake_type(const uint8_t *buf, size_t len);

/*
 * Find the SNI host_name in the ClientHello at buf (the first TLS record,
 * or the records that hold it, as written). On TLS_HELLO_SNI the name is
 * copied to out (cap bytes, NUL-terminated; cut at cap - 1, and only bytes
 * of a DNS name are kept: anything else ends it). out is "" otherwise.
 */
enum tls_hello_result tls_hello_sni(const uint8_t *buf, size_t len, char *out, size_t cap);

#endif
