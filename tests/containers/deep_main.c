/*
 * deep_main.c - RTLD_DEEPBIND under the shim: the program defines tc_who()
 * ("main"), opens libtc_deep_a.so with RTLD_DEEPBIND, whose dependency
 * libtc_deep_b.so defines tc_who() too ("b"). Deep binding makes the
 * library see "b" (without the flag it would see "main"): the shim must
 * not change that, yet see the library's socket calls.
 *
 *   deep_main LIBDIR PORT N   prints "who=b", then N response bodies
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

const char *tc_who(void);
const char *tc_who(void) { return "main"; }

int main(int argc, char **argv)
{
	char path[4096];
	if (argc != 4) {
		fprintf(stderr, "usage: deep_main LIBDIR PORT N\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/libtc_deep_a.so", argv[1]);
	void *h = dlopen(path, RTLD_NOW | RTLD_DEEPBIND);
	if (h == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	const char *(*who)(void) = (const char *(*)(void))dlsym(h, "tc_a_who");
	int (*client)(int, int) = (int (*)(int, int))dlsym(h, "tc_http_client");
	if (who == NULL || client == NULL) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		return 2;
	}
	printf("who=%s\n", who());
	fflush(stdout);
	return client(atoi(argv[2]), atoi(argv[3]));
}
