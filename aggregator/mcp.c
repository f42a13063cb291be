/*
 * mcp.c - the MCP call table behind mcp.h: rows in arrival order (so a
 * scrape lists them stably), found through an open-addressing index of
 * XXH3 hashes of the fixed-size key; all memory allocated at creation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "expo.h"
#include "mcp.h"
#include "record_mcp.h"
#include "series.h"

enum mcp_status {
	MCP_ST_RESULT = 0,
	MCP_ST_ERROR,
	MCP_ST_TOOL_ERROR,
	MCP_ST_ACCEPTED,
	MCP_ST_HTTP_ERROR,
	MCP_ST_INTERRUPTED,
	MCP_ST_UNANSWERED, /* a batched request the server's answer left out */
	MCP_ST_UNPAIRED,   /* a batched request whose answer the shim may not have kept */
	MCP_ST_COUNT
};

static const char *const status_names[MCP_ST_COUNT] = {
	"result", "error", "tool_error", "accepted", "http_error", "interrupted", "unanswered",
	"unpaired",
};

/* Why calls were not counted by method (tokenring_mcp_calls_dropped_total). */
enum mcp_drop {
	MCP_DROP_BATCH = 0, /* past the calls of a batch the shim keeps (proto/llm_mcp.h) */
	MCP_DROP_ANSWERS_FULL,   /* SSE stream answers past those the shim keeps per read */
	MCP_DROP_ANSWER_UNPAIRED, /* an SSE stream answer no POST claimed in time (or no room) */
	MCP_DROP_PENDING_FULL,   /* a 202 POST counted at once (accepted): no room to wait */
	MCP_DROP_COUNT
};

static const char *const drop_names[MCP_DROP_COUNT] = {"batch_overflow", "answers_overflow",
						       "answer_unpaired", "pending_full"};

/*
 * The older SSE transport (protocol 2024-11-05) answers each POST with 202
 * and the real answer later as an event on the client's GET stream, which
 * the shim sends as a REC_KIND_MCP_ANSWER entry (record_mcp.h). A 202 POST
 * record with a session and an id waits here for the answer entry of the
 * same process, end, session and id, in either order; then it is counted
 * with the answer's outcome and its latency, POST start to the answer's
 * event. Bounded: MCP_PENDING calls and as many answers wait, scanned
 * linearly (MCP calls are few); a call still waiting after
 * MCP_PAIR_TIMEOUT_NS is counted `unanswered` (mcp_expire, from the
 * daemon's housekeeping tick), an answer no call claimed is dropped with a
 * reason, and so is what finds no room.
 */
#define MCP_PENDING 512u
#define MCP_PAIR_TIMEOUT_NS (300ull * 1000000000ull) /* the duration histogram's last bound */

struct mcp_pair_key {
	uint16_t producer, gen;
	uint8_t reporter;
	uint64_t session; /* hash of the sessionId value */
	uint64_t id;      /* rec_mcp_id */
};

/* A row is a method row (every call) or a tool row (tools/call). */
enum { ROW_METHOD = 0, ROW_TOOL = 1 };

#define MCP_OVERFLOW "__overflow__"
/* Rows kept for the folded calls: 2 kinds x every status x 3 reporters. */
#define MCP_OVERFLOW_ROWS (2u * MCP_ST_COUNT * 3u)
#define MCP_ROWS (MCP_MAX_SERIES + MCP_OVERFLOW_ROWS)
#define MCP_INDEX 16384u /* power of two; load <= 1/4 (MCP_ROWS <= 4096) */
_Static_assert((MCP_INDEX & (MCP_INDEX - 1)) == 0 && MCP_INDEX >= 4 * MCP_ROWS, "index: a power of two, a quarter full at most");

/* Duration buckets (seconds): tools run from a millisecond (a local
 * lookup) to minutes (a browser, a build). */
static const uint64_t bucket_ns[] = {
	5000000,    10000000,    25000000,    50000000,    100000000,
	250000000,  500000000,   1000000000,  2500000000,  5000000000,
	10000000000, 30000000000, 60000000000, 120000000000, 300000000000,
};
static const char *const bucket_le[] = {"0.005", "0.01", "0.025", "0.05", "0.1",
					"0.25",  "0.5",  "1",     "2.5",  "5",
					"10",    "30",   "60",    "120",  "300"};
