/*
 * sampler.c: every sample-interval, one round: the host through
 * libstatgrab, and INFO ALL from every watched or supervised redis (PING
 * through an interface process) over its own persistent connection, each
 * with a sample-timeout.  When every instance has answered or timed out,
 * the round becomes one Report in the spool.  Process events go out at
 * once, each in a report of its own.
 *
 * Rounds start on wall-clock multiples of the interval, so that all agents
 * sample at the same moments and the monitor's time buckets line up.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <jansson.h>

#define LOG_COMP "sampler"
#include "log.h"
#include "agent.h"
#include "info.h"
#include "insight.h"
#include "proxystats.h"
#include "rconn.h"
#include "util.h"

#define CLIENT_NAME	"ccagent-sample"
#define MAX_REPLY	(8 * 1024 * 1024)

struct inst {
	struct sampler	*s;
	char		*name;
	char		*ip;
	int		 port;
	int		 kind;		/* KIND_REDIS, KIND_INTERFACE, -1: watch */
	char		*user;
	char		*passfile;
	char		*probe_user;
	char		*probe_pass;	/* read once, from the probe's file */
	const char	*state;		/* supervised: the supervisor's state */
	char		 addr[64];	/* as reported: advertised IP:port */
	struct rconn	*rc;
	int		 pending;	/* INFO outstanding in this round */
	uint64_t	 sent_us;
	int		 up;		/* last result */
	int		 known;		/* any result yet */
	char		 error[256];
	uint32_t	 rtt_us;
	struct info	 info;		/* last good INFO */
	struct insight	*ins;		/* redis: the analytics (insight.c) */
	int		 seen;		/* reconfigure mark */
	/* Interface: nutcracker's stats port, read every round. */
	int		 stats_port;
	struct bufferevent *sbev;
	int		 spending;
	int		 stats_ok;
	struct proxy_stats pstats;	/* the last reading */
	json_t		*prev_errors;	/* server -> errors at the last read */
	Ccnode__ProxyDetail pd;		/* the report's view of pstats */
	Ccnode__ProxyServer *psv, **psp;
	struct inst	*next;
};

struct sampler {
	struct agent	*a;
	struct inst	*insts;
	int		 ninsts;
	struct event	*tick;
	int		 round_open;
	int		 pending;
	int64_t		 round_ms;
	uint64_t	 interval_ms;
	double		 prev_rx, prev_tx;
	uint64_t	 prev_net_ms;
};

static void	round_finish(struct sampler *);

/* ---- nutcracker's stats port ------------------------------------------------ */

#define MAX_STATS	(1024 * 1024)

/* What the proxy's stats say of its backends (see proxystats.c). */
static void
stats_parse(struct inst *in, const char *text, size_t len)
{
	json_t	*next;

	proxy_stats_clear(&in->pstats);
	if ((next = proxy_stats_parse(text, len, in->prev_errors,
	    &in->pstats)) == NULL) {
		log_debug("instance %s: stats port: not nutcracker stats",
		    in->name);
		in->stats_ok = 0;
		return;
	}
	json_decref(in->prev_errors);
	in->prev_errors = next;
	in->stats_ok = 1;
}

static void
stats_done(struct inst *in)
{
	struct sampler *s = in->s;

	if (in->sbev != NULL)
		bufferevent_free(in->sbev);
	in->sbev = NULL;
	if (in->spending) {
		in->spending = 0;
		if (--s->pending == 0 && s->round_open)
			round_finish(s);
	}
}

static void
stats_read_cb(struct bufferevent *bev, void *arg)
{
	struct inst *in = arg;

	if (evbuffer_get_length(bufferevent_get_input(bev)) > MAX_STATS) {
		log_warnx("instance %s: stats port sent over %d bytes",
		    in->name, MAX_STATS);
		in->stats_ok = 0;
		stats_done(in);
	}
}

