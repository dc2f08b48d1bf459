/*
 * supervisor.c: the redis-server and interface (nutcracker) processes this
 * agent runs.  See proc.h for the states; state.c keeps what lives on
 * disk, procfs.c reads /proc.
 *
 * Desired state.  state-dir/desired.json lists every instance, its kind,
 * port, params and whether it should run; it is written atomically (write,
 * fsync, rename) before anything is spawned or stopped, so a kill -9 of the
 * agent leaves either the old or the new version, never a torn one.
 *
 * Spawning.  fork, then in the child: its own session (a dying agent does
 * not take it along), stdout and stderr to a file under log-dir (never a
 * pipe the agent holds: the child would get SIGPIPE when the agent dies),
 * every other descriptor closed, then execve of redis-server-path or
 * interface-path with an argument array.  Nothing else is ever executed.
 *
 * Exits.  Our children's exits arrive at once through SIGCHLD on the event
 * loop.  A process adopted after an agent restart is not our child: its
 * exit is seen through a pidfd, or by polling /proc where pidfds are
 * missing, and its exit status is unknown.
 *
 * Adoption.  After each spawn the agent records pid, start time (field 22
 * of /proc/PID/stat) and the resolved binary.  At start it adopts a
 * process only if all three still match, so a recycled PID is never taken
 * for ours; and it never starts an instance whose port something else
 * holds, so there are no duplicates.
 *
 * Restarts.  The first restart after a stable run (restart-reset-after of
 * uptime) is immediate; later ones wait restart-backoff MIN, doubling up to
 * MAX, with jitter.  crash-loop LIMIT exits within WINDOW make the
 * instance fatal: it then retries at MAX, or stays stopped.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_COMP "supervisor"
#include "log.h"
#include "proc.h"
#include "util.h"

#define HEALTH_FIRST_MS	5	/* PING while starting: 5 ms, doubling, */
#define HEALTH_MS	100	/* up to every 100 ms */
#define START_WAIT_MS	5000	/* a start request answers by then */
#define TICK_MS		2000	/* CPU and RSS; logs every 5 ticks */


#define X_NAME(id, name) name,
static const char *const state_names[] = { PROC_STATES(X_NAME) };
#undef X_NAME

static void	proc_spawn(struct proc *);
static void	proc_kill(struct proc *, int);
static uint64_t	oom_kills(void);
static void	proc_timer_cb(evutil_socket_t, short, void *);
static void	proc_exited(struct proc *, int have_status, int status);
static void	resolve_waiters(struct proc *);

const char *
proc_state_name(enum pstate st)
{
	return state_names[st];
}

struct agent *
sup_agent(struct supervisor *sup)
{
	return sup->a;
}

