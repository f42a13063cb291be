/* otlp_queue_stress.c - the OTLP exporter's queue under concurrency: the
 * loop's side (otlp_enqueue, otlp_get_stats) races the sender thread
 * against a real local HTTP receiver that answers 200, and now and then 503
 * or a partial success. A plain pthread program (it runs under
 * ThreadSanitizer). Asserts the accounting identity: every batch handed over
 * is sent, failed or dropped, exactly once; partial successes are summed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "otlp.h"

#define BATCHES 400
#define REJECT_EVERY 7 /* every 7th answer: partial success, 2 points */
#define RETRY_EVERY 50 /* every 50th answer: 503 */

static int listen_fd;
static atomic_int answers, rejected_sent;
static atomic_bool done;

static void *receiver(void *arg)
{
	(void)arg;
	while (!atomic_load(&done)) {
		int c = accept(listen_fd, NULL, NULL);
		if (c < 0)
			continue;
		char buf[65536];
		size_t got = 0;
		long want = -1;
		for (;;) { /* head, then Content-Length bytes */
			ssize_t r = recv(c, buf + got, sizeof(buf) - got - 1, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
			buf[got] = 0;
			char *end = strstr(buf, "\r\n\r\n");
			char *cl = strcasestr(buf, "content-length:");
			if (end && cl && want < 0)
				want = (long)(end + 4 - buf) + atol(cl + 15);
			if (want >= 0 && (long)got >= want)
				break;
		}
		int n = atomic_fetch_add(&answers, 1) + 1;
		const char *resp;
		if (n % RETRY_EVERY == 0) {
			resp = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\n"
			       "Content-Length: 0\r\n\r\n";
		} else if (n % REJECT_EVERY == 0) {
			atomic_fetch_add(&rejected_sent, 2);
			resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			       "Content-Length: 45\r\n\r\n"
			       "{\"partialSuccess\":{\"rejectedDataPoints\":\"2\"}}";
		} else {
			resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
		}
		send(c, resp, strlen(resp), MSG_NOSIGNAL);
		close(c);
	}
	return NULL;
}

static struct otlp_exporter ex;
/* The watcher stops before otlp_stop destroys what otlp_get_stats locks;
 * the receiver serves until after it (the sender's last attempt). */
static atomic_bool watch_done;

static void *watcher(void *arg)
{
	(void)arg;
	struct otlp_stats st;
	while (!atomic_load(&watch_done)) {
		otlp_get_stats(&ex, &st); /* as a scrape does, from the loop */
		if (st.queued > ex.s.queue) {
			fprintf(stderr, "queue over its bound: %llu\n", (unsigned long long)st.queued);
			exit(1);
		}
	}
	return NULL;
}

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) ||
	    listen(listen_fd, 64) || getsockname(listen_fd, (struct sockaddr *)&a, &al))
		return perror("listen"), 1;
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
	setsockopt(listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); /* accept wakes up */

	struct otlp_flags f;
	struct otlp_settings s;
	char err[256];
	memset(&f, 0, sizeof f);
	snprintf(f.endpoint, sizeof f.endpoint, "http://127.0.0.1:%u", ntohs(a.sin_port));
	f.queue = 4;
	f.timeout_ms = 5000;
	strcpy(f.compression, "gzip");
	if (otlp_resolve(&f, (const char *(*)(const char *))getenv, &s, err, sizeof err) ||
	    !s.enabled)
		return fprintf(stderr, "resolve: %s\n", err), 1;
	if (otlp_start(&ex, &s))
		return 1;
	pthread_t rt, wt;
	pthread_create(&rt, NULL, receiver, NULL);
	pthread_create(&wt, NULL, watcher, NULL);
	for (int i = 0; i < BATCHES; i++) {
		char *json = malloc(64);
		int n = snprintf(json, 64, "{\"resourceMetrics\":[],\"n\":%d}", i);
		otlp_enqueue(&ex, json, (size_t)n);
		usleep(i % 2 ? 50 : 500); /* some bursts fill the queue, some drain */
	}
	atomic_store(&watch_done, true);
	pthread_join(wt, NULL);
	otlp_stop(&ex);
	struct otlp_stats st;
	/* after stop, the counters are final (the thread is joined) */
	st.sent = ex.sent;
	st.failed = ex.failed;
	st.dropped = ex.dropped;
	st.rejected_points = ex.rejected_points;
	atomic_store(&done, true);
	pthread_join(rt, NULL);
	close(listen_fd);
	printf("enqueued %d: sent %llu, failed %llu, dropped %llu, retried %llu, rejected %llu\n",
	       BATCHES, (unsigned long long)st.sent, (unsigned long long)st.failed,
	       (unsigned long long)st.dropped, (unsigned long long)ex.retried,
	       (unsigned long long)st.rejected_points);
	if (st.sent + st.failed + st.dropped != BATCHES) {
		fprintf(stderr, "accounting: %d handed over, %llu accounted\n", BATCHES,
			(unsigned long long)(st.sent + st.failed + st.dropped));
		return 1;
	}
	if (st.sent == 0 || st.rejected_points != (uint64_t)atomic_load(&rejected_sent)) {
		fprintf(stderr, "sent %llu, rejected %llu of %d\n", (unsigned long long)st.sent,
			(unsigned long long)st.rejected_points, atomic_load(&rejected_sent));
		return 1;
	}
	return 0;
}
