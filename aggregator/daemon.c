/*
 * daemon.c - tokenringd's single-threaded io_uring loop. Every source of
 * work is an io_uring completion: the drain tick (IORING_OP_TIMEOUT), the
 * signalfd read, the multishot accept and connection I/O (httpd.c), and the
 * log writes (logfile.c). The loop submits, waits for at least one
 * completion, handles the whole batch, and advances the CQ once. So
 * nothing called while handling a completion may itself wait for
 * completions (it would see the same batch again): work that must wait for
 * I/O is split in two halves around it (SIGHUP: start_reload, then
 * maybe_finish_reload once the earlier lines are written).
 *
 * Producers never make a syscall for us: the tick polls the ring, and the
 * heartbeat producers see is the now_ns of each ring_consume.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "loop.h"
#include "mcp.h"

static void arm_tick(struct daemon *d)
{
	struct io_uring_sqe *sqe = loop_sqe(&d->io);
	if (!sqe)
		return;
	d->tick_ts.tv_sec = d->cfg.tick_us / 1000000u;
	d->tick_ts.tv_nsec = (long long)(d->cfg.tick_us % 1000000u) * 1000;
	io_uring_prep_timeout(sqe, &d->tick_ts, 0, 0);
	io_uring_sqe_set_data64(sqe, loop_ud(LOOP_OP_TICK, 0, 0));
}

static void arm_signal(struct daemon *d)
{
	struct io_uring_sqe *sqe = loop_sqe(&d->io);
	if (!sqe)
		return;
	io_uring_prep_read(sqe, d->signal_fd, &d->siginfo, sizeof d->siginfo, 0);
	io_uring_sqe_set_data64(sqe, loop_ud(LOOP_OP_SIGNAL, 0, 0));
}

static void copy_bounded(char *dst, size_t cap, const char *src, size_t srccap)
{
	size_t n = strnlen(src, srccap < cap ? srccap : cap - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Who wrote rec: its producer table entry if it still holds the same
 * registration, else "unknown" (reaped, or a hostile index). */
static void resolve_identity(const struct ring *r, const struct tr_record *rec,
			     struct agg_identity *id)
{
	const struct ring_producer *p = ring_producer_lookup(r, rec->producer, rec->producer_gen);
	memset(id, 0, sizeof *id); /* whole: the core's tuple cache compares all bytes */
	if (p) {
		copy_bounded(id->workload, sizeof id->workload, p->workload, sizeof p->workload);
		copy_bounded(id->namespace_, sizeof id->namespace_, p->namespace_,
			     sizeof p->namespace_);
	}
	if (!p || !id->workload[0])
		strcpy(id->workload, DAEMON_UNKNOWN);
	if (!p || !id->namespace_[0])
		strcpy(id->namespace_, DAEMON_UNKNOWN);
}

/* The writer of exchange d->batch[kept]: resolved once per run of records
 * from the same producer registration (a batch usually holds a few
 * writers), so a run shares one identity pointer. */
struct id_run {
	uint32_t last; /* ring_producer_ref of the run, UINT32_MAX before the first */
	size_t nid;
};

static inline void resolve_kept(struct daemon *d, const struct ring *r, size_t kept, struct id_run *run)
{
	const struct tr_record *rec = &d->batch[kept];
	uint32_t key = ring_producer_ref(rec->producer, rec->producer_gen);
	if (key != run->last || run->nid == 0) {
		resolve_identity(r, rec, &d->ids[run->nid++]);
		run->last = key;
	}
	d->idp[kept] = &d->ids[run->nid - 1];
}

/* An event entry (record_event.h) to the cover table, with its writer. */
static void ingest_event(struct daemon *d, const struct ring *r, const struct tr_record *rec)
{
	struct tr_event ev;
	struct agg_identity id;
	memcpy(&ev, rec, sizeof ev);
	resolve_identity(r, rec, &id);
	cover_ingest(d->cover, &ev, &id);
}

