/*
 * hotkeys_run.c: drives the agent's hot-key sampler (agent/hotkeys.c)
 * against one redis instance, for bench/hotkeys.sh.
 *
 *	hotkeys_run -p PORT [-h IP] [-t SECONDS] [-b BUDGET] [-m MIN_PERIOD_MS]
 *	    [-n TOP] [-a PASSWORD | -f PASSFILE] [-u USER] [-P]
 *
 * Once a second it reads INFO (instantaneous_ops_per_sec,
 * maxmemory_policy) on an rconn and calls hotkeys_round with them, then
 * hotkeys_take.  At the end it prints one "window" line per window taken,
 * a summary, the agent's own calls, and the TOP keys by the sum of the
 * windows' estimated counts ("key" lines), then the last window's OBJECT
 * FREQ readings ("lfu" lines), tab-separated, keys in printable ASCII
 * with other bytes (and space, backslash) as \xNN.
 *
 * SIGUSR1 pauses the sampler (its scanned() callback answers 1, as during a
 * big-key scan: a window under way is dropped and none opens), SIGUSR2
 * resumes it; -P starts paused.  SIGTERM ends the run early, with the
 * results.  The benchmark turns it on and off so
 * that the throughput with and without it comes from one run.
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cmdstats.h"
#include "hmap.h"
#include "agent/hotkeys.h"
#include "log.h"
#include "rconn.h"
#include "util.h"

struct merged {
	char		*name;		/* "db\tescaped key": the map's key */
	uint64_t	 count;
	const char	*type;
};

struct run {
	struct event_base	*base;
	struct rconn		*rc;
	struct hotkeys		*hk;
	struct hmap		*keys;
	struct owncalls		 own;
	struct event		*tick, *stop, *sig1, *sig2, *sigterm;
	int			 info_pending;
	int			 paused;
	double			 ops;
	char			 policy[64];
	uint64_t		 windows, lines, unparsed, attached_ms;
	char			*lfu;		/* the last window's, printed */
	char			 why[160];
};

/* A key for one printed line: printable ASCII as is, the rest \xNN. */
static char *
esc_key(const ProtobufCBinaryData *k)
{
	char	*esc = xmalloc(k->len * 4 + 1), *p = esc;
	size_t	 i;

	for (i = 0; i < k->len; i++) {
		if (k->data[i] > 0x20 && k->data[i] < 0x7f &&
		    k->data[i] != '\\')
			*p++ = (char)k->data[i];
		else
			p += sprintf(p, "\\x%02x", k->data[i]);
	}
	*p = '\0';
	return esc;
}

static void
merge(struct run *r, const Ccnode__HotKeys *m)
{
	struct merged	*e;
	char		*esc, *name;
	size_t		 i, len = 0;
	FILE		*f;

	r->windows++;
	r->lines += m->lines;
	r->unparsed += m->unparsed;
	r->attached_ms += m->window_ms;
	printf("window\tstart_ms=%" PRId64 "\twindow_ms=%u\tperiod_ms=%u\t"
	    "lines=%" PRIu64 "\tunparsed=%" PRIu64 "\tkeys=%zu\tlfu=%zu\n",
	    m->start_ms, m->window_ms, m->period_ms, m->lines, m->unparsed,
	    m->n_keys, m->n_lfu);
	for (i = 0; i < m->n_keys; i++) {
		const Ccnode__HotKey *k = m->keys[i];

		esc = esc_key(&k->key);
		xasprintf(&name, "%u\t%s", k->db, esc);
		free(esc);
		if ((e = hmap_get(r->keys, name)) == NULL) {
			e = xcalloc(1, sizeof(*e));
			e->name = name;
			hmap_put(r->keys, e->name, e);
		} else
			free(name);
		e->count += k->count;
		e->type = k->type;	/* static strings */
	}
	if (m->n_lfu == 0)
		return;
	free(r->lfu);
	r->lfu = NULL;
	if ((f = open_memstream(&r->lfu, &len)) == NULL)
		return;
	for (i = 0; i < m->n_lfu; i++) {
		const Ccnode__HotKey *k = m->lfu[i];

		esc = esc_key(&k->key);
		fprintf(f, "lfu\t%u\t%s\t%" PRIu64 "\t%s\n", k->db, esc,
		    k->count, k->type);
		free(esc);
	}
	fclose(f);
}

/* The value of "field:" in INFO text, into buf. */
static void
info_field(const char *text, const char *field, char *buf, size_t len)
{
	const char	*p = text, *e;
	size_t		 fl = strlen(field);

	buf[0] = '\0';
	while ((p = strstr(p, field)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[fl] == ':') {
			p += fl + 1;
			e = p + strcspn(p, "\r\n");
			snprintf(buf, len, "%.*s", (int)(e - p), p);
			return;
		}
		p += fl;
	}
}

static void
info_cb(struct rconn *rc, redisReply *reply, const char *err, void *arg)
{
	struct run	*r = arg;
	Ccnode__HotKeys	 m;
	const char	*why = "";
	char		 v[64];

	r->info_pending = 0;
	if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
		fprintf(stderr, "hotkeys_run: INFO: %s\n", err ? err :
		    (reply && reply->type == REDIS_REPLY_ERROR ? reply->str :
		    "not a string"));
		return;
	}
	info_field(reply->str, "instantaneous_ops_per_sec", v, sizeof(v));
	r->ops = atof(v);
	info_field(reply->str, "maxmemory_policy", r->policy,
	    sizeof(r->policy));
	hotkeys_round(r->hk, r->ops, r->policy);
	if (hotkeys_take(r->hk, &m, &why) == 1)
		merge(r, &m);
	if (why[0] != '\0' && strcmp(why, r->why) != 0) {
		printf("unavailable\t%s\n", why);
		str_copy(r->why, sizeof(r->why), why);
	}
	fflush(stdout);
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct run *r = arg;

	if (r->info_pending)
		return;
	r->info_pending = 1;
	rconn_cmdf(r->rc, info_cb, r, "INFO");
	owncalls_add(&r->own, "info", 1);
}

