/*
 * prom.c: /metrics in the Prometheus text exposition format (0.0.4).
 *
 * Redis metrics use oliver006/redis_exporter's names and the labels
 * instance (the instance name) and host; the scrape config needs
 * honor_labels: true so that Prometheus keeps our instance label.  A down
 * instance exports redis_up 0 and nothing stale.  Families are written
 * whole, each with its HELP and TYPE, as promtool requires.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "monitor.h"
#include "util.h"

void
prom_label_value(struct evbuffer *b, const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*p == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (*p == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, p, 1);
	}
}

void
prom_value(struct evbuffer *b, double v)
{
	if (isnan(v))
		evbuffer_add(b, "NaN", 3);
	else if (isinf(v))
		evbuffer_add_printf(b, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		evbuffer_add_printf(b, "%.0f", v);
	else
		evbuffer_add_printf(b, "%.17g", v);
}

/*
 * Formats label pairs ("k1", "v1", "k2", "v2", ..., NULL) into out as
 * k1="v1",k2="v2", with the values escaped.
 */
static void
labels(char *out, size_t outlen, ...)
{
	struct evbuffer	*e = evbuffer_new();
	const char	*k, *v;
	size_t		 len;
	va_list		 ap;
	int		 first = 1;

	va_start(ap, outlen);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		evbuffer_add_printf(e, "%s%s=\"", first ? "" : ",", k);
		prom_label_value(e, v);
		evbuffer_add(e, "\"", 1);
		first = 0;
	}
	va_end(ap);
	len = MINIMUM(evbuffer_get_length(e), outlen - 1);
	evbuffer_remove(e, out, len);
	out[len] = '\0';
	evbuffer_free(e);
}

static void
family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* name{instance="..",host=".."[,extra]} value */
static void
sample(struct evbuffer *b, const char *name, const struct instance *in,
    const char *extra, double v)
{
	evbuffer_add_printf(b, "%s{instance=\"", name);
	prom_label_value(b, in->name);
	evbuffer_add(b, "\",host=\"", 8);
	prom_label_value(b, in->host->name);
	evbuffer_add(b, "\"", 1);
	if (extra != NULL)
		evbuffer_add_printf(b, ",%s", extra);
	evbuffer_add(b, "} ", 2);
	prom_value(b, v);
	evbuffer_add(b, "\n", 1);
}

static void
host_sample(struct evbuffer *b, const char *name, const struct host *h,
    double v)
{
	evbuffer_add_printf(b, "%s{host=\"", name);
	prom_label_value(b, h->name);
	evbuffer_add(b, "\"} ", 3);
	prom_value(b, v);
	evbuffer_add(b, "\n", 1);
}

static void
replica_labels(const struct info_replica *r, char *out, size_t len)
{
	char		 ip[64];
	const char	*colon = strrchr(r->addr, ':');
	size_t		 iplen = colon ? (size_t)(colon - r->addr) : 0;

	iplen = MINIMUM(iplen, sizeof(ip) - 1);
	memcpy(ip, r->addr, iplen);
	ip[iplen] = '\0';
	labels(out, len, "slave_ip", ip, "slave_port", colon ? colon + 1 : "",
	    "slave_state", r->state, (char *)NULL);
}

static double db_keys(const struct info_db *d) { return (double)d->keys; }
static double db_expires(const struct info_db *d) { return (double)d->expires; }
static double db_ttl(const struct info_db *d) { return d->avg_ttl_ms / 1e3; }
static double rep_offset(const struct info_replica *r) { return (double)r->offset; }
static double rep_lag(const struct info_replica *r) { return r->lag; }

/* Families with one sample per database, and per connected replica. */
static const struct {
	const char	*name;
	const char	*help;
	double		(*value)(const struct info_db *);
} db_families[] = {
	{ "redis_db_keys", "Keys in the database", db_keys },
	{ "redis_db_keys_expiring", "Keys with an expiry in the database",
	  db_expires },
	{ "redis_db_avg_ttl_seconds", "Average TTL of the keys with an expiry",
	  db_ttl },
};
static const struct {
	const char	*name;
	const char	*help;
	double		(*value)(const struct info_replica *);
} replica_families[] = {
	{ "redis_connected_slave_offset_bytes", "Replication offset of each "
	  "connected replica", rep_offset },
	{ "redis_connected_slave_lag_seconds", "Seconds since each connected "
	  "replica last acknowledged", rep_lag },
};

