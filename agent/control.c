/*
 * control.c: the management port (5000).  It speaks the same framing,
 * HMAC handshake and TLS as the report link.  Every request type has one
 * row in handlers[]; a request type without a row gets a typed
 * UNSUPPORTED error, and the connection stays open.
 *
 * Requests that change something may answer later (a stop waits for the
 * process to exit): each is a creq, which outlives its session if need be
 * and then answers no one.  Destructive requests are written to the audit
 * log, log-dir/audit.log: when, who (address and Hello name), what, and
 * how it ended.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_COMP "control"
#include "log.h"
#include "agent.h"
#include "util.h"

#define MAX_SESSIONS	256

struct creq;

struct csession {
	struct control	*ctl;
	struct wconn	*c;
	char		*who;		/* peer address and Hello name */
	struct creq	*reqs;		/* waiting for an answer */
	struct csession	*next, *prev;
};

/* A request whose answer may come later. */
struct creq {
	struct control	*ctl;
	struct csession	*cs;		/* NULL once the session is gone */
	uint64_t	 id;
	const char	*what;
	char		*instance;
	char		*who;
	int		 audit;
	struct creq	*next;		/* in cs->reqs */
};

struct control {
	struct agent		*a;
	struct wlistener	*l;
	struct csession		*sessions;
	int			 nsessions;
};

typedef void handler_fn(struct csession *, uint64_t id, const Ccnode__Request *);

static handler_fn	handle_host_info, handle_list_instances, handle_start,
			handle_stop, handle_restart, handle_set, handle_kill,
			handle_flush, handle_promote, handle_analyze;

/* audit: destructive requests go to the audit log. */
static const struct {
	Ccnode__Request__ReqCase	 type;
	const char			*name;
	handler_fn			*fn;
	int				 audit;
} handlers[] = {
	{ CCNODE__REQUEST__REQ_HOST_INFO, "HostInfo", handle_host_info, 0 },
	{ CCNODE__REQUEST__REQ_LIST_INSTANCES, "ListInstances",
	  handle_list_instances, 0 },
	{ CCNODE__REQUEST__REQ_START, "StartInstance", handle_start, 0 },
	{ CCNODE__REQUEST__REQ_STOP, "StopInstance", handle_stop, 1 },
	{ CCNODE__REQUEST__REQ_RESTART, "RestartInstance", handle_restart, 1 },
	{ CCNODE__REQUEST__REQ_SET_PARAMS, "SetParams", handle_set, 0 },
	{ CCNODE__REQUEST__REQ_KILL_CLIENTS, "KillAllConnections", handle_kill,
	  1 },
	{ CCNODE__REQUEST__REQ_FLUSH, "FlushInstance", handle_flush, 1 },
	{ CCNODE__REQUEST__REQ_PROMOTE, "PromoteInstance", handle_promote, 1 },
	{ CCNODE__REQUEST__REQ_ANALYZE, "Analyze", handle_analyze, 0 },
};

static void
reply(struct csession *cs, uint64_t id, Ccnode__Response *resp)
{
	Ccnode__Envelope env = CCNODE__ENVELOPE__INIT;

	env.id = id;
	env.body_case = CCNODE__ENVELOPE__BODY_RESPONSE;
	env.response = resp;
	wconn_send(cs->c, &env);
}

static void
reply_error(struct csession *cs, uint64_t id, Ccnode__ErrorReply__Code code,
    const char *msg)
{
	Ccnode__Envelope	env = CCNODE__ENVELOPE__INIT;
	Ccnode__ErrorReply	err = CCNODE__ERROR_REPLY__INIT;

	err.code = code;
	err.message = (char *)msg;
	env.id = id;
	env.body_case = CCNODE__ENVELOPE__BODY_ERROR;
	env.error = &err;
	wconn_send(cs->c, &env);
}

static uint64_t
u64_or_zero(double d)
{
	return (uint64_t)clamp(d, 0, 1e18);
}

