/*
 * logfile.h - an append-only JSON-lines log (access log, summary log)
 * written with io_uring writes: lines gather in a buffer; each flush hands
 * one batch to the kernel and the next batch gathers meanwhile (at most one
 * write in flight, so lines stay in order). Size-based rotation (path ->
 * path.1 -> ... -> path.N), "-" for stdout, "off".
 *
 * A full disk or an unwritable path never stops the daemon: the batch is
 * dropped and counted, one line goes to stderr, writes are retried every
 * LOGFILE_RETRY_NS, and a "resumed" line follows when they succeed. A line
 * cut by a failed write is terminated before the next one, so every line in
 * the file still parses.
 */
#ifndef TOKENRING_LOGFILE_H
#define TOKENRING_LOGFILE_H

#include <limits.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"

#define LOGFILE_MAX_PENDING (64u << 20) /* bytes gathered while a write is slow or failing */
#define LOGFILE_HIGH_WATER (4u << 20)   /* a draining shutdown waits for writes past this */
#define LOGFILE_RETRY_NS (1000ull * 1000 * 1000)
#define LOGFILE_MODE 0640

enum logfile_kind { LOGFILE_OFF = 0, LOGFILE_STDOUT, LOGFILE_PATH };

struct logfile {
	const char *name; /* "access-log", for messages */
	enum logfile_kind kind;
	char path[PATH_MAX];
	int fd; /* -1 when not open */
	uint32_t index; /* user_data index of this log's writes */
	uint64_t max_bytes; /* 0 = never rotate */
	uint32_t keep;
	uint64_t size; /* bytes in the current file */
	struct strbuf fill; /* complete lines waiting for the next write */
	uint64_t fill_lines;
	size_t line_mark; /* fill.len when the current line began */
	struct strbuf inflight; /* the batch the kernel is writing */
	size_t inflight_off;
	size_t inflight_prefix; /* 1 when the batch starts with a cut line's '\n' */
	uint64_t inflight_lines;
	bool write_pending;
	bool reopen_wanted;
	bool torn; /* a failed write cut a line: start the next batch with '\n' */
	bool failing;
	uint64_t retry_at_ns;
	/* counters (agg_self) */
	uint64_t lines;
	uint64_t errors;
	uint64_t dropped;
};

/* Set up from a spec: a path, "-" (stdout) or "off". Opens the file now;
 * failing to open is not fatal (reported, retried). Returns 0. */
int logfile_init(struct logfile *l, const char *name, const char *spec, uint64_t max_bytes,
		 uint32_t keep, uint32_t index);

/* Change spec or rotation limits (SIGHUP reload). A new spec reopens. */
void logfile_reconfigure(struct logfile *l, const char *spec, uint64_t max_bytes, uint32_t keep);

static inline bool logfile_enabled(const struct logfile *l) { return l->kind != LOGFILE_OFF; }

/* Begin a line: the buffer to append it to, or NULL when the log is off or
 * too much is pending (then the line is counted as dropped). Finish with
 * logfile_line_end, or logfile_line_abort to discard a half-formatted line. */
struct strbuf *logfile_line_begin(struct logfile *l);
void logfile_line_end(struct logfile *l, uint64_t nlines);
void logfile_line_abort(struct logfile *l);

/* Submit the gathered lines if no write is in flight (and the retry delay
 * after an error has passed). Rotates first when the batch would take the
 * file past max_bytes; applies a pending reopen. */
void logfile_flush(struct logfile *l, struct io_uring *ring, uint64_t now_ns);

/* The completion of this log's write. */
void logfile_on_cqe(struct logfile *l, struct io_uring *ring, int res, uint64_t now_ns);

/* Reopen the path at the next flush (SIGHUP; logrotate moved the file). */
void logfile_reopen(struct logfile *l);

/* Number of '\n' in p[0..n). */
uint64_t logfile_count_lines(const char *p, size_t n);

/* Bytes gathered and not yet handed to the kernel, plus the batch in flight. */
static inline size_t logfile_pending(const struct logfile *l)
{
	return l->fill.len + (l->inflight.len - l->inflight_off);
}

/* Nothing gathered and nothing in flight. */
bool logfile_idle(const struct logfile *l);

void logfile_close(struct logfile *l);

#endif
