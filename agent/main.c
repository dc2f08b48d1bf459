/*
 * main.c: ccagent start-up, signals, reload and shutdown.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#define LOG_COMP "main"
#include "log.h"
#include "agent.h"
#include "daemon.h"
#include "tls.h"
#include "util.h"

#define DEFAULT_CONF	SYSCONFDIR "/ccagent/ccagent.conf"
#define SYNC_MS		10000

static struct agent		 agent_state;
static struct daemon_args	 args;

static void
sighup_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct agent		*a = arg;
	struct agent_conf	*next;
	char			*cause = NULL;

	log_info("SIGHUP: reloading %s", args.conf_file ? args.conf_file :
	    "the embedded defaults");
	daemon_notify_reloading();
	next = agent_conf_load(args.conf_file, args.argc, args.argv, &cause);
	if (next == NULL) {
		log_errx("reload failed, keeping the running configuration: %s",
		    cause);
		free(cause);
		daemon_notify_ready();
		return;
	}
	conf_merge(a->conf, next);
	agent_conf_free(next);
	log_set_level((enum log_level)a->conf->log_level);
	sampler_reconfigure(a->sampler);
	daemon_notify_ready();
}

/* Children exit: supervised processes, reaped at once, on the loop. */
static void
sigchld_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct agent	*a = arg;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (a->sup == NULL || !supervisor_child(a->sup, pid, status))
			log_info("reaped pid=%d status=%d", (int)pid, status);
}

/* The binary a process of ours should run, symlinks resolved (on Debian,
 * /usr/bin/redis-server is redis-check-rdb). */
static char *
resolve_exe(const char *path)
{
	char *real = realpath(path, NULL);

	if (real == NULL) {
		log_warnx("%s: %s; instances of that kind will fail to start",
		    path, strerror(errno));
		return xstrdup(path);
	}
	return real;
}

static void
sigterm_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct agent *a = arg;

	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(a->base);
}

static void
sync_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct agent *a = arg;

	spool_sync(a->spool);
}

/*
 * Takes state-dir/ccagent.lock, so that two agents never share one state
 * and one spool.  The lock holds until the process exits.
 */
static void
lock_state(const char *dir)
{
	char	*path, pid[32], *cause = NULL;
	int	 fd;

	if (mkdir_p(dir, 0700) == -1)
		fatal("state-dir %s: %s", dir, strerror(errno));
	xasprintf(&path, "%s/ccagent.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		char *other = read_small_file(path, 64, 1, NULL, &cause);

		fatal("another ccagent (pid %s) runs with state-dir %s",
		    other ? other : "?", dir);
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, pid, strlen(pid)) == -1)
		log_warnx("%s: %s", path, strerror(errno));
	free(path);
}

/*
 * The secret and TLS contexts of both ports.  -t runs this too, so that
 * "configuration OK" means the daemon would start.  0, or -1 and *cause.
 */
static int
setup_wire(struct agent *a, const char *name, char **cause)
{
	struct agent_conf	*c = a->conf;
	char			*err = NULL;
	const char		*what = "auth-secret-file";

	wire_conf_init(&a->report_wc, name);
	wire_conf_init(&a->control_wc, "ccagent");
	a->report_wc.role = "agent";
	/*
	 * The monitor gives a peer 10 s to authenticate; the agent waits
	 * longer, so a handshake that cannot work (TLS on one side only) is
	 * refused by the monitor, which logs the peer's address and why.
	 */
	a->report_wc.handshake_timeout_ms = 15000;
	a->report_wc.max_frame = a->control_wc.max_frame = c->max_frame_size;
	/*
	 * A management session idle this long is closed, so idle clients
	 * cannot hold all the session slots; a control center that keeps
	 * its session open sends Keepalive messages.
	 */
	a->control_wc.idle_timeout_ms = 120000;
	if (c->auth_secret_file != NULL) {
		if (auth_load_secret(c->auth_secret_file, &a->report_wc.secret,
		    &err) == -1)
			goto fail;
		a->control_wc.secret.key = xmalloc(a->report_wc.secret.len);
		memcpy(a->control_wc.secret.key, a->report_wc.secret.key,
		    a->report_wc.secret.len);
		a->control_wc.secret.len = a->report_wc.secret.len;
	}
	what = c->tls_cert_file ? "tls-cert-file" : "tls-ca-cert-file";
	if (c->tls_cert_file != NULL || c->tls_ca_cert_file != NULL) {
		a->report_wc.ssl = tls_client_ctx(c->tls_cert_file,
		    c->tls_key_file, c->tls_ca_cert_file, &err);
		if (a->report_wc.ssl == NULL)
			goto fail;
	}
	if (c->tls_cert_file != NULL) {
		a->control_wc.ssl = tls_server_ctx(c->tls_cert_file,
		    c->tls_key_file, c->tls_ca_cert_file, &err);
		if (a->control_wc.ssl == NULL)
			goto fail;
	}
	return 0;
fail:
	xasprintf(cause, "%s: %s: %s", conf_where(c, what), what, err);
	free(err);
	wire_conf_clear(&a->report_wc);
	wire_conf_clear(&a->control_wc);
	return -1;
}

