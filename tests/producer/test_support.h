/* test_support.h - shared helpers of the parser tests: inputs flush against
 * a PROT_NONE page, corpus files, and a conn replay that collects records. */
#ifndef TOKENRING_TEST_SUPPORT_H
#define TOKENRING_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

/* Copy n bytes so that the byte after the last is on a PROT_NONE page:
 * any read past the input faults. Valid until the next call. */
const char *guard_copy(const void *src, size_t n);

/* Whole file into a malloc'd buffer (NUL-terminated; *n excludes it). */
char *load_file(const char *path, size_t *n);

#define MAX_RECS 8

struct collect {
	unsigned n;
	struct tr_record rec[MAX_RECS];
};

void collect_emit(void *ctx, struct tr_record *rec);

/* Feed buf in pieces of `step` bytes (0 = whole) after an optional first cut
 * at `split` (0 = none), each piece flush against the guard page. */
void feed_pieces(struct conn *c, const struct conn_config *cfg, enum conn_dir dir,
		 const char *buf, size_t n, size_t split, size_t step, uint64_t now,
		 struct collect *out);

#endif
