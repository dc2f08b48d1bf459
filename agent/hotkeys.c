/*
 * hotkeys.c: hot keys of one redis instance, from MONITOR windows (see
 * hotkeys.h).
 *
 * Each window is one plain TCP connection (a bufferevent, RESP by hand:
 * MONITOR streams replies forever, which rconn's request/reply model
 * does not fit).  It sends AUTH [user] password (the password file is
 * read at each connect), CLIENT SETNAME ccagent-hotkeys and MONITOR in
 * one write, checks the three replies, then reads MONITOR lines for
 * window_ms and closes.  Lines longer than HK_LINE_MAX are drained and
 * counted as unparsed; the others go through monline_parse and
 * monline_keys into a Space-Saving summary of HK_CAPACITY keys.  When
 * the window closes its counts, scaled to the period (below), are added
 * to a second summary that waits for hotkeys_take, which hands out its
 * top HK_TOP: two windows that close between two takes (the window timer
 * and the caller's rounds drift) come out merged, with window_ms and
 * period_ms the sums, instead of one replacing the other.  A connection
 * killed mid-window (CLIENT KILL, a restart) ends the window early: it
 * counts when it lasted HK_MIN_ATTACHED_MS (window_ms says how long it
 * really was attached), and the next window opens a new connection.  A
 * window that overlaps a big-key scan of the instance (the scanned()
 * callback, asked when a window is due, each round and at its end: the
 * scan's TYPE calls are no workload) is dropped.  The sampler's own INFO shows up in the stream
 * as a command that names no key, and the other agent connections send
 * nothing with a key outside scans, so nothing of the agent is counted.
 *
 * A MONITOR or AUTH the server refuses (rename-command, an ACL without
 * +monitor, a wrong password) makes the source unavailable with the
 * server's words; it is asked again every HK_RETRY_MS.  Connect and
 * handshake failures only lose that window.
 *
 * Cost model.  While a MONITOR client is attached, the server formats
 * every command it runs (sdscatrepr of each argument) and writes it to
 * that client: c seconds of server CPU per command, whatever the command.
 * bench/hotkeys.sh (a) measures it: redis-server's CPU time for a fixed
 * redis-benchmark GET load, with and without one attached MONITOR reader,
 * interleaved.  On a shared 2-core VM with Redis 7.0.15, over four runs,
 * MONITOR added 2.2-3.4 us per unpipelined GET (which itself costs about
 * 12 us there, syscalls included) and 2.0-3.3 us per GET pipelined 16
 * deep (about 2 us alone).  HK_COST_US takes c = 3 us.  So at ops
 * commands/s an attached window costs c * ops of one core, and with a
 * duty cycle d = window/period the cost is
 *
 *	c * ops * d  <=  budget		(hotkeys-budget, 0.02 = 2%)
 *
 *	d      = min(HK_MAX_DUTY, budget / (c * ops))
 *	window = clamp(d * min_period, HK_MIN_WINDOW_MS, HK_MAX_WINDOW_MS)
 *	period = max(min_period, window / d)
 *
 * e.g. with min_period 5 s (the sample interval): at 10,000 ops/s d is
 * the 25% cap, 1.25 s every 5 s; at 100,000 ops/s c * ops = 0.3 and d =
 * 6.7%, 333 ms every 5 s; at 1,000,000 ops/s d = 0.67%, 200 ms every
 * 30 s.  On a saturated server the throughput lost is the time spent on
 * MONITOR, so the budget bounds that too: bench/hotkeys.sh (b) saw
 * throughput fall 65-74% while a window was attached (MONITOR's CPU plus
 * the sampler's own parsing, 0.7 us per line, on the same two cores),
 * with d = 1.9% at about 800,000 ops/s: 1.4% lost on average.
 *
 * Idle instances.  After the first window (which also learns whether
 * MONITOR is allowed), a window opens only while the server runs at least
 * HK_IDLE_OPS commands/s (the agent's own sampling is about 5/s at a 1 s
 * interval).  Below that there is nothing hot to find, and a MONITOR
 * connection every period would be most of the server's connections:
 * bench/agent_cost.sh saw 16 connections/s for 16 idle servers.  The
 * window's summaries (Space-Saving, about 100 KB each) exist only while a
 * window is open or its counts wait for hotkeys_take.
 *
 * LFU.  When maxmemory-policy is an LFU one, after a window the OBJECT
 * FREQ of its top keys (at most HK_TOP) is read on a short second
 * connection (AUTH, CLIENT SETNAME, SELECT when the db changes, OBJECT
 * FREQ ..., pipelined) and reported as the "lfu" list.  OBJECT FREQ does
 * not touch the key's counter.  Only the window's keys are read, so a
 * scan that bumped cold keys' counters (STRLEN and the like) cannot make
 * them look hot here.
 *
 * Scaling.  A key's estimate over the period is its share of the
 * window's lines times the commands of the period, rate * period: count
 * * rate * period / lines.  The rate is the larger of the one INFO gave
 * when the window was planned and the one the window saw (lines /
 * window).  The window alone is not enough: MONITOR slows a saturated
 * server down, so a window sees fewer commands per second than the
 * period has, and count * period / window came out 2x low in
 * bench/hotkeys.sh.  INFO alone is not either: it is a reading from
 * before the window (0 on an instance whose load just began).
 *
 * Every command sent is counted in the target's owncalls, so that top
 * commands leave it out.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define LOG_COMP "hotkeys"
#include "log.h"
#include "cmdstats.h"
#include "hotkeys.h"
#include "monline.h"
#include "topk.h"
#include "util.h"

#define HK_CAPACITY		1000	/* keys in the summary */
#define HK_TOP			100	/* published per window */
#define HK_LINE_MAX		(64 * 1024)
#define HK_CONNECT_MS		2000
#define HK_HANDSHAKE_MS		2000
#define HK_LFU_MS		2000
#define HK_RETRY_MS		(10 * 60 * 1000)
#define HK_BUSY_RETRY_MS	200
#define HK_MIN_WINDOW_MS	200
#define HK_MAX_WINDOW_MS	2000
#define HK_MIN_ATTACHED_MS	50
#define HK_MAX_PERIOD_MS	(3600 * 1000)
#define HK_MAX_DUTY		0.25
#define HK_COST_US		3.0	/* server CPU per command, attached */
#define HK_IDLE_OPS		100	/* commands/s under which no window opens */
#define HK_CLIENT_NAME		"ccagent-hotkeys"

