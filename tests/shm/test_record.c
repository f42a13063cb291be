/* test_record.c - the record's string setter truncates safely and flags it;
 * enum names are total (hostile values map to "unknown"). */
#include <criterion/criterion.h>
#include <string.h>

#include "record.h"

Test(record, short_string_fits_and_pads_with_nul)
{
	char dst[8];
	uint32_t flags = 0;
	memset(dst, 'x', sizeof dst);
	rec_set_str(dst, sizeof dst, "GET", 3, &flags, REC_F_TRUNC_METHOD);
	cr_assert_str_eq(dst, "GET");
	for (size_t i = 3; i < sizeof dst; i++)
		cr_assert_eq(dst[i], 0);
	cr_assert_eq(flags, 0);
}

Test(record, long_string_is_cut_and_flagged)
{
	char dst[8];
	uint32_t flags = 0;
	rec_set_str(dst, sizeof dst, "PROPPATCH", 9, &flags, REC_F_TRUNC_METHOD);
	cr_assert_str_eq(dst, "PROPPAT");
	cr_assert_eq(flags, REC_F_TRUNC_METHOD);
}

Test(record, exact_fit_minus_nul_is_truncated)
{
	char dst[4];
	uint32_t flags = 0;
	rec_set_str(dst, sizeof dst, "abcd", 4, &flags, REC_F_TRUNC_PATH);
	cr_assert_str_eq(dst, "abc");
	cr_assert_eq(flags, REC_F_TRUNC_PATH);
}

Test(record, cut_never_splits_a_utf8_character)
{
	/* "aé" + "€": bytes 61 c3 a9 e2 82 ac; a 5-byte field holds 4 bytes,
	 * which would end inside the euro sign: it must stop after "aé". */
	char dst[5];
	uint32_t flags = 0;
	const char *s = "a\xc3\xa9\xe2\x82\xac";
	rec_set_str(dst, sizeof dst, s, strlen(s), &flags, REC_F_TRUNC_REQUEST_MODEL);
	cr_assert_str_eq(dst, "a\xc3\xa9");
	cr_assert_eq(flags, REC_F_TRUNC_REQUEST_MODEL);
}

Test(record, enum_names_are_total)
{
	cr_assert_str_eq(rec_reporter_name(REC_REPORTER_SOURCE), "source");
	cr_assert_str_eq(rec_reporter_name(REC_REPORTER_DESTINATION), "destination");
	cr_assert_str_eq(rec_provider_name(REC_PROVIDER_ANTHROPIC), "anthropic");
	cr_assert_str_eq(rec_operation_name(REC_OP_EMBEDDINGS), "embeddings");
	cr_assert_str_eq(rec_usage_name(REC_USAGE_NOT_REQUESTED), "not_requested");
	cr_assert_str_eq(rec_usage_name(REC_USAGE_INTERRUPTED), "interrupted");
	cr_assert_str_eq(rec_provider_name(200), "unknown");
	cr_assert_str_eq(rec_operation_name(0xff), "unknown");
	cr_assert_str_eq(rec_usage_name(99), "unknown");
}