static void
stats_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct inst	*in = arg;
	struct evbuffer	*b = bufferevent_get_input(bev);
	size_t		 len = evbuffer_get_length(b);

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_EOF)
		stats_parse(in, (const char *)evbuffer_pullup(b, -1), len);
	else {
		in->stats_ok = 0;
		log_debug("instance %s: stats port %d: %s", in->name,
		    in->stats_port, what & BEV_EVENT_TIMEOUT ? "timeout" :
		    "connection failed");
	}
	stats_done(in);
}

static void
stats_fetch(struct inst *in)
{
	struct sampler		*s = in->s;
	struct sockaddr_in	 sin;
	struct timeval		 tv = { (time_t)(s->a->conf->sample_timeout /
				    1000), (suseconds_t)(s->a->conf->
				    sample_timeout % 1000) * 1000 };

	if (in->sbev != NULL)
		stats_done(in);
	in->sbev = bufferevent_socket_new(s->a->base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(in->sbev, stats_read_cb, NULL, stats_event_cb, in);
	bufferevent_set_timeouts(in->sbev, &tv, &tv);
	bufferevent_enable(in->sbev, EV_READ);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)in->stats_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	in->spending = 1;
	s->pending++;
	if (bufferevent_socket_connect(in->sbev, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1) {
		in->stats_ok = 0;
		stats_done(in);
	}
}

static void
inst_result(struct inst *in, int up, const char *err)
{
	if (up && (!in->known || !in->up))
		log_info("instance up name=%s addr=%s:%d", in->name, in->ip,
		    in->port);
	else if (!up && (!in->known || in->up || strcmp(in->error, err) != 0))
		log_warnx("instance down name=%s addr=%s:%d reason=\"%s\"",
		    in->name, in->ip, in->port, err);
	in->known = 1;
	in->up = up;
	snprintf(in->error, sizeof(in->error), "%s", up ? "" : err);
}

/* One of the round's replies from this instance is in (or lost). */
static void
inst_done(void *arg)
{
	struct inst	*in = arg;
	struct sampler	*s = in->s;

	if (in->pending > 0 && --in->pending == 0 &&
	    --s->pending == 0 && s->round_open)
		round_finish(s);
}

/* The answer to INFO ALL (or PING, through an interface process). */
static void
info_reply(struct inst *in, redisReply *r, const char *err)
{
	in->rtt_us = (uint32_t)MINIMUM(mono_us() - in->sent_us, UINT32_MAX);
	if (r == NULL)
		inst_result(in, 0, err);
	else if (r->type == REDIS_REPLY_ERROR)
		inst_result(in, 0, r->str);
	else if (in->kind == KIND_INTERFACE)
		inst_result(in, r->type == REDIS_REPLY_STATUS, "unexpected reply "
		    "to PING");
	else if (r->type != REDIS_REPLY_STRING)
		inst_result(in, 0, "unexpected reply type to INFO");
	else {
		info_parse(r->str, r->len, &in->info);
		if (in->ins != NULL)
			insight_info(in->ins, &in->info, r->str, r->len);
		inst_result(in, 1, NULL);
	}
}

static void
info_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct inst	*in = arg;

	info_reply(in, r, err);
	inst_done(in);
}

/* MULTI and the commands queued in it: the EXEC says how it went. */
static void
queued_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
}

/* LATENCY HISTOGRAM queued: a refusal says why (renamed, ACL). */
static void
latency_queued_cb(struct rconn *rc, redisReply *r, const char *err,
    void *arg)
{
	struct inst *in = arg;

	if (r != NULL && r->type == REDIS_REPLY_ERROR)
		insight_exec_hist(in->ins, r);
}

/*
 * EXEC of MULTI, INFO ALL, LATENCY HISTOGRAM: one snapshot, so the
 * commandstats and the histogram count the same calls.  A refused
 * transaction (LATENCY renamed since) falls back to INFO alone, in this
 * same round.
 */
