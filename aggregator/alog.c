/*
 * alog.c - the access log line: one JSON object per record, with the field
 * names of ASM's sidecar access log (seed 000) and, as there, every value a
 * JSON string ("-" when unknown, as Envoy prints it), so one log index
 * serves both. tokenring's extras follow the same convention.
 *
 * Direction. ASM's fields are an Envoy sidecar's view: "downstream" is the
 * application side of the proxy, "upstream" the far side. In seed 000 the
 * calling app (reporter source) shows downstream_remote_address = the app's
 * own address (192.168.34.235:39066), downstream_local_address = the
 * address the app dialed (47.93.x.x:80) and upstream_host = the provider.
 * The shim sits where the sidecar would, so:
 *   reporter source:      downstream_remote_address = local (this process)
 *                         downstream_local_address  = peer (what it dialed)
 *                         upstream_host             = peer
 *   reporter destination: downstream_remote_address = peer (the client)
 *                         downstream_local_address  = local (this server)
 *                         upstream_host             = local (the app served it)
 * bytes_received / bytes_sent are the request / response bytes (on the
 * wire, headers included: the shim sees no proxy-side body split).
 * duration and time_to_first_token are whole milliseconds, like Envoy's
 * %DURATION%; start_time is UTC with milliseconds, like %START_TIME%.
 *
 * Fast path (one line per record, so this is the daemon's hottest code with
 * the log on; see CORE.md): the field list is one table whose keys are
 * compile-time literals with their lengths; the line's worst case is
 * reserved once and then written through a pointer, with no per-field
 * append, no printf and no strlen of a known string. Integers come from a
 * two-digit table, the date from civil-calendar arithmetic, IPv4 addresses
 * from a per-octet table; untrusted strings are escaped 8 bytes per step.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "agg.h"
#include "esc.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

/* What a field's value is. Record fields name their offset (and capacity
 * for strings); the rest are derived. */
enum alog_kind {
	AL_TIME,      /* start_ns as 2024-07-12T03:20:03.993Z */
	AL_MS,        /* uint64_t ns at off, as whole ms */
	AL_STR,       /* record string at off, cap bytes */
	AL_U16,       /* uint16_t at off */
	AL_U64,       /* uint64_t at off */
	AL_U32,       /* uint32_t at off */
	AL_TOKENS,    /* uint32_t at off, only when usage is available */
	AL_PROTOCOL,  /* HTTP/1.1 */
	AL_FLAGS,     /* Envoy response flags */
	AL_UPSTREAM,  /* upstream_host: peer for source, local for destination */
	AL_DS_LOCAL,  /* downstream_local_address: the same */
	AL_DS_REMOTE, /* downstream_remote_address: the other end */
	AL_TRACE,     /* 32 hex digits */
	AL_PROVIDER,
	AL_OPERATION,
	AL_STREAMING,
	AL_TTFT, /* whole ms, streams with a first token */
	AL_REPORTER,
	AL_WORKLOAD,
	AL_NAMESPACE,
	AL_USAGE,
	AL_RESP_CODING, /* the response's Content-Encoding, "-" for none */
	AL_REQ_CODING,  /* the request's */
};

#define R(f) offsetof(struct tr_record, f)
#define CAP(f) sizeof(((struct tr_record *)0)->f)

/* The line, in order: ASM's fields, then tokenring's extras, then the
 * configured header labels. A header label may not take one of these names.
 * One list, expanded twice: into the name table (alog_field_reserved) and
 * into alog_format's writer, where each field's key is a literal of known
 * length and its kind a constant, so the compiler emits straight-line
 * stores with no per-field dispatch. X(name, kind, record offset, cap). */
