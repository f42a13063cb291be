/* ring_layout_dump.c - prints the ring header's layout as this build's C
 * compiler sees it (name offset), for test_ring_layout.py to compare with
 * shm/ring_layout.py, the one place Python reads offsets from. */
#include <stddef.h>
#include <stdio.h>

#include "ring.h"

#define FIELD(f) printf("%s %zu\n", #f, offsetof(struct ring_header, f))

int main(void)
{
	FIELD(magic);
	FIELD(version);
	FIELD(record_size);
	FIELD(capacity);
	FIELD(producers_cap);
	FIELD(slots_offset);
	FIELD(file_size);
	FIELD(epoch);
	FIELD(state);
	FIELD(heartbeat_ns);
	FIELD(head);
	FIELD(consumed);
	FIELD(corrupt);
	FIELD(skipped);
	FIELD(tail);
	FIELD(dropped);
	FIELD(registrations_failed);
	FIELD(label_headers);
	printf("CONTROL_SIZE %u\n", RING_CONTROL_SIZE);
	printf("RECORD_SIZE %u\n", REC_SIZE);
	printf("MAGIC %llu\n", (unsigned long long)RING_MAGIC);
	printf("DROP_REASONS %u\n", (unsigned)RING_DROP_REASONS);
	printf("LABELS %u\n", (unsigned)REC_LABELS);
	printf("LABEL_HEADER_LEN %u\n", RING_LABEL_HEADER_LEN);
	printf("STATE_CREATING %u\nSTATE_LIVE %u\nSTATE_RETIRED %u\n", RING_STATE_CREATING,
	       RING_STATE_LIVE, RING_STATE_RETIRED);
	return 0;
}