static void
stop_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct run *r = arg;

	event_base_loopexit(r->base, NULL);
}

/* Paused (SIGUSR1) stands for a big-key scan reading the instance. */
static int
bench_paused(void *arg)
{
	const struct run *r = arg;

	return r->paused;
}

/* SIGUSR1: pause, SIGUSR2: resume, at once. */
static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct run *r = arg;

	r->paused = sig == SIGUSR1;
	hotkeys_round(r->hk, r->ops, r->policy);
}

static int
merged_cmp(const void *a, const void *b)
{
	const struct merged *x = *(struct merged * const *)a;
	const struct merged *y = *(struct merged * const *)b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
usage(void)
{
	fprintf(stderr, "usage: hotkeys_run -p PORT [-h IP] [-t SECONDS] "
	    "[-b BUDGET] [-m MIN_PERIOD_MS] [-n TOP]\n"
	    "    [-a PASSWORD | -f PASSFILE] [-u USER] [-P]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct run		 r;
	struct hotkeys_target	 t;
	struct rconn_opts	 ro;
	struct merged		**v, *e;
	struct timeval		 tv;
	const char		*ip = "127.0.0.1", *password = NULL;
	const char		*passfile = NULL, *user = NULL;
	double			 budget = 0.02;
	long			 secs = 30, top = 20, min_period = 1000;
	int			 ch, port = 0;
	size_t			 i, n, pos;

	memset(&r, 0, sizeof(r));
	while ((ch = getopt(argc, argv, "a:b:f:h:m:n:p:Pt:u:")) != -1) {
		switch (ch) {
		case 'a': password = optarg; break;
		case 'b': budget = atof(optarg); break;
		case 'f': passfile = optarg; break;
		case 'h': ip = optarg; break;
		case 'm': min_period = atol(optarg); break;
		case 'n': top = atol(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'P': r.paused = 1; break;
		case 't': secs = atol(optarg); break;
		case 'u': user = optarg; break;
		default: usage();
		}
	}
	if (port <= 0 || secs <= 0 || top <= 0 || min_period <= 0)
		usage();
	log_init("hotkeys_run", 1);
	log_set_level(getenv("HOTKEYS_DEBUG") ? LL_DEBUG : LL_INFO);

	r.base = event_base_new();
	r.keys = hmap_new();
	memset(&ro, 0, sizeof(ro));
	ro.client_name = "hotkeys-run-info";
	ro.password = password;
	ro.password_file = passfile;
	ro.user = user;
	ro.connect_timeout_ms = 2000;
	ro.timeout_ms = 2000;
	r.rc = rconn_new(r.base, ip, port, &ro, NULL, NULL);
	memset(&t, 0, sizeof(t));
	t.name = "bench";
	t.ip = ip;
	t.port = port;
	t.password = password;
	t.passfile = passfile;
	t.user = user;
	t.budget = budget;
	t.min_period_ms = (uint32_t)min_period;
	t.own = &r.own;
	t.scanned = bench_paused;
	t.arg = &r;
	r.hk = hotkeys_new(r.base, &t);

	r.tick = event_new(r.base, -1, EV_PERSIST, tick_cb, &r);
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	event_add(r.tick, &tv);
	r.sig1 = evsignal_new(r.base, SIGUSR1, signal_cb, &r);
	r.sig2 = evsignal_new(r.base, SIGUSR2, signal_cb, &r);
	event_add(r.sig1, NULL);
	event_add(r.sig2, NULL);
	r.sigterm = evsignal_new(r.base, SIGTERM, stop_cb, &r);
	event_add(r.sigterm, NULL);
	r.stop = evtimer_new(r.base, stop_cb, &r);
	tv.tv_sec = secs;
	evtimer_add(r.stop, &tv);
	tick_cb(-1, 0, &r);
	event_base_dispatch(r.base);

	printf("summary\twindows=%" PRIu64 "\tattached_ms=%" PRIu64
	    "\trun_ms=%ld\tlines=%" PRIu64 "\tunparsed=%" PRIu64 "\tops=%.0f"
	    "\tpolicy=%s\n", r.windows, r.attached_ms, secs * 1000, r.lines,
	    r.unparsed, r.ops, r.policy);
	for (i = 0; i < r.own.n; i++)
		printf("own\t%s\t%" PRIu64 "\n", r.own.v[i].name,
		    r.own.v[i].count);
	n = hmap_count(r.keys);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0, pos = 0; (e = hmap_next(r.keys, &pos)) != NULL && i < n;)
		v[i++] = e;
	xqsort(v, i, sizeof(*v), merged_cmp);
	for (i = 0; i < n && i < (size_t)top; i++)
		printf("key\t%s\t%" PRIu64 "\t%s\n", v[i]->name, v[i]->count,
		    v[i]->type);
	if (r.lfu != NULL)
		fputs(r.lfu, stdout);
	for (i = 0; i < n; i++) {
		free(v[i]->name);
		free(v[i]);
	}
	free(v);
	free(r.lfu);
	hmap_free(r.keys);
	hotkeys_free(r.hk);
	rconn_free(r.rc);
	event_free(r.tick);
	event_free(r.stop);
	event_free(r.sig1);
	event_free(r.sig2);
	event_free(r.sigterm);
	event_base_free(r.base);
	return 0;
}
