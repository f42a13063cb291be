/*
 * config.c - flags and the JSON config file. One table of options drives
 * both: a flag's value and a key's value go through the same setter, so a
 * key and its flag can never disagree on what is valid. JSON numbers are
 * turned back into text for the setter (1e3 is not a valid --max-series).
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"

int dcfg_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Decimal unsigned integer, whole string, in [lo, hi]. */
static int parse_u64(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return -EINVAL;
	*out = x;
	return 0;
}

static int set_u32(uint32_t *dst, const char *v, uint64_t lo, uint64_t hi, char *err,
		   size_t errlen)
{
	uint64_t x;
	if (parse_u64(v, lo, hi, &x))
		return dcfg_fail(err, errlen, "'%s' is not an integer in [%llu, %llu]", v,
			    (unsigned long long)lo, (unsigned long long)hi);
	*dst = (uint32_t)x;
	return 0;
}

static int set_path(char *dst, size_t cap, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	if (n == 0)
		return dcfg_fail(err, errlen, "empty value");
	if (n >= cap)
		return dcfg_fail(err, errlen, "value longer than %zu bytes", cap - 1);
	memcpy(dst, v, n + 1);
	return 0;
}

static int set_ring(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_path(c->ring_path, sizeof c->ring_path, v, err, errlen);
}

static int set_config(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_path(c->config_file, sizeof c->config_file, v, err, errlen);
}

static int set_access_log(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_path(c->access_log, sizeof c->access_log, v, err, errlen);
}

static int set_summary_log(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_path(c->summary_log, sizeof c->summary_log, v, err, errlen);
}

/* ADDR:PORT with ADDR an IPv4 literal, [IPv6] literal, "localhost" or empty
 * (all interfaces). Literals only: no resolver at start or reload. Port 0
 * asks the kernel for a free port (the daemon prints the one it got). */
static int set_listen(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	const char *colon = strrchr(v, ':');
	char host[INET6_ADDRSTRLEN + 2];
	uint64_t port;
	if (!colon || parse_u64(colon + 1, 0, 65535, &port))
		return dcfg_fail(err, errlen, "'%s' is not ADDR:PORT (port 0-65535)", v);
	size_t hl = (size_t)(colon - v);
	if (hl >= sizeof host)
		return dcfg_fail(err, errlen, "'%s': address too long", v);
	memcpy(host, v, hl);
	host[hl] = 0;

	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return dcfg_fail(err, errlen, "'%s': bad IPv6 address", v);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (hl == 0)
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (strcmp(host, "localhost") == 0)
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return dcfg_fail(err, errlen, "'%s': bad IPv4 address (literals only)", v);
		len = sizeof *s4;
	}
	if (strlen(v) >= sizeof c->listen)
		return dcfg_fail(err, errlen, "'%s' too long", v);
	strcpy(c->listen, v);
	c->listen_addr = ss;
	c->listen_addr_len = len;
	return 0;
}

static int set_summary_interval(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_u32(&c->summary_interval_s, v, 1, DCFG_MAX_SUMMARY_INTERVAL_S, err, errlen);
}

static int set_metrics(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	uint32_t fams = 0;
	size_t bad = 0;
	if (agg_parse_families(v, &fams, &bad) != 0 || fams == 0)
		return dcfg_fail(err, errlen,
			    "'%s': unknown family at '%s' (tokenring, gen_ai, asm, istio, kgateway)",
			    v, v + (bad < strlen(v) ? bad : 0));
	c->agg.families = fams;
	return 0;
}

static int set_max_series(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_u32(&c->agg.max_series, v, 1, DCFG_MAX_SERIES_LIMIT, err, errlen);
}

static int set_label_max_values(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_u32(&c->agg.label_max_values, v, 1, DCFG_MAX_SERIES_LIMIT, err, errlen);
}

/* RFC 9110 token characters. */
static bool header_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= RING_LABEL_HEADER_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
			return false;
	return true;
}