struct proc *
sup_find(struct supervisor *sup, const char *name)
{
	struct proc *p;

	for (p = sup->procs; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

struct proc *
proc_new(struct supervisor *sup, const char *name, int kind, int port,
    int stats_port)
{
	struct proc *p = xcalloc(1, sizeof(*p)), **pp;

	p->sup = sup;
	p->name = xstrdup(name);
	p->kind = kind;
	p->port = port;
	p->stats_port = stats_port;
	p->pidfd = -1;
	p->state = PS_STOPPED;
	p->timer = evtimer_new(sup->a->base, proc_timer_cb, p);
	for (pp = &sup->procs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
	return p;
}

void
proc_free(struct proc *p)
{
	struct waiter *w, *next;

	for (w = p->waiters; w != NULL; w = next) {
		next = w->next;
		op_fail(w->done, w->arg, p->name, CCNODE__ERROR_REPLY__CODE__INTERNAL,
		    "the agent is shutting down");
		free(w);
	}
	act_abort(p);
	if (p->pidfd_ev != NULL)
		event_free(p->pidfd_ev);
	if (p->pidfd != -1)
		close(p->pidfd);
	event_free(p->timer);
	rconn_free(p->rc);
	kv_clear(&p->params);
	inst_files_free(&p->f);
	free(p->exits);
	free(p->ip);
	free(p->name);
	free(p);
}

/* The first address of a bind list ("IP IP" or "IP,IP"). */
static const char *
bind_first(const char *bind, char *buf, size_t len)
{
	size_t n = strcspn(bind, " ,");

	snprintf(buf, len, "%.*s", (int)MINIMUM(n, len - 1), bind);
	return buf;
}

/* The address the agent reaches an instance at, from its bind. */
void
proc_set_ip(struct proc *p)
{
	const char	*bind = kv_get(&p->params, "bind");
	char		 first[64];

	free(p->ip);
	if (bind == NULL)
		bind = p->sup->a->conf->instance_bind;
	bind_first(bind, first, sizeof(first));
	if (strcmp(first, "0.0.0.0") == 0)
		p->ip = xstrdup("127.0.0.1");
	else if (strcmp(first, "::") == 0)
		p->ip = xstrdup("::1");
	else
		p->ip = xstrdup(first);
}

/* ---- the state machine ---------------------------------------------------- */

/*
 * Events go to the monitor from the loop, right after the current
 * callback: a crashed process is forked again before its events are
 * packed and spooled, which keeps disk writes off the restart path.
 */
static void
queue_event(struct supervisor *sup, const char *name, const char *event,
    const char *detail)
{
	struct pending_event *e = xcalloc(1, sizeof(*e)), **pp;

	e->name = xstrdup(name);
	e->event = event;
	e->detail = xstrdup(detail);
	for (pp = &sup->events; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = e;
	event_active(sup->flush, EV_TIMEOUT, 0);
}

static void
send_events(struct supervisor *sup)
{
	struct pending_event	*e;
	struct sampler		*smp = sup->a->sampler;

	while ((e = sup->events) != NULL) {
		sup->events = e->next;
		if (smp != NULL)
			sampler_event(smp, e->name, e->event, e->detail);
		free(e->name);
		free(e->detail);
		free(e);
	}
}

static void
flush_events_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct supervisor *sup = arg;

	send_events(sup);
	if (sup->a->sampler != NULL)
		sampler_reconfigure(sup->a->sampler);
}

/* The one place a state changes: logged, and sent to the monitor at once. */
static void
proc_set_state(struct proc *p, enum pstate st, const char *why)
{
	enum pstate old = p->state;

	if (old == st)
		return;
	p->state = st;
	if (st == PS_FATAL || (st == PS_BACKOFF && old == PS_RUNNING))
		log_warnx("instance %s: %s -> %s reason=\"%s\"", p->name,
		    state_names[old], state_names[st], why);
	else
		log_info("instance %s: %s -> %s reason=\"%s\"", p->name,
		    state_names[old], state_names[st], why);
	queue_event(p->sup, p->name, state_names[st], why);
	resolve_waiters(p);
}

static void
arm(struct proc *p, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_del(p->timer);
	evtimer_add(p->timer, &tv);
}

static void
answer(struct waiter *w, struct op_result *r)
{
	w->done(w->arg, r);
	free(w);
}

/* Answers the waiters of one kind with an error, and forgets them. */
static void
supersede(struct proc *p, enum wkind kind, const char *why)
{
	struct waiter		*w, **pp;
	struct op_result	 r;

	for (pp = &p->waiters; (w = *pp) != NULL; ) {
		if (w->kind != kind) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		op_init(&r, p->name);
		r.ok = 0;
		r.code = CCNODE__ERROR_REPLY__CODE__REFUSED;
		snprintf(r.msg, sizeof(r.msg), "%s: %s", p->name, why);
		answer(w, &r);
	}
}

/*
 * Answers the requests waiting on p, as far as its state allows.  A
 * pending restart turns the arrival at "stopped" into a new start.
 */
static void
resolve_waiters(struct proc *p)
{
	struct waiter		*w, **pp;
	struct op_result	 r;
	char			*cause = NULL;
	int			 done;

	if (p->state == PS_STOPPED && p->restart_pending) {
		/* The stop half of a restart is done: start, and mean it. */
		p->restart_pending = 0;
		p->want_running = 1;
		if (sup_save(p->sup, &cause) == -1) {
			log_errx("cannot save the desired state: %s", cause);
			free(cause);
		}
		proc_spawn(p);		/* resolves again on its way */
		return;
	}
	for (pp = &p->waiters; (w = *pp) != NULL; ) {
		done = 0;
		op_init(&r, p->name);
		if (w->kind == W_START) {
			if (p->state == PS_RUNNING) {
				snprintf(r.msg, sizeof(r.msg), "%s is running "
				    "(pid %d)", p->name, (int)p->pid);
				done = 1;
			} else if (p->state == PS_BACKOFF || p->state == PS_FATAL ||
			    p->state == PS_STOPPED) {
				r.ok = 0;
				r.code = CCNODE__ERROR_REPLY__CODE__INTERNAL;
				snprintf(r.msg, sizeof(r.msg), "%s did not start: "
				    "%s (see %s)", p->name, p->last_exit.detail[0] ?
				    p->last_exit.detail : state_names[p->state],
				    p->f.log_path);
				done = 1;
			}
		} else if (p->state == PS_STOPPED) {
			snprintf(r.msg, sizeof(r.msg), "%s is stopped", p->name);
			done = 1;
		}
		if (!done) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		answer(w, &r);
	}
}

static void
add_waiter(struct proc *p, op_done_fn *done, void *arg, enum wkind kind)
{
	struct waiter *w = xcalloc(1, sizeof(*w));

	w->done = done;
	w->arg = arg;
	w->kind = kind;
	w->next = p->waiters;
	p->waiters = w;
}

/* Whether path holds exactly text. */
static int
same_file(const char *path, const char *text)
{
	char	*old, *cause = NULL;
	size_t	 len;
	int	 same;

	if ((old = read_small_file(path, strlen(text) + 1, 0, &len,
	    &cause)) == NULL) {
		free(cause);
		return 0;
	}
	same = len == strlen(text) && memcmp(old, text, len) == 0;
	free(old);
	return same;
}

/* Writes the instance's config file, from its params.  0 or -1. */
static int
write_config(struct proc *p, char **cause)
{
	char	*text = NULL, *bind, first[64];
	int	 rv;

	bind = xstrdup(kv_get(&p->params, "bind") ? kv_get(&p->params, "bind") :
	    p->sup->a->conf->instance_bind);
	for (char *c = bind; *c != '\0'; c++)
		if (*c == ',')
			*c = ' ';
	if (p->kind == KIND_REDIS)
		rv = params_redis_conf(&p->f, &p->params, bind, p->port,
		    p->sup->a->conf->secrets_dir, &text, cause);
	else	/* nutcracker listens on one address: the first bound */
		rv = params_nutcracker_yaml(&p->f, &p->params,
		    bind_first(bind, first, sizeof(first)), p->port,
		    p->sup->a->conf->secrets_dir, &text, cause);
	free(bind);
	/*
	 * Written (and synced) only when it changed: a crash restart reuses
	 * it, and the disk is not in the way of the new process.
	 */
	if (rv == 0 && !same_file(p->f.conf_path, text))
		rv = write_file_atomic(p->f.conf_path, text, strlen(text), cause);
	free(text);
	return rv;
}

/* Rotates path into path.1 .. path.N when it has grown past the limit. */
static int
rotate(struct supervisor *sup, const char *path)
{
	struct stat	 st;
	char		*from, *to;
	long long	 i, keep = sup->a->conf->log_keep;

	if (stat(path, &st) == -1 || (uint64_t)st.st_size <=
	    sup->a->conf->log_max_size)
		return 0;
	for (i = keep - 1; i >= 1; i--) {
		xasprintf(&from, "%s.%lld", path, i);
		xasprintf(&to, "%s.%lld", path, i + 1);
		rename(from, to);
		free(from);
		free(to);
	}
	xasprintf(&to, "%s.1", path);
	rename(path, to);
	free(to);
	return 1;
}

/*
 * Starts the process.  Failures to even try (no config, no log file)
 * count as an exit, so that backoff and the crash loop see them.
 */
static void
proc_spawn(struct proc *p)
{
	struct agent	*a = p->sup->a;
	const char	*exe = p->kind == KIND_REDIS ? a->redis_exe :
			    a->interface_exe;
	const char	*path = p->kind == KIND_REDIS ?
			    a->conf->redis_server_path : a->conf->interface_path;
	char		*cause = NULL, sport[16], interval[16] = "1000";
	const char	*argv[16];
	char *const	 envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int		 out, errpipe[2], err = 0;
	pid_t		 pid;
	ssize_t		 n;
	sigset_t	 none, all, saved;

	evtimer_del(p->timer);
	p->sent_kill = 0;
	/* A failure before the fork is a run of no length (for backoff). */
	p->started_mono = mono_ms();
	/* bind and stats-port may have changed (SetParams, then restart). */
	proc_set_ip(p);
	if (kv_get(&p->params, "stats-port") != NULL)
		p->stats_port = atoi(kv_get(&p->params, "stats-port"));
	if (write_config(p, &cause) == -1) {
		log_errx("instance %s: cannot write its config: %s", p->name,
		    cause);
		snprintf(p->last_exit.detail, sizeof(p->last_exit.detail),
		    "config: %.80s", cause);
		free(cause);
		proc_exited(p, 0, 0);
		return;
	}
	rotate(p->sup, p->f.out_path);
	out = open(p->f.out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640);
	if (out == -1 || pipe2(errpipe, O_CLOEXEC) == -1) {
		log_errx("instance %s: %s: %s", p->name, p->f.out_path,
		    strerror(errno));
		if (out != -1)
			close(out);
		proc_exited(p, 0, 0);
		return;
	}
	if (p->kind == KIND_REDIS) {
		argv[0] = path;
		argv[1] = p->f.conf_path;
		argv[2] = NULL;
	} else {
		snprintf(sport, sizeof(sport), "%d", p->stats_port);
		argv[0] = path;
		argv[1] = "-c";
		argv[2] = p->f.conf_path;
		argv[3] = "-s";
		argv[4] = sport;
		argv[5] = "-a";
		argv[6] = "127.0.0.1";
		argv[7] = "-i";
		argv[8] = interval;
		argv[9] = "-o";
		argv[10] = p->f.log_path;
		argv[11] = NULL;
	}
	/*
	 * Signals stay blocked across the fork, so that none reaches the
	 * agent's handlers in the child before they are reset below.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &saved, NULL);
		log_errx("instance %s: fork: %s", p->name, strerror(errno));
		close(out);
		close(errpipe[0]);
		close(errpipe[1]);
		proc_exited(p, 0, 0);
		return;
	}
	if (pid == 0) {
		/*
		 * The child: default signal dispositions (an ignored one,
		 * like the agent's SIGPIPE, would pass to redis), then an
		 * empty mask, its own session, output to the file, exec.
		 */
		for (n = 1; n < NSIG; n++)
			signal((int)n, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		if ((n = open("/dev/null", O_RDONLY)) != -1 && n != STDIN_FILENO) {
			dup2((int)n, STDIN_FILENO);
			close((int)n);
		}
		if (errpipe[1] < 3) {
			/* Keep the error pipe above the standard descriptors. */
			int fd = fcntl(errpipe[1], F_DUPFD_CLOEXEC, 3);

			errpipe[1] = fd;
		}
		/*
		 * The record adoption checks, written by the child itself
		 * before the exec: no death of the agent can come between a
		 * running child and its record.
		 */
		{
			uint64_t start = 0;

			procfs_stat(getpid(), &start, NULL, NULL);
			inst_write_proc(p->f.proc_path, getpid(), start, exe);
		}
		/* Every descriptor but the standard ones and the error pipe. */
		if (errpipe[1] > 3)
			close_range(3, (unsigned)errpipe[1] - 1, 0);
		close_range((unsigned)errpipe[1] + 1, ~0U, 0);
		execve(path, (char *const *)argv, envp);
		err = errno;
		n = write(errpipe[1], &err, sizeof(err));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(out);
	close(errpipe[1]);
	/* EOF on the pipe: the exec happened (the pipe was close-on-exec). */
	while ((n = read(errpipe[0], &err, sizeof(err))) == -1 && errno == EINTR)
		;
	close(errpipe[0]);
	p->pid = pid;
	p->adopted = 0;
	p->oom_kills = oom_kills();
	p->started_ms = wall_ms();
	p->started_mono = p->alive_mono = mono_ms();
	p->cpu_ticks = 0;
	p->cpu_mono = 0;
	if (n == sizeof(err)) {
		/* The child exits 127; SIGCHLD brings it through proc_exited. */
		log_errx("instance %s: cannot execute %s: %s", p->name, path,
		    strerror(err));
		snprintf(p->last_exit.detail, sizeof(p->last_exit.detail),
		    "exec %s: %s", path, strerror(err));
		p->starttime = 0;
		proc_set_state(p, PS_STARTING, "spawned");
		return;
	}
	procfs_stat(pid, &p->starttime, NULL, NULL);
	log_info("instance %s: spawned pid=%d %s %s", p->name, (int)pid, path,
	    p->f.conf_path);
	proc_set_state(p, PS_STARTING, "spawned");
	p->health_ms = HEALTH_FIRST_MS;
	arm(p, p->health_ms);
}

static void
health_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct proc *p = arg;

	if (p->state != PS_STARTING)
		return;
	if (r != NULL && r->type == REDIS_REPLY_STATUS &&
	    strcasecmp(r->str, "PONG") == 0) {
		proc_set_state(p, PS_RUNNING, p->adopted ? "adopted, answers "
		    "PING" : "answers PING");
		return;
	}
	/* LOADING, MASTERDOWN, BUSY: alive, not ready. */
	if (r != NULL && r->type == REDIS_REPLY_ERROR &&
	    (strncmp(r->str, "LOADING", 7) == 0 ||
	    strncmp(r->str, "BUSY", 4) == 0 ||
	    strncmp(r->str, "MASTERDOWN", 10) == 0))
		p->alive_mono = mono_ms();
}

/* Timer: health checks while starting, restarts, and the stop deadline. */
static void
proc_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct proc		*p = arg;
	struct agent_conf	*c = p->sup->a->conf;
	struct waiter		*w, **pp;
	struct op_result	 r;
	const char		*err;

	switch (p->state) {
	case PS_STARTING:
		/* A start request answers within START_WAIT_MS, ready or not. */
		for (pp = &p->waiters; (w = *pp) != NULL; ) {
			if (w->kind == W_START && mono_ms() - p->started_mono >=
			    START_WAIT_MS) {
				op_init(&r, p->name);
				snprintf(r.msg, sizeof(r.msg), "%s is starting "
				    "(pid %d), not yet answering PING", p->name,
				    (int)p->pid);
				*pp = w->next;
				w->done(w->arg, &r);
				free(w);
				continue;
			}
			pp = &w->next;
		}
		if (mono_ms() - p->alive_mono > c->start_timeout) {
			log_warnx("instance %s: no answer to PING for %llu ms; "
			    "killing pid %d", p->name,
			    (unsigned long long)c->start_timeout, (int)p->pid);
			p->sent_kill = 1;
			proc_kill(p, SIGKILL);
			return;
		}
		rconn_cmdf(proc_conn(p), health_cb, p, "PING");
		p->health_ms = MINIMUM(p->health_ms * 2, HEALTH_MS);
		arm(p, p->health_ms);
		break;
	case PS_FATAL:
		/* Nothing to gain from a spawn while someone holds the port. */
		if (!procfs_port_free(kv_get(&p->params, "bind") ? p->ip :
		    c->instance_bind, p->port, &err)) {
			log_warnx("instance %s: port %d still held by another "
			    "process; next try in %llu ms", p->name, p->port,
			    (unsigned long long)c->backoff.max_ms);
			arm(p, c->backoff.max_ms);
			break;
		}
		proc_spawn(p);
		break;
	case PS_BACKOFF:
		proc_spawn(p);
		break;
	case PS_STOPPING:
		log_warnx("instance %s: still running %llu ms after SIGTERM; "
		    "SIGKILL", p->name, (unsigned long long)c->stop_timeout);
		p->sent_kill = 1;
		proc_kill(p, SIGKILL);
		break;
	default:
		break;
	}
}

struct rconn *
proc_conn(struct proc *p)
{
	struct rconn_opts	o;
	char			addr[80];

	/* A restart may have moved it (bind, port): follow. */
	snprintf(addr, sizeof(addr), strchr(p->ip, ':') ? "[%s]:%d" : "%s:%d",
	    p->ip, p->port);
	if (p->rc != NULL && strcmp(rconn_addr(p->rc), addr) == 0)
		return p->rc;
	rconn_free(p->rc);
	memset(&o, 0, sizeof(o));
	o.client_name = p->kind == KIND_REDIS ? AGENT_CLIENT_PREFIX "-control" :
	    NULL;
	o.user = p->kind == KIND_REDIS ? AGENT_USER : NULL;
	/* An interface with redis_auth wants AUTH even for PING. */
	o.password_file = p->kind == KIND_REDIS ? p->f.agent_pw_path :
	    kv_get(&p->params, "redis-auth-file");
	o.connect_timeout_ms = 1000;
	o.timeout_ms = 5000;
	o.max_reply = 16 * 1024 * 1024;
	p->rc = rconn_new(p->sup->a->base, p->ip, p->port, &o, NULL, p);
	return p->rc;
}

/* The host's count of OOM kills (/proc/vmstat), or UINT64_MAX. */
static uint64_t
oom_kills(void)
{
	char			 line[128];
	unsigned long long	 v;
	FILE			*fp;
	uint64_t		 n = UINT64_MAX;

	if ((fp = fopen("/proc/vmstat", "re")) == NULL)
		return n;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "oom_kill %llu", &v) == 1) {
			n = v;
			break;
		}
	fclose(fp);
	return n;
}