static void
handle_host_info(struct csession *cs, uint64_t id, const Ccnode__Request *req)
{
	struct agent		*a = cs->ctl->a;
	Ccnode__Response	 resp = CCNODE__RESPONSE__INIT;
	Ccnode__HostInfo	 hi = CCNODE__HOST_INFO__INIT;
	const double		*v = a->host_values;
	char			**warnings;
	int			 nw, i;

	hi.host = a->host_name;
	hi.ip = a->advertise_ip;
	hi.agent_version = PACKAGE_VERSION;
	hi.memory_size = u64_or_zero(v[HM_MEM_TOTAL]);
	hi.memory_in_use = u64_or_zero(v[HM_MEM_USED]);
	hi.process_count = u64_or_zero(v[HM_PROCS]);
	hi.cpu_usage = isnan(v[HM_CPU_USAGE]) ? 0 : v[HM_CPU_USAGE] * 100;
	hi.load1 = isnan(v[HM_LOAD1]) ? 0 : v[HM_LOAD1];
	hi.load5 = isnan(v[HM_LOAD5]) ? 0 : v[HM_LOAD5];
	hi.load15 = isnan(v[HM_LOAD15]) ? 0 : v[HM_LOAD15];
	hi.net_in_bytes_per_sec = a->net_rx_rate;
	hi.net_out_bytes_per_sec = a->net_tx_rate;
	hi.ncpu = (uint32_t)u64_or_zero(v[HM_NCPU]);
	hi.spool_reports = spool_count(a->spool);
	hi.spool_bytes = spool_bytes(a->spool);
	hi.dropped_reports = spool_dropped(a->spool);
	hi.monitor_connected = shipper_connected(a->shipper);
	hi.last_seq = spool_last_seq(a->spool);
	hi.acked_seq = spool_acked_seq(a->spool);
	nw = host_warnings(&warnings);
	hi.n_warnings = (size_t)nw;
	hi.warnings = warnings;
	resp.resp_case = CCNODE__RESPONSE__RESP_HOST_INFO;
	resp.host_info = &hi;
	reply(cs, id, &resp);
	for (i = 0; i < nw; i++)
		free(warnings[i]);
	free(warnings);
}

static void
handle_list_instances(struct csession *cs, uint64_t id,
    const Ccnode__Request *req)
{
	Ccnode__Response	resp = CCNODE__RESPONSE__INIT;
	Ccnode__InstanceList	list;

	ccnode__instance_list__init(&list);
	sup_list(cs->ctl->a->sup, &list);
	sampler_list(cs->ctl->a->sampler, &list);
	resp.resp_case = CCNODE__RESPONSE__RESP_INSTANCES;
	resp.instances = &list;
	reply(cs, id, &resp);
	sampler_list_free(&list);
}

/* ---- requests answered later ------------------------------------------------ */

static struct creq *
creq_new(struct csession *cs, uint64_t id, const char *what,
    const char *instance, int audit)
{
	struct creq *q = xcalloc(1, sizeof(*q));

	q->ctl = cs->ctl;
	q->cs = cs;
	q->id = id;
	q->what = what;
	q->instance = xstrdup(instance ? instance : "");
	q->who = xstrdup(cs->who);
	q->audit = audit;
	q->next = cs->reqs;
	cs->reqs = q;
	return q;
}

static void
audit(struct creq *q, const struct op_result *r)
{
	struct control	*ctl = q->ctl;
	char		*path, *line, ts[40], *name, *msg;
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 fd;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* One line per request, whatever the caller put in the fields. */
	name = str_escape(q->instance, 64);
	msg = str_escape(r->msg, sizeof(r->msg));
	xasprintf(&line, "%s %s request=%s instance=\"%s\" result=%s "
	    "detail=\"%s\"\n", ts, q->who, q->what, name, r->ok ? "ok" :
	    "refused", msg);
	free(name);
	free(msg);
	xasprintf(&path, "%s/audit.log", ctl->a->conf->log_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640)) == -1 || write(fd, line, strlen(line)) == -1)
		log_warnx("audit log %s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	log_notice("audit %s request=%s instance=%s result=%s", q->who, q->what,
	    q->instance, r->ok ? "ok" : "refused");
	free(path);
	free(line);
}