/* Keep the exchange records of a drained batch, in order, at its front,
 * each with its writer's identity (d->idp); entries of other kinds go to
 * their handlers (a kind this daemon does not know is counted and skipped).
 * Returns the exchanges. */
static size_t split_kinds(struct daemon *d, const struct ring *r, size_t n, uint64_t now)
{
	size_t kept = 0;
	struct id_run run = {UINT32_MAX, 0};
	for (size_t i = 0; i < n; i++) {
		/* the common entry first: a plain exchange stays where it is */
		if (d->batch[i].kind == REC_KIND_EXCHANGE &&
		    !(d->batch[i].body_xid | d->batch[i].codings) && kept == i) {
			resolve_kept(d, r, kept++, &run);
			continue;
		}
		switch (d->batch[i].kind) {
		case REC_KIND_EXCHANGE:
			if (d->batch[i].body_xid | d->batch[i].codings)
				body_complete(d->bodies, &d->batch[i]);
			if (kept != i)
				d->batch[kept] = d->batch[i];
			resolve_kept(d, r, kept++, &run);
			break;
		case REC_KIND_BODY: { /* decoded now; its record comes later */
			struct rec_body b;
			memcpy(&b, &d->batch[i], sizeof b);
			body_take(d->bodies, &b, now);
			break;
		}
		case REC_KIND_EVENT:
			ingest_event(d, r, &d->batch[i]);
			break;
		case REC_KIND_MCP_ANSWER: /* pairs with its 202 POST (aggregator/mcp.c) */
			mcp_answer(agg_mcp(d->agg), &d->batch[i]);
			break;
		default:
			d->records_unknown_kind++;
			break;
		}
	}
	return kept;
}

static size_t drain_ring(struct daemon *d, struct ring *r, uint64_t now, size_t budget)
{
	size_t total = 0;
	while (total < budget) {
		size_t got = ring_consume(r, d->batch, DAEMON_BATCH, now);
		size_t n = split_kinds(d, r, got, now);
		/* one call per batch: it prefetches the next records' series */
		agg_ingest_batch(d->agg, d->batch, d->idp, n);
		for (size_t i = 0; logfile_enabled(&d->access_log) && i < n; i++) {
			struct strbuf *line = logfile_line_begin(&d->access_log);
			if (!line)
				continue; /* too much pending: counted as dropped */
			if (alog_format(&d->batch[i], d->idp[i], &d->cfg.agg, line) == 0)
				logfile_line_end(&d->access_log, 1);
			else
				logfile_line_abort(&d->access_log);
		}
		total += got;
		d->records += n;
		if (got < DAEMON_BATCH)
			break;
	}
	return total;
}

size_t daemon_drain(struct daemon *d, uint64_t now, size_t budget)
{
	size_t n = 0;
	if (d->old_ring.hdr)
		n += drain_ring(d, &d->old_ring, now, budget);
	return n + drain_ring(d, &d->ring, now, budget);
}

/*
 * The ring file vanished (rm, a cleanup of /dev/shm): create a new one so
 * new producers can attach, mark the old mapping retired so attached
 * producers move over, and keep draining the old mapping for a grace
 * period so records published just before they noticed are not lost. A
 * path that holds some other file is left alone (healthz says so).
 */
static void ring_recover(struct daemon *d, uint64_t now)
{
	struct stat st;
	if (stat(d->cfg.ring_path, &st) == 0 || errno != ENOENT)
		return;
	struct ring fresh;
	struct ring_config rc;
	dcfg_ring_config(&d->cfg, &rc);
	int err = ring_create(d->cfg.ring_path, &rc, &fresh);
	if (err) {
		if (!d->recover_failing)
			fprintf(stderr, "tokenringd: ring %s was removed and cannot be recreated: %s\n",
				d->cfg.ring_path, ring_strerror(err));
		d->recover_failing = true;
		return;
	}
	d->recover_failing = false;
	if (d->old_ring.hdr) { /* removed twice within the grace period */
		drain_ring(d, &d->old_ring, now, SIZE_MAX);
		ring_detach(&d->old_ring);
	}
	ring_retire(&d->ring); /* attached producers move to the new file */
	d->old_ring = d->ring;
	d->ring = fresh;
	d->old_ring_until_ns = now + DAEMON_OLD_RING_GRACE_NS;
	d->ring_recreated++;
	fprintf(stderr, "tokenringd: ring %s was removed; created a new one (epoch %llu)\n",
		d->cfg.ring_path, (unsigned long long)fresh.epoch);
}

