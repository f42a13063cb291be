/*
 * ring_queue.c - the lock-free queue: producers claim and commit slots, the
 * single consumer takes, verifies and frees them (protocol in ring.h).
 *
 * Memory ordering, in pairs:
 *  (A) consumer frees a slot: store-release seq = h + capacity, after its
 *      copy; a producer's load-acquire of seq == pos in ring_claim pairs with
 *      it, so the producer's writes cannot overtake the consumer's reads.
 *  (B) producer publishes: CAS-release seq pos -> pos + 1, after filling the
 *      record; the consumer's load-acquire of seq == h + 1 pairs with it.
 *  tail is only a claim counter: relaxed CAS suffices, the slot's seq
 *  carries the ordering.
 */
#include <errno.h>
#include <string.h>

#include "ring_checksum.h"
#include "ring_internal.h"

void ring_count_drop(struct ring *r, enum ring_drop_reason why, uint64_t n)
{
	if ((unsigned)why >= RING_DROP_REASONS || n == 0)
		return;
	atomic_fetch_add_explicit(&r->hdr->dropped[why], n, memory_order_relaxed);
}

struct tr_record *ring_claim(struct ring *r, uint64_t *pos_out)
{
	_Atomic uint64_t *tail = &r->hdr->tail;
	uint64_t pos = atomic_load_explicit(tail, memory_order_relaxed);
	for (int tries = 0; tries < RING_CLAIM_TRIES; tries++) {
		struct tr_record *slot = ring_slot(r, pos);
		/* acquire: pairs with (A), the consumer's free of this slot */
		uint64_t seq = atomic_load_explicit(ring_seq(slot), memory_order_acquire);
		int64_t diff = (int64_t)(seq - pos);
		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(tail, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				*pos_out = pos;
				return slot;
			}
			/* lost the race: pos now holds the current tail */
		} else if (diff < 0) {
			/* the slot still holds last lap's record: full */
			ring_count_drop(r, RING_DROP_FULL, 1);
			return NULL;
		} else {
			pos = atomic_load_explicit(tail, memory_order_relaxed);
		}
	}
	ring_count_drop(r, RING_DROP_CONTENTION, 1);
	return NULL;
}

/* Publish a filled slot whose checksum field is already set. */
static int ring_commit_checked(struct ring *r, struct tr_record *slot, uint64_t pos)
{
	uint64_t expect = pos;
	/* release: pairs with the consumer's acquire (B); fails if the consumer
	 * skipped this slot while we were slow */
	if (atomic_compare_exchange_strong_explicit(ring_seq(slot), &expect, pos + 1,
						    memory_order_release, memory_order_relaxed))
		return 0;
	ring_count_drop(r, RING_DROP_LATE, 1);
	return -ESTALE;
}

int ring_commit(struct ring *r, struct tr_record *slot, uint64_t pos)
{
	slot->checksum = ring_record_checksum(slot);
	return ring_commit_checked(r, slot, pos);
}

int ring_publish(struct ring *r, const struct tr_record *rec)
{
	uint64_t pos;
	struct tr_record *slot = ring_claim(r, &pos);
	if (!slot)
		return -ENOSPC;
	/* one pass: each block of the caller's copy is hashed as it is stored */
	slot->checksum = ring_copy_checksum(slot, rec);
	return ring_commit_checked(r, slot, pos);
}

/* What the consumer does with the slot at head. */
enum take {
	TAKE_STOP,    /* nothing more now */
	TAKE_RECORD,  /* a valid record was copied out */
	TAKE_DROPPED, /* the slot was consumed without a record (counted) */
};

/* A slot claimed but not published: wait skip_timeout_ns from the first
 * time it was seen stuck, then free it for the next lap. */
