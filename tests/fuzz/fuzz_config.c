/*
 * fuzz_config.c - libFuzzer target for tokenringd's configuration parsers
 * (aggregator/config.c): the JSON config file (dcfg_apply_json) and the
 * command line (dcfg_parse_args, the input split at NUL bytes into argv).
 *
 * Checks, beyond "no crash, no out-of-bounds access, no leak":
 *  - the result is DCFG_OK, DCFG_HELP, DCFG_VERSION or DCFG_ERROR, and an
 *    error comes with a non-empty, NUL-terminated message;
 *  - an accepted config is within the documented bounds (ring capacity a
 *    power of two in range, max series, tick, connections, log keep,
 *    summary interval) and every string field is NUL-terminated;
 *  - dcfg_ring_config and dcfg_needs_restart accept whatever was accepted.
 * Arguments naming the config file are skipped: the target reads no files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define CHECK(c)                  \
	do {                      \
		if (!(c))         \
			abort(); \
	} while (0)

#define TERMINATED(field) CHECK(memchr((field), 0, sizeof(field)) != NULL)

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static void check_accepted(const struct dcfg *c)
{
	CHECK(is_pow2(c->ring_capacity) && c->ring_capacity >= RING_MIN_CAPACITY &&
	      c->ring_capacity <= RING_MAX_CAPACITY);
	CHECK(c->agg.max_series >= 1 && c->agg.max_series <= DCFG_MAX_SERIES_LIMIT);
	CHECK(c->tick_us >= DCFG_MIN_TICK_US && c->tick_us <= DCFG_MAX_TICK_US);
	CHECK(c->max_connections >= 1 && c->max_connections <= DCFG_MAX_MAX_CONNECTIONS);
	CHECK(c->access_log_keep <= DCFG_MAX_ACCESS_LOG_KEEP);
	CHECK(c->summary_interval_s >= 1 && c->summary_interval_s <= DCFG_MAX_SUMMARY_INTERVAL_S);
	CHECK(c->listen_addr_len > 0 && c->listen_addr_len <= sizeof c->listen_addr);
	CHECK(c->agg.n_prices <= AGG_MAX_PRICES);
	TERMINATED(c->ring_path);
	TERMINATED(c->listen);
	TERMINATED(c->access_log);
	TERMINATED(c->summary_log);
	TERMINATED(c->config_file);
	for (int i = 0; i < REC_LABELS; i++) {
		TERMINATED(c->label_headers[i]);
		TERMINATED(c->agg.label_names[i]);
	}
	struct ring_config rc;
	dcfg_ring_config(c, &rc);
	CHECK(rc.capacity == c->ring_capacity);
	struct dcfg def;
	const char *what = NULL;
	dcfg_default(&def);
	if (dcfg_needs_restart(&def, c, &what))
		CHECK(what != NULL && what[0] != 0);
}

static void check_result(int rc, const struct dcfg *c, const char *err, size_t errlen)
{
	CHECK(rc == DCFG_OK || rc == DCFG_HELP || rc == DCFG_VERSION || rc == DCFG_ERROR);
	CHECK(memchr(err, 0, errlen) != NULL);
	if (rc == DCFG_ERROR)
		CHECK(err[0] != 0);
	if (rc == DCFG_OK)
		check_accepted(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dcfg c;
	char err[768];
	if (size == 0)
		return 0;
	memset(err, 'x', sizeof err);
	err[sizeof err - 1] = 0;
	dcfg_default(&c);
	if ((data[0] & 1) == 0) {
		/* JSON config text */
		int rc = dcfg_apply_json(&c, (const char *)data + 1, size - 1, err, sizeof err);
		CHECK(rc == DCFG_OK || rc == DCFG_ERROR);
		check_result(rc, &c, err, sizeof err);
		return 0;
	}
	/* command line: argv[0] then the input's NUL-separated pieces */
	enum { MAX_ARGS = 24 };
	char *copy = malloc(size);
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = 0;
	argv[argc++] = "tokenringd";
	for (size_t i = 0; i < size - 1 && argc <= MAX_ARGS;) {
		char *arg = copy + i;
		size_t n = strnlen(arg, size - 1 - i);
		if (strstr(arg, "config") || arg[0] == '@') {
			free(copy);
			return 0; /* would read a file */
		}
		argv[argc++] = arg;
		i += n + 1;
	}
	argv[argc] = NULL;
	int rc = dcfg_parse_args(&c, argc, argv, err, sizeof err);
	check_result(rc, &c, err, sizeof err);
	free(copy);
	return 0;
}