static void write_summary(struct daemon *d, uint64_t now_rt)
{
	/* Both logs on stdout: one writer, so two concurrent writes can never
	 * interleave inside a line on a pipe. */
	struct logfile *log = d->summary_log.kind == LOGFILE_STDOUT &&
					      d->access_log.kind == LOGFILE_STDOUT
				      ? &d->access_log
				      : &d->summary_log;
	struct strbuf *out = logfile_line_begin(log);
	if (!out) {
		/* Off (or backed up): still close the interval so the next
		 * lines cover only their own interval. */
		strbuf_reset(&d->scratch);
		agg_summary_lines(d->agg, now_rt, &d->scratch);
		return;
	}
	size_t from = out->len;
	if (agg_summary_lines(d->agg, now_rt, out) != 0) {
		logfile_line_abort(log);
		return;
	}
	logfile_line_end(log, out->len > from ? logfile_count_lines(out->data + from, out->len - from)
					      : 0);
}

static void flush_logs(struct daemon *d, uint64_t now)
{
	logfile_flush(&d->access_log, &d->io, now);
	logfile_flush(&d->summary_log, &d->io, now);
}

static void maybe_finish_reload(struct daemon *d, uint64_t now);

/* Render the table for the OTLP exporter and queue it (the sender thread
 * does the network). Fresh numbers first, as for a scrape. */
static void otlp_export(struct daemon *d, bool last)
{
	/* delta: a full queue keeps this interval's data in the table (the
	 * next render covers it) rather than pushing a batch out undelivered;
	 * the last export at exit has no next one: it is queued, and what it
	 * pushes out is counted as dropped */
	if (!last && d->otlp.s.temporality == OTLP_DELTA && otlp_defer_if_full(&d->otlp))
		return;
	struct strbuf b;
	strbuf_init(&b);
	daemon_drain(d, loop_now_ns(), DAEMON_TICK_BUDGET);
	struct otlp_render r = {
		.resource_json = d->otlp_resource.data,
		.scope_version = TOKENRING_VERSION,
		.start_ns = d->start_realtime_ns,
		.now_ns = loop_realtime_ns(),
		.explicit_buckets = d->otlp.s.explicit_buckets,
		.temporality = d->otlp.s.temporality,
	};
	if (otlp_render_json(d->agg, &r, &b) == 0 && b.len)
		otlp_enqueue(&d->otlp, b.data, b.len); /* takes the memory */
	else
		strbuf_free(&b);
}

static void on_tick(struct daemon *d)
{
	uint64_t now = loop_now_ns();
	daemon_drain(d, now, DAEMON_TICK_BUDGET);
	if (now >= d->next_summary_ns) {
		write_summary(d, loop_realtime_ns());
		d->next_summary_ns = now + (uint64_t)d->cfg.summary_interval_s * 1000000000ull;
	}
	if (d->otlp.running && now >= d->next_otlp_ns) {
		otlp_export(d, false);
		d->next_otlp_ns = now + (uint64_t)d->otlp.s.interval_ms * 1000000ull;
	}
	if (now >= d->next_housekeeping_ns) {
		ring_recover(d, now);
		if (d->old_ring.hdr && now > d->old_ring_until_ns) {
			drain_ring(d, &d->old_ring, now, SIZE_MAX);
			ring_detach(&d->old_ring);
		}
		httpd_tick(&d->http, now);
		body_expire(d->bodies, now);
		mcp_expire(agg_mcp(d->agg), loop_realtime_ns());
		d->next_housekeeping_ns = now + DAEMON_HOUSEKEEPING_NS;
	}
	if (now >= d->next_reap_ns) {
		ring_producers_reap(&d->ring, now, DAEMON_PRODUCER_IDLE_NS);
		d->next_reap_ns = now + DAEMON_REAP_EVERY_NS;
	}
	flush_logs(d, now);
	maybe_finish_reload(d, now);
}

