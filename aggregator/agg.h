/*
 * agg.h - the daemon's aggregation core: the contract between the event
 * loop (aggregator/daemon*.c, tokenringd: ring, sockets, files, signals) and
 * the pure data side (series table, histograms, exposition, access log and
 * summary formatting). Nothing here does I/O; everything is testable with a
 * record in and bytes out.
 *
 * Memory: agg_create allocates the whole series table for cfg->max_series
 * (plus the overflow series) once; ingest never allocates. Rendering appends
 * to a caller-owned strbuf, which grows (it is the only growing memory, and
 * its size is bounded by the number of series).
 *
 * Threading: one thread (the loop) owns a struct agg. Not thread-safe.
 */
#ifndef TOKENRING_AGG_H
#define TOKENRING_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "ring.h"
#include "strbuf.h"

/* Metric families (--metrics tokenring,gen_ai,asm,istio,kgateway). */
#define AGG_FAM_TOKENRING (1u << 0)
#define AGG_FAM_GEN_AI (1u << 1)
#define AGG_FAM_ASM (1u << 2)
#define AGG_FAM_ISTIO (1u << 3)
#define AGG_FAM_KGATEWAY (1u << 4)
#define AGG_FAM_DEFAULT (AGG_FAM_TOKENRING | AGG_FAM_GEN_AI)

#define AGG_DEFAULT_MAX_SERIES 10000u
#define AGG_DEFAULT_LABEL_MAX_VALUES 100u
#define AGG_MAX_SERIES_LIMIT (1u << 24)       /* agg_create: -EINVAL above */
#define AGG_LABEL_MAX_VALUES_LIMIT (1u << 20) /* agg_create: -EINVAL above */
#define AGG_MAX_PRICES 64
#define AGG_LABEL_NAME_LEN 32
#define AGG_OVERFLOW_MODEL "__overflow__" /* series past --max-series */
#define AGG_OTHER_VALUE "__other__"       /* label values past --label-max-values */

/* The one check of a header label name (--label-header NAME=...), used by
 * the flag parser and by agg_create: NULL when name[0..n) may be a label,
 * else why not (a phrase: "is an access log field"). A valid name is a
 * Prometheus label name, not __*, and none of the names tokenringd itself
 * writes as a label, access log field or summary key. */
const char *agg_label_name_check(const char *name, size_t n);

/* Parse "tokenring,gen_ai,..." into AGG_FAM_* bits. Returns 0 or -EINVAL
 * (and the offending name's offset in *bad_at when bad_at is not NULL). */
int agg_parse_families(const char *list, uint32_t *out, size_t *bad_at);

struct agg_price {
	char model[REC_MODEL_LEN];
	double input_usd_per_mtok;  /* USD per 1M prompt tokens */
	double output_usd_per_mtok; /* USD per 1M completion tokens */
};

struct agg_config {
	uint32_t max_series;       /* 0 = AGG_DEFAULT_MAX_SERIES */
	uint32_t families;         /* AGG_FAM_* bits; 0 = AGG_FAM_DEFAULT */
	uint32_t label_max_values; /* per label (model, each header label); 0 = default */
	/* --label-header NAME=HEADER: label NAME comes from rec.labels[i] */
	char label_names[REC_LABELS][AGG_LABEL_NAME_LEN]; /* "" = unused */
	unsigned n_prices;
	struct agg_price prices[AGG_MAX_PRICES];
	/* Native/exponential histograms (protobuf exposition, OTLP): schema
	 * HIST_SCALE - native_coarsen (0 = the sketch's own 6; up to 10 = -4);
	 * native_classic adds the classic buckets to the protobuf exposition. */
	uint32_t native_coarsen;
	bool native_classic;
};

/* Who wrote a record, resolved by the loop from the ring's producer table
 * (ring_producer_lookup); "unknown" strings when the entry is gone. */
