/*
 * cmdstats.c: INFO commandstats, LATENCY HISTOGRAM and SLOWLOG GET
 * replies, and the workload between two readings (see cmdstats.h).
 *
 * LATENCY HISTOGRAM as redis 7.0.15 answers it over RESP2 (hiredis 0.14),
 * after 300 SET, 100 DEBUG SLEEP of 0 to 9 ms and 50 EVAL loops of 2,000
 * to 100,000 steps:
 *
 *	set calls 300 histogram_usec 1 227 2 281 4 287 8 294 16 300
 *	debug calls 100 histogram_usec 132 7 264 10 2113 27 4227 49
 *	    8454 90 16908 100
 *	eval calls 50 histogram_usec 66 3 132 9 264 21 528 47 1056 50
 *
 * That is a flat array NAME, [ "calls", N, "histogram_usec", [BUCKET,
 * COUNT, ...] ], ...  Only non-empty buckets are listed, the counts are
 * cumulative (the last one is the call count) and the buckets are named
 * by their upper edge in us: 1, 2, 4, 8, 16, 33, 66, 132, ... (Redis
 * reports 1024 * 2^i ns buckets by their last ns value, see LAT_BUCKETS).
 * CONFIG RESETSTAT empties both INFO commandstats and the histograms; with
 * latency-tracking off, INFO counts calls and the histogram stands still.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cmdstats.h"
#include "util.h"

/* Products of two counters, and sums of 40 of them, fit exactly. */
__extension__ typedef unsigned __int128 u128;

static uint64_t
add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* a * b / c, with c > 0 and b <= c, so the result is at most a. */
static uint64_t
scale(uint64_t a, uint64_t b, uint64_t c)
{
	return (uint64_t)((u128)a * b / c);
}

/*
 * Copies a command name, lower-cased.  Names are printable ASCII with no
 * space; anything else, or one of CMD_NAME_MAX bytes or more, is refused.
 */
static int
copy_name(char *dst, const char *src, size_t len)
{
	size_t	i;
	char	c;

	if (src == NULL || len == 0 || len >= CMD_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		c = src[i];
		if (c <= ' ' || c > '~')
			return -1;
		dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	dst[len] = '\0';
	return 0;
}

/* A decimal counter: digits only, no overflow. */
static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
stat_cmp(const void *a, const void *b)
{
	const struct cmdstat	*x = a, *y = b;
	int			 c;

	/* Equal names (junk only) sort by counters: deterministic. */
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	if (x->calls != y->calls)
		return x->calls < y->calls ? -1 : 1;
	if (x->usec != y->usec)
		return x->usec < y->usec ? -1 : 1;
	if (x->failed != y->failed)
		return x->failed < y->failed ? -1 : 1;
	return 0;
}

/* Sorts t by name and keeps the first entry of each name. */
static void
table_sort(struct cmdtable *t)
{
	size_t	i, n;

	if (t->n < 2)
		return;
	xqsort(t->v, t->n, sizeof(t->v[0]), stat_cmp);
	for (i = 1, n = 1; i < t->n; i++) {
		if (strcmp(t->v[i].name, t->v[n - 1].name) == 0)
			continue;
		if (i != n)
			t->v[n] = t->v[i];
		n++;
	}
	t->n = n;
}

/* Binary search of n entries sorted by name. */
static const struct cmdstat *
bisect(const struct cmdstat *v, size_t n, const char *name)
{
	size_t	lo = 0, hi = n, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, v[mid].name)) == 0)
			return &v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct cmdstat *
table_find(const struct cmdtable *t, const char *name)
{
	return bisect(t->v, MINIMUM(t->n, CMD_MAX), name);
}

void
cmdtable_clear(struct cmdtable *t)
{
	t->n = 0;
}

struct cmdstat *
cmdtable_find(struct cmdtable *t, const char *name)
{
	return (struct cmdstat *)table_find(t, name);
}

/* ---- INFO commandstats --------------------------------------------------- */

#define PREFIX		"cmdstat_"
#define PREFIX_LEN	(sizeof(PREFIX) - 1)
#define KEY_IS(lit) \
	(klen == sizeof(lit) - 1 && memcmp(k, lit, klen) == 0)

/*
 * One "cmdstat_NAME:calls=N,usec=N,usec_per_call=F,rejected_calls=N,
 * failed_calls=N" line (Redis before 6.2 has no rejected or failed calls)
 * into *cs.  Unknown fields are ignored; calls and usec are required.
 */
