/*
 * ccctl: the operator's command line for ccagent (management port, 5000)
 * and ccmonitor (HTTP, 55101).
 *
 * Every command is one row of commands[]: its words, the options it takes,
 * the request it builds and the printer of the answer.  The usage text is
 * generated from that table.
 *
 * It checks usage only: names, ports, kinds and params go to the agent as
 * given, and the agent validates them.  Exit status: 0 success, 1 refused
 * or failed (reason on stderr), 2 bad usage.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

#define DEFAULT_AGENT	"127.0.0.1:5000"
#define DEFAULT_MONITOR	"127.0.0.1:55101"
#define DEFAULT_TIMEOUT	"30s"

/* Options that only some commands take (struct command's opts). */
#define O_JSON		0x01
#define O_KIND		0x02
#define O_PORT		0x04
#define O_PARAM		0x08
#define O_QUERY		0x10	/* --span, --date, ...: the query string */

/* struct command's flags. */
#define CMD_KILLED	0x01		/* Result.count is killed clients */

/* The KEY=VALUE params of a request, in the order given. */
struct params {
	Ccnode__Param	**v;
	size_t		  n;
};

struct ctl;

typedef int	build_fn(struct ctl *, char **args, int nargs);
typedef void	print_fn(struct ctl *, const Ccnode__Response *);
typedef void	mprint_fn(struct ctl *, json_t *);

struct command {
	const char			*group;	/* first word */
	const char			*verb;	/* second word, or NULL */
	const char			*args;	/* the rest, for the usage */
	const char			*help;
	int				 minargs, maxargs; /* -1: no limit */
	unsigned			 opts;	/* O_* it takes */
	unsigned			 flags;	/* CMD_* */
	/* agent commands */
	Ccnode__Request__ReqCase	 req;
	build_fn			*build;
	Ccnode__Response__RespCase	 resp;	/* the answer expected */
	print_fn			*print;
	/* monitor commands */
	const char			*path;	/* HTTP path; NULL: agent */
	mprint_fn			*mprint;
};

struct ctl {
	/* options */
	char			*agent_addr, *monitor_addr;
	char			*secret_file, *tls_ca, *tls_cert, *tls_key;
	char			*token_file, *timeout_arg;
	char			*kind, *port_arg;
	struct params		 params;
	/* query options of the monitor's analytics commands */
	char			*q_span, *q_by, *q_date, *q_top, *q_type, *q_cmd,
				*q_begin, *q_end, *q_min_us, *q_limit, *q_offset;
	char			*url;		/* path and query to GET */
	unsigned		 seen;		/* O_* given */
	int			 json;
	uint64_t		 timeout_ms;
	char			**words;
	int			 nwords;
	const struct command	*cmd;

	/* the request; its parts live here too */
	Ccnode__Request		 req;
	Ccnode__HostInfoRequest	 hreq;
	Ccnode__ListInstancesRequest lreq;
	Ccnode__StartInstance	 start;
	Ccnode__InstanceRef	 ref;
	Ccnode__SetParams	 set;

	/* the connection */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct event_base	*base;
	struct event		*timer;
	struct wire_conf	 wc;
	struct wconn		*c;
	struct evhttp_connection *hc;
	int			 rc;
	int			 done;
};

static build_fn		build_host, build_list, build_start, build_ref,
			build_set;
static print_fn		print_host, print_instances, print_result;
static mprint_fn	print_kv, print_table_instances, print_table_machines,
			print_table_alerts, print_bigkeys, print_hotkeys,
			print_slowlog, print_top, print_latency;

#define AGENT_REF(v, r, h, f) {						\
	.group = "instance", .verb = (v), .args = "NAME", .help = (h),	\
	.minargs = 1, .maxargs = 1, .opts = O_JSON, .flags = (f),	\
	.req = (r), .build = build_ref,					\
	.resp = CCNODE__RESPONSE__RESP_RESULT, .print = print_result }
#define MONITOR(v, p, pr, h) {						\
	.group = "monitor", .verb = (v), .args = "[--json]", .help = (h), \
	.opts = O_JSON, .path = (p), .mprint = (pr) }
/* An instance's analytics: p follows /api/v1/instances/NAME. */
#define MONITOR_NAMED(v, p, a, pr, h) {					\
	.group = "monitor", .verb = (v), .args = "NAME " a " [--json]",	\
	.help = (h), .minargs = 1, .maxargs = 1, .opts = O_JSON | O_QUERY, \
	.path = (p), .mprint = (pr) }

