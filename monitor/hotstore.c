/*
 * hotstore.c: the hot keys of the analytics (analytics.c) in memory, and
 * the hotkeys API path.
 *
 * "realtime" is the last window as the agent sent it, with its LFU list;
 * 30m, 6h and 24h merge the windows into five-minute and one-hour
 * summaries of at most HOT_MAX keys, summing the estimated counts of a
 * key.  Cutting a merged list back to HOT_MAX drops the counts of the keys
 * cut: a key that is hot now and then is undercounted.  It is an
 * approximation, and the API says the counts are estimates.
 *
 * Memory per instance: 32 summaries (6 + 24, the last window and its LFU
 * list) of at most 100 keys of at most 512 bytes, 32 bytes each plus the
 * key: 1.7 MB at most.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define LOG_COMP "analytics"
#include "log.h"
#include "json.h"
#include "monitor.h"
#include "util.h"
#include "analytics_int.h"

#define HOT_MAX		100		/* keys per hot-key summary */
#define HOT_IN_MAX	1000		/* keys read from one window */
#define HOT_KEY_MAX	512		/* bytes of a key kept */
#define NHOT5		6		/* 30 min of five-minute summaries */
#define NHOTH		24

struct hkey {
	char		*key;
	uint64_t	 count;
	uint32_t	 db;
	uint16_t	 len;		/* at most HOT_KEY_MAX */
	uint8_t		 truncated;
	char		 type[7];	/* "string", "stream", "" */
};

static const char *const key_types[] = { "string", "list", "hash", "set",
	"zset", "stream", NULL };

static void
hotset_clear(struct hotset *h)
{
	int i;

	for (i = 0; i < h->n; i++)
		free(h->keys[i].key);
	free(h->keys);
	memset(h, 0, sizeof(*h));
}

void
hotstore_free(struct analytics_inst *ai)
{
	int i;

	hotset_clear(&ai->hot_rt);
	hotset_clear(&ai->hot_lfu);
	for (i = 0; ai->hot5 != NULL && i < NHOT5; i++)
		hotset_clear(&ai->hot5[i]);
	for (i = 0; ai->hoth != NULL && i < NHOTH; i++)
		hotset_clear(&ai->hoth[i]);
	free(ai->hot5);
	free(ai->hoth);
	ai->hot5 = ai->hoth = NULL;
}

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
	xqsort(set->keys, (size_t)set->n, sizeof(*set->keys), hkey_cmp);
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
	xqsort(set->keys, (size_t)set->n, sizeof(*set->keys), hkey_cmp);
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

void
hotstore_ingest(struct analytics_inst *ai, const struct instance *in,
    int64_t t, const Ccnode__HotKeys *hk)
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
		    json_key(k[i].key, k[i].len), "type", k[i].type,
		    "count", json_u64(k[i].count), "db", (json_int_t)k[i].db);
		if (k[i].truncated)
			json_object_set_new(o, "truncated", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
hotstore_query(struct analytics *a, struct instance *in,
    const struct evkeyvalq *q, int64_t now, int *code)
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
	if (analytics_param_span(q, &sp) == -1)
		return analytics_bad(code, "span: '%s' is not one of realtime, "
		    "30m, 6h, 24h", evhttp_find_header(q, "span"));
	if (analytics_param_ll(q, "limit", 1, HOT_MAX, &limit, &text) == -1)
		return analytics_bad(code, "limit: '%s' is not 1 to %d", text,
		    HOT_MAX);
	o = json_object();
	json_object_set_new(o, "span", json_string(analytics_span_names[sp]));
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
