/*
 * otlp_delta.h - what an OTLP export with delta temporality subtracts
 * (otlp_json.c): every series' counters and bucket words as the last
 * export saw them, and its sketches' distributions then.
 *
 * The distributions have two sides: a render writes the next side and
 * only a render that succeeded makes it current (with the counters), so a
 * render that failed changes nothing and the next one covers both
 * intervals. Made on the first delta export (baseline all zero: that one
 * carries everything since the daemon started). Owned by the OTLP cache
 * (struct otlp_cache); used by the loop thread only.
 */
#ifndef TOKENRING_OTLP_DELTA_H
#define TOKENRING_OTLP_DELTA_H

#include <stdbool.h>
#include <stdint.h>

#include "agg_internal.h"

/* Sketches per series with delta state: duration, ttft, tpot, tpoc, then
 * tokens by type (the slot of struct otlp_hist in otlp_json.c). */
#define OTLP_DELTA_SKETCHES (4 + SERIES_TOK_TYPES)

struct otlp_delta;

/* The delta state of a table of cap series (made on the first call, in
 * *dl), ready for a render: the next side's entries cleared (a series no
 * metric visits has none). NULL when out of memory. */
struct otlp_delta *otlp_delta_begin(struct otlp_delta **dl, uint32_t cap);
void otlp_delta_free(struct otlp_delta *dl);

/* The time of the last committed export (0: none yet): the next one's
 * start. */
uint64_t otlp_delta_last_ns(const struct otlp_delta *dl);
/* A store of this render failed (out of memory): the render must fail. */
bool otlp_delta_failed(const struct otlp_delta *dl);
/* The render succeeded: what it carried (a's counters and words now, the
 * distributions it stored) is the baseline of the next. */
void otlp_delta_commit(struct otlp_delta *dl, const struct agg *a, uint64_t now_ns);

/* The uint64_t words at offset off of struct series i as the last export
 * saw them; zeros when dl is NULL (cumulative temporality: everything is
 * reported). off lies in the baseline: st .. tokens of struct series. */
const uint64_t *otlp_delta_words(const struct otlp_delta *dl, uint32_t i, size_t off);

/* d is series i's sketch `slot` now: keep it for the next export, and
 * make d what came since the last one (p: scratch). True if the last
 * export carried none of it (then d holds every sample). */
bool otlp_delta_since(struct otlp_delta *dl, uint32_t i, unsigned slot, struct hist_dist *d,
		      struct hist_dist *p);
/* Series i's sketch `slot` did not move since the last export: the last
 * distribution stays the baseline (p: scratch). */
void otlp_delta_carry(struct otlp_delta *dl, uint32_t i, unsigned slot, struct hist_dist *p);

#endif
