/*
 * conf.c: ccmonitor's directives, in one table.  --help, -t and
 * etc/ccmonitor.conf come from here.
 */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>

#define LOG_COMP "config"
#include "log.h"
#include "cmdstats.h"
#include "monitor.h"
#include "util.h"

static const char *const log_levels[] = {
	"debug", "info", "notice", "warn", "error", NULL
};

/* ---- instance NAME IP:PORT [USER PASSWORD-FILE] -------------------------- */

static void
probe_conf_free_one(struct probe_conf *p)
{
	free(p->name);
	free(p->ip);
	free(p->user);
	free(p->passfile);
	free(p);
}

static int
parse_instance(void *field, int argc, char **argv, char **cause)
{
	struct probe_conf	**head = field, *p, **tail;
	const char		*err;
	char			 ip[64];
	int			 port;

	if (argc != 2 && argc != 4) {
		*cause = xstrdup("usage: instance NAME IP:PORT "
		    "[USER PASSWORD-FILE]");
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
	for (tail = head; *tail != NULL; tail = &(*tail)->next) {
		if (strcmp((*tail)->name, argv[0]) == 0) {
			xasprintf(cause, "instance '%s' is given twice",
			    argv[0]);
			return -1;
		}
	}
	if (argc == 4 && access(argv[3], R_OK) == -1) {
		xasprintf(cause, "password file %s is not readable", argv[3]);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(argv[0]);
	p->ip = xstrdup(ip);
	p->port = port;
	if (argc == 4) {
		p->user = xstrdup(argv[2]);
		p->passfile = xstrdup(argv[3]);
	}
	*tail = p;
	return 0;
}

static void
free_instances(void *field)
{
	struct probe_conf **head = field, *p, *next;

	for (p = *head; p != NULL; p = next) {
		next = p->next;
		probe_conf_free_one(p);
	}
	*head = NULL;
}

/* ---- metrics for rules ------------------------------------------------- */

static const struct {
	const char	*name;
	int		 idx;
} derived[] = {
	{ "redis_up", D_UP },
	{ "redis_db_keys", D_KEYS },
	{ "redis_memory_used_ratio", D_MEM_RATIO },
	{ "redis_replication_lag_seconds", D_REPL_LAG },
	{ "redis_probe_rtt_seconds", D_PROBE_RTT },
	{ "ccnode_proxy_backends_failing", D_PROXY_FAILING },
	{ "redis_slowlog_rate", D_SLOWLOG_RATE },
};

/* Gauges only: a counter's running total means little against a threshold. */
int
alert_metric(const char *name, int *host)
{
	size_t i;

	*host = 0;
	for (i = 0; i < nitems(derived); i++)
		if (strcmp(name, derived[i].name) == 0)
			return derived[i].idx;
	for (i = 0; i < RM_COUNT; i++)
		if (strcmp(name, redis_metric_defs[i].prom) == 0)
			return redis_metric_defs[i].type == MT_C ? -1 : (int)i;
	for (i = 0; i < HM_COUNT; i++)
		if (strcmp(name, host_metric_defs[i].prom) == 0) {
			*host = 1;
			return host_metric_defs[i].type == MT_C ? -1 :
			    D_HOST + (int)i;
		}
	return -1;
}

/* ---- latency-ladder EDGE... ---------------------------------------------- */

/* A duration with a unit, "us" included: 0 and microseconds, or -1. */
static int
parse_edge_us(const char *s, uint64_t *us)
{
	size_t		 len = strlen(s);
	long long	 ll;
	uint64_t	 ms;
	char		 num[32];

	if (len > 2 && len < sizeof(num) && strcmp(s + len - 2, "us") == 0) {
		memcpy(num, s, len - 2);
		num[len - 2] = '\0';
		if (parse_ll(num, &ll) == -1 || ll < 1)
			return -1;
		*us = (uint64_t)ll;
		return 0;
	}
	if (parse_duration_ms(s, &ms) == -1 || ms < 1 || ms > 1000000)
		return -1;
	*us = ms * 1000;
	return 0;
}

/*
 * The agents' latency histograms are Redis's LATENCY HISTOGRAM buckets,
 * whose upper edges are about 1.032 * 2^i us (1, 2, 4, 8, 16, 33, 66,
 * ..., 1056, 2113, 4227, 8454, ...; lat_bucket_upper in cmdstats.h).  A
 * configured edge is realised as the nearest bucket edge on a log scale
 * (the one nearer its geometric mean with the next): 1ms is 1056us, 5ms
 * 4227us, 50ms 67633us, 100ms 135266us.
 */
static int
parse_ladder(void *field, int argc, char **argv, char **cause)
{
	struct latency_ladder	*l = field, nl;
	uint64_t		 us, lo, hi;
	int			 i, k;

	if (argc < 1 || argc > LADDER_EDGES_MAX) {
		xasprintf(cause, "1 to %d edges, in increasing order "
		    "(example: 1ms 2ms 5ms 10ms 50ms 100ms)", LADDER_EDGES_MAX);
		return -1;
	}
	memset(&nl, 0, sizeof(nl));
	for (i = 0; i < argc; i++) {
		if (parse_edge_us(argv[i], &us) == -1 || us > 1000000000ULL) {
			xasprintf(cause, "'%s' is not a duration from 1us to "
			    "1000s with a unit (us, ms, s)", argv[i]);
			return -1;
		}
		if (i > 0 && us <= nl.conf_us[i - 1]) {
			xasprintf(cause, "'%s' is not above the edge before it",
			    argv[i]);
			return -1;
		}
		for (k = 0; k < LAT_BUCKETS - 3 &&
		    lat_bucket_upper(k + 1) <= us; k++)
			;
		lo = lat_bucket_upper(k);
		hi = lat_bucket_upper(k + 1);
		nl.conf_us[i] = us;
		nl.edge_us[i] = (long double)us * us <= (long double)lo * hi ?
		    lo : hi;
		if (i > 0 && nl.edge_us[i] == nl.edge_us[i - 1]) {
			xasprintf(cause, "'%s' and '%s' both fall on %lluus "
			    "(the edge of one latency histogram bucket)",
			    argv[i - 1], argv[i],
			    (unsigned long long)nl.edge_us[i]);
			return -1;
		}
	}
	nl.n = argc;
	*l = nl;
	return 0;
}

/* ---- rule NAME METRIC OP THRESHOLD [for D] [severity S] [labels k=v,...] -- */

static void
rule_free_one(struct rule *r)
{
	int i;

	for (i = 0; i < r->nlabels; i++) {
		free(r->lkeys[i]);
		free(r->lvals[i]);
	}
	free(r->lkeys);
	free(r->lvals);
	free(r->name);
	free(r->metric);
	free(r->severity);
	free(r);
}

static int
valid_label_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static int
parse_labels(struct rule *r, const char *text, char **cause)
{
	char	*copy = xstrdup(text), *p, *next, *eq;
	int	 i;

	for (p = copy; p != NULL; p = next) {
		if ((next = strchr(p, ',')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(p, '=')) == NULL || eq == p) {
			xasprintf(cause, "labels: '%s' is not k=v", p);
			goto fail;
		}
		*eq++ = '\0';
		if (!valid_label_name(p) || strncmp(p, "__", 2) == 0) {
			xasprintf(cause, "labels: '%s' is not a label name", p);
			goto fail;
		}
		if (strcmp(p, "alertname") == 0 || strcmp(p, "instance") == 0 ||
		    strcmp(p, "host") == 0 || strcmp(p, "severity") == 0) {
			xasprintf(cause, "labels: '%s' is set by the monitor",
			    p);
			goto fail;
		}
		for (i = 0; i < r->nlabels; i++)
			if (strcmp(r->lkeys[i], p) == 0) {
				xasprintf(cause, "labels: '%s' given twice", p);
				goto fail;
			}
		if (r->nlabels == 16) {
			*cause = xstrdup("labels: at most 16");
			goto fail;
		}
		r->lkeys = xreallocarray(r->lkeys, r->nlabels + 1,
		    sizeof(*r->lkeys));
		r->lvals = xreallocarray(r->lvals, r->nlabels + 1,
		    sizeof(*r->lvals));
		r->lkeys[r->nlabels] = xstrdup(p);
		r->lvals[r->nlabels] = xstrdup(eq);
		r->nlabels++;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

static int
parse_rule(void *field, int argc, char **argv, char **cause)
{
	static const char *const ops[] = { ">", ">=", "<", "<=", "==", "!=",
	    NULL };
	struct rule	**head = field, *r, **tail;
	int		 i, op;

	if (argc < 4) {
		*cause = xstrdup("usage: rule NAME METRIC OP THRESHOLD "
		    "[for DURATION] [severity LEVEL] [labels k=v,...]");
		return -1;
	}
	if (!valid_label_name(argv[0])) {
		xasprintf(cause, "rule name '%s': letters, digits and _ only",
		    argv[0]);
		return -1;
	}
	for (tail = head; *tail != NULL; tail = &(*tail)->next)
		if (strcmp((*tail)->name, argv[0]) == 0) {
			xasprintf(cause, "rule '%s' is given twice", argv[0]);
			return -1;
		}
	if (strcmp(argv[0], "instance_down") == 0 ||
	    strcmp(argv[0], "instance_suspect") == 0) {
		xasprintf(cause, "rule %s is built in", argv[0]);
		return -1;
	}
	for (op = 0; ops[op] != NULL; op++)
		if (strcmp(argv[2], ops[op]) == 0)
			break;
	if (ops[op] == NULL) {
		xasprintf(cause, "'%s' is not one of > >= < <= == !=", argv[2]);
		return -1;
	}
	r = xcalloc(1, sizeof(*r));
	r->name = xstrdup(argv[0]);
	r->metric = xstrdup(argv[1]);
	r->op = (enum rule_op)op;
	if ((r->idx = alert_metric(argv[1], &r->host)) == -1) {
		xasprintf(cause, "'%s' is not a metric rules know (see "
		    "ccmonitor --help for the list)", argv[1]);
		goto fail;
	}
	if (parse_double(argv[3], &r->threshold) == -1) {
		xasprintf(cause, "threshold '%s' is not a number", argv[3]);
		goto fail;
	}
	for (i = 4; i < argc; i += 2) {
		if (i + 1 >= argc) {
			xasprintf(cause, "'%s' needs a value", argv[i]);
			goto fail;
		}
		if (strcmp(argv[i], "for") == 0) {
			if (parse_duration_ms(argv[i + 1], &r->for_ms) == -1 ||
			    r->for_ms > 86400000ULL) {
				xasprintf(cause, "for '%s': a duration with a "
				    "unit, at most 1d", argv[i + 1]);
				goto fail;
			}
		} else if (strcmp(argv[i], "severity") == 0) {
			if (!valid_label_name(argv[i + 1])) {
				xasprintf(cause, "severity '%s': letters, "
				    "digits and _ only", argv[i + 1]);
				goto fail;
			}
			free(r->severity);
			r->severity = xstrdup(argv[i + 1]);
		} else if (strcmp(argv[i], "labels") == 0) {
			if (parse_labels(r, argv[i + 1], cause) == -1)
				goto fail;
		} else {
			xasprintf(cause, "'%s': expected for, severity or "
			    "labels", argv[i]);
			goto fail;
		}
	}
	if (r->severity == NULL)
		r->severity = xstrdup("warning");
	*tail = r;
	return 0;
fail:
	rule_free_one(r);
	return -1;
}

static void
free_rules(void *field)
{
	struct rule **head = field, *r, *next;

	for (r = *head; r != NULL; r = next) {
		next = r->next;
		rule_free_one(r);
	}
	*head = NULL;
}

#define F(name)	offsetof(struct monitor_conf, name), \
		sizeof(((struct monitor_conf *)0)->name)
#define MS(x)	((long long)(x))
#define MB	(1024LL * 1024)

const struct conf_def monitor_conf_defs[] = {
	{ "bind", CONF_STRING, 0, F(bind), "127.0.0.1", 0, 0, NULL, NULL, NULL,
	  "IP", "Address of the report port and the HTTP port. Anything but "
	  "loopback needs auth-secret-file or mutual TLS, and "
	  "http-auth-token-file." },
	{ "port", CONF_INT, 0, F(port), "55100", 1, 65535, NULL, NULL, NULL,
	  "PORT", "Report port: agents connect here." },
	{ "http-port", CONF_INT, 0, F(http_port), "55101", 1, 65535, NULL,
	  NULL, NULL, "PORT", "Dashboard, JSON API and /metrics." },
	{ "auth-secret-file", CONF_STRING, 0, F(auth_secret_file), NULL, 0, 0,
	  NULL, NULL, NULL, "FILE", "Shared secret for HMAC-SHA256 "
	  "challenge-response with the agents (not readable by others)." },
	{ "tls-cert-file", CONF_STRING, 0, F(tls_cert_file), NULL, 0, 0, NULL,
	  NULL, NULL, "FILE", "Certificate (PEM) for TLS on the report port." },
	{ "tls-key-file", CONF_STRING, 0, F(tls_key_file), NULL, 0, 0, NULL,
	  NULL, NULL, "FILE", "Private key (PEM) of tls-cert-file." },
	{ "tls-ca-cert-file", CONF_STRING, 0, F(tls_ca_cert_file), NULL, 0, 0,
	  NULL, NULL, NULL, "FILE", "CA (PEM) that agents' certificates must "
	  "chain to: mutual TLS." },
	{ "http-auth-token-file", CONF_STRING, 0, F(http_auth_token_file), NULL,
	  0, 0, NULL, NULL, NULL, "FILE", "Bearer token for HTTP: every path "
	  "but / and /metrics needs it (/metrics too when bind is not "
	  "loopback)." },
	{ "data-dir", CONF_STRING, 0, F(data_dir), "/var/lib/ccmonitor", 0, 0,
	  NULL, NULL, NULL, "DIR", "History and other state." },
	{ "save-interval", CONF_DURATION, CONF_RELOAD, F(save_interval), "60s",
	  MS(1000), MS(86400000), NULL, NULL, NULL, "DURATION",
	  "How often the history is saved; agents keep their reports until "
	  "then." },
	{ "agent-timeout", CONF_DURATION, 0, F(agent_timeout), "120s",
	  MS(5000), MS(86400000), NULL, NULL, NULL, "DURATION",
	  "An agent link with no traffic for this long is closed." },
	{ "instance-expire", CONF_DURATION, CONF_RELOAD, F(instance_expire),
	  "30d", MS(60000), MS(400LL * 86400000), NULL, NULL, NULL, "DURATION",
	  "An instance no agent has reported for this long is forgotten, "
	  "with its history." },
	{ "max-hosts", CONF_INT, CONF_RELOAD, F(max_hosts), "10000", 1,
	  1000000, NULL, NULL, NULL, "N", "Agents accepted; more are refused "
	  "and logged." },
	{ "max-instances", CONF_INT, CONF_RELOAD, F(max_instances), "50000", 1,
	  10000000, NULL, NULL, NULL, "N", "Instances tracked; more are "
	  "ignored and logged. At full retention each costs about 480 KiB "
	  "of memory and of history.db, and its analytics (top commands, hot "
	  "keys) 0.2 to 1.5 MB more of memory." },
	{ "log-level", CONF_ENUM, CONF_RELOAD, F(log_level), "info", 0, 0,
	  log_levels, NULL, NULL, "debug|info|notice|warn|error",
	  "Least severe level logged." },
	{ "max-frame-size", CONF_SIZE, 0, F(max_frame_size), "4mb", 64 * 1024,
	  256 * MB, NULL, NULL, NULL, "SIZE", "Largest report frame accepted." },
	{ "probe-interval", CONF_DURATION, CONF_RELOAD, F(probe_interval), "1s",
	  MS(100), MS(300000), NULL, NULL, NULL, "DURATION",
	  "How often every instance is probed (PING, then INFO replication)." },
	{ "probe-timeout", CONF_DURATION, CONF_RELOAD, F(probe_timeout),
	  "500ms", MS(10), MS(60000), NULL, NULL, NULL, "DURATION",
	  "A probe with no answer by then has failed; at most probe-interval." },
	{ "probe-failures", CONF_INT, CONF_RELOAD, F(probe_failures), "3", 1,
	  100, NULL, NULL, NULL, "N", "Consecutive failed probes before an "
	  "instance only probes see failing is down (the first makes it "
	  "suspect)." },
	{ "instance", CONF_CUSTOM, CONF_MULTI | CONF_RELOAD, F(probes), NULL,
	  0, 0, NULL, parse_instance, free_instances,
	  "NAME IP:PORT [USER PASSWORD-FILE]", "Probe a redis-server no agent "
	  "reports (agents report the rest, with their probe user)." },
	{ "control-center-url", CONF_STRING, CONF_RELOAD,
	  F(control_center_url), NULL, 0, 0, NULL, NULL, NULL, "URL",
	  "Every instance state change is POSTed here as JSON, through an "
	  "outbox in data-dir, until a 2xx." },
	{ "http-client-timeout", CONF_DURATION, CONF_RELOAD, F(http_timeout),
	  "5s", MS(100), MS(300000), NULL, NULL, NULL, "DURATION",
	  "Timeout of every outgoing HTTP request (control center, webhook, "
	  "Alertmanager)." },
	{ "rule", CONF_CUSTOM, CONF_MULTI | CONF_RELOAD, F(rules), NULL, 0, 0,
	  NULL, parse_rule, free_rules, "NAME METRIC OP THRESHOLD [for "
	  "DURATION] [severity LEVEL] [labels k=v,...]", "An alert rule, "
	  "evaluated on every sample of every instance (or host, for "
	  "ccnode_host_* metrics).  OP: > >= < <= == !=.  Metrics: the "
	  "gauges of /metrics, redis_up (probe), "
	  "redis_replication_lag_seconds, redis_probe_rtt_seconds, "
	  "redis_slowlog_rate (new slowlog entries per second, lost ones "
	  "included).  instance_down and instance_suspect are built in." },
	{ "alert-exec", CONF_STRING, CONF_RELOAD, F(alert_exec), NULL, 0, 0,
	  NULL, NULL, NULL, "PATH", "Run for every firing and resolve, with no "
	  "shell: PATH STATUS ALERT INSTANCE SEVERITY VALUE, and CC_* in the "
	  "environment.  One at a time per instance." },
	{ "alert-exec-timeout", CONF_DURATION, CONF_RELOAD,
	  F(alert_exec_timeout), "10s", MS(100), MS(3600000), NULL, NULL, NULL,
	  "DURATION", "An alert-exec run still going by then is killed." },
	{ "alert-webhook", CONF_STRING, CONF_RELOAD, F(alert_webhook), NULL,
	  0, 0, NULL, NULL, NULL, "URL", "POST Alertmanager webhook JSON "
	  "(version 4) for every firing and resolve." },
	{ "alertmanager-url", CONF_STRING, CONF_RELOAD, F(alertmanager_url),
	  NULL, 0, 0, NULL, NULL, NULL, "URL", "An Alertmanager: alerts are "
	  "POSTed to URL/api/v2/alerts, and sent again while firing." },
	{ "alert-repeat-interval", CONF_DURATION, CONF_RELOAD,
	  F(alert_repeat_interval), "4h", MS(1000), MS(30LL * 86400000), NULL,
	  NULL, NULL, "DURATION", "A firing alert is sent to alert-exec and "
	  "alert-webhook again this often." },
	{ "alertmanager-resend-interval", CONF_DURATION, CONF_RELOAD,
	  F(alertmanager_resend), "1m", MS(1000), MS(86400000), NULL, NULL,
	  NULL, "DURATION", "Firing alerts are sent to alertmanager-url again "
	  "this often (endsAt is 4 of these ahead), as Prometheus does." },
	{ "hook-queue-size", CONF_INT, CONF_RELOAD, F(hook_queue_size), "1000",
	  1, 1000000, NULL, NULL, NULL, "N", "Hook runs waiting; more are "
	  "dropped, counted and logged." },
	{ "external-url", CONF_STRING, CONF_RELOAD, F(external_url), NULL, 0,
	  0, NULL, NULL, NULL, "URL", "This monitor's URL as people reach it, "
	  "for generatorURL and externalURL (default: http://BIND:HTTP-PORT)." },
	{ "latency-ladder", CONF_CUSTOM, 0, F(latency_ladder),
	  "1ms 2ms 5ms 10ms 50ms 100ms", 0, 0, NULL, parse_ladder, NULL,
	  "EDGE...", "Edges of the latency distribution (latency-dist and "
	  "the histogram of /metrics), at most 15, increasing, with units (us, "
	  "ms, s).  The agents' histograms are Redis's LATENCY HISTOGRAM "
	  "buckets (about 1.032 * 2^i us), so each edge is realised as the "
	  "nearest bucket edge (1ms is 1056us, 5ms 4227us, 50ms 67633us); the "
	  "API returns both." },
	{ "slowlog-redact-args", CONF_BOOL, CONF_RELOAD,
	  F(slowlog_redact_args), "no", 0, 0, NULL, NULL, NULL, "yes|no",
	  "The slowlog API shows argument values (not the command name) as "
	  "\"(N bytes)\".  The entries on disk keep them." },
};
const size_t monitor_conf_ndefs = nitems(monitor_conf_defs);

/* An http:// or https:// URL with a host and no credentials in it. */
static int
url_ok(const char *url, const char **err)
{
	struct evhttp_uri	*u;
	const char		*scheme, *host;
	int			 rv = -1;

	if ((u = evhttp_uri_parse(url)) == NULL) {
		*err = "not a URL";
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	if (scheme == NULL || (strcmp(scheme, "http") != 0 &&
	    strcmp(scheme, "https") != 0))
		*err = "only http:// and https:// URLs";
	else if (host == NULL || *host == '\0')
		*err = "no host";
	else if (evhttp_uri_get_userinfo(u) != NULL)
		*err = "user:password@ in a URL would be logged; not allowed";
	else
		rv = 0;
	evhttp_uri_free(u);
	return rv;
}

static int
check_url(struct monitor_conf *c, const char *name, const char *url,
    char **cause)
{
	const char *err;

	if (url == NULL || url_ok(url, &err) == 0)
		return 0;
	xasprintf(cause, "%s: %s: '%s': %s", conf_where(c, name), name, url,
	    err);
	return -1;
}

static int
monitor_conf_check(struct monitor_conf *c, char **cause)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	if (parse_ip(c->bind, (uint16_t)c->port, &ss, &len) == -1) {
		xasprintf(cause, "%s: bind: '%s' is not an IP address",
		    conf_where(c, "bind"), c->bind);
		return -1;
	}
	if (c->port == c->http_port) {
		xasprintf(cause, "%s: http-port must differ from port",
		    conf_where(c, "http-port"));
		return -1;
	}
	if ((c->tls_cert_file == NULL) != (c->tls_key_file == NULL)) {
		xasprintf(cause, "%s: tls-cert-file and tls-key-file go together",
		    conf_where(c, c->tls_cert_file ? "tls-cert-file" :
		    "tls-key-file"));
		return -1;
	}
	if (c->tls_ca_cert_file != NULL && c->tls_cert_file == NULL) {
		xasprintf(cause, "%s: tls-ca-cert-file needs tls-cert-file",
		    conf_where(c, "tls-ca-cert-file"));
		return -1;
	}
	if (!addr_is_loopback((struct sockaddr *)&ss)) {
		if (c->auth_secret_file == NULL && c->tls_ca_cert_file == NULL) {
			xasprintf(cause, "%s: bind %s is not loopback: set "
			    "auth-secret-file or mutual TLS (tls-cert-file, "
			    "tls-key-file, tls-ca-cert-file)",
			    conf_where(c, "bind"), c->bind);
			return -1;
		}
		if (c->http_auth_token_file == NULL) {
			xasprintf(cause, "%s: bind %s is not loopback: set "
			    "http-auth-token-file", conf_where(c, "bind"),
			    c->bind);
			return -1;
		}
	}
	if (c->probe_timeout > c->probe_interval) {
		xasprintf(cause, "%s: probe-timeout must not exceed "
		    "probe-interval", conf_where(c, "probe-timeout"));
		return -1;
	}
	if (check_url(c, "control-center-url", c->control_center_url,
	    cause) == -1 ||
	    check_url(c, "alert-webhook", c->alert_webhook, cause) == -1 ||
	    check_url(c, "alertmanager-url", c->alertmanager_url, cause) == -1)
		return -1;
	if (c->alert_exec != NULL && (c->alert_exec[0] != '/' ||
	    access(c->alert_exec, X_OK) == -1)) {
		xasprintf(cause, "%s: alert-exec: %s is not an executable "
		    "absolute path", conf_where(c, "alert-exec"), c->alert_exec);
		return -1;
	}
	return 0;
}

struct monitor_conf *
monitor_conf_load(const char *file, int argc, char **argv, char **cause)
{
	struct monitor_conf *c = xcalloc(1, sizeof(*c));

	if (conf_load(monitor_conf_defs, monitor_conf_ndefs, c, file, argc,
	    argv, cause) == -1 || monitor_conf_check(c, cause) == -1) {
		monitor_conf_free(c);
		return NULL;
	}
	return c;
}

void
monitor_conf_free(struct monitor_conf *c)
{
	if (c == NULL)
		return;
	conf_free(c);
	free(c);
}
