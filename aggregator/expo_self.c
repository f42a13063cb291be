/*
 * expo_self.c - self-metrics, always exposed: the ring's exact accounting
 * (consumed + corrupt + skipped == tail; offered == tail + dropped), the
 * label table's bounds and folds, compressed-body decoding (body.h), the
 * access log and the build.
 *
 * One table, in exposition order: each row names where its value lives
 * (a field of the ring snapshot, of the loop's agg_self or of the core) or
 * how it is rendered when it is not one number.
 */
#include <stddef.h>
#include <string.h>

#include "body.h"
#include "expo.h"

enum self_src {
	SELF_RING,           /* uint64_t at off in struct ring_stats */
	SELF_RING32,         /* uint32_t at off in struct ring_stats */
	SELF_LOOP,           /* uint64_t at off in struct agg_self */
	SELF_CORE,           /* uint64_t at off in struct agg */
	SELF_CORE32,         /* uint32_t at off in struct agg */
	SELF_FILL,           /* tail - head */
	SELF_DROPPED,        /* one line per ring_drop_reason */
	SELF_LABEL_OVERFLOW, /* one line per bounded label */
	SELF_START_TIME,     /* a double */
	SELF_BUILD,          /* version label, value 1 */
	SELF_BODY,           /* uint64_t at off in struct body_stats (none: no line) */
	SELF_BODY_ERRORS,    /* one line per coding and reason that happened */
	SELF_BODY_DECODED,   /* one line per coding */
};

struct self_metric {
	const char *name;
	const char *type;
	enum self_src src;
	size_t off;
	const char *help;
};

#define RING(f) SELF_RING, offsetof(struct ring_stats, f)
#define LOOP(f) SELF_LOOP, offsetof(struct agg_self, f)
#define CORE(f) SELF_CORE, offsetof(struct agg, f)
#define BODY(f) SELF_BODY, offsetof(struct body_stats, f)

