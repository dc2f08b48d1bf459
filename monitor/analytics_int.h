/*
 * analytics_int.h: what analytics.c, slowstore.c, bigstore.c and
 * hotstore.c share, and only they include: the module and its
 * per-instance state, and the helpers the stores call.  monitor.h has the
 * public API.
 */
#ifndef CC_ANALYTICS_INT_H
#define CC_ANALYTICS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "monitor.h"

struct event;
struct hkey;			/* a hot key (hotstore.c) */

#define SLOTS_MAX	(LADDER_EDGES_MAX + 1)
#define HIST_MAX	64		/* histogram buckets read */
#define MON_CMD_NAME_MAX	48		/* names kept (the agent sends up to 63) */
#define MIN5		(300 * 1000LL)
#define HOUR		(3600 * 1000LL)
#define DAY		(86400 * 1000LL)
#define RUNIDS_MAX	8
#define SLOW_DAYS	7		/* slowlog files kept */
#define SLOW_DATES	12		/* day counters per instance */
#define BIG_DAYS	30		/* big-key files kept */
#define SOURCES_MAX	16

/* Logged once per instance. */
#define W_NAME		0x01
#define W_NAMES		0x02
#define W_SCALE		0x04
#define W_SLOWBAD	0x08
#define W_SLOWIO	0x10
#define W_HOTBAD	0x20
#define W_BIGBAD	0x40
#define W_BIGIO		0x80
#define W_FUTURE	0x100

/* Per-command figures of one time bucket. */
struct cbucket {
	int64_t		 start_ms;	/* 0: unused */
	int64_t		 from_ms, to_ms;	/* what the samples covered */
	uint8_t		 sources;	/* SRC_* (analytics.c) */
	uint16_t	 n, cap;
	uint16_t	*ids;
	uint64_t	*v;		/* n * stride */
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

/* The spans of the command and hot-key paths (span=). */
enum span { SP_RT, SP_30M, SP_6H, SP_24H };
extern const char *const analytics_span_names[];	/* NULL-terminated */

/* analytics.c: helpers for the stores. */
/* span=: 0 (absent: 30m), or -1 (the value is bad). */
int		 analytics_param_span(const struct evkeyvalq *, enum span *);
/* {"error": ...} and *code 400. */
json_t		*analytics_bad(int *code, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* The local date of a Unix time in ms, as YYYYMMDD. */
int		 analytics_date_of(int64_t ms);
/* A bounded integer parameter: 0 (absent: *v untouched), or -1. */
int		 analytics_param_ll(const struct evkeyvalq *, const char *name,
		    long long lo, long long hi, long long *v,
		    const char **text);
/* dir/NAME/PREFIX-YYYYMMDD.SUFFIX into buf: 0, or -1 if too long. */
int		 analytics_file_path(const struct analytics *, const char *name,
		    const char *prefix, int date, const char *suffix, char *buf,
		    size_t len);
/* Makes dir/NAME: 0, or -1. */
int		 analytics_inst_dir(const struct analytics *, const char *name);
/* Whether fname is PREFIX-YYYYMMDD.SUFFIX; *date gets the date. */
int		 analytics_name_date(const char *fname, const char *prefix,
		    const char *suffix, int *date);

/* a + b, or UINT64_MAX if it overflows. */
static inline uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* slowstore.c */
/* Stores a sample's slowlog; returns how many entries were new. */
uint64_t	 slowstore_ingest(struct analytics *, struct analytics_inst *,
		    const struct instance *, int64_t t,
		    const Ccnode__InstanceSample *);
/* The slowlog path: the entries of a time range, newest first. */
json_t		*slowstore_query(struct analytics *, struct instance *,
		    const struct evkeyvalq *, int64_t now, int *code);

/* bigstore.c */
/* Stores a big-key scan under the local date of its end. */
void		 bigstore_ingest(struct analytics *, struct analytics_inst *,
		    const struct instance *, int64_t t,
		    const Ccnode__BigKeyScan *);
/* The bigkeys path: the keys over the limits, or the top N of each type. */
json_t		*bigstore_query(struct analytics *, struct instance *,
		    const struct evkeyvalq *, int64_t now, int *code);
/* bigkeys/size-dist: how many keys of a scan fall in each size range. */
json_t		*bigstore_size_dist(struct analytics *, struct instance *,
		    const struct evkeyvalq *, int64_t now, int *code);
/* bigkeys/type-dist: the key count and size of a scan per type. */
json_t		*bigstore_type_dist(struct analytics *, struct instance *,
		    const struct evkeyvalq *, int64_t now, int *code);

/* hotstore.c */
/* Keeps a hot-key window: as realtime, and merged into the summaries. */
void		 hotstore_ingest(struct analytics_inst *,
		    const struct instance *, int64_t t,
		    const Ccnode__HotKeys *);
/* The hotkeys path: a span's keys, highest estimate first. */
json_t		*hotstore_query(struct analytics *, struct instance *,
		    const struct evkeyvalq *, int64_t now, int *code);
/* Frees the hot keys of an instance. */
void		 hotstore_free(struct analytics_inst *);

#endif
