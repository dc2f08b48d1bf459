/*
 * shipper.c: the report link.  One persistent, authenticated connection
 * to a monitor; on failure it backs off and tries the next address.  After
 * each (re)connect it sends every spooled report the monitor has not made
 * durable, oldest first, then new ones as they come.  The monitor drops
 * what it already has, by sequence number.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define LOG_COMP "shipper"
#include "log.h"
#include "agent.h"
#include "util.h"

#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	10000
#define SEND_WINDOW	(1024 * 1024)	/* bytes queued on the socket */
#define KEEPALIVE_MS	30000
#define ACK_TIMEOUT_MS	30000	/* a monitor silent this long is dropped */

struct shipper {
	struct agent	*a;
	struct wconn	*c;
	int		 idx;		/* monitor address in use */
	int		 up;
	struct event	*retry;
	struct event	*keepalive;
	uint32_t	 backoff_ms;
	uint64_t	 cursor;	/* next spool ord to send */
	uint64_t	 last_send;	/* mono ms */
	uint64_t	 failures;	/* connect failures in a row */
	uint64_t	 sent_epoch;	/* the last report sent on this link */
	uint64_t	 sent_seq;
	int		 waiting;	/* for the ack of that report */
	uint64_t	 last_progress;	/* mono ms: last ack, or first unacked send */
};

static void	shipper_connect(struct shipper *);

static void
pump(struct shipper *sh)
{
	const struct spool_entry *e;

	while (sh->c != NULL && sh->up &&
	    wconn_output_len(sh->c) < SEND_WINDOW &&
	    (e = spool_from(sh->a->spool, sh->cursor)) != NULL) {
		if (wconn_send_packed(sh->c, e->data, e->len) == -1)
			return;		/* closed; closed_cb ran */
		sh->cursor = e->ord + 1;
		sh->last_send = mono_ms();
		sh->sent_epoch = e->epoch;
		sh->sent_seq = e->seq;
		if (!sh->waiting) {
			sh->waiting = 1;
			sh->last_progress = sh->last_send;
		}
	}
}

static void
shipper_up_cb(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct shipper		*sh = arg;
	const Ccnode__Welcome	*w = env->welcome;

	sh->up = 1;
	sh->backoff_ms = 0;
	sh->failures = 0;
	sh->cursor = 0;
	sh->waiting = 0;
	log_info("report link up monitor=%s durable_seq=%llu pending=%llu",
	    sh->a->conf->monitors.v[sh->idx].text,
	    (unsigned long long)w->durable_seq,
	    (unsigned long long)spool_count(sh->a->spool));
	if (w->epoch != 0)
		spool_ack(sh->a->spool, w->epoch, w->durable_seq);
	pump(sh);
}

static void
shipper_msg_cb(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct shipper *sh = arg;

	switch (env->body_case) {
	case CCNODE__ENVELOPE__BODY_ACK:
		sh->last_progress = mono_ms();
		if (env->ack->epoch == sh->sent_epoch &&
		    env->ack->seq >= sh->sent_seq)
			sh->waiting = 0;
		spool_received(sh->a->spool, env->ack->epoch, env->ack->seq);
		spool_ack(sh->a->spool, env->ack->epoch, env->ack->durable_seq);
		break;
	case CCNODE__ENVELOPE__BODY_ERROR:
		log_warnx("monitor says: %s", env->error->message);
		break;
	default:
		log_debug("ignoring message type %d from the monitor",
		    env->body_case);
		break;
	}
}

static void
shipper_drained_cb(struct wconn *c, void *arg)
{
	pump(arg);
}

static void
shipper_closed_cb(struct wconn *c, const char *why, void *arg)
{
	struct shipper	*sh = arg;
	const char	*addr = sh->a->conf->monitors.v[sh->idx].text;
	struct timeval	 tv;
	uint32_t	 jitter;

	if (sh->up)
		log_warnx("report link down monitor=%s reason=\"%s\"", addr, why);
	else if (sh->failures++ == 0 || sh->failures % 20 == 0)
		log_warnx("cannot reach monitor=%s reason=\"%s\" attempts=%llu",
		    addr, why, (unsigned long long)sh->failures);
	sh->c = NULL;
	sh->up = 0;
	sh->idx = (sh->idx + 1) % sh->a->conf->monitors.n;
	/* Exponential backoff with jitter, reset by a good connection. */
	sh->backoff_ms = sh->backoff_ms ? sh->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (sh->backoff_ms > BACKOFF_MAX_MS)
		sh->backoff_ms = BACKOFF_MAX_MS;
	jitter = (uint32_t)(random_u64() % (sh->backoff_ms / 4 + 1));
	tv.tv_sec = (sh->backoff_ms + jitter) / 1000;
	tv.tv_usec = ((sh->backoff_ms + jitter) % 1000) * 1000;
	evtimer_add(sh->retry, &tv);
}

static const struct wconn_cbs shipper_cbs = {
	.up = shipper_up_cb,
	.msg = shipper_msg_cb,
	.drained = shipper_drained_cb,
	.closed = shipper_closed_cb,
};

static void
shipper_connect(struct shipper *sh)
{
	struct addr *ad = &sh->a->conf->monitors.v[sh->idx];

	sh->c = wconn_connect(sh->a->base, (struct sockaddr *)&ad->ss, ad->len,
	    &sh->a->report_wc, &shipper_cbs, sh);
	if (sh->c == NULL)
		shipper_closed_cb(NULL, "cannot create a socket", sh);
}

static void
shipper_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	shipper_connect(arg);
}

static void
shipper_keepalive_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct shipper		*sh = arg;
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Keepalive	 ka = CCNODE__KEEPALIVE__INIT;

	if (sh->c == NULL || !sh->up)
		return;
	/*
	 * A monitor whose host vanished sends no FIN: without this the link
	 * would look up for hours, and the next address would never be tried.
	 */
	if (sh->waiting && mono_ms() - sh->last_progress > ACK_TIMEOUT_MS) {
		wconn_close(sh->c, "no acknowledgement for 30 s");
		return;
	}
	if (mono_ms() - sh->last_send < KEEPALIVE_MS)
		return;
	env.body_case = CCNODE__ENVELOPE__BODY_KEEPALIVE;
	env.keepalive = &ka;
	if (wconn_send(sh->c, &env) == 0)
		sh->last_send = mono_ms();
}

struct shipper *
shipper_new(struct agent *a)
{
	struct shipper	*sh = xcalloc(1, sizeof(*sh));
	struct timeval	 tv = { 5, 0 };

	sh->a = a;
	sh->retry = evtimer_new(a->base, shipper_retry_cb, sh);
	sh->keepalive = event_new(a->base, -1, EV_PERSIST, shipper_keepalive_cb,
	    sh);
	event_add(sh->keepalive, &tv);
	shipper_connect(sh);
	return sh;
}

void
shipper_free(struct shipper *sh)
{
	if (sh == NULL)
		return;
	wconn_free(sh->c);
	event_free(sh->retry);
	event_free(sh->keepalive);
	free(sh);
}

void
shipper_kick(struct shipper *sh)
{
	pump(sh);
}

int
shipper_connected(const struct shipper *sh)
{
	return sh->up;
}
