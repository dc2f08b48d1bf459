/*
 * api.c: the JSON API.  Every list answers {"items": [...], ...}.  Bad
 * parameters get 400 with {"error": "..."}, unknown names 404.  All JSON
 * is built by jansson.
 *
 * Field names follow the product's API where it has one, lower-cased
 * (machineip, memorysize, runid, qps, ...), next to plainer names of our
 * own.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define LOG_COMP "api"
#include "log.h"
#include "json.h"
#include "monitor.h"
#include "util.h"

#define MAX_POINTS	10000

/* ---- query parameters ---------------------------------------------------- */

struct query {
	struct evkeyvalq	kv;
};

/*
 * Parses the query string and checks it holds only the allowed names,
 * each once.  Returns 0, or -1 after sending a 400.
 */
static int
query_parse(struct evhttp_request *req, const char *const *allowed,
    struct query *q)
{
	const char		*qs = evhttp_uri_get_query(
				    evhttp_request_get_evhttp_uri(req));
	struct evkeyval		*kv, *kv2;
	int			 i;

	TAILQ_INIT(&q->kv);
	if (qs == NULL)
		return 0;
	if (evhttp_parse_query_str(qs, &q->kv) == -1) {
		evhttp_clear_headers(&q->kv);
		http_send_error(req, 400, "malformed query string");
		return -1;
	}
	TAILQ_FOREACH(kv, &q->kv, next) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(kv->key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			http_send_error(req, 400, "unknown parameter '%s'",
			    kv->key);
			evhttp_clear_headers(&q->kv);
			return -1;
		}
		for (kv2 = TAILQ_NEXT(kv, next); kv2 != NULL;
		    kv2 = TAILQ_NEXT(kv2, next))
			if (strcmp(kv->key, kv2->key) == 0) {
				http_send_error(req, 400, "parameter '%s' "
				    "given twice", kv->key);
				evhttp_clear_headers(&q->kv);
				return -1;
			}
	}
	return 0;
}

static const char *
query_get(struct query *q, const char *name)
{
	return evhttp_find_header(&q->kv, name);
}

static void
query_free(struct query *q)
{
	evhttp_clear_headers(&q->kv);
}

/* ---- objects ------------------------------------------------------------- */

static json_t *
host_json(struct monitor *m, const struct host *h, int full)
{
	json_t			*o, *agent, *vals;
	struct host_epoch	*e;
	int			 i;

	o = json_object();
	json_object_set_new(o, "host", json_str(h->name));
	json_object_set_new(o, "machineip", json_str(h->ip));
	json_object_set_new(o, "machinetype", json_str(h->ninstances > 0 ?
	    "cache" : ""));
	json_object_set_new(o, "memorysize", json_num(h->values[HM_MEM_TOTAL]));
	json_object_set_new(o, "memoryinuse", json_num(h->values[HM_MEM_USED]));
	json_object_set_new(o, "machineinterface",
	    json_num(h->values[HM_PROCS]));
	json_object_set_new(o, "processnumber", json_integer(h->ninstances));
	json_object_set_new(o, "status", json_integer(h->conn != NULL));
	json_object_set_new(o, "cpu_percent", json_num(
	    isnan(h->values[HM_CPU_USAGE]) ? NAN : h->values[HM_CPU_USAGE] * 100));
	json_object_set_new(o, "ncpu", json_num(h->values[HM_NCPU]));
	json_object_set_new(o, "load1", json_num(h->values[HM_LOAD1]));
	json_object_set_new(o, "load5", json_num(h->values[HM_LOAD5]));
	json_object_set_new(o, "load15", json_num(h->values[HM_LOAD15]));
	json_object_set_new(o, "net_in_bytes_per_sec", json_num(h->rx_rate));
	json_object_set_new(o, "net_out_bytes_per_sec", json_num(h->tx_rate));
	json_object_set_new(o, "sample_time", json_time_ms(h->sample_ms));

	agent = json_object();
	json_object_set_new(agent, "connected", json_boolean(h->conn != NULL));
	json_object_set_new(agent, "peer", json_str(h->peer));
	json_object_set_new(agent, "version", json_str(h->version));
	json_object_set_new(agent, "started", json_time_ms(h->started_ms));
	json_object_set_new(agent, "last_report", json_time_ms(h->last_report_ms));
	json_object_set_new(agent, "sample_interval_ms",
	    json_integer(h->interval_ms));
	json_object_set_new(agent, "spool_reports", json_u64(h->spool_reports));
	json_object_set_new(agent, "spool_bytes", json_u64(h->spool_bytes));
	json_object_set_new(agent, "dropped_reports", json_u64(h->dropped));
	json_object_set_new(agent, "reports", json_u64(h->reports));
	json_object_set_new(agent, "duplicates", json_u64(h->duplicates));
	json_object_set_new(agent, "missing", json_u64(h->missing));
	/* Sequence numbers of the current epoch. */
	e = host_current_epoch((struct host *)h);
	json_object_set_new(agent, "epoch", json_sprintf("%016llx",
	    (unsigned long long)(e ? e->epoch : 0)));
	json_object_set_new(agent, "last_seq", json_u64(e ? e->last_seq : 0));
	json_object_set_new(agent, "durable_seq",
	    json_u64(e ? e->durable_seq : 0));
	json_object_set_new(agent, "epochs", json_integer(h->nepochs));
	json_object_set_new(o, "agent", agent);
	if (full) {
		vals = json_object();
		for (i = 0; i < HM_COUNT; i++)
			json_object_set_new(vals, host_metric_defs[i].prom,
			    json_num(h->values[i]));
		json_object_set_new(o, "metrics", vals);
	}
	(void)m;
	return o;
}

