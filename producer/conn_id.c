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

#if defined(__SSE2__)
#include <emmintrin.h>

/* The 32 hex digits of a then b (most significant first), 16 at a time:
 * the bytes in string order, their nibbles interleaved, each nibble made
 * a digit in one add (plus 39 where it is above 9, for a-f). */
static void hex32(char out[32], uint64_t a, uint64_t b)
{
	__m128i v = _mm_set_epi64x((long long)__builtin_bswap64(b), (long long)__builtin_bswap64(a));
	const __m128i low = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
	const __m128i zero = _mm_set1_epi8('0'), letters = _mm_set1_epi8('a' - '0' - 10);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low), lo = _mm_and_si128(v, low);
	__m128i d[2] = {_mm_unpacklo_epi8(hi, lo), _mm_unpackhi_epi8(hi, lo)};
	for (int i = 0; i < 2; i++) {
		__m128i x = _mm_add_epi8(d[i], zero);
		x = _mm_add_epi8(x, _mm_and_si128(_mm_cmpgt_epi8(d[i], nine), letters));
		_mm_storeu_si128((__m128i *)(void *)(out + 16 * i), x);
	}
}
#else
/* The 32 hex digits of a then b (most significant first). */
static void hex32(char out[32], uint64_t a, uint64_t b)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, a >>= 4, b >>= 4) {
		out[i] = digits[a & 15];
		out[16 + i] = digits[b & 15];
	}
}
#endif

/* a and b as a UUID's text, 8-4-4-4-12, NUL-padded to the record's field. */
static void uuid_text(char out[REC_REQUEST_ID_LEN], uint64_t a, uint64_t b)
{
	char hex[32];
	hex32(hex, a, b);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	_Static_assert(REC_REQUEST_ID_LEN == 40, "a UUID and its NUL padding fill the field");
	memset(out + 36, 0, 4);
}

void conn_make_request_id(char *out, size_t cap, uint64_t now_mono, uint64_t start_real)
{
	uint64_t n = atomic_fetch_add_explicit(&id_counter, 1, memory_order_relaxed);
	uint64_t a = mix64(seed() + n * 0x9e3779b97f4a7c15ull);
	uint64_t b = mix64(a ^ start_real ^ (now_mono << 1));
	/* UUIDv4: version nibble 4, variant bits 10. */
	a = (a & ~0xf000ull) | 0x4000ull;
	b = (b & ~(3ull << 62)) | (2ull << 62);
	char tmp[REC_REQUEST_ID_LEN];
	char *dst = cap == REC_REQUEST_ID_LEN ? out : tmp; /* the record's field: in place */
	uuid_text(dst, a, b);
	if (dst == tmp)
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
