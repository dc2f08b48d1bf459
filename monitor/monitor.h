/*
 * monitor.h: ccmonitor, the central monitor.  One event loop:
 *
 *	main.c		options, config, signals, reload
 *	conf.c		the directive table
 *	ingest.c	the report port (55100): agents, dedup, acks
 *	store.c		hosts and instances: latest sample and history
 *	series.c	history rings at 5s, 1m, 5m, 1h and 1d
 *	persist.c	the history on disk: snapshots in a child process
 *	http.c		evhttp server, routing, bearer tokens
 *	api.c		the JSON API
 *	prom.c		/metrics
 *	dashboard.c	the page at / (generated from dashboard.html)
 *	probe.c		probes of every instance; the health state machine
 *	outbox.c	control-center events: on disk until a 2xx
 *	alert.c		alert rules, alert states and history
 *	hook.c		alert-exec, alert-webhook and alertmanager-url
 *	hclient.c	outgoing HTTP POSTs with a deadline
 *	analytics.c	top commands, latency ladder, proxy detail: what
 *			agents send beyond INFO (issue 5)
 *	slowstore.c	slowlog entries on disk, once each, and their queries
 *	bigstore.c	big-key scans on disk, per date, and their queries
 *	hotstore.c	hot-key windows and their summaries, in memory
 *
 * store.c owns struct host and struct instance; the other files read them.
 */
#ifndef CC_MONITOR_H
#define CC_MONITOR_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "info.h"
#include "metric_defs.h"
#include "wire.h"
#include "proto/history.pb-c.h"

#include <jansson.h>

struct event_base;
struct evbuffer;
struct evhttp_request;
struct ingest;
struct http;
struct persist;
struct outbox;
struct alerts;
struct hooks;
struct series;
struct store;
struct analytics;
struct analytics_inst;
struct evkeyvalq;

/*
 * latency-ladder: the configured edges of the latency distribution, and
 * the histogram bucket edges really used (conf.c, analytics.c).
 */
#define LADDER_EDGES_MAX	15
struct latency_ladder {
	int		 n;				/* edges */
	uint64_t	 conf_us[LADDER_EDGES_MAX];	/* as configured */
	uint64_t	 edge_us[LADDER_EDGES_MAX];	/* the bucket edge used */
};

struct monitor_conf {
	struct conf_head	 head;
	char			*bind;
	long long		 port;
	long long		 http_port;
	char			*auth_secret_file;
	char			*tls_cert_file;
	char			*tls_key_file;
	char			*tls_ca_cert_file;
	char			*http_auth_token_file;
	char			*data_dir;
	uint64_t		 save_interval;		/* ms */
	uint64_t		 agent_timeout;		/* ms */
	uint64_t		 instance_expire;	/* ms */
	long long		 max_hosts;
	long long		 max_instances;
	int			 log_level;
	uint64_t		 max_frame_size;
	/* Probing (probe.c). */
	uint64_t		 probe_interval;	/* ms */
	uint64_t		 probe_timeout;		/* ms */
	long long		 probe_failures;
	struct probe_conf	*probes;		/* instance lines */
	/* Alerting (alert.c, outbox.c, hook.c). */
	char			*control_center_url;
	uint64_t		 http_timeout;		/* ms */
	struct rule		*rules;
	char			*alert_exec;
	uint64_t		 alert_exec_timeout;	/* ms */
	char			*alert_webhook;
	char			*alertmanager_url;
	uint64_t		 alert_repeat_interval;	/* ms */
	uint64_t		 alertmanager_resend;	/* ms */
	long long		 hook_queue_size;
	char			*external_url;
	/* Analytics (analytics.c). */
	struct latency_ladder	 latency_ladder;
	int			 slowlog_redact_args;
};

/* instance NAME IP:PORT [USER PASSWORD-FILE] */
struct probe_conf {
	char			*name;
	char			*ip;
	int			 port;
	char			*user;
	char			*passfile;
	struct probe_conf	*next;
};

/*
 * The metrics a rule can name: a redis gauge (its index in REDIS_METRICS),
 * one of these, or D_HOST + the index of a host gauge.
 */
enum rule_metric {
	D_UP = 1000,		/* the monitor's verdict */
	D_KEYS,
	D_MEM_RATIO,
	D_REPL_LAG,
	D_PROBE_RTT,
	D_PROXY_FAILING,
	D_SLOWLOG_RATE,		/* analytics_slowlog_rate() */
	D_HOST = 2000,
};
/* conf.c: the index of a metric rules can use, and whether it is a host's. */
int		 alert_metric(const char *name, int *host);

