/*
 * ccctl: the operator's command line for ccagent (management port, 5000)
 * and ccmonitor (HTTP, 55101).
 *
 * It checks usage only; the agent validates everything else.  Exit status:
 * 0 success, 1 refused or failed (reason on stderr), 2 bad usage.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#define LOG_COMP "ccctl"
#include "log.h"
#include "json.h"
#include "tls.h"
#include "util.h"
#include "wire.h"

#define EXIT_FAIL	1
#define EXIT_USAGE	2

struct ctl {
	struct event_base	*base;
	struct wire_conf	 wc;
	struct wconn		*c;
	const char		*agent_addr;
	const char		*monitor_addr;
	const char		*secret_file;
	const char		*tls_ca, *tls_cert, *tls_key;
	const char		*token_file;
	uint64_t		 timeout_ms;
	int			 json;
	Ccnode__Request		*req;
	void			(*print)(struct ctl *, const Ccnode__Response *);
	const char		*path;		/* monitor: the HTTP path */
	void			(*mprint)(struct ctl *, json_t *);
	struct evhttp_connection *hc;
	int			 rc;
	int			 done;
};

static void
usage_to(FILE *fp, int status)
{
	fprintf(fp,
"usage: ccctl [-a IP:PORT] [--secret-file F] [--tls-ca F --tls-cert F --tls-key F]\n"
"             [--timeout DURATION] COMMAND\n"
"  instance list [--json]         the agent's instances\n"
"  host [--json]                  the agent's host\n"
"ccctl -m IP:PORT [--token-file F] monitor COMMAND [--json]\n"
"  monitor status                 the monitor itself\n"
"  monitor machines               hosts and their agents\n"
"  monitor instances              every instance the monitor knows\n"
"\n"
"-a defaults to 127.0.0.1:5000, -m to 127.0.0.1:55101.\n"
"Exit status: 0 success, 1 refused or failed, 2 bad usage.\n");
	exit(status);
}

static void
usage(void)
{
	usage_to(stderr, EXIT_USAGE);
}

static void
fail(struct ctl *ctl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ccctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctl->rc = EXIT_FAIL;
	ctl->done = 1;
	event_base_loopbreak(ctl->base);
}

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(10));

	printf("%s\n", s);
	free(s);
}

/* ---- agent commands ------------------------------------------------------ */

static const char *
fmt_uptime(int64_t s, char *buf, size_t len)
{
	if (s <= 0)
		snprintf(buf, len, "-");
	else if (s < 3600)
		snprintf(buf, len, "%lldm%llds", (long long)s / 60,
		    (long long)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%lldm", (long long)s / 3600,
		    (long long)(s % 3600) / 60);
	else
		snprintf(buf, len, "%lldd%lldh", (long long)s / 86400,
		    (long long)(s % 86400) / 3600);
	return buf;
}

static void
print_instances(struct ctl *ctl, const Ccnode__Response *resp)
{
	const Ccnode__InstanceList	*l = resp->instances;
	json_t				*items, *o;
	size_t				 i;
	char				 up[32];

	if (resp->resp_case != CCNODE__RESPONSE__RESP_INSTANCES) {
		fail(ctl, "unexpected response");
		return;
	}
	if (ctl->json) {
		items = json_array();
		for (i = 0; i < l->n_items; i++) {
			const Ccnode__InstanceInfo *ii = l->items[i];

			o = json_object();
			json_object_set_new(o, "name", json_str(ii->name));
			json_object_set_new(o, "kind", json_str(ii->kind));
			json_object_set_new(o, "pid", json_integer(ii->pid));
			json_object_set_new(o, "port", json_integer(ii->port));
			json_object_set_new(o, "state", json_str(ii->state));
			json_object_set_new(o, "uptime_s",
			    json_integer(ii->uptime_s));
			json_object_set_new(o, "restarts",
			    json_integer(ii->restarts));
			json_object_set_new(o, "addr", json_str(ii->addr));
			json_object_set_new(o, "up", json_boolean(ii->up));
			json_object_set_new(o, "error", ii->error[0] ?
			    json_str(ii->error) : json_null());
			json_array_append_new(items, o);
		}
		o = json_pack("{s:o}", "items", items);
		print_json(o);
		json_decref(o);
		return;
	}
	printf("%-20s %-9s %-9s %7s %6s %8s %8s %s\n", "NAME", "KIND", "STATE",
	    "PID", "PORT", "UPTIME", "RESTARTS", "ERROR");
	for (i = 0; i < l->n_items; i++) {
		const Ccnode__InstanceInfo *ii = l->items[i];

		printf("%-20s %-9s %-9s %7d %6u %8s %8u %s\n", ii->name,
		    ii->kind, ii->state, ii->pid, ii->port,
		    fmt_uptime(ii->uptime_s, up, sizeof(up)), ii->restarts,
		    ii->error);
	}
}