static void
exec_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct inst	*in = arg;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		info_reply(in, r->element[0], NULL);
		if (in->up && r->element[0]->type == REDIS_REPLY_STRING)
			insight_exec_hist(in->ins, r->element[1]);
		inst_done(in);
		return;
	}
	if (r == NULL) {
		info_cb(rc, NULL, err, in);
		return;
	}
	insight_exec_failed(in->ins, r->type == REDIS_REPLY_ERROR ? r->str :
	    "unexpected reply to EXEC");
	rconn_cmdf(in->rc, info_cb, in, "INFO ALL");
}

static struct inst *
inst_new(struct sampler *s, const struct sample_target *t)
{
	struct inst		*in = xcalloc(1, sizeof(*in));
	struct rconn_opts	 o;
	const char		*ip;
	char			*cause = NULL;

	in->s = s;
	in->name = xstrdup(t->name);
	in->ip = xstrdup(t->ip);
	in->port = t->port;
	in->kind = t->kind;
	in->state = t->state;
	in->stats_port = t->stats_port;
	in->user = t->user ? xstrdup(t->user) : NULL;
	in->passfile = t->passfile ? xstrdup(t->passfile) : NULL;
	if (t->probe_user != NULL &&
	    (in->probe_pass = read_small_file(t->probe_passfile, 256, 1, NULL,
	    &cause)) != NULL)
		in->probe_user = xstrdup(t->probe_user);
	free(cause);
	/* A loopback instance is reached through the advertised address. */
	ip = (strncmp(t->ip, "127.", 4) == 0 || strcmp(t->ip, "::1") == 0) ?
	    s->a->advertise_ip : t->ip;
	snprintf(in->addr, sizeof(in->addr), strchr(ip, ':') ? "[%s]:%d" :
	    "%s:%d", ip, t->port);
	memset(&o, 0, sizeof(o));
	/* nutcracker closes the connection on CLIENT: no name for it. */
	o.client_name = t->kind == KIND_INTERFACE ? NULL : CLIENT_NAME;
	o.user = in->user;
	o.password_file = in->passfile;
	o.connect_timeout_ms = (uint32_t)s->a->conf->sample_timeout;
	o.timeout_ms = (uint32_t)s->a->conf->sample_timeout;
	o.max_reply = MAX_REPLY;
	if (t->kind != KIND_INTERFACE) {
		struct insight_target it;

		memset(&it, 0, sizeof(it));
		it.name = in->name;
		it.ip = in->ip;
		it.port = in->port;
		it.user = in->user;
		it.passfile = in->passfile;
		in->ins = insight_new(s->a, &it);
		o.own = insight_own(in->ins);	/* its handshake is no workload */
	}
	in->rc = rconn_new(s->a->base, in->ip, in->port, &o, NULL, in);
	return in;
}

