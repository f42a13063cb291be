/*
 * ring_bench.c - records/s through the tokenring ring, side by side with
 * what a naive design would use, in one run on one machine:
 *   ring   tokenring's ring (claim, copy fused with the checksum, commit; consumer
 *          copies out, checksumming as it copies, and compares)
 *   pipe   one write(2) per record into a pipe, reader reads 64 KiB at once
 *   mutex  a PTHREAD_PROCESS_SHARED mutex around a queue in shared memory
 *   bare   the limit: a single-producer queue of plain memcpy, no checksum,
 *          no CAS (1 producer only)
 * Producers are separate processes (threads within them for the 4-producer
 * case), the consumer is the parent, as with the shim and tokenringd. A
 * producer finding the queue full retries (a benchmark measures handoff
 * capacity; the shim itself would drop and count). Each configuration runs
 * REPEATS times; the table gives the median and min-max in M records/s.
 * Queue size matters: when producers outrun the consumer the queue sits
 * full and every record crosses the whole ring; 4096 slots (2.5 MiB) stay
 * in cache, the daemon's default 65536 (40 MiB) does not.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"

#define CAPACITY 65536u /* the largest ring tried; --capacity picks the size used */
#define BATCH 256
#define REPEATS 5
#define MAX_PRODUCERS 8

static uint64_t total_records = 4 * 1000 * 1000;
static uint32_t capacity = 4096;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fill(struct tr_record *r, uint64_t n)
{
	memset(r, (int)(n & 0xff), sizeof(*r));
	r->duration_ns = n;
}

/* ---- transports: each has a producer loop and a consumer drain ---- */

struct mutex_queue {
	pthread_mutex_t lock;
	uint64_t head, tail;
	unsigned char slots[CAPACITY][REC_SIZE];
};

struct bare_queue {
	_Alignas(64) _Atomic uint64_t head;
	_Alignas(64) _Atomic uint64_t tail;
	_Alignas(64) unsigned char slots[CAPACITY][REC_SIZE];
};

struct bench {
	const char *name;
	void (*produce)(uint64_t n); /* in a producer process/thread */
	size_t (*drain)(void);       /* parent: returns records taken */
};

static struct ring ring;
static char ring_path[256];
static int pipe_fd[2];
static struct mutex_queue *mq;
static struct bare_queue *bq;
static _Atomic int *go;

static void ring_produce(uint64_t n)
{
	struct tr_record rec;
	for (uint64_t i = 0; i < n; i++) {
		fill(&rec, i);
		while (ring_publish(&ring, &rec) != 0)
			sched_yield();
	}
}

static size_t ring_drain(void)
{
	static struct tr_record out[BATCH];
	return ring_consume(&ring, out, BATCH, now_ns());
}

static void pipe_produce(uint64_t n)
{
	struct tr_record rec;
	for (uint64_t i = 0; i < n; i++) {
		fill(&rec, i);
		if (write(pipe_fd[1], &rec, sizeof rec) != (ssize_t)sizeof rec)
			abort();
	}
}

static size_t pipe_drain(void)
{
	static unsigned char buf[64 * 1024];
	static size_t partial;
	ssize_t got = read(pipe_fd[0], buf, sizeof buf);
	if (got <= 0)
		return 0;
	partial += (size_t)got;
	size_t recs = partial / REC_SIZE;
	partial %= REC_SIZE;
	return recs;
}

static void mutex_produce(uint64_t n)
{
	struct tr_record rec;
	for (uint64_t i = 0; i < n;) {
		fill(&rec, i);
		pthread_mutex_lock(&mq->lock);
		int full = mq->tail - mq->head >= capacity;
		if (!full) {
			memcpy(mq->slots[mq->tail % capacity], &rec, REC_SIZE);
			mq->tail++;
			i++;
		}
		pthread_mutex_unlock(&mq->lock);
		if (full)
			sched_yield();
	}
}

static size_t mutex_drain(void)
{
	static unsigned char out[BATCH][REC_SIZE];
	size_t n = 0;
	pthread_mutex_lock(&mq->lock);
	while (n < BATCH && mq->head != mq->tail) {
		memcpy(out[n++], mq->slots[mq->head % capacity], REC_SIZE);
		mq->head++;
	}
	pthread_mutex_unlock(&mq->lock);
	return n;
}