static int set_label_header(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	const char *eq = strchr(v, '=');
	if (!eq)
		return dcfg_fail(err, errlen, "'%s' is not NAME=HEADER", v);
	size_t nl = (size_t)(eq - v);
	const char *why = agg_label_name_check(v, nl);
	if (why)
		return dcfg_fail(err, errlen, "'%s': label name '%.*s' %s", v, (int)nl, v, why);
	if (!header_name_ok(eq + 1))
		return dcfg_fail(err, errlen, "'%s': header must be an HTTP token shorter than %u bytes",
			    v, RING_LABEL_HEADER_LEN);
	unsigned slot = REC_LABELS;
	for (unsigned i = 0; i < REC_LABELS; i++) {
		const char *have = c->agg.label_names[i];
		if (have[0] && strlen(have) == nl && memcmp(have, v, nl) == 0)
			return dcfg_fail(err, errlen, "'%s': label name given twice", v);
		if (!have[0] && slot == REC_LABELS)
			slot = i;
	}
	if (slot == REC_LABELS)
		return dcfg_fail(err, errlen, "'%s': at most %d header labels", v, REC_LABELS);
	memcpy(c->agg.label_names[slot], v, nl);
	c->agg.label_names[slot][nl] = 0;
	/* Header names are case-insensitive on the wire; the shim compares
	 * against the lower-case form. */
	size_t hl = strlen(eq + 1);
	for (size_t i = 0; i <= hl; i++)
		c->label_headers[slot][i] = (char)tolower((unsigned char)eq[1 + i]);
	return 0;
}

static void clear_label_headers(struct dcfg *c)
{
	memset(c->agg.label_names, 0, sizeof c->agg.label_names);
	memset(c->label_headers, 0, sizeof c->label_headers);
}

int dcfg_parse_bytes(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char num[32];
	size_t n = strlen(v);
	uint64_t mult = 1, x;
	if (n == 0 || n >= sizeof num)
		return -1;
	memcpy(num, v, n + 1);
	switch (num[n - 1]) {
	case 'k': case 'K': mult = 1ull << 10; break;
	case 'm': case 'M': mult = 1ull << 20; break;
	case 'g': case 'G': mult = 1ull << 30; break;
	default: break;
	}
	if (mult != 1)
		num[n - 1] = 0;
	if (parse_u64(num, 0, (1ull << 50) / mult, &x) != 0 || x * mult < lo || x * mult > hi)
		return -1;
	*out = x * mult;
	return 0;
}

static int set_access_log_max_bytes(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	if (dcfg_parse_bytes(v, 0, 1ull << 50, &c->access_log_max_bytes) == 0)
		return 0;
	return dcfg_fail(err, errlen, "'%s' is not a byte count (N, Nk, NM or NG; 0 = no rotation)", v);
}

static int set_access_log_keep(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_u32(&c->access_log_keep, v, 0, DCFG_MAX_ACCESS_LOG_KEEP, err, errlen);
}

static int set_ring_capacity(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	uint64_t x;
	if (parse_u64(v, RING_MIN_CAPACITY, RING_MAX_CAPACITY, &x) || (x & (x - 1)))
		return dcfg_fail(err, errlen, "'%s' is not a power of two in [%u, %u]", v,
			    RING_MIN_CAPACITY, RING_MAX_CAPACITY);
	c->ring_capacity = (uint32_t)x;
	return 0;
}

static int set_ring_mode(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long m = strtoul(v, &end, 8);
	if (!isdigit((unsigned char)v[0]) || errno || *end || m > 0777)
		return dcfg_fail(err, errlen, "'%s' is not an octal file mode (e.g. 0660)", v);
	c->ring_mode = (mode_t)m;
	return 0;
}

/* A user or group name, or a numeric id. */
static int set_id(uint32_t *dst, const char *v, bool group, char *err, size_t errlen)
{
	uint64_t x;
	if (parse_u64(v, 0, UINT32_MAX - 1, &x) == 0) {
		*dst = (uint32_t)x;
		return 0;
	}
	if (group) {
		struct group *g = getgrnam(v);
		if (g) {
			*dst = g->gr_gid;
			return 0;
		}
	} else {
		struct passwd *pw = getpwnam(v);
		if (pw) {
			*dst = pw->pw_uid;
			return 0;
		}
	}
	return dcfg_fail(err, errlen, "'%s': no such %s", v, group ? "group" : "user");
}

