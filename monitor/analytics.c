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
 * Hot keys.  "realtime" is the last window as the agent sent it; 30m, 6h
 * and 24h merge the windows into five-minute and one-hour summaries of at
 * most 100 keys, summing the estimated counts of a key.  Cutting a merged
 * list back to 100 drops the counts of the keys cut: a key that is hot
 * now and then is undercounted.  It is an approximation, and the API says
 * the counts are estimates.
 *
 * Slowlog.  Entries go to disk, one file per local date of the entry's
 * time: data-dir/analytics/NAME/slowlog-YYYYMMDD.pb, records of a 4-byte
 * big-endian length and a packed SlowlogEntry (run_id always filled in),
 * appended with one write per report and date.  An entry is stored once:
 * per run_id the next id expected is kept (8 run ids at most), rebuilt
 * from the files of the last 7 days when the instance first sends slowlog
 * data after a start.  Lost entries (slowlog_lost) are appended as 16-byte
 * records (report time, count) to slowlog-YYYYMMDD.lost, once per report
 * time.  At most 100,000 entries (and 32 MB) per instance and day are
 * stored; more are counted as dropped, logged once a day.
 *
 * Big keys.  A scan is stored per local date of its end, in
 * bigkeys-YYYYMMDD.pb (the packed BigKeyScan).  The latest complete scan
 * of a date wins; an incomplete one is kept only while the date has no
 * complete one.
 *
 * Files past 7 days (slowlog) and 30 days (big keys) are removed at start
 * and every hour.
 *
 * Memory per instance, with the default ladder (7 slots, so 82 bytes per
 * command entry): a command bucket holds at most 129 entries (10.6 KB),
 * and there are 98 (realtime, 72 and 24): 1.0 MB at most.  The names (at
 * most 512 of 48 bytes) and the cumulative figures of /metrics (80 bytes
 * a name) add at most 65 KB.  Hot keys: 32 summaries (6 + 24, the last
 * window and its LFU list) of at most 100 keys of at most 512 bytes, 32
 * bytes each plus the key: 1.7 MB at most.  The proxy detail: at most 256
 * servers, 59 KB.  The slowlog and big keys stay on disk: under 1 KB of
 * state.  Measured after 24 h of 5 s samples (malloc'd bytes): 20
 * commands, 220 KB; 150 commands, 1.1 MB; 20 commands and hot-key
 * windows of 100 keys of 43 bytes every 10 s, 515 KB.  Nothing is
 * allocated before a sample carries analytics.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#define SLOTS_MAX	(LADDER_EDGES_MAX + 1)
#define HIST_MAX	64		/* histogram buckets read */
#define MON_CMD_NAME_MAX	48		/* names kept (the agent sends up to 63) */
#define CMD_NAMES_MAX	512		/* distinct names per instance */
#define CMD_BUCKET_MAX	128		/* commands per bucket, "(other)" aside */
#define OTHER		0		/* the id of "(other)" */
#define MIN5		(300 * 1000LL)
#define HOUR		(3600 * 1000LL)
#define DAY		(86400 * 1000LL)
#define NB5		72		/* 6 h of five-minute buckets */
#define NBH		24		/* 24 h of one-hour buckets */
#define HOT_MAX		100		/* keys per hot-key summary */
#define HOT_IN_MAX	1000		/* keys read from one window */
#define HOT_KEY_MAX	512		/* bytes of a key kept */
#define NHOT5		6		/* 30 min of five-minute summaries */
#define NHOTH		24
#define RUNIDS_MAX	8
#define SLOW_DAYS	7
#define SLOW_DAY_MAX	100000		/* entries per instance and day */
#define SLOW_DAY_BYTES	(32 * 1024 * 1024)	/* and bytes */
#define SLOW_REC_MAX	65536		/* bytes of one stored entry */
#define SLOW_QUERY_MAX	400000		/* entries one query sorts */
#define SLOW_LIMIT_MAX	10000
#define SLOW_DATES	12		/* day counters per instance */
#define BIG_DAYS	30
#define BIG_OVER_MAX	1000
#define BIG_TOP_MAX	10000
#define BIG_TYPES_MAX	64
#define BIG_EDGES_MAX	64
#define BIG_FILE_MAX	(256 * 1024 * 1024)
#define SOURCES_MAX	16
#define SERVERS_MAX	256
#define SWEEP_S		3600		/* file retention, checked hourly */

#define SRC_HIST	0x01		/* from latency histograms */
#define SRC_MEAN	0x02		/* from usec / calls */

/* Logged once per instance. */
#define W_NAME		0x01
#define W_NAMES		0x02
#define W_SCALE		0x04
#define W_SLOWBAD	0x08
#define W_SLOWIO	0x10
#define W_HOTBAD	0x20
#define W_BIGBAD	0x40
#define W_BIGIO		0x80

/* Values of a command entry: then the ladder's slots. */
enum { V_CALLS, V_USEC, V_FAILED, V_LADDER };

/* Per-command figures of one time bucket. */
struct cbucket {
	int64_t		 start_ms;	/* 0: unused */
	int64_t		 from_ms, to_ms;	/* what the samples covered */
	uint8_t		 sources;	/* SRC_* */
	uint16_t	 n, cap;
	uint16_t	*ids;
	uint64_t	*v;		/* n * stride */
};

struct hkey {
	char		*key;
	uint64_t	 count;
	uint32_t	 db;
	uint16_t	 len;		/* at most HOT_KEY_MAX */
	uint8_t		 truncated;
	char		 type[7];	/* "string", "stream", "" */
};

/* A hot-key summary: one window, or the windows of a bucket merged. */
struct hotset {
	int64_t		 start_ms;	/* 0: unused */
	int64_t		 from_ms, to_ms;
	int		 n;
	struct hkey	*keys;
};

struct runid {
	char		 id[48];
	uint64_t	 next;		/* the lowest id not yet stored */
	int64_t		 seen_ms;
};

struct slowday {
	int		 date;		/* YYYYMMDD, 0: unused */
	uint32_t	 n;
	uint64_t	 bytes;
	int		 warned;
};

struct source {
	char		 source[32];
	char		 reason[160];
};

struct analytics_inst {
	int		 stride;
	/* Commands: names[0] is "(other)". */
	char		(*names)[MON_CMD_NAME_MAX];
	int		 nnames;
	struct cbucket	 rt, *b5, *bh;
	uint64_t	*cum;		/* nnames * stride, since start */
	int64_t		 last_t;
	char		 latency_source[24];
	/* Hot keys. */
	struct hotset	 hot_rt, hot_lfu, *hot5, *hoth;
	char		 hot_source[16];
	uint32_t	 hot_window_ms, hot_period_ms;
	uint64_t	 hot_lines, hot_unparsed;
	/* Slowlog. */
	int		 slow_loaded;
	struct runid	 runs[RUNIDS_MAX];
	struct slowday	 days[SLOW_DATES];
	struct analytics_counts counts;
	int64_t		 lost_t;	/* of the last lost count stored */
	double		 slow_rate;
	int64_t		 slow_t;
	/* Sources, proxy. */
	int		 nsources;
	struct source	 sources[SOURCES_MAX];
	int		 has_proxy;
	struct proxy_detail proxy;
	unsigned	 warned;
};

struct analytics {
	struct monitor		*m;
	struct latency_ladder	 ladder;
	int			 nslots, stride;
	uint8_t			 slot_of[HIST_MAX];	/* histogram bucket -> slot */
	char			 labels[SLOTS_MAX][80];
	char			*dir;			/* data-dir/analytics */
	struct event		*sweep;
};

enum span { SP_RT, SP_30M, SP_6H, SP_24H };
static const char *const span_names[] = { "realtime", "30m", "6h", "24h",
	NULL };

static const char *const key_types[] = { "string", "list", "hash", "set",
	"zset", "stream", NULL };

/* ---- small helpers -------------------------------------------------------- */

/* {"error": ...} and *code 400. */
static json_t *
bad(int *code, const char *fmt, ...)
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
static int
date_of(int64_t ms)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 +
	    tm.tm_mday;
}

