/*
 * fdtable_opaque.c - connections the shim counts instead of parsing: a TLS
 * handshake seen on the raw socket calls (no TLS hook has shown its
 * plaintext, or none will: a static TLS library). Per slot, the SNI, who
 * reports, the start time and the bytes each way; raw_fast (fdtable.c)
 * adds to the counters without the slot's lock, and the connection's end
 * (or the process's exit: fdt_flush_opaque) reports them
 * (shim_cover_opaque).
 */
#include <time.h>

#include "fdtable_internal.h"
#include "tls_hello.h"

/* The first bytes fed on a connection start a TLS handshake record (hs:
 * its message type): from now on its bytes are counted, not parsed (we
 * hold the slot: BUSY). Usually our ClientHello (or, for a server, the
 * peer's): the SNI is read from that first buffer (a hello is written
 * whole; none: ""). A ServerHello first means the thread that wrote the
 * ClientHello has not reached its hook yet: the SNI is taken when it does
 * (fdt_opaque_late_hello). The TLS hooks may still show the plaintext (then
 * tls_install replaces this slot and nothing is reported). */
void fdt_opaque_start(struct fd_slot *s, enum conn_dir dir, const struct iovec *iov,
		      size_t total, int hs)
{
	struct fdt_opaque *o = &fdt_opaques[s - fdt_slots];
	struct timespec ts;
	size_t first = iov->iov_len < total ? iov->iov_len : total;
	bool client_hello = hs == 0 || hs == TLS_HS_CLIENT_HELLO;

	o->sni[0] = '\0';
	if (client_hello)
		(void)tls_hello_sni(iov->iov_base, first, o->sni, sizeof o->sni);
	/* who wrote the ClientHello is the client: source */
	if (client_hello)
		o->reporter = dir == CONN_DIR_OUT ? REC_REPORTER_SOURCE : REC_REPORTER_DESTINATION;
	else if (hs == TLS_HS_SERVER_HELLO)
		o->reporter = dir == CONN_DIR_IN ? REC_REPORTER_SOURCE : REC_REPORTER_DESTINATION;
	else
		o->reporter = conn_role_of(s->conn) == CONN_ROLE_SERVER ? REC_REPORTER_DESTINATION
									: REC_REPORTER_SOURCE;
	atomic_store_explicit(&o->sni_pending, !client_hello, memory_order_relaxed);
	clock_gettime(CLOCK_REALTIME, &ts);
	o->start_wall_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	o->start_mono_ns = shim_now_ns();
	atomic_store_explicit(&o->sent, dir == CONN_DIR_OUT ? total : 0, memory_order_relaxed);
	atomic_store_explicit(&o->received, dir == CONN_DIR_IN ? total : 0, memory_order_relaxed);
	/* release (in slot_release): the counters are set before another
	 * thread's raw_fast sees OPAQUE */
	atomic_fetch_or_explicit(&s->state, SLOT_F_OPAQUE, memory_order_relaxed);
	SHIM_DEBUG("fd %d: TLS handshake (sni \"%s\"%s): counted as opaque until a TLS hook reads it",
		   s->fd, o->sni, client_hello ? "" : ", ClientHello still to come");
}

/* The ClientHello of an opaque connection whose ServerHello came first:
 * the first thread to bring it claims the SNI's field. */
void fdt_opaque_late_hello(struct fdt_opaque *o, const struct iovec *iov, size_t total)
{
	size_t first = iov->iov_len < total ? iov->iov_len : total;
	uint8_t pending = 1;
	if (!tls_hello_is_start(iov->iov_base, first) ||
	    !atomic_compare_exchange_strong_explicit(&o->sni_pending, &pending, 0,
						     memory_order_relaxed, memory_order_relaxed))
		return;
	(void)tls_hello_sni(iov->iov_base, first, o->sni, sizeof o->sni);
}

void fdt_flush_opaque(void)
{
	if (atomic_load_explicit(&fdt_table, memory_order_acquire) == NULL)
		return;
	for (unsigned i = 0; i < FDT_SLOTS; i++) {
		uint64_t v = atomic_load_explicit(&fdt_slots[i].state, memory_order_acquire);
		/* claim the report with NOREPORT, so a close racing the exit
		 * cannot make a second one */
		while ((v & SLOT_F_USED) && (v & SLOT_F_OPAQUE) &&
		       !(v & (SLOT_F_NOREPORT | SLOT_F_INHERITED))) {
			if (atomic_compare_exchange_weak_explicit(&fdt_slots[i].state, &v,
								  v | SLOT_F_NOREPORT,
								  memory_order_acq_rel,
								  memory_order_acquire)) {
				SHIM_DEBUG("exit: opaque connection on fd %d still open, reported",
					   fdt_slots[i].fd);
				shim_cover_opaque(&fdt_slots[i], &fdt_opaques[i]);
				break;
			}
		}
	}
}
