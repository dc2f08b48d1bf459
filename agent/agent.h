/*
 * agent.h: ccagent, the node agent.  One event loop runs everything:
 *
 *	main.c		options, config, signals, reload
 *	conf.c		the directive table
 *	host.c		host statistics through libstatgrab
 *	sampler.c	INFO from every watched instance, once per interval,
 *			assembled into one Report per round
 *	spool.c		reports not yet durable at the monitor, in memory
 *			and on disk
 *	shipper.c	the report link to the monitor
 *	control.c	the management port (5000)
 *	supervisor.c	the redis-server and interface processes it runs
 *	params.c	instance parameters, and the configs written from them
 *	actions.c	online requests: SetParams, KillAllConnections, ...
 */
#ifndef CC_AGENT_H
#define CC_AGENT_H

#include <sys/socket.h>
#include <sys/types.h>
#include <stdint.h>

#include "conf.h"
#include "metric_defs.h"
#include "wire.h"

struct event_base;
struct supervisor;
struct spool;
struct shipper;
struct sampler;
struct control;
struct hostsampler;

/* watch NAME IP:PORT [USER PASSWORD-FILE] */
struct watch {
	char		*name;
	char		*ip;
	int		 port;
	char		*user;
	char		*passfile;
	struct watch	*next;
};

/* monitor IP:PORT [IP:PORT ...] */
struct addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 text[64];
};

struct addr_list {
	int		 n;
	struct addr	*v;
};

struct backoff {
	uint64_t	 min_ms, max_ms;
};

struct crash_loop {
	unsigned	 limit;
	uint64_t	 window_ms;
};

enum { CRASH_RETRY, CRASH_STOP };

/* bigkey-scan-window HH:MM-HH:MM (local time) or off */
struct scan_window {
	int		 on;
	int		 start_min, end_min;	/* minutes after midnight */
};

struct agent_conf {
	struct conf_head	 head;
	char			*bind;
	long long		 port;
	struct addr_list	 monitors;
	char			*advertise_addr;
	char			*auth_secret_file;
	char			*tls_cert_file;
	char			*tls_key_file;
	char			*tls_ca_cert_file;
	char			*state_dir;
	char			*spool_dir;
	char			*log_dir;
	char			*secrets_dir;
	uint64_t		 log_max_size;
	long long		 log_keep;
	char			*redis_server_path;
	char			*interface_path;
	uint64_t		 stop_timeout;		/* ms */
	uint64_t		 start_timeout;		/* ms */
	struct backoff		 backoff;
	uint64_t		 reset_after;		/* ms */
	struct crash_loop	 crash_loop;
	int			 crash_loop_action;
	uint64_t		 sample_interval;	/* ms */
	uint64_t		 sample_timeout;	/* ms */
	char			*instance_bind;
	struct watch		*watches;
	char			*host_name;
	int			 log_level;
	uint64_t		 spool_max_size;
	uint64_t		 max_frame_size;
	/* Analytics (insight.c). */
	struct scan_window	 scan_window;
	long long		 bigkey_rate;		/* keys/s */
	uint64_t		 bigkey_string_limit;	/* bytes */
	long long		 bigkey_elements_limit;
	long long		 bigkey_top;
	long long		 hotkeys_budget;	/* percent; 0: off */
};

/* The daemon's state, handed to every module. */
struct agent {
	struct event_base	*base;
	struct agent_conf	*conf;
	struct wire_conf	 report_wc;	/* client side, to the monitor */
	struct wire_conf	 control_wc;	/* server side, port 5000 */
	struct spool		*spool;
	struct shipper		*shipper;
	struct sampler		*sampler;
	struct control		*control;
	struct hostsampler	*host;
	struct supervisor	*sup;
	char			*redis_exe;	/* realpath of redis-server-path */
	char			*interface_exe;
	char			*host_name;
	char			*advertise_ip;
	int64_t			 started_ms;
	double			 host_values[HM_COUNT];	/* last host sample */
	double			 net_rx_rate, net_tx_rate;	/* bytes/s */
};