static void
print_host(struct ctl *ctl, const Ccnode__Response *resp)
{
	const Ccnode__HostInfo	*h = resp->host_info;
	json_t			*o, *w;
	size_t			 i;

	if (resp->resp_case != CCNODE__RESPONSE__RESP_HOST_INFO) {
		fail(ctl, "unexpected response");
		return;
	}
	w = json_array();
	for (i = 0; i < h->n_warnings; i++)
		json_array_append_new(w, json_str(h->warnings[i]));
	o = json_object();
	json_object_set_new(o, "host", json_str(h->host));
	json_object_set_new(o, "machineip", json_str(h->ip));
	json_object_set_new(o, "agent_version", json_str(h->agent_version));
	json_object_set_new(o, "memorysize", json_u64(h->memory_size));
	json_object_set_new(o, "memoryinuse", json_u64(h->memory_in_use));
	json_object_set_new(o, "machineinterface", json_u64(h->process_count));
	json_object_set_new(o, "ncpu", json_integer(h->ncpu));
	json_object_set_new(o, "cpu_percent", json_num(h->cpu_usage));
	json_object_set_new(o, "load1", json_num(h->load1));
	json_object_set_new(o, "load5", json_num(h->load5));
	json_object_set_new(o, "load15", json_num(h->load15));
	json_object_set_new(o, "net_in_bytes_per_sec",
	    json_num(h->net_in_bytes_per_sec));
	json_object_set_new(o, "net_out_bytes_per_sec",
	    json_num(h->net_out_bytes_per_sec));
	json_object_set_new(o, "monitor_connected",
	    json_boolean(h->monitor_connected));
	json_object_set_new(o, "spool_reports", json_u64(h->spool_reports));
	json_object_set_new(o, "spool_bytes", json_u64(h->spool_bytes));
	json_object_set_new(o, "dropped_reports", json_u64(h->dropped_reports));
	json_object_set_new(o, "last_seq", json_u64(h->last_seq));
	json_object_set_new(o, "acked_seq", json_u64(h->acked_seq));
	json_object_set_new(o, "warnings", w);
	if (ctl->json)
		print_json(o);
	else {
		const char	*k;
		json_t		*v;
		char		*s;

		json_object_foreach(o, k, v) {
			if (json_is_array(v)) {
				size_t j;

				for (j = 0; j < json_array_size(v); j++)
					printf("%-22s %s\n", j ? "" : "warning:",
					    json_string_value(
					    json_array_get(v, j)));
				continue;
			}
			s = json_is_string(v) ? strdup(json_string_value(v)) :
			    json_dumps(v, JSON_ENCODE_ANY |
			    JSON_REAL_PRECISION(6));
			printf("%-22s %s\n", k, s);
			free(s);
		}
	}
	json_decref(o);
}

static void
agent_up_cb(struct wconn *c, const Ccnode__Envelope *welcome, void *arg)
{
	struct ctl		*ctl = arg;
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;

	env.id = 1;
	env.body_case = CCNODE__ENVELOPE__BODY_REQUEST;
	env.request = ctl->req;
	wconn_send(c, &env);
}

