/*
 * otlp_export.c - OTLP/HTTP delivery for tokenringd: settings from flags
 * and the OpenTelemetry environment variables, a bounded queue of rendered
 * batches, and one sender thread doing blocking HTTP/1.1 POSTs with
 * deadlines.
 *
 * Why a thread and not io_uring operations in the loop: a receiver is
 * usually named by host (otel-collector:4318) and getaddrinfo has no
 * asynchronous form; a blocked resolver or a slow receiver must never hold
 * the loop that drains the ring. The loop only renders (as for a scrape)
 * and pushes under a mutex held for a few instructions; the queue is
 * bounded (a full queue drops its oldest batch: with cumulative
 * temporality the newest batch carries everything the oldest did).
 *
 * Delivery as the OTLP specification asks: 2xx is success, its body may
 * carry partialSuccess.rejectedDataPoints (counted); 429, 502, 503, 504 and
 * connection failures are retried with exponential backoff (or after
 * Retry-After seconds when the answer carries one), at most
 * OTLP_MAX_ATTEMPTS tries; any other answer is final (counted as failed).
 * Payloads are gzip-compressed on the sender thread when asked.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "otlp.h"

struct otlp_batch {
	char *json;
	size_t len;
};

static int fail(char *err, size_t errlen, const char *fmt, const char *v)
{
	snprintf(err, errlen, fmt, v);
	return -1;
}

static int parse_ms(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (!*v || *end || errno || x < min || x > max)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int copy(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);
	if (n >= cap)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

/* OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE's values (any case)
 * for our instruments. Every tokenring metric is a synchronous Counter or
 * a Histogram (each record adds to it as it is ingested; there is no
 * UpDownCounter or asynchronous instrument), and both "delta" and
 * "lowmemory" ask delta of those in the SDK specification. -1: unknown. */
static int temporality_of(const char *v)
{
	if (!strcasecmp(v, "cumulative"))
		return OTLP_CUMULATIVE;
	if (!strcasecmp(v, "delta") || !strcasecmp(v, "lowmemory"))
		return OTLP_DELTA;
	return -1;
}

int otlp_set_flag(struct otlp_flags *f, const char *name, const char *v, char *err,
		  size_t errlen)
{
	if (!strcmp(name, "endpoint"))
		return copy(f->endpoint, sizeof f->endpoint, v)
			       ? fail(err, errlen, "--otlp-endpoint: '%s' is too long", v)
			       : 0;
	if (!strcmp(name, "headers"))
		return copy(f->headers, sizeof f->headers, v)
			       ? fail(err, errlen, "--otlp-headers: '%s' is too long", v)
			       : 0;
	if (!strcmp(name, "interval-ms"))
		return parse_ms(v, 100, 86400000u, &f->interval_ms)
			       ? fail(err, errlen, "--otlp-interval-ms: '%s' is not in [100, 86400000]", v)
			       : 0;
	if (!strcmp(name, "timeout-ms"))
		return parse_ms(v, 10, 600000u, &f->timeout_ms)
			       ? fail(err, errlen, "--otlp-timeout-ms: '%s' is not in [10, 600000]", v)
			       : 0;
	if (!strcmp(name, "queue"))
		return parse_ms(v, 1, OTLP_MAX_QUEUE, &f->queue)
			       ? fail(err, errlen, "--otlp-queue: '%s' is not in [1, 1024]", v)
			       : 0;
	if (!strcmp(name, "protocol"))
		return strcmp(v, "http/json")
			       ? fail(err, errlen, "--otlp-protocol: '%s': only http/json is built", v)
			       : copy(f->protocol, sizeof f->protocol, v);
	if (!strcmp(name, "compression"))
		return strcmp(v, "gzip") && strcmp(v, "none")
			       ? fail(err, errlen, "--otlp-compression: '%s' is not gzip or none", v)
			       : copy(f->compression, sizeof f->compression, v);
	if (!strcmp(name, "temporality"))
		return temporality_of(v) < 0
			       ? fail(err, errlen,
				      "--otlp-temporality: '%s' is not cumulative, delta or lowmemory",
				      v)
			       : copy(f->temporality, sizeof f->temporality, v);
	if (!strcmp(name, "histograms"))
		return strcmp(v, "exponential") && strcmp(v, "explicit")
			       ? fail(err, errlen,
				      "--otlp-histograms: '%s' is not exponential or explicit", v)
			       : copy(f->histograms, sizeof f->histograms, v);
	return fail(err, errlen, "unknown OTLP flag %s", name);
}