static void
render_instances(struct monitor *m, struct evbuffer *b,
    struct instance **v, size_t n)
{
	size_t			  i;
	int			  k, j, any;
	int64_t			  now = wall_ms();
	char			  extra[512];

	family(b, "redis_up", "gauge", "1 when the agent's last sample of the "
	    "instance succeeded");
	for (i = 0; i < n; i++)
		sample(b, "redis_up", v[i], NULL,
		    v[i]->up && instance_fresh(v[i], now));
	for (k = 0; k < RM_COUNT; k++) {
		const struct metric_def *d = &redis_metric_defs[k];

		for (i = 0, any = 0; i < n; i++) {
			if (!v[i]->up || !instance_fresh(v[i], now) ||
			    isnan(v[i]->values[k]))
				continue;
			if (!any++)
				family(b, d->prom, d->type == MT_C ? "counter" :
				    "gauge", d->help);
			sample(b, d->prom, v[i], NULL, v[i]->values[k]);
		}
	}
	family(b, "redis_instance_info", "gauge", "Information about the "
	    "instance; always 1");
	for (i = 0; i < n; i++) {
		if (!v[i]->up || !instance_fresh(v[i], now))
			continue;
		labels(extra, sizeof(extra), "role", v[i]->role,
		    "redis_version", v[i]->version, "redis_mode", v[i]->mode,
		    "run_id", v[i]->run_id, "maxmemory_policy", v[i]->policy,
		    (char *)NULL);
		sample(b, "redis_instance_info", v[i], extra, 1);
	}
	for (k = 0; k < (int)nitems(db_families); k++) {
		family(b, db_families[k].name, "gauge", db_families[k].help);
		for (i = 0; i < n; i++)
			for (j = 0; v[i]->up && instance_fresh(v[i], now) &&
			    j < v[i]->ndbs; j++) {
				snprintf(extra, sizeof(extra), "db=\"db%u\"",
				    v[i]->dbs[j].db);
				sample(b, db_families[k].name, v[i], extra,
				    db_families[k].value(&v[i]->dbs[j]));
			}
	}
	for (k = 0; k < (int)nitems(replica_families); k++) {
		family(b, replica_families[k].name, "gauge",
		    replica_families[k].help);
		for (i = 0; i < n; i++)
			for (j = 0; v[i]->up && instance_fresh(v[i], now) &&
			    j < v[i]->nreplicas; j++) {
				replica_labels(&v[i]->replicas[j], extra,
				    sizeof(extra));
				sample(b, replica_families[k].name, v[i], extra,
				    replica_families[k].value(&v[i]->replicas[j]));
			}
	}
	family(b, "ccnode_proxy_backends", "gauge", "Interface processes: "
	    "servers in the proxy's pools");
	for (i = 0; i < n; i++)
		if (v[i]->proxy_stats && instance_fresh(v[i], now))
			sample(b, "ccnode_proxy_backends", v[i], NULL,
			    v[i]->proxy_backends);
	family(b, "ccnode_proxy_backends_failing", "gauge", "Interface "
	    "processes: servers whose errors rose in the last round");
	for (i = 0; i < n; i++)
		if (v[i]->proxy_stats && instance_fresh(v[i], now))
			sample(b, "ccnode_proxy_backends_failing", v[i], NULL,
			    v[i]->proxy_failing);
	family(b, "ccnode_proxy_backend_errors_total", "counter", "Interface "
	    "processes: server_err + server_timedout + server_eof");
	for (i = 0; i < n; i++)
		if (v[i]->proxy_stats && instance_fresh(v[i], now))
			sample(b, "ccnode_proxy_backend_errors_total", v[i],
			    NULL, (double)v[i]->proxy_errors);
	family(b, "ccnode_sample_duration_seconds", "gauge", "Round trip of the "
	    "agent's last INFO to the instance");
	for (i = 0; i < n; i++)
		if (v[i]->up && instance_fresh(v[i], now))
			sample(b, "ccnode_sample_duration_seconds", v[i], NULL,
			    v[i]->rtt_us / 1e6);
}

/* Whether an instance's figures are current enough to export. */
static int
live(const struct instance *in, int64_t now)
{
	return in->up && instance_fresh(in, now);
}

