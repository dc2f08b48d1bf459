/*
 * proc.h: one supervised process, shared by supervisor.c (its life) and
 * actions.c (requests run against it).  Nothing else sees inside.
 *
 * States (one transition function, proc_set_state, logs every change and
 * sends it to the monitor as an event):
 *
 *	stopped		not running, and not meant to (or never started)
 *	starting	spawned (or adopted); waiting for PING to answer
 *	running		answers PING
 *	backoff		exited; restarting after a delay
 *	stopping	SIGTERM sent; SIGKILL after stop-timeout
 *	fatal		exited crash-loop LIMIT times within WINDOW; retrying
 *			at the longest delay, or stopped (crash-loop-action)
 */
#ifndef CC_PROC_H
#define CC_PROC_H

#include <sys/types.h>
#include <stdint.h>

#include "agent.h"
#include "rconn.h"

struct event;

#define PROC_STATES(X)		\
	X(STOPPED, "stopped")	\
	X(STARTING, "starting")	\
	X(RUNNING, "running")	\
	X(BACKOFF, "backoff")	\
	X(STOPPING, "stopping")	\
	X(FATAL, "fatal")

#define X_ENUM(id, name) PS_##id,
enum pstate { PROC_STATES(X_ENUM) };
#undef X_ENUM

struct exit_info {
	int64_t		 time_ms;	/* 0: none yet */
	int		 code;		/* -1: killed, or unknown (adopted) */
	int		 sig;
	int		 oom;
	char		 detail[96];
};

/* A request waiting for a process to reach a state. */
enum wkind {
	W_STOP,		/* answered at "stopped" */
	W_START,	/* answered at "running", or when the start failed */
};

struct waiter {
	op_done_fn	*done;
	void		*arg;
	enum wkind	 kind;
	struct waiter	*next;
};

struct batch;

struct proc {
	struct supervisor	*sup;
	char			*name;
	int			 kind;
	int			 port;
	int			 stats_port;	/* interface */
	struct kvlist		 params;
	int			 want_running;	/* the desired state */
	enum pstate		 state;
	struct inst_files	 f;
	char			*ip;		/* where the agent reaches it */

	pid_t			 pid;		/* 0: none */
	uint64_t		 starttime;	/* /proc/PID/stat, clock ticks */
	int			 adopted;	/* not our child: watched by pidfd */
	int			 pidfd;
	struct event		*pidfd_ev;
	int			 sent_kill;	/* we sent SIGKILL */
	uint64_t		 oom_kills;	/* the host's count at spawn */
	uint64_t		 health_ms;	/* the next PING, while starting */
	int64_t			 started_ms;	/* wall */
	uint64_t		 started_mono;
	uint64_t		 alive_mono;	/* start deadline counts from here */

	unsigned		 restarts;
	struct exit_info	 last_exit;
	uint64_t		*exits;		/* mono ms of recent exits (ring) */
	unsigned		 nexits, exit_head;
	uint64_t		 delay_ms;	/* the last backoff delay */
	struct event		*timer;

	struct rconn		*rc;		/* control connection */
	struct waiter		*waiters;
	int			 restart_pending; /* start again once stopped */
	struct batch		*batches;	/* online requests in flight */

	uint64_t		 cpu_ticks;	/* for cpu_percent */
	uint64_t		 cpu_mono;
	double			 cpu_percent;
	uint64_t		 rss;

	struct proc		*next;
};

/* A process event waiting to be sent (see queue_event). */
struct pending_event {
	char			*name;
	const char		*event;		/* a state name */
	char			*detail;
	struct pending_event	*next;
};

/* The supervisor, shared with state.c. */
struct supervisor {
	struct agent	*a;
	struct proc	*procs;
	char		*state_path;
	char		*inst_root;
	struct event	*tick;
	struct event	*flush;		/* sends queued events */
	struct pending_event *events;
	unsigned	 ticks;
	long		 hz;
};

const char	*proc_state_name(enum pstate);
struct proc	*proc_new(struct supervisor *, const char *name, int kind,
		    int port, int stats_port);
void		 proc_free(struct proc *);
/* The address the agent reaches an instance at, from its bind. */
void		 proc_set_ip(struct proc *);

/* state.c */
int		 state_load(struct supervisor *, char **cause);
int		 inst_files_init(struct supervisor *, struct proc *, char **cause);
void		 inst_files_free(struct inst_files *);
int		 inst_write_proc(const char *path, pid_t, uint64_t start,
		    const char *exe);

/* procfs.c */
int		 procfs_stat(pid_t, uint64_t *start, uint64_t *ticks,
		    uint64_t *rss);
int		 procfs_exe_is(pid_t, const char *exe);
int		 procfs_listens(pid_t, int port);
int		 procfs_port_free(const char *ip, int port, const char **why);
int64_t		 procfs_started_ms(uint64_t starttime, long hz);
struct proc	*sup_find(struct supervisor *, const char *);
struct agent	*sup_agent(struct supervisor *);
/* The control connection (user ccagent), made on first use. */
struct rconn	*proc_conn(struct proc *);
/* Saves the desired state of every instance (atomic write). */
int		 sup_save(struct supervisor *, char **cause);

/* actions.c */
void		 act_set_params(struct proc *, const Ccnode__SetParams *,
		    op_done_fn *, void *);
void		 act_kill_clients(struct proc *, op_done_fn *, void *);
void		 act_flush(struct proc *, op_done_fn *, void *);
void		 act_promote(struct proc *, op_done_fn *, void *);
/* Answers the requests in flight (the agent is stopping). */
void		 act_abort(struct proc *);
/* A fresh result; fail() fills an error and calls done. */
void		 op_init(struct op_result *, const char *instance);
void		 op_fail(op_done_fn *, void *, const char *instance, int code,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
