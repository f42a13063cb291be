/*
 * ring_capture - test tool: create a ring, consume every record producers
 * publish, print each as one JSON object per line (every field), and on
 * exit print the ring's counters as one JSON line on stderr. Event entries
 * (record_event.h: what the shim could not read) are printed only with
 * --events, as objects with "kind": "event".
 *
 *   ring_capture --ring PATH [--capacity N] [--count N] [--timeout SEC]
 *                [--label-header NAME]... [--keep] [--events]
 *
 * Runs until SIGINT/SIGTERM, --count records, or --timeout seconds, then
 * drains what is left and exits 0. The ring file is removed at exit unless
 * --keep. Integration tests start it, wait for the file to exist (the ring
 * is created under a temporary name and renamed: once the path exists the
 * ring is live), run their clients, then SIGTERM it and compare.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record_event.h"
#include "ring.h"

#define BATCH 64
#define POLL_NS 1000000L /* 1 ms between empty polls */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	cJSON_AddItemToObject(o, k, cJSON_CreateRaw(buf));
}

/* A fixed field as a string: bounded, never trusting the NUL. */
static void add_str(cJSON *o, const char *k, const char *s, size_t cap)
{
	char buf[256];
	size_t n = strnlen(s, cap);
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	cJSON_AddStringToObject(o, k, buf);
}

static void add_addr(cJSON *o, const char *k, const struct rec_addr *a)
{
	char ip[INET6_ADDRSTRLEN] = "", buf[INET6_ADDRSTRLEN + 16];
	if (a->family == 4) {
		inet_ntop(AF_INET, a->addr, ip, sizeof ip);
		snprintf(buf, sizeof buf, "%s:%u", ip, a->port);
	} else if (a->family == 6) {
		inet_ntop(AF_INET6, a->addr, ip, sizeof ip);
		snprintf(buf, sizeof buf, "[%s]:%u", ip, a->port);
	} else {
		buf[0] = '\0';
	}
	cJSON_AddStringToObject(o, k, buf);
}

static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{REC_F_TRUNC_METHOD, "trunc_method"},
	{REC_F_TRUNC_PATH, "trunc_path"},
	{REC_F_TRUNC_AUTHORITY, "trunc_authority"},
	{REC_F_TRUNC_REQUEST_ID, "trunc_request_id"},
	{REC_F_TRUNC_USER_AGENT, "trunc_user_agent"},
	{REC_F_TRUNC_REQUEST_MODEL, "trunc_request_model"},
	{REC_F_TRUNC_RESPONSE_MODEL, "trunc_response_model"},
	{REC_F_TRUNC_LABEL0, "trunc_label0"},
	{REC_F_TRUNC_LABEL1, "trunc_label1"},
	{REC_F_STREAM, "stream"},
	{REC_F_LLM, "llm"},
	{REC_F_TLS, "tls"},
	{REC_F_PARSE_ERROR, "parse_error"},
	{REC_F_CONN_CLOSED, "conn_closed"},
	{REC_F_NO_RESPONSE, "no_response"},
	{REC_F_REQUEST_ID_GENERATED, "request_id_generated"},
	{REC_F_HAS_TRACE, "has_trace"},
};

#define U64(f) {#f, offsetof(struct tr_record, f), sizeof(((struct tr_record *)0)->f)}
/* Integer fields, printed as exact decimals (start_ns exceeds a double). */
static const struct {
	const char *name;
	size_t off, size;
} int_fields[] = {
	U64(start_ns), U64(duration_ns), U64(ttfb_ns), U64(ttft_ns), U64(req_bytes),
	U64(resp_bytes), U64(pid), U64(status), U64(producer), U64(producer_gen),
	U64(prompt_tokens), U64(completion_tokens), U64(total_tokens), U64(cached_tokens),
	U64(cache_creation_tokens), U64(reasoning_tokens), U64(chunks), U64(flags),
};