/* The answer of a request: a Result, or an ErrorReply. */
static void
creq_done(void *arg, struct op_result *r)
{
	struct creq		*q = arg, **pp;
	struct csession		*cs = q->cs;
	Ccnode__Response	 resp = CCNODE__RESPONSE__INIT;
	Ccnode__Result		 res = CCNODE__RESULT__INIT;
	Ccnode__InstanceInfo	 ii;
	char			**applied = NULL, **restart = NULL;
	size_t			 i;

	if (q->audit)
		audit(q, r);
	if (cs != NULL) {
		for (pp = &cs->reqs; *pp != q; pp = &(*pp)->next)
			;
		*pp = q->next;
		if (!r->ok)
			reply_error(cs, q->id, (Ccnode__ErrorReply__Code)r->code,
			    r->msg);
		else {
			res.message = r->msg;
			applied = xcalloc(r->applied.n + 1, sizeof(*applied));
			for (i = 0; i < r->applied.n; i++)
				applied[i] = r->applied.v[i].k;
			res.n_applied = r->applied.n;
			res.applied = applied;
			restart = xcalloc(r->needs_restart.n + 1,
			    sizeof(*restart));
			for (i = 0; i < r->needs_restart.n; i++)
				restart[i] = r->needs_restart.v[i].k;
			res.n_needs_restart = r->needs_restart.n;
			res.needs_restart = restart;
			res.count = r->count;
			ccnode__instance_info__init(&ii);
			if (r->instance != NULL) {
				sup_describe(q->ctl->a->sup, r->instance, &ii);
				if (ii.name != NULL)
					res.instance = &ii;
			}
			resp.resp_case = CCNODE__RESPONSE__RESP_RESULT;
			resp.result = &res;
			reply(cs, q->id, &resp);
			if (res.instance != NULL)
				sup_info_free(&ii);
			free(applied);
			free(restart);
		}
	}
	free(q->instance);
	free(q->who);
	free(q);
}

static void
handle_start(struct csession *cs, uint64_t id, const Ccnode__Request *req)
{
	sup_start(cs->ctl->a->sup, req->start, creq_done,
	    creq_new(cs, id, "StartInstance", req->start->name, 0));
}

static void
handle_stop(struct csession *cs, uint64_t id, const Ccnode__Request *req)
{
	sup_stop(cs->ctl->a->sup, req->stop->name, creq_done,
	    creq_new(cs, id, "StopInstance", req->stop->name, 1));
}

static void
handle_restart(struct csession *cs, uint64_t id, const Ccnode__Request *req)
{
	sup_restart(cs->ctl->a->sup, req->restart->name, creq_done,
	    creq_new(cs, id, "RestartInstance", req->restart->name, 1));
}

static void
handle_set(struct csession *cs, uint64_t id, const Ccnode__Request *req)
{
	sup_set_params(cs->ctl->a->sup, req->set_params, creq_done,
	    creq_new(cs, id, "SetParams", req->set_params->name, 0));
}

static void
handle_kill(struct csession *cs, uint64_t id, const Ccnode__Request *req)
{
	sup_kill_clients(cs->ctl->a->sup, req->kill_clients->name, creq_done,
	    creq_new(cs, id, "KillAllConnections", req->kill_clients->name, 1));
}

static void
handle_flush(struct csession *cs, uint64_t id, const Ccnode__Request *req)
{
	sup_flush(cs->ctl->a->sup, req->flush->name, creq_done,
	    creq_new(cs, id, "FlushInstance", req->flush->name, 1));
}

static void
handle_promote(struct csession *cs, uint64_t id, const Ccnode__Request *req)
{
	sup_promote(cs->ctl->a->sup, req->promote->name, creq_done,
	    creq_new(cs, id, "PromoteInstance", req->promote->name, 1));
}

static void
handle_analyze(struct csession *cs, uint64_t id, const Ccnode__Request *req)
{
	Ccnode__Response	 resp = CCNODE__RESPONSE__INIT;
	Ccnode__Result		 res = CCNODE__RESULT__INIT;
	const char		*name = req->analyze->name;
	char			 err[256], msg[320];

	if (sampler_analyze(cs->ctl->a->sampler, name, err,
	    sizeof(err)) == -1) {
		log_warnx("refused %s request=Analyze instance=%s reason=\"%s\"",
		    cs->who, name, err);
		reply_error(cs, id, CCNODE__ERROR_REPLY__CODE__REFUSED, err);
		return;
	}
	log_info("%s request=Analyze instance=%s: big-key scan started",
	    cs->who, name);
	snprintf(msg, sizeof(msg), "big-key scan of %s started; its result "
	    "goes to the monitor (bigkeys endpoints) when it ends", name);
	res.message = msg;
	resp.resp_case = CCNODE__RESPONSE__RESP_RESULT;
	resp.result = &res;
	reply(cs, id, &resp);
}