/*
 * Signals p's process: through its pidfd when adopted (a polled pid could
 * have been recycled), else by pid (our child: a zombie until reaped).
 */
static void
proc_kill(struct proc *p, int sig)
{
	uint64_t start;

	if (p->pid == 0)
		return;
	if (p->pidfd != -1) {
		if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) == -1)
			log_warnx("instance %s: pidfd_send_signal: %s", p->name,
			    strerror(errno));
		return;
	}
	if (p->adopted && (procfs_stat(p->pid, &start, NULL, NULL) == -1 ||
	    start != p->starttime))
		return;		/* gone, or someone else's now */
	kill(p->pid, sig);
}

static const char *
signame(int sig)
{
	const char *s = sigabbrev_np(sig);

	return s ? s : "?";
}

/* Whether the exits in the window reached the crash-loop limit. */
static int
crash_loop(struct proc *p)
{
	struct crash_loop	*cl = &p->sup->a->conf->crash_loop;
	uint64_t		 now = mono_ms();
	unsigned		 i, n = 0, cap = cl->limit;

	if (p->exits == NULL || p->nexits != cap) {
		free(p->exits);
		p->exits = xcalloc(cap, sizeof(*p->exits));
		p->nexits = cap;
		p->exit_head = 0;
	}
	p->exits[p->exit_head] = now;
	p->exit_head = (p->exit_head + 1) % cap;
	for (i = 0; i < cap; i++)
		if (p->exits[i] != 0 && now - p->exits[i] <= cl->window_ms)
			n++;
	return n >= cl->limit;
}