/* SIGHUP, second half: re-read the config file and re-apply the command
 * line over it; apply what can change live, say what needs a restart;
 * reopen the logs either way (logrotate moved them). */
static void finish_reload(struct daemon *d)
{
	char err[512];
	struct dcfg *next = malloc(sizeof *next);
	d->reload_pending = false;
	d->reloads++;
	if (!next) {
		d->reload_errors++;
		fprintf(stderr, "tokenringd: SIGHUP: out of memory; keeping the running config\n");
		goto reopen;
	}
	dcfg_default(next);
	if (dcfg_parse_args(next, d->argc, d->argv, err, sizeof err) != DCFG_OK) {
		d->reload_errors++;
		fprintf(stderr, "tokenringd: SIGHUP: %s; keeping the running config\n", err);
		goto done;
	}
	const char *what;
	if (dcfg_needs_restart(&d->cfg, next, &what))
		fprintf(stderr,
			"tokenringd: SIGHUP: '%s' (and any other ring, listen or aggregation "
			"setting) changes only at restart\n",
			what);
	/* Live: logs, rotation, summary interval, tick, HTTP deadlines. */
	strcpy(d->cfg.access_log, next->access_log);
	strcpy(d->cfg.summary_log, next->summary_log);
	d->cfg.access_log_max_bytes = next->access_log_max_bytes;
	d->cfg.access_log_keep = next->access_log_keep;
	d->cfg.summary_interval_s = next->summary_interval_s;
	d->cfg.tick_us = next->tick_us;
	d->cfg.http_timeout_ms = next->http_timeout_ms;
	d->http.timeout_ns = (uint64_t)next->http_timeout_ms * 1000000ull;
	logfile_reconfigure(&d->access_log, d->cfg.access_log, d->cfg.access_log_max_bytes,
			    d->cfg.access_log_keep);
	logfile_reconfigure(&d->summary_log, d->cfg.summary_log, 0, 0);
	uint64_t next_summary = loop_now_ns() + (uint64_t)d->cfg.summary_interval_s * 1000000000ull;
	if (next_summary < d->next_summary_ns)
		d->next_summary_ns = next_summary;
done:
	free(next);
reopen:
	logfile_reopen(&d->access_log);
	logfile_reopen(&d->summary_log);
	flush_logs(d, loop_now_ns());
}

/* SIGHUP, first half: records published before the signal are handled
 * under the config they were published under, and their lines go to the
 * files open then (logrotate: the moved file). So drain now, hand the
 * lines to the kernel, and finish once those writes are done (bounded by
 * DAEMON_RELOAD_FLUSH_NS so a stuck disk cannot hold the reload). The loop
 * goes on meanwhile: nothing here waits. */
static void start_reload(struct daemon *d)
{
	uint64_t now = loop_now_ns();
	daemon_drain(d, now, SIZE_MAX);
	flush_logs(d, now);
	d->reload_pending = true;
	d->reload_deadline_ns = now + DAEMON_RELOAD_FLUSH_NS;
}

/* Finish a pending reload once the lines gathered before it are written. */
static void maybe_finish_reload(struct daemon *d, uint64_t now)
{
	if (!d->reload_pending)
		return;
	bool written = (logfile_idle(&d->access_log) || d->access_log.failing) &&
		       (logfile_idle(&d->summary_log) || d->summary_log.failing);
	if (written || now > d->reload_deadline_ns)
		finish_reload(d);
}

static void on_signal(struct daemon *d, int res)
{
	if (res == (int)sizeof d->siginfo) {
		switch (d->siginfo.ssi_signo) {
		case SIGHUP:
			if (!d->reload_pending)
				start_reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			d->stopping = true;
			return; /* no re-arm: the loop ends */
		default:
			break;
		}
	}
	arm_signal(d);
}

