/*
 * test_cmdstats.c: INFO commandstats, LATENCY HISTOGRAM and SLOWLOG GET
 * parsing, and the workload delta of two readings (common/cmdstats.c):
 * resets, the agent's own calls, time scaling and the histogram.
 *
 * Replies go through hiredis's own reader, from RESP bytes written here
 * in a short notation: [ ... ] an array, $word a bulk string, :N an
 * integer, -word an error, +word a status, ~ a nil.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdstats.h"
#include "util.h"
#include "testutil.h"

/* Three readings of one table are 640 KB: kept off the stack. */
static struct cmdtable	prev, cur, out;

/* ---- RESP in a short notation -------------------------------------------- */

struct buf {
	char	*d;
	size_t	 len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->d = xreallocarray(b->d, 1, b->cap);
	}
	memcpy(b->d + b->len, s, len);
	b->len += len;
	b->d[b->len] = '\0';
}

static void
buf_printf(struct buf *b, const char *type, size_t n)
{
	char	tmp[64];
	int	len;

	len = snprintf(tmp, sizeof(tmp), "%s%zu\r\n", type, n);
	buf_add(b, tmp, (size_t)len);
}

/* One value at *p into b; returns 0, or 1 at a closing ']'. */
static int
notation(const char **p, struct buf *b)
{
	struct buf	 sub = { NULL, 0, 0 };
	const char	*s;
	size_t		 n = 0, len;

	while (**p == ' ' || **p == '\n')
		(*p)++;
	s = *p;
	len = strcspn(s, " \n");
	*p += len;
	switch (s[0]) {
	case ']':
		return 1;
	case '[':
		while (notation(p, &sub) == 0)
			n++;
		buf_printf(b, "*", n);
		if (sub.len > 0)
			buf_add(b, sub.d, sub.len);
		free(sub.d);
		return 0;
	case '$':
		buf_printf(b, "$", len - 1);
		buf_add(b, s + 1, len - 1);
		buf_add(b, "\r\n", 2);
		return 0;
	case '~':
		buf_add(b, "$-1\r\n", 5);
		return 0;
	case ':':
	case '-':
	case '+':
		buf_add(b, s, len);
		buf_add(b, "\r\n", 2);
		return 0;
	}
	CU_FAIL("bad notation");
	return 1;
}

/* The reply of len RESP bytes. */
static redisReply *
reply_raw(const char *resp, size_t len)
{
	redisReader	*rd;
	void		*r = NULL;

	rd = redisReaderCreate();
	CU_ASSERT_EQUAL(redisReaderFeed(rd, resp, len), REDIS_OK);
	CU_ASSERT_EQUAL(redisReaderGetReply(rd, &r), REDIS_OK);
	redisReaderFree(rd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	return r;
}

static redisReply *
reply(const char *text)
{
	struct buf	 b = { NULL, 0, 0 };
	redisReply	*r;

	CU_ASSERT_EQUAL(notation(&text, &b), 0);
	r = reply_raw(b.d, b.len);
	free(b.d);
	return r;
}

static uint64_t
hist_sum(const struct cmdstat *cs)
{
	uint64_t	sum = 0;
	int		i;

	for (i = 0; i < LAT_BUCKETS; i++)
		sum += cs->hist[i];
	return sum;
}

static void
info(struct cmdtable *t, const char *text)
{
	cmdstats_parse_info(text, strlen(text), t);
}

static void
hist(struct cmdtable *t, const char *text)
{
	redisReply	*r = reply(text);

	CU_ASSERT(cmdstats_parse_histogram(r, t) >= 0);
	freeReplyObject(r);
}

/* ---- INFO commandstats --------------------------------------------------- */

static void
test_parse_info(void)
{
	static const char text[] =
	    "# Server\r\nredis_version:7.0.15\r\n\r\n"
	    "# Commandstats\r\n"
	    "cmdstat_set:calls=300,usec=430,usec_per_call=1.43,"
	    "rejected_calls=2,failed_calls=3\r\n"
	    "cmdstat_config|set:calls=1,usec=7,usec_per_call=7.00,"
	    "rejected_calls=0,failed_calls=0\r\n"
	    "cmdstat_HGETALL:calls=5,usec=50,usec_per_call=10.00\r\n"
	    "cmdstat_get:calls=10,usec=20,usec_per_call=2.00\n"
	    "cmdstat_:calls=1,usec=1\r\n"			/* no name */
	    "cmdstat_bad:calls=x1,usec=1\r\n"			/* NaN */
	    "cmdstat_nousec:calls=1\r\n"			/* no usec */
	    "cmdstat_big:calls=99999999999999999999,usec=1\r\n" /* 2^64 */
	    "cmdstat_sp ace:calls=1,usec=1\r\n"		/* space */
	    "cmdstat_nocolon calls=1,usec=1\r\n"
	    "cmdstat_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaa:calls=1,usec=1\r\n"		/* 70 bytes */
	    "errorstat_ERR:count=1\r\n"
	    "xcmdstat_x:calls=1,usec=1\r\n"
	    "cmdstat_get:calls=99,usec=99\r\n"		/* twice */
	    "cmdstat_zadd:calls=4,usec=8";			/* no \n */
	struct cmdstat	*cs;
	size_t		 i;

	CU_ASSERT_EQUAL(cmdstats_parse_info(text, strlen(text), &cur), 5);
	CU_ASSERT_EQUAL_FATAL(cur.n, 5);
	CU_ASSERT_STRING_EQUAL(cur.v[0].name, "config|set");
	CU_ASSERT_STRING_EQUAL(cur.v[1].name, "get");
	CU_ASSERT_STRING_EQUAL(cur.v[2].name, "hgetall");
	CU_ASSERT_STRING_EQUAL(cur.v[3].name, "set");
	CU_ASSERT_STRING_EQUAL(cur.v[4].name, "zadd");

	cs = cmdtable_find(&cur, "set");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 300);
	CU_ASSERT_EQUAL(cs->usec, 430);
	CU_ASSERT_EQUAL(cs->failed, 5);
	CU_ASSERT_EQUAL(cs->has_hist, 0);
	cs = cmdtable_find(&cur, "hgetall");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 5);
	CU_ASSERT_EQUAL(cs->failed, 0);
	cs = cmdtable_find(&cur, "get");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT(cs->calls == 10 || cs->calls == 99);
	cs = cmdtable_find(&cur, "zadd");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->usec, 8);
	for (i = 0; i < cur.n; i++)
		CU_ASSERT_PTR_EQUAL(cmdtable_find(&cur, cur.v[i].name),
		    &cur.v[i]);
	CU_ASSERT_PTR_NULL(cmdtable_find(&cur, "bad"));
	CU_ASSERT_PTR_NULL(cmdtable_find(&cur, "HGETALL"));

	/* Nothing, or no commandstats. */
	CU_ASSERT_EQUAL(cmdstats_parse_info("", 0, &cur), 0);
	CU_ASSERT_EQUAL(cur.n, 0);
	CU_ASSERT_EQUAL(cmdstats_parse_info(NULL, 0, &cur), 0);
	info(&cur, "# Server\r\nredis_version:7.0.15\r\n");
	CU_ASSERT_EQUAL(cur.n, 0);
}

