/*
 * dl_rebind.c - libraries opened with RTLD_DEEPBIND still have their calls
 * seen (the dlopen hook is hooks_dl.c).
 *
 * RTLD_DEEPBIND puts an object's own dependency scope ahead of the global
 * scope, where LD_PRELOAD libraries live: PHP opens every extension so,
 * and libcurl under php-curl then binds send/recv (and SSL_write...)
 * straight to libc and libssl, past the shim. After a dlopen with that
 * flag, the objects it brought in are rebound for the names the shim
 * interposes, and only those: each GOT slot (GLOB_DAT, JUMP_SLOT) whose
 * symbol the object imports by one of those names and that now holds
 * that name's definition in a library (or a lazy PLT stub not yet
 * resolved) is pointed at the shim's hook. Every other binding of the
 * program, and of those objects, is left as the loader made it; objects
 * loaded without the flag are never touched (the loader bound them to the
 * shim already).
 *
 * Cost: nothing on any per-call path. A dlopen pays one dl_iterate_phdr
 * before and after; a DEEPBIND one also a walk of its new objects'
 * relocations. The GOT slots of a read-only (RELRO) region are written
 * between two mprotect calls. Known limits: the real dlopen sees this
 * library as its caller (it matters only for a "$ORIGIN" in the file name
 * passed to dlopen); two threads opening libraries at the same instant
 * may leave the other's objects unrebound. glibc only: musl has no
 * RTLD_DEEPBIND.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim_internal.h"

#if SHIM_LIBC_GLIBC && defined(RTLD_DEEPBIND) &&                                           \
	(defined(__x86_64__) || defined(__aarch64__))
#define DL_REBIND 1
#if defined(__x86_64__)
#define REL_GLOB_DAT R_X86_64_GLOB_DAT
#define REL_JUMP_SLOT R_X86_64_JUMP_SLOT
#else
#define REL_GLOB_DAT R_AARCH64_GLOB_DAT
#define REL_JUMP_SLOT R_AARCH64_JUMP_SLOT
#endif

/* The names the shim interposes (libtokenring.map), bar dlopen itself. */
static const char *const hooked[] = {
	"send", "sendto", "sendmsg", "sendmmsg", "write", "writev", "recv", "recvfrom",
	"recvmsg", "recvmmsg", "read", "readv", "connect", "accept", "accept4", "close",
	"close_range", "dup2", "dup3", "fork", "SSL_read", "SSL_read_ex", "SSL_peek",
	"SSL_peek_ex", "SSL_write", "SSL_write_ex", "SSL_shutdown", "SSL_free",
	"gnutls_record_recv", "gnutls_record_send", "gnutls_bye", "gnutls_deinit",
};
#define N_HOOKED (sizeof hooked / sizeof *hooked)

/* Objects present at the last look (their load bias): never rebound. */
#define DL_SEEN_MAX 1024
static _Atomic uintptr_t seen[DL_SEEN_MAX];
static _Atomic unsigned n_seen;

static bool was_seen(uintptr_t base)
{
	unsigned n = atomic_load_explicit(&n_seen, memory_order_acquire);
	if (n > DL_SEEN_MAX)
		n = DL_SEEN_MAX;
	for (unsigned i = 0; i < n; i++)
		if (atomic_load_explicit(&seen[i], memory_order_relaxed) == base)
			return true;
	return false;
}

static void mark_seen(uintptr_t base)
{
	unsigned i = atomic_fetch_add_explicit(&n_seen, 1, memory_order_relaxed);
	if (i < DL_SEEN_MAX)
		atomic_store_explicit(&seen[i], base, memory_order_relaxed);
	/* release: pairs with the acquire in was_seen */
	atomic_fetch_add_explicit(&n_seen, 0, memory_order_release);
}

static int snapshot_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (!was_seen(info->dlpi_addr))
		mark_seen(info->dlpi_addr);
	return 0;
}

/* One object's view of itself, from its program headers. */
struct dl_obj {
	uintptr_t bias, lo, hi;        /* load bias; extent of its PT_LOAD segments */
	uintptr_t relro_lo, relro_hi;  /* its read-only-after-relocation range */
	const ElfW(Dyn) *dyn;
};

static void obj_from_info(const struct dl_phdr_info *info, struct dl_obj *o)
{
	memset(o, 0, sizeof *o);
	o->bias = info->dlpi_addr;
	o->lo = UINTPTR_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD) {
			if (a < o->lo)
				o->lo = a;
			if (a + ph->p_memsz > o->hi)
				o->hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_DYNAMIC) {
			o->dyn = (const ElfW(Dyn) *)a;
		} else if (ph->p_type == PT_GNU_RELRO) {
			o->relro_lo = a;
			o->relro_hi = a + ph->p_memsz;
		}
	}
}

/* A .dynamic address: glibc relocates these in place where .dynamic is
 * writable (x86-64), not where it is read-only (an offset, below the bias). */
static uintptr_t dyn_addr(uintptr_t v, uintptr_t bias) { return v < bias ? v + bias : v; }

/* Is p a definition of name in a library (not the program, not this
 * shim)? Asked of the object that holds p, in its own scope. */
