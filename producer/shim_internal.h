/*
 * shim_internal.h - what the interposition layer's files share, and nothing
 * the outside world may see (the library exports only the interposed libc
 * symbols: see libtokenring.map).
 *
 *   shim_real.c   the real libc functions, resolved lazily with
 *                 dlsym(RTLD_NEXT), with a raw-syscall bootstrap for calls
 *                 made while dlsym itself is running
 *   shim.c        process-wide state: lazy lock-free init, environment,
 *                 pid, debug output, the constructor
 *   shim_ring.c   ring attach / re-attach (at most once a second), producer
 *                 registration, the emit callback that publishes records
 *   fdtable.c     per-fd table and connection slots (preallocated with mmap
 *                 at init), classification, the per-slot try-lock
 *   identity.c    workload / namespace identity from the environment
 *   hooks_io.c    send/recv/read/write families: feed what calls returned
 *   hooks_fd.c    connect/accept/close/close_range/dup2/dup3/fork
 *   hooks_dl.c    dlopen; dl_rebind.c: RTLD_DEEPBIND objects rebound
 *
 * Rules on every hook path: no allocation, no lock, never block, never
 * change a return value or errno, nothing that is not async-signal-safe
 * after init (init itself only reads the environment and calls mmap).
 */
#ifndef TOKENRING_SHIM_INTERNAL_H
#define TOKENRING_SHIM_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "conn.h"
#include "record.h"

#define SHIM_LIKELY(x) __builtin_expect(!!(x), 1)
#define SHIM_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- real libc functions (shim_real.c) ---- */

enum shim_real_id {
	REAL_SEND,
	REAL_SENDTO,
	REAL_SENDMSG,
	REAL_SENDMMSG,
	REAL_WRITE,
	REAL_WRITEV,
	REAL_RECV,
	REAL_RECVFROM,
	REAL_RECVMSG,
	REAL_RECVMMSG,
	REAL_READ,
	REAL_READV,
	REAL_CONNECT,
	REAL_ACCEPT,
	REAL_ACCEPT4,
	REAL_CLOSE,
	REAL_CLOSE_RANGE,
	REAL_DUP2,
	REAL_DUP3,
	REAL_FORK,
	REAL_DLOPEN,
	REAL_COUNT
};

/* Resolved pointers; NULL until resolved. Written once per entry (every
 * writer stores the same value), read relaxed on every call. */
extern void *_Atomic shim_real_fn[REAL_COUNT];

/*
 * The real function for id, resolving it on first use. Returns NULL only
 * while this thread is inside dlsym (re-entry through a hook) or if libc
 * lacks the symbol: callers then fall back to the raw system call.
 */
void *shim_real_resolve(enum shim_real_id id);

static inline void *shim_real(enum shim_real_id id)
{
	void *p = atomic_load_explicit(&shim_real_fn[id], memory_order_relaxed);
	return SHIM_LIKELY(p != NULL) ? p : shim_real_resolve(id);
}

/* ---- RTLD_DEEPBIND (dl_rebind.c, called by hooks_dl.c) ---- */

/* Before a DEEPBIND dlopen: remember the objects loaded so far. */
void shim_dl_snapshot(void);

/* After it: point the GOT slots of the objects it brought in at the
 * shim's hooks, for the interposed names only. Keeps errno. */
void shim_dl_rebind(void);

/* ---- process state (shim.c) ---- */

enum shim_mode {
	SHIM_MODE_UNINIT = 0,
	SHIM_MODE_INITING = 1, /* one thread is initialising: others pass through */
	SHIM_MODE_ACTIVE = 2,
	SHIM_MODE_DISABLED = 3, /* TOKENRING_DISABLE=1 or init failed */
};

extern _Atomic int shim_mode;

/* Run the one-time init if nobody has; returns the mode after the attempt.
 * Lock-free: a thread that loses the race (or re-enters) sees INITING and
 * passes the call through. */
