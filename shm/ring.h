/*
 * ring.h - the lock-free shared-memory ring between producers (the shim, in
 * any number of processes and threads) and one consumer (tokenringd).
 *
 * Layout of the file (all offsets fixed, no pointers):
 *   [0, RING_CONTROL_SIZE)           struct ring_header (control lines)
 *   [RING_CONTROL_SIZE, slots_off)   producer table: RING_PRODUCERS entries
 *   [slots_off, ...)                 capacity slots of REC_SIZE bytes
 *
 * Protocol (per-slot sequence numbers, bounded MPMC queue style):
 *   slot i starts with seq = i. A producer reads tail = pos; the slot at pos
 *   is free iff its seq == pos; it claims pos by CAS tail pos -> pos+1, fills
 *   the record and publishes by CAS seq pos -> pos+1. The consumer at head h
 *   takes the slot iff seq == h+1, copies it, checks the checksum and frees
 *   it with seq = h + capacity, which is "free" for the next lap.
 * Wrap rule: positions are free-running 64-bit counters; slot = pos & mask.
 *
 * Crash tolerance: a producer killed between claim and publish leaves
 * seq == h while tail > h. The consumer waits skip_timeout_ns, then skips
 * the slot by CAS seq h -> h + capacity. A late publish then fails its CAS
 * and is counted as RING_DROP_LATE, never delivered; a late producer's data
 * writes that land in a reused slot fail the checksum and are counted as
 * corrupt. Any seq that is neither h nor h+1 is garbage: skipped at once.
 *
 * Accounting (exact at any quiescent point, i.e. head == tail):
 *   tail == consumed + corrupt + skipped
 *   records offered by producers == tail + sum(dropped[]) - dropped[LATE]
 *   (a late record was claimed, so it is in tail, and refused at commit)
 *
 * The contract enforces itself:
 * - Every header offset is pinned by _Static_assert below (Python tests and
 *   benches read the same numbers from shm/ring_layout.py, which a test
 *   checks against this header). Line 0 (magic .. state) is frozen across
 *   layout versions, so a producer of any version can read "retired" from a
 *   file of any other.
 * - Only shm/ touches the header: the daemon and the shim go through
 *   ring_retire, ring_check and ring_label_headers_get, never hdr->...
 * - Producer-entry states (enum ring_producer_state) and the packing of a
 *   producer reference (index and generation in 32 bits: ring_producer_ref)
 *   are named here, not written as literals by each side.
 * - Sizing and initialising are apart from the file, as DPDK's
 *   rte_ring_get_memsize/rte_ring_init: ring_memsize(capacity) gives the
 *   bytes, ring_init lays a ring out in caller memory (a fuzzer's or a
 *   test's buffer, or the daemon's fresh mapping); ring_create only adds the
 *   file, its mode and its atomic rename. The hot path (claim, commit,
 *   consume) is the same code either way.
 */
#ifndef TOKENRING_RING_H
#define TOKENRING_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "record.h"

#define RING_MAGIC 0x474e4952454b4f54ull /* "TOKERING" little-endian */
#define RING_VERSION 3u /* bump on any layout or checksum change (2: rec.kind; 3: ring checksum) */
#define RING_DEFAULT_PATH "/dev/shm/tokenring"
#define RING_DEFAULT_CAPACITY 65536u
#define RING_DEFAULT_MODE 0660
#define RING_MIN_CAPACITY 2u
#define RING_MAX_CAPACITY (1u << 24)
#define RING_DEFAULT_SKIP_TIMEOUT_NS (50ull * 1000 * 1000)
#define RING_CONTROL_SIZE 4096u
#define RING_PRODUCERS 256u /* producer table entries */
#define RING_NO_PRODUCER 0xffffu
#define RING_LABEL_HEADER_LEN 32u /* names of headers captured as labels */
#define RING_WORKLOAD_LEN 64u
#define RING_NAMESPACE_LEN 48u

/* Why a producer could not put a record in the ring. */
enum ring_drop_reason {
	RING_DROP_FULL = 0,       /* no free slot: the consumer is behind or gone */
	RING_DROP_CONTENTION = 1, /* gave up after RING_CLAIM_TRIES lost races */
	RING_DROP_LATE = 2,       /* slot was skipped before this producer published */
	RING_DROP_DETACHED = 3,   /* shim had no ring attached (reported on re-attach) */
	RING_DROP_REASONS
};
#define RING_CLAIM_TRIES 64

