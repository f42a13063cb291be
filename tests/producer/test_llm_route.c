/* test_llm_route.c - provider and operation from the request target and
 * Host: every known API path, query strings ignored, well-known hosts win
 * over the path's guess, unknown paths are not LLM. */
#include <criterion/criterion.h>
#include <string.h>

#include "llm.h"

static const struct {
	const char *path, *host;
	int known;
	uint8_t provider, op;
} routes[] = {
	{"/v1/chat/completions", "localhost:8000", 1, REC_PROVIDER_OPENAI, REC_OP_CHAT},
	{"/v1/chat/completions?x=1", "api.openai.com", 1, REC_PROVIDER_OPENAI, REC_OP_CHAT},
	{"/v1/completions", "", 1, REC_PROVIDER_OPENAI, REC_OP_TEXT_COMPLETION},
	{"/v1/embeddings", "", 1, REC_PROVIDER_OPENAI, REC_OP_EMBEDDINGS},
	{"/v1/responses", "", 1, REC_PROVIDER_OPENAI, REC_OP_RESPONSES},
	{"/compatible-mode/v1/chat/completions", "", 1, REC_PROVIDER_DASHSCOPE, REC_OP_CHAT},
	{"/compatible-mode/v1/embeddings", "", 1, REC_PROVIDER_DASHSCOPE, REC_OP_EMBEDDINGS},
	{"/api/v1/services/aigc/text-generation/generation", "", 1, REC_PROVIDER_DASHSCOPE, REC_OP_CHAT},
	{"/api/v1/services/aigc/multimodal-generation/generation", "", 1, REC_PROVIDER_DASHSCOPE, REC_OP_CHAT},
	{"/api/v1/services/embeddings/text-embedding/text-embedding", "", 1, REC_PROVIDER_DASHSCOPE,
	 REC_OP_EMBEDDINGS},
	{"/v2/embed", "", 1, REC_PROVIDER_COHERE, REC_OP_EMBEDDINGS},
	{"/v1/embed", "api.cohere.ai", 1, REC_PROVIDER_COHERE, REC_OP_EMBEDDINGS},
	{"/v2/rerank", "", 1, REC_PROVIDER_COHERE, REC_OP_RERANK},
	{"/v1/rerank", "api.cohere.com", 1, REC_PROVIDER_COHERE, REC_OP_RERANK},
	{"/v1/rerank", "api.voyageai.com", 1, REC_PROVIDER_VOYAGE, REC_OP_RERANK},
	{"/v1/embeddings", "api.voyageai.com", 1, REC_PROVIDER_VOYAGE, REC_OP_EMBEDDINGS},
	{"/v1/rerank", "api.jina.ai", 1, REC_PROVIDER_JINA, REC_OP_RERANK},
	{"/rerank", "tei.internal:8080", 1, REC_PROVIDER_OPENAI, REC_OP_RERANK},
	{"/v1/embeddings", "API.JINA.AI", 1, REC_PROVIDER_JINA, REC_OP_EMBEDDINGS},
	{"/v2/chat", "", 1, REC_PROVIDER_COHERE, REC_OP_CHAT},
	{"/v1/chat", "api.cohere.com", 1, REC_PROVIDER_COHERE, REC_OP_CHAT},
	{"/v1/chat/completions", "api.mistral.ai", 1, REC_PROVIDER_MISTRAL, REC_OP_CHAT},
	{"/v1/fim/completions", "codestral.mistral.ai", 1, REC_PROVIDER_MISTRAL,
	 REC_OP_TEXT_COMPLETION},
	{"/chat/completions", "api.deepseek.com", 1, REC_PROVIDER_DEEPSEEK, REC_OP_CHAT},
	{"/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict",
	 "us-east5-aiplatform.googleapis.com", 1, REC_PROVIDER_VERTEX_AI, REC_OP_CHAT},
	{"/v1/projects/p/locations/global/publishers/anthropic/models/claude-opus-4:streamRawPredict", "",
	 1, REC_PROVIDER_VERTEX_AI, REC_OP_CHAT},
	{"/v1/projects/p/locations/us-central1/publishers/mistralai/models/mistral-large:rawPredict", "",
	 1, REC_PROVIDER_VERTEX_AI, REC_OP_UNKNOWN},
	{"/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent",
	 "us-central1-aiplatform.googleapis.com", 1, REC_PROVIDER_GEMINI, REC_OP_GENERATE_CONTENT},
	{"/v1/projects/p/locations/us-central1/endpoints/openapi/chat/completions",
	 "us-central1-aiplatform.googleapis.com", 1, REC_PROVIDER_VERTEX_AI, REC_OP_CHAT},
	{"/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21", "", 1,
	 REC_PROVIDER_AZURE_OPENAI, REC_OP_CHAT},
	{"/openai/v1/chat/completions", "my.openai.azure.com", 1, REC_PROVIDER_AZURE_OPENAI, REC_OP_CHAT},
	{"/v1/messages", "", 1, REC_PROVIDER_ANTHROPIC, REC_OP_CHAT},
	{"/v1/messages?beta=true", "api.anthropic.com", 1, REC_PROVIDER_ANTHROPIC, REC_OP_CHAT},
	{"/api/chat", "localhost:11434", 1, REC_PROVIDER_OLLAMA, REC_OP_CHAT},
	{"/api/generate", "", 1, REC_PROVIDER_OLLAMA, REC_OP_TEXT_COMPLETION},
	{"/api/embed", "", 1, REC_PROVIDER_OLLAMA, REC_OP_EMBEDDINGS},
	{"/api/tags", "", 0, 0, 0},
	{"/v1beta/models/gemini-2.0-flash:generateContent", "", 1, REC_PROVIDER_GEMINI,
	 REC_OP_GENERATE_CONTENT},
	{"/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", "", 1, REC_PROVIDER_GEMINI,
	 REC_OP_GENERATE_CONTENT},
	{"/v1beta/models/text-embedding-004:embedContent", "", 1, REC_PROVIDER_GEMINI, REC_OP_EMBEDDINGS},
	{"/v1beta/openai/chat/completions", "generativelanguage.googleapis.com", 1, REC_PROVIDER_GEMINI,
	 REC_OP_CHAT},
	{"/", "dashscope.aliyuncs.com", 0, REC_PROVIDER_DASHSCOPE, 0},
	{"/openai", "localhost:8080", 0, 0, 0},
	{"/healthz", "API.OPENAI.COM:443", 0, REC_PROVIDER_OPENAI, 0},
	{"/v1/chat/completions-ish", "", 0, 0, 0},
	/* the path's last bytes pick the rules to try: the others must not match */
	{"/v3/chat", "", 0, 0, 0},
	{"/v1/embed?x=/v1/chat/completions", "", 1, REC_PROVIDER_COHERE, REC_OP_EMBEDDINGS},
	{"/x/converse", "", 0, 0, 0},
	{"/model/converse", "", 0, 0, 0},
	{"/model/m/converse-stream", "", 1, REC_PROVIDER_BEDROCK, REC_OP_CHAT},
	{"/model/m/invoke-with-response-stream", "", 1, REC_PROVIDER_BEDROCK, REC_OP_UNKNOWN},
	{"/models/a:generateContent/x", "", 0, 0, 0},
	{":generateContent", "", 1, REC_PROVIDER_GEMINI, REC_OP_GENERATE_CONTENT},
	{"/v1beta/models/e:batchEmbedContents", "", 1, REC_PROVIDER_GEMINI, REC_OP_EMBEDDINGS},
	{"/v1/models/m:predict", "", 0, 0, 0},
	{"/api/v1/services/aigc/x/chat/completions", "", 1, REC_PROVIDER_DASHSCOPE, REC_OP_CHAT},
	{"/api/v1/services/other/chat/completions", "", 1, REC_PROVIDER_OPENAI, REC_OP_CHAT},
	{"/api/embeddings", "", 1, REC_PROVIDER_OLLAMA, REC_OP_EMBEDDINGS},
	{"/v2/messages", "", 0, 0, 0},
	{"/v1/fine_tuning/jobs", "api.openai.com", 0, REC_PROVIDER_OPENAI, 0},
	{"/v1/chat/completions", "api.openai.com.internal", 1, REC_PROVIDER_OPENAI, REC_OP_CHAT},
	{"/v1/rerank", "API.COHERE.AI:443", 1, REC_PROVIDER_COHERE, REC_OP_RERANK},
	{"/v1/embeddings", "DASHSCOPE.aliyuncs.com", 1, REC_PROVIDER_DASHSCOPE, REC_OP_EMBEDDINGS},
	{"/v1/embeddings", "oss.aliyuncs.com", 1, REC_PROVIDER_OPENAI, REC_OP_EMBEDDINGS},
	{"/model/m/converse", "bedrock-runtime.us-east-1.amazonaws.com", 1, REC_PROVIDER_BEDROCK,
	 REC_OP_CHAT},
	{"/ai", "a.ai", 0, 0, 0},
};