/*
 * The health the monitor judged (probe.c), or while it has no verdict,
 * the agent's last sample.
 */
static const char *
instance_state(struct monitor *m, const struct instance *in, int64_t now)
{
	struct target *t = m->probe ? probe_target(m->probe, in->name) : NULL;

	if (t != NULL && (t->state != HS_UNKNOWN || t->stopped))
		return hstate_name(t->state);	/* stopped: unknown */
	if (!instance_fresh(in, now) || in->sample_ms == 0)
		return "unknown";	/* not sampled lately, or not yet */
	return in->up ? "up" : "down";
}

/* An instance line no agent reports: what the probes know. */
static json_t *
target_only_json(const struct target *t)
{
	json_t *o = target_json(t);

	json_object_set_new(o, "name", json_str(t->name));
	json_object_set_new(o, "host", json_null());
	json_object_set_new(o, "addr", json_str(t->addr));
	json_object_set_new(o, "port", json_integer(t->port));
	json_object_set_new(o, "kind", json_str(t->kind));
	json_object_set_new(o, "role", json_string(t->role[0] ? t->role :
	    "unknown"));
	json_object_set_new(o, "source", json_string("config"));
	return o;
}

static json_t *
instance_json(struct monitor *m, const struct instance *in, int full)
{
	json_t		*o, *s, *vals, *a;
	struct target	*t;
	const char	*colon = strrchr(in->addr, ':');
	double		 keys = 0;
	int		 i, live;
	int64_t		 now = wall_ms();

	for (i = 0; i < in->ndbs; i++)
		keys += (double)in->dbs[i].keys;
	o = json_object();
	json_object_set_new(o, "name", json_str(in->name));
	json_object_set_new(o, "host", json_str(in->host->name));
	json_object_set_new(o, "addr", json_str(in->addr));
	json_object_set_new(o, "port", colon ? json_integer(atoi(colon + 1)) :
	    json_null());
	json_object_set_new(o, "kind", json_str(in->kind));
	json_object_set_new(o, "state", json_str(instance_state(m, in, now)));
	t = m->probe ? probe_target(m->probe, in->name) : NULL;
	if (t != NULL && t->role[0] != '\0')
		json_object_set_new(o, "role", json_str(t->role));
	else
		json_object_set_new(o, "role", json_str(strcmp(in->role,
		    "slave") == 0 ? "replica" : in->role[0] ? in->role :
		    "unknown"));
	if (t != NULL) {
		json_t *tj = target_json(t);

		json_object_set(o, "cause", json_object_get(tj, "cause"));
		json_object_set(o, "since", json_object_get(tj, "since"));
		json_object_set(o, "probe", json_object_get(tj, "probe"));
		json_decref(tj);
	}
	json_object_set_new(o, "connected", json_integer(in->up &&
	    instance_fresh(in, now)));
	json_object_set_new(o, "runid", json_str(in->run_id));
	json_object_set_new(o, "redis_version", json_str(in->version));
	/* Current figures only: a down or unreported instance has none. */
	live = in->up && instance_fresh(in, now);
	json_object_set_new(o, "keys", live ? json_num(keys) : json_null());
	json_object_set_new(o, "qps", json_num(live ?
	    in->values[RM_OPS] : NAN));
	json_object_set_new(o, "storage", json_num(live ?
	    in->values[RM_MEM_USED] : NAN));
	json_object_set_new(o, "maxmemory", json_num(live ?
	    in->values[RM_MEM_MAX] : NAN));
	json_object_set_new(o, "clients", json_num(live ?
	    in->values[RM_CLIENTS] : NAN));
	s = json_object();
	json_object_set_new(s, "time", json_time_ms(in->sample_ms));
	json_object_set_new(s, "ok", json_boolean(in->up));
	json_object_set_new(s, "error", in->up ? json_null() :
	    json_str(in->error));
	json_object_set_new(s, "rtt_us", json_integer(in->rtt_us));
	json_object_set_new(s, "source", json_string("agent"));
	json_object_set_new(o, "sample", s);
	if (in->proxy_stats && instance_fresh(in, now))
		json_object_set_new(o, "backends", json_pack("{s:I,s:I,s:o}",
		    "total", (json_int_t)in->proxy_backends,
		    "failing", (json_int_t)in->proxy_failing,
		    "errors", json_u64(in->proxy_errors)));
	/* Interface processes: the proxy's figures; analytics sources. */
	analytics_instance_json(in, o, instance_fresh(in, now));
	if (in->proc_state[0] != '\0') {
		/* Supervised: the agent's view of the process. */
		s = json_object();
		json_object_set_new(s, "state", json_str(in->proc_state));
		json_object_set_new(s, "last_event", in->event[0] ?
		    json_pack("{s:o,s:o,s:o}", "event", json_str(in->event),
		    "detail", json_str(in->event_detail), "time",
		    json_time_ms(in->event_ms)) : json_null());
		json_object_set_new(o, "process", s);
	}
	if (!full)
		return o;
	json_object_set_new(o, "mode", json_str(in->mode));
	json_object_set_new(o, "master", in->master_addr[0] ?
	    json_str(in->master_addr) : json_null());
	json_object_set_new(o, "maxmemory_policy", json_str(in->policy));
	vals = json_object();
	for (i = 0; i < RM_COUNT; i++)
		json_object_set_new(vals, redis_metric_defs[i].prom,
		    json_num(in->values[i]));
	json_object_set_new(o, "metrics", vals);
	a = json_array();
	for (i = 0; i < in->ndbs; i++)
		json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:o}",
		    "db", (json_int_t)in->dbs[i].db,
		    "keys", json_u64(in->dbs[i].keys),
		    "expires", json_u64(in->dbs[i].expires),
		    "avg_ttl_ms", json_u64(in->dbs[i].avg_ttl_ms)));
	json_object_set_new(o, "keyspace", a);
	a = json_array();
	for (i = 0; i < in->nreplicas; i++)
		json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:I}",
		    "addr", json_str(in->replicas[i].addr),
		    "state", json_str(in->replicas[i].state),
		    "offset", json_u64(in->replicas[i].offset),
		    "lag", (json_int_t)in->replicas[i].lag));
	json_object_set_new(o, "replicas", a);
	(void)m;
	return o;
}