enum hk_state {
	HK_IDLE,		/* no connection */
	HK_CONNECTING,		/* TCP connect */
	HK_HANDSHAKE,		/* AUTH, SETNAME, MONITOR sent */
	HK_ATTACHED,		/* reading MONITOR lines */
	HK_LFU			/* OBJECT FREQ of the last window's keys */
};

static const char *const hk_state_names[] = {
	"idle", "connecting", "handshake", "attached", "lfu"
};

/* What a connection is for. */
enum hk_mode { M_MONITOR, M_LFU };

/* What the next reply answers. */
enum hk_tag { T_AUTH, T_SETNAME, T_MONITOR, T_SELECT, T_FREQ };

struct hk_expect {
	uint8_t		tag;
	uint16_t	idx;		/* T_FREQ: the key */
};

/* A key of the LFU query: a copy, and its reading. */
struct hk_qkey {
	char		*key;
	size_t		 len;
	uint32_t	 db;
	const char	*type;
	uint64_t	 freq;
	int		 have;		/* freq was read */
};

/* What hotkeys_take handed out, kept until the next take. */
struct hk_out {
	Ccnode__HotKey	 keys[HK_TOP], *keyp[HK_TOP];
	Ccnode__HotKey	 lfu[HK_TOP], *lfup[HK_TOP];
	char		*kbuf[2 * HK_TOP];	/* owned key copies */
	size_t		 nbuf;
};

struct hotkeys {
	struct event_base	*base;
	char			*name, *ip, *user, *passfile, *password;
	int			 port;
	double			 budget;
	uint32_t		 min_period_ms;
	struct owncalls		*own;

	enum hk_state		 state;
	enum hk_mode		 mode;
	struct bufferevent	*bev;
	struct event		*timer;		/* connect, handshake, window, lfu */
	struct event		*due;		/* the next window */
	int			 draining;	/* inside a line too long */

	struct hk_expect	 exp[3 + 2 * HK_TOP];
	size_t			 nexp, iexp;
	char			 autherr[160];

	/* Inputs of the last round. */
	int			 have_round;
	double			 ops;
	int			 lfu_policy;
	int			(*scanned)(void *);
	void			*scanned_arg;

	/* The window being taken. */
	uint64_t		 next_ms;	/* mono: when the next may open */
	uint32_t		 window_ms, period_ms;
	double			 plan_ops;	/* the ops rate it was planned for */
	uint64_t		 attach_mono;
	int64_t			 attach_wall;
	uint64_t		 lines, unparsed;
	struct topk		*tk;		/* while a window is open */
	struct monline		 ml;
	char			*line, *dbuf;	/* from the first connection */

	/*
	 * Windows closed and not yet taken, merged: each window's counts
	 * scaled to its period, added up (NULL when there are none).
	 */
	struct topk		*acc;
	uint32_t		 acc_windows;
	int64_t			 acc_start;
	uint64_t		 acc_window_ms, acc_period_ms;
	uint64_t		 acc_lines, acc_unparsed;