static int set_ring_owner(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_id(&c->ring_uid, v, false, err, errlen);
}

static int set_ring_group(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_id(&c->ring_gid, v, true, err, errlen);
}

static int set_tick_us(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_u32(&c->tick_us, v, DCFG_MIN_TICK_US, DCFG_MAX_TICK_US, err, errlen);
}

static int set_max_connections(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_u32(&c->max_connections, v, 1, DCFG_MAX_MAX_CONNECTIONS, err, errlen);
}

static int set_http_timeout_ms(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	return set_u32(&c->http_timeout_ms, v, 10, 3600u * 1000, err, errlen);
}

static const struct dcfg_option core_options[] = {
	{"ring", set_ring, false, "PATH", "ring file (default $TOKENRING_RING or " RING_DEFAULT_PATH ")"},
	{"listen", set_listen, false, "ADDR:PORT", "HTTP listen address (default " DCFG_DEFAULT_LISTEN ")"},
	{"access-log", set_access_log, false, "PATH|-|off", "access log, one JSON line per request (default off)"},
	{"summary-log", set_summary_log, false, "PATH|-|off", "summary log, JSON lines per interval (default off)"},
	{"summary-interval", set_summary_interval, false, "SECONDS", "summary log interval (default 60)"},
	{"metrics", set_metrics, false, "FAMILY,...", "tokenring,gen_ai,asm,istio,kgateway (default tokenring,gen_ai)"},
	{"max-series", set_max_series, false, "N", "label tuples kept; more fold into model=\"__overflow__\" (default 10000)"},
	{"label-header", set_label_header, true, "NAME=HEADER", "label NAME from request header HEADER (repeatable, at most 2)"},
	{"label-max-values", set_label_max_values, false, "N", "distinct values per label before \"__other__\" (default 100)"},
	{"access-log-max-bytes", set_access_log_max_bytes, false, "N[kMG]", "rotate the access log past this size (default 100M; 0 = never)"},
	{"access-log-keep", set_access_log_keep, false, "N", "rotated access logs kept, PATH.1..PATH.N (default 5)"},
	{"ring-capacity", set_ring_capacity, false, "N", "ring slots, a power of two (default 65536)"},
	{"ring-mode", set_ring_mode, false, "OCTAL", "ring file mode (default 0660)"},
	{"ring-owner", set_ring_owner, false, "USER|UID", "ring file owner (default: the daemon's user)"},
	{"ring-group", set_ring_group, false, "GROUP|GID", "ring file group, e.g. the workloads' group"},
	{"tick-us", set_tick_us, false, "MICROSECONDS", "ring drain interval (default 1000)"},
	{"max-connections", set_max_connections, false, "N", "concurrent HTTP connections (default 1024)"},
	{"http-timeout-ms", set_http_timeout_ms, false, "MS", "HTTP idle, header and send deadline (default 10000)"},
};

static const struct dcfg_option tail_options[] = {
	{"config", set_config, false, "FILE", "JSON config file; every flag is a key, plus \"prices\""},
};

/* Every option, in --help order: the groups with their own file
 * (config_body.c, config_export.c) between the daemon's and --config. */
static const struct {
	const struct dcfg_option *o;
	const size_t *n;
} groups[] = {
	{core_options, &(const size_t){sizeof core_options / sizeof *core_options}},
	{dcfg_body_options, &dcfg_body_n},
	{dcfg_export_options, &dcfg_export_n},
	{tail_options, &(const size_t){sizeof tail_options / sizeof *tail_options}},
};
#define N_GROUPS (sizeof groups / sizeof *groups)

