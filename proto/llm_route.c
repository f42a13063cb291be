/*
 * llm_route.c - provider and operation from the request target and Host.
 * The path says what API is spoken; a well-known Host says who serves it
 * (an OpenAI-style path on dashscope.aliyuncs.com is DashScope).
 */
#include <string.h>

#include "http.h"
#include "llm.h"

/* Literal comparisons, inlined so each literal's length is a constant
 * (a few loads and compares, no call). Paths are case-sensitive; hosts are
 * not. */
#define LIT(s) s, sizeof s - 1

static inline int is(const char *p, size_t n, const char *lit, size_t k)
{
	return n == k && memcmp(p, lit, k) == 0;
}

static inline int ends_with(const char *p, size_t n, const char *lit, size_t k)
{
	return n >= k && memcmp(p + n - k, lit, k) == 0;
}

static inline int starts_with(const char *p, size_t n, const char *lit, size_t k)
{
	return n >= k && memcmp(p, lit, k) == 0;
}

static inline int host_ends(const char *h, size_t n, const char *lit, size_t k)
{
	return n >= k && http_name_eq(h + n - k, k, lit, k);
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
	if (!starts_with(p, n, LIT("/model/")))
		return 0;
	const char *slash = memrchr(p, '/', n);
	size_t at = (size_t)(slash - p), rest = n - at;
	if (at <= 7)
		return 0;
	if (is(slash, rest, LIT("/converse")) || is(slash, rest, LIT("/converse-stream")))
		set(o, REC_PROVIDER_BEDROCK, REC_OP_CHAT);
	else if (is(slash, rest, LIT("/invoke")) ||
		 is(slash, rest, LIT("/invoke-with-response-stream")))
		set(o, REC_PROVIDER_BEDROCK, REC_OP_UNKNOWN);
	else
		return 0;
	return 1;
}

/* DashScope's native API, named by its prefix whatever the path ends with. */
static int route_dashscope(const char *p, size_t n, struct llm_route *o)
{
	if (!starts_with(p, n, LIT("/api/v1/services/")))
		return 0;
	if (starts_with(p, n, LIT("/api/v1/services/aigc/")))
		set(o, REC_PROVIDER_DASHSCOPE,
		    memmem(p, n, "embedding", 9) ? REC_OP_EMBEDDINGS : REC_OP_CHAT);
	else if (starts_with(p, n, LIT("/api/v1/services/embeddings/")))
		set(o, REC_PROVIDER_DASHSCOPE, REC_OP_EMBEDDINGS);
	else
		return 0;
	return 1;
}

/* An OpenAI-style operation (the path ends with it): the prefix says who
 * serves it. */
static int route_openai(const char *p, size_t n, uint8_t op, struct llm_route *o)
{
	if (p[1] == 'c' && starts_with(p, n, LIT("/compatible-mode/")))
		set(o, REC_PROVIDER_DASHSCOPE, op);
	else if (p[1] == 'o' && starts_with(p, n, LIT("/openai/deployments/")))
		set(o, REC_PROVIDER_AZURE_OPENAI, op);
	else
		set(o, REC_PROVIDER_OPENAI, op);
	return 1;
}

/* The last four bytes of a path, as one number to switch on. */
#define TAIL(a, b, c, d)                                                                   \
	((uint32_t)(uint8_t)(a) << 24 | (uint32_t)(uint8_t)(b) << 16 |                     \
	 (uint32_t)(uint8_t)(c) << 8 | (uint32_t)(uint8_t)(d))

/*
 * Every API this knows ends its path in a way no other does: the path's
 * last byte rules most paths out (GET /healthz stops there), its last four
 * bytes pick the one or two rules that can match, and only those are
 * compared. Only DashScope's native API is named by a prefix, tested first.
 *
 * Gemini names the method after the path's last ':'
 * (/v1beta/models/gemini-2.0-flash:generateContent): a path ending with
 * ":method" has that method after its last ':', as no method has a ':'.
 */