/*
 * The process is gone (or never started).  have_status: status is a wait
 * status (our child); otherwise the exit was seen from outside.
 */
static void
proc_exited(struct proc *p, int have_status, int status)
{
	struct agent_conf	*c = p->sup->a->conf;
	struct exit_info	*e = &p->last_exit;
	uint64_t		 uptime = p->started_mono ? mono_ms() -
				    p->started_mono : 0;
	char			 why[256];
	uint64_t		 jitter, delay;

	if (p->pidfd_ev != NULL) {
		event_free(p->pidfd_ev);
		p->pidfd_ev = NULL;
	}
	if (p->pidfd != -1) {
		close(p->pidfd);
		p->pidfd = -1;
	}
	evtimer_del(p->timer);
	if (p->rc != NULL)
		rconn_close(p->rc, "the process exited");
	e->time_ms = wall_ms();
	e->code = -1;
	e->sig = 0;
	e->oom = 0;
	if (have_status && WIFEXITED(status)) {
		e->code = WEXITSTATUS(status);
		if (e->code != 127 || strncmp(e->detail, "exec ", 5) != 0)
			snprintf(e->detail, sizeof(e->detail), "exit %d", e->code);
	} else if (have_status && WIFSIGNALED(status)) {
		e->sig = WTERMSIG(status);
		/*
		 * A SIGKILL the agent did not send: the OOM killer if the
		 * host's count of OOM kills rose while the process ran (or if
		 * the kernel does not count them), else someone's kill -9.
		 */
		e->oom = e->sig == SIGKILL && !p->sent_kill &&
		    (p->oom_kills == UINT64_MAX || oom_kills() > p->oom_kills);
		snprintf(e->detail, sizeof(e->detail), "killed by SIG%s%s%s",
		    signame(e->sig), WCOREDUMP(status) ? " (core dumped)" : "",
		    e->oom ? " (OOM killer)" : e->sig == SIGKILL &&
		    !p->sent_kill ? " (not by ccagent)" : "");
	} else if (p->pid != 0)
		snprintf(e->detail, sizeof(e->detail), "exited (status unknown: "
		    "adopted)");
	if (p->pid != 0)
		log_warnx("instance %s: pid %d %s after %llu ms", p->name,
		    (int)p->pid, e->detail, (unsigned long long)uptime);
	p->pid = 0;
	p->adopted = 0;

	if (p->state == PS_STOPPING || !p->want_running) {
		/* A restart overwrites the record; a stop removes it. */
		unlink(p->f.proc_path);
		proc_set_state(p, PS_STOPPED, e->detail);
		return;
	}
	p->restarts++;
	snprintf(why, sizeof(why), "%s", e->detail);
	if (crash_loop(p)) {
		int stop = c->crash_loop_action == CRASH_STOP;

		snprintf(why, sizeof(why), "%u exits within %llu s (last: %s); %s",
		    c->crash_loop.limit,
		    (unsigned long long)c->crash_loop.window_ms / 1000,
		    e->detail, stop ? "stopped" : "retrying every restart-"
		    "backoff MAX");
		proc_set_state(p, PS_FATAL, why);
		if (!stop)
			arm(p, c->backoff.max_ms);
		return;
	}
	/* A stable run starts the backoff over; its first restart is at once. */
	if (uptime >= c->reset_after)
		p->delay_ms = 0;
	if (p->delay_ms == 0) {
		/* At once: from the loop, so a failing spawn cannot recurse. */
		p->delay_ms = c->backoff.min_ms;	/* the next one waits */
		proc_set_state(p, PS_BACKOFF, why);
		log_info("instance %s: restarting at once", p->name);
		arm(p, 0);
		return;
	}
	delay = p->delay_ms;
	p->delay_ms = MINIMUM(p->delay_ms * 2, c->backoff.max_ms);
	jitter = random_u64() % (delay / 5 + 1);
	proc_set_state(p, PS_BACKOFF, why);
	log_info("instance %s: restart in %llu ms", p->name,
	    (unsigned long long)(delay + jitter));
	arm(p, delay + jitter);
}