#define ALOG_FIELD_LIST(X)                                                    \
	X("start_time", AL_TIME, 0, 0)                                        \
	X("duration", AL_MS, R(duration_ns), 0)                               \
	X("method", AL_STR, R(method), CAP(method))                           \
	X("path", AL_STR, R(path), CAP(path))                                 \
	X("protocol", AL_PROTOCOL, 0, 0)                                      \
	X("response_code", AL_U16, R(status), 0)                              \
	X("response_flags", AL_FLAGS, 0, 0)                                   \
	X("bytes_received", AL_U64, R(req_bytes), 0)                          \
	X("bytes_sent", AL_U64, R(resp_bytes), 0)                             \
	X("request_id", AL_STR, R(request_id), CAP(request_id))               \
	X("authority_for", AL_STR, R(authority), CAP(authority))              \
	X("upstream_host", AL_UPSTREAM, 0, 0)                                 \
	X("downstream_local_address", AL_DS_LOCAL, 0, 0)                      \
	X("downstream_remote_address", AL_DS_REMOTE, 0, 0)                    \
	X("user_agent", AL_STR, R(user_agent), CAP(user_agent))               \
	X("trace_id", AL_TRACE, 0, 0)                                         \
	X("request_model", AL_STR, R(request_model), CAP(request_model))      \
	X("request_prompt_tokens", AL_TOKENS, R(prompt_tokens), 0)            \
	X("request_completion_tokens", AL_TOKENS, R(completion_tokens), 0)    \
	/* tokenring's extras */                                              \
	X("total_tokens", AL_TOKENS, R(total_tokens), 0)                      \
	X("response_model", AL_STR, R(response_model), CAP(response_model))   \
	X("provider", AL_PROVIDER, 0, 0)                                      \
	X("operation", AL_OPERATION, 0, 0)                                    \
	X("streaming", AL_STREAMING, 0, 0)                                    \
	X("time_to_first_token", AL_TTFT, 0, 0)                               \
	X("reporter", AL_REPORTER, 0, 0)                                      \
	X("source_workload", AL_WORKLOAD, 0, 0)                               \
	X("source_namespace", AL_NAMESPACE, 0, 0)                             \
	X("usage_status", AL_USAGE, 0, 0)                                     \
	X("cached_tokens", AL_TOKENS, R(cached_tokens), 0)                    \
	X("cache_creation_tokens", AL_TOKENS, R(cache_creation_tokens), 0)    \
	X("reasoning_tokens", AL_TOKENS, R(reasoning_tokens), 0)              \
	X("chunks", AL_U32, R(chunks), 0)                                     \
	X("content_encoding", AL_RESP_CODING, 0, 0)                           \
	X("request_content_encoding", AL_REQ_CODING, 0, 0)

#define NAME_OF_FIELD(n, kind, off, cap) n,
static const char *const fields[] = {ALOG_FIELD_LIST(NAME_OF_FIELD)};
#define ALOG_FIELDS (sizeof(fields) / sizeof(fields[0]))
#define ALOG_KEY_MAX 32 /* the longest key, ,"downstream_remote_address":" is 30 */

bool alog_field_reserved(const char *name)
{
	for (size_t i = 0; i < ALOG_FIELDS; i++)
		if (strcmp(fields[i], name) == 0)
			return true;
	return false;
}

/* Longest value a non-string field can print (an IPv6 address with port:
 * [ffff:...:255.255.255.255]:65535 is 54 bytes). */
#define ALOG_SHORT_MAX 64
/* Worst case of a whole line: every key, every string escaped at 6 bytes
 * per byte, every other value at its longest, the labels, the braces. */
#define ALOG_LINE_MAX                                                                        \
	(ALOG_FIELDS * (32 + ALOG_SHORT_MAX) +                                               \
	 ESC_JSON_MAX(REC_SIZE + RING_WORKLOAD_LEN + RING_NAMESPACE_LEN) +                   \
	 REC_LABELS * (AGG_LABEL_NAME_LEN + 8) + 8)

static inline char *put(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* "00".."99": integers are printed two digits per division. */
static const char digit_pairs[] =
	"000102030405060708091011121314151617181920212223242526272829"
	"303132333435363738394041424344454647484950515253545556575859"
	"606162636465666768697071727374757677787980818283848586878889"
	"90919293949596979899";

static inline char *put2(char *p, unsigned v)
{
	memcpy(p, digit_pairs + 2 * v, 2);
	return p + 2;
}

static inline unsigned ndigits(uint64_t v)
{
	unsigned n = 1;
	while (v >= 100) {
		v /= 100;
		n += 2;
	}
	return n + (v >= 10);
}

static inline __attribute__((always_inline)) char *put_u64(char *p, uint64_t v)
{
	if (v < 100) { /* most counts: status classes aside, tokens, ms, chunks */
		if (v < 10) {
			*p = (char)('0' + v);
			return p + 1;
		}
		memcpy(p, digit_pairs + 2 * v, 2);
		return p + 2;
	}
	if (v < 10000) { /* statuses, ms, bytes of small exchanges */
		unsigned hi = (unsigned)v / 100, lo = (unsigned)v % 100;
		if (hi < 10)
			*p++ = (char)('0' + hi);
		else
			p = put2(p, hi);
		return put2(p, lo);
	}
	if (v < 100000) { /* ports, bytes of typical exchanges */
		unsigned u = (unsigned)v;
		*p++ = (char)('0' + u / 10000);
		p = put2(p, u / 100 % 100);
		return put2(p, u % 100);
	}
	unsigned n = ndigits(v);
	char *end = p + n;
	while (v >= 100) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(p, digit_pairs + 2 * v, 2);
	else
		*p = (char)('0' + v);
	return p + n;
}

/* Civil date of a day count since 1970-01-01 (proleptic Gregorian; the
 * era arithmetic of H. Hinnant's days_from_civil, inverted). */
static void civil(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
	uint64_t z = days + 719468;
	uint64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned)(era * 400 + yoe) + (*m <= 2);
}