static const struct command commands[] = {
	{ .group = "instance", .verb = "start",
	  .args = "NAME --kind redis|interface --port PORT "
	    "[--param KEY=VALUE ...]",
	  .help = "start a new instance and supervise it",
	  .minargs = 1, .maxargs = 1, .opts = O_JSON | O_KIND | O_PORT | O_PARAM,
	  .req = CCNODE__REQUEST__REQ_START, .build = build_start,
	  .resp = CCNODE__RESPONSE__RESP_RESULT, .print = print_result },
	AGENT_REF("stop", CCNODE__REQUEST__REQ_STOP,
	    "stop it: SIGTERM, then SIGKILL", 0),
	AGENT_REF("restart", CCNODE__REQUEST__REQ_RESTART,
	    "stop it, then start it again", 0),
	{ .group = "instance", .verb = "list", .args = "[--json]",
	  .help = "the agent's instances", .opts = O_JSON,
	  .req = CCNODE__REQUEST__REQ_LIST_INSTANCES, .build = build_list,
	  .resp = CCNODE__RESPONSE__RESP_INSTANCES, .print = print_instances },
	{ .group = "instance", .verb = "set", .args = "NAME KEY=VALUE ...",
	  .help = "set params; says which need a restart",
	  .minargs = 2, .maxargs = -1, .opts = O_JSON,
	  .req = CCNODE__REQUEST__REQ_SET_PARAMS, .build = build_set,
	  .resp = CCNODE__RESPONSE__RESP_RESULT, .print = print_result },
	AGENT_REF("kill-clients", CCNODE__REQUEST__REQ_KILL_CLIENTS,
	    "kill its client connections", CMD_KILLED),
	AGENT_REF("flush", CCNODE__REQUEST__REQ_FLUSH,
	    "empty it", 0),
	AGENT_REF("promote", CCNODE__REQUEST__REQ_PROMOTE,
	    "make a replica the master", 0),
	AGENT_REF("analyze", CCNODE__REQUEST__REQ_ANALYZE,
	    "start a big-key scan now", 0),
	{ .group = "host", .args = "[--json]", .help = "the agent's host",
	  .opts = O_JSON,
	  .req = CCNODE__REQUEST__REQ_HOST_INFO, .build = build_host,
	  .resp = CCNODE__RESPONSE__RESP_HOST_INFO, .print = print_host },
	MONITOR("status", "/api/v1/status", print_kv, "the monitor itself"),
	MONITOR("instances", "/api/v1/instances", print_table_instances,
	    "every instance the monitor knows"),
	MONITOR("machines", "/api/v1/machines", print_table_machines,
	    "hosts and their agents"),
	MONITOR("alerts", "/api/v1/alerts", print_table_alerts,
	    "active alerts (pending and firing)"),
	MONITOR_NAMED("bigkeys", "/bigkeys",
	    "[--date YYYYMMDD] [--type string|all] [--top N]", print_bigkeys,
	    "big keys of the day's scan (over the limits, or the top N per "
	    "type)"),
	MONITOR_NAMED("hotkeys", "/hotkeys",
	    "[--span realtime|30m|6h|24h]", print_hotkeys,
	    "hot keys (sampled estimates)"),
	MONITOR_NAMED("slowlog", "/slowlog",
	    "[--begin T] [--end T] [--min-us N] [--limit N] [--offset N]",
	    print_slowlog, "slow log entries, newest first"),
	MONITOR_NAMED("top", "/top-commands",
	    "[--span S] [--by count|time] [--limit N]", print_top,
	    "top commands by calls or by time"),
	MONITOR_NAMED("latency", "/latency-dist",
	    "[--span S] [--cmd NAME]", print_latency,
	    "latency distribution over the ladder"),
};


/*
 * Every option; off is the char * in struct ctl that its argument sets, or
 * NOFIELD.
 */
#define NOFIELD		SIZE_MAX

static const struct option {
	const char	*name;
	int		 has_arg;
	unsigned	 opt;		/* O_*: a command option; 0: global */
	size_t		 off;
} options[] = {
	{ "-a",			1, 0, offsetof(struct ctl, agent_addr) },
	{ "-m",			1, 0, offsetof(struct ctl, monitor_addr) },
	{ "--secret-file",	1, 0, offsetof(struct ctl, secret_file) },
	{ "--tls-ca",		1, 0, offsetof(struct ctl, tls_ca) },
	{ "--tls-cert",		1, 0, offsetof(struct ctl, tls_cert) },
	{ "--tls-key",		1, 0, offsetof(struct ctl, tls_key) },
	{ "--token-file",	1, 0, offsetof(struct ctl, token_file) },
	{ "--timeout",		1, 0, offsetof(struct ctl, timeout_arg) },
	{ "--kind",		1, O_KIND, offsetof(struct ctl, kind) },
	{ "--port",		1, O_PORT, offsetof(struct ctl, port_arg) },
	{ "--param",		1, O_PARAM, NOFIELD },	/* appends to params */
	{ "--json",		0, O_JSON, NOFIELD },
	{ "--span",		1, O_QUERY, offsetof(struct ctl, q_span) },
	{ "--by",		1, O_QUERY, offsetof(struct ctl, q_by) },
	{ "--date",		1, O_QUERY, offsetof(struct ctl, q_date) },
	{ "--top",		1, O_QUERY, offsetof(struct ctl, q_top) },
	{ "--type",		1, O_QUERY, offsetof(struct ctl, q_type) },
	{ "--cmd",		1, O_QUERY, offsetof(struct ctl, q_cmd) },
	{ "--begin",		1, O_QUERY, offsetof(struct ctl, q_begin) },
	{ "--end",		1, O_QUERY, offsetof(struct ctl, q_end) },
	{ "--min-us",		1, O_QUERY, offsetof(struct ctl, q_min_us) },
	{ "--limit",		1, O_QUERY, offsetof(struct ctl, q_limit) },
	{ "--offset",		1, O_QUERY, offsetof(struct ctl, q_offset) },
};

/* ---- messages and usage --------------------------------------------------- */