/* rule NAME METRIC OP THRESHOLD [for D] [severity S] [labels k=v,...] */
enum rule_op { OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE };
struct rule {
	char			*name;
	char			*metric;
	int			 host;		/* a host metric, not an instance's */
	int			 idx;		/* alert_metric() */
	enum rule_op		 op;
	double			 threshold;
	uint64_t		 for_ms;
	char			*severity;
	int			 nlabels;
	char			**lkeys, **lvals;
	struct rule		*next;
};

#define HOST_EPOCHS	8

/* An agent's host. */
struct host {
	char		*name;
	char		 ip[64];
	/*
	 * Sequence numbers, per epoch of the agent's spool.  An agent that
	 * crashes starts a new epoch but may still hold reports of older
	 * ones; each is deduplicated and acknowledged on its own.  The
	 * current epoch is the one that appeared last.
	 */
	struct host_epoch {
		uint64_t	 epoch;
		uint64_t	 last_seq;	/* highest stored */
		uint64_t	 durable_seq;	/* highest saved to disk */
		uint64_t	 save_seq;	/* last_seq when the save began */
		uint64_t	 order;		/* when it appeared */
		int64_t		 touched_ms;	/* last report */
	}		 epochs[HOST_EPOCHS];
	int		 nepochs;
	uint64_t	 epoch_order;
	uint64_t	 reports, duplicates, missing;
	/* From the agent's status. */
	char		 version[32];
	uint64_t	 spool_reports, spool_bytes, dropped;
	int64_t		 started_ms;
	uint32_t	 interval_ms;
	/* Latest sample. */
	int64_t		 sample_ms;		/* agent's clock */
	int64_t		 last_report_ms;	/* ours */
	double		 values[HM_COUNT];
	double		 rx_rate, tx_rate;		/* bytes/s */
	double		 prev_rx, prev_tx;
	int64_t		 prev_net_ms;
	int		 ninstances;
	struct series	*series;
	struct wconn	*conn;			/* the agent's link, if up */
	char		 peer[64];
};

/* An instance, as the agents report it. */
struct instance {
	char		*name;
	struct host	*host;
	char		 addr[64];
	char		 kind[16];
	int		 up;
	char		 error[256];
	uint32_t	 rtt_us;
	double		 values[RM_COUNT];
	char		 role[16];
	char		 version[32];
	char		 run_id[48];
	char		 mode[16];
	char		 master_addr[64];
	char		 policy[32];
	int		 ndbs;
	struct info_db	*dbs;
	int		 nreplicas;
	struct info_replica *replicas;
	int64_t		 sample_ms;		/* agent's clock */
	int64_t		 last_seen_ms;		/* ours */
	struct series	*series;
	/* Supervised instances: the agent's view of the process. */
	char		 proc_state[16];
	char		 event[16];		/* the last process event */
	char		 event_detail[160];
	int64_t		 event_ms;
	/* Interface processes: the agent's reading of the proxy's stats. */
	int		 proxy_stats;
	uint32_t	 proxy_backends, proxy_failing;
	uint64_t	 proxy_errors;
	/* The probe user the agent made for the monitor. */
	char		 probe_user[32];
	char		 probe_password[128];
	/* Analytics (analytics.c): NULL until a sample carries some. */
	struct analytics_inst *analytics;
};

/*
 * Health of an instance (probe.c), from the monitor's probes and the
 * agent's view of the process.
 */
enum hstate { HS_UNKNOWN, HS_UP, HS_SUSPECT, HS_DOWN };

/* What the last probe saw. */
enum presult {
	PR_NONE,	/* no probe yet */
	PR_OK,		/* PONG */
	PR_NOTREADY,	/* LOADING, MASTERDOWN, BUSY: alive, not ready */
	PR_AUTH,	/* NOAUTH, WRONGPASS, NOPERM: alive; our credentials are not */
	PR_TIMEOUT,	/* connected, no answer in probe-timeout */
	PR_CONNECT,	/* not connected in probe-timeout */
	PR_REFUSED,	/* connection refused */
	PR_ERROR,	/* an error reply, or a bad answer */
	PR_CLOSED,	/* the connection was closed or reset */
};

