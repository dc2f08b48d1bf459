/*
 * conf.c: ccagent's directives, in one table.  --help, -t and
 * etc/ccagent.conf come from here.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#define LOG_COMP "config"
#include "log.h"
#include "agent.h"
#include "util.h"

static const char *const log_levels[] = {
	"debug", "info", "notice", "warn", "error", NULL
};

static int
parse_monitors(void *field, int argc, char **argv, char **cause)
{
	struct addr_list	*l = field;
	const char		*err;
	int			 i;

	if (argc < 1) {
		*cause = xstrdup("needs at least one IP:PORT");
		return -1;
	}
	/* A later line replaces an earlier one (or the default). */
	free(l->v);
	l->v = xcalloc((size_t)argc, sizeof(*l->v));
	l->n = 0;
	for (i = 0; i < argc; i++) {
		if (parse_hostport(argv[i], &l->v[i].ss, &l->v[i].len,
		    &err) == -1) {
			xasprintf(cause, "'%s': %s", argv[i], err);
			return -1;
		}
		fmt_addr((struct sockaddr *)&l->v[i].ss, l->v[i].text,
		    sizeof(l->v[i].text));
		l->n++;
	}
	return 0;
}

static void
free_monitors(void *field)
{
	struct addr_list *l = field;

	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
watch_free_one(struct watch *w)
{
	free(w->name);
	free(w->ip);
	free(w->user);
	free(w->passfile);
	free(w);
}

static int
parse_watch(void *field, int argc, char **argv, char **cause)
{
	struct watch		**head = field, *w, **tail;
	const char		*err;
	char			 ip[64];
	int			 port;

	if (argc != 2 && argc != 4) {
		*cause = xstrdup("usage: watch NAME IP:PORT [USER PASSWORD-FILE]");
		return -1;
	}
	if (!valid_name(argv[0])) {
		xasprintf(cause, "'%s' is not a valid name "
		    "([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})", argv[0]);
		return -1;
	}
	if (split_hostport(argv[1], ip, sizeof(ip), &port, &err) == -1) {
		xasprintf(cause, "'%s': %s", argv[1], err);
		return -1;
	}
	for (w = *head; w != NULL; w = w->next) {
		if (strcmp(w->name, argv[0]) == 0) {
			xasprintf(cause, "instance '%s' is watched twice",
			    argv[0]);
			return -1;
		}
	}
	w = xcalloc(1, sizeof(*w));
	w->name = xstrdup(argv[0]);
	w->ip = xstrdup(ip);
	w->port = port;
	if (argc == 4) {
		w->user = xstrdup(argv[2]);
		w->passfile = xstrdup(argv[3]);
		if (access(w->passfile, R_OK) == -1) {
			xasprintf(cause, "password file %s is not readable",
			    w->passfile);
			watch_free_one(w);
			return -1;
		}
	}
	for (tail = head; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = w;
	return 0;
}

static void
free_watches(void *field)
{
	struct watch **head = field, *w, *next;

	for (w = *head; w != NULL; w = next) {
		next = w->next;
		watch_free_one(w);
	}
	*head = NULL;
}

/* restart-backoff MIN MAX */
static int
parse_backoff(void *field, int argc, char **argv, char **cause)
{
	struct backoff	*b = field;
	uint64_t	 lo, hi;

	if (argc != 2 || parse_duration_ms(argv[0], &lo) == -1 ||
	    parse_duration_ms(argv[1], &hi) == -1) {
		*cause = xstrdup("usage: restart-backoff MIN MAX (durations)");
		return -1;
	}
	if (lo < 10 || hi < lo || hi > 3600000) {
		*cause = xstrdup("needs 10ms <= MIN <= MAX <= 1h");
		return -1;
	}
	b->min_ms = lo;
	b->max_ms = hi;
	return 0;
}

/* crash-loop LIMIT WINDOW */
static int
parse_crash_loop(void *field, int argc, char **argv, char **cause)
{
	struct crash_loop	*cl = field;
	long long		 n;
	uint64_t		 w;

	if (argc != 2 || parse_ll(argv[0], &n) == -1 ||
	    parse_duration_ms(argv[1], &w) == -1) {
		*cause = xstrdup("usage: crash-loop LIMIT WINDOW");
		return -1;
	}
	if (n < 1 || n > 1000 || w < 1000 || w > 86400000) {
		*cause = xstrdup("needs 1 <= LIMIT <= 1000 and 1s <= WINDOW <= 1d");
		return -1;
	}
	cl->limit = (unsigned)n;
	cl->window_ms = w;
	return 0;
}

static const char *const crash_actions[] = { "retry", "stop", NULL };

static int
parse_hhmm(const char *s, int *min)
{
	int	h, m;
	char	c;

	if (sscanf(s, "%2d:%2d%c", &h, &m, &c) != 2 || h < 0 || h > 23 ||
	    m < 0 || m > 59 || strlen(s) != 5)
		return -1;
	*min = h * 60 + m;
	return 0;
}

/* bigkey-scan-window HH:MM-HH:MM | off */
static int
parse_scan_window(void *field, int argc, char **argv, char **cause)
{
	struct scan_window	*w = field;
	char			 a[8], b[8];
	const char		*dash;

	if (argc == 1 && strcmp(argv[0], "off") == 0) {
		w->on = 0;
		return 0;
	}
	if (argc != 1 || (dash = strchr(argv[0], '-')) == NULL ||
	    dash - argv[0] >= (ptrdiff_t)sizeof(a) ||
	    strlen(dash + 1) >= sizeof(b)) {
		*cause = xstrdup("usage: bigkey-scan-window HH:MM-HH:MM | off");
		return -1;
	}
	memcpy(a, argv[0], (size_t)(dash - argv[0]));
	a[dash - argv[0]] = '\0';
	str_copy(b, sizeof(b), dash + 1);
	if (parse_hhmm(a, &w->start_min) == -1 ||
	    parse_hhmm(b, &w->end_min) == -1 || w->start_min == w->end_min) {
		xasprintf(cause, "'%s': needs two different times HH:MM-HH:MM "
		    "(it may wrap past midnight)", argv[0]);
		return -1;
	}
	w->on = 1;
	return 0;
}

#define F(name)	offsetof(struct agent_conf, name), \
		sizeof(((struct agent_conf *)0)->name)
#define MS(x)	((long long)(x))
#define MB	(1024LL * 1024)

const struct conf_def agent_conf_defs[] = {
	{ "bind", CONF_STRING, 0, F(bind), "127.0.0.1", 0, 0, NULL, NULL, NULL,
	  "IP", "Address of the management port. Anything but loopback needs "
	  "auth-secret-file or mutual TLS." },
	{ "port", CONF_INT, 0, F(port), "5000", 1, 65535, NULL, NULL, NULL,
	  "PORT", "Management port." },
	{ "monitor", CONF_CUSTOM, 0, F(monitors), "127.0.0.1:55100", 0, 0, NULL,
	  parse_monitors, free_monitors, "IP:PORT [IP:PORT ...]",
	  "Monitors to report to; the next is tried when one fails." },
	{ "advertise-addr", CONF_STRING, 0, F(advertise_addr), NULL, 0, 0, NULL,
	  NULL, NULL, "IP", "Address the monitor should probe this host's "
	  "instances at. Default: instance-bind." },
	{ "auth-secret-file", CONF_STRING, 0, F(auth_secret_file), NULL, 0, 0,
	  NULL, NULL, NULL, "FILE", "Shared secret for HMAC-SHA256 "
	  "challenge-response on both ports (not readable by others)." },
	{ "tls-cert-file", CONF_STRING, 0, F(tls_cert_file), NULL, 0, 0, NULL,
	  NULL, NULL, "FILE", "Certificate (PEM) for TLS on both ports." },
	{ "tls-key-file", CONF_STRING, 0, F(tls_key_file), NULL, 0, 0, NULL,
	  NULL, NULL, "FILE", "Private key (PEM) of tls-cert-file." },
	{ "tls-ca-cert-file", CONF_STRING, 0, F(tls_ca_cert_file), NULL, 0, 0,
	  NULL, NULL, NULL, "FILE", "CA (PEM) that peers' certificates must "
	  "chain to: mutual TLS." },
	{ "state-dir", CONF_STRING, 0, F(state_dir), "/var/lib/ccagent", 0, 0,
	  NULL, NULL, NULL, "DIR", "The agent's state; holds the lock that "
	  "keeps a second agent off the same state." },
	{ "spool-dir", CONF_STRING, 0, F(spool_dir), "/var/lib/ccagent/spool",
	  0, 0, NULL, NULL, NULL, "DIR", "Reports not yet durable at the "
	  "monitor." },
	{ "sample-interval", CONF_DURATION, CONF_RELOAD, F(sample_interval),
	  "5s", MS(100), MS(3600000), NULL, NULL, NULL, "DURATION",
	  "How often the host and every instance are sampled." },
	{ "sample-timeout", CONF_DURATION, CONF_RELOAD, F(sample_timeout), "2s",
	  MS(10), MS(3600000), NULL, NULL, NULL, "DURATION",
	  "How long an instance may take to answer; must be below "
	  "sample-interval." },
	{ "log-dir", CONF_STRING, 0, F(log_dir), "/var/log/ccagent", 0, 0,
	  NULL, NULL, NULL, "DIR", "Logs of supervised processes, and the "
	  "audit log of destructive requests." },
	{ "secrets-dir", CONF_STRING, 0, F(secrets_dir), "/etc/ccagent/secrets",
	  0, 0, NULL, NULL, NULL, "DIR", "The only directory the password "
	  "files of instance params (requirepass-file, masterauth-file, "
	  "redis-auth-file) may be in." },
	{ "log-max-size", CONF_SIZE, CONF_RELOAD, F(log_max_size), "64mb",
	  64 * 1024, 64 * 1024 * MB, NULL, NULL, NULL, "SIZE", "A supervised "
	  "process's log is rotated past this size." },
	{ "log-keep", CONF_INT, CONF_RELOAD, F(log_keep), "3", 1, 100, NULL,
	  NULL, NULL, "N", "Rotated logs kept per process." },
	{ "redis-server-path", CONF_STRING, 0, F(redis_server_path),
	  "/usr/bin/redis-server", 0, 0, NULL, NULL, NULL, "PATH",
	  "The only binary run for kind redis." },
	{ "interface-path", CONF_STRING, 0, F(interface_path),
	  "/usr/sbin/nutcracker", 0, 0, NULL, NULL, NULL, "PATH",
	  "The only binary run for kind interface (twemproxy)." },
	{ "stop-timeout", CONF_DURATION, CONF_RELOAD, F(stop_timeout), "10s",
	  MS(100), MS(3600000), NULL, NULL, NULL, "DURATION", "After SIGTERM, "
	  "how long a process may take before SIGKILL." },
	{ "start-timeout", CONF_DURATION, CONF_RELOAD, F(start_timeout), "60s",
	  MS(1000), MS(3600000), NULL, NULL, NULL, "DURATION", "How long a new "
	  "process may go without answering PING before it is killed and "
	  "counted as a failed start (a Redis that answers LOADING is alive)." },
	{ "restart-backoff", CONF_CUSTOM, CONF_RELOAD, F(backoff), "500ms 30s",
	  0, 0, NULL, parse_backoff, NULL, "MIN MAX", "Delay before a restart: "
	  "the first after a stable run is immediate, then MIN doubling up to "
	  "MAX, with jitter." },
	{ "restart-reset-after", CONF_DURATION, CONF_RELOAD, F(reset_after),
	  "60s", MS(1000), MS(86400000), NULL, NULL, NULL, "DURATION",
	  "Uptime after which the backoff starts over." },
	{ "crash-loop", CONF_CUSTOM, CONF_RELOAD, F(crash_loop), "5 60s", 0, 0,
	  NULL, parse_crash_loop, NULL, "LIMIT WINDOW", "LIMIT exits within "
	  "WINDOW make the instance fatal (an event goes to the monitor)." },
	{ "crash-loop-action", CONF_ENUM, CONF_RELOAD, F(crash_loop_action),
	  "retry", 0, 0, crash_actions, NULL, NULL, "retry|stop", "What a "
	  "fatal instance does: keep retrying at the longest delay, or stop." },
	{ "instance-bind", CONF_STRING, 0, F(instance_bind), "127.0.0.1", 0, 0,
	  NULL, NULL, NULL, "IP", "Default listen address of spawned "
	  "instances." },
	{ "watch", CONF_CUSTOM, CONF_MULTI | CONF_RELOAD, F(watches), NULL, 0,
	  0, NULL, parse_watch, free_watches,
	  "NAME IP:PORT [USER PASSWORD-FILE]",
	  "Sample an instance this agent does not supervise." },
	{ "host-name", CONF_STRING, 0, F(host_name), NULL, 0, 0, NULL, NULL,
	  NULL, "NAME", "Name of this host in reports. Default: the system "
	  "host name." },
	{ "log-level", CONF_ENUM, CONF_RELOAD, F(log_level), "info", 0, 0,
	  log_levels, NULL, NULL, "debug|info|notice|warn|error",
	  "Least severe level logged." },
	{ "spool-max-size", CONF_SIZE, 0, F(spool_max_size), "64mb", 1 * MB,
	  64 * 1024 * MB, NULL, NULL, NULL, "SIZE", "Reports kept while the "
	  "monitor is away; past it the oldest are dropped and counted." },
	{ "max-frame-size", CONF_SIZE, 0, F(max_frame_size), "4mb", 64 * 1024,
	  256 * MB, NULL, NULL, NULL, "SIZE", "Largest frame accepted on "
	  "either port." },
	{ "bigkey-scan-window", CONF_CUSTOM, CONF_RELOAD, F(scan_window),
	  "03:00-05:00", 0, 0, NULL, parse_scan_window, NULL,
	  "HH:MM-HH:MM|off", "Daily window (local time) in which each redis "
	  "instance gets one big-key scan, on a replica when it has one here. "
	  "Analyze starts one at any time." },
	{ "bigkey-scan-rate", CONF_INT, 0, F(bigkey_rate), "10000", 100,
	  10000000, NULL, NULL, NULL, "KEYS", "Keys per second a big-key scan "
	  "examines at most; it slows down further when the instance's "
	  "latency rises." },
	{ "bigkey-string-limit", CONF_SIZE, 0, F(bigkey_string_limit), "10mb",
	  1, 512 * MB, NULL, NULL, NULL, "SIZE", "A string longer than this is "
	  "a big key." },
	{ "bigkey-elements-limit", CONF_INT, 0, F(bigkey_elements_limit),
	  "10000", 1, 1000000000, NULL, NULL, NULL, "N", "A list, hash, set, "
	  "zset or stream with this many elements or more is a big key." },
	{ "bigkey-top", CONF_INT, 0, F(bigkey_top), "50", 1, 1000, NULL, NULL,
	  NULL, "N", "Largest keys kept per type by a scan." },
	{ "hotkeys-budget", CONF_INT, 0, F(hotkeys_budget), "2", 0, 50, NULL,
	  NULL, NULL, "PERCENT", "Share of a redis instance's time that "
	  "sampling its command stream for hot keys (MONITOR, duty-cycled) may "
	  "cost; 0 turns hot-key sampling off." },
};
const size_t agent_conf_ndefs = nitems(agent_conf_defs);

/* Checks that need more than one directive. */
static int
agent_conf_check(struct agent_conf *c, char **cause)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	if (c->sample_timeout >= c->sample_interval) {
		/* Blame the line that was written, not the default. */
		xasprintf(cause, "%s: sample-timeout (%llu ms) must be below "
		    "sample-interval (%llu ms)", conf_where(c,
		    conf_isset(c, "sample-timeout") ? "sample-timeout" :
		    "sample-interval"), (unsigned long long)c->sample_timeout,
		    (unsigned long long)c->sample_interval);
		return -1;
	}
	if (parse_ip(c->bind, (uint16_t)c->port, &ss, &len) == -1) {
		xasprintf(cause, "%s: bind: '%s' is not an IP address",
		    conf_where(c, "bind"), c->bind);
		return -1;
	}
	if (!addr_is_loopback((struct sockaddr *)&ss) &&
	    c->auth_secret_file == NULL &&
	    (c->tls_cert_file == NULL || c->tls_ca_cert_file == NULL)) {
		xasprintf(cause, "%s: bind %s is not loopback: set "
		    "auth-secret-file or mutual TLS (tls-cert-file, "
		    "tls-key-file, tls-ca-cert-file)", conf_where(c, "bind"),
		    c->bind);
		return -1;
	}
	if ((c->tls_cert_file == NULL) != (c->tls_key_file == NULL)) {
		xasprintf(cause, "%s: tls-cert-file and tls-key-file go together",
		    conf_where(c, c->tls_cert_file ? "tls-cert-file" :
		    "tls-key-file"));
		return -1;
	}
	if (parse_ip(c->instance_bind, 0, &ss, &len) == -1) {
		xasprintf(cause, "%s: instance-bind: '%s' is not an IP address",
		    conf_where(c, "instance-bind"), c->instance_bind);
		return -1;
	}
	if (c->advertise_addr != NULL &&
	    parse_ip(c->advertise_addr, 0, &ss, &len) == -1) {
		xasprintf(cause, "%s: advertise-addr: '%s' is not an IP address",
		    conf_where(c, "advertise-addr"), c->advertise_addr);
		return -1;
	}
	if (c->redis_server_path[0] != '/' || c->interface_path[0] != '/') {
		xasprintf(cause, "%s: binary paths must be absolute",
		    conf_where(c, c->redis_server_path[0] != '/' ?
		    "redis-server-path" : "interface-path"));
		return -1;
	}
	if (c->host_name != NULL && !valid_host_name(c->host_name)) {
		xasprintf(cause, "%s: host-name: '%s' may hold only letters, "
		    "digits, '-', '.' and '_'", conf_where(c, "host-name"),
		    c->host_name);
		return -1;
	}
	return 0;
}

struct agent_conf *
agent_conf_load(const char *file, int argc, char **argv, char **cause)
{
	struct agent_conf *c = xcalloc(1, sizeof(*c));

	if (conf_load(agent_conf_defs, agent_conf_ndefs, c, file, argc, argv,
	    cause) == -1 || agent_conf_check(c, cause) == -1) {
		agent_conf_free(c);
		return NULL;
	}
	return c;
}

void
agent_conf_free(struct agent_conf *c)
{
	if (c == NULL)
		return;
	conf_free(c);
	free(c);
}
