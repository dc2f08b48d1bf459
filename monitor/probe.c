/*
 * probe.c: the monitor's own probes, and the health of every instance.
 *
 * Targets are the instances the agents report (with the probe user the
 * agent made) and the "instance" lines of the config.  Each has one
 * persistent connection (rconn.c: a libevent timer on the connect and on
 * every command) and a timer of its own, at a random phase within
 * probe-interval, so that probes spread over the interval and one target
 * never waits for another.  A round is PING, then INFO replication for
 * the role (pipelined; an interface process gets PING alone, as twemproxy
 * closes the connection on INFO).
 *
 * Health: up, suspect, down, unknown.  health_set() is the one place it
 * changes: it logs, posts the control-center event (outbox.c) and drives
 * the built-in instance_down alert.  The two sources of evidence:
 *
 *   - the agent's process events.  An exit the agent saw is proof: the
 *     instance is down, "crashed", at once.  It is up again when the agent
 *     says it runs and a probe answers.
 *   - probes.  The first failure makes an up instance suspect; the
 *     probe-failures'th in a row makes it down.  The cause comes from how
 *     the probe failed, and from whether the agent still reports:
 *	connected but no answer		hung (agent reporting or none)
 *	no connection in time		unreachable
 *	agent silent too, any failure	unreachable
 *	connection refused		refused
 *	an error reply			error
 *     LOADING, MASTERDOWN and BUSY mean alive but not ready: not a failure.
 *     A connection that was closed (say by KillAllConnections) is opened
 *     again at once, and only a failure on the new one counts.
 *
 * TILT: if the loop itself stalled for over a second, no probe-only down
 * verdict is given for one probe-interval afterwards: the probes that
 * "timed out" meanwhile measured the monitor, not the instances.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define LOG_COMP "probe"
#include "log.h"
#include "hmap.h"
#include "info.h"
#include "json.h"
#include "monitor.h"
#include "rconn.h"
#include "util.h"

#define CLIENT_NAME	"ccmonitor-probe"
#define SYNC_MS		1000
#define TILT_TICK_MS	250
#define TILT_STALL_MS	1000

struct probe {
	struct monitor	*m;
	struct hmap	*targets;
	struct event	*sync_ev;
	struct event	*tilt_ev;
	uint64_t	 tilt_last_ms;
	uint64_t	 tilt_until_ms;
	const struct timeval *common_tv;	/* probe-interval, shared */
	uint64_t	 common_ms;
};

static const char *const hstate_names[] = { "unknown", "up", "suspect",
    "down" };
static const char *const presult_names[] = { "none", "ok", "not-ready",
    "auth-failed", "timeout", "connect-timeout", "refused", "error",
    "closed" };

const char *
hstate_name(enum hstate s)
{
	return hstate_names[s];
}

const char *
presult_name(enum presult r)
{
	return presult_names[r];
}

int
probe_tilted(const struct probe *pr)
{
	return mono_ms() < pr->tilt_until_ms;
}

static void	probe_round(struct target *);

static void	arm_next(struct target *);

/* ---- health ------------------------------------------------------------------ */

static const char *
event_name(enum hstate st)
{
	switch (st) {
	case HS_UP:
		return "instance_up";
	case HS_SUSPECT:
		return "instance_suspect";
	case HS_DOWN:
		return "instance_down";
	default:
		return NULL;
	}
}

static const char *
role_name(const struct target *t)
{
	return t->role[0] ? t->role : "unknown";
}