struct probe;
struct target {
	struct probe	*pr;
	char		*name;
	char		 host[64];	/* reporting agent, "" for config */
	char		 ip[64];
	int		 port;
	char		 addr[72];	/* as reported or configured */
	char		 kind[16];	/* "redis" or "interface" */
	int		 configured;	/* an instance line */
	int		 mark;
	char		*user;
	char		*passfile;
	char		*password;	/* from the agent's report */
	struct rconn	*rc;
	struct event	*timer;
	struct event	*retry_ev;	/* a reconnect, from the loop */
	struct event	*deadline;	/* of the round in flight */
	int		 inflight;
	int		 retried;	/* this round reconnected once */
	int		 auth_warned;
	int		 stopped;	/* stopped on purpose: not probed */
	int		 skip;		/* rounds left to skip (backoff) */
	uint64_t	 sent_us;
	/* The last probe. */
	int64_t		 probe_ms;
	enum presult	 result;
	char		 error[160];
	uint32_t	 rtt_us;
	int		 fails;		/* consecutive */
	char		 role[16];	/* "master", "replica", "" */
	char		 prev_role[16];
	int64_t		 role_since_ms;
	uint64_t	 role_changes;
	double		 lag_s;		/* replica: master_last_io, or NaN */
	uint64_t	 offset;
	/* Health. */
	enum hstate	 state;
	const char	*cause;
	int64_t		 since_ms;
	char		 agent_event[200];	/* the last agent event, as evidence */
	uint64_t	 probes, failures;
	struct target	*next;
};

struct monitor_stats {
	uint64_t	reports;
	uint64_t	samples;
	uint64_t	duplicates;
	uint64_t	out_of_order;
	uint64_t	conflicts;
	uint64_t	saves, save_failures;
	int64_t		last_save_ms;
	uint64_t	last_save_duration_ms;
	uint64_t	http_requests, http_errors;
	uint64_t	probes, probe_failures;
	uint64_t	transitions;
	uint64_t	tilts;
};

struct monitor {
	struct event_base	*base;
	struct monitor_conf	*conf;
	struct wire_conf	 wc;
	struct store		*store;
	struct ingest		*ingest;
	struct http		*http;
	struct persist		*persist;
	struct probe		*probe;
	struct outbox		*outbox;
	struct alerts		*alerts;
	struct hooks		*hooks;
	struct analytics	*analytics;
	char			*token;		/* HTTP bearer token, or NULL */
	int			 http_loopback;
	int64_t			 started_ms;
	struct monitor_stats	 stats;
};

/* conf.c */
extern const struct conf_def monitor_conf_defs[];
extern const size_t monitor_conf_ndefs;
struct monitor_conf *monitor_conf_load(const char *file, int argc, char **argv,
		    char **cause);
void		 monitor_conf_free(struct monitor_conf *);

/* series.c: history of one host or instance. */
enum series_kind { SK_HOST, SK_INSTANCE };
#define SERIES_LEVELS	5
struct series_level {
	const char	*name;		/* "5s" */
	uint32_t	 step_s;
	uint32_t	 points;	/* retention, in steps */
};
extern const struct series_level series_levels[SERIES_LEVELS];
struct series_spec {
	const char	*name;		/* Prometheus-style metric name */
	int		 src;		/* index in the metric table, or -1 */
	int		 rate;		/* stored as a per-second rate */
	const char	*help;
};
int		 series_nspecs(enum series_kind);
const struct series_spec *series_spec(enum series_kind, int idx);
int		 series_find(enum series_kind, const char *name);
int		 series_level_find(const char *name);
struct series	*series_new(enum series_kind);
void		 series_free(struct series *);
/* Adds one sample of metric idx at t (ms); out-of-order samples return -1. */
int		 series_add(struct series *, int idx, int64_t t_ms, double v);
/*
 * The source's clock went back to t: close the open buckets past it, so
 * that samples from t on are taken (and overwrite what they meet).
 */
void		 series_jump(struct series *, int64_t t_ms);
/* Calls fn for every stored point of idx at level in [from, to]. */
size_t		 series_read(const struct series *, int idx, int level,
		    int64_t from_ms, int64_t to_ms,
		    void (*fn)(int64_t t_ms, double v, void *), void *arg);
size_t		 series_memory(const struct series *);
/* History records (see persist.c); the records live in the arena. */
struct arena;
size_t		 series_export(const struct series *, struct arena *,
		    Ccnode__SeriesRecord ***);
void		 series_import(struct series *, const Ccnode__SeriesRecord *);

/* store.c */
struct store	*store_new(struct monitor *);
void		 store_free(struct store *);
struct host	*store_host(struct store *, const char *name, int create);
struct instance	*store_instance(struct store *, const char *name);
/* Sorted by name; the array is the caller's to free. */
size_t		 store_hosts(struct store *, struct host ***);
size_t		 store_instances(struct store *, struct instance ***);
size_t		 store_nhosts(const struct store *);
size_t		 store_ninstances(const struct store *);
/*
 * Applies one report of h, already checked for duplicates.  current: it
 * belongs to the host's current epoch, so its sequence number, not its
 * clock, orders it after what is stored.
 */
