/* test_shim_identity.c - workload names derived from Kubernetes pod names
 * the way Istio reports workloads, and the environment precedence. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

static void expect_pod(const char *pod, const char *want)
{
	char out[64];
	size_t n = identity_workload_from_pod(pod, out, sizeof out);
	cr_assert_str_eq(out, want, "pod %s -> %s, want %s", pod, out, want);
	cr_assert_eq(n, strlen(want));
}

Test(identity, deployment_pod_strips_template_hash_and_suffix)
{
	expect_pod("reviews-v1-5b8c7d9f4-x2x9z", "reviews-v1");
	expect_pod("productpage-v1-7d6cfb7dfd-2bw5r", "productpage-v1");
	expect_pod("llm-gateway-6f4b9c8d75-qzq7k", "llm-gateway");
}

Test(identity, replicaset_daemonset_job_pod_strips_suffix)
{
	expect_pod("fluent-bit-x2x9z", "fluent-bit");
	/* a hash-like middle segment too short for a template hash stays */
	expect_pod("web-bcd-x2x9z", "web-bcd");
}

Test(identity, statefulset_ordinal_stripped)
{
	expect_pod("vllm-0", "vllm");
	expect_pod("ollama-store-12", "ollama-store");
}

Test(identity, plain_names_stay_whole)
{
	expect_pod("reviews-v1", "reviews-v1");
	expect_pod("api-gateway", "api-gateway"); /* vowels: not a generated suffix */
	expect_pod("inference", "inference");
	expect_pod("-0", "-0");
	expect_pod("app-abc12", "app-abc12"); /* 'a' and '1' are outside the alphabet */
}

Test(identity, output_is_bounded)
{
	char out[8];
	identity_workload_from_pod("averyveryverylongname-5b8c7d9f4-x2x9z", out, sizeof out);
	cr_assert_str_eq(out, "averyve");
}

Test(identity, env_precedence)
{
	char w[64], ns[48];
	unsetenv("TOKENRING_WORKLOAD");
	unsetenv("TOKENRING_NAMESPACE");
	unsetenv("POD_NAME");
	unsetenv("POD_NAMESPACE");
	identity_from_env(w, sizeof w, ns, sizeof ns);
	cr_assert_str_eq(w, program_invocation_short_name);
	cr_assert_str_eq(ns, "default");

	setenv("POD_NAME", "reviews-v2-5b8c7d9f4-x2x9z", 1);
	setenv("POD_NAMESPACE", "bookinfo", 1);
	identity_from_env(w, sizeof w, ns, sizeof ns);
	cr_assert_str_eq(w, "reviews-v2");
	cr_assert_str_eq(ns, "bookinfo");

	setenv("TOKENRING_WORKLOAD", "chatbot", 1);
	identity_from_env(w, sizeof w, ns, sizeof ns);
	cr_assert_str_eq(w, "chatbot");
	cr_assert_str_eq(ns, "bookinfo");

	setenv("TOKENRING_NAMESPACE", "ai", 1);
	setenv("TOKENRING_WORKLOAD", "", 1); /* empty counts as unset */
	identity_from_env(w, sizeof w, ns, sizeof ns);
	cr_assert_str_eq(w, "reviews-v2");
	cr_assert_str_eq(ns, "ai");
}