enum ring_state {
	RING_STATE_CREATING = 0,
	RING_STATE_LIVE = 1,
	RING_STATE_RETIRED = 2, /* the daemon replaced this file: re-attach */
};

/* Errors beyond errno, returned negated like errno values. */
enum ring_error {
	RING_EMAGIC = 10001,    /* not a tokenring ring file */
	RING_EVERSION = 10002,  /* a ring of another layout version */
	RING_ERECSIZE = 10003,  /* another record size */
	RING_EGEOMETRY = 10004, /* capacity not a power of two, or file size wrong */
	RING_ERETIRED = 10005,  /* the daemon has retired this file */
	RING_ENOTREG = 10006,   /* a symlink or not a regular file */
};

/* A producer table entry's life: FREE -> FILLING (the producer's CAS)
 * -> READY (its release store) -> FREE (only the consumer's reap). */
enum ring_producer_state {
	RING_PRODUCER_FREE = 0,
	RING_PRODUCER_FILLING = 1,
	RING_PRODUCER_READY = 2,
};

/* One producer process. Written by that producer at registration, read by
 * the consumer; freed only by the consumer (ring_producers_reap). */
struct ring_producer {
	_Atomic uint32_t state; /* enum ring_producer_state */
	uint32_t pid;
	_Atomic uint64_t last_seen_ns; /* producer's CLOCK_MONOTONIC, refreshed <= 1/s */
	uint16_t gen;                  /* bumped at every registration */
	uint16_t reserved[3];
	char workload[RING_WORKLOAD_LEN];
	char namespace_[RING_NAMESPACE_LEN];
};
_Static_assert(sizeof(struct ring_producer) == 136, "producer entry layout");

#define RING_LINE 64
/* The shared header. Producer-written and consumer-written fields sit on
 * separate cache lines so they never false-share. */
struct ring_header {
	/* line 0: identity, written once at creation (state also at retirement) */
	uint64_t magic;
	uint32_t version;
	uint32_t record_size;
	uint32_t capacity;
	uint32_t producers_cap;
	uint64_t slots_offset;
	uint64_t file_size;
	uint64_t epoch; /* new value every time the daemon creates the file */
	_Atomic uint32_t state;
	uint32_t reserved0[3];
	/* line 1: consumer-written */
	_Alignas(RING_LINE) _Atomic uint64_t heartbeat_ns; /* consumer's CLOCK_MONOTONIC */
	_Atomic uint64_t head;
	_Atomic uint64_t consumed;
	_Atomic uint64_t corrupt;
	_Atomic uint64_t skipped;
	/* line 2: producers' claim index */
	_Alignas(RING_LINE) _Atomic uint64_t tail;
	/* line 3: producers' drop counters (touched only on the drop path) */
	_Alignas(RING_LINE) _Atomic uint64_t dropped[RING_DROP_REASONS];
	_Atomic uint64_t registrations_failed;
	/* line 4-5: daemon configuration producers read at attach */
	_Alignas(RING_LINE) char label_headers[REC_LABELS][RING_LABEL_HEADER_LEN];
};
_Static_assert(sizeof(struct ring_header) <= RING_CONTROL_SIZE, "control area");
/* Line 0, frozen across layout versions (ring_layout.py mirrors all of these). */
_Static_assert(offsetof(struct ring_header, magic) == 0, "frozen line 0: magic");
_Static_assert(offsetof(struct ring_header, version) == 8, "frozen line 0: version");
_Static_assert(offsetof(struct ring_header, record_size) == 12, "frozen line 0: record_size");
_Static_assert(offsetof(struct ring_header, capacity) == 16, "frozen line 0: capacity");
_Static_assert(offsetof(struct ring_header, producers_cap) == 20, "frozen line 0");
_Static_assert(offsetof(struct ring_header, slots_offset) == 24, "frozen line 0");
_Static_assert(offsetof(struct ring_header, file_size) == 32, "frozen line 0: file_size");
_Static_assert(offsetof(struct ring_header, epoch) == 40, "frozen line 0: epoch");
_Static_assert(offsetof(struct ring_header, state) == 48, "frozen line 0: state");
_Static_assert(sizeof(((struct ring_header *)0)->state) == 4, "frozen line 0: state width");
/* The rest of this version's layout. */
_Static_assert(offsetof(struct ring_header, heartbeat_ns) == 64, "consumer line");
_Static_assert(offsetof(struct ring_header, head) == 72, "consumer line: head");
_Static_assert(offsetof(struct ring_header, consumed) == 80, "consumer line: consumed");
_Static_assert(offsetof(struct ring_header, corrupt) == 88, "consumer line: corrupt");
_Static_assert(offsetof(struct ring_header, skipped) == 96, "consumer line: skipped");
_Static_assert(offsetof(struct ring_header, tail) == 128, "producers' line: tail");
_Static_assert(offsetof(struct ring_header, dropped) == 192, "drop line");
_Static_assert(RING_DROP_REASONS == 4, "dropped[] fills the drop line as documented");
_Static_assert(offsetof(struct ring_header, registrations_failed) == 224, "drop line");
_Static_assert(offsetof(struct ring_header, label_headers) == 256, "configuration lines");
_Static_assert(offsetof(struct ring_producer, gen) == 16, "producer entry: gen");
_Static_assert(offsetof(struct ring_producer, workload) == 24, "producer entry: workload");

