/* test_series.c - the label table: distinct tuples, hash collisions under
 * many tuples, exact overflow folding, per-label value bounds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "series.h"
#include "test_core_helpers.h"

static struct series_table t;

static struct series *get(struct series_key *k)
{
	bool created;
	return series_lookup(&t, k, &created);
}

static void key_for(struct series_key *k, unsigned i)
{
	struct tr_record r;
	struct agg_identity id = tc_identity();
	tc_record(&r);
	snprintf(r.request_model, sizeof(r.request_model), "model-%u", i % 50);
	snprintf(id.workload, sizeof(id.workload), "wl-%u", i);
	series_key_from_record(k, &r, &id);
}

Test(series, key_from_record_resolves_labels)
{
	struct tr_record r;
	struct agg_identity id = tc_identity();
	struct series_key k;
	tc_record(&r);
	strcpy(r.authority, "api.example.com:8443");
	series_key_from_record(&k, &r, &id);
	cr_assert_str_eq(k.destination, "api.example.com");
	cr_assert_str_eq(k.model, "qwen1.5-72b-chat");
	cr_assert_str_eq(k.workload, "sleep");
	cr_assert_eq(k.response_code, 200);

	/* no request model: the response's; neither: "unknown" */
	r.request_model[0] = 0;
	strcpy(r.response_model, "gpt-4o-2024-08-06");
	series_key_from_record(&k, &r, &id);
	cr_assert_str_eq(k.model, "gpt-4o-2024-08-06");
	r.response_model[0] = 0;
	series_key_from_record(&k, &r, &id);
	cr_assert_str_eq(k.model, "unknown");

	/* no authority: the peer for a client, the local end for a server */
	r.authority[0] = 0;
	series_key_from_record(&k, &r, &id);
	cr_assert_str_eq(k.destination, "47.93.1.2:80");
	r.reporter = REC_REPORTER_DESTINATION;
	series_key_from_record(&k, &r, &id);
	cr_assert_str_eq(k.destination, "192.168.34.235:39066");
	r.local.family = 6;
	memset(r.local.addr, 0, 16);
	r.local.addr[15] = 1;
	r.local.port = 8000;
	series_key_from_record(&k, &r, &id);
	cr_assert_str_eq(k.destination, "[::1]:8000");

	/* [v6]:port authority keeps the brackets, drops the port */
	strcpy(r.authority, "[fe80::1]:443");
	series_key_from_record(&k, &r, &id);
	cr_assert_str_eq(k.destination, "[fe80::1]");

	/* unterminated hostile fields are read bounded */
	memset(r.request_model, 'm', sizeof(r.request_model));
	series_key_from_record(&k, &r, NULL);
	cr_assert_eq(strlen(k.model), REC_MODEL_LEN - 1);
	cr_assert_str_eq(k.workload, "unknown");
}

Test(series, many_tuples_each_found_again)
{
	/* 5000 tuples in a 8192+ slot index: long probe chains and colliding
	 * low bits; every tuple must come back to its own series. */
	cr_assert_eq(series_table_init(&t, 5000, 100), 0);
	struct series *seen[5000];
	for (unsigned i = 0; i < 5000; i++) {
		struct series_key k;
		bool created;
		key_for(&k, i);
		seen[i] = series_lookup(&t, &k, &created);
		cr_assert(created, "tuple %u is new", i);
	}
	cr_assert_eq(t.used, 5000);
	for (unsigned i = 0; i < 5000; i++) {
		struct series_key k;
		bool created;
		key_for(&k, i);
		cr_assert_eq(series_lookup(&t, &k, &created), seen[i], "tuple %u", i);
		cr_assert(!created);
		cr_assert_str_eq(seen[i]->key.workload, k.workload);
	}
	cr_assert_eq(t.overflow_records, 0);
	/* the probe chains were really exercised: some series sit away from
	 * their home slot because another tuple's hash took it */
	unsigned displaced = 0;
	for (uint32_t i = 0; i <= t.mask; i++)
		if (t.index[i] && (t.series[(uint32_t)t.index[i] - 1].hash & t.mask) != i)
			displaced++;
	cr_assert_gt(displaced, 100, "displaced %u", displaced);
	series_table_destroy(&t);
}

Test(series, one_byte_apart_is_another_series)
{
	cr_assert_eq(series_table_init(&t, 1000, 1000), 0);
	struct series_key base;
	key_for(&base, 7);
	struct series *first = get(&base);
	/* flip every byte of every string label and the numeric fields */
	unsigned made = 1;
	size_t offs[] = {offsetof(struct series_key, workload), offsetof(struct series_key, namespace_),
			 offsetof(struct series_key, destination), offsetof(struct series_key, model),
			 offsetof(struct series_key, labels)};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct series_key k = base;
		((char *)&k)[offs[i]] ^= 1;
		bool created;
		struct series *s = series_lookup(&t, &k, &created);
		cr_assert(created && s != first, "label at %zu", offs[i]);
		made++;
	}
	struct series_key k = base;
	k.response_code = 201;
	cr_assert_neq(get(&k), first);
	k = base;
	k.reporter = REC_REPORTER_DESTINATION;
	cr_assert_neq(get(&k), first);
	cr_assert_eq(t.used, made + 2);
	k = base;
	cr_assert_eq(get(&k), first);
	series_table_destroy(&t);
}

