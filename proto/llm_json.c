/*
 * llm_json.c - the streaming JSON key scanner behind llm_json.h. Structural
 * bytes of walked containers are read one by one (they are few); strings are
 * crossed with vector searches and memchr, skipped containers 64 bytes a
 * step by the block index (llm_json_index.c), its leftovers by
 * llm_json_skip.c.
 */
#include <string.h>

#include "llm_json.h"
#include "llm_json_index.h"
#include "llm_keys_internal.h"
#include "scan_internal.h"

enum jstate {
	J_TOP = 0,  /* between top-level values */
	J_VAL,      /* a value is expected */
	J_KEY,      /* a key (or, if first, a close) is expected */
	J_COLON,    /* after a key */
	J_AFTER,    /* after a value: , or a close */
	J_STR,      /* inside a string */
	J_LIT,      /* inside a number, true, false or null */
	J_SKIP,     /* inside a skipped container, outside strings */
	J_SKIP_STR, /* inside a string of a skipped container */
};

void jscan_reset(struct jscan *s)
{
	memset(s, 0, sizeof *s);
}

int jscan_between(const struct jscan *s)
{
	return s->state == J_TOP && s->err == JSCAN_OK;
}

int jscan_under(const struct jscan *s, enum jkey k)
{
	for (unsigned d = 1; d <= s->depth; d++)
		if (s->key[d] == k)
			return 1;
	return 0;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void syntax(struct jscan *s)
{
	s->err = JSCAN_SYNTAX;
}

_Static_assert(JSCAN_MAX_DEPTH < 16, "obj_bits holds a bit per depth");

static int in_object(const struct jscan *s)
{
	return s->obj_bits >> s->depth & 1u; /* depth 0: bit 0, never set */
}

/* A value at the current depth is complete. */
static void value_done(struct jscan *s, const struct jscan_ops *ops, void *ctx)
{
	if (s->depth > 1) { /* the usual case: a member of a nested container */
		s->state = J_AFTER;
		return;
	}
	int event = s->depth == 0 ? !s->top_array : s->top_array;
	if (event && ops->event_end)
		ops->event_end(ctx, s);
	s->state = s->depth == 0 ? J_TOP : J_AFTER;
}

/* What to do with a container under the current key, without a call
 * (jscan_ops.keys). */
static unsigned key_how(const struct jscan *s, const struct jscan_ops *ops)
{
	return ops->keys ? ops->keys[jscan_key(s)] : JSCAN_K_ASK;
}

/* A container walked into (inline: the fast path's usual container). */
static inline void push(struct jscan *s, int is_obj)
{
	s->depth++;
	if (is_obj)
		s->obj_bits = (uint16_t)(s->obj_bits | 1u << s->depth);
	else
		s->obj_bits = (uint16_t)(s->obj_bits & ~(1u << s->depth));
	/* Elements of an array carry the array's key. */
	s->key[s->depth] = is_obj ? JK_NONE : s->key[s->depth - 1];
	s->state = is_obj ? J_KEY : J_VAL;
	s->first = 1;
}

/* A container opens, walked or skipped as `how` (key_how) says. */
static void open_how(struct jscan *s, int is_obj, unsigned how, const struct jscan_ops *ops,
		     void *ctx)
{
	int walk = !(how & JSCAN_K_ASK) ? (int)(how & JSCAN_K_WALK)
		   : ops->open	       ? ops->open(ctx, s, is_obj)
					: 1;
	if (!walk || s->depth >= JSCAN_MAX_DEPTH) {
		s->state = J_SKIP;
		s->skip_depth = 1;
		return;
	}
	push(s, is_obj);
}

static void open_container(struct jscan *s, int is_obj, const struct jscan_ops *ops, void *ctx)
{
	open_how(s, is_obj, key_how(s, ops), ops, ctx);
}

static void close_container(struct jscan *s, int is_obj, const struct jscan_ops *ops, void *ctx)
{
	if (s->depth == 0 || in_object(s) != is_obj) {
		syntax(s);
		return;
	}
	s->depth--;
	value_done(s, ops, ctx);
}

static void begin_string(struct jscan *s, int is_key)
{
	s->is_key = (uint8_t)is_key;
	s->keep = 0;
	s->nonempty = 0;
	s->truncated = 0;
	s->bs_odd = 0;
	s->state = J_STR;
}

static inline __attribute__((always_inline)) void begin_top(struct jscan *s, char c,
							 const struct jscan_ops *ops, void *ctx)
{
	if (c != '{' && c != '[') {
		s->err = s->values ? JSCAN_SYNTAX : JSCAN_NOT_JSON;
		return;
	}
	s->values++;
	s->top_array = c == '[';
	s->depth = 0;
	unsigned how = key_how(s, ops);
	if (how == JSCAN_K_WALK) /* (every event, with a key table) */
		push(s, c == '{');
	else
		open_how(s, c == '{', how, ops, ctx);
}

static int is_literal_start(char c)
{
	return c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

static void on_value_char(struct jscan *s, char c, const struct jscan_ops *ops, void *ctx)
{
	if (c == '{' || c == '[')
		open_container(s, c == '{', ops, ctx);
	else if (c == '"')
		begin_string(s, 0);
	else if (c == ']' && s->first && !in_object(s))
		close_container(s, 0, ops, ctx);
	else if (is_literal_start(c)) {
		s->keep = 0;
		s->truncated = 0;
		s->state = J_LIT;
	} else
		syntax(s);
}

static void on_after_char(struct jscan *s, char c, const struct jscan_ops *ops, void *ctx)
{
	if (c == ',') {
		s->state = in_object(s) ? J_KEY : J_VAL;
		s->first = 0;
	} else if (c == '}' || c == ']') {
		close_container(s, c == '}', ops, ctx);
	} else {
		syntax(s);
	}
}

/* One structural (non-whitespace) byte. */
static void token(struct jscan *s, char c, const struct jscan_ops *ops, void *ctx)
{
	switch (s->state) {
	case J_TOP:
		begin_top(s, c, ops, ctx);
		break;
	case J_VAL:
		on_value_char(s, c, ops, ctx);
		break;
	case J_KEY:
		if (c == '"')
			begin_string(s, 1);
		else if (c == '}' && s->first)
			close_container(s, 1, ops, ctx);
		else
			syntax(s);
		break;
	case J_COLON:
		if (c != ':')
			syntax(s);
		s->state = J_VAL;
		s->first = 0;
		break;
	default:
		on_after_char(s, c, ops, ctx);
		break;
	}
}

static const char *structural(struct jscan *s, const char *p, const char *e,
			      const struct jscan_ops *ops, void *ctx)
{
	for (; p < e; p++) {
		if (is_ws(*p))
			continue;
		token(s, *p, ops, ctx);
		if (s->err)
			return e;
		if (s->state == J_LIT)
			return p; /* the literal's first byte is read as part of it */
		return p + 1; /* one token: the fast path may take the next */
	}
	return p;
}

static size_t backslashes_before(const char *from, const char *q)
{
	size_t n = 0;
	while (q > from && q[-1] == '\\') {
		q--;
		n++;
	}
	return n;
}

/*
 * The next unescaped quote in [p, e), or NULL. *odd carries, across pieces,
 * whether the text so far ends in an odd run of backslashes. A quote is
 * escaped iff the backslash run right before it is odd; a run reaching the
 * start of the piece continues the carried one.
 */
static const char *find_quote(const char *p, const char *e, uint8_t *odd)
{
	const char *seg = p;
	while (p < e) {
		const char *q = memchr(p, '"', (size_t)(e - p));
		if (!q)
			break;
		size_t run = backslashes_before(seg, q);
		unsigned escaped = run & 1u;
		if ((size_t)(q - seg) == run)
			escaped ^= *odd;
		*odd = 0;
		if (!escaped)
			return q;
		p = seg = q + 1;
	}
	size_t run = backslashes_before(seg, e);
	unsigned tail = run & 1u;
	if ((size_t)(e - seg) == run)
		tail ^= *odd;
	*odd = (uint8_t)tail;
	return NULL;
}

static void keep_bytes(struct jscan *s, const char *p, size_t n)
{
	size_t room = JSCAN_VALUE_KEEP - s->keep;
	if (n > room) {
		s->truncated = 1;
		n = room;
	}
	memcpy(s->buf + s->keep, p, n);
	s->keep = (uint16_t)(s->keep + n);
}

/* A complete string, at v (the caller's buffer or buf), n bytes kept. */
static void string_done(struct jscan *s, const char *v, size_t n, int truncated,
			const struct jscan_ops *ops, void *ctx)
{
	if (s->is_key) {
		int known = !truncated && n <= JSCAN_KEY_MAX;
		s->key[s->depth] = (uint8_t)(known ? jscan_key_id(v, n) : JK_OTHER);
		s->state = J_COLON;
		return;
	}
	if (ops->scalar && jscan_key(s) != JK_OTHER)
		ops->scalar(ctx, s, JT_STRING, v, n, truncated, s->nonempty != 0);
	value_done(s, ops, ctx);
}

static const char *in_string(struct jscan *s, const char *p, const char *e,
			     const struct jscan_ops *ops, void *ctx)
{
	const char *q = find_quote(p, e, &s->bs_odd);
	const char *end = q ? q : e;
	/* The usual case, a string whole in this piece, is read in place. */
	if (q && s->keep == 0 && !s->nonempty) {
		size_t n = (size_t)(q - p);
		s->nonempty = n != 0;
		string_done(s, p, n < JSCAN_VALUE_KEEP ? n : JSCAN_VALUE_KEEP, n > JSCAN_VALUE_KEEP,
			    ops, ctx);
		return q + 1;
	}
	if (end > p) {
		keep_bytes(s, p, (size_t)(end - p));
		s->nonempty = 1;
	}
	if (!q)
		return e;
	string_done(s, s->buf, s->keep, s->truncated, ops, ctx);
	return q + 1;
}

/* Bytes a number, true, false or null is read over (a superset: the
 * literal is checked whole by literal_type), as a table: one load a byte
 * (a 10-digit "created" timestamp is in every chat chunk). */
static const uint8_t literal_chars[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, ['.'] = 1, ['+'] = 1, ['-'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
	['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
};

static int is_literal_char(char c)
{
	return literal_chars[(unsigned char)c];
}

static int literal_type(const char *v, size_t n, enum jtype *t)
{
	if (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) /* the usual literal first */
		*t = JT_NUMBER;
	else if (n == 4 && !memcmp(v, "true", 4))
		*t = JT_TRUE;
	else if (n == 5 && !memcmp(v, "false", 5))
		*t = JT_FALSE;
	else if (n == 4 && !memcmp(v, "null", 4))
		*t = JT_NULL;
	else
		return -1;
	return 0;
}

static const char *in_literal(struct jscan *s, const char *p, const char *e,
			      const struct jscan_ops *ops, void *ctx)
{
	const char *start = p;
	while (p < e && is_literal_char(*p))
		p++;
	keep_bytes(s, start, (size_t)(p - start));
	if (p == e)
		return e;
	enum jtype t;
	if (literal_type(s->buf, s->keep, &t)) {
		syntax(s);
		return e;
	}
	if (ops->scalar && jscan_key(s) != JK_OTHER)
		ops->scalar(ctx, s, t, s->buf, s->keep, s->truncated, 1);
	value_done(s, ops, ctx);
	return p; /* the delimiter is structural */
}


static const char *in_skip(struct jscan *s, const char *p, const char *e, const char *lo,
			   const struct jscan_ops *ops, void *ctx)
{
	while (p < e) {
		if (s->state == J_SKIP_STR) {
			/* the usual string: its quote comes before any backslash */
			const char *q = scan_find2(p, e, e, '"', '\\');
			if (q == e || *q != '"' || s->bs_odd)
				q = find_quote(p, e, &s->bs_odd);
			if (!q)
				return e;
			s->state = J_SKIP;
			p = q + 1;
			continue;
		}
		/* the block index first; where it stops short (a string cut by
		 * the end of the piece, malformed text), one region and one
		 * string the byte-wise way */
		int ended = 0;
		p = jidx_skip(&s->skip_depth, p, e, lo, &ended);
		if (ended) {
			value_done(s, ops, ctx);
			return p;
		}
		if (p == e)
			return e;
		const char *q = scan_find(p, e, '"');
		if (q == e)
			q = NULL;
		const char *closed = jskip_brackets(&s->skip_depth, p, q ? q : e);
		if (closed) {
			value_done(s, ops, ctx);
			return closed;
		}
		if (!q)
			return e;
		s->state = J_SKIP_STR;
		s->bs_odd = 0;
		p = q + 1;
	}
	return p;
}

#ifdef SCAN_SSE2
/* The first quote or backslash in [p, e), or e: scan_find2's, with the
 * vectors made by the caller (keys and short strings take one step). */
static inline const char *find_qb(const char *p, const char *e, __m128i vq, __m128i vb)
{
	for (int i = 0; i < 2 && e - p >= 16; i++, p += 16) {
		unsigned m = scan_eq2(p, vq, vb);
		if (m)
			return p + __builtin_ctz(m);
	}
	return scan_find2(p, e, e, '"', '\\');
}
#endif

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (unsigned char)*p <= ' ' && is_ws(*p))
		p++;
	return p;
}

/* The fast path's state is stored where it stops (the callbacks do not
 * read it), not at every token. */
static inline const char *at(struct jscan *s, enum jstate state, const char *p)
{
	s->state = (uint8_t)state;
	return p;
}

/*
 * The fast path, for tokens whole in this piece (the usual case): keys and
 * string values without escapes are found with one vector search for a
 * quote or backslash and read in place, literals in place, and the token
 * that must come next is read right away (a key's colon, then its value,
 * then a comma and the next key), without a trip through the state
 * machine per token. Anything else (a token cut by the end of the piece,
 * an escape, an empty container, a skipped container, a top-level
 * boundary, an error) returns to the general path at a token boundary, in
 * the state it expects: the events are the general path's, byte for byte
 * (the split tests and the cJSON differential test hold both to it).
 * Not inlined into jscan_feed: alone it keeps its state in registers
 * (callgrind counts fewer instructions per token that way).
 */
__attribute__((noinline)) static const char *fast(struct jscan *s, const char *p, const char *e,
						  const struct jscan_ops *ops, void *ctx)
{
	const char *q;
	char c;
#ifdef SCAN_SSE2
	/* made once per run, not once per search */
	const __m128i vq = _mm_set1_epi8('"'), vb = _mm_set1_epi8('\\');
#define FIND_QB(from) find_qb(from, e, vq, vb)
#else
#define FIND_QB(from) scan_find2(from, e, e, '"', '\\')
#endif
	switch (s->state) {
	case J_TOP:
		goto top;
	case J_KEY:
		goto key;
	case J_COLON:
		goto colon;
	case J_VAL:
		goto value;
	case J_AFTER:
		goto after;
	default:
		return p;
	}
top:
	if (p < e && (unsigned char)*p <= ' ')
		p = skip_ws(p, e);
	if (p == e || (*p != '{' && *p != '['))
		return p; /* not JSON, or the next piece's */
	begin_top(s, *p, ops, ctx);
	if (s->state == J_SKIP)
		return p + 1;
	p++;
	if (s->state == J_VAL)
		goto value;
key:
	if (p == e || *p != '"') { /* (compact JSON: the quote is next) */
		p = skip_ws(p, e);
		if (p == e || *p != '"')
			return at(s, J_KEY, p); /* a close, or an error: the general path */
	}
	q = FIND_QB(p + 1);
	if (q == e || *q != '"')
		return at(s, J_KEY, p); /* cut or escaped */
	s->key[s->depth] = (uint8_t)jkey_lookup(p + 1, (size_t)(q - p - 1), e);
	p = q + 1;
colon:
	if (p == e || *p != ':') {
		p = skip_ws(p, e);
		if (p == e || *p != ':')
			return at(s, J_COLON, p);
	}
	p++;
	/* (first is left as it is: it only matters after '{' or '[' and after
	 * a comma, and a comma clears it) */
value:
	if (p == e || (unsigned char)*p <= ' ') {
		p = skip_ws(p, e);
		if (p == e)
			return at(s, J_VAL, p);
	}
	c = *p;
	if (c == '"') {
		q = FIND_QB(p + 1);
		if (q == e || *q != '"')
			return at(s, J_VAL, p);
		size_t n = (size_t)(q - p - 1);
		if (jscan_key(s) != JK_OTHER && ops->scalar)
			ops->scalar(ctx, s, JT_STRING, p + 1,
				    n < JSCAN_VALUE_KEEP ? n : JSCAN_VALUE_KEEP, n > JSCAN_VALUE_KEEP,
				    n != 0);
		p = q + 1;
		goto done;
	} else if (c == '{' || c == '[') {
		/* the usual container, walked by its key alone: no call */
		unsigned how = key_how(s, ops);
		if (how == JSCAN_K_WALK && s->depth < JSCAN_MAX_DEPTH)
			push(s, c == '{');
		else
			open_how(s, c == '{', how, ops, ctx);
		if (s->state == J_SKIP)
			return p + 1; /* in_skip crosses it */
		p++;
		if (s->state == J_KEY)
			goto key;
		goto value;
	} else if (is_literal_start(c)) {
		enum jtype t;
		q = p + 1;
		while (q < e && is_literal_char(*q))
			q++;
		if (q == e)
			return at(s, J_VAL, p); /* may go on in the next piece */
		size_t n = (size_t)(q - p) < JSCAN_VALUE_KEEP ? (size_t)(q - p) : JSCAN_VALUE_KEEP;
		if (c == '-' || (unsigned)(c - '0') < 10u) { /* the usual literal, no call */
			t = JT_NUMBER;
		} else if (n == 4 && memcmp(p, "null", 4) == 0) { /* a chunk's finish_reason */
			t = JT_NULL;
		} else if (literal_type(p, n, &t)) {
			syntax(s);
			return e;
		}
		if (jscan_key(s) != JK_OTHER && ops->scalar)
			ops->scalar(ctx, s, t, p, n, q - p > JSCAN_VALUE_KEEP, 1);
		p = q;
		goto done;
	} else {
		return at(s, J_VAL, p); /* the close of an empty array, or an error */
	}
done:
	/* only a top-level value or a top-level array's element ends an
	 * event: any other value (the usual one) needs no call */
	if (s->depth <= s->top_array) {
		value_done(s, ops, ctx);
		if (s->state == J_TOP)
			return p;
	}
after:
	if (p == e || (unsigned char)*p <= ' ') {
		p = skip_ws(p, e);
		if (p == e)
			return at(s, J_AFTER, p);
	}
	c = *p++;
	if (c == ',') {
		s->first = 0;
		if (in_object(s))
			goto key;
		goto value;
	}
	if (c != '}' && c != ']') {
		syntax(s);
		return e;
	}
	/* close_container, with value_done called only where an event may end */
	if (s->depth == 0 || in_object(s) != (c == '}')) {
		syntax(s);
		return e;
	}
	s->depth--;
	if (s->depth <= s->top_array) {
		value_done(s, ops, ctx);
		if (s->state == J_TOP)
			return p;
	}
	goto after;
#undef FIND_QB
}

enum jscan_err jscan_feed(struct jscan *s, const char *p, size_t n, const struct jscan_ops *ops,
			  void *ctx)
{
	const char *e = p + n, *lo = p; /* [lo, e): readable, for the block index */
	while (p < e && s->err == JSCAN_OK) {
		switch (s->state) {
		case J_STR:
			p = in_string(s, p, e, ops, ctx);
			break;
		case J_LIT:
			p = in_literal(s, p, e, ops, ctx);
			break;
		case J_SKIP:
		case J_SKIP_STR:
			p = in_skip(s, p, e, lo, ops, ctx);
			break;
		case J_TOP:
		case J_KEY:
		case J_COLON:
		case J_VAL:
		case J_AFTER:
		{
			/* the general path takes over where the fast one stops
			 * without a step (in the state the fast one left) */
			const char *q = fast(s, p, e, ops, ctx);
			p = q != p || s->err ? q : structural(s, p, e, ops, ctx);
			break;
		}
		default:
			p = structural(s, p, e, ops, ctx);
			break;
		}
	}
	return (enum jscan_err)s->err;
}
