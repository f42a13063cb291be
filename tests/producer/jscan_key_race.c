/* jscan_key_race.c - the JSON scanner's key index (proto/llm_keys.c) is
 * built lazily by whichever thread scans a key first; threads started
 * together from a fresh process all scan documents naming every known key
 * and must all read every id right, while the index is being built and
 * after (plain pthreads, so it also runs under ThreadSanitizer). Exit 0 =
 * pass. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_json.h"

enum { THREADS = 8, ROUNDS = 300 };

static char doc[8192];
static size_t doc_len;
static _Atomic int go;

struct seen {
	unsigned n;
	uint8_t ids[JK_COUNT];
};

static void on_scalar(void *ctx, const struct jscan *s, enum jtype t, const char *v, size_t n,
		      int truncated, int nonempty)
{
	struct seen *z = ctx;
	(void)t, (void)v, (void)n, (void)truncated, (void)nonempty;
	if (z->n < JK_COUNT)
		z->ids[z->n++] = (uint8_t)jscan_key(s);
}

static void *scan(void *arg)
{
	static const struct jscan_ops ops = {NULL, on_scalar, NULL, NULL};
	long bad = 0;
	(void)arg;
	while (!atomic_load(&go))
		;
	for (int r = 0; r < ROUNDS; r++) {
		struct jscan s;
		struct seen z = {0};
		jscan_reset(&s);
		if (jscan_feed(&s, doc, doc_len, &ops, &z) != JSCAN_OK || z.n != JK_COUNT - JK_MODEL)
			bad++;
		for (unsigned i = 0; i < z.n; i++)
			bad += z.ids[i] != JK_MODEL + i;
	}
	return (void *)bad;
}

int main(void)
{
	pthread_t th[THREADS];
	size_t k = 0;
	doc[k++] = '{';
	for (int id = JK_MODEL; id < JK_COUNT; id++)
		k += (size_t)snprintf(doc + k, sizeof doc - k, "%s\"%s\":%d,\"x-%d\":0",
				      id > JK_MODEL ? "," : "", jscan_key_name((enum jkey)id), id, id);
	doc[k++] = '}';
	doc_len = k;
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, scan, NULL))
			return 2;
	atomic_store(&go, 1);
	long bad = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad += (long)r;
	}
	if (bad) {
		fprintf(stderr, "jscan_key_race: %ld wrong key ids\n", bad);
		return 1;
	}
	printf("jscan_key_race: %d threads x %d scans of %d known keys, all ids right\n", THREADS,
	       ROUNDS, JK_COUNT - JK_MODEL);
	return 0;
}
