/*
 * cmdstats.h: what a Redis instance did, per command, between two samples.
 *
 * The agent reads INFO commandstats (calls, usec, failed and rejected
 * calls) and, on Redis 7 and later, LATENCY HISTOGRAM (every call's
 * latency, in power-of-two microsecond buckets).  A delta of two readings
 * is the workload of the interval, once the agent's own calls (struct
 * owncalls) are taken out.  Counter resets (CONFIG RESETSTAT, a restart)
 * give no delta, never a negative count.
 *
 * SLOWLOG GET replies are parsed here too.  Every parser takes outside
 * bytes: it bounds what it copies and never fails on junk.
 */
#ifndef CC_CMDSTATS_H
#define CC_CMDSTATS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#define CMD_NAME_MAX	64	/* longer names are skipped */
#define CMD_MAX		512	/* commands kept per reading */
/*
 * hist[i] counts the calls that took (lat_bucket_upper(i - 1),
 * lat_bucket_upper(i)] us; hist[0] those of at most 1 us.  These are the
 * buckets of LATENCY HISTOGRAM: Redis records a call's duration (whole
 * us) times 1000 into an HdrHistogram of 2 significant digits in ns, and
 * reports the steps 1024 * 2^i ns, each up to the end of its sub-bucket,
 * 1032 * 2^i - 1 ns, named in us rounded down.  So the upper edges are 1,
 * 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, ... us, about
 * 1.032 * 2^i, and exact for whole-us durations.  The last bucket has no
 * upper edge.  INFO's usec has the same whole-us durations.
 */
#define LAT_BUCKETS	40

struct cmdstat {
	char		name[CMD_NAME_MAX];	/* lower case: "get", "config|set" */
	uint64_t	calls;
	uint64_t	usec;
	uint64_t	failed;		/* failed_calls + rejected_calls */
	uint64_t	hist[LAT_BUCKETS];	/* per bucket, not cumulative */
	int		has_hist;	/* hist came from LATENCY HISTOGRAM */
};

/* One reading (or one delta).  Sorted by name; at most CMD_MAX. */
struct cmdtable {
	size_t		 n;
	struct cmdstat	 v[CMD_MAX];
};

/* Counts of commands the agent sent itself, by commandstats name. */
struct owncalls {
	size_t		 n;
	struct {
		char		name[CMD_NAME_MAX];
		uint64_t	count;	/* sent since the last delta */
		uint64_t	old;	/* left by the last delta */
	}		 v[64];
};

/* Empties t. */
void	cmdtable_clear(struct cmdtable *t);
/* The entry named name, or NULL. */
struct cmdstat *cmdtable_find(struct cmdtable *t, const char *name);

/*
 * Parses the cmdstat_NAME:calls=..,usec=..,... lines of INFO text (the
 * whole INFO ALL reply may be given, with \r\n or \n line ends) into t,
 * which it clears first.  Names are lower-cased; a line without calls and
 * usec, with a bad number, or a name that is empty, not printable ASCII
 * or CMD_NAME_MAX bytes or more is skipped.  The first CMD_MAX good lines
 * are kept, each name once.  Returns the number of commands read.
 */
int	cmdstats_parse_info(const char *text, size_t len, struct cmdtable *t);

/*
 * Adds the LATENCY HISTOGRAM reply r (in RESP2 a flat array of NAME,
 * [calls, N, histogram_usec, [bucket, cumulative, ...]], ...) to t: each
 * command's hist gets the per-bucket counts and has_hist is set.  A
 * bucket is named by its upper edge in us, as Redis 7 does (1, 2, 4, 8,
 * 16, 33, ...) or as an exact power of two.  A command whose entry is
 * malformed (wrong types, an unknown bucket, buckets out of order,
 * cumulative counts going down) is skipped.  A command not yet in t is
 * added with calls from the reply.  Returns the number of commands read,
 * or -1 if r is not such a reply (an error, not an array of pairs).
 */
int	cmdstats_parse_histogram(const redisReply *r, struct cmdtable *t);

/* Counts n calls of cmd ("info", "memory|usage", ...) sent by the agent. */
void	owncalls_add(struct owncalls *o, const char *cmd, uint64_t n);
/* Adds the calls of from to o, and empties from. */
void	owncalls_move(struct owncalls *o, struct owncalls *from);
/*
 * cur is a new baseline (the first reading, a reset, a restart): the own
 * calls it counts are inside it and go; the others may still be on their
 * way, and stay for the next delta.
 */
