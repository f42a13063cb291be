/*
 * config_body.c - the compressed-body option group of tokenringd
 * (--body-max-bytes, --body-memory): how much the daemon decodes (body.h).
 */
#include "config_internal.h"

static int set_body_max_bytes(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	if (dcfg_parse_bytes(v, 0, DCFG_MAX_BODY_BYTES, &c->body.max_bytes) == 0)
		return 0;
	return dcfg_fail(err, errlen, "'%s' is not a byte count up to 1G (N, Nk, NM or NG)", v);
}

static int set_body_memory(struct dcfg *c, const char *v, char *err, size_t errlen)
{
	if (dcfg_parse_bytes(v, 0, DCFG_MAX_BODY_MEMORY, &c->body.memory) == 0)
		return 0;
	return dcfg_fail(err, errlen, "'%s' is not a byte count up to 64G (N, Nk, NM or NG)", v);
}

const struct dcfg_option dcfg_body_options[] = {
	{"body-max-bytes", set_body_max_bytes, false, "N[kMG]", "compressed bytes decoded per body; past them usage is undecodable (default 1M; 0 = decode none)"},
	{"body-memory", set_body_memory, false, "N[kMG]", "decoder memory across all compressed bodies in flight (default 64M)"},
};
const size_t dcfg_body_n = sizeof dcfg_body_options / sizeof *dcfg_body_options;
