/*
 * insight.c: the analytics of one redis instance (see insight.h).
 *
 * Top commands.  INFO commandstats gives cumulative calls and time per
 * command; a round's delta is the workload of the interval.  The agent's
 * own calls (INFO, LATENCY HISTOGRAM, SLOWLOG GET, the scan's SCAN, TYPE,
 * MEMORY USAGE, ..., the hot-key sampler's MONITOR) are counted as they
 * are sent and taken out (cmdstats_delta).  The monitor's own probes (one
 * PING and one INFO per probe-interval) are not known here and stay in.
 *
 * Latency.  LATENCY HISTOGRAM (Redis 7 and later) gives every call's
 * latency in Redis's buckets; it is read with INFO ALL in one MULTI/EXEC,
 * so that the two readings count the same calls, and each command's
 * histogram delta goes out as it is: the monitor folds it into its
 * ladder.  When the server refuses it (before 7, or LATENCY renamed), the
 * EXEC fails, INFO is asked alone in the same round, the source is marked
 * unavailable, and the monitor puts each command's calls at its mean time
 * per call (latency_source "commandstats-mean").

 * Slowlog.  SLOWLOG GET 1024 each round; only ids above the last one taken
 * go out, and the last id is written to state-dir/insight/NAME after the
 * report is in the spool, with the server's run_id (ids restart at 0 with
 * the server).  A gap between the last id and the oldest entry still held
 * is counted as lost (slowlog-max-len overflowed between two rounds).
 * The monitor drops an entry it already has (same run_id and id), so an
 * agent that dies between the spool and the state file sends a duplicate
 * the monitor ignores, never a loss.
 *
 * A source the server refuses (a renamed command, an ACL) is reported as
 * unavailable with the server's words, and asked again after
 * SOURCE_RETRY_MS; the others go on.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_COMP "insight"
#include "log.h"
#include "agent.h"
#include "bigkeys.h"
#include "cmdstats.h"
#include "hotkeys.h"
#include "info.h"
#include "insight.h"
#include "rconn.h"
#include "util.h"

#define SOURCE_RETRY_MS		(10 * 60 * 1000)

/* The sources that can be unavailable, by name. */
enum { SRC_HIST, SRC_SLOWLOG, SRC_MONITOR, SRC_BIGKEYS, SRC_COUNT };
static const char *const src_names[SRC_COUNT] = {
	"latency-histogram", "slowlog", "monitor", "bigkeys"
};

/* Who to tell when a reply came (the sampler's round). */
struct reply_ctx {
	struct insight	*ins;
	void		(*done)(void *);
	void		*arg;
};

struct insight {
	struct agent		*a;
	char			*name;
	char			*ip;
	int			 port;
	char			*user;
	char			*passfile;
	char			*state_path;	/* state-dir/insight/NAME */

	/* Commandstats: the last reading, this round's, and the delta. */
	struct cmdtable		*prev, *cur, *delta;
	int			 have_prev;
	int			 cur_ok;	/* cur was read this round */
	char			 prev_run[48];
	char			 run_id[48];	/* this round's */
	double			 ops;
	char			 policy[32];
	struct owncalls		 own;
	struct insight_target	 as_target;	/* itself, for a scan of it */
	/*
	 * This round's calls that its reading cannot count: INFO does not
	 * count itself, and LATENCY HISTOGRAM, EXEC and SLOWLOG GET run after
	 * it.  They join own once the reading's delta is taken, so that they
	 * are taken out of the next one, and never out of a workload call of
	 * the same command in this one (the monitor's INFO replication).
	 */
	struct owncalls		 self;

	/* Sources refused by the server: why, and until when. */
	char			 why[SRC_COUNT][160];
	uint64_t		 retry_at[SRC_COUNT];

	/* Slowlog: the last id taken, and this round's new entries. */
	int			 have_last;
	uint64_t		 last_id;
	char			 last_run[48];
	struct slowentry	*slow;
	int			 nslow;
	uint64_t		 lost;