/* ---- series --------------------------------------------------------------- */

static void
point_cb(int64_t t_ms, double v, void *arg)
{
	json_array_append_new(arg, json_pack("{s:I,s:o}", "time",
	    (json_int_t)(t_ms / 1000), "value", json_num(v)));
}

static void
series_reply(struct evhttp_request *req, enum series_kind kind,
    const struct series *s)
{
	static const char *const allowed[] = { "metric", "from", "to", "step",
	    NULL };
	struct query		 q;
	const char		*metric, *v;
	const struct series_spec *sp;
	int64_t			 now = wall_ms(), from, to;
	int			 idx, level = -1, i;
	json_t			*items, *o;
	char			 known[2048] = "";
	size_t			 kl = 0;

	if (query_parse(req, allowed, &q) == -1)
		return;
	if ((metric = query_get(&q, "metric")) == NULL ||
	    (idx = series_find(kind, metric)) == -1) {
		for (i = 0; i < series_nspecs(kind) && kl < sizeof(known); i++)
			kl += (size_t)snprintf(known + kl, sizeof(known) - kl,
			    "%s%s", i ? ", " : "", series_spec(kind, i)->name);
		http_send_error(req, 400, "%s; known metrics: %s",
		    metric ? "unknown metric" : "metric is required", known);
		goto out;
	}
	to = now;
	if ((v = query_get(&q, "to")) != NULL && parse_time_ms(v, &to) == -1) {
		http_send_error(req, 400, "to: '%s' is neither Unix seconds nor "
		    "RFC 3339", v);
		goto out;
	}
	from = to - 3600 * 1000;
	if ((v = query_get(&q, "from")) != NULL && parse_time_ms(v, &from) == -1) {
		http_send_error(req, 400, "from: '%s' is neither Unix seconds "
		    "nor RFC 3339", v);
		goto out;
	}
	if (from > to) {
		http_send_error(req, 400, "from is after to");
		goto out;
	}
	if ((v = query_get(&q, "step")) != NULL) {
		if ((level = series_level_find(v)) == -1) {
			http_send_error(req, 400, "step: '%s' is not one of 5s, "
			    "1m, 5m, 1h, 1d", v);
			goto out;
		}
	} else {
		/* The finest level that still holds from. */
		for (level = 0; level < SERIES_LEVELS - 1; level++)
			if (now - from <= (int64_t)series_levels[level].points *
			    series_levels[level].step_s * 1000)
				break;
	}
	if ((to - from) / ((int64_t)series_levels[level].step_s * 1000) >
	    MAX_POINTS) {
		http_send_error(req, 400, "the range holds more than %d points "
		    "at step %s; use a coarser step", MAX_POINTS,
		    series_levels[level].name);
		goto out;
	}
	sp = series_spec(kind, idx);
	items = json_array();
	series_read(s, idx, level, from, to, point_cb, items);
	o = json_object();
	json_object_set_new(o, "metric", json_string(sp->name));
	json_object_set_new(o, "help", json_string(sp->help));
	json_object_set_new(o, "step", json_string(series_levels[level].name));
	json_object_set_new(o, "from", json_integer(from / 1000));
	json_object_set_new(o, "to", json_integer(to / 1000));
	json_object_set_new(o, "rate", json_boolean(sp->rate));
	json_object_set_new(o, "unit", json_string(sp->rate ? "per second" :
	    "value"));
	json_object_set_new(o, "items", items);
	http_send_json(req, 200, o);
out:
	query_free(&q);
}