static const struct dcfg_option *find_option(const char *name, size_t n)
{
	for (size_t g = 0; g < N_GROUPS; g++)
		for (size_t i = 0; i < *groups[g].n; i++)
			if (strlen(groups[g].o[i].name) == n &&
			    memcmp(groups[g].o[i].name, name, n) == 0)
				return &groups[g].o[i];
	return NULL;
}

void dcfg_default(struct dcfg *c)
{
	char err[128];
	memset(c, 0, sizeof *c);
	const char *env = getenv("TOKENRING_RING");
	if (!env || !*env || set_ring(c, env, err, sizeof err))
		strcpy(c->ring_path, RING_DEFAULT_PATH);
	set_listen(c, DCFG_DEFAULT_LISTEN, err, sizeof err);
	strcpy(c->access_log, DCFG_LOG_OFF);
	strcpy(c->summary_log, DCFG_LOG_OFF);
	c->summary_interval_s = DCFG_DEFAULT_SUMMARY_INTERVAL_S;
	c->access_log_max_bytes = DCFG_DEFAULT_ACCESS_LOG_MAX_BYTES;
	c->access_log_keep = DCFG_DEFAULT_ACCESS_LOG_KEEP;
	c->ring_capacity = RING_DEFAULT_CAPACITY;
	c->ring_mode = RING_DEFAULT_MODE;
	c->ring_uid = DCFG_ID_UNSET;
	c->ring_gid = DCFG_ID_UNSET;
	c->tick_us = DCFG_DEFAULT_TICK_US;
	c->max_connections = DCFG_DEFAULT_MAX_CONNECTIONS;
	c->http_timeout_ms = DCFG_DEFAULT_HTTP_TIMEOUT_MS;
	c->body.max_bytes = BODY_DEFAULT_MAX_BYTES;
	c->body.memory = BODY_DEFAULT_MEMORY;
	c->agg.max_series = AGG_DEFAULT_MAX_SERIES;
	c->agg.families = AGG_FAM_DEFAULT;
	c->agg.label_max_values = AGG_DEFAULT_LABEL_MAX_VALUES;
}

/* ---- JSON ---- */

static int json_prices(struct dcfg *c, const cJSON *v, char *err, size_t errlen)
{
	if (!cJSON_IsObject(v))
		return dcfg_fail(err, errlen, "key \"prices\": expected an object {\"MODEL\": {\"input\": "
					 "USD_PER_MTOK, \"output\": USD_PER_MTOK}}");
	c->agg.n_prices = 0;
	memset(c->agg.prices, 0, sizeof c->agg.prices);
	const cJSON *m;
	cJSON_ArrayForEach(m, v)
	{
		if (c->agg.n_prices == AGG_MAX_PRICES)
			return dcfg_fail(err, errlen, "key \"prices\": more than %d models", AGG_MAX_PRICES);
		size_t ml = strlen(m->string);
		if (ml == 0 || ml >= REC_MODEL_LEN)
			return dcfg_fail(err, errlen, "key \"prices.%s\": model name empty or longer than %d bytes",
				    m->string, REC_MODEL_LEN - 1);
		if (!cJSON_IsObject(m))
			return dcfg_fail(err, errlen, "key \"prices.%s\": expected an object", m->string);
		struct agg_price *p = &c->agg.prices[c->agg.n_prices];
		for (unsigned i = 0; i < c->agg.n_prices; i++)
			if (strcmp(c->agg.prices[i].model, m->string) == 0)
				return dcfg_fail(err, errlen, "key \"prices.%s\": model given twice", m->string);
		memcpy(p->model, m->string, ml + 1);
		bool have_in = false, have_out = false;
		const cJSON *f;
		cJSON_ArrayForEach(f, m)
		{
			double *dst;
			if (strcmp(f->string, "input") == 0) {
				dst = &p->input_usd_per_mtok;
				have_in = true;
			} else if (strcmp(f->string, "output") == 0) {
				dst = &p->output_usd_per_mtok;
				have_out = true;
			} else {
				return dcfg_fail(err, errlen, "key \"prices.%s.%s\": unknown key (input, output)",
					    m->string, f->string);
			}
			if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble) || f->valuedouble < 0)
				return dcfg_fail(err, errlen,
					    "key \"prices.%s.%s\": expected a non-negative number (USD per 1M tokens)",
					    m->string, f->string);
			*dst = f->valuedouble;
		}
		if (!have_in || !have_out)
			return dcfg_fail(err, errlen, "key \"prices.%s\": needs both \"input\" and \"output\"",
				    m->string);
		c->agg.n_prices++;
	}
	return 0;
}