Test(route, known_paths_and_hosts)
{
	for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
		struct llm_route r;
		int known = llm_route(routes[i].path, strlen(routes[i].path), routes[i].host,
				      strlen(routes[i].host), &r);
		cr_expect_eq(known, routes[i].known, "%s known", routes[i].path);
		cr_expect_eq(r.provider, routes[i].provider, "%s provider %u", routes[i].path, r.provider);
		cr_expect_eq(r.operation, routes[i].op, "%s op %u", routes[i].path, r.operation);
	}
}

Test(route, u32_numbers_only)
{
	uint32_t x = 7;
	cr_expect_eq(llm_parse_u32("4294967295", 10, &x), 0);
	cr_expect_eq(x, 4294967295u);
	cr_expect_eq(llm_parse_u32("4294967296", 10, &x), -1);
	cr_expect_eq(llm_parse_u32("-1", 2, &x), -1);
	cr_expect_eq(llm_parse_u32("1.5", 3, &x), -1);
	cr_expect_eq(llm_parse_u32("", 0, &x), -1);
	cr_expect_eq(x, 4294967295u, "failures leave the output alone");
}

Test(route, model_named_in_the_path)
{
	size_t at = 0;
	const char *p = "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse";
	size_t n = llm_path_model(p, strlen(p), &at);
	cr_assert_eq(n, strlen("gemini-2.0-flash"));
	cr_expect_eq(strncmp(p + at, "gemini-2.0-flash", n), 0);
	p = "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent";
	n = llm_path_model(p, strlen(p), &at);
	cr_expect_eq(n, 14);
	cr_expect_eq(strncmp(p + at, "gemini-2.5-pro", n), 0);
	cr_expect_eq(llm_path_model("/v1/models", 10, &at), 0);
	cr_expect_eq(llm_path_model("/v1/chat?/models/a:b", 20, &at), 0, "not in the query");
}