/* More than CMD_MAX commands: the first CMD_MAX, sorted. */
static void
test_parse_info_max(void)
{
	struct buf	b = { NULL, 0, 0 };
	char		line[64];
	size_t		i;
	int		len;

	for (i = 0; i < CMD_MAX + 100; i++) {
		len = snprintf(line, sizeof(line),
		    "cmdstat_c%04zu:calls=%zu,usec=1\r\n", (i * 7919) % 1000,
		    i);
		buf_add(&b, line, (size_t)len);
	}
	CU_ASSERT_EQUAL(cmdstats_parse_info(b.d, b.len, &cur), CMD_MAX);
	for (i = 1; i < cur.n; i++)
		CU_ASSERT(strcmp(cur.v[i - 1].name, cur.v[i].name) < 0);
	CU_ASSERT_PTR_NOT_NULL(cmdtable_find(&cur, "c0000"));
	free(b.d);
}

/* ---- LATENCY HISTOGRAM --------------------------------------------------- */

static void
test_lat_bucket(void)
{
	CU_ASSERT_EQUAL(lat_bucket(0), 0);
	CU_ASSERT_EQUAL(lat_bucket(1), 0);
	CU_ASSERT_EQUAL(lat_bucket(2), 1);
	CU_ASSERT_EQUAL(lat_bucket(3), 2);
	CU_ASSERT_EQUAL(lat_bucket(4), 2);
	CU_ASSERT_EQUAL(lat_bucket(5), 3);
	CU_ASSERT_EQUAL(lat_bucket(16), 4);
	CU_ASSERT_EQUAL(lat_bucket(17), 5);
	CU_ASSERT_EQUAL(lat_bucket(32), 5);
	CU_ASSERT_EQUAL(lat_bucket(33), 5);	/* Redis's "33" bucket */
	CU_ASSERT_EQUAL(lat_bucket(34), 6);
	CU_ASSERT_EQUAL(lat_bucket(1024), 10);
	CU_ASSERT_EQUAL(lat_bucket(1056), 10);
	CU_ASSERT_EQUAL(lat_bucket(1057), 11);
	CU_ASSERT_EQUAL(lat_bucket(UINT64_MAX), LAT_BUCKETS - 1);
	CU_ASSERT_EQUAL(lat_bucket_upper(0), 1);
	CU_ASSERT_EQUAL(lat_bucket_upper(5), 33);
	CU_ASSERT_EQUAL(lat_bucket_upper(7), 132);
	CU_ASSERT_EQUAL(lat_bucket_upper(10), 1056);
	CU_ASSERT_EQUAL(lat_bucket_upper(14), 16908);
	CU_ASSERT_EQUAL(lat_bucket_upper(LAT_BUCKETS - 1), UINT64_MAX);
	/* Every edge is in its own bucket, one more us is in the next. */
	{
		int i;

		for (i = 0; i < LAT_BUCKETS - 1; i++) {
			CU_ASSERT_EQUAL(lat_bucket(lat_bucket_upper(i)), i);
			CU_ASSERT_EQUAL(lat_bucket(lat_bucket_upper(i) + 1),
			    i + 1);
		}
	}
}

