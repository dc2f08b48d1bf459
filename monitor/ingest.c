/*
 * ingest.c: the report port.  Agents connect, authenticate (wire.c), and
 * send one Report per sampling round.  Each report is acknowledged twice
 * over: as received (Ack.seq), and, after the next history save, as
 * durable (Ack.durable_seq).  Acks are cumulative within an epoch, so the
 * reports read in one go get one Ack, sent once the read is done.  The agent keeps a report until it is
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

#include <event2/event.h>

#define LOG_COMP "ingest"
#include "log.h"
#include "monitor.h"
#include "util.h"

struct session {
	struct ingest	*ing;
	struct wconn	*c;
	struct host	*host;
	struct event	*ack_ev;	/* sends the pending ack */
	int		 ack_pending;
	uint64_t	 ack_epoch, ack_seq;
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

static void
flush_ack(struct session *s)
{
	struct host_epoch	*e;
	int			 i;

	if (!s->ack_pending)
		return;
	s->ack_pending = 0;
	for (i = 0, e = NULL; i < s->host->nepochs; i++)
		if (s->host->epochs[i].epoch == s->ack_epoch)
			e = &s->host->epochs[i];
	send_ack(s, s->ack_epoch, s->ack_seq, e ? e->durable_seq : 0);
}

static void
ingest_ack_cb(evutil_socket_t fd, short ev, void *arg)
{
	flush_ack(arg);
}

/* The slot of an epoch, made if needed; the least recently used goes. */
static struct host_epoch *
epoch_slot(struct host *h, uint64_t epoch, int *created)
{
	struct host_epoch	*e, *lru = NULL;
	int			 i;

	*created = 0;
	for (i = 0; i < h->nepochs; i++)
		if (h->epochs[i].epoch == epoch)
			return &h->epochs[i];
	if (h->nepochs < HOST_EPOCHS)
		e = &h->epochs[h->nepochs++];
	else {
		for (i = 0; i < h->nepochs; i++)
			if (lru == NULL || h->epochs[i].touched_ms < lru->touched_ms)
				lru = &h->epochs[i];
		log_info("host=%s forgets report epoch %016llx", h->name,
		    (unsigned long long)lru->epoch);
		e = lru;
	}
	memset(e, 0, sizeof(*e));
	e->epoch = epoch;
	e->order = ++h->epoch_order;
	*created = 1;
	return e;
}

/*
 * Returns 1 when the report is new and should be stored; *e is its epoch.
 * Within an epoch a sequence number at or below the last is a duplicate,
 * and a jump is counted as missing reports.
 */
static int
check_seq(struct host *h, uint64_t epoch, uint64_t seq,
    struct host_epoch **ep)
{
	struct host_epoch	*cur = host_current_epoch(h), *e;
	int			 created;

	e = *ep = epoch_slot(h, epoch, &created);
	e->touched_ms = wall_ms();
	if (created) {
		if (cur != NULL)
			log_info("host=%s starts report epoch %016llx (was "
			    "%016llx)", h->name, (unsigned long long)epoch,
			    (unsigned long long)cur->epoch);
		/* An epoch starts at 1: what came before never reached us. */
		if (seq > 1) {
			h->missing += seq - 1;
			log_warnx("host=%s reports 1..%llu of epoch %016llx are "
			    "missing (dropped by the agent before it could "
			    "deliver them)", h->name, (unsigned long long)seq - 1,
			    (unsigned long long)epoch);
		}
		e->last_seq = seq;
		return 1;
	}
	if (seq <= e->last_seq)
		return 0;
	if (seq > e->last_seq + 1) {
		h->missing += seq - e->last_seq - 1;
		log_warnx("host=%s reports %llu..%llu are missing (dropped by "
		    "the agent, or lost)", h->name,
		    (unsigned long long)e->last_seq + 1,
		    (unsigned long long)seq - 1);
	}
	e->last_seq = seq;
	return 1;
}

static void
on_report(struct session *s, const Ccnode__Report *r)
{
	struct monitor		*m = s->ing->m;
	struct host		*h = s->host;
	struct host_epoch	*e;

	if (r->epoch == 0 || r->seq == 0) {
		log_warnx("host=%s sent a report without epoch or seq; closing",
		    h->name);
		wconn_close(s->c, "report without a sequence number");
		return;
	}
	m->stats.reports++;
	if (check_seq(h, r->epoch, r->seq, &e)) {
		h->reports++;
		store_ingest(m->store, h, r, e == host_current_epoch(h));
	} else {
		h->duplicates++;
		m->stats.duplicates++;
	}
	/* A report of another epoch than the pending ack's: send that one. */
	if (s->ack_pending && s->ack_epoch != e->epoch)
		flush_ack(s);
	s->ack_epoch = e->epoch;
	s->ack_seq = r->seq;
	if (!s->ack_pending) {
		s->ack_pending = 1;
		event_active(s->ack_ev, EV_TIMEOUT, 0);
	}
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
	event_free(s->ack_ev);
	free(s);
}

static const struct wconn_cbs ingest_cbs = {
	.msg = ingest_msg_cb,
	.closed = ingest_closed_cb,
};

static void
ingest_accept_cb(struct wconn *c, const Ccnode__Hello *hello,
    Ccnode__Welcome *w, void *arg)
{
	struct ingest		*ing = arg;
	struct session		*s, *old;
	struct host		*h;
	struct host_epoch	*e;

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
	s->ack_ev = event_new(ing->m->base, -1, 0, ingest_ack_cb, s);
	s->next = ing->sessions;
	if (ing->sessions != NULL)
		ing->sessions->prev = s;
	ing->sessions = s;
	ing->nsessions++;
	h->conn = c;
	snprintf(h->peer, sizeof(h->peer), "%s", wconn_peer(c));
	wconn_set_cbs(c, &ingest_cbs, s);
	/* The durable point of the current epoch; the others come in Acks. */
	if ((e = host_current_epoch(h)) != NULL) {
		w->epoch = e->epoch;
		w->durable_seq = e->durable_seq;
	}
	log_info("agent connected host=%s peer=%s version=%s last_seq=%llu",
	    h->name, wconn_peer(c), hello->version,
	    (unsigned long long)(e ? e->last_seq : 0));
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
		event_free(s->ack_ev);
		free(s);
	}
	free(ing);
}

void
ingest_durable(struct ingest *ing)
{
	struct session	*s, *next;
	int		 i;

	/* Sends never free a session here (wire.c closes from the loop). */
	for (s = ing->sessions; s != NULL; s = next) {
		struct host *h = s->host;

		next = s->next;
		for (i = 0; i < h->nepochs; i++)
			if (h->epochs[i].durable_seq != 0)
				send_ack(s, h->epochs[i].epoch,
				    h->epochs[i].last_seq,
				    h->epochs[i].durable_seq);
	}
}

int
ingest_connected(const struct ingest *ing)
{
	return ing->nsessions;
}
