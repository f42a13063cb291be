/*
 * otlp.h - OpenTelemetry metrics export (OTLP/HTTP, JSON encoding).
 *
 * Two halves:
 *  - otlp_render_json (aggregation core, pure): one
 *    ExportMetricsServiceRequest for the whole label table, in the OTLP
 *    JSON encoding (lowerCamelCase field names, 64-bit integers as decimal
 *    strings, enums as integers). The GenAI semantic-convention metrics by
 *    their spec names and units, plus tokenring's counters for what the
 *    spec has no name for. One data point per series: every label of the
 *    tuple is an attribute (tokenring.* where no convention names it), so
 *    no two points of a metric share an attribute set.
 *  - struct otlp_exporter (tokenringd): a sender thread with a bounded
 *    queue of rendered batches, so the io_uring loop never waits on the
 *    network (or on DNS: getaddrinfo has no asynchronous form); retries
 *    with backoff on 429/502/503/504 honouring Retry-After; partial success
 *    read and counted (otlp_export.c, docs/export.md).
 */
#ifndef TOKENRING_OTLP_H
#define TOKENRING_OTLP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "agg.h"
#include "strbuf.h"

enum otlp_temporality {
	OTLP_CUMULATIVE = 2, /* AggregationTemporality enum values */
	OTLP_DELTA = 1,
};

/* What one render needs besides the table. resource_json is the
 * pre-rendered "attributes" array of the Resource (otlp_resource_json). */
struct otlp_render {
	const char *resource_json;
	const char *scope_version;
	uint64_t start_ns; /* the daemon's start, unix ns */
	uint64_t now_ns;   /* unix ns */
	bool explicit_buckets; /* durations with the spec's explicit bounds, not exponential */
	enum otlp_temporality temporality;
};

/* Append one ExportMetricsServiceRequest JSON document. 0 or -ENOMEM.
 *
 * Cumulative: every point is its series' total since start_ns. Delta:
 * every point is what happened since the previous delta render that
 * returned 0 (start time: that render's now_ns; the first one starts at
 * start_ns), and series that did not move have no point; min and max are
 * given only when the point holds every sample of its series. A render
 * that fails changes nothing: the next one covers both intervals. So the
 * caller must deliver (or count as lost) every delta document it got. */
int otlp_render_json(const struct agg *a, const struct otlp_render *r, struct strbuf *out);

/* The Resource attributes array: service.name (OTEL_SERVICE_NAME, else
 * "tokenringd"), service.version, host.name, k8s.node.name and
 * k8s.namespace.name when given (NODE_NAME, POD_NAMESPACE), then every
 * key=value of OTEL_RESOURCE_ATTRIBUTES (percent-decoded; a key given
 * twice keeps its first value, so the explicit ones win). env is
 * getenv-like (tests pass their own). 0 or -ENOMEM. */
int otlp_resource_json(struct strbuf *out, const char *version, const char *host_name,
		       const char *(*env)(const char *name));

#endif

/* ---- the exporter (tokenringd, otlp_export.c) ---- */

#define OTLP_URL_MAX 512
#define OTLP_HEADERS_MAX 2048
#define OTLP_DEFAULT_INTERVAL_MS 60000u
#define OTLP_DEFAULT_TIMEOUT_MS 10000u
#define OTLP_DEFAULT_QUEUE 8u /* batches waiting to be sent */
#define OTLP_MAX_QUEUE 1024u
#define OTLP_MAX_ATTEMPTS 6u  /* a retried batch is given up after this many tries */
#define OTLP_BACKOFF_MIN_MS 500u
#define OTLP_BACKOFF_MAX_MS 30000u
#define OTLP_RETRY_AFTER_MAX_S 300u

/* Flags as given (empty / 0 = not given: the OTEL_* variable, then the
 * default, applies). */
struct otlp_flags {
	char endpoint[OTLP_URL_MAX];
	char headers[OTLP_HEADERS_MAX];
	char protocol[16];
	char compression[8];
	char temporality[16];
	char histograms[16];
	uint32_t interval_ms, timeout_ms, queue;
};

/* Set one flag (name without "--otlp-"); 0, or -1 with a message. */
int otlp_set_flag(struct otlp_flags *f, const char *name, const char *v, char *err,
		  size_t errlen);

/* The resolved settings. */
struct otlp_settings {
	bool enabled;
	char host[256], port[8], path[OTLP_URL_MAX], hostport[300];
	char headers[OTLP_HEADERS_MAX]; /* "Name: value\r\n" lines */
	bool gzip;
	bool explicit_buckets;
	enum otlp_temporality temporality;
	uint32_t interval_ms, timeout_ms, queue;
};

/* Flags first, then OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT, _HEADERS,
 * _TIMEOUT, _PROTOCOL, _COMPRESSION, OTEL_METRIC_EXPORT_INTERVAL,
 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, then defaults. The
 * exporter is on when an endpoint is known. 0, or -1 with a message. */
int otlp_resolve(const struct otlp_flags *f, const char *(*env)(const char *name),
		 struct otlp_settings *s, char *err, size_t errlen);

struct otlp_stats {
	uint64_t sent;      /* batches accepted (2xx) */
	uint64_t retried;   /* attempts answered 429/502/503/504 or failed to connect */
	uint64_t dropped;   /* batches pushed out of a full queue */
	uint64_t failed;    /* batches given up: non-retryable answer or too many tries */
	uint64_t rejected_points; /* partial success: data points the receiver refused */
	uint64_t queued;    /* batches waiting now */
	uint64_t deferred;  /* delta exports put off to the next interval: queue full */
};

struct otlp_batch;
struct otlp_exporter {
	struct otlp_settings s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct otlp_batch **q; /* ring of s.queue batches */
	uint32_t head, n;
	bool stop;
	bool running;
	uint64_t sent, retried, dropped, failed, rejected_points, deferred; /* under mu */
};

/* Start the sender thread. 0 or -errno. */
int otlp_start(struct otlp_exporter *e, const struct otlp_settings *s);
/* Hand a rendered JSON document over (taken: the exporter frees it). Never
 * blocks on the network: a full queue drops its oldest batch (counted). */
void otlp_enqueue(struct otlp_exporter *e, char *json, size_t len);
/* Delta temporality: true (and counted as deferred) when the queue is full,
 * so that the caller keeps its data for the next interval instead of
 * rendering a batch that would push an undelivered one out. Only the
 * caller of otlp_enqueue adds batches: room seen here stays until then. */
bool otlp_defer_if_full(struct otlp_exporter *e);
void otlp_get_stats(struct otlp_exporter *e, struct otlp_stats *st);
/* Stop the thread: the newest queued batch gets one attempt (within the
 * timeout), older ones are dropped (counted); a batch being retried gets
 * no further try. */
void otlp_stop(struct otlp_exporter *e);
