/*
 * store.c: the hosts and instances the agents report, with their latest
 * sample and their history.  Duplicates are filtered by ingest.c before a
 * report gets here.
 *
 * An instance belongs to the host that reports it.  If a second host
 * reports the same name while the first still does, the second is refused
 * (and counted): names are unique in the fleet, and a silent takeover
 * would mix two instances' histories.  An owner that has not reported the
 * name for 3 of its intervals (at least a minute) hands it over.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "store"
#include "log.h"
#include "hmap.h"
#include "monitor.h"
#include "util.h"

struct store {
	struct monitor	*m;
	struct hmap	*hosts;
	struct hmap	*instances;
	int		 idx_up, idx_keys, idx_ratio;
	struct ratelimit rl;
};

struct store *
store_new(struct monitor *m)
{
	struct store *st = xcalloc(1, sizeof(*st));

	st->m = m;
	st->hosts = hmap_new();
	st->instances = hmap_new();
	st->idx_up = series_find(SK_INSTANCE, "redis_up");
	st->idx_keys = series_find(SK_INSTANCE, "redis_db_keys");
	st->idx_ratio = series_find(SK_INSTANCE, "redis_memory_used_ratio");
	st->rl = (struct ratelimit)RATELIMIT_INIT(60000, 10);
	return st;
}

static void
instance_free(struct instance *in)
{
	analytics_instance_free(in->analytics);
	series_free(in->series);
	free(in->dbs);
	free(in->replicas);
	free(in->name);
	free(in);
}

static void
host_free(struct host *h)
{
	series_free(h->series);
	free(h->name);
	free(h);
}

void
store_free(struct store *st)
{
	size_t		 pos = 0;
	struct instance	*in;
	struct host	*h;

	if (st == NULL)
		return;
	while ((in = hmap_next(st->instances, &pos)) != NULL)
		instance_free(in);
	pos = 0;
	while ((h = hmap_next(st->hosts, &pos)) != NULL)
		host_free(h);
	hmap_free(st->instances);
	hmap_free(st->hosts);
	free(st);
}

struct host *
store_host(struct store *st, const char *name, int create)
{
	struct host	*h = hmap_get(st->hosts, name);
	int		 i;

	if (h != NULL || !create)
		return h;
	if ((long long)hmap_count(st->hosts) >= st->m->conf->max_hosts)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->name = xstrdup(name);
	for (i = 0; i < HM_COUNT; i++)
		h->values[i] = NAN;
	h->series = series_new(SK_HOST);
	hmap_put(st->hosts, h->name, h);
	log_info("new host name=%s", name);
	return h;
}

struct instance *
store_instance(struct store *st, const char *name)
{
	return hmap_get(st->instances, name);
}

static struct instance *
instance_new(struct store *st, const char *name, struct host *h)
{
	struct instance	*in = xcalloc(1, sizeof(*in));
	int		 i;

	in->name = xstrdup(name);
	in->host = h;
	for (i = 0; i < RM_COUNT; i++)
		in->values[i] = NAN;
	in->series = series_new(SK_INSTANCE);
	hmap_put(st->instances, in->name, in);
	h->ninstances++;
	return in;
}

struct instance *
store_instance_restore(struct store *st, const char *name, struct host *h)
{
	if (hmap_get(st->instances, name) != NULL)
		return NULL;
	return instance_new(st, name, h);
}

static int
host_cmp(const void *a, const void *b)
{
	return strcmp((*(struct host *const *)a)->name,
	    (*(struct host *const *)b)->name);
}

static int
instance_cmp(const void *a, const void *b)
{
	return strcmp((*(struct instance *const *)a)->name,
	    (*(struct instance *const *)b)->name);
}

size_t
store_hosts(struct store *st, struct host ***out)
{
	size_t		 n = hmap_count(st->hosts), pos = 0, i = 0;
	struct host	**v = xcalloc(n + 1, sizeof(*v)), *h;

	while ((h = hmap_next(st->hosts, &pos)) != NULL)
		v[i++] = h;
	xqsort(v, i, sizeof(*v), host_cmp);
	*out = v;
	return i;
}

size_t
store_instances(struct store *st, struct instance ***out)
{
	size_t		 n = hmap_count(st->instances), pos = 0, i = 0;
	struct instance	**v = xcalloc(n + 1, sizeof(*v)), *in;

	while ((in = hmap_next(st->instances, &pos)) != NULL)
		v[i++] = in;
	xqsort(v, i, sizeof(*v), instance_cmp);
	*out = v;
	return i;
}

size_t
store_nhosts(const struct store *st)
{
	return hmap_count(st->hosts);
}

size_t
store_ninstances(const struct store *st)
{
	return hmap_count(st->instances);
}

static uint64_t
stale_after_ms(const struct host *h)
{
	uint64_t iv = h->interval_ms ? h->interval_ms : 5000;

	return MAXIMUM(3 * iv, 60000);
}

struct host_epoch *
host_current_epoch(struct host *h)
{
	struct host_epoch	*cur = NULL;
	int			 i;

	for (i = 0; i < h->nepochs; i++)
		if (cur == NULL || h->epochs[i].order > cur->order)
			cur = &h->epochs[i];
	return cur;
}

int
instance_fresh(const struct instance *in, int64_t now_ms)
{
	uint64_t iv = in->host->interval_ms ? in->host->interval_ms : 5000;

	return now_ms - in->last_seen_ms <= (int64_t)(3 * iv);
}

static void
ingest_instance(struct store *st, struct host *h, int64_t t, int current,
    const Ccnode__InstanceSample *is)
{
	struct monitor	*m = st->m;
	struct instance	*in;
	int64_t		 now = wall_ms();
	size_t		 i, n;
	double		 keys = 0, used, max;

	if (!valid_name(is->name)) {
		log_limited(&st->rl, LL_WARN, "host=%s reported an instance "
		    "with a bad name; ignored", h->name);
		return;
	}
	in = hmap_get(st->instances, is->name);
	if (in != NULL && in->host != h) {
		if (now - in->last_seen_ms < (int64_t)stale_after_ms(in->host)) {
			m->stats.conflicts++;
			log_limited(&st->rl, LL_WARN, "instance name=%s reported "
			    "by host=%s but owned by host=%s; ignored",
			    is->name, h->name, in->host->name);
			return;
		}
		log_info("instance name=%s moves from host=%s to host=%s",
		    is->name, in->host->name, h->name);
		in->host->ninstances--;
		in->host = h;
		h->ninstances++;
	}
	if (in == NULL) {
		if ((long long)hmap_count(st->instances) >=
		    m->conf->max_instances) {
			log_limited(&st->rl, LL_WARN, "max-instances (%lld) "
			    "reached; instance name=%s ignored",
			    m->conf->max_instances, is->name);
			return;
		}
		in = instance_new(st, is->name, h);
		log_info("new instance name=%s host=%s addr=%s", is->name,
		    h->name, is->addr);
	}
	m->stats.samples++;
	if (t < in->sample_ms) {
		if (!current) {
			/* An older epoch's report, older than what we show. */
			m->stats.out_of_order++;
			return;
		}
		/* The agent's clock went back: its sequence order rules. */
		series_jump(in->series, t);
	}
	in->last_seen_ms = now;
	in->sample_ms = t;
	str_copy(in->addr, sizeof(in->addr), is->addr);
	str_copy(in->kind, sizeof(in->kind), is->kind);
	str_copy(in->proc_state, sizeof(in->proc_state), is->state);
	str_copy(in->probe_user, sizeof(in->probe_user), is->probe_user);
	str_copy(in->probe_password, sizeof(in->probe_password),
	    is->probe_password);
	in->up = is->up;
	in->proxy_stats = is->proxy_stats;
	in->proxy_backends = is->proxy_backends;
	in->proxy_failing = is->proxy_backends_failing;
	in->proxy_errors = is->proxy_backend_errors;
	str_copy(in->error, sizeof(in->error), is->error);
	in->rtt_us = is->rtt_us;
	if (st->idx_up >= 0)
		series_add(in->series, st->idx_up, t, is->up ? 1 : 0);
	/* A stored sample, never a replay dropped above: counted once. */
	if (m->analytics != NULL)
		analytics_ingest(m->analytics, in, t, is);
	if (!is->up)
		return;

	n = MINIMUM(is->n_values, (size_t)RM_COUNT);
	for (i = 0; i < n; i++)
		in->values[i] = is->values[i];
	for (; i < RM_COUNT; i++)
		in->values[i] = NAN;
	str_copy(in->role, sizeof(in->role), is->role);
	str_copy(in->version, sizeof(in->version), is->redis_version);
	str_copy(in->run_id, sizeof(in->run_id), is->run_id);
	str_copy(in->mode, sizeof(in->mode), is->mode);
	str_copy(in->master_addr, sizeof(in->master_addr), is->master_addr);
	str_copy(in->policy, sizeof(in->policy), is->maxmemory_policy);

	n = MINIMUM(is->n_dbs, (size_t)INFO_MAX_DBS);
	if ((int)n != in->ndbs) {
		free(in->dbs);
		in->dbs = n ? xcalloc(n, sizeof(*in->dbs)) : NULL;
		in->ndbs = (int)n;
	}
	for (i = 0; i < n; i++) {
		in->dbs[i].db = is->dbs[i]->db;
		in->dbs[i].keys = is->dbs[i]->keys;
		in->dbs[i].expires = is->dbs[i]->expires;
		in->dbs[i].avg_ttl_ms = is->dbs[i]->avg_ttl_ms;
		keys += (double)is->dbs[i]->keys;
	}
	n = MINIMUM(is->n_replicas, (size_t)INFO_MAX_REPLICAS);
	if ((int)n != in->nreplicas) {
		free(in->replicas);
		in->replicas = n ? xcalloc(n, sizeof(*in->replicas)) : NULL;
		in->nreplicas = (int)n;
	}
	for (i = 0; i < n; i++) {
		str_copy(in->replicas[i].addr, sizeof(in->replicas[i].addr),
		    is->replicas[i]->addr);
		str_copy(in->replicas[i].state, sizeof(in->replicas[i].state),
		    is->replicas[i]->state);
		in->replicas[i].offset = is->replicas[i]->offset;
		in->replicas[i].lag = is->replicas[i]->lag;
	}

	for (i = 0; i < (size_t)series_nspecs(SK_INSTANCE); i++) {
		const struct series_spec *sp = series_spec(SK_INSTANCE, (int)i);

		if (sp->src >= 0 && series_add(in->series, (int)i, t,
		    in->values[sp->src]) == -1) {
			m->stats.out_of_order++;
			break;
		}
	}
	if (st->idx_keys >= 0)
		series_add(in->series, st->idx_keys, t, keys);
	used = in->values[RM_MEM_USED];
	max = in->values[RM_MEM_MAX];
	if (st->idx_ratio >= 0 && max > 0)
		series_add(in->series, st->idx_ratio, t, used / max);
}