static void vsay(const char *, va_list) __attribute__((format(printf, 1, 0)));
static void say(const char *, ...) __attribute__((format(printf, 1, 2)));
static int usage_err(const char *, ...) __attribute__((format(printf, 1, 2)));
static void fail(struct ctl *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
vsay(const char *fmt, va_list ap)
{
	fprintf(stderr, "ccctl: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* "ccctl: message" on stderr. */
static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

/* Says what is wrong with the command line; returns -1. */
static int
usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return -1;
}

/* The request failed: says why, sets status 1 and leaves the loop. */
static void
fail(struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	ctl->rc = EXIT_FAIL;
	ctl->done = 1;
	event_base_loopbreak(ctl->base);
}

/* "instance start", "host": the words that name a command. */
static const char *
command_name(const struct command *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", c->group, c->verb != NULL ? " " : "",
	    c->verb != NULL ? c->verb : "");
	return buf;
}

static void
usage_commands(FILE *fp, int monitor)
{
	const struct command	*c;
	char			 name[64], syn[128];

	for (c = commands; c < commands + nitems(commands); c++) {
		if ((c->path != NULL) != monitor)
			continue;
		snprintf(syn, sizeof(syn), "%s %s",
		    command_name(c, name, sizeof(name)), c->args);
		if (strlen(syn) <= 32)
			fprintf(fp, "  %-32s %s\n", syn, c->help);
		else
			fprintf(fp, "  %s\n  %-32s %s\n", syn, "", c->help);
	}
}

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: ccctl [-a HOST:PORT] [--secret-file F] [--tls-ca F --tls-cert F --tls-key F]\n"
"             [--timeout DURATION] COMMAND\n");
	usage_commands(fp, 0);
	fprintf(fp,
"       ccctl -m HOST:PORT [--token-file F] [--timeout DURATION] COMMAND\n");
	usage_commands(fp, 1);
	fprintf(fp,
"\n"
"KEY=VALUE splits at the first '=': the value may be empty or hold '=' and\n"
"spaces.  --param may be repeated.  Every command takes --json.\n"
"-a defaults to " DEFAULT_AGENT ", -m to " DEFAULT_MONITOR
", --timeout to " DEFAULT_TIMEOUT ".\n"
"Exit status: 0 success, 1 refused or failed, 2 bad usage.\n");
}

/* ---- the command line ------------------------------------------------------- */

/* Adds "KEY=VALUE" (split at the first '='); -1 if it is not that. */
static int
params_add(struct params *pp, char *kv)
{
	char		*eq = strchr(kv, '=');
	Ccnode__Param	*p;

	if (eq == NULL || eq == kv)
		return -1;
	p = xmalloc(sizeof(*p));
	ccnode__param__init(p);
	p->key = xstrndup(kv, (size_t)(eq - kv));
	p->value = eq + 1;
	pp->v = xreallocarray(pp->v, pp->n + 1, sizeof(*pp->v));
	pp->v[pp->n++] = p;
	return 0;
}

static void
params_clear(struct params *pp)
{
	size_t i;

	for (i = 0; i < pp->n; i++) {
		free(pp->v[i]->key);
		free(pp->v[i]);
	}
	free(pp->v);
	pp->v = NULL;
	pp->n = 0;
}

static const struct option *
option_find(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(options); i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

static const char *
option_name(unsigned opt)
{
	size_t i;

	for (i = 0; i < nitems(options); i++)
		if (options[i].opt == opt)
			return options[i].name;
	return "?";
}

enum parse { P_RUN, P_USAGE, P_HELP, P_VERSION };

/* Sorts argv into options and command words. */
static enum parse
parse_argv(struct ctl *ctl, int argc, char **argv)
{
	const struct option	*o;
	char			*a;
	int			 i, words_only = 0;

	ctl->words = xcalloc((size_t)argc, sizeof(*ctl->words));
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (words_only || a[0] != '-' || a[1] == '\0') {
			ctl->words[ctl->nwords++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0)
			words_only = 1;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return P_HELP;
		else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)
			return P_VERSION;
		else if ((o = option_find(a)) == NULL) {
			usage_err("unknown option %s", a);
			return P_USAGE;
		} else {
			if (o->has_arg && ++i == argc) {
				usage_err("%s needs an argument", a);
				return P_USAGE;
			}
			ctl->seen |= o->opt;
			if (o->off != NOFIELD)
				*(char **)(void *)((char *)ctl + o->off) = argv[i];
			if (o->opt == O_PARAM &&
			    params_add(&ctl->params, argv[i]) == -1) {
				usage_err("--param %s: not KEY=VALUE", argv[i]);
				return P_USAGE;
			}
		}
	}
	return P_RUN;
}

/* The table row for the command words, or NULL. */
static const struct command *
command_find(char **words, int nwords)
{
	const struct command *c;

	if (nwords == 0)
		return NULL;
	for (c = commands; c < commands + nitems(commands); c++) {
		if (strcmp(c->group, words[0]) != 0)
			continue;
		if (c->verb == NULL ||
		    (nwords > 1 && strcmp(c->verb, words[1]) == 0))
			return c;
	}
	return NULL;
}

/*
 * The monitor path to GET: the command's, with the instance name and the
 * query options, URL-encoded.  The monitor checks the values.
 */
static int
build_url(struct ctl *ctl, char **args, int nargs)
{
	struct evbuffer	*b = evbuffer_new();
	const char	*v;
	char		*enc, key[16], *p;
	int		 first = 1;
	size_t		 i, len;

	if (nargs == 1) {
		enc = evhttp_encode_uri(args[0]);
		evbuffer_add_printf(b, "/api/v1/instances/%s%s", enc,
		    ctl->cmd->path);
		free(enc);
	} else
		evbuffer_add_printf(b, "%s", ctl->cmd->path);
	/* --min-us VALUE is min_us=VALUE. */
	for (i = 0; i < nitems(options); i++) {
		if (options[i].opt != O_QUERY ||
		    (v = *(char **)(void *)((char *)ctl + options[i].off)) ==
		    NULL)
			continue;
		snprintf(key, sizeof(key), "%s", options[i].name + 2);
		for (p = key; *p != '\0'; p++)
			if (*p == '-')
				*p = '_';
		enc = evhttp_encode_uri(v);
		evbuffer_add_printf(b, "%c%s=%s", first ? '?' : '&', key, enc);
		free(enc);
		first = 0;
	}
	len = evbuffer_get_length(b);
	ctl->url = xmalloc(len + 1);
	evbuffer_remove(b, ctl->url, len);
	ctl->url[len] = '\0';
	evbuffer_free(b);
	return 0;
}