/* The client-facing, agent and probe users of a spawned redis. */
#define AGENT_USER	"ccagent"
#define PROBE_USER	"ccprobe"
/* The agent names its connections ccagent-*; KillAllConnections spares
 * the ACL users above, not names, which any client may take. */
#define AGENT_CLIENT_PREFIX	"ccagent"

enum { KIND_REDIS, KIND_INTERFACE };

struct kv {
	char	*k, *v;
};

struct kvlist {
	size_t		 n;
	struct kv	*v;
};

/* The files of one supervised instance. */
struct inst_files {
	const char	*name;
	char		*dir;		/* state-dir/instances/NAME */
	char		*conf_path;	/* redis.conf or nutcracker.yml */
	char		*data_dir;	/* redis dir */
	char		*cluster_conf;
	char		*proc_path;	/* pid, start time, exe: for adoption */
	char		*agent_pw_path, *probe_pw_path;
	char		*agent_pw, *probe_pw;
	char		*log_path;	/* redis logfile / nutcracker -o */
	char		*out_path;	/* stdout and stderr */
};

/* One answer to a management request; see Ccnode__Result. */
struct op_result {
	int		 ok;
	int		 code;		/* Ccnode__ErrorReply__Code when !ok */
	char		 msg[512];
	struct kvlist	 applied;	/* keys only */
	struct kvlist	 needs_restart;
	uint64_t	 count;
	const char	*instance;	/* name, to describe afterwards */
};
/* Called exactly once per request, maybe before the request returns. */
typedef void op_done_fn(void *arg, struct op_result *);

/* params.c */
const char	*kind_name(int);
int		 kind_parse(const char *);
int		 param_online(const char *);
/*
 * Checks params for a kind; start: for StartInstance; secrets: the only
 * directory password-file params may name.  0, or -1 and *cause.
 */
int		 params_check(int kind, Ccnode__Param *const *, size_t, int start,
		    const char *secrets, char **cause);
int		 params_redis_conf(const struct inst_files *, const struct kvlist *,
		    const char *bind, int port, const char *secrets, char **out,
		    char **cause);
int		 params_nutcracker_yaml(const struct inst_files *,
		    const struct kvlist *, const char *bind, int port,
		    const char *secrets, char **out, char **cause);
/* The ACL rules of the default user under disable-command-list. */
char		*params_acl_default(const struct kvlist *);
const char	*kv_get(const struct kvlist *, const char *);
void		 kv_set(struct kvlist *, const char *, const char *);
void		 kv_del(struct kvlist *, const char *);
void		 kv_clear(struct kvlist *);

/* supervisor.c */
struct supervisor *supervisor_new(struct agent *, char **cause);
/* Frees the supervisor; the processes keep running (adopted next start). */
void		 supervisor_free(struct supervisor *);
/* A child exited (SIGCHLD); returns 1 if it was a supervised process. */
int		 supervisor_child(struct supervisor *, pid_t, int status);
void		 sup_start(struct supervisor *, const Ccnode__StartInstance *,
		    op_done_fn *, void *);
void		 sup_stop(struct supervisor *, const char *, op_done_fn *, void *);
void		 sup_restart(struct supervisor *, const char *, op_done_fn *,
		    void *);
void		 sup_set_params(struct supervisor *, const Ccnode__SetParams *,
		    op_done_fn *, void *);
void		 sup_kill_clients(struct supervisor *, const char *, op_done_fn *,
		    void *);
void		 sup_flush(struct supervisor *, const char *, op_done_fn *, void *);
void		 sup_promote(struct supervisor *, const char *, op_done_fn *,
		    void *);
/* Appends the supervised instances to a ListInstances answer. */
void		 sup_list(struct supervisor *, Ccnode__InstanceList *);
void		 sup_describe(struct supervisor *, const char *,
		    Ccnode__InstanceInfo *);