int
supervisor_child(struct supervisor *sup, pid_t pid, int status)
{
	struct proc *p;

	for (p = sup->procs; p != NULL; p = p->next)
		if (p->pid == pid && !p->adopted) {
			proc_exited(p, 1, status);
			return 1;
		}
	return 0;
}

/* An adopted process's pidfd is readable: it exited. */
static void
pidfd_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct proc *p = arg;
	uint64_t     start;

	if (ev & EV_TIMEOUT) {
		/* No pidfd here: poll /proc, start time included. */
		if (procfs_stat(p->pid, &start, NULL, NULL) == 0 &&
		    start == p->starttime)
			return;
	}
	proc_exited(p, 0, 0);
}

/* Takes a process found running at start (see the top of the file). */
static int
adopt(struct proc *p)
{
	struct agent	*a = p->sup->a;
	const char	*exe = p->kind == KIND_REDIS ? a->redis_exe :
			    a->interface_exe;
	char		*text, *cause = NULL, fexe[PATH_MAX];
	int		 pid;
	uint64_t	 start, fstart;
	struct timeval	 tv = { 1, 0 };

	if ((text = read_small_file(p->f.proc_path, PATH_MAX + 64, 1, NULL,
	    &cause)) == NULL) {
		free(cause);
		return 0;
	}
	if (sscanf(text, "%d %" SCNu64 " %4095s", &pid, &fstart, fexe) != 3 ||
	    pid <= 1) {
		free(text);
		return 0;
	}
	free(text);
	if (procfs_stat(pid, &start, NULL, NULL) == -1 || start != fstart) {
		log_info("instance %s: pid %d is gone or is another process "
		    "now (start time differs)", p->name, pid);
		return 0;
	}
	if (!procfs_exe_is(pid, exe) || strcmp(fexe, exe) != 0) {
		log_warnx("instance %s: pid %d does not run %s; not adopted",
		    p->name, pid, exe);
		return 0;
	}
	if (!procfs_listens(pid, p->port))
		log_warnx("instance %s: pid %d is ours but does not listen on "
		    "port %d; adopted, and killed if it does not answer",
		    p->name, pid, p->port);
	p->pid = pid;
	p->starttime = start;
	p->adopted = 1;
	p->started_ms = procfs_started_ms(start, p->sup->hz);
	p->started_mono = p->alive_mono = mono_ms();
	p->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (p->pidfd != -1) {
		set_cloexec(p->pidfd);
		p->pidfd_ev = event_new(a->base, p->pidfd, EV_READ, pidfd_cb, p);
		event_add(p->pidfd_ev, NULL);
	} else {
		p->pidfd_ev = event_new(a->base, -1, EV_PERSIST, pidfd_cb, p);
		event_add(p->pidfd_ev, &tv);
	}
	log_info("instance %s: adopted pid %d", p->name, pid);
	proc_set_state(p, PS_STARTING, "adopted after an agent restart");
	p->health_ms = HEALTH_FIRST_MS;
	arm(p, p->health_ms);
	return 1;
}

/* ---- periodic: CPU, RSS, logs --------------------------------------------- */

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct supervisor	*sup = arg;
	struct proc		*p;
	uint64_t		 ticks, rss, now = mono_ms();
	long			 page = sysconf(_SC_PAGESIZE);

	sup->ticks++;
	for (p = sup->procs; p != NULL; p = p->next) {
		if (p->pid != 0 && p->starttime != 0 &&
		    procfs_stat(p->pid, NULL, &ticks, &rss) == 0) {
			if (p->cpu_mono != 0 && now > p->cpu_mono)
				p->cpu_percent = (double)(ticks - p->cpu_ticks) *
				    1000.0 / (double)sup->hz /
				    (double)(now - p->cpu_mono) * 100.0;
			p->cpu_ticks = ticks;
			p->cpu_mono = now;
			p->rss = rss * (uint64_t)page;
		}
		/* Logs: redis reopens its logfile per line; nutcracker on HUP. */
		if (sup->ticks % 5 == 0 && rotate(sup, p->f.log_path) &&
		    p->kind == KIND_INTERFACE && p->pid != 0)
			kill(p->pid, SIGHUP);
	}
}

