/* test_shim_fdtable.c - the fd table and connection slots without
 * LD_PRELOAD: classification of fd kinds, a full exchange from feed to a
 * ring record with addresses and producer identity, close/close_range
 * resets ending exchanges in flight, non-HTTP connections given up.
 * (Two threads on one fd: shim_fdtable_stress.c, also run under TSan.) */
#include <criterion/criterion.h>

#include "record_event.h"
#include "shim_test_util.h"

static void fdtable_setup(void)
{
	int rc = test_ring_setup();
	cr_assert_eq(rc, 0);
}

TestSuite(fdtable, .init = fdtable_setup, .fini = test_ring_teardown);

Test(fdtable, non_tcp_fds_are_classified_once_as_pass)
{
	int p[2], u = socket(AF_INET, SOCK_DGRAM, 0), un[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, un), 0);
	feed_str(p[0], CONN_DIR_IN, "GET / HTTP/1.1\r\n\r\n");
	feed_str(u, CONN_DIR_OUT, "GET / HTTP/1.1\r\n\r\n");
	feed_str(un[0], CONN_DIR_OUT, "GET / HTTP/1.1\r\n\r\n");
	cr_assert_eq(entry_of(p[0]), FDT_PASS);
	cr_assert_eq(entry_of(u), FDT_PASS);
	cr_assert_eq(entry_of(un[0]), FDT_PASS);
	cr_assert(!fdt_maybe_tracked(p[0]));
	fdt_reset(p[0]);
	cr_assert_eq(entry_of(p[0]), FDT_UNKNOWN);
}

Test(fdtable, exchange_becomes_one_record_with_addresses)
{
	int c, s;
	struct tr_record out[4];
	struct sockaddr_in local, peer;
	socklen_t len = sizeof local;

	int rc = tcp_pair(&c, &s);
	cr_assert_eq(rc, 0);
	getsockname(c, (struct sockaddr *)&local, &len);
	len = sizeof peer;
	getpeername(c, (struct sockaddr *)&peer, &len);
	fdt_track(c, (struct sockaddr *)&peer, sizeof peer, CONN_ROLE_CLIENT);
	cr_assert_geq((uint32_t)entry_of(c), FDT_SLOT0);
	feed_str(c, CONN_DIR_OUT, req);
	feed_str(c, CONN_DIR_IN, resp);
	size_t got = drain(out, 4);
	cr_assert_eq(got, 1);
	cr_assert_str_eq(out[0].method, "POST");
	cr_assert_str_eq(out[0].request_id, "r1");
	cr_assert_eq(out[0].status, 200);
	cr_assert_eq(out[0].total_tokens, 7);
	cr_assert_eq(out[0].req_bytes, strlen(req));
	cr_assert_eq(out[0].resp_bytes, strlen(resp));
	cr_assert_eq(out[0].reporter, REC_REPORTER_SOURCE);
	cr_assert_eq(out[0].pid, (uint32_t)getpid());
	cr_assert_eq(out[0].local.family, 4);
	cr_assert_eq(out[0].local.port, ntohs(local.sin_port));
	cr_assert_eq(out[0].peer.port, ntohs(peer.sin_port));
	cr_assert_eq(memcmp(out[0].peer.addr, &peer.sin_addr, 4), 0);
	const struct ring_producer *p = ring_producer_lookup(&consumer, out[0].producer,
							     out[0].producer_gen);
	cr_assert_not_null(p);
	cr_assert_eq(p->pid, (uint32_t)getpid());
}

Test(fdtable, server_side_is_classified_lazily)
{
	int c, s;
	struct tr_record out[4];
	struct sockaddr_in local;
	socklen_t len = sizeof local;
	int rc = tcp_pair(&c, &s);
	cr_assert_eq(rc, 0);
	getsockname(s, (struct sockaddr *)&local, &len);
	/* never seen at accept: the first read classifies it */
	feed_str(s, CONN_DIR_IN, req);
	feed_str(s, CONN_DIR_OUT, resp);
	size_t got = drain(out, 4);
	cr_assert_eq(got, 1);
	cr_assert_eq(out[0].reporter, REC_REPORTER_DESTINATION);
	cr_assert_eq(out[0].local.port, ntohs(local.sin_port));
	cr_assert_neq(out[0].peer.port, 0);
	cr_assert_str_eq(out[0].request_model, "m-fd");
}