/* A scalar JSON value as the text a flag would carry. */
static int json_text(const cJSON *v, char *buf, size_t cap)
{
	if (cJSON_IsString(v)) {
		if (strlen(v->valuestring) >= cap)
			return -E2BIG;
		strcpy(buf, v->valuestring);
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (!isfinite(d) || d < 0 || d != floor(d) || d > 1e18)
			snprintf(buf, cap, "%g", d); /* the setter rejects it, showing the value */
		else
			snprintf(buf, cap, "%.0f", d);
		return 0;
	}
	return -EINVAL;
}

static int json_option(struct dcfg *c, const struct dcfg_option *o, const cJSON *v, char *err,
		       size_t errlen)
{
	char msg[256];
	char text[PATH_MAX];
	if (o->repeatable) {
		clear_label_headers(c);
		if (cJSON_IsObject(v)) { /* {"team": "x-team"} */
			const cJSON *e;
			cJSON_ArrayForEach(e, v)
			{
				if (!cJSON_IsString(e))
					return dcfg_fail(err, errlen, "key \"%s.%s\": expected a header name string",
						    o->name, e->string);
				snprintf(text, sizeof text, "%s=%s", e->string, e->valuestring);
				if (o->set(c, text, msg, sizeof msg))
					return dcfg_fail(err, errlen, "key \"%s\": %s", o->name, msg);
			}
			return 0;
		}
		if (cJSON_IsArray(v)) { /* ["team=x-team"] */
			const cJSON *e;
			cJSON_ArrayForEach(e, v)
			{
				if (!cJSON_IsString(e))
					return dcfg_fail(err, errlen, "key \"%s\": expected NAME=HEADER strings",
						    o->name);
				if (o->set(c, e->valuestring, msg, sizeof msg))
					return dcfg_fail(err, errlen, "key \"%s\": %s", o->name, msg);
			}
			return 0;
		}
	}
	if (strcmp(o->name, "metrics") == 0 && cJSON_IsArray(v)) { /* ["tokenring", "istio"] */
		size_t used = 0;
		const cJSON *e;
		text[0] = 0;
		cJSON_ArrayForEach(e, v)
		{
			if (!cJSON_IsString(e) || used + strlen(e->valuestring) + 2 >= sizeof text)
				return dcfg_fail(err, errlen, "key \"metrics\": expected family name strings");
			used += (size_t)snprintf(text + used, sizeof text - used, "%s%s", used ? "," : "",
						 e->valuestring);
		}
	} else if (json_text(v, text, sizeof text)) {
		return dcfg_fail(err, errlen, "key \"%s\": expected a %s", o->name,
			    o->repeatable ? "NAME=HEADER string, array or object" : "string or number");
	}
	if (o->set(c, text, msg, sizeof msg))
		return dcfg_fail(err, errlen, "key \"%s\": %s", o->name, msg);
	return 0;
}