/* Finds the command, checks its words and options, builds the request. */
static int
parse_command(struct ctl *ctl)
{
	const struct command	*c;
	char			**args, name[64];
	unsigned		 extra;
	int			 nargs;

	if (ctl->nwords == 0)
		return usage_err("no command");
	if ((c = ctl->cmd = command_find(ctl->words, ctl->nwords)) == NULL)
		return usage_err("unknown command: %s%s%s", ctl->words[0],
		    ctl->nwords > 1 ? " " : "",
		    ctl->nwords > 1 ? ctl->words[1] : "");
	args = ctl->words + (c->verb != NULL ? 2 : 1);
	nargs = ctl->nwords - (c->verb != NULL ? 2 : 1);
	if (nargs < c->minargs || (c->maxargs != -1 && nargs > c->maxargs))
		return usage_err("usage: %s %s",
		    command_name(c, name, sizeof(name)), c->args);
	if ((extra = ctl->seen & ~c->opts) != 0)
		return usage_err("%s does not take %s",
		    command_name(c, name, sizeof(name)),
		    option_name(extra & -extra));
	ctl->json = (ctl->seen & O_JSON) != 0;
	if (c->path != NULL)
		return build_url(ctl, args, nargs);
	ctl->req.req_case = c->req;
	return c->build(ctl, args, nargs);
}

/* Global options: the timeout, TLS and the address of the command's peer. */
static int
parse_globals(struct ctl *ctl)
{
	const char	*addr, *cause;

	if (parse_duration_ms(ctl->timeout_arg, &ctl->timeout_ms) == -1 ||
	    ctl->timeout_ms == 0)
		return usage_err("--timeout %s: not a duration (500ms, 5s, 1m)",
		    ctl->timeout_arg);
	if ((ctl->tls_cert == NULL) != (ctl->tls_key == NULL))
		return usage_err("--tls-cert and --tls-key go together");
	addr = ctl->cmd->path != NULL ? ctl->monitor_addr : ctl->agent_addr;
	if (parse_hostport(addr, &ctl->ss, &ctl->sslen, &cause) == -1)
		return usage_err("%s %s: %s",
		    ctl->cmd->path != NULL ? "-m" : "-a", addr, cause);
	return 0;
}

/* ---- requests -------------------------------------------------------------- */

static int
build_host(struct ctl *ctl, char **args, int nargs)
{
	ctl->req.host_info = &ctl->hreq;
	return 0;
}

static int
build_list(struct ctl *ctl, char **args, int nargs)
{
	ctl->req.list_instances = &ctl->lreq;
	return 0;
}

static int
build_start(struct ctl *ctl, char **args, int nargs)
{
	long long port;

	if (ctl->kind == NULL || ctl->port_arg == NULL)
		return usage_err("instance start needs --kind and --port");
	if (parse_ll(ctl->port_arg, &port) == -1 || port < 0 ||
	    port > UINT32_MAX)
		return usage_err("--port %s: not a number", ctl->port_arg);
	ctl->start.name = args[0];
	ctl->start.kind = ctl->kind;
	ctl->start.port = (uint32_t)port;
	ctl->start.n_params = ctl->params.n;
	ctl->start.params = ctl->params.v;
	ctl->req.start = &ctl->start;
	return 0;
}

/* The requests that name one instance and nothing else. */
static int
build_ref(struct ctl *ctl, char **args, int nargs)
{
	Ccnode__Request *r = &ctl->req;

	ctl->ref.name = args[0];
	switch (r->req_case) {
	case CCNODE__REQUEST__REQ_STOP:
		r->stop = &ctl->ref;
		break;
	case CCNODE__REQUEST__REQ_RESTART:
		r->restart = &ctl->ref;
		break;
	case CCNODE__REQUEST__REQ_KILL_CLIENTS:
		r->kill_clients = &ctl->ref;
		break;
	case CCNODE__REQUEST__REQ_FLUSH:
		r->flush = &ctl->ref;
		break;
	case CCNODE__REQUEST__REQ_PROMOTE:
		r->promote = &ctl->ref;
		break;
	case CCNODE__REQUEST__REQ_ANALYZE:
		r->analyze = &ctl->ref;
		break;
	default:
		fatal("build_ref: request %d", r->req_case);
	}
	return 0;
}

static int
build_set(struct ctl *ctl, char **args, int nargs)
{
	int i;

	for (i = 1; i < nargs; i++)
		if (params_add(&ctl->params, args[i]) == -1)
			return usage_err("%s: not KEY=VALUE", args[i]);
	ctl->set.name = args[0];
	ctl->set.n_params = ctl->params.n;
	ctl->set.params = ctl->params.v;
	ctl->req.set_params = &ctl->set;
	return 0;
}

/* ---- printing agent answers ----------------------------------------------- */

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(10));

	printf("%s\n", s);
	free(s);
}

static json_t *
strings_json(char **v, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_str(v[i]));
	return a;
}

/* An empty string as JSON null. */
static json_t *
json_str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_str(s) : json_null();
}

