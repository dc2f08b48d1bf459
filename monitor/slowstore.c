/*
 * slowstore.c: the slowlog entries of the analytics (analytics.c) on disk,
 * and the slowlog API path that reads them back.
 *
 * Entries go to disk, one file per local date of the entry's time:
 * data-dir/analytics/NAME/slowlog-YYYYMMDD.pb, records of a 4-byte
 * big-endian length and a packed SlowlogEntry (run_id always filled in),
 * appended with one write per report and date.  An entry is stored once:
 * per run_id the next id expected is kept (8 run ids at most), rebuilt
 * from the files of the last 7 days when the instance first sends slowlog
 * data after a start.  Lost entries (slowlog_lost) are appended as 16-byte
 * records (report time, count) to slowlog-YYYYMMDD.lost, once per report
 * time.  At most 100,000 entries (and 32 MB) per instance and day are
 * stored; more are counted as dropped, logged once a day.
 *
 * A query spans at most a day: it reads the files of the dates the range
 * touches, sorts at most 400,000 matching entries newest first, reads back
 * the page asked for, and sums the lost counts reported in the range.
 * analytics.c removes the files past 7 days.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define LOG_COMP "analytics"
#include "log.h"
#include "json.h"
#include "monitor.h"
#include "util.h"
#include "analytics_int.h"

#define SLOW_DAY_MAX	100000		/* entries per instance and day */
#define SLOW_DAY_BYTES	(32 * 1024 * 1024)	/* and bytes */
#define SLOW_REC_MAX	65536		/* bytes of one stored entry */
#define SLOW_QUERY_MAX	400000		/* entries one query sorts */
#define SLOW_LIMIT_MAX	10000

/* ---- small helpers -------------------------------------------------------- */

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
	int		 date, oldest;

	oldest = analytics_date_of(now - (SLOW_DAYS + 1) * DAY);
	ai->slow_loaded = 1;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", a->dir, name) >=
	    sizeof(dir) || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path))
			continue;
		if (analytics_name_date(de->d_name, "slowlog-", ".lost",
		    &date)) {
			if (stat(path, &st) == 0 && st.st_size % 16 != 0 &&
			    truncate(path, st.st_size - st.st_size % 16) == 0)
				log_warnx("%s: torn last record cut", path);
			ai->lost_t = MAXIMUM(ai->lost_t, lost_last(path));
			continue;
		}
		if (!analytics_name_date(de->d_name, "slowlog-", ".pb",
		    &date) || date < oldest || (f = fopen(path, "re")) == NULL)
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
	if (analytics_file_path(a, name, "slowlog", date, "pb", path,
	    sizeof(path)) == 0) {
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
uint64_t
slowstore_ingest(struct analytics *a, struct analytics_inst *ai,
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
	xqsort(v, n, sizeof(*v), sref_cmp);
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
		d = day_get(a, ai, in->name, analytics_date_of(tms));
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
		if (analytics_inst_dir(a, in->name) == -1 ||
		    analytics_file_path(a, in->name, "slowlog", p[k].date, "pb",
		    path, sizeof(path)) == -1 ||
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
		if (analytics_inst_dir(a, in->name) == -1 ||
		    analytics_file_path(a, in->name, "slowlog",
		    analytics_date_of(t), "lost", path, sizeof(path)) == -1 ||
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
		if ((n = utf8_seq(p + i, len - i)) == 0 ||
		    p[i] <= ' ' || p[i] == 0x7f || p[i] == '"' ||
		    p[i] == '\'' || p[i] == '\\')
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
		else if (p[i] >= 0x80 &&
		    (n = utf8_seq(p + i, len - i)) > 0)
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
	    json_key(e->args[0].data, e->args[0].len) :
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

/* The slowlog path: the entries of a time range, newest first. */
json_t *
slowstore_query(struct analytics *a, struct instance *in,
    const struct evkeyvalq *q, int64_t now, int *code)
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
		return analytics_bad(code, "begin: '%s' is neither Unix "
		    "seconds nor RFC 3339", evhttp_find_header(q, "begin"));
	if (param_time(q, "end", &end, &he) == -1)
		return analytics_bad(code, "end: '%s' is neither Unix seconds "
		    "nor RFC 3339", evhttp_find_header(q, "end"));
	if (!he)
		end = hb ? begin + DAY : now;
	if (!hb)
		begin = end - DAY;
	if (begin > end)
		return analytics_bad(code, "begin: after end");
	if (end - begin > DAY)
		return analytics_bad(code, "end: more than 1 day after begin "
		    "(a query spans at most 1 day)");
	if (analytics_param_ll(q, "min_us", 0, LLONG_MAX, &min_us,
	    &text) == -1)
		return analytics_bad(code, "min_us: '%s' is not a number of "
		    "microseconds", text);
	if (analytics_param_ll(q, "limit", 1, SLOW_LIMIT_MAX, &limit,
	    &text) == -1)
		return analytics_bad(code, "limit: '%s' is not 1 to %d", text,
		    SLOW_LIMIT_MAX);
	if (analytics_param_ll(q, "offset", 0, SLOW_QUERY_MAX, &offset,
	    &text) == -1)
		return analytics_bad(code, "offset: '%s' is not 0 to %d", text,
		    SLOW_QUERY_MAX);

	/* The dates the range touches: at most 3, DST included. */
	for (t = begin;; t = MINIMUM(t + DAY / 2, end)) {
		int date = analytics_date_of(t);

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
		if (analytics_file_path(a, in->name, "slowlog", dates[i], "pb",
		    path, sizeof(path)) == -1)
			continue;
		if ((f[i] = fopen(path, "re")) != NULL) {
			sq.file = i;
			slow_read(f[i], query_cb, &sq);
		}
		if (analytics_file_path(a, in->name, "slowlog", dates[i],
		    "lost", path, sizeof(path)) == 0)
			lost = sat_add(lost, lost_in(path, begin, end));
	}
	xqsort(sq.c, sq.n, sizeof(*sq.c), scand_cmp);
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