	/* The OBJECT FREQ of the last window's top keys. */
	struct hk_qkey		 q[HK_TOP];
	size_t			 nq;
	int			 have_lfu;

	struct hk_out		 out;

	/* The source refused: why, and when to ask again. */
	char			 why[160];
	uint64_t		 retry_ms;
	char			 lfu_why[160];
	uint64_t		 lfu_retry_ms;
	int			 failing;	/* the last window failed (logged) */
	uint64_t		 opened;	/* windows opened */
	int			 idle;		/* windows wait for load (logged) */
};

static void	hk_open(struct hotkeys *);
static void	hk_close(struct hotkeys *);
static void	hk_fail(struct hotkeys *, const char *);
static void	hk_window_end(struct hotkeys *, int);
static void	hk_lfu_end(struct hotkeys *, const char *);
static void	hk_read_cb(struct bufferevent *, void *);
static void	hk_event_cb(struct bufferevent *, short, void *);
static void	hk_timer_cb(evutil_socket_t, short, void *);
static void	hk_due_cb(evutil_socket_t, short, void *);

/* ---- helpers ----------------------------------------------------------- */

static void
set_state(struct hotkeys *hk, enum hk_state st)
{
	if (hk->state != st)
		log_debug("instance %s: %s -> %s", hk->name,
		    hk_state_names[hk->state], hk_state_names[st]);
	hk->state = st;
}