/* The reply redis 7.0.15 gave, cumulative counts to per-bucket ones. */
static void
test_histogram(void)
{
	struct cmdstat	*cs;

	info(&cur, "cmdstat_set:calls=300,usec=430\r\n"
	    "cmdstat_debug:calls=100,usec=463383\r\n");
	hist(&cur, "[ $set [ $calls :300 $histogram_usec "
	    "[ :1 :227 :2 :281 :4 :287 :8 :294 :16 :300 ] ] "
	    "$debug [ $calls :100 $histogram_usec [ :132 :7 :264 :10 "
	    ":2113 :27 :4227 :49 :8454 :90 :16908 :100 ] ] "
	    "$eval [ $calls :50 $histogram_usec [ :66 :3 :132 :9 :264 :21 "
	    ":528 :47 :1056 :50 ] ] ]");
	CU_ASSERT_EQUAL_FATAL(cur.n, 3);
	CU_ASSERT_STRING_EQUAL(cur.v[0].name, "debug");
	CU_ASSERT_STRING_EQUAL(cur.v[1].name, "eval");
	CU_ASSERT_STRING_EQUAL(cur.v[2].name, "set");

	cs = cmdtable_find(&cur, "set");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->has_hist, 1);
	CU_ASSERT_EQUAL(cs->calls, 300);
	CU_ASSERT_EQUAL(cs->usec, 430);
	CU_ASSERT_EQUAL(cs->hist[0], 227);
	CU_ASSERT_EQUAL(cs->hist[1], 54);
	CU_ASSERT_EQUAL(cs->hist[2], 6);
	CU_ASSERT_EQUAL(cs->hist[3], 7);
	CU_ASSERT_EQUAL(cs->hist[4], 6);
	CU_ASSERT_EQUAL(hist_sum(cs), 300);

	cs = cmdtable_find(&cur, "debug");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->hist[7], 7);
	CU_ASSERT_EQUAL(cs->hist[8], 3);
	CU_ASSERT_EQUAL(cs->hist[11], 17);
	CU_ASSERT_EQUAL(cs->hist[12], 22);
	CU_ASSERT_EQUAL(cs->hist[13], 41);
	CU_ASSERT_EQUAL(cs->hist[14], 10);
	CU_ASSERT_EQUAL(hist_sum(cs), 100);

	/* Not in INFO: added with the reply's calls, the table still sorted. */
	cs = cmdtable_find(&cur, "eval");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 50);
	CU_ASSERT_EQUAL(cs->usec, 0);
	CU_ASSERT_EQUAL(cs->hist[6], 3);
	CU_ASSERT_EQUAL(cs->hist[10], 3);

	/* Exact powers of two name the same buckets; an empty one is fine. */
	info(&cur, "cmdstat_get:calls=4,usec=40\r\n");
	hist(&cur, "[ $get [ $histogram_usec [ :32 :1 :1024 :4 ] $calls :4 ] "
	    "$ping [ $calls :0 $histogram_usec [ ] ] ]");
	cs = cmdtable_find(&cur, "get");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->hist[5], 1);
	CU_ASSERT_EQUAL(cs->hist[10], 3);
	cs = cmdtable_find(&cur, "ping");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->has_hist, 1);
	CU_ASSERT_EQUAL(hist_sum(cs), 0);

	/*
	 * A call over 1 s, as redis-server 7.0.15 names it: the histogram
	 * stops at 1 s, and its last bucket is named 1073741 (2^30 ns).
	 */
	info(&cur, "cmdstat_eval:calls=2,usec=1800000\r\n");
	hist(&cur, "[ $eval [ $calls :2 $histogram_usec [ :541065 :1 "
	    ":1073741 :2 ] ] ]");
	cs = cmdtable_find(&cur, "eval");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->has_hist, 1);
	CU_ASSERT_EQUAL(cs->hist[19], 1);
	CU_ASSERT_EQUAL(cs->hist[20], 1);
}

