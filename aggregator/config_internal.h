/*
 * config_internal.h - what config.c shares with the files holding its
 * option groups (config_body.c, config_export.c): the option record, the
 * setters' error convention and the value parsers more than one group uses.
 * One table per group; config.c walks them in --help order, for flags and
 * JSON keys alike.
 */
#ifndef TOKENRING_CONFIG_INTERNAL_H
#define TOKENRING_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* A setter validates text and stores it; on error it writes a message
 * (without the flag name, which the caller prefixes) and returns -EINVAL. */
typedef int (*dcfg_setter)(struct dcfg *c, const char *v, char *err, size_t errlen);

struct dcfg_option {
	const char *name; /* flag without "--" and JSON key */
	dcfg_setter set;
	bool repeatable; /* values accumulate (--label-header) */
	const char *arg;
	const char *help;
};

/* The message of a setter's error, then -EINVAL. */
int dcfg_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* N, or N with a binary suffix k, M, G (1k = 1024), within [lo, hi]: 0 or -1. */
int dcfg_parse_bytes(const char *v, uint64_t lo, uint64_t hi, uint64_t *out);

/* Compressed bodies (config_body.c). */
extern const struct dcfg_option dcfg_body_options[];
extern const size_t dcfg_body_n;
/* Native histograms and OTLP push (config_export.c). */
extern const struct dcfg_option dcfg_export_options[];
extern const size_t dcfg_export_n;

#endif
