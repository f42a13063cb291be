/*
 * ring_file.c - creating, adopting, attaching and unmapping the ring file.
 *
 * The daemon creates a new file under a temporary name, initialises it
 * completely, marks it LIVE and only then renames it over the path, so a
 * producer can never map a half-initialised ring. A daemon restart adopts
 * a file of the same layout (producers stay attached and nothing is lost);
 * a file of another layout is marked RETIRED (producers re-attach) and
 * replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring_internal.h"

size_t ring_memsize(uint32_t capacity)
{
	if (capacity < RING_MIN_CAPACITY || capacity > RING_MAX_CAPACITY ||
	    (capacity & (capacity - 1)) != 0)
		return 0;
	return (size_t)(ring_slots_offset() + (uint64_t)capacity * REC_SIZE);
}

void ring_config_default(struct ring_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = RING_DEFAULT_CAPACITY;
	cfg->mode = RING_DEFAULT_MODE;
	cfg->uid = (uid_t)-1;
	cfg->gid = (gid_t)-1;
	cfg->skip_timeout_ns = RING_DEFAULT_SKIP_TIMEOUT_NS;
}

const char *ring_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case RING_EMAGIC:
		return "not a tokenring ring file (bad magic)";
	case RING_EVERSION:
		return "ring file of another layout version";
	case RING_ERECSIZE:
		return "ring file of another record size";
	case RING_EGEOMETRY:
		return "ring file has a bad capacity or size";
	case RING_ERETIRED:
		return "ring file retired by the daemon";
	case RING_ENOTREG:
		return "ring path is a symlink or not a regular file";
	default:
		return strerror(err);
	}
}

/* Check a mapped header against what this build expects. size is the
 * file size; nothing past it is read. */
static int ring_validate(const struct ring_header *h, size_t size)
{
	if (size < RING_CONTROL_SIZE || h->magic != RING_MAGIC)
		return -RING_EMAGIC;
	if (h->version != RING_VERSION)
		return -RING_EVERSION;
	if (h->record_size != REC_SIZE)
		return -RING_ERECSIZE;
	size_t want = ring_memsize(h->capacity);
	if (want == 0 || want != size || h->file_size != size ||
	    h->slots_offset != ring_slots_offset() || h->producers_cap != RING_PRODUCERS)
		return -RING_EGEOMETRY;
	return 0;
}

static void ring_fill_handle(struct ring *r, void *map, size_t size)
{
	memset(r, 0, sizeof(*r));
	r->hdr = map;
	r->producers = (struct ring_producer *)((unsigned char *)map + RING_CONTROL_SIZE);
	r->slots = (unsigned char *)map + r->hdr->slots_offset;
	r->map_size = size;
	r->capacity = r->hdr->capacity;
	r->mask = r->capacity - 1;
	r->epoch = r->hdr->epoch;
	r->skip_timeout_ns = RING_DEFAULT_SKIP_TIMEOUT_NS;
}

/* The handle owns a mapping of the file st describes. */
static void ring_fill_mapped(struct ring *r, void *map, size_t size, const struct stat *st)
{
	ring_fill_handle(r, map, size);
	r->dev = st->st_dev;
	r->ino = st->st_ino;
	r->mapped = true;
}

/* Open path without following a symlink; the fd must be a regular file. */
static int ring_open(const char *path, int flags, struct stat *st)
{
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return (errno == ELOOP || errno == EISDIR) ? -RING_ENOTREG : -errno;
	if (fstat(fd, st) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -RING_ENOTREG;
	}
	return fd;
}

