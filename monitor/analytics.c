/*
 * analytics.c: the deep Redis analytics (issue 5) as the monitor keeps and
 * serves them.  The agents measure; each InstanceSample brings, in fields
 * 23 to 30:
 *
 *	commands	per-command deltas since the previous sample (the
 *			agent's own calls taken out), each with a histogram
 *			of power-of-two microsecond buckets
 *	slowlog		new SLOWLOG entries, and how many were lost
 *	hotkeys		the top keys of a MONITOR window that closed (estimates)
 *	bigkeys		a big-key scan that ended
 *	sources		the analytics sources that are unavailable, and why
 *	proxy		an interface process's stats
 *
 * store.c calls analytics_ingest() once per stored sample, never for a
 * replay it has dropped, so nothing here counts a sample twice.
 *
 * This file is the module: it hands each sample's parts to their keepers,
 * keeps the command figures, the sources and the proxy detail in memory,
 * serves them, and routes the API paths.  The slowlog is stored and
 * queried by slowstore.c, the big-key scans by bigstore.c, the hot keys by
 * hotstore.c; analytics_int.h holds what the four files share.
 *
 * Commands.  Each sample's deltas go to "realtime" (the last sample), to
 * a ring of 72 five-minute buckets (the 30m and 6h spans) and to a ring of
 * 24 one-hour buckets (24h), by the sample's time.  A bucket holds, per
 * command, calls, usec, failed calls and the calls in each slot of the
 * latency ladder: the histogram is folded into the ladder at ingest, each
 * configured edge realised as the nearest edge of Redis's histogram
 * buckets (conf.c).  When a
 * histogram's total differs from the calls (the agent takes its own calls
 * out of calls, and cannot out of the histogram), the slots are scaled to
 * the calls, largest remainder first, so the ladder always adds up to the
 * calls.  Without a histogram (before Redis 7), all of a command's calls
 * go to the slot of its mean, usec / calls, and the source says so.  A
 * bucket keeps at most 128 commands; the rest are summed as "(other)".
 *
 * Files past 7 days (slowlog) and 30 days (big keys) are removed at start
 * and every hour.
 *
 * Memory per instance, with the default ladder (7 slots, so 82 bytes per
 * command entry): a command bucket holds at most 129 entries (10.6 KB),
 * and there are 98 (realtime, 72 and 24): 1.0 MB at most.  The names (at
 * most 512 of 48 bytes) and the cumulative figures of /metrics (80 bytes
 * a name) add at most 65 KB.  Hot keys: 1.7 MB at most (hotstore.c).
 * The proxy detail: at most 256 servers, 59 KB.  The slowlog and big keys
 * stay on disk: under 1 KB of state.  Measured after 24 h of 5 s samples (malloc'd bytes): 20
 * commands, 220 KB; 150 commands, 1.1 MB; 20 commands and hot-key
 * windows of 100 keys of 43 bytes every 10 s, 515 KB.  Nothing is
 * allocated before a sample carries analytics.
 */
#include "config.h"

#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define LOG_COMP "analytics"
#include "log.h"
#include "json.h"
#include "cmdstats.h"
#include "monitor.h"
#include "util.h"
#include "analytics_int.h"

#define CMD_NAMES_MAX	512		/* distinct names per instance */
#define CMD_BUCKET_MAX	128		/* commands per bucket, "(other)" aside */
#define OTHER		0		/* the id of "(other)" */
#define NB5		72		/* 6 h of five-minute buckets */
#define NBH		24		/* 24 h of one-hour buckets */
#define SERVERS_MAX	256
#define SWEEP_S		3600		/* file retention, checked hourly */

#define SRC_HIST	0x01		/* from latency histograms */
#define SRC_MEAN	0x02		/* from usec / calls */

/* Values of a command entry: then the ladder's slots. */
enum { V_CALLS, V_USEC, V_FAILED, V_LADDER };

const char *const analytics_span_names[] = { "realtime", "30m", "6h",
	"24h", NULL };


/* ---- small helpers -------------------------------------------------------- */

/* {"error": ...} and *code 400. */
json_t *
analytics_bad(int *code, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*code = 400;
	return json_pack("{s:o}", "error", json_str(msg));
}

/* The local date of a Unix time in ms, as YYYYMMDD. */
int
analytics_date_of(int64_t ms)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 +
	    tm.tm_mday;
}

/* A bounded integer parameter: 0 (absent: *v untouched), or -1. */
int
analytics_param_ll(const struct evkeyvalq *q, const char *name, long long lo,
    long long hi, long long *v, const char **text)
{
	const char	*s = evhttp_find_header(q, name);
	long long	 ll;

	*text = s;
	if (s == NULL)
		return 0;
	if (parse_ll(s, &ll) == -1 || ll < lo || ll > hi)
		return -1;
	*v = ll;
	return 0;
}