static void
inst_free(struct inst *in)
{
	if (in->sbev != NULL)
		bufferevent_free(in->sbev);
	json_decref(in->prev_errors);
	proxy_stats_clear(&in->pstats);
	free(in->psv);
	free(in->psp);
	rconn_free(in->rc);
	insight_free(in->ins);
	free(in->name);
	free(in->ip);
	free(in->user);
	free(in->passfile);
	free(in->probe_user);
	if (in->probe_pass != NULL) {
		memset(in->probe_pass, 0, strlen(in->probe_pass));
		free(in->probe_pass);
	}
	free(in);
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int
same_target(const struct inst *in, const struct sample_target *t)
{
	return strcmp(in->ip, t->ip) == 0 && in->port == t->port &&
	    in->kind == t->kind && in->stats_port == t->stats_port &&
	    same_str(in->user, t->user) &&
	    same_str(in->passfile, t->passfile);
}

/* The proxy's stats into the report (memory kept in in until next time). */
static void
fill_proxy(struct inst *in, Ccnode__InstanceSample *is)
{
	const struct proxy_stats	*st = &in->pstats;
	uint32_t			 i;

	is->proxy_stats = 1;
	is->proxy_backends = st->backends;
	is->proxy_backends_failing = st->failing;
	is->proxy_backend_errors = st->errors;
	ccnode__proxy_detail__init(&in->pd);
	in->pd.client_connections = st->client_connections;
	in->pd.total_connections = st->total_connections;
	in->pd.client_err = st->client_errors;
	in->pd.requests = st->requests;
	in->pd.responses = st->responses;
	in->pd.server_errors = st->errors;
	in->pd.fragments = st->fragments;
	free(in->psv);
	free(in->psp);
	in->psv = xcalloc(st->backends + 1, sizeof(*in->psv));
	in->psp = xcalloc(st->backends + 1, sizeof(*in->psp));
	for (i = 0; i < st->backends; i++) {
		const struct proxy_server	*p = &st->servers[i];
		Ccnode__ProxyServer		*m = &in->psv[i];

		ccnode__proxy_server__init(m);
		m->pool = (char *)p->pool;
		m->name = (char *)p->name;
		m->connections = p->connections;
		m->requests = p->requests;
		m->responses = p->responses;
		m->errors = p->errors;
		m->ejected = p->ejected;
		m->failing = p->failing;
		in->psp[i] = m;
	}
	in->pd.n_servers = st->backends;
	in->pd.servers = in->psp;
	is->proxy = &in->pd;
}

/*
 * Fills the InstanceSample of one instance.  Strings point into in; the
 * database and replica records are taken from *dbs and *reps, which
 * advance.
 */
static void
fill_sample(struct inst *in, Ccnode__InstanceSample *is,
    Ccnode__KeyspaceDb **dbs, Ccnode__KeyspaceDb ***dbp, Ccnode__Replica **reps,
    Ccnode__Replica ***repp, char *master, size_t masterlen)
{
	int i;

	ccnode__instance_sample__init(is);
	is->name = in->name;
	is->addr = in->addr;
	is->kind = in->kind == KIND_INTERFACE ? "interface" : "redis";
	is->up = in->up;
	is->error = in->error;
	is->rtt_us = in->rtt_us;
	if (in->state != NULL)
		is->state = (char *)in->state;
	if (in->probe_user != NULL) {
		is->probe_user = in->probe_user;
		is->probe_password = in->probe_pass;
	}
	if (in->kind == KIND_INTERFACE && in->stats_ok)
		fill_proxy(in, is);
	if (in->ins != NULL)
		insight_fill(in->ins, is);
	if (!in->up || in->kind == KIND_INTERFACE)
		return;
	is->n_values = RM_COUNT;
	is->values = in->info.values;
	is->role = in->info.role;
	is->redis_version = in->info.version;
	is->run_id = in->info.run_id;
	is->mode = in->info.mode;
	is->maxmemory_policy = in->info.policy;
	if (in->info.master_host[0] != '\0') {
		snprintf(master, masterlen, "%s:%d", in->info.master_host,
		    in->info.master_port);
		is->master_addr = master;
	}
	is->n_dbs = (size_t)in->info.ndbs;
	is->dbs = *dbp;
	for (i = 0; i < in->info.ndbs; i++) {
		Ccnode__KeyspaceDb *d = (*dbs)++;

		ccnode__keyspace_db__init(d);
		d->db = in->info.dbs[i].db;
		d->keys = in->info.dbs[i].keys;
		d->expires = in->info.dbs[i].expires;
		d->avg_ttl_ms = in->info.dbs[i].avg_ttl_ms;
		*(*dbp)++ = d;
	}
	is->n_replicas = (size_t)in->info.nreplicas;
	is->replicas = *repp;
	for (i = 0; i < in->info.nreplicas; i++) {
		Ccnode__Replica *r = (*reps)++;

		ccnode__replica__init(r);
		r->addr = in->info.replicas[i].addr;
		r->state = in->info.replicas[i].state;
		r->offset = in->info.replicas[i].offset;
		r->lag = in->info.replicas[i].lag;
		*(*repp)++ = r;
	}
}

/* ---- analytics: replicas, scans, hot keys -------------------------------- */

static int
is_loopback_ip(const char *ip)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;

	if (strcmp(ip, "localhost") == 0)	/* a master_host may be a name */
		return 1;
	return parse_ip(ip, 0, &ss, &sl) == 0 &&
	    addr_is_loopback((struct sockaddr *)&ss);
}

