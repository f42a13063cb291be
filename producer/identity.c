/*
 * identity.c - workload / namespace identity from the environment. Runs
 * once at init (and is pure string work, no allocation).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

/* Kubernetes' rand.String and SafeEncodeString alphabet. */
static const char k8s_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

/* Pod suffix length (rand.String(5)). The pod-template-hash is the decimal
 * form of a 32-bit hash, each digit mapped into the alphabet: 1..10 chars,
 * under 6 only for hashes below 100000 (odds ~2e-5), so 6..10 is required
 * to keep "name-abc-x2x9z" style names whole. */
#define POD_SUFFIX_LEN 5
#define TEMPLATE_HASH_MIN 6
#define TEMPLATE_HASH_MAX 10

static bool all_k8s_alphabet(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(k8s_alphabet, s[i]) == NULL)
			return false;
	return true;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Length of the name without its last "-segment", and the segment. */
static size_t last_segment(const char *s, size_t len, const char **seg, size_t *seglen)
{
	size_t i = len;
	while (i > 0 && s[i - 1] != '-')
		i--;
	if (i == 0) { /* no dash: no segment to strip */
		*seg = NULL;
		*seglen = 0;
		return len;
	}
	*seg = s + i;
	*seglen = len - i;
	return i - 1;
}

static size_t copy_out(char *out, size_t cap, const char *s, size_t len)
{
	if (cap == 0)
		return 0;
	if (len >= cap)
		len = cap - 1;
	memcpy(out, s, len);
	out[len] = '\0';
	return len;
}

size_t identity_workload_from_pod(const char *pod, char *out, size_t cap)
{
	size_t len = strlen(pod), base, base2, seglen, seglen2;
	const char *seg, *seg2;

	base = last_segment(pod, len, &seg, &seglen);
	if (seg == NULL || base == 0)
		return copy_out(out, cap, pod, len);
	if (all_digits(seg, seglen)) /* StatefulSet ordinal */
		return copy_out(out, cap, pod, base);
	if (seglen != POD_SUFFIX_LEN || !all_k8s_alphabet(seg, seglen))
		return copy_out(out, cap, pod, len);
	/* name-<suffix>: a ReplicaSet's pod; is the ReplicaSet a Deployment's? */
	base2 = last_segment(pod, base, &seg2, &seglen2);
	if (seg2 != NULL && base2 > 0 && seglen2 >= TEMPLATE_HASH_MIN &&
	    seglen2 <= TEMPLATE_HASH_MAX && all_k8s_alphabet(seg2, seglen2))
		return copy_out(out, cap, pod, base2);
	return copy_out(out, cap, pod, base);
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return (v != NULL && v[0] != '\0') ? v : NULL;
}

void identity_from_env(char *workload, size_t wcap, char *namespace_, size_t ncap)
{
	const char *v;

	if ((v = env_nonempty("TOKENRING_WORKLOAD")) != NULL)
		copy_out(workload, wcap, v, strlen(v));
	else if ((v = env_nonempty("POD_NAME")) != NULL)
		identity_workload_from_pod(v, workload, wcap);
	else if (program_invocation_short_name != NULL && program_invocation_short_name[0])
		copy_out(workload, wcap, program_invocation_short_name,
			 strlen(program_invocation_short_name));
	else
		copy_out(workload, wcap, "unknown", 7);

	if ((v = env_nonempty("TOKENRING_NAMESPACE")) != NULL)
		copy_out(namespace_, ncap, v, strlen(v));
	else if ((v = env_nonempty("POD_NAMESPACE")) != NULL)
		copy_out(namespace_, ncap, v, strlen(v));
	else
		copy_out(namespace_, ncap, IDENTITY_DEFAULT_NAMESPACE,
			 sizeof IDENTITY_DEFAULT_NAMESPACE - 1);
}
