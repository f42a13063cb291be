/*
 * ring_writer.c - a test producer: attaches to a live ring and publishes
 * records described as JSON objects (one per line on stdin, or --json),
 * so integration tests can feed tokenringd known records without the shim.
 *
 *   ring_writer --ring PATH [--workload W] [--namespace NS] [--no-register]
 *               [--json '{"model":"m","status":200,"count":10}'] ...
 *
 * Keys (all optional): count, model, response_model, status, prompt_tokens,
 * completion_tokens, total_tokens, cached_tokens, cache_creation_tokens,
 * reasoning_tokens, chunks, duration_ms, ttfb_ms, ttft_ms, req_bytes,
 * resp_bytes, reporter, provider, operation, usage (enum names as in
 * record.c), stream, llm, method, path, authority, request_id (suffixed
 * "-<i>" when count > 1), user_agent, labels ([..]), start_ns, local, peer
 * ("a.b.c.d:port"), trace_id (32 hex digits: a traceparent's trace id),
 * flags. An unknown key or a bad value exits 2.
 * Prints "published N failed M" and exits 0 only if every record went in.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "ring.h"

#define WRITER_LINE_MAX (64u << 10)

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die_usage(const char *what, const char *detail)
{
	fprintf(stderr, "ring_writer: %s: %s\n", what, detail);
	exit(2);
}

static unsigned enum_value(const char *key, const char *name, const char *(*namer)(unsigned),
			   unsigned count)
{
	for (unsigned v = 0; v < count; v++)
		if (strcmp(namer(v), name) == 0)
			return v;
	die_usage(key, name);
	return 0;
}

static void set_addr(struct rec_addr *a, const char *key, const char *s)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof host)
		die_usage(key, s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, host, a->addr) != 1)
		die_usage(key, s);
	a->family = 4;
	a->port = (uint16_t)atoi(colon + 1);
}

static double num(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 0)
		die_usage(v->string, "expected a non-negative number");
	return v->valuedouble;
}

static const char *str(const cJSON *v)
{
	if (!cJSON_IsString(v))
		die_usage(v->string, "expected a string");
	return v->valuestring;
}

#define SET_STR(field, flag) \
	rec_set_str(rec->field, sizeof rec->field, str(v), strlen(str(v)), &rec->flags, flag)

static void set_trace(struct tr_record *rec, const char *key, const char *hex)
{
	if (strlen(hex) != 2 * REC_TRACE_ID_LEN)
		die_usage(key, "expected 32 hex digits");
	for (unsigned i = 0; i < REC_TRACE_ID_LEN; i++) {
		unsigned b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			die_usage(key, "expected 32 hex digits");
		rec->trace_id[i] = (uint8_t)b;
	}
	rec->flags |= REC_F_HAS_TRACE;
}

/* Build the record template from a spec; returns the repeat count. */
static uint64_t build(const cJSON *spec, struct tr_record *rec, char *request_id, size_t rid_cap)
{
	uint64_t count = 1;
	memset(rec, 0, sizeof *rec);
	rec->status = 200;
	rec->reporter = REC_REPORTER_SOURCE;
	rec->provider = REC_PROVIDER_OPENAI;
	rec->operation = REC_OP_CHAT;
	rec->usage_status = REC_USAGE_AVAILABLE;
	rec->flags = REC_F_LLM;
	rec->duration_ns = 100 * 1000 * 1000;
	rec->pid = (uint32_t)getpid();
	strcpy(rec->method, "POST");
	strcpy(rec->path, "/v1/chat/completions");
	strcpy(rec->authority, "api.example.com");
	request_id[0] = 0;
	const cJSON *v;
	cJSON_ArrayForEach(v, spec)
	{
		const char *k = v->string;
		if (!strcmp(k, "count")) count = (uint64_t)num(v);
		else if (!strcmp(k, "model")) SET_STR(request_model, REC_F_TRUNC_REQUEST_MODEL);
		else if (!strcmp(k, "response_model")) SET_STR(response_model, REC_F_TRUNC_RESPONSE_MODEL);
		else if (!strcmp(k, "status")) rec->status = (uint16_t)num(v);
		else if (!strcmp(k, "prompt_tokens")) rec->prompt_tokens = (uint32_t)num(v);
		else if (!strcmp(k, "completion_tokens")) rec->completion_tokens = (uint32_t)num(v);
		else if (!strcmp(k, "total_tokens")) rec->total_tokens = (uint32_t)num(v);
		else if (!strcmp(k, "cached_tokens")) rec->cached_tokens = (uint32_t)num(v);
		else if (!strcmp(k, "cache_creation_tokens")) rec->cache_creation_tokens = (uint32_t)num(v);
		else if (!strcmp(k, "reasoning_tokens")) rec->reasoning_tokens = (uint32_t)num(v);
		else if (!strcmp(k, "chunks")) rec->chunks = (uint32_t)num(v);
		else if (!strcmp(k, "duration_ms")) rec->duration_ns = (uint64_t)(num(v) * 1e6 + 0.5);
		else if (!strcmp(k, "ttfb_ms")) rec->ttfb_ns = (uint64_t)(num(v) * 1e6 + 0.5);
		else if (!strcmp(k, "ttft_ms")) rec->ttft_ns = (uint64_t)(num(v) * 1e6 + 0.5);
		else if (!strcmp(k, "req_bytes")) rec->req_bytes = (uint64_t)num(v);
		else if (!strcmp(k, "resp_bytes")) rec->resp_bytes = (uint64_t)num(v);
		else if (!strcmp(k, "start_ns")) rec->start_ns = (uint64_t)num(v);
		else if (!strcmp(k, "flags")) rec->flags |= (uint32_t)num(v);
		else if (!strcmp(k, "reporter"))
			rec->reporter = (uint8_t)enum_value(k, str(v), rec_reporter_name, 3);
		else if (!strcmp(k, "provider"))
			rec->provider = (uint8_t)enum_value(k, str(v), rec_provider_name, REC_PROVIDER_COUNT);
		else if (!strcmp(k, "operation"))
			rec->operation = (uint8_t)enum_value(k, str(v), rec_operation_name, REC_OP_COUNT);
		else if (!strcmp(k, "usage"))
			rec->usage_status = (uint8_t)enum_value(k, str(v), rec_usage_name, REC_USAGE_COUNT);
		else if (!strcmp(k, "stream")) {
			if (!cJSON_IsBool(v))
				die_usage(k, "expected true or false");
			if (cJSON_IsTrue(v))
				rec->flags |= REC_F_STREAM;
		} else if (!strcmp(k, "llm")) {
			if (!cJSON_IsBool(v))
				die_usage(k, "expected true or false");
			if (cJSON_IsFalse(v))
				rec->flags &= ~REC_F_LLM;
		} else if (!strcmp(k, "method")) SET_STR(method, REC_F_TRUNC_METHOD);
		else if (!strcmp(k, "path")) SET_STR(path, REC_F_TRUNC_PATH);
		else if (!strcmp(k, "authority")) SET_STR(authority, REC_F_TRUNC_AUTHORITY);
		else if (!strcmp(k, "user_agent")) SET_STR(user_agent, REC_F_TRUNC_USER_AGENT);
		else if (!strcmp(k, "request_id")) snprintf(request_id, rid_cap, "%s", str(v));
		else if (!strcmp(k, "trace_id")) set_trace(rec, k, str(v));
		else if (!strcmp(k, "local")) set_addr(&rec->local, k, str(v));
		else if (!strcmp(k, "peer")) set_addr(&rec->peer, k, str(v));
		else if (!strcmp(k, "labels")) {
			const cJSON *e;
			unsigned i = 0;
			if (!cJSON_IsArray(v))
				die_usage(k, "expected an array of strings");
			cJSON_ArrayForEach(e, v)
			{
				if (i == REC_LABELS)
					die_usage(k, "too many labels");
				rec_set_str(rec->labels[i], REC_LABEL_LEN, str(e), strlen(str(e)),
					    &rec->flags, i ? REC_F_TRUNC_LABEL1 : REC_F_TRUNC_LABEL0);
				i++;
			}
		} else
			die_usage(k, "unknown key");
	}
	if (rec->flags & REC_F_STREAM && !rec->ttft_ns)
		rec->ttft_ns = rec->duration_ns / 4;
	return count;
}

