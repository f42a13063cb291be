/*
 * logfile.c - JSON-lines logs on io_uring writes, with size-based rotation
 * and graceful failure (see logfile.h).
 *
 * Rotation and open are synchronous metadata operations done between writes
 * (never with a write in flight), at most once per batch; the data itself
 * always goes through the ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logfile.h"
#include "loop.h"

static void set_spec(struct logfile *l, const char *spec)
{
	if (strcmp(spec, "off") == 0) {
		l->kind = LOGFILE_OFF;
		l->path[0] = 0;
	} else if (strcmp(spec, "-") == 0) {
		l->kind = LOGFILE_STDOUT;
		strcpy(l->path, "-");
	} else {
		l->kind = LOGFILE_PATH;
		snprintf(l->path, sizeof l->path, "%s", spec);
	}
}

static void report_failure(struct logfile *l, const char *what, int err, uint64_t now)
{
	l->errors++;
	l->retry_at_ns = now + LOGFILE_RETRY_NS;
	if (!l->failing)
		fprintf(stderr,
			"tokenringd: %s %s: %s failed: %s; dropping lines (counted) and retrying "
			"until it works\n",
			l->name, l->path, what, strerror(err));
	l->failing = true;
}

static int open_path(struct logfile *l, uint64_t now)
{
	if (l->kind == LOGFILE_STDOUT) {
		l->fd = STDOUT_FILENO;
		return 0;
	}
	int fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, LOGFILE_MODE);
	if (fd < 0) {
		report_failure(l, "open", errno, now);
		return -errno;
	}
	struct stat st;
	l->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	l->fd = fd;
	return 0;
}

static void close_fd(struct logfile *l)
{
	if (l->fd >= 0 && l->fd != STDOUT_FILENO)
		close(l->fd);
	l->fd = -1;
}

int logfile_init(struct logfile *l, const char *name, const char *spec, uint64_t max_bytes,
		 uint32_t keep, uint32_t index)
{
	memset(l, 0, sizeof *l);
	l->name = name;
	l->fd = -1;
	l->index = index;
	l->max_bytes = max_bytes;
	l->keep = keep;
	strbuf_init(&l->fill);
	strbuf_init(&l->inflight);
	set_spec(l, spec);
	if (l->kind != LOGFILE_OFF)
		open_path(l, loop_now_ns());
	return 0;
}

void logfile_reconfigure(struct logfile *l, const char *spec, uint64_t max_bytes, uint32_t keep)
{
	l->max_bytes = max_bytes;
	l->keep = keep;
	bool same = (strcmp(spec, "off") == 0 && l->kind == LOGFILE_OFF) ||
		    (l->kind != LOGFILE_OFF && strcmp(spec, l->path) == 0);
	if (same)
		return;
	if (l->write_pending) {
		/* The batch in flight finishes on the old fd; switch after it. */
		set_spec(l, spec);
		l->reopen_wanted = true;
		return;
	}
	close_fd(l);
	set_spec(l, spec);
	l->failing = false;
	if (l->kind == LOGFILE_OFF) {
		l->dropped += l->fill_lines;
		strbuf_reset(&l->fill);
		l->fill_lines = 0;
	}
}

struct strbuf *logfile_line_begin(struct logfile *l)
{
	if (l->kind == LOGFILE_OFF)
		return NULL;
	if (l->fill.len >= LOGFILE_MAX_PENDING) {
		l->dropped++;
		return NULL;
	}
	l->line_mark = l->fill.len;
	return &l->fill;
}

void logfile_line_end(struct logfile *l, uint64_t nlines) { l->fill_lines += nlines; }

void logfile_line_abort(struct logfile *l)
{
	strbuf_truncate(&l->fill, l->line_mark);
	l->dropped++;
}

uint64_t logfile_count_lines(const char *p, size_t n)
{
	uint64_t lines = 0;
	const char *end = p + n;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		lines++;
		p++;
	}
	return lines;
}

bool logfile_idle(const struct logfile *l) { return !l->write_pending && l->fill.len == 0; }

void logfile_reopen(struct logfile *l)
{
	if (l->kind == LOGFILE_PATH)
		l->reopen_wanted = true;
}

/* path.(keep-1) -> path.keep, ..., path -> path.1; keep 0 just starts over. */
static void rotate(struct logfile *l, uint64_t now)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	close_fd(l);
	if (l->keep == 0) {
		unlink(l->path);
	} else {
		for (uint32_t i = l->keep - 1; i >= 1; i--) {
			snprintf(from, sizeof from, "%s.%u", l->path, i);
			snprintf(to, sizeof to, "%s.%u", l->path, i + 1);
			if (rename(from, to) && errno != ENOENT)
				report_failure(l, "rotate", errno, now);
		}
		snprintf(to, sizeof to, "%s.1", l->path);
		if (rename(l->path, to) && errno != ENOENT)
			report_failure(l, "rotate", errno, now);
	}
	open_path(l, now);
}