/* ---- requests --------------------------------------------------------------- */

static void
refuse(op_done_fn *done, void *arg, const char *name, int code,
    const char *why)
{
	log_warnx("refused request instance=%s reason=\"%s\"", name ? name : "",
	    why);
	op_fail(done, arg, name, code, "%s", why);
}

/* Whether port is free of every other instance (and their stats ports). */
static struct proc *
port_owner(struct supervisor *sup, int port, const char *except)
{
	struct proc *p;

	for (p = sup->procs; p != NULL; p = p->next)
		if (strcmp(p->name, except) != 0 && (p->port == port ||
		    (p->kind == KIND_INTERFACE && p->stats_port == port)))
			return p;
	return NULL;
}

void
sup_start(struct supervisor *sup, const Ccnode__StartInstance *req,
    op_done_fn *done, void *arg)
{
	struct proc	*p, *other;
	char		*cause = NULL, why[256], first[64];
	int		 kind, port = (int)req->port, stats = 0, created = 0;
	int		 old_port = 0, old_stats = 0, old_want = 0;
	struct kvlist	 old_params = { 0, NULL };
	const char	*ip, *err;
	size_t		 i;

	if (!valid_name(req->name)) {
		snprintf(why, sizeof(why), "'%.64s' is not a valid name "
		    "([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})", req->name);
		refuse(done, arg, NULL, CCNODE__ERROR_REPLY__CODE__REFUSED, why);
		return;
	}
	if ((kind = kind_parse(req->kind)) == -1) {
		snprintf(why, sizeof(why), "kind '%.32s' is neither redis nor "
		    "interface", req->kind);
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    why);
		return;
	}
	if (req->port < 1024 || req->port > 65535) {
		snprintf(why, sizeof(why), "port %u is outside 1024-65535",
		    req->port);
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    why);
		return;
	}
	if (params_check(kind, req->params, req->n_params, 1,
	    sup->a->conf->secrets_dir, &cause) == -1) {
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    cause);
		free(cause);
		return;
	}
	for (i = 0; i < req->n_params; i++)
		if (strcmp(req->params[i]->key, "stats-port") == 0)
			stats = atoi(req->params[i]->value);
	if (kind == KIND_INTERFACE && stats == 0)
		stats = port + 10000 <= 65535 ? port + 10000 : port - 10000;
	if ((other = port_owner(sup, port, req->name)) != NULL)
		snprintf(why, sizeof(why), "port %d is taken by instance %s",
		    port, other->name);
	else if (stats != 0 && (other = port_owner(sup, stats, req->name)))
		snprintf(why, sizeof(why), "stats port %d is taken by instance "
		    "%s", stats, other->name);
	else if (stats != 0 && stats == port)
		snprintf(why, sizeof(why), "the stats port is the port %d",
		    port);
	if (other != NULL || (stats != 0 && stats == port)) {
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    why);
		return;
	}
	p = sup_find(sup, req->name);
	if (p != NULL && (p->state != PS_STOPPED && p->state != PS_FATAL)) {
		snprintf(why, sizeof(why), "%s is already %s", p->name,
		    state_names[p->state]);
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    why);
		return;
	}
	if (p != NULL && p->kind != kind) {
		snprintf(why, sizeof(why), "%s exists with kind %s", p->name,
		    kind_name(p->kind));
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    why);
		return;
	}
	/* Something outside the agent may hold the ports too. */
	ip = sup->a->conf->instance_bind;
	for (i = 0; i < req->n_params; i++)
		if (strcmp(req->params[i]->key, "bind") == 0)
			ip = bind_first(req->params[i]->value, first,
			    sizeof(first));
	if (!procfs_port_free(ip, port, &err)) {
		snprintf(why, sizeof(why), "cannot bind %s:%d: %s", ip, port, err);
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    why);
		return;
	}
	if (stats && !procfs_port_free("127.0.0.1", stats, &err)) {
		snprintf(why, sizeof(why), "cannot bind the stats port "
		    "127.0.0.1:%d: %s", stats, err);
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    why);
		return;
	}
	/*
	 * The change is saved before it is made; if the save fails, nothing
	 * changes (a new instance is removed, an old one keeps its values).
	 */
	if (p == NULL) {
		p = proc_new(sup, req->name, kind, port, stats);
		created = 1;
		if (inst_files_init(sup, p, &cause) == -1)
			goto undo;
	} else {
		old_port = p->port;
		old_stats = p->stats_port;
		old_want = p->want_running;
		old_params = p->params;
		memset(&p->params, 0, sizeof(p->params));
	}
	p->port = port;
	p->stats_port = stats;
	for (i = 0; i < req->n_params; i++)
		kv_set(&p->params, req->params[i]->key, req->params[i]->value);
	p->want_running = 1;
	if (sup_save(sup, &cause) == -1)
		goto undo;
	if (!created)
		kv_clear(&old_params);
	evtimer_del(p->timer);
	proc_set_ip(p);
	p->restarts = 0;
	p->delay_ms = 0;
	free(p->exits);
	p->exits = NULL;
	p->nexits = 0;
	log_info("request start instance=%s kind=%s port=%d", p->name,
	    kind_name(kind), port);
	add_waiter(p, done, arg, W_START);
	proc_spawn(p);
	return;
undo:
	if (created) {
		struct proc **pp;

		for (pp = &sup->procs; *pp != p; pp = &(*pp)->next)
			;
		*pp = p->next;
		proc_free(p);
	} else {
		kv_clear(&p->params);
		p->params = old_params;
		p->port = old_port;
		p->stats_port = old_stats;
		p->want_running = old_want;
	}
	refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__INTERNAL, cause);
	free(cause);
}

