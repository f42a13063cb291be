/*
 * shim_ring.c - the shim's side of the ring: attach lazily at the first
 * record, re-attach when the daemon retires the file or was absent (at
 * most one attempt a second, process-wide: a CAS on the next-attempt time
 * elects one thread), register this process in the producer table, and
 * publish every finished exchange.
 *
 * Handles: two slots. The current one is found through `cur`; a publisher
 * pins it with a users count (seq_cst increment, then re-check `cur`), and
 * whoever retires a handle stores a new `cur` first and then reads users
 * (seq_cst): it unmaps only at zero, so it never pulls a mapping from under
 * a publisher (Dekker-style: one of the two sees the other's write). A
 * handle still pinned is parked in `stale` and unmapped on a later attempt.
 *
 * Records finished while no ring is attached are counted and reported to
 * the next ring as RING_DROP_DETACHED, so produced = consumed + dropped
 * stays exact from the daemon's point of view. That includes a thread
 * whose exchange ends while another thread is still attaching (the first
 * attach happens at the first tracked connection, in that thread; the
 * others never wait for it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "record_event.h"
#include "shim_internal.h"

#define ATTACH_INTERVAL_NS 1000000000ull /* retry / touch at most once a second */
#define NO_HANDLE (-1)
#define HANDLES 2

struct shim_ring {
	struct ring r; /* r.hdr == NULL: slot free */
	struct conn_config cfg;
	/* ring_producer_ref(index, generation); RING_NO_PRODUCER index if the
	 * table was full. One word: emitters read it while maintain() may
	 * re-register after the consumer reaped our entry. */
	_Atomic uint32_t ident;
	_Atomic uint32_t users;
};

static struct shim_ring handles[HANDLES];
static _Atomic int cur = NO_HANDLE;
static _Atomic int stale = NO_HANDLE;
static _Atomic uint64_t next_attempt_ns; /* 0: attempt at the first record */
static _Atomic uint64_t detached_drops;
static char ring_path[256];

void shim_ring_init(void)
{
	const char *p = getenv("TOKENRING_RING");
	if (p == NULL || p[0] == '\0' || strlen(p) >= sizeof ring_path)
		p = RING_DEFAULT_PATH;
	memcpy(ring_path, p, strlen(p) + 1);
}

static struct shim_ring *handle_get(void)
{
	int i = atomic_load(&cur);
	if (i == NO_HANDLE)
		return NULL;
	atomic_fetch_add(&handles[i].users, 1);
	if (atomic_load(&cur) == i)
		return &handles[i];
	atomic_fetch_sub(&handles[i].users, 1);
	return NULL;
}

static void handle_put(struct shim_ring *h)
{
	atomic_fetch_sub_explicit(&h->users, 1, memory_order_release);
}

/* &handles[cur].cfg, NULL while detached (shim_current_config): stored
 * after cur is, so a reader that sees it sees that handle's cfg filled. */
const struct conn_config *_Atomic shim_cfg_now;

static void register_producer(struct shim_ring *h, uint64_t now)
{
	uint16_t gen = 0;
	int idx = ring_producer_register(&h->r, atomic_load(&shim_pid), shim_workload,
					 shim_namespace, now, &gen);
	if (idx < 0) {
		SHIM_DEBUG("producer table full: records carry no identity");
		atomic_store_explicit(&h->ident, ring_producer_ref(RING_NO_PRODUCER, 0),
				      memory_order_relaxed);
	} else {
		atomic_store_explicit(&h->ident, ring_producer_ref((unsigned)idx, gen),
				      memory_order_relaxed);
	}
}

/* Unmap the parked handle once nobody pins it. */
static void reap_stale(void)
{
	int s = atomic_load(&stale);
	if (s != NO_HANDLE && atomic_load(&handles[s].users) == 0) {
		ring_detach(&handles[s].r);
		atomic_store(&stale, NO_HANDLE);
	}
}

static void retire_current(int c)
{
	atomic_store(&cur, NO_HANDLE);
	atomic_store_explicit(&shim_cfg_now, NULL, memory_order_release);
	if (atomic_load(&handles[c].users) == 0)
		ring_detach(&handles[c].r);
	else
		atomic_store(&stale, c);
}

static void try_attach(uint64_t now)
{
	int slot = NO_HANDLE;
	struct shim_ring *h;
	int rc;

	for (int i = 0; i < HANDLES; i++)
		if (handles[i].r.hdr == NULL && i != atomic_load(&stale)) {
			slot = i;
			break;
		}
	if (slot == NO_HANDLE)
		return; /* both busy: next second */
	h = &handles[slot];
	rc = ring_attach(ring_path, &h->r);
	if (rc != 0) {
		SHIM_DEBUG("ring %s not attached: %s", ring_path, ring_strerror(rc));
		memset(&h->r, 0, sizeof h->r);
		return;
	}
	register_producer(h, now);
	h->cfg = shim_base_config;
	ring_label_headers_get(&h->r, h->cfg.label_headers);
	uint64_t lost = atomic_exchange(&detached_drops, 0);
	if (lost > 0)
		ring_count_drop(&h->r, RING_DROP_DETACHED, lost);
	atomic_store_explicit(&h->users, 0, memory_order_relaxed);
	SHIM_DEBUG("attached %s: producer %#x, %llu records lost while detached", ring_path,
		   atomic_load(&h->ident), (unsigned long long)lost);
	/* seq_cst store: publishes h (and its cfg) to handle_get. */
	atomic_store(&cur, slot);
	atomic_store_explicit(&shim_cfg_now, &h->cfg, memory_order_release);
}