int
analytics_param_span(const struct evkeyvalq *q, enum span *sp)
{
	const char	*s = evhttp_find_header(q, "span");
	int		 i;

	*sp = SP_30M;
	if (s == NULL)
		return 0;
	for (i = 0; analytics_span_names[i] != NULL; i++)
		if (strcmp(s, analytics_span_names[i]) == 0) {
			*sp = (enum span)i;
			return 0;
		}
	return -1;
}

/* dir/NAME/PREFIX-YYYYMMDD.SUFFIX into buf: 0, or -1 if too long. */
int
analytics_file_path(const struct analytics *a, const char *name,
    const char *prefix, int date, const char *suffix, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s-%08d.%s", a->dir, name, prefix,
	    date, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Makes dir/NAME: 0, or -1. */
int
analytics_inst_dir(const struct analytics *a, const char *name)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", a->dir, name) >=
	    sizeof(path))
		return -1;
	return mkdir_p(path, 0750);
}

/* Whether fname is PREFIX-YYYYMMDD.SUFFIX; *date gets the date. */
int
analytics_name_date(const char *fname, const char *prefix, const char *suffix,
    int *date)
{
	size_t	pl = strlen(prefix), sl = strlen(suffix);
	int	i, v = 0;

	if (strlen(fname) != pl + 8 + sl || strncmp(fname, prefix, pl) != 0 ||
	    strcmp(fname + pl + 8, suffix) != 0)
		return 0;
	for (i = 0; i < 8; i++) {
		if (!isdigit((unsigned char)fname[pl + i]))
			return 0;
		v = v * 10 + (fname[pl + i] - '0');
	}
	*date = v;
	return 1;
}

/* ---- the module ----------------------------------------------------------- */

static void analytics_sweep_cb(evutil_socket_t, short, void *);

/* "1ms", "500us", "2s". */
static void
fmt_us(char *buf, size_t len, uint64_t us, uint64_t *div, const char **unit)
{
	if (us % 1000000 == 0) {
		*div = 1000000;
		*unit = "s";
	} else if (us % 1000 == 0) {
		*div = 1000;
		*unit = "ms";
	} else {
		*div = 1;
		*unit = "us";
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)(us / *div), *unit);
}

/* "<1ms", "1-2ms", "500us-1ms", ">=100ms". */
static void
ladder_labels(struct analytics *a)
{
	const struct latency_ladder	*l = &a->ladder;
	char				 lo[32], hi[32];
	const char			*ulo, *uhi;
	uint64_t			 dlo, dhi;
	int				 i;

	for (i = 0; i <= l->n; i++) {
		if (i == 0) {
			fmt_us(hi, sizeof(hi), l->conf_us[0], &dhi, &uhi);
			snprintf(a->labels[i], sizeof(a->labels[i]), "<%s", hi);
		} else if (i == l->n) {
			fmt_us(lo, sizeof(lo), l->conf_us[i - 1], &dlo, &ulo);
			snprintf(a->labels[i], sizeof(a->labels[i]), ">=%s", lo);
		} else {
			fmt_us(lo, sizeof(lo), l->conf_us[i - 1], &dlo, &ulo);
			fmt_us(hi, sizeof(hi), l->conf_us[i], &dhi, &uhi);
			if (dlo == dhi)
				snprintf(a->labels[i], sizeof(a->labels[i]),
				    "%llu-%s", (unsigned long long)
				    (l->conf_us[i - 1] / dlo), hi);
			else
				snprintf(a->labels[i], sizeof(a->labels[i]),
				    "%s-%s", lo, hi);
		}
	}
}

struct analytics *
analytics_new(struct monitor *m)
{
	struct analytics	*a = xcalloc(1, sizeof(*a));
	struct timeval		 tv = { SWEEP_S, 0 };
	int			 i, j;

	a->m = m;
	a->ladder = m->conf->latency_ladder;	/* its default is in conf.c */
	a->nslots = a->ladder.n + 1;
	a->stride = V_LADDER + a->nslots;
	for (i = 0; i < HIST_MAX; i++) {
		/* Bucket i holds calls of at most lat_bucket_upper(i) us. */
		for (j = 0; j < a->ladder.n; j++)
			if (lat_bucket_upper(i) <= a->ladder.edge_us[j])
				break;
		a->slot_of[i] = (uint8_t)j;
	}
	ladder_labels(a);
	xasprintf(&a->dir, "%s/analytics", m->conf->data_dir);
	analytics_sweep(a, wall_ms());
	if (m->base != NULL) {
		a->sweep = event_new(m->base, -1, EV_PERSIST,
		    analytics_sweep_cb, a);
		event_add(a->sweep, &tv);
	}
	return a;
}

void
analytics_free(struct analytics *a)
{
	if (a == NULL)
		return;
	if (a->sweep != NULL)
		event_free(a->sweep);
	free(a->dir);
	free(a);
}

const struct latency_ladder *
analytics_ladder(const struct analytics *a)
{
	return &a->ladder;
}