/* A process event from the agent: logged, and kept on the instance. */
static void
ingest_event(struct store *st, struct host *h, const Ccnode__ProcessEvent *e)
{
	struct instance *in = hmap_get(st->instances, e->instance);

	log_info("event host=%s instance=%s event=%s detail=\"%s\"", h->name,
	    e->instance, e->event, e->detail);
	/* An event can come before the instance's first sample. */
	if (in == NULL && valid_name(e->instance) &&
	    (long long)hmap_count(st->instances) < st->m->conf->max_instances) {
		in = instance_new(st, e->instance, h);
		in->last_seen_ms = wall_ms();
	}
	if (in == NULL || in->host != h || e->time_ms < in->event_ms)
		return;
	str_copy(in->event, sizeof(in->event), e->event);
	str_copy(in->event_detail, sizeof(in->event_detail), e->detail);
	str_copy(in->proc_state, sizeof(in->proc_state), e->event);
	in->event_ms = e->time_ms;
	/*
	 * Health takes only news: a report resent after a monitor restart
	 * can hold an exit that a later sample has overtaken.
	 */
	if (e->time_ms < in->sample_ms || wall_ms() - e->time_ms > 60000) {
		log_debug("event of instance=%s is old news; health unchanged",
		    e->instance);
		return;
	}
	if (st->m->probe != NULL)
		probe_agent_event(st->m->probe, in, in->event,
		    in->event_detail);
}

