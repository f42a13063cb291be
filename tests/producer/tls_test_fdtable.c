/* tls_test_fdtable.c - the fd table's TLS entry points without LD_PRELOAD:
 * plaintext fed after the ciphertext made the fd opaque becomes a TLS slot
 * whose records carry REC_F_TLS; the raw ciphertext is then skipped (never
 * counted twice); non-HTTP plaintext marks the fd PASS_TLS; ending a
 * session checks the fd still holds it; sessions with no socket get a
 * detached slot; the TLS-call watch notes the fd the call did I/O on. */
#include <criterion/criterion.h>

#include "shim_test_util.h"

static const char tls_hello[] = "\x16\x03\x01\x00\x05\x01hell"; /* a ClientHello's start */

static void tls_setup(void)
{
	int rc = test_ring_setup();
	cr_assert_eq(rc, 0);
}

TestSuite(tls_fdtable, .init = tls_setup, .fini = test_ring_teardown);

static void feed_tls(int fd, enum conn_dir dir, const char *s, uint64_t *entry)
{
	*entry = fdt_tls_feed(fd, dir, s, strlen(s));
}

/* A client fd whose handshake went through the raw hooks: ciphertext seen
 * (an opaque slot until the TLS hooks show its plaintext). */
static int tls_client(int *server)
{
	int c, rc = tcp_pair(&c, server);
	cr_assert_eq(rc, 0);
	fdt_track(c, NULL, 0, CONN_ROLE_CLIENT);
	feed_str(c, CONN_DIR_OUT, tls_hello);
	cr_assert(fdt_ciphertext_seen(c));
	return c;
}

Test(tls_fdtable, plaintext_after_ciphertext_is_one_tls_record)
{
	struct tr_record out[4];
	uint64_t e1, e2;
	int s, c = tls_client(&s);

	feed_tls(c, CONN_DIR_OUT, req, &e1);
	cr_assert_geq((uint32_t)e1, FDT_SLOT0);
	cr_assert_eq(entry_of(c), e1);
	/* ciphertext the raw hooks see now is skipped, not parsed as HTTP */
	feed_str(c, CONN_DIR_IN, "\x17\x03\x03\x00\x20 encrypted bytes");
	cr_assert_eq(entry_of(c), e1);
	feed_tls(c, CONN_DIR_IN, resp, &e2);
	cr_assert_eq(e2, e1);
	size_t got = drain(out, 4);
	cr_assert_eq(got, 1);
	cr_assert_eq(out[0].flags & REC_F_TLS, REC_F_TLS);
	cr_assert_str_eq(out[0].request_model, "m-fd");
	cr_assert_eq(out[0].total_tokens, 7);
	cr_assert_eq(out[0].req_bytes, strlen(req));
	cr_assert_eq(out[0].resp_bytes, strlen(resp));
	cr_assert_eq(out[0].reporter, REC_REPORTER_SOURCE);
	cr_assert_eq(out[0].peer.family, 4);
	close(c);
	close(s);
}

Test(tls_fdtable, close_mid_exchange_emits_with_tls_flag)
{
	struct tr_record out[4];
	uint64_t e;
	int s, c = tls_client(&s);

	feed_tls(c, CONN_DIR_OUT, req, &e);
	fdt_reset(c); /* close() */
	cr_assert_eq(entry_of(c), FDT_UNKNOWN);
	size_t got = drain(out, 4);
	cr_assert_eq(got, 1);
	cr_assert_eq(out[0].flags & (REC_F_TLS | REC_F_NO_RESPONSE),
		     REC_F_TLS | REC_F_NO_RESPONSE);
	close(c);
	close(s);
}

Test(tls_fdtable, end_checks_the_fd_still_holds_the_session)
{
	struct tr_record out[4];
	uint64_t e, e2;
	int s, c = tls_client(&s);

	feed_tls(c, CONN_DIR_OUT, req, &e);
	fdt_reset(c); /* closed: the number now means another connection */
	cr_assert_eq(drain(out, 4), 1);
	fdt_track(c, NULL, 0, CONN_ROLE_CLIENT);
	feed_str(c, CONN_DIR_OUT, req); /* plain HTTP on the reused number */
	fdt_tls_end(c, e, false);        /* SSL_free of the old session */
	cr_assert_eq(drain(out, 4), 0, "the new connection's exchange must go on");
	feed_str(c, CONN_DIR_IN, resp);
	cr_assert_eq(drain(out, 4), 1);
	cr_assert_eq(out[0].flags & REC_F_TLS, 0);
	/* and on a live session, ending it emits what is in flight */
	fdt_reset(c);
	feed_str(c, CONN_DIR_OUT, tls_hello);
	feed_tls(c, CONN_DIR_OUT, req, &e2);
	fdt_tls_end(c, e2, false);
	cr_assert_eq(drain(out, 4), 1);
	cr_assert_eq(out[0].flags & (REC_F_TLS | REC_F_CONN_CLOSED),
		     REC_F_TLS | REC_F_CONN_CLOSED);
	close(c);
	close(s);
}