/* Whether r's INFO names m as its master. */
static int
replica_of(const struct sampler *s, const struct inst *r, const struct inst *m)
{
	const char *mh = r->info.master_host;

	if (r == m || !r->up || r->ins == NULL ||
	    strcmp(r->info.role, "slave") != 0 ||
	    r->info.master_port != m->port || mh[0] == '\0')
		return 0;
	return strcmp(mh, m->ip) == 0 || (is_loopback_ip(mh) &&
	    is_loopback_ip(m->ip)) || strcmp(mh, s->a->advertise_ip) == 0;
}

static void
insight_target_of(struct inst *in, struct insight_target *t)
{
	memset(t, 0, sizeof(*t));
	t->name = in->name;
	t->ip = in->ip;
	t->port = in->port;
	t->user = in->user;
	t->passfile = in->passfile;
	t->own = insight_own(in->ins);
}

/* A replica of m that this agent samples and that answers, or NULL. */
static struct inst *
replica_for(struct sampler *s, struct inst *m)
{
	struct inst *r;

	for (r = s->insts; r != NULL; r = r->next)
		if (replica_of(s, r, m))
			return r;
	return NULL;
}

static void
insight_rounds(struct sampler *s)
{
	struct insight_target	 rt;
	struct inst		*in, *r, *x;
	int			 has_master;
	double			 ops;
	uint32_t		 rtt;

	for (in = s->insts; in != NULL; in = in->next) {
		if (in->ins == NULL || !in->up)
			continue;
		has_master = 0;
		ops = in->info.values[RM_OPS];
		rtt = in->rtt_us;
		for (x = s->insts; x != NULL; x = x->next) {
			if (replica_of(s, in, x))
				has_master = 1;
			/* A scan of in runs on x (in itself, or a replica). */
			if (insight_scans(in->ins, x->ip, x->port)) {
				ops = x->info.values[RM_OPS];
				rtt = x->rtt_us;
			}
		}
		if ((r = replica_for(s, in)) != NULL)
			insight_target_of(r, &rt);
		insight_round(in->ins, r != NULL ? &rt : NULL, has_master,
		    ops, rtt);
	}
}

int
sampler_scanning(const struct sampler *s, const char *ip, int port)
{
	const struct inst *x;

	for (x = s != NULL ? s->insts : NULL; x != NULL; x = x->next)
		if (x->ins != NULL && insight_scans(x->ins, ip, port))
			return 1;
	return 0;
}

int
sampler_analyze(struct sampler *s, const char *name, char *err,
    size_t errlen)
{
	struct insight_target	 rt;
	struct inst		*in, *r;

	for (in = s->insts; in != NULL; in = in->next)
		if (strcmp(in->name, name) == 0)
			break;
	if (in == NULL) {
		snprintf(err, errlen, "no instance %s is sampled here", name);
		return -1;
	}
	if (in->ins == NULL) {
		snprintf(err, errlen, "%s is an interface process: it has no "
		    "keys", name);
		return -1;
	}
	if ((r = replica_for(s, in)) != NULL)
		insight_target_of(r, &rt);
	return insight_analyze(in->ins, r != NULL ? &rt : NULL, err, errlen);
}

