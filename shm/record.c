/*
 * record.c - names for the record's enums and the bounded string setter
 * both sides use. No allocation, async-signal-safe.
 */
#include <string.h>

#include "record.h"
#include "record_event.h"

static const char *const reporter_names[] = {"unknown", "source", "destination"};
static const char *const provider_names[] = {"unknown", "openai", "anthropic", "dashscope",
					     "ollama", "gemini", "azure.openai", "cohere", "voyage",
					     "jina", "mistral", "deepseek", "gcp.vertex_ai",
					     "aws.bedrock", "mcp"};
static const char *const operation_names[] = {"unknown", "chat", "text_completion",
					      "embeddings", "generate_content", "responses", "rerank", "mcp"};
static const char *const usage_names[] = {"none", "available", "not_requested", "missing",
					  "interrupted", "undecodable"};
static const char *const kind_names[] = {"exchange", "body", "event", "mcp_answer"};
static const char *const coding_names[] = {"identity", "gzip", "deflate", "br", "zstd",
					   "unknown"};

_Static_assert(sizeof(provider_names) / sizeof(*provider_names) == REC_PROVIDER_COUNT,
	       "a name per provider");
_Static_assert(sizeof(operation_names) / sizeof(*operation_names) == REC_OP_COUNT,
	       "a name per operation");
_Static_assert(sizeof(usage_names) / sizeof(*usage_names) == REC_USAGE_COUNT,
	       "a name per usage status");
_Static_assert(sizeof(kind_names) / sizeof(*kind_names) == REC_KIND_COUNT, "a name per kind");
_Static_assert(sizeof(coding_names) / sizeof(*coding_names) == REC_CODING_COUNT,
	       "a name per coding");

#define NAME_OF(table, v) ((v) < sizeof(table) / sizeof(*(table)) ? (table)[v] : "unknown")

const char *rec_reporter_name(unsigned v) { return NAME_OF(reporter_names, v); }
const char *rec_provider_name(unsigned v) { return NAME_OF(provider_names, v); }
const char *rec_operation_name(unsigned v) { return NAME_OF(operation_names, v); }
const char *rec_usage_name(unsigned v) { return NAME_OF(usage_names, v); }
const char *rec_kind_name(unsigned v) { return NAME_OF(kind_names, v); }
const char *rec_coding_name(unsigned v) { return NAME_OF(coding_names, v); }

/* Event entries (record_event.h): here with the other names, so every
 * target that links record.c has them. */
static const char *const event_type_names[] = {"none", "opaque_tls", "unreadable", "untracked"};
static const char *const event_reason_names[] = {"none", "go", "slots_full", "fd_range"};
_Static_assert(sizeof(event_type_names) / sizeof(*event_type_names) == REC_EVENT_TYPE_COUNT,
	       "a name per event type");
_Static_assert(sizeof(event_reason_names) / sizeof(*event_reason_names) == REC_REASON_COUNT,
	       "a name per event reason");

const char *rec_event_type_name(unsigned v) { return NAME_OF(event_type_names, v); }
const char *rec_event_reason_name(unsigned v) { return NAME_OF(event_reason_names, v); }


void rec_set_str(char *dst, size_t cap, const char *src, size_t len, uint32_t *flags,
		 uint32_t flag)
{
	if (cap == 0)
		return;
	if (len >= cap) {
		len = cap - 1;
		/* Back up over UTF-8 continuation bytes so we never cut a character. */
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
		if (flags)
			*flags |= flag;
	}
	memcpy(dst, src, len);
	memset(dst + len, 0, cap - len);
}