	struct hotkeys		*hk;
	struct bigscan		*bs;
	struct bigscan_conf	 bconf;
	char			 scanned_ip[64];
	int			 scanned_port;
	int			 sched_day;	/* yday+year*400 of the last scheduled scan */

	/* What insight_fill handed out, freed by insight_sent. */
	Ccnode__CommandStat	*cs, **csp;
	Ccnode__SlowlogEntry	*se, **sep;
	ProtobufCBinaryData	*args;
	Ccnode__SourceStatus	*ss, **ssp;
	Ccnode__HotKeys		 hkmsg;
	Ccnode__BigKeyScan	 bsmsg;
	int			 slow_taken;	/* entries handed out this round */
	/* Embedded: a freed connection drops its callbacks unrun. */
	struct reply_ctx	 slow_ctx;
};

static void
source_ok(struct insight *ins, int src)
{
	if (ins->why[src][0] != '\0')
		log_info("instance %s: %s is available again", ins->name,
		    src_names[src]);
	ins->why[src][0] = '\0';
	ins->retry_at[src] = 0;
}

static void
source_refused(struct insight *ins, int src, const char *why)
{
	if (strcmp(ins->why[src], why) != 0)
		log_warnx("instance %s: %s unavailable: %s (asked again in "
		    "%d min)", ins->name, src_names[src], why,
		    SOURCE_RETRY_MS / 60000);
	str_copy(ins->why[src], sizeof(ins->why[src]), why);
	ins->retry_at[src] = mono_ms() + SOURCE_RETRY_MS;
}

static int
source_due(const struct insight *ins, int src)
{
	return ins->why[src][0] == '\0' || mono_ms() >= ins->retry_at[src];
}

/* ---- the slowlog's last id, in state-dir --------------------------------- */

static void
slowlog_load(struct insight *ins)
{
	char		*text, *cause = NULL, run[48];
	uint64_t	 id;

	if ((text = read_small_file(ins->state_path, 256, 1, NULL,
	    &cause)) == NULL) {
		if (errno != ENOENT)
			log_warnx("instance %s: %s", ins->name, cause);
		free(cause);
		return;
	}
	if (sscanf(text, "%47s %" SCNu64, run, &id) == 2) {
		ins->have_last = 1;
		ins->last_id = id;
		str_copy(ins->last_run, sizeof(ins->last_run), run);
	} else
		log_warnx("instance %s: %s: not RUN_ID ID; the slowlog starts "
		    "over", ins->name, ins->state_path);
	free(text);
}

/*
 * Keeps the position through a rename but without fsync: this runs on the
 * event loop after every round that took entries, and a position lost to
 * a power cut only sends entries again, which the monitor drops by run_id
 * and id.
 */
static void
slowlog_save(struct insight *ins)
{
	char	 text[96], *cause = NULL;

	snprintf(text, sizeof(text), "%s %" PRIu64 "\n", ins->last_run,
	    ins->last_id);
	if (write_file_replace(ins->state_path, text, strlen(text), 0,
	    &cause) == -1) {
		log_warnx("instance %s: cannot keep the slowlog position: %s",
		    ins->name, cause);
		free(cause);
	}
}

/* ---- replies on the sampler's connection --------------------------------- */

int
insight_atomic(const struct insight *ins)
{
	return source_due(ins, SRC_HIST);
}

/* The EXEC's LATENCY HISTOGRAM answer, after insight_info with its INFO. */
void
insight_exec_hist(struct insight *ins, const redisReply *r)
{
	if (r->type == REDIS_REPLY_ERROR)
		source_refused(ins, SRC_HIST, r->str);
	else if (ins->cur_ok && cmdstats_parse_histogram(r, ins->cur) >= 0)
		source_ok(ins, SRC_HIST);
}

void
insight_exec_failed(struct insight *ins, const char *why)
{
	char msg[160];

	/* The queued LATENCY's own refusal, if it came, says more. */
	if (source_due(ins, SRC_HIST)) {
		snprintf(msg, sizeof(msg), "MULTI with LATENCY HISTOGRAM "
		    "failed: %s", why);
		source_refused(ins, SRC_HIST, msg);
	}
	owncalls_add(&ins->self, "info", 1);	/* the sampler asks again */
}

