/*
 * main.c: ccmonitor start-up, signals, reload and shutdown.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_COMP "main"
#include "log.h"
#include "daemon.h"
#include "monitor.h"
#include "tls.h"
#include "util.h"

#define DEFAULT_CONF	SYSCONFDIR "/ccmonitor/ccmonitor.conf"
#define EXPIRE_MS	(3600 * 1000)

static struct monitor		 monitor_state;
static struct daemon_args	 args;
static struct event		*ev_save;

static void
arm_save(struct monitor *m)
{
	struct timeval tv = { (time_t)(m->conf->save_interval / 1000),
	    (suseconds_t)(m->conf->save_interval % 1000) * 1000 };

	event_del(ev_save);
	event_add(ev_save, &tv);
}

static void
save_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct monitor *m = arg;

	persist_save_bg(m->persist);
}

static void
expire_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct monitor *m = arg;

	store_expire(m->store, wall_ms());
}

static void
sigchld_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct monitor	*m = arg;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (!persist_child(m->persist, pid, status) &&
		    !hooks_child(m->hooks, pid, status))
			log_info("child pid=%d exited status=%d", (int)pid,
			    status);
	}
}

static void
sighup_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct monitor		*m = arg;
	struct monitor_conf	*next;
	char			*cause = NULL;

	log_info("SIGHUP: reloading %s", args.conf_file ? args.conf_file :
	    "the embedded defaults");
	daemon_notify_reloading();
	next = monitor_conf_load(args.conf_file, args.argc, args.argv, &cause);
	if (next == NULL) {
		log_errx("reload failed, keeping the running configuration: %s",
		    cause);
		free(cause);
		daemon_notify_ready();
		return;
	}
	conf_merge(m->conf, next);
	monitor_conf_free(next);
	log_set_level((enum log_level)m->conf->log_level);
	arm_save(m);
	probe_sync(m->probe);
	outbox_reconfigure(m->outbox);
	alerts_reconfigure(m->alerts);
	daemon_notify_ready();
}

static void
sigterm_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct monitor *m = arg;

	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(m->base);
}

/*
 * The secret, TLS context and HTTP token.  -t runs this too, so that
 * "configuration OK" means the daemon would start.  0, or -1 and *cause.
 */
static int
setup_wire(struct monitor *m, char **cause)
{
	struct monitor_conf	*c = m->conf;
	char			*err = NULL;
	const char		*what;
	size_t			 len;

	wire_conf_init(&m->wc, "ccmonitor");
	m->wc.max_frame = c->max_frame_size;
	m->wc.idle_timeout_ms = (uint32_t)c->agent_timeout;
	m->wc.preauth_max = 256;
	what = "auth-secret-file";
	if (c->auth_secret_file != NULL &&
	    auth_load_secret(c->auth_secret_file, &m->wc.secret, &err) == -1)
		goto fail;
	what = "tls-cert-file";
	if (c->tls_cert_file != NULL &&
	    (m->wc.ssl = tls_server_ctx(c->tls_cert_file, c->tls_key_file,
	    c->tls_ca_cert_file, &err)) == NULL)
		goto fail;
	what = "http-auth-token-file";
	if (c->http_auth_token_file != NULL) {
		if ((m->token = read_small_file(c->http_auth_token_file, 4096, 1,
		    &len, &err)) == NULL)
			goto fail;
		if (len < 16) {
			xasprintf(&err, "%s: token shorter than 16 bytes",
			    c->http_auth_token_file);
			goto fail;
		}
	}
	return 0;
fail:
	xasprintf(cause, "%s: %s: %s", conf_where(c, what), what, err);
	free(err);
	wire_conf_clear(&m->wc);
	free(m->token);
	m->token = NULL;
	return -1;
}

int
main(int argc, char **argv)
{
	struct monitor	*m = &monitor_state;
	struct event	*ev_hup, *ev_term, *ev_int, *ev_chld, *ev_expire;
	struct timeval	 tv_expire = { EXPIRE_MS / 1000, 0 };
	char		*cause = NULL;

	daemon_args(argc, argv, "ccmonitor", DEFAULT_CONF, monitor_conf_defs,
	    monitor_conf_ndefs, &args);
	if ((m->conf = monitor_conf_load(args.conf_file, args.argc, args.argv,
	    &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return 1;
	}
	if (args.test) {
		/* Everything start-up would read, short of binding ports. */
		int rv = setup_wire(m, &cause);

		if (rv == -1)
			fprintf(stderr, "%s\n", cause);
		else
			printf("configuration OK\n");
		free(cause);
		wire_conf_clear(&m->wc);
		free(m->token);
		monitor_conf_free(m->conf);
		return rv == -1;
	}
	log_init("ccmonitor", args.foreground);
	log_set_level((enum log_level)m->conf->log_level);
	if (!args.foreground)
		daemon_detach();
	signal(SIGPIPE, SIG_IGN);
	m->started_ms = wall_ms();
	if (setup_wire(m, &cause) == -1)
		fatal("%s", cause);

	if ((m->base = event_base_new()) == NULL)
		fatal("cannot create the event base");
	m->store = store_new(m);
	m->analytics = analytics_new(m);
	m->persist = persist_new(m);
	persist_load(m->persist);
	if ((m->ingest = ingest_new(m, &cause)) == NULL)
		fatal("%s", cause);
	if ((m->http = http_new(m, &cause)) == NULL)
		fatal("%s", cause);
	m->outbox = outbox_new(m);
	m->hooks = hooks_new(m);
	m->alerts = alerts_new(m);
	m->probe = probe_new(m);

	ev_hup = evsignal_new(m->base, SIGHUP, sighup_cb, m);
	ev_term = evsignal_new(m->base, SIGTERM, sigterm_cb, m);
	ev_int = evsignal_new(m->base, SIGINT, sigterm_cb, m);
	ev_chld = evsignal_new(m->base, SIGCHLD, sigchld_cb, m);
	ev_save = event_new(m->base, -1, EV_PERSIST, save_cb, m);
	ev_expire = event_new(m->base, -1, EV_PERSIST, expire_cb, m);
	evsignal_add(ev_hup, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_chld, NULL);
	arm_save(m);
	event_add(ev_expire, &tv_expire);

	log_info("ccmonitor %s started report=%s:%lld http=%s:%lld data=%s",
	    PACKAGE_VERSION, m->conf->bind, m->conf->port, m->conf->bind,
	    m->conf->http_port, m->conf->data_dir);
	daemon_notify_ready();
	daemon_watchdog_start(m->base);
	event_base_dispatch(m->base);

	daemon_notify_stopping();
	daemon_watchdog_stop();
	persist_save_now(m->persist);
	probe_free(m->probe);
	m->probe = NULL;
	hclient_shutdown();
	hooks_free(m->hooks);
	m->hooks = NULL;
	alerts_free(m->alerts);
	m->alerts = NULL;
	outbox_free(m->outbox);
	m->outbox = NULL;
	ingest_free(m->ingest);
	m->ingest = NULL;
	http_free(m->http);
	persist_free(m->persist);
	store_free(m->store);
	analytics_free(m->analytics);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_chld);
	event_free(ev_save);
	event_free(ev_expire);
	event_base_free(m->base);
	wire_conf_clear(&m->wc);
	free(m->token);
	monitor_conf_free(m->conf);
	log_info("ccmonitor stopped");
	return 0;
}