static void dispatch(struct daemon *d, const struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	switch (loop_ud_op(ud)) {
	case LOOP_OP_TICK:
		on_tick(d);
		if (!d->stopping)
			arm_tick(d);
		break;
	case LOOP_OP_SIGNAL:
		on_signal(d, cqe->res);
		break;
	case LOOP_OP_ACCEPT:
	case LOOP_OP_RECV:
	case LOOP_OP_SEND:
		httpd_on_cqe(&d->http, ud, cqe->res, cqe->flags, loop_now_ns());
		break;
	case LOOP_OP_LOG_WRITE:
		logfile_on_cqe(loop_ud_index(ud) == DAEMON_LOG_ACCESS ? &d->access_log
								      : &d->summary_log,
			       &d->io, cqe->res, loop_now_ns());
		maybe_finish_reload(d, loop_now_ns());
		break;
	default:
		break;
	}
}

/* Submit, wait for at least one completion (or until deadline), handle the
 * batch, advance once. */
static void run_once(struct daemon *d, const struct __kernel_timespec *wait)
{
	struct io_uring_cqe *cqe;
	int rc;
	if (wait)
		rc = io_uring_submit_and_wait_timeout(&d->io, &cqe, 1, (struct __kernel_timespec *)wait,
						      NULL);
	else
		rc = io_uring_submit_and_wait(&d->io, 1);
	if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EAGAIN && rc != -EBUSY)
		fprintf(stderr, "tokenringd: io_uring wait: %s\n", strerror(-rc));
	unsigned head, seen = 0;
	io_uring_for_each_cqe(&d->io, head, cqe)
	{
		dispatch(d, cqe);
		seen++;
	}
	io_uring_cq_advance(&d->io, seen);
}

/* Let the kernel write what the logs gathered (at most until `until`). */
static void wait_logs_below(struct daemon *d, size_t high_water, uint64_t until)
{
	struct __kernel_timespec wait = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
	for (;;) {
		uint64_t now = loop_now_ns();
		flush_logs(d, now);
		bool busy = (!d->access_log.failing && logfile_pending(&d->access_log) > high_water) ||
			    (!d->summary_log.failing && logfile_pending(&d->summary_log) > high_water);
		if (!busy || now > until)
			return;
		run_once(d, &wait);
	}
}

static void shutdown_drain(struct daemon *d)
{
	/* Take everything published, in chunks, writing the access log as we
	 * go so its bounded buffer never overflows (a full ring is ~50 MB of
	 * lines). Wait a little for producers caught between claim and
	 * publish, so a record written just before SIGTERM is not lost
	 * (ring_consume skips a dead producer's slot after the ring's skip
	 * timeout; we give up waiting after DAEMON_SHUTDOWN_DRAIN_NS). */
	uint64_t until = loop_now_ns() + DAEMON_SHUTDOWN_FLUSH_NS;
	uint64_t stuck_since = 0;
	for (;;) {
		uint64_t now = loop_now_ns();
		size_t n = daemon_drain(d, now, DAEMON_BATCH * 4);
		if (d->old_ring.hdr && n == 0)
			ring_detach(&d->old_ring);
		if (n > 0) {
			stuck_since = 0;
			wait_logs_below(d, LOGFILE_HIGH_WATER, until);
			continue;
		}
		struct ring_stats st;
		ring_get_stats(&d->ring, &st);
		if (st.head >= st.tail)
			break;
		if (!stuck_since)
			stuck_since = now;
		if (now - stuck_since > DAEMON_SHUTDOWN_DRAIN_NS)
			break;
		usleep(1000);
	}
	write_summary(d, loop_realtime_ns());
	if (d->otlp.running) { /* a last export, delivered before exit if it can be */
		otlp_export(d, true);
		otlp_stop(&d->otlp);
	}
	wait_logs_below(d, 0, until);
	if (!logfile_idle(&d->access_log) || !logfile_idle(&d->summary_log))
		fprintf(stderr, "tokenringd: logs not fully flushed at exit (%llu access log lines "
				"dropped)\n",
			(unsigned long long)d->access_log.dropped);
}