int dcfg_apply_json(struct dcfg *c, const char *text, size_t len, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	int rc = DCFG_OK;
	if (!root) {
		size_t at = end && end >= text ? (size_t)(end - text) : 0;
		dcfg_fail(err, errlen, "invalid JSON near byte %zu", at);
		return DCFG_ERROR;
	}
	if (!cJSON_IsObject(root)) {
		dcfg_fail(err, errlen, "the config must be a JSON object");
		rc = DCFG_ERROR;
		goto out;
	}
	const cJSON *item;
	cJSON_ArrayForEach(item, root)
	{
		const char *k = item->string;
		if (strcmp(k, "prices") == 0) {
			if (json_prices(c, item, err, errlen)) {
				rc = DCFG_ERROR;
				goto out;
			}
			continue;
		}
		const struct dcfg_option *o = find_option(k, strlen(k));
		if (!o) {
			dcfg_fail(err, errlen, "unknown key \"%s\"", k);
			rc = DCFG_ERROR;
			goto out;
		}
		if (o->set == set_config) {
			dcfg_fail(err, errlen, "key \"config\": not allowed inside a config file");
			rc = DCFG_ERROR;
			goto out;
		}
		if (json_option(c, o, item, err, errlen)) {
			rc = DCFG_ERROR;
			goto out;
		}
	}
out:
	cJSON_Delete(root);
	return rc;
}

int dcfg_load_file(struct dcfg *c, const char *path, char *err, size_t errlen)
{
	char msg[384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		dcfg_fail(err, errlen, "--config %s: %s", path, strerror(errno));
		return DCFG_ERROR;
	}
	char *buf = malloc(DCFG_MAX_CONFIG_BYTES + 1);
	size_t len = 0;
	int rc = DCFG_ERROR;
	if (!buf) {
		dcfg_fail(err, errlen, "--config %s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, DCFG_MAX_CONFIG_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dcfg_fail(err, errlen, "--config %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > DCFG_MAX_CONFIG_BYTES) {
			dcfg_fail(err, errlen, "--config %s: larger than %u bytes", path, DCFG_MAX_CONFIG_BYTES);
			goto out;
		}
	}
	if (dcfg_apply_json(c, buf, len, msg, sizeof msg) == DCFG_OK)
		rc = DCFG_OK;
	else
		dcfg_fail(err, errlen, "--config %s: %s", path, msg);
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- command line ---- */

/* Split argv[*i] into an option and its value ("--k=v" or "--k v").
 * Returns the option or NULL with err set. */
static const struct dcfg_option *flag_at(int argc, char *const argv[], int *i, const char **val,
					 char *err, size_t errlen)
{
	const char *a = argv[*i];
	if (strncmp(a, "--", 2) != 0 || a[2] == 0) {
		dcfg_fail(err, errlen, "unexpected argument '%s' (see --help)", a);
		return NULL;
	}
	const char *name = a + 2;
	const char *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);
	const struct dcfg_option *o = find_option(name, n);
	if (!o) {
		dcfg_fail(err, errlen, "unknown flag '--%.*s' (see --help)", (int)n, name);
		return NULL;
	}
	if (eq) {
		*val = eq + 1;
	} else if (*i + 1 < argc) {
		*val = argv[++*i];
	} else {
		dcfg_fail(err, errlen, "--%s: missing value (%s)", o->name, o->arg);
		return NULL;
	}
	return o;
}

int dcfg_parse_args(struct dcfg *c, int argc, char *const argv[], char *err, size_t errlen)
{
	char msg[384];
	const char *config = NULL;
	/* --help/--version win over everything else. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return DCFG_HELP;
		if (strcmp(argv[i], "--version") == 0)
			return DCFG_VERSION;
	}
	/* Split into (option, value) pairs first, so --config FILE is applied
	 * before every other flag, which then overrides it. */
	struct {
		const struct dcfg_option *o;
		const char *v;
	} *flags = calloc((size_t)argc + 1, sizeof *flags);
	int n = 0, rc = DCFG_ERROR;
	if (!flags) {
		dcfg_fail(err, errlen, "out of memory");
		return DCFG_ERROR;
	}
	for (int i = 1; i < argc; i++) {
		flags[n].o = flag_at(argc, argv, &i, &flags[n].v, err, errlen);
		if (!flags[n].o)
			goto out;
		if (flags[n].o->set == set_config)
			config = flags[n].v;
		n++;
	}
	if (config) {
		if (set_config(c, config, msg, sizeof msg)) {
			dcfg_fail(err, errlen, "--config: %s", msg);
			goto out;
		}
		if (dcfg_load_file(c, config, err, errlen) != DCFG_OK)
			goto out;
	}
	bool labels_from_cli = false;
	for (int i = 0; i < n; i++) {
		const struct dcfg_option *o = flags[i].o;
		if (o->set == set_config)
			continue;
		if (o->repeatable && !labels_from_cli) {
			clear_label_headers(c); /* the command line replaces the file's set */
			labels_from_cli = true;
		}
		if (o->set(c, flags[i].v, msg, sizeof msg)) {
			dcfg_fail(err, errlen, "--%s: %s", o->name, msg);
			goto out;
		}
	}
	rc = DCFG_OK;
out:
	free(flags);
	return rc;
}