static void
insight_slowlog_cb(struct rconn *rc, redisReply *r, const char *err,
    void *arg)
{
	struct reply_ctx	*c = arg;
	struct insight		*ins = c->ins;
	struct slowentry	*v = NULL;
	uint64_t		 lost = 0;
	int			 n, same;

	if (r != NULL && r->type == REDIS_REPLY_ERROR)
		source_refused(ins, SRC_SLOWLOG, r->str);
	else if (r != NULL && ins->run_id[0] != '\0') {
		same = ins->have_last && strcmp(ins->last_run, ins->run_id) == 0;
		n = slowlog_parse(r, same, ins->last_id, &v, &lost);
		if (n >= 0) {
			source_ok(ins, SRC_SLOWLOG);
			slowlog_free(ins->slow, ins->nslow);
			ins->slow = v;
			ins->nslow = n;
			ins->lost = lost;
			if (lost > 0)
				log_warnx("instance %s: %" PRIu64 " slowlog "
				    "entries lost (slowlog-max-len overflowed "
				    "between two rounds)", ins->name, lost);
		}
	}
	c->done(c->arg);
}

static int
queue(struct insight *ins, struct rconn *rc, rconn_reply_cb *cb,
    struct reply_ctx *c, void (*done)(void *), void *arg, const char *own,
    const char *fmt)
{
	c->ins = ins;
	c->done = done;
	c->arg = arg;
	owncalls_add(&ins->self, own, 1);	/* after the reading */
	rconn_cmdf(rc, cb, c, fmt);
	return 1;
}

int
insight_send(struct insight *ins, struct rconn *rc, int queued,
    void (*done)(void *), void *arg)
{
	int	n = 0;

	/*
	 * What the sampler just queued (INFO ALL, or MULTI, INFO ALL, LATENCY
	 * HISTOGRAM and EXEC).  The connection's handshake after a reconnect
	 * (AUTH, CLIENT SETNAME) is counted by rconn itself (rconn_opts.own).
	 */
	owncalls_add(&ins->self, "info", 1);	/* the INFO ALL just queued */
	if (queued > 1) {
		owncalls_add(&ins->own, "multi", 1);	/* before the INFO */
		owncalls_add(&ins->self, "latency|histogram", 1);
		owncalls_add(&ins->self, "exec", 1);
	}
	if (source_due(ins, SRC_SLOWLOG))
		n += queue(ins, rc, insight_slowlog_cb, &ins->slow_ctx, done, arg,
		    "slowlog|get", "SLOWLOG GET 1024");
	return n;
}

void
insight_info(struct insight *ins, const struct info *info, const char *text,
    size_t len)
{
	ins->cur_ok = 0;
	str_copy(ins->run_id, sizeof(ins->run_id), info->run_id);
	str_copy(ins->policy, sizeof(ins->policy), info->policy);
	ins->ops = info->values[RM_OPS];
	if (cmdstats_parse_info(text, len, ins->cur) >= 0)
		ins->cur_ok = 1;
}

/* ---- big keys and hot keys ----------------------------------------------- */

static int
scan_start(struct insight *ins, const struct insight_target *replica,
    const char *reason, char *err, size_t errlen)
{
	struct bigscan_target	 t;
	const struct insight_target *on = replica != NULL ? replica :
	    &ins->as_target;

	memset(&t, 0, sizeof(t));
	t.name = ins->name;
	t.scanned = on->name;
	t.ip = on->ip;
	t.port = on->port;
	t.user = on->user;
	t.passfile = on->passfile;
	t.own = on->own;		/* the replica's, if sampled */
	if (bigscan_start(ins->bs, &t, reason, err, errlen) == -1)
		return -1;
	str_copy(ins->scanned_ip, sizeof(ins->scanned_ip), t.ip);
	ins->scanned_port = t.port;
	log_info("instance %s: big-key scan started on %s (%s)", ins->name,
	    t.scanned, reason);
	return 0;
}

int
insight_analyze(struct insight *ins, const struct insight_target *replica,
    char *err, size_t errlen)
{
	return scan_start(ins, replica, "analyze", err, errlen);
}