int shim_init(void);

/* The parser settings from the environment (TOKENRING_HTTP, _LLM_PATHS). */
extern struct conn_config shim_base_config;

/* This process's pid (refreshed in a fork child). */
extern _Atomic uint32_t shim_pid;

/* Workload identity, computed at init. */
extern char shim_workload[];
extern char shim_namespace[];

/* CLOCK_MONOTONIC in ns (vDSO). Inline: read on every fed call. */
static inline uint64_t shim_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Debug output (TOKENRING_DEBUG=1 only), written with the real write(2).
 * Not async-signal-safe (vsnprintf): debug builds of a run only. */
extern int shim_debug;
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define SHIM_DEBUG(...)                                                                    \
	do {                                                                               \
		if (SHIM_UNLIKELY(shim_debug))                                             \
			shim_log(__VA_ARGS__);                                             \
	} while (0)

/* Parse the environment into cfg (TOKENRING_HTTP=all, TOKENRING_LLM_PATHS). */
void shim_config_from_env(struct conn_config *cfg);

/* ---- ring (shim_ring.c) ---- */

/* conn_emit_fn context: which connection, and flags to add. */
struct shim_emit_ctx {
	struct fd_slot *slot;
	uint32_t extra_flags;
	uint64_t now; /* the feed's monotonic time once read; 0: not read */
};

/* conn_config.clock: reads CLOCK_MONOTONIC into the emit context's now,
 * so the record published in the same call does not read it again. */
uint64_t shim_feed_clock(void *ctx);

/* Read TOKENRING_RING (at init). */
void shim_ring_init(void);

/* A connection starts being tracked: attach now (at most once a second)
 * so the ring's label header names are known before its first request. */
void shim_ring_poll(void);

/* Emit callback handed to conn_feed / conn_close. */
void shim_emit(void *ctx, struct tr_record *rec);

/* Publish an event entry (record_event.h): pid, producer and kind filled
 * here. Lock-free, like shim_emit. */
struct tr_event;
void shim_emit_event(struct tr_event *ev);

/* Body entry callback (conn_config.body_emit): publishes without reading
 * the clock; 0, or -1 when dropped (detached drops counted as for records). */
int shim_emit_body(void *ctx, struct rec_body *b);

/* The config conn_feed should use now (label headers of the attached ring,
 * or the base config when detached). Never NULL. Kept beside the current
 * handle by shim_ring.c, read inline on every fed call. No pin: a handle's
 * cfg is rewritten only when that slot is reused by a second re-attach
 * (two retirements, >= 2 s later), far longer than one conn_feed call
 * holds the pointer. */
extern const struct conn_config *_Atomic shim_cfg_now;
static inline const struct conn_config *shim_current_config(void)
{
	const struct conn_config *c = atomic_load_explicit(&shim_cfg_now, memory_order_acquire);
	return SHIM_LIKELY(c != NULL) ? c : &shim_base_config;
}

/* Fork child: refresh the producer registration for the new pid. */
void shim_ring_after_fork_child(void);

/* ---- fd table and connection slots (fdtable.c) ---- */

/* fd table entry: low 32 bits a code, high 32 bits the slot generation. */
#define FDT_UNKNOWN 0u /* never seen, or reset: classify on next use */
#define FDT_PASS 1u    /* not a tracked TCP/HTTP socket: pass through */
#define FDT_SLOT0 2u   /* code >= FDT_SLOT0: connection slot code - FDT_SLOT0 */

#define FDT_MAX_FDS (1u << 20) /* fds at or above pass through untracked */
#define FDT_SLOTS 4096u        /* connections tracked at once */