/* A bad command entry is skipped; a reply of the wrong shape is refused. */
static void
test_histogram_junk(void)
{
	static const char *const bad[] = {
		"-ERR unknown command 'LATENCY'",
		":1", "$set", "~", "[ $set ]",
		"[ $set [ $calls :1 $histogram_usec [ :1 :1 ] ] $get ]",
	};
	redisReply	*r;
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		info(&cur, "cmdstat_set:calls=1,usec=1\r\n");
		r = reply(bad[i]);
		CU_ASSERT_EQUAL(cmdstats_parse_histogram(r, &cur), -1);
		CU_ASSERT_EQUAL(cur.n, 1);
		CU_ASSERT_EQUAL(cur.v[0].has_hist, 0);
		freeReplyObject(r);
	}
	CU_ASSERT_EQUAL(cmdstats_parse_histogram(NULL, &cur), -1);

	info(&cur, "cmdstat_set:calls=9,usec=9\r\n");
	r = reply("[ "
	    "$a [ $calls :3 $histogram_usec [ :1 :2 :2 :1 ] ] " /* 2, 1 */
	    "$b [ $calls :3 $histogram_usec [ :3 :3 ] ] "	/* unknown */
	    "$c [ $calls :3 $histogram_usec [ :4 :1 :2 :3 ] ] " /* 4, 2 */
	    "$d [ $calls :3 $histogram_usec [ :2 :1 :2 :3 ] ] " /* 2, 2 */
	    "$e [ $calls $3 $histogram_usec [ :1 :3 ] ] "	/* a string */
	    "$f [ $histogram_usec [ :1 :3 ] ] "		/* calls? */
	    "$g [ $calls :3 $histogram_usec [ :1 ] ] "		/* odd */
	    "$h [ $calls :3 $histogram_usec [ :1 $x ] ] "
	    "$i [ $calls :3 $histogram_usec [ :0 :3 ] ] "	/* bucket 0 */
	    "$j [ $calls :3 $histogram_usec [ :-4 :3 ] ] "
	    "$k [ $calls :3 $histogram_usec [ :1 :-3 ] ] "
	    "$l [ $calls :-3 $histogram_usec [ :1 :3 ] ] "
	    "$m [ $calls :3 $histogram_usec :1 ] "
	    "$n :5 "
	    "$o [ $calls :3 $histogram_usec [ :1099511627776 :3 ] ] "
	    ":1 [ $calls :3 $histogram_usec [ :1 :3 ] ] "	/* a name? */
	    "$set [ $calls :9 $histogram_usec [ :1 :4 :8 :9 ] ] "
	    "$set [ $calls :9 $histogram_usec [ :1 :9 ] ] "	/* again */
	    "$new [ $calls :1 $extra [ :1 ] $histogram_usec [ :2 :1 ] ] ]");
	CU_ASSERT_EQUAL(cmdstats_parse_histogram(r, &cur), 2);
	freeReplyObject(r);
	CU_ASSERT_EQUAL_FATAL(cur.n, 2);
	CU_ASSERT_STRING_EQUAL(cur.v[0].name, "new");
	CU_ASSERT_EQUAL(cur.v[0].hist[1], 1);
	CU_ASSERT_STRING_EQUAL(cur.v[1].name, "set");
	CU_ASSERT_EQUAL(cur.v[1].hist[0], 4);
	CU_ASSERT_EQUAL(cur.v[1].hist[3], 5);
}

/* ---- deltas -------------------------------------------------------------- */

static void
test_delta(void)
{
	struct owncalls	 own = { 0 };
	struct cmdstat	*cs;

	info(&prev, "cmdstat_get:calls=10,usec=100,rejected_calls=1,"
	    "failed_calls=1\r\ncmdstat_set:calls=5,usec=50\r\n");
	info(&cur, "cmdstat_get:calls=30,usec=160,rejected_calls=2,"
	    "failed_calls=3\r\ncmdstat_set:calls=5,usec=50\r\n"
	    "cmdstat_incr:calls=7,usec=21\r\n");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 0, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 2);	/* set did nothing */
	CU_ASSERT_STRING_EQUAL(out.v[0].name, "get");
	CU_ASSERT_STRING_EQUAL(out.v[1].name, "incr");
	cs = cmdtable_find(&out, "get");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 20);
	CU_ASSERT_EQUAL(cs->usec, 60);
	CU_ASSERT_EQUAL(cs->failed, 3);
	CU_ASSERT_EQUAL(cs->has_hist, 0);
	CU_ASSERT_EQUAL(hist_sum(cs), 0);	/* no fallback asked */
	cs = cmdtable_find(&out, "incr");	/* new: from 0 */
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 7);
	CU_ASSERT_EQUAL(cs->usec, 21);

	/* The same reading twice: no workload, no reset. */
	CU_ASSERT_EQUAL(cmdstats_delta(&cur, &cur, &own, 1, &out), 0);
	CU_ASSERT_EQUAL(out.n, 0);
}

/* CONFIG RESETSTAT, a restart: no delta, never a negative count. */
static void
test_delta_reset(void)
{
	struct owncalls	own = { 0 };

	info(&prev, "cmdstat_get:calls=10,usec=100\r\n"
	    "cmdstat_set:calls=5,usec=50\r\n");
	/* get went down. */
	info(&cur, "cmdstat_get:calls=3,usec=300\r\n"
	    "cmdstat_set:calls=6,usec=60\r\n");
	owncalls_add(&own, "info", 3);
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), -1);
	CU_ASSERT_EQUAL(out.n, 0);
	/* cur counts no INFO: the three may be on their way, for one delta. */
	CU_ASSERT_EQUAL_FATAL(own.n, 1);
	CU_ASSERT_EQUAL(own.v[0].old, 3);
	CU_ASSERT_EQUAL(own.v[0].count, 0);
	/* set vanished (RESETSTAT, then only get ran). */
	info(&cur, "cmdstat_get:calls=12,usec=120\r\n");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), -1);
	CU_ASSERT_EQUAL(out.n, 0);
	CU_ASSERT_EQUAL(own.n, 0);	/* they had their delta */
	/* More calls than before, but less time: a reset too. */
	info(&cur, "cmdstat_get:calls=11,usec=20\r\n"
	    "cmdstat_set:calls=6,usec=60\r\n");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), -1);
	/* Fewer failed calls than before. */
	info(&prev, "cmdstat_get:calls=10,usec=100,failed_calls=4\r\n");
	info(&cur, "cmdstat_get:calls=11,usec=110,failed_calls=1\r\n");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), -1);
	/* Nothing at all: a restart. */
	info(&cur, "");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), -1);

	/* The reading after a reset is the new baseline. */
	info(&prev, "cmdstat_get:calls=3,usec=300\r\n");
	info(&cur, "cmdstat_get:calls=4,usec=310\r\n");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	CU_ASSERT_EQUAL(out.v[0].calls, 1);
	CU_ASSERT_EQUAL(out.v[0].usec, 10);
	/* From an empty reading (the first one after a restart): all new. */
	info(&prev, "");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	CU_ASSERT_EQUAL(out.v[0].calls, 4);
}