#define MCP_BUCKETS (sizeof(bucket_ns) / sizeof(bucket_ns[0]))
_Static_assert(sizeof(bucket_le) / sizeof(bucket_le[0]) == MCP_BUCKETS, "a text per bound");

struct mcp_key {
	uint8_t kind;     /* ROW_* */
	uint8_t status;   /* enum mcp_status */
	uint8_t reporter; /* enum rec_reporter: a call seen from both ends counts twice */
	char workload[RING_WORKLOAD_LEN];
	char namespace_[RING_NAMESPACE_LEN];
	char destination[SERIES_DEST_LEN];
	char name[REC_MCP_NAME_LEN]; /* method or tool */
};

struct mcp_row {
	struct mcp_key key;
	uint64_t count;
	uint64_t sum_ns;
	uint64_t buckets[MCP_BUCKETS]; /* non-cumulative; +Inf is count */
};

struct mcp_call_wait {
	struct mcp_pair_key pk;
	struct mcp_key key; /* labels; kind and name set when counted */
	uint64_t start_ns;
	uint8_t used;
	char method[REC_MCP_NAME_LEN];
	char tool[REC_MCP_NAME_LEN];
};

struct mcp_answer_wait {
	struct mcp_pair_key pk;
	uint64_t at_ns;
	uint32_t flags; /* the outcome's REC_F_MCP_* */
	uint8_t used;
};

struct mcp_table {
	uint32_t rows;
	uint32_t calls_waiting;
	uint32_t answers_waiting;
	uint64_t overflow;
	uint64_t dropped[MCP_DROP_COUNT][3]; /* by reason and enum rec_reporter */
	uint32_t index[MCP_INDEX]; /* row + 1; 0 = empty */
	struct mcp_row row[MCP_ROWS];
	struct mcp_call_wait calls[MCP_PENDING];
	struct mcp_answer_wait answers[MCP_PENDING];
};

