/* test_tls_hello.c - proto/tls_hello.c: the SNI of a ClientHello, at every
 * cut of the input (each prefix copied flush against the end of a buffer,
 * so an over-read is caught by ASan), and what is not a ClientHello. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tls_hello.h"

/* A ClientHello: record header, handshake header, version, random,
 * session id, 2 cipher suites, 1 compression method, extensions
 * (a padding-like unknown one, then server_name). */
static size_t make_hello(uint8_t *b, const char *host)
{
	size_t hl = strlen(host), n = 0, ext_at, hs_at;
	b[n++] = 0x16, b[n++] = 0x03, b[n++] = 0x01, n += 2; /* record, length later */
	hs_at = n;
	b[n++] = 0x01, n += 3;                                /* ClientHello, length later */
	b[n++] = 0x03, b[n++] = 0x03;
	memset(b + n, 0xab, 32), n += 32;                    /* random */
	b[n++] = 4, memset(b + n, 0xcd, 4), n += 4;          /* session id */
	b[n++] = 0, b[n++] = 4, b[n++] = 0x13, b[n++] = 0x01, b[n++] = 0x13, b[n++] = 0x02;
	b[n++] = 1, b[n++] = 0;                              /* compression: null */
	ext_at = n, n += 2;
	b[n++] = 0xfe, b[n++] = 0xfe, b[n++] = 0, b[n++] = 3, b[n++] = 1, b[n++] = 2, b[n++] = 3;
	b[n++] = 0, b[n++] = 0;                              /* server_name */
	b[n++] = (uint8_t)((hl + 5) >> 8), b[n++] = (uint8_t)(hl + 5);
	b[n++] = (uint8_t)((hl + 3) >> 8), b[n++] = (uint8_t)(hl + 3);
	b[n++] = 0, b[n++] = (uint8_t)(hl >> 8), b[n++] = (uint8_t)hl;
	memcpy(b + n, host, hl), n += hl;
	b[ext_at] = (uint8_t)((n - ext_at - 2) >> 8), b[ext_at + 1] = (uint8_t)(n - ext_at - 2);
	b[hs_at + 1] = 0, b[hs_at + 2] = (uint8_t)((n - hs_at - 4) >> 8), b[hs_at + 3] = (uint8_t)(n - hs_at - 4);
	b[3] = (uint8_t)((n - 5) >> 8), b[4] = (uint8_t)(n - 5);
	return n;
}

Test(tls_hello, whole_hello_gives_the_sni)
{
	uint8_t b[512];
	char out[256];
	size_t n = make_hello(b, "api.openai.com");
	cr_assert_eq(tls_hello_sni(b, n, out, sizeof out), TLS_HELLO_SNI);
	cr_assert_str_eq(out, "api.openai.com");
	cr_assert_eq(tls_handshake_type(b, n), TLS_HS_CLIENT_HELLO);
	cr_assert(tls_hello_is_start(b, n));
}

Test(tls_hello, every_prefix_is_partial_or_the_sni_never_more)
{
	uint8_t b[512];
	char out[256];
	size_t n = make_hello(b, "llm.example.test");
	for (size_t cut = 0; cut <= n; cut++) {
		uint8_t *p = malloc(cut ? cut : 1); /* flush against the allocation's end */
		memcpy(p, b, cut);
		enum tls_hello_result r = tls_hello_sni(p, cut, out, sizeof out);
		if (cut == n) {
			cr_assert_eq(r, TLS_HELLO_SNI);
			cr_assert_str_eq(out, "llm.example.test");
		} else if (cut == 0) {
			cr_assert_eq(r, TLS_HELLO_NOT);
		} else if (r == TLS_HELLO_SNI) {
			/* the name may end before the buffer does: never a made-up one */
			cr_assert(strncmp("llm.example.test", out, strlen(out)) == 0, "cut %zu", cut);
		} else {
			cr_assert(r == TLS_HELLO_PARTIAL || r == TLS_HELLO_NO_SNI, "cut %zu: %d", cut, r);
			cr_assert_str_eq(out, "");
		}
		free(p);
	}
}

Test(tls_hello, cut_at_the_caller_cap_and_only_dns_bytes)
{
	uint8_t b[512];
	char out[8];
	size_t n = make_hello(b, "averyveryverylong.host");
	cr_assert_eq(tls_hello_sni(b, n, out, sizeof out), TLS_HELLO_SNI);
	cr_assert_str_eq(out, "averyve");
	char big[64];
	n = make_hello(b, "evil\"host\n{}");
	cr_assert_eq(tls_hello_sni(b, n, big, sizeof big), TLS_HELLO_SNI);
	cr_assert_str_eq(big, "evil"); /* a label value never carries a quote or newline */
}

Test(tls_hello, not_a_client_hello)
{
	char out[64];
	static const uint8_t http[] = "POST / HTTP/1.1\r\n";
	static const uint8_t server_hello[] = {0x16, 0x03, 0x03, 0x00, 0x40, 0x02, 0, 0, 0x3c};
	static const uint8_t app_data[] = {0x17, 0x03, 0x03, 0x00, 0x10};
	cr_assert_eq(tls_hello_sni(http, sizeof http - 1, out, sizeof out), TLS_HELLO_NOT);
	cr_assert_eq(tls_hello_sni(server_hello, sizeof server_hello, out, sizeof out), TLS_HELLO_NOT);
	cr_assert_eq(tls_handshake_type(server_hello, sizeof server_hello), TLS_HS_SERVER_HELLO);
	cr_assert_eq(tls_handshake_type(app_data, sizeof app_data), -1);
	cr_assert_eq(tls_handshake_type(http, sizeof http - 1), -1);
}

Test(tls_hello, hello_without_extensions_has_no_sni)
{
	uint8_t b[512];
	char out[64];
	size_t n = make_hello(b, "x.test");
	/* cut the extensions off and fix the lengths */
	size_t body = 2 + 32 + 1 + 4 + 2 + 4 + 2;
	b[6] = 0, b[7] = 0, b[8] = (uint8_t)body;
	b[3] = 0, b[4] = (uint8_t)(body + 4);
	n = 5 + 4 + body;
	cr_assert_eq(tls_hello_sni(b, n, out, sizeof out), TLS_HELLO_NO_SNI);
	cr_assert_str_eq(out, "");
}