static void
cbucket_clear(struct cbucket *b)
{
	free(b->ids);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

static struct analytics_inst *
inst_new(struct analytics *a)
{
	struct analytics_inst *ai = xcalloc(1, sizeof(*ai));

	ai->stride = a->stride;
	ai->names = xcalloc(8, sizeof(*ai->names));
	str_copy(ai->names[OTHER], MON_CMD_NAME_MAX, "(other)");
	ai->nnames = 1;
	ai->cum = xcalloc(8, (size_t)a->stride * sizeof(uint64_t));
	ai->slow_rate = NAN;
	return ai;
}

void
analytics_instance_free(struct analytics_inst *ai)
{
	int i;

	if (ai == NULL)
		return;
	cbucket_clear(&ai->rt);
	for (i = 0; ai->b5 != NULL && i < NB5; i++)
		cbucket_clear(&ai->b5[i]);
	for (i = 0; ai->bh != NULL && i < NBH; i++)
		cbucket_clear(&ai->bh[i]);
	free(ai->b5);
	free(ai->bh);
	free(ai->names);
	free(ai->cum);
	hotstore_free(ai);
	free(ai->proxy.servers);
	free(ai);
}

/* ---- commands: ingest ----------------------------------------------------- */

/* Lower case letters, digits and _ | . : - only; 1 to 47 of them. */
static int
cmd_name_ok(const char *s, char *out)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= MON_CMD_NAME_MAX - 1 || !(isalnum(c) || c == '_' ||
		    c == '|' || c == '.' || c == ':' || c == '-'))
			return 0;
		out[i] = (char)tolower(c);
	}
	out[i] = '\0';
	return i > 0;
}

/* The id of a command name in the instance's table ("(other)" when full). */
static int
cmd_id(struct analytics_inst *ai, const struct instance *in, const char *cmd)
{
	char	name[MON_CMD_NAME_MAX];
	int	i, cap;

	if (!cmd_name_ok(cmd, name)) {
		if (!(ai->warned & W_NAME))
			log_warnx("instance=%s: a command name that is not one "
			    "(\"%.60s\"); counted as (other) (logged once)",
			    in->name, cmd);
		ai->warned |= W_NAME;
		return OTHER;
	}
	for (i = 1; i < ai->nnames; i++)
		if (strcmp(ai->names[i], name) == 0)
			return i;
	if (ai->nnames >= CMD_NAMES_MAX) {
		if (!(ai->warned & W_NAMES))
			log_warnx("instance=%s: more than %d command names; the "
			    "rest are counted as (other) (logged once)",
			    in->name, CMD_NAMES_MAX);
		ai->warned |= W_NAMES;
		return OTHER;
	}
	/* Both arrays grow by powers of two from 8. */
	for (cap = 8; cap < ai->nnames; cap *= 2)
		;
	if (ai->nnames == cap) {
		ai->names = xreallocarray(ai->names, (size_t)cap * 2,
		    sizeof(*ai->names));
		ai->cum = xreallocarray(ai->cum, (size_t)cap * 2 *
		    (size_t)ai->stride, sizeof(uint64_t));
		memset(ai->cum + (size_t)cap * ai->stride, 0,
		    (size_t)cap * ai->stride * sizeof(uint64_t));
	}
	memcpy(ai->names[ai->nnames], name, sizeof(name));
	return ai->nnames++;
}

/*
 * Scales slots summing to total so that they sum to calls: each gets its
 * share rounded down, and what is left goes one by one to the slots with
 * the largest remainders.
 */
static void
ladder_scale(uint64_t *s, int n, uint64_t total, uint64_t calls)
{
	long double	f = (long double)calls / (long double)total;
	long double	frac[SLOTS_MAX], x;
	uint64_t	sum = 0;
	int		i, best;

	for (i = 0; i < n; i++) {
		x = (long double)s[i] * f;
		s[i] = (uint64_t)x;
		frac[i] = x - (long double)s[i];
		sum += s[i];
	}
	while (sum < calls) {
		for (best = 0, i = 1; i < n; i++)
			if (frac[i] > frac[best])
				best = i;
		s[best]++;
		frac[best] = -1;
		sum++;
	}
	while (sum > calls) {
		for (best = 0, i = 1; i < n; i++)
			if (s[i] > s[best])
				best = i;
		s[best]--;
		sum--;
	}
}

/* Folds one CommandStat into v (stride values).  Returns its SRC_*. */
static int
fold(const struct analytics *a, struct analytics_inst *ai,
    const struct instance *in, const Ccnode__CommandStat *cs, uint64_t *v)
{
	uint64_t	*slots = v + V_LADDER, total = 0;
	size_t		 i, n = MINIMUM(cs->n_hist, (size_t)HIST_MAX);
	double		 mean;
	int		 j;

	memset(v, 0, (size_t)a->stride * sizeof(*v));
	v[V_CALLS] = cs->calls;
	v[V_USEC] = cs->usec;
	v[V_FAILED] = cs->failed;
	for (i = 0; i < n; i++) {
		slots[a->slot_of[i]] = sat_add(slots[a->slot_of[i]],
		    cs->hist[i]);
		total = sat_add(total, cs->hist[i]);
	}
	if (total > 0) {
		if (total != cs->calls) {
			if (!(ai->warned & W_SCALE))
				log_info("instance=%s: the latency histogram "
				    "of %s counts %llu calls, commandstats "
				    "%llu; the ladder is scaled to the calls "
				    "(logged once)", in->name, cs->cmd,
				    (unsigned long long)total,
				    (unsigned long long)cs->calls);
			ai->warned |= W_SCALE;
			ladder_scale(slots, a->nslots, total, cs->calls);
		}
		return SRC_HIST;
	}
	if (cs->calls == 0)
		return 0;
	mean = (double)cs->usec / (double)cs->calls;
	for (j = 0; j < a->ladder.n; j++)
		if (mean <= (double)a->ladder.edge_us[j])
			break;
	slots[j] = cs->calls;
	return SRC_MEAN;
}

