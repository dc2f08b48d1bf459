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

struct event_base;
struct evbuffer;
struct evhttp_request;
struct ingest;
struct http;
struct persist;
struct series;
struct store;

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
	/* The probe user the agent made for the monitor. */
	char		 probe_user[32];
	char		 probe_password[128];
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
};

struct monitor {
	struct event_base	*base;
	struct monitor_conf	*conf;
	struct wire_conf	 wc;
	struct store		*store;
	struct ingest		*ingest;
	struct http		*http;
	struct persist		*persist;
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

/* prom.c */
void		 prom_render(struct monitor *, struct evbuffer *);
/* Exposition helpers, exported for the unit tests. */
void		 prom_label_value(struct evbuffer *, const char *);
void		 prom_value(struct evbuffer *, double);

/* dashboard.c */
extern const char dashboard_html[];

#endif