static int
parse_line(const char *line, size_t len, struct cmdstat *cs)
{
	const char	*colon, *p, *end = line + len, *comma, *eq, *k, *v;
	size_t		 klen, vlen;
	uint64_t	 n;
	int		 seen = 0;

	if (len <= PREFIX_LEN || memcmp(line, PREFIX, PREFIX_LEN) != 0)
		return -1;
	line += PREFIX_LEN;
	if ((colon = memchr(line, ':', (size_t)(end - line))) == NULL)
		return -1;
	memset(cs, 0, sizeof(*cs));
	if (copy_name(cs->name, line, (size_t)(colon - line)) == -1)
		return -1;
	for (p = colon + 1; p < end; p = comma + 1) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if ((eq = memchr(p, '=', (size_t)(comma - p))) == NULL)
			return -1;
		k = p;
		klen = (size_t)(eq - p);
		v = eq + 1;
		vlen = (size_t)(comma - v);
		if (KEY_IS("calls") || KEY_IS("usec") ||
		    KEY_IS("failed_calls") || KEY_IS("rejected_calls")) {
			if (parse_u64(v, vlen, &n) == -1)
				return -1;
			if (KEY_IS("calls")) {
				cs->calls = n;
				seen |= 1;
			} else if (KEY_IS("usec")) {
				cs->usec = n;
				seen |= 2;
			} else
				cs->failed = add_sat(cs->failed, n);
		}
	}
	return seen == 3 ? 0 : -1;
}

int
cmdstats_parse_info(const char *text, size_t len, struct cmdtable *t)
{
	const char	*p, *end, *eol, *last;

	cmdtable_clear(t);
	if (text == NULL)
		return 0;
	end = text + len;
	/* The first CMD_MAX good lines are kept. */
	for (p = text; p < end && t->n < CMD_MAX; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		last = eol;
		if (last > p && last[-1] == '\r')
			last--;
		if (parse_line(p, (size_t)(last - p), &t->v[t->n]) == 0)
			t->n++;
	}
	table_sort(t);
	return (int)t->n;
}

/* ---- LATENCY HISTOGRAM --------------------------------------------------- */

uint64_t
lat_bucket_upper(int i)
{
	if (i < 0)
		return 0;
	if (i >= LAT_BUCKETS - 1)
		return UINT64_MAX;
	/* The last ns of Redis's bucket i, in whole us. */
	return ((UINT64_C(1032) << i) - 1) / 1000;
}

int
lat_bucket(uint64_t us)
{
	int	i;

	for (i = 0; i < LAT_BUCKETS - 1; i++) {
		if (us <= lat_bucket_upper(i))
			return i;
	}
	return LAT_BUCKETS - 1;
}

/*
 * The bucket a LATENCY HISTOGRAM bucket name stands for: from the power
 * of two to Redis's upper edge (33, 66, 132, ...).  The top bucket is cut
 * at the histogram's 1 s limit: a call over 1 s is named 1073741 (2^30 ns),
 * inside bucket 20.  -1 for any other value: a layout this code does not
 * know.
 */
static int
bucket_of(long long edge)
{
	int	i;

	if (edge < 1)
		return -1;
	i = lat_bucket((uint64_t)edge);
	if (i >= LAT_BUCKETS - 1)
		return -1;
	if ((uint64_t)edge < UINT64_C(1) << i ||
	    (uint64_t)edge > lat_bucket_upper(i))
		return -1;
	return i;
}

static int
is_string(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING ||
	    r->type == REDIS_REPLY_STATUS) && (r->str != NULL || r->len == 0);
}

static int
string_is(const redisReply *r, const char *lit)
{
	size_t	len = strlen(lit);

	return is_string(r) && r->len == len && memcmp(r->str, lit, len) == 0;
}

/*
 * One command's [calls, N, histogram_usec, [edge, cumulative, ...]]: the
 * per-bucket counts into hist.
 */
