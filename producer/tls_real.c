/*
 * tls_real.c - the real TLS library functions behind hooks_tls.c.
 *
 * The shim links neither libssl nor libgnutls (it depends on libc alone):
 * a hook runs only because the process called SSL_write or
 * gnutls_record_send, so the library is loaded by then. Which copy is "the
 * real one" depends on the caller: a process may hold two (the system
 * libssl for Python's ssl module, and a renamed copy bundled in a wheel
 * for libpq), and an SSL * of one must never reach the other. So the real
 * function is the one the *calling object* would have bound to without
 * the shim: looked up in that object's own scope (dlopen(RTLD_NOLOAD) of
 * it, then dlsym: the object and its dependencies, where the shim is not).
 * Then, as the dynamic linker would: the global scope comes first, for
 * the symbol version the caller links against (the version of the
 * definition its own scope has). So a copy bundled with other version
 * tags (OpenSSL 1.1 in a wheel, OpenSSL 3 in the system) is the caller's,
 * and a same-version duplicate loses to the global copy, as without the
 * shim. A caller whose scope finds only the shim (the main program) gets
 * dlsym(RTLD_NEXT).
 *
 * The answer is cached per hook and per calling object, by the address
 * range of that object's code: the per-call cost is comparing the return
 * address with a few ranges. Entries are filled once (claimed with a CAS,
 * published with a release store) and never change; when a hook's entries
 * are all taken, further callers resolve on every call (slow, correct).
 */
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "tls.h"

struct tls_sym {
	const char *name;
	const char *lib; /* file name prefix of the usual library defining it */
};

static const struct tls_sym syms[TLS_REAL_COUNT] = {
	[TLS_SSL_READ] = {"SSL_read", "libssl.so"},
	[TLS_SSL_READ_EX] = {"SSL_read_ex", "libssl.so"},
	[TLS_SSL_PEEK] = {"SSL_peek", "libssl.so"},
	[TLS_SSL_PEEK_EX] = {"SSL_peek_ex", "libssl.so"},
	[TLS_SSL_WRITE] = {"SSL_write", "libssl.so"},
	[TLS_SSL_WRITE_EX] = {"SSL_write_ex", "libssl.so"},
	[TLS_SSL_SHUTDOWN] = {"SSL_shutdown", "libssl.so"},
	[TLS_SSL_FREE] = {"SSL_free", "libssl.so"},
	[TLS_SSL_GET_FD] = {"SSL_get_fd", "libssl.so"},
	[TLS_GNUTLS_RECORD_RECV] = {"gnutls_record_recv", "libgnutls.so"},
	[TLS_GNUTLS_RECORD_SEND] = {"gnutls_record_send", "libgnutls.so"},
	[TLS_GNUTLS_BYE] = {"gnutls_bye", "libgnutls.so"},
	[TLS_GNUTLS_DEINIT] = {"gnutls_deinit", "libgnutls.so"},
	[TLS_GNUTLS_TRANSPORT_GET_INT] = {"gnutls_transport_get_int", "libgnutls.so"},
};

struct tls_real_ent {
	_Atomic int ready; /* release-stored after lo, hi, fn */
	uintptr_t lo, hi;  /* the calling object's code */
	void *fn;
};

static struct tls_real_ent cache[TLS_REAL_COUNT][TLS_REAL_CALLERS];
static _Atomic unsigned used[TLS_REAL_COUNT];

/* ---- finding objects ---- */

struct obj_query {
	uintptr_t addr;     /* find the object whose code holds addr... */
	const char *prefix; /* ...or the first whose file name starts so */
	const char *name;   /* out: its name ("" for the main program) */
	uintptr_t lo, hi;   /* out: its executable segment */
	uintptr_t bias;     /* out: its load bias */
	const ElfW(Dyn) *dyn; /* out: its dynamic section */
};

static int find_obj(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct obj_query *q = arg;
	(void)size;
	if (q->prefix != NULL) {
		const char *base = strrchr(info->dlpi_name, '/');
		base = base ? base + 1 : info->dlpi_name;
		if (strncmp(base, q->prefix, strlen(q->prefix)) != 0)
			return 0;
		q->name = info->dlpi_name;
		return 1;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || q->addr < lo ||
		    q->addr >= lo + ph->p_memsz)
			continue;
		q->name = info->dlpi_name;
		q->lo = lo;
		q->hi = lo + ph->p_memsz;
		q->bias = info->dlpi_addr;
		for (int j = 0; j < info->dlpi_phnum; j++)
			if (info->dlpi_phdr[j].p_type == PT_DYNAMIC)
				q->dyn = (const ElfW(Dyn) *)(info->dlpi_addr +
							     info->dlpi_phdr[j].p_vaddr);
		return 1;
	}
	return 0;
}

/* The definition of name visible from object `obj` (NULL: main program),
 * or NULL if its scope has none or only ours. */
