/*
 * test_series.c: the monitor's history rings (monitor/series.c): bucket
 * averages, the coarser levels, counters as rates, retention, range
 * clipping, and export/import through protobuf.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "monitor/monitor.h"
#include "util.h"
#include "testutil.h"

/* A day boundary, so every level's buckets start here. */
#define T0	(86400000LL * 20000)

struct pts {
	int	 n;
	int64_t	 t[4096];
	double	 v[4096];
};

static void
collect(int64_t t, double v, void *arg)
{
	struct pts *p = arg;

	if (p->n < (int)nitems(p->t)) {
		p->t[p->n] = t;
		p->v[p->n] = v;
	}
	p->n++;
}

static size_t
readp(struct series *s, int idx, int level, int64_t from, int64_t to,
    struct pts *p)
{
	memset(p, 0, sizeof(*p));
	return series_read(s, idx, level, from, to, collect, p);
}

static int	gauge, counter;

static void
find_specs(void)
{
	gauge = series_find(SK_INSTANCE, "redis_connected_clients");
	counter = series_find(SK_INSTANCE, "redis_commands_processed_total");
}

static void
test_specs(void)
{
	const struct series_spec *sp;

	CU_ASSERT(gauge >= 0);
	CU_ASSERT(counter >= 0);
	CU_ASSERT(series_nspecs(SK_INSTANCE) > 10);
	CU_ASSERT(series_nspecs(SK_HOST) > 3);
	sp = series_spec(SK_INSTANCE, gauge);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
	CU_ASSERT_FALSE(sp->rate);
	CU_ASSERT_EQUAL(sp->src, RM_CLIENTS);
	sp = series_spec(SK_INSTANCE, counter);
	CU_ASSERT_TRUE(sp->rate);
	CU_ASSERT_PTR_NULL(series_spec(SK_INSTANCE, -1));
	CU_ASSERT_PTR_NULL(series_spec(SK_INSTANCE, 1000));
	CU_ASSERT_EQUAL(series_find(SK_INSTANCE, "no_such_metric"), -1);
	CU_ASSERT(series_find(SK_INSTANCE, "redis_up") >= 0);
	CU_ASSERT(series_find(SK_HOST, "ccnode_host_load1") >= 0);
	CU_ASSERT_EQUAL(series_level_find("5s"), 0);
	CU_ASSERT_EQUAL(series_level_find("1m"), 1);
	CU_ASSERT_EQUAL(series_level_find("1d"), 4);
	CU_ASSERT_EQUAL(series_level_find("2s"), -1);
}

static void
test_bucket_average(void)
{
	struct series	*s = series_new(SK_INSTANCE);
	struct pts	 p;

	CU_ASSERT_EQUAL(readp(s, gauge, 0, 0, INT64_MAX / 2, &p), 0);
	CU_ASSERT_EQUAL(series_add(s, gauge, T0, 10), 0);
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 1000, 20), 0);
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 4999, 30), 0);
	/* The open bucket is read as its average so far. */
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0, T0 + 4999, &p), 1);
	CU_ASSERT_EQUAL(p.t[0], T0);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], 20, 1e-6);
	/* A sample in the next bucket flushes it to the ring. */
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 5000, 100), 0);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0, T0 + 9999, &p), 2);
	CU_ASSERT_EQUAL(p.t[0], T0);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], 20, 1e-6);
	CU_ASSERT_EQUAL(p.t[1], T0 + 5000);
	CU_ASSERT_DOUBLE_EQUAL(p.v[1], 100, 1e-6);
	/* A gap leaves no points behind. */
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 30000, 7), 0);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0, T0 + 60000, &p), 3);
	CU_ASSERT_EQUAL(p.t[2], T0 + 30000);
	/* Non-finite values and bad indexes are ignored. */
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 35000, NAN), 0);
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 35000, INFINITY), 0);
	CU_ASSERT_EQUAL(series_add(s, -1, T0 + 35000, 1), 0);
	CU_ASSERT_EQUAL(series_add(s, 10000, T0 + 35000, 1), 0);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0, T0 + 60000, &p), 3);
	/* Other metrics are untouched. */
	CU_ASSERT_EQUAL(readp(s, counter, 0, 0, INT64_MAX / 2, &p), 0);
	series_free(s);
}