/* Moves p towards "stopped": SIGTERM, SIGKILL after stop-timeout. */
static void
begin_stop(struct proc *p, const char *why)
{
	switch (p->state) {
	case PS_STARTING:
	case PS_RUNNING:
		if (p->pid != 0) {
			proc_set_state(p, PS_STOPPING, why);
			proc_kill(p, SIGTERM);
			arm(p, p->sup->a->conf->stop_timeout);
			break;
		}
		/* FALLTHROUGH */
	case PS_BACKOFF:
	case PS_FATAL:
		evtimer_del(p->timer);
		proc_set_state(p, PS_STOPPED, why);
		break;
	case PS_STOPPED:
		resolve_waiters(p);
		break;
	case PS_STOPPING:
		break;
	}
}

void
sup_stop(struct supervisor *sup, const char *name, op_done_fn *done,
    void *arg)
{
	struct proc	*p = sup_find(sup, name);
	char		*cause = NULL;

	if (p == NULL) {
		refuse(done, arg, name, CCNODE__ERROR_REPLY__CODE__NOT_FOUND,
		    "no such instance");
		return;
	}
	log_info("request stop instance=%s state=%s", name,
	    state_names[p->state]);
	/* A stop wins over a restart or a start still on its way. */
	p->restart_pending = 0;
	supersede(p, W_START, "superseded by a stop request");
	p->want_running = 0;
	if (sup_save(sup, &cause) == -1) {
		log_errx("cannot save the desired state: %s", cause);
		free(cause);
	}
	add_waiter(p, done, arg, W_STOP);
	begin_stop(p, "stop requested");
}

void
sup_restart(struct supervisor *sup, const char *name, op_done_fn *done,
    void *arg)
{
	struct proc *p = sup_find(sup, name);

	if (p == NULL) {
		refuse(done, arg, name, CCNODE__ERROR_REPLY__CODE__NOT_FOUND,
		    "no such instance");
		return;
	}
	log_info("request restart instance=%s state=%s", name,
	    state_names[p->state]);
	/* A restart wins over a stop still on its way. */
	supersede(p, W_STOP, "superseded by a restart request");
	add_waiter(p, done, arg, W_START);
	p->restart_pending = 1;
	p->want_running = 0;	/* in memory only: on disk it runs */
	begin_stop(p, "restart requested");
}

/* Looks up a running redis instance for an online request, or refuses. */
static struct proc *
live_redis(struct supervisor *sup, const char *name, op_done_fn *done,
    void *arg)
{
	struct proc	*p = sup_find(sup, name);
	char		 why[128];

	if (p == NULL) {
		refuse(done, arg, name, CCNODE__ERROR_REPLY__CODE__NOT_FOUND,
		    "no such instance");
		return NULL;
	}
	if (p->kind != KIND_REDIS) {
		refuse(done, arg, name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    "only kind redis takes this request");
		return NULL;
	}
	if (p->state != PS_RUNNING) {
		snprintf(why, sizeof(why), "%s is %s, not running", name,
		    state_names[p->state]);
		refuse(done, arg, name, CCNODE__ERROR_REPLY__CODE__REFUSED, why);
		return NULL;
	}
	return p;
}

void
sup_set_params(struct supervisor *sup, const Ccnode__SetParams *req,
    op_done_fn *done, void *arg)
{
	struct proc	*p = sup_find(sup, req->name);
	char		*cause = NULL;

	if (p == NULL) {
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__NOT_FOUND,
		    "no such instance");
		return;
	}
	if (req->n_params == 0) {
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    "no parameters given");
		return;
	}
	if (params_check(p->kind, req->params, req->n_params, 0,
	    sup->a->conf->secrets_dir, &cause) == -1) {
		refuse(done, arg, req->name, CCNODE__ERROR_REPLY__CODE__REFUSED,
		    cause);
		free(cause);
		return;
	}
	log_info("request set instance=%s params=%zu", req->name, req->n_params);
	act_set_params(p, req, done, arg);
}

void
sup_kill_clients(struct supervisor *sup, const char *name, op_done_fn *done,
    void *arg)
{
	struct proc *p;

	if ((p = live_redis(sup, name, done, arg)) != NULL)
		act_kill_clients(p, done, arg);
}

void
sup_flush(struct supervisor *sup, const char *name, op_done_fn *done,
    void *arg)
{
	struct proc *p;

	if ((p = live_redis(sup, name, done, arg)) != NULL)
		act_flush(p, done, arg);
}

void
sup_promote(struct supervisor *sup, const char *name, op_done_fn *done,
    void *arg)
{
	struct proc *p;

	if ((p = live_redis(sup, name, done, arg)) != NULL)
		act_promote(p, done, arg);
}

/* ---- descriptions ----------------------------------------------------------- */

static void
describe(struct proc *p, Ccnode__InstanceInfo *ii)
{
	Ccnode__ExitInfo	*e;
	Ccnode__Param		**pp;
	size_t			 i;
	char			*addr;

	ccnode__instance_info__init(ii);
	ii->name = xstrdup(p->name);
	ii->kind = xstrdup(kind_name(p->kind));
	ii->pid = (int32_t)p->pid;
	ii->port = (uint32_t)p->port;
	ii->state = xstrdup(state_names[p->state]);
	ii->desired = xstrdup(p->want_running ? "running" : "stopped");
	ii->uptime_s = p->pid ? (wall_ms() - p->started_ms) / 1000 : 0;
	ii->restarts = p->restarts;
	xasprintf(&addr, strchr(p->ip, ':') ? "[%s]:%d" : "%s:%d", p->ip,
	    p->port);
	ii->addr = addr;
	ii->up = p->state == PS_RUNNING;
	/* Stopped on request is not an error. */
	ii->error = xstrdup(p->state == PS_RUNNING || (p->state == PS_STOPPED &&
	    !p->want_running) ? "" : p->last_exit.detail);
	ii->rss_bytes = p->pid ? p->rss : 0;
	ii->cpu_percent = p->pid ? p->cpu_percent : 0;
	ii->stats_port = (uint32_t)p->stats_port;
	ii->adopted = p->adopted;
	if (p->last_exit.time_ms != 0) {
		e = xcalloc(1, sizeof(*e));
		ccnode__exit_info__init(e);
		e->time_ms = p->last_exit.time_ms;
		e->code = p->last_exit.code;
		e->signal = p->last_exit.sig;
		e->oom_suspected = p->last_exit.oom;
		e->detail = xstrdup(p->last_exit.detail);
		ii->last_exit = e;
	}
	pp = xcalloc(p->params.n + 1, sizeof(*pp));
	for (i = 0; i < p->params.n; i++) {
		pp[i] = xcalloc(1, sizeof(**pp));
		ccnode__param__init(pp[i]);
		pp[i]->key = xstrdup(p->params.v[i].k);
		/* Passwords live in files; the paths are fine to show. */
		pp[i]->value = xstrdup(p->params.v[i].v);
	}
	ii->n_params = p->params.n;
	ii->params = pp;
}

