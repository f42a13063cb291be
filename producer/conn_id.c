/*
 * conn_id.c - request ids and trace ids. A generated x-request-id is a
 * UUIDv4-shaped string from a process-wide seed (set lazily, once, from the
 * clocks and an ASLR'd address: no getpid, no getrandom) and a counter,
 * mixed with the request's own times so a forked child that inherited the
 * same seed and counter still draws different ids. Lock-free and
 * async-signal-safe: only atomics and clock_gettime.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "conn_internal.h"

static _Atomic uint64_t id_seed;
static _Atomic uint64_t id_counter;

/* splitmix64's finaliser: a good 64-bit mixer. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t conn_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t seed(void)
{
	uint64_t s = atomic_load_explicit(&id_seed, memory_order_relaxed);
	if (s)
		return s;
	uint64_t local = 0;
	uint64_t fresh = mix64(conn_realtime_ns() ^ (uint64_t)(uintptr_t)&local) | 1u;
	/* Racing threads may both compute one; the first stored wins. */
	atomic_compare_exchange_strong_explicit(&id_seed, &s, fresh, memory_order_relaxed,
						memory_order_relaxed);
	return s ? s : fresh;
}

/* Hex digits of v's low `digits` nibbles (an even count), two per table load. */
static void put_hex(char *out, uint64_t v, unsigned digits)
{
	static const char pairs[] = "000102030405060708090a0b0c0d0e0f"
				    "101112131415161718191a1b1c1d1e1f"
				    "202122232425262728292a2b2c2d2e2f"
				    "303132333435363738393a3b3c3d3e3f"
				    "404142434445464748494a4b4c4d4e4f"
				    "505152535455565758595a5b5c5d5e5f"
				    "606162636465666768696a6b6c6d6e6f"
				    "707172737475767778797a7b7c7d7e7f"
				    "808182838485868788898a8b8c8d8e8f"
				    "909192939495969798999a9b9c9d9e9f"
				    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
				    "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
				    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
				    "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
				    "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
				    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
	for (unsigned i = digits; i > 0; i -= 2, v >>= 8)
		memcpy(out + i - 2, pairs + 2 * (v & 0xff), 2);
}

void conn_make_request_id(char *out, size_t cap, uint64_t now_mono, uint64_t start_real)
{
	static const unsigned group[5] = {8, 4, 4, 4, 12};
	uint64_t n = atomic_fetch_add_explicit(&id_counter, 1, memory_order_relaxed);
	uint64_t a = mix64(seed() + n * 0x9e3779b97f4a7c15ull);
	uint64_t b = mix64(a ^ start_real ^ (now_mono << 1));
	/* UUIDv4: version nibble 4, variant bits 10. */
	a = (a & ~0xf000ull) | 0x4000ull;
	b = (b & ~(3ull << 62)) | (2ull << 62);
	uint64_t bits[5] = {a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & 0xffffffffffffull};
	char tmp[REC_REQUEST_ID_LEN] = {0};
	char *p = tmp;
	for (unsigned i = 0; i < 5; i++) {
		put_hex(p, bits[i], group[i]);
		p += group[i];
		*p++ = i < 4 ? '-' : 0;
	}
	_Static_assert(REC_REQUEST_ID_LEN > 36, "a UUID and its NUL fit the field");
	if (cap == sizeof tmp)
		memcpy(out, tmp, sizeof tmp); /* the record's field: NUL-padded already */
	else
		rec_set_str(out, cap, tmp, 36, NULL, 0);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* W3C traceparent "vv-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>";
 * lower-case hex only, and an all-zero trace id is invalid. */
int conn_parse_traceparent(const char *v, size_t n, uint8_t out[REC_TRACE_ID_LEN])
{
	uint8_t id[REC_TRACE_ID_LEN];
	unsigned any = 0;
	if (n < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || hexval(v[0]) < 0 ||
	    hexval(v[1]) < 0 || (v[0] == 'f' && v[1] == 'f'))
		return -1;
	for (unsigned i = 0; i < REC_TRACE_ID_LEN; i++) {
		int hi = hexval(v[3 + 2 * i]), lo = hexval(v[4 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -1;
		id[i] = (uint8_t)(hi << 4 | lo);
		any |= id[i];
	}
	if (!any)
		return -1;
	memcpy(out, id, sizeof id);
	return 0;
}