static json_t *
exit_json(const Ccnode__ExitInfo *e)
{
	if (e == NULL)
		return json_null();
	return json_pack("{s:o, s:i, s:i, s:b, s:o}",
	    "time", json_time_ms(e->time_ms),
	    "code", (int)e->code,
	    "signal", (int)e->signal,
	    "oom_suspected", (int)e->oom_suspected,
	    "detail", json_str(e->detail));
}

static json_t *
instance_json(const Ccnode__InstanceInfo *ii)
{
	json_t	*o = json_object(), *params = json_object();
	size_t	 i;

	for (i = 0; i < ii->n_params; i++)
		json_object_set_new(params, ii->params[i]->key,
		    json_str(ii->params[i]->value));
	json_object_set_new(o, "name", json_str(ii->name));
	json_object_set_new(o, "kind", json_str(ii->kind));
	json_object_set_new(o, "pid", json_integer(ii->pid));
	json_object_set_new(o, "port", json_integer(ii->port));
	json_object_set_new(o, "state", json_str(ii->state));
	json_object_set_new(o, "desired", json_str_or_null(ii->desired));
	json_object_set_new(o, "uptime_s", json_integer(ii->uptime_s));
	json_object_set_new(o, "restarts", json_integer(ii->restarts));
	json_object_set_new(o, "addr", json_str(ii->addr));
	json_object_set_new(o, "up", json_boolean(ii->up));
	json_object_set_new(o, "error", json_str_or_null(ii->error));
	json_object_set_new(o, "rss_bytes", json_u64(ii->rss_bytes));
	json_object_set_new(o, "cpu_percent", json_num(ii->cpu_percent));
	json_object_set_new(o, "stats_port", json_integer(ii->stats_port));
	json_object_set_new(o, "adopted", json_boolean(ii->adopted));
	json_object_set_new(o, "last_exit", exit_json(ii->last_exit));
	json_object_set_new(o, "params", params);
	return o;
}

static void
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
}

/* Bytes the way ls -h shows them: 512B, 8.2M, 23M, 1.1G. */
static void
fmt_bytes(uint64_t n, char *buf, size_t len)
{
	static const char	 units[] = "BKMGTP";
	double			 v = (double)n;
	int			 u = 0;

	if (n == 0) {
		snprintf(buf, len, "-");
		return;
	}
	while (v >= 1024 && units[u + 1] != '\0') {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)n);
	else
		snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* The instance table: a column per row of columns[], ERROR last. */
enum { C_NAME, C_KIND, C_STATE, C_DESIRED, C_PID, C_PORT, C_UPTIME,
    C_RESTARTS, C_RSS, C_CPU, C_LAST_EXIT, C_ERROR, NCOLS };

static const struct {
	const char	*title;
	int		 right;		/* right-aligned (numbers) */
} columns[NCOLS] = {
	[C_NAME] = { "NAME", 0 },	[C_KIND] = { "KIND", 0 },
	[C_STATE] = { "STATE", 0 },	[C_DESIRED] = { "DESIRED", 0 },
	[C_PID] = { "PID", 1 },		[C_PORT] = { "PORT", 1 },
	[C_UPTIME] = { "UPTIME", 1 },	[C_RESTARTS] = { "RESTARTS", 1 },
	[C_RSS] = { "RSS", 1 },		[C_CPU] = { "CPU%", 1 },
	[C_LAST_EXIT] = { "LAST-EXIT", 0 }, [C_ERROR] = { "ERROR", 0 },
};

/* One row: cell[] points into buf[] or into the message; never empty. */
struct row {
	char		 buf[NCOLS][32];
	const char	*cell[NCOLS];
};

static const char *
or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static void
row_fill(struct row *r, const Ccnode__InstanceInfo *ii)
{
	int c;

	r->cell[C_NAME] = or_dash(ii->name);
	r->cell[C_KIND] = or_dash(ii->kind);
	r->cell[C_STATE] = or_dash(ii->state);
	r->cell[C_DESIRED] = or_dash(ii->desired);
	r->cell[C_LAST_EXIT] = or_dash(ii->last_exit != NULL ?
	    ii->last_exit->detail : NULL);
	r->cell[C_ERROR] = or_dash(ii->error);
	snprintf(r->buf[C_PID], 32, ii->pid > 0 ? "%d" : "-", ii->pid);
	snprintf(r->buf[C_PORT], 32, ii->port > 0 ? "%u" : "-", ii->port);
	fmt_uptime(ii->uptime_s, r->buf[C_UPTIME], 32);
	snprintf(r->buf[C_RESTARTS], 32, "%u", ii->restarts);
	fmt_bytes(ii->rss_bytes, r->buf[C_RSS], 32);
	if (isfinite(ii->cpu_percent))
		snprintf(r->buf[C_CPU], 32, "%.1f", ii->cpu_percent);
	else
		snprintf(r->buf[C_CPU], 32, "-");
	for (c = C_PID; c <= C_CPU; c++)
		r->cell[c] = r->buf[c];
}

static void
row_print(const char *const *cell, const int *width)
{
	int c;

	for (c = 0; c < NCOLS - 1; c++)
		printf(columns[c].right ? "%*s " : "%-*s ", width[c], cell[c]);
	printf("%s\n", cell[NCOLS - 1]);
}

/* Prints the instances in columns as wide as their widest cell. */
static void
print_table(Ccnode__InstanceInfo *const *items, size_t n, int header)
{
	struct row	*rows = xcalloc(n + 1, sizeof(*rows));
	const char	*titles[NCOLS];
	int		 width[NCOLS], c;
	size_t		 i;

	for (c = 0; c < NCOLS; c++) {
		titles[c] = columns[c].title;
		width[c] = (int)strlen(titles[c]);
	}
	for (i = 0; i < n; i++) {
		row_fill(&rows[i], items[i]);
		for (c = 0; c < NCOLS; c++)
			width[c] = MAXIMUM(width[c],
			    (int)strlen(rows[i].cell[c]));
	}
	if (header)
		row_print(titles, width);
	for (i = 0; i < n; i++)
		row_print(rows[i].cell, width);
	free(rows);
}