static void
agent_msg_cb(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct ctl *ctl = arg;

	if (env->body_case == CCNODE__ENVELOPE__BODY_ERROR) {
		fail(ctl, "refused: %s", env->error->message);
		return;
	}
	if (env->body_case != CCNODE__ENVELOPE__BODY_RESPONSE) {
		fail(ctl, "unexpected message from the agent");
		return;
	}
	ctl->print(ctl, env->response);
	ctl->done = 1;
	event_base_loopbreak(ctl->base);
}

static void
agent_closed_cb(struct wconn *c, const char *why, void *arg)
{
	struct ctl *ctl = arg;

	ctl->c = NULL;
	if (!ctl->done)
		fail(ctl, "%s: %s", ctl->agent_addr, why);
}

static const struct wconn_cbs agent_cbs = {
	.up = agent_up_cb,
	.msg = agent_msg_cb,
	.closed = agent_closed_cb,
};

static void
run_agent(struct ctl *ctl)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*err;
	char			*cause = NULL;

	if (parse_hostport(ctl->agent_addr, &ss, &len, &err) == -1) {
		fprintf(stderr, "ccctl: -a %s: %s\n", ctl->agent_addr, err);
		exit(EXIT_USAGE);
	}
	wire_conf_init(&ctl->wc, "ccctl");
	ctl->wc.role = "ctl";
	ctl->wc.handshake_timeout_ms = (uint32_t)ctl->timeout_ms;
	if (ctl->secret_file != NULL &&
	    auth_load_secret(ctl->secret_file, &ctl->wc.secret, &cause) == -1) {
		fprintf(stderr, "ccctl: --secret-file: %s\n", cause);
		exit(EXIT_FAIL);
	}
	if (ctl->tls_ca != NULL || ctl->tls_cert != NULL) {
		if ((ctl->wc.ssl = tls_client_ctx(ctl->tls_cert, ctl->tls_key,
		    ctl->tls_ca, &cause)) == NULL) {
			fprintf(stderr, "ccctl: TLS: %s\n", cause);
			exit(EXIT_FAIL);
		}
	}
	ctl->c = wconn_connect(ctl->base, (struct sockaddr *)&ss, len,
	    &ctl->wc, &agent_cbs, ctl);
	if (ctl->c == NULL)
		fail(ctl, "cannot create a socket");
}

/* ---- monitor commands ------------------------------------------------------ */

static void
print_table_instances(struct ctl *ctl, json_t *j)
{
	json_t	*items = json_object_get(j, "items"), *o;
	size_t	 i;

	printf("%-20s %-16s %-21s %-8s %-8s %8s %12s %8s\n", "NAME", "HOST",
	    "ADDR", "STATE", "ROLE", "CLIENTS", "MEMORY", "QPS");
	json_array_foreach(items, i, o) {
		printf("%-20s %-16s %-21s %-8s %-8s %8.0f %12.0f %8.0f\n",
		    json_string_value(json_object_get(o, "name")),
		    json_string_value(json_object_get(o, "host")),
		    json_string_value(json_object_get(o, "addr")),
		    json_string_value(json_object_get(o, "state")),
		    json_string_value(json_object_get(o, "role")),
		    json_number_value(json_object_get(o, "clients")),
		    json_number_value(json_object_get(o, "storage")),
		    json_number_value(json_object_get(o, "qps")));
	}
}

static void
print_table_machines(struct ctl *ctl, json_t *j)
{
	json_t	*items = json_object_get(j, "items"), *o, *a;
	size_t	 i;

	printf("%-20s %-16s %-6s %6s %6s %10s %8s %8s\n", "HOST", "IP",
	    "AGENT", "CPU%", "LOAD1", "MEM_USED", "SPOOL", "DROPPED");
	json_array_foreach(items, i, o) {
		a = json_object_get(o, "agent");
		printf("%-20s %-16s %-6s %6.1f %6.2f %10.0f %8.0f %8.0f\n",
		    json_string_value(json_object_get(o, "host")),
		    json_string_value(json_object_get(o, "machineip")),
		    json_is_true(json_object_get(a, "connected")) ? "up" : "down",
		    json_number_value(json_object_get(o, "cpu_percent")),
		    json_number_value(json_object_get(o, "load1")),
		    json_number_value(json_object_get(o, "memoryinuse")),
		    json_number_value(json_object_get(a, "spool_reports")),
		    json_number_value(json_object_get(a, "dropped_reports")));
	}
}