struct writer {
	struct ring ring;
	int producer;
	uint16_t gen;
	uint64_t published;
	uint64_t failed;
};

static void publish_spec(struct writer *w, const cJSON *spec)
{
	struct tr_record rec;
	char rid[REC_REQUEST_ID_LEN + 24];
	if (!cJSON_IsObject(spec))
		die_usage("spec", "expected a JSON object");
	uint64_t count = build(spec, &rec, rid, sizeof rid);
	rec.producer = w->producer < 0 ? RING_NO_PRODUCER : (uint16_t)w->producer;
	rec.producer_gen = w->gen;
	bool fixed_start = rec.start_ns != 0;
	for (uint64_t i = 0; i < count; i++) {
		if (!fixed_start)
			rec.start_ns = now_ns(CLOCK_REALTIME);
		if (rid[0]) {
			char one[REC_REQUEST_ID_LEN + 48];
			if (count > 1)
				snprintf(one, sizeof one, "%s-%llu", rid, (unsigned long long)i);
			else
				snprintf(one, sizeof one, "%s", rid);
			rec_set_str(rec.request_id, sizeof rec.request_id, one, strlen(one), &rec.flags,
				    REC_F_TRUNC_REQUEST_ID);
		}
		if (ring_publish(&w->ring, &rec) == 0)
			w->published++;
		else
			w->failed++;
	}
}

