/*
 * bigscan_run: one big-key scan (agent/bigkeys.c) of a redis-server, for
 * bench/bigkeys.sh and for trying the scanner by hand.
 *
 *	bigscan_run -p PORT [-h IP] [-r RATE] [-c COUNT] [-n TOPN]
 *	    [-e EXACT_LIMIT] [-s STRING_LIMIT] [-l ELEMENTS_LIMIT]
 *	    [-a PASSWORD] [-A MS] [-S] [-v] [--json]
 *
 * It runs the scan on an event loop until bigscan_take gives the result,
 * and prints a summary: keys, duration, the keys over the limits (type,
 * size, elements), the top keys per type, the type distribution, the size
 * ladder, restarts, vanished keys, and the commands the scan counted as
 * its own.  With --json the same as one JSON object (key names escaped:
 * bytes outside printable ASCII, '"' and '\' as \xNN).
 *
 * Like the agent's sampler, a second connection reads INFO stats once a
 * second and hands instantaneous_ops_per_sec and its round trip to
 * bigscan_round; -S turns that off.  -r 0 is no budget (the back-off
 * still works).  -A MS aborts the scan after MS milliseconds.
 *
 * Exit: 0 when the scan is complete, 1 when it is not, 2 on usage errors.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "agent/bigkeys.h"
#include "cmdstats.h"
#include "info.h"
#include "rconn.h"
#include "util.h"

struct run {
	struct event_base	*base;
	struct bigscan		*bs;
	struct rconn		*sample;
	struct event		*poll, *tick, *abort_ev;
	uint64_t		 sent_us;
	int			 pending;
	int			 json;
	int			 complete;
	int			 done;
	struct owncalls		 own;
};

static void
usage(void)
{
	fprintf(stderr, "usage: bigscan_run -p PORT [-h IP] [-r RATE] "
	    "[-c COUNT] [-n TOPN] [-e EXACT_LIMIT]\n"
	    "\t[-s STRING_LIMIT] [-l ELEMENTS_LIMIT] [-a PASSWORD] [-A MS] "
	    "[-S] [-v] [--json]\n");
	exit(2);
}

static uint64_t
num(const char *s)
{
	long long v;

	if (parse_ll(s, &v) == -1 || v < 0)
		usage();
	return (uint64_t)v;
}

/* A key name for a line of text or a JSON string. */
static char *
escape(const uint8_t *p, size_t len)
{
	char	*out = xmalloc(len * 4 + 1), *q = out;
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '\\' || p[i] == '"')
			q += sprintf(q, "\\x%02x", p[i]);
		else
			*q++ = (char)p[i];
	}
	*q = '\0';
	return out;
}

static json_t *
key_json(const Ccnode__BigKey *k)
{
	char	*e = escape(k->key.data, k->key.len);
	json_t	*o = json_pack("{s:i, s:s, s:s, s:I, s:I, s:b}", "db",
		    (int)k->db, "key", e, "type", k->type, "size",
		    (json_int_t)k->size, "elements", (json_int_t)k->elements,
		    "exact", k->size_exact);

	free(e);
	return o;
}