/*
 * Per-command counters since the monitor started, under redis_exporter's
 * names (the agent's own calls left out; failed includes rejected), and
 * the latency histogram on the ladder's edges (latency-ladder, realised
 * as powers of two of microseconds, as the exporter's le are).
 */
static void
render_commands(struct monitor *m, struct evbuffer *b, struct instance **v,
    size_t n)
{
	static const struct {
		const char	*name;
		const char	*help;
	} fam[] = {
		{ "redis_commands_total", "Calls per command since the monitor "
		  "started, the agent's own left out" },
		{ "redis_commands_duration_seconds_total", "Server time of "
		  "those calls" },
		{ "redis_commands_failed_calls_total", "Calls that failed or "
		  "were rejected" },
	};
	const struct latency_ladder	*l = analytics_ladder(m->analytics);
	struct analytics_cmd		 c;
	int64_t				 now = wall_ms();
	size_t				 i, k, f;
	uint64_t			 cum;
	int				 j;
	char				 extra[160], cmd[96];

	for (f = 0; f < nitems(fam); f++) {
		family(b, fam[f].name, "counter", fam[f].help);
		for (i = 0; i < n; i++)
			for (k = 0; live(v[i], now) &&
			    analytics_cmd(v[i], k, &c) == 0; k++) {
				if (c.calls == 0 && c.usec == 0 && c.failed == 0)
					continue;
				labels(extra, sizeof(extra), "cmd", c.cmd,
				    (char *)NULL);
				sample(b, fam[f].name, v[i], extra, f == 0 ?
				    (double)c.calls : f == 1 ? c.usec / 1e6 :
				    (double)c.failed);
			}
	}
	family(b, "redis_commands_latencies_usec", "histogram", "Latency of "
	    "calls per command, microseconds, on the latency-ladder's edges");
	for (i = 0; i < n; i++)
		for (k = 0; live(v[i], now) && analytics_cmd(v[i], k, &c) == 0;
		    k++) {
			if (c.calls == 0 && c.usec == 0)
				continue;
			labels(cmd, sizeof(cmd), "cmd", c.cmd, (char *)NULL);
			for (j = 0, cum = 0; j <= l->n; j++) {
				cum += c.ladder[j];
				if (j < l->n)
					snprintf(extra, sizeof(extra),
					    "%s,le=\"%llu\"", cmd,
					    (unsigned long long)l->edge_us[j]);
				else
					snprintf(extra, sizeof(extra),
					    "%s,le=\"+Inf\"", cmd);
				sample(b, "redis_commands_latencies_usec_bucket",
				    v[i], extra, (double)cum);
			}
			sample(b, "redis_commands_latencies_usec_sum", v[i], cmd,
			    (double)c.usec);
			sample(b, "redis_commands_latencies_usec_count", v[i],
			    cmd, (double)c.calls);
		}
}

static void
server_labels(const struct proxy_server *s, char *out, size_t len)
{
	labels(out, len, "pool", s->pool, "server", s->name, (char *)NULL);
}

/* Slowlog counters, unavailable sources and the proxies' detail. */
static void
render_analytics(struct monitor *m, struct evbuffer *b,
    struct instance **v, size_t n)
{
	const struct proxy_detail	 *p;
	struct analytics_counts		  c;
	const char			 *src, *why;
	size_t				  i;
	int				  j, k;
	int64_t				  now = wall_ms();
	char				  extra[512];

	render_commands(m, b, v, n);
#define SLOW_FAMILY(name, help, field) do {				\
	family(b, name, "counter", help);				\
	for (i = 0; i < n; i++)						\
		if (instance_fresh(v[i], now) &&			\
		    strcmp(v[i]->kind, "interface") != 0 &&		\
		    analytics_counts(v[i], &c) == 0)			\
			sample(b, name, v[i], NULL, (double)c.field);	\
} while (0)
	SLOW_FAMILY("ccnode_slowlog_entries_total", "Slowlog entries stored "
	    "since the monitor started", slowlog_entries);
	SLOW_FAMILY("ccnode_slowlog_lost_total", "Slowlog entries lost to "
	    "slowlog-max-len between two fetches, as the agent counted them",
	    slowlog_lost);
	SLOW_FAMILY("ccnode_slowlog_dropped_total", "Slowlog entries not "
	    "stored: over 100000 a day, malformed, or a write failed",
	    slowlog_dropped);