int
main(int argc, char **argv)
{
	struct agent	*a = &agent_state;
	struct event	*ev_hup, *ev_term, *ev_int, *ev_sync, *ev_chld;
	struct timeval	 tv = { SYNC_MS / 1000, 0 };
	char		*cause = NULL, hostname[256];

	daemon_args(argc, argv, "ccagent", DEFAULT_CONF, agent_conf_defs,
	    agent_conf_ndefs, &args);
	if ((a->conf = agent_conf_load(args.conf_file, args.argc, args.argv,
	    &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return 1;
	}
	if (args.test) {
		/* Everything start-up would read, short of binding ports. */
		int rv = setup_wire(a, "ccagent-test", &cause);

		if (rv == -1)
			fprintf(stderr, "%s\n", cause);
		else
			printf("configuration OK\n");
		free(cause);
		wire_conf_clear(&a->report_wc);
		wire_conf_clear(&a->control_wc);
		agent_conf_free(a->conf);
		return rv == -1;
	}
	log_init("ccagent", args.foreground);
	log_set_level((enum log_level)a->conf->log_level);
	if (!args.foreground)
		daemon_detach();
	signal(SIGPIPE, SIG_IGN);

	if (a->conf->host_name != NULL)
		a->host_name = xstrdup(a->conf->host_name);
	else if (gethostname(hostname, sizeof(hostname)) == 0) {
		hostname[sizeof(hostname) - 1] = '\0';
		a->host_name = xstrdup(hostname);
	} else
		a->host_name = xstrdup("localhost");
	if (a->conf->advertise_addr != NULL)
		a->advertise_ip = xstrdup(a->conf->advertise_addr);
	else if (strcmp(a->conf->instance_bind, "0.0.0.0") == 0 ||
	    strcmp(a->conf->instance_bind, "::") == 0) {
		if ((a->advertise_ip = host_primary_ip()) == NULL)
			a->advertise_ip = xstrdup("127.0.0.1");
	} else
		a->advertise_ip = xstrdup(a->conf->instance_bind);
	a->started_ms = wall_ms();
	lock_state(a->conf->state_dir);
	if (setup_wire(a, a->host_name, &cause) == -1)
		fatal("%s", cause);

	if ((a->spool = spool_open(a->conf->spool_dir, a->conf->spool_max_size,
	    &cause)) == NULL)
		fatal("%s", cause);
	if ((a->base = event_base_new()) == NULL)
		fatal("cannot create the event base");
	a->host = host_new();
	a->redis_exe = resolve_exe(a->conf->redis_server_path);
	a->interface_exe = resolve_exe(a->conf->interface_path);
	ev_chld = evsignal_new(a->base, SIGCHLD, sigchld_cb, a);
	evsignal_add(ev_chld, NULL);
	if ((a->control = control_new(a, &cause)) == NULL)
		fatal("%s", cause);
	a->shipper = shipper_new(a);
	/* Adopts what runs and starts what should, before sampling begins. */
	if ((a->sup = supervisor_new(a, &cause)) == NULL)
		fatal("%s", cause);
	a->sampler = sampler_new(a);

	ev_hup = evsignal_new(a->base, SIGHUP, sighup_cb, a);
	ev_term = evsignal_new(a->base, SIGTERM, sigterm_cb, a);
	ev_int = evsignal_new(a->base, SIGINT, sigterm_cb, a);
	ev_sync = event_new(a->base, -1, EV_PERSIST, sync_cb, a);
	evsignal_add(ev_hup, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	event_add(ev_sync, &tv);

	log_info("ccagent %s started host=%s management=%s:%lld monitor=%s "
	    "interval=%llums", PACKAGE_VERSION, a->host_name, a->conf->bind,
	    a->conf->port, a->conf->monitors.v[0].text,
	    (unsigned long long)a->conf->sample_interval);
	daemon_notify_ready();
	daemon_watchdog_start(a->base);
	event_base_dispatch(a->base);

	daemon_notify_stopping();
	daemon_watchdog_stop();
	/*
	 * The supervisor first: it answers the requests still waiting, over
	 * sessions control_free is about to close.  The supervised processes
	 * keep running; the next agent adopts them.
	 */
	supervisor_free(a->sup);
	a->sup = NULL;
	control_free(a->control);
	sampler_free(a->sampler);
	a->sampler = NULL;
	shipper_free(a->shipper);
	spool_close(a->spool);
	host_free(a->host);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_sync);
	event_free(ev_chld);
	event_base_free(a->base);
	wire_conf_clear(&a->report_wc);
	wire_conf_clear(&a->control_wc);
	agent_conf_free(a->conf);
	free(a->host_name);
	free(a->advertise_ip);
	free(a->redis_exe);
	free(a->interface_exe);
	log_info("ccagent stopped");
	return 0;
}
