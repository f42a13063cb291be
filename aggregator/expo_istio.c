/*
 * expo_istio.c - the `istio` family: Istio's standard request metrics
 * (seed 003) with ASM's custom `model` dimension (seed 000):
 * istio_requests_total and istio_request_duration_milliseconds (Envoy's
 * default buckets), labels reporter, source_workload,
 * source_workload_namespace, destination_service, request_protocol
 * ("http": the shim frames HTTP/1.1), response_code, model. Both reporters
 * are shown, as Istio does.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "expo.h"

static void project(const struct series_key *in, struct series_key *out)
{
	expo_keep(in, out,
		  EXPO_KEEP_REPORTER | EXPO_KEEP_WORKLOAD | EXPO_KEEP_DEST | EXPO_KEEP_MODEL |
			  EXPO_KEEP_CODE);
}

static int labels(struct strbuf *b, const struct series_key *k, const struct agg_config *cfg)
{
	(void)cfg;
	bool first = true;
	char code[24];
	size_t n = expo_utoa(code, k->response_code);
	const char *rep = rec_reporter_name(k->reporter);
	expo_label(b, &first, "reporter", rep, strlen(rep));
	expo_label(b, &first, "source_workload", k->workload, sizeof(k->workload));
	expo_label(b, &first, "source_workload_namespace", k->namespace_, sizeof(k->namespace_));
	expo_label(b, &first, "destination_service", k->destination, sizeof(k->destination));
	expo_label(b, &first, "request_protocol", "http", 4);
	expo_label(b, &first, "response_code", code, n);
	return expo_label(b, &first, "model", k->model, sizeof(k->model));
}

int expo_istio(const struct agg *a, struct strbuf *out)
{
	if (!expo_group(a, EXPO_G_ISTIO, project, labels))
		return strbuf_fail(out, -ENOMEM);
	expo_header(out, "istio_requests_total", "Total number of requests handled by the proxy",
		    "counter");
	expo_u64_lines(a, out, "istio_requests_total", offsetof(struct series, st.requests), NULL,
		       NULL);
	expo_header(out, "istio_request_duration_milliseconds", "Request duration distribution",
		    "histogram");
	return expo_hist_lines(a, out, "istio_request_duration_milliseconds",
			       offsetof(struct series, duration), &hist_u_duration,
			       &hist_istio_duration, 6, NULL, NULL);
}