/* Adds v to the entry of id in b; past CMD_BUCKET_MAX, to "(other)". */
static void
cbucket_add(struct cbucket *b, int id, const uint64_t *v, int stride)
{
	uint64_t	*e;
	int		 i, k;

	for (i = 0; i < b->n; i++)
		if (b->ids[i] == id)
			break;
	if (i == b->n && b->n >= CMD_BUCKET_MAX && id != OTHER) {
		id = OTHER;
		for (i = 0; i < b->n; i++)
			if (b->ids[i] == OTHER)
				break;
	}
	if (i == b->n) {
		if (b->n == b->cap) {
			/* By 8: most workloads use a few dozen commands. */
			b->cap = MINIMUM(b->cap + 8, CMD_BUCKET_MAX + 1);
			b->ids = xreallocarray(b->ids, b->cap, sizeof(*b->ids));
			b->v = xreallocarray(b->v, (size_t)b->cap * stride,
			    sizeof(*b->v));
		}
		b->ids[i] = (uint16_t)id;
		memset(b->v + (size_t)i * stride, 0, stride * sizeof(*b->v));
		b->n++;
	}
	e = b->v + (size_t)i * stride;
	for (k = 0; k < stride; k++)
		e[k] = sat_add(e[k], v[k]);
}

static void
cbucket_reset(struct cbucket *b, int64_t start)
{
	b->n = 0;
	b->sources = 0;
	b->start_ms = start;
	b->from_ms = b->to_ms = 0;
}

/* The bucket of t in a ring, reset if it held older data; NULL if t is older. */
static struct cbucket *
cring(struct cbucket *ring, int n, int64_t width, int64_t t)
{
	int64_t		 start = t - t % width;
	struct cbucket	*b = &ring[(start / width) % n];

	if (b->start_ms == start)
		return b;
	if (b->start_ms > start)
		return NULL;
	cbucket_reset(b, start);
	return b;
}

static void
cover(struct cbucket *b, int64_t from, int64_t to)
{
	if (b->from_ms == 0 || from < b->from_ms)
		b->from_ms = from;
	if (to > b->to_ms)
		b->to_ms = to;
}

static void
cmds_ingest(struct analytics *a, struct analytics_inst *ai,
    const struct instance *in, int64_t t, const Ccnode__InstanceSample *is)
{
	struct cbucket	*b5, *bh;
	uint64_t	 v[V_LADDER + SLOTS_MAX];
	int64_t		 from = ai->last_t > 0 && ai->last_t < t ?
			    ai->last_t : t;
	size_t		 i, k;
	int		 id, src;

	if (ai->b5 == NULL) {
		ai->b5 = xcalloc(NB5, sizeof(*ai->b5));
		ai->bh = xcalloc(NBH, sizeof(*ai->bh));
	}
	cbucket_reset(&ai->rt, t);
	b5 = cring(ai->b5, NB5, MIN5, t);
	bh = cring(ai->bh, NBH, HOUR, t);
	cover(&ai->rt, from, t);
	if (b5 != NULL)
		cover(b5, from, t);
	if (bh != NULL)
		cover(bh, from, t);
	for (i = 0; i < is->n_commands; i++) {
		const Ccnode__CommandStat *cs = is->commands[i];

		id = cmd_id(ai, in, cs->cmd);
		src = fold(a, ai, in, cs, v);
		cbucket_add(&ai->rt, id, v, a->stride);
		ai->rt.sources |= src;
		if (b5 != NULL) {
			cbucket_add(b5, id, v, a->stride);
			b5->sources |= src;
		}
		if (bh != NULL) {
			cbucket_add(bh, id, v, a->stride);
			bh->sources |= src;
		}
		for (k = 0; k < (size_t)a->stride; k++)
			ai->cum[(size_t)id * a->stride + k] = sat_add(
			    ai->cum[(size_t)id * a->stride + k], v[k]);
	}
	ai->last_t = t;
}

/* ---- commands: queries ---------------------------------------------------- */