/* The signal-specific variable, else the general one. */
static const char *env2(const char *(*env)(const char *), const char *specific,
			const char *general)
{
	const char *v = env(specific);
	return v && *v ? v : env(general);
}

static int percent_decode(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p == '%' && p[1] && p[2]) {
			char hex[3] = {p[1], p[2], 0}, *end;
			long c = strtol(hex, &end, 16);
			if (*end)
				return -1;
			*o++ = (char)c;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return 0;
}

/* "k1=v1,k2=v2" (W3C baggage-like, percent-encoded) to header lines. */
static int headers_of(const char *list, char *out, size_t cap)
{
	size_t len = strlen(out);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (!eq)
			return -1;
		char name[256], value[1024];
		const char *ks = p, *ke = eq, *vs = eq + 1, *ve = end;
		while (ks < ke && *ks == ' ')
			ks++;
		while (ke > ks && ke[-1] == ' ')
			ke--;
		while (vs < ve && *vs == ' ')
			vs++;
		while (ve > vs && ve[-1] == ' ')
			ve--;
		if (ke == ks || (size_t)(ke - ks) >= sizeof name || (size_t)(ve - vs) >= sizeof value)
			return -1;
		memcpy(name, ks, (size_t)(ke - ks));
		name[ke - ks] = 0;
		memcpy(value, vs, (size_t)(ve - vs));
		value[ve - vs] = 0;
		if (percent_decode(value) || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
			return -1;
		int n = snprintf(out + len, cap - len, "%s: %s\r\n", name, value);
		if (n < 0 || (size_t)n >= cap - len)
			return -1;
		len += (size_t)n;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* http://host[:port][/path]; a URL without a path gets /v1/metrics. */
static int parse_url(const char *url, bool append_path, struct otlp_settings *s)
{
	if (strncmp(url, "http://", 7) != 0)
		return -1;
	const char *h = url + 7, *slash = strchr(h, '/');
	size_t hl = slash ? (size_t)(slash - h) : strlen(h);
	if (hl == 0 || hl >= sizeof s->hostport)
		return -1;
	memcpy(s->hostport, h, hl);
	s->hostport[hl] = 0;
	const char *colon = strrchr(s->hostport, ':');
	const char *bracket = strrchr(s->hostport, ']');
	if (colon && (!bracket || colon > bracket)) {
		size_t n = (size_t)(colon - s->hostport);
		if (n >= sizeof s->host || strlen(colon + 1) >= sizeof s->port || !colon[1])
			return -1;
		memcpy(s->host, s->hostport, n);
		s->host[n] = 0;
		strcpy(s->port, colon + 1);
	} else {
		strcpy(s->host, s->hostport);
		strcpy(s->port, "80");
	}
	if (s->host[0] == '[') { /* [v6] */
		size_t n = strlen(s->host);
		memmove(s->host, s->host + 1, n - 2);
		s->host[n - 2] = 0;
	}
	const char *path = slash ? slash : "/";
	int n;
	if (append_path) /* the general endpoint: the signal path goes under it */
		n = snprintf(s->path, sizeof s->path, "%s%sv1/metrics", path,
			     path[strlen(path) - 1] == '/' ? "" : "/");
	else
		n = snprintf(s->path, sizeof s->path, "%s", path);
	return n < 0 || (size_t)n >= sizeof s->path ? -1 : 0;
}

int otlp_resolve(const struct otlp_flags *f, const char *(*env)(const char *name),
		 struct otlp_settings *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	const char *url = f->endpoint;
	bool append = false;
	if (url[0]) {
		/* the flag is the metrics URL; a bare host:port gets the path */
		const char *p = strchr(url + (strncmp(url, "http://", 7) ? 0 : 7), '/');
		append = !p || !strcmp(p, "/");
	} else if ((url = env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")) && *url) {
		append = false;
	} else if ((url = env("OTEL_EXPORTER_OTLP_ENDPOINT")) && *url) {
		append = true;
	} else {
		return 0; /* off */
	}
	if (parse_url(url, append, s))
		return fail(err, errlen,
			    "OTLP endpoint '%s': expected http://HOST[:PORT][/PATH] (https: not "
			    "built; send to a local collector)",
			    url);
	const char *hdr = f->headers[0] ? f->headers
					: env2(env, "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
					       "OTEL_EXPORTER_OTLP_HEADERS");
	if (hdr && headers_of(hdr, s->headers, sizeof s->headers))
		return fail(err, errlen, "OTLP headers '%s': expected name=value,...", hdr);
	const char *v;
	s->timeout_ms = f->timeout_ms;
	if (!s->timeout_ms) {
		v = env2(env, "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT");
		if (v && *v && parse_ms(v, 10, 600000u, &s->timeout_ms))
			return fail(err, errlen, "OTEL_EXPORTER_OTLP_TIMEOUT '%s': milliseconds", v);
		if (!s->timeout_ms)
			s->timeout_ms = OTLP_DEFAULT_TIMEOUT_MS;
	}
	s->interval_ms = f->interval_ms;
	if (!s->interval_ms) {
		v = env("OTEL_METRIC_EXPORT_INTERVAL");
		if (v && *v && parse_ms(v, 100, 86400000u, &s->interval_ms))
			return fail(err, errlen, "OTEL_METRIC_EXPORT_INTERVAL '%s': milliseconds", v);
		if (!s->interval_ms)
			s->interval_ms = OTLP_DEFAULT_INTERVAL_MS;
	}
	const char *comp = f->compression[0] ? f->compression
					     : env2(env, "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
						    "OTEL_EXPORTER_OTLP_COMPRESSION");
	if (comp && *comp && strcmp(comp, "gzip") && strcmp(comp, "none"))
		return fail(err, errlen, "OTEL_EXPORTER_OTLP_COMPRESSION '%s': gzip or none", comp);
	s->gzip = comp && !strcmp(comp, "gzip");
	const char *proto = f->protocol[0] ? f->protocol
					   : env2(env, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
						  "OTEL_EXPORTER_OTLP_PROTOCOL");
	if (proto && *proto && strcmp(proto, "http/json"))
		fprintf(stderr, "tokenringd: OTLP protocol '%s' not built; sending http/json "
				"(every OTLP/HTTP receiver takes it)\n", proto);
	/* the flag was checked when set; an unknown variable value is ignored
	 * with a warning, as the SDK specification asks */
	const char *temp = f->temporality[0]
				   ? f->temporality
				   : env("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
	s->temporality = OTLP_CUMULATIVE;
	if (temp && *temp && temporality_of(temp) < 0)
		fprintf(stderr, "tokenringd: OTLP temporality preference '%s' unknown; sending "
				"cumulative\n", temp);
	else if (temp && *temp)
		s->temporality = (enum otlp_temporality)temporality_of(temp);
	s->explicit_buckets = !strcmp(f->histograms, "explicit");
	s->queue = f->queue ? f->queue : OTLP_DEFAULT_QUEUE;
	s->enabled = true;
	return 0;
}

/* ---- HTTP ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = ev};
		int r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int dial(const struct otlp_settings *s, uint64_t deadline)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	if (getaddrinfo(s->host, s->port, &hints, &res))
		return -EHOSTUNREACH;
	int fd = -1, rc = -ECONNREFUSED;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		int err = 0;
		socklen_t el = sizeof err;
		if (errno != EINPROGRESS || (rc = wait_fd(fd, POLLOUT, deadline)) ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
			rc = rc ? rc : -(err ? err : errno);
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : rc;
}

static int send_all(int fd, const char *p, size_t n, uint64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc)
			return rc;
	}
	return 0;
}

/* What an answer said. */
struct answer {
	int status;           /* 0: no answer */
	uint32_t retry_after; /* seconds, 0 if none */
	uint64_t rejected;    /* partialSuccess.rejectedDataPoints */
};

#define OTLP_ANSWER_MAX 65536

static void parse_answer(char *buf, size_t n, struct answer *a)
{
	buf[n] = 0;
	if (n < 12 || strncmp(buf, "HTTP/1.", 7))
		return;
	a->status = atoi(buf + 9);
	char *body = strstr(buf, "\r\n\r\n");
	for (char *line = strstr(buf, "\r\n"); line && (!body || line < body);
	     line = strstr(line + 2, "\r\n")) {
		if (!strncasecmp(line + 2, "retry-after:", 12)) {
			char *end;
			unsigned long s = strtoul(line + 14, &end, 10);
			if (end != line + 14)
				a->retry_after = s > OTLP_RETRY_AFTER_MAX_S ? OTLP_RETRY_AFTER_MAX_S
									    : (uint32_t)s;
		}
	}
	/* partial success: {"partialSuccess":{"rejectedDataPoints":"N",...}},
	 * the count a string (int64) or, from lenient receivers, a number */
	char *r = body ? strstr(body, "\"rejectedDataPoints\"") : NULL;
	if (r) {
		r = strchr(r + 20, ':');
		while (r && (*r == ':' || *r == ' ' || *r == '"'))
			r++;
		if (r)
			a->rejected = strtoull(r, NULL, 10);
	}
}

/* One POST; the answer, or a negative errno when none came. */
static int post(const struct otlp_settings *s, const char *body, size_t len, struct answer *a)
{
	uint64_t deadline = mono_ms() + s->timeout_ms;
	memset(a, 0, sizeof *a);
	int fd = dial(s, deadline);
	if (fd < 0)
		return fd;
	char head[OTLP_HEADERS_MAX + 1024];
	int hn = snprintf(head, sizeof head,
			  "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tokenringd\r\n"
			  "Content-Type: application/json\r\nContent-Length: %zu\r\n%s%s"
			  "Connection: close\r\n\r\n",
			  s->path, s->hostport, len,
			  s->gzip ? "Content-Encoding: gzip\r\n" : "", s->headers);
	int rc = hn < 0 || (size_t)hn >= sizeof head ? -EINVAL : 0;
	if (!rc)
		rc = send_all(fd, head, (size_t)hn, deadline);
	if (!rc)
		rc = send_all(fd, body, len, deadline);
	char *buf = rc ? NULL : malloc(OTLP_ANSWER_MAX + 1);
	size_t got = 0;
	if (!rc && !buf)
		rc = -ENOMEM;
	while (!rc && got < OTLP_ANSWER_MAX) {
		ssize_t r = recv(fd, buf + got, OTLP_ANSWER_MAX - got, 0);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			rc = -errno;
		else
			rc = wait_fd(fd, POLLIN, deadline);
	}
	if (buf && got)
		parse_answer(buf, got, a); /* a cut-off answer still has its status */
	free(buf);
	close(fd);
	return a->status ? 0 : rc ? rc : -EPROTO;
}

static bool retryable(int status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

/* gzip of the batch; NULL on failure (then sent uncompressed: counted by
 * nobody, but never lost). */
static char *gzip_of(const char *p, size_t n, size_t *out_len)
{
	z_stream z = {0};
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		return NULL;
	size_t cap = deflateBound(&z, n);
	char *out = malloc(cap);
	if (out) {
		z.next_in = (Bytef *)p;
		z.avail_in = (uInt)n;
		z.next_out = (Bytef *)out;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
			free(out);
			out = NULL;
		} else {
			*out_len = z.total_out;
		}
	}
	deflateEnd(&z);
	return out;
}

/* ---- queue and sender ---- */

static struct otlp_batch *pop(struct otlp_exporter *e)
{
	if (!e->n)
		return NULL;
	struct otlp_batch *b = e->q[e->head];
	e->head = (e->head + 1) % e->s.queue;
	e->n--;
	return b;
}

/* Sleep ms, or less if stop is asked; with e->mu held. */
static void nap(struct otlp_exporter *e, uint64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (ms % 1000) * 1000000u;
	ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	while (!e->stop && pthread_cond_timedwait(&e->cv, &e->mu, &ts) != ETIMEDOUT)
		;
}

static void deliver(struct otlp_exporter *e, struct otlp_batch *b)
{
	const char *body = b->json;
	size_t len = b->len;
	char *z = NULL;
	if (e->s.gzip && (z = gzip_of(b->json, b->len, &len)))
		body = z;
	else
		len = b->len;
	uint64_t backoff = OTLP_BACKOFF_MIN_MS;
	for (unsigned attempt = 1;; attempt++) {
		struct answer a;
		int rc = post(&e->s, body, len, &a);
		pthread_mutex_lock(&e->mu);
		if (rc == 0 && a.status >= 200 && a.status < 300) {
			e->sent++;
			e->rejected_points += a.rejected;
			pthread_mutex_unlock(&e->mu);
			break;
		}
		bool again = (rc != 0 || retryable(a.status)) && attempt < OTLP_MAX_ATTEMPTS &&
			     !e->stop;
		if (!again) {
			e->failed++;
			pthread_mutex_unlock(&e->mu);
			break;
		}
		e->retried++;
		/* Retry-After when given, else exponential backoff with jitter */
		uint64_t wait = a.retry_after ? (uint64_t)a.retry_after * 1000u
					      : backoff / 2 + (uint64_t)rand() % (backoff / 2 + 1);
		backoff = backoff * 2 > OTLP_BACKOFF_MAX_MS ? OTLP_BACKOFF_MAX_MS : backoff * 2;
		nap(e, wait);
		pthread_mutex_unlock(&e->mu);
	}
	free(z);
}

static void *sender(void *arg)
{
	struct otlp_exporter *e = arg;
	pthread_mutex_lock(&e->mu);
	for (;;) {
		struct otlp_batch *b = pop(e);
		if (!b) {
			if (e->stop)
				break;
			pthread_cond_wait(&e->cv, &e->mu);
			continue;
		}
		pthread_mutex_unlock(&e->mu);
		deliver(e, b);
		free(b->json);
		free(b);
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

int otlp_start(struct otlp_exporter *e, const struct otlp_settings *s)
{
	memset(e, 0, sizeof *e);
	e->s = *s;
	e->q = calloc(s->queue, sizeof *e->q);
	if (!e->q)
		return -ENOMEM;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	int rc = pthread_create(&e->thread, NULL, sender, e);
	if (rc) {
		free(e->q);
		return -rc;
	}
	e->running = true;
	return 0;
}

void otlp_enqueue(struct otlp_exporter *e, char *json, size_t len)
{
	struct otlp_batch *b = malloc(sizeof *b), *old = NULL;
	if (!b) {
		free(json);
		pthread_mutex_lock(&e->mu);
		e->dropped++;
		pthread_mutex_unlock(&e->mu);
		return;
	}
	b->json = json;
	b->len = len;
	pthread_mutex_lock(&e->mu);
	if (e->n == e->s.queue) {
		old = pop(e);
		e->dropped++;
	}
	e->q[(e->head + e->n) % e->s.queue] = b;
	e->n++;
	pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
	if (old) {
		free(old->json);
		free(old);
	}
}

bool otlp_defer_if_full(struct otlp_exporter *e)
{
	pthread_mutex_lock(&e->mu);
	bool full = e->n == e->s.queue;
	if (full)
		e->deferred++;
	pthread_mutex_unlock(&e->mu);
	return full;
}

void otlp_get_stats(struct otlp_exporter *e, struct otlp_stats *st)
{
	pthread_mutex_lock(&e->mu);
	st->sent = e->sent;
	st->retried = e->retried;
	st->dropped = e->dropped;
	st->failed = e->failed;
	st->rejected_points = e->rejected_points;
	st->queued = e->n;
	st->deferred = e->deferred;
	pthread_mutex_unlock(&e->mu);
}

void otlp_stop(struct otlp_exporter *e)
{
	if (!e->running)
		return;
	pthread_mutex_lock(&e->mu);
	/* Exit is bounded by one attempt: only the newest batch (cumulative:
	 * it carries everything the older ones did) is still tried. */
	while (e->n > 1) {
		struct otlp_batch *old = pop(e);
		e->dropped++;
		free(old->json);
		free(old);
	}
	e->stop = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->thread, NULL);
	struct otlp_batch *b;
	while ((b = pop(e))) {
		free(b->json);
		free(b);
	}
	free(e->q);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	e->running = false;
}