void		 store_ingest(struct store *, struct host *, const Ccnode__Report *,
		    int current);
/* Drops instances not seen for instance-expire. */
void		 store_expire(struct store *, int64_t now_ms);
/* Persist support: entities rebuilt from a snapshot. */
struct instance	*store_instance_restore(struct store *, const char *name,
		    struct host *);
/* Whether the instance's sample is current (reported in the last rounds). */
int		 instance_fresh(const struct instance *, int64_t now_ms);
/* The host's current epoch (the one that appeared last), or NULL. */
struct host_epoch *host_current_epoch(struct host *);

/* ingest.c */
struct ingest	*ingest_new(struct monitor *, char **cause);
void		 ingest_free(struct ingest *);
/* A save finished: tell connected agents what is durable now. */
void		 ingest_durable(struct ingest *);
int		 ingest_connected(const struct ingest *);

/* persist.c */
struct persist	*persist_new(struct monitor *);
void		 persist_free(struct persist *);
/* Loads data-dir/history.db into the store, if present. */
void		 persist_load(struct persist *);
/* Saves in a child process; durable acks go out when it succeeds. */
void		 persist_save_bg(struct persist *);
/* Saves now, in this process (shutdown). */
int		 persist_save_now(struct persist *);
/* A child exited; returns 1 if it was a save. */
int		 persist_child(struct persist *, pid_t, int status);