static void
test_levels(void)
{
	struct series	*s = series_new(SK_INSTANCE);
	struct pts	 p;
	int64_t		 t;
	double		 sum = 0;
	int		 n = 0;

	/* Every 5 s for 3 minutes, the value being the minute. */
	for (t = 0; t < 180000; t += 5000) {
		CU_ASSERT_EQUAL(series_add(s, gauge, T0 + t, (double)(t / 60000)),
		    0);
		sum += (double)(t / 60000);
		n++;
	}
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0, T0 + 180000, &p), 36);
	CU_ASSERT_EQUAL_FATAL(readp(s, gauge, 1, T0, T0 + 180000, &p), 3);
	CU_ASSERT_EQUAL(p.t[0], T0);
	CU_ASSERT_EQUAL(p.t[1], T0 + 60000);
	CU_ASSERT_EQUAL(p.t[2], T0 + 120000);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], 0, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(p.v[1], 1, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(p.v[2], 2, 1e-6);	/* the open bucket */
	CU_ASSERT_EQUAL_FATAL(readp(s, gauge, 2, T0, T0 + 180000, &p), 1);
	CU_ASSERT_EQUAL(p.t[0], T0);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], sum / n, 1e-6);
	CU_ASSERT_EQUAL(readp(s, gauge, 3, T0, T0 + 180000, &p), 1);
	CU_ASSERT_EQUAL(readp(s, gauge, 4, T0, T0 + 180000, &p), 1);
	CU_ASSERT_EQUAL(readp(s, gauge, 5, T0, T0 + 180000, &p), 0);
	CU_ASSERT_EQUAL(readp(s, gauge, -1, T0, T0 + 180000, &p), 0);

	/* Into the next 5 minutes: the first 5m bucket is flushed. */
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 300000, 50), 0);
	CU_ASSERT_EQUAL_FATAL(readp(s, gauge, 2, T0, T0 + 600000, &p), 2);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], sum / n, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(p.v[1], 50, 1e-6);
	series_free(s);
}

static void
test_counter_rates(void)
{
	struct series	*s = series_new(SK_INSTANCE);
	struct pts	 p;
	int		 i;

	/* The first raw value only sets the base. */
	CU_ASSERT_EQUAL(series_add(s, counter, T0, 1000), 0);
	CU_ASSERT_EQUAL(readp(s, counter, 0, 0, INT64_MAX / 2, &p), 0);
	CU_ASSERT_EQUAL(series_add(s, counter, T0 + 5000, 1500), 0);
	CU_ASSERT_EQUAL(series_add(s, counter, T0 + 10000, 2500), 0);
	CU_ASSERT_EQUAL_FATAL(readp(s, counter, 0, T0, T0 + 10000, &p), 2);
	CU_ASSERT_EQUAL(p.t[0], T0 + 5000);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], 100, 1e-6);	/* 500 in 5 s */
	CU_ASSERT_EQUAL(p.t[1], T0 + 10000);
	CU_ASSERT_DOUBLE_EQUAL(p.v[1], 200, 1e-6);

	/* Backwards (a restart): no point, and never a negative one. */
	CU_ASSERT_EQUAL(series_add(s, counter, T0 + 15000, 300), 0);
	CU_ASSERT_EQUAL(series_add(s, counter, T0 + 20000, 800), 0);
	CU_ASSERT_EQUAL_FATAL(readp(s, counter, 0, T0, T0 + 20000, &p), 3);
	CU_ASSERT_EQUAL(p.t[2], T0 + 20000);
	CU_ASSERT_DOUBLE_EQUAL(p.v[2], 100, 1e-6);	/* from the new base */
	for (i = 0; i < p.n; i++)
		CU_ASSERT(p.v[i] >= 0);
	/* Flat: a zero rate is a point. */
	CU_ASSERT_EQUAL(series_add(s, counter, T0 + 25000, 800), 0);
	CU_ASSERT_EQUAL_FATAL(readp(s, counter, 0, T0 + 25000, T0 + 25000, &p),
	    1);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], 0, 0);
	/* Rates over uneven intervals. */
	CU_ASSERT_EQUAL(series_add(s, counter, T0 + 26000, 900), 0);
	CU_ASSERT_EQUAL(readp(s, counter, 0, T0 + 25000, T0 + 25000, &p), 1);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], 50, 1e-6);	/* avg(0, 100) */
	series_free(s);
}

