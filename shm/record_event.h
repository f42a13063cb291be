/*
 * record_event.h - ring entries of kind REC_KIND_EVENT: what the shim saw
 * but could not read, so a dashboard can tell "no LLM traffic" from
 * "traffic we cannot read" (docs/containers.md).
 *
 *   REC_EVENT_OPAQUE_TLS   one TLS connection whose plaintext no hook saw
 *                          (a runtime with its own TLS: Node, Java, rustls):
 *                          the server name from its ClientHello (SNI, never
 *                          more of the handshake), bytes each way, one entry
 *                          when the connection ends
 *   REC_EVENT_UNREADABLE   this process cannot be read at all (reason: a Go
 *                          binary, which makes its own system calls); once
 *                          per process
 *   REC_EVENT_UNTRACKED    a connection passed through untracked (reason:
 *                          the slot table was full, or its fd was >= 2^20);
 *                          one entry per connection
 *
 * Same REC_SIZE slot as struct tr_record, same control line (seq,
 * checksum), and the fields the ring and the daemon read from every entry
 * (pid, producer, producer_gen, kind) at the same offsets: pinned below.
 */
#ifndef TOKENRING_RECORD_EVENT_H
#define TOKENRING_RECORD_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define REC_SNI_LEN 256 /* a DNS name is at most 253 bytes */

enum rec_event_type {
	REC_EVENT_NONE = 0,
	REC_EVENT_OPAQUE_TLS = 1,
	REC_EVENT_UNREADABLE = 2,
	REC_EVENT_UNTRACKED = 3,
	REC_EVENT_TYPE_COUNT
};

enum rec_event_reason {
	REC_REASON_NONE = 0,
	REC_REASON_GO = 1,         /* UNREADABLE: a Go binary (own syscalls, own TLS) */
	REC_REASON_SLOTS_FULL = 2, /* UNTRACKED: FDT_SLOTS connections tracked already */
	REC_REASON_FD_RANGE = 3,   /* UNTRACKED: fd >= FDT_MAX_FDS */
	REC_REASON_COUNT
};

struct tr_event {
	/* line 0: as struct tr_record */
	uint64_t seq;      /* slot control word, owned by the ring */
	uint64_t checksum; /* ring checksum of bytes [REC_CHECKSUM_FROM, REC_SIZE) */
	uint64_t start_ns; /* CLOCK_REALTIME: the connection's first byte, or the event */
	uint64_t duration_ns; /* OPAQUE_TLS: first to last byte seen (monotonic) */
	uint64_t bytes_sent;  /* OPAQUE_TLS: bytes this process wrote on the socket */
	uint64_t bytes_received; /* OPAQUE_TLS: bytes it read */
	uint64_t count;          /* connections or processes this entry stands for (1) */
	uint64_t reserved1;
	/* line 1: pid, producer, producer_gen, kind where tr_record has them */
	uint32_t pid;
	uint16_t type; /* enum rec_event_type */
	uint16_t producer;
	uint16_t reason;  /* enum rec_event_reason */
	uint8_t reporter; /* enum rec_reporter: OPAQUE_TLS client (source) or server */
	uint8_t reserved2[33];
	uint16_t producer_gen;
	uint8_t kind; /* REC_KIND_EVENT */
	uint8_t reserved3[17];
	/* line 2.. */
	struct rec_addr local;
	struct rec_addr peer;
	char sni[REC_SNI_LEN]; /* OPAQUE_TLS: the ClientHello's server name, "" if none */
	uint8_t reserved4[REC_SIZE - 168 - REC_SNI_LEN];
};

_Static_assert(sizeof(struct tr_event) == REC_SIZE, "an event fills one ring slot");
_Static_assert(offsetof(struct tr_event, seq) == offsetof(struct tr_record, seq), "seq");
_Static_assert(offsetof(struct tr_event, checksum) == offsetof(struct tr_record, checksum),
	       "checksum");
_Static_assert(offsetof(struct tr_event, start_ns) == REC_CHECKSUM_FROM, "checksum range");
_Static_assert(offsetof(struct tr_event, pid) == offsetof(struct tr_record, pid), "pid");
_Static_assert(offsetof(struct tr_event, producer) == offsetof(struct tr_record, producer),
	       "producer");
_Static_assert(offsetof(struct tr_event, producer_gen) ==
		       offsetof(struct tr_record, producer_gen),
	       "producer_gen");
_Static_assert(offsetof(struct tr_event, kind) == offsetof(struct tr_record, kind), "kind");
_Static_assert(offsetof(struct tr_event, local) == 128, "line 2");
_Static_assert(offsetof(struct tr_event, sni) == 168, "sni");

/* One ring slot seen as either layout (rec.kind says which). */
union rec_entry {
	struct tr_record exchange;
	struct tr_event event;
};

/* Names for metrics; never NULL ("unknown" out of range). */
const char *rec_event_type_name(unsigned v);   /* "opaque_tls", "unreadable", "untracked" */
const char *rec_event_reason_name(unsigned v); /* "go", "slots_full", "fd_range" */

#endif