int daemon_run(struct daemon *d)
{
	while (!d->stopping)
		run_once(d, NULL);
	shutdown_drain(d);
	return 0;
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	return d->signal_fd < 0 ? -errno : 0;
}

/* Raise the fd limit to its hard cap and keep the connection slots within
 * it, so idle sockets exhaust slots (which evict) before fds (which do not). */
static uint32_t fit_connections(uint32_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rlim_t room = rl.rlim_cur > DAEMON_RESERVED_FDS + HTTPD_PENDING
			      ? rl.rlim_cur - DAEMON_RESERVED_FDS - HTTPD_PENDING
			      : 1;
	if (want > room) {
		fprintf(stderr,
			"tokenringd: --max-connections %u lowered to %llu (open file limit %llu)\n",
			want, (unsigned long long)room, (unsigned long long)rl.rlim_cur);
		return (uint32_t)room;
	}
	return want;
}

int daemon_start(struct daemon *d, const struct dcfg *cfg, int argc, char *const argv[])
{
	int rc;
	char addr[96];
	memset(d, 0, sizeof *d);
	d->cfg = *cfg;
	d->argc = argc;
	d->argv = argv;
	d->signal_fd = -1;
	d->start_realtime_ns = loop_realtime_ns();
	strbuf_init(&d->scratch);

	rc = setup_signals(d);
	if (rc) {
		fprintf(stderr, "tokenringd: signalfd: %s\n", strerror(-rc));
		goto fail;
	}
	d->batch = calloc(DAEMON_BATCH, sizeof *d->batch);
	d->ids = calloc(DAEMON_BATCH, sizeof *d->ids);
	d->idp = calloc(DAEMON_BATCH, sizeof *d->idp);
	if (!d->batch || !d->ids || !d->idp) {
		rc = -ENOMEM;
		fprintf(stderr, "tokenringd: out of memory\n");
		goto fail_sig;
	}
	rc = agg_create(&cfg->agg, &d->agg);
	if (rc) {
		fprintf(stderr, "tokenringd: aggregation table for %u series: %s\n",
			cfg->agg.max_series, strerror(-rc));
		goto fail_batch;
	}
	rc = body_create(&cfg->body, &d->bodies);
	if (rc) {
		fprintf(stderr, "tokenringd: body decoding table: %s\n", strerror(-rc));
		agg_destroy(d->agg);
		goto fail_batch;
	}
	rc = cover_create(&d->cover);
	if (rc) {
		fprintf(stderr, "tokenringd: out of memory\n");
		goto fail_agg;
	}
	struct ring_config rc_cfg;
	dcfg_ring_config(cfg, &rc_cfg);
	rc = ring_create(cfg->ring_path, &rc_cfg, &d->ring);
	if (rc) {
		fprintf(stderr, "tokenringd: ring %s: %s\n", cfg->ring_path, ring_strerror(rc));
		goto fail_agg;
	}
	/* A CQ larger than the SQ: every connection has a recv in flight, and
	 * their completions can all arrive in one batch. */
	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE, .cq_entries = DAEMON_CQ_DEPTH};
	rc = io_uring_queue_init_params(DAEMON_QUEUE_DEPTH, &d->io, &p);
	if (rc) {
		fprintf(stderr, "tokenringd: io_uring_queue_init: %s\n", strerror(-rc));
		goto fail_ring;
	}
	rc = httpd_start(&d->http, &d->io, (const struct sockaddr *)&cfg->listen_addr,
			 cfg->listen_addr_len, fit_connections(cfg->max_connections),
			 (uint64_t)cfg->http_timeout_ms * 1000000ull, daemon_http, d);
	if (rc) {
		fprintf(stderr, "tokenringd: listen %s: %s\n", cfg->listen, strerror(-rc));
		goto fail_uring;
	}
	logfile_init(&d->access_log, "access-log", cfg->access_log, cfg->access_log_max_bytes,
		     cfg->access_log_keep, DAEMON_LOG_ACCESS);
	logfile_init(&d->summary_log, "summary-log", cfg->summary_log, 0, 0, DAEMON_LOG_SUMMARY);

	struct otlp_settings os;
	char oerr[512];
	if (otlp_resolve(&cfg->otlp, (const char *(*)(const char *))getenv, &os, oerr,
			 sizeof oerr)) {
		fprintf(stderr, "tokenringd: %s\n", oerr);
		rc = -EINVAL;
		goto fail_http;
	}
	if (os.enabled) {
		char host[256] = "";
		gethostname(host, sizeof host - 1);
		strbuf_init(&d->otlp_resource);
		rc = otlp_resource_json(&d->otlp_resource, TOKENRING_VERSION, host,
					(const char *(*)(const char *))getenv);
		if (!rc)
			rc = otlp_start(&d->otlp, &os);
		if (rc) {
			fprintf(stderr, "tokenringd: OTLP exporter: %s\n", strerror(-rc));
			goto fail_http;
		}
		fprintf(stderr, "tokenringd: OTLP push to http://%s%s every %u ms\n", os.hostport,
			os.path, os.interval_ms);
	}

	uint64_t now = loop_now_ns();
	d->next_otlp_ns = now + (uint64_t)os.interval_ms * 1000000ull;
	d->next_summary_ns = now + (uint64_t)cfg->summary_interval_s * 1000000000ull;
	d->next_reap_ns = now + DAEMON_REAP_EVERY_NS;
	arm_tick(d);
	arm_signal(d);
	io_uring_submit(&d->io);

	httpd_bound_str(&d->http, addr, sizeof addr);
	struct ring_stats st;
	ring_get_stats(&d->ring, &st);
	fprintf(stderr, "tokenringd %s: ring %s (capacity %u, epoch %llu), listening on %s\n",
		TOKENRING_VERSION, cfg->ring_path, st.capacity, (unsigned long long)st.epoch, addr);
	return 0;