static char *put_time(char *p, uint64_t start_ns)
{
	if (start_ns == 0)
		return put(p, "-", 1);
	uint64_t secs = start_ns / NS_PER_S;
	unsigned ms = (unsigned)(start_ns / NS_PER_MS % 1000);
	unsigned sod = (unsigned)(secs % 86400), y, mo, d;
	civil(secs / 86400, &y, &mo, &d);
	p = put2(p, y / 100);
	p = put2(p, y % 100);
	*p++ = '-';
	p = put2(p, mo);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, sod / 3600);
	*p++ = ':';
	p = put2(p, sod / 60 % 60);
	*p++ = ':';
	p = put2(p, sod % 60);
	*p++ = '.';
	*p++ = (char)('0' + ms / 100);
	p = put2(p, ms % 100);
	return put(p, "Z", 1);
}

/* ip:port or [v6]:port, or "-" for an unknown family. */
static char *put_addr(char *p, const struct rec_addr *a)
{
	if (a->family == 4) {
		for (unsigned i = 0; i < 4; i++) {
			unsigned o = a->addr[i];
			if (o >= 100) {
				*p++ = (char)('0' + o / 100);
				p = put2(p, o % 100);
			} else {
				p = put_u64(p, o);
			}
			*p++ = i < 3 ? '.' : ':';
		}
		return put_u64(p, a->port);
	}
	char ip[INET6_ADDRSTRLEN];
	if (a->family == 6 && inet_ntop(AF_INET6, a->addr, ip, sizeof(ip))) {
		*p++ = '[';
		p = put(p, ip, strlen(ip));
		p = put(p, "]:", 2);
		return put_u64(p, a->port);
	}
	return put(p, "-", 1);
}

/* "00".."ff": the trace id is printed a byte per table load. */
static const char hex_pairs[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static char *put_trace(char *p, const struct tr_record *rec)
{
	if (!(rec->flags & REC_F_HAS_TRACE))
		return put(p, "-", 1);
	for (unsigned i = 0; i < REC_TRACE_ID_LEN; i++)
		memcpy(p + 2 * i, hex_pairs + 2 * rec->trace_id[i], 2);
	return p + 2 * REC_TRACE_ID_LEN;
}

/* An untrusted bounded string, escaped; "-" when empty. */
static inline __attribute__((always_inline)) char *put_str(char *p, const char *s, size_t cap)
{
	if (cap == 0 || s[0] == 0)
		return put(p, "-", 1);
	return esc_json_put(p, s, cap);
}

/* A trusted name (the enums' names are short constants without escapes):
 * copied up to its NUL inline, cheaper than strlen and memcpy calls. */
static inline char *put_name(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* Envoy-style response flags for what the shim can tell. */
static const char *response_flags(const struct tr_record *rec)
{
	if (rec->flags & REC_F_NO_RESPONSE)
		return "UC"; /* connection closed before any response byte */
	if (rec->flags & REC_F_CONN_CLOSED)
		return "UPE"; /* closed mid-response */
	if (rec->flags & REC_F_PARSE_ERROR)
		return "DPE"; /* framing or body could not be parsed */
	return "-";
}

static uint64_t u64_at(const struct tr_record *rec, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)rec + off, sizeof(v));
	return v;
}

static uint32_t u32_at(const struct tr_record *rec, size_t off)
{
	uint32_t v;
	memcpy(&v, (const char *)rec + off, sizeof(v));
	return v;
}

static uint16_t u16_at(const struct tr_record *rec, size_t off)
{
	uint16_t v;
	memcpy(&v, (const char *)rec + off, sizeof(v));
	return v;
}

