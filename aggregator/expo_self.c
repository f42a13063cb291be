/*
 * expo_self.c - self-metrics, always exposed: the ring's exact accounting
 * (consumed + corrupt + skipped == tail; offered == tail + dropped), the
 * label table's bounds and folds, the access log and the build.
 */
#include <string.h>

#include "body.h"
#include "expo.h"

static int one(struct strbuf *b, const char *name, const char *help, const char *type,
	       const char *extra, uint64_t v)
{
	int rc = expo_header(b, name, help, type);
	if (!rc)
		rc = expo_line_start(b, name, NULL, NULL, 0, extra, NULL);
	if (!rc)
		rc = expo_u64(b, v);
	if (!rc)
		rc = strbuf_append(b, "\n", 1);
	return rc;
}

static int labelled(struct strbuf *b, const char *name, const char *label, const char *value,
		    uint64_t v)
{
	bool first = true;
	int rc = strbuf_puts(b, name);
	if (!rc)
		rc = strbuf_append(b, "{", 1);
	if (!rc)
		rc = expo_label(b, &first, label, value, strlen(value));
	if (!rc)
		rc = strbuf_append(b, "} ", 2);
	if (!rc)
		rc = expo_u64(b, v);
	if (!rc)
		rc = strbuf_append(b, "\n", 1);
	return rc;
}

static int coded(struct strbuf *b, const char *name, unsigned coding, const char *reason,
		 uint64_t v)
{
	bool first = true;
	const char *c = rec_coding_name(coding);
	int rc = strbuf_puts(b, name);
	if (!rc)
		rc = strbuf_append(b, "{", 1);
	if (!rc)
		rc = expo_label(b, &first, "coding", c, strlen(c));
	if (!rc && reason)
		rc = expo_label(b, &first, "reason", reason, strlen(reason));
	if (!rc)
		rc = strbuf_append(b, "} ", 2);
	if (!rc)
		rc = expo_u64(b, v);
	if (!rc)
		rc = strbuf_append(b, "\n", 1);
	return rc;
}

/* Compressed-body decoding (body.h). */
static int body_lines(const struct body_stats *st, struct strbuf *b)
{
	int rc = expo_header(b, "tokenring_body_decode_errors_total",
			     "Compressed bodies that could not be read, by Content-Encoding and "
			     "reason; their usage status is undecodable.",
			     "counter");
	for (unsigned c = REC_CODING_GZIP; c < REC_CODING_COUNT && !rc; c++)
		for (unsigned r = 0; r < BODY_R_COUNT && !rc; r++)
			if (st->errors[c][r])
				rc = coded(b, "tokenring_body_decode_errors_total", c,
					   body_reason_name(r), st->errors[c][r]);
	if (!rc)
		rc = expo_header(b, "tokenring_body_decoded_bytes_total",
				 "Bytes decoded from compressed bodies, by Content-Encoding.",
				 "counter");
	for (unsigned c = REC_CODING_GZIP; c < REC_CODING_UNKNOWN && !rc; c++)
		rc = coded(b, "tokenring_body_decoded_bytes_total", c, NULL, st->decoded_bytes[c]);
	if (!rc)
		rc = one(b, "tokenring_body_entries_total",
			   "Body entries (compressed body bytes the shim copied) taken from the ring.",
			   "counter", NULL, st->entries);
	if (!rc)
		rc = one(b, "tokenring_body_stray_entries_total",
			   "Body entries out of sequence (torn, reordered, or after a lost one): "
			   "counted and ignored.",
			   "counter", NULL, st->stray_entries);
	if (!rc)
		rc = one(b, "tokenring_body_orphaned_total",
			   "Exchanges whose body entries came but whose record did not (expired "
			   "or evicted).",
			   "counter", NULL, st->orphaned);
	if (!rc)
		rc = one(b, "tokenring_bodies_decoded_total",
			   "Compressed bodies decoded to their end.", "counter", NULL, st->bodies);
	if (!rc)
		rc = one(b, "tokenring_body_memory_bytes",
			   "Decoder memory in use (bounded by --body-memory).", "gauge", NULL, st->memory);
	if (!rc)
		rc = one(b, "tokenring_body_pending",
			   "Exchanges whose bodies are being decoded.", "gauge", NULL, st->pending);
	return rc;
}

