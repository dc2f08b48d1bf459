/*
 * series.c: the history of one host or instance, at five granularities.
 *
 * Each (metric, level) is a ring of buckets indexed by time / step.  The
 * ring is split in chunks of CHUNK buckets, allocated when first written,
 * so memory follows the data actually held; a chunk that falls out of
 * retention is reused in place.  Samples are averaged into the open bucket
 * of every level; when a sample lands in a later bucket the open one is
 * written to its ring.  Counters are stored as per-second rates, computed
 * here from consecutive raw values; a counter that goes backwards (restart,
 * CONFIG RESETSTAT) yields no point rather than a negative one.
 *
 * Retention (points per level are multiples of CHUNK):
 *	5s x 768 = 64 min, 1m x 1536 = 25.6 h, 5m x 2048 = 7.1 d,
 *	1h x 768 = 32 d, 1d x 384 = 384 d
 * Full retention costs 5504 floats (21.5 KiB) per series.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "series"
#include "log.h"
#include "arena.h"
#include "monitor.h"
#include "util.h"

#define CHUNK_SHIFT	7
#define CHUNK		(1 << CHUNK_SHIFT)

const struct series_level series_levels[SERIES_LEVELS] = {
	{ "5s", 5, 768 },
	{ "1m", 60, 1536 },
	{ "5m", 300, 2048 },
	{ "1h", 3600, 768 },
	{ "1d", 86400, 384 },
};

struct chunk {
	int64_t	first;		/* bucket of v[0] */
	float	v[CHUNK];
};

struct ring {
	struct chunk	**chunks;	/* points / CHUNK, or NULL */
	int64_t		 newest;	/* newest bucket written, -1: none */
};

struct acc {
	int64_t		bucket;
	double		sum;
	uint32_t	n;
};

struct track {
	struct ring	ring[SERIES_LEVELS];
	struct acc	acc[SERIES_LEVELS];
	double		prev_raw;	/* counters */
	int64_t		prev_ms;
	int		used;
};

struct series {
	enum series_kind kind;
	int		 n;
	struct track	*t;
};

/* ---- the metric specs --------------------------------------------------- */

#define MAX_SPECS	64

static struct series_spec	specs[2][MAX_SPECS];
static int			nspecs[2];

static void
add_spec(enum series_kind k, const char *name, int src, int rate,
    const char *help)
{
	if (nspecs[k] == MAX_SPECS)
		fatal("too many series");
	specs[k][nspecs[k]++] = (struct series_spec){ name, src, rate, help };
}

static void
specs_init(void)
{
	int i;

	if (nspecs[SK_HOST] > 0)
		return;
	for (i = 0; i < HM_COUNT; i++)
		if (host_metric_defs[i].flags & MF_S)
			add_spec(SK_HOST, host_metric_defs[i].prom, i,
			    host_metric_defs[i].type == MT_C,
			    host_metric_defs[i].help);
	add_spec(SK_INSTANCE, "redis_up", -1, 0, "1 when the agent's sample "
	    "succeeded");
	for (i = 0; i < RM_COUNT; i++)
		if (redis_metric_defs[i].flags & MF_S)
			add_spec(SK_INSTANCE, redis_metric_defs[i].prom, i,
			    redis_metric_defs[i].type == MT_C,
			    redis_metric_defs[i].help);
	add_spec(SK_INSTANCE, "redis_db_keys", -2, 0, "Keys in all databases");
	add_spec(SK_INSTANCE, "redis_memory_used_ratio", -3, 0,
	    "used_memory over maxmemory, when maxmemory is set");
}

int
series_nspecs(enum series_kind k)
{
	specs_init();
	return nspecs[k];
}

const struct series_spec *
series_spec(enum series_kind k, int idx)
{
	specs_init();
	return idx >= 0 && idx < nspecs[k] ? &specs[k][idx] : NULL;
}

int
series_find(enum series_kind k, const char *name)
{
	int i;

	specs_init();
	for (i = 0; i < nspecs[k]; i++)
		if (strcmp(specs[k][i].name, name) == 0)
			return i;
	return -1;
}

