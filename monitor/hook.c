/*
 * hook.c: alert notifications to alert-exec, alert-webhook and
 * alertmanager-url.
 *
 * Every notification becomes one job per configured hook.  Jobs of one
 * hook and one instance run one at a time, in the order they came
 * (Sentinel runs its scripts concurrently, so they can arrive out of
 * order); different instances run side by side, up to MAX_RUNNING of
 * each hook, so a dead Alertmanager does not hold up the script.  The
 * queue holds at most hook-queue-size jobs: more are dropped, counted and
 * logged.
 *
 * alert-exec runs PATH with no shell (posix_spawn): argv is PATH STATUS
 * ALERT INSTANCE SEVERITY VALUE, the environment holds CC_* and a fixed
 * PATH, stdin is /dev/null, and stdout and stderr come back through a pipe
 * to the log, a line at a time.  It runs in its own process group, which
 * is killed after alert-exec-timeout.
 *
 * alert-webhook gets Alertmanager's webhook JSON (version 4), and
 * alertmanager-url gets POST /api/v2/alerts, as Prometheus sends it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_COMP "hook"
#include "log.h"
#include "hmap.h"
#include "json.h"
#include "monitor.h"
#include "util.h"

#define MAX_RUNNING	8
#define MAX_LINE	1024
#define MAX_OUTPUT	(64 * 1024)	/* logged per run; the rest is read and dropped */

enum hkind { HK_EXEC, HK_WEBHOOK, HK_AM };
static const char *const hkind_names[] = { "alert-exec", "alert-webhook",
    "alertmanager-url" };

struct job {
	enum hkind	 kind;
	char		*lane;		/* kind/instance */
	char		*body;		/* HTTP hooks */
	char		**argv, **envp;	/* exec */
	struct job	*next;
};

/* The jobs of one hook and one instance. */
struct lane {
	struct hooks	*hk;
	enum hkind	 kind;
	char		*key;
	struct job	*head, *tail;
	int		 running;
	int		 ready;
	struct lane	*next_ready;
	/* A running exec. */
	pid_t		 pid;
	int		 fd;
	struct event	*rev, *timer;
	char		 line[MAX_LINE];
	size_t		 linelen, logged;
	int		 timed_out;
	uint64_t	 started_ms;
};

struct hooks {
	struct monitor	*m;
	struct hmap	*lanes;
	struct lane	*ready[3], *ready_tail[3];	/* per hkind */
	int		 running[3];
	struct event	*kick_ev;
	uint64_t	 queued;	/* now */
	struct hook_stats st;
};

static void	kick(struct hooks *);

static void
job_free(struct job *j)
{
	char **p;

	if (j->argv != NULL)
		for (p = j->argv; *p != NULL; p++)
			free(*p);
	if (j->envp != NULL)
		for (p = j->envp; *p != NULL; p++)
			free(*p);
	free(j->argv);
	free(j->envp);
	free(j->body);
	free(j->lane);
	free(j);
}

static void
make_ready(struct lane *l)
{
	struct hooks *hk = l->hk;

	if (l->ready || l->running || l->head == NULL)
		return;
	l->ready = 1;
	l->next_ready = NULL;
	if (hk->ready_tail[l->kind] != NULL)
		hk->ready_tail[l->kind]->next_ready = l;
	else
		hk->ready[l->kind] = l;
	hk->ready_tail[l->kind] = l;
}

/* The lane's head job is over. */
static void
job_done(struct lane *l, int ok)
{
	struct hooks	*hk = l->hk;
	struct job	*j = l->head;

	if (!ok)
		hk->st.failures++;
	hk->st.runs++;
	if ((l->head = j->next) == NULL)
		l->tail = NULL;
	hk->queued--;
	job_free(j);
	l->running = 0;
	hk->running[l->kind]--;
	make_ready(l);
	/* From the loop: job_done may run inside kick (a failure at once). */
	event_active(hk->kick_ev, EV_TIMEOUT, 0);
}

/* ---- HTTP hooks ------------------------------------------------------------ */

