/*
 * config_export.c - the export option group of tokenringd: the schema of
 * native and exponential histograms (--native-schema, --native-classic)
 * and the OTLP push (--otlp-*, kept as given: otlp_resolve merges the
 * OTEL_* variables when the daemon starts; otlp.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "hist.h"

/* Schema of the exported native/exponential histograms: -4..6, the
 * sketch's own resolution (6) by default; coarser is an exact merge. */
static int set_native_schema(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	long s = strtol(v, &end, 10);
	if (!*v || *end || errno || s < -4 || s > HIST_SCALE)
		return dcfg_fail(err, errlen, "'%s' is not a schema in [-4, %d]", v, HIST_SCALE);
	c->agg.native_coarsen = (uint32_t)(HIST_SCALE - s);
	return 0;
}

static int set_native_classic(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "on") && strcmp(v, "off"))
		return dcfg_fail(err, errlen, "'%s' is not on or off", v);
	c->agg.native_classic = strcmp(v, "on") == 0;
	return 0;
}

/* --otlp-NAME: kept as given; otlp_resolve merges the OTEL_* variables. */
#define OTLP_FLAG(fn, name)                                                               \
	static int fn(struct dcfg *c, const char *v, char *err, size_t errlen)             \
	{                                                                                   \
		return otlp_set_flag(&c->otlp, name, v, err, errlen);                       \
	}
OTLP_FLAG(set_otlp_endpoint, "endpoint")
OTLP_FLAG(set_otlp_headers, "headers")
OTLP_FLAG(set_otlp_interval, "interval-ms")
OTLP_FLAG(set_otlp_timeout, "timeout-ms")
OTLP_FLAG(set_otlp_queue, "queue")
OTLP_FLAG(set_otlp_protocol, "protocol")
OTLP_FLAG(set_otlp_compression, "compression")
OTLP_FLAG(set_otlp_temporality, "temporality")
OTLP_FLAG(set_otlp_histograms, "histograms")

const struct dcfg_option dcfg_export_options[] = {
	{"native-schema", set_native_schema, false, "-4..6", "schema (scale) of native and OTLP exponential histograms (default 6: 64 buckets per power of two)"},
	{"native-classic", set_native_classic, false, "on|off", "classic buckets beside the native ones in the protobuf exposition (default off)"},
	{"otlp-endpoint", set_otlp_endpoint, false, "URL", "OTLP/HTTP metrics push to http://HOST:PORT[/PATH] (default $OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT; off)"},
	{"otlp-headers", set_otlp_headers, false, "K=V,...", "extra request headers (default $OTEL_EXPORTER_OTLP_HEADERS)"},
	{"otlp-interval-ms", set_otlp_interval, false, "MS", "export interval (default $OTEL_METRIC_EXPORT_INTERVAL or 60000)"},
	{"otlp-timeout-ms", set_otlp_timeout, false, "MS", "per-request deadline (default $OTEL_EXPORTER_OTLP_TIMEOUT or 10000)"},
	{"otlp-queue", set_otlp_queue, false, "N", "batches waiting to be sent; when full, cumulative drops the oldest, delta defers the export (default 8)"},
	{"otlp-protocol", set_otlp_protocol, false, "http/json", "OTLP encoding (default and only: http/json)"},
	{"otlp-compression", set_otlp_compression, false, "gzip|none", "payload compression (default $OTEL_EXPORTER_OTLP_COMPRESSION or none)"},
	{"otlp-temporality", set_otlp_temporality, false, "cumulative|delta", "aggregation temporality (default $OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE or cumulative)"},
	{"otlp-histograms", set_otlp_histograms, false, "exponential|explicit", "durations as exponential histograms from the sketch, or with the GenAI spec's explicit buckets (default exponential)"},
};
const size_t dcfg_export_n = sizeof dcfg_export_options / sizeof *dcfg_export_options;