Test(series, overflow_folds_exactly)
{
	cr_assert_eq(series_table_init(&t, 10, 1000), 0);
	for (unsigned i = 0; i < 10; i++) {
		struct series_key k;
		key_for(&k, i);
		get(&k);
	}
	cr_assert_eq(t.used, 10);
	/* 25 records of 5 new tuples, from source and destination */
	struct series *ov_src = NULL, *ov_dst = NULL;
	for (unsigned n = 0; n < 25; n++) {
		struct series_key k;
		key_for(&k, 100 + n % 5);
		k.reporter = n % 2 ? REC_REPORTER_DESTINATION : REC_REPORTER_SOURCE;
		struct series *s = get(&k);
		cr_assert_str_eq(s->key.model, AGG_OVERFLOW_MODEL);
		cr_assert_str_eq(k.model, AGG_OVERFLOW_MODEL);
		if (n % 2)
			ov_dst = s;
		else
			ov_src = s;
	}
	cr_assert_neq(ov_src, ov_dst);
	cr_assert_eq(t.overflow_records, 25);
	cr_assert_eq(t.used, 12, "10 regular + 2 overflow series, got %u", t.used);
	/* known tuples keep their series */
	struct series_key k;
	key_for(&k, 3);
	cr_assert_str_eq(get(&k)->key.model, "model-3");
	cr_assert_eq(t.overflow_records, 25);
	series_table_destroy(&t);
}

Test(series, model_value_bound_folds_to_other)
{
	cr_assert_eq(series_table_init(&t, 1000, 3), 0);
	const char *models[] = {"a", "b", "c", "d", "e", "a", "d", "c"};
	const char *want[] = {"a", "b", "c", AGG_OTHER_VALUE, AGG_OTHER_VALUE, "a",
			      AGG_OTHER_VALUE, "c"};
	for (unsigned i = 0; i < 8; i++) {
		struct series_key k;
		key_for(&k, 0);
		memset(k.model, 0, sizeof(k.model));
		strcpy(k.model, models[i]);
		cr_assert_str_eq(get(&k)->key.model, want[i], "record %u", i);
	}
	cr_assert_eq(t.label_overflow[SERIES_B_MODEL], 3);
	cr_assert_eq(t.used, 4); /* a, b, c, __other__ */
	series_table_destroy(&t);
}

Test(series, header_label_bound_is_per_label)
{
	cr_assert_eq(series_table_init(&t, 1000, 2), 0);
	for (unsigned i = 0; i < 6; i++) {
		struct series_key k;
		key_for(&k, 0);
		snprintf(k.labels[0], sizeof(k.labels[0]), "team-%u", i);
		snprintf(k.labels[1], sizeof(k.labels[1]), "tenant-%u", i % 2);
		struct series *s = get(&k);
		cr_assert_str_eq(s->key.labels[0], i < 2 ? k.labels[0] : AGG_OTHER_VALUE);
		cr_assert_str_eq(s->key.labels[1], k.labels[1]);
	}
	/* empty values (no header) never count against the bound */
	struct series_key k;
	key_for(&k, 0);
	cr_assert_str_eq(get(&k)->key.labels[0], "");
	cr_assert_eq(t.label_overflow[SERIES_B_LABEL0], 4);
	cr_assert_eq(t.label_overflow[SERIES_B_LABEL0 + 1], 0);
	cr_assert_eq(t.label_overflow[SERIES_B_MODEL], 0);
	series_table_destroy(&t);
}

Test(series, init_rejects_bad_bounds)
{
	cr_assert_eq(series_table_init(&t, 0, 10), -EINVAL);
	cr_assert_eq(series_table_init(&t, 10, 0), -EINVAL);
}

/* Keys are equal exactly when their rendered labels are: invalid UTF-8 and
 * control bytes are canonicalised (as the exposition prints them) before a
 * tuple is stored, so two byte strings that print alike are one series. */
Test(series, canonical_label_text)
{
	cr_assert_eq(series_table_init(&t, 100, 100), 0);
	const char *alike[] = {"m\xff", "m\xfe", "m\x01", "m\x7f", "m\xef\xbf\xbd", "m\xc3"};
	struct series *first = NULL;
	for (size_t i = 0; i < sizeof(alike) / sizeof(alike[0]); i++) {
		struct series_key k;
		key_for(&k, 0);
		memset(k.model, 0, sizeof(k.model));
		strcpy(k.model, alike[i]);
		struct series *s = get(&k);
		if (!first)
			first = s;
		cr_assert_eq(s, first, "value %zu is the same series", i);
		cr_assert_str_eq(s->key.model, "m\xef\xbf\xbd");
	}
	/* a newline is escaped one-to-one: its own series, kept as is */
	struct series_key k;
	key_for(&k, 0);
	memset(k.model, 0, sizeof(k.model));
	strcpy(k.model, "m\n");
	cr_assert_neq(get(&k), first);
	cr_assert_str_eq(get(&k)->key.model, "m\n");
	/* the replacement never overflows the field: cut at a character */
	key_for(&k, 0);
	memset(k.labels[0], 0, sizeof(k.labels[0]));
	memset(k.labels[0], 'a', 29);
	k.labels[0][29] = (char)0xff; /* 29 + 3 bytes would need 33 */
	struct series *s = get(&k);
	cr_assert_eq(strlen(s->key.labels[0]), 29);
	cr_assert_eq(t.used, 3);
	series_table_destroy(&t);
}