static void
timer_in(struct event *ev, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* One command in RESP. */
static void
resp_cmd(struct evbuffer *out, int argc, const char **argv,
    const size_t *argl)
{
	int i;

	evbuffer_add_printf(out, "*%d\r\n", argc);
	for (i = 0; i < argc; i++) {
		evbuffer_add_printf(out, "$%zu\r\n", argl[i]);
		evbuffer_add(out, argv[i], argl[i]);
		evbuffer_add(out, "\r\n", 2);
	}
}

static void
expect(struct hotkeys *hk, enum hk_tag tag, size_t idx)
{
	if (hk->nexp < nitems(hk->exp)) {
		hk->exp[hk->nexp].tag = (uint8_t)tag;
		hk->exp[hk->nexp].idx = (uint16_t)idx;
		hk->nexp++;
	}
}

/*
 * The duty cycle for the last round's ops rate (see the opening comment):
 * sets window_ms and period_ms.
 */
static void
plan(struct hotkeys *hk)
{
	double	cost = HK_COST_US * 1e-6 * MAXIMUM(hk->ops, 0.0);
	double	duty = HK_MAX_DUTY, w, p;

	if (cost > 0 && hk->budget / cost < duty)
		duty = hk->budget / cost;
	w = clamp(duty * hk->min_period_ms, HK_MIN_WINDOW_MS,
	    HK_MAX_WINDOW_MS);
	p = clamp(ceil(w / duty), hk->min_period_ms, HK_MAX_PERIOD_MS);
	hk->window_ms = (uint32_t)w;
	hk->period_ms = (uint32_t)MAXIMUM(p, w);
	hk->plan_ops = hk->ops;
}

/* ---- connection -------------------------------------------------------- */

/*
 * Opens a connection and queues the handshake: AUTH when a password is
 * configured, CLIENT SETNAME, then MONITOR (M_MONITOR) or nothing (the
 * LFU query adds its commands).  0, or -1 with the window (or query)
 * failed.
 */
static int
hk_connect(struct hotkeys *hk, enum hk_mode mode)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct evbuffer		*out;
	char			*pass = NULL, *cause = NULL, why[256];
	const char		*argv[3];
	size_t			 argl[3], plen = 0;
	int			 argc;

	hk->mode = mode;
	if (hk->line == NULL) {
		hk->line = xmalloc(HK_LINE_MAX + 1);
		hk->dbuf = xmalloc(HK_LINE_MAX + 1);
	}
	if (parse_ip(hk->ip, (uint16_t)hk->port, &ss, &sslen) == -1) {
		hk_fail(hk, "not an IP address");
		return -1;
	}
	if (hk->passfile != NULL && (pass = read_small_file(hk->passfile,
	    4096, 1, &plen, &cause)) == NULL) {
		snprintf(why, sizeof(why), "password file: %s", cause);
		free(cause);
		hk_fail(hk, why);
		return -1;
	}
	if (pass == NULL && hk->password != NULL) {
		pass = xstrdup(hk->password);
		plen = strlen(pass);
	}
	hk->bev = bufferevent_socket_new(hk->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (hk->bev == NULL) {
		free(pass);
		hk_fail(hk, "cannot create a socket");
		return -1;
	}
	bufferevent_setcb(hk->bev, hk_read_cb, NULL, hk_event_cb, hk);
	hk->nexp = hk->iexp = 0;
	hk->draining = 0;
	hk->autherr[0] = '\0';
	out = bufferevent_get_output(hk->bev);
	if (pass != NULL) {
		argc = 0;
		argv[argc] = "AUTH";
		argl[argc++] = 4;
		if (hk->user != NULL) {
			argv[argc] = hk->user;
			argl[argc++] = strlen(hk->user);
		}
		argv[argc] = pass;
		argl[argc++] = plen;
		resp_cmd(out, argc, argv, argl);
		explicit_bzero(pass, plen);
		free(pass);
		expect(hk, T_AUTH, 0);
		owncalls_add(hk->own, "auth", 1);
	}
	argv[0] = "CLIENT";
	argv[1] = "SETNAME";
	argv[2] = HK_CLIENT_NAME;
	argl[0] = 6;
	argl[1] = 7;
	argl[2] = strlen(HK_CLIENT_NAME);
	resp_cmd(out, 3, argv, argl);
	expect(hk, T_SETNAME, 0);
	owncalls_add(hk->own, "client|setname", 1);
	if (mode == M_MONITOR) {
		argv[0] = "MONITOR";
		argl[0] = 7;
		resp_cmd(out, 1, argv, argl);
		expect(hk, T_MONITOR, 0);
		owncalls_add(hk->own, "monitor", 1);
	}
	set_state(hk, HK_CONNECTING);
	timer_in(hk->timer, HK_CONNECT_MS);
	bufferevent_enable(hk->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(hk->bev, (struct sockaddr *)&ss,
	    (int)sslen) == -1) {
		/* The event callback may have run, and failed it already. */
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		if (hk->bev != NULL)
			hk_fail(hk, why);
		return -1;
	}
	if (hk->bev != NULL && bufferevent_getfd(hk->bev) != -1)
		set_cloexec(bufferevent_getfd(hk->bev));
	return 0;
}

/* Drops the connection and its timer; the state goes idle. */
static void
hk_close(struct hotkeys *hk)
{
	if (hk->bev != NULL) {
		bufferevent_free(hk->bev);
		hk->bev = NULL;
	}
	evtimer_del(hk->timer);
	set_state(hk, HK_IDLE);
}

/* The window's counts are done with: its summary goes. */
static void
tk_drop(struct hotkeys *hk)
{
	topk_free(hk->tk);
	hk->tk = NULL;
}

/* Whether a big-key scan reads the instance now. */
static int
scanned(const struct hotkeys *hk)
{
	return hk->scanned != NULL && hk->scanned(hk->scanned_arg);
}

/* A window that overlaps a scan: the scan's TYPE calls would count. */
static void
hk_drop_scanned(struct hotkeys *hk)
{
	log_debug("instance %s: hot-key window dropped (a big-key scan reads "
	    "the instance)", hk->name);
	hk_close(hk);
	tk_drop(hk);
}

/* The window (or LFU query) is lost, not the source. */
static void
hk_fail(struct hotkeys *hk, const char *why)
{
	hk_close(hk);
	if (hk->mode == M_LFU) {
		hk_lfu_end(hk, why);
		return;
	}
	if (!hk->failing)
		log_info("instance %s: hot-key window lost: %s", hk->name, why);
	else
		log_debug("instance %s: hot-key window lost: %s", hk->name,
		    why);
	hk->failing = 1;
	tk_drop(hk);
}

/* The server refused MONITOR (or AUTH): the source is unavailable. */
static void
hk_refused(struct hotkeys *hk, const char *err)
{
	char why[160];

	if (strncmp(err, "ERR unknown command", 19) == 0)
		snprintf(why, sizeof(why),
		    "unknown command MONITOR (renamed?)");
	else
		snprintf(why, sizeof(why), "%s", err);
	hk_close(hk);
	tk_drop(hk);
	if (strcmp(why, hk->why) != 0)
		log_warnx("instance %s: hot keys unavailable: %s; asking again "
		    "in %d min", hk->name, why, HK_RETRY_MS / 60000);
	str_copy(hk->why, sizeof(hk->why), why);
	hk->retry_ms = mono_ms() + HK_RETRY_MS;
}

/* ---- windows ----------------------------------------------------------- */

/* Opens a window when one is due and nothing stands in the way. */
static void
hk_open(struct hotkeys *hk)
{
	uint64_t now = mono_ms();

	if (!hk->have_round || hk->budget <= 0 || scanned(hk))
		return;
	if (hk->state != HK_IDLE) {
		if (now >= hk->next_ms && !evtimer_pending(hk->due, NULL))
			timer_in(hk->due, HK_BUSY_RETRY_MS);
		return;
	}
	if (now < hk->next_ms) {
		/* (libevent's cached clock can fire the timer a bit early) */
		if (!evtimer_pending(hk->due, NULL))
			timer_in(hk->due, hk->next_ms - now);
		return;
	}
	if (hk->why[0] != '\0' && now < hk->retry_ms)
		return;
	if (hk->opened > 0 && hk->ops < HK_IDLE_OPS) {
		if (!hk->idle) {
			log_info("instance %s: hot-key windows wait: under %d "
			    "commands/s", hk->name, HK_IDLE_OPS);
#ifdef __GLIBC__
			/* The last window's summaries are free: give their
			 * pages back, they will not be wanted soon. */
			malloc_trim(0);
#endif
		}
		hk->idle = 1;
		return;
	}
	if (hk->idle)
		log_info("instance %s: hot-key windows resume at %.0f "
		    "commands/s", hk->name, hk->ops);
	hk->idle = 0;
	hk->opened++;
	plan(hk);
	hk->next_ms = now + hk->period_ms;
	evtimer_del(hk->due);
	timer_in(hk->due, hk->period_ms);
	hk->lines = hk->unparsed = 0;
	tk_drop(hk);
	hk->tk = topk_new(HK_CAPACITY);
	if (hk->why[0] != '\0')
		hk->retry_ms = now + HK_RETRY_MS;
	(void)hk_connect(hk, M_MONITOR);
}

static void
q_reset(struct hotkeys *hk)
{
	size_t i;

	for (i = 0; i < hk->nq; i++)
		free(hk->q[i].key);
	hk->nq = 0;
	hk->have_lfu = 0;
}

static void
out_reset(struct hk_out *o)
{
	size_t i;

	for (i = 0; i < o->nbuf; i++)
		free(o->kbuf[i]);
	o->nbuf = 0;
}

/*
 * Starts the LFU query of the first n items: a connection, then OBJECT
 * FREQ of each key (SELECT when the db changes), pipelined.
 */
static void
hk_lfu_start(struct hotkeys *hk, const struct topk_item *items, size_t n)
{
	struct evbuffer	*out;
	const char	*argv[3];
	size_t		 argl[3], i;
	uint32_t	 db = 0;
	uint64_t	 nsel = 0;
	char		 dbs[16];

	q_reset(hk);
	for (i = 0; i < n && i < HK_TOP; i++) {
		struct hk_qkey *q = &hk->q[i];

		q->key = xmalloc(items[i].keylen + 1);
		memcpy(q->key, items[i].key, items[i].keylen);
		q->key[items[i].keylen] = '\0';
		q->len = items[i].keylen;
		q->db = items[i].db;
		q->type = items[i].type;
		q->freq = 0;
		q->have = 0;
	}
	hk->nq = i;
	if (hk_connect(hk, M_LFU) == -1)
		return;
	out = bufferevent_get_output(hk->bev);
	for (i = 0; i < hk->nq; i++) {
		if (hk->q[i].db != db) {
			db = hk->q[i].db;
			snprintf(dbs, sizeof(dbs), "%u", db);
			argv[0] = "SELECT";
			argl[0] = 6;
			argv[1] = dbs;
			argl[1] = strlen(dbs);
			resp_cmd(out, 2, argv, argl);
			expect(hk, T_SELECT, i);
			nsel++;
		}
		argv[0] = "OBJECT";
		argl[0] = 6;
		argv[1] = "FREQ";
		argl[1] = 4;
		argv[2] = hk->q[i].key;
		argl[2] = hk->q[i].len;
		resp_cmd(out, 3, argv, argl);
		expect(hk, T_FREQ, i);
	}
	owncalls_add(hk->own, "select", nsel);
	owncalls_add(hk->own, "object|freq", hk->nq);
}

/* The LFU query is over (why NULL: every reply came). */
static void
hk_lfu_end(struct hotkeys *hk, const char *why)
{
	size_t i;

	if (hk->state != HK_IDLE)
		hk_close(hk);
	if (why != NULL)
		log_debug("instance %s: OBJECT FREQ query: %s", hk->name, why);
	for (i = 0; i < hk->nq; i++)
		if (hk->q[i].have)
			hk->have_lfu = 1;
}

/*
 * The window ended: after its time, or early (the connection was lost).
 * Its counts, scaled by period / the time it was attached, are added to
 * what waits for hotkeys_take; with an LFU policy, the OBJECT FREQ of its
 * top keys is read.
 */
static void
hk_window_end(struct hotkeys *hk, int early)
{
	uint64_t		 attached = mono_ms() - hk->attach_mono, seen, c;
	double			 scale, rate;
	struct topk_item	*items;
	size_t			 i, n;

	if (scanned(hk)) {
		hk_drop_scanned(hk);
		return;
	}
	hk_close(hk);
	if (early)
		log_info("instance %s: MONITOR connection lost after %llu ms "
		    "of %u", hk->name, (unsigned long long)attached,
		    hk->window_ms);
	if (attached < HK_MIN_ATTACHED_MS || hk->tk == NULL) {
		tk_drop(hk);
		return;
	}
	/* Commands per second over the period: see "Scaling" above. */
	seen = hk->lines + hk->unparsed;
	rate = MAXIMUM(hk->plan_ops, (double)seen * 1000.0 / (double)attached);
	scale = seen > 0 ? rate * hk->period_ms / 1000.0 / (double)seen : 0;
	items = xcalloc(HK_CAPACITY, sizeof(*items));
	n = topk_list(hk->tk, items, HK_CAPACITY);
	if (hk->acc == NULL)
		hk->acc = topk_new(HK_CAPACITY);
	for (i = 0; i < n; i++) {
		c = (uint64_t)llround((double)items[i].count * scale);
		topk_add(hk->acc, items[i].db, items[i].key, items[i].keylen,
		    items[i].type, MAXIMUM(c, 1));
	}
	if (hk->acc_windows++ == 0)
		hk->acc_start = hk->attach_wall;
	hk->acc_window_ms += attached;
	hk->acc_period_ms += hk->period_ms;
	hk->acc_lines += hk->lines;
	hk->acc_unparsed += hk->unparsed;
	if (hk->failing)
		log_info("instance %s: hot-key windows taken again", hk->name);
	hk->failing = 0;
	if (n > 0 && hk->lfu_policy && (hk->lfu_why[0] == '\0' ||
	    mono_ms() >= hk->lfu_retry_ms))
		hk_lfu_start(hk, items, n);	/* copies the keys */
	free(items);
	tk_drop(hk);
}

/* ---- replies and lines ------------------------------------------------- */

/* A reply of the handshake or the LFU query.  -1: the connection is gone. */
static int
hk_reply(struct hotkeys *hk, const char *line, size_t len)
{
	struct hk_expect	 e;
	char			 text[160];
	long long		 v;

	if (hk->iexp >= hk->nexp) {
		hk_fail(hk, "unexpected reply");
		return -1;
	}
	e = hk->exp[hk->iexp++];
	if (len == 0 || (line[0] != '+' && line[0] != '-' && line[0] != ':' &&
	    !(len == 3 && memcmp(line, "$-1", 3) == 0))) {
		hk_fail(hk, "not a RESP simple reply");
		return -1;
	}
	str_printable(text, sizeof(text), line + 1, len - 1);
	switch (e.tag) {
	case T_AUTH:
		if (line[0] == '-')
			str_copy(hk->autherr, sizeof(hk->autherr), text);
		break;
	case T_SETNAME:
		if (line[0] == '-')
			log_debug("instance %s: CLIENT SETNAME: %s", hk->name,
			    text);
		break;
	case T_MONITOR:
		if (line[0] == '-') {
			if (hk->autherr[0] != '\0' &&
			    strncmp(text, "NOAUTH", 6) == 0)
				snprintf(text, sizeof(text), "AUTH: %.140s",
				    hk->autherr);
			hk_refused(hk, text);
			return -1;
		}
		set_state(hk, HK_ATTACHED);
		hk->attach_mono = mono_ms();
		hk->attach_wall = wall_ms();
		evtimer_del(hk->timer);
		timer_in(hk->timer, hk->window_ms);
		if (hk->why[0] != '\0') {
			log_info("instance %s: hot keys available again",
			    hk->name);
			hk->why[0] = '\0';
		}
		break;
	case T_SELECT:
		if (line[0] == '-') {
			hk_fail(hk, text);
			return -1;
		}
		break;
	case T_FREQ:
		if (line[0] == '-') {
			/* Not an LFU policy after all, or OBJECT refused. */
			if (strncmp(text, "ERR unknown command", 19) == 0 ||
			    strncmp(text, "NOPERM", 6) == 0) {
				if (strcmp(hk->lfu_why, text) != 0)
					log_warnx("instance %s: OBJECT FREQ "
					    "refused: %s", hk->name, text);
				str_copy(hk->lfu_why, sizeof(hk->lfu_why),
				    text);
				hk->lfu_retry_ms = mono_ms() + HK_RETRY_MS;
			}
			hk_lfu_end(hk, text);
			return -1;
		}
		if (line[0] == ':' && e.idx < hk->nq &&
		    parse_ll(text, &v) == 0 && v >= 0) {
			hk->q[e.idx].freq = (uint64_t)v;
			hk->q[e.idx].have = 1;
		}
		hk->lfu_why[0] = '\0';
		break;
	}
	if (hk->state == HK_LFU && hk->iexp == hk->nexp) {
		hk_lfu_end(hk, NULL);
		return -1;
	}
	return 0;
}

static void
hk_key_cb(void *arg, const char *key, size_t keylen, const char *type)
{
	struct hotkeys *hk = arg;

	topk_add(hk->tk, hk->ml.db, key, keylen, type, 1);
}

/* One complete line (no CRLF).  -1: the connection is gone. */
static int
hk_line(struct hotkeys *hk, const char *line, size_t len)
{
	if (hk->state != HK_ATTACHED)
		return hk_reply(hk, line, len);
	if (len == 0 || line[0] != '+' ||
	    monline_parse(line + 1, len - 1, hk->dbuf, &hk->ml) == -1) {
		hk->unparsed++;
		return 0;
	}
	hk->lines++;
	monline_keys(&hk->ml, hk_key_cb, hk);
	return 0;
}

/*
 * Takes the complete lines out of the input.  A line over HK_LINE_MAX is
 * drained as it comes, and counted as unparsed once its end is seen.
 */
static void
hk_read_cb(struct bufferevent *bev, void *arg)
{
	struct hotkeys		*hk = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 p;
	size_t			 len, n;

	while (hk->bev == bev && (len = evbuffer_get_length(in)) > 0) {
		p = evbuffer_search(in, "\n", 1, NULL);
		if (p.pos < 0) {
			if (len > HK_LINE_MAX) {
				evbuffer_drain(in, len);
				hk->draining = 1;
			}
			return;
		}
		n = (size_t)p.pos + 1;
		if (hk->draining || n > HK_LINE_MAX) {
			evbuffer_drain(in, n);
			hk->draining = 0;
			if (hk->state != HK_ATTACHED) {
				hk_fail(hk, "reply line too long");
				return;
			}
			hk->unparsed++;
			continue;
		}
		evbuffer_remove(in, hk->line, n);
		n--;
		if (n > 0 && hk->line[n - 1] == '\r')
			n--;
		if (hk_line(hk, hk->line, n) == -1)
			return;
	}
}

static void
hk_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hotkeys	*hk = arg;
	char		 why[160];
	int		 err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		if (hk->state == HK_CONNECTING) {
			set_state(hk, hk->mode == M_MONITOR ? HK_HANDSHAKE :
			    HK_LFU);
			evtimer_del(hk->timer);
			timer_in(hk->timer, hk->state == HK_LFU ? HK_LFU_MS :
			    HK_HANDSHAKE_MS);
		}
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed by the server");
	else
		snprintf(why, sizeof(why), "%s", err != 0 ?
		    evutil_socket_error_to_string(err) : "connection error");
	if (hk->state == HK_ATTACHED)
		hk_window_end(hk, 1);
	else
		hk_fail(hk, why);
}