static void
http_done(int status, const char *err, void *arg)
{
	struct lane *l = arg;

	if (status >= 200 && status < 300)
		log_debug("%s: delivered status=%d lane=%s",
		    hkind_names[l->head->kind], status, l->key);
	else
		log_warnx("%s: not delivered lane=%s: %s%s%d",
		    hkind_names[l->head->kind], l->key, err ? err : "HTTP ",
		    err ? ", status " : "", status);
	job_done(l, status >= 200 && status < 300);
}

/* ---- alert-exec ------------------------------------------------------------ */

static void
exec_log_line(struct lane *l)
{
	char *esc;

	if (l->logged < MAX_OUTPUT) {
		esc = str_escape(l->line, MAX_LINE);
		log_info("alert-exec pid=%d: %s", (int)l->pid, esc);
		free(esc);
		l->logged += l->linelen;
	}
	l->linelen = 0;
}

/* Reads what the script wrote; 1 at EOF. */
static int
exec_drain(struct lane *l)
{
	char	 buf[4096];
	ssize_t	 n, i;

	for (;;) {
		n = read(l->fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno != EAGAIN;
		if (n == 0) {
			if (l->linelen > 0) {
				l->line[l->linelen] = '\0';
				exec_log_line(l);
			}
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n' || l->linelen == MAX_LINE - 1) {
				l->line[l->linelen] = '\0';
				exec_log_line(l);
				if (buf[i] == '\n')
					continue;
			}
			l->line[l->linelen++] = buf[i];
		}
	}
}

static void
exec_close(struct lane *l)
{
	if (l->rev != NULL)
		event_free(l->rev);
	l->rev = NULL;
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
}

static void
exec_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct lane *l = arg;

	if (exec_drain(l))
		exec_close(l);	/* the exit comes through SIGCHLD */
}

static void
exec_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct lane *l = arg;

	l->timed_out = 1;
	l->hk->st.timeouts++;
	log_warnx("alert-exec pid=%d still running after %llu ms: killed",
	    (int)l->pid, (unsigned long long)l->hk->m->conf->alert_exec_timeout);
	/* Its process group: whatever it started goes too. */
	kill(-l->pid, SIGKILL);
	kill(l->pid, SIGKILL);
}

/*
 * posix_spawn, not fork: glibc spawns with CLONE_VFORK, so a monitor with
 * a heap of gigabytes does not copy its page tables for every hook run.
 * The child gets default signal dispositions, an empty mask, its own
 * process group, /dev/null on stdin, the pipe on stdout and stderr, and
 * no other descriptor.
 */