struct agg_identity {
	char workload[RING_WORKLOAD_LEN];
	char namespace_[RING_NAMESPACE_LEN];
};

/* The daemon's own state for self-metrics, filled by the loop per scrape. */
struct agg_self {
	struct ring_stats ring;
	uint64_t access_log_lines;
	uint64_t access_log_errors;  /* failed or short writes (ENOSPC, ...) */
	uint64_t access_log_dropped; /* lines not written because of errors */
	uint64_t scrapes;
	uint64_t records_unknown_kind; /* ring entries of a kind not known here */
	const struct body_stats *body; /* compressed-body decoding (body.h), or NULL */
	double start_time_seconds; /* unix time the daemon started */
	/* OTLP push (otlp.h's otlp_stats), 0 when off */
	uint64_t otlp_sent, otlp_retried, otlp_dropped, otlp_failed, otlp_rejected_points,
		otlp_queued, otlp_deferred;
	const char *version;
	const struct cover *cover; /* what the shims could not read (cover.h), or NULL */
};

struct agg;
struct cover;

/* Allocate and initialise. Returns 0 or -ENOMEM / -EINVAL. */
int agg_create(const struct agg_config *cfg, struct agg **out);
void agg_destroy(struct agg *a);

/* Account one validated record. Never fails: a tuple past the bounds folds
 * into the overflow series / "__other__" values, and that is counted. */
void agg_ingest(struct agg *a, const struct tr_record *rec, const struct agg_identity *id);

/* agg_ingest for n records in order (ids[i] may be NULL, ids may be NULL),
 * with the same result; faster on a drained batch, because the table
 * lookups of the next records are prefetched while one is accounted. */
void agg_ingest_batch(struct agg *a, const struct tr_record *recs,
		      const struct agg_identity *const *ids, size_t n);

/* Number of live series (tokenring_series). */
uint32_t agg_series(const struct agg *a);

/* The MCP call table (aggregator/mcp.h), for what is not a record: the SSE
 * transport's answer entries and the expiry of calls waiting for one. */
struct mcp_table;
struct mcp_table *agg_mcp(struct agg *a);

/* Prometheus text exposition (version 0.0.4) of every enabled family plus
 * the self-metrics, valid for `promtool check metrics`. self may be NULL
 * (ring and log counters then read 0). Returns 0 or -ENOMEM. */
int agg_render_metrics(const struct agg *a, const struct agg_self *self, struct strbuf *out);

/* The same in the Prometheus protobuf exposition (delimited
 * io.prometheus.client.MetricFamily messages), histograms with their native
 * buckets from the sketches (expo_pb.c). Returns 0 or -ENOMEM. */
#define AGG_PROTOBUF_TYPE                                                                    \
	"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "         \
	"encoding=delimited"
int agg_render_protobuf(const struct agg *a, const struct agg_self *self, struct strbuf *out);

/* GET /api/v1/summary: one JSON document, cumulative since start, one entry
 * per label tuple (requests, successes, success_rate, 4xx, 5xx, tokens,
 * latency and TTFT p50/p95/p99, usage status mix). */
int agg_render_summary(const struct agg *a, uint64_t now_realtime_ns, struct strbuf *out);

/* Summary log: one JSON line per label tuple active since the previous call
 * (the interval), with "__time__" = now in unix seconds; then starts a new
 * interval. */
int agg_summary_lines(struct agg *a, uint64_t now_realtime_ns, struct strbuf *out);

/* Access log: append one JSON object + '\n' for rec, with ASM's field names
 * (string values as in seed 000) plus tokenring's extras. Every string from
 * the record is escaped (untrusted bytes, invalid UTF-8 replaced). */
int alog_format(const struct tr_record *rec, const struct agg_identity *id,
		const struct agg_config *cfg, struct strbuf *out);

/* True if name is one of the access log's own field names (a header label
 * may not take one: agg_create refuses it with -EINVAL). */
bool alog_field_reserved(const char *name);

#endif
