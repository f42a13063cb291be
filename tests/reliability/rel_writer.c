/*
 * rel_writer.c - a hostile or fast producer for the reliability tests.
 *
 *   rel_writer RING die N      publish N good records, then claim a slot,
 *                              write half a record into it and SIGKILL
 *                              itself: a producer dead between claim and
 *                              commit (exit status: killed by SIGKILL).
 *   rel_writer RING burst N    offer N records as fast as it can, never
 *                              waiting; prints "published P dropped D" (a
 *                              full ring drops, and the ring counts it).
 *   rel_writer RING models N FIRST [PREFIX]
 *                              publish N records whose model names are
 *                              PREFIX<FIRST> .. PREFIX<FIRST+N-1> (distinct),
 *                              waiting (sleeping 100 us) while the ring is
 *                              full so that every record goes in; prints
 *                              "published N waits W".
 *
 * Records are registered under workload "rel_writer", namespace "rel".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "ring.h"

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fill(struct tr_record *rec, int producer, uint16_t gen, const char *model)
{
	memset(rec, 0, sizeof *rec);
	rec->start_ns = now_ns(CLOCK_REALTIME);
	rec->duration_ns = 2000000;
	rec->ttfb_ns = 1000000;
	rec->req_bytes = 100;
	rec->resp_bytes = 200;
	rec->pid = (uint32_t)getpid();
	rec->status = 200;
	rec->producer = producer < 0 ? RING_NO_PRODUCER : (uint16_t)producer;
	rec->producer_gen = gen;
	rec->prompt_tokens = 3;
	rec->completion_tokens = 5;
	rec->total_tokens = 8;
	rec->flags = REC_F_LLM;
	rec->reporter = REC_REPORTER_SOURCE;
	rec->provider = REC_PROVIDER_OPENAI;
	rec->operation = REC_OP_CHAT;
	rec->usage_status = REC_USAGE_AVAILABLE;
	strcpy(rec->method, "POST");
	strcpy(rec->path, "/v1/chat/completions");
	strcpy(rec->authority, "rel.example");
	rec_set_str(rec->request_model, sizeof rec->request_model, model, strlen(model),
		    &rec->flags, REC_F_TRUNC_REQUEST_MODEL);
}

static int usage(void)
{
	fprintf(stderr, "usage: rel_writer RING die N | burst N | models N FIRST [PREFIX]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct ring r;
	struct tr_record rec;
	uint16_t gen = 0;
	if (argc < 4)
		return usage();
	int rc = ring_attach(argv[1], &r);
	if (rc) {
		fprintf(stderr, "rel_writer: %s: %s\n", argv[1], ring_strerror(rc));
		return 1;
	}
	int producer = ring_producer_register(&r, (uint32_t)getpid(), "rel_writer", "rel",
					      now_ns(CLOCK_MONOTONIC), &gen);
	unsigned long n = strtoul(argv[3], NULL, 10);
	if (strcmp(argv[2], "die") == 0) {
		fill(&rec, producer, gen, "kill-survivor");
		for (unsigned long i = 0; i < n; i++)
			if (ring_publish(&r, &rec) != 0) {
				fprintf(stderr, "rel_writer: record %lu dropped\n", i);
				return 1;
			}
		uint64_t pos;
		struct tr_record *slot = ring_claim(&r, &pos);
		if (!slot) {
			fprintf(stderr, "rel_writer: claim failed\n");
			return 1;
		}
		/* half a record, no checksum, never committed */
		fill(&rec, producer, gen, "never-committed");
		memcpy((char *)slot + REC_CHECKSUM_FROM, (char *)&rec + REC_CHECKSUM_FROM,
		       (REC_SIZE - REC_CHECKSUM_FROM) / 2);
		kill(getpid(), SIGKILL);
		return 3; /* not reached */
	}
	if (strcmp(argv[2], "burst") == 0) {
		unsigned long published = 0, dropped = 0;
		fill(&rec, producer, gen, "burst");
		for (unsigned long i = 0; i < n; i++) {
			rc = ring_publish(&r, &rec);
			if (rc == 0)
				published++;
			else if (rc == -ENOSPC || rc == -ESTALE)
				dropped++; /* full, or skipped while descheduled (late) */
			else {
				fprintf(stderr, "rel_writer: record %lu: %s\n", i, strerror(-rc));
				return 1;
			}
		}
		printf("published %lu dropped %lu\n", published, dropped);
		return 0;
	}
	if (strcmp(argv[2], "models") == 0 && argc >= 5) {
		unsigned long first = strtoul(argv[4], NULL, 10);
		const char *prefix = argc > 5 ? argv[5] : "m-";
		unsigned long waits = 0, late = 0;
		char model[REC_MODEL_LEN];
		for (unsigned long i = 0; i < n; i++) {
			snprintf(model, sizeof model, "%s%lu", prefix, first + i);
			fill(&rec, producer, gen, model);
			for (;;) {
				/* a full ring counts a drop; this writer wants every
				 * record in, so it only offers when a slot is free */
				struct ring_stats st;
				ring_get_stats(&r, &st);
				if (st.tail - st.head < st.capacity)
					break;
				waits++;
				usleep(100);
			}
			rc = ring_publish(&r, &rec);
			if (rc == -ESTALE) {
				/* descheduled past the skip timeout between claim and
				 * commit (a loaded machine): the slot was skipped and
				 * the drop counted late; offer the record again */
				late++;
				i--;
				continue;
			}
			if (rc != 0) {
				fprintf(stderr, "rel_writer: record %lu: %s\n", i, strerror(-rc));
				return 1;
			}
		}
		printf("published %lu waits %lu late %lu\n", n, waits, late);
		return 0;
	}
	return usage();
}