/* The agent's own calls: subtracted, with what is left carried over. */
static void
test_owncalls(void)
{
	struct owncalls	 own = { 0 };
	struct cmdstat	*cs;

	owncalls_add(&own, "INFO", 1);
	owncalls_add(&own, "info", 1);
	owncalls_add(&own, "type", 5);
	owncalls_add(&own, "memory|usage", 10);
	owncalls_add(&own, "scan", 0);		/* nothing */
	owncalls_add(&own, "bad name", 1);	/* refused */
	CU_ASSERT_EQUAL_FATAL(own.n, 3);
	CU_ASSERT_STRING_EQUAL(own.v[0].name, "info");
	CU_ASSERT_EQUAL(own.v[0].count, 2);

	/*
	 * info: the INFO that read cur is not in cur yet, so one of the two
	 * stays.  type: 8 calls, 5 our own, 80 us: 3 calls and 30 us left.
	 * memory|usage: 4 calls, all ours, 6 more to come.
	 */
	info(&prev, "cmdstat_info:calls=10,usec=100\r\n"
	    "cmdstat_type:calls=0,usec=0\r\n"
	    "cmdstat_memory|usage:calls=0,usec=0\r\n");
	info(&cur, "cmdstat_info:calls=11,usec=110\r\n"
	    "cmdstat_type:calls=8,usec=80\r\n"
	    "cmdstat_memory|usage:calls=4,usec=40\r\n");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	cs = cmdtable_find(&out, "type");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 3);
	CU_ASSERT_EQUAL(cs->usec, 30);
	CU_ASSERT_EQUAL(cs->hist[lat_bucket(10)], 3);	/* the mean */
	CU_ASSERT_EQUAL(hist_sum(cs), 3);
	/* type used up and dropped; info 1 and memory|usage 6 carried. */
	CU_ASSERT_EQUAL_FATAL(own.n, 2);
	CU_ASSERT_STRING_EQUAL(own.v[0].name, "info");
	CU_ASSERT_EQUAL(own.v[0].old, 1);
	CU_ASSERT_STRING_EQUAL(own.v[1].name, "memory|usage");
	CU_ASSERT_EQUAL(own.v[1].old, 6);

	/* Next round: one more INFO; memory|usage ran 10 times, 4 of them
	 * from the workload. */
	memcpy(&prev, &cur, sizeof(prev));
	owncalls_add(&own, "info", 1);
	info(&cur, "cmdstat_info:calls=12,usec=120\r\n"
	    "cmdstat_type:calls=8,usec=80\r\n"
	    "cmdstat_memory|usage:calls=14,usec=540\r\n");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	cs = cmdtable_find(&out, "memory|usage");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 4);
	CU_ASSERT_EQUAL(cs->usec, 200);		/* 500 * 4 / 10 */
	CU_ASSERT_EQUAL_FATAL(own.n, 1);
	CU_ASSERT_EQUAL(own.v[0].old, 1);	/* info: the newer one */

	/* Full: the 65th kind is dropped. */
	{
		char	name[16];
		int	i;

		for (i = 0; i < 70; i++) {
			snprintf(name, sizeof(name), "c%d", i);
			owncalls_add(&own, name, 1);
		}
		CU_ASSERT_EQUAL(own.n, nitems(own.v));
	}
}

/*
 * Own calls last one delta past the one they were sent for: calls that
 * never reach the server (a broken connection) do not hide workload later.
 * Across a reset, those the new reading counts go into the baseline; the
 * others, a new connection's CLIENT SETNAME and MONITOR that reach the
 * server after the reading, are still taken out of the next delta.
 */
static void
test_owncalls_age(void)
{
	struct owncalls	 own = { 0 };
	struct cmdstat	*cs;

	/* Two SCANs sent, never run: carried once, then dropped. */
	info(&prev, "cmdstat_scan:calls=5,usec=50\r\n");
	owncalls_add(&own, "scan", 2);
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &prev, &own, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(own.n, 1);
	CU_ASSERT_EQUAL(own.v[0].old, 2);
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &prev, &own, 1, &out), 0);
	CU_ASSERT_EQUAL(own.n, 0);
	/* A workload SCAN later is the workload's. */
	info(&cur, "cmdstat_scan:calls=6,usec=60\r\n");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	CU_ASSERT_EQUAL(out.v[0].calls, 1);

	/*
	 * RESETSTAT.  The reading that sees it counts the agent's INFO and
	 * one of its two SCANs; SETNAME and MONITOR, sent on a connection
	 * still connecting, come after it.
	 */
	info(&prev, "cmdstat_get:calls=100,usec=1000\r\n"
	    "cmdstat_scan:calls=50,usec=500\r\n");
	info(&cur, "cmdstat_info:calls=1,usec=10\r\n"
	    "cmdstat_scan:calls=1,usec=10\r\n");
	owncalls_add(&own, "info", 1);
	owncalls_add(&own, "scan", 2);
	owncalls_add(&own, "client|setname", 1);
	owncalls_add(&own, "monitor", 1);
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), -1);
	CU_ASSERT_EQUAL(own.n, 3);	/* scan 1, setname 1, monitor 1 */
	memcpy(&prev, &cur, sizeof(prev));
	info(&cur, "cmdstat_info:calls=2,usec=20\r\n"
	    "cmdstat_scan:calls=2,usec=20\r\n"
	    "cmdstat_client|setname:calls=1,usec=1\r\n"
	    "cmdstat_monitor:calls=1,usec=1\r\n"
	    "cmdstat_get:calls=7,usec=70\r\n");
	owncalls_add(&own, "info", 1);
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	cs = cmdtable_find(&out, "get");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 7);
	CU_ASSERT_EQUAL(own.n, 0);

	/* Moving calls in: added up, the source emptied. */
	{
		struct owncalls	self = { 0 };

		owncalls_add(&own, "info", 1);
		owncalls_add(&self, "info", 2);
		owncalls_add(&self, "exec", 1);
		owncalls_move(&own, &self);
		CU_ASSERT_EQUAL(self.n, 0);
		CU_ASSERT_EQUAL_FATAL(own.n, 2);
		CU_ASSERT_STRING_EQUAL(own.v[0].name, "info");
		CU_ASSERT_EQUAL(own.v[0].count, 3);
		CU_ASSERT_STRING_EQUAL(own.v[1].name, "exec");
		CU_ASSERT_EQUAL(own.v[1].count, 1);
		CU_ASSERT_EQUAL(cmdstats_reset(&prev, &cur), 0);
		CU_ASSERT_EQUAL(cmdstats_reset(&cur, &prev), 1);
	}
}