static enum take ring_take_stuck(struct ring *r, struct tr_record *slot, uint64_t h,
				 uint64_t now_ns)
{
	if (r->stuck_since_ns == 0 || r->stuck_pos != h) {
		r->stuck_pos = h;
		r->stuck_since_ns = now_ns ? now_ns : 1;
		return TAKE_STOP;
	}
	if (now_ns - r->stuck_since_ns < r->skip_timeout_ns)
		return TAKE_STOP;
	uint64_t expect = h;
	if (!atomic_compare_exchange_strong_explicit(ring_seq(slot), &expect, h + r->capacity,
						     memory_order_acq_rel, memory_order_acquire))
		return TAKE_STOP; /* published just now: taken on the next call */
	atomic_store_explicit(&r->hdr->skipped,
			      atomic_load_explicit(&r->hdr->skipped, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	return TAKE_DROPPED;
}

static void ring_bump(_Atomic uint64_t *counter)
{
	/* single writer (the consumer): no RMW needed */
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static enum take ring_take(struct ring *r, uint64_t h, struct tr_record *out, uint64_t now_ns)
{
	struct tr_record *slot = ring_slot(r, h);
	/* acquire: pairs with the producer's publish (B) */
	uint64_t seq = atomic_load_explicit(ring_seq(slot), memory_order_acquire);
	if (seq == h) /* tail > h here, so claimed and not yet published */
		return ring_take_stuck(r, slot, h, now_ns);
	if (r->stuck_since_ns)
		r->stuck_since_ns = 0;
	if (seq != h + 1) {
		/* neither claimed nor published for this lap: garbage. Free it. */
		atomic_store_explicit(ring_seq(slot), h + r->capacity, memory_order_release);
		ring_bump(&r->hdr->corrupt);
		return TAKE_DROPPED;
	}
	/* One pass: the checksum is of the bytes copied out (a late writer's
	 * stores after this cannot reach the copy), read once. */
	out->seq = seq;
	out->checksum = slot->checksum;
	uint64_t sum = ring_copy_checksum(out, slot);
	/* release: pairs with the next lap's producer acquire (A) */
	atomic_store_explicit(ring_seq(slot), h + r->capacity, memory_order_release);
	if (out->checksum != sum) {
		ring_bump(&r->hdr->corrupt);
		return TAKE_DROPPED;
	}
	return TAKE_RECORD; /* counted in consumed by ring_consume, once per call */
}

/*
 * Repairs after a hostile or buggy writer; both are no-ops in a healthy ring.
 * A tail behind head, or more than capacity ahead of it, is impossible (a
 * claim needs the slot freed by the consumer, and head never passes tail):
 * producers would claim slots the consumer never reaches. Pull it back. With the ring empty the slot at
 * head must be free (seq == head); if garbage overwrote it, producers would
 * see "full" forever, so reset it.
 */
static uint64_t ring_repair(struct ring *r, uint64_t h, uint64_t tail)
{
	int64_t ahead = (int64_t)(tail - h);
	if (ahead > (int64_t)r->capacity || ahead < 0) {
		if (atomic_compare_exchange_strong_explicit(&r->hdr->tail, &tail, h,
							    memory_order_relaxed,
							    memory_order_relaxed)) {
			ring_bump(&r->hdr->corrupt);
			tail = h;
		}
	}
	if (tail == h) {
		/* Read seq, then tail again. acquire: a seq a producer published
		 * (B) makes its earlier claim of tail visible, so a tail still at
		 * h means nobody claimed h and any seq but h is garbage. No
		 * producer can claim a slot whose seq is not h, so the CAS races
		 * with nobody legitimate. */
		_Atomic uint64_t *seq = ring_seq(ring_slot(r, h));
		uint64_t v = atomic_load_explicit(seq, memory_order_acquire);
		if (v != h && atomic_load_explicit(&r->hdr->tail, memory_order_relaxed) == h)
			atomic_compare_exchange_strong_explicit(seq, &v, h, memory_order_release,
								memory_order_relaxed);
	}
	return tail;
}

size_t ring_consume(struct ring *r, struct tr_record *out, size_t max, uint64_t now_ns)
{
	struct ring_header *hdr = r->hdr;
	atomic_store_explicit(&hdr->heartbeat_ns, now_ns, memory_order_relaxed);
	size_t n = 0;
	uint64_t h = r->head;
	uint64_t tail = ring_repair(r, h, atomic_load_explicit(&hdr->tail, memory_order_relaxed));
	while (n < max) {
		if ((int64_t)(tail - h) <= 0) {
			tail = atomic_load_explicit(&hdr->tail, memory_order_relaxed);
			if ((int64_t)(tail - h) <= 0)
				break;
		}
		enum take t = ring_take(r, h, &out[n], now_ns);
		if (t == TAKE_STOP)
			break;
		h++;
		if (t == TAKE_RECORD)
			n++;
	}
	/* single writer (the consumer): a plain add, published with head */
	if (n)
		atomic_store_explicit(&hdr->consumed,
				      atomic_load_explicit(&hdr->consumed, memory_order_relaxed) + n,
				      memory_order_relaxed);
	r->head = h;
	atomic_store_explicit(&hdr->head, h, memory_order_release);
	ring_repair(r, h, atomic_load_explicit(&hdr->tail, memory_order_relaxed));
	return n;
}

void ring_get_stats(const struct ring *r, struct ring_stats *st)
{
	const struct ring_header *h = r->hdr;
	memset(st, 0, sizeof(*st));
	st->capacity = r->capacity;
	st->epoch = r->epoch;
	st->tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
	st->head = atomic_load_explicit(&h->head, memory_order_relaxed);
	st->consumed = atomic_load_explicit(&h->consumed, memory_order_relaxed);
	st->corrupt = atomic_load_explicit(&h->corrupt, memory_order_relaxed);
	st->skipped = atomic_load_explicit(&h->skipped, memory_order_relaxed);
	for (int i = 0; i < RING_DROP_REASONS; i++)
		st->dropped[i] = atomic_load_explicit(&h->dropped[i], memory_order_relaxed);
	st->heartbeat_ns = atomic_load_explicit(&h->heartbeat_ns, memory_order_relaxed);
	st->registrations_failed =
		atomic_load_explicit(&h->registrations_failed, memory_order_relaxed);
	for (unsigned i = 0; i < RING_PRODUCERS; i++)
		if (atomic_load_explicit(&r->producers[i].state, memory_order_relaxed) == 2)
			st->producers++;
}
