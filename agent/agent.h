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
 */
#ifndef CC_AGENT_H
#define CC_AGENT_H

#include <sys/socket.h>
#include <stdint.h>

#include "conf.h"
#include "metric_defs.h"
#include "wire.h"

struct event_base;
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
	uint64_t		 sample_interval;	/* ms */
	uint64_t		 sample_timeout;	/* ms */
	char			*instance_bind;
	struct watch		*watches;
	char			*host_name;
	int			 log_level;
	uint64_t		 spool_max_size;
	uint64_t		 max_frame_size;
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
	char			*host_name;
	char			*advertise_ip;
	int64_t			 started_ms;
	double			 host_values[HM_COUNT];	/* last host sample */
	double			 net_rx_rate, net_tx_rate;	/* bytes/s */
};

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
/* Builds the ListInstances answer; free it with sampler_list_free. */
void		 sampler_list(struct sampler *, Ccnode__InstanceList *);
void		 sampler_list_free(Ccnode__InstanceList *);

/* control.c */
struct control	*control_new(struct agent *, char **cause);
void		 control_free(struct control *);

#endif
