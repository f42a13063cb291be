/* ring_layout_dump.c - prints the ring header's layout as this build's C
 * compiler sees it (name offset), the checksum key and the checksums of a
 * few patterned records (KEY i value, SUM pattern value), for
 * test_ring_layout.py to compare with shm/ring_layout.py, the one place
 * Python reads offsets from and the mirror of the checksum. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ring.h"
#include "ring_checksum.h"

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
	printf("VERSION %u\n", RING_VERSION);
	printf("DROP_REASONS %u\n", (unsigned)RING_DROP_REASONS);
	printf("LABELS %u\n", (unsigned)REC_LABELS);
	printf("LABEL_HEADER_LEN %u\n", RING_LABEL_HEADER_LEN);
	printf("STATE_CREATING %u\nSTATE_LIVE %u\nSTATE_RETIRED %u\n", RING_STATE_CREATING,
	       RING_STATE_LIVE, RING_STATE_RETIRED);
	for (unsigned i = 0; i < RING_SUM_WORDS; i++)
		printf("KEY %u %llu\n", i, (unsigned long long)ring_sum_key[i]);
	/* pattern p: byte i = (i * 31 + p * 7) & 0xff; pattern 0 is bytes 0, 31,
	 * 62, ...; the last pattern is all zero bytes */
	for (unsigned p = 0; p < 5; p++) {
		struct tr_record r;
		for (size_t i = 0; i < sizeof r; i++)
			((unsigned char *)&r)[i] = p == 4 ? 0 : (unsigned char)(i * 31 + p * 7);
		printf("SUM %u %llu\n", p, (unsigned long long)ring_record_checksum(&r));
	}
	return 0;
}
