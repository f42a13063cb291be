/* test_alog.c - the access log line: ASM field names and string values
 * (seed 000), direction of the address fields, extras, escaping; parsed
 * back with cJSON field by field. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "test_core_helpers.h"

static cJSON *format(const struct tr_record *r, const struct agg_identity *id,
		     const struct agg_config *cfg)
{
	struct strbuf b;
	strbuf_init(&b);
	cr_assert_eq(alog_format(r, id, cfg, &b), 0);
	cr_assert_gt(b.len, 2);
	cr_assert_eq(b.data[b.len - 1], '\n', "one line, newline-terminated");
	cr_assert_null(memchr(b.data, '\n', b.len - 1), "no newline inside the line");
	cJSON *j = cJSON_ParseWithLength(b.data, b.len);
	cr_assert_not_null(j, "valid JSON: %s", b.data);
	strbuf_free(&b);
	return j;
}

static void expect(const cJSON *j, const char *k, const char *v)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, k);
	cr_assert_not_null(f, "field %s present", k);
	cr_assert(cJSON_IsString(f), "field %s is a string", k);
	cr_assert_str_eq(f->valuestring, v, "field %s", k);
}

Test(alog, seed_000_fields_source)
{
	struct tr_record r;
	struct agg_identity id = tc_identity();
	struct agg_config cfg = tc_config(0);
	strcpy(cfg.label_names[0], "team");
	tc_record(&r);
	strcpy(r.labels[0], "dev");
	r.flags |= REC_F_HAS_TRACE;
	for (unsigned i = 0; i < REC_TRACE_ID_LEN; i++)
		r.trace_id[i] = (uint8_t)(0xa0 + i);
	cJSON *j = format(&r, &id, &cfg);
	expect(j, "start_time", "2024-07-12T03:20:03.993Z");
	expect(j, "duration", "7640");
	expect(j, "method", "POST");
	expect(j, "path", "/compatible-mode/v1/chat/completions");
	expect(j, "protocol", "HTTP/1.1");
	expect(j, "response_code", "200");
	expect(j, "response_flags", "-");
	expect(j, "bytes_received", "85");
	expect(j, "bytes_sent", "617");
	expect(j, "request_id", "d0e17f66-f300-411a-8c32-000000000000");
	expect(j, "authority_for", "dashscope.aliyuncs.com");
	expect(j, "upstream_host", "47.93.1.2:80");
	expect(j, "downstream_local_address", "47.93.1.2:80");
	expect(j, "downstream_remote_address", "192.168.34.235:39066");
	expect(j, "user_agent", "curl/8.8.0");
	expect(j, "trace_id", "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	expect(j, "request_model", "qwen1.5-72b-chat");
	expect(j, "request_prompt_tokens", "3");
	expect(j, "request_completion_tokens", "55");
	expect(j, "total_tokens", "58");
	expect(j, "response_model", "-");
	expect(j, "provider", "dashscope");
	expect(j, "operation", "chat");
	expect(j, "streaming", "false");
	expect(j, "time_to_first_token", "-");
	expect(j, "reporter", "source");
	expect(j, "source_workload", "sleep");
	expect(j, "source_namespace", "default");
	expect(j, "usage_status", "available");
	expect(j, "cached_tokens", "0");
	expect(j, "cache_creation_tokens", "0");
	expect(j, "reasoning_tokens", "0");
	expect(j, "chunks", "0");
	expect(j, "content_encoding", "-");
	expect(j, "request_content_encoding", "-");
	expect(j, "team", "dev");
	cr_assert_eq(cJSON_GetArraySize(j), 36, "no other fields");
	cJSON_Delete(j);
}

Test(alog, destination_direction_stream_and_no_usage)
{
	struct tr_record r;
	tc_record(&r);
	r.reporter = REC_REPORTER_DESTINATION;
	r.flags |= REC_F_STREAM | REC_F_CONN_CLOSED;
	r.ttft_ns = MS(250) + 999999; /* whole ms, truncated like %DURATION% */
	r.usage_status = REC_USAGE_INTERRUPTED;
	r.prompt_tokens = r.completion_tokens = r.total_tokens = 0;
	r.chunks = 17;
	r.status = 0;
	cJSON *j = format(&r, NULL, NULL);
	expect(j, "reporter", "destination");
	expect(j, "downstream_local_address", "192.168.34.235:39066");
	expect(j, "upstream_host", "192.168.34.235:39066");
	expect(j, "downstream_remote_address", "47.93.1.2:80");
	expect(j, "streaming", "true");
	expect(j, "time_to_first_token", "250");
	expect(j, "usage_status", "interrupted");
	expect(j, "request_prompt_tokens", "-");
	expect(j, "request_completion_tokens", "-");
	expect(j, "total_tokens", "-");
	expect(j, "cached_tokens", "-");
	expect(j, "response_code", "0");
	expect(j, "response_flags", "UPE");
	expect(j, "chunks", "17");
	expect(j, "source_workload", "-");
	expect(j, "trace_id", "-");
	cJSON_Delete(j);
}

Test(alog, hostile_strings_escaped)
{
	struct tr_record r;
	tc_record(&r);
	/* quotes, backslash, newline, control bytes, invalid UTF-8, unterminated */
	memcpy(r.request_model, "a\"b\\c\nd\x01\x1f\xff\xc3(", 13);
	memset(r.request_model + 13, 0, sizeof(r.request_model) - 13);
	memset(r.path, 'p', sizeof(r.path)); /* no NUL at all */
	strcpy(r.user_agent, "caf\xc3\xa9 \xe2\x82"); /* valid 2-byte, truncated 3-byte */
	cJSON *j = format(&r, NULL, NULL);
	expect(j, "request_model", "a\"b\\c\nd\x01\x1f\xef\xbf\xbd\xef\xbf\xbd(");
	char path[REC_PATH_LEN + 1];
	memset(path, 'p', REC_PATH_LEN);
	path[REC_PATH_LEN] = 0;
	expect(j, "path", path);
	expect(j, "user_agent", "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
	cJSON_Delete(j);
}

Test(alog, appends_and_reserved_names)
{
	struct tr_record r;
	struct strbuf b;
	tc_record(&r);
	strbuf_init(&b);
	cr_assert_eq(alog_format(&r, NULL, NULL, &b), 0);
	size_t one = b.len;
	cr_assert_eq(alog_format(&r, NULL, NULL, &b), 0);
	cr_assert_eq(b.len, 2 * one);
	cr_assert_eq(memcmp(b.data, b.data + one, one), 0);
	strbuf_free(&b);
	cr_assert(alog_field_reserved("request_model"));
	cr_assert(alog_field_reserved("start_time"));
	cr_assert(!alog_field_reserved("team"));
}

Test(alog, ipv6_and_unknown_addresses)
{
	struct tr_record r;
	tc_record(&r);
	r.peer.family = 6;
	memset(r.peer.addr, 0, 16);
	r.peer.addr[0] = 0x20;
	r.peer.addr[1] = 0x01;
	r.peer.addr[2] = 0x0d;
	r.peer.addr[3] = 0xb8;
	r.peer.addr[15] = 0x01;
	r.peer.port = 443;
	r.local.family = 0;
	cJSON *j = format(&r, NULL, NULL);
	expect(j, "upstream_host", "[2001:db8::1]:443");
	expect(j, "downstream_local_address", "[2001:db8::1]:443");
	expect(j, "downstream_remote_address", "-");
	cJSON_Delete(j);
}
