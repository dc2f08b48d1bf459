/*
 * ingest.c: the report port.  Agents connect, authenticate (wire.c), and
 * send one Report per sampling round.  Each report is acknowledged twice
 * over: at once as received (Ack.seq), and, after the next history save,
 * as durable (Ack.durable_seq).  The agent keeps a report until it is
 * durable, so a monitor that dies between the two loses nothing.
 *
 * Duplicates: a host has a current epoch and the one before (an agent
 * that crashed starts a new epoch, but may still be resending reports of
 * the old one).  Within an epoch, a sequence number at or below the last
 * one seen is a duplicate; a jump is counted as missing reports.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define LOG_COMP "ingest"
#include "log.h"
#include "monitor.h"
#include "util.h"

struct session {
	struct ingest	*ing;
	struct wconn	*c;
	struct host	*host;
	struct session	*next, *prev;
};

struct ingest {
	struct monitor		*m;
	struct wlistener	*l;
	struct session		*sessions;
	int			 nsessions;
};

static void
send_ack(struct session *s, uint64_t epoch, uint64_t seq, uint64_t durable)
{
	Ccnode__Envelope	env = CCNODE__ENVELOPE__INIT;
	Ccnode__Ack		ack = CCNODE__ACK__INIT;

	ack.epoch = epoch;
	ack.seq = seq;
	ack.durable_seq = durable;
	env.body_case = CCNODE__ENVELOPE__BODY_ACK;
	env.ack = &ack;
	wconn_send(s->c, &env);
}

/* Returns 1 when the report is new and should be stored. */
static int
check_seq(struct monitor *m, struct host *h, uint64_t epoch, uint64_t seq)
{
	if (epoch == h->epoch) {
		if (seq <= h->last_seq)
			return 0;
		if (h->last_seq != 0 && seq > h->last_seq + 1) {
			h->missing += seq - h->last_seq - 1;
			log_warnx("host=%s reports %llu..%llu are missing "
			    "(dropped by the agent, or lost)", h->name,
			    (unsigned long long)h->last_seq + 1,
			    (unsigned long long)seq - 1);
		}
		h->last_seq = seq;
		return 1;
	}
	if (epoch == h->prev_epoch && h->prev_epoch != 0) {
		if (seq <= h->prev_last_seq)
			return 0;
		h->prev_last_seq = seq;
		return 1;
	}
	if (h->epoch != 0)
		log_info("host=%s starts report epoch %016llx (was %016llx)",
		    h->name, (unsigned long long)epoch,
		    (unsigned long long)h->epoch);
	h->prev_epoch = h->epoch;
	h->prev_last_seq = h->last_seq;
	h->prev_durable_seq = h->durable_seq;
	h->epoch = epoch;
	h->last_seq = seq;
	h->durable_seq = 0;
	/* An epoch starts at 1: what came before seq never reached us. */
	if (seq > 1) {
		h->missing += seq - 1;
		log_warnx("host=%s reports 1..%llu of epoch %016llx are missing "
		    "(dropped by the agent before it could deliver them)",
		    h->name, (unsigned long long)seq - 1,
		    (unsigned long long)epoch);
	}
	return 1;
}

static void
on_report(struct session *s, const Ccnode__Report *r)
{
	struct monitor	*m = s->ing->m;
	struct host	*h = s->host;
	uint64_t	 durable;

	if (r->epoch == 0 || r->seq == 0) {
		log_warnx("host=%s sent a report without epoch or seq; closing",
		    h->name);
		wconn_close(s->c, "report without a sequence number");
		return;
	}
	m->stats.reports++;
	if (check_seq(m, h, r->epoch, r->seq)) {
		h->reports++;
		store_ingest(m->store, h, r);
	} else {
		h->duplicates++;
		m->stats.duplicates++;
	}
	durable = r->epoch == h->epoch ? h->durable_seq :
	    r->epoch == h->prev_epoch ? h->prev_durable_seq : 0;
	send_ack(s, r->epoch, r->seq, durable);
}

static void
ingest_msg_cb(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct session *s = arg;

	switch (env->body_case) {
	case CCNODE__ENVELOPE__BODY_REPORT:
		on_report(s, env->report);
		break;
	case CCNODE__ENVELOPE__BODY_ERROR:
		log_warnx("host=%s says: %s", s->host->name,
		    env->error->message);
		break;
	default:
		log_warnx("refused host=%s peer=%s reason=\"message type %d "
		    "on the report port\"", s->host->name, wconn_peer(c),
		    env->body_case);
		wconn_send_error(c, env->id, CCNODE__ERROR_REPLY__CODE__PROTOCOL,
		    "only reports are accepted on this port");
		break;
	}
}