static int
exec_start(struct lane *l, struct job *j)
{
	struct hooks			*hk = l->hk;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 at;
	sigset_t			 all, none;
	int				 p[2], rv;
	pid_t				 pid;
	struct timeval			 tv;

	if (pipe2(p, O_CLOEXEC) == -1) {
		log_errx("alert-exec: pipe: %s", strerror(errno));
		return -1;
	}
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	rv = posix_spawn(&pid, j->argv[0], &fa, &at, j->argv, j->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rv != 0) {
		log_errx("alert-exec: cannot run %s: %s", j->argv[0],
		    strerror(rv));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	set_nonblock(p[0]);
	l->pid = pid;
	l->fd = p[0];
	l->linelen = l->logged = 0;
	l->timed_out = 0;
	l->started_ms = mono_ms();
	l->rev = event_new(hk->m->base, p[0], EV_READ | EV_PERSIST,
	    exec_read_cb, l);
	event_add(l->rev, NULL);
	if (l->timer == NULL)
		l->timer = evtimer_new(hk->m->base, exec_timeout_cb, l);
	tv.tv_sec = (time_t)(hk->m->conf->alert_exec_timeout / 1000);
	tv.tv_usec = (suseconds_t)(hk->m->conf->alert_exec_timeout % 1000) *
	    1000;
	evtimer_add(l->timer, &tv);
	log_debug("alert-exec pid=%d started lane=%s", (int)pid, l->key);
	return 0;
}

int
hooks_child(struct hooks *hk, pid_t pid, int status)
{
	struct lane	*l;
	size_t		 pos = 0;
	int		 ok;

	if (hk == NULL)
		return 0;
	while ((l = hmap_next(hk->lanes, &pos)) != NULL)
		if (l->running && l->pid == pid)
			break;
	if (l == NULL)
		return 0;
	if (l->fd != -1) {
		exec_drain(l);
		exec_close(l);
	}
	evtimer_del(l->timer);
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (l->timed_out)
		log_warnx("alert-exec pid=%d killed after its timeout",
		    (int)pid);
	else if (ok)
		log_info("alert-exec pid=%d exited 0 after %llu ms", (int)pid,
		    (unsigned long long)(mono_ms() - l->started_ms));
	else if (WIFEXITED(status))
		log_warnx("alert-exec pid=%d exited %d after %llu ms",
		    (int)pid, WEXITSTATUS(status),
		    (unsigned long long)(mono_ms() - l->started_ms));
	else
		log_warnx("alert-exec pid=%d killed by signal %d", (int)pid,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	l->pid = 0;
	job_done(l, ok);
	return 1;
}

/* ---- the queue ----------------------------------------------------------- */

static void
kick(struct hooks *hk)
{
	struct monitor	*m = hk->m;
	struct lane	*l;
	struct job	*j;
	const char	*url;
	int		 k;

	for (k = 0; k < 3; k++) {
		while (hk->running[k] < MAX_RUNNING &&
		    (l = hk->ready[k]) != NULL) {
			if ((hk->ready[k] = l->next_ready) == NULL)
				hk->ready_tail[k] = NULL;
			l->ready = 0;
			if (l->head == NULL || l->running)
				continue;
			j = l->head;
			l->running = 1;
			hk->running[k]++;
			if (j->kind == HK_EXEC) {
				/* The hook as configured now (SIGHUP). */
				if (m->conf->alert_exec == NULL) {
					job_done(l, 1);
					continue;
				}
				free(j->argv[0]);
				j->argv[0] = xstrdup(m->conf->alert_exec);
				if (exec_start(l, j) == -1)
					job_done(l, 0);
				continue;
			}
			url = j->kind == HK_WEBHOOK ? m->conf->alert_webhook :
			    m->conf->alertmanager_url;
			if (url == NULL) {
				/* Unset by a reload while the job waited. */
				job_done(l, 1);
				continue;
			}
			/* On a failure at once http_done has run. */
			(void)hclient_post(m->base, url, j->kind == HK_AM ?
			    "/api/v2/alerts" : NULL, j->body, strlen(j->body),
			    m->conf->http_timeout, http_done, l);
		}
	}
}

static void
kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	kick(arg);
}

static void
enqueue(struct hooks *hk, enum hkind kind, const char *instance,
    struct job *j)
{
	struct lane	*l;
	char		*key;

	if ((long long)hk->queued >= hk->m->conf->hook_queue_size) {
		hk->st.dropped++;
		log_errx("%s: queue full (%lld): notification for instance=%s "
		    "dropped", hkind_names[kind], hk->m->conf->hook_queue_size,
		    instance);
		job_free(j);
		return;
	}
	j->kind = kind;
	xasprintf(&key, "%s/%s", hkind_names[kind], instance);
	if ((l = hmap_get(hk->lanes, key)) == NULL) {
		l = xcalloc(1, sizeof(*l));
		l->hk = hk;
		l->kind = kind;
		l->key = key;
		l->fd = -1;
		hmap_put(hk->lanes, l->key, l);
	} else
		free(key);
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	hk->queued++;
	hk->st.queued++;
	make_ready(l);
	kick(hk);
}

/* ---- payloads ------------------------------------------------------------- */

static json_t *
note_labels(const struct alert_note *n)
{
	json_t	*l = json_object();
	int	 i;

	json_object_set_new(l, "alertname", json_str(n->alertname));
	json_object_set_new(l, "instance", json_str(n->instance));
	if (n->host != NULL && n->host[0] != '\0')
		json_object_set_new(l, "host", json_str(n->host));
	json_object_set_new(l, "severity", json_str(n->severity));
	for (i = 0; i < n->nlabels; i++)
		json_object_set_new(l, n->lkeys[i], json_str(n->lvals[i]));
	return l;
}

static json_t *
note_annotations(const struct alert_note *n)
{
	char v[64];

	snprintf(v, sizeof(v), "%g", n->value);
	return json_pack("{s:o,s:s}", "summary", json_str(n->summary),
	    "value", v);
}

static char *
generator_url(struct monitor *m, const struct alert_note *n)
{
	char *u;

	if (m->conf->external_url != NULL)
		xasprintf(&u, "%s/#instance=%s", m->conf->external_url,
		    n->instance);
	else
		xasprintf(&u, "http://%s:%lld/#instance=%s", m->conf->bind,
		    m->conf->http_port, n->instance);
	return u;
}

static char *
dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (s == NULL)
		fatal("json_dumps: out of memory");
	return s;
}