fail_http:
	strbuf_free(&d->otlp_resource);
	logfile_close(&d->access_log);
	logfile_close(&d->summary_log);
	httpd_stop(&d->http);
fail_uring:
	io_uring_queue_exit(&d->io);
fail_ring:
	ring_detach(&d->ring);
fail_agg:
	cover_destroy(d->cover);
	body_destroy(d->bodies);
	agg_destroy(d->agg);
fail_batch:
	free(d->idp);
	free(d->ids);
	free(d->batch);
fail_sig:
	close(d->signal_fd);
fail:
	strbuf_free(&d->scratch);
	return rc;
}

void daemon_stop(struct daemon *d)
{
	otlp_stop(&d->otlp);
	strbuf_free(&d->otlp_resource);
	httpd_stop(&d->http);
	io_uring_queue_exit(&d->io);
	logfile_close(&d->access_log);
	logfile_close(&d->summary_log);
	/* The ring file stays: producers keep publishing into it and the next
	 * tokenringd adopts it. */
	ring_detach(&d->ring);
	if (d->old_ring.hdr)
		ring_detach(&d->old_ring);
	cover_destroy(d->cover);
	body_destroy(d->bodies);
	agg_destroy(d->agg);
	free(d->idp);
	free(d->ids);
	free(d->batch);
	close(d->signal_fd);
	strbuf_free(&d->scratch);
}

bool daemon_ring_ok(const struct daemon *d, const char **why)
{
	struct stat st;
	int err = d->ring.hdr ? ring_check(&d->ring) : -RING_EMAGIC;
	if (err == -RING_ERETIRED) {
		*why = "ring retired";
		return false;
	}
	if (err) {
		*why = "ring header damaged";
		return false;
	}
	if (stat(d->cfg.ring_path, &st) != 0) {
		*why = "ring file missing";
		return false;
	}
	if (st.st_ino != d->ring.ino || st.st_dev != d->ring.dev) {
		*why = "ring file replaced by another file";
		return false;
	}
	*why = NULL;
	return true;
}