static void bare_produce(uint64_t n)
{
	struct tr_record rec;
	uint64_t tail = atomic_load_explicit(&bq->tail, memory_order_relaxed);
	for (uint64_t i = 0; i < n; i++) {
		fill(&rec, i);
		while (tail - atomic_load_explicit(&bq->head, memory_order_acquire) >= capacity)
			sched_yield();
		memcpy(bq->slots[tail % capacity], &rec, REC_SIZE);
		atomic_store_explicit(&bq->tail, ++tail, memory_order_release);
	}
}

static size_t bare_drain(void)
{
	static unsigned char out[BATCH][REC_SIZE];
	uint64_t head = atomic_load_explicit(&bq->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&bq->tail, memory_order_acquire);
	size_t n = 0;
	while (n < BATCH && head != tail)
		memcpy(out[n++], bq->slots[head++ % capacity], REC_SIZE);
	atomic_store_explicit(&bq->head, head, memory_order_release);
	return n;
}

static const struct bench benches[] = {
	{"ring", ring_produce, ring_drain},
	{"pipe", pipe_produce, pipe_drain},
	{"mutex", mutex_produce, mutex_drain},
	{"bare", bare_produce, bare_drain},
};

/* ---- driver ---- */

struct thread_arg {
	const struct bench *b;
	uint64_t n;
};

static void *producer_thread(void *p)
{
	struct thread_arg *a = p;
	while (!atomic_load(go))
		;
	a->b->produce(a->n);
	return NULL;
}

static void setup(const struct bench *b)
{
	if (b->produce == ring_produce) {
		snprintf(ring_path, sizeof ring_path, "/dev/shm/tokenring-bench-%d", (int)getpid());
		struct ring_config cfg;
		ring_config_default(&cfg);
		cfg.capacity = capacity;
		if (ring_create(ring_path, &cfg, &ring) != 0)
			abort();
	} else if (b->produce == pipe_produce) {
		if (pipe(pipe_fd) != 0)
			abort();
	} else if (b->produce == mutex_produce) {
		pthread_mutexattr_t at;
		pthread_mutexattr_init(&at);
		pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
		pthread_mutex_init(&mq->lock, &at);
		mq->head = mq->tail = 0;
	} else {
		atomic_store(&bq->head, 0);
		atomic_store(&bq->tail, 0);
	}
}

static void teardown(const struct bench *b)
{
	if (b->produce == ring_produce) {
		ring_detach(&ring);
		unlink(ring_path);
	} else if (b->produce == pipe_produce) {
		close(pipe_fd[0]);
		close(pipe_fd[1]);
	}
}

