/*
 * llm_route.c - provider and operation from the request target and Host.
 * The path says what API is spoken; a well-known Host says who serves it
 * (an OpenAI-style path on dashscope.aliyuncs.com is DashScope).
 */
#include <string.h>

#include "http.h"
#include "llm.h"

static int is(const char *p, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

static int ends_with(const char *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	return n >= k && memcmp(p + n - k, lit, k) == 0;
}

static int starts_with(const char *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	return n >= k && memcmp(p, lit, k) == 0;
}

/* Gemini names the method after the last ':' of the path
 * (/v1beta/models/gemini-2.0-flash:generateContent). */
static int gemini_method(const char *p, size_t n, const char *method)
{
	const char *colon = memrchr(p, ':', n);
	return colon && is(colon + 1, n - (size_t)(colon + 1 - p), method);
}

/* The OpenAI-style operation a path ends with. */
static uint8_t op_by_suffix(const char *p, size_t n)
{
	if (ends_with(p, n, "/chat/completions"))
		return REC_OP_CHAT;
	if (ends_with(p, n, "/completions"))
		return REC_OP_TEXT_COMPLETION;
	if (ends_with(p, n, "/embeddings"))
		return REC_OP_EMBEDDINGS;
	if (ends_with(p, n, "/responses"))
		return REC_OP_RESPONSES;
	if (ends_with(p, n, "/rerank")) /* Voyage, Jina, Cohere v1, TEI, vLLM */
		return REC_OP_RERANK;
	return REC_OP_UNKNOWN;
}

static void set(struct llm_route *o, uint8_t provider, uint8_t op)
{
	o->provider = provider;
	o->operation = op;
}

/* Bedrock runtime: /model/{modelId}/{converse,converse-stream,invoke,
 * invoke-with-response-stream}. Converse is chat whatever the model;
 * InvokeModel carries the model's own body, which tells the operation. */
static int route_bedrock(const char *p, size_t n, struct llm_route *o)
{
	if (!starts_with(p, n, "/model/"))
		return 0;
	const char *slash = memrchr(p, '/', n);
	size_t at = (size_t)(slash - p), rest = n - at;
	if (at <= 7)
		return 0;
	if (is(slash, rest, "/converse") || is(slash, rest, "/converse-stream"))
		set(o, REC_PROVIDER_BEDROCK, REC_OP_CHAT);
	else if (is(slash, rest, "/invoke") || is(slash, rest, "/invoke-with-response-stream"))
		set(o, REC_PROVIDER_BEDROCK, REC_OP_UNKNOWN);
	else
		return 0;
	return 1;
}

/* Non-OpenAI-style APIs, named by a distinctive path. */
static int route_native(const char *p, size_t n, struct llm_route *o)
{
	if (route_bedrock(p, n, o))
		return 1;
	if (starts_with(p, n, "/api/v1/services/aigc/"))
		set(o, REC_PROVIDER_DASHSCOPE,
		    memmem(p, n, "embedding", 9) ? REC_OP_EMBEDDINGS : REC_OP_CHAT);
	else if (starts_with(p, n, "/api/v1/services/embeddings/"))
		set(o, REC_PROVIDER_DASHSCOPE, REC_OP_EMBEDDINGS);
	else if (is(p, n, "/v1/embed") || is(p, n, "/v2/embed"))
		set(o, REC_PROVIDER_COHERE, REC_OP_EMBEDDINGS);
	else if (is(p, n, "/v2/rerank"))
		set(o, REC_PROVIDER_COHERE, REC_OP_RERANK);
	else if (is(p, n, "/v1/chat") || is(p, n, "/v2/chat"))
		set(o, REC_PROVIDER_COHERE, REC_OP_CHAT);
	else if (ends_with(p, n, "/v1/messages"))
		set(o, REC_PROVIDER_ANTHROPIC, REC_OP_CHAT);
	else if (is(p, n, "/api/chat"))
		set(o, REC_PROVIDER_OLLAMA, REC_OP_CHAT);
	else if (is(p, n, "/api/generate"))
		set(o, REC_PROVIDER_OLLAMA, REC_OP_TEXT_COMPLETION);
	else if (is(p, n, "/api/embed") || is(p, n, "/api/embeddings"))
		set(o, REC_PROVIDER_OLLAMA, REC_OP_EMBEDDINGS);
	else if (gemini_method(p, n, "generateContent") || gemini_method(p, n, "streamGenerateContent"))
		set(o, REC_PROVIDER_GEMINI, REC_OP_GENERATE_CONTENT);
	else if (gemini_method(p, n, "embedContent") || gemini_method(p, n, "batchEmbedContents"))
		set(o, REC_PROVIDER_GEMINI, REC_OP_EMBEDDINGS);
	else if (gemini_method(p, n, "rawPredict") || gemini_method(p, n, "streamRawPredict"))
		/* Vertex AI's partner models speak their own API under Google's
		 * method names; Anthropic's is messages. Others: the body says. */
		set(o, REC_PROVIDER_VERTEX_AI,
		    memmem(p, n, "/publishers/anthropic/", 22) ? REC_OP_CHAT : REC_OP_UNKNOWN);
	else
		return 0;
	return 1;
}

static int route_path(const char *p, size_t n, struct llm_route *o)
{
	if (route_native(p, n, o))
		return 1;
	uint8_t op = op_by_suffix(p, n);
	if (op == REC_OP_UNKNOWN)
		return 0;
	if (starts_with(p, n, "/compatible-mode/"))
		set(o, REC_PROVIDER_DASHSCOPE, op);
	else if (starts_with(p, n, "/openai/deployments/"))
		set(o, REC_PROVIDER_AZURE_OPENAI, op);
	else
		set(o, REC_PROVIDER_OPENAI, op);
	return 1;
}

static int host_ends(const char *h, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	return n >= k && http_name_is(h + n - k, k, lit);
}

static uint8_t provider_by_host(const char *h, size_t n)
{
	const char *colon = memchr(h, ':', n);
	if (colon)
		n = (size_t)(colon - h);
	if (host_ends(h, n, "api.openai.com"))
		return REC_PROVIDER_OPENAI;
	if (host_ends(h, n, ".openai.azure.com"))
		return REC_PROVIDER_AZURE_OPENAI;
	if (host_ends(h, n, "api.anthropic.com"))
		return REC_PROVIDER_ANTHROPIC;
	if (host_ends(h, n, ".aliyuncs.com") && n >= 9 && http_name_is(h, 9, "dashscope"))
		return REC_PROVIDER_DASHSCOPE;
	if (host_ends(h, n, "generativelanguage.googleapis.com"))
		return REC_PROVIDER_GEMINI;
	if (host_ends(h, n, "aiplatform.googleapis.com")) /* REGION-aiplatform... */
		return REC_PROVIDER_VERTEX_AI;
	if (host_ends(h, n, ".amazonaws.com") && n >= 16 && http_name_is(h, 16, "bedrock-runtime."))
		return REC_PROVIDER_BEDROCK;
	if (host_ends(h, n, "api.cohere.com") || host_ends(h, n, "api.cohere.ai"))
		return REC_PROVIDER_COHERE;
	if (host_ends(h, n, "api.voyageai.com"))
		return REC_PROVIDER_VOYAGE;
	if (host_ends(h, n, "api.jina.ai"))
		return REC_PROVIDER_JINA;
	if (host_ends(h, n, "api.mistral.ai") || host_ends(h, n, "codestral.mistral.ai"))
		return REC_PROVIDER_MISTRAL;
	if (host_ends(h, n, "api.deepseek.com"))
		return REC_PROVIDER_DEEPSEEK;
	return REC_PROVIDER_UNKNOWN;
}

int llm_route(const char *path, size_t plen, const char *host, size_t hlen,
	      struct llm_route *out)
{
	const char *q = memchr(path, '?', plen);
	size_t n = q ? (size_t)(q - path) : plen;
	memset(out, 0, sizeof *out);
	int known = route_path(path, n, out);
	uint8_t by_host = provider_by_host(host, hlen);
	/* Gemini on Vertex AI stays gemini, as it was before Vertex's other
	 * publishers were read: the label value is public. */
	if (by_host != REC_PROVIDER_UNKNOWN &&
	    !(by_host == REC_PROVIDER_VERTEX_AI && out->provider == REC_PROVIDER_GEMINI))
		out->provider = by_host;
	return known;
}

size_t llm_path_model(const char *path, size_t plen, size_t *at)
{
	const char *q = memchr(path, '?', plen);
	size_t n = q ? (size_t)(q - path) : plen;
	struct llm_route bedrock;
	if (route_bedrock(path, n, &bedrock)) { /* /model/{modelId}/converse */
		*at = 7;
		return (size_t)((const char *)memrchr(path, '/', n) - path) - 7;
	}
	const char *colon = memrchr(path, ':', n);
	if (!colon)
		return 0;
	/* the segment before ":method" must follow ".../models/" */
	const char *seg = memrchr(path, '/', (size_t)(colon - path));
	if (!seg)
		return 0;
	size_t before = (size_t)(seg - path) + 1;
	if (!ends_with(path, before, "/models/") && !ends_with(path, before, "/tunedModels/"))
		return 0;
	*at = before;
	return (size_t)(colon - seg - 1);
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void llm_set_path_model(struct tr_record *r, const char *m, size_t n)
{
	size_t w = 0, i = 0;
	for (; i < n && w < REC_MODEL_LEN - 1; i++) {
		int hi = i + 2 < n && m[i] == '%' ? hex(m[i + 1]) : -1;
		int lo = hi >= 0 ? hex(m[i + 2]) : -1;
		if (lo >= 0) {
			r->request_model[w++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			r->request_model[w++] = m[i];
		}
	}
	memset(r->request_model + w, 0, REC_MODEL_LEN - w);
	if (i < n)
		r->flags |= REC_F_TRUNC_REQUEST_MODEL;
}