int main(int argc, char *argv[])
{
	const char *path = getenv("TOKENRING_RING");
	const char *workload = "ring-writer", *ns = "default";
	bool reg = true;
	int first_json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ring") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--workload") && i + 1 < argc)
			workload = argv[++i];
		else if (!strcmp(argv[i], "--namespace") && i + 1 < argc)
			ns = argv[++i];
		else if (!strcmp(argv[i], "--no-register"))
			reg = false;
		else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			if (!first_json)
				first_json = i;
			i++;
		} else
			die_usage(argv[i], "unknown argument (see the top of ring_writer.c)");
	}
	if (!path)
		path = RING_DEFAULT_PATH;

	struct writer w = {.producer = -1};
	int rc = ring_attach(path, &w.ring);
	if (rc) {
		fprintf(stderr, "ring_writer: attach %s: %s\n", path, ring_strerror(rc));
		return 1;
	}
	if (reg) {
		w.producer = ring_producer_register(&w.ring, (uint32_t)getpid(), workload, ns,
						    now_ns(CLOCK_MONOTONIC), &w.gen);
		if (w.producer < 0)
			fprintf(stderr, "ring_writer: producer table full; identity unknown\n");
	}
	if (first_json) {
		for (int i = first_json; i < argc; i++) {
			if (strcmp(argv[i], "--json"))
				continue;
			cJSON *spec = cJSON_Parse(argv[++i]);
			if (!spec)
				die_usage("--json", "invalid JSON");
			publish_spec(&w, spec);
			cJSON_Delete(spec);
		}
	} else {
		char *line = malloc(WRITER_LINE_MAX);
		while (line && fgets(line, WRITER_LINE_MAX, stdin)) {
			if (strspn(line, " \t\r\n") == strlen(line))
				continue;
			cJSON *spec = cJSON_Parse(line);
			if (!spec)
				die_usage("stdin", "invalid JSON line");
			publish_spec(&w, spec);
			cJSON_Delete(spec);
		}
		free(line);
	}
	printf("published %llu failed %llu\n", (unsigned long long)w.published,
	       (unsigned long long)w.failed);
	ring_detach(&w.ring);
	return w.failed ? 1 : 0;
}
