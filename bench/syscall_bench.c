/*
 * syscall_bench.c - the small fixed costs the shim is measured against:
 * one bare system call, and write(2) of 1 byte to /dev/null, which is the
 * path a shimmed process takes for a non-socket fd (run it with and without
 * LD_PRELOAD=libtokenring.so: the difference is the passthrough cost), and
 * a 1-byte write + read through a pipe (two passthrough calls).
 * Prints "name ns_per_call" lines: the median of 7 runs of N calls each.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RUNS 7

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int devnull;
static int pipefd[2];

static void bare_syscall(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static void write_devnull(long n)
{
	for (long i = 0; i < n; i++)
		if (write(devnull, "x", 1) != 1)
			abort();
}

/* One write and one read of 1 byte through a pipe: the other non-socket
 * passthrough path (shells, subprocess plumbing). */
static void pipe_roundtrip(long n)
{
	char c;
	for (long i = 0; i < n; i++)
		if (write(pipefd[1], "x", 1) != 1 || read(pipefd[0], &c, 1) != 1)
			abort();
}

static double measure(void (*fn)(long), long n)
{
	double v[RUNS];
	fn(n / 10); /* warm up */
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_ns();
		fn(n);
		v[r] = (now_ns() - t0) / (double)n;
	}
	qsort(v, RUNS, sizeof v[0], cmp);
	return v[RUNS / 2];
}

int main(int argc, char **argv)
{
	long n = (argc > 1 && strcmp(argv[1], "--quick") == 0) ? 200000 : 2000000;
	devnull = open("/dev/null", O_WRONLY);
	if (devnull < 0 || pipe(pipefd) != 0)
		return 1;
	printf("syscall %.2f\n", measure(bare_syscall, n));
	printf("write_devnull %.2f\n", measure(write_devnull, n));
	printf("pipe_write_read %.2f\n", measure(pipe_roundtrip, n / 2));
	return 0;
}