#undef SLOW_FAMILY
	family(b, "ccnode_analytics_source_unavailable", "gauge", "1 for each "
	    "analytics source the agent cannot use on the instance, and why");
	for (i = 0; i < n; i++)
		for (j = 0; live(v[i], now) &&
		    j < analytics_source(v[i], j, &src, &why); j++) {
			labels(extra, sizeof(extra), "source", src, "reason",
			    why, (char *)NULL);
			sample(b, "ccnode_analytics_source_unavailable", v[i],
			    extra, 1);
		}
#define PROXY_FAMILY(name, type, help, expr) do {			\
	family(b, name, type, help);					\
	for (i = 0; i < n; i++)						\
		if ((p = analytics_proxy(v[i])) != NULL &&		\
		    instance_fresh(v[i], now))				\
			sample(b, name, v[i], NULL, (double)(expr));	\
} while (0)
	PROXY_FAMILY("ccnode_proxy_client_connections", "gauge", "Interface "
	    "processes: client connections open", p->client_connections);
	PROXY_FAMILY("ccnode_proxy_connections_total", "counter", "Interface "
	    "processes: client connections accepted", p->total_connections);
	PROXY_FAMILY("ccnode_proxy_requests_total", "counter", "Interface "
	    "processes: requests sent to the servers", p->requests);
	PROXY_FAMILY("ccnode_proxy_responses_total", "counter", "Interface "
	    "processes: responses from the servers", p->responses);
	PROXY_FAMILY("ccnode_proxy_client_errors_total", "counter", "Interface "
	    "processes: client_err + client_eof", p->client_errors);
#undef PROXY_FAMILY
#define SERVER_FAMILY(name, type, help, field) do {			\
	family(b, name, type, help);					\
	for (i = 0; i < n; i++) {					\
		if ((p = analytics_proxy(v[i])) == NULL ||		\
		    !instance_fresh(v[i], now))				\
			continue;					\
		for (k = 0; k < p->nservers; k++) {			\
			server_labels(&p->servers[k], extra,		\
			    sizeof(extra));				\
			sample(b, name, v[i], extra,			\
			    (double)p->servers[k].field);		\
		}							\
	}								\
} while (0)
	SERVER_FAMILY("ccnode_proxy_server_connections", "gauge", "Interface "
	    "processes: connections to each server", connections);
	SERVER_FAMILY("ccnode_proxy_server_requests_total", "counter",
	    "Interface processes: requests sent to each server", requests);
	SERVER_FAMILY("ccnode_proxy_server_responses_total", "counter",
	    "Interface processes: responses from each server", responses);
	SERVER_FAMILY("ccnode_proxy_server_errors_total", "counter", "Interface "
	    "processes: server_err + server_timedout + server_eof of each "
	    "server", errors);
	SERVER_FAMILY("ccnode_proxy_server_ejected", "gauge", "Interface "
	    "processes: 1 while the proxy has the server ejected", ejected);
	SERVER_FAMILY("ccnode_proxy_server_failing", "gauge", "Interface "
	    "processes: 1 when the server's errors rose in the last round",
	    failing);
#undef SERVER_FAMILY
}

static void
render_hosts(struct monitor *m, struct evbuffer *b)
{
	struct host	**v;
	size_t		  n, i;
	int		  k, any;

	n = store_hosts(m->store, &v);
	for (k = 0; k < HM_COUNT; k++) {
		const struct metric_def *d = &host_metric_defs[k];

		for (i = 0, any = 0; i < n; i++) {
			if (isnan(v[i]->values[k]))
				continue;
			if (!any++)
				family(b, d->prom, d->type == MT_C ? "counter" :
				    "gauge", d->help);
			host_sample(b, d->prom, v[i], v[i]->values[k]);
		}
	}
#define HOST_FAMILY(name, type, help, expr) do {			\
	family(b, name, type, help);					\
	for (i = 0; i < n; i++)						\
		host_sample(b, name, v[i], (double)(expr));		\
} while (0)
	HOST_FAMILY("ccnode_agent_connected", "gauge",
	    "1 while the agent's report link is up", v[i]->conn != NULL);
	HOST_FAMILY("ccnode_agent_last_report_timestamp_seconds", "gauge",
	    "When the monitor last received a report", v[i]->last_report_ms / 1e3);
	HOST_FAMILY("ccnode_agent_spool_reports", "gauge",
	    "Reports the agent holds that the monitor has not made durable",
	    v[i]->spool_reports);
	HOST_FAMILY("ccnode_agent_spool_bytes", "gauge",
	    "Bytes of those reports", v[i]->spool_bytes);
	HOST_FAMILY("ccnode_agent_dropped_reports_total", "counter",
	    "Reports the agent dropped because its spool was full",
	    v[i]->dropped);
	HOST_FAMILY("ccnode_agent_reports_total", "counter",
	    "Reports stored from the agent", v[i]->reports);
	HOST_FAMILY("ccnode_agent_duplicate_reports_total", "counter",
	    "Reports received again and dropped by sequence number",
	    v[i]->duplicates);
	HOST_FAMILY("ccnode_agent_missing_reports_total", "counter",
	    "Sequence numbers never received", v[i]->missing);