static int
hist_entry(const redisReply *e, uint64_t *calls, uint64_t *hist)
{
	const redisReply	*k, *v, *h = NULL, *b, *c;
	size_t			 i;
	long long		 cum = 0;
	int			 have_calls = 0, bucket, prev = -1;

	if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements % 2 != 0)
		return -1;
	for (i = 0; i < e->elements; i += 2) {
		k = e->element[i];
		v = e->element[i + 1];
		if (!is_string(k) || v == NULL)
			return -1;
		if (string_is(k, "calls")) {
			if (v->type != REDIS_REPLY_INTEGER || v->integer < 0)
				return -1;
			*calls = (uint64_t)v->integer;
			have_calls = 1;
		} else if (string_is(k, "histogram_usec")) {
			if (v->type != REDIS_REPLY_ARRAY)
				return -1;
			h = v;
		}
	}
	if (!have_calls || h == NULL || h->elements % 2 != 0)
		return -1;
	memset(hist, 0, LAT_BUCKETS * sizeof(*hist));
	for (i = 0; i < h->elements; i += 2) {
		b = h->element[i];
		c = h->element[i + 1];
		if (b == NULL || c == NULL || b->type != REDIS_REPLY_INTEGER ||
		    c->type != REDIS_REPLY_INTEGER)
			return -1;
		if ((bucket = bucket_of(b->integer)) <= prev ||
		    c->integer < cum)
			return -1;
		hist[bucket] = (uint64_t)(c->integer - cum);
		cum = c->integer;
		prev = bucket;
	}
	return 0;
}

int
cmdstats_parse_histogram(const redisReply *r, struct cmdtable *t)
{
	struct cmdstat		*cs;
	uint64_t		 hist[LAT_BUCKETS], calls = 0;
	char			 name[CMD_NAME_MAX];
	size_t			 i, j, sorted = MINIMUM(t->n, CMD_MAX);
	int			 n = 0;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
		return -1;
	for (i = 0; i < r->elements; i += 2) {
		if (!is_string(r->element[i]) || copy_name(name,
		    r->element[i]->str, r->element[i]->len) == -1)
			continue;
		if (hist_entry(r->element[i + 1], &calls, hist) == -1)
			continue;
		/* Bisect the sorted part; scan what this reply added. */
		cs = (struct cmdstat *)bisect(t->v, sorted, name);
		for (j = sorted; cs == NULL && j < t->n; j++) {
			if (strcmp(t->v[j].name, name) == 0)
				cs = &t->v[j];
		}
		if (cs == NULL) {
			if (t->n >= CMD_MAX)
				continue;
			cs = &t->v[t->n++];
			memset(cs, 0, sizeof(*cs));
			memcpy(cs->name, name, sizeof(cs->name));
			cs->calls = calls;
		} else if (cs->has_hist)
			continue;	/* the same name twice */
		memcpy(cs->hist, hist, sizeof(cs->hist));
		cs->has_hist = 1;
		n++;
	}
	if (t->n != sorted)
		table_sort(t);
	return n;
}

/* ---- deltas -------------------------------------------------------------- */

void
owncalls_add(struct owncalls *o, const char *cmd, uint64_t n)
{
	char	name[CMD_NAME_MAX];
	size_t	i;

	if (o == NULL || cmd == NULL || n == 0 ||
	    copy_name(name, cmd, strnlen(cmd, CMD_NAME_MAX)) == -1)
		return;
	for (i = 0; i < o->n; i++) {
		if (strcmp(o->v[i].name, name) == 0) {
			o->v[i].count = add_sat(o->v[i].count, n);
			return;
		}
	}
	if (o->n == nitems(o->v))
		return;		/* 64 kinds of command: more is a bug */
	memcpy(o->v[o->n].name, name, sizeof(o->v[o->n].name));
	o->v[o->n].count = n;
	o->v[o->n].old = 0;
	o->n++;
}

void
owncalls_move(struct owncalls *o, struct owncalls *from)
{
	size_t	i;

	for (i = 0; i < from->n; i++)
		owncalls_add(o, from->v[i].name,
		    add_sat(from->v[i].count, from->v[i].old));
	from->n = 0;
}

/* Takes up to max of the own calls of entry i, the older first. */
static uint64_t
own_take(struct owncalls *o, size_t i, uint64_t max)
{
	uint64_t	old, take;

	old = MINIMUM(o->v[i].old, max);
	take = MINIMUM(o->v[i].count, max - old);
	o->v[i].old -= old;
	o->v[i].count -= take;
	return old + take;
}

/* Takes up to max of the own calls of name; returns how many. */
static uint64_t
owncalls_take(struct owncalls *o, const char *name, uint64_t max)
{
	size_t	i;

	if (o == NULL)
		return 0;
	for (i = 0; i < o->n; i++)
		if (strcmp(o->v[i].name, name) == 0)
			return own_take(o, i, max);
	return 0;
}