static void
hk_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct hotkeys	*hk = arg;
	char		 why[96];

	switch (hk->state) {
	case HK_ATTACHED:
		hk_window_end(hk, 0);
		break;
	case HK_CONNECTING:
		snprintf(why, sizeof(why), "not connected within %d ms",
		    HK_CONNECT_MS);
		hk_fail(hk, why);
		break;
	case HK_HANDSHAKE:
		snprintf(why, sizeof(why), "no MONITOR reply within %d ms",
		    HK_HANDSHAKE_MS);
		hk_fail(hk, why);
		break;
	case HK_LFU:
		hk_lfu_end(hk, "timeout");
		break;
	case HK_IDLE:
		break;
	}
}

static void
hk_due_cb(evutil_socket_t fd, short ev, void *arg)
{
	hk_open(arg);
}

/* ---- interface --------------------------------------------------------- */

struct hotkeys *
hotkeys_new(struct event_base *base, const struct hotkeys_target *t)
{
	struct hotkeys *hk = xcalloc(1, sizeof(*hk));

	hk->base = base;
	hk->name = xstrdup(t->name != NULL ? t->name : t->ip);
	hk->ip = xstrdup(t->ip);
	hk->port = t->port;
	hk->user = t->user != NULL ? xstrdup(t->user) : NULL;
	hk->passfile = t->passfile != NULL ? xstrdup(t->passfile) : NULL;
	hk->password = t->password != NULL ? xstrdup(t->password) : NULL;
	hk->budget = clamp(t->budget, 0, 1);
	hk->min_period_ms = MAXIMUM(t->min_period_ms, HK_MIN_WINDOW_MS);
	hk->own = t->own;
	hk->scanned = t->scanned;
	hk->scanned_arg = t->arg;
	hk->timer = evtimer_new(base, hk_timer_cb, hk);
	hk->due = evtimer_new(base, hk_due_cb, hk);
	/* The first window at a random point of the first period, so the
	 * instances of a host do not all open theirs at once. */
	hk->next_ms = mono_ms() + random_u64() % hk->min_period_ms;
	return hk;
}

