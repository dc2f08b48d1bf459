/*
 * control.c: the management port (5000).  It speaks the same framing,
 * HMAC handshake and TLS as the report link.  Every request type has one
 * row in handlers[]; a request type without a row gets a typed
 * UNSUPPORTED error, and the connection stays open.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "control"
#include "log.h"
#include "agent.h"
#include "util.h"

#define MAX_SESSIONS	256

struct csession {
	struct control	*ctl;
	struct wconn	*c;
	struct csession	*next, *prev;
};

struct control {
	struct agent		*a;
	struct wlistener	*l;
	struct csession		*sessions;
	int			 nsessions;
};

typedef void handler_fn(struct csession *, uint64_t id, const Ccnode__Request *);

static handler_fn	handle_host_info, handle_list_instances;

static const struct {
	Ccnode__Request__ReqCase	 type;
	const char			*name;
	handler_fn			*fn;
} handlers[] = {
	{ CCNODE__REQUEST__REQ_HOST_INFO, "HostInfo", handle_host_info },
	{ CCNODE__REQUEST__REQ_LIST_INSTANCES, "ListInstances",
	  handle_list_instances },
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

	sampler_list(cs->ctl->a->sampler, &list);
	resp.resp_case = CCNODE__RESPONSE__RESP_INSTANCES;
	resp.instances = &list;
	reply(cs, id, &resp);
	sampler_list_free(&list);
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
control_closed_cb(struct wconn *c, const char *why, void *arg)
{
	struct csession *cs = arg;

	log_debug("session closed peer=%s reason=\"%s\"", wconn_peer(c), why);
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
		free(cs);
	}
	free(ctl);
}