int
series_level_find(const char *name)
{
	int i;

	for (i = 0; i < SERIES_LEVELS; i++)
		if (strcmp(series_levels[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- rings --------------------------------------------------------------- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static struct chunk *
ring_chunk(struct ring *r, int level, int64_t bucket, int create)
{
	int64_t		 nchunks = series_levels[level].points / CHUNK;
	int64_t		 q = bucket >> CHUNK_SHIFT;	/* floor: CHUNK is 2^k */
	int64_t		 first = q << CHUNK_SHIFT;
	int64_t		 ci = q % nchunks;
	struct chunk	*c;
	int		 i;

	if (ci < 0)
		ci += nchunks;
	if (r->chunks == NULL) {
		if (!create)
			return NULL;
		r->chunks = xcalloc((size_t)nchunks, sizeof(*r->chunks));
	}
	c = r->chunks[ci];
	if (c != NULL && c->first == first)
		return c;
	if (!create)
		return NULL;
	if (c == NULL)
		c = r->chunks[ci] = xmalloc(sizeof(*c));
	c->first = first;
	for (i = 0; i < CHUNK; i++)
		c->v[i] = NAN;
	return c;
}

static void
ring_put(struct ring *r, int level, int64_t bucket, double v)
{
	struct chunk *c = ring_chunk(r, level, bucket, 1);

	c->v[bucket - c->first] = (float)v;
	if (bucket > r->newest)
		r->newest = bucket;
}

static double
ring_get(struct ring *r, int level, int64_t bucket)
{
	struct chunk *c = ring_chunk(r, level, bucket, 0);

	return c ? c->v[bucket - c->first] : NAN;
}

struct series *
series_new(enum series_kind k)
{
	struct series	*s = xcalloc(1, sizeof(*s));
	int		 i, l;

	specs_init();
	s->kind = k;
	s->n = nspecs[k];
	s->t = xcalloc((size_t)s->n, sizeof(*s->t));
	for (i = 0; i < s->n; i++) {
		for (l = 0; l < SERIES_LEVELS; l++)
			s->t[i].ring[l].newest = -1;
		s->t[i].prev_raw = NAN;
	}
	return s;
}

void
series_free(struct series *s)
{
	int	i, l, c;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		for (l = 0; l < SERIES_LEVELS; l++) {
			struct ring *r = &s->t[i].ring[l];

			if (r->chunks == NULL)
				continue;
			for (c = 0; c < (int)(series_levels[l].points / CHUNK); c++)
				free(r->chunks[c]);
			free(r->chunks);
		}
	}
	free(s->t);
	free(s);
}

int
series_add(struct series *s, int idx, int64_t t_ms, double raw)
{
	struct track	*t;
	double		 v = raw;
	int64_t		 b0;
	int		 l;

	if (idx < 0 || idx >= s->n || !isfinite(raw))
		return 0;
	t = &s->t[idx];
	b0 = floor_div(t_ms, (int64_t)series_levels[0].step_s * 1000);
	if (t->used && b0 < t->acc[0].bucket)
		return -1;
	if (specs[s->kind][idx].rate) {
		double	prev = t->prev_raw;
		int64_t	dt = t_ms - t->prev_ms;

		t->prev_raw = raw;
		t->prev_ms = t_ms;
		if (isnan(prev) || dt <= 0 || raw < prev)
			return 0;
		v = (raw - prev) * 1000.0 / (double)dt;
	}
	/*
	 * Every step is a multiple of the one below, so a sample in the open
	 * 5 s bucket is in the open bucket of every level: no division.
	 */
	if (t->used && b0 == t->acc[0].bucket) {
		for (l = 0; l < SERIES_LEVELS; l++) {
			t->acc[l].sum += v;
			t->acc[l].n++;
		}
		return 0;
	}
	for (l = 0; l < SERIES_LEVELS; l++) {
		struct acc	*a = &t->acc[l];
		int64_t		 b = l == 0 ? b0 : floor_div(t_ms,
				    (int64_t)series_levels[l].step_s * 1000);

		if (t->used && a->n > 0 && b == a->bucket) {
			a->sum += v;
			a->n++;
			continue;
		}
		if (t->used && a->n > 0 && b > a->bucket)
			ring_put(&t->ring[l], l, a->bucket, a->sum / a->n);
		a->bucket = b;
		a->sum = v;
		a->n = 1;
	}
	t->used = 1;
	return 0;
}

void
series_jump(struct series *s, int64_t t_ms)
{
	struct track	*t;
	int		 i, l;
	int64_t		 b;

	for (i = 0; i < s->n; i++) {
		t = &s->t[i];
		if (!t->used)
			continue;
		for (l = 0; l < SERIES_LEVELS; l++) {
			struct acc *a = &t->acc[l];

			b = floor_div(t_ms, (int64_t)series_levels[l].step_s * 1000);
			if (a->n > 0 && a->bucket > b)
				ring_put(&t->ring[l], l, a->bucket, a->sum / a->n);
			if (a->bucket > b) {
				a->bucket = b;
				a->n = 0;
				a->sum = 0;
			}
		}
	}
}

size_t
series_read(const struct series *s, int idx, int level, int64_t from_ms,
    int64_t to_ms, void (*fn)(int64_t, double, void *), void *arg)
{
	const struct track	*t;
	struct ring		*r;
	const struct acc	*a;
	int64_t			 step, b, bf, bt, newest, oldest;
	double			 v;
	size_t			 n = 0;

	if (idx < 0 || idx >= s->n || level < 0 || level >= SERIES_LEVELS)
		return 0;
	t = &s->t[idx];
	if (!t->used)
		return 0;
	r = (struct ring *)&t->ring[level];
	a = &t->acc[level];
	step = (int64_t)series_levels[level].step_s * 1000;
	newest = MAXIMUM(r->newest, a->n > 0 ? a->bucket : -1);
	oldest = newest - series_levels[level].points + 1;
	bf = MAXIMUM(floor_div(from_ms, step), oldest);
	bt = MINIMUM(floor_div(to_ms, step), newest);
	for (b = bf; b <= bt; b++) {
		if (a->n > 0 && b == a->bucket)
			v = a->sum / a->n;
		else
			v = ring_get(r, level, b);
		if (isnan(v))
			continue;
		fn(b * step, v, arg);
		n++;
	}
	return n;
}

size_t
series_memory(const struct series *s)
{
	size_t	n = sizeof(*s) + (size_t)s->n * sizeof(*s->t);
	int	i, l, c;

	for (i = 0; i < s->n; i++)
		for (l = 0; l < SERIES_LEVELS; l++) {
			const struct ring *r = &s->t[i].ring[l];

			if (r->chunks == NULL)
				continue;
			n += series_levels[l].points / CHUNK * sizeof(void *);
			for (c = 0; c < (int)(series_levels[l].points / CHUNK); c++)
				if (r->chunks[c] != NULL)
					n += sizeof(struct chunk);
		}
	return n;
}

size_t
series_export(const struct series *s, struct arena *ar,
    Ccnode__SeriesRecord ***out)
{
	Ccnode__SeriesRecord	**v, *sr;
	Ccnode__ChunkRecord	 *cr;
	size_t			  n = 0, nc;
	int			  i, l, c, nchunks;

	v = arena_alloc(ar, (size_t)s->n * SERIES_LEVELS * sizeof(*v));
	for (i = 0; i < s->n; i++) {
		const struct track *t = &s->t[i];

		if (!t->used)
			continue;
		for (l = 0; l < SERIES_LEVELS; l++) {
			const struct ring *r = &t->ring[l];

			sr = arena_alloc(ar, sizeof(*sr));
			ccnode__series_record__init(sr);
			sr->metric = (char *)specs[s->kind][i].name;
			sr->level = (uint32_t)l;
			sr->acc_bucket = t->acc[l].bucket;
			sr->acc_sum = t->acc[l].sum;
			sr->acc_n = t->acc[l].n;
			sr->prev_raw = t->prev_raw;
			sr->prev_ms = t->prev_ms;
			nchunks = (int)(series_levels[l].points / CHUNK);
			if (r->chunks != NULL) {
				sr->chunks = arena_alloc(ar, (size_t)nchunks *
				    sizeof(*sr->chunks));
				for (c = 0, nc = 0; c < nchunks; c++) {
					if (r->chunks[c] == NULL)
						continue;
					cr = arena_alloc(ar, sizeof(*cr));
					ccnode__chunk_record__init(cr);
					cr->first = r->chunks[c]->first;
					cr->n_v = CHUNK;
					cr->v = r->chunks[c]->v;
					sr->chunks[nc++] = cr;
				}
				sr->n_chunks = nc;
			}
			v[n++] = sr;
		}
	}
	*out = v;
	return n;
}

void
series_import(struct series *s, const Ccnode__SeriesRecord *sr)
{
	struct track	*t;
	struct ring	*r;
	struct chunk	*c;
	size_t		 i;
	int		 idx, l = (int)sr->level;

	if ((idx = series_find(s->kind, sr->metric)) == -1 ||
	    l < 0 || l >= SERIES_LEVELS)
		return;
	t = &s->t[idx];
	r = &t->ring[l];
	for (i = 0; i < sr->n_chunks; i++) {
		const Ccnode__ChunkRecord *cr = sr->chunks[i];

		if (cr->n_v != CHUNK || floor_div(cr->first, CHUNK) * CHUNK !=
		    cr->first)
			continue;
		c = ring_chunk(r, l, cr->first, 1);
		memcpy(c->v, cr->v, sizeof(c->v));
		if (cr->first + CHUNK - 1 > r->newest) {
			int k;

			for (k = CHUNK - 1; k >= 0; k--)
				if (!isnan(c->v[k]))
					break;
			if (k >= 0 && cr->first + k > r->newest)
				r->newest = cr->first + k;
		}
	}
	t->acc[l].bucket = sr->acc_bucket;
	t->acc[l].sum = sr->acc_sum;
	t->acc[l].n = sr->acc_n;
	if (l == 0) {
		t->prev_raw = sr->prev_raw;
		t->prev_ms = sr->prev_ms;
	}
	t->used = 1;
}