static void
print_json(struct run *r, const Ccnode__BigKeyScan *s)
{
	json_t	*o, *a;
	size_t	 i;

	o = json_pack("{s:b, s:s, s:s, s:I, s:I, s:i, s:I, s:s, s:I, s:I, s:i}",
	    "complete", s->complete, "reason", s->reason, "run_id", s->run_id,
	    "keys", (json_int_t)s->keys, "vanished", (json_int_t)s->vanished,
	    "restarts", (int)s->restarts, "duration_ms",
	    (json_int_t)s->duration_ms, "scanned", s->scanned,
	    "string_limit", (json_int_t)s->string_limit, "elements_limit",
	    (json_int_t)s->elements_limit, "top_n", (int)s->top_n);
	a = json_array();
	for (i = 0; i < s->n_types; i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "type",
		    s->types[i]->type, "count", (json_int_t)s->types[i]->count,
		    "size", (json_int_t)s->types[i]->size));
	json_object_set_new(o, "types", a);
	a = json_array();
	for (i = 0; i < s->n_size_counts; i++)
		json_array_append_new(a, json_pack("{s:o, s:I}", "lt",
		    i < s->n_size_edges ? json_integer((json_int_t)
		    s->size_edges[i]) : json_null(), "count",
		    (json_int_t)s->size_counts[i]));
	json_object_set_new(o, "ladder", a);
	a = json_array();
	for (i = 0; i < s->n_over; i++)
		json_array_append_new(a, key_json(s->over[i]));
	json_object_set_new(o, "over", a);
	a = json_array();
	for (i = 0; i < s->n_top; i++)
		json_array_append_new(a, key_json(s->top[i]));
	json_object_set_new(o, "top", a);
	a = json_object();
	for (i = 0; i < r->own.n; i++)
		json_object_set_new(a, r->own.v[i].name,
		    json_integer((json_int_t)r->own.v[i].count));
	json_object_set_new(o, "own", a);
	json_dumpf(o, stdout, JSON_INDENT(1));
	printf("\n");
	json_decref(o);
}

static void
print_key(const Ccnode__BigKey *k)
{
	char *e = escape(k->key.data, k->key.len);

	printf("  db%-3u %-8s %12llu bytes%s %10llu elements  %s\n", k->db,
	    k->type, (unsigned long long)k->size, k->size_exact ? " (exact)" :
	    "        ", (unsigned long long)k->elements, e);
	free(e);
}

static void
print_text(struct run *r, const Ccnode__BigKeyScan *s)
{
	size_t i;

	printf("complete %s  reason \"%s\"  run_id %s\n", s->complete ? "yes" :
	    "no", s->reason, s->run_id);
	printf("keys %llu  vanished %llu  restarts %u  duration %.3f s  "
	    "rate %.0f keys/s\n", (unsigned long long)s->keys,
	    (unsigned long long)s->vanished, s->restarts,
	    (double)s->duration_ms / 1000, (double)s->keys * 1000 /
	    (double)MAXIMUM(s->duration_ms, 1));
	printf("over the limits (strings over %llu bytes, collections of "
	    "%llu elements or more): %zu\n",
	    (unsigned long long)s->string_limit,
	    (unsigned long long)s->elements_limit, s->n_over);
	for (i = 0; i < s->n_over; i++)
		print_key(s->over[i]);
	printf("top %u per type:\n", s->top_n);
	for (i = 0; i < s->n_top; i++)
		print_key(s->top[i]);
	printf("types:\n");
	for (i = 0; i < s->n_types; i++)
		printf("  %-8s %10llu keys %14llu bytes\n", s->types[i]->type,
		    (unsigned long long)s->types[i]->count,
		    (unsigned long long)s->types[i]->size);
	printf("size ladder:\n");
	for (i = 0; i < s->n_size_counts; i++) {
		if (i < s->n_size_edges)
			printf("  < %-10llu", (unsigned long long)
			    s->size_edges[i]);
		else
			printf("  >= %-9llu", (unsigned long long)
			    (i > 0 ? s->size_edges[i - 1] : 0));
		printf(" %10llu keys\n", (unsigned long long)s->size_counts[i]);
	}
	printf("own commands:");
	for (i = 0; i < r->own.n; i++)
		printf(" %s=%llu", r->own.v[i].name,
		    (unsigned long long)r->own.v[i].count);
	printf("\n");
}

static void
poll_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct run		*r = arg;
	Ccnode__BigKeyScan	 s;

	if (!bigscan_take(r->bs, &s))
		return;
	if (r->json)
		print_json(r, &s);
	else
		print_text(r, &s);
	fflush(stdout);
	r->complete = s.complete;
	r->done = 1;
	event_base_loopexit(r->base, NULL);
}