/* A record's reference to its producer entry (rec.producer, rec.producer_gen)
 * packed in 32 bits: index in the low half, generation in the high half. A
 * shim publishes it with one atomic store; the daemon keys identity runs on
 * it. */
static inline uint32_t ring_producer_ref(unsigned idx, unsigned gen)
{
	return (uint32_t)(idx & 0xffffu) | (uint32_t)(gen & 0xffffu) << 16;
}
static inline uint16_t ring_producer_ref_index(uint32_t ref) { return (uint16_t)ref; }
static inline uint16_t ring_producer_ref_gen(uint32_t ref) { return (uint16_t)(ref >> 16); }

/* A process-private handle. Never shared. */
struct ring {
	struct ring_header *hdr;
	struct ring_producer *producers;
	unsigned char *slots;
	size_t map_size;
	uint32_t capacity;
	uint32_t mask;
	uint64_t epoch;
	/* consumer-only */
	uint64_t head;
	uint64_t stuck_pos;      /* position first seen claimed-but-unpublished */
	uint64_t stuck_since_ns; /* 0 = not stuck */
	uint64_t skip_timeout_ns;
	dev_t dev;
	ino_t ino;
	bool mapped; /* hdr is our mmap of a file (ring_detach unmaps it) */
};

struct ring_config {
	uint32_t capacity;        /* power of two in [RING_MIN_CAPACITY, RING_MAX_CAPACITY] */
	mode_t mode;              /* file mode, applied regardless of umask */
	uid_t uid;                /* (uid_t)-1 = leave */
	gid_t gid;                /* (gid_t)-1 = leave */
	uint64_t skip_timeout_ns; /* 0 = RING_DEFAULT_SKIP_TIMEOUT_NS */
	const char *label_headers[REC_LABELS]; /* NULL = none */
};

struct ring_stats {
	uint32_t capacity;
	uint64_t epoch;
	uint64_t tail;
	uint64_t head;
	uint64_t consumed;
	uint64_t corrupt;
	uint64_t skipped;
	uint64_t dropped[RING_DROP_REASONS];
	uint64_t heartbeat_ns;
	uint32_t producers; /* registered entries */
	uint64_t registrations_failed;
};

/* Bytes a ring of `capacity` slots occupies; 0 if capacity is invalid. */
size_t ring_memsize(uint32_t capacity);

/*
 * Lay out a fresh, LIVE ring of cfg->capacity slots (NULL cfg: defaults) in
 * mem, which must hold ring_memsize(capacity) bytes, zeroed, and be aligned
 * to 64 bytes (size must be exactly that); out becomes its consumer handle. No file, no syscall: tests
 * and fuzzers run the real protocol in a buffer. Returns 0 or
 * -RING_EGEOMETRY. Not thread-safe (nobody may use mem meanwhile).
 */
int ring_init(void *mem, size_t size, const struct ring_config *cfg, struct ring *out);

/*
 * A second handle on a ring laid out in memory by ring_init (a producer's
 * view, as ring_attach gives of a file): validated exactly like a mapping
 * (magic, version, record size, geometry, LIVE). 0 or -RING_E*.
 */
int ring_attach_mem(void *mem, size_t size, struct ring *out);

/* Fill a config with the defaults above. */
void ring_config_default(struct ring_config *cfg);

/*
 * Consumer: create the ring file at path, or adopt an existing one with the
 * same layout and capacity (a daemon restart keeps producers attached and
 * keeps counting). A ring of another layout is marked retired and
 * atomically replaced. Refuses a symlink (-RING_ENOTREG) and a file that
 * is not a tokenring ring (-RING_EMAGIC): it never clobbers a foreign file.
 * Returns 0 or -errno / -RING_E*. Single caller; not thread-safe.
 */