/* What the sampler should sample: each supervised instance, in turn. */
struct sample_target {
	const char	*name;
	const char	*ip;
	int		 port;
	int		 kind;		/* KIND_REDIS, KIND_INTERFACE, -1: watch */
	const char	*user;
	const char	*passfile;
	const char	*probe_user;
	const char	*probe_passfile;
	const char	*state;		/* supervised: the supervisor's state */
	int		 stats_port;	/* interface: nutcracker's stats port */
};
size_t		 sup_targets(struct supervisor *, struct sample_target **);
void		 sup_info_free(Ccnode__InstanceInfo *);

/* conf.c */
extern const struct conf_def agent_conf_defs[];
extern const size_t agent_conf_ndefs;
/* Loads and checks a config.  Returns NULL and *cause on error. */
struct agent_conf *agent_conf_load(const char *file, int argc, char **argv,
		    char **cause);
void		 agent_conf_free(struct agent_conf *);

/* host.c */
struct hostsampler *host_new(void);
void		 host_free(struct hostsampler *);
/* Fills values[HM_COUNT] (NaN where unknown). */
void		 host_sample(struct hostsampler *, double *values);
/* The first non-loopback IPv4 address, or NULL. */
char		*host_primary_ip(void);
/* Host warnings for HostInfo: overcommit, THP, somaxconn, nofile. */
int		 host_warnings(char ***warnings);

/* spool.c */
struct spool_entry {
	uint64_t	 ord;		/* position in the spool, for cursors */
	uint64_t	 epoch;
	uint64_t	 seq;
	uint8_t		*data;		/* a packed Envelope */
	size_t		 len;
};
struct spool	*spool_open(const char *dir, uint64_t max_bytes, char **cause);
void		 spool_close(struct spool *);
uint64_t	 spool_epoch(const struct spool *);
/* Reserves the next sequence number. */
uint64_t	 spool_next_seq(struct spool *);
/* Takes data (malloc'd).  Drops the oldest entries when over the limit. */
void		 spool_add(struct spool *, uint64_t seq, uint8_t *data, size_t len);
/* The monitor received (epoch, ..seq]: not lost if dropped now. */
void		 spool_received(struct spool *, uint64_t epoch, uint64_t seq);
/* The monitor made (epoch, ..seq] durable: forget those. */
void		 spool_ack(struct spool *, uint64_t epoch, uint64_t seq);
/* The first entry at or after ord, or NULL. */
const struct spool_entry *spool_from(const struct spool *, uint64_t ord);
uint64_t	 spool_count(const struct spool *);
uint64_t	 spool_bytes(const struct spool *);
uint64_t	 spool_dropped(const struct spool *);
uint64_t	 spool_last_seq(const struct spool *);
uint64_t	 spool_acked_seq(const struct spool *);
/* fdatasync the segment and write the state file. */
void		 spool_sync(struct spool *);

/* shipper.c */
struct shipper	*shipper_new(struct agent *);
void		 shipper_free(struct shipper *);
/* A report was spooled: send it if connected. */
void		 shipper_kick(struct shipper *);
int		 shipper_connected(const struct shipper *);

/* sampler.c */
struct sampler	*sampler_new(struct agent *);
void		 sampler_free(struct sampler *);
/* Picks up a changed sample-interval, sample-timeout or watch list. */
void		 sampler_reconfigure(struct sampler *);
/* Starts a big-key scan of name now (Analyze).  0, or -1 and err. */
/* Whether a big-key scan of any sampled instance reads ip:port now. */
int		 sampler_scanning(const struct sampler *, const char *ip,
		    int port);
int		 sampler_analyze(struct sampler *, const char *name, char *err,
		    size_t errlen);
/* Builds the ListInstances answer; free it with sampler_list_free. */
void		 sampler_list(struct sampler *, Ccnode__InstanceList *);
void		 sampler_list_free(Ccnode__InstanceList *);
/* Sends a process event to the monitor now, in a report of its own. */
void		 sampler_event(struct sampler *, const char *instance,
		    const char *event, const char *detail);

/* control.c */
struct control	*control_new(struct agent *, char **cause);
void		 control_free(struct control *);

#endif