/* usec scaling does not overflow on big counters. */
static void
test_delta_big(void)
{
	struct owncalls	own = { 0 };

	info(&prev, "cmdstat_get:calls=0,usec=0\r\n");
	info(&cur, "cmdstat_get:calls=18000000000000000000,"
	    "usec=18000000000000000000\r\n");
	owncalls_add(&own, "get", 9000000000000000000ULL);
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	CU_ASSERT_EQUAL(out.v[0].calls, 9000000000000000000ULL);
	CU_ASSERT_EQUAL(out.v[0].usec, 9000000000000000000ULL);
	CU_ASSERT_EQUAL(out.v[0].hist[0], 9000000000000000000ULL);
}

/* The histogram delta, less the own calls from the lowest buckets. */
static void
test_delta_hist(void)
{
	struct owncalls	 own = { 0 };
	struct cmdstat	*cs;

	info(&prev, "cmdstat_get:calls=10,usec=100\r\n"
	    "cmdstat_type:calls=1,usec=1\r\n");
	hist(&prev, "[ $get [ $calls :10 $histogram_usec [ :1 :4 :2 :9 "
	    ":4 :10 ] ] $type [ $calls :1 $histogram_usec [ :1 :1 ] ] ]");
	info(&cur, "cmdstat_get:calls=20,usec=300\r\n"
	    "cmdstat_type:calls=11,usec=31\r\n");
	/* get: +5 +3 +2 per bucket; type: +4 +6. */
	hist(&cur, "[ $get [ $calls :20 $histogram_usec [ :1 :9 :2 :17 "
	    ":4 :20 ] ] $type [ $calls :11 $histogram_usec [ :1 :5 :2 :11 ] "
	    "] ]");
	owncalls_add(&own, "get", 6);
	owncalls_add(&own, "type", 10);
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, &own, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);	/* type: all ours */
	cs = cmdtable_find(&out, "get");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 4);
	CU_ASSERT_EQUAL(cs->usec, 80);
	CU_ASSERT_EQUAL(cs->has_hist, 1);
	CU_ASSERT_EQUAL(cs->hist[0], 0);
	CU_ASSERT_EQUAL(cs->hist[1], 2);
	CU_ASSERT_EQUAL(cs->hist[2], 2);
	CU_ASSERT_EQUAL(hist_sum(cs), cs->calls);
	CU_ASSERT_EQUAL(own.n, 0);
}

/*
 * INFO and LATENCY HISTOGRAM disagree: the histogram delta is scaled to
 * the calls delta; an empty one (latency-tracking off) gives the mean.
 */