struct owncalls *
insight_own(struct insight *ins)
{
	return &ins->own;
}

int
insight_scans(const struct insight *ins, const char *ip, int port)
{
	return bigscan_running(ins->bs) && ins->scanned_port == port &&
	    strcmp(ins->scanned_ip, ip) == 0;
}

/* For the hot-key sampler: a scan (of this instance or another) reads it. */
static int
hk_scanned(void *arg)
{
	struct insight *ins = arg;

	return sampler_scanning(ins->a->sampler, ins->ip, ins->port);
}

/* Whether now is inside the daily window; *day names today. */
static int
in_window(const struct scan_window *w, int *day)
{
	time_t		 now = time(NULL);
	struct tm	 tm;
	int		 m;

	if (!w->on || localtime_r(&now, &tm) == NULL)
		return 0;
	m = tm.tm_hour * 60 + tm.tm_min;
	*day = tm.tm_year * 400 + tm.tm_yday;
	if (w->start_min < w->end_min)
		return m >= w->start_min && m < w->end_min;
	/* It wraps past midnight: a scan from 23:00 belongs to that day. */
	if (m < w->end_min)
		*day -= 1;
	return m >= w->start_min || m < w->end_min;
}

void
insight_round(struct insight *ins, const struct insight_target *replica,
    int skip_schedule, double scan_ops, uint32_t scan_rtt_us)
{
	char	err[160];
	int	day;

	if (!skip_schedule && !bigscan_running(ins->bs) &&
	    in_window(&ins->a->conf->scan_window, &day) &&
	    day != ins->sched_day) {
		ins->sched_day = day;
		if (scan_start(ins, replica, "schedule", err, sizeof(err)) == -1)
			log_warnx("instance %s: scheduled big-key scan: %s",
			    ins->name, err);
	}
	if (bigscan_running(ins->bs))
		bigscan_round(ins->bs, scan_ops, scan_rtt_us);
	if (ins->hk != NULL)
		hotkeys_round(ins->hk, ins->ops, ins->policy);
}

/* ---- into the report ------------------------------------------------------ */

static void
fill_commands(struct insight *ins, Ccnode__InstanceSample *is)
{
	struct cmdtable	*t;
	size_t		 i, n, hist = 0;
	int		 same;

	if (!ins->cur_ok) {
		owncalls_move(&ins->own, &ins->self);
		return;
	}
	same = ins->have_prev && strcmp(ins->prev_run, ins->run_id) == 0;
	if (same && !cmdstats_reset(ins->prev, ins->cur)) {
		cmdstats_delta(ins->prev, ins->cur, &ins->own, 0, ins->delta);
		owncalls_move(&ins->own, &ins->self);
	} else {
		/*
		 * The first reading, a reset or a restarted server: a new
		 * baseline.  This round's own calls are matched against it
		 * too: LATENCY HISTOGRAM gives the calls of a command INFO
		 * did not list yet, and then counts the INFO itself.
		 */
		if (same)
			log_info("instance %s: command counters were reset; "
			    "counting from this reading", ins->name);
		cmdtable_clear(ins->delta);
		owncalls_move(&ins->own, &ins->self);
		owncalls_rebase(&ins->own, ins->cur);
	}
	ins->have_prev = 1;
	str_copy(ins->prev_run, sizeof(ins->prev_run), ins->run_id);
	t = ins->prev;
	ins->prev = ins->cur;
	ins->cur = t;
	ins->cur_ok = 0;

	n = ins->delta->n;
	if (n == 0)
		return;
	ins->cs = xcalloc(n, sizeof(*ins->cs));
	ins->csp = xcalloc(n, sizeof(*ins->csp));
	for (i = 0; i < n; i++) {
		struct cmdstat		*c = &ins->delta->v[i];
		Ccnode__CommandStat	*m = &ins->cs[i];
		size_t			 nb = LAT_BUCKETS;

		ccnode__command_stat__init(m);
		m->cmd = c->name;
		m->calls = c->calls;
		m->usec = c->usec;
		m->failed = c->failed;
		/*
		 * A command without a histogram of its own goes without: the
		 * monitor puts its calls at their mean, and says so.
		 */
		while (nb > 0 && c->hist[nb - 1] == 0)
			nb--;
		m->n_hist = c->has_hist ? nb : 0;
		m->hist = c->hist;
		hist += c->has_hist != 0;
		ins->csp[i] = m;
	}
	is->n_commands = n;
	is->commands = ins->csp;
	is->latency_source = hist == n ? "latency-histogram" : hist == 0 ?
	    "commandstats-mean" : "mixed";
}