static void
ingest_closed_cb(struct wconn *c, const char *why, void *arg)
{
	struct session	*s = arg;
	struct ingest	*ing = s->ing;

	log_warnx("agent disconnected host=%s peer=%s reason=\"%s\"",
	    s->host->name, wconn_peer(c), why);
	if (s->host->conn == c)
		s->host->conn = NULL;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		ing->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	ing->nsessions--;
	free(s);
}

static const struct wconn_cbs ingest_cbs = {
	.msg = ingest_msg_cb,
	.closed = ingest_closed_cb,
};

static int
valid_host_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

static void
ingest_accept_cb(struct wconn *c, const Ccnode__Hello *hello,
    Ccnode__Welcome *w, void *arg)
{
	struct ingest	*ing = arg;
	struct session	*s, *old;
	struct host	*h;

	if (strcmp(hello->role, "agent") != 0) {
		log_warnx("refused peer=%s reason=\"role '%s' on the report "
		    "port\"", wconn_peer(c), hello->role);
		wconn_send_error(c, 0, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    "the report port takes agents only");
		return;
	}
	if (!valid_host_name(hello->name)) {
		log_warnx("refused peer=%s reason=\"bad host name\"",
		    wconn_peer(c));
		wconn_send_error(c, 0, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    "bad host name");
		return;
	}
	if ((h = store_host(ing->m->store, hello->name, 1)) == NULL) {
		log_warnx("refused peer=%s host=%s reason=\"max-hosts reached\"",
		    wconn_peer(c), hello->name);
		wconn_send_error(c, 0, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    "this monitor has reached max-hosts");
		return;
	}
	/* One link per host: a reconnecting agent replaces its old link. */
	for (old = ing->sessions; old != NULL; old = old->next)
		if (old->host == h) {
			log_info("host=%s reconnected from %s; closing the old "
			    "link from %s", h->name, wconn_peer(c),
			    wconn_peer(old->c));
			wconn_close(old->c, "replaced by a new connection");
			break;
		}
	s = xcalloc(1, sizeof(*s));
	s->ing = ing;
	s->c = c;
	s->host = h;
	s->next = ing->sessions;
	if (ing->sessions != NULL)
		ing->sessions->prev = s;
	ing->sessions = s;
	ing->nsessions++;
	h->conn = c;
	snprintf(h->peer, sizeof(h->peer), "%s", wconn_peer(c));
	wconn_set_cbs(c, &ingest_cbs, s);
	w->epoch = h->epoch;
	w->durable_seq = h->durable_seq;
	log_info("agent connected host=%s peer=%s version=%s last_seq=%llu",
	    h->name, wconn_peer(c), hello->version,
	    (unsigned long long)h->last_seq);
}

struct ingest *
ingest_new(struct monitor *m, char **cause)
{
	struct ingest		*ing = xcalloc(1, sizeof(*ing));
	struct sockaddr_storage	 ss;
	socklen_t		 len;

	ing->m = m;
	if (parse_ip(m->conf->bind, (uint16_t)m->conf->port, &ss, &len) == -1) {
		xasprintf(cause, "bind: '%s' is not an IP address", m->conf->bind);
		free(ing);
		return NULL;
	}
	if ((ing->l = wire_listen(m->base, (struct sockaddr *)&ss, len, &m->wc,
	    ingest_accept_cb, ing, cause)) == NULL) {
		free(ing);
		return NULL;
	}
	return ing;
}

void
ingest_free(struct ingest *ing)
{
	struct session *s, *next;

	if (ing == NULL)
		return;
	wire_listener_free(ing->l);
	for (s = ing->sessions; s != NULL; s = next) {
		next = s->next;
		s->host->conn = NULL;
		wconn_free(s->c);
		free(s);
	}
	free(ing);
}

void
ingest_durable(struct ingest *ing)
{
	struct session *s;

	for (s = ing->sessions; s != NULL; s = s->next) {
		struct host *h = s->host;

		if (h->epoch != 0)
			send_ack(s, h->epoch, h->last_seq, h->durable_seq);
		if (h->prev_epoch != 0 && h->prev_durable_seq != 0)
			send_ack(s, h->prev_epoch, h->prev_last_seq,
			    h->prev_durable_seq);
	}
}

int
ingest_connected(const struct ingest *ing)
{
	return ing->nsessions;
}