/*
 * After a delta: what the last one left goes, what this one left stays
 * for the next, and the used-up entries are dropped.
 */
static void
owncalls_age(struct owncalls *o)
{
	size_t	i, n;

	if (o == NULL)
		return;
	for (i = 0, n = 0; i < o->n; i++) {
		o->v[i].old = o->v[i].count;
		o->v[i].count = 0;
		if (o->v[i].old == 0)
			continue;
		if (i != n)
			o->v[n] = o->v[i];
		n++;
	}
	o->n = n;
}

void
owncalls_rebase(struct owncalls *o, const struct cmdtable *cur)
{
	const struct cmdstat	*c;
	size_t			 i;

	if (o == NULL)
		return;
	for (i = 0; i < o->n; i++)
		if ((c = table_find(cur, o->v[i].name)) != NULL)
			own_take(o, i, c->calls);
	owncalls_age(o);
}

/*
 * Scales a histogram of sum total > 0 to calls: each bucket gets its share
 * rounded down, and what rounding left over goes one call each to the
 * buckets with the largest remainders (ties to the lower bucket).
 */
static void
hist_rescale(uint64_t *h, u128 total, uint64_t calls)
{
	u128		 rem[LAT_BUCKETS], x;
	uint64_t	 left = calls, q;
	int		 i, best;

	if (total == calls)
		return;
	for (i = 0; i < LAT_BUCKETS; i++) {
		x = (u128)h[i] * calls;
		q = (uint64_t)(x / total);
		rem[i] = x % total;
		h[i] = q;
		left -= q;
	}
	/* left < the number of non-zero remainders: each gets at most one. */
	while (left > 0) {
		best = 0;
		for (i = 1; i < LAT_BUCKETS; i++) {
			if (rem[i] > rem[best])
				best = i;
		}
		h[best]++;
		rem[best] = 0;
		left--;
	}
}

/* Takes n calls out of h, from the lowest buckets up. */
static void
hist_take(uint64_t *h, uint64_t n)
{
	uint64_t	x;
	int		i;

	for (i = 0; i < LAT_BUCKETS && n > 0; i++) {
		x = MINIMUM(h[i], n);
		h[i] -= x;
		n -= x;
	}
}

/* Whether any counter went down, or a command of prev is gone. */
int
cmdstats_reset(const struct cmdtable *prev, const struct cmdtable *cur)
{
	const struct cmdstat	*p, *c;
	size_t			 i;

	for (i = 0; i < MINIMUM(prev->n, CMD_MAX); i++) {
		p = &prev->v[i];
		if ((c = table_find(cur, p->name)) == NULL)
			return 1;
		if (c->calls < p->calls || c->usec < p->usec ||
		    c->failed < p->failed)
			return 1;
	}
	return 0;
}

int
cmdstats_delta(const struct cmdtable *prev, const struct cmdtable *cur,
    struct owncalls *own, int fallback, struct cmdtable *out)
{
	const struct cmdstat	*p, *c;
	struct cmdstat		*d;
	u128			 total;
	uint64_t		 calls, usec, take;
	size_t			 i;
	int			 b;

	cmdtable_clear(out);
	if (cmdstats_reset(prev, cur)) {
		owncalls_rebase(own, cur);
		return -1;
	}
	for (i = 0; i < MINIMUM(cur->n, CMD_MAX); i++) {
		c = &cur->v[i];
		p = table_find(prev, c->name);
		calls = c->calls - (p != NULL ? p->calls : 0);
		if (calls == 0)
			continue;
		usec = c->usec - (p != NULL ? p->usec : 0);
		d = &out->v[out->n];
		memset(d, 0, sizeof(*d));
		memcpy(d->name, c->name, sizeof(d->name));
		d->failed = c->failed - (p != NULL ? p->failed : 0);

		/* The histogram delta, on the scale of the calls delta. */
		if (c->has_hist && (p == NULL || p->has_hist)) {
			total = 0;
			for (b = 0; b < LAT_BUCKETS; b++) {
				if (p != NULL && p->hist[b] >= c->hist[b])
					continue;
				d->hist[b] = c->hist[b] -
				    (p != NULL ? p->hist[b] : 0);
				total += d->hist[b];
			}
			if (total > 0) {
				hist_rescale(d->hist, total, calls);
				d->has_hist = 1;
			}
		}

		take = owncalls_take(own, c->name, calls);
		if (take == calls)
			continue;
		d->calls = calls - take;
		d->usec = scale(usec, d->calls, calls);
		if (d->has_hist)
			hist_take(d->hist, take);
		else if (fallback)
			d->hist[lat_bucket(usec / calls)] = d->calls;
		out->n++;
	}
	owncalls_age(own);
	return 0;
}