static const struct self_metric metrics[] = {
	{"tokenring_ring_capacity", "gauge", SELF_RING32, offsetof(struct ring_stats, capacity),
	 "Ring slots."},
	{"tokenring_ring_fill", "gauge", SELF_FILL, 0,
	 "Records claimed by producers, not yet consumed."},
	{"tokenring_ring_records_total", "counter", RING(tail),
	 "Records producers put in the ring (its tail index)."},
	{"tokenring_ring_consumed_total", "counter", RING(consumed),
	 "Records the daemon took out of the ring and accepted."},
	{"tokenring_ring_corrupt_total", "counter", RING(corrupt),
	 "Records that failed the checksum (torn or garbage), never trusted."},
	{"tokenring_ring_skipped_total", "counter", RING(skipped),
	 "Slots skipped: claimed by a producer that never published, or garbage."},
	{"tokenring_ring_dropped_total", "counter", SELF_DROPPED, 0,
	 "Records producers could not put in the ring, by reason."},
	{"tokenring_ring_producers", "gauge", SELF_RING32, offsetof(struct ring_stats, producers),
	 "Registered producer processes."},
	{"tokenring_ring_registrations_failed_total", "counter", RING(registrations_failed),
	 "Producer registrations refused because the table was full."},
	{"tokenring_series", "gauge", SELF_CORE32, offsetof(struct agg, tab.used),
	 "Live label tuples (series)."},
	{"tokenring_series_max", "gauge", SELF_CORE32, offsetof(struct agg, cfg.max_series),
	 "Bound on label tuples (--max-series)."},
	{"tokenring_ring_records_unknown_kind_total", "counter", LOOP(records_unknown_kind),
	 "Ring entries of a kind this daemon does not know (a newer shim): counted and skipped."},
	{"tokenring_body_decode_errors_total", "counter", SELF_BODY_ERRORS, 0,
	 "Compressed bodies that could not be read, by Content-Encoding and reason; their usage "
	 "status is undecodable."},
	{"tokenring_body_decoded_bytes_total", "counter", SELF_BODY_DECODED, 0,
	 "Bytes decoded from compressed bodies, by Content-Encoding."},
	{"tokenring_body_entries_total", "counter", BODY(entries),
	 "Body entries (compressed body bytes the shim copied) taken from the ring."},
	{"tokenring_body_stray_entries_total", "counter", BODY(stray_entries),
	 "Body entries out of sequence (torn, reordered, or after a lost one): counted and "
	 "ignored."},
	{"tokenring_body_orphaned_total", "counter", BODY(orphaned),
	 "Exchanges whose body entries came but whose record did not (expired or evicted)."},
	{"tokenring_bodies_decoded_total", "counter", BODY(bodies),
	 "Compressed bodies decoded to their end."},
	{"tokenring_body_memory_bytes", "gauge", BODY(memory),
	 "Decoder memory in use (bounded by --body-memory)."},
	{"tokenring_body_pending", "gauge", BODY(pending),
	 "Exchanges whose bodies are being decoded."},
	{"tokenring_parse_errors_total", "counter", CORE(parse_errors),
	 "Records whose HTTP framing or body the shim could not parse (counted, passed through "
	 "untouched)."},
	{"tokenring_series_overflow_total", "counter", CORE(tab.overflow_records),
	 "Records folded into model=\"__overflow__\" because --max-series was reached."},
	{"tokenring_label_overflow_total", "counter", SELF_LABEL_OVERFLOW, 0,
	 "Records whose label value was folded into \"__other__\" because the label reached "
	 "--label-max-values."},
	{"tokenring_quantile_pool_exhausted_total", "counter", CORE(pool.exhausted),
	 "Samples kept at octave resolution only (summary quantiles coarser)."},
	{"tokenring_access_log_lines_total", "counter", LOOP(access_log_lines),
	 "Access log lines written."},
	{"tokenring_access_log_errors_total", "counter", LOOP(access_log_errors),
	 "Failed or short access log writes."},
	{"tokenring_access_log_dropped_total", "counter", LOOP(access_log_dropped),
	 "Access log lines not written because of errors."},
	{"tokenring_scrapes_total", "counter", LOOP(scrapes), "Metrics scrapes served."},
	{"tokenring_otlp_batches_sent_total", "counter", LOOP(otlp_sent),
	 "OTLP export batches the receiver accepted."},
	{"tokenring_otlp_batches_retried_total", "counter", LOOP(otlp_retried),
	 "OTLP export attempts retried (429, 502, 503, 504, or no answer)."},
	{"tokenring_otlp_batches_dropped_total", "counter", LOOP(otlp_dropped),
	 "OTLP export batches pushed out of the full queue (cumulative: a newer batch "
	 "replaced them), or still queued at exit."},
	{"tokenring_otlp_batches_failed_total", "counter", LOOP(otlp_failed),
	 "OTLP export batches given up (a final error, or too many retries)."},
	{"tokenring_otlp_rejected_points_total", "counter", LOOP(otlp_rejected_points),
	 "Data points a receiver refused in a partial-success answer."},
	{"tokenring_otlp_queue_batches", "gauge", LOOP(otlp_queued),
	 "OTLP export batches waiting to be sent."},
	{"tokenring_otlp_exports_deferred_total", "counter", LOOP(otlp_deferred),
	 "Delta OTLP exports put off to the next interval because the queue was full."},
	{"tokenring_start_time_seconds", "gauge", SELF_START_TIME, 0,
	 "Unix time the daemon started."},
	{"tokenring_build_info", "gauge", SELF_BUILD, 0, "Build of tokenringd; value 1."},
};

