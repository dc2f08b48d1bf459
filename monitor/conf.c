/*
 * conf.c: ccmonitor's directives, in one table.  --help, -t and
 * etc/ccmonitor.conf come from here.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "config"
#include "log.h"
#include "monitor.h"
#include "util.h"

static const char *const log_levels[] = {
	"debug", "info", "notice", "warn", "error", NULL
};

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
	  "of memory and of history.db." },
	{ "log-level", CONF_ENUM, CONF_RELOAD, F(log_level), "info", 0, 0,
	  log_levels, NULL, NULL, "debug|info|notice|warn|error",
	  "Least severe level logged." },
	{ "max-frame-size", CONF_SIZE, 0, F(max_frame_size), "4mb", 64 * 1024,
	  256 * MB, NULL, NULL, NULL, "SIZE", "Largest report frame accepted." },
};
const size_t monitor_conf_ndefs = nitems(monitor_conf_defs);

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