static void
print_kv(struct ctl *ctl, json_t *j)
{
	const char	*k;
	json_t		*v;
	char		*s;

	json_object_foreach(j, k, v) {
		s = json_is_string(v) ? strdup(json_string_value(v)) :
		    json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
		printf("%-24s %s\n", k, s);
		free(s);
	}
}

static void
http_done_cb(struct evhttp_request *req, void *arg)
{
	struct ctl	*ctl = arg;
	struct evbuffer	*in;
	json_t		*j, *e;
	json_error_t	 jerr;
	size_t		 len;
	int		 code;

	if (req == NULL || (code = evhttp_request_get_response_code(req)) == 0) {
		fail(ctl, "%s: no answer (is ccmonitor running there?)",
		    ctl->monitor_addr);
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	j = json_loadb((const char *)evbuffer_pullup(in, (ev_ssize_t)len), len,
	    0, &jerr);
	if (j == NULL) {
		fail(ctl, "%s%s: HTTP %d with a body that is not JSON",
		    ctl->monitor_addr, ctl->path, code);
		return;
	}
	if (code != 200) {
		e = json_object_get(j, "error");
		fail(ctl, "%s: HTTP %d: %s", ctl->path, code,
		    json_is_string(e) ? json_string_value(e) : "error");
		json_decref(j);
		return;
	}
	if (ctl->json || ctl->mprint == NULL)
		print_json(j);
	else
		ctl->mprint(ctl, j);
	json_decref(j);
	ctl->done = 1;
	event_base_loopbreak(ctl->base);
}

static void
run_monitor(struct ctl *ctl)
{
	struct sockaddr_storage		 ss;
	socklen_t			 len;
	const char			*err;
	char				 host[64], *colon, *token = NULL, *cause;
	struct evhttp_connection	*hc;
	struct evhttp_request		*req;
	struct evkeyvalq		*hdr;
	int				 port;

	if (parse_hostport(ctl->monitor_addr, &ss, &len, &err) == -1) {
		fprintf(stderr, "ccctl: -m %s: %s\n", ctl->monitor_addr, err);
		exit(EXIT_USAGE);
	}
	if (ctl->token_file != NULL &&
	    (token = read_small_file(ctl->token_file, 4096, 1, NULL,
	    &cause)) == NULL) {
		fprintf(stderr, "ccctl: --token-file: %s\n", cause);
		exit(EXIT_FAIL);
	}
	snprintf(host, sizeof(host), "%s", ctl->monitor_addr);
	colon = strrchr(host, ':');
	*colon = '\0';
	port = atoi(colon + 1);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	hc = ctl->hc = evhttp_connection_base_new(ctl->base, NULL, host,
	    (uint16_t)port);
	evhttp_connection_set_timeout(hc, (int)((ctl->timeout_ms + 999) / 1000));
	req = evhttp_request_new(http_done_cb, ctl);
	hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Host", ctl->monitor_addr);
	evhttp_add_header(hdr, "Accept", "application/json");
	if (token != NULL) {
		char *auth;

		xasprintf(&auth, "Bearer %s", token);
		evhttp_add_header(hdr, "Authorization", auth);
		free(auth);
		free(token);
	}
	if (evhttp_make_request(hc, req, EVHTTP_REQ_GET, ctl->path) == -1)
		fail(ctl, "cannot send the request");
}

/* ---- main -------------------------------------------------------------------- */

static void
timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl *ctl = arg;

	fail(ctl, "no answer within %llu ms",
	    (unsigned long long)ctl->timeout_ms);
}

