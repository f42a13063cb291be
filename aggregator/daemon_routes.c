/*
 * daemon_routes.c - tokenringd's HTTP endpoints:
 *   GET /metrics, GET /stats/prometheus   Prometheus text 0.0.4 (same body;
 *                                         the second for Envoy-style jobs);
 *                                         the protobuf exposition with native
 *                                         histograms when Accept asks for it
 *   GET /healthz                          200 + ring status JSON, 503 when
 *                                         the ring is not the live file
 *   GET /api/v1/summary                   cumulative per-tuple JSON
 * HEAD is answered like GET without the body; other methods get 405.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "loop.h"

#define CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"
#define CT_JSON "application/json"
#define CT_TEXT "text/plain; charset=utf-8"
#define ALLOW_GET "GET, HEAD"

static void fill_self(const struct daemon *d, struct agg_self *self)
{
	memset(self, 0, sizeof *self);
	ring_get_stats(&d->ring, &self->ring);
	self->access_log_lines = d->access_log.lines;
	self->access_log_errors = d->access_log.errors;
	self->access_log_dropped = d->access_log.dropped;
	self->scrapes = d->scrapes;
	self->records_unknown_kind = d->records_unknown_kind;
	self->body = body_stats(d->bodies);
	self->start_time_seconds = (double)d->start_realtime_ns / 1e9;
	self->version = TOKENRING_VERSION;
	self->cover = d->cover;
	if (d->otlp.running) {
		struct otlp_stats st;
		otlp_get_stats((struct otlp_exporter *)&d->otlp, &st);
		self->otlp_sent = st.sent;
		self->otlp_retried = st.retried;
		self->otlp_dropped = st.dropped;
		self->otlp_failed = st.failed;
		self->otlp_rejected_points = st.rejected_points;
		self->otlp_queued = st.queued;
		self->otlp_deferred = st.deferred;
	}
}

static void add_u64(cJSON *o, const char *k, uint64_t v) { cJSON_AddNumberToObject(o, k, (double)v); }

static void healthz(struct daemon *d, struct httpd_response *resp)
{
	const char *why;
	bool ok = daemon_ring_ok(d, &why);
	struct ring_stats st;
	ring_get_stats(&d->ring, &st);
	uint64_t dropped = 0;
	for (unsigned i = 0; i < RING_DROP_REASONS; i++)
		dropped += st.dropped[i];

	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "status", ok ? "ok" : "unhealthy");
	if (!ok)
		cJSON_AddStringToObject(root, "reason", why);
	cJSON *ring = cJSON_AddObjectToObject(root, "ring");
	cJSON_AddStringToObject(ring, "path", d->cfg.ring_path);
	add_u64(ring, "capacity", st.capacity);
	char epoch[24];
	snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)st.epoch);
	cJSON_AddStringToObject(ring, "epoch", epoch); /* 64 bits: a double would round it */
	add_u64(ring, "fill", st.tail >= st.head ? st.tail - st.head : 0);
	add_u64(ring, "tail", st.tail);
	add_u64(ring, "head", st.head);
	add_u64(ring, "consumed", st.consumed);
	add_u64(ring, "corrupt", st.corrupt);
	add_u64(ring, "skipped", st.skipped);
	add_u64(ring, "dropped", dropped);
	add_u64(ring, "producers", st.producers);
	add_u64(root, "records", d->records);
	add_u64(root, "series", agg_series(d->agg));
	cJSON *al = cJSON_AddObjectToObject(root, "access_log");
	cJSON_AddStringToObject(al, "path", d->cfg.access_log);
	add_u64(al, "lines", d->access_log.lines);
	add_u64(al, "errors", d->access_log.errors);
	add_u64(al, "dropped", d->access_log.dropped);
	cJSON *http = cJSON_AddObjectToObject(root, "http");
	add_u64(http, "active", d->http.stats.active);
	add_u64(http, "accepted", d->http.stats.accepted);
	add_u64(http, "rejected", d->http.stats.rejected);
	add_u64(http, "evicted", d->http.stats.evicted);
	add_u64(http, "timeouts", d->http.stats.timeouts);
	add_u64(ring, "recreated", d->ring_recreated);
	add_u64(root, "reloads", d->reloads);
	add_u64(root, "reload_errors", d->reload_errors);

	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text || strbuf_puts(resp->body, text) || strbuf_puts(resp->body, "\n")) {
		resp->status = 500;
		strbuf_reset(resp->body);
	} else {
		resp->status = ok ? 200 : 503;
		resp->content_type = CT_JSON;
	}
	cJSON_free(text);
}

void daemon_http(void *ctx, const struct httpd_req *req, struct httpd_response *resp)
{
	struct daemon *d = ctx;
	enum { R_NONE, R_METRICS, R_HEALTHZ, R_SUMMARY } route = R_NONE;
	if (httpd_path_is(req, "/metrics") || httpd_path_is(req, "/stats/prometheus"))
		route = R_METRICS;
	else if (httpd_path_is(req, "/healthz"))
		route = R_HEALTHZ;
	else if (httpd_path_is(req, "/api/v1/summary"))
		route = R_SUMMARY;

	if (route == R_NONE) {
		resp->status = 404;
		strbuf_puts(resp->body, "404 Not Found\n");
		return;
	}
	if (!httpd_method_is(req, "GET") && !httpd_method_is(req, "HEAD")) {
		resp->status = 405;
		resp->allow = ALLOW_GET;
		strbuf_puts(resp->body, "405 Method Not Allowed\n");
		return;
	}
	if (route != R_HEALTHZ && d->http.heavy_active >= DAEMON_MAX_HEAVY_REPLIES) {
		/* Each rendered body is held until its client has read it: cap
		 * how many exist at once, so slow readers cannot multiply the
		 * daemon's memory by the connection count. */
		resp->status = 503;
		resp->retry_after = "1";
		strbuf_puts(resp->body, "503 busy: too many scrapes in flight\n");
		return;
	}
	/* Fresh numbers for every request: take what producers published. */
	daemon_drain(d, loop_now_ns(), DAEMON_TICK_BUDGET);
	int rc = 0;
	switch (route) {
	case R_METRICS: {
		struct agg_self self;
		d->scrapes++;
		fill_self(d, &self);
		if (req->accept_protobuf) {
			rc = agg_render_protobuf(d->agg, &self, resp->body);
			resp->content_type = AGG_PROTOBUF_TYPE;
		} else {
			rc = agg_render_metrics(d->agg, &self, resp->body);
			resp->content_type = CT_PROMETHEUS;
		}
		break;
	}
	case R_HEALTHZ:
		healthz(d, resp);
		return;
	case R_SUMMARY:
		rc = agg_render_summary(d->agg, loop_realtime_ns(), resp->body);
		resp->content_type = CT_JSON;
		break;
	default:
		break;
	}
	if (rc) {
		strbuf_reset(resp->body);
		strbuf_puts(resp->body, "500 Internal Server Error\n");
		resp->content_type = CT_TEXT;
		resp->status = 500;
		return;
	}
	resp->status = 200;
	resp->heavy = true;
}
