/*
 * insight.h: the analytics of one redis instance, beside its sampling.
 *
 * Each sample round the sampler's connection asks, after INFO ALL,
 * LATENCY HISTOGRAM and SLOWLOG GET.  From INFO commandstats and the
 * histogram this module makes the workload's per-command deltas (its own
 * calls taken out), takes each slowlog entry once (the last id is kept in
 * state-dir, per run_id), and carries the hot-key windows (hotkeys.c) and
 * the big-key scans (bigkeys.c) of the instance into the report.
 */
#ifndef CC_INSIGHT_H
#define CC_INSIGHT_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "proto/ccnode.pb-c.h"

struct agent;
struct info;
struct owncalls;
struct rconn;
struct insight;

/* A redis server the agent can reach: the instance, or its replica. */
struct insight_target {
	const char	*name;
	const char	*ip;
	int		 port;
	const char	*user;		/* NULL: default user */
	const char	*passfile;	/* NULL: no AUTH */
	struct owncalls	*own;		/* its own-call counts, if sampled here */
};

struct insight	*insight_new(struct agent *, const struct insight_target *);
void		 insight_free(struct insight *);
/*
 * Whether this round should read INFO ALL and LATENCY HISTOGRAM in one
 * MULTI/EXEC, so that the two agree to the call: unless the server
 * refused LATENCY less than 10 minutes ago.
 */
int		 insight_atomic(const struct insight *);
/*
 * The EXEC's LATENCY HISTOGRAM answer (after insight_info with its INFO),
 * or the error the queued command got.
 */
void		 insight_exec_hist(struct insight *, const redisReply *);
/* The EXEC failed (LATENCY renamed or denied): back to INFO alone. */
void		 insight_exec_failed(struct insight *, const char *why);
/*
 * Queues this round's other analytics commands on rc (the sampler's
 * connection), right after the sampler queued its own: queued commands,
 * INFO ALL alone (1) or in MULTI/EXEC (4).  done(arg) runs once per reply.
 * Returns the number of commands queued.
 */
int		 insight_send(struct insight *, struct rconn *, int queued,
		    void (*done)(void *), void *arg);
/* This round's INFO ALL answer (text, and what info_parse made of it). */
void		 insight_info(struct insight *, const struct info *,
		    const char *text, size_t len);
/*
 * Once per round, before the report: starts a scheduled big-key scan when
 * one is due (on replica when given), and gives the hot-key sampler the
 * ops rate.  skip_schedule: a replica whose
 * master is scanned on it needs no scan of its own.  scan_ops and
 * scan_rtt_us: the ops rate of the server a running scan reads, and the
 * sampler's round trip to it, for the scan's pacing.
 */
void		 insight_round(struct insight *, const struct insight_target *replica,
		    int skip_schedule, double scan_ops, uint32_t scan_rtt_us);
/* The own-call counts of the instance (for a scan of it as a replica). */
struct owncalls	*insight_own(struct insight *);
/* Whether a big-key scan of this instance reads ip:port now. */
int		 insight_scans(const struct insight *, const char *ip, int port);
/* Starts a big-key scan now (Analyze).  0, or -1 and err. */
int		 insight_analyze(struct insight *,
		    const struct insight_target *replica, char *err, size_t errlen);
/* Adds the round's analytics to is; the memory stays until insight_sent. */
void		 insight_fill(struct insight *, Ccnode__InstanceSample *is);
/* The report that insight_fill went into is in the spool. */
void		 insight_sent(struct insight *);

#endif