/* http.c */
struct http	*http_new(struct monitor *, char **cause);
void		 http_free(struct http *);
void		 http_send_json(struct evhttp_request *, int code, void *json);
void		 http_send_error(struct evhttp_request *, int code,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* api.c: each returns after answering the request. */
struct api_query;
void		 api_status(struct monitor *, struct evhttp_request *);
void		 api_machines(struct monitor *, struct evhttp_request *);
void		 api_machine(struct monitor *, struct evhttp_request *,
		    const char *name, const char *sub);
void		 api_instances(struct monitor *, struct evhttp_request *);
void		 api_instance(struct monitor *, struct evhttp_request *,
		    const char *name, const char *sub);
void		 api_alerts(struct monitor *, struct evhttp_request *,
		    int history);

/* prom.c */
void		 prom_render(struct monitor *, struct evbuffer *);
/* Exposition helpers, exported for the unit tests. */
void		 prom_label_value(struct evbuffer *, const char *);
void		 prom_value(struct evbuffer *, double);

/* probe.c */
struct probe	*probe_new(struct monitor *);
void		 probe_free(struct probe *);
/* After a reload, or when the agents' instances may have changed. */
void		 probe_sync(struct probe *);
/* An agent's process event (store.c calls it for each). */
void		 probe_agent_event(struct probe *, struct instance *,
		    const char *event, const char *detail);
struct target	*probe_target(struct probe *, const char *name);
/* Sorted by name; the array is the caller's to free. */
size_t		 probe_targets(struct probe *, struct target ***);
const char	*hstate_name(enum hstate);
const char	*presult_name(enum presult);
json_t		*target_json(const struct target *);
int		 probe_tilted(const struct probe *);

/* outbox.c: control-center events. */
struct outbox	*outbox_new(struct monitor *);
void		 outbox_free(struct outbox *);
/* Queues one event (JSON object, consumed) for the control center. */
void		 outbox_add(struct outbox *, const char *instance, json_t *);
void		 outbox_reconfigure(struct outbox *);
struct outbox_stats {
	uint64_t	 depth, dead, delivered, retries, failures;
	int64_t		 oldest_ms;
};
void		 outbox_stats(const struct outbox *, struct outbox_stats *);

/* alert.c */
struct alerts	*alerts_new(struct monitor *);
void		 alerts_free(struct alerts *);
/* A new sample of an instance or a host: rules are evaluated. */
void		 alerts_eval_instance(struct alerts *, struct instance *);
void		 alerts_eval_host(struct alerts *, struct host *);
/* The built-in instance_down rule, driven by the health state. */
void		 alerts_instance_health(struct alerts *, struct target *);
/* Rules changed (SIGHUP): active alerts of kept rules stay. */
void		 alerts_reconfigure(struct alerts *);
json_t		*alerts_json(struct alerts *, int history, size_t limit);
struct alert_stats {
	uint64_t	 firing, pending, fired, resolved;
};
void		 alerts_stats(const struct alerts *, struct alert_stats *);

/* hook.c */
struct hooks	*hooks_new(struct monitor *);
void		 hooks_free(struct hooks *);
/*
 * One alert notification (status "firing" or "resolved"): queued for
 * every configured hook, in order per instance.  am_only: a resend to
 * Alertmanager only.
 */
struct alert_note {
	const char	*status;
	const char	*alertname;
	const char	*instance;	/* or the host, for host rules */
	const char	*host;
	const char	*severity;
	const char	*summary;
	double		 value;
	int64_t		 starts_ms, ends_ms;	/* ends_ms 0: open */
	int		 nlabels;
	char *const	*lkeys, *const *lvals;
	const char	*fingerprint;
};
void		 hooks_notify(struct hooks *, const struct alert_note *,
		    int am_only);
/* A child exited; returns 1 if it was a hook's. */
int		 hooks_child(struct hooks *, pid_t, int status);
struct hook_stats {
	uint64_t	 queued, runs, failures, dropped, timeouts;
};
void		 hooks_stats(const struct hooks *, struct hook_stats *);

/* hclient.c */
typedef void	 hclient_cb(int status, const char *err, void *arg);
/*
 * POSTs body to url (+ suffix) and calls cb once: with the HTTP status,
 * or 0 and why.  Returns -1 if it could not start (cb has run).
 */
int		 hclient_post(struct event_base *, const char *url,
		    const char *suffix, const char *body, size_t len,
		    uint64_t timeout_ms, hclient_cb *, void *arg);
void		 hclient_shutdown(void);

/*
 * analytics.c: what the agents send in InstanceSample fields 23-30, kept
 * per instance: command deltas in time buckets, hot-key summaries, the
 * slowlog and big-key scans on disk (data-dir/analytics/NAME/), the
 * unavailable sources and the proxy's detail.  Served on the API paths
 * below /api/v1/instances/NAME/ and on /metrics.
 */
struct analytics *analytics_new(struct monitor *);
void		 analytics_free(struct analytics *);
/*
 * One current (not replayed) sample of in, taken at t_ms (store.c calls
 * it once per stored sample).
 */
void		 analytics_ingest(struct analytics *, struct instance *,
		    int64_t t_ms, const Ccnode__InstanceSample *);
void		 analytics_instance_free(struct analytics_inst *);
/* Removes slowlog files past 7 days and big-key files past 30 (hourly). */
void		 analytics_sweep(struct analytics *, int64_t now_ms);
/*
 * The query parameters an analytics path takes (sub is the path after
 * /instances/NAME/), or NULL if sub is not one of them.
 */
const char *const *analytics_params(const char *sub);
/*
 * The answer to an analytics path: *code is 200, or 400 with
 * {"error": ...} naming the bad parameter.  q holds the parameters,
 * already checked against analytics_params().
 */
json_t		*analytics_query(struct analytics *, struct instance *,
		    const char *sub, const struct evkeyvalq *q, int64_t now_ms,
		    int *code);
/* Adds "proxy" (interface processes) and "analytics" to an instance's JSON. */
void		 analytics_instance_json(const struct instance *, json_t *,
		    int fresh);
/* Cumulative per-command figures since the monitor started (/metrics). */
struct analytics_cmd {
	const char	*cmd;
	uint64_t	 calls, usec, failed;
	const uint64_t	*ladder;		/* ladder->n + 1 slots */
};
/* The i-th command of in; -1 past the last. */
int		 analytics_cmd(const struct instance *, size_t i,
		    struct analytics_cmd *);
const struct latency_ladder *analytics_ladder(const struct analytics *);
struct analytics_counts {
	uint64_t	 slowlog_entries;	/* stored since the monitor started */
	uint64_t	 slowlog_lost;		/* to slowlog-max-len, agent-reported */
	uint64_t	 slowlog_dropped;	/* over the daily cap, or malformed */
	uint64_t	 slowlog_duplicates;	/* resent entries, dropped */
};
/* 0, or -1 when the instance has no analytics. */
int		 analytics_counts(const struct instance *,
		    struct analytics_counts *);
/* New slowlog entries per second over the last sample, or NaN. */
double		 analytics_slowlog_rate(const struct instance *);
/* The proxy's last figures (interface processes), or NULL. */
struct proxy_server {
	char		 pool[64];
	char		 name[128];
	uint64_t	 connections, requests, responses, errors;
	int		 ejected, failing;
};
struct proxy_detail {
	uint64_t	 client_connections, total_connections, client_errors;
	uint64_t	 requests, responses, server_errors, fragments;
	int		 nservers;
	struct proxy_server *servers;
};
const struct proxy_detail *analytics_proxy(const struct instance *);
/* The unavailable sources: returns how many, with *src and *why. */
int		 analytics_source(const struct instance *, int i,
		    const char **src, const char **why);

/* dashboard.c */
extern const char dashboard_html[];

#endif