/* ---- endpoints ------------------------------------------------------------ */

static const char *const no_params[] = { NULL };

void
api_status(struct monitor *m, struct evhttp_request *req)
{
	struct query	 q;
	json_t		*o;

	if (query_parse(req, no_params, &q) == -1)
		return;
	o = json_object();
	json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(o, "time", json_time_ms(wall_ms()));
	json_object_set_new(o, "started", json_time_ms(m->started_ms));
	json_object_set_new(o, "uptime_s",
	    json_integer((wall_ms() - m->started_ms) / 1000));
	json_object_set_new(o, "agents_connected",
	    json_integer(ingest_connected(m->ingest)));
	json_object_set_new(o, "hosts", json_u64(store_nhosts(m->store)));
	json_object_set_new(o, "instances", json_u64(store_ninstances(m->store)));
	json_object_set_new(o, "reports", json_u64(m->stats.reports));
	json_object_set_new(o, "samples", json_u64(m->stats.samples));
	json_object_set_new(o, "duplicates", json_u64(m->stats.duplicates));
	json_object_set_new(o, "refused_connections", json_u64(m->wc.refused));
	json_object_set_new(o, "last_save", json_time_ms(m->stats.last_save_ms));
	json_object_set_new(o, "last_save_duration_ms",
	    json_u64(m->stats.last_save_duration_ms));
	json_object_set_new(o, "save_failures", json_u64(m->stats.save_failures));
	http_send_json(req, 200, o);
	query_free(&q);
}

void
api_machines(struct monitor *m, struct evhttp_request *req)
{
	struct query	  q;
	struct host	**v;
	size_t		  n, i;
	json_t		 *items;

	if (query_parse(req, no_params, &q) == -1)
		return;
	n = store_hosts(m->store, &v);
	items = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(items, host_json(m, v[i], 0));
	free(v);
	http_send_json(req, 200, json_pack("{s:o}", "items", items));
	query_free(&q);
}

