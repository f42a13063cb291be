/*
 * daemon.h - tokenringd itself: the ring, the aggregation core, the HTTP
 * server, the logs and the signals, all driven by one io_uring on one
 * thread (daemon.c: start, loop and shutdown; daemon_routes.c: the HTTP
 * endpoints).
 */
#ifndef TOKENRING_DAEMON_H
#define TOKENRING_DAEMON_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "agg.h"
#include "body.h"
#include "config.h"
#include "cover.h"
#include "httpd.h"
#include "logfile.h"
#include "ring.h"

#define DAEMON_BATCH 1024u            /* records per ring_consume call */
#define DAEMON_TICK_BUDGET 65536u     /* records per tick, so HTTP stays responsive */
#define DAEMON_QUEUE_DEPTH 256u       /* SQ entries */
#define DAEMON_CQ_DEPTH 4096u         /* CQ entries */
#define DAEMON_HOUSEKEEPING_NS (100ull * 1000 * 1000) /* deadlines, accept re-arm */
#define DAEMON_REAP_EVERY_NS (10ull * 1000 * 1000 * 1000)
#define DAEMON_PRODUCER_IDLE_NS (600ull * 1000 * 1000 * 1000)
#define DAEMON_SHUTDOWN_DRAIN_NS (500ull * 1000 * 1000) /* wait for in-flight producers */
#define DAEMON_RELOAD_FLUSH_NS (1000ull * 1000 * 1000)
#define DAEMON_SHUTDOWN_FLUSH_NS (30ull * 1000 * 1000 * 1000) /* at most, for a slow disk */
#define DAEMON_OLD_RING_GRACE_NS (5ull * 1000 * 1000 * 1000)
#define DAEMON_MAX_HEAVY_REPLIES 8u /* rendered /metrics or summary bodies held at once */
#define DAEMON_RESERVED_FDS 32u /* ring, logs, io_uring, signalfd, listen, stdio */
#define DAEMON_UNKNOWN "unknown"

enum daemon_log_index { DAEMON_LOG_ACCESS = 0, DAEMON_LOG_SUMMARY = 1 };

struct daemon {
	struct dcfg cfg;
	int argc;
	char *const *argv; /* kept to re-apply the command line on SIGHUP */
	struct io_uring io;
	struct ring ring;
	struct ring old_ring; /* retired after the file vanished; drained for a while */
	uint64_t old_ring_until_ns;
	uint64_t ring_recreated;
	bool recover_failing;
	struct agg *agg;
	struct cover *cover; /* what the shims could not read (event entries) */
	struct body_table *bodies; /* compressed bodies being decoded (body.h) */
	struct httpd http;
	struct logfile access_log;
	struct logfile summary_log;
	int signal_fd;
	struct signalfd_siginfo siginfo; /* the signalfd read's buffer */
	struct __kernel_timespec tick_ts;
	struct tr_record *batch;
	struct agg_identity *ids;          /* distinct writers of one batch */
	const struct agg_identity **idp;   /* batch[i]'s writer, into ids */
	struct strbuf scratch;
	uint64_t next_housekeeping_ns;
	uint64_t next_reap_ns;
	uint64_t next_summary_ns;
	uint64_t start_realtime_ns;
	uint64_t records; /* ingested since start */
	uint64_t records_unknown_kind; /* ring entries of a kind this daemon does not know */
	bool reload_pending; /* SIGHUP seen; waiting for earlier lines to be written */
	uint64_t reload_deadline_ns;
	uint64_t reloads;
	uint64_t reload_errors;
	uint64_t scrapes;
	bool stopping;
	struct otlp_exporter otlp; /* running when an OTLP endpoint is configured */
	struct strbuf otlp_resource;
	uint64_t next_otlp_ns;
};

/* Set up everything from cfg (argv kept for reloads). On failure prints why
 * to stderr and returns -errno / -RING_E*. */
int daemon_start(struct daemon *d, const struct dcfg *cfg, int argc, char *const argv[]);

/* Run until SIGTERM/SIGINT; then drain the ring, flush the logs and return
 * 0 (the exit status). */
int daemon_run(struct daemon *d);

void daemon_stop(struct daemon *d);

/* Drain up to `budget` records from the ring into the aggregation and the
 * access log; returns how many were taken. */
size_t daemon_drain(struct daemon *d, uint64_t now_ns, size_t budget);

/* The HTTP handler (daemon_routes.c). */
void daemon_http(void *ctx, const struct httpd_req *req, struct httpd_response *resp);

/* Whether the ring this daemon owns is still the file at its path and
 * intact; *why says what is wrong otherwise. */
bool daemon_ring_ok(const struct daemon *d, const char **why);

#endif
