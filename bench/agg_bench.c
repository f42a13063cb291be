/*
 * agg_bench.c - the aggregation core's budgets (DESIGN.md): ingest rate into
 * 10 k live series on one core (>= 5 M records/s) and /metrics render time
 * with 10 k series (<= 10 ms per scrape). Pure core, no ring, no sockets.
 *
 * Method: 10 000 tuples (100 workloads x 100 models, every tuple live before
 * timing starts), 65 536 pre-built records in random tuple order (so the
 * series table is hit like a busy node's, not one hot line). As the daemon
 * does (ring_consume copies a batch out of the ring, then ingests it), each
 * batch of BATCH records is copied into a small buffer and ingested from
 * there; the copy is inside the timing. Each run ingests the record array
 * several times; runs repeat and the table reports min / median / max. Render: the default families
 * (tokenring,gen_ai) and all families, repeated, median and max.
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID): the machines
 * this runs on are shared, and preemption is not the core's cost; cache
 * contention from neighbours still shows, so read the median and min.
 * Usage: agg_bench [runs]   (default 7)
 *        agg_bench --curve
 *        agg_bench --export [runs [ROW]] (scrape and export sizes at 10 k
 *                             series: bench/export_results.md; only the rows
 *                             whose name holds ROW; `--export 1 protobuf`
 *                             under callgrind profiles those renders)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <zlib.h>

#include "agg.h"
#include "otlp.h"

#define TUPLES 10000u
#define WORKLOADS 100u
#define RECORDS 65536u
#define PASSES 8u /* record array passes per ingest run */
#define BATCH 256u /* records per drained batch */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Identities as the loop resolves them: from a small producer table. */
static struct agg_identity idtab[WORKLOADS];

static void make_record(struct tr_record *r, uint8_t *widx, unsigned tuple)
{
	memset(r, 0, sizeof(*r));
	r->start_ns = 1720754403993000000ull;
	r->duration_ns = 50000000ull + rnd() % 5000000000ull;
	r->status = 200;
	r->reporter = REC_REPORTER_SOURCE;
	r->provider = REC_PROVIDER_OPENAI;
	r->operation = REC_OP_CHAT;
	r->usage_status = REC_USAGE_AVAILABLE;
	r->prompt_tokens = 100 + (uint32_t)(rnd() % 2000);
	r->completion_tokens = 10 + (uint32_t)(rnd() % 500);
	r->total_tokens = r->prompt_tokens + r->completion_tokens;
	r->req_bytes = 900;
	r->resp_bytes = 4000;
	if (tuple % 2) {
		r->flags = REC_F_STREAM;
		r->ttft_ns = r->duration_ns / 5;
		r->chunks = r->completion_tokens;
	}
	strcpy(r->method, "POST");
	strcpy(r->path, "/v1/chat/completions");
	strcpy(r->authority, "api.openai.com");
	snprintf(r->request_model, sizeof(r->request_model), "model-%03u", tuple / WORKLOADS);
	*widx = (uint8_t)(tuple % WORKLOADS);
}

static void stats(const char *what, double *v, unsigned n, const char *unit)
{
	qsort(v, n, sizeof(*v), cmp_double);
	printf("| %-44s | %10.2f | %10.2f | %10.2f | %s |\n", what, v[0], v[n / 2], v[n - 1], unit);
}

/* One timed run: PASSES passes over the records, batch by batch, as the
 * loop drains them (copy out of the ring, then ingest). Returns M records/s. */
