/*
 * test_core_helpers.h - record and config builders shared by the
 * aggregation core's unit tests.
 */
#ifndef TOKENRING_TEST_CORE_HELPERS_H
#define TOKENRING_TEST_CORE_HELPERS_H

#include <string.h>

#include "agg.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)

/* Seed 000's first request: sleep -> dashscope, qwen1.5-72b-chat, 3 + 55 tokens. */
static inline void tc_record(struct tr_record *r)
{
	memset(r, 0, sizeof(*r));
	r->start_ns = 1720754403993000000ull; /* 2024-07-12T03:20:03.993Z */
	r->duration_ns = MS(7640);
	r->ttfb_ns = MS(7639);
	r->status = 200;
	r->reporter = REC_REPORTER_SOURCE;
	r->provider = REC_PROVIDER_DASHSCOPE;
	r->operation = REC_OP_CHAT;
	r->usage_status = REC_USAGE_AVAILABLE;
	r->flags = REC_F_LLM;
	r->prompt_tokens = 3;
	r->completion_tokens = 55;
	r->total_tokens = 58;
	r->req_bytes = 85;
	r->resp_bytes = 617;
	strcpy(r->method, "POST");
	strcpy(r->path, "/compatible-mode/v1/chat/completions");
	strcpy(r->authority, "dashscope.aliyuncs.com");
	strcpy(r->request_model, "qwen1.5-72b-chat");
	strcpy(r->user_agent, "curl/8.8.0");
	strcpy(r->request_id, "d0e17f66-f300-411a-8c32-000000000000");
	r->local.family = 4;
	r->local.port = 39066;
	memcpy(r->local.addr, (uint8_t[]){192, 168, 34, 235}, 4);
	r->peer.family = 4;
	r->peer.port = 80;
	memcpy(r->peer.addr, (uint8_t[]){47, 93, 1, 2}, 4);
}

static inline struct agg_identity tc_identity(void)
{
	struct agg_identity id;
	memset(&id, 0, sizeof(id));
	strcpy(id.workload, "sleep");
	strcpy(id.namespace_, "default");
	return id;
}

static inline struct agg_config tc_config(uint32_t families)
{
	struct agg_config c;
	memset(&c, 0, sizeof(c));
	c.families = families;
	return c;
}

#endif
