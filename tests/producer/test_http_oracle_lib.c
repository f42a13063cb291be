/* test_http_oracle_lib.c - libhttp-parser driven into a struct view: the
 * oracle of test_http_oracle.c. */
#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "test_http_oracle.h"

static int o_begin(http_parser *p)
{
	struct view *v = p->data;
	memset(&v->m[v->n], 0, sizeof v->m[0]);
	v->n++;
	return 0;
}

static int o_url(http_parser *p, const char *at, size_t n)
{
	struct view *v = p->data;
	strncat(v->m[v->n - 1].url, at, n);
	return 0;
}

static int o_headers(http_parser *p)
{
	struct view *v = p->data;
	struct msg *m = &v->m[v->n - 1];
	if (p->type == HTTP_REQUEST)
		snprintf(m->method, sizeof m->method, "%s", http_method_str(p->method));
	else
		m->status = p->status_code;
	return 0;
}

static int o_body(http_parser *p, const char *at, size_t n)
{
	struct view *v = p->data;
	(void)at;
	v->m[v->n - 1].body += n;
	return 0;
}

static int o_done(http_parser *p)
{
	((struct view *)p->data)->done++;
	return 0;
}

int oracle_parse(int is_request, const char *buf, size_t n, struct view *v)
{
	http_parser p;
	http_parser_settings s;
	http_parser_settings_init(&s);
	s.on_message_begin = o_begin;
	s.on_url = o_url;
	s.on_headers_complete = o_headers;
	s.on_body = o_body;
	s.on_message_complete = o_done;
	http_parser_init(&p, is_request ? HTTP_REQUEST : HTTP_RESPONSE);
	p.data = v;
	if (http_parser_execute(&p, &s, buf, n) != n)
		return -1;
	http_parser_execute(&p, &s, NULL, 0); /* EOF ends a close-delimited body */
	return 0;
}

