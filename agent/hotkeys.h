/*
 * hotkeys.h: hot keys of one redis instance, from its command stream.
 *
 * Every period the agent attaches a MONITOR client for one window,
 * counts the keys of the commands it sees in a Space-Saving summary, and
 * detaches.  The window's counts, scaled to the period (the key's share
 * of the window's commands times the commands of the period, from the
 * ops rate), estimate the key's calls over the period.  The duty cycle (window/period) adapts to
 * the instance's ops rate so that the server time MONITOR costs stays
 * within hotkeys-budget (see hotkeys.c for the cost model and its
 * measurement).  No LFU policy is needed; when one is on, OBJECT FREQ of
 * the summary's keys is reported as a second source.
 *
 * The MONITOR connection is a plain socket of its own (RESP by hand: AUTH,
 * CLIENT SETNAME, MONITOR), never the sampler's connection.
 */
#ifndef CC_HOTKEYS_H
#define CC_HOTKEYS_H

#include <stdint.h>

#include "proto/ccnode.pb-c.h"

struct event_base;
struct owncalls;
struct hotkeys;

struct hotkeys_target {
	const char	*name;		/* for logs */
	const char	*ip;
	int		 port;
	const char	*user;		/* NULL: default user */
	const char	*passfile;	/* NULL: password, or none */
	const char	*password;
	double		 budget;	/* fraction of server time, 0.02 = 2% */
	uint32_t	 min_period_ms;	/* a window at most this often */
	struct owncalls	*own;		/* commands this module sends */
	/*
	 * Whether a big-key scan reads the instance now (NULL: never): its
	 * TYPE and STRLEN calls are no workload.  Asked when a window is due,
	 * at each round while one is open, and when it ends; a window that
	 * overlaps a scan is dropped.
	 */
	int		(*scanned)(void *);
	void		*arg;
};

struct hotkeys	*hotkeys_new(struct event_base *, const struct hotkeys_target *);
void		 hotkeys_free(struct hotkeys *);
/*
 * Once per sample round: the instance's ops/s and maxmemory-policy from
 * INFO.  Opens a window when one is due.
 */
void		 hotkeys_round(struct hotkeys *, double ops_per_sec,
		    const char *policy);
/*
 * A window that closed since the last call, into out: 1, or 0 if none.
 * Several windows closed since then come merged (window_ms and period_ms
 * are sums; counts estimate calls over period_ms).  A window whose
 * OBJECT FREQ readings are still coming (2 s at most) waits for the next
 * call.  out points into hk's memory until the next call of hotkeys_take
 * or hotkeys_free.  When the source is unavailable (MONITOR renamed or
 * denied), 0, with *why set to the reason (else "").
 */
int		 hotkeys_take(struct hotkeys *, Ccnode__HotKeys *out,
		    const char **why);

#endif