int mcp_create(struct mcp_table **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void mcp_destroy(struct mcp_table *t)
{
	free(t);
}

static enum mcp_status status_of(const struct tr_record *rec)
{
	if (rec->status == 0)
		return MCP_ST_INTERRUPTED;
	if (rec->flags & REC_F_MCP_RPC_ERROR)
		return MCP_ST_ERROR;
	if (rec->flags & REC_F_MCP_TOOL_ERROR)
		return MCP_ST_TOOL_ERROR;
	if (rec->status >= 400)
		return MCP_ST_HTTP_ERROR;
	if (rec->flags & REC_F_MCP_NOTIFICATION)
		return MCP_ST_ACCEPTED;
	if (rec->flags & REC_F_MCP_UNANSWERED)
		return MCP_ST_UNANSWERED;
	if (rec->flags & REC_F_MCP_UNPAIRED)
		return MCP_ST_UNPAIRED;
	return rec->status == 202 ? MCP_ST_ACCEPTED : MCP_ST_RESULT;
}

static void set_name(char *dst, const char *src)
{
	size_t n = strnlen(src, REC_MCP_NAME_LEN - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

static struct mcp_row *find(struct mcp_table *t, const struct mcp_key *k, int may_add)
{
	uint64_t h = XXH3_64bits(k, sizeof(*k));
	for (uint32_t i = (uint32_t)h;; i++) {
		uint32_t *slot = &t->index[i & (MCP_INDEX - 1)];
		if (*slot == 0) {
			if (!may_add)
				return NULL;
			struct mcp_row *r = &t->row[t->rows];
			r->key = *k;
			*slot = ++t->rows;
			return r;
		}
		struct mcp_row *r = &t->row[*slot - 1];
		if (memcmp(&r->key, k, sizeof(*k)) == 0)
			return r;
	}
}

/* The row of key k, or of its overflow fold once the table is full. */
static struct mcp_row *row_for(struct mcp_table *t, struct mcp_key *k)
{
	struct mcp_row *r = find(t, k, t->rows < MCP_MAX_SERIES);
	if (r)
		return r;
	t->overflow++;
	struct mcp_key o;
	memset(&o, 0, sizeof(o));
	o.kind = k->kind;
	o.status = k->status;
	o.reporter = k->reporter;
	set_name(o.workload, MCP_OVERFLOW);
	set_name(o.namespace_, MCP_OVERFLOW);
	set_name(o.destination, MCP_OVERFLOW);
	set_name(o.name, MCP_OVERFLOW);
	*k = o;
	return find(t, k, 1); /* MCP_OVERFLOW_ROWS are kept for these */
}

static void count(struct mcp_row *r, uint64_t ns)
{
	r->count++;
	r->sum_ns += ns;
	for (size_t b = 0; b < MCP_BUCKETS; b++)
		if (ns <= bucket_ns[b]) {
			r->buckets[b]++;
			break;
		}
}

/* One call counted: its method row, and its tool row for tools/call; k
 * holds the labels (kind and name are set here). */
static void count_call(struct mcp_table *t, struct mcp_key *k, const char *method,
		       const char *tool, uint64_t ns)
{
	struct mcp_key m = *k;
	m.kind = ROW_METHOD;
	set_name(m.name, method[0] ? method : "unknown");
	count(row_for(t, &m), ns);
	if (strcmp(method, "tools/call") != 0)
		return;
	k->kind = ROW_TOOL;
	set_name(k->name, tool[0] ? tool : "unknown");
	count(row_for(t, k), ns);
}

/* A call's labels, from its record and its process's identity. */
static void key_of(struct mcp_key *k, const struct tr_record *rec, const struct agg_identity *id)
{
	struct series_key sk;
	series_key_from_record(&sk, rec, id); /* the LLM series' workload and destination rules */
	memset(k, 0, sizeof(*k));
	memcpy(k->workload, sk.workload, sizeof(k->workload));
	memcpy(k->namespace_, sk.namespace_, sizeof(k->namespace_));
	memcpy(k->destination, sk.destination, sizeof(k->destination));
	k->status = (uint8_t)status_of(rec);
	k->reporter = sk.reporter;
}

/* What pairs a 202 POST of the SSE transport with its answer entry: the
 * process (its ring producer), the end, the session and the JSON-RPC id. */
static int pair_key_of(struct mcp_pair_key *pk, const struct tr_record *rec)
{
	const char *at;
	size_t n = rec_mcp_session(rec->path, strnlen(rec->path, REC_PATH_LEN), &at);
	if (!n || !rec_mcp_id(rec))
		return 0;
	pk->producer = rec->producer;
	pk->gen = rec->producer_gen;
	pk->reporter = rec->reporter;
	pk->session = XXH3_64bits(at, n);
	pk->id = rec_mcp_id(rec);
	return 1;
}

static int same_pair(const struct mcp_pair_key *a, const struct mcp_pair_key *b)
{
	return a->producer == b->producer && a->gen == b->gen && a->reporter == b->reporter &&
	       a->session == b->session && a->id == b->id;
}

static uint8_t answer_status(uint32_t flags)
{
	if (flags & REC_F_MCP_RPC_ERROR)
		return MCP_ST_ERROR;
	return flags & REC_F_MCP_TOOL_ERROR ? MCP_ST_TOOL_ERROR : MCP_ST_RESULT;
}

static void count_paired(struct mcp_table *t, struct mcp_call_wait *c, uint32_t flags,
			 uint64_t at_ns)
{
	c->key.status = answer_status(flags);
	count_call(t, &c->key, c->method, c->tool, at_ns > c->start_ns ? at_ns - c->start_ns : 0);
	c->used = 0;
	t->calls_waiting--;
}

/* A 202 POST on the SSE transport: counted once its answer is seen. */
static void wait_for_answer(struct mcp_table *t, const struct mcp_pair_key *pk,
			   const struct mcp_key *k, const struct tr_record *rec)
{
	for (unsigned i = 0; i < MCP_PENDING; i++) {
		struct mcp_answer_wait *a = &t->answers[i];
		if (a->used && same_pair(&a->pk, pk)) { /* the answer came first */
			struct mcp_call_wait c = {.pk = *pk, .key = *k, .start_ns = rec->start_ns};
			set_name(c.method, rec_mcp_method(rec));
			set_name(c.tool, rec_mcp_tool(rec));
			t->calls_waiting++;
			count_paired(t, &c, a->flags, a->at_ns);
			a->used = 0;
			t->answers_waiting--;
			return;
		}
	}
	for (unsigned i = 0; i < MCP_PENDING; i++) {
		struct mcp_call_wait *c = &t->calls[i];
		if (c->used)
			continue;
		*c = (struct mcp_call_wait){.pk = *pk, .key = *k, .start_ns = rec->start_ns, .used = 1};
		set_name(c->method, rec_mcp_method(rec));
		set_name(c->tool, rec_mcp_tool(rec));
		t->calls_waiting++;
		return;
	}
	/* every slot waits already: counted now as the POST's own outcome */
	t->dropped[MCP_DROP_PENDING_FULL][pk->reporter < 3 ? pk->reporter : 0]++;
	struct mcp_key now = *k;
	count_call(t, &now, rec_mcp_method(rec), rec_mcp_tool(rec), rec->duration_ns);
}

void mcp_answer(struct mcp_table *t, const struct tr_record *ans)
{
	struct mcp_pair_key pk;
	unsigned rep = ans->reporter < 3 ? ans->reporter : 0;
	t->dropped[MCP_DROP_ANSWERS_FULL][rep] += rec_mcp_dropped(ans); /* not kept by the shim */
	if (!pair_key_of(&pk, ans))
		return;
	for (unsigned i = 0; i < MCP_PENDING; i++) {
		struct mcp_call_wait *c = &t->calls[i];
		if (c->used && same_pair(&c->pk, &pk)) {
			count_paired(t, c, ans->flags, ans->start_ns);
			return;
		}
	}
	for (unsigned i = 0; i < MCP_PENDING; i++) {
		struct mcp_answer_wait *a = &t->answers[i];
		if (a->used)
			continue;
		*a = (struct mcp_answer_wait){.pk = pk, .at_ns = ans->start_ns, .flags = ans->flags,
					      .used = 1};
		t->answers_waiting++;
		return;
	}
	t->dropped[MCP_DROP_ANSWER_UNPAIRED][rep]++;
}

void mcp_expire(struct mcp_table *t, uint64_t now_ns)
{
	for (unsigned i = 0; t->calls_waiting && i < MCP_PENDING; i++) {
		struct mcp_call_wait *c = &t->calls[i];
		if (c->used && now_ns > c->start_ns + MCP_PAIR_TIMEOUT_NS) {
			if (c->key.status == MCP_ST_ACCEPTED) /* an interrupted POST stays so */
				c->key.status = MCP_ST_UNANSWERED;
			count_call(t, &c->key, c->method, c->tool, now_ns - c->start_ns);
			c->used = 0;
			t->calls_waiting--;
		}
	}
	for (unsigned i = 0; t->answers_waiting && i < MCP_PENDING; i++) {
		struct mcp_answer_wait *a = &t->answers[i];
		if (a->used && now_ns > a->at_ns + MCP_PAIR_TIMEOUT_NS) {
			t->dropped[MCP_DROP_ANSWER_UNPAIRED][a->pk.reporter < 3 ? a->pk.reporter : 0]++;
			a->used = 0;
			t->answers_waiting--;
		}
	}
}

void mcp_ingest(struct mcp_table *t, const struct tr_record *rec, const struct agg_identity *id)
{
	struct mcp_key k;
	struct mcp_pair_key pk;
	key_of(&k, rec, id);
	if (rec->flags & REC_F_MCP_BATCH)
		t->dropped[MCP_DROP_BATCH][k.reporter < 3 ? k.reporter : 0] += rec_mcp_dropped(rec);
	/* a POST answered 202, or cut before its 202 was read (the client may
	 * close once the answer came on the stream) */
	if ((rec->status == 202 || rec->status == 0) && !(rec->flags & REC_F_MCP_NOTIFICATION) &&
	    pair_key_of(&pk, rec)) {
		wait_for_answer(t, &pk, &k, rec);
		return;
	}
	count_call(t, &k, rec_mcp_method(rec), rec_mcp_tool(rec), rec->duration_ns);
}

static void labels(struct strbuf *b, const struct mcp_key *k, const char *name_label)
{
	bool first = true;
	const char *rep = rec_reporter_name(k->reporter);
	strbuf_puts(b, "{");
	expo_label(b, &first, "reporter", rep, strlen(rep));
	expo_label(b, &first, "source_workload", k->workload, sizeof(k->workload));
	expo_label(b, &first, "source_namespace", k->namespace_, sizeof(k->namespace_));
	expo_label(b, &first, "destination_service", k->destination, sizeof(k->destination));
	expo_label(b, &first, name_label, k->name, sizeof(k->name));
	expo_label(b, &first, "status", status_names[k->status], strlen(status_names[k->status]));
}

static void counter_lines(const struct mcp_table *t, struct strbuf *b, const char *metric,
			  int kind, const char *name_label)
{
	for (uint32_t i = 0; i < t->rows; i++) {
		const struct mcp_row *r = &t->row[i];
		if (r->key.kind != kind)
			continue;
		strbuf_puts(b, metric);
		labels(b, &r->key, name_label);
		strbuf_puts(b, "} ");
		expo_u64(b, r->count);
		strbuf_puts(b, "\n");
	}
}

static void bucket_line(struct strbuf *b, const struct mcp_row *r, const char *le, uint64_t n)
{
	strbuf_puts(b, "tokenring_mcp_tool_call_duration_seconds_bucket");
	labels(b, &r->key, "tool");
	strbuf_puts(b, ",le=\"");
	strbuf_puts(b, le);
	strbuf_puts(b, "\"} ");
	expo_u64(b, n);
	strbuf_puts(b, "\n");
}

static void histogram_lines(const struct mcp_table *t, struct strbuf *b)
{
	for (uint32_t i = 0; i < t->rows; i++) {
		const struct mcp_row *r = &t->row[i];
		if (r->key.kind != ROW_TOOL)
			continue;
		uint64_t cum = 0;
		for (size_t j = 0; j < MCP_BUCKETS; j++) {
			cum += r->buckets[j];
			bucket_line(b, r, bucket_le[j], cum);
		}
		bucket_line(b, r, "+Inf", r->count);
		strbuf_puts(b, "tokenring_mcp_tool_call_duration_seconds_sum");
		labels(b, &r->key, "tool");
		strbuf_puts(b, "} ");
		expo_scaled(b, r->sum_ns, 9);
		strbuf_puts(b, "\ntokenring_mcp_tool_call_duration_seconds_count");
		labels(b, &r->key, "tool");
		strbuf_puts(b, "} ");
		expo_u64(b, r->count);
		strbuf_puts(b, "\n");
	}
}

int mcp_render(const struct mcp_table *t, struct strbuf *out)
{
	if (t->rows == 0 && t->calls_waiting == 0)
		return strbuf_error(out); /* no MCP traffic: no families (as for absent labels) */
	expo_header(out, "tokenring_mcp_requests_total",
		    "MCP JSON-RPC calls by method and outcome.", "counter");
	counter_lines(t, out, "tokenring_mcp_requests_total", ROW_METHOD, "method");
	expo_header(out, "tokenring_mcp_tool_calls_total",
		    "MCP tools/call calls by tool and outcome.", "counter");
	counter_lines(t, out, "tokenring_mcp_tool_calls_total", ROW_TOOL, "tool");
	expo_header(out, "tokenring_mcp_tool_call_duration_seconds",
		    "MCP tools/call latency, request to answer.", "histogram");
	histogram_lines(t, out);
	expo_header(out, "tokenring_mcp_calls_dropped_total",
		    "MCP calls seen but not counted by method, by reason.", "counter");
	for (unsigned d = 0; d < MCP_DROP_COUNT; d++)
		for (unsigned rep = REC_REPORTER_SOURCE; rep <= REC_REPORTER_DESTINATION; rep++) {
			strbuf_puts(out, "tokenring_mcp_calls_dropped_total{reporter=\"");
			strbuf_puts(out, rec_reporter_name(rep));
			strbuf_puts(out, "\",reason=\"");
			strbuf_puts(out, drop_names[d]);
			strbuf_puts(out, "\"} ");
			expo_u64(out, t->dropped[d][rep]);
			strbuf_puts(out, "\n");
		}
	expo_header(out, "tokenring_mcp_calls_waiting",
		    "SSE transport calls answered 202 whose answer is not paired yet "
		    "(counted once it comes, or as unanswered after 300 s).",
		    "gauge");
	strbuf_puts(out, "tokenring_mcp_calls_waiting ");
	expo_u64(out, t->calls_waiting);
	strbuf_puts(out, "\n");
	expo_header(out, "tokenring_mcp_series_overflow_total",
		    "MCP calls folded into __overflow__ labels (more label sets than kept).",
		    "counter");
	strbuf_puts(out, "tokenring_mcp_series_overflow_total ");
	expo_u64(out, t->overflow);
	strbuf_puts(out, "\n");
	return strbuf_error(out);
}