static void *lookup_in(const char *obj, const char *name, void **hp)
{
	void *h = NULL;
	void *p;
	Dl_info self, found;

	/* The dl* calls are weak in the musl build (libc_compat.h). */
	if (shim_have_dl())
		h = dlopen(obj != NULL && obj[0] != '\0' ? obj : NULL, RTLD_LAZY | RTLD_NOLOAD);
	*hp = h;
	if (h == NULL)
		return NULL;
	p = dlsym(h, name); /* the handle stays open: pointers we keep never dangle */
	if (p != NULL && dladdr(p, &found) && dladdr((void *)lookup_in, &self) &&
	    found.dli_fbase == self.dli_fbase)
		return NULL; /* the global scope: it found the hook itself */
	return p;
}

/* The version name of p, the definition of name that handle h's scope
 * finds, read from its object's version definitions; NULL if unversioned.
 * The strings live in the object's mapping. */
static const char *version_of(void *h, const char *name, void *p)
{
	struct obj_query q = {.addr = (uintptr_t)p};
	uintptr_t strtab = 0, verdef = 0;
	const ElfW(Verdef) *vd;

	/* musl has no dlvsym, and no symbol versions to choose among. */
	if (dlvsym == NULL || dl_iterate_phdr(find_obj, &q) != 1 || q.dyn == NULL)
		return NULL;
	for (const ElfW(Dyn) *d = q.dyn; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_STRTAB)
			strtab = d->d_un.d_ptr;
		else if (d->d_tag == DT_VERDEF)
			verdef = d->d_un.d_ptr;
	}
	if (strtab == 0 || verdef == 0)
		return NULL;
	/* glibc relocates these in place where .dynamic is writable (x86-64),
	 * not where it is read-only: an offset is below the load bias. */
	if (strtab < q.bias)
		strtab += q.bias;
	if (verdef < q.bias)
		verdef += q.bias;
	for (vd = (const ElfW(Verdef) *)verdef;;
	     vd = (const ElfW(Verdef) *)((const char *)vd + vd->vd_next)) {
		if (!(vd->vd_flags & VER_FLG_BASE)) {
			const ElfW(Verdaux) *aux =
				(const ElfW(Verdaux) *)((const char *)vd + vd->vd_aux);
			const char *v = (const char *)strtab + aux->vda_name;
			if (dlvsym(h, name, v) == p)
				return v;
		}
		if (vd->vd_next == 0)
			return NULL;
	}
}

static void *resolve_slow(enum tls_real_id id, uintptr_t ra, uintptr_t *lo, uintptr_t *hi)
{
	const char *name = syms[id].name;
	struct obj_query q = {.addr = ra};
	void *p = NULL, *h;

	*lo = *hi = 0;
	if (ra != 0 && dl_iterate_phdr(find_obj, &q) == 1) {
		*lo = q.lo;
		*hi = q.hi;
		p = lookup_in(q.name, name, &h);
	}
	if (p != NULL) {
		/* The global scope first, for the version the caller uses. */
		const char *v = version_of(h, name, p);
		void *g = v != NULL ? dlvsym(RTLD_NEXT, name, v) : dlsym(RTLD_NEXT, name);
		return g != NULL ? g : p;
	}
	p = shim_have_dl() ? dlsym(RTLD_NEXT, name) : NULL;
	if (p == NULL) {
		/* A library opened RTLD_LOCAL, called from code we could not
		 * place: the first loaded copy. */
		struct obj_query lib = {.prefix = syms[id].lib};
		if (dl_iterate_phdr(find_obj, &lib) == 1)
			p = lookup_in(lib.name, name, &h);
	}
	return p;
}

void *tls_real_resolve(enum tls_real_id id, const void *caller)
{
	uintptr_t ra = (uintptr_t)caller, lo, hi;
	void *p = resolve_slow(id, ra, &lo, &hi);
	unsigned n;

	if (p == NULL || lo == hi)
		return p;
	n = atomic_fetch_add_explicit(&used[id], 1, memory_order_relaxed);
	if (n < TLS_REAL_CALLERS) {
		struct tls_real_ent *e = &cache[id][n];
		e->lo = lo;
		e->hi = hi;
		e->fn = p;
		/* release: pairs with the acquire in tls_real_cached */
		atomic_store_explicit(&e->ready, 1, memory_order_release);
	} else {
		atomic_store_explicit(&used[id], TLS_REAL_CALLERS, memory_order_relaxed);
	}
	return p;
}

void *tls_real_cached(enum tls_real_id id, const void *caller)
{
	uintptr_t ra = (uintptr_t)caller;
	for (unsigned i = 0; i < TLS_REAL_CALLERS; i++) {
		const struct tls_real_ent *e = &cache[id][i];
		if (!atomic_load_explicit(&e->ready, memory_order_acquire))
			break;
		if (ra >= e->lo && ra < e->hi)
			return e->fn;
	}
	return NULL;
}
