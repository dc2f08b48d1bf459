/*
 * bigstore.c: the big-key scans of the analytics (analytics.c) on disk,
 * one per instance and date, and the bigkeys API paths that read them.
 *
 * A scan is stored per local date of its end, in
 * data-dir/analytics/NAME/bigkeys-YYYYMMDD.pb (the packed BigKeyScan).
 * The latest complete scan of a date wins; an incomplete one is kept only
 * while the date has no complete one.  analytics.c removes the files past
 * 30 days.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define LOG_COMP "analytics"
#include "log.h"
#include "json.h"
#include "monitor.h"
#include "util.h"
#include "analytics_int.h"

#define BIG_OVER_MAX	1000
#define BIG_TOP_MAX	10000
#define BIG_TYPES_MAX	64
#define BIG_EDGES_MAX	64
#define BIG_FILE_MAX	(256 * 1024 * 1024)

/* ---- small helpers -------------------------------------------------------- */

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

/* ---- big keys ------------------------------------------------------------- */

/* The scan stored for a date, or NULL. */
static Ccnode__BigKeyScan *
big_read(const struct analytics *a, const char *name, int date)
{
	Ccnode__BigKeyScan	*s;
	char			 path[PATH_MAX], *data, *err = NULL;
	size_t			 len;

	if (analytics_file_path(a, name, "bigkeys", date, "pb", path,
	    sizeof(path)) == -1 || access(path, F_OK) == -1)
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
void
bigstore_ingest(struct analytics *a, struct analytics_inst *ai,
    const struct instance *in, int64_t t, const Ccnode__BigKeyScan *bk)
{
	Ccnode__BigKeyScan	 copy = *bk, *old;
	/* The end as the agent says, if it is no later than the sample. */
	int64_t			 fin = bk->finished_ms > 0 &&
				    bk->finished_ms <= t ? bk->finished_ms : t;
	int			 date = analytics_date_of(fin), keep;
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
	if (analytics_inst_dir(a, in->name) == -1 ||
	    analytics_file_path(a, in->name, "bigkeys", date, "pb", path,
	    sizeof(path)) == -1 ||
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
		*date = analytics_date_of(now);
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
	    (json_int_t)k->db, "key", json_key(k->key.data,
	    k->key.len), "type", json_str(k->type), "size", json_u64(k->size),
	    "elements", json_u64(k->elements), "updatetime", json_time_ms(when),
	    "size_exact", k->size_exact);
}

/* The bigkeys path: the keys over the limits, or the top N of each type. */
json_t *
bigstore_query(struct analytics *a, struct instance *in,
    const struct evkeyvalq *q, int64_t now, int *code)
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
		return analytics_bad(code, "type: '%s' is not one of string, "
		    "all", type);
	strings = type != NULL && strcmp(type, "string") == 0;
	if (param_date(q, now, &date) == -1)
		return analytics_bad(code, "date: '%s' is not a date as "
		    "YYYYMMDD", evhttp_find_header(q, "date"));
	if (analytics_param_ll(q, "top", 1, BIG_TOP_MAX, &top, &text) == -1)
		return analytics_bad(code, "top: '%s' is not 1 to %d", text,
		    BIG_TOP_MAX);
	s = big_read(a, in->name, date);
	if (s != NULL && top > (long long)s->top_n) {
		o = analytics_bad(code, "top: %lld is more than the scan's "
		    "top_n (%u)", top, s->top_n);
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

/* bigkeys/size-dist: how many keys of a scan fall in each size range. */
json_t *
bigstore_size_dist(struct analytics *a, struct instance *in,
    const struct evkeyvalq *q, int64_t now, int *code)
{
	Ccnode__BigKeyScan	*s;
	char			 lo[24], hi[24], label[56];
	int			 date;
	size_t			 i, n;
	json_t			*o, *items, *edges;

	if (param_date(q, now, &date) == -1)
		return analytics_bad(code, "date: '%s' is not a date as "
		    "YYYYMMDD", evhttp_find_header(q, "date"));
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

/* bigkeys/type-dist: the key count and size of a scan per type. */
json_t *
bigstore_type_dist(struct analytics *a, struct instance *in,
    const struct evkeyvalq *q, int64_t now, int *code)
{
	Ccnode__BigKeyScan	*s;
	int			 date;
	size_t			 i;
	json_t			*o, *items;

	if (param_date(q, now, &date) == -1)
		return analytics_bad(code, "date: '%s' is not a date as "
		    "YYYYMMDD", evhttp_find_header(q, "date"));
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