static uint64_t field_value(const struct tr_record *rec, size_t off, size_t size)
{
	const unsigned char *p = (const unsigned char *)rec + off;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;
	switch (size) {
	case 8: memcpy(&v64, p, 8); return v64;
	case 4: memcpy(&v32, p, 4); return v32;
	case 2: memcpy(&v16, p, 2); return v16;
	default: return *p;
	}
}

/* One JSON object on one stdout line, flushed (a reader follows live);
 * frees o. */
static void print_line(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
	}
	cJSON_Delete(o);
}

static void print_record(const struct ring *r, const struct tr_record *rec)
{
	cJSON *o = cJSON_CreateObject(), *flags, *labels;
	const struct ring_producer *p = ring_producer_lookup(r, rec->producer, rec->producer_gen);
	char hex[2 * REC_TRACE_ID_LEN + 1];
	int any = 0;

	for (size_t i = 0; i < sizeof int_fields / sizeof *int_fields; i++)
		add_u64(o, int_fields[i].name,
			field_value(rec, int_fields[i].off, int_fields[i].size));
	if (p != NULL) {
		add_str(o, "workload", p->workload, sizeof p->workload);
		add_str(o, "namespace", p->namespace_, sizeof p->namespace_);
		add_u64(o, "producer_pid", p->pid);
	} else {
		cJSON_AddNullToObject(o, "workload");
		cJSON_AddNullToObject(o, "namespace");
		cJSON_AddNullToObject(o, "producer_pid");
	}
	flags = cJSON_AddArrayToObject(o, "flag_names");
	for (size_t i = 0; i < sizeof flag_names / sizeof *flag_names; i++)
		if (rec->flags & flag_names[i].bit)
			cJSON_AddItemToArray(flags, cJSON_CreateString(flag_names[i].name));
	cJSON_AddStringToObject(o, "reporter", rec_reporter_name(rec->reporter));
	cJSON_AddStringToObject(o, "provider", rec_provider_name(rec->provider));
	cJSON_AddStringToObject(o, "operation", rec_operation_name(rec->operation));
	cJSON_AddStringToObject(o, "usage_status", rec_usage_name(rec->usage_status));
	for (int i = 0; i < REC_TRACE_ID_LEN; i++) {
		snprintf(hex + 2 * i, 3, "%02x", rec->trace_id[i]);
		any |= rec->trace_id[i];
	}
	cJSON_AddStringToObject(o, "trace_id", any ? hex : "");
	add_str(o, "method", rec->method, sizeof rec->method);
	add_addr(o, "local", &rec->local);
	add_addr(o, "peer", &rec->peer);
	add_str(o, "request_id", rec->request_id, sizeof rec->request_id);
	add_str(o, "path", rec->path, sizeof rec->path);
	add_str(o, "authority", rec->authority, sizeof rec->authority);
	add_str(o, "request_model", rec->request_model, sizeof rec->request_model);
	add_str(o, "response_model", rec->response_model, sizeof rec->response_model);
	add_str(o, "user_agent", rec->user_agent, sizeof rec->user_agent);
	labels = cJSON_AddArrayToObject(o, "labels");
	for (int i = 0; i < REC_LABELS; i++) {
		char buf[REC_LABEL_LEN + 1];
		size_t n = strnlen(rec->labels[i], REC_LABEL_LEN);
		memcpy(buf, rec->labels[i], n);
		buf[n] = '\0';
		cJSON_AddItemToArray(labels, cJSON_CreateString(buf));
	}
	print_line(o);
}

