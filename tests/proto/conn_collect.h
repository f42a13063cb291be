/* conn_collect.h - what the conn-level tests of tests/proto share: the
 * records a tracker emits, collected, and a tracker opened on a request. */
#ifndef TOKENRING_TEST_CONN_COLLECT_H
#define TOKENRING_TEST_CONN_COLLECT_H

#include <criterion/criterion.h>
#include <string.h>

#include "conn.h"

#define MAX_OUT 32

struct out {
	unsigned n;
	struct tr_record rec[MAX_OUT];
};

static inline void emit(void *ctx, struct tr_record *rec)
{
	struct out *o = ctx;
	cr_assert_lt(o->n, MAX_OUT);
	o->rec[o->n++] = *rec;
}

/* c initialised for role, a zero config in cfg, the request req (n bytes)
 * fed at time 1000 in its direction; records into o (emptied). */
static inline void open_with(struct conn *c, struct conn_config *cfg, struct out *o,
			     enum conn_role role, const char *req, size_t n)
{
	memset(cfg, 0, sizeof *cfg);
	memset(o, 0, sizeof *o);
	conn_init(c, role);
	conn_feed(c, cfg, role == CONN_ROLE_SERVER ? CONN_DIR_IN : CONN_DIR_OUT, req, n, 1000, emit,
		  o);
}

#endif