/* Slot state word: generation in the high 32 bits, SLOT_F_* below. */
#define SLOT_F_USED 1u
#define SLOT_F_BUSY 2u   /* one thread is feeding (the try-lock) */
#define SLOT_F_CLOSE 4u  /* whoever holds BUSY must finish and free the slot */
#define SLOT_F_DESYNC 8u /* a feed was lost to contention: stop parsing */
#define SLOT_F_GIVEUP 16u /* not HTTP/1.x (or no longer): pass the fd through */
#define SLOT_F_FINISH (SLOT_F_CLOSE | SLOT_F_DESYNC | SLOT_F_GIVEUP)
/* Fork child: the connection's exchanges belong to the parent until this
 * process moves bytes on it itself; closing it before that emits nothing. */
#define SLOT_F_INHERITED 32u

struct fd_slot {
	_Atomic uint64_t state;
	int fd;
	uint8_t seen_first; /* first byte checked (HTTP/1.x starts A-Z) */
	uint8_t pad[3];
	struct rec_addr local;
	struct rec_addr peer;
	struct conn *conn;
};

extern _Atomic(_Atomic uint64_t *) fdt_table;

/* TLS hooks (hooks_tls.c): 0 outside a TLS library call on this thread;
 * -1 inside one before any socket I/O; fd + 1 once the call moved bytes
 * on fd. How a session is mapped to its socket whatever BIO or transport
 * callback the app installed (curl's OpenSSL and GnuTLS backends). */
extern __thread int fdt_tls_seen __attribute__((tls_model("initial-exec")));

int fdt_init(void);

/* Hot-path filter: false if the call certainly needs no work (table not
 * set up, fd out of range or classified PASS). */
static inline bool fdt_maybe_tracked(int fd)
{
	if (SHIM_UNLIKELY(fdt_tls_seen != 0))
		fdt_tls_seen = fd + 1; /* inside a TLS call: this is its socket */
	_Atomic uint64_t *t = atomic_load_explicit(&fdt_table, memory_order_acquire);
	if (SHIM_UNLIKELY(t == NULL))
		return atomic_load_explicit(&shim_mode, memory_order_relaxed) !=
		       SHIM_MODE_DISABLED;
	if ((unsigned)fd >= FDT_MAX_FDS)
		return false;
	return (uint32_t)atomic_load_explicit(&t[fd], memory_order_relaxed) != FDT_PASS;
}

/* Feed the bytes of one call (an iovec array, up to total bytes) in
 * direction dir. Classifies the fd on first use. errno is preserved. */
void fdt_feed(int fd, enum conn_dir dir, const struct iovec *iov, size_t iovcnt,
	      size_t total);

/* Bytes consumed that the app never saw (MSG_TRUNC on TCP; a TLS send
 * GnuTLS resumed unseen): the stream position is lost, so parsing of this
 * connection stops. raw: the bytes were the socket's own (a raw hook), so a
 * TLS slot, fed plaintext by the TLS hooks, is left alone. */
void fdt_lose(int fd, bool raw);

/* The peer is gone (EOF as client, ECONNRESET, EPIPE): finish exchanges. */
void fdt_peer_closed(int fd, bool eof);

/* A TCP connection was established on fd (connect/accept). peer is the
 * address connect() was given, or NULL (then getpeername). role:
 * CONN_ROLE_CLIENT or CONN_ROLE_SERVER. */
void fdt_track(int fd, const struct sockaddr *peer, socklen_t peerlen, enum conn_role role);

/* fd is being closed or replaced: finish and drop its state. */
void fdt_reset(int fd);

/* Reset [first, last] (close_range). */
void fdt_reset_range(unsigned first, unsigned last);

/* Fork child: slots another (now absent) thread was feeding are dropped. */
void fdt_after_fork_child(void);

/* ---- what cannot be read (fdtable.c, shim_cover.c) ---- */

/* Slot state: a TLS connection whose first bytes were a ClientHello on the
 * raw socket: its bytes are counted, not parsed (fdt_opaque), until a TLS
 * hook shows its plaintext after all (then it is a TLS slot and nothing is
 * reported). One REC_EVENT_OPAQUE_TLS entry when it ends. */