static void
print_instances(struct ctl *ctl, const Ccnode__Response *resp)
{
	const Ccnode__InstanceList	*l = resp->instances;
	json_t				*items;
	size_t				 i;

	if (!ctl->json) {
		print_table(l->items, l->n_items, 1);
		return;
	}
	items = json_array();
	for (i = 0; i < l->n_items; i++)
		json_array_append_new(items, instance_json(l->items[i]));
	items = json_pack("{s:o}", "items", items);
	print_json(items);
	json_decref(items);
}

static void
print_words(const char *label, char **v, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	printf("%s:", label);
	for (i = 0; i < n; i++)
		printf(" %s", v[i]);
	printf("\n");
}

/* The answer to a request that changes something. */
static void
print_result(struct ctl *ctl, const Ccnode__Response *resp)
{
	const Ccnode__Result	*r = resp->result;
	json_t			*o;

	if (ctl->json) {
		o = json_pack("{s:o, s:o, s:o, s:o, s:o}",
		    "message", json_str(r->message),
		    "applied", strings_json(r->applied, r->n_applied),
		    "needs_restart", strings_json(r->needs_restart,
		    r->n_needs_restart),
		    "count", json_u64(r->count),
		    "instance", r->instance != NULL ?
		    instance_json(r->instance) : json_null());
		print_json(o);
		json_decref(o);
		return;
	}
	if (r->message[0] != '\0')
		printf("%s\n", r->message);
	print_words("applied", r->applied, r->n_applied);
	print_words("needs restart", r->needs_restart, r->n_needs_restart);
	if (ctl->cmd->flags & CMD_KILLED)
		printf("killed %llu clients\n", (unsigned long long)r->count);
	if (r->instance != NULL)
		print_table(&r->instance, 1, 0);
}

static void
print_host(struct ctl *ctl, const Ccnode__Response *resp)
{
	const Ccnode__HostInfo	*h = resp->host_info;
	json_t			*o;

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
	json_object_set_new(o, "warnings",
	    strings_json(h->warnings, h->n_warnings));
	if (ctl->json)
		print_json(o);
	else
		print_kv(ctl, o);
	json_decref(o);
}

/* ---- the agent connection ------------------------------------------------ */

static void
agent_up_cb(struct wconn *c, const Ccnode__Envelope *welcome, void *arg)
{
	struct ctl		*ctl = arg;
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;

	env.id = 1;
	env.body_case = CCNODE__ENVELOPE__BODY_REQUEST;
	env.request = &ctl->req;
	if (wconn_send(c, &env) == -1)
		fail(ctl, "%s: cannot send the request", ctl->agent_addr);
}

static void
agent_refused(struct ctl *ctl, const Ccnode__ErrorReply *e)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(
	    &ccnode__error_reply__code__descriptor, (int)e->code);
	if (v != NULL)
		fail(ctl, "refused: %s (%s)", e->message, v->name);
	else
		fail(ctl, "refused: %s (code %d)", e->message, (int)e->code);
}

static void
agent_msg_cb(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct ctl *ctl = arg;

	if (env->body_case == CCNODE__ENVELOPE__BODY_ERROR) {
		agent_refused(ctl, env->error);
		return;
	}
	if (env->body_case != CCNODE__ENVELOPE__BODY_RESPONSE ||
	    env->response->resp_case != ctl->cmd->resp) {
		fail(ctl, "%s: unexpected answer from the agent",
		    ctl->agent_addr);
		return;
	}
	ctl->cmd->print(ctl, env->response);
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

/* Loads the credentials and dials the agent.  Returns 0, or -1 said. */
static int
run_agent(struct ctl *ctl)
{
	char *cause = NULL;

	wire_conf_init(&ctl->wc, "ccctl");
	ctl->wc.role = "ctl";
	ctl->wc.handshake_timeout_ms = (uint32_t)MINIMUM(ctl->timeout_ms,
	    UINT32_MAX);
	if (ctl->secret_file != NULL &&
	    auth_load_secret(ctl->secret_file, &ctl->wc.secret, &cause) == -1) {
		say("--secret-file: %s", cause);
		free(cause);
		return -1;
	}
	if ((ctl->tls_ca != NULL || ctl->tls_cert != NULL) &&
	    (ctl->wc.ssl = tls_client_ctx(ctl->tls_cert, ctl->tls_key,
	    ctl->tls_ca, &cause)) == NULL) {
		say("TLS: %s", cause);
		free(cause);
		return -1;
	}
	ctl->c = wconn_connect(ctl->base, (struct sockaddr *)&ctl->ss,
	    ctl->sslen, &ctl->wc, &agent_cbs, ctl);
	if (ctl->c == NULL) {
		say("%s: cannot create a socket", ctl->agent_addr);
		return -1;
	}
	return 0;
}

/* ---- monitor commands ------------------------------------------------------ */

/* A string member, "-" when absent or null. */
static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && *s != '\0' ? s : "-";
}