/* The buckets of a span, newest window first; returns how many. */
static int
cmd_span(const struct analytics_inst *ai, enum span sp, int64_t now,
    const struct cbucket **out)
{
	const struct cbucket	*ring;
	int64_t			 width, lo;
	int			 n, want, i, k = 0;

	if (ai == NULL)
		return 0;
	if (sp == SP_RT) {
		if (ai->rt.start_ms == 0)
			return 0;
		out[0] = &ai->rt;
		return 1;
	}
	if (ai->b5 == NULL)
		return 0;
	switch (sp) {
	case SP_30M:
		ring = ai->b5, n = NB5, width = MIN5, want = 6;
		break;
	case SP_6H:
		ring = ai->b5, n = NB5, width = MIN5, want = NB5;
		break;
	default:
		ring = ai->bh, n = NBH, width = HOUR, want = NBH;
		break;
	}
	lo = now - now % width - (int64_t)(want - 1) * width;
	for (i = 0; i < n; i++)
		if (ring[i].start_ms != 0 && ring[i].start_ms >= lo)
			out[k++] = &ring[i];
	return k;
}

/* from/to and the sources of the buckets. */
static void
span_cover(const struct cbucket **b, int n, json_t *o, int *sources)
{
	int64_t	from = 0, to = 0;
	int	i;

	*sources = 0;
	for (i = 0; i < n; i++) {
		if (b[i]->from_ms != 0 && (from == 0 || b[i]->from_ms < from))
			from = b[i]->from_ms;
		if (b[i]->to_ms > to)
			to = b[i]->to_ms;
		*sources |= b[i]->sources;
	}
	json_object_set_new(o, "from", json_time_ms(from));
	json_object_set_new(o, "to", json_time_ms(to));
}

struct cmdsum {
	int		 id;
	uint64_t	 calls, usec;
};

static int
cmdsum_by_count(const void *x, const void *y)
{
	const struct cmdsum *a = x, *b = y;

	if (a->calls != b->calls)
		return a->calls < b->calls ? 1 : -1;
	return a->id - b->id;
}

static int
cmdsum_by_time(const void *x, const void *y)
{
	const struct cmdsum *a = x, *b = y;

	if (a->usec != b->usec)
		return a->usec < b->usec ? 1 : -1;
	return a->id - b->id;
}

static json_t *
q_top_commands(struct analytics *a, struct instance *in,
    const struct evkeyvalq *q, int64_t now, int *code)
{
	const struct analytics_inst	*ai = in->analytics;
	const struct cbucket		*b[NB5 + 1];
	struct cmdsum			*s;
	const char			*by, *text;
	long long			 limit = 10;
	enum span			 sp;
	int				 nb, i, k, n, by_time, sources;
	uint64_t			 calls = 0;
	json_t				*o, *items;

	if (analytics_param_span(q, &sp) == -1)
		return analytics_bad(code, "span: '%s' is not one of realtime, "
		    "30m, 6h, 24h", evhttp_find_header(q, "span"));
	by = evhttp_find_header(q, "by");
	if (by != NULL && strcmp(by, "count") != 0 && strcmp(by, "time") != 0)
		return analytics_bad(code, "by: '%s' is not one of count, time",
		    by);
	by_time = by != NULL && strcmp(by, "time") == 0;
	if (analytics_param_ll(q, "limit", 1, 1000, &limit, &text) == -1)
		return analytics_bad(code, "limit: '%s' is not 1 to 1000",
		    text);

	nb = cmd_span(ai, sp, now, b);
	n = ai != NULL ? ai->nnames : 1;
	s = xcalloc((size_t)n, sizeof(*s));
	for (k = 0; k < n; k++)
		s[k].id = k;
	for (i = 0; i < nb; i++)
		for (k = 0; k < b[i]->n; k++) {
			const uint64_t *e = b[i]->v + (size_t)k * a->stride;

			s[b[i]->ids[k]].calls = sat_add(s[b[i]->ids[k]].calls,
			    e[V_CALLS]);
			s[b[i]->ids[k]].usec = sat_add(s[b[i]->ids[k]].usec,
			    e[V_USEC]);
			calls = sat_add(calls, e[V_CALLS]);
		}
	o = json_object();
	json_object_set_new(o, "span", json_string(analytics_span_names[sp]));
	json_object_set_new(o, "by", json_string(by_time ? "time" : "count"));
	json_object_set_new(o, "unit", json_string(by_time ? "us" : "calls"));
	span_cover(b, nb, o, &sources);
	json_object_set_new(o, "calls", json_u64(calls));
	/* "(other)" is not a command: its figures go apart. */
	json_object_set_new(o, "other", json_u64(by_time ? s[OTHER].usec :
	    s[OTHER].calls));
	xqsort(s + 1, (size_t)n - 1, sizeof(*s), by_time ? cmdsum_by_time :
	    cmdsum_by_count);
	items = json_array();
	for (k = 1; k < n && json_array_size(items) < (size_t)limit; k++) {
		if ((by_time ? s[k].usec : s[k].calls) == 0)
			continue;
		json_array_append_new(items, json_pack("{s:s,s:o}", "cmd",
		    ai->names[s[k].id], by_time ? "took" : "count",
		    json_u64(by_time ? s[k].usec : s[k].calls)));
	}
	json_object_set_new(o, "items", items);
	free(s);
	*code = 200;
	return o;
}