#undef HOST_FAMILY
	free(v);
}

static void
target_sample(struct evbuffer *b, const struct target *t, const char *metric,
    const char *extra, double v)
{
	evbuffer_add_printf(b, "%s{instance=\"", metric);
	prom_label_value(b, t->name);
	evbuffer_add(b, "\",host=\"", 8);
	prom_label_value(b, t->host);
	evbuffer_add_printf(b, "\"%s} ", extra);
	prom_value(b, v);
	evbuffer_add(b, "\n", 1);
}

/* The monitor's own probes and its verdict on each instance. */
static void
render_probes(struct monitor *m, struct evbuffer *b)
{
	static const enum hstate states[] = { HS_UP, HS_SUSPECT, HS_DOWN,
	    HS_UNKNOWN };
	struct target	**v;
	size_t		  n, i, k;

	n = probe_targets(m->probe, &v);
	family(b, "ccnode_instance_health", "gauge", "The monitor's verdict: "
	    "1 for the instance's current state (up, suspect, down, unknown)");
	for (i = 0; i < n; i++)
		for (k = 0; k < nitems(states); k++) {
			char extra[40];

			snprintf(extra, sizeof(extra), ",state=\"%s\"",
			    hstate_name(states[k]));
			target_sample(b, v[i], "ccnode_instance_health", extra,
			    v[i]->state == states[k]);
		}
	family(b, "ccnode_probe_success", "gauge", "1 when the monitor's last "
	    "probe answered (LOADING, NOAUTH and the like count as an answer)");
	for (i = 0; i < n; i++)
		target_sample(b, v[i], "ccnode_probe_success", "",
		    v[i]->result == PR_OK || v[i]->result == PR_NOTREADY ||
		    v[i]->result == PR_AUTH);
	family(b, "ccnode_probe_duration_seconds", "gauge", "Round trip of "
	    "the monitor's last PING");
	for (i = 0; i < n; i++)
		if (v[i]->result == PR_OK)
			target_sample(b, v[i], "ccnode_probe_duration_seconds", "",
			    v[i]->rtt_us / 1e6);
	family(b, "ccnode_probe_consecutive_failures", "gauge",
	    "Failed probes in a row");
	for (i = 0; i < n; i++)
		target_sample(b, v[i], "ccnode_probe_consecutive_failures", "",
		    v[i]->fails);
	family(b, "ccnode_probe_failures_total", "counter", "Failed probes");
	for (i = 0; i < n; i++)
		target_sample(b, v[i], "ccnode_probe_failures_total", "", v[i]->failures);
	family(b, "ccnode_instance_role_changes_total", "counter",
	    "Role changes the probes saw");
	for (i = 0; i < n; i++)
		target_sample(b, v[i], "ccnode_instance_role_changes_total", "",
		    v[i]->role_changes);
	free(v);
}