static void
print_table_instances(struct ctl *ctl, json_t *j)
{
	json_t	*items = json_object_get(j, "items"), *o;
	size_t	 i;

	printf("%-20s %-16s %-21s %-8s %-11s %-8s %8s %12s %8s\n", "NAME",
	    "HOST", "ADDR", "STATE", "CAUSE", "ROLE", "CLIENTS", "MEMORY",
	    "QPS");
	json_array_foreach(items, i, o) {
		printf("%-20s %-16s %-21s %-8s %-11s %-8s %8.0f %12.0f %8.0f\n",
		    jstr(o, "name"), jstr(o, "host"), jstr(o, "addr"),
		    jstr(o, "state"), jstr(o, "cause"), jstr(o, "role"),
		    json_number_value(json_object_get(o, "clients")),
		    json_number_value(json_object_get(o, "storage")),
		    json_number_value(json_object_get(o, "qps")));
	}
}

static void
print_table_alerts(struct ctl *ctl, json_t *j)
{
	json_t	*items = json_object_get(j, "items"), *o;
	size_t	 i;

	printf("%-20s %-20s %-8s %-9s %-24s %s\n", "RULE", "INSTANCE",
	    "STATE", "SEVERITY", "SINCE", "SUMMARY");
	json_array_foreach(items, i, o) {
		printf("%-20s %-20s %-8s %-9s %-24s %s\n", jstr(o, "rule"),
		    jstr(o, "instance"), jstr(o, "state"), jstr(o, "severity"),
		    jstr(o, "start"), jstr(o, "summary"));
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

/* A number member as an integer, 0 when absent; bounded (json_u64 sends
 * counts past INT64_MAX as reals). */
static long long
jnum(json_t *o, const char *key)
{
	return (long long)clamp(json_number_value(json_object_get(o, key)),
	    -9e18, 9e18);
}

/*
 * A string member for the terminal: a Redis key may hold any byte, and
 * json_key keeps control characters, so they are shown as \xNN.
 */
static const char *
jtext(json_t *o, const char *key, char *buf, size_t len)
{
	const char	*s = jstr(o, key);
	size_t		 i, n = 0;

	for (i = 0; s[i] != '\0' && n + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return buf;
}

static void
print_bigkeys(struct ctl *ctl, json_t *j)
{
	json_t	*items = json_object_get(j, "items"), *o;
	char	 key[2048];
	size_t	 i;

	if (!json_is_true(json_object_get(j, "found"))) {
		printf("no big-key scan on %s\n", jstr(j, "date"));
		return;
	}
	printf("date %s, scan of %s %s, %lld keys examined\n",
	    jstr(j, "date"), jstr(j, "scanned"),
	    json_is_true(json_object_get(j, "complete")) ? "complete" :
	    "NOT complete (partial figures)", jnum(j, "keys"));
	printf("%-3s %-40s %-7s %14s %12s %s\n", "DB", "KEY", "TYPE",
	    "SIZE", "ELEMENTS", "UPDATETIME");
	json_array_foreach(items, i, o)
		printf("%-3lld %-40s %-7s %14lld %12lld %s\n", jnum(o, "db"),
		    jtext(o, "key", key, sizeof(key)), jstr(o, "type"),
		    jnum(o, "size"),
		    jnum(o, "elements"), jstr(o, "updatetime"));
}

static void
print_hotkeys(struct ctl *ctl, json_t *j)
{
	json_t	*items = json_object_get(j, "items"), *o;
	char	 key[2048];
	size_t	 i;

	printf("span %s, source %s%s\n", jstr(j, "span"), jstr(j, "source"),
	    json_is_true(json_object_get(j, "estimate")) ?
	    " (counts are estimates)" : "");
	printf("%-3s %-40s %-7s %14s\n", "DB", "KEY", "TYPE", "COUNT");
	json_array_foreach(items, i, o)
		printf("%-3lld %-40s %-7s %14lld\n", jnum(o, "db"),
		    jtext(o, "key", key, sizeof(key)), jstr(o, "type"),
		    jnum(o, "count"));
}

static void
print_slowlog(struct ctl *ctl, json_t *j)
{
	json_t	*items = json_object_get(j, "items"), *o;
	size_t	 i;

	printf("total %lld, lost %lld\n", jnum(j, "total"), jnum(j, "lost"));
	printf("%-24s %12s %-21s %s\n", "EXECUTETIME", "DURATION_US",
	    "CLIENT", "COMMANDLINE");
	json_array_foreach(items, i, o)
		printf("%-24s %12lld %-21s %s\n", jstr(o, "executetime"),
		    jnum(o, "duration"), jstr(o, "client"),
		    jstr(o, "commandline"));
}

static void
print_top(struct ctl *ctl, json_t *j)
{
	json_t		*items = json_object_get(j, "items"), *o;
	size_t		 i;
	int		 took = strcmp(jstr(j, "by"), "time") == 0;

	printf("span %s, by %s\n", jstr(j, "span"), jstr(j, "by"));
	printf("%-24s %16s\n", "CMD", took ? "TOOK_US" : "COUNT");
	json_array_foreach(items, i, o)
		printf("%-24s %16lld\n", jstr(o, "cmd"),
		    jnum(o, took ? "took" : "count"));
}

static void
print_latency(struct ctl *ctl, json_t *j)
{
	json_t		*items = json_object_get(j, "items"), *o;
	size_t		 i;
	long long	 calls = jnum(j, "calls");

	printf("span %s, source %s, %lld calls\n", jstr(j, "span"),
	    jstr(j, "source"), calls);
	printf("%-12s %14s %8s\n", "LADDER", "SIZE", "SHARE");
	json_array_foreach(items, i, o)
		printf("%-12s %14lld %7.2f%%\n", jstr(o, "ladder"),
		    jnum(o, "size"), calls > 0 ?
		    100.0 * (double)jnum(o, "size") / (double)calls : 0.0);
}

/* An object as "key value" lines; array members one a line. */
static void
print_kv(struct ctl *ctl, json_t *j)
{
	const char	*k;
	json_t		*v, *e;
	size_t		 i;
	char		*s;

	json_object_foreach(j, k, v) {
		if (json_is_array(v) && json_array_size(v) > 0 &&
		    json_is_string(json_array_get(v, 0))) {
			json_array_foreach(v, i, e)
				printf("%-24s %s\n", i == 0 ? k : "",
				    json_string_value(e));
			continue;
		}
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
		    ctl->monitor_addr, ctl->url, code);
		return;
	}
	if (code != 200) {
		e = json_object_get(j, "error");
		fail(ctl, "%s: HTTP %d: %s", ctl->url, code,
		    json_is_string(e) ? json_string_value(e) : "error");
		json_decref(j);
		return;
	}
	if (ctl->json)
		print_json(j);
	else
		ctl->cmd->mprint(ctl, j);
	json_decref(j);
	ctl->done = 1;
	event_base_loopbreak(ctl->base);
}

/* Reads the token and sends the GET.  Returns 0, or -1 said. */
static int
run_monitor(struct ctl *ctl)
{
	char			 host[64], *colon, *token = NULL, *cause, *auth;
	struct evhttp_request	*req;
	struct evkeyvalq	*hdr;
	int			 port;

	if (ctl->token_file != NULL &&
	    (token = read_small_file(ctl->token_file, 4096, 1, NULL,
	    &cause)) == NULL) {
		say("--token-file: %s", cause);
		free(cause);
		return -1;
	}
	/* parse_hostport has checked the form: IP:PORT or [IPv6]:PORT. */
	snprintf(host, sizeof(host), "%s", ctl->monitor_addr);
	colon = strrchr(host, ':');
	*colon = '\0';
	port = atoi(colon + 1);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	ctl->hc = evhttp_connection_base_new(ctl->base, NULL, host,
	    (uint16_t)port);
	evhttp_connection_set_timeout(ctl->hc,
	    (int)MINIMUM((ctl->timeout_ms + 999) / 1000, 86400));
	req = evhttp_request_new(http_done_cb, ctl);
	hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Host", ctl->monitor_addr);
	evhttp_add_header(hdr, "Accept", "application/json");
	if (token != NULL) {
		xasprintf(&auth, "Bearer %s", token);
		evhttp_add_header(hdr, "Authorization", auth);
		free(auth);
		free(token);
	}
	if (evhttp_make_request(ctl->hc, req, EVHTTP_REQ_GET, ctl->url) == -1) {
		say("%s: cannot send the request", ctl->monitor_addr);
		return -1;
	}
	return 0;
}

/* ---- main -------------------------------------------------------------------- */

static void
timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl *ctl = arg;

	fail(ctl, "%s: no answer within %llu ms",
	    ctl->cmd->path != NULL ? ctl->monitor_addr : ctl->agent_addr,
	    (unsigned long long)ctl->timeout_ms);
}

/* Sends the request and waits for the answer or the timeout. */
static int
run(struct ctl *ctl)
{
	struct timeval tv;

	log_init("ccctl", 1);
	log_set_level(LL_ERR);
	ctl->base = event_base_new();
	ctl->timer = evtimer_new(ctl->base, timeout_cb, ctl);
	tv.tv_sec = (time_t)(ctl->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(ctl->timeout_ms % 1000) * 1000;
	evtimer_add(ctl->timer, &tv);
	if ((ctl->cmd->path != NULL ? run_monitor(ctl) : run_agent(ctl)) == -1)
		return EXIT_FAIL;
	if (!ctl->done)
		event_base_dispatch(ctl->base);
	return ctl->rc;
}

static void
ctl_init(struct ctl *ctl)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->agent_addr = DEFAULT_AGENT;
	ctl->monitor_addr = DEFAULT_MONITOR;
	ctl->timeout_arg = DEFAULT_TIMEOUT;
	ccnode__request__init(&ctl->req);
	ccnode__host_info_request__init(&ctl->hreq);
	ccnode__list_instances_request__init(&ctl->lreq);
	ccnode__start_instance__init(&ctl->start);
	ccnode__instance_ref__init(&ctl->ref);
	ccnode__set_params__init(&ctl->set);
}

/* Frees in the reverse order of creation. */
static void
ctl_clear(struct ctl *ctl)
{
	if (ctl->c != NULL)
		wconn_free(ctl->c);
	if (ctl->hc != NULL)
		evhttp_connection_free(ctl->hc);
	if (ctl->timer != NULL)
		event_free(ctl->timer);
	if (ctl->base != NULL)
		event_base_free(ctl->base);
	wire_conf_clear(&ctl->wc);
	params_clear(&ctl->params);
	free(ctl->words);
	free(ctl->url);
}

int
main(int argc, char **argv)
{
	struct ctl	ctl;
	int		rc;

	ctl_init(&ctl);
	switch (parse_argv(&ctl, argc, argv)) {
	case P_HELP:
		usage(stdout);
		rc = 0;
		break;
	case P_VERSION:
		printf("ccctl %s\n", PACKAGE_VERSION);
		rc = 0;
		break;
	case P_RUN:
		if (parse_command(&ctl) == 0 && parse_globals(&ctl) == 0) {
			rc = run(&ctl);
			break;
		}
		/* FALLTHROUGH */
	default:
		usage(stderr);
		rc = EXIT_USAGE;
		break;
	}
	ctl_clear(&ctl);
	return rc;
}