void
api_machine(struct monitor *m, struct evhttp_request *req, const char *name,
    const char *sub)
{
	struct host	*h = store_host(m->store, name, 0);
	struct query	 q;

	if (h == NULL) {
		http_send_error(req, 404, "no such host: %s", name);
		return;
	}
	if (strcmp(sub, "series") == 0) {
		series_reply(req, SK_HOST, h->series);
		return;
	}
	if (*sub != '\0') {
		http_send_error(req, 404, "no such path: %s", sub);
		return;
	}
	if (query_parse(req, no_params, &q) == -1)
		return;
	http_send_json(req, 200, host_json(m, h, 1));
	query_free(&q);
}

void
api_instances(struct monitor *m, struct evhttp_request *req)
{
	static const char *const allowed[] = { "host", "state", NULL };
	struct query	  q;
	struct instance	**v;
	struct target	**tv = NULL;
	const char	 *host, *state;
	size_t		  n, i;
	json_t		 *items;
	int64_t		  now = wall_ms();

	if (query_parse(req, allowed, &q) == -1)
		return;
	host = query_get(&q, "host");
	state = query_get(&q, "state");
	if (state != NULL && strcmp(state, "up") != 0 &&
	    strcmp(state, "down") != 0 && strcmp(state, "unknown") != 0 &&
	    strcmp(state, "suspect") != 0) {
		http_send_error(req, 400, "state: '%s' is not one of up, "
		    "suspect, down, unknown", state);
		query_free(&q);
		return;
	}
	n = store_instances(m->store, &v);
	items = json_array();
	for (i = 0; i < n; i++) {
		if (host != NULL && strcmp(v[i]->host->name, host) != 0)
			continue;
		if (state != NULL && strcmp(instance_state(m, v[i], now),
		    state) != 0)
			continue;
		json_array_append_new(items, instance_json(m, v[i], 0));
	}
	free(v);
	/* Instance lines no agent reports. */
	n = host != NULL || m->probe == NULL ? 0 : probe_targets(m->probe, &tv);
	for (i = 0; i < n; i++) {
		if (store_instance(m->store, tv[i]->name) != NULL ||
		    (state != NULL && strcmp(hstate_name(tv[i]->state),
		    state) != 0))
			continue;
		json_array_append_new(items, target_only_json(tv[i]));
	}
	if (host == NULL && m->probe != NULL)
		free(tv);
	http_send_json(req, 200, json_pack("{s:o}", "items", items));
	query_free(&q);
}

void
api_instance(struct monitor *m, struct evhttp_request *req, const char *name,
    const char *sub)
{
	struct instance	*in = store_instance(m->store, name);
	struct target	*t = m->probe ? probe_target(m->probe, name) : NULL;
	struct query	 q;
	const char *const *allowed;
	json_t		*j;
	int		 code;

	if (in == NULL && t != NULL && *sub == '\0') {
		if (query_parse(req, no_params, &q) == -1)
			return;
		http_send_json(req, 200, target_only_json(t));
		query_free(&q);
		return;
	}
	if (in == NULL) {
		http_send_error(req, 404, "no such instance: %s", name);
		return;
	}
	if (strcmp(sub, "series") == 0) {
		series_reply(req, SK_INSTANCE, in->series);
		return;
	}
	if ((allowed = analytics_params(sub)) != NULL &&
	    m->analytics != NULL) {
		/* top-commands, latency-dist, hotkeys, bigkeys..., slowlog */
		if (query_parse(req, allowed, &q) == -1)
			return;
		j = analytics_query(m->analytics, in, sub, &q.kv, wall_ms(),
		    &code);
		http_send_json(req, code, j);
		query_free(&q);
		return;
	}
	if (*sub != '\0') {
		http_send_error(req, 404, "no such path: %s", sub);
		return;
	}
	if (query_parse(req, no_params, &q) == -1)
		return;
	http_send_json(req, 200, instance_json(m, in, 1));
	query_free(&q);
}

/* GET /api/v1/alerts and /api/v1/alerts/history */
void
api_alerts(struct monitor *m, struct evhttp_request *req, int history)
{
	static const char *const allowed[] = { "limit", NULL };
	struct query	 q;
	const char	*v;
	long long	 limit = 100;

	if (query_parse(req, allowed, &q) == -1)
		return;
	if ((v = query_get(&q, "limit")) != NULL &&
	    (parse_ll(v, &limit) == -1 || limit < 1 || limit > 10000)) {
		http_send_error(req, 400, "limit: '%s' is not 1 to 10000", v);
		query_free(&q);
		return;
	}
	http_send_json(req, 200, alerts_json(m->alerts, history,
	    (size_t)limit));
	query_free(&q);
}
