/*
 * cover.h - what the shims could not read, from their event entries
 * (shm/record_event.h): opaque TLS connections by server name, processes
 * that bypass libc, connections passed through untracked. A bounded table
 * (allocated at cover_create, never grown) and its Prometheus rendering
 * (expo_cover.c). Single-threaded: the daemon's loop ingests and renders.
 *
 *   tokenring_opaque_connections_total{source_workload,source_namespace,sni}
 *   tokenring_opaque_bytes_total{source_workload,source_namespace,sni,direction}
 *   tokenring_unreadable_processes_total{source_workload,source_namespace,reason}
 *   tokenring_untracked_connections_total{source_workload,source_namespace,reason}
 */
#ifndef TOKENRING_COVER_H
#define TOKENRING_COVER_H

#include <stdint.h>

#include "agg.h"
#include "record_event.h"
#include "strbuf.h"

/* Series held at most; past it a new one folds into the overflow series of
 * its type (every label "__overflow__"), counted in cover_overflow. */
#define COVER_MAX_SERIES 1024u
#define COVER_OVERFLOW "__overflow__"
#define COVER_TABLE_SLOTS (2u * COVER_MAX_SERIES) /* probes always end */

struct cover_series {
	uint8_t type;   /* enum rec_event_type */
	uint8_t reason; /* enum rec_event_reason (UNREADABLE, UNTRACKED) */
	uint8_t used;
	char workload[RING_WORKLOAD_LEN];
	char namespace_[RING_NAMESPACE_LEN];
	char sni[REC_SNI_LEN]; /* OPAQUE_TLS */
	uint64_t count;        /* connections or processes */
	uint64_t sent, received;
};

struct cover {
	struct cover_series *slots; /* open addressing, COVER_TABLE_SLOTS */
	struct cover_series overflow[REC_EVENT_TYPE_COUNT];
	uint32_t live;
	uint64_t folded;  /* events folded into an overflow series */
	uint64_t invalid; /* entries of an unknown type or reason: counted, skipped */
};

/* 0 or -ENOMEM. */
int cover_create(struct cover **out);
void cover_destroy(struct cover *c);

/* One event entry written by the producer identified as id. */
void cover_ingest(struct cover *c, const struct tr_event *ev, const struct agg_identity *id);

/* The four families above (HELP and TYPE always, one line per series);
 * rendered by agg_render_metrics when agg_self.cover is set. Returns the
 * buffer's sticky error. */
int expo_cover(const struct cover *c, struct strbuf *b);

#endif