/* At most once a second, in one thread: reap, touch, re-attach. */
static void maintain(uint64_t now)
{
	uint64_t due = atomic_load_explicit(&next_attempt_ns, memory_order_relaxed);
	int c;

	if (now < due || !atomic_compare_exchange_strong(&next_attempt_ns, &due,
							 now + ATTACH_INTERVAL_NS))
		return;
	reap_stale();
	c = atomic_load(&cur);
	if (c != NO_HANDLE && !ring_retired(&handles[c].r)) {
		uint32_t id = atomic_load_explicit(&handles[c].ident, memory_order_relaxed);
		if ((id & 0xffffu) == RING_NO_PRODUCER ||
		    ring_producer_touch(&handles[c].r, (int)(id & 0xffffu), (uint16_t)(id >> 16),
					now) == -ENOENT)
			register_producer(&handles[c], now); /* full before, or reaped */
		return;
	}
	if (c != NO_HANDLE) {
		if (atomic_load(&stale) != NO_HANDLE)
			return; /* the last retired mapping is still pinned: wait */
		SHIM_DEBUG("ring retired by the daemon: re-attaching");
		retire_current(c);
	}
	try_attach(now);
}

void shim_ring_poll(void)
{
	uint64_t now = shim_now_ns();
	if (now >= atomic_load_explicit(&next_attempt_ns, memory_order_relaxed))
		maintain(now);
}

/* Publish one entry of any kind (rec->pid and kind set by the caller).
 * now: the monotonic time of the feed that finished it (0: read the
 * clock), only to tell whether the once-a-second maintenance is due. */
static void publish(struct tr_record *rec, uint64_t now)
{
	struct shim_ring *h;

	if (now == 0)
		now = shim_now_ns();

	if (SHIM_UNLIKELY(now >= atomic_load_explicit(&next_attempt_ns, memory_order_relaxed)))
		maintain(now);
	h = handle_get();
	if (h == NULL || ring_retired(&h->r)) {
		if (h != NULL)
			handle_put(h);
		atomic_fetch_add_explicit(&detached_drops, 1, memory_order_relaxed);
		return;
	}
	uint32_t id = atomic_load_explicit(&h->ident, memory_order_relaxed);
	rec->producer = ring_producer_ref_index(id);
	rec->producer_gen = ring_producer_ref_gen(id);
	(void)ring_publish(&h->r, rec); /* a drop is counted by the ring */
	handle_put(h);
}

uint64_t shim_feed_clock(void *vctx)
{
	struct shim_emit_ctx *ctx = vctx;
	ctx->now = shim_now_ns();
	return ctx->now;
}

void shim_emit(void *vctx, struct tr_record *rec)
{
	const struct shim_emit_ctx *ctx = vctx;

	rec->flags |= ctx->extra_flags;
	rec->pid = atomic_load_explicit(&shim_pid, memory_order_relaxed);
	rec->local = ctx->slot->local;
	rec->peer = ctx->slot->peer;
	publish(rec, ctx->now);
}

void shim_emit_event(struct tr_event *ev)
{
	union rec_entry *e = (union rec_entry *)ev;

	ev->kind = REC_KIND_EVENT;
	ev->pid = atomic_load_explicit(&shim_pid, memory_order_relaxed);
	publish(&e->exchange, 0);
}

int shim_emit_body(void *vctx, struct rec_body *b)
{
	(void)vctx;
	struct shim_ring *h = handle_get();
	if (h == NULL || ring_retired(&h->r)) {
		if (h != NULL)
			handle_put(h);
		atomic_fetch_add_explicit(&detached_drops, 1, memory_order_relaxed);
		return -1;
	}
	uint32_t id = atomic_load_explicit(&h->ident, memory_order_relaxed);
	b->pid = atomic_load_explicit(&shim_pid, memory_order_relaxed);
	b->producer = (uint16_t)(id & 0xffffu);
	b->producer_gen = (uint16_t)(id >> 16);
	/* Same slot layout for every kind (record_body.h); the ring copies bytes. */
	int rc = ring_publish(&h->r, (const struct tr_record *)(const void *)b);
	handle_put(h);
	return rc == 0 ? 0 : -1;
}

void shim_ring_after_fork_child(void)
{
	/* Single-threaded now: pins held by threads that did not survive the
	 * fork are void; the new pid needs its own producer entry. */
	for (int i = 0; i < HANDLES; i++)
		atomic_store(&handles[i].users, 0);
	int c = atomic_load(&cur);
	if (c != NO_HANDLE)
		register_producer(&handles[c], shim_now_ns());
}