static void
fill_slowlog(struct insight *ins, Ccnode__InstanceSample *is)
{
	size_t	nargs = 0, k = 0;
	int	i, j;

	is->slowlog_lost = ins->lost;
	if (ins->nslow == 0)
		return;
	for (i = 0; i < ins->nslow; i++)
		nargs += (size_t)ins->slow[i].nargs;
	ins->se = xcalloc((size_t)ins->nslow, sizeof(*ins->se));
	ins->sep = xcalloc((size_t)ins->nslow, sizeof(*ins->sep));
	ins->args = xcalloc(nargs + 1, sizeof(*ins->args));
	for (i = 0; i < ins->nslow; i++) {
		struct slowentry	*e = &ins->slow[i];
		Ccnode__SlowlogEntry	*m = &ins->se[i];

		ccnode__slowlog_entry__init(m);
		m->id = e->id;
		m->time = e->time;
		m->duration_us = e->duration_us;
		m->client = e->client;
		m->client_name = e->name;
		m->run_id = ins->run_id;
		m->args = &ins->args[k];
		m->n_args = (size_t)e->nargs;
		for (j = 0; j < e->nargs; j++, k++) {
			ins->args[k].data = (uint8_t *)e->args[j];
			ins->args[k].len = e->arglen[j];
		}
		ins->sep[i] = m;
	}
	is->n_slowlog = (size_t)ins->nslow;
	is->slowlog = ins->sep;
	ins->slow_taken = ins->nslow;
}

void
insight_fill(struct insight *ins, Ccnode__InstanceSample *is)
{
	const char	*why = "";
	size_t		 n = 0;
	int		 i;

	fill_commands(ins, is);
	fill_slowlog(ins, is);
	if (ins->hk != NULL) {
		if (hotkeys_take(ins->hk, &ins->hkmsg, &why) == 1)
			is->hotkeys = &ins->hkmsg;
		if (why != NULL && why[0] != '\0')
			str_copy(ins->why[SRC_MONITOR],
			    sizeof(ins->why[SRC_MONITOR]), why);
		else
			ins->why[SRC_MONITOR][0] = '\0';
	}
	if (bigscan_take(ins->bs, &ins->bsmsg) == 1) {
		is->bigkeys = &ins->bsmsg;
		log_info("instance %s: big-key scan %s: %" PRIu64 " keys in "
		    "%" PRIu64 " ms%s%s", ins->name, ins->bsmsg.complete ?
		    "complete" : "not complete", ins->bsmsg.keys,
		    ins->bsmsg.duration_ms, ins->bsmsg.reason[0] ? ": " : "",
		    ins->bsmsg.reason);
	}
	for (i = 0; i < SRC_COUNT; i++)
		if (ins->why[i][0] != '\0')
			n++;
	if (n > 0) {
		ins->ss = xcalloc(n, sizeof(*ins->ss));
		ins->ssp = xcalloc(n, sizeof(*ins->ssp));
		for (n = 0, i = 0; i < SRC_COUNT; i++) {
			if (ins->why[i][0] == '\0')
				continue;
			ccnode__source_status__init(&ins->ss[n]);
			ins->ss[n].source = (char *)src_names[i];
			ins->ss[n].reason = ins->why[i];
			ins->ssp[n] = &ins->ss[n];
			n++;
		}
		is->n_sources = n;
		is->sources = ins->ssp;
	}
}