static bool is_library_definition(void *p, const char *name, uintptr_t self)
{
	Dl_info di;
	void *h, *q;

	if (p == NULL || !dladdr(p, &di) || (uintptr_t)di.dli_fbase == self ||
	    di.dli_fname == NULL || di.dli_fname[0] == '\0')
		return false; /* ours, unknown, or the main program */
	h = dlopen(di.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	if (h == NULL)
		return false;
	q = dlsym(h, name);
	dlclose(h); /* NOLOAD: only drops the reference just taken */
	return q == p;
}

static void got_write(const struct dl_obj *o, void **slot, void *value)
{
	uintptr_t a = (uintptr_t)slot;
	if (a >= o->relro_lo && a < o->relro_hi) {
		uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
		void *page = (void *)(a & ~(pg - 1));
		if (mprotect(page, pg, PROT_READ | PROT_WRITE) != 0)
			return; /* cannot write: the call stays unseen, nothing breaks */
		__atomic_store_n(slot, value, __ATOMIC_RELAXED);
		mprotect(page, pg, PROT_READ);
		return;
	}
	__atomic_store_n(slot, value, __ATOMIC_RELAXED);
}

struct rebind_ctx {
	uintptr_t self;              /* this library's load bias */
	void *hook[N_HOOKED];        /* this library's definitions */
	unsigned rebound;
};

static void rebind_relocs(const struct dl_obj *o, const ElfW(Rela) *r, size_t bytes,
			  const ElfW(Sym) *symtab, const char *strtab, struct rebind_ctx *c)
{
	for (size_t i = 0; i < bytes / sizeof *r; i++) {
		unsigned type = (unsigned)ELF64_R_TYPE(r[i].r_info);
		const ElfW(Sym) *sym = &symtab[ELF64_R_SYM(r[i].r_info)];
		if ((type != REL_GLOB_DAT && type != REL_JUMP_SLOT) || sym->st_shndx != SHN_UNDEF)
			continue;
		const char *name = strtab + sym->st_name;
		for (size_t k = 0; k < N_HOOKED; k++) {
			if (c->hook[k] == NULL || strcmp(name, hooked[k]) != 0)
				continue;
			void **slot = (void **)(o->bias + r[i].r_offset);
			void *cur = *slot;
			uintptr_t ca = (uintptr_t)cur;
			bool lazy = type == REL_JUMP_SLOT && ca >= o->lo && ca < o->hi;
			if (cur != c->hook[k] &&
			    (lazy || is_library_definition(cur, name, c->self))) {
				got_write(o, slot, c->hook[k]);
				c->rebound++;
			}
			break;
		}
	}
}

static void rebind_object(const struct dl_phdr_info *info, struct rebind_ctx *c)
{
	struct dl_obj o;
	uintptr_t symtab = 0, strtab = 0, rela = 0, jmprel = 0;
	size_t relasz = 0, pltrelsz = 0;
	long pltrel = DT_RELA;

	obj_from_info(info, &o);
	if (o.dyn == NULL)
		return;
	for (const ElfW(Dyn) *d = o.dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = dyn_addr(d->d_un.d_ptr, o.bias); break;
		case DT_STRTAB: strtab = dyn_addr(d->d_un.d_ptr, o.bias); break;
		case DT_RELA: rela = dyn_addr(d->d_un.d_ptr, o.bias); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		case DT_JMPREL: jmprel = dyn_addr(d->d_un.d_ptr, o.bias); break;
		case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
		case DT_PLTREL: pltrel = (long)d->d_un.d_val; break;
		default: break;
		}
	}
	if (symtab == 0 || strtab == 0)
		return;
	if (rela != 0)
		rebind_relocs(&o, (const ElfW(Rela) *)rela, relasz, (const ElfW(Sym) *)symtab,
			      (const char *)strtab, c);
	if (jmprel != 0 && pltrel == DT_RELA)
		rebind_relocs(&o, (const ElfW(Rela) *)jmprel, pltrelsz,
			      (const ElfW(Sym) *)symtab, (const char *)strtab, c);
}

static int rebind_new(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rebind_ctx *c = arg;
	(void)size;
	if (was_seen(info->dlpi_addr))
		return 0;
	mark_seen(info->dlpi_addr);
	if (info->dlpi_addr != c->self)
		rebind_object(info, c);
	return 0;
}

void shim_dl_snapshot(void)
{
	dl_iterate_phdr(snapshot_one, NULL);
}

void shim_dl_rebind(void)
{
	struct rebind_ctx c = {.rebound = 0};
	Dl_info me;
	void *h;

	int saved_errno = errno;

	if (!dladdr((void *)shim_dl_rebind, &me))
		goto out;
	c.self = (uintptr_t)me.dli_fbase;
	/* Our own definitions: looked up from this object first. */
	h = dlopen(me.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	if (h == NULL)
		goto out;
	for (size_t k = 0; k < N_HOOKED; k++)
		c.hook[k] = dlsym(h, hooked[k]);
	dlclose(h);
	dl_iterate_phdr(rebind_new, &c);
	SHIM_DEBUG("RTLD_DEEPBIND dlopen: %u calls rebound to the shim", c.rebound);
out:
	(void)dlerror(); /* the app's dlopen succeeded: no error of ours to report */
	errno = saved_errno;
}
#else
void shim_dl_snapshot(void) {}
void shim_dl_rebind(void) {}
#endif