static void
test_delta_hist_mismatch(void)
{
	struct cmdstat	*cs;

	info(&prev, "cmdstat_a:calls=0,usec=0\r\ncmdstat_b:calls=0,usec=0\r\n"
	    "cmdstat_c:calls=0,usec=0\r\ncmdstat_d:calls=5,usec=5\r\n"
	    "cmdstat_e:calls=0,usec=0\r\n");
	hist(&prev, "[ $a [ $calls :0 $histogram_usec [ ] ] "
	    "$b [ $calls :0 $histogram_usec [ ] ] "
	    "$c [ $calls :0 $histogram_usec [ ] ] "
	    "$d [ $calls :5 $histogram_usec [ :1 :5 ] ] ]");
	info(&cur, "cmdstat_a:calls=10,usec=20\r\ncmdstat_b:calls=2,usec=20\r\n"
	    "cmdstat_c:calls=7,usec=700\r\ncmdstat_d:calls=8,usec=8\r\n"
	    "cmdstat_e:calls=4,usec=40\r\n");
	/*
	 * a: 12 in the histogram (two calls ran between INFO and LATENCY
	 * HISTOGRAM), 10 in INFO.  b: 1 + 1 + 1 for 2 calls.  c: no new
	 * latencies at all.  d: a bucket went down, another up.  e: a
	 * histogram now, none in prev.
	 */
	hist(&cur, "[ $a [ $calls :12 $histogram_usec [ :1 :6 :2 :12 ] ] "
	    "$b [ $calls :3 $histogram_usec [ :1 :1 :2 :2 :4 :3 ] ] "
	    "$c [ $calls :0 $histogram_usec [ ] ] "
	    "$d [ $calls :8 $histogram_usec [ :1 :4 :2 :8 ] ] "
	    "$e [ $calls :4 $histogram_usec [ :1 :4 ] ] ]");
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, NULL, 1, &out), 0);
	CU_ASSERT_EQUAL_FATAL(out.n, 5);

	cs = cmdtable_find(&out, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->has_hist, 1);
	CU_ASSERT_EQUAL(cs->hist[0], 5);
	CU_ASSERT_EQUAL(cs->hist[1], 5);
	cs = cmdtable_find(&out, "b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->has_hist, 1);
	CU_ASSERT_EQUAL(cs->hist[0], 1);	/* ties to the lower bucket */
	CU_ASSERT_EQUAL(cs->hist[1], 1);
	CU_ASSERT_EQUAL(cs->hist[2], 0);
	cs = cmdtable_find(&out, "c");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->has_hist, 0);
	CU_ASSERT_EQUAL(cs->hist[lat_bucket(100)], 7);	/* the mean */
	CU_ASSERT_EQUAL(lat_bucket(100), 7);
	cs = cmdtable_find(&out, "d");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->calls, 3);
	CU_ASSERT_EQUAL(cs->has_hist, 1);
	CU_ASSERT_EQUAL(cs->hist[0], 0);	/* 4 - 5: clamped */
	CU_ASSERT_EQUAL(cs->hist[1], 3);	/* 4 scaled to 3 */
	cs = cmdtable_find(&out, "e");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(cs->has_hist, 0);	/* prev had none: unknown */
	CU_ASSERT_EQUAL(cs->hist[lat_bucket(10)], 4);
	{
		size_t i;

		for (i = 0; i < out.n; i++)
			CU_ASSERT_EQUAL(hist_sum(&out.v[i]), out.v[i].calls);
	}

	/* Without fallback, a command with no histogram has an empty one. */
	CU_ASSERT_EQUAL(cmdstats_delta(&prev, &cur, NULL, 0, &out), 0);
	cs = cmdtable_find(&out, "c");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(hist_sum(cs), 0);
	cs = cmdtable_find(&out, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	CU_ASSERT_EQUAL(hist_sum(cs), 10);
}

/* ---- SLOWLOG GET --------------------------------------------------------- */

#define SLOW_ENTRY(id, us, cmd) \
	"[ :" #id " :1795661663 :" #us " [ $" cmd " $k ] $127.0.0.1:46724 $ ] "

static void
test_slowlog(void)
{
	struct slowentry	*v;
	redisReply		*r;
	uint64_t		 lost;
	int			 n;

	r = reply("[ " SLOW_ENTRY(12, 9181, "GET") SLOW_ENTRY(11, 8356, "SET")
	    "[ :10 :1795661600 :7168 [ $DEBUG $SLEEP $0.007 ] "
	    "$10.0.0.1:5 $worker ] ]");

	/* No last id: everything, oldest first. */
	n = slowlog_parse(r, 0, 0, &v, &lost);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(lost, 0);
	CU_ASSERT_EQUAL(v[0].id, 10);
	CU_ASSERT_EQUAL(v[0].time, 1795661600);
	CU_ASSERT_EQUAL(v[0].duration_us, 7168);
	CU_ASSERT_EQUAL_FATAL(v[0].nargs, 3);
	CU_ASSERT_STRING_EQUAL(v[0].args[0], "DEBUG");
	CU_ASSERT_STRING_EQUAL(v[0].args[2], "0.007");
	CU_ASSERT_EQUAL(v[0].arglen[2], 5);
	CU_ASSERT_STRING_EQUAL(v[0].client, "10.0.0.1:5");
	CU_ASSERT_STRING_EQUAL(v[0].name, "worker");
	CU_ASSERT_EQUAL(v[1].id, 11);
	CU_ASSERT_EQUAL(v[2].id, 12);
	CU_ASSERT_STRING_EQUAL(v[2].args[0], "GET");
	CU_ASSERT_STRING_EQUAL(v[2].client, "127.0.0.1:46724");
	CU_ASSERT_STRING_EQUAL(v[2].name, "");
	slowlog_free(v, n);

	/* Fetched up to 10 last time: two new, nothing lost. */
	n = slowlog_parse(r, 1, 10, &v, &lost);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(v[0].id, 11);
	CU_ASSERT_EQUAL(v[1].id, 12);
	CU_ASSERT_EQUAL(lost, 0);
	slowlog_free(v, n);

	/* Up to 7: 8 and 9 fell off the log. */
	n = slowlog_parse(r, 1, 7, &v, &lost);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(lost, 2);
	slowlog_free(v, n);

	/* Up to 9: nothing lost, though the reply does not reach back. */
	n = slowlog_parse(r, 1, 9, &v, &lost);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(lost, 0);
	slowlog_free(v, n);

	/* Up to 12, or past it: nothing new. */
	n = slowlog_parse(r, 1, 12, &v, &lost);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(lost, 0);
	n = slowlog_parse(r, 1, 500, &v, &lost);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(lost, 0);
	freeReplyObject(r);

	/* An empty log. */
	r = reply("[ ]");
	CU_ASSERT_EQUAL(slowlog_parse(r, 1, 3, &v, &lost), 0);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(lost, 0);
	freeReplyObject(r);

	/* Redis before 4: no client; the same id twice is kept once. */
	r = reply("[ [ :5 :1 :20 [ $PING ] ] [ :5 :1 :20 [ $PING ] ] "
	    "[ :4 :1 :10 [ ] ] ]");
	n = slowlog_parse(r, 1, 1, &v, &lost);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(v[0].id, 4);
	CU_ASSERT_EQUAL(v[0].nargs, 0);
	CU_ASSERT_EQUAL(v[1].id, 5);
	CU_ASSERT_STRING_EQUAL(v[1].client, "");
	CU_ASSERT_EQUAL(lost, 2);		/* 2 and 3 */
	slowlog_free(v, n);
	freeReplyObject(r);
}