/* The control-center event for a change of t, in the spec's shape. */
static void
post_event(struct probe *pr, struct target *t, const char *event)
{
	json_t	*ev, *evd;
	char	 key[160];

	evd = json_object();
	json_object_set_new(evd, "probe", json_pack("{s:s,s:o,s:I,s:o,s:I}",
	    "result", presult_name(t->result),
	    "error", t->error[0] ? json_str(t->error) : json_null(),
	    "failures", (json_int_t)t->fails,
	    "time", t->probe_ms ? json_time_ms(t->probe_ms) : json_null(),
	    "rtt_us", (json_int_t)t->rtt_us));
	json_object_set_new(evd, "agent", t->agent_event[0] ?
	    json_str(t->agent_event) : json_null());
	json_object_set_new(evd, "tilt", json_boolean(probe_tilted(pr)));
	ev = json_object();
	json_object_set_new(ev, "event", json_string(event));
	json_object_set_new(ev, "instance", json_str(t->name));
	json_object_set_new(ev, "host", t->host[0] ? json_str(t->host) :
	    json_null());
	json_object_set_new(ev, "addr", json_str(t->addr));
	json_object_set_new(ev, "kind", json_str(t->kind));
	json_object_set_new(ev, "role", json_string(role_name(t)));
	if (strcmp(event, "instance_role") == 0) {
		/* Not a health change: the role is the news. */
		json_object_set_new(ev, "cause", json_string("role_changed"));
		json_object_set_new(ev, "since", json_time_ms(t->role_since_ms));
		json_object_set_new(evd, "previous_role",
		    json_str(t->prev_role));
	} else {
		json_object_set_new(ev, "cause", json_string(t->cause));
		json_object_set_new(ev, "since", json_time_ms(t->since_ms));
	}
	json_object_set_new(ev, "evidence", evd);
	/* Unique and stable: the outbox keeps it through retries. */
	snprintf(key, sizeof(key), "%s-%s-%lld", t->name, event,
	    (long long)(strcmp(event, "instance_role") == 0 ?
	    t->role_since_ms : t->since_ms));
	json_object_set_new(ev, "idempotency_key", json_str(key));
	outbox_add(pr->m->outbox, t->name, ev);
}

/* The one place health changes. */
static void
health_set(struct probe *pr, struct target *t, enum hstate st,
    const char *cause, const char *why)
{
	enum hstate	 old = t->state;
	const char	*ev;

	if (old == st && (st != HS_DOWN || t->cause == cause))
		return;
	t->state = st;
	t->cause = cause;
	t->since_ms = wall_ms();
	pr->m->stats.transitions++;
	if (st == HS_DOWN || st == HS_SUSPECT)
		log_warnx("instance %s: %s -> %s cause=%s addr=%s reason=\"%s\"",
		    t->name, hstate_name(old), hstate_name(st), cause, t->addr,
		    why);
	else
		log_info("instance %s: %s -> %s cause=%s addr=%s reason=\"%s\"",
		    t->name, hstate_name(old), hstate_name(st), cause, t->addr,
		    why);
	/*
	 * The control center hears of failures and recoveries.  The monitor
	 * learning of a healthy instance (unknown -> up), or losing sight of
	 * one that was stopped on purpose (-> unknown), is not news; nor is
	 * a down instance's cause changing.
	 */
	ev = event_name(st);
	if (ev != NULL && old != st && !(st == HS_UP && old == HS_UNKNOWN))
		post_event(pr, t, ev);
	alerts_instance_health(pr->m->alerts, t);
}

/* Whether the reporting agent has been heard from lately. */
static struct instance *
agent_view(struct probe *pr, const struct target *t, int *fresh)
{
	struct instance *in;

	*fresh = 0;
	if (t->host[0] == '\0' ||
	    (in = store_instance(pr->m->store, t->name)) == NULL)
		return NULL;
	*fresh = instance_fresh(in, wall_ms());
	return in;
}

static const char *
classify(struct probe *pr, const struct target *t)
{
	int fresh;

	switch (t->result) {
	case PR_REFUSED:
		return "refused";	/* the host answered */
	case PR_ERROR:
	case PR_CLOSED:
		return "error";
	case PR_TIMEOUT:
		/* Connected, then silence: hung, unless its agent is too. */
		agent_view(pr, t, &fresh);
		return t->host[0] != '\0' && !fresh ? "unreachable" : "hung";
	default:
		return "unreachable";
	}
}

static void
probe_ok(struct probe *pr, struct target *t)
{
	struct instance	*in;
	int		 fresh;

	t->fails = 0;
	t->skip = 0;
	if (t->state == HS_UP)
		return;
	if (t->state == HS_DOWN && strcmp(t->cause, "crashed") == 0) {
		/* The agent saw it exit: it says when it runs again. */
		in = agent_view(pr, t, &fresh);
		if (in != NULL && fresh && strcmp(in->proc_state, "running") != 0)
			return;
	}
	/* Finding a healthy instance is no recovery. */
	health_set(pr, t, HS_UP, t->state == HS_UNKNOWN ? "" : "recovered",
	    t->result != PR_OK ? t->error : "probe answers");
}