int expo_self(const struct agg *a, const struct agg_self *self, struct strbuf *b)
{
	static const char *const drop_names[RING_DROP_REASONS] = {
		[RING_DROP_FULL] = "full",
		[RING_DROP_CONTENTION] = "contention",
		[RING_DROP_LATE] = "late",
		[RING_DROP_DETACHED] = "detached",
	};
	struct agg_self zero;
	if (!self) {
		memset(&zero, 0, sizeof(zero));
		self = &zero;
	}
	const struct ring_stats *r = &self->ring;
	uint64_t fill = r->tail >= r->head ? r->tail - r->head : 0;
	int rc = one(b, "tokenring_ring_capacity", "Ring slots.", "gauge", NULL, r->capacity);
	if (!rc)
		rc = one(b, "tokenring_ring_fill", "Records claimed by producers, not yet consumed.",
			 "gauge", NULL, fill);
	if (!rc)
		rc = one(b, "tokenring_ring_records_total",
			 "Records producers put in the ring (its tail index).", "counter", NULL,
			 r->tail);
	if (!rc)
		rc = one(b, "tokenring_ring_consumed_total",
			 "Records the daemon took out of the ring and accepted.", "counter", NULL,
			 r->consumed);
	if (!rc)
		rc = one(b, "tokenring_ring_corrupt_total",
			 "Records that failed the checksum (torn or garbage), never trusted.",
			 "counter", NULL, r->corrupt);
	if (!rc)
		rc = one(b, "tokenring_ring_skipped_total",
			 "Slots skipped: claimed by a producer that never published, or garbage.",
			 "counter", NULL, r->skipped);
	if (!rc)
		rc = expo_header(b, "tokenring_ring_dropped_total",
				 "Records producers could not put in the ring, by reason.",
				 "counter");
	for (unsigned i = 0; i < RING_DROP_REASONS && !rc; i++)
		rc = labelled(b, "tokenring_ring_dropped_total", "reason", drop_names[i],
			      r->dropped[i]);
	if (!rc)
		rc = one(b, "tokenring_ring_producers", "Registered producer processes.", "gauge",
			 NULL, r->producers);
	if (!rc)
		rc = one(b, "tokenring_ring_registrations_failed_total",
			 "Producer registrations refused because the table was full.", "counter",
			 NULL, r->registrations_failed);
	if (!rc)
		rc = one(b, "tokenring_series", "Live label tuples (series).", "gauge", NULL,
			 agg_series(a));
	if (!rc)
		rc = one(b, "tokenring_series_max", "Bound on label tuples (--max-series).",
			 "gauge", NULL, a->cfg.max_series);
	if (!rc)
		rc = one(b, "tokenring_ring_records_unknown_kind_total",
			 "Ring entries of a kind this daemon does not know (a newer shim): "
			 "counted and skipped.",
			 "counter", NULL, self->records_unknown_kind);
	if (!rc && self->body)
		rc = body_lines(self->body, b);
	if (!rc)
		rc = one(b, "tokenring_parse_errors_total",
			 "Records whose HTTP framing or body the shim could not parse (counted, "
			 "passed through untouched).",
			 "counter", NULL, a->parse_errors);
	if (!rc)
		rc = one(b, "tokenring_series_overflow_total",
			 "Records folded into model=\"__overflow__\" because --max-series was "
			 "reached.",
			 "counter", NULL, a->tab.overflow_records);
	if (!rc)
		rc = expo_header(b, "tokenring_label_overflow_total",
				 "Records whose label value was folded into \"__other__\" because "
				 "the label reached --label-max-values.",
				 "counter");
	for (unsigned i = 0; i < SERIES_BOUNDED && !rc; i++) {
		if (i >= SERIES_B_LABEL0 && !a->cfg.label_names[i - SERIES_B_LABEL0][0])
			continue;
		rc = labelled(b, "tokenring_label_overflow_total", "label",
			      series_bounded_name(i, &a->cfg), a->tab.label_overflow[i]);
	}
	if (!rc)
		rc = one(b, "tokenring_quantile_pool_exhausted_total",
			 "Samples kept at octave resolution only (summary quantiles coarser).",
			 "counter", NULL, a->pool.exhausted);
	if (!rc)
		rc = one(b, "tokenring_access_log_lines_total", "Access log lines written.",
			 "counter", NULL, self->access_log_lines);
	if (!rc)
		rc = one(b, "tokenring_access_log_errors_total",
			 "Failed or short access log writes.", "counter", NULL,
			 self->access_log_errors);
	if (!rc)
		rc = one(b, "tokenring_access_log_dropped_total",
			 "Access log lines not written because of errors.", "counter", NULL,
			 self->access_log_dropped);
	if (!rc)
		rc = one(b, "tokenring_scrapes_total", "Metrics scrapes served.", "counter", NULL,
			 self->scrapes);
	if (!rc)
		rc = expo_header(b, "tokenring_start_time_seconds",
				 "Unix time the daemon started.", "gauge");
	if (!rc)
		rc = strbuf_puts(b, "tokenring_start_time_seconds ");
	if (!rc)
		rc = expo_double(b, self->start_time_seconds);
	if (!rc)
		rc = strbuf_append(b, "\n", 1);
	if (!rc)
		rc = expo_header(b, "tokenring_build_info", "Build of tokenringd; value 1.", "gauge");
	if (!rc)
		rc = labelled(b, "tokenring_build_info", "version",
			      self->version ? self->version : "unknown", 1);
	return rc;
}