void
store_ingest(struct store *st, struct host *h, const Ccnode__Report *r,
    int current)
{
	const Ccnode__AgentStatus	*as = r->agent;
	const Ccnode__HostSample	*hs = r->host_sample;
	size_t				 i, n;

	if (r->time_ms < h->sample_ms) {
		if (!current) {
			st->m->stats.out_of_order++;
			log_debug("host=%s: a report of an older epoch, older "
			    "than the last sample; not applied", h->name);
			return;
		}
		log_limited(&st->rl, LL_WARN, "host=%s: the agent's clock went "
		    "back %lld ms; its reports are ordered by sequence number",
		    h->name, (long long)(h->sample_ms - r->time_ms));
		series_jump(h->series, r->time_ms);
		h->prev_net_ms = 0;
	}
	h->last_report_ms = wall_ms();
	if (as != NULL) {
		str_copy(h->version, sizeof(h->version), as->version);
		h->spool_reports = as->spool_reports;
		h->spool_bytes = as->spool_bytes;
		h->dropped = as->dropped_reports;
		h->started_ms = as->started_ms;
		h->interval_ms = as->sample_interval_ms;
	}
	h->sample_ms = r->time_ms;
	if (hs != NULL) {
		str_copy(h->ip, sizeof(h->ip), hs->ip);
		n = MINIMUM(hs->n_values, (size_t)HM_COUNT);
		for (i = 0; i < n; i++)
			h->values[i] = hs->values[i];
		for (; i < HM_COUNT; i++)
			h->values[i] = NAN;
		if (h->prev_net_ms != 0 && r->time_ms > h->prev_net_ms &&
		    h->values[HM_NET_RX] >= h->prev_rx &&
		    h->values[HM_NET_TX] >= h->prev_tx) {
			double dt = (double)(r->time_ms - h->prev_net_ms) / 1000;

			h->rx_rate = (h->values[HM_NET_RX] - h->prev_rx) / dt;
			h->tx_rate = (h->values[HM_NET_TX] - h->prev_tx) / dt;
		}
		h->prev_rx = h->values[HM_NET_RX];
		h->prev_tx = h->values[HM_NET_TX];
		h->prev_net_ms = r->time_ms;
		for (i = 0; i < (size_t)series_nspecs(SK_HOST); i++) {
			const struct series_spec *sp = series_spec(SK_HOST, (int)i);

			series_add(h->series, (int)i, r->time_ms,
			    h->values[sp->src]);
		}
	}
	for (i = 0; i < r->n_instances; i++)
		ingest_instance(st, h, r->time_ms, current, r->instances[i]);
	for (i = 0; i < r->n_events; i++)
		ingest_event(st, h, r->events[i]);
	if (st->m->alerts == NULL)
		return;
	/* Rules see the new samples. */
	if (hs != NULL)
		alerts_eval_host(st->m->alerts, h);
	for (i = 0; i < r->n_instances; i++) {
		struct instance *in = hmap_get(st->instances,
		    r->instances[i]->name);

		if (in != NULL && in->host == h)
			alerts_eval_instance(st->m->alerts, in);
	}
}

void
store_expire(struct store *st, int64_t now_ms)
{
	struct instance	**v;
	size_t		  n, i;

	n = store_instances(st, &v);
	for (i = 0; i < n; i++) {
		if (now_ms - v[i]->last_seen_ms <=
		    (int64_t)st->m->conf->instance_expire)
			continue;
		log_info("instance name=%s host=%s not reported for %llu s; "
		    "forgotten", v[i]->name, v[i]->host->name,
		    (unsigned long long)(now_ms - v[i]->last_seen_ms) / 1000);
		hmap_del(st->instances, v[i]->name);
		v[i]->host->ninstances--;
		instance_free(v[i]);
	}
	free(v);
}