static void
test_out_of_order(void)
{
	struct series	*s = series_new(SK_INSTANCE);
	struct pts	 p;

	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 10000, 1), 0);
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 4000, 2), -1);
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 - 86400000, 2), -1);
	/* The refused sample changed nothing. */
	CU_ASSERT_EQUAL(readp(s, gauge, 0, 0, INT64_MAX / 2, &p), 1);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], 1, 0);
	/* Earlier within the open bucket is still that bucket. */
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 12000, 3), 0);
	CU_ASSERT_EQUAL(series_add(s, gauge, T0 + 11000, 5), 0);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, 0, INT64_MAX / 2, &p), 1);
	CU_ASSERT_DOUBLE_EQUAL(p.v[0], 3, 1e-6);

	/* The same for counters. */
	CU_ASSERT_EQUAL(series_add(s, counter, T0 + 10000, 100), 0);
	CU_ASSERT_EQUAL(series_add(s, counter, T0 + 15000, 200), 0);
	CU_ASSERT_EQUAL(series_add(s, counter, T0 + 5000, 50), -1);
	series_free(s);
}

static void
test_retention(void)
{
	struct series	*s = series_new(SK_INSTANCE);
	struct pts	 p;
	const int64_t	 step = 5000, keep = series_levels[0].points;
	int64_t		 i, newest;
	size_t		 mem_full, n;

	for (i = 0; i < 1000; i++)
		series_add(s, gauge, T0 + i * step, (double)i);
	mem_full = series_memory(s);
	newest = T0 + 999 * step;
	n = readp(s, gauge, 0, 0, INT64_MAX / 2, &p);
	CU_ASSERT(n > 0 && n <= (size_t)keep);
	CU_ASSERT_EQUAL(p.t[p.n - 1], newest);
	CU_ASSERT_DOUBLE_EQUAL(p.v[p.n - 1], 999, 0);
	/* Nothing older than the ring holds. */
	CU_ASSERT(p.t[0] > newest - keep * step);
	/* In order, with no repeats. */
	for (i = 1; i < p.n; i++)
		CU_ASSERT(p.t[i] > p.t[i - 1]);
	/* Every point returned has the value written for its time. */
	for (i = 0; i < p.n; i++)
		CU_ASSERT_DOUBLE_EQUAL(p.v[i], (double)((p.t[i] - T0) / step),
		    0);

	/*
	 * Three more rounds of the ring reuse its chunks: the memory grows
	 * only by the two new 1m chunks, not by 18 new 5s ones.
	 */
	for (i = 1000; i < 1000 + 3 * keep; i++)
		series_add(s, gauge, T0 + i * step, (double)i);
	CU_ASSERT(series_memory(s) - mem_full <= 2 * (8 + 128 * sizeof(float)));
	newest = T0 + (1000 + 3 * keep - 1) * step;
	n = readp(s, gauge, 0, 0, INT64_MAX / 2, &p);
	CU_ASSERT(n > 0 && n <= (size_t)keep);
	CU_ASSERT(p.t[0] > newest - keep * step);
	for (i = 0; i < p.n; i++)
		CU_ASSERT_DOUBLE_EQUAL(p.v[i], (double)((p.t[i] - T0) / step),
		    0);
	/* A read of the old times finds nothing (no stale chunk data). */
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0, T0 + 999 * step, &p), 0);

	/* A jump far ahead leaves only the new point. */
	series_add(s, gauge, newest + 100 * 86400000LL, 1);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, 0, INT64_MAX / 2, &p), 1);
	series_free(s);
}