static void
probe_failed(struct probe *pr, struct target *t)
{
	struct monitor	*m = pr->m;
	const char	*cause;

	t->fails++;
	t->failures++;
	m->stats.probe_failures++;
	if (t->state == HS_DOWN) {
		/*
		 * Probe less often; a recovery is still seen within 8
		 * rounds.  The cause stays what it was found to be: later
		 * failures of a down instance (a SIGSTOPped server's full
		 * accept queue turns "hung" into connect timeouts) say less.
		 */
		int e = t->fails - (int)m->conf->probe_failures;

		t->skip = (1 << (e < 0 ? 0 : MINIMUM(e, 3))) - 1;
		return;
	}
	cause = classify(pr, t);
	if (t->fails >= m->conf->probe_failures) {
		if (probe_tilted(pr)) {
			health_set(pr, t, HS_SUSPECT, cause, "event loop "
			    "stalled: no down verdict in TILT");
			return;
		}
		health_set(pr, t, HS_DOWN, cause, t->error);
	} else if (t->state != HS_DOWN)
		health_set(pr, t, HS_SUSPECT, cause, t->error);
}

void
probe_agent_event(struct probe *pr, struct instance *in, const char *event,
    const char *detail)
{
	struct target *t;

	if ((t = hmap_get(pr->targets, in->name)) == NULL) {
		probe_sync(pr);
		if ((t = hmap_get(pr->targets, in->name)) == NULL)
			return;
	}
	snprintf(t->agent_event, sizeof(t->agent_event), "%s: %s", event,
	    detail);
	if (strcmp(event, "backoff") == 0 || strcmp(event, "fatal") == 0) {
		/* The agent saw the process exit. */
		health_set(pr, t, HS_DOWN, "crashed", detail);
	} else if (strcmp(event, "stopping") == 0 ||
	    strcmp(event, "stopped") == 0) {
		/* Stopped on purpose: not probed, no verdict, until it runs. */
		t->stopped = 1;
		health_set(pr, t, HS_UNKNOWN, "stopped", detail);
		return;
	}
	t->stopped = 0;
	if (strcmp(event, "running") == 0 && t->state != HS_UP) {
		/* Confirm with a probe of our own, now. */
		t->skip = 0;
		if (!t->inflight)
			probe_round(t);
	}
}

/* ---- probes ------------------------------------------------------------------- */

/*
 * The server answered, but not to our credentials: it is alive.  Without
 * a probe user (a watched instance, an instance line without one) the
 * monitor can still tell it is up; the log says what to configure.
 */
static int
auth_error(const char *s)
{
	return strncmp(s, "NOAUTH", 6) == 0 ||
	    strncmp(s, "WRONGPASS", 9) == 0 || strncmp(s, "NOPERM", 6) == 0 ||
	    strstr(s, "invalid password") != NULL ||
	    strstr(s, "invalid username-password") != NULL;
}

static enum presult
result_of(const char *err)
{
	if (auth_error(err))
		return PR_AUTH;
	if (strncmp(err, "timeout: not connected", 22) == 0)
		return PR_CONNECT;
	if (strncmp(err, "timeout", 7) == 0)
		return PR_TIMEOUT;
	if (strstr(err, "refused") != NULL)
		return PR_REFUSED;
	if (strstr(err, "closed") != NULL || strstr(err, "reset") != NULL ||
	    strstr(err, "lost") != NULL || strstr(err, "EOF") != NULL ||
	    strstr(err, "cannot queue") != NULL)
		return PR_CLOSED;
	/* "password file: ...", an AUTH error, ... */
	return PR_ERROR;
}

