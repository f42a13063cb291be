/* test_support.c - see test_support.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_support.h"

#define GUARD_ARENA (1u << 20)

const char *guard_copy(const void *src, size_t n)
{
	static char *arena;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (!arena) {
		arena = mmap(NULL, GUARD_ARENA + page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (arena == MAP_FAILED || mprotect(arena + GUARD_ARENA, page, PROT_NONE))
			abort();
	}
	if (n > GUARD_ARENA)
		abort();
	char *dst = arena + GUARD_ARENA - n;
	memcpy(dst, src, n);
	return dst;
}

char *load_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)len + 1);
	if (fread(buf, 1, (size_t)len, f) != (size_t)len)
		abort();
	fclose(f);
	buf[len] = 0;
	*n = (size_t)len;
	return buf;
}

void collect_emit(void *ctx, struct tr_record *rec)
{
	struct collect *c = ctx;
	if (c->n < MAX_RECS)
		c->rec[c->n] = *rec;
	c->n++;
}

static void feed_one(struct conn *c, const struct conn_config *cfg, enum conn_dir dir,
		     const char *p, size_t n, uint64_t now, struct collect *out)
{
	conn_feed(c, cfg, dir, guard_copy(p, n), n, now, collect_emit, out);
}

void feed_pieces(struct conn *c, const struct conn_config *cfg, enum conn_dir dir,
		 const char *buf, size_t n, size_t split, size_t step, uint64_t now,
		 struct collect *out)
{
	size_t at = 0;
	if (split && split < n) {
		feed_one(c, cfg, dir, buf, split, now, out);
		at = split;
	}
	while (at < n) {
		size_t k = step && step < n - at ? step : n - at;
		feed_one(c, cfg, dir, buf + at, k, now, out);
		at += k;
	}
}