/* The round is complete: one Report into the spool. */
static void
round_finish(struct sampler *s)
{
	struct agent		*a = s->a;
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Report		 rep = CCNODE__REPORT__INIT;
	Ccnode__AgentStatus	 st = CCNODE__AGENT_STATUS__INIT;
	Ccnode__HostSample	 hs = CCNODE__HOST_SAMPLE__INIT;
	Ccnode__InstanceSample	*samples, **sp;
	Ccnode__KeyspaceDb	*dbs, **dbp, *dcur, **dpcur;
	Ccnode__Replica		*reps, **repp, *rcur, **rpcur;
	char			(*masters)[64];
	struct inst		*in;
	uint8_t			*buf;
	size_t			 len, n = (size_t)s->ninsts, i = 0;
	size_t			 ndbs = 0, nreps = 0;

	s->round_open = 0;
	for (in = s->insts; in != NULL; in = in->next)
		if (in->up && in->kind != KIND_INTERFACE) {
			ndbs += (size_t)in->info.ndbs;
			nreps += (size_t)in->info.nreplicas;
		}
	samples = xcalloc(n, sizeof(*samples));
	sp = xcalloc(n, sizeof(*sp));
	dcur = dbs = xcalloc(ndbs, sizeof(*dbs));
	dpcur = dbp = xcalloc(ndbs, sizeof(*dbp));
	rcur = reps = xcalloc(nreps, sizeof(*reps));
	rpcur = repp = xcalloc(nreps, sizeof(*repp));
	masters = xcalloc(n, sizeof(*masters));
	for (in = s->insts; in != NULL; in = in->next, i++) {
		fill_sample(in, &samples[i], &dcur, &dpcur, &rcur, &rpcur,
		    masters[i], sizeof(masters[i]));
		sp[i] = &samples[i];
	}

	st.version = PACKAGE_VERSION;
	st.spool_reports = spool_count(a->spool);
	st.spool_bytes = spool_bytes(a->spool);
	st.dropped_reports = spool_dropped(a->spool);
	st.started_ms = a->started_ms;
	st.sample_interval_ms = (uint32_t)s->interval_ms;
	st.advertise_addr = a->advertise_ip;
	hs.ip = a->advertise_ip;
	hs.n_values = HM_COUNT;
	hs.values = a->host_values;

	rep.epoch = spool_epoch(a->spool);
	rep.seq = spool_next_seq(a->spool);
	rep.time_ms = s->round_ms;
	rep.host = a->host_name;
	rep.agent = &st;
	rep.host_sample = &hs;
	rep.n_instances = n;
	rep.instances = sp;
	env.body_case = CCNODE__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	buf = wire_pack(&env, &len);
	spool_add(a->spool, rep.seq, buf, len);
	shipper_kick(a->shipper);
	for (in = s->insts; in != NULL; in = in->next)
		if (in->ins != NULL)
			insight_sent(in->ins);
	/*
	 * Scans and hot-key windows start after the deltas are made: a
	 * command they send now is counted against the next reading.
	 */
	insight_rounds(s);

	free(samples);
	free(sp);
	free(dbs);
	free(dbp);
	free(reps);
	free(repp);
	free(masters);
}

static void
host_round(struct sampler *s)
{
	struct agent	*a = s->a;
	uint64_t	 now = mono_ms();
	double		 dt;

	host_sample(a->host, a->host_values);
	dt = s->prev_net_ms ? (double)(now - s->prev_net_ms) / 1000.0 : 0;
	if (dt > 0 && !isnan(a->host_values[HM_NET_RX])) {
		a->net_rx_rate = MAXIMUM(0, (a->host_values[HM_NET_RX] -
		    s->prev_rx) / dt);
		a->net_tx_rate = MAXIMUM(0, (a->host_values[HM_NET_TX] -
		    s->prev_tx) / dt);
	}
	s->prev_rx = a->host_values[HM_NET_RX];
	s->prev_tx = a->host_values[HM_NET_TX];
	s->prev_net_ms = now;
}

/*
 * Arms the next tick at the wall-clock boundary after the current one.
 * Timers run on the monotonic clock and may fire a little early or late,
 * so "current" is the boundary nearest to now.  Returns that boundary.
 */
static int64_t
schedule(struct sampler *s)
{
	int64_t		now = wall_ms(), iv = (int64_t)s->interval_ms;
	int64_t		cur = (now + iv / 2) / iv * iv;
	int64_t		delay = cur + iv - now;
	struct timeval	tv = { delay / 1000, (delay % 1000) * 1000 };

	evtimer_add(s->tick, &tv);
	return cur;
}