/* One run: procs processes x threads producers; returns M records/s. */
static double run(const struct bench *b, int procs, int threads)
{
	setup(b);
	uint64_t per = total_records / (uint64_t)(procs * threads);
	uint64_t want = per * (uint64_t)(procs * threads);
	atomic_store(go, 0);
	for (int p = 0; p < procs; p++) {
		if (fork() != 0)
			continue;
		pthread_t t[MAX_PRODUCERS];
		struct thread_arg a = {b, per};
		for (int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, producer_thread, &a);
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
		_exit(0);
	}
	usleep(20000); /* let the producers reach the start line */
	uint64_t t0 = now_ns(), got = 0;
	int running = procs;
	atomic_store(go, 1);
	while (got < want) {
		size_t n = b->drain();
		got += n;
		/* On a loaded machine a ring producer can be descheduled past the
		 * skip timeout between claim and commit: its record is retried,
		 * but its late copy may land on the slot's next record, which
		 * then fails its checksum (counted corrupt). Once every producer
		 * has exited and nothing is left, stop instead of waiting for it. */
		if (n == 0 && running > 0 && waitpid(-1, NULL, WNOHANG) > 0)
			running--;
		if (n == 0 && running == 0 && b->drain() == 0)
			break;
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	if (got < want)
		fprintf(stderr, "ring_bench: %s: %llu of %llu records lost to skipped slots\n",
			b->name, (unsigned long long)(want - got), (unsigned long long)want);
	while (wait(NULL) > 0)
		;
	teardown(b);
	return (double)want / secs / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void row(const struct bench *b, int procs, int threads, double ring_median)
{
	double v[REPEATS];
	for (int i = 0; i < REPEATS; i++)
		v[i] = run(b, procs, threads);
	qsort(v, REPEATS, sizeof v[0], cmp_double);
	double med = v[REPEATS / 2];
	printf("| %-5s | %d x %d | %6.2f | %6.2f - %6.2f | %s%.2f |\n", b->name, procs, threads, med,
	       v[0], v[REPEATS - 1], ring_median > 0 ? "ring / this = " : "",
	       ring_median > 0 ? ring_median / med : med / med);
	fflush(stdout);
	if (ring_median == 0)
		printf("<!-- ring median %.4f -->\n", med);
}

static double median_of(const struct bench *b, int procs, int threads)
{
	double v[REPEATS];
	for (int i = 0; i < REPEATS; i++)
		v[i] = run(b, procs, threads);
	qsort(v, REPEATS, sizeof v[0], cmp_double);
	printf("| %-5s | %d x %d | %6.2f | %6.2f - %6.2f | 1.00 |\n", b->name, procs, threads,
	       v[REPEATS / 2], v[0], v[REPEATS - 1]);
	fflush(stdout);
	return v[REPEATS / 2];
}

/* --one QUEUE PROCS THREADS: print one median (M records/s) for curves. */
static int one(const char *queue, int procs, int threads)
{
	for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
		if (strcmp(benches[i].name, queue) != 0)
			continue;
		double v[REPEATS];
		for (int r = 0; r < REPEATS; r++)
			v[r] = run(&benches[i], procs, threads);
		qsort(v, REPEATS, sizeof v[0], cmp_double);
		printf("%.3f %.3f %.3f\n", v[REPEATS / 2], v[0], v[REPEATS - 1]);
		return 0;
	}
	fprintf(stderr, "ring_bench: no queue named %s\n", queue);
	return 2;
}

int main(int argc, char **argv)
{
	int argi = 1;
	if (argc > argi && strcmp(argv[argi], "--quick") == 0) {
		total_records = 1000 * 1000;
		argi++;
	}
	if (argc > argi + 1 && strcmp(argv[argi], "--capacity") == 0) {
		capacity = (uint32_t)strtoul(argv[argi + 1], NULL, 0);
		if (ring_memsize(capacity) == 0 || capacity > CAPACITY) {
			fprintf(stderr, "ring_bench: capacity must be a power of two <= %u\n", CAPACITY);
			return 2;
		}
		argi += 2;
	}
	int single = argc > argi && strcmp(argv[argi], "--one") == 0;
	if (single && (argc != argi + 4 || atoi(argv[argi + 2]) < 1 || atoi(argv[argi + 3]) < 1 ||
		       atoi(argv[argi + 3]) > MAX_PRODUCERS)) {
		fprintf(stderr, "usage: ring_bench [--quick] [--capacity N] [--one QUEUE PROCS THREADS]\n");
		return 2;
	}
	go = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	mq = mmap(NULL, sizeof *mq, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	bq = mmap(NULL, sizeof *bq, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (go == MAP_FAILED || mq == MAP_FAILED || bq == MAP_FAILED)
		return 1;
	if (single)
		return one(argv[argi + 1], atoi(argv[argi + 2]), atoi(argv[argi + 3]));
	printf("%llu records of %d bytes per run, queues of %u slots (%.1f MiB), median of %d "
	       "runs, M records/s\n\n",
	       (unsigned long long)total_records, REC_SIZE, capacity,
	       (double)capacity * REC_SIZE / (1 << 20), REPEATS);
	printf("| queue | producers (procs x threads) | median | min - max | ratio |\n");
	printf("|---|---|---|---|---|\n");
	const int shapes[2][2] = {{1, 1}, {2, 2}};
	for (int s = 0; s < 2; s++) {
		int procs = shapes[s][0], threads = shapes[s][1];
		double ring_med = median_of(&benches[0], procs, threads);
		for (size_t i = 1; i < sizeof benches / sizeof benches[0]; i++) {
			if (benches[i].produce == bare_produce && procs * threads > 1)
				continue; /* single-producer only */
			row(&benches[i], procs, threads, ring_med);
		}
	}
	return 0;
}