static uint64_t u64_at(const void *base, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static uint32_t u32_at(const void *base, size_t off)
{
	uint32_t v;
	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

/* name{coding="...",reason="..."} v; reason NULL: coding only. */
static void coded(struct strbuf *b, const char *name, unsigned coding, const char *reason,
		  uint64_t v)
{
	bool first = true;
	const char *c = rec_coding_name(coding);
	strbuf_puts(b, name);
	strbuf_append(b, "{", 1);
	expo_label(b, &first, "coding", c, strlen(c));
	if (reason)
		expo_label(b, &first, "reason", reason, strlen(reason));
	strbuf_append(b, "} ", 2);
	expo_u64(b, v);
	strbuf_append(b, "\n", 1);
}

static void value_line(struct strbuf *b, const char *name, uint64_t v)
{
	expo_line_start(b, name, NULL, NULL, 0, NULL, NULL);
	expo_u64(b, v);
	strbuf_append(b, "\n", 1);
}

static void labelled(struct strbuf *b, const char *name, const char *label, const char *value,
		     uint64_t v)
{
	bool first = true;
	strbuf_puts(b, name);
	strbuf_append(b, "{", 1);
	expo_label(b, &first, label, value, strlen(value));
	strbuf_append(b, "} ", 2);
	expo_u64(b, v);
	strbuf_append(b, "\n", 1);
}

static void render(const struct agg *a, const struct agg_self *self, const struct self_metric *m,
		   struct strbuf *b)
{
	static const char *const drop_names[RING_DROP_REASONS] = {
		[RING_DROP_FULL] = "full",
		[RING_DROP_CONTENTION] = "contention",
		[RING_DROP_LATE] = "late",
		[RING_DROP_DETACHED] = "detached",
	};
	const struct ring_stats *r = &self->ring;

	const struct body_stats *body = self->body;
	if (!body && m->src >= SELF_BODY)
		return; /* no decoding in this process (unit tests) */
	expo_header(b, m->name, m->help, m->type);
	switch (m->src) {
	case SELF_RING:
		value_line(b, m->name, u64_at(r, m->off));
		break;
	case SELF_RING32:
		value_line(b, m->name, u32_at(r, m->off));
		break;
	case SELF_LOOP:
		value_line(b, m->name, u64_at(self, m->off));
		break;
	case SELF_CORE:
		value_line(b, m->name, u64_at(a, m->off));
		break;
	case SELF_CORE32:
		value_line(b, m->name, u32_at(a, m->off));
		break;
	case SELF_FILL:
		value_line(b, m->name, r->tail >= r->head ? r->tail - r->head : 0);
		break;
	case SELF_DROPPED:
		for (unsigned i = 0; i < RING_DROP_REASONS; i++)
			labelled(b, m->name, "reason", drop_names[i], r->dropped[i]);
		break;
	case SELF_LABEL_OVERFLOW:
		for (unsigned i = 0; i < SERIES_BOUNDED; i++) {
			if (i >= SERIES_B_LABEL0 && !a->cfg.label_names[i - SERIES_B_LABEL0][0])
				continue;
			labelled(b, m->name, "label", series_bounded_name(i, &a->cfg),
				 a->tab.label_overflow[i]);
		}
		break;
	case SELF_START_TIME:
		strbuf_puts(b, m->name);
		strbuf_append(b, " ", 1);
		expo_double(b, self->start_time_seconds);
		strbuf_append(b, "\n", 1);
		break;
	case SELF_BUILD:
		labelled(b, m->name, "version", self->version ? self->version : "unknown", 1);
		break;
	case SELF_BODY:
		value_line(b, m->name, u64_at(body, m->off));
		break;
	case SELF_BODY_ERRORS:
		for (unsigned c = REC_CODING_GZIP; c < REC_CODING_COUNT; c++)
			for (unsigned why = 0; why < BODY_R_COUNT; why++)
				if (body->errors[c][why])
					coded(b, m->name, c, body_reason_name(why), body->errors[c][why]);
		break;
	case SELF_BODY_DECODED:
		for (unsigned c = REC_CODING_GZIP; c < REC_CODING_UNKNOWN; c++)
			coded(b, m->name, c, NULL, body->decoded_bytes[c]);
		break;
	}
}

int expo_self(const struct agg *a, const struct agg_self *self, struct strbuf *b)
{
	struct agg_self zero;
	if (!self) {
		memset(&zero, 0, sizeof(zero));
		self = &zero;
	}
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		render(a, self, &metrics[i], b);
	return strbuf_error(b);
}
