/* test_config.c - every tokenringd flag and config key is applied, and
 * every bad flag, key or value is refused with a message naming it. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static struct dcfg cfg;
static char err[1024];

/* argv from a NULL-terminated list, argv[0] = "tokenringd". */
static int parse(const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = "tokenringd";
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	dcfg_default(&cfg);
	err[0] = 0;
	return dcfg_parse_args(&cfg, argc, argv, err, sizeof err);
}

static int json_text_len(const char *text, size_t len)
{
	dcfg_default(&cfg);
	err[0] = 0;
	return dcfg_apply_json(&cfg, text, len, err, sizeof err);
}

static int json(const char *text) { return json_text_len(text, strlen(text)); }

/* The error names `what` (a flag or key). */
static void assert_error_names(int rc, const char *what)
{
	cr_assert_eq(rc, DCFG_ERROR, "expected an error naming %s", what);
	cr_assert(strstr(err, what), "message '%s' does not name '%s'", err, what);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	strcpy(path, "/tmp/tokenringd-config-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(config, defaults_match_the_documented_values)
{
	unsetenv("TOKENRING_RING");
	cr_assert_eq(parse(NULL), DCFG_OK);
	cr_assert_str_eq(cfg.ring_path, "/dev/shm/tokenring");
	cr_assert_str_eq(cfg.listen, "0.0.0.0:9464");
	const struct sockaddr_in *s4 = (const void *)&cfg.listen_addr;
	cr_assert_eq(s4->sin_family, AF_INET);
	cr_assert_eq(ntohs(s4->sin_port), 9464);
	cr_assert_eq(s4->sin_addr.s_addr, htonl(INADDR_ANY));
	cr_assert_str_eq(cfg.access_log, "off");
	cr_assert_str_eq(cfg.summary_log, "off");
	cr_assert_eq(cfg.summary_interval_s, 60);
	cr_assert_eq(cfg.agg.families, AGG_FAM_TOKENRING | AGG_FAM_GEN_AI);
	cr_assert_eq(cfg.agg.max_series, 10000);
	cr_assert_eq(cfg.agg.label_max_values, 100);
	cr_assert_eq(cfg.access_log_max_bytes, 100ull << 20);
	cr_assert_eq(cfg.access_log_keep, 5);
	cr_assert_eq(cfg.ring_capacity, 65536);
	cr_assert_eq(cfg.ring_mode, 0660);
	cr_assert_eq(cfg.tick_us, 1000);
	cr_assert_eq(cfg.ring_uid, DCFG_ID_UNSET);
	cr_assert_eq(cfg.ring_gid, DCFG_ID_UNSET);
	cr_assert_eq(cfg.agg.n_prices, 0);
	cr_assert_str_eq(cfg.label_headers[0], "");
}

Test(config, ring_default_comes_from_TOKENRING_RING)
{
	setenv("TOKENRING_RING", "/tmp/elsewhere", 1);
	cr_assert_eq(parse(NULL), DCFG_OK);
	cr_assert_str_eq(cfg.ring_path, "/tmp/elsewhere");
	unsetenv("TOKENRING_RING");
}

Test(config, every_flag_is_applied)
{
	int rc = parse("--ring", "/tmp/r", "--listen", "127.0.0.1:9999", "--access-log", "/tmp/a.log",
		       "--summary-log", "-", "--summary-interval", "15", "--metrics",
		       "tokenring,istio,asm", "--max-series", "500", "--label-header", "team=X-Team",
		       "--label-header", "tenant=x-tenant", "--label-max-values", "7",
		       "--access-log-max-bytes", "64k", "--access-log-keep", "3", "--ring-capacity",
		       "4096", "--ring-mode", "0640", "--ring-owner", "0", "--ring-group", "root",
		       "--tick-us", "500", "--max-connections", "10",
		       "--http-timeout-ms", "250", NULL);
	cr_assert_eq(rc, DCFG_OK, "%s", err);
	cr_assert_str_eq(cfg.ring_path, "/tmp/r");
	const struct sockaddr_in *s4 = (const void *)&cfg.listen_addr;
	cr_assert_eq(ntohs(s4->sin_port), 9999);
	cr_assert_eq(s4->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	cr_assert_str_eq(cfg.access_log, "/tmp/a.log");
	cr_assert_str_eq(cfg.summary_log, "-");
	cr_assert_eq(cfg.summary_interval_s, 15);
	cr_assert_eq(cfg.agg.families, AGG_FAM_TOKENRING | AGG_FAM_ISTIO | AGG_FAM_ASM);
	cr_assert_eq(cfg.agg.max_series, 500);
	cr_assert_str_eq(cfg.agg.label_names[0], "team");
	cr_assert_str_eq(cfg.label_headers[0], "x-team"); /* lower-cased for the shim */
	cr_assert_str_eq(cfg.agg.label_names[1], "tenant");
	cr_assert_str_eq(cfg.label_headers[1], "x-tenant");
	cr_assert_eq(cfg.agg.label_max_values, 7);
	cr_assert_eq(cfg.access_log_max_bytes, 65536);
	cr_assert_eq(cfg.access_log_keep, 3);
	cr_assert_eq(cfg.ring_capacity, 4096);
	cr_assert_eq(cfg.ring_mode, 0640);
	cr_assert_eq(cfg.ring_uid, 0);
	cr_assert_eq(cfg.ring_gid, 0); /* "root" resolved through the group database */
	cr_assert_eq(cfg.tick_us, 500);
	cr_assert_eq(cfg.max_connections, 10);
	cr_assert_eq(cfg.http_timeout_ms, 250);
}

Test(config, flag_equals_form_and_ipv6_listen)
{
	cr_assert_eq(parse("--listen=[::1]:9100", "--access-log=off", "--access-log-max-bytes=2M", NULL),
		     DCFG_OK, "%s", err);
	const struct sockaddr_in6 *s6 = (const void *)&cfg.listen_addr;
	cr_assert_eq(s6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(s6->sin6_port), 9100);
	cr_assert(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	cr_assert_eq(cfg.listen_addr_len, sizeof(struct sockaddr_in6));
	cr_assert_eq(cfg.access_log_max_bytes, 2u << 20);
	cr_assert_eq(parse("--listen", ":0", NULL), DCFG_OK);
	cr_assert_eq(parse("--listen", "localhost:80", NULL), DCFG_OK);
	cr_assert_eq(((const struct sockaddr_in *)&cfg.listen_addr)->sin_addr.s_addr,
		     htonl(INADDR_LOOPBACK));
}

Test(config, help_and_version)
{
	cr_assert_eq(parse("--max-series", "bad", "--help", NULL), DCFG_HELP);
	cr_assert_eq(parse("--version", NULL), DCFG_VERSION);
	const char *u = dcfg_usage();
	const char *flags[] = {"--ring", "--listen", "--access-log ", "--summary-log",
			       "--summary-interval", "--metrics", "--max-series", "--label-header",
			       "--label-max-values", "--access-log-max-bytes", "--access-log-keep",
			       "--ring-capacity", "--ring-mode", "--ring-owner", "--ring-group",
			       "--config", "--help", "--version"};
	for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
		cr_assert(strstr(u, flags[i]), "usage lacks %s", flags[i]);
}

Test(config, bad_flags_and_values_name_the_flag)
{
	assert_error_names(parse("--bogus", "1", NULL), "--bogus");
	assert_error_names(parse("positional", NULL), "positional");
	assert_error_names(parse("--ring", NULL), "--ring");
	assert_error_names(parse("--ring", "", NULL), "--ring");
	assert_error_names(parse("--listen", "9464", NULL), "--listen");
	assert_error_names(parse("--listen", "1.2.3.4:70000", NULL), "--listen");
	assert_error_names(parse("--listen", "example.com:80", NULL), "--listen");
	assert_error_names(parse("--listen", "[::1:80", NULL), "--listen");
	assert_error_names(parse("--access-log", "", NULL), "--access-log");
	assert_error_names(parse("--summary-log", "", NULL), "--summary-log");
	assert_error_names(parse("--summary-interval", "0", NULL), "--summary-interval");
	assert_error_names(parse("--summary-interval", "-5", NULL), "--summary-interval");
	assert_error_names(parse("--summary-interval", "1.5", NULL), "--summary-interval");
	assert_error_names(parse("--metrics", "tokenring,prom", NULL), "--metrics");
	assert_error_names(parse("--metrics", "", NULL), "--metrics");
	assert_error_names(parse("--max-series", "0", NULL), "--max-series");
	assert_error_names(parse("--max-series", "12abc", NULL), "--max-series");
	assert_error_names(parse("--max-series", "99999999999999999999", NULL), "--max-series");
	assert_error_names(parse("--label-header", "team", NULL), "--label-header");
	assert_error_names(parse("--label-header", "model=x-model", NULL), "--label-header");
	assert_error_names(parse("--label-header", "9team=x", NULL), "--label-header");
	assert_error_names(parse("--label-header", "__t=x", NULL), "--label-header");
	assert_error_names(parse("--label-header", "team=x team", NULL), "--label-header");
	assert_error_names(parse("--label-header", "team=", NULL), "--label-header");
	assert_error_names(parse("--label-header", "a=x", "--label-header", "a=y", NULL),
			   "--label-header");
	assert_error_names(parse("--label-header", "a=x", "--label-header", "b=y", "--label-header",
				 "c=z", NULL),
			   "--label-header");
	assert_error_names(parse("--label-max-values", "0", NULL), "--label-max-values");
	assert_error_names(parse("--access-log-max-bytes", "10X", NULL), "--access-log-max-bytes");
	assert_error_names(parse("--access-log-max-bytes", "k", NULL), "--access-log-max-bytes");
	assert_error_names(parse("--access-log-keep", "101", NULL), "--access-log-keep");
	assert_error_names(parse("--ring-capacity", "1000", NULL), "--ring-capacity");
	assert_error_names(parse("--ring-capacity", "1", NULL), "--ring-capacity");
	assert_error_names(parse("--ring-capacity", "33554432", NULL), "--ring-capacity");
	assert_error_names(parse("--ring-mode", "0999", NULL), "--ring-mode");
	assert_error_names(parse("--ring-mode", "01777", NULL), "--ring-mode");
	assert_error_names(parse("--ring-owner", "no-such-user-tokenring", NULL), "--ring-owner");
	assert_error_names(parse("--ring-group", "no-such-group-tokenring", NULL), "--ring-group");
	assert_error_names(parse("--tick-us", "1", NULL), "--tick-us");
	assert_error_names(parse("--max-connections", "0", NULL), "--max-connections");
	assert_error_names(parse("--http-timeout-ms", "x", NULL), "--http-timeout-ms");
	assert_error_names(parse("--config", "/nonexistent/tokenringd.json", NULL), "--config");
}

Test(config, every_key_is_applied)
{
	int rc = json("{\"ring\": \"/tmp/r2\", \"listen\": \"127.0.0.1:9101\", \"access-log\": \"-\","
		      " \"summary-log\": \"/tmp/s.log\", \"summary-interval\": 30,"
		      " \"metrics\": [\"gen_ai\", \"kgateway\"], \"max-series\": 42,"
		      " \"label-header\": {\"team\": \"X-Team\"}, \"label-max-values\": 9,"
		      " \"access-log-max-bytes\": 1048576, \"access-log-keep\": 0,"
		      " \"ring-capacity\": 256, \"ring-mode\": \"0600\", \"tick-us\": 2000,"
		      " \"ring-owner\": \"root\", \"ring-group\": 0,"
		      " \"max-connections\": 64, \"http-timeout-ms\": 1500,"
		      " \"prices\": {\"gpt-4o\": {\"input\": 2.5, \"output\": 10},"
		      "              \"qwen-max\": {\"input\": 0.4, \"output\": 1.2}}}");
	cr_assert_eq(rc, DCFG_OK, "%s", err);
	cr_assert_str_eq(cfg.ring_path, "/tmp/r2");
	cr_assert_str_eq(cfg.listen, "127.0.0.1:9101");
	cr_assert_str_eq(cfg.access_log, "-");
	cr_assert_str_eq(cfg.summary_log, "/tmp/s.log");
	cr_assert_eq(cfg.summary_interval_s, 30);
	cr_assert_eq(cfg.agg.families, AGG_FAM_GEN_AI | AGG_FAM_KGATEWAY);
	cr_assert_eq(cfg.agg.max_series, 42);
	cr_assert_str_eq(cfg.agg.label_names[0], "team");
	cr_assert_str_eq(cfg.label_headers[0], "x-team");
	cr_assert_eq(cfg.agg.label_max_values, 9);
	cr_assert_eq(cfg.access_log_max_bytes, 1048576);
	cr_assert_eq(cfg.access_log_keep, 0);
	cr_assert_eq(cfg.ring_capacity, 256);
	cr_assert_eq(cfg.ring_mode, 0600);
	cr_assert_eq(cfg.ring_uid, 0);
	cr_assert_eq(cfg.ring_gid, 0);
	cr_assert_eq(cfg.tick_us, 2000);
	cr_assert_eq(cfg.max_connections, 64);
	cr_assert_eq(cfg.http_timeout_ms, 1500);
	cr_assert_eq(cfg.agg.n_prices, 2);
	cr_assert_str_eq(cfg.agg.prices[0].model, "gpt-4o");
	cr_assert_float_eq(cfg.agg.prices[0].input_usd_per_mtok, 2.5, 1e-12);
	cr_assert_float_eq(cfg.agg.prices[0].output_usd_per_mtok, 10.0, 1e-12);
	cr_assert_str_eq(cfg.agg.prices[1].model, "qwen-max");
	cr_assert_float_eq(cfg.agg.prices[1].input_usd_per_mtok, 0.4, 1e-12);
	cr_assert_float_eq(cfg.agg.prices[1].output_usd_per_mtok, 1.2, 1e-12);
}

Test(config, alternative_key_forms)
{
	cr_assert_eq(json("{\"metrics\": \"istio\", \"label-header\": [\"team=x-team\", "
			  "\"env=x-env\"], \"ring-mode\": 640}"),
		     DCFG_OK, "%s", err);
	cr_assert_eq(cfg.agg.families, AGG_FAM_ISTIO);
	cr_assert_str_eq(cfg.agg.label_names[1], "env");
	cr_assert_eq(cfg.ring_mode, 0640);
}

Test(config, bad_keys_and_values_name_the_key)
{
	assert_error_names(json("{\"max_series\": 5}"), "max_series");
	assert_error_names(json("{\"max-series\": 0}"), "max-series");
	assert_error_names(json("{\"max-series\": 2.5}"), "max-series");
	assert_error_names(json("{\"max-series\": \"many\"}"), "max-series");
	assert_error_names(json("{\"max-series\": true}"), "max-series");
	assert_error_names(json("{\"summary-interval\": -1}"), "summary-interval");
	assert_error_names(json("{\"listen\": 9464}"), "listen");
	assert_error_names(json("{\"metrics\": [\"tokenring\", 3]}"), "metrics");
	assert_error_names(json("{\"metrics\": \"bogus\"}"), "metrics");
	assert_error_names(json("{\"label-header\": {\"team\": 5}}"), "label-header");
	assert_error_names(json("{\"label-header\": {\"le\": \"x\"}}"), "label-header");
	assert_error_names(json("{\"ring-capacity\": 100}"), "ring-capacity");
	assert_error_names(json("{\"access-log\": null}"), "access-log");
	assert_error_names(json("{\"config\": \"/tmp/x.json\"}"), "config");
	assert_error_names(json("{\"prices\": []}"), "prices");
	assert_error_names(json("{\"prices\": {\"m\": {\"input\": 1}}}"), "prices.m");
	assert_error_names(json("{\"prices\": {\"m\": {\"input\": 1, \"output\": -2}}}"),
			   "prices.m.output");
	assert_error_names(json("{\"prices\": {\"m\": {\"input\": 1, \"output\": 2, \"cached\": 1}}}"),
			   "prices.m.cached");
	assert_error_names(json("{\"prices\": {\"m\": {\"input\": \"1\", \"output\": 2}}}"),
			   "prices.m.input");
	cr_assert_eq(json("[1, 2]"), DCFG_ERROR);
	cr_assert(strstr(err, "object"));
	cr_assert_eq(json("{\"ring\": "), DCFG_ERROR);
	cr_assert(strstr(err, "invalid JSON"));
}

Test(config, command_line_overrides_the_file)
{
	char *path = write_tmp("{\"max-series\": 77, \"summary-interval\": 5, "
			       "\"label-header\": {\"team\": \"x-team\"}}");
	cr_assert_eq(parse("--max-series", "88", "--config", path, NULL), DCFG_OK, "%s", err);
	cr_assert_eq(cfg.agg.max_series, 88);   /* flag wins, wherever it stands */
	cr_assert_eq(cfg.summary_interval_s, 5); /* from the file */
	cr_assert_str_eq(cfg.config_file, path);
	cr_assert_str_eq(cfg.agg.label_names[0], "team");
	cr_assert_eq(parse("--config", path, "--label-header", "env=x-env", NULL), DCFG_OK, "%s", err);
	cr_assert_str_eq(cfg.agg.label_names[0], "env"); /* the command line's set replaces it */
	cr_assert_str_eq(cfg.agg.label_names[1], "");
	unlink(path);
}

Test(config, a_bad_file_names_the_file_and_the_key)
{
	char *path = write_tmp("{\"ring-mode\": \"rw\"}");
	assert_error_names(parse("--config", path, NULL), "ring-mode");
	cr_assert(strstr(err, path), "%s", err);
	unlink(path);
}

Test(config, restart_only_settings_are_told_apart)
{
	struct dcfg a, b;
	const char *what;
	dcfg_default(&a);
	b = a;
	strcpy(b.access_log, "/tmp/x");
	b.summary_interval_s = 1;
	b.access_log_keep = 1;
	cr_assert_not(dcfg_needs_restart(&a, &b, &what));
	cr_assert_null(what);
	b.agg.max_series = 1;
	cr_assert(dcfg_needs_restart(&a, &b, &what));
	cr_assert_str_eq(what, "max-series");
	b = a;
	b.agg.n_prices = 1;
	cr_assert(dcfg_needs_restart(&a, &b, &what));
	cr_assert_str_eq(what, "prices");
}

Test(config, ring_config_carries_capacity_mode_and_headers)
{
	cr_assert_eq(parse("--ring-capacity", "128", "--ring-mode", "600", "--label-header",
			   "team=x-team", NULL),
		     DCFG_OK);
	struct ring_config rc;
	dcfg_ring_config(&cfg, &rc);
	cr_assert_eq(rc.capacity, 128);
	cr_assert_eq(rc.mode, 0600);
	cr_assert_eq(rc.uid, (uid_t)-1);
	cr_assert_eq(rc.gid, (gid_t)-1);
	cr_assert_str_eq(rc.label_headers[0], "x-team");
	cr_assert_null(rc.label_headers[1]);
}

/* Deterministic mutation run over a full config document: whatever the
 * bytes, the parser answers OK or an error with a message, never crashes
 * (ASan build) and never leaves a value outside its documented range. */
Test(config, mutated_documents_are_refused_or_valid)
{
	static const char doc[] =
		"{\"ring\": \"/tmp/r\", \"listen\": \"127.0.0.1:9101\", \"metrics\": \"tokenring,istio\","
		" \"max-series\": 42, \"label-header\": {\"team\": \"x-team\"}, \"ring-mode\": \"0600\","
		" \"access-log-max-bytes\": \"1M\", \"ring-capacity\": 256,"
		" \"prices\": {\"m\": {\"input\": 1.5, \"output\": 2}}}";
	char buf[sizeof doc + 64];
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = sizeof doc - 1;
		memcpy(buf, doc, n);
		for (int m = 0; m < 1 + iter % 3; m++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = (size_t)(x >> 8) % n;
			buf[at] = (x % 4 == 0) ? (char)(x >> 32) : "0123456789\",:{}[]-.x"[(x >> 16) % 21];
		}
		int rc = json_text_len(buf, n);
		if (rc == DCFG_ERROR) {
			cr_assert_gt(strlen(err), 0);
			continue;
		}
		cr_assert_eq(rc, DCFG_OK);
		cr_assert(cfg.agg.max_series >= 1 && cfg.agg.max_series <= DCFG_MAX_SERIES_LIMIT);
		cr_assert_eq(cfg.ring_capacity & (cfg.ring_capacity - 1), 0);
		cr_assert_leq(cfg.ring_mode, 0777);
		cr_assert_leq(cfg.agg.n_prices, AGG_MAX_PRICES);
		cr_assert_neq(cfg.agg.families, 0);
	}
}