static void
sampler_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sampler	*s = arg;
	struct inst	*in;
	int64_t		 boundary;
	int		 queued;

	boundary = schedule(s);
	if (s->round_open) {
		/* Cannot happen while sample-timeout < sample-interval. */
		log_warnx("previous round still open; closing it");
		for (in = s->insts; in != NULL; in = in->next) {
			if (in->pending) {
				in->pending = 0;
				inst_result(in, 0, "no answer before the next round");
			}
			if (in->spending) {
				in->spending = 0;
				in->stats_ok = 0;
				bufferevent_free(in->sbev);
				in->sbev = NULL;
			}
		}
		s->pending = 0;
		round_finish(s);
	}
	s->round_ms = boundary;
	s->round_open = 1;
	host_round(s);
	s->pending = s->ninsts + 1;	/* +1 holds the round open while sending */
	for (in = s->insts; in != NULL; in = in->next) {
		in->pending = 1;
		in->sent_us = mono_us();
		if (in->ins != NULL && insight_atomic(in->ins)) {
			rconn_cmdf(in->rc, queued_cb, in, "MULTI");
			rconn_cmdf(in->rc, queued_cb, in, "INFO ALL");
			rconn_cmdf(in->rc, latency_queued_cb, in,
			    "LATENCY HISTOGRAM");
			rconn_cmdf(in->rc, exec_cb, in, "EXEC");
			queued = 4;
		} else {
			rconn_cmdf(in->rc, info_cb, in, in->kind ==
			    KIND_INTERFACE ? "PING" : "INFO ALL");
			queued = 1;
		}
		if (in->ins != NULL)
			in->pending += insight_send(in->ins, in->rc, queued,
			    inst_done, in);
		if (in->kind == KIND_INTERFACE && in->stats_port > 0)
			stats_fetch(in);
	}
	if (--s->pending == 0 && s->round_open)
		round_finish(s);
}

/* What to sample: the watch lines, then the supervised instances. */
static size_t
targets(struct sampler *s, struct sample_target **out)
{
	struct sample_target	*t, *sup = NULL;
	const struct watch	*w;
	size_t			 n = 0, nsup = 0, i;

	for (w = s->a->conf->watches; w != NULL; w = w->next)
		n++;
	if (s->a->sup != NULL)
		nsup = sup_targets(s->a->sup, &sup);
	t = xcalloc(n + nsup + 1, sizeof(*t));
	n = 0;
	for (w = s->a->conf->watches; w != NULL; w = w->next, n++) {
		t[n].name = w->name;
		t[n].ip = w->ip;
		t[n].port = w->port;
		t[n].kind = -1;
		t[n].user = w->user;
		t[n].passfile = w->passfile;
	}
	for (i = 0; i < nsup; i++)
		t[n++] = sup[i];
	free(sup);
	*out = t;
	return n;
}

void
sampler_reconfigure(struct sampler *s)
{
	struct agent_conf	*c = s->a->conf;
	struct sample_target	*t;
	struct inst		*in, **pp, *tail;
	size_t			 n, i;
	int			 held;

	n = targets(s, &t);
	for (in = s->insts; in != NULL; in = in->next)
		in->seen = 0;
	for (i = 0; i < n; i++) {
		for (in = s->insts; in != NULL; in = in->next)
			if (strcmp(in->name, t[i].name) == 0)
				break;
		if (in != NULL && in->seen)
			continue;	/* a watch and an instance share a name */
		if (in != NULL && same_target(in, &t[i])) {
			in->seen = 1;
			in->state = t[i].state;
			rconn_set_timeout(in->rc, (uint32_t)c->sample_timeout);
			continue;
		}
		in = inst_new(s, &t[i]);
		in->seen = 2;
		for (tail = s->insts; tail && tail->next; tail = tail->next)
			;
		if (tail != NULL)
			tail->next = in;
		else
			s->insts = in;
		s->ninsts++;
		log_info("sampling instance name=%s addr=%s:%d", t[i].name,
		    t[i].ip, t[i].port);
	}
	free(t);
	for (pp = &s->insts; *pp != NULL; ) {
		in = *pp;
		if (in->seen) {
			pp = &in->next;
			continue;
		}
		*pp = in->next;
		s->ninsts--;
		log_info("stopped sampling instance name=%s", in->name);
		held = (in->pending != 0) + (in->spending != 0);
		inst_free(in);
		if (held > 0 && (s->pending -= held) == 0 && s->round_open)
			round_finish(s);
	}
	if (s->interval_ms != c->sample_interval) {
		s->interval_ms = c->sample_interval;
		evtimer_del(s->tick);
		schedule(s);
	}
}