static char *
webhook_body(struct monitor *m, const struct alert_note *n)
{
	json_t	*a, *root;
	char	*gen = generator_url(m, n), *ext, key[200];

	a = json_object();
	json_object_set_new(a, "status", json_string(n->status));
	json_object_set_new(a, "labels", note_labels(n));
	json_object_set_new(a, "annotations", note_annotations(n));
	json_object_set_new(a, "startsAt", json_time_ms(n->starts_ms));
	json_object_set_new(a, "endsAt", n->ends_ms ? json_time_ms(n->ends_ms) :
	    json_string("0001-01-01T00:00:00Z"));
	json_object_set_new(a, "generatorURL", json_str(gen));
	json_object_set_new(a, "fingerprint", json_str(n->fingerprint));
	snprintf(key, sizeof(key), "{}:{alertname=\"%s\", instance=\"%s\"}",
	    n->alertname, n->instance);
	if (m->conf->external_url != NULL)
		ext = xstrdup(m->conf->external_url);
	else
		xasprintf(&ext, "http://%s:%lld", m->conf->bind,
		    m->conf->http_port);
	root = json_object();
	json_object_set_new(root, "version", json_string("4"));
	json_object_set_new(root, "groupKey", json_str(key));
	json_object_set_new(root, "truncatedAlerts", json_integer(0));
	json_object_set_new(root, "status", json_string(n->status));
	json_object_set_new(root, "receiver", json_string("ccmonitor"));
	json_object_set_new(root, "groupLabels", json_pack("{s:o,s:o}",
	    "alertname", json_str(n->alertname), "instance",
	    json_str(n->instance)));
	json_object_set_new(root, "commonLabels", note_labels(n));
	json_object_set_new(root, "commonAnnotations", note_annotations(n));
	json_object_set_new(root, "externalURL", json_str(ext));
	json_object_set_new(root, "alerts", json_pack("[o]", a));
	free(gen);
	free(ext);
	return dump(root);
}

static char *
am_body(struct monitor *m, const struct alert_note *n)
{
	json_t	*a = json_object();
	char	*gen = generator_url(m, n);
	int64_t	 ends = n->ends_ms ? n->ends_ms :
		    wall_ms() + 4 * (int64_t)m->conf->alertmanager_resend;

	json_object_set_new(a, "labels", note_labels(n));
	json_object_set_new(a, "annotations", note_annotations(n));
	json_object_set_new(a, "startsAt", json_time_ms(n->starts_ms));
	json_object_set_new(a, "endsAt", json_time_ms(ends));
	json_object_set_new(a, "generatorURL", json_str(gen));
	free(gen);
	return dump(json_pack("[o]", a));
}

static char *
env_kv(const char *k, const char *v)
{
	char *s;

	xasprintf(&s, "%s=%s", k, v ? v : "");
	return s;
}

