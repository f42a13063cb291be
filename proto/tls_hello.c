/*
 * tls_hello.c - SNI from a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3).
 *
 *   record:    type 0x16 | version 0x03 0x0? | length (2)
 *   handshake: type 0x01 | length (3) | client_version (2) | random (32)
 *              | session_id <0..32> | cipher_suites <2..2^16-2>
 *              | compression_methods <1..2^8-1> | extensions <0..2^16-1>
 *   extension: type (2) | length (2) | data; server_name is type 0:
 *              list length (2) | name_type 0 (host_name) | length (2) | name
 *
 * Only the first record is read: a ClientHello split over records (rare:
 * > 16 KiB of extensions) reports PARTIAL. Every length is checked against
 * both its container and len before use.
 */
#include <string.h>

#include "tls_hello.h"

#define REC_HEADER 5
#define HS_HEADER 4
#define TLS_CONTENT_HANDSHAKE 0x16
#define TLS_EXT_SERVER_NAME 0x0000
#define TLS_SNI_HOST_NAME 0x00

static inline unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

int tls_handshake_type(const uint8_t *buf, size_t len)
{
	if (len < 1 || buf[0] != TLS_CONTENT_HANDSHAKE || (len >= 2 && buf[1] != 0x03) ||
	    (len >= 3 && buf[2] > 0x04))
		return -1;
	return len >= 6 ? buf[5] : 0;
}

int tls_hello_is_start(const uint8_t *buf, size_t len)
{
	int t = tls_handshake_type(buf, len);
	return t == 0 || t == TLS_HS_CLIENT_HELLO;
}

/* A cursor over [p, end): each take fails (returns NULL) past the end. */
struct cur {
	const uint8_t *p, *end;
};

static const uint8_t *take(struct cur *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return NULL;
	const uint8_t *at = c->p;
	c->p += n;
	return at;
}

/* A vector with a 1- or 2-byte length prefix: its bounds in *v. */
static int vec(struct cur *c, unsigned lenbytes, struct cur *v)
{
	const uint8_t *l = take(c, lenbytes);
	if (l == NULL)
		return 0;
	size_t n = lenbytes == 1 ? l[0] : be16(l);
	const uint8_t *d = take(c, n);
	if (d == NULL)
		return 0;
	v->p = d;
	v->end = d + n;
	return 1;
}

static int dns_char(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.' || ch == '_';
}

static enum tls_hello_result server_name(struct cur *ext, char *out, size_t cap)
{
	struct cur list, name;
	const uint8_t *type;
	if (!vec(ext, 2, &list))
		return TLS_HELLO_NO_SNI;
	while ((type = take(&list, 1)) != NULL) {
		if (!vec(&list, 2, &name))
			break;
		if (*type != TLS_SNI_HOST_NAME)
			continue;
		size_t n = 0;
		while (name.p + n < name.end && n + 1 < cap && dns_char(name.p[n]))
			n++;
		if (n == 0)
			break;
		memcpy(out, name.p, n);
		out[n] = '\0';
		return TLS_HELLO_SNI;
	}
	return TLS_HELLO_NO_SNI;
}

enum tls_hello_result tls_hello_sni(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	struct cur all = {buf, buf + len}, hs, body, skip, exts;
	const uint8_t *h;

	if (cap > 0)
		out[0] = '\0';
	if (!tls_hello_is_start(buf, len))
		return TLS_HELLO_NOT;
	if (len < REC_HEADER + HS_HEADER)
		return TLS_HELLO_PARTIAL;
	h = take(&all, REC_HEADER);
	size_t reclen = be16(h + 3);
	hs.p = all.p;
	hs.end = all.p + ((size_t)(all.end - all.p) < reclen ? (size_t)(all.end - all.p) : reclen);
	h = take(&hs, HS_HEADER);
	size_t hslen = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (hslen > (size_t)(hs.end - hs.p)) {
		/* the hello goes on beyond what we have (or beyond this record) */
		body.p = hs.p;
		body.end = hs.end;
	} else {
		body.p = hs.p;
		body.end = hs.p + hslen;
	}
	/* version, random, session_id, cipher_suites, compression_methods */
	if (take(&body, 2 + 32) == NULL || !vec(&body, 1, &skip) || !vec(&body, 2, &skip) ||
	    !vec(&body, 1, &skip))
		return TLS_HELLO_PARTIAL;
	if (body.p == body.end && hslen <= (size_t)(hs.end - hs.p))
		return TLS_HELLO_NO_SNI; /* no extensions at all */
	if (!vec(&body, 2, &exts))
		return hslen <= (size_t)(hs.end - hs.p) ? TLS_HELLO_NO_SNI : TLS_HELLO_PARTIAL;
	for (;;) {
		const uint8_t *t = take(&exts, 2);
		struct cur ext;
		if (t == NULL)
			return TLS_HELLO_NO_SNI;
		if (!vec(&exts, 2, &ext))
			return TLS_HELLO_NO_SNI;
		if (be16(t) == TLS_EXT_SERVER_NAME)
			return cap > 0 ? server_name(&ext, out, cap) : TLS_HELLO_NO_SNI;
	}
}
