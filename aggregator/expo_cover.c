/*
 * expo_cover.c - the cover table (cover.h) as Prometheus text: always
 * rendered, so a dashboard can show "cannot read" next to the LLM metrics.
 */
#include <string.h>

#include "cover.h"
#include "expo.h"

struct fam {
	const char *name, *help;
	uint8_t type;
};

static const struct fam fams[] = {
	{"tokenring_opaque_connections_total",
	 "TLS connections whose plaintext no hook saw (a runtime's own TLS), by server name.",
	 REC_EVENT_OPAQUE_TLS},
	{"tokenring_opaque_bytes_total",
	 "Bytes on those connections, sent and received by the workload.", REC_EVENT_OPAQUE_TLS},
	{"tokenring_unreadable_processes_total",
	 "Processes the shim cannot read at all (reason go: own system calls).",
	 REC_EVENT_UNREADABLE},
	{"tokenring_untracked_connections_total",
	 "Connections passed through untracked (slot table full, fd beyond the table).",
	 REC_EVENT_UNTRACKED},
};

/* name{source_workload,source_namespace,(sni|reason)[,direction]} v */
static void line(struct strbuf *b, const char *name, const struct cover_series *s,
		 const char *direction, uint64_t v)
{
	bool first = true;
	strbuf_puts(b, name);
	strbuf_append(b, "{", 1);
	expo_label(b, &first, "source_workload", s->workload, strlen(s->workload));
	expo_label(b, &first, "source_namespace", s->namespace_, strlen(s->namespace_));
	if (s->type == REC_EVENT_OPAQUE_TLS) {
		expo_label(b, &first, "sni", s->sni, strlen(s->sni));
	} else {
		const char *r = rec_event_reason_name(s->reason);
		expo_label(b, &first, "reason", r, strlen(r));
	}
	if (direction != NULL)
		expo_label(b, &first, "direction", direction, strlen(direction));
	strbuf_append(b, "} ", 2);
	expo_u64(b, v);
	strbuf_append(b, "\n", 1);
}

static void series(struct strbuf *b, const struct fam *f, const struct cover_series *s)
{
	if (s->count == 0 && s->sent == 0 && s->received == 0)
		return; /* an overflow series never used */
	if (f == &fams[1]) {
		line(b, f->name, s, "sent", s->sent);
		line(b, f->name, s, "received", s->received);
	} else {
		line(b, f->name, s, NULL, s->count);
	}
}

int expo_cover(const struct cover *c, struct strbuf *b)
{
	for (size_t f = 0; f < sizeof fams / sizeof *fams; f++) {
		expo_header(b, fams[f].name, fams[f].help, "counter");
		for (uint32_t i = 0; i < COVER_TABLE_SLOTS; i++)
			if (c->slots[i].used && c->slots[i].type == fams[f].type)
				series(b, &fams[f], &c->slots[i]);
		series(b, &fams[f], &c->overflow[fams[f].type]);
	}
	return strbuf_error(b);
}