static int route_path(const char *p, size_t n, struct llm_route *o)
{
	if (!llm_route_maybe(p, n))
		return 0;
	if (p[1] == 'a' && route_dashscope(p, n, o))
		return 1;
	const char *t = p + n - 4;
	unsigned last = (unsigned char)t[3] - 96u;
	if (last >= 32 || !(LLM_ROUTE_LAST_BYTES >> last & 1))
		return 0;
	switch (TAIL(t[0], t[1], t[2], t[3])) {
	case TAIL('i', 'o', 'n', 's'):
		if (ends_with(p, n, LIT("/chat/completions")))
			return route_openai(p, n, REC_OP_CHAT, o);
		if (ends_with(p, n, LIT("/completions")))
			return route_openai(p, n, REC_OP_TEXT_COMPLETION, o);
		return 0;
	case TAIL('i', 'n', 'g', 's'):
		if (is(p, n, LIT("/api/embeddings"))) {
			set(o, REC_PROVIDER_OLLAMA, REC_OP_EMBEDDINGS);
			return 1;
		}
		return ends_with(p, n, LIT("/embeddings")) &&
		       route_openai(p, n, REC_OP_EMBEDDINGS, o);
	case TAIL('n', 's', 'e', 's'):
		return ends_with(p, n, LIT("/responses")) && route_openai(p, n, REC_OP_RESPONSES, o);
	case TAIL('r', 'a', 'n', 'k'): /* Voyage, Jina, Cohere v1, TEI, vLLM */
		if (is(p, n, LIT("/v2/rerank"))) {
			set(o, REC_PROVIDER_COHERE, REC_OP_RERANK);
			return 1;
		}
		return ends_with(p, n, LIT("/rerank")) && route_openai(p, n, REC_OP_RERANK, o);
	case TAIL('c', 'h', 'a', 't'):
		if (is(p, n, LIT("/v1/chat")) || is(p, n, LIT("/v2/chat")))
			set(o, REC_PROVIDER_COHERE, REC_OP_CHAT);
		else if (is(p, n, LIT("/api/chat")))
			set(o, REC_PROVIDER_OLLAMA, REC_OP_CHAT);
		else
			return 0;
		return 1;
	case TAIL('m', 'b', 'e', 'd'):
		if (is(p, n, LIT("/v1/embed")) || is(p, n, LIT("/v2/embed")))
			set(o, REC_PROVIDER_COHERE, REC_OP_EMBEDDINGS);
		else if (is(p, n, LIT("/api/embed")))
			set(o, REC_PROVIDER_OLLAMA, REC_OP_EMBEDDINGS);
		else
			return 0;
		return 1;
	case TAIL('a', 'g', 'e', 's'):
		if (!ends_with(p, n, LIT("/v1/messages")))
			return 0;
		set(o, REC_PROVIDER_ANTHROPIC, REC_OP_CHAT);
		return 1;
	case TAIL('r', 'a', 't', 'e'):
		if (!is(p, n, LIT("/api/generate")))
			return 0;
		set(o, REC_PROVIDER_OLLAMA, REC_OP_TEXT_COMPLETION);
		return 1;
	case TAIL('e', 'r', 's', 'e'): /* /converse */
	case TAIL('r', 'e', 'a', 'm'): /* /converse-stream, /invoke-with-response-stream */
	case TAIL('v', 'o', 'k', 'e'): /* /invoke */
		return route_bedrock(p, n, o);
	case TAIL('t', 'e', 'n', 't'):
		if (ends_with(p, n, LIT(":generateContent")) ||
		    ends_with(p, n, LIT(":streamGenerateContent")))
			set(o, REC_PROVIDER_GEMINI, REC_OP_GENERATE_CONTENT);
		else if (ends_with(p, n, LIT(":embedContent")))
			set(o, REC_PROVIDER_GEMINI, REC_OP_EMBEDDINGS);
		else
			return 0;
		return 1;
	case TAIL('e', 'n', 't', 's'):
		if (!ends_with(p, n, LIT(":batchEmbedContents")))
			return 0;
		set(o, REC_PROVIDER_GEMINI, REC_OP_EMBEDDINGS);
		return 1;
	case TAIL('d', 'i', 'c', 't'):
		if (!ends_with(p, n, LIT(":rawPredict")) && !ends_with(p, n, LIT(":streamRawPredict")))
			return 0;
		/* Vertex AI's partner models speak their own API under Google's
		 * method names; Anthropic's is messages. Others: the body says. */
		set(o, REC_PROVIDER_VERTEX_AI,
		    memmem(p, n, "/publishers/anthropic/", 22) ? REC_OP_CHAT : REC_OP_UNKNOWN);
		return 1;
	default:
		return 0;
	}
}