static double ingest_run(struct agg *a, const struct tr_record *recs, const uint8_t *ids,
			 int batched)
{
	static struct tr_record batch[BATCH];
	static const struct agg_identity *idp[BATCH];
	uint64_t t0 = now_ns();
	for (unsigned p = 0; p < PASSES; p++) {
		for (unsigned i = 0; i < RECORDS; i += BATCH) {
			memcpy(batch, &recs[i], sizeof(batch));
			for (unsigned k = 0; k < BATCH; k++)
				idp[k] = &idtab[ids[i + k]];
			if (batched) {
				agg_ingest_batch(a, batch, idp, BATCH);
				continue;
			}
			for (unsigned k = 0; k < BATCH; k++)
				agg_ingest(a, &batch[k], idp[k]);
		}
	}
	uint64_t t1 = now_ns();
	return (double)RECORDS * PASSES / ((double)(t1 - t0) / 1e9) / 1e6;
}

static int bench_render(struct agg *a, unsigned runs, const char *label)
{
	struct strbuf b;
	double ms[64], first = 0;
	strbuf_init(&b);
	for (unsigned i = 0; i < runs + 1; i++) {
		strbuf_reset(&b);
		uint64_t t0 = now_ns();
		if (agg_render_metrics(a, NULL, &b))
			return 1;
		uint64_t t1 = now_ns();
		if (i)
			ms[i - 1] = (double)(t1 - t0) / 1e6;
		else /* groups every series and escapes every label set; grows b */
			first = (double)(t1 - t0) / 1e6;
	}
	char what[96];
	snprintf(what, sizeof(what), "/metrics render, %s (%.1f MB)", label,
		 (double)b.len / 1e6);
	stats(what, ms, runs, "ms per scrape");
	printf("| first scrape after 10k new series, %s (grouping, label escaping, buffer growth) "
	       "| %.2f | | | ms |\n",
	       label, first);
	const char *key = "\ntokenring_quantile_pool_exhausted_total ";
	const char *ex = strstr(b.data, key);
	if (ex) {
		ex += strlen(key);
		printf("| quantile samples without fine detail (pool dry), %s | %.*s | | | samples |\n",
		       label, (int)strcspn(ex, "\n"), ex);
	}
	strbuf_free(&b);
	return 0;
}

/* --curve: batched ingest rate and /metrics render time against the number
 * of live series (10 .. 100 k), default families. One line per size:
 * "series ingest_mps render_ms render_mb" (medians of 3). */
static int curve(void)
{
	static const unsigned sizes[] = {10, 100, 1000, 10000, 100000};
	for (unsigned z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
		unsigned tuples = sizes[z];
		unsigned n = tuples > RECORDS ? (tuples + BATCH - 1) / BATCH * BATCH : RECORDS;
		struct tr_record *recs = malloc(n * sizeof(*recs));
		uint8_t *ids = malloc(n);
		const struct agg_identity **idp = malloc(BATCH * sizeof(*idp));
		if (!recs || !ids || !idp)
			return 1;
		for (unsigned i = 0; i < n; i++)
			make_record(&recs[i], &ids[i], i < tuples ? i : (unsigned)(rnd() % tuples));
		struct agg_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.max_series = tuples;
		cfg.label_max_values = tuples;
		cfg.families = AGG_FAM_DEFAULT;
		struct agg *a;
		if (agg_create(&cfg, &a))
			return 1;
		double mrps[3], ms[3];
		size_t bytes = 0;
		for (unsigned r = 0; r < 4; r++) { /* run 0 warms: every tuple live */
			uint64_t t0 = now_ns();
			for (unsigned i = 0; i < n; i += BATCH) {
				for (unsigned k = 0; k < BATCH; k++)
					idp[k] = &idtab[ids[i + k]];
				agg_ingest_batch(a, &recs[i], idp, BATCH);
			}
			if (r)
				mrps[r - 1] = (double)n / ((double)(now_ns() - t0) / 1e9) / 1e6;
		}
		struct strbuf b;
		strbuf_init(&b);
		for (unsigned r = 0; r < 4; r++) { /* run 0 groups and escapes once */
			strbuf_reset(&b);
			uint64_t t0 = now_ns();
			if (agg_render_metrics(a, NULL, &b))
				return 1;
			if (r)
				ms[r - 1] = (double)(now_ns() - t0) / 1e6;
		}
		bytes = b.len;
		qsort(mrps, 3, sizeof(double), cmp_double);
		qsort(ms, 3, sizeof(double), cmp_double);
		printf("%u %.2f %.3f %.2f %u\n", tuples, mrps[1], ms[1], (double)bytes / 1e6,
		       agg_series(a));
		strbuf_free(&b);
		agg_destroy(a);
		free(recs);
		free(ids);
		free(idp);
	}
	return 0;
}