int ring_create(const char *path, const struct ring_config *cfg, struct ring *out);

/*
 * Producer: map an existing live ring read-write. Validates magic, version,
 * record size, geometry and state before trusting anything; returns 0 or
 * -errno / -RING_E* saying why it refused.
 */
int ring_attach(const char *path, struct ring *out);

/* Either side: unmap. The handle is zeroed. */
void ring_detach(struct ring *r);

/* Text for a ring_create/ring_attach error (errno values included). */
const char *ring_strerror(int err);

/* Consumer: mark this ring retired (the file was replaced): producers that
 * see it re-attach to the path. */
void ring_retire(struct ring *r);

/* Either side: is the mapped header still a live ring of this build's
 * layout? 0, or -RING_EMAGIC / -RING_EVERSION / -RING_ERECSIZE /
 * -RING_EGEOMETRY (overwritten by someone) or -RING_ERETIRED. */
int ring_check(const struct ring *r);

/* Producer: copy the label header names the daemon configured (empty
 * string = unused slot), always NUL-terminated. */
void ring_label_headers_get(const struct ring *r, char out[REC_LABELS][RING_LABEL_HEADER_LEN]);

/* True if the daemon has retired this mapping (producers should re-attach). */
static inline bool ring_retired(const struct ring *r)
{
	/* relaxed: a stale read only delays the re-attach by one record */
	return atomic_load_explicit(&r->hdr->state, memory_order_relaxed) != RING_STATE_LIVE;
}

/*
 * Producer, two-phase: claim a slot, fill it, commit. Between the two the
 * record is invisible to the consumer. ring_claim returns the slot or NULL
 * (full or contended: the drop is already counted). ring_commit computes
 * the checksum and publishes; returns 0, or -ESTALE if the consumer skipped
 * the slot meanwhile (counted as RING_DROP_LATE). Safe from any number of
 * threads and processes at once, and from signal handlers; never blocks.
 */
struct tr_record *ring_claim(struct ring *r, uint64_t *pos);
int ring_commit(struct ring *r, struct tr_record *slot, uint64_t pos);

/* Claim + copy + commit. rec->seq and rec->checksum are ignored. Returns 0,
 * -ENOSPC (dropped: full or contended, counted) or -ESTALE (late). */
int ring_publish(struct ring *r, const struct tr_record *rec);

/* Count records a producer could not even try to publish (no ring). */
void ring_count_drop(struct ring *r, enum ring_drop_reason why, uint64_t n);

/*
 * Consumer: copy up to max published records into out, in ring order, and
 * free their slots. Records failing the checksum are counted and not
 * returned; stuck or garbage slots are skipped as described above. now_ns
 * is CLOCK_MONOTONIC (it also becomes the heartbeat). Never blocks, never
 * reads outside the mapping whatever the shared bytes hold. Single consumer.
 */
size_t ring_consume(struct ring *r, struct tr_record *out, size_t max, uint64_t now_ns);

/* Snapshot of the counters (each read atomically, not as a set). */
void ring_get_stats(const struct ring *r, struct ring_stats *st);

/* Checksum of a record as producers compute it (of bytes
 * [REC_CHECKSUM_FROM, REC_SIZE); definition in ring_checksum.h). */
uint64_t ring_record_checksum(const struct tr_record *rec);

/*
 * Producer table. ring_producer_register claims a free entry for this
 * process and returns its index (gen in *gen), or -ENOSPC (counted).
 * ring_producer_touch refreshes last_seen (call at most once a second);
 * it returns -ENOENT when the consumer reaped the entry (register again).
 * ring_producer_lookup returns the entry a record names if it is still the
 * one with that generation, else NULL; the consumer copies its strings
 * with bounds. ring_producers_reap (consumer) frees entries idle longer
 * than idle_ns and returns how many it freed.
 */
int ring_producer_register(struct ring *r, uint32_t pid, const char *workload,
			   const char *namespace_, uint64_t now_ns, uint16_t *gen);
int ring_producer_touch(struct ring *r, int idx, uint16_t gen, uint64_t now_ns);
const struct ring_producer *ring_producer_lookup(const struct ring *r, unsigned idx,
						 unsigned gen);
unsigned ring_producers_reap(struct ring *r, uint64_t now_ns, uint64_t idle_ns);

/* Label header names the daemon configured (empty string = unused slot).
 * Consumer may update them on reload; producers read them at attach. */
void ring_set_label_headers(struct ring *r, const char *const names[REC_LABELS]);

#endif