/* Lower-case the byte (hosts compare without case). */
static inline unsigned lc(char c)
{
	return (unsigned char)c | 0x20u;
}

/* Every well-known host ends in ".com" or ".ai": anything else (an IP,
 * localhost, a cluster name) is settled by its last bytes. h: the host
 * without its port. */
static uint8_t provider_by_host(const char *h, size_t n)
{
	if (n >= 4 && h[n - 4] == '.' && lc(h[n - 3]) == 'c' && lc(h[n - 2]) == 'o' &&
	    lc(h[n - 1]) == 'm') {
		if (host_ends(h, n, LIT("api.openai.com")))
			return REC_PROVIDER_OPENAI;
		if (host_ends(h, n, LIT(".openai.azure.com")))
			return REC_PROVIDER_AZURE_OPENAI;
		if (host_ends(h, n, LIT("api.anthropic.com")))
			return REC_PROVIDER_ANTHROPIC;
		if (host_ends(h, n, LIT(".aliyuncs.com")) && n >= 9 &&
		    http_name_eq(h, 9, LIT("dashscope")))
			return REC_PROVIDER_DASHSCOPE;
		if (host_ends(h, n, LIT("generativelanguage.googleapis.com")))
			return REC_PROVIDER_GEMINI;
		if (host_ends(h, n, LIT("aiplatform.googleapis.com"))) /* REGION-aiplatform... */
			return REC_PROVIDER_VERTEX_AI;
		if (host_ends(h, n, LIT(".amazonaws.com")) && n >= 16 &&
		    http_name_eq(h, 16, LIT("bedrock-runtime.")))
			return REC_PROVIDER_BEDROCK;
		if (host_ends(h, n, LIT("api.cohere.com")))
			return REC_PROVIDER_COHERE;
		if (host_ends(h, n, LIT("api.voyageai.com")))
			return REC_PROVIDER_VOYAGE;
		if (host_ends(h, n, LIT("api.deepseek.com")))
			return REC_PROVIDER_DEEPSEEK;
	} else if (n >= 3 && h[n - 3] == '.' && lc(h[n - 2]) == 'a' && lc(h[n - 1]) == 'i') {
		if (host_ends(h, n, LIT("api.cohere.ai")))
			return REC_PROVIDER_COHERE;
		if (host_ends(h, n, LIT("api.jina.ai")))
			return REC_PROVIDER_JINA;
		if (host_ends(h, n, LIT("api.mistral.ai")) ||
		    host_ends(h, n, LIT("codestral.mistral.ai")))
			return REC_PROVIDER_MISTRAL;
	}
	return REC_PROVIDER_UNKNOWN;
}

int llm_route(const char *path, size_t plen, const char *host, size_t hlen,
	      struct llm_route *out)
{
	const char *q = memchr(path, '?', plen);
	const char *colon = hlen ? memchr(host, ':', hlen) : NULL;
	return llm_route_cut(path, q ? (size_t)(q - path) : plen, host,
			     colon ? (size_t)(colon - host) : hlen, out);
}

int llm_route_cut(const char *path, size_t n, const char *host, size_t hlen,
		  struct llm_route *out)
{
	out->provider = REC_PROVIDER_UNKNOWN;
	out->operation = REC_OP_UNKNOWN;
	int known = route_path(path, n, out);
	uint8_t by_host = hlen ? provider_by_host(host, hlen) : REC_PROVIDER_UNKNOWN;
	/* Gemini on Vertex AI stays gemini, as it was before Vertex's other
	 * publishers were read: the label value is public. */
	if (by_host != REC_PROVIDER_UNKNOWN &&
	    !(by_host == REC_PROVIDER_VERTEX_AI && out->provider == REC_PROVIDER_GEMINI))
		out->provider = by_host;
	return known;
}

size_t llm_path_model(const char *path, size_t plen, size_t *at)
{
	/* Most paths name no model: no Bedrock prefix and no ':' at all (the
	 * query string is cut only when there is one). */
	if (!starts_with(path, plen, LIT("/model/")) && !memchr(path, ':', plen))
		return 0;
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
	if (!ends_with(path, before, LIT("/models/")) && !ends_with(path, before, LIT("/tunedModels/")))
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