static void
finish_round(struct target *t, enum presult r, const char *err)
{
	struct probe *pr = t->pr;

	evtimer_del(t->deadline);
	t->inflight = 0;
	t->result = r;
	t->probe_ms = wall_ms();
	str_copy(t->error, sizeof(t->error), err);
	if (r == PR_AUTH && !t->auth_warned) {
		t->auth_warned = 1;
		log_warnx("instance %s: the probe cannot authenticate (%s); it "
		    "counts the answer as alive. Give it credentials: an "
		    "instance line with USER PASSWORD-FILE", t->name, err);
	}
	if (t->stopped)
		;	/* a round that was under way when it was stopped */
	else if (r == PR_OK || r == PR_NOTREADY || r == PR_AUTH)
		probe_ok(pr, t);
	else if (r == PR_CLOSED && !t->retried) {
		/*
		 * Closed under us: try once more on a new connection, from
		 * the loop, once hiredis has let go of the dead one (inside
		 * its callback it refuses new commands).
		 */
		t->retried = 1;
		t->inflight = 1;
		log_debug("instance %s: probe connection closed (%s); "
		    "reconnecting", t->name, err);
		event_active(t->retry_ev, EV_TIMEOUT, 0);
		return;
	} else
		probe_failed(pr, t);
	t->retried = 0;
}

/* Whether the agent says the process was stopped on purpose. */
static int
stopped_state(const char *s)
{
	return strcmp(s, "stopped") == 0 || strcmp(s, "stopping") == 0;
}

static void
info_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct target		*t = arg;
	struct info_repl	 ir;
	char			 role[16];

	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return;		/* PING's callback judged the round */
	info_replication(r->str, r->len, &ir);
	t->lag_s = ir.last_io;
	if (!isnan(ir.offset))
		t->offset = (uint64_t)clamp(ir.offset, 0, 1e19);
	if (ir.role[0] == '\0')
		return;
	str_copy(role, sizeof(role), strcmp(ir.role, "slave") == 0 ? "replica" :
	    ir.role);
	if (t->role[0] != '\0' && strcmp(t->role, role) != 0) {
		log_warnx("instance %s: role %s -> %s", t->name, t->role, role);
		snprintf(t->prev_role, sizeof(t->prev_role), "%s", t->role);
		snprintf(t->role, sizeof(t->role), "%s", role);
		t->role_changes++;
		t->role_since_ms = wall_ms();
		post_event(t->pr, t, "instance_role");
	} else
		str_copy(t->role, sizeof(t->role), role);
}

static int
not_ready(const char *s)
{
	return strncmp(s, "LOADING", 7) == 0 ||
	    strncmp(s, "MASTERDOWN", 10) == 0 || strncmp(s, "BUSY", 4) == 0;
}

/*
 * twemproxy answers PING itself, backends or not: an interface process
 * whose every backend is failing, by the agent's current reading of its
 * stats port, fails the probe.
 */
static int
proxy_dead(struct target *t, char *buf, size_t len)
{
	struct instance	*in;
	int		 fresh;

	in = agent_view(t->pr, t, &fresh);
	if (in == NULL || !fresh || !in->proxy_stats ||
	    in->proxy_backends == 0 || in->proxy_failing < in->proxy_backends)
		return 0;
	snprintf(buf, len, "all %u backends failing (the agent's reading of "
	    "the proxy's stats)", in->proxy_backends);
	return 1;
}

static void
ping_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct target	*t = arg;
	char		 buf[160];

	t->rtt_us = (uint32_t)MINIMUM(mono_us() - t->sent_us, UINT32_MAX);
	if (r == NULL) {
		finish_round(t, result_of(err), err);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(buf, sizeof(buf), "%s", r->str);
		finish_round(t, not_ready(r->str) ? PR_NOTREADY :
		    auth_error(r->str) ? PR_AUTH : PR_ERROR, buf);
		return;
	}
	if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0) {
		finish_round(t, PR_ERROR, "PING did not answer PONG");
		return;
	}
	if (strcmp(t->kind, "interface") == 0 && proxy_dead(t, buf,
	    sizeof(buf))) {
		finish_round(t, PR_ERROR, buf);
		return;
	}
	finish_round(t, PR_OK, NULL);
}

/* The commands of a round, in RESP already: nothing to format. */
static const char PING_CMD[] = "*1\r\n$4\r\nPING\r\n";
static const char INFO_CMD[] = "*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n";