Test(fdtable, reset_and_range_reset_end_exchanges_in_flight)
{
	int c1 = -1, s1 = -1, c2 = -1, s2 = -1;
	struct tr_record out[4];
	int rc1 = tcp_pair(&c1, &s1), rc2 = tcp_pair(&c2, &s2);
	cr_assert_eq(rc1 + rc2, 0);
	fdt_track(c1, NULL, 0, CONN_ROLE_CLIENT);
	fdt_track(c2, NULL, 0, CONN_ROLE_CLIENT);
	feed_str(c1, CONN_DIR_OUT, req);
	feed_str(c2, CONN_DIR_OUT, req);
	fdt_reset(c1);
	cr_assert_eq(entry_of(c1), FDT_UNKNOWN);
	fdt_reset_range((unsigned)c2, (unsigned)c2);
	cr_assert_eq(entry_of(c2), FDT_UNKNOWN);
	size_t got = drain(out, 4);
	cr_assert_eq(got, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(out[i].status, 0);
		cr_assert(out[i].flags & REC_F_CONN_CLOSED);
		cr_assert(out[i].flags & REC_F_NO_RESPONSE);
	}
}

Test(fdtable, non_http_first_byte_frees_the_slot)
{
	int c, s;
	int rc = tcp_pair(&c, &s);
	cr_assert_eq(rc, 0);
	fdt_track(c, NULL, 0, CONN_ROLE_CLIENT);
	feed_str(c, CONN_DIR_OUT, "*1\r\n$4\r\nPING\r\n"); /* Redis */
	cr_assert_eq(entry_of(c), FDT_PASS);
	cr_assert(!fdt_maybe_tracked(c));
}

/* A TLS ClientHello first: the connection is counted, not parsed, and its
 * end is one opaque event with the bytes each way (docs/containers.md). */
Test(fdtable, client_hello_first_counts_an_opaque_connection)
{
	static const char hello[] = "\x16\x03\x01\x00\x05\x01hell"; /* record + ClientHello type */
	union rec_entry out[4];
	int c, s;
	int rc = tcp_pair(&c, &s);
	cr_assert_eq(rc, 0);
	fdt_track(c, NULL, 0, CONN_ROLE_CLIENT);
	feed_str(c, CONN_DIR_OUT, hello);
	cr_assert_geq((uint32_t)entry_of(c), FDT_SLOT0);
	cr_assert(fdt_ciphertext_seen(c));
	feed_str(c, CONN_DIR_IN, "\x16\x03\x03 server flight");
	feed_str(c, CONN_DIR_OUT, "\x17\x03\x03 app data");
	fdt_reset(c);
	size_t got = drain(&out[0].exchange, 4);
	cr_assert_eq(got, 1);
	cr_assert_eq(out[0].event.kind, REC_KIND_EVENT);
	cr_assert_eq(out[0].event.type, REC_EVENT_OPAQUE_TLS);
	cr_assert_eq(out[0].event.reporter, REC_REPORTER_SOURCE);
	cr_assert_eq(out[0].event.bytes_sent, strlen(hello) + strlen("\x17\x03\x03 app data"));
	cr_assert_eq(out[0].event.bytes_received, strlen("\x16\x03\x03 server flight"));
	cr_assert_str_eq(out[0].event.sni, ""); /* this hello is cut short: no SNI */
	cr_assert_eq(out[0].event.count, 1);
	close(c);
	close(s);
}

Test(fdtable, parser_giving_up_passes_the_fd_through)
{
	int c, s;
	struct tr_record out[2];
	int rc = tcp_pair(&c, &s);
	cr_assert_eq(rc, 0);
	fdt_track(c, NULL, 0, CONN_ROLE_CLIENT);
	/* an upper-case first byte, but the server speaks first (SSH) */
	feed_str(c, CONN_DIR_IN, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	cr_assert_eq(entry_of(c), FDT_PASS);
	feed_str(c, CONN_DIR_OUT, "SSH-2.0-client\r\n");
	cr_assert_eq(drain(out, 2), 0);
}