/* Bytes of the whole lines at the start of b that fit in room (0: none). */
static size_t whole_lines(const struct strbuf *b, size_t room)
{
	size_t n = room < b->len ? room : b->len;
	const char *nl = n ? memrchr(b->data, '\n', n) : NULL;
	return nl ? (size_t)(nl - b->data) + 1 : 0;
}

static void submit(struct logfile *l, struct io_uring *ring)
{
	struct io_uring_sqe *sqe = loop_sqe(ring);
	if (!sqe)
		return; /* stays pending-less; the next flush retries */
	/* Offset -1: the file position, i.e. the end for an O_APPEND file. */
	io_uring_prep_write(sqe, l->fd, l->inflight.data + l->inflight_off,
			    (unsigned)(l->inflight.len - l->inflight_off), (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, loop_ud(LOOP_OP_LOG_WRITE, l->index, 0));
	l->write_pending = true;
}

void logfile_flush(struct logfile *l, struct io_uring *ring, uint64_t now)
{
	if (l->write_pending)
		return;
	if (l->inflight.len > l->inflight_off) { /* a batch whose submit had no SQE */
		submit(l, ring);
		return;
	}
	if (l->reopen_wanted) {
		l->reopen_wanted = false;
		close_fd(l);
		l->failing = false;
		if (l->kind != LOGFILE_OFF)
			open_path(l, now);
	}
	if (l->kind == LOGFILE_OFF || l->fill.len == 0)
		return;
	if (l->failing && now < l->retry_at_ns)
		return;
	if (l->fd < 0 && open_path(l, now) < 0)
		return;
	size_t take = l->fill.len;
	if (l->kind == LOGFILE_PATH && l->max_bytes) {
		/* Whole lines only, and never past max_bytes: what does not fit
		 * goes to the next file (a single longer line is written alone). */
		take = whole_lines(&l->fill, l->size < l->max_bytes ? l->max_bytes - l->size : 0);
		if (take == 0 && l->size > 0) {
			rotate(l, now);
			if (l->fd < 0)
				return;
			take = whole_lines(&l->fill, l->max_bytes);
		}
		if (take == 0) { /* the first line alone is longer than max_bytes */
			const char *nl = memchr(l->fill.data, '\n', l->fill.len);
			take = nl ? (size_t)(nl - l->fill.data) + 1 : l->fill.len;
		}
	}
	if (take == l->fill.len) {
		/* Swap: the gathered lines become the batch in flight. */
		struct strbuf t = l->inflight;
		l->inflight = l->fill;
		l->fill = t;
		strbuf_reset(&l->fill);
		l->inflight_lines = l->fill_lines;
		l->fill_lines = 0;
	} else {
		uint64_t n = logfile_count_lines(l->fill.data, take);
		strbuf_reset(&l->inflight);
		if (strbuf_append(&l->inflight, l->fill.data, take))
			return; /* out of memory: try again at the next flush */
		memmove(l->fill.data, l->fill.data + take, l->fill.len - take + 1);
		l->fill.len -= take;
		l->inflight_lines = n;
		l->fill_lines -= n;
	}
	l->inflight_off = 0;
	if (l->torn) {
		/* Put the terminator in front: the batch buffer is ours. */
		if (strbuf_reserve(&l->inflight, 1) == 0) {
			memmove(l->inflight.data + 1, l->inflight.data, l->inflight.len + 1);
			l->inflight.data[0] = '\n';
			l->inflight.len++;
			l->inflight_prefix = 1;
			l->torn = false;
		}
	}
	submit(l, ring);
}

/* A write failed after inflight_off bytes of the batch went out: the whole
 * lines among them were written, the rest is dropped; a cut line is ended
 * by the next batch. */
static void batch_failed(struct logfile *l, int err, uint64_t now)
{
	report_failure(l, "write", err, now);
	size_t pre = l->inflight_prefix;
	size_t off = l->inflight_off;
	uint64_t written = off > pre ? logfile_count_lines(l->inflight.data + pre, off - pre) : 0;
	l->lines += written;
	l->dropped += l->inflight_lines - written;
	if (off > 0 && l->inflight.data[off - 1] != '\n')
		l->torn = true;
}

void logfile_on_cqe(struct logfile *l, struct io_uring *ring, int res, uint64_t now)
{
	l->write_pending = false;
	if (res <= 0) {
		batch_failed(l, res < 0 ? -res : ENOSPC, now); /* 0: no progress, like a full disk */
		goto done;
	}
	l->inflight_off += (size_t)res;
	l->size += (uint64_t)res;
	if (l->inflight_off < l->inflight.len) {
		submit(l, ring); /* short write: the rest, in order */
		return;
	}
	if (l->failing) {
		fprintf(stderr, "tokenringd: %s %s: writing again\n", l->name, l->path);
		l->failing = false;
	}
	l->lines += l->inflight_lines;
done:
	l->inflight_lines = 0;
	l->inflight_off = 0;
	l->inflight_prefix = 0;
	strbuf_reset(&l->inflight);
	if (l->inflight.cap > LOGFILE_MAX_PENDING)
		strbuf_free(&l->inflight);
}

void logfile_close(struct logfile *l)
{
	close_fd(l);
	strbuf_free(&l->fill);
	strbuf_free(&l->inflight);
}