static struct job *
exec_job(struct monitor *m, const struct alert_note *n)
{
	struct job	*j = xcalloc(1, sizeof(*j));
	char		 value[64], *t;
	json_t		*js;
	int		 e = 0, i;

	snprintf(value, sizeof(value), "%g", n->value);
	j->argv = xcalloc(7, sizeof(*j->argv));
	j->argv[0] = xstrdup(m->conf->alert_exec);
	j->argv[1] = xstrdup(n->status);
	j->argv[2] = xstrdup(n->alertname);
	j->argv[3] = xstrdup(n->instance);
	j->argv[4] = xstrdup(n->severity);
	j->argv[5] = xstrdup(value);
	j->envp = xcalloc(12 + (size_t)n->nlabels, sizeof(*j->envp));
	j->envp[e++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	j->envp[e++] = env_kv("CC_STATUS", n->status);
	j->envp[e++] = env_kv("CC_ALERT", n->alertname);
	j->envp[e++] = env_kv("CC_INSTANCE", n->instance);
	j->envp[e++] = env_kv("CC_HOST", n->host);
	j->envp[e++] = env_kv("CC_SEVERITY", n->severity);
	j->envp[e++] = env_kv("CC_VALUE", value);
	j->envp[e++] = env_kv("CC_SUMMARY", n->summary);
	js = json_time_ms(n->starts_ms);
	j->envp[e++] = env_kv("CC_STARTS_AT", json_string_value(js));
	json_decref(js);
	js = json_time_ms(n->ends_ms);
	j->envp[e++] = env_kv("CC_ENDS_AT", json_string_value(js));
	json_decref(js);
	for (i = 0; i < n->nlabels; i++) {
		xasprintf(&t, "CC_LABEL_%s=%s", n->lkeys[i], n->lvals[i]);
		j->envp[e++] = t;
	}
	return j;
}

/*
 * A resend to Alertmanager while the instance's last one still waits (an
 * Alertmanager that does not answer) adds nothing: it is skipped.
 */
static int
resend_waiting(struct hooks *hk, const char *instance)
{
	struct lane	*l;
	char		*key;

	xasprintf(&key, "%s/%s", hkind_names[HK_AM], instance);
	l = hmap_get(hk->lanes, key);
	free(key);
	return l != NULL && l->head != NULL;
}

void
hooks_notify(struct hooks *hk, const struct alert_note *n, int am_only)
{
	struct monitor	*m = hk->m;
	struct job	*j;

	if (!am_only && m->conf->alert_exec != NULL)
		enqueue(hk, HK_EXEC, n->instance, exec_job(m, n));
	if (!am_only && m->conf->alert_webhook != NULL) {
		j = xcalloc(1, sizeof(*j));
		j->body = webhook_body(m, n);
		enqueue(hk, HK_WEBHOOK, n->instance, j);
	}
	if (m->conf->alertmanager_url != NULL && !(am_only &&
	    resend_waiting(hk, n->instance))) {
		j = xcalloc(1, sizeof(*j));
		j->body = am_body(m, n);
		enqueue(hk, HK_AM, n->instance, j);
	}
}

struct hooks *
hooks_new(struct monitor *m)
{
	struct hooks *hk = xcalloc(1, sizeof(*hk));

	hk->m = m;
	hk->lanes = hmap_new();
	hk->kick_ev = event_new(m->base, -1, 0, kick_cb, hk);
	return hk;
}

void
hooks_free(struct hooks *hk)
{
	struct lane	*l;
	struct job	*j;
	size_t		 pos = 0;

	if (hk == NULL)
		return;
	while ((l = hmap_next(hk->lanes, &pos)) != NULL) {
		if (l->pid > 0) {
			kill(-l->pid, SIGKILL);
			kill(l->pid, SIGKILL);
			waitpid(l->pid, NULL, 0);
		}
		exec_close(l);
		if (l->timer != NULL)
			event_free(l->timer);
		while ((j = l->head) != NULL) {
			l->head = j->next;
			job_free(j);
		}
		free(l->key);
		free(l);
	}
	hmap_free(hk->lanes);
	event_free(hk->kick_ev);
	free(hk);
}

void
hooks_stats(const struct hooks *hk, struct hook_stats *s)
{
	*s = hk->st;
	s->queued = hk->queued;
}