static void
probe_round(struct target *t)
{
	struct monitor	*m = t->pr->m;
	struct timeval	 tv = { (time_t)(m->conf->probe_timeout / 1000),
			    (suseconds_t)(m->conf->probe_timeout % 1000) * 1000 };

	m->stats.probes++;
	t->probes++;
	t->inflight = 1;
	t->sent_us = mono_us();
	/* One deadline for the round: connect, handshake, PING and INFO. */
	evtimer_add(t->deadline, &tv);
	/* On an immediate failure the callback has run: the round is over. */
	if (rconn_cmd_raw(t->rc, ping_cb, t, PING_CMD, sizeof(PING_CMD) - 1)
	    == -1)
		return;
	if (strcmp(t->kind, "interface") != 0 && t->inflight)
		rconn_cmd_raw(t->rc, info_cb, t, INFO_CMD, sizeof(INFO_CMD) - 1);
}

/*
 * The round's deadline: the connection goes, which answers its commands
 * with why.  Connected but silent is a hang; not even connected is not.
 */
static void
deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct target	*t = arg;
	char		 why[96];
	uint64_t	 ms = t->pr->m->conf->probe_timeout;

	snprintf(why, sizeof(why), rconn_connected(t->rc) ?
	    "timeout: no reply within %llu ms" :
	    "timeout: not connected within %llu ms", (unsigned long long)ms);
	rconn_close(t->rc, why);
	if (t->inflight)	/* nothing was outstanding to answer */
		finish_round(t, result_of(why), why);
}

static void
retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct target *t = arg;

	t->inflight = 0;
	probe_round(t);
}

static void
timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct target *t = arg;

	arm_next(t);
	if (t->inflight || t->stopped)
		return;
	if (t->skip > 0) {
		t->skip--;
		return;
	}
	probe_round(t);
}

static void
arm_next(struct target *t)
{
	struct probe *pr = t->pr;

	if (pr->common_tv == NULL || pr->common_ms != pr->m->conf->probe_interval) {
		struct timeval tv = {
		    (time_t)(pr->m->conf->probe_interval / 1000),
		    (suseconds_t)(pr->m->conf->probe_interval % 1000) * 1000 };

		pr->common_tv = event_base_init_common_timeout(pr->m->base, &tv);
		pr->common_ms = pr->m->conf->probe_interval;
	}
	evtimer_add(t->timer, pr->common_tv);
}

/* ---- targets -------------------------------------------------------------------- */

static void
target_conn(struct target *t)
{
	struct monitor		*m = t->pr->m;
	struct rconn_opts	 o;

	memset(&o, 0, sizeof(o));
	o.client_name = strcmp(t->kind, "interface") == 0 ? NULL : CLIENT_NAME;
	o.user = t->user;
	o.password_file = t->passfile;
	o.password = t->password;
	o.connect_timeout_ms = (uint32_t)m->conf->probe_timeout;
	o.timeout_ms = 0;	/* the round's deadline covers every command */
	o.max_reply = 64 * 1024;
	rconn_free(t->rc);
	t->rc = rconn_new(m->base, t->ip, t->port, &o, NULL, t);
	if (t->retry_ev != NULL)
		event_del(t->retry_ev);
	if (t->deadline != NULL)
		event_del(t->deadline);
	t->inflight = 0;
	t->retried = 0;
}

static void
target_free(struct target *t)
{
	rconn_free(t->rc);
	event_free(t->timer);
	event_free(t->retry_ev);
	event_free(t->deadline);
	free(t->name);
	free(t->user);
	free(t->passfile);
	if (t->password != NULL)
		explicit_bzero(t->password, strlen(t->password));
	free(t->password);
	free(t);
}

static int
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
replace(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL && *src != '\0' ? xstrdup(src) : NULL;
}

/*
 * Makes or updates a target.  A change of address or credentials makes a
 * new connection.
 */