static const char *
source_name(int sources, const struct analytics_inst *ai)
{
	if (sources == (SRC_HIST | SRC_MEAN))
		return "mixed";
	if (sources == SRC_HIST)
		return "latency-histogram";
	if (sources == SRC_MEAN)
		return "commandstats-mean";
	return ai != NULL && ai->latency_source[0] ? ai->latency_source : NULL;
}

static json_t *
q_latency_dist(struct analytics *a, struct instance *in,
    const struct evkeyvalq *q, int64_t now, int *code)
{
	const struct analytics_inst	*ai = in->analytics;
	const struct cbucket		*b[NB5 + 1];
	const char			*cmd = evhttp_find_header(q, "cmd");
	char				 name[MON_CMD_NAME_MAX];
	uint64_t			 slots[SLOTS_MAX], calls = 0;
	enum span			 sp;
	int				 nb, i, k, j, id = -1, sources;
	json_t				*o, *items, *edges, *conf;

	if (analytics_param_span(q, &sp) == -1)
		return analytics_bad(code, "span: '%s' is not one of realtime, "
		    "30m, 6h, 24h", evhttp_find_header(q, "span"));
	if (cmd != NULL && !cmd_name_ok(cmd, name))
		return analytics_bad(code, "cmd: '%s' is not a command name",
		    cmd);
	if (cmd != NULL && ai != NULL)
		for (k = 1; k < ai->nnames; k++)
			if (strcmp(ai->names[k], name) == 0)
				id = k;
	nb = cmd_span(ai, sp, now, b);
	memset(slots, 0, sizeof(slots));
	for (i = 0; i < nb; i++)
		for (k = 0; k < b[i]->n; k++) {
			const uint64_t *e = b[i]->v + (size_t)k * a->stride;

			if (cmd != NULL && b[i]->ids[k] != id)
				continue;
			for (j = 0; j < a->nslots; j++)
				slots[j] = sat_add(slots[j], e[V_LADDER + j]);
		}
	o = json_object();
	json_object_set_new(o, "span", json_string(analytics_span_names[sp]));
	json_object_set_new(o, "cmd", cmd != NULL ? json_string(name) :
	    json_null());
	span_cover(b, nb, o, &sources);
	items = json_array();
	for (j = 0; j < a->nslots; j++) {
		calls = sat_add(calls, slots[j]);
		json_array_append_new(items, json_pack("{s:s,s:o}", "ladder",
		    a->labels[j], "size", json_u64(slots[j])));
	}
	edges = json_array();
	conf = json_array();
	for (j = 0; j < a->ladder.n; j++) {
		json_array_append_new(edges, json_u64(a->ladder.edge_us[j]));
		json_array_append_new(conf, json_u64(a->ladder.conf_us[j]));
	}
	json_object_set_new(o, "edges_us", edges);
	json_object_set_new(o, "configured_edges_us", conf);
	json_object_set_new(o, "source", json_str(source_name(sources, ai)));
	json_object_set_new(o, "calls", json_u64(calls));
	json_object_set_new(o, "items", items);
	*code = 200;
	return o;
}

int
analytics_cmd(const struct instance *in, size_t i, struct analytics_cmd *c)
{
	const struct analytics_inst *ai = in->analytics;

	if (ai == NULL || i >= (size_t)ai->nnames)
		return -1;
	c->cmd = ai->names[i];
	c->calls = ai->cum[i * ai->stride + V_CALLS];
	c->usec = ai->cum[i * ai->stride + V_USEC];
	c->failed = ai->cum[i * ai->stride + V_FAILED];
	c->ladder = ai->cum + i * ai->stride + V_LADDER;
	return 0;
}

/* ---- sources, proxy ------------------------------------------------------- */

static void
sources_ingest(struct analytics_inst *ai, const Ccnode__InstanceSample *is)
{
	size_t i;

	ai->nsources = 0;
	for (i = 0; i < is->n_sources && ai->nsources < SOURCES_MAX; i++) {
		struct source *s = &ai->sources[ai->nsources++];

		str_copy(s->source, sizeof(s->source), is->sources[i]->source);
		str_copy(s->reason, sizeof(s->reason), is->sources[i]->reason);
	}
}

/* Whether the source is marked unavailable. */
static int
source_off(const struct analytics_inst *ai, const char *source)
{
	int i;

	for (i = 0; i < ai->nsources; i++)
		if (strcmp(ai->sources[i].source, source) == 0)
			return 1;
	return 0;
}

static void
proxy_ingest(struct analytics_inst *ai, const Ccnode__ProxyDetail *pd)
{
	struct proxy_detail	*p = &ai->proxy;
	size_t			 i, n = MINIMUM(pd->n_servers, (size_t)SERVERS_MAX);

	p->client_connections = pd->client_connections;
	p->total_connections = pd->total_connections;
	p->client_errors = pd->client_err;
	p->requests = pd->requests;
	p->responses = pd->responses;
	p->server_errors = pd->server_errors;
	p->fragments = pd->fragments;
	if ((size_t)p->nservers != n) {
		free(p->servers);
		p->servers = n ? xcalloc(n, sizeof(*p->servers)) : NULL;
		p->nservers = (int)n;
	}
	for (i = 0; i < n; i++) {
		const Ccnode__ProxyServer	*s = pd->servers[i];
		struct proxy_server		*d = &p->servers[i];

		str_copy(d->pool, sizeof(d->pool), s->pool);
		str_copy(d->name, sizeof(d->name), s->name);
		d->connections = s->connections;
		d->requests = s->requests;
		d->responses = s->responses;
		d->errors = s->errors;
		d->ejected = s->ejected;
		d->failing = s->failing;
	}
	ai->has_proxy = 1;
}