static void
render_self(struct monitor *m, struct evbuffer *b)
{
	struct outbox_stats	os;
	struct alert_stats	as;
	struct hook_stats	hs;

#define SELF(name, type, help, value) do {				\
	family(b, name, type, help);					\
	evbuffer_add_printf(b, "%s ", name);				\
	prom_value(b, (double)(value));					\
	evbuffer_add(b, "\n", 1);					\
} while (0)
	SELF("ccnode_monitor_agents_connected", "gauge",
	    "Agents with a report link up", ingest_connected(m->ingest));
	SELF("ccnode_monitor_hosts", "gauge", "Hosts known",
	    store_nhosts(m->store));
	SELF("ccnode_monitor_instances", "gauge", "Instances known",
	    store_ninstances(m->store));
	SELF("ccnode_monitor_reports_total", "counter", "Reports received",
	    m->stats.reports);
	SELF("ccnode_monitor_samples_total", "counter",
	    "Instance samples ingested", m->stats.samples);
	SELF("ccnode_monitor_samples_out_of_order_total", "counter",
	    "Instance samples older than the newest stored", m->stats.out_of_order);
	SELF("ccnode_monitor_instance_conflicts_total", "counter",
	    "Samples refused because another host owns the name",
	    m->stats.conflicts);
	SELF("ccnode_monitor_refused_connections_total", "counter",
	    "Connections refused before or during authentication", m->wc.refused);
	SELF("ccnode_monitor_saves_total", "counter", "History saves",
	    m->stats.saves);
	SELF("ccnode_monitor_save_failures_total", "counter",
	    "History saves that failed", m->stats.save_failures);
	SELF("ccnode_monitor_last_save_timestamp_seconds", "gauge",
	    "When the history was last saved", m->stats.last_save_ms / 1e3);
	SELF("ccnode_monitor_last_save_duration_seconds", "gauge",
	    "How long the last save took", m->stats.last_save_duration_ms / 1e3);
	SELF("ccnode_monitor_probes_total", "counter", "Probes sent",
	    m->stats.probes);
	SELF("ccnode_monitor_probe_failures_total", "counter", "Probes failed",
	    m->stats.probe_failures);
	SELF("ccnode_monitor_health_transitions_total", "counter",
	    "Instance health changes", m->stats.transitions);
	SELF("ccnode_monitor_tilts_total", "counter", "Event-loop stalls that "
	    "held back down verdicts (TILT)", m->stats.tilts);
	outbox_stats(m->outbox, &os);
	SELF("ccnode_monitor_outbox_events", "gauge", "Control-center events "
	    "waiting for a 2xx", os.depth);
	SELF("ccnode_monitor_outbox_oldest_event_age_seconds", "gauge",
	    "Age of the oldest waiting event (0: none)", os.oldest_ms ?
	    (wall_ms() - os.oldest_ms) / 1e3 : 0);
	SELF("ccnode_monitor_outbox_dead_letters", "gauge", "Events the "
	    "control center refused with a 4xx, kept in data-dir/outbox/dead",
	    os.dead);
	SELF("ccnode_monitor_outbox_delivered_total", "counter",
	    "Events delivered", os.delivered);
	SELF("ccnode_monitor_outbox_retries_total", "counter",
	    "Deliveries retried (no answer, 5xx or 429)", os.retries);
	alerts_stats(m->alerts, &as);
	family(b, "ccnode_monitor_alerts", "gauge", "Active alerts");
	evbuffer_add_printf(b, "ccnode_monitor_alerts{state=\"firing\"} "
	    "%llu\n", (unsigned long long)as.firing);
	evbuffer_add_printf(b, "ccnode_monitor_alerts{state=\"pending\"} "
	    "%llu\n", (unsigned long long)as.pending);
	SELF("ccnode_monitor_alerts_fired_total", "counter", "Alerts fired",
	    as.fired);
	SELF("ccnode_monitor_alerts_resolved_total", "counter",
	    "Alerts resolved", as.resolved);
	hooks_stats(m->hooks, &hs);
	SELF("ccnode_monitor_hook_queue", "gauge", "Hook runs waiting or "
	    "running", hs.queued);
	SELF("ccnode_monitor_hook_runs_total", "counter", "Hook runs done",
	    hs.runs);
	SELF("ccnode_monitor_hook_failures_total", "counter",
	    "Hook runs that failed (exit status, HTTP status, timeout)",
	    hs.failures);
	SELF("ccnode_monitor_hook_timeouts_total", "counter",
	    "alert-exec runs killed at their timeout", hs.timeouts);
	SELF("ccnode_monitor_hook_dropped_total", "counter",
	    "Hook runs dropped because the queue was full", hs.dropped);
#undef SELF
}

void
prom_render(struct monitor *m, struct evbuffer *b)
{
	struct instance	**v;
	size_t		  n;

	/* One sorted list of the instances for both renderers. */
	n = store_instances(m->store, &v);
	render_instances(m, b, v, n);
	if (m->analytics != NULL)
		render_analytics(m, b, v, n);
	free(v);
	render_hosts(m, b);
	if (m->probe != NULL)
		render_probes(m, b);
	if (m->outbox != NULL)
		render_self(m, b);
}