int
main(int argc, char **argv)
{
	struct ctl	 ctl;
	Ccnode__Request	 req = CCNODE__REQUEST__INIT;
	Ccnode__HostInfoRequest hreq = CCNODE__HOST_INFO_REQUEST__INIT;
	Ccnode__ListInstancesRequest lreq = CCNODE__LIST_INSTANCES_REQUEST__INIT;
	struct event	*tev;
	struct timeval	 tv;
	char		**words;
	int		 i, nwords = 0, monitor = 0;

	memset(&ctl, 0, sizeof(ctl));
	ctl.agent_addr = "127.0.0.1:5000";
	ctl.monitor_addr = "127.0.0.1:55101";
	ctl.timeout_ms = 10000;
	words = xcalloc((size_t)argc, sizeof(*words));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

#define NEED_ARG() do { if (++i == argc) usage(); } while (0)
		if (strcmp(a, "-a") == 0) {
			NEED_ARG();
			ctl.agent_addr = argv[i];
		} else if (strcmp(a, "-m") == 0) {
			NEED_ARG();
			ctl.monitor_addr = argv[i];
		} else if (strcmp(a, "--secret-file") == 0) {
			NEED_ARG();
			ctl.secret_file = argv[i];
		} else if (strcmp(a, "--tls-ca") == 0) {
			NEED_ARG();
			ctl.tls_ca = argv[i];
		} else if (strcmp(a, "--tls-cert") == 0) {
			NEED_ARG();
			ctl.tls_cert = argv[i];
		} else if (strcmp(a, "--tls-key") == 0) {
			NEED_ARG();
			ctl.tls_key = argv[i];
		} else if (strcmp(a, "--token-file") == 0) {
			NEED_ARG();
			ctl.token_file = argv[i];
		} else if (strcmp(a, "--timeout") == 0) {
			NEED_ARG();
			if (parse_duration_ms(argv[i], &ctl.timeout_ms) == -1 ||
			    ctl.timeout_ms == 0)
				usage();
		} else if (strcmp(a, "--json") == 0)
			ctl.json = 1;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			usage_to(stdout, 0);
		else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("ccctl %s\n", PACKAGE_VERSION);
			return 0;
		} else if (a[0] == '-')
			usage();
		else
			words[nwords++] = argv[i];
#undef NEED_ARG
	}
	if ((ctl.tls_cert == NULL) != (ctl.tls_key == NULL))
		usage();
	if (nwords == 2 && strcmp(words[0], "instance") == 0 &&
	    strcmp(words[1], "list") == 0) {
		req.req_case = CCNODE__REQUEST__REQ_LIST_INSTANCES;
		req.list_instances = &lreq;
		ctl.print = print_instances;
	} else if (nwords == 1 && strcmp(words[0], "host") == 0) {
		req.req_case = CCNODE__REQUEST__REQ_HOST_INFO;
		req.host_info = &hreq;
		ctl.print = print_host;
	} else if (nwords == 2 && strcmp(words[0], "monitor") == 0) {
		monitor = 1;
		if (strcmp(words[1], "status") == 0) {
			ctl.path = "/api/v1/status";
			ctl.mprint = print_kv;
		} else if (strcmp(words[1], "instances") == 0) {
			ctl.path = "/api/v1/instances";
			ctl.mprint = print_table_instances;
		} else if (strcmp(words[1], "machines") == 0) {
			ctl.path = "/api/v1/machines";
			ctl.mprint = print_table_machines;
		} else
			usage();
	} else
		usage();
	free(words);

	log_init("ccctl", 1);
	log_set_level(LL_ERR);
	ctl.req = &req;
	ctl.base = event_base_new();
	tv.tv_sec = (time_t)(ctl.timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(ctl.timeout_ms % 1000) * 1000;
	tev = evtimer_new(ctl.base, timeout_cb, &ctl);
	evtimer_add(tev, &tv);
	if (monitor)
		run_monitor(&ctl);
	else
		run_agent(&ctl);
	if (!ctl.done)
		event_base_dispatch(ctl.base);
	if (ctl.c != NULL)
		wconn_free(ctl.c);
	if (ctl.hc != NULL)
		evhttp_connection_free(ctl.hc);
	event_free(tev);
	event_base_free(ctl.base);
	wire_conf_clear(&ctl.wc);
	return ctl.rc;
}