void
sampler_event(struct sampler *s, const char *instance, const char *event,
    const char *detail)
{
	struct agent		*a = s->a;
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Report		 rep = CCNODE__REPORT__INIT;
	Ccnode__AgentStatus	 st = CCNODE__AGENT_STATUS__INIT;
	Ccnode__ProcessEvent	 ev = CCNODE__PROCESS_EVENT__INIT, *evp = &ev;
	uint8_t			*buf;
	size_t			 len;

	ev.instance = (char *)instance;
	ev.event = (char *)event;
	ev.time_ms = wall_ms();
	ev.detail = (char *)detail;
	st.version = PACKAGE_VERSION;
	st.spool_reports = spool_count(a->spool);
	st.spool_bytes = spool_bytes(a->spool);
	st.dropped_reports = spool_dropped(a->spool);
	st.started_ms = a->started_ms;
	st.sample_interval_ms = (uint32_t)s->interval_ms;
	st.advertise_addr = a->advertise_ip;
	rep.epoch = spool_epoch(a->spool);
	rep.seq = spool_next_seq(a->spool);
	rep.time_ms = ev.time_ms;
	rep.host = a->host_name;
	rep.agent = &st;
	rep.n_events = 1;
	rep.events = &evp;
	env.body_case = CCNODE__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	buf = wire_pack(&env, &len);
	spool_add(a->spool, rep.seq, buf, len);
	shipper_kick(a->shipper);
}

struct sampler *
sampler_new(struct agent *a)
{
	struct sampler *s = xcalloc(1, sizeof(*s));

	s->a = a;
	s->tick = evtimer_new(a->base, sampler_tick_cb, s);
	s->interval_ms = a->conf->sample_interval;
	sampler_reconfigure(s);
	host_round(s);
	schedule(s);
	return s;
}

void
sampler_free(struct sampler *s)
{
	struct inst *in, *next;

	if (s == NULL)
		return;
	for (in = s->insts; in != NULL; in = next) {
		next = in->next;
		inst_free(in);
	}
	event_free(s->tick);
	free(s);
}

void
sampler_list(struct sampler *s, Ccnode__InstanceList *l)
{
	struct inst		*in;
	Ccnode__InstanceInfo	*ii;
	size_t			 i = 0;

	/* Watches only: the supervisor describes its own instances. */
	i = l->n_items;
	l->items = xreallocarray(l->items, i + (size_t)s->ninsts + 1,
	    sizeof(*l->items));
	for (in = s->insts; in != NULL; in = in->next) {
		if (in->kind != -1)
			continue;
		ii = xcalloc(1, sizeof(*ii));
		ccnode__instance_info__init(ii);
		ii->name = in->name;
		ii->kind = "watch";
		ii->port = (uint32_t)in->port;
		ii->addr = in->addr;
		ii->up = in->up;
		ii->error = in->error;
		ii->state = !in->known ? "starting" : in->up ? "running" : "down";
		/* Numbers from a Redis reply: clamped before the casts. */
		if (in->up)
			ii->pid = (int32_t)clamp(in->info.values[RM_PID], 0,
			    INT32_MAX);
		if (in->up)
			ii->uptime_s = (int64_t)clamp(in->info.values[RM_UPTIME],
			    0, 1e15);
		l->items[i++] = ii;
	}
	l->n_items = i;
}

void
sampler_list_free(Ccnode__InstanceList *l)
{
	size_t i;

	for (i = 0; i < l->n_items; i++) {
		if (strcmp(l->items[i]->kind, "watch") != 0)
			sup_info_free(l->items[i]);
		free(l->items[i]);
	}
	free(l->items);
}