/* Arguments are binary safe, cut to SLOW_MAX_ARG, at most SLOW_MAX_ARGS. */
static void
test_slowlog_args(void)
{
	struct buf		 b = { NULL, 0, 0 };
	struct slowentry	*v;
	redisReply		*r;
	uint64_t		 lost;
	char			 big[300];
	int			 i, n;

	memset(big, 'x', sizeof(big));
	buf_add(&b, "*1\r\n*6\r\n:1\r\n:2\r\n:3\r\n*40\r\n", 25);
	buf_add(&b, "$5\r\na\0b\nc\r\n", 11);
	buf_add(&b, "$300\r\n", 6);
	buf_add(&b, big, sizeof(big));
	buf_add(&b, "\r\n", 2);
	for (i = 2; i < 40; i++)
		buf_add(&b, "$1\r\nz\r\n", 7);
	buf_add(&b, "$9\r\n1.2.3.4:5\r\n", 15);
	/* A client name longer than the field. */
	buf_add(&b, "$70\r\n", 5);
	buf_add(&b, big, 70);
	buf_add(&b, "\r\n", 2);
	r = reply_raw(b.d, b.len);
	free(b.d);

	n = slowlog_parse(r, 0, 0, &v, &lost);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL_FATAL(v[0].nargs, SLOW_MAX_ARGS);
	CU_ASSERT_EQUAL(v[0].arglen[0], 5);
	CU_ASSERT_EQUAL(memcmp(v[0].args[0], "a\0b\nc", 6), 0);
	CU_ASSERT_EQUAL(v[0].arglen[1], SLOW_MAX_ARG);
	CU_ASSERT_EQUAL(v[0].args[1][SLOW_MAX_ARG], '\0');
	CU_ASSERT_EQUAL(v[0].args[1][SLOW_MAX_ARG - 1], 'x');
	CU_ASSERT_STRING_EQUAL(v[0].args[SLOW_MAX_ARGS - 1], "z");
	CU_ASSERT_STRING_EQUAL(v[0].client, "1.2.3.4:5");
	CU_ASSERT_EQUAL(strlen(v[0].name), sizeof(v[0].name) - 1);
	slowlog_free(v, n);
	freeReplyObject(r);
}

static void
test_slowlog_junk(void)
{
	static const char *const bad[] = {
		"-ERR unknown command 'SLOWLOG'", ":1", "$x", "~", "+OK",
		"[ :1 ]",
		"[ [ :1 :2 :3 ] ]",
		"[ [ $1 :2 :3 [ ] ] ]",
		"[ [ :-1 :2 :3 [ ] ] ]",
		"[ [ :1 :2 :-3 [ ] ] ]",
		"[ [ :1 :2 :3 $GET ] ]",
		"[ [ :1 :2 :3 [ :4 ] ] ]",
		"[ [ :1 :2 :3 [ ~ ] ] ]",
		"[ [ :2 :2 :3 [ $GET ] ] [ :1 :2 :3 ] ]",
	};
	struct slowentry	*v;
	redisReply		*r;
	uint64_t		 lost;
	size_t			 i;

	for (i = 0; i < nitems(bad); i++) {
		r = reply(bad[i]);
		v = (struct slowentry *)1;
		lost = 99;
		CU_ASSERT_EQUAL(slowlog_parse(r, 0, 0, &v, &lost), -1);
		CU_ASSERT_PTR_NULL(v);
		CU_ASSERT_EQUAL(lost, 0);
		freeReplyObject(r);
	}
	CU_ASSERT_EQUAL(slowlog_parse(NULL, 1, 0, &v, &lost), -1);
	slowlog_free(NULL, 0);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_parse_info),
		TU_TEST(test_parse_info_max),
		TU_TEST(test_lat_bucket),
		TU_TEST(test_histogram),
		TU_TEST(test_histogram_junk),
		TU_TEST(test_delta),
		TU_TEST(test_delta_reset),
		TU_TEST(test_owncalls),
		TU_TEST(test_owncalls_age),
		TU_TEST(test_delta_big),
		TU_TEST(test_delta_hist),
		TU_TEST(test_delta_hist_mismatch),
		TU_TEST(test_slowlog),
		TU_TEST(test_slowlog_args),
		TU_TEST(test_slowlog_junk),
	};

	return tu_main("cmdstats", tests, nitems(tests));
}