/* One renderer of a whole payload from a table. */
typedef int (*payload_fn)(const struct agg *a, struct strbuf *out);

static int text_payload(const struct agg *a, struct strbuf *out)
{
	return agg_render_metrics(a, NULL, out);
}

static int protobuf_payload(const struct agg *a, struct strbuf *out)
{
	return agg_render_protobuf(a, NULL, out);
}

static int otlp_payload(const struct agg *a, struct strbuf *out, bool explicit_buckets)
{
	struct otlp_render r = {.resource_json = "[]", .scope_version = "bench",
				.start_ns = 1720754403993000000ull,
				.now_ns = 1720754463993000000ull,
				.explicit_buckets = explicit_buckets};
	return otlp_render_json(a, &r, out);
}

static int otlp_expo_payload(const struct agg *a, struct strbuf *out)
{
	return otlp_payload(a, out, false);
}

static int otlp_explicit_payload(const struct agg *a, struct strbuf *out)
{
	return otlp_payload(a, out, true);
}

/* Size, gzip size and render time (median of runs, after a first render
 * that groups and grows the buffer) of one payload. */
static const char *export_only_rows; /* --export's ROW, or NULL: every row */

static int export_row(const struct agg *a, const char *what, payload_fn fn, unsigned runs)
{
	if (export_only_rows && !strstr(what, export_only_rows))
		return 0;
	struct strbuf b;
	double ms[64];
	strbuf_init(&b);
	for (unsigned i = 0; i < runs + 1; i++) {
		strbuf_reset(&b);
		uint64_t t0 = now_ns();
		if (fn(a, &b))
			return 1;
		if (i)
			ms[i - 1] = (double)(now_ns() - t0) / 1e6;
	}
	qsort(ms, runs, sizeof(double), cmp_double);
	uLongf zlen = compressBound(b.len);
	Bytef *z = malloc(zlen);
	if (!z || compress2(z, &zlen, (const Bytef *)b.data, b.len, Z_DEFAULT_COMPRESSION) != Z_OK)
		return 1;
	printf("| %s | %.2f | %.2f | %.2f |\n", what, (double)b.len / 1e6, (double)zlen / 1e6,
	       ms[runs / 2]);
	free(z);
	strbuf_free(&b);
	return 0;
}

/* --export: 10 k series, default families, every tuple with several
 * samples: the text exposition, the protobuf one with native histograms
 * (and with classic buckets too), one OTLP JSON export. */