void
sup_info_free(Ccnode__InstanceInfo *ii)
{
	size_t i;

	free(ii->name);
	free(ii->kind);
	free(ii->state);
	free(ii->desired);
	free(ii->addr);
	free(ii->error);
	if (ii->last_exit != NULL) {
		free(ii->last_exit->detail);
		free(ii->last_exit);
	}
	for (i = 0; i < ii->n_params; i++) {
		free(ii->params[i]->key);
		free(ii->params[i]->value);
		free(ii->params[i]);
	}
	free(ii->params);
}

void
sup_describe(struct supervisor *sup, const char *name, Ccnode__InstanceInfo *ii)
{
	struct proc *p = sup_find(sup, name);

	if (p != NULL)
		describe(p, ii);
}

void
sup_list(struct supervisor *sup, Ccnode__InstanceList *l)
{
	struct proc	*p;
	size_t		 n = 0;

	for (p = sup->procs; p != NULL; p = p->next)
		n++;
	l->items = xreallocarray(l->items, l->n_items + n + 1,
	    sizeof(*l->items));
	for (p = sup->procs; p != NULL; p = p->next) {
		Ccnode__InstanceInfo *ii = xcalloc(1, sizeof(*ii));

		describe(p, ii);
		l->items[l->n_items++] = ii;
	}
}

size_t
sup_targets(struct supervisor *sup, struct sample_target **out)
{
	struct proc		*p;
	struct sample_target	*t;
	size_t			 n = 0;

	for (p = sup->procs; p != NULL; p = p->next)
		n++;
	t = xcalloc(n + 1, sizeof(*t));
	n = 0;
	for (p = sup->procs; p != NULL; p = p->next) {
		/* Stopped on purpose: nothing to sample, nothing to report. */
		if (!p->want_running && p->state == PS_STOPPED)
			continue;
		t[n].name = p->name;
		t[n].ip = p->ip;
		t[n].port = p->port;
		t[n].kind = p->kind;
		t[n].user = p->kind == KIND_REDIS ? AGENT_USER : NULL;
		t[n].passfile = p->kind == KIND_REDIS ? p->f.agent_pw_path :
		    kv_get(&p->params, "redis-auth-file");
		t[n].probe_user = p->kind == KIND_REDIS ? PROBE_USER : NULL;
		t[n].probe_passfile = p->kind == KIND_REDIS ?
		    p->f.probe_pw_path : NULL;
		t[n].state = state_names[p->state];
		t[n].stats_port = p->kind == KIND_INTERFACE ? p->stats_port : 0;
		n++;
	}
	*out = t;
	return n;
}

/* ---- life ------------------------------------------------------------------------ */

struct supervisor *
supervisor_new(struct agent *a, char **cause)
{
	struct supervisor	*sup = xcalloc(1, sizeof(*sup));
	struct proc		*p;
	struct timeval		 tv = { TICK_MS / 1000, 0 };
	const char		*err;

	sup->a = a;
	sup->hz = sysconf(_SC_CLK_TCK);
	xasprintf(&sup->state_path, "%s/desired.json", a->conf->state_dir);
	xasprintf(&sup->inst_root, "%s/instances", a->conf->state_dir);
	if (mkdir_p(sup->inst_root, 0700) == -1 ||
	    mkdir_p(a->conf->log_dir, 0750) == -1) {
		xasprintf(cause, "%s or %s: %s", sup->inst_root,
		    a->conf->log_dir, strerror(errno));
		supervisor_free(sup);
		return NULL;
	}
	sup->flush = event_new(a->base, -1, 0, flush_events_cb, sup);
	if (state_load(sup, cause) == -1) {
		supervisor_free(sup);
		return NULL;
	}
	sup->tick = event_new(a->base, -1, EV_PERSIST, tick_cb, sup);
	event_add(sup->tick, &tv);
	/* Adopt what still runs; start what should run but does not. */
	for (p = sup->procs; p != NULL; p = p->next) {
		if (adopt(p)) {
			if (!p->want_running) {
				/* Stopped in the desired state, then the agent
				 * died before the SIGTERM: finish the stop. */
				log_info("instance %s: adopted, but should not "
				    "run; stopping", p->name);
				proc_set_state(p, PS_STOPPING, "should not run");
				proc_kill(p, SIGTERM);
				arm(p, a->conf->stop_timeout);
			}
			continue;
		}
		if (!p->want_running)
			continue;
		if (!procfs_port_free(kv_get(&p->params, "bind") ? p->ip :
		    a->conf->instance_bind, p->port, &err)) {
			snprintf(p->last_exit.detail, sizeof(p->last_exit.detail),
			    "port %d is held by another process", p->port);
			log_errx("instance %s: port %d is held by a process that "
			    "is not this instance; not starting a duplicate",
			    p->name, p->port);
			proc_set_state(p, PS_FATAL, p->last_exit.detail);
			arm(p, a->conf->backoff.max_ms);
			continue;
		}
		log_info("instance %s: should run but does not; starting",
		    p->name);
		proc_spawn(p);
	}
	return sup;
}

void
supervisor_free(struct supervisor *sup)
{
	struct proc *p, *next;

	if (sup == NULL)
		return;
	/* Send what is queued: the last state changes matter most. */
	send_events(sup);
	for (p = sup->procs; p != NULL; p = next) {
		next = p->next;
		proc_free(p);
	}
	if (sup->tick != NULL)
		event_free(sup->tick);
	if (sup->flush != NULL)
		event_free(sup->flush);
	free(sup->state_path);
	free(sup->inst_root);
	free(sup);
}