/* An event entry (record_event.h), printed with --events only. */
static void print_event(const struct ring *r, const struct tr_record *rec)
{
	struct tr_event ev;
	cJSON *o = cJSON_CreateObject();
	const struct ring_producer *p;

	memcpy(&ev, rec, sizeof ev);
	p = ring_producer_lookup(r, ev.producer, ev.producer_gen);
	cJSON_AddStringToObject(o, "kind", rec_kind_name(ev.kind));
	cJSON_AddStringToObject(o, "type", rec_event_type_name(ev.type));
	cJSON_AddStringToObject(o, "reason", rec_event_reason_name(ev.reason));
	cJSON_AddStringToObject(o, "reporter", rec_reporter_name(ev.reporter));
	add_u64(o, "start_ns", ev.start_ns);
	add_u64(o, "duration_ns", ev.duration_ns);
	add_u64(o, "bytes_sent", ev.bytes_sent);
	add_u64(o, "bytes_received", ev.bytes_received);
	add_u64(o, "count", ev.count);
	add_u64(o, "pid", ev.pid);
	add_str(o, "sni", ev.sni, sizeof ev.sni);
	add_addr(o, "local", &ev.local);
	add_addr(o, "peer", &ev.peer);
	if (p != NULL) {
		add_str(o, "workload", p->workload, sizeof p->workload);
		add_str(o, "namespace", p->namespace_, sizeof p->namespace_);
	} else {
		cJSON_AddNullToObject(o, "workload");
		cJSON_AddNullToObject(o, "namespace");
	}
	print_line(o);
}

static void print_stats(const struct ring *r, uint64_t printed)
{
	struct ring_stats st;
	ring_get_stats(r, &st);
	fprintf(stderr,
		"{\"stats\":{\"printed\":%" PRIu64 ",\"tail\":%" PRIu64 ",\"head\":%" PRIu64
		",\"consumed\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"skipped\":%" PRIu64
		",\"dropped_full\":%" PRIu64 ",\"dropped_contention\":%" PRIu64
		",\"dropped_late\":%" PRIu64 ",\"dropped_detached\":%" PRIu64
		",\"producers\":%u,\"registrations_failed\":%" PRIu64 "}}\n",
		printed, st.tail, st.head, st.consumed, st.corrupt, st.skipped,
		st.dropped[RING_DROP_FULL], st.dropped[RING_DROP_CONTENTION],
		st.dropped[RING_DROP_LATE], st.dropped[RING_DROP_DETACHED], st.producers,
		st.registrations_failed);
}

static void usage(void)
{
	fprintf(stderr, "usage: ring_capture --ring PATH [--capacity N] [--count N] "
			"[--timeout SEC] [--label-header NAME]... [--keep] [--events]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ring", required_argument, NULL, 'r'},
		{"capacity", required_argument, NULL, 'c'},
		{"count", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"label-header", required_argument, NULL, 'l'},
		{"keep", no_argument, NULL, 'k'},
		{"events", no_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	struct ring_config cfg;
	struct ring r;
	uint64_t count = 0, printed = 0, deadline = 0;
	int nlabels = 0, keep = 0, events = 0, opt, err;
	struct tr_record batch[BATCH];

	ring_config_default(&cfg);
	cfg.capacity = 1024;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': path = optarg; break;
		case 'c': cfg.capacity = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 't': deadline = mono_ns() + (uint64_t)(strtod(optarg, NULL) * 1e9); break;
		case 'l':
			if (nlabels >= REC_LABELS)
				usage();
			cfg.label_headers[nlabels++] = optarg;
			break;
		case 'k': keep = 1; break;
		case 'e': events = 1; break;
		default: usage();
		}
	}
	if (path == NULL)
		usage();
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	err = ring_create(path, &cfg, &r);
	if (err != 0) {
		fprintf(stderr, "ring_capture: %s: %s\n", path, ring_strerror(err));
		return 1;
	}
	for (;;) {
		int last = stop || (count && printed >= count) || (deadline && mono_ns() >= deadline);
		size_t n = ring_consume(&r, batch, BATCH, mono_ns());
		for (size_t i = 0; i < n; i++) {
			if (batch[i].kind == REC_KIND_EVENT) {
				if (events)
					print_event(&r, &batch[i]);
			} else {
				print_record(&r, &batch[i]);
			}
			printed++;
		}
		if (last && n == 0)
			break;
		if (n == 0) {
			struct timespec ts = {0, POLL_NS};
			nanosleep(&ts, NULL);
		}
	}
	print_stats(&r, printed);
	if (!keep)
		unlink(path);
	ring_detach(&r);
	return 0;
}