/* YYYYMMDD, a real calendar date from 1970 on: 0, or -1. */
static int
parse_date(const char *s, int *date)
{
	struct tm	tm;
	int		i, v = 0;

	for (i = 0; i < 8; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (s[8] != '\0' || v < 19700101 || v > 99991231)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v / 10000 - 1900;
	tm.tm_mon = v / 100 % 100 - 1;
	tm.tm_mday = v % 100;
	tm.tm_hour = 12;
	tm.tm_isdst = -1;
	if (mktime(&tm) == (time_t)-1 || tm.tm_mday != v % 100 ||
	    tm.tm_mon != v / 100 % 100 - 1)
		return -1;
	*date = v;
	return 0;
}

static json_t *
json_date(int date)
{
	return json_sprintf("%08d", date);
}

/* A bounded integer parameter: 0 (absent: *v untouched), or -1. */
static int
param_ll(const struct evkeyvalq *q, const char *name, long long lo,
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

/* span=: 0, or -1 (the value is bad). */
static int
param_span(const struct evkeyvalq *q, enum span *sp)
{
	const char	*s = evhttp_find_header(q, "span");
	int		 i;

	*sp = SP_30M;
	if (s == NULL)
		return 0;
	for (i = 0; span_names[i] != NULL; i++)
		if (strcmp(s, span_names[i]) == 0) {
			*sp = (enum span)i;
			return 0;
		}
	return -1;
}

static uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint64_t
be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

static void
be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* dir/NAME/PREFIX-YYYYMMDD.SUFFIX into buf: 0, or -1 if too long. */
static int
file_path(const struct analytics *a, const char *name, const char *prefix,
    int date, const char *suffix, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s-%08d.%s", a->dir, name, prefix,
	    date, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
inst_dir(const struct analytics *a, const char *name)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", a->dir, name) >=
	    sizeof(path))
		return -1;
	return mkdir_p(path, 0750);
}

/* Appends len bytes with one write; a short write is undone.  0 or -1. */
static int
append_file(const char *path, const void *buf, size_t len)
{
	struct stat	st;
	ssize_t		n;
	int		fd, saved;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	n = write(fd, buf, len);
	if (n != (ssize_t)len) {
		saved = n == -1 ? errno : ENOSPC;
		if (ftruncate(fd, st.st_size) == -1)
			log_debug("ftruncate %s: %s", path, strerror(errno));
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* ---- binary-safe JSON ----------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char	c = s[0];
	size_t		n, j;
	uint32_t	cp;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n > len)
		return 0;
	for (j = 1; j < n; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

json_t *
analytics_json_key(const void *p, size_t len)
{
	const unsigned char	*s = p;
	char			*buf = xmalloc(len * 4 + 1), *o = buf;
	size_t			 i = 0, n;
	json_t			*j;

	while (i < len) {
		if (s[i] == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			i++;
		} else if ((n = utf8_seq(s + i, len - i)) == 0) {
			o += sprintf(o, "\\x%02x", s[i]);
			i++;
		} else {
			memcpy(o, s + i, n);
			o += n;
			i += n;
		}
	}
	j = json_stringn(buf, (size_t)(o - buf));
	free(buf);
	return j != NULL ? j : json_string("");
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
	static const struct latency_ladder def = { 6,
	    { 1000, 2000, 5000, 10000, 50000, 100000 },
	    { 1056, 2113, 4227, 8454, 67633, 135266 } };
	struct analytics	*a = xcalloc(1, sizeof(*a));
	struct timeval		 tv = { SWEEP_S, 0 };
	int			 i, j;

	a->m = m;
	a->ladder = m->conf->latency_ladder.n > 0 ? m->conf->latency_ladder :
	    def;
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

static void
hotset_clear(struct hotset *h)
{
	int i;

	for (i = 0; i < h->n; i++)
		free(h->keys[i].key);
	free(h->keys);
	memset(h, 0, sizeof(*h));
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
	hotset_clear(&ai->hot_rt);
	hotset_clear(&ai->hot_lfu);
	for (i = 0; ai->hot5 != NULL && i < NHOT5; i++)
		hotset_clear(&ai->hot5[i]);
	for (i = 0; ai->hoth != NULL && i < NHOTH; i++)
		hotset_clear(&ai->hoth[i]);
	free(ai->hot5);
	free(ai->hoth);
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

	if (param_span(q, &sp) == -1)
		return bad(code, "span: '%s' is not one of realtime, 30m, 6h, "
		    "24h", evhttp_find_header(q, "span"));
	by = evhttp_find_header(q, "by");
	if (by != NULL && strcmp(by, "count") != 0 && strcmp(by, "time") != 0)
		return bad(code, "by: '%s' is not one of count, time", by);
	by_time = by != NULL && strcmp(by, "time") == 0;
	if (param_ll(q, "limit", 1, 1000, &limit, &text) == -1)
		return bad(code, "limit: '%s' is not 1 to 1000", text);

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
	json_object_set_new(o, "span", json_string(span_names[sp]));
	json_object_set_new(o, "by", json_string(by_time ? "time" : "count"));
	json_object_set_new(o, "unit", json_string(by_time ? "us" : "calls"));
	span_cover(b, nb, o, &sources);
	json_object_set_new(o, "calls", json_u64(calls));
	/* "(other)" is not a command: its figures go apart. */
	json_object_set_new(o, "other", json_u64(by_time ? s[OTHER].usec :
	    s[OTHER].calls));
	qsort(s + 1, (size_t)n - 1, sizeof(*s), by_time ? cmdsum_by_time :
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

	if (param_span(q, &sp) == -1)
		return bad(code, "span: '%s' is not one of realtime, 30m, 6h, "
		    "24h", evhttp_find_header(q, "span"));
	if (cmd != NULL && !cmd_name_ok(cmd, name))
		return bad(code, "cmd: '%s' is not a command name", cmd);
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
	json_object_set_new(o, "span", json_string(span_names[sp]));
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

/* ---- hot keys ------------------------------------------------------------- */

static int
hkey_same(const struct hkey *a, const struct hkey *b)
{
	return a->db == b->db && a->len == b->len &&
	    memcmp(a->key, b->key, a->len) == 0;
}

/* Highest count first; ties by db and key, so the order is stable. */
static int
hkey_cmp(const void *x, const void *y)
{
	const struct hkey	*a = x, *b = y;
	int			 c;

	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	if (a->db != b->db)
		return a->db < b->db ? -1 : 1;
	if ((c = memcmp(a->key, b->key, MINIMUM(a->len, b->len))) != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* A copy of an agent's HotKey; 0, or -1 if it holds no key. */
static int
hkey_from(struct hkey *h, const Ccnode__HotKey *k)
{
	int i;

	memset(h, 0, sizeof(*h));
	if (k->key.len == 0 || k->key.data == NULL)
		return -1;
	h->len = (uint16_t)MINIMUM(k->key.len, (size_t)HOT_KEY_MAX);
	h->truncated = k->key.len > HOT_KEY_MAX;
	h->key = xmalloc(h->len);
	memcpy(h->key, k->key.data, h->len);
	h->db = k->db;
	h->count = k->count;
	for (i = 0; key_types[i] != NULL; i++)
		if (k->type != NULL && strcmp(k->type, key_types[i]) == 0)
			str_copy(h->type, sizeof(h->type), key_types[i]);
	return 0;
}

/* Replaces set with the keys of a window, best first, at most HOT_MAX. */
static void
hotset_set(struct hotset *set, Ccnode__HotKey *const *keys, size_t n,
    int64_t start, int64_t end)
{
	struct hkey	h;
	size_t		i;

	hotset_clear(set);
	set->start_ms = start;
	set->from_ms = start;
	set->to_ms = end;
	n = MINIMUM(n, (size_t)HOT_IN_MAX);
	set->keys = xcalloc(n + 1, sizeof(*set->keys));
	for (i = 0; i < n; i++)
		if (hkey_from(&h, keys[i]) == 0)
			set->keys[set->n++] = h;
	qsort(set->keys, (size_t)set->n, sizeof(*set->keys), hkey_cmp);
	while (set->n > HOT_MAX)
		free(set->keys[--set->n].key);
	set->keys = xreallocarray(set->keys, (size_t)set->n + 1,
	    sizeof(*set->keys));
}

/*
 * Adds a window's keys to a summary: counts of the same key are summed,
 * then, with cut, the list is cut back to the HOT_MAX highest (an
 * approximation: the counts of the keys cut are lost).
 */
static void
hotset_merge(struct hotset *set, const struct hotset *w, int cut)
{
	int i, k;

	set->keys = xreallocarray(set->keys, (size_t)(set->n + w->n + 1),
	    sizeof(*set->keys));
	for (i = 0; i < w->n; i++) {
		for (k = 0; k < set->n; k++)
			if (hkey_same(&set->keys[k], &w->keys[i]))
				break;
		if (k < set->n) {
			set->keys[k].count = sat_add(set->keys[k].count,
			    w->keys[i].count);
			if (set->keys[k].type[0] == '\0')
				memcpy(set->keys[k].type, w->keys[i].type,
				    sizeof(set->keys[k].type));
			continue;
		}
		set->keys[set->n] = w->keys[i];
		set->keys[set->n].key = xmalloc(w->keys[i].len);
		memcpy(set->keys[set->n].key, w->keys[i].key, w->keys[i].len);
		set->n++;
	}
	qsort(set->keys, (size_t)set->n, sizeof(*set->keys), hkey_cmp);
	while (cut && set->n > HOT_MAX)
		free(set->keys[--set->n].key);
	if (cut)
		set->keys = xreallocarray(set->keys, (size_t)set->n + 1,
		    sizeof(*set->keys));
	if (set->from_ms == 0 || w->from_ms < set->from_ms)
		set->from_ms = w->from_ms;
	if (w->to_ms > set->to_ms)
		set->to_ms = w->to_ms;
}

/* The summary of t in a ring, cleared if it held older windows. */
static struct hotset *
hring(struct hotset *ring, int n, int64_t width, int64_t t)
{
	int64_t		 start = t - t % width;
	struct hotset	*h = &ring[(start / width) % n];

	if (h->start_ms == start)
		return h;
	if (h->start_ms > start)
		return NULL;
	hotset_clear(h);
	h->start_ms = start;
	return h;
}

static void
hot_ingest(struct analytics_inst *ai, const struct instance *in, int64_t t,
    const Ccnode__HotKeys *hk)
{
	struct hotset	*h;
	int64_t		 start = hk->start_ms > 0 && hk->start_ms <= t ?
			    hk->start_ms : t;
	int64_t		 end = start + hk->window_ms;

	if (hk->n_keys > HOT_IN_MAX && !(ai->warned & W_HOTBAD)) {
		log_warnx("instance=%s: a hot-key window with %zu keys; the "
		    "first %d are read (logged once)", in->name, hk->n_keys,
		    HOT_IN_MAX);
		ai->warned |= W_HOTBAD;
	}
	str_copy(ai->hot_source, sizeof(ai->hot_source), hk->source);
	ai->hot_window_ms = hk->window_ms;
	ai->hot_period_ms = hk->period_ms;
	ai->hot_lines = hk->lines;
	ai->hot_unparsed = hk->unparsed;
	hotset_set(&ai->hot_rt, hk->keys, hk->n_keys, start, end);
	hotset_set(&ai->hot_lfu, hk->lfu, hk->n_lfu, start, end);
	if (ai->hot5 == NULL) {
		ai->hot5 = xcalloc(NHOT5, sizeof(*ai->hot5));
		ai->hoth = xcalloc(NHOTH, sizeof(*ai->hoth));
	}
	if ((h = hring(ai->hot5, NHOT5, MIN5, start)) != NULL)
		hotset_merge(h, &ai->hot_rt, 1);
	if ((h = hring(ai->hoth, NHOTH, HOUR, start)) != NULL)
		hotset_merge(h, &ai->hot_rt, 1);
}

static json_t *
hkeys_json(const struct hkey *k, int n, size_t limit)
{
	json_t	*a = json_array(), *o;
	int	 i;

	for (i = 0; i < n && json_array_size(a) < limit; i++) {
		o = json_pack("{s:o,s:s,s:o,s:I}", "key",
		    analytics_json_key(k[i].key, k[i].len), "type", k[i].type,
		    "count", json_u64(k[i].count), "db", (json_int_t)k[i].db);
		if (k[i].truncated)
			json_object_set_new(o, "truncated", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
q_hotkeys(struct analytics *a, struct instance *in, const struct evkeyvalq *q,
    int64_t now, int *code)
{
	const struct analytics_inst	*ai = in->analytics;
	const struct hotset		*ring = NULL;
	struct hotset			 sum;
	const char			*text;
	long long			 limit = HOT_MAX;
	enum span			 sp;
	int64_t				 width = MIN5, lo;
	int				 n = 0, want = 0, i;
	json_t				*o;

	(void)a;
	if (param_span(q, &sp) == -1)
		return bad(code, "span: '%s' is not one of realtime, 30m, 6h, "
		    "24h", evhttp_find_header(q, "span"));
	if (param_ll(q, "limit", 1, HOT_MAX, &limit, &text) == -1)
		return bad(code, "limit: '%s' is not 1 to %d", text, HOT_MAX);
	o = json_object();
	json_object_set_new(o, "span", json_string(span_names[sp]));
	json_object_set_new(o, "estimate", json_true());
	json_object_set_new(o, "source", json_str(ai != NULL &&
	    ai->hot_source[0] ? ai->hot_source : NULL));
	memset(&sum, 0, sizeof(sum));
	if (ai != NULL && sp == SP_RT) {
		json_object_set_new(o, "window_ms",
		    json_integer(ai->hot_window_ms));
		json_object_set_new(o, "period_ms",
		    json_integer(ai->hot_period_ms));
		json_object_set_new(o, "lines", json_u64(ai->hot_lines));
		json_object_set_new(o, "unparsed", json_u64(ai->hot_unparsed));
		hotset_merge(&sum, &ai->hot_rt, 0);
	} else if (ai != NULL && ai->hot5 != NULL) {
		if (sp == SP_30M)
			ring = ai->hot5, n = NHOT5, want = 6;
		else
			ring = ai->hoth, n = NHOTH, width = HOUR,
			    want = sp == SP_6H ? 6 : 24;
		lo = now - now % width - (int64_t)(want - 1) * width;
		for (i = 0; i < n; i++)
			if (ring[i].start_ms != 0 && ring[i].start_ms >= lo)
				hotset_merge(&sum, &ring[i], 0);
	}
	json_object_set_new(o, "from", json_time_ms(sum.from_ms));
	json_object_set_new(o, "to", json_time_ms(sum.to_ms));
	json_object_set_new(o, "items", hkeys_json(sum.keys, sum.n,
	    (size_t)limit));
	if (ai != NULL && ai->hot_lfu.n > 0)
		json_object_set_new(o, "lfu", hkeys_json(ai->hot_lfu.keys,
		    ai->hot_lfu.n, (size_t)limit));
	hotset_clear(&sum);
	*code = 200;
	return o;
}

/* ---- slowlog: storage ----------------------------------------------------- */

typedef void slow_cb(const Ccnode__SlowlogEntry *, off_t off, uint32_t len,
    void *arg);

/*
 * Reads a slowlog file from its start and calls cb for each whole record.
 * Returns the offset past the last whole record: a torn or bad tail (a
 * crash mid-write) ends the reading there.
 */
static off_t
slow_read(FILE *f, slow_cb *cb, void *arg)
{
	uint8_t			 hdr[4], *buf = xmalloc(SLOW_REC_MAX);
	Ccnode__SlowlogEntry	*e;
	off_t			 off = 0;
	uint32_t		 len;

	for (;;) {
		if (fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr))
			break;
		len = be32_get(hdr);
		if (len == 0 || len > SLOW_REC_MAX || fread(buf, 1, len, f) != len)
			break;
		if ((e = ccnode__slowlog_entry__unpack(NULL, len, buf)) == NULL)
			break;
		if (cb != NULL)
			cb(e, off, len, arg);
		ccnode__slowlog_entry__free_unpacked(e, NULL);
		off += (off_t)sizeof(hdr) + len;
	}
	free(buf);
	return off;
}

/* Whole records in a slowlog file, by their lengths alone. */
static uint32_t
slow_count(const char *path)
{
	FILE		*f = fopen(path, "re");
	uint8_t		 hdr[4];
	uint32_t	 n = 0, len;

	if (f == NULL)
		return 0;
	while (fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr)) {
		len = be32_get(hdr);
		if (len == 0 || len > SLOW_REC_MAX ||
		    fseeko(f, (off_t)len, SEEK_CUR) == -1)
			break;
		n++;
	}
	fclose(f);
	return n;
}

/* Whether fname is PREFIX-YYYYMMDD.SUFFIX; *date gets the date. */
static int
name_date(const char *fname, const char *prefix, const char *suffix,
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

/*
 * The dedupe state of a run id.  create: a new one replaces the one seen
 * least lately, unless it is older than all of them (loading).
 */
static struct runid *
run_get(struct analytics_inst *ai, const char *rid, int64_t seen, int force)
{
	struct runid	*r, *old = NULL;
	char		 key[sizeof(r->id)];
	int		 i;

	str_copy(key, sizeof(key), rid);
	for (i = 0; i < RUNIDS_MAX; i++) {
		r = &ai->runs[i];
		if (r->seen_ms != 0 && strcmp(r->id, key) == 0) {
			r->seen_ms = MAXIMUM(r->seen_ms, seen);
			return r;
		}
		if (old == NULL || r->seen_ms < old->seen_ms)
			old = r;
	}
	if (old->seen_ms != 0 && seen < old->seen_ms && !force)
		return NULL;
	memset(old, 0, sizeof(*old));
	memcpy(old->id, key, sizeof(key));
	old->seen_ms = MAXIMUM(seen, 1);
	return old;
}

static void
load_cb(const Ccnode__SlowlogEntry *e, off_t off, uint32_t len, void *arg)
{
	struct runid *r;

	if (e->time <= 0 || e->time > INT64_MAX / 1000)
		return;
	r = run_get(arg, e->run_id, e->time * 1000, 0);
	if (r != NULL && e->id >= r->next)
		r->next = e->id == UINT64_MAX ? UINT64_MAX : e->id + 1;
}

/* The latest report time in a .lost file of (time, count) records. */
static int64_t
lost_last(const char *path)
{
	FILE		*f = fopen(path, "re");
	uint8_t		 rec[16];
	int64_t		 t, last = 0;

	if (f == NULL)
		return 0;
	while (fread(rec, 1, sizeof(rec), f) == sizeof(rec))
		if ((t = (int64_t)be64_get(rec)) > last)
			last = t;
	fclose(f);
	return last;
}

/*
 * Rebuilds the dedupe state of an instance from its slowlog files of the
 * last 7 days (and the time of its last lost count), and cuts any torn
 * tail off the files.
 */
static void
slow_load(struct analytics *a, struct analytics_inst *ai, const char *name,
    int64_t now)
{
	char		 dir[PATH_MAX], path[PATH_MAX + 300];
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	FILE		*f;
	off_t		 good;
	int		 date, oldest = date_of(now - (SLOW_DAYS + 1) * DAY);

	ai->slow_loaded = 1;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", a->dir, name) >=
	    sizeof(dir) || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path))
			continue;
		if (name_date(de->d_name, "slowlog-", ".lost", &date)) {
			if (stat(path, &st) == 0 && st.st_size % 16 != 0 &&
			    truncate(path, st.st_size - st.st_size % 16) == 0)
				log_warnx("%s: torn last record cut", path);
			ai->lost_t = MAXIMUM(ai->lost_t, lost_last(path));
			continue;
		}
		if (!name_date(de->d_name, "slowlog-", ".pb", &date) ||
		    date < oldest || (f = fopen(path, "re")) == NULL)
			continue;
		good = slow_read(f, load_cb, ai);
		if (fstat(fileno(f), &st) == 0 && st.st_size > good) {
			if (truncate(path, good) == 0)
				log_warnx("%s: %lld bytes of a torn or bad tail "
				    "cut", path, (long long)(st.st_size - good));
			else
				log_warnx("%s: cannot cut its bad tail: %s",
				    path, strerror(errno));
		}
		fclose(f);
	}
	closedir(d);
}

/* The entry count of a date, from the file when first asked. */
static struct slowday *
day_get(struct analytics *a, struct analytics_inst *ai, const char *name,
    int date)
{
	struct slowday	*d, *old = NULL;
	struct stat	 st;
	char		 path[PATH_MAX];
	int		 i;

	for (i = 0; i < SLOW_DATES; i++) {
		d = &ai->days[i];
		if (d->date == date)
			return d;
		if (old == NULL || d->date < old->date)
			old = d;
	}
	memset(old, 0, sizeof(*old));
	old->date = date;
	if (file_path(a, name, "slowlog", date, "pb", path, sizeof(path)) == 0) {
		old->n = slow_count(path);
		old->bytes = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	}
	return old;
}

struct sref {
	const Ccnode__SlowlogEntry	*e;
	const char			*rid;
};

static int
sref_cmp(const void *x, const void *y)
{
	const struct sref	*a = x, *b = y;
	int			 c = strcmp(a->rid, b->rid);

	if (c != 0)
		return c;
	if (a->e->id != b->e->id)
		return a->e->id < b->e->id ? -1 : 1;
	return 0;
}

/* What one report adds to one date's file. */
struct pending {
	int		 date;
	uint8_t		*buf;
	size_t		 len, cap;
	uint32_t	 n;
};

static void
slow_warn(struct analytics_inst *ai, const struct instance *in,
    const char *what)
{
	if (ai->warned & W_SLOWBAD)
		return;
	ai->warned |= W_SLOWBAD;
	log_warnx("instance=%s: a slowlog entry %s; dropped (logged once)",
	    in->name, what);
}

/* Returns how many entries were new (stored or dropped, not resent). */
static uint64_t
slow_ingest(struct analytics *a, struct analytics_inst *ai,
    const struct instance *in, int64_t t, const Ccnode__InstanceSample *is)
{
	int64_t			 now = wall_ms(), tms;
	struct sref		*v;
	struct pending		 p[SLOW_DATES], *pp;
	struct slowday		*d;
	struct runid		*r;
	Ccnode__SlowlogEntry	 copy;
	char			 path[PATH_MAX];
	uint8_t			 lost[16];
	size_t			 n = is->n_slowlog, i, k, np = 0, sz;
	uint64_t		 fresh = 0;

	if (!ai->slow_loaded)
		slow_load(a, ai, in->name, now);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		v[i].e = is->slowlog[i];
		v[i].rid = v[i].e->run_id[0] != '\0' ? v[i].e->run_id :
		    is->run_id;
	}
	/* Ascending ids per run id: each is checked against the one before. */
	qsort(v, n, sizeof(*v), sref_cmp);
	memset(p, 0, sizeof(p));
	for (i = 0; i < n; i++) {
		const Ccnode__SlowlogEntry *e = v[i].e;

		if (e->time <= 0 || e->time > INT64_MAX / 1000 ||
		    (tms = e->time * 1000) < now - (SLOW_DAYS + 1) * DAY ||
		    tms > now + DAY) {
			ai->counts.slowlog_dropped++;
			slow_warn(ai, in, "with a time out of the last 7 days");
			continue;
		}
		r = run_get(ai, v[i].rid, tms, 1);
		if (e->id < r->next) {
			ai->counts.slowlog_duplicates++;
			continue;
		}
		r->next = e->id == UINT64_MAX ? UINT64_MAX : e->id + 1;
		fresh++;
		copy = *e;
		copy.run_id = (char *)v[i].rid;
		if ((sz = ccnode__slowlog_entry__get_packed_size(&copy)) >
		    SLOW_REC_MAX) {
			ai->counts.slowlog_dropped++;
			slow_warn(ai, in, "larger than 64 KB");
			continue;
		}
		d = day_get(a, ai, in->name, date_of(tms));
		if (d->n >= SLOW_DAY_MAX || d->bytes + 4 + sz > SLOW_DAY_BYTES) {
			ai->counts.slowlog_dropped++;
			if (!d->warned)
				log_warnx("instance=%s: %u slowlog entries "
				    "(%llu bytes) stored for %08d, the most a "
				    "day holds; more are dropped (logged once a "
				    "day)", in->name, d->n,
				    (unsigned long long)d->bytes, d->date);
			d->warned = 1;
			continue;
		}
		for (k = 0; k < np && p[k].date != d->date; k++)
			;
		if (k == np) {
			if (np == nitems(p)) {
				ai->counts.slowlog_dropped++;
				continue;
			}
			p[np++].date = d->date;
		}
		pp = &p[k];
		if (pp->len + 4 + sz > pp->cap) {
			pp->cap = MAXIMUM(pp->cap * 2, pp->len + 4 + sz);
			pp->buf = xreallocarray(pp->buf, pp->cap, 1);
		}
		be32_put(pp->buf + pp->len, (uint32_t)sz);
		ccnode__slowlog_entry__pack(&copy, pp->buf + pp->len + 4);
		pp->len += 4 + sz;
		pp->n++;
		d->n++;
		d->bytes += 4 + sz;
	}
	free(v);
	for (k = 0; k < np; k++) {
		if (inst_dir(a, in->name) == -1 || file_path(a, in->name,
		    "slowlog", p[k].date, "pb", path, sizeof(path)) == -1 ||
		    append_file(path, p[k].buf, p[k].len) == -1) {
			if (!(ai->warned & W_SLOWIO))
				log_warnx("instance=%s: cannot store %u slowlog "
				    "entries in %s/%s: %s (logged once)",
				    in->name, p[k].n, a->dir, in->name,
				    strerror(errno));
			ai->warned |= W_SLOWIO;
			ai->counts.slowlog_dropped += p[k].n;
			d = day_get(a, ai, in->name, p[k].date);
			d->n -= MINIMUM(d->n, p[k].n);
			d->bytes -= MINIMUM(d->bytes, p[k].len);
		} else
			ai->counts.slowlog_entries += p[k].n;
		free(p[k].buf);
	}
	/* A lost count is stored once: a report resent has an older time. */
	if (is->slowlog_lost > 0 && t > ai->lost_t) {
		ai->lost_t = t;
		ai->counts.slowlog_lost = sat_add(ai->counts.slowlog_lost,
		    is->slowlog_lost);
		fresh = sat_add(fresh, is->slowlog_lost);
		be64_put(lost, (uint64_t)t);
		be64_put(lost + 8, is->slowlog_lost);
		if (inst_dir(a, in->name) == -1 || file_path(a, in->name,
		    "slowlog", date_of(t), "lost", path, sizeof(path)) == -1 ||
		    append_file(path, lost, sizeof(lost)) == -1) {
			if (!(ai->warned & W_SLOWIO))
				log_warnx("instance=%s: cannot store the lost "
				    "count in %s/%s: %s (logged once)", in->name,
				    a->dir, in->name, strerror(errno));
			ai->warned |= W_SLOWIO;
		}
	}
	return fresh;
}

/* ---- slowlog: queries ----------------------------------------------------- */

struct scand {
	int64_t		 time;
	uint64_t	 id;
	off_t		 off;
	uint32_t	 len;
	int		 file;
};

struct slowq {
	int64_t		 begin, end;	/* ms */
	uint64_t	 min_us, total;
	struct scand	*c;
	size_t		 n, cap;
	int		 file;
	int		 truncated;
};

static void
query_cb(const Ccnode__SlowlogEntry *e, off_t off, uint32_t len, void *arg)
{
	struct slowq	*q = arg;
	int64_t		 tms;

	if (e->time <= 0 || e->time > INT64_MAX / 1000)
		return;
	tms = e->time * 1000;
	if (tms < q->begin || tms > q->end || e->duration_us < q->min_us)
		return;
	q->total++;
	if (q->n == SLOW_QUERY_MAX) {
		q->truncated = 1;
		return;
	}
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 256;
		q->c = xreallocarray(q->c, q->cap, sizeof(*q->c));
	}
	q->c[q->n].time = e->time;
	q->c[q->n].id = e->id;
	q->c[q->n].off = off;
	q->c[q->n].len = len;
	q->c[q->n].file = q->file;
	q->n++;
}

/* Newest first. */
static int
scand_cmp(const void *x, const void *y)
{
	const struct scand *a = x, *b = y;

	if (a->time != b->time)
		return a->time < b->time ? 1 : -1;
	if (a->id != b->id)
		return a->id < b->id ? 1 : -1;
	if (a->file != b->file)
		return a->file < b->file ? 1 : -1;
	return a->off < b->off ? 1 : a->off > b->off ? -1 : 0;
}

/* A growing string. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sbuf *s, const void *data, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = MAXIMUM(s->cap * 2, s->len + n + 1);
		s->p = xreallocarray(s->p, s->cap, 1);
	}
	memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = '\0';
}

/*
 * One argument of a command line, as redis-cli shows it: bare when it
 * holds only printable characters and no quote or backslash; else in
 * double quotes, with \" \\ \n \r \t \a \b and \xHH for the bytes that
 * are neither printable ASCII nor valid UTF-8.
 */
static void
cmdline_arg(struct sbuf *s, const uint8_t *p, size_t len)
{
	size_t	i, n;
	int	quote = len == 0;
	char	esc[8];

	for (i = 0; i < len && !quote; i += n) {
		if ((n = utf8_seq(p + i, len - i)) == 0 || p[i] <= ' ' ||
		    p[i] == 0x7f || p[i] == '"' || p[i] == '\'' || p[i] == '\\')
			quote = 1;
	}
	if (!quote) {
		sb_add(s, p, len);
		return;
	}
	sb_add(s, "\"", 1);
	for (i = 0; i < len; i += n) {
		n = 1;
		switch (p[i]) {
		case '\\': sb_add(s, "\\\\", 2); continue;
		case '"': sb_add(s, "\\\"", 2); continue;
		case '\n': sb_add(s, "\\n", 2); continue;
		case '\r': sb_add(s, "\\r", 2); continue;
		case '\t': sb_add(s, "\\t", 2); continue;
		case '\a': sb_add(s, "\\a", 2); continue;
		case '\b': sb_add(s, "\\b", 2); continue;
		}
		if (p[i] >= ' ' && p[i] < 0x7f)
			sb_add(s, p + i, 1);
		else if (p[i] >= 0x80 && (n = utf8_seq(p + i, len - i)) > 0)
			sb_add(s, p + i, n);
		else {
			n = 1;
			snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			sb_add(s, esc, 4);
		}
	}
	sb_add(s, "\"", 1);
}

/* Redis's own "... (N more arguments)", kept when arguments are redacted. */
static int
more_args(const uint8_t *p, size_t len)
{
	static const char	pre[] = "... (", post[] = " more arguments)";
	size_t			i;

	if (len <= sizeof(pre) - 1 + sizeof(post) - 1 ||
	    memcmp(p, pre, sizeof(pre) - 1) != 0 ||
	    memcmp(p + len - (sizeof(post) - 1), post, sizeof(post) - 1) != 0)
		return 0;
	for (i = sizeof(pre) - 1; i < len - (sizeof(post) - 1); i++)
		if (!isdigit(p[i]))
			return 0;
	return 1;
}

static json_t *
slow_item(const Ccnode__SlowlogEntry *e, int redact)
{
	struct sbuf	 s = { NULL, 0, 0 };
	char		 tmp[40];
	size_t		 i;
	json_t		*o;

	sb_add(&s, "", 0);
	for (i = 0; i < e->n_args; i++) {
		if (i > 0)
			sb_add(&s, " ", 1);
		if (i > 0 && redact && !more_args(e->args[i].data,
		    e->args[i].len)) {
			snprintf(tmp, sizeof(tmp), "(%zu bytes)", e->args[i].len);
			sb_add(&s, tmp, strlen(tmp));
		} else
			cmdline_arg(&s, e->args[i].data, e->args[i].len);
	}
	o = json_object();
	json_object_set_new(o, "duration", json_u64(e->duration_us));
	json_object_set_new(o, "client", json_str(e->client));
	json_object_set_new(o, "command", e->n_args > 0 ?
	    analytics_json_key(e->args[0].data, e->args[0].len) :
	    json_string(""));
	json_object_set_new(o, "commandline", json_stringn(s.p, s.len));
	json_object_set_new(o, "executetime", json_time_ms(e->time * 1000));
	json_object_set_new(o, "id", json_u64(e->id));
	if (e->client_name[0] != '\0')
		json_object_set_new(o, "client_name", json_str(e->client_name));
	free(s.p);
	return o;
}

/* Lost entries reported in [begin, end], from a .lost file. */
static uint64_t
lost_in(const char *path, int64_t begin, int64_t end)
{
	FILE		*f = fopen(path, "re");
	uint8_t		 rec[16];
	uint64_t	 sum = 0;
	int64_t		 t;

	if (f == NULL)
		return 0;
	while (fread(rec, 1, sizeof(rec), f) == sizeof(rec)) {
		t = (int64_t)be64_get(rec);
		if (t >= begin && t <= end)
			sum = sat_add(sum, be64_get(rec + 8));
	}
	fclose(f);
	return sum;
}

/* A time parameter: 0 (absent: *ms untouched), or -1. */
static int
param_time(const struct evkeyvalq *q, const char *name, int64_t *ms,
    int *given)
{
	const char *s = evhttp_find_header(q, name);

	*given = s != NULL;
	return s == NULL ? 0 : parse_time_ms(s, ms);
}

static json_t *
q_slowlog(struct analytics *a, struct instance *in, const struct evkeyvalq *q,
    int64_t now, int *code)
{
	struct slowq			 sq;
	FILE				*f[8];
	int				 dates[8], nd = 0, i, hb, he;
	char				 path[PATH_MAX];
	const char			*text;
	long long			 limit = 100, offset = 0, min_us = 0;
	int64_t				 begin = 0, end = 0, t;
	uint64_t			 lost = 0;
	uint8_t				*buf;
	size_t				 k;
	json_t				*o, *items;

	if (param_time(q, "begin", &begin, &hb) == -1)
		return bad(code, "begin: '%s' is neither Unix seconds nor RFC "
		    "3339", evhttp_find_header(q, "begin"));
	if (param_time(q, "end", &end, &he) == -1)
		return bad(code, "end: '%s' is neither Unix seconds nor RFC 3339",
		    evhttp_find_header(q, "end"));
	if (!he)
		end = hb ? begin + DAY : now;
	if (!hb)
		begin = end - DAY;
	if (begin > end)
		return bad(code, "begin: after end");
	if (end - begin > DAY)
		return bad(code, "end: more than 1 day after begin (a query "
		    "spans at most 1 day)");
	if (param_ll(q, "min_us", 0, LLONG_MAX, &min_us, &text) == -1)
		return bad(code, "min_us: '%s' is not a number of microseconds",
		    text);
	if (param_ll(q, "limit", 1, SLOW_LIMIT_MAX, &limit, &text) == -1)
		return bad(code, "limit: '%s' is not 1 to %d", text,
		    SLOW_LIMIT_MAX);
	if (param_ll(q, "offset", 0, SLOW_QUERY_MAX, &offset, &text) == -1)
		return bad(code, "offset: '%s' is not 0 to %d", text,
		    SLOW_QUERY_MAX);

	/* The dates the range touches: at most 3, DST included. */
	for (t = begin;; t = MINIMUM(t + DAY / 2, end)) {
		int date = date_of(t);

		if (nd == 0 || dates[nd - 1] != date)
			dates[nd++] = date;
		if (t == end || nd == (int)nitems(dates))
			break;
	}
	memset(&sq, 0, sizeof(sq));
	sq.begin = begin;
	sq.end = end;
	sq.min_us = (uint64_t)min_us;
	for (i = 0; i < nd; i++) {
		f[i] = NULL;
		if (file_path(a, in->name, "slowlog", dates[i], "pb", path,
		    sizeof(path)) == -1)
			continue;
		if ((f[i] = fopen(path, "re")) != NULL) {
			sq.file = i;
			slow_read(f[i], query_cb, &sq);
		}
		if (file_path(a, in->name, "slowlog", dates[i], "lost", path,
		    sizeof(path)) == 0)
			lost = sat_add(lost, lost_in(path, begin, end));
	}
	qsort(sq.c, sq.n, sizeof(*sq.c), scand_cmp);
	items = json_array();
	buf = xmalloc(SLOW_REC_MAX);
	for (k = (size_t)offset; k < sq.n && k < (size_t)(offset + limit); k++) {
		Ccnode__SlowlogEntry *e;

		if (fseeko(f[sq.c[k].file], sq.c[k].off + 4, SEEK_SET) == -1 ||
		    fread(buf, 1, sq.c[k].len, f[sq.c[k].file]) != sq.c[k].len ||
		    (e = ccnode__slowlog_entry__unpack(NULL, sq.c[k].len,
		    buf)) == NULL)
			continue;
		json_array_append_new(items, slow_item(e,
		    a->m->conf->slowlog_redact_args));
		ccnode__slowlog_entry__free_unpacked(e, NULL);
	}
	free(buf);
	for (i = 0; i < nd; i++)
		if (f[i] != NULL)
			fclose(f[i]);
	free(sq.c);
	o = json_object();
	json_object_set_new(o, "total", json_u64(sq.total));
	json_object_set_new(o, "lost", json_u64(lost));
	json_object_set_new(o, "begin", json_time_ms(begin));
	json_object_set_new(o, "end", json_time_ms(end));
	json_object_set_new(o, "min_us", json_integer(min_us));
	json_object_set_new(o, "limit", json_integer(limit));
	json_object_set_new(o, "offset", json_integer(offset));
	json_object_set_new(o, "redacted",
	    json_boolean(a->m->conf->slowlog_redact_args));
	if (sq.truncated)
		json_object_set_new(o, "truncated", json_true());
	json_object_set_new(o, "items", items);
	*code = 200;
	return o;
}

/* ---- big keys ------------------------------------------------------------- */

/* The scan stored for a date, or NULL. */
static Ccnode__BigKeyScan *
big_read(const struct analytics *a, const char *name, int date)
{
	Ccnode__BigKeyScan	*s;
	char			 path[PATH_MAX], *data, *err = NULL;
	size_t			 len;

	if (file_path(a, name, "bigkeys", date, "pb", path, sizeof(path)) ==
	    -1 || access(path, F_OK) == -1)
		return NULL;
	if ((data = read_small_file(path, BIG_FILE_MAX, 0, &len, &err)) ==
	    NULL) {
		log_warnx("%s", err);
		free(err);
		return NULL;
	}
	if ((s = ccnode__big_key_scan__unpack(NULL, len, (uint8_t *)data)) ==
	    NULL)
		log_warnx("%s: not a BigKeyScan; ignored", path);
	free(data);
	return s;
}

/*
 * Stores a scan under the local date of its end.  The latest complete
 * scan of a date wins; an incomplete one goes in only while the date has
 * no complete scan.
 */
static void
big_ingest(struct analytics *a, struct analytics_inst *ai,
    const struct instance *in, int64_t t, const Ccnode__BigKeyScan *bk)
{
	Ccnode__BigKeyScan	 copy = *bk, *old;
	int64_t			 fin = bk->finished_ms > 0 ? bk->finished_ms : t;
	int			 date = date_of(fin), keep;
	char			 path[PATH_MAX], *err = NULL;
	uint8_t			*buf;
	size_t			 len;

	old = big_read(a, in->name, date);
	if (old == NULL)
		keep = 1;
	else if (bk->complete)
		keep = !old->complete || fin >= old->finished_ms;
	else
		keep = !old->complete && fin >= old->finished_ms;
	if (old != NULL)
		ccnode__big_key_scan__free_unpacked(old, NULL);
	if (!keep) {
		log_info("instance=%s: big-key scan of %08d not stored "
		    "complete=%d: the date has a %s one", in->name, date,
		    bk->complete, bk->complete ? "later complete" : "complete");
		return;
	}
	copy.finished_ms = fin;
	copy.n_over = MINIMUM(copy.n_over, (size_t)BIG_OVER_MAX);
	copy.n_top = MINIMUM(copy.n_top, (size_t)BIG_TOP_MAX);
	copy.n_types = MINIMUM(copy.n_types, (size_t)BIG_TYPES_MAX);
	if (copy.n_size_edges > BIG_EDGES_MAX ||
	    copy.n_size_counts != copy.n_size_edges + 1) {
		if (copy.n_size_edges + copy.n_size_counts > 0 &&
		    !(ai->warned & W_BIGBAD))
			log_warnx("instance=%s: a big-key size ladder of %zu "
			    "edges and %zu counts; left out (logged once)",
			    in->name, copy.n_size_edges, copy.n_size_counts);
		if (copy.n_size_edges + copy.n_size_counts > 0)
			ai->warned |= W_BIGBAD;
		copy.n_size_edges = copy.n_size_counts = 0;
	}
	len = ccnode__big_key_scan__get_packed_size(&copy);
	buf = xmalloc(len + 1);
	ccnode__big_key_scan__pack(&copy, buf);
	if (inst_dir(a, in->name) == -1 || file_path(a, in->name, "bigkeys",
	    date, "pb", path, sizeof(path)) == -1 ||
	    write_file_atomic(path, buf, len, &err) == -1) {
		if (!(ai->warned & W_BIGIO))
			log_warnx("instance=%s: cannot store the big-key scan "
			    "of %08d: %s (logged once)", in->name, date,
			    err ? err : strerror(errno));
		ai->warned |= W_BIGIO;
	} else
		log_info("instance=%s: big-key scan of %08d stored "
		    "complete=%d keys=%llu over=%zu", in->name, date,
		    bk->complete, (unsigned long long)bk->keys, copy.n_over);
	free(err);
	free(buf);
}

/* date= (default: today); 0, or -1 after filling *err. */
static int
param_date(const struct evkeyvalq *q, int64_t now, int *date)
{
	const char *s = evhttp_find_header(q, "date");

	if (s == NULL) {
		*date = date_of(now);
		return 0;
	}
	return parse_date(s, date);
}

/* What every big-key answer says about the scan of the date. */
static json_t *
big_base(int date, const Ccnode__BigKeyScan *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "date", json_date(date));
	json_object_set_new(o, "found", json_boolean(s != NULL));
	if (s == NULL) {
		json_object_set_new(o, "complete", json_null());
		return o;
	}
	json_object_set_new(o, "complete", json_boolean(s->complete));
	json_object_set_new(o, "scanned", json_str(s->scanned));
	json_object_set_new(o, "started", json_time_ms(s->started_ms));
	json_object_set_new(o, "finished", json_time_ms(s->finished_ms));
	json_object_set_new(o, "duration_ms", json_u64(s->duration_ms));
	json_object_set_new(o, "keys", json_u64(s->keys));
	json_object_set_new(o, "vanished", json_u64(s->vanished));
	json_object_set_new(o, "restarts", json_integer(s->restarts));
	json_object_set_new(o, "reason", json_str(s->reason));
	json_object_set_new(o, "top_n", json_integer(s->top_n));
	json_object_set_new(o, "limits", json_pack("{s:o,s:o}",
	    "string_bytes", json_u64(s->string_limit),
	    "elements", json_u64(s->elements_limit)));
	return o;
}

static json_t *
bigkey_json(const Ccnode__BigKey *k, int64_t when)
{
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:b}", "db",
	    (json_int_t)k->db, "key", analytics_json_key(k->key.data,
	    k->key.len), "type", json_str(k->type), "size", json_u64(k->size),
	    "elements", json_u64(k->elements), "updatetime", json_time_ms(when),
	    "size_exact", k->size_exact);
}

static json_t *
q_bigkeys(struct analytics *a, struct instance *in, const struct evkeyvalq *q,
    int64_t now, int *code)
{
	Ccnode__BigKeyScan	*s;
	const char		*type = evhttp_find_header(q, "type"), *text;
	const char		*seen[BIG_TYPES_MAX];
	long long		 top = 0;
	int			 date, strings, nseen = 0, i;
	size_t			 k, j, taken;
	json_t			*o, *items;

	if (type != NULL && strcmp(type, "string") != 0 &&
	    strcmp(type, "all") != 0)
		return bad(code, "type: '%s' is not one of string, all", type);
	strings = type != NULL && strcmp(type, "string") == 0;
	if (param_date(q, now, &date) == -1)
		return bad(code, "date: '%s' is not a date as YYYYMMDD",
		    evhttp_find_header(q, "date"));
	if (param_ll(q, "top", 1, BIG_TOP_MAX, &top, &text) == -1)
		return bad(code, "top: '%s' is not 1 to %d", text, BIG_TOP_MAX);
	s = big_read(a, in->name, date);
	if (s != NULL && top > (long long)s->top_n) {
		o = bad(code, "top: %lld is more than the scan's top_n (%u)",
		    top, s->top_n);
		ccnode__big_key_scan__free_unpacked(s, NULL);
		return o;
	}
	o = big_base(date, s);
	json_object_set_new(o, "type", json_string(strings ? "string" : "all"));
	json_object_set_new(o, "top", top ? json_integer(top) : json_null());
	items = json_array();
	for (k = 0; s != NULL && top == 0 && k < s->n_over; k++)
		if (!strings || strcmp(s->over[k]->type, "string") == 0)
			json_array_append_new(items, bigkey_json(s->over[k],
			    s->finished_ms));
	/* top=N: the first N of each type, in the scan's order (largest first). */
	for (k = 0; s != NULL && top > 0 && k < s->n_top; k++) {
		const char *t = s->top[k]->type;

		for (i = 0; i < nseen; i++)
			if (strcmp(seen[i], t) == 0)
				break;
		if (i < nseen || nseen == (int)nitems(seen) ||
		    (strings && strcmp(t, "string") != 0))
			continue;
		seen[nseen++] = t;
		for (j = k, taken = 0; j < s->n_top && taken < (size_t)top; j++)
			if (strcmp(s->top[j]->type, t) == 0) {
				json_array_append_new(items,
				    bigkey_json(s->top[j], s->finished_ms));
				taken++;
			}
	}
	json_object_set_new(o, "items", items);
	if (s != NULL)
		ccnode__big_key_scan__free_unpacked(s, NULL);
	*code = 200;
	return o;
}

/* "512B", "1KB", "10MB". */
static void
fmt_bytes(char *buf, size_t len, uint64_t b)
{
	if (b >= (1ULL << 30) && b % (1ULL << 30) == 0)
		snprintf(buf, len, "%lluGB", (unsigned long long)(b >> 30));
	else if (b >= (1ULL << 20) && b % (1ULL << 20) == 0)
		snprintf(buf, len, "%lluMB", (unsigned long long)(b >> 20));
	else if (b >= 1024 && b % 1024 == 0)
		snprintf(buf, len, "%lluKB", (unsigned long long)(b >> 10));
	else
		snprintf(buf, len, "%lluB", (unsigned long long)b);
}

static json_t *
q_size_dist(struct analytics *a, struct instance *in,
    const struct evkeyvalq *q, int64_t now, int *code)
{
	Ccnode__BigKeyScan	*s;
	char			 lo[24], hi[24], label[56];
	int			 date;
	size_t			 i, n;
	json_t			*o, *items, *edges;

	if (param_date(q, now, &date) == -1)
		return bad(code, "date: '%s' is not a date as YYYYMMDD",
		    evhttp_find_header(q, "date"));
	s = big_read(a, in->name, date);
	o = big_base(date, s);
	items = json_array();
	edges = json_array();
	n = s != NULL && s->n_size_counts == s->n_size_edges + 1 ?
	    s->n_size_counts : 0;
	for (i = 0; i < n; i++) {
		if (i < s->n_size_edges)
			json_array_append_new(edges,
			    json_u64(s->size_edges[i]));
		if (i > 0)
			fmt_bytes(lo, sizeof(lo), s->size_edges[i - 1]);
		if (i < n - 1)
			fmt_bytes(hi, sizeof(hi), s->size_edges[i]);
		if (n == 1)
			snprintf(label, sizeof(label), "all");
		else if (i == 0)
			snprintf(label, sizeof(label), "<%s", hi);
		else if (i == n - 1)
			snprintf(label, sizeof(label), ">=%s", lo);
		else
			snprintf(label, sizeof(label), "%s-%s", lo, hi);
		json_array_append_new(items, json_pack("{s:s,s:o}", "ladder",
		    label, "size", json_u64(s->size_counts[i])));
	}
	json_object_set_new(o, "edges_bytes", edges);
	json_object_set_new(o, "items", items);
	if (s != NULL)
		ccnode__big_key_scan__free_unpacked(s, NULL);
	*code = 200;
	return o;
}

static json_t *
q_type_dist(struct analytics *a, struct instance *in,
    const struct evkeyvalq *q, int64_t now, int *code)
{
	Ccnode__BigKeyScan	*s;
	int			 date;
	size_t			 i;
	json_t			*o, *items;

	if (param_date(q, now, &date) == -1)
		return bad(code, "date: '%s' is not a date as YYYYMMDD",
		    evhttp_find_header(q, "date"));
	s = big_read(a, in->name, date);
	o = big_base(date, s);
	items = json_array();
	for (i = 0; s != NULL && i < s->n_types; i++)
		json_array_append_new(items, json_pack("{s:o,s:o,s:o,s:o}",
		    "type", json_str(s->types[i]->type),
		    "count", json_u64(s->types[i]->count),
		    "size", json_u64(s->types[i]->size),
		    "updatetime", json_time_ms(s->finished_ms)));
	json_object_set_new(o, "items", items);
	if (s != NULL)
		ccnode__big_key_scan__free_unpacked(s, NULL);
	*code = 200;
	return o;
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
	if (is->up) {
		sources_ingest(ai, is);
		str_copy(ai->latency_source, sizeof(ai->latency_source),
		    is->latency_source);
		if (strcmp(is->kind, "interface") != 0)
			cmds_ingest(a, ai, in, t, is);
	}
	if (is->n_slowlog > 0 || is->slowlog_lost > 0)
		fresh = slow_ingest(a, ai, in, t, is);
	/* The rate: new entries per second since the previous sample. */
	if (!is->up || strcmp(is->kind, "interface") == 0 ||
	    source_off(ai, "slowlog"))
		ai->slow_rate = NAN;
	else if (ai->slow_t > 0 && t > ai->slow_t)
		ai->slow_rate = (double)fresh / ((double)(t - ai->slow_t) / 1000);
	ai->slow_t = t;
	if (is->hotkeys != NULL)
		hot_ingest(ai, in, t, is->hotkeys);
	if (is->bigkeys != NULL)
		big_ingest(a, ai, in, t, is->bigkeys);
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
	{ "hotkeys", p_hot, q_hotkeys },
	{ "bigkeys", p_big, q_bigkeys },
	{ "bigkeys/size-dist", p_date, q_size_dist },
	{ "bigkeys/type-dist", p_date, q_type_dist },
	{ "slowlog", p_slow, q_slowlog },
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
		if (name_date(de->d_name, "slowlog-", ".pb", &date) ||
		    name_date(de->d_name, "slowlog-", ".lost", &date))
			old = date < slow_oldest;
		else if (name_date(de->d_name, "bigkeys-", ".pb", &date))
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
	int		 slow_oldest = date_of(now_ms - SLOW_DAYS * DAY);
	int		 big_oldest = date_of(now_ms - BIG_DAYS * DAY);

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
