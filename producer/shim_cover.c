/*
 * shim_cover.c - what the shim reports it cannot read (record_event.h):
 * TLS connections whose plaintext no hook saw (opaque: SNI and bytes),
 * connections passed through untracked (slot table full, fd out of
 * range), and a process that cannot be read at all (a Go binary: it makes
 * its own system calls, so no hook ever runs). One ring entry each, built
 * on the stack and published lock-free like an exchange record.
 */
#include <elf.h>
#include <link.h>
#include <string.h>
#include <time.h>

#include "record_event.h"
#include "shim_internal.h"

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void event_init(struct tr_event *ev, unsigned type, unsigned reason)
{
	memset(ev, 0, sizeof *ev);
	ev->type = (uint16_t)type;
	ev->reason = (uint16_t)reason;
	ev->count = 1;
	ev->start_ns = wall_ns();
}

void shim_cover_opaque(const struct fd_slot *s, const struct fdt_opaque *o)
{
	struct tr_event ev;

	event_init(&ev, REC_EVENT_OPAQUE_TLS, REC_REASON_NONE);
	ev.start_ns = o->start_wall_ns;
	ev.duration_ns = shim_now_ns() - o->start_mono_ns;
	ev.bytes_sent = atomic_load_explicit(&o->sent, memory_order_relaxed);
	ev.bytes_received = atomic_load_explicit(&o->received, memory_order_relaxed);
	ev.reporter = o->reporter;
	ev.local = s->local;
	ev.peer = s->peer;
	memcpy(ev.sni, o->sni, sizeof ev.sni < sizeof o->sni ? sizeof ev.sni : sizeof o->sni);
	ev.sni[sizeof ev.sni - 1] = '\0';
	shim_emit_event(&ev);
}

void shim_cover_untracked(unsigned reason)
{
	struct tr_event ev;

	event_init(&ev, REC_EVENT_UNTRACKED, reason);
	shim_ring_poll();
	shim_emit_event(&ev);
}

/* The Go linker marks every binary with an ELF note: owner "Go", type 4
 * (the Go build ID), in a PT_NOTE segment of the program itself. */
#define GO_NOTE_BUILDID 4

static bool notes_have_go(const char *p, size_t len)
{
	while (len >= sizeof(ElfW(Nhdr))) {
		const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
		size_t name = (n->n_namesz + 3u) & ~3u, desc = (n->n_descsz + 3u) & ~3u;
		size_t step = sizeof *n + name + desc;
		if (step > len)
			return false;
		/* the Go linker writes the owner as "Go\0\0" (namesz 4) */
		if (n->n_type == GO_NOTE_BUILDID && (n->n_namesz == 3 || n->n_namesz == 4) &&
		    memcmp(p + sizeof *n, "Go", 3) == 0)
			return true;
		p += step;
		len -= step;
	}
	return false;
}

static int program_is_go(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_NOTE &&
		    notes_have_go((const char *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz)) {
			*(bool *)arg = true;
			break;
		}
	}
	return 1; /* the first object is the program: stop there */
}

void shim_cover_init(void)
{
	bool go = false;
	struct tr_event ev;

	dl_iterate_phdr(program_is_go, &go);
	if (!go)
		return;
	SHIM_DEBUG("a Go binary: its own system calls and TLS bypass libc, nothing can be read");
	event_init(&ev, REC_EVENT_UNREADABLE, REC_REASON_GO);
	shim_ring_poll();
	shim_emit_event(&ev);
}