static void
target_update(struct probe *pr, const char *name, const char *host,
    const char *ip, int port, const char *addr, const char *kind,
    const char *user, const char *passfile, const char *password,
    int configured)
{
	struct target	*t = hmap_get(pr->targets, name);
	int		 fresh = 0;
	struct timeval	 tv;
	uint64_t	 phase;

	if (t == NULL) {
		t = xcalloc(1, sizeof(*t));
		t->pr = pr;
		t->name = xstrdup(name);
		t->lag_s = NAN;
		t->cause = "";
		t->since_ms = wall_ms();
		t->timer = evtimer_new(pr->m->base, timer_cb, t);
		t->retry_ev = evtimer_new(pr->m->base, retry_cb, t);
		t->deadline = evtimer_new(pr->m->base, deadline_cb, t);
		hmap_put(pr->targets, t->name, t);
		fresh = 1;
		log_info("probing instance %s addr=%s kind=%s source=%s",
		    name, addr, kind, configured ? "config" : "agent");
	}
	t->mark = 1;
	t->configured = configured;
	snprintf(t->host, sizeof(t->host), "%s", host);
	snprintf(t->addr, sizeof(t->addr), "%s", addr);
	if (fresh || strcmp(t->ip, ip) != 0 || t->port != port ||
	    strcmp(t->kind, kind) != 0 || !streq(t->user, user) ||
	    !streq(t->passfile, passfile) || !streq(t->password, password)) {
		if (!fresh)
			log_info("instance %s: probe target changed addr=%s",
			    name, addr);
		snprintf(t->ip, sizeof(t->ip), "%s", ip);
		t->port = port;
		snprintf(t->kind, sizeof(t->kind), "%s", kind);
		replace(&t->user, user);
		replace(&t->passfile, passfile);
		if (t->password != NULL)
			explicit_bzero(t->password, strlen(t->password));
		replace(&t->password, password);
		target_conn(t);
	}
	if (fresh) {
		/* A random phase spreads the probes over the interval. */
		phase = random_u64() % pr->m->conf->probe_interval;
		tv.tv_sec = (time_t)(phase / 1000);
		tv.tv_usec = (suseconds_t)(phase % 1000) * 1000;
		evtimer_add(t->timer, &tv);
	}
}

/*
 * Not probed: an instance its agent stopped on purpose, or one its agent
 * still reports on time but no longer mentions (stopped, or its watch line
 * gone; a monitor restart forgets the agent's last word, but not this).
 * An agent that is silent itself is no reason: that is what probes are for.
 */
static void
sync_stopped(struct probe *pr, struct target *t, const struct instance *in)
{
	int64_t		 now = wall_ms();
	uint64_t	 iv = in->host->interval_ms ? in->host->interval_ms :
			    5000;
	int		 agent_on_time, dropped;

	agent_on_time = now - in->host->last_report_ms <= (int64_t)(3 * iv);
	dropped = agent_on_time && now - in->last_seen_ms > (int64_t)(3 * iv);
	t->stopped = stopped_state(in->proc_state) || dropped;
	if (t->stopped && t->state != HS_UNKNOWN)
		health_set(pr, t, HS_UNKNOWN, "stopped", dropped ?
		    "no longer reported by its agent" : "stopped on purpose");
}

void
probe_sync(struct probe *pr)
{
	struct monitor		*m = pr->m;
	struct probe_conf	*pc;
	struct instance		**v;
	struct target		*t, **dead = NULL;
	size_t			 n, i, pos = 0, ndead = 0;
	char			 ip[64];
	const char		*perr;
	int			 port;

	while ((t = hmap_next(pr->targets, &pos)) != NULL)
		t->mark = 0;
	for (pc = m->conf->probes; pc != NULL; pc = pc->next) {
		char addr[72];

		snprintf(addr, sizeof(addr), strchr(pc->ip, ':') ? "[%s]:%d" :
		    "%s:%d", pc->ip, pc->port);
		target_update(pr, pc->name, "", pc->ip, pc->port, addr, "redis",
		    pc->user, pc->passfile, NULL, 1);
	}
	n = store_instances(m->store, &v);
	for (i = 0; i < n; i++) {
		if ((t = hmap_get(pr->targets, v[i]->name)) != NULL &&
		    t->mark && t->configured)
			continue;	/* an instance line wins */
		/* From the agent: an IP literal and a port, or nothing. */
		if (split_hostport(v[i]->addr, ip, sizeof(ip), &port,
		    &perr) == -1)
			continue;	/* no address reported yet, or junk */
		target_update(pr, v[i]->name, v[i]->host->name, ip, port,
		    v[i]->addr, v[i]->kind[0] ? v[i]->kind : "redis",
		    v[i]->probe_user[0] ? v[i]->probe_user : NULL, NULL,
		    v[i]->probe_password[0] ? v[i]->probe_password : NULL, 0);
		if ((t = hmap_get(pr->targets, v[i]->name)) != NULL)
			sync_stopped(pr, t, v[i]);
	}
	free(v);
	pos = 0;
	while ((t = hmap_next(pr->targets, &pos)) != NULL)
		if (!t->mark) {
			dead = xreallocarray(dead, ndead + 1, sizeof(*dead));
			dead[ndead++] = t;
		}
	for (i = 0; i < ndead; i++) {
		log_info("instance %s: no longer probed", dead[i]->name);
		hmap_del(pr->targets, dead[i]->name);
		target_free(dead[i]);
	}
	free(dead);
}

