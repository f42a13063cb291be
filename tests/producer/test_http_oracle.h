/* test_http_oracle.h - what the HTTP differential test compares, and the
 * oracle's entry point (test_http_oracle_lib.c, apart because
 * libhttp-parser's names clash with http.h's). */
#ifndef TOKENRING_TEST_HTTP_ORACLE_H
#define TOKENRING_TEST_HTTP_ORACLE_H

#include <stddef.h>

#define MAX_MSGS 16

struct msg {
	char method[16];
	char url[128];
	unsigned status;
	size_t body;
};

struct view {
	unsigned n; /* messages begun */
	unsigned done;
	struct msg m[MAX_MSGS];
};

/* Parse buf with libhttp-parser, then EOF; returns -1 on its error. */
int oracle_parse(int is_request, const char *buf, size_t n, struct view *v);

#endif