/* ---- ingest --------------------------------------------------------------- */

static int
carries_analytics(const Ccnode__InstanceSample *is)
{
	return is->n_commands > 0 || is->latency_source[0] != '\0' ||
	    is->n_slowlog > 0 || is->slowlog_lost > 0 || is->hotkeys != NULL ||
	    is->bigkeys != NULL || is->n_sources > 0 || is->proxy != NULL;
}

void
analytics_ingest(struct analytics *a, struct instance *in, int64_t t,
    const Ccnode__InstanceSample *is)
{
	struct analytics_inst	*ai = in->analytics;
	uint64_t		 fresh = 0;

	if (t <= 0)
		return;
	if (ai == NULL) {
		if (!carries_analytics(is))
			return;
		ai = in->analytics = inst_new(a);
	}
	/*
	 * The agent's clock: a sample from more than a day ahead would fill
	 * buckets and dated files that real time has not reached.
	 */
	if (t > wall_ms() + DAY) {
		if (!(ai->warned & W_FUTURE))
			log_warnx("instance=%s: a sample more than a day ahead "
			    "of this clock; its analytics are dropped (logged "
			    "once)", in->name);
		ai->warned |= W_FUTURE;
		return;
	}
	if (is->up) {
		sources_ingest(ai, is);
		str_copy(ai->latency_source, sizeof(ai->latency_source),
		    is->latency_source);
		if (strcmp(is->kind, "interface") != 0)
			cmds_ingest(a, ai, in, t, is);
	}
	if (is->n_slowlog > 0 || is->slowlog_lost > 0)
		fresh = slowstore_ingest(a, ai, in, t, is);
	/* The rate: new entries per second since the previous sample. */
	if (!is->up || strcmp(is->kind, "interface") == 0 ||
	    source_off(ai, "slowlog"))
		ai->slow_rate = NAN;
	else if (ai->slow_t > 0 && t > ai->slow_t)
		ai->slow_rate = (double)fresh / ((double)(t - ai->slow_t) / 1000);
	ai->slow_t = t;
	if (is->hotkeys != NULL)
		hotstore_ingest(ai, in, t, is->hotkeys);
	if (is->bigkeys != NULL)
		bigstore_ingest(a, ai, in, t, is->bigkeys);
	if (is->proxy != NULL)
		proxy_ingest(ai, is->proxy);
}

/* ---- what other files read ------------------------------------------------ */

int
analytics_counts(const struct instance *in, struct analytics_counts *c)
{
	if (in->analytics == NULL) {
		memset(c, 0, sizeof(*c));
		return -1;
	}
	*c = in->analytics->counts;
	return 0;
}

double
analytics_slowlog_rate(const struct instance *in)
{
	return in->analytics != NULL ? in->analytics->slow_rate : NAN;
}

const struct proxy_detail *
analytics_proxy(const struct instance *in)
{
	return in->analytics != NULL && in->analytics->has_proxy ?
	    &in->analytics->proxy : NULL;
}

int
analytics_source(const struct instance *in, int i, const char **src,
    const char **why)
{
	const struct analytics_inst *ai = in->analytics;

	if (ai == NULL)
		return 0;
	if (i >= 0 && i < ai->nsources && src != NULL && why != NULL) {
		*src = ai->sources[i].source;
		*why = ai->sources[i].reason;
	}
	return ai->nsources;
}

/* The sources the agent could not use: [{"source", "reason"}]. */
static json_t *
unavailable_json(const struct analytics_inst *ai)
{
	json_t	*un = json_array();
	int	 i;

	for (i = 0; ai != NULL && i < ai->nsources; i++)
		json_array_append_new(un, json_pack("{s:o,s:o}", "source",
		    json_str(ai->sources[i].source), "reason",
		    json_str(ai->sources[i].reason)));
	return un;
}

