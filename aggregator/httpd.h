/*
 * httpd.h - tokenringd's HTTP/1.1 server: a small resumable request parser
 * (httpd_parse.c, pure, fuzzable) and the connection machinery on the
 * daemon's io_uring (httpd.c): multishot accept, one recv or send in flight
 * per connection, keep-alive and pipelining, bounded requests (413/431),
 * and deadlines so an idle, slow (slowloris) or non-reading client only
 * ever holds its own slot.
 *
 * The server knows no routes: a handler fills the status, content type and
 * body of each request. One thread (the loop) owns a struct httpd.
 */
#ifndef TOKENRING_HTTPD_H
#define TOKENRING_HTTPD_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "strbuf.h"

#define HTTPD_MAX_HEAD 8192     /* request line + headers; past it: 431 */
#define HTTPD_MAX_HEADERS 64    /* header lines; past it: 431 */
#define HTTPD_MAX_BODY 4096     /* Content-Length past it: 413 */
#define HTTPD_IN_CAP (HTTPD_MAX_HEAD + HTTPD_MAX_BODY)
#define HTTPD_PENDING 64 /* accepted fds parked while evicted slots free up */
#define HTTPD_LINGER_NS (1000ull * 1000 * 1000) /* discard input after an error reply */
#define HTTPD_KEEP_OUT_CAP (256u << 10) /* larger reply buffers are freed after use */

/* httpd_parse_request results besides "head length" (> 0). */
enum httpd_parse_result {
	HTTPD_PARTIAL = 0,        /* need more bytes */
	HTTPD_BAD = -400,         /* malformed: 400 and close */
	HTTPD_BODY_TOO_LARGE = -413,
	HTTPD_HEAD_TOO_LARGE = -431,
	HTTPD_BAD_VERSION = -505,
};

/* A parsed request head; pointers into the caller's buffer (zero-copy). */
struct httpd_req {
	const char *method;
	size_t method_len;
	const char *path; /* the target without "?query" */
	size_t path_len;
	int minor_version;   /* HTTP/1.<minor> */
	bool keep_alive;     /* after this request (1.1 default, 1.0 opt-in) */
	uint64_t content_length;
	size_t head_len;
	/* Accept names the Prometheus protobuf exposition (delimited
	 * io.prometheus.client.MetricFamily), as a native-histogram scrape does */
	bool accept_protobuf;
};

/*
 * Parse the request head at buf[0..len). Returns the head length (> 0, the
 * body starts there and has req->content_length bytes), HTTPD_PARTIAL, or a
 * negative enum httpd_parse_result (its absolute value is the status to
 * answer with before closing). Never reads outside buf; no allocation.
 * Empty lines before the request line are skipped (RFC 9112 2.2).
 */
int httpd_parse_request(const char *buf, size_t len, struct httpd_req *req);

/* True if the request's method is m (case-sensitive, as HTTP says). */
bool httpd_method_is(const struct httpd_req *req, const char *m);
/* True if the request's path (without query) is p. */
bool httpd_path_is(const struct httpd_req *req, const char *p);

/* Reason phrase for a status code ("Unknown" for codes we never send). */
const char *httpd_reason(int status);

/* Append a response head with Content-Length to out. 0 or -ENOMEM. */
int httpd_format_head(struct strbuf *out, int status, const char *content_type,
		      size_t content_length, bool keep_alive, const char *allow,
		      const char *retry_after);

/* What a handler answers. body is empty on entry. */
struct httpd_response {
	int status;
	const char *content_type;
	const char *allow; /* "Allow:" header value for 405, else NULL */
	const char *retry_after; /* "Retry-After:" seconds for 503, else NULL */
	bool heavy; /* a large rendered body: counted in httpd.heavy_active until sent */
	struct strbuf *body;
};
typedef void (*httpd_handler)(void *ctx, const struct httpd_req *req,
			      struct httpd_response *resp);

struct httpd_stats {
	uint64_t accepted;
	uint64_t rejected; /* closed unserved: parked too long in a full queue, or no fd */
	uint64_t evicted;  /* idle or slow connections closed to make room */
	uint64_t timeouts;
	uint64_t requests;
	uint64_t errors; /* 4xx/5xx answered by the server itself */
	uint32_t active;
};

struct httpd_conn;
struct httpd {
	struct io_uring *ring;
	int listen_fd;
	bool accept_armed;
	struct sockaddr_storage bound; /* the address actually bound (port 0 resolved) */
	uint32_t max_conns;
	uint64_t timeout_ns;
	uint32_t heavy_active; /* replies with heavy bodies being sent right now */
	struct httpd_conn *conns;
	int pending[HTTPD_PENDING];
	unsigned n_pending;
	httpd_handler handler;
	void *ctx;
	struct httpd_stats stats;
};

/* Bind and listen on addr, allocate max_conns connection slots and arm the
 * multishot accept. Returns 0 or -errno. */
int httpd_start(struct httpd *h, struct io_uring *ring, const struct sockaddr *addr,
		socklen_t addrlen, uint32_t max_conns, uint64_t timeout_ns, httpd_handler handler,
		void *ctx);

/* Feed a completion whose op is LOOP_OP_ACCEPT, _RECV or _SEND. */
void httpd_on_cqe(struct httpd *h, uint64_t user_data, int res, unsigned flags, uint64_t now_ns);

/* Periodic: enforce deadlines, re-arm accept after a failure. */
void httpd_tick(struct httpd *h, uint64_t now_ns);

/* Close everything (at exit; pending operations die with the ring). */
void httpd_stop(struct httpd *h);

/* "ADDR:PORT" of the bound socket. */
void httpd_bound_str(const struct httpd *h, char *buf, size_t cap);

#endif
