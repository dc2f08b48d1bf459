/*
 * bigkeys.h: the big-key scan of one redis instance.
 *
 * SCAN with COUNT, then, pipelined per batch, TYPE and MEMORY USAGE (the
 * default sample count: microseconds even on a huge hash), then the
 * length command of each key's type.  Keys per second are capped by
 * bigkey-scan-rate, and the scan slows down further when the instance's
 * latency or ops rise.  Exact sizes (MEMORY USAGE SAMPLES 0) are asked
 * only for the final top-N candidates that are not huge.  No KEYS, no
 * DEBUG.  The scan has its own connection.
 *
 * A connection that drops resumes at the cursor when the server is the
 * same (same run_id) and starts over when it is not; a partial result is
 * never reported as complete.
 *
 * Key names are binary safe; a name is kept up to its first 1,024 bytes
 * (such a key gets no exact size).  At most 1,000 keys over the limits are
 * kept, the largest (bytes, then elements) first.
 */
#ifndef CC_BIGKEYS_H
#define CC_BIGKEYS_H

#include <stdint.h>

#include "proto/ccnode.pb-c.h"

struct event_base;
struct owncalls;
struct bigscan;

/*
 * Defaults (bench/bigkeys.sh measures them).  In struct bigscan_conf a 0
 * takes the default, except rate (0: no budget, the back-off only) and
 * exact_limit (0: no exact sizes).
 */
#define BIGSCAN_RATE		10000	/* keys/s */
#define BIGSCAN_COUNT		20	/* a pipeline of ~40 commands */
#define BIGSCAN_STRING_LIMIT	(10ULL * 1024 * 1024)	/* 10 MB */
#define BIGSCAN_ELEMENTS_LIMIT	10000
#define BIGSCAN_TOP_N		20
#define BIGSCAN_EXACT_LIMIT	25000	/* a SAMPLES 0 of ~1.5 ms at most */

struct bigscan_conf {
	uint64_t	 rate;		/* keys per second at most */
	uint32_t	 count;		/* SCAN COUNT */
	uint64_t	 string_limit;	/* bytes: strings over it are big */
	uint64_t	 elements_limit;/* collections with this many or more */
	uint32_t	 top_n;		/* largest keys kept per type */
	uint64_t	 exact_limit;	/* elements: SAMPLES 0 only below */
};

struct bigscan_target {
	const char	*name;		/* the instance the result is for */
	const char	*scanned;	/* the instance scanned (it or a replica) */
	const char	*ip;
	int		 port;
	const char	*user;
	const char	*passfile;
	const char	*password;
	struct owncalls	*own;		/* commands this module sends */
};

struct bigscan	*bigscan_new(struct event_base *, const struct bigscan_conf *);
void		 bigscan_free(struct bigscan *);
/*
 * Starts a scan of t (copied); reason is "schedule" or "analyze".  0, or
 * -1 with err set (one is already running).
 */
int		 bigscan_start(struct bigscan *, const struct bigscan_target *t,
		    const char *reason, char *err, size_t errlen);
/* Stops a running scan; its result is reported as not complete. */
void		 bigscan_abort(struct bigscan *, const char *why);
int		 bigscan_running(const struct bigscan *);
/*
 * Once per sample round, with the scanned instance's ops/s (every
 * client's, the scan's own included: instantaneous_ops_per_sec) and the
 * sampler's round trip to it (us; 0: unknown): the pacing adapts to them.
 */
void		 bigscan_round(struct bigscan *, double ops_per_sec,
		    uint32_t rtt_us);
/*
 * A scan that ended since the last call (complete or not), into out: 1, or
 * 0 if none.  out points into the scan's memory until the next call of
 * bigscan_take, bigscan_start or bigscan_free.
 */
int		 bigscan_take(struct bigscan *, Ccnode__BigKeyScan *out);

#endif