static void
info_cb(struct rconn *rc, redisReply *reply, const char *err, void *arg)
{
	struct run	*r = arg;
	struct info	*in;
	uint32_t	 rtt = (uint32_t)MINIMUM(mono_us() - r->sent_us,
			    UINT32_MAX);

	r->pending = 0;
	if (reply == NULL || reply->type != REDIS_REPLY_STRING)
		return;
	in = xcalloc(1, sizeof(*in));
	info_parse(reply->str, reply->len, in);
	bigscan_round(r->bs, in->values[RM_OPS], rtt);
	free(in);
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct run *r = arg;

	if (r->pending)
		return;
	r->pending = 1;
	r->sent_us = mono_us();
	rconn_cmdf(r->sample, info_cb, r, "INFO stats");
}

static void
abort_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct run *r = arg;

	bigscan_abort(r->bs, "aborted by bigscan_run -A");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 }
	};
	struct run		 r;
	struct bigscan_conf	 conf;
	struct bigscan_target	 t;
	struct rconn_opts	 o;
	struct timeval		 tv;
	const char		*ip = "127.0.0.1", *pass = NULL;
	char			 name[64], err[256];
	int			 ch, port = 0, sample = 1, verbose = 0;
	uint64_t		 abort_ms = 0;

	memset(&r, 0, sizeof(r));
	memset(&conf, 0, sizeof(conf));
	conf.rate = BIGSCAN_RATE;
	conf.exact_limit = BIGSCAN_EXACT_LIMIT;
	while ((ch = getopt_long(argc, argv, "a:A:c:e:h:l:n:p:r:s:Sv", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			pass = optarg;
			break;
		case 'A':
			abort_ms = num(optarg);
			break;
		case 'c':
			conf.count = (uint32_t)MINIMUM(num(optarg), 100000);
			break;
		case 'e':
			conf.exact_limit = num(optarg);
			break;
		case 'h':
			ip = optarg;
			break;
		case 'l':
			conf.elements_limit = num(optarg);
			break;
		case 'n':
			conf.top_n = (uint32_t)MINIMUM(num(optarg), 10000);
			break;
		case 'p':
			port = (int)MINIMUM(num(optarg), 65535);
			break;
		case 'r':
			conf.rate = num(optarg);
			break;
		case 's':
			conf.string_limit = num(optarg);
			break;
		case 'S':
			sample = 0;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'J':
			r.json = 1;
			break;
		default:
			usage();
		}
	}
	if (port == 0 || optind != argc)
		usage();
	log_init("bigscan_run", 1);
	log_set_level(verbose ? LL_DEBUG : LL_INFO);

	r.base = event_base_new();
	r.bs = bigscan_new(r.base, &conf);
	snprintf(name, sizeof(name), "%s:%d", ip, port);
	memset(&t, 0, sizeof(t));
	t.name = name;
	t.scanned = name;
	t.ip = ip;
	t.port = port;
	t.password = pass;
	t.own = &r.own;
	if (bigscan_start(r.bs, &t, "analyze", err, sizeof(err)) == -1)
		fatalx("main", "%s", err);

	r.poll = event_new(r.base, -1, EV_PERSIST, poll_cb, &r);
	tv.tv_sec = 0;
	tv.tv_usec = 20000;
	event_add(r.poll, &tv);
	if (sample) {
		memset(&o, 0, sizeof(o));
		o.client_name = "bigscan_run-sample";
		o.password = pass;
		o.connect_timeout_ms = 2000;
		o.timeout_ms = 2000;
		r.sample = rconn_new(r.base, ip, port, &o, NULL, NULL);
		r.tick = event_new(r.base, -1, EV_PERSIST, tick_cb, &r);
		tv.tv_sec = 1;
		tv.tv_usec = 0;
		event_add(r.tick, &tv);
	}
	if (abort_ms > 0) {
		r.abort_ev = evtimer_new(r.base, abort_cb, &r);
		tv.tv_sec = (time_t)(abort_ms / 1000);
		tv.tv_usec = (suseconds_t)(abort_ms % 1000) * 1000;
		evtimer_add(r.abort_ev, &tv);
	}
	event_base_dispatch(r.base);

	if (r.abort_ev != NULL)
		event_free(r.abort_ev);
	if (r.tick != NULL)
		event_free(r.tick);
	rconn_free(r.sample);
	event_free(r.poll);
	bigscan_free(r.bs);
	event_base_free(r.base);
	return r.done && r.complete ? 0 : 1;
}