void
analytics_instance_json(const struct instance *in, json_t *o, int fresh)
{
	const struct analytics_inst	*ai = in->analytics;
	const struct proxy_detail	*p = analytics_proxy(in);
	json_t				*an, *sv;
	int				 i;

	if (p != NULL && fresh) {
		sv = json_array();
		for (i = 0; i < p->nservers; i++)
			json_array_append_new(sv, json_pack(
			    "{s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b}",
			    "pool", json_str(p->servers[i].pool),
			    "name", json_str(p->servers[i].name),
			    "connections", json_u64(p->servers[i].connections),
			    "requests", json_u64(p->servers[i].requests),
			    "responses", json_u64(p->servers[i].responses),
			    "errors", json_u64(p->servers[i].errors),
			    "ejected", p->servers[i].ejected,
			    "failing", p->servers[i].failing));
		json_object_set_new(o, "proxy", json_pack(
		    "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		    "client_connections", json_u64(p->client_connections),
		    "total_connections", json_u64(p->total_connections),
		    "client_errors", json_u64(p->client_errors),
		    "requests", json_u64(p->requests),
		    "responses", json_u64(p->responses),
		    "server_errors", json_u64(p->server_errors),
		    "fragments", json_u64(p->fragments),
		    "servers", sv));
	}
	an = json_object();
	json_object_set_new(an, "unavailable", unavailable_json(ai));
	json_object_set_new(an, "latency_source", json_str(ai != NULL &&
	    ai->latency_source[0] ? ai->latency_source : NULL));
	json_object_set_new(an, "hotkeys_source", json_str(ai != NULL &&
	    ai->hot_source[0] ? ai->hot_source : NULL));
	json_object_set_new(o, "analytics", an);
}

/* ---- the API paths -------------------------------------------------------- */

typedef json_t *query_fn(struct analytics *, struct instance *,
    const struct evkeyvalq *, int64_t now, int *code);

static const char *const p_top[] = { "span", "by", "limit", NULL };
static const char *const p_latency[] = { "span", "cmd", NULL };
static const char *const p_hot[] = { "span", "limit", NULL };
static const char *const p_big[] = { "type", "date", "top", NULL };
static const char *const p_date[] = { "date", NULL };
static const char *const p_slow[] = { "begin", "end", "min_us", "limit",
	"offset", NULL };

static const struct {
	const char		*sub;
	const char *const	*params;
	query_fn		*fn;
} paths[] = {
	{ "top-commands", p_top, q_top_commands },
	{ "latency-dist", p_latency, q_latency_dist },
	{ "hotkeys", p_hot, hotstore_query },
	{ "bigkeys", p_big, bigstore_query },
	{ "bigkeys/size-dist", p_date, bigstore_size_dist },
	{ "bigkeys/type-dist", p_date, bigstore_type_dist },
	{ "slowlog", p_slow, slowstore_query },
};

const char *const *
analytics_params(const char *sub)
{
	size_t i;

	for (i = 0; i < nitems(paths); i++)
		if (strcmp(sub, paths[i].sub) == 0)
			return paths[i].params;
	return NULL;
}

json_t *
analytics_query(struct analytics *a, struct instance *in, const char *sub,
    const struct evkeyvalq *q, int64_t now_ms, int *code)
{
	json_t	*o;
	size_t	 i;

	for (i = 0; i < nitems(paths); i++) {
		if (strcmp(sub, paths[i].sub) != 0)
			continue;
		o = paths[i].fn(a, in, q, now_ms, code);
		if (*code == 200)
			json_object_set_new(o, "unavailable",
			    unavailable_json(in->analytics));
		return o;
	}
	*code = 404;
	return json_pack("{s:s}", "error", "no such path");
}

/* ---- retention ------------------------------------------------------------ */

/* Removes an instance directory's files past their retention. */
static void
sweep_dir(const char *dir, int slow_oldest, int big_oldest)
{
	char		 path[PATH_MAX + 300];
	DIR		*d;
	struct dirent	*de;
	size_t		 len;
	int		 date, old;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (analytics_name_date(de->d_name, "slowlog-", ".pb", &date) ||
		    analytics_name_date(de->d_name, "slowlog-", ".lost", &date))
			old = date < slow_oldest;
		else if (analytics_name_date(de->d_name, "bigkeys-", ".pb",
		    &date))
			old = date < big_oldest;
		else
			/* A big-key file a crash left half-written. */
			old = len > 4 && strncmp(de->d_name, "bigkeys-", 8) == 0 &&
			    strcmp(de->d_name + len - 4, ".tmp") == 0;
		if (!old)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path))
			continue;
		if (unlink(path) == 0)
			log_info("removed %s (past retention)", path);
		else
			log_warnx("cannot remove %s: %s", path, strerror(errno));
	}
	closedir(d);
	/* An instance with nothing left: its directory goes too. */
	if (rmdir(dir) == 0)
		log_debug("removed %s", dir);
}

void
analytics_sweep(struct analytics *a, int64_t now_ms)
{
	char		 dir[PATH_MAX + 300];
	DIR		*d;
	struct dirent	*de;
	int		 slow_oldest, big_oldest;

	slow_oldest = analytics_date_of(now_ms - SLOW_DAYS * DAY);
	big_oldest = analytics_date_of(now_ms - BIG_DAYS * DAY);
	if ((d = opendir(a->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!valid_name(de->d_name))
			continue;
		if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", a->dir,
		    de->d_name) < sizeof(dir))
			sweep_dir(dir, slow_oldest, big_oldest);
	}
	closedir(d);
}

static void
analytics_sweep_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct analytics *a = arg;

	analytics_sweep(a, wall_ms());
}
