/* test_llm_json_index_avx2_main.c - runs test_llm_json_index.c's tests
 * built with -mavx2 (the block index's AVX2 bits, JIDX_TEST_AVX2) only on
 * a CPU that has AVX2: elsewhere it says why and exits 77, which CTest
 * reports as skipped (SKIP_RETURN_CODE), not as passed. This file is
 * compiled without -mavx2, so the check itself runs anywhere. */
#include <criterion/criterion.h>
#include <stdio.h>

int main(int argc, char *argv[])
{
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2")) {
		printf("skipped: this CPU has no AVX2, so the JSON block index's AVX2 bits "
		       "cannot run here\n");
		return 77;
	}
	struct criterion_test_set *tests = criterion_initialize();
	int result = 0;
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