void	owncalls_rebase(struct owncalls *o, const struct cmdtable *cur);

/*
 * The workload between prev and cur, into out (cleared first): for each
 * command, cur - prev, minus the agent's own calls of it.  Own calls are
 * consumed as they are subtracted, the older first; what a delta cannot
 * absorb (a reading taken before the calls reached the server) stays for
 * the next delta, and no longer: a call the server has not run by then
 * never will (its connection broke), and kept, it would hide a workload
 * call of the same command later.  The
 * time of the remaining calls is the delta's time scaled by the share of
 * workload calls, and their latency is the delta's histogram with the own
 * calls taken from the lowest buckets first.  A command with no histogram
 * gets one from its mean (usec / calls) when fallback is set, and keeps
 * has_hist 0.  Commands with no workload calls are left out (so are their
 * rejected calls, which Redis does not count as calls).
 *
 * The histogram delta has a call count of its own, which can differ from
 * the calls delta: INFO and LATENCY HISTOGRAM are read one after the other,
 * so calls that ran in between are in one reading and not in the other,
 * and with latency-tracking off Redis counts calls but no latencies.  The
 * histogram delta (cur - prev per bucket, at least 0) is then rescaled to
 * the calls delta (largest remainders, ties to the lower bucket), so that
 * sum(hist) == calls whenever has_hist is set.  has_hist is set only when
 * cur has a histogram, prev had one too (or had no such command), and the
 * histogram delta is not empty.
 *
 * Returns 0, or -1 on a counter reset (a command's calls, usec or failed
 * went down, or one disappeared): then out is empty, cur becomes the new
 * baseline and own is rebased on it (owncalls_rebase).  Calls beyond
 * cur's count of their command are still on their way: one sent on
 * another connection, a new one above all, can reach the server after the
 * reading (the hot-key sampler's CLIENT SETNAME and MONITOR).
 */
int	cmdstats_delta(const struct cmdtable *prev, const struct cmdtable *cur,
	    struct owncalls *own, int fallback, struct cmdtable *out);
/*
 * Whether the counters were reset between prev and cur: a command's
 * calls, usec or failed went down, or one disappeared.
 */
int	cmdstats_reset(const struct cmdtable *prev, const struct cmdtable *cur);

/* The bucket index of a latency of us microseconds (see LAT_BUCKETS). */
int	lat_bucket(uint64_t us);
/* The upper edge of bucket i in us; UINT64_MAX for the last one. */
uint64_t lat_bucket_upper(int i);

/* ---- SLOWLOG GET --------------------------------------------------------- */

#define SLOW_MAX_ARGS	33	/* redis keeps 32, the last "... (N more arguments)" */
#define SLOW_MAX_ARG	256	/* bytes kept per argument */

struct slowentry {
	uint64_t	 id;
	int64_t		 time;		/* Unix seconds */
	uint64_t	 duration_us;
	int		 nargs;
	char		*args[SLOW_MAX_ARGS];	/* malloc'd, binary safe, NUL ended */
	size_t		 arglen[SLOW_MAX_ARGS];
	char		 client[64];	/* ip:port, "" when absent (old servers) */
	char		 name[64];	/* client name */
};

/*
 * Parses a SLOWLOG GET reply (newest first) into *out, oldest first,
 * keeping only ids above last when have_last is set (duplicate ids once).
 * *lost is the number of ids between last and the oldest entry kept that
 * the reply no longer holds (slowlog-max-len overflowed, SLOWLOG RESET, or
 * more came than were fetched): oldest kept - last - 1, counted only when
 * have_last is set and the reply holds no id at or below last (ids of one
 * server run are consecutive; a reply that reaches back to last lost
 * nothing).  Otherwise 0.  Arguments past SLOW_MAX_ARGS are dropped and
 * each is cut to SLOW_MAX_ARG bytes (arglen is the length kept).
 * Returns the number of entries (*out NULL when 0), or -1 if r is not a
 * SLOWLOG GET reply: not an array, or an entry that is not [id, time,
 * duration, [args...] (, client, name)] with integers >= 0 for id and
 * duration and strings for the arguments.  Free with slowlog_free.
 */
int	slowlog_parse(const redisReply *r, int have_last, uint64_t last,
	    struct slowentry **out, uint64_t *lost);
void	slowlog_free(struct slowentry *v, int n);

#endif