int ring_attach(const char *path, struct ring *out)
{
	struct stat st;
	int fd = ring_open(path, O_RDWR, &st);
	if (fd < 0)
		return fd;
	int err;
	if ((size_t)st.st_size < RING_CONTROL_SIZE) {
		err = -RING_EMAGIC;
		goto out_close;
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto out_close;
	}
	err = ring_validate(map, (size_t)st.st_size);
	if (err == 0 && atomic_load_explicit(&((struct ring_header *)map)->state,
					     memory_order_acquire) != RING_STATE_LIVE)
		err = -RING_ERETIRED;
	if (err != 0) {
		munmap(map, (size_t)st.st_size);
		goto out_close;
	}
	ring_fill_mapped(out, map, (size_t)st.st_size, &st);
out_close:
	close(fd);
	return err;
}

void ring_detach(struct ring *r)
{
	if (r->hdr && r->mapped)
		munmap(r->hdr, r->map_size);
	memset(r, 0, sizeof(*r));
}

int ring_attach_mem(void *mem, size_t size, struct ring *out)
{
	memset(out, 0, sizeof(*out));
	int err = ring_validate(mem, size);
	if (err == 0 && atomic_load_explicit(&((struct ring_header *)mem)->state,
					     memory_order_acquire) != RING_STATE_LIVE)
		err = -RING_ERETIRED;
	if (err == 0)
		ring_fill_handle(out, mem, size);
	return err;
}

int ring_check(const struct ring *r)
{
	int err = ring_validate(r->hdr, r->map_size);
	if (err == 0 && ring_retired(r))
		err = -RING_ERETIRED;
	return err;
}

void ring_retire(struct ring *r)
{
	/* release: pairs with the producers' ring_retired load; they re-attach */
	atomic_store_explicit(&r->hdr->state, RING_STATE_RETIRED, memory_order_release);
}

static void ring_apply_config(struct ring *r, const struct ring_config *cfg)
{
	r->skip_timeout_ns = cfg->skip_timeout_ns ? cfg->skip_timeout_ns
						  : RING_DEFAULT_SKIP_TIMEOUT_NS;
	ring_set_label_headers(r, cfg->label_headers);
}

/* Adopt an existing file of our exact layout: keep counters and records,
 * resume at the stored head. A consumer killed after freeing slots but
 * before storing head left freed slots behind head: step over them. */
static int ring_adopt(int fd, const struct stat *st, const struct ring_config *cfg,
		      struct ring *out)
{
	void *map = mmap(NULL, (size_t)st->st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	struct ring_header *h = map;
	int err = ring_validate(h, (size_t)st->st_size);
	if (err == 0 && h->capacity != cfg->capacity)
		err = -RING_EGEOMETRY;
	if (err != 0) {
		munmap(map, (size_t)st->st_size);
		return err;
	}
	ring_fill_mapped(out, map, (size_t)st->st_size, st);
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&h->tail, memory_order_acquire);
	while (head != tail && (int64_t)(tail - head) > 0 &&
	       atomic_load_explicit(ring_seq(ring_slot(out, head)), memory_order_acquire) ==
		       head + out->capacity)
		head++;
	out->head = head;
	atomic_store_explicit(&h->head, head, memory_order_release);
	ring_apply_config(out, cfg);
	atomic_store_explicit(&h->state, RING_STATE_LIVE, memory_order_release);
	return 0;
}

/* Mark a file we do not adopt as retired, if it is a tokenring ring at all
 * (line 0 is frozen across versions, so this works for any version). */
static void ring_retire_fd(int fd, const struct stat *st)
{
	if ((size_t)st->st_size < RING_CONTROL_SIZE)
		return;
	struct ring_header *h = mmap(NULL, RING_CONTROL_SIZE, PROT_READ | PROT_WRITE,
				     MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return;
	if (h->magic == RING_MAGIC)
		atomic_store_explicit(&h->state, RING_STATE_RETIRED, memory_order_release);
	munmap(h, RING_CONTROL_SIZE);
}

static void ring_init_header(struct ring_header *h, uint32_t capacity, size_t size)
{
	h->magic = RING_MAGIC;
	h->version = RING_VERSION;
	h->record_size = REC_SIZE;
	h->capacity = capacity;
	h->producers_cap = RING_PRODUCERS;
	h->slots_offset = ring_slots_offset();
	h->file_size = size;
	/* any value that differs between creations; 0 is reserved for "none" */
	h->epoch = ring_now_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 40);
	if (h->epoch == 0)
		h->epoch = 1;
	atomic_store_explicit(&h->state, RING_STATE_CREATING, memory_order_relaxed);
}