Test(tls_fdtable, non_http_plaintext_marks_the_fd_pass_tls)
{
	struct tr_record out[4];
	uint64_t e;
	int s, c = tls_client(&s);

	feed_tls(c, CONN_DIR_OUT, "\x01 a binary protocol", &e);
	cr_assert_eq(entry_of(c), FDT_PASS_TLS);
	cr_assert(!fdt_maybe_tracked(c), "raw hooks: one load, as any PASS");
	feed_tls(c, CONN_DIR_OUT, req, &e);
	cr_assert_eq(e, 0);
	cr_assert_eq(drain(out, 4), 0);
	fdt_reset(c);
	cr_assert_eq(entry_of(c), FDT_UNKNOWN);
	close(c);
	close(s);
}

Test(tls_fdtable, non_tcp_fd_is_never_probed_again)
{
	int un[2];
	uint64_t e;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, un), 0);
	feed_tls(un[0], CONN_DIR_OUT, req, &e);
	cr_assert_eq(e, 0);
	cr_assert_eq(entry_of(un[0]), FDT_PASS_TLS);
	close(un[0]);
	close(un[1]);
}

Test(tls_fdtable, detached_session_has_its_own_slot)
{
	struct tr_record out[4];
	uint64_t e = fdt_tls_detached_feed(0, CONN_DIR_OUT, req, strlen(req));
	cr_assert_geq((uint32_t)e, FDT_SLOT0);
	cr_assert_eq(fdt_tls_detached_feed(e, CONN_DIR_IN, resp, strlen(resp)), e);
	cr_assert_eq(drain(out, 4), 1);
	cr_assert_eq(out[0].flags & REC_F_TLS, REC_F_TLS);
	cr_assert_eq(out[0].local.family, 0);
	cr_assert_eq(out[0].peer.family, 0);
	cr_assert_eq(out[0].total_tokens, 7);
	/* a request in flight when the session is freed: emitted, slot freed */
	cr_assert_eq(fdt_tls_detached_feed(e, CONN_DIR_OUT, req, strlen(req)), e);
	fdt_tls_detached_end(e, false, true);
	cr_assert_eq(drain(out, 4), 1);
	cr_assert_eq(out[0].flags & REC_F_NO_RESPONSE, REC_F_NO_RESPONSE);
	cr_assert_eq(fdt_tls_detached_feed(e, CONN_DIR_OUT, req, strlen(req)), FDT_PASS_TLS,
		     "a freed slot is never fed again, nor replaced mid-stream");
	/* non-HTTP plaintext: PASS_TLS, nothing more is parsed */
	e = fdt_tls_detached_feed(0, CONN_DIR_OUT, "\x00\x01binary", 8);
	cr_assert_eq(e, FDT_PASS_TLS);
	cr_assert_eq(fdt_tls_detached_feed(e, CONN_DIR_OUT, req, strlen(req)), FDT_PASS_TLS);
	cr_assert_eq(drain(out, 4), 0);
}

Test(tls_fdtable, watch_notes_the_fd_a_tls_call_used)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(fdt_tls_seen, 0);
	(void)fdt_maybe_tracked(p[1]); /* outside a TLS call: nothing noted */
	cr_assert_eq(fdt_tls_seen, 0);
	fdt_tls_seen = -1; /* what a TLS hook does around the real call */
	(void)fdt_maybe_tracked(p[1]);
	cr_assert_eq(fdt_tls_seen, p[1] + 1);
	fdt_tls_seen = 0;
	close(p[0]);
	close(p[1]);
}

Test(tls_fdtable, http2_inside_tls_gives_no_record)
{
	/* curl prefers h2 when the server offers it over ALPN: the plaintext
	 * is the HTTP/2 connection preface and binary frames. */
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static const char frame[] = "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
	struct tr_record out[4];
	uint64_t e;
	int s, c = tls_client(&s);

	feed_tls(c, CONN_DIR_OUT, preface, &e);
	e = fdt_tls_feed(c, CONN_DIR_OUT, frame, sizeof frame - 1);
	e = fdt_tls_feed(c, CONN_DIR_IN, frame, sizeof frame - 1);
	fdt_reset(c);
	cr_assert_eq(drain(out, 4), 0);
	close(c);
	close(s);
}