static void
sync_cb(evutil_socket_t fd, short ev, void *arg)
{
	probe_sync(arg);
}

static void
tilt_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct probe	*pr = arg;
	uint64_t	 now = mono_ms(), gap = now - pr->tilt_last_ms;

	pr->tilt_last_ms = now;
	if (gap > TILT_TICK_MS + TILT_STALL_MS) {
		pr->tilt_until_ms = now + pr->m->conf->probe_interval +
		    pr->m->conf->probe_timeout;
		pr->m->stats.tilts++;
		log_warnx("TILT: the event loop stalled for %llu ms; no "
		    "probe-only down verdict for %llu ms",
		    (unsigned long long)(gap - TILT_TICK_MS),
		    (unsigned long long)(pr->tilt_until_ms - now));
	}
}

struct probe *
probe_new(struct monitor *m)
{
	struct probe	*pr = xcalloc(1, sizeof(*pr));
	struct timeval	 sync_tv = { SYNC_MS / 1000, 0 };
	struct timeval	 tilt_tv = { 0, TILT_TICK_MS * 1000 };

	pr->m = m;
	pr->targets = hmap_new();
	pr->sync_ev = event_new(m->base, -1, EV_PERSIST, sync_cb, pr);
	pr->tilt_ev = event_new(m->base, -1, EV_PERSIST, tilt_cb, pr);
	pr->tilt_last_ms = mono_ms();
	event_add(pr->sync_ev, &sync_tv);
	event_add(pr->tilt_ev, &tilt_tv);
	probe_sync(pr);
	return pr;
}

void
probe_free(struct probe *pr)
{
	struct target	*t;
	size_t		 pos = 0;

	if (pr == NULL)
		return;
	while ((t = hmap_next(pr->targets, &pos)) != NULL)
		target_free(t);
	hmap_free(pr->targets);
	event_free(pr->sync_ev);
	event_free(pr->tilt_ev);
	free(pr);
}

struct target *
probe_target(struct probe *pr, const char *name)
{
	return hmap_get(pr->targets, name);
}

static int
target_cmp(const void *a, const void *b)
{
	return strcmp((*(struct target *const *)a)->name,
	    (*(struct target *const *)b)->name);
}

size_t
probe_targets(struct probe *pr, struct target ***out)
{
	size_t		 n = hmap_count(pr->targets), pos = 0, i = 0;
	struct target	**v = xcalloc(n + 1, sizeof(*v)), *t;

	while ((t = hmap_next(pr->targets, &pos)) != NULL)
		v[i++] = t;
	xqsort(v, i, sizeof(*v), target_cmp);
	*out = v;
	return i;
}

/* The health and last probe of t, for the API. */
json_t *
target_json(const struct target *t)
{
	json_t *o = json_object(), *p;

	json_object_set_new(o, "state", json_string(hstate_name(t->state)));
	json_object_set_new(o, "cause", t->cause[0] ? json_str(t->cause) :
	    json_null());
	json_object_set_new(o, "since", json_time_ms(t->since_ms));
	p = json_object();
	json_object_set_new(p, "time", t->probe_ms ?
	    json_time_ms(t->probe_ms) : json_null());
	json_object_set_new(p, "result", json_string(presult_name(t->result)));
	json_object_set_new(p, "ok", json_boolean(t->result == PR_OK));
	json_object_set_new(p, "error", t->error[0] ? json_str(t->error) :
	    json_null());
	json_object_set_new(p, "rtt_us", json_integer(t->rtt_us));
	json_object_set_new(p, "failures", json_integer(t->fails));
	json_object_set_new(p, "role", json_string(role_name(t)));
	json_object_set_new(p, "source", json_string("monitor"));
	json_object_set_new(o, "probe", p);
	return o;
}