/* ---- SLOWLOG GET --------------------------------------------------------- */

/*
 * Checks one entry: [id, time, duration_us, [arg, ...]] and, since Redis
 * 4, client address and name.  Returns its id, or -1.
 */
static long long
slow_check(const redisReply *e)
{
	const redisReply	*a;
	size_t			 i;

	if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements < 4)
		return -1;
	for (i = 0; i < 3; i++) {
		if (e->element[i] == NULL ||
		    e->element[i]->type != REDIS_REPLY_INTEGER)
			return -1;
	}
	if (e->element[2]->integer < 0 || (a = e->element[3]) == NULL ||
	    a->type != REDIS_REPLY_ARRAY)
		return -1;
	for (i = 0; i < a->elements; i++) {
		if (!is_string(a->element[i]))
			return -1;
	}
	return e->element[0]->integer;
}

/* A bounded copy of a string reply ("" for others); hiredis ends it with NUL. */
static void
slow_str(char *dst, size_t len, const redisReply *r)
{
	str_copy(dst, len, is_string(r) ? r->str : NULL);
}

static void
slow_copy(struct slowentry *s, const redisReply *e)
{
	const redisReply	*a = e->element[3], *arg;
	size_t			 i, len;

	s->id = (uint64_t)e->element[0]->integer;
	s->time = e->element[1]->integer;
	s->duration_us = (uint64_t)e->element[2]->integer;
	s->nargs = (int)MINIMUM(a->elements, SLOW_MAX_ARGS);
	for (i = 0; i < (size_t)s->nargs; i++) {
		arg = a->element[i];
		len = MINIMUM(arg->len, SLOW_MAX_ARG);
		s->args[i] = xmalloc(len + 1);
		if (len > 0)
			memcpy(s->args[i], arg->str, len);
		s->args[i][len] = '\0';
		s->arglen[i] = len;
	}
	slow_str(s->client, sizeof(s->client),
	    e->elements > 4 ? e->element[4] : NULL);
	slow_str(s->name, sizeof(s->name),
	    e->elements > 5 ? e->element[5] : NULL);
}

static int
slow_cmp(const void *a, const void *b)
{
	const struct slowentry	*x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

static void
slow_free_one(struct slowentry *s)
{
	int	i;

	for (i = 0; i < s->nargs; i++)
		free(s->args[i]);
	s->nargs = 0;
}

int
slowlog_parse(const redisReply *r, int have_last, uint64_t last,
    struct slowentry **out, uint64_t *lost)
{
	struct slowentry	*v;
	long long		 id;
	size_t			 i, n, keep = 0;
	int			 reached = 0;

	*out = NULL;
	*lost = 0;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements > INT_MAX)
		return -1;
	/* The whole reply is checked before anything is copied. */
	for (i = 0; i < r->elements; i++) {
		if ((id = slow_check(r->element[i])) < 0)
			return -1;
		if (have_last && (uint64_t)id <= last)
			reached = 1;
		else
			keep++;
	}
	if (keep == 0)
		return 0;
	v = xcalloc(keep, sizeof(*v));
	for (i = 0, n = 0; i < r->elements; i++) {
		id = r->element[i]->element[0]->integer;
		if (!have_last || (uint64_t)id > last)
			slow_copy(&v[n++], r->element[i]);
	}
	/* Oldest first, each id once. */
	xqsort(v, n, sizeof(*v), slow_cmp);
	for (i = 1, keep = 1; i < n; i++) {
		if (v[i].id == v[keep - 1].id) {
			slow_free_one(&v[i]);
			continue;
		}
		if (i != keep)
			v[keep] = v[i];
		keep++;
	}
	if (have_last && !reached)
		*lost = v[0].id - last - 1;
	*out = v;
	return (int)keep;
}

void
slowlog_free(struct slowentry *v, int n)
{
	int	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		slow_free_one(&v[i]);
	free(v);
}