static void
test_range(void)
{
	struct series	*s = series_new(SK_INSTANCE);
	struct pts	 p;
	int		 i;

	for (i = 0; i < 20; i++)
		series_add(s, gauge, T0 + i * 5000, i);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0 + 25000, T0 + 49999, &p), 5);
	CU_ASSERT_EQUAL(p.t[0], T0 + 25000);
	CU_ASSERT_EQUAL(p.t[4], T0 + 45000);
	/* from inside a bucket counts that bucket. */
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0 + 26000, T0 + 45000, &p), 5);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0 + 95000, T0 + 999999, &p), 1);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0 + 100000, T0 + 999999, &p), 0);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, 0, T0 - 1, &p), 0);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, T0 + 50000, T0 + 40000, &p), 0);
	CU_ASSERT_EQUAL(readp(s, gauge, 0, 0, INT64_MAX / 2, &p), 20);
	series_free(s);
}

static void
add_history(struct series *s, int64_t start, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		series_add(s, gauge, start + i * 5000LL, (double)(i % 37));
		series_add(s, counter, start + i * 5000LL,
		    1000.0 * i + (i % 7) * 13);
	}
}

static int
same_points(struct series *a, struct series *b, int idx, int level)
{
	static struct pts pa, pb;

	readp(a, idx, level, 0, INT64_MAX / 2, &pa);
	readp(b, idx, level, 0, INT64_MAX / 2, &pb);
	return pa.n == pb.n && pa.n > 0 &&
	    memcmp(pa.t, pb.t, sizeof(pa.t[0]) * (size_t)MINIMUM(pa.n, 4096)) == 0 &&
	    memcmp(pa.v, pb.v, sizeof(pa.v[0]) * (size_t)MINIMUM(pa.n, 4096)) == 0;
}

static void
test_export_import(void)
{
	struct series		 *a = series_new(SK_INSTANCE), *b;
	struct arena		 *ar = arena_new(64 * 1024);
	Ccnode__SeriesRecord	**recs;
	Ccnode__HostRecord	  hr = CCNODE__HOST_RECORD__INIT, *back;
	uint8_t			 *buf;
	size_t			  n, i, len;
	int			  l;
	char			 *orig;

	/* Enough to fill chunks at several levels and wrap the 5 s ring. */
	add_history(a, T0, 3000);
	n = series_export(a, ar, &recs);
	CU_ASSERT_EQUAL(n, 2 * SERIES_LEVELS);	/* the two used metrics */

	/* Through protobuf, as persist.c does. */
	hr.name = "h";
	hr.n_series = n;
	hr.series = recs;
	len = ccnode__host_record__get_packed_size(&hr);
	buf = xmalloc(len);
	ccnode__host_record__pack(&hr, buf);
	back = ccnode__host_record__unpack(NULL, len, buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_EQUAL(back->n_series, n);

	b = series_new(SK_INSTANCE);
	for (i = 0; i < back->n_series; i++)
		series_import(b, back->series[i]);
	for (l = 0; l < SERIES_LEVELS; l++) {
		CU_ASSERT_TRUE(same_points(a, b, gauge, l));
		CU_ASSERT_TRUE(same_points(a, b, counter, l));
	}
	/* Both go on the same way: the open buckets and counter bases came too. */
	add_history(a, T0 + 3000 * 5000LL, 50);
	add_history(b, T0 + 3000 * 5000LL, 50);
	for (l = 0; l < SERIES_LEVELS; l++) {
		CU_ASSERT_TRUE(same_points(a, b, gauge, l));
		CU_ASSERT_TRUE(same_points(a, b, counter, l));
	}
	/* Unknown metrics and levels are skipped on import. */
	orig = back->series[0]->metric;
	back->series[0]->metric = "no_such_metric";
	series_import(b, back->series[0]);
	back->series[0]->metric = orig;
	back->series[0]->level = 99;
	series_import(b, back->series[0]);
	for (l = 0; l < SERIES_LEVELS; l++)
		CU_ASSERT_TRUE(same_points(a, b, gauge, l));

	ccnode__host_record__free_unpacked(back, NULL);
	free(buf);
	series_free(b);
	series_free(a);
	arena_free(ar);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_specs),
		TU_TEST(test_bucket_average),
		TU_TEST(test_levels),
		TU_TEST(test_counter_rates),
		TU_TEST(test_out_of_order),
		TU_TEST(test_retention),
		TU_TEST(test_range),
		TU_TEST(test_export_import),
	};

	find_specs();
	return tu_main("series", tests, nitems(tests));
}