#define SLOT_F_OPAQUE 128u
/* Slot state: finish without reporting (an opaque slot a TLS slot replaced). */
#define SLOT_F_NOREPORT 256u

/* Per-slot counters of an opaque connection (fdtable.c owns the array). */
struct fdt_opaque {
	_Atomic uint64_t sent, received;
	uint64_t start_wall_ns, start_mono_ns;
	uint8_t reporter; /* enum rec_reporter: source if this process is the client */
	/* the peer's ServerHello was fed before our ClientHello (the writing
	 * thread was descheduled between its write and its hook): the SNI is
	 * read from the ClientHello when it comes */
	_Atomic uint8_t sni_pending;
	char sni[256]; /* REC_SNI_LEN */
};

/* At exit: report the opaque connections still open (their close may
 * never be seen: libuv closes with a raw system call). */
void fdt_flush_opaque(void);

/* Report the end of an opaque connection (shim_cover.c). */
void shim_cover_opaque(const struct fd_slot *s, const struct fdt_opaque *o);

/* A connection on fd passes through untracked (reason: enum
 * rec_event_reason, REC_REASON_SLOTS_FULL or _FD_RANGE): one event. */
void shim_cover_untracked(unsigned reason);

/* At init: report this process once if it cannot be read at all (a Go
 * binary). */
void shim_cover_init(void);

/* ---- TLS plaintext (fdtable.c, fed by hooks_tls.c) ---- */

/* Slot state: the connection's bytes are fed as plaintext by a TLS
 * library hook; the raw socket hooks skip its ciphertext. Its records carry
 * REC_F_TLS. */
#define SLOT_F_TLS 64u

/* Table entry: pass-through, and known to be a TLS session whose plaintext
 * is not HTTP/1.x (HTTP/2 over ALPN...) or whose fd is not TCP. Low half
 * FDT_PASS, so every other reader sees a plain PASS; only the TLS hooks
 * tell it apart (a plain PASS there means "ciphertext seen: start a TLS
 * slot"). */
#define FDT_PASS_TLS (((uint64_t)1 << 32) | FDT_PASS)

/* Were fd's first bytes TLS ciphertext the raw hooks saw (classified
 * PASS, or an opaque slot)? Lock-free. */
bool fdt_ciphertext_seen(int fd);

/* Feed len plaintext bytes a TLS call on fd moved in direction dir. The
 * first call on a fd (classified PASS by its ciphertext) installs a TLS
 * slot for it. Returns the table entry fed (for fdt_tls_end), 0 if the
 * bytes were not tracked. errno is preserved. */
uint64_t fdt_tls_feed(int fd, enum conn_dir dir, const void *buf, size_t len);

/* The TLS session on fd ended (close_notify received: eof; shutdown or
 * free: !eof): finish its exchanges as fdt_peer_closed does, only if fd
 * still holds entry (the fd may have been closed and reused since). */
void fdt_tls_end(int fd, uint64_t entry, bool eof);

/* A TLS session with no socket of its own (memory BIOs: Python asyncio's
 * SSLObject) is tracked by a slot the fd table never names, reached only
 * through its entry (the hooks keep it per session). entry 0: take a
 * fresh slot. Returns the entry to pass next time, FDT_PASS_TLS once its
 * plaintext is known not to be HTTP/1.x or its slot was lost (then nothing
 * more is fed), 0 if no slot was free for a fresh session. The records'
 * local and peer addresses are unknown. */
uint64_t fdt_tls_detached_feed(uint64_t entry, enum conn_dir dir, const void *buf, size_t len);

/* End the exchanges of such a session (free: also return its slot). */
void fdt_tls_detached_end(uint64_t entry, bool eof, bool free_slot);

/* Convert a sockaddr to a record address (v4-mapped v6 becomes v4). */
void shim_addr_from_sockaddr(struct rec_addr *out, const struct sockaddr *sa, socklen_t len);

#endif