void
hotkeys_free(struct hotkeys *hk)
{
	if (hk == NULL)
		return;
	if (hk->bev != NULL)
		bufferevent_free(hk->bev);
	event_free(hk->due);
	event_free(hk->timer);
	out_reset(&hk->out);
	q_reset(hk);
	topk_free(hk->acc);
	topk_free(hk->tk);
	free(hk->line);
	free(hk->dbuf);
	if (hk->password != NULL) {
		explicit_bzero(hk->password, strlen(hk->password));
		free(hk->password);
	}
	free(hk->passfile);
	free(hk->user);
	free(hk->ip);
	free(hk->name);
	free(hk);
}

void
hotkeys_round(struct hotkeys *hk, double ops_per_sec, const char *policy)
{
	hk->have_round = 1;
	hk->ops = isfinite(ops_per_sec) && ops_per_sec > 0 ? ops_per_sec : 0;
	hk->lfu_policy = policy != NULL && strstr(policy, "lfu") != NULL;
	if (hk->mode == M_MONITOR && hk->state != HK_IDLE && scanned(hk)) {
		hk_drop_scanned(hk);
		return;
	}
	hk_open(hk);
}

static int
lfu_cmp(const void *a, const void *b)
{
	const Ccnode__HotKey *x = *(Ccnode__HotKey * const *)a;
	const Ccnode__HotKey *y = *(Ccnode__HotKey * const *)b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return 0;
}