static int export_table(const struct tr_record *recs, const uint8_t *ids, unsigned runs)
{
	printf("| payload (10 k series, default families) | bytes (MB) | deflated (MB) | "
	       "render (ms, median) |\n|---|---|---|---|\n");
	for (int pass = 0; pass < 3; pass++) {
		struct agg_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.max_series = TUPLES;
		cfg.families = AGG_FAM_DEFAULT;
		cfg.native_classic = pass == 1;
		cfg.native_coarsen = pass == 2 ? 3 : 0; /* schema 3: 8 buckets per octave */
		struct agg *a;
		if (agg_create(&cfg, &a))
			return 1;
		for (unsigned i = 0; i < RECORDS; i++)
			agg_ingest(a, &recs[i], &idtab[ids[i]]);
		int rc = 0;
		if (pass == 0) {
			rc |= export_row(a, "text exposition (0.0.4)", text_payload, runs);
			rc |= export_row(a, "protobuf, native histograms (schema 6)", protobuf_payload,
					 runs);
			rc |= export_row(a, "OTLP JSON, exponential histograms (scale 6)",
					 otlp_expo_payload, runs);
			rc |= export_row(a, "OTLP JSON, explicit buckets", otlp_explicit_payload,
					 runs);
		} else if (pass == 1) {
			rc |= export_row(a, "protobuf, native (schema 6) and classic buckets",
					 protobuf_payload, runs);
		} else {
			rc |= export_row(a, "protobuf, native histograms (--native-schema 3)",
					 protobuf_payload, runs);
			rc |= export_row(a, "OTLP JSON, exponential histograms (--native-schema 3)",
					 otlp_expo_payload, runs);
		}
		agg_destroy(a);
		if (rc)
			return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	for (unsigned w = 0; w < WORKLOADS; w++) {
		snprintf(idtab[w].workload, sizeof(idtab[w].workload), "workload-%03u", w);
		strcpy(idtab[w].namespace_, "default");
	}
	if (argc > 1 && strcmp(argv[1], "--curve") == 0)
		return curve();
	bool export_only = argc > 1 && strcmp(argv[1], "--export") == 0;
	unsigned runs = argc > 1 && !export_only ? (unsigned)atoi(argv[1])
			: argc > 2 ? (unsigned)atoi(argv[2])
				   : 7;
	export_only_rows = export_only && argc > 3 ? argv[3] : NULL;
	if (runs < 1 || runs > 64)
		runs = 7;
	_Static_assert(RECORDS % BATCH == 0, "whole batches");
	struct tr_record *recs = malloc(RECORDS * sizeof(*recs));
	uint8_t *ids = malloc(RECORDS * sizeof(*ids));
	if (!recs || !ids)
		return 1;
	for (unsigned i = 0; i < RECORDS; i++)
		make_record(&recs[i], &ids[i], i < TUPLES ? i : (unsigned)(rnd() % TUPLES));
	/* shuffle so consecutive records hit different series */
	for (unsigned i = RECORDS - 1; i > 0; i--) {
		unsigned j = (unsigned)(rnd() % (i + 1));
		struct tr_record tr = recs[i];
		uint8_t ti = ids[i];
		recs[i] = recs[j];
		ids[i] = ids[j];
		recs[j] = tr;
		ids[j] = ti;
	}

	if (export_only)
		return export_table(recs, ids, runs);
	uint32_t fams[2] = {AGG_FAM_DEFAULT, AGG_FAM_DEFAULT | AGG_FAM_ASM | AGG_FAM_ISTIO |
						     AGG_FAM_KGATEWAY};
	const char *names[2] = {"default families", "all families"};
	printf("| what | min | median | max | unit |\n|---|---|---|---|---|\n");
	for (unsigned f = 0; f < 2; f++) {
		struct agg_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.max_series = TUPLES;
		cfg.families = fams[f];
		struct agg *a;
		if (agg_create(&cfg, &a))
			return 1;
		for (unsigned i = 0; i < RECORDS; i++) /* warm: every tuple live */
			agg_ingest(a, &recs[i], &idtab[ids[i]]);
		if (agg_series(a) != TUPLES) {
			fprintf(stderr, "expected %u series, got %u\n", TUPLES, agg_series(a));
			return 1;
		}
		for (int batched = 0; batched < 2; batched++) {
			double mrps[64];
			for (unsigned r = 0; r < runs; r++)
				mrps[r] = ingest_run(a, recs, ids, batched);
			char what[96];
			snprintf(what, sizeof(what), "ingest%s, 10k live series, %s",
				 batched ? " (batch)" : "", names[f]);
			stats(what, mrps, runs, "M records/s");
		}
		if (bench_render(a, runs, names[f]))
			return 1;
		agg_destroy(a);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("| max RSS (whole bench: 2 x 10k-series tables, %u records) | %ld | | | KiB |\n",
	       RECORDS, ru.ru_maxrss);
	free(recs);
	free(ids);
	return 0;
}
