/*
 * shim.c - process-wide state of libtokenring.so: the one-time lazy init,
 * the settings read from the environment, the pid, debug output.
 *
 * Init is lock-free and may run from any hook, before the constructor and
 * inside a signal handler: the first thread to CAS the mode from UNINIT to
 * INITING does it (read the environment, mmap the fd table); any other
 * thread, or the same thread re-entering, sees INITING and passes its call
 * through untouched rather than wait.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "identity.h"
#include "ring.h"
#include "shim_internal.h"

_Atomic int shim_mode;
struct conn_config shim_base_config;
_Atomic uint32_t shim_pid;
char shim_workload[RING_WORKLOAD_LEN];
char shim_namespace[RING_NAMESPACE_LEN];
int shim_debug;

void shim_log(const char *fmt, ...)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "tokenring[%u]: ",
			 atomic_load_explicit(&shim_pid, memory_order_relaxed));
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof buf)
		n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof buf - 1)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	/* Raw syscall: never re-enters our write hook, never touches stdio. */
	syscall(SYS_write, 2, buf, (size_t)n);
}

static bool env_true(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0 && strcmp(v, "false") != 0;
}

void shim_config_from_env(struct conn_config *cfg)
{
	const char *v;

	memset(cfg, 0, sizeof *cfg);
	cfg->clock = shim_feed_clock;
	v = getenv("TOKENRING_HTTP");
	cfg->http_all = v != NULL && strcmp(v, "all") == 0;
	v = getenv("TOKENRING_LLM_PATHS");
	while (v != NULL && *v != '\0' && cfg->n_llm_paths < CONN_MAX_LLM_PATHS) {
		const char *end = strchr(v, ',');
		size_t len = end ? (size_t)(end - v) : strlen(v);
		/* An empty item or one too long for the table is ignored, not cut:
		 * a cut prefix would match paths the user did not name. */
		if (len > 0 && len < CONN_LLM_PATH_LEN) {
			memcpy(cfg->llm_paths[cfg->n_llm_paths], v, len);
			cfg->llm_paths[cfg->n_llm_paths][len] = '\0';
			cfg->n_llm_paths++;
		}
		v = end ? end + 1 : NULL;
	}
}

int shim_init(void)
{
	int expected = SHIM_MODE_UNINIT;
	int saved_errno = errno;
	const char *why = "";

	if (!atomic_compare_exchange_strong_explicit(&shim_mode, &expected, SHIM_MODE_INITING,
						     memory_order_acq_rel,
						     memory_order_acquire))
		return expected;

	atomic_store_explicit(&shim_pid, (uint32_t)syscall(SYS_getpid), memory_order_relaxed);
	shim_debug = env_true("TOKENRING_DEBUG");
	if (!shim_libc_matches(&why)) {
		/* The other C library's build, preloaded here by mistake or by a
		 * selector that could not tell (docs/containers.md): loaded
		 * cleanly, it must now do nothing at all. */
		SHIM_DEBUG("%s: stepping aside, pure passthrough", why);
		atomic_store_explicit(&shim_mode, SHIM_MODE_DISABLED, memory_order_release);
		errno = saved_errno;
		return SHIM_MODE_DISABLED;
	}
	if (env_true("TOKENRING_DISABLE")) {
		SHIM_DEBUG("TOKENRING_DISABLE set: pure passthrough");
		atomic_store_explicit(&shim_mode, SHIM_MODE_DISABLED, memory_order_release);
		errno = saved_errno;
		return SHIM_MODE_DISABLED;
	}
	shim_config_from_env(&shim_base_config);
	shim_base_config.body_emit = shim_emit_body; /* compressed bodies to tokenringd */
	shim_ring_init();
	identity_from_env(shim_workload, sizeof shim_workload, shim_namespace,
			  sizeof shim_namespace);
	if (fdt_init() != 0) {
		SHIM_DEBUG("fd table allocation failed: passthrough");
		atomic_store_explicit(&shim_mode, SHIM_MODE_DISABLED, memory_order_release);
		errno = saved_errno;
		return SHIM_MODE_DISABLED;
	}
	SHIM_DEBUG("active: workload=%s namespace=%s http_all=%d llm_paths=%u", shim_workload,
		   shim_namespace, shim_base_config.http_all, shim_base_config.n_llm_paths);
	/* release: pairs with the acquire loads of shim_mode / fdt_table in the
	 * hooks, so they see the config and table filled. */
	atomic_store_explicit(&shim_mode, SHIM_MODE_ACTIVE, memory_order_release);
	errno = saved_errno;
	return SHIM_MODE_ACTIVE;
}

/* Early, but not first: hooks may already have run init. */
__attribute__((constructor)) static void shim_constructor(void)
{
	for (int i = 0; i < REAL_COUNT; i++)
		(void)shim_real((enum shim_real_id)i);
	/* Here, not in the lazy init (which may run in a signal handler):
	 * dl_iterate_phdr takes the loader's lock. */
	if (shim_init() == SHIM_MODE_ACTIVE)
		shim_cover_init();
}

/* exit(): connections still open are reported (opaque ones only: an HTTP
 * exchange in flight at exit was never seen to end). */
__attribute__((destructor)) static void shim_destructor(void)
{
	if (atomic_load_explicit(&shim_mode, memory_order_acquire) == SHIM_MODE_ACTIVE)
		fdt_flush_opaque();
}