/* A copy of key for the handed-out message, kept until the next take. */
static void
out_key(struct hk_out *o, Ccnode__HotKey *k, const char *key, size_t len)
{
	char *c = xmalloc(len + 1);

	memcpy(c, key, len);
	c[len] = '\0';
	o->kbuf[o->nbuf++] = c;
	k->key.data = (uint8_t *)c;
	k->key.len = len;
}

int
hotkeys_take(struct hotkeys *hk, Ccnode__HotKeys *out, const char **why)
{
	struct hk_out		*o = &hk->out;
	struct topk_item	 items[HK_TOP];
	size_t			 i, n, nl = 0;

	*why = hk->why;
	/* A window waits for its OBJECT FREQ readings (2 s at most). */
	if (hk->acc_windows == 0 || hk->acc == NULL || (hk->mode == M_LFU &&
	    (hk->state == HK_CONNECTING || hk->state == HK_LFU)))
		return 0;
	out_reset(o);
	ccnode__hot_keys__init(out);
	n = topk_list(hk->acc, items, HK_TOP);
	for (i = 0; i < n; i++) {
		Ccnode__HotKey *k = &o->keys[i];

		ccnode__hot_key__init(k);
		out_key(o, k, items[i].key, items[i].keylen);
		k->type = (char *)items[i].type;
		k->count = items[i].count;
		k->db = items[i].db;
		o->keyp[i] = k;
	}
	for (i = 0; hk->have_lfu && i < hk->nq; i++) {
		Ccnode__HotKey *k = &o->lfu[nl];

		if (!hk->q[i].have)
			continue;
		ccnode__hot_key__init(k);
		out_key(o, k, hk->q[i].key, hk->q[i].len);
		k->type = (char *)hk->q[i].type;
		k->count = hk->q[i].freq;
		k->db = hk->q[i].db;
		o->lfup[nl++] = k;
	}
	xqsort(o->lfup, nl, sizeof(o->lfup[0]), lfu_cmp);
	out->source = "monitor";
	out->start_ms = hk->acc_start;
	out->window_ms = (uint32_t)MINIMUM(hk->acc_window_ms, UINT32_MAX);
	out->period_ms = (uint32_t)MINIMUM(hk->acc_period_ms, UINT32_MAX);
	out->lines = hk->acc_lines;
	out->unparsed = hk->acc_unparsed;
	out->n_keys = n;
	out->keys = n > 0 ? o->keyp : NULL;
	out->n_lfu = nl;
	out->lfu = nl > 0 ? o->lfup : NULL;

	topk_free(hk->acc);		/* the keys were copied out */
	hk->acc = NULL;
	hk->acc_windows = 0;
	hk->acc_window_ms = hk->acc_period_ms = 0;
	hk->acc_lines = hk->acc_unparsed = 0;
	hk->have_lfu = 0;
	return 1;
}