static void
fill_release(struct insight *ins)
{
	free(ins->cs);
	free(ins->csp);
	free(ins->se);
	free(ins->sep);
	free(ins->args);
	free(ins->ss);
	free(ins->ssp);
	ins->cs = NULL;
	ins->csp = NULL;
	ins->se = NULL;
	ins->sep = NULL;
	ins->args = NULL;
	ins->ss = NULL;
	ins->ssp = NULL;
}

void
insight_sent(struct insight *ins)
{
	fill_release(ins);
	if (ins->slow_taken > 0) {
		ins->have_last = 1;
		ins->last_id = ins->slow[ins->slow_taken - 1].id;
		str_copy(ins->last_run, sizeof(ins->last_run), ins->run_id);
		slowlog_save(ins);
	} else if (ins->run_id[0] != '\0' &&
	    strcmp(ins->last_run, ins->run_id) != 0 && ins->nslow == 0 &&
	    ins->why[SRC_SLOWLOG][0] == '\0') {
		/* A new server with an empty slowlog: its ids start at 0. */
		ins->have_last = 0;
	}
	slowlog_free(ins->slow, ins->nslow);
	ins->slow = NULL;
	ins->nslow = 0;
	ins->slow_taken = 0;
	ins->lost = 0;
}

/* ---- life ------------------------------------------------------------------ */

struct insight *
insight_new(struct agent *a, const struct insight_target *t)
{
	struct insight		*ins = xcalloc(1, sizeof(*ins));
	struct hotkeys_target	 ht;
	char			*dir;

	ins->a = a;
	ins->name = xstrdup(t->name);
	ins->ip = xstrdup(t->ip);
	ins->port = t->port;
	ins->user = t->user ? xstrdup(t->user) : NULL;
	ins->passfile = t->passfile ? xstrdup(t->passfile) : NULL;
	ins->as_target.name = ins->name;
	ins->as_target.ip = ins->ip;
	ins->as_target.port = ins->port;
	ins->as_target.user = ins->user;
	ins->as_target.passfile = ins->passfile;
	ins->as_target.own = &ins->own;
	ins->prev = xcalloc(1, sizeof(*ins->prev));
	ins->cur = xcalloc(1, sizeof(*ins->cur));
	ins->delta = xcalloc(1, sizeof(*ins->delta));
	ins->sched_day = -1;

	xasprintf(&dir, "%s/insight", a->conf->state_dir);
	if (mkdir_p(dir, 0700) == -1)
		log_warnx("cannot create %s: %s", dir, strerror(errno));
	xasprintf(&ins->state_path, "%s/%s", dir, t->name);
	free(dir);
	slowlog_load(ins);

	ins->bconf.rate = (uint64_t)a->conf->bigkey_rate;
	ins->bconf.count = BIGSCAN_COUNT;
	ins->bconf.string_limit = a->conf->bigkey_string_limit;
	ins->bconf.elements_limit = (uint64_t)a->conf->bigkey_elements_limit;
	ins->bconf.top_n = (uint32_t)a->conf->bigkey_top;
	ins->bconf.exact_limit = BIGSCAN_EXACT_LIMIT;
	ins->bs = bigscan_new(a->base, &ins->bconf);

	if (a->conf->hotkeys_budget > 0) {
		memset(&ht, 0, sizeof(ht));
		ht.name = ins->name;
		ht.ip = ins->ip;
		ht.port = ins->port;
		ht.user = ins->user;
		ht.passfile = ins->passfile;
		ht.budget = (double)a->conf->hotkeys_budget / 100.0;
		ht.min_period_ms = (uint32_t)a->conf->sample_interval;
		ht.own = &ins->own;
		ht.scanned = hk_scanned;
		ht.arg = ins;
		ins->hk = hotkeys_new(a->base, &ht);
	}
	return ins;
}

void
insight_free(struct insight *ins)
{
	if (ins == NULL)
		return;
	fill_release(ins);
	hotkeys_free(ins->hk);
	bigscan_free(ins->bs);
	slowlog_free(ins->slow, ins->nslow);
	free(ins->prev);
	free(ins->cur);
	free(ins->delta);
	free(ins->state_path);
	free(ins->name);
	free(ins->ip);
	free(ins->user);
	free(ins->passfile);
	free(ins);
}