static inline __attribute__((always_inline)) char *
put_value(char *p, enum alog_kind kind, size_t off, size_t cap, const struct tr_record *rec,
	  const struct agg_identity *id)
{
	bool src = rec->reporter != REC_REPORTER_DESTINATION;
	switch (kind) {
	case AL_TIME:
		return put_time(p, rec->start_ns);
	case AL_MS:
		return put_u64(p, u64_at(rec, off) / NS_PER_MS);
	case AL_STR:
		return put_str(p, (const char *)rec + off, cap);
	case AL_U16:
		return put_u64(p, u16_at(rec, off));
	case AL_U64:
		return put_u64(p, u64_at(rec, off));
	case AL_U32:
		return put_u64(p, u32_at(rec, off));
	case AL_TOKENS:
		if (rec->usage_status != REC_USAGE_AVAILABLE)
			return put(p, "-", 1); /* never invented */
		return put_u64(p, u32_at(rec, off));
	case AL_PROTOCOL:
		return put(p, "HTTP/1.1", 8);
	case AL_FLAGS:
		return put_name(p, response_flags(rec));
	case AL_UPSTREAM:
	case AL_DS_LOCAL: /* the same address (the caller copies the first) */
		return put_addr(p, src ? &rec->peer : &rec->local);
	case AL_DS_REMOTE:
		return put_addr(p, src ? &rec->local : &rec->peer);
	case AL_TRACE:
		return put_trace(p, rec);
	case AL_PROVIDER:
		return put_name(p, rec_provider_name(rec->provider));
	case AL_OPERATION:
		return put_name(p, rec_operation_name(rec->operation));
	case AL_STREAMING:
		return rec->flags & REC_F_STREAM ? put(p, "true", 4) : put(p, "false", 5);
	case AL_TTFT:
		if (!(rec->flags & REC_F_STREAM) || !rec->ttft_ns)
			return put(p, "-", 1);
		return put_u64(p, rec->ttft_ns / NS_PER_MS);
	case AL_REPORTER:
		return put_name(p, rec_reporter_name(rec->reporter));
	case AL_WORKLOAD:
		return id ? put_str(p, id->workload, sizeof(id->workload)) : put(p, "-", 1);
	case AL_NAMESPACE:
		return id ? put_str(p, id->namespace_, sizeof(id->namespace_)) : put(p, "-", 1);
	case AL_USAGE:
		return put_name(p, rec_usage_name(rec->usage_status));
	case AL_RESP_CODING:
	case AL_REQ_CODING: {
		unsigned c = kind == AL_RESP_CODING ? REC_CODING_RESP(rec->codings)
					   : REC_CODING_REQ(rec->codings);
		return c == REC_CODING_NONE ? put(p, "-", 1) : put_name(p, rec_coding_name(c));
	}
	}
	return put(p, "-", 1);
}

int alog_format(const struct tr_record *rec, const struct agg_identity *id,
		const struct agg_config *cfg, struct strbuf *out)
{
	if (strbuf_reserve(out, ALOG_LINE_MAX))
		return strbuf_error(out);
	char *p = out->data + out->len;
	const char *up = NULL; /* upstream_host's value, which downstream_local_address repeats */
	size_t up_len = 0;
	char *v;
	/* Every key is written with its comma; the first one's becomes the '{'. */
#define WRITE_FIELD(n, kind, off, cap)                                                     \
	__builtin_memcpy(p, ",\"" n "\":\"", sizeof(",\"" n "\":\"") - 1);              \
	p += sizeof(",\"" n "\":\"") - 1;                                                  \
	v = p;                                                                              \
	if ((kind) == AL_DS_LOCAL && up) {                                                  \
		memcpy(p, up, up_len);                                                      \
		p += up_len;                                                                \
	} else {                                                                            \
		p = put_value(p, kind, off, cap, rec, id);                                  \
	}                                                                                   \
	if ((kind) == AL_UPSTREAM) {                                                        \
		up = v;                                                                     \
		up_len = (size_t)(p - v);                                                   \
	}                                                                                   \
	*p++ = '"';
	ALOG_FIELD_LIST(WRITE_FIELD)
#undef WRITE_FIELD
	out->data[out->len] = '{';
	for (unsigned i = 0; cfg && i < REC_LABELS; i++) {
		const char *name = cfg->label_names[i];
		if (!name[0] || alog_field_reserved(name))
			continue;
		/* names are validated label names: nothing to escape */
		size_t n = strnlen(name, AGG_LABEL_NAME_LEN);
		p = put(p, ",\"", 2);
		p = put(p, name, n);
		p = put(p, "\":\"", 3);
		p = put_str(p, rec->labels[i], sizeof(rec->labels[i]));
		*p++ = '"';
	}
	p = put(p, "}\n", 2);
	*p = 0;
	out->len = (size_t)(p - out->data);
	return 0;
}