static void
control_msg_cb(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct csession	*cs = arg;
	size_t		 i;

	if (env->body_case != CCNODE__ENVELOPE__BODY_REQUEST) {
		log_warnx("refused peer=%s reason=\"message type %d is not a "
		    "request\"", wconn_peer(c), env->body_case);
		reply_error(cs, env->id, CCNODE__ERROR_REPLY__CODE__PROTOCOL,
		    "expected a request");
		return;
	}
	for (i = 0; i < nitems(handlers); i++) {
		if (handlers[i].type == env->request->req_case) {
			log_debug("request %s peer=%s id=%llu", handlers[i].name,
			    wconn_peer(c), (unsigned long long)env->id);
			handlers[i].fn(cs, env->id, env->request);
			return;
		}
	}
	log_warnx("refused peer=%s reason=\"unknown request type %d\"",
	    wconn_peer(c), env->request->req_case);
	reply_error(cs, env->id, CCNODE__ERROR_REPLY__CODE__UNSUPPORTED,
	    "this agent does not know that request");
}

static void
session_forget(struct csession *cs)
{
	struct creq *q;

	/* Requests still running answer no one. */
	for (q = cs->reqs; q != NULL; q = q->next)
		q->cs = NULL;
	free(cs->who);
}

static void
control_closed_cb(struct wconn *c, const char *why, void *arg)
{
	struct csession *cs = arg;

	log_debug("session closed peer=%s reason=\"%s\"", wconn_peer(c), why);
	session_forget(cs);
	if (cs->prev != NULL)
		cs->prev->next = cs->next;
	else
		cs->ctl->sessions = cs->next;
	if (cs->next != NULL)
		cs->next->prev = cs->prev;
	cs->ctl->nsessions--;
	free(cs);
}

static const struct wconn_cbs control_cbs = {
	.msg = control_msg_cb,
	.closed = control_closed_cb,
};

static void
control_accept_cb(struct wconn *c, const Ccnode__Hello *hello,
    Ccnode__Welcome *w, void *arg)
{
	struct control	*ctl = arg;
	struct csession	*cs;

	if (ctl->nsessions >= MAX_SESSIONS) {
		log_warnx("refused peer=%s reason=\"%d sessions open\"",
		    wconn_peer(c), ctl->nsessions);
		wconn_send_error(c, 0, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    "too many sessions");
		return;
	}
	cs = xcalloc(1, sizeof(*cs));
	cs->ctl = ctl;
	cs->c = c;
	{
		char *n = str_escape(hello->name, 64);

		xasprintf(&cs->who, "peer=%s name=\"%s\"", wconn_peer(c), n);
		free(n);
	}
	cs->next = ctl->sessions;
	if (ctl->sessions != NULL)
		ctl->sessions->prev = cs;
	ctl->sessions = cs;
	ctl->nsessions++;
	wconn_set_cbs(c, &control_cbs, cs);
	log_debug("session open peer=%s name=%s role=%s", wconn_peer(c),
	    hello->name, hello->role);
}

struct control *
control_new(struct agent *a, char **cause)
{
	struct control		*ctl = xcalloc(1, sizeof(*ctl));
	struct sockaddr_storage	 ss;
	socklen_t		 len;

	ctl->a = a;
	if (parse_ip(a->conf->bind, (uint16_t)a->conf->port, &ss, &len) == -1) {
		xasprintf(cause, "bind: '%s' is not an IP address", a->conf->bind);
		free(ctl);
		return NULL;
	}
	ctl->l = wire_listen(a->base, (struct sockaddr *)&ss, len,
	    &a->control_wc, control_accept_cb, ctl, cause);
	if (ctl->l == NULL) {
		free(ctl);
		return NULL;
	}
	return ctl;
}

void
control_free(struct control *ctl)
{
	struct csession *cs, *next;

	if (ctl == NULL)
		return;
	wire_listener_free(ctl->l);
	for (cs = ctl->sessions; cs != NULL; cs = next) {
		next = cs->next;
		wconn_free(cs->c);
		session_forget(cs);
		free(cs);
	}
	free(ctl);
}
