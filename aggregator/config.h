/*
 * config.h - tokenringd's configuration: command-line flags and the JSON
 * config file (--config FILE), where every flag has a key of the same name
 * without the leading "--". Flags given on the command line win over the
 * file; SIGHUP re-reads the file and re-applies the command line on top.
 *
 * Errors never exit from here: the parsers return DCFG_ERROR with a message
 * naming the flag or key in the caller's buffer, and main() exits with
 * DCFG_EXIT_USAGE. Pure code (file reading aside): unit-tested on its own.
 */
#ifndef TOKENRING_CONFIG_H
#define TOKENRING_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "agg.h"
#include "body.h"
#include "otlp.h"
#include "ring.h"

#define DCFG_DEFAULT_LISTEN "0.0.0.0:9464"
#define DCFG_DEFAULT_SUMMARY_INTERVAL_S 60u
#define DCFG_MAX_SUMMARY_INTERVAL_S 86400u
#define DCFG_DEFAULT_ACCESS_LOG_MAX_BYTES (100ull << 20)
#define DCFG_DEFAULT_ACCESS_LOG_KEEP 5u
#define DCFG_MAX_ACCESS_LOG_KEEP 100u
#define DCFG_DEFAULT_TICK_US 1000u
#define DCFG_MIN_TICK_US 50u
#define DCFG_MAX_TICK_US 1000000u
#define DCFG_DEFAULT_MAX_CONNECTIONS 1024u
#define DCFG_MAX_MAX_CONNECTIONS 65536u
#define DCFG_DEFAULT_HTTP_TIMEOUT_MS 10000u /* idle keep-alive, header and send deadline */
#define DCFG_MAX_SERIES_LIMIT (1u << 24)
#define DCFG_MAX_CONFIG_BYTES (1u << 20)
#define DCFG_ID_UNSET UINT32_MAX
#define DCFG_MAX_BODY_BYTES (1ull << 30)
#define DCFG_MAX_BODY_MEMORY (64ull << 30)
#define DCFG_LOG_OFF "off"
#define DCFG_LOG_STDOUT "-"

/* Exit status for a bad flag, key or value (sysexits' EX_USAGE is 64; the
 * design says 2, like getopt-based tools). */
#define DCFG_EXIT_USAGE 2

/* Results of dcfg_parse_args / dcfg_load_file. */
enum dcfg_result {
	DCFG_OK = 0,
	DCFG_HELP = 1,    /* --help was given: print dcfg_usage(), exit 0 */
	DCFG_VERSION = 2, /* --version was given */
	DCFG_ERROR = -1,  /* message in err */
};

struct dcfg {
	char ring_path[PATH_MAX];
	char listen[128]; /* as given, for messages */
	struct sockaddr_storage listen_addr;
	socklen_t listen_addr_len;
	char access_log[PATH_MAX];  /* path, "-" (stdout) or "off" */
	char summary_log[PATH_MAX]; /* path, "-" (stdout) or "off" */
	uint32_t summary_interval_s;
	uint64_t access_log_max_bytes; /* 0 = never rotate */
	uint32_t access_log_keep;      /* rotated files kept: path.1 .. path.N */
	uint32_t ring_capacity;
	mode_t ring_mode;
	uint32_t ring_uid; /* DCFG_ID_UNSET = leave as created */
	uint32_t ring_gid;
	uint32_t tick_us;
	uint32_t max_connections;
	uint32_t http_timeout_ms;
	char label_headers[REC_LABELS][RING_LABEL_HEADER_LEN]; /* header names, "" = unused */
	char config_file[PATH_MAX]; /* "" = none */
	struct agg_config agg;      /* max_series, families, label names, prices */
	struct body_config body;    /* compressed bodies: bounds */
	struct otlp_flags otlp;     /* --otlp-*: OTLP push (otlp.h) */
};

/* Defaults for everything (the values documented in --help). */
void dcfg_default(struct dcfg *c);

/*
 * Apply argv[1..argc) to c. If the arguments name --config FILE, the file
 * is loaded first and the remaining flags override it. Returns DCFG_OK,
 * DCFG_HELP, DCFG_VERSION, or DCFG_ERROR with a message naming the flag.
 */
int dcfg_parse_args(struct dcfg *c, int argc, char *const argv[], char *err, size_t errlen);

/* Apply the JSON document text[0..len) to c. DCFG_OK or DCFG_ERROR naming
 * the key (or the JSON parse position). */
int dcfg_apply_json(struct dcfg *c, const char *text, size_t len, char *err, size_t errlen);

/* Read path and apply it as JSON. DCFG_OK or DCFG_ERROR. */
int dcfg_load_file(struct dcfg *c, const char *path, char *err, size_t errlen);

/* The --help text. */
const char *dcfg_usage(void);

/* True if a and b differ in something that only a restart can change (the
 * ring, the listen address, the aggregation table); *what names the first. */
bool dcfg_needs_restart(const struct dcfg *a, const struct dcfg *b, const char **what);

/* Fill a ring_config from c (capacity, mode, label header names). */
void dcfg_ring_config(const struct dcfg *c, struct ring_config *rc);

#endif