static struct ring_config config_or_default(const struct ring_config *in)
{
	struct ring_config cfg;
	if (in)
		return *in;
	ring_config_default(&cfg);
	return cfg;
}

int ring_init(void *mem, size_t size, const struct ring_config *cfg_in, struct ring *out)
{
	struct ring_config cfg = config_or_default(cfg_in);
	size_t need = ring_memsize(cfg.capacity);
	if (need == 0 || size != need || ((uintptr_t)mem & (RING_LINE - 1)) != 0)
		return -RING_EGEOMETRY;
	ring_init_header(mem, cfg.capacity, size);
	ring_fill_handle(out, mem, size);
	for (uint32_t i = 0; i < cfg.capacity; i++)
		atomic_store_explicit(ring_seq(ring_slot(out, i)), i, memory_order_relaxed);
	ring_apply_config(out, &cfg);
	/* release: pairs with ring_attach's (and ring_attach_mem's) acquire load
	 * of state; a producer that sees LIVE sees every slot's initial seq */
	atomic_store_explicit(&out->hdr->state, RING_STATE_LIVE, memory_order_release);
	return 0;
}

/* Create a fresh file under a temporary name and rename it over path. */
static int ring_create_new(const char *path, const struct ring_config *cfg, size_t size,
			   struct ring *out)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.new.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int err = 0;
	void *map = MAP_FAILED;
	struct stat st;
	if (fchmod(fd, cfg->mode) != 0 ||
	    ((cfg->uid != (uid_t)-1 || cfg->gid != (gid_t)-1) &&
	     fchown(fd, cfg->uid, cfg->gid) != 0) ||
	    ftruncate(fd, (off_t)size) != 0 || fstat(fd, &st) != 0) {
		err = -errno;
		goto fail;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	/* The file is new and private (0600, a temporary name): lay the ring
	 * out in it as in any memory, then publish it by the rename. */
	err = ring_init(map, size, cfg, out);
	if (err)
		goto fail;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	out->mapped = true;
	if (rename(tmp, path) != 0) {
		err = -errno;
		goto fail;
	}
	close(fd);
	return 0;
fail:
	if (map != MAP_FAILED)
		munmap(map, size);
	memset(out, 0, sizeof(*out));
	close(fd);
	unlink(tmp);
	return err;
}

int ring_create(const char *path, const struct ring_config *cfg_in, struct ring *out)
{
	struct ring_config cfg = config_or_default(cfg_in);
	size_t size = ring_memsize(cfg.capacity);
	if (size == 0)
		return -RING_EGEOMETRY;
	struct stat st;
	int fd = ring_open(path, O_RDWR, &st);
	if (fd == -RING_ENOTREG)
		return fd;
	if (fd >= 0) {
		/* Never clobber a file that is not a tokenring ring at all (a
		 * mistyped --ring): only rings of another layout are replaced. */
		int err = st.st_size == 0 ? -RING_EMAGIC : ring_adopt(fd, &st, &cfg, out);
		if (err == -RING_EMAGIC) {
			close(fd);
			return err;
		}
		if (err == 0) {
			/* the configured mode and owner win over the old file's */
			if (fchmod(fd, cfg.mode) != 0 ||
			    ((cfg.uid != (uid_t)-1 || cfg.gid != (gid_t)-1) &&
			     fchown(fd, cfg.uid, cfg.gid) != 0))
				err = -errno;
			close(fd);
			if (err != 0)
				ring_detach(out);
			return err;
		}
		ring_retire_fd(fd, &st);
		close(fd);
	} else if (fd != -ENOENT) {
		return fd;
	}
	return ring_create_new(path, &cfg, size, out);
}