const char *dcfg_usage(void)
{
	static char text[4096];
	if (text[0])
		return text;
	size_t used = (size_t)snprintf(text, sizeof text,
				       "usage: tokenringd [FLAGS]\n"
				       "Drains the tokenring shared-memory ring and serves /metrics, "
				       "/stats/prometheus,\n/healthz and /api/v1/summary.\n\n");
	for (size_t g = 0; g < N_GROUPS; g++) {
		for (size_t i = 0; i < *groups[g].n && used < sizeof text; i++) {
			const struct dcfg_option *o = &groups[g].o[i];
			char lhs[64];
			snprintf(lhs, sizeof lhs, "--%s %s", o->name, o->arg);
			used += (size_t)snprintf(text + used, sizeof text - used, "  %-34s %s\n",
						 lhs, o->help);
		}
	}
	if (used < sizeof text)
		snprintf(text + used, sizeof text - used,
			 "  %-34s %s\n  %-34s %s\n\nSIGHUP reopens the logs and reloads --config; "
			 "SIGTERM drains the ring, flushes and exits.\n",
			 "--help", "this text", "--version", "print the version");
	return text;
}

bool dcfg_needs_restart(const struct dcfg *a, const struct dcfg *b, const char **what)
{
	const char *w = NULL;
	if (strcmp(a->ring_path, b->ring_path))
		w = "ring";
	else if (a->ring_capacity != b->ring_capacity)
		w = "ring-capacity";
	else if (a->ring_mode != b->ring_mode)
		w = "ring-mode";
	else if (a->ring_uid != b->ring_uid)
		w = "ring-owner";
	else if (a->ring_gid != b->ring_gid)
		w = "ring-group";
	else if (strcmp(a->listen, b->listen))
		w = "listen";
	else if (a->max_connections != b->max_connections)
		w = "max-connections";
	else if (a->body.max_bytes != b->body.max_bytes)
		w = "body-max-bytes";
	else if (a->body.memory != b->body.memory)
		w = "body-memory";
	else if (a->agg.max_series != b->agg.max_series)
		w = "max-series";
	else if (a->agg.families != b->agg.families)
		w = "metrics";
	else if (a->agg.label_max_values != b->agg.label_max_values)
		w = "label-max-values";
	else if (memcmp(a->agg.label_names, b->agg.label_names, sizeof a->agg.label_names) ||
		 memcmp(a->label_headers, b->label_headers, sizeof a->label_headers))
		w = "label-header";
	else if (a->agg.n_prices != b->agg.n_prices ||
		 memcmp(a->agg.prices, b->agg.prices, sizeof a->agg.prices[0] * a->agg.n_prices))
		w = "prices";
	if (what)
		*what = w;
	return w != NULL;
}

void dcfg_ring_config(const struct dcfg *c, struct ring_config *rc)
{
	ring_config_default(rc);
	rc->capacity = c->ring_capacity;
	rc->mode = c->ring_mode;
	rc->uid = c->ring_uid == DCFG_ID_UNSET ? (uid_t)-1 : (uid_t)c->ring_uid;
	rc->gid = c->ring_gid == DCFG_ID_UNSET ? (gid_t)-1 : (gid_t)c->ring_gid;
	for (unsigned i = 0; i < REC_LABELS; i++)
		rc->label_headers[i] = c->label_headers[i][0] ? c->label_headers[i] : NULL;
}
