/*
 * test_analytics.c: the monitor's analytics (monitor/analytics.c), driven
 * with synthetic InstanceSample messages and no network: the latency
 * ladder's directive and folding, top commands per span, calls against
 * the ladder, the slowlog's dedupe (across a replay and a restart), its
 * query parameters and lost counts, big keys per date, hot-key merges,
 * binary keys in JSON, sources, proxy detail and file retention.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/queue.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "monitor/monitor.h"
#include "util.h"
#include "testutil.h"

#define MIN5	(300 * 1000LL)
#define HOUR	(3600 * 1000LL)
#define DAY	(86400 * 1000LL)

static struct monitor	 M;
static struct host	 H;
static char		*dir;

static void
setup(const char *extra)
{
	char *text, *cause = NULL;

	dir = tu_tmpdir();
	memset(&M, 0, sizeof(M));
	M.conf = xcalloc(1, sizeof(*M.conf));
	xasprintf(&text, "data-dir %s\n%s", dir, extra ? extra : "");
	if (conf_load_mem(monitor_conf_defs, monitor_conf_ndefs, M.conf,
	    "test", text, &cause) == -1) {
		fprintf(stderr, "\n  config: %s", cause);
		CU_FAIL_FATAL("config refused");
	}
	free(text);
	M.analytics = analytics_new(&M);
	H.name = (char *)"h1";
}

static void
teardown(void)
{
	analytics_free(M.analytics);
	monitor_conf_free(M.conf);
	tu_rmdir(dir);
}

static struct instance *
inst_make(const char *name)
{
	struct instance *in = xcalloc(1, sizeof(*in));

	in->name = xstrdup(name);
	in->host = &H;
	return in;
}

static void
inst_free(struct instance *in)
{
	analytics_instance_free(in->analytics);
	free(in->name);
	free(in);
}

static void
sample_init(Ccnode__InstanceSample *is)
{
	ccnode__instance_sample__init(is);
	is->name = (char *)"r1";
	is->kind = (char *)"redis";
	is->up = 1;
	is->run_id = (char *)"run-a";
}

/* ---- queries -------------------------------------------------------------- */

static json_t *
query(struct instance *in, const char *sub, const char *qs, int64_t now,
    int *code)
{
	struct evkeyvalq	 kv;
	json_t			*j;

	TAILQ_INIT(&kv);
	if (qs != NULL)
		CU_ASSERT_FATAL(evhttp_parse_query_str(qs, &kv) == 0);
	j = analytics_query(M.analytics, in, sub, &kv, now, code);
	evhttp_clear_headers(&kv);
	return j;
}

/* A 200 answer, or a test failure. */
static json_t *
ok(struct instance *in, const char *sub, const char *qs, int64_t now)
{
	int	 code = 0;
	json_t	*j = query(in, sub, qs, now, &code);

	if (code != 200) {
		char *s = json_dumps(j, 0);

		fprintf(stderr, "\n  %s?%s: %d %s", sub, qs ? qs : "", code, s);
		free(s);
		CU_FAIL("not 200");
	}
	CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "items"));
	return j;
}

/* A 400 whose error names the parameter. */
static void
refused(struct instance *in, const char *sub, const char *qs,
    const char *param, int64_t now)
{
	int		 code = 0;
	json_t		*j = query(in, sub, qs, now, &code);
	const char	*err = json_string_value(json_object_get(j, "error"));

	if (code != 400 || !tu_starts(err, param)) {
		fprintf(stderr, "\n  %s?%s: %d %s (want 400 about %s)", sub, qs,
		    code, err ? err : "", param);
		CU_FAIL("not refused");
	}
	json_decref(j);
}

static json_t *
item(json_t *j, size_t i)
{
	return json_array_get(json_object_get(j, "items"), i);
}

static size_t
nitems_of(json_t *j)
{
	return json_array_size(json_object_get(j, "items"));
}

static long long
num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- commands ------------------------------------------------------------- */

struct cmdspec {
	const char	*cmd;
	uint64_t	 calls, usec, failed;
	size_t		 nhist;
	uint64_t	 hist[24];
};

static void
ingest_cmds(struct instance *in, int64_t t, const struct cmdspec *c,
    size_t n, const char *source)
{
	Ccnode__InstanceSample	 is;
	Ccnode__CommandStat	 cs[160], *pcs[160];
	size_t			 i;

	CU_ASSERT_FATAL(n <= nitems(cs));
	sample_init(&is);
	for (i = 0; i < n; i++) {
		ccnode__command_stat__init(&cs[i]);
		cs[i].cmd = (char *)c[i].cmd;
		cs[i].calls = c[i].calls;
		cs[i].usec = c[i].usec;
		cs[i].failed = c[i].failed;
		cs[i].n_hist = c[i].nhist;
		cs[i].hist = (uint64_t *)c[i].hist;
		pcs[i] = &cs[i];
	}
	is.commands = pcs;
	is.n_commands = n;
	is.latency_source = (char *)source;
	analytics_ingest(M.analytics, in, t, &is);
}

/* A time 17 minutes into an hour: which buckets hold what is known. */
static int64_t
base_time(void)
{
	int64_t now = wall_ms();

	return now - now % HOUR + 17 * 60 * 1000;
}

static void
test_ladder_conf(void)
{
	/* Redis's bucket edges nearest (log scale) to the configured ones. */
	static const uint64_t want[] = { 1056, 2113, 4227, 8454, 67633,
	    135266 };
	static const uint64_t conf[] = { 1000, 2000, 5000, 10000, 50000,
	    100000 };
	struct monitor_conf	*c = xcalloc(1, sizeof(*c));
	char			*cause = NULL;
	size_t			 i;

	CU_ASSERT_FATAL(conf_load_mem(monitor_conf_defs, monitor_conf_ndefs,
	    c, "t", "", &cause) == 0);
	CU_ASSERT_EQUAL(c->latency_ladder.n, 6);
	for (i = 0; i < nitems(want); i++) {
		CU_ASSERT_EQUAL(c->latency_ladder.edge_us[i], want[i]);
		CU_ASSERT_EQUAL(c->latency_ladder.conf_us[i], conf[i]);
	}
	CU_ASSERT_EQUAL(c->slowlog_redact_args, 0);
	monitor_conf_free(c);

	c = xcalloc(1, sizeof(*c));
	CU_ASSERT_FATAL(conf_load_mem(monitor_conf_defs, monitor_conf_ndefs,
	    c, "t", "latency-ladder 500us 1ms 3ms 1s\n", &cause) == 0);
	CU_ASSERT_EQUAL(c->latency_ladder.n, 4);
	CU_ASSERT_EQUAL(c->latency_ladder.edge_us[0], 528);
	CU_ASSERT_EQUAL(c->latency_ladder.edge_us[1], 1056);
	CU_ASSERT_EQUAL(c->latency_ladder.edge_us[2], 4227);
	CU_ASSERT_EQUAL(c->latency_ladder.edge_us[3], 1082130);
	monitor_conf_free(c);

	{
		static const char *const bad[] = {
			"latency-ladder 2ms 2100us\n",	/* both 2113us */
			"latency-ladder 2ms 1ms\n",	/* decreasing */
			"latency-ladder 1ms 1ms\n",
			"latency-ladder 1\n",		/* no unit */
			"latency-ladder 0ms\n",
			"latency-ladder 2000s\n",
			"latency-ladder 1ms 2ms 3ms 5ms 9ms 17ms 33ms 65ms "
			    "129ms 257ms 513ms 1025ms 2049ms 4097ms 8193ms "
			    "16385ms\n",		/* 16 edges */
		};

		for (i = 0; i < nitems(bad); i++) {
			c = xcalloc(1, sizeof(*c));
			cause = NULL;
			if (conf_load_mem(monitor_conf_defs,
			    monitor_conf_ndefs, c, "t", bad[i], &cause) == 0) {
				fprintf(stderr, "\n  accepted: %s", bad[i]);
				CU_FAIL("bad ladder accepted");
			} else
				CU_ASSERT(tu_has(cause, "latency-ladder"));
			free(cause);
			monitor_conf_free(c);
		}
	}
}

/* Each histogram bucket lands in the slot its edges say. */
static void
test_fold_edges(void)
{
	static const char *const labels[] = { "<1ms", "1-2ms", "2-5ms",
	    "5-10ms", "10-50ms", "50-100ms", ">=100ms" };
	/* hist[i]: calls of at most lat_bucket_upper(i) (~1.032 * 2^i) us. */
	struct cmdspec		 c = { "get", 0, 0, 0, 20, { 0 } };
	static const uint64_t	 want[] = { 1 + 2 + 5, 7, 11, 13, 17 + 19,
	    23, 29 + 31 };
	struct instance		*in;
	int64_t			 t = base_time();
	json_t			*j, *e;
	size_t			 i;
	uint64_t		 sum = 0;

	setup(NULL);
	in = inst_make("r1");
	c.hist[0] = 1;		/* <= 1us */
	c.hist[9] = 2;		/* <= 512us */
	c.hist[10] = 5;		/* <= 1024us: the first slot */
	c.hist[11] = 7;		/* <= 2048us */
	c.hist[12] = 11;	/* <= 4096us: 2-5ms */
	c.hist[13] = 13;	/* <= 8192us: 5-10ms */
	c.hist[14] = 17;	/* <= 16384us: 10-50ms */
	c.hist[16] = 19;	/* <= 65536us: 10-50ms */
	c.hist[17] = 23;	/* <= 131072us: 50-100ms */
	c.hist[18] = 29;	/* >= 100ms */
	c.hist[19] = 31;
	for (i = 0; i < 20; i++)
		c.calls += c.hist[i];
	c.usec = 123456;
	ingest_cmds(in, t, &c, 1, "latency-histogram");

	j = ok(in, "latency-dist", "span=realtime", t);
	CU_ASSERT_EQUAL(nitems_of(j), 7);
	for (i = 0; i < nitems(labels); i++) {
		e = item(j, i);
		CU_ASSERT_STRING_EQUAL(str(e, "ladder"), labels[i]);
		CU_ASSERT_EQUAL(num(e, "size"), (long long)want[i]);
		sum += (uint64_t)num(e, "size");
	}
	CU_ASSERT_EQUAL(sum, c.calls);
	CU_ASSERT_EQUAL(num(j, "calls"), (long long)c.calls);
	CU_ASSERT_STRING_EQUAL(str(j, "source"), "latency-histogram");
	e = json_object_get(j, "edges_us");
	CU_ASSERT_EQUAL(json_array_size(e), 6);
	CU_ASSERT_EQUAL(json_integer_value(json_array_get(e, 2)), 4227);
	CU_ASSERT_EQUAL(json_integer_value(json_array_get(e, 4)), 67633);
	e = json_object_get(j, "configured_edges_us");
	CU_ASSERT_EQUAL(json_integer_value(json_array_get(e, 4)), 50000);
	json_decref(j);
	/* Per command, and a command never seen. */
	j = ok(in, "latency-dist", "span=30m&cmd=GET", t);
	CU_ASSERT_EQUAL(num(j, "calls"), (long long)c.calls);
	CU_ASSERT_STRING_EQUAL(str(j, "cmd"), "get");
	json_decref(j);
	j = ok(in, "latency-dist", "span=30m&cmd=set", t);
	CU_ASSERT_EQUAL(num(j, "calls"), 0);
	CU_ASSERT_EQUAL(nitems_of(j), 7);
	json_decref(j);
	inst_free(in);
	teardown();
}

static void
check_top(struct instance *in, const char *qs, int64_t now,
    const char *const *cmds, const long long *v, size_t n)
{
	json_t	*j = ok(in, "top-commands", qs, now);
	size_t	 i;
	int	 time = tu_has(qs, "by=time");

	if (nitems_of(j) != n) {
		fprintf(stderr, "\n  %s: %zu items, want %zu", qs,
		    nitems_of(j), n);
		CU_FAIL("wrong number of items");
	}
	for (i = 0; i < n && i < nitems_of(j); i++) {
		CU_ASSERT_STRING_EQUAL(str(item(j, i), "cmd"), cmds[i]);
		CU_ASSERT_EQUAL(num(item(j, i), time ? "took" : "count"), v[i]);
	}
	CU_ASSERT_STRING_EQUAL(str(j, "unit"), time ? "us" : "calls");
	json_decref(j);
}

static void
test_top_commands(void)
{
	struct instance	*in;
	int64_t		 t = base_time(), now = t + 60000;
	json_t		*j;

	setup(NULL);
	in = inst_make("r1");
	/* Eight hours back: only in 24h. */
	ingest_cmds(in, t - 8 * HOUR, (struct cmdspec[]){
	    { "del", 1000, 1000, 0, 0, { 0 } } }, 1, "latency-histogram");
	/* 40 minutes back: in 6h and 24h, not 30m. */
	ingest_cmds(in, t - 40 * 60000, (struct cmdspec[]){
	    { "get", 1, 1, 0, 0, { 0 } } }, 1, "latency-histogram");
	/* The same five minutes. */
	ingest_cmds(in, t - 5000, (struct cmdspec[]){
	    { "get", 100, 200, 0, 0, { 0 } },
	    { "incr", 50, 5000, 2, 0, { 0 } } }, 2, "latency-histogram");
	ingest_cmds(in, t, (struct cmdspec[]){
	    { "GET", 10, 20, 0, 0, { 0 } },
	    { "incr", 80, 400, 0, 0, { 0 } } }, 2, "latency-histogram");

	check_top(in, "span=realtime", now, (const char *[]){ "incr", "get" },
	    (long long[]){ 80, 10 }, 2);
	check_top(in, NULL, now, (const char *[]){ "incr", "get" },
	    (long long[]){ 130, 110 }, 2);
	check_top(in, "span=30m&by=time", now, (const char *[]){ "incr",
	    "get" }, (long long[]){ 5400, 220 }, 2);
	check_top(in, "span=6h", now, (const char *[]){ "incr", "get" },
	    (long long[]){ 130, 111 }, 2);
	check_top(in, "span=24h", now, (const char *[]){ "del", "incr",
	    "get" }, (long long[]){ 1000, 130, 111 }, 3);
	check_top(in, "span=24h&limit=1", now, (const char *[]){ "del" },
	    (long long[]){ 1000 }, 1);
	check_top(in, "span=24h&by=time&limit=2", now, (const char *[]){
	    "incr", "del" }, (long long[]){ 5400, 1000 }, 2);
	/* Later on, the 30m span no longer holds them. */
	check_top(in, "span=30m", now + HOUR, NULL, NULL, 0);

	j = ok(in, "top-commands", "span=realtime", now);
	CU_ASSERT_STRING_EQUAL(str(j, "span"), "realtime");
	CU_ASSERT_STRING_EQUAL(str(j, "by"), "count");
	/* The realtime deltas cover the previous sample to this one. */
	{
		int64_t from, to;

		CU_ASSERT(parse_time_ms(str(j, "from"), &from) == 0);
		CU_ASSERT(parse_time_ms(str(j, "to"), &to) == 0);
		CU_ASSERT_EQUAL(from, t - 5000);
		CU_ASSERT_EQUAL(to, t);
	}
	json_decref(j);

	/* Bad parameters, each named. */
	refused(in, "top-commands", "span=1h", "span", now);
	refused(in, "top-commands", "by=calls", "by", now);
	refused(in, "top-commands", "limit=0", "limit", now);
	refused(in, "top-commands", "limit=x", "limit", now);
	refused(in, "latency-dist", "cmd=a%20b", "cmd", now);
	refused(in, "latency-dist", "span=7d", "span", now);
	refused(in, "hotkeys", "span=", "span", now);
	inst_free(in);
	teardown();
}

/* The calls always equal the ladder's sizes, however the agent counted. */
static void
test_calls_equal_ladder(void)
{
	struct instance		*in;
	struct analytics_cmd	 c;
	int64_t			 t = base_time();
	json_t			*j;
	size_t			 k;
	int			 i, found = 0;
	uint64_t		 sum;

	setup(NULL);
	in = inst_make("r1");
	/* The histogram counts 120 calls, commandstats 100 (the agent's own). */
	ingest_cmds(in, t - 1000, (struct cmdspec[]){
	    { "get", 100, 5000, 0, 13, { [10] = 60, [11] = 30, [12] = 30 } } },
	    1, "latency-histogram");
	j = ok(in, "latency-dist", "span=realtime", t);
	CU_ASSERT_EQUAL(num(j, "calls"), 100);
	CU_ASSERT_EQUAL(num(item(j, 0), "size"), 50);
	CU_ASSERT_EQUAL(num(item(j, 1), "size"), 25);
	CU_ASSERT_EQUAL(num(item(j, 2), "size"), 25);
	json_decref(j);
	/* Rounding: 3 calls over 3 equal slots of 10 each... 7 calls. */
	ingest_cmds(in, t - 500, (struct cmdspec[]){
	    { "get", 7, 70, 0, 13, { [10] = 10, [11] = 10, [12] = 10 } } },
	    1, "latency-histogram");
	j = ok(in, "latency-dist", "span=realtime", t);
	CU_ASSERT_EQUAL(num(j, "calls"), 7);
	CU_ASSERT_EQUAL(num(item(j, 0), "size") + num(item(j, 1), "size") +
	    num(item(j, 2), "size"), 7);
	CU_ASSERT(num(item(j, 0), "size") >= 2 && num(item(j, 0), "size") <= 3);
	json_decref(j);
	/* No histogram (Redis 6): the mean, 3000us, is in 2-5ms. */
	ingest_cmds(in, t, (struct cmdspec[]){
	    { "set", 10, 30000, 1, 0, { 0 } } }, 1, "commandstats-mean");
	j = ok(in, "latency-dist", "span=realtime", t);
	CU_ASSERT_STRING_EQUAL(str(j, "source"), "commandstats-mean");
	CU_ASSERT_EQUAL(num(item(j, 2), "size"), 10);
	CU_ASSERT_EQUAL(num(j, "calls"), 10);
	json_decref(j);
	j = ok(in, "latency-dist", "span=30m", t);
	CU_ASSERT_STRING_EQUAL(str(j, "source"), "mixed");
	CU_ASSERT_EQUAL(num(j, "calls"), 117);
	json_decref(j);
	j = ok(in, "top-commands", "span=30m", t);
	CU_ASSERT_EQUAL(num(j, "calls"), 117);
	json_decref(j);

	/* The cumulative figures of /metrics: calls equal the ladder too. */
	for (k = 0; analytics_cmd(in, k, &c) == 0; k++) {
		for (i = 0, sum = 0; i <= 6; i++)
			sum += c.ladder[i];
		CU_ASSERT_EQUAL(sum, c.calls);
		if (strcmp(c.cmd, "get") == 0) {
			CU_ASSERT_EQUAL(c.calls, 107);
			CU_ASSERT_EQUAL(c.usec, 5070);
			found++;
		}
		if (strcmp(c.cmd, "set") == 0) {
			CU_ASSERT_EQUAL(c.failed, 1);
			found++;
		}
	}
	CU_ASSERT_EQUAL(found, 2);
	inst_free(in);
	teardown();
}

/* Past 128 commands in a bucket, the rest is "(other)". */
static void
test_other(void)
{
	struct cmdspec	 c[140];
	struct instance	*in;
	char		 names[140][16];
	int64_t		 t = base_time();
	json_t		*j;
	int		 i;

	setup(NULL);
	in = inst_make("r1");
	memset(c, 0, sizeof(c));
	for (i = 0; i < 140; i++) {
		snprintf(names[i], sizeof(names[i]), "cmd%03d", i);
		c[i].cmd = names[i];
		c[i].calls = 1000 - i;
		c[i].usec = 1;
	}
	ingest_cmds(in, t, c, 140, "latency-histogram");
	j = ok(in, "top-commands", "span=realtime&limit=1000", t);
	CU_ASSERT_EQUAL(nitems_of(j), 128);
	/* cmd128..cmd139: 872 + ... + 861 */
	CU_ASSERT_EQUAL(num(j, "other"), (872 + 861) * 12 / 2);
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "cmd"), "cmd000");
	json_decref(j);
	j = ok(in, "latency-dist", "span=realtime", t);
	CU_ASSERT_EQUAL(num(j, "calls"), (1000 + 861) * 140 / 2);
	json_decref(j);
	inst_free(in);
	teardown();
}

/* ---- slowlog -------------------------------------------------------------- */

struct slowspec {
	uint64_t	 id;
	int64_t		 time;		/* s */
	uint64_t	 us;
	const char	*args[4];
	const char	*run_id;
};

static void
ingest_slow(struct instance *in, int64_t t, const struct slowspec *s,
    size_t n, uint64_t lost)
{
	Ccnode__InstanceSample	 is;
	Ccnode__SlowlogEntry	 e[32], *pe[32];
	ProtobufCBinaryData	 args[32][4];
	size_t			 i, k;

	CU_ASSERT_FATAL(n <= nitems(e));
	sample_init(&is);
	for (i = 0; i < n; i++) {
		ccnode__slowlog_entry__init(&e[i]);
		e[i].id = s[i].id;
		e[i].time = s[i].time;
		e[i].duration_us = s[i].us;
		e[i].client = (char *)"127.0.0.1:5000";
		if (s[i].run_id != NULL)
			e[i].run_id = (char *)s[i].run_id;
		for (k = 0; k < 4 && s[i].args[k] != NULL; k++) {
			args[i][k].data = (uint8_t *)s[i].args[k];
			args[i][k].len = strlen(s[i].args[k]);
		}
		e[i].args = args[i];
		e[i].n_args = k;
		pe[i] = &e[i];
	}
	is.slowlog = pe;
	is.n_slowlog = n;
	is.slowlog_lost = lost;
	analytics_ingest(M.analytics, in, t, &is);
}

static long long
slow_total(struct instance *in, const char *qs, int64_t now)
{
	json_t		*j = ok(in, "slowlog", qs, now);
	long long	 total = num(j, "total");

	json_decref(j);
	return total;
}

static void
test_slowlog_dedupe(void)
{
	struct instance			*in;
	struct analytics_counts		 c;
	int64_t				 now = wall_ms(), ts = now / 1000 - 60;
	struct slowspec			 s[8];
	int				 i;
	json_t				*j;

	setup(NULL);
	in = inst_make("r1");
	for (i = 0; i < 8; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].id = (uint64_t)(8 - i);	/* newest first, as SLOWLOG GET */
		s[i].time = ts + 8 - i;
		s[i].us = 10000;
		s[i].args[0] = "EVAL";
		s[i].args[1] = "return 1";
		s[i].args[2] = "0";
	}
	/* ids 5..1 */
	ingest_slow(in, now, s + 3, 5, 0);
	CU_ASSERT_EQUAL(slow_total(in, NULL, now), 5);
	/* The same report again (a replay): nothing new. */
	ingest_slow(in, now + 1000, s + 3, 5, 0);
	CU_ASSERT_EQUAL(slow_total(in, NULL, now), 5);
	/* ids 7..4: 7 and 6 are new. */
	ingest_slow(in, now + 2000, s + 1, 4, 0);
	CU_ASSERT_EQUAL(slow_total(in, NULL, now), 7);
	analytics_counts(in, &c);
	CU_ASSERT_EQUAL(c.slowlog_entries, 7);
	CU_ASSERT_EQUAL(c.slowlog_duplicates, 7);

	/* A restart of the monitor: the state comes back from the files. */
	inst_free(in);
	analytics_free(M.analytics);
	M.analytics = analytics_new(&M);
	in = inst_make("r1");
	ingest_slow(in, now + 3000, s, 4, 0);	/* ids 8..5: 8 is new */
	CU_ASSERT_EQUAL(slow_total(in, NULL, now), 8);
	analytics_counts(in, &c);
	CU_ASSERT_EQUAL(c.slowlog_entries, 1);
	CU_ASSERT_EQUAL(c.slowlog_duplicates, 3);
	/* Another run id starts its ids again. */
	s[7].run_id = "run-b";
	ingest_slow(in, now + 4000, s + 7, 1, 0);
	CU_ASSERT_EQUAL(slow_total(in, NULL, now), 9);
	/* A torn tail (a crash mid-write) is cut at the next start. */
	{
		char	*path, name[64];
		FILE	*f;
		time_t	 tt = (time_t)ts;
		struct tm tm;

		localtime_r(&tt, &tm);
		strftime(name, sizeof(name), "r1/slowlog-%Y%m%d.pb", &tm);
		xasprintf(&path, "%s/analytics/%s", dir, name);
		CU_ASSERT_FATAL((f = fopen(path, "a")) != NULL);
		fwrite("\0\0\0\x40xx", 1, 6, f);
		fclose(f);
		inst_free(in);
		analytics_free(M.analytics);
		M.analytics = analytics_new(&M);
		in = inst_make("r1");
		s[0].id = 9;
		ingest_slow(in, now + 5000, s, 1, 0);
		CU_ASSERT_EQUAL(slow_total(in, NULL, now), 10);
		free(path);
	}
	j = ok(in, "slowlog", "limit=1", now);
	CU_ASSERT_EQUAL(num(item(j, 0), "id"), 9);
	json_decref(j);
	inst_free(in);
	teardown();
}

static void
test_slowlog_query(void)
{
	struct instance			*in;
	struct analytics_counts		 c;
	int64_t				 now = wall_ms(), ts = now / 1000;
	char				 qs[256];
	json_t				*j, *e;
	int64_t				 t;

	setup(NULL);
	in = inst_make("r1");
	ingest_slow(in, now - 10000, (struct slowspec[]){
	    { 1, ts - 3 * 3600, 60000, { "GET", "k1" }, NULL },
	    { 2, ts - 2 * 3600, 20000, { "SET", "a key", "v\n\"x\"" }, NULL },
	    { 3, ts - 3600, 90000, { "HGETALL", "caf\xc3\xa9" }, NULL },
	    { 4, ts - 600, 15000, { "DEL", "\xff\x01" }, NULL },
	    { 5, ts - 30 * 3600, 99000, { "KEYS", "*" }, NULL },
	}, 5, 3);
	ingest_slow(in, now - 5000, NULL, 0, 4);

	/* The default: the last 24 h, newest first. */
	j = ok(in, "slowlog", NULL, now);
	CU_ASSERT_EQUAL(num(j, "total"), 4);
	CU_ASSERT_EQUAL(num(j, "lost"), 7);
	CU_ASSERT_EQUAL(nitems_of(j), 4);
	e = item(j, 0);
	CU_ASSERT_EQUAL(num(e, "id"), 4);
	CU_ASSERT_EQUAL(num(e, "duration"), 15000);
	CU_ASSERT_STRING_EQUAL(str(e, "command"), "DEL");
	CU_ASSERT_STRING_EQUAL(str(e, "commandline"), "DEL \"\\xff\\x01\"");
	CU_ASSERT_STRING_EQUAL(str(e, "client"), "127.0.0.1:5000");
	CU_ASSERT(parse_time_ms(str(e, "executetime"), &t) == 0);
	CU_ASSERT_EQUAL(t, (ts - 600) * 1000);
	CU_ASSERT_STRING_EQUAL(str(item(j, 1), "commandline"),
	    "HGETALL caf\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(str(item(j, 2), "commandline"),
	    "SET \"a key\" \"v\\n\\\"x\\\"\"");
	CU_ASSERT_EQUAL(num(item(j, 3), "id"), 1);
	json_decref(j);

	/* min_us, limit, offset: total counts every match. */
	j = ok(in, "slowlog", "min_us=20000", now);
	CU_ASSERT_EQUAL(num(j, "total"), 3);
	json_decref(j);
	j = ok(in, "slowlog", "limit=2&offset=1", now);
	CU_ASSERT_EQUAL(num(j, "total"), 4);
	CU_ASSERT_EQUAL(nitems_of(j), 2);
	CU_ASSERT_EQUAL(num(item(j, 0), "id"), 3);
	CU_ASSERT_EQUAL(num(item(j, 1), "id"), 2);
	json_decref(j);
	j = ok(in, "slowlog", "offset=10", now);
	CU_ASSERT_EQUAL(num(j, "total"), 4);
	CU_ASSERT_EQUAL(nitems_of(j), 0);
	json_decref(j);
	/* begin and end, in Unix seconds or RFC 3339. */
	snprintf(qs, sizeof(qs), "begin=%lld&end=%lld", (long long)ts - 26 *
	    3600, (long long)ts - 2 * 3600);
	j = ok(in, "slowlog", qs, now);
	CU_ASSERT_EQUAL(num(j, "total"), 2);	/* ids 1, 2: end is in */
	CU_ASSERT_EQUAL(num(item(j, 0), "id"), 2);
	CU_ASSERT_EQUAL(num(item(j, 1), "id"), 1);
	CU_ASSERT_EQUAL(num(j, "lost"), 0);
	json_decref(j);
	{
		char	 b[40];
		time_t	 tt = (time_t)(ts - 3600);
		struct tm tm;

		gmtime_r(&tt, &tm);
		strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(qs, sizeof(qs), "begin=%s", b);
		j = ok(in, "slowlog", qs, now);
		CU_ASSERT_EQUAL(num(j, "total"), 2);	/* ids 3, 4 */
		json_decref(j);
	}
	snprintf(qs, sizeof(qs), "begin=%lld", (long long)ts - 40 * 3600);
	CU_ASSERT_EQUAL(slow_total(in, qs, now), 1);	/* id 5 */

	refused(in, "slowlog", "begin=yesterday", "begin", now);
	refused(in, "slowlog", "end=x", "end", now);
	snprintf(qs, sizeof(qs), "begin=%lld&end=%lld", (long long)ts - 90000,
	    (long long)ts);
	refused(in, "slowlog", qs, "end", now);
	snprintf(qs, sizeof(qs), "begin=%lld&end=%lld", (long long)ts,
	    (long long)ts - 10);
	refused(in, "slowlog", qs, "begin", now);
	refused(in, "slowlog", "limit=0", "limit", now);
	refused(in, "slowlog", "limit=10001", "limit", now);
	refused(in, "slowlog", "offset=-1", "offset", now);
	refused(in, "slowlog", "min_us=1ms", "min_us", now);
	j = ok(in, "slowlog", "limit=10000", now);
	json_decref(j);

	analytics_counts(in, &c);
	CU_ASSERT_EQUAL(c.slowlog_lost, 7);
	CU_ASSERT_EQUAL(c.slowlog_entries, 5);
	/* 4 new after the first sample, 5 s apart: (0 + 4) / 5 s. */
	CU_ASSERT_DOUBLE_EQUAL(analytics_slowlog_rate(in), 0.8, 1e-9);
	/* A lost count resent, before and after a restart, counts once. */
	ingest_slow(in, now - 5000, NULL, 0, 4);
	CU_ASSERT_EQUAL(num(j = ok(in, "slowlog", NULL, now), "lost"), 7);
	json_decref(j);
	inst_free(in);
	analytics_free(M.analytics);
	M.analytics = analytics_new(&M);
	in = inst_make("r1");
	ingest_slow(in, now - 5000, NULL, 0, 4);
	ingest_slow(in, now - 10000, NULL, 0, 3);
	CU_ASSERT_EQUAL(num(j = ok(in, "slowlog", NULL, now), "lost"), 7);
	json_decref(j);
	ingest_slow(in, now - 1000, NULL, 0, 1);
	CU_ASSERT_EQUAL(num(j = ok(in, "slowlog", NULL, now), "lost"), 8);
	json_decref(j);
	analytics_counts(in, &c);
	CU_ASSERT_EQUAL(c.slowlog_lost, 1);
	inst_free(in);
	teardown();
}

static void
test_slowlog_redact(void)
{
	struct instance	*in;
	int64_t		 now = wall_ms(), ts = now / 1000;
	json_t		*j;

	setup("slowlog-redact-args yes\n");
	in = inst_make("r1");
	ingest_slow(in, now, (struct slowspec[]){
	    { 1, ts - 10, 60000, { "SET", "key", "value" }, NULL },
	    { 2, ts - 5, 60000, { "MSET", "k", "... (30 more arguments)" },
	      NULL },
	}, 2, 0);
	j = ok(in, "slowlog", NULL, now);
	CU_ASSERT_STRING_EQUAL(str(item(j, 1), "commandline"),
	    "SET (3 bytes) (5 bytes)");
	CU_ASSERT_STRING_EQUAL(str(item(j, 1), "command"), "SET");
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "commandline"),
	    "MSET (1 bytes) \"... (30 more arguments)\"");
	CU_ASSERT(json_is_true(json_object_get(j, "redacted")));
	json_decref(j);
	inst_free(in);
	teardown();
}

/* A day holds at most 100,000 entries: more are dropped and counted. */
static void
test_slowlog_cap(void)
{
	struct instance			*in;
	struct analytics_counts		 c;
	Ccnode__SlowlogEntry		 e;
	int64_t				 now = wall_ms(), ts = now / 1000 - 30;
	uint8_t				 rec[256];
	char				*path, name[64];
	size_t				 len;
	time_t				 tt = (time_t)ts;
	struct tm			 tm;
	FILE				*f;
	int				 i;

	setup(NULL);
	localtime_r(&tt, &tm);
	strftime(name, sizeof(name), "slowlog-%Y%m%d.pb", &tm);
	xasprintf(&path, "%s/analytics/r1", dir);
	CU_ASSERT_FATAL(mkdir_p(path, 0700) == 0);
	free(path);
	xasprintf(&path, "%s/analytics/r1/%s", dir, name);
	CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
	ccnode__slowlog_entry__init(&e);
	e.time = ts;
	e.run_id = (char *)"old-run";
	for (i = 0; i < 100000; i++) {
		e.id = (uint64_t)i;
		len = ccnode__slowlog_entry__pack(&e, rec + 4);
		rec[0] = rec[1] = rec[2] = 0;
		rec[3] = (uint8_t)len;
		fwrite(rec, 1, len + 4, f);
	}
	fclose(f);
	free(path);
	in = inst_make("r1");
	ingest_slow(in, now, (struct slowspec[]){
	    { 7, ts, 60000, { "GET", "k" }, NULL } }, 1, 0);
	analytics_counts(in, &c);
	CU_ASSERT_EQUAL(c.slowlog_dropped, 1);
	CU_ASSERT_EQUAL(c.slowlog_entries, 0);
	CU_ASSERT_EQUAL(slow_total(in, NULL, now), 100000);
	inst_free(in);
	teardown();
}

/* ---- big keys ------------------------------------------------------------- */

static void
ingest_scan(struct instance *in, int64_t fin, int complete, uint64_t keys)
{
	Ccnode__InstanceSample	 is;
	Ccnode__BigKeyScan	 s;
	Ccnode__BigKey		 k[5], *pk[5], top[4], *ptop[4];
	Ccnode__TypeCount	 tc[2], *ptc[2];
	static uint64_t		 edges[] = { 1024, 10240, 10485760 };
	static uint64_t		 counts[] = { 900, 80, 19, 1 };
	static const char	*types[] = { "string", "list", "hash", "string",
	    "zset" };
	static const char	*names[] = { "big\nstring", "l1", "h1", "s2",
	    "z\xfe" };
	int			 i;

	sample_init(&is);
	ccnode__big_key_scan__init(&s);
	s.scanned = (char *)"r1";
	s.started_ms = fin - 60000;
	s.finished_ms = fin;
	s.complete = complete;
	s.reason = (char *)(complete ? "schedule" : "server restarted");
	s.keys = keys;
	s.string_limit = 10485760;
	s.elements_limit = 10000;
	for (i = 0; i < 5; i++) {
		ccnode__big_key__init(&k[i]);
		k[i].db = (uint32_t)i % 2;
		k[i].key.data = (uint8_t *)names[i];
		k[i].key.len = strlen(names[i]);
		k[i].type = (char *)types[i];
		k[i].size = 20000000 - (uint64_t)i;
		k[i].elements = 20000;
		pk[i] = &k[i];
	}
	s.over = pk;
	s.n_over = 5;
	for (i = 0; i < 4; i++) {
		top[i] = k[i < 2 ? 0 : 3];
		top[i].type = (char *)(i < 3 ? "string" : "list");
		top[i].size = 100 - (uint64_t)i;
		ptop[i] = &top[i];
	}
	s.top = ptop;
	s.n_top = 4;
	s.top_n = 3;
	ccnode__type_count__init(&tc[0]);
	tc[0].type = (char *)"string";
	tc[0].count = 990;
	tc[0].size = 123456789;
	ccnode__type_count__init(&tc[1]);
	tc[1].type = (char *)"list";
	tc[1].count = 10;
	tc[1].size = 999;
	ptc[0] = &tc[0];
	ptc[1] = &tc[1];
	s.types = ptc;
	s.n_types = 2;
	s.size_edges = edges;
	s.n_size_edges = 3;
	s.size_counts = counts;
	s.n_size_counts = 4;
	is.bigkeys = &s;
	analytics_ingest(M.analytics, in, fin, &is);
}

static void
test_bigkeys(void)
{
	struct instance	*in;
	int64_t		 now = wall_ms();
	int64_t		 d1 = now - now % DAY + 12 * HOUR - 3 * DAY;
	int64_t		 d2 = d1 + DAY;
	char		 qs[64], date1[16], date2[16];
	json_t		*j;
	time_t		 tt;
	struct tm	 tm;

	setup(NULL);
	in = inst_make("r1");
	tt = (time_t)(d1 / 1000);
	localtime_r(&tt, &tm);
	strftime(date1, sizeof(date1), "%Y%m%d", &tm);
	tt = (time_t)(d2 / 1000);
	localtime_r(&tt, &tm);
	strftime(date2, sizeof(date2), "%Y%m%d", &tm);

	ingest_scan(in, d1, 1, 1000);
	ingest_scan(in, d1 + HOUR, 0, 5);	/* partial: kept out */
	ingest_scan(in, d2, 0, 6);		/* partial: the only one */
	snprintf(qs, sizeof(qs), "date=%s", date1);
	j = ok(in, "bigkeys", qs, now);
	CU_ASSERT(json_is_true(json_object_get(j, "complete")));
	CU_ASSERT_EQUAL(num(j, "keys"), 1000);
	CU_ASSERT_EQUAL(nitems_of(j), 5);
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "key"), "big\nstring");
	CU_ASSERT_STRING_EQUAL(str(item(j, 4), "key"), "z\\xfe");
	CU_ASSERT_EQUAL(num(item(j, 0), "size"), 20000000);
	CU_ASSERT_EQUAL(num(item(j, 0), "elements"), 20000);
	CU_ASSERT_STRING_EQUAL(str(item(j, 1), "type"), "list");
	CU_ASSERT_PTR_NOT_NULL(str(item(j, 0), "updatetime"));
	CU_ASSERT_EQUAL(num(json_object_get(j, "limits"), "string_bytes"),
	    10485760);
	json_decref(j);
	snprintf(qs, sizeof(qs), "date=%s&type=string", date1);
	j = ok(in, "bigkeys", qs, now);
	CU_ASSERT_EQUAL(nitems_of(j), 2);
	CU_ASSERT_STRING_EQUAL(str(item(j, 1), "key"), "s2");
	json_decref(j);
	snprintf(qs, sizeof(qs), "date=%s&top=2", date1);
	j = ok(in, "bigkeys", qs, now);
	CU_ASSERT_EQUAL(nitems_of(j), 3);	/* 2 strings, 1 list */
	CU_ASSERT_EQUAL(num(item(j, 0), "size"), 100);
	CU_ASSERT_EQUAL(num(item(j, 1), "size"), 99);
	CU_ASSERT_STRING_EQUAL(str(item(j, 2), "type"), "list");
	json_decref(j);
	snprintf(qs, sizeof(qs), "date=%s&top=4", date1);
	refused(in, "bigkeys", qs, "top", now);

	snprintf(qs, sizeof(qs), "date=%s", date2);
	j = ok(in, "bigkeys", qs, now);
	CU_ASSERT(json_is_false(json_object_get(j, "complete")));
	CU_ASSERT_EQUAL(num(j, "keys"), 6);
	CU_ASSERT_STRING_EQUAL(str(j, "reason"), "server restarted");
	json_decref(j);
	/* A complete scan replaces the partial one. */
	ingest_scan(in, d2 + HOUR, 1, 2000);
	j = ok(in, "bigkeys", qs, now);
	CU_ASSERT(json_is_true(json_object_get(j, "complete")));
	CU_ASSERT_EQUAL(num(j, "keys"), 2000);
	json_decref(j);
	/* An older complete scan of the same date does not. */
	ingest_scan(in, d2, 1, 3000);
	j = ok(in, "bigkeys", qs, now);
	CU_ASSERT_EQUAL(num(j, "keys"), 2000);
	json_decref(j);

	j = ok(in, "bigkeys/size-dist", qs, now);
	CU_ASSERT_EQUAL(nitems_of(j), 4);
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "ladder"), "<1KB");
	CU_ASSERT_STRING_EQUAL(str(item(j, 1), "ladder"), "1KB-10KB");
	CU_ASSERT_STRING_EQUAL(str(item(j, 2), "ladder"), "10KB-10MB");
	CU_ASSERT_STRING_EQUAL(str(item(j, 3), "ladder"), ">=10MB");
	CU_ASSERT_EQUAL(num(item(j, 0), "size"), 900);
	json_decref(j);
	j = ok(in, "bigkeys/type-dist", qs, now);
	CU_ASSERT_EQUAL(nitems_of(j), 2);
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "type"), "string");
	CU_ASSERT_EQUAL(num(item(j, 0), "count"), 990);
	CU_ASSERT_EQUAL(num(item(j, 0), "size"), 123456789);
	CU_ASSERT_PTR_NOT_NULL(str(item(j, 0), "updatetime"));
	json_decref(j);
	/* A date without a scan; today by default. */
	j = ok(in, "bigkeys", NULL, now);
	CU_ASSERT_EQUAL(nitems_of(j), 0);
	CU_ASSERT(json_is_false(json_object_get(j, "found")));
	json_decref(j);
	refused(in, "bigkeys", "date=20250231", "date", now);
	refused(in, "bigkeys", "date=2025-01-01", "date", now);
	refused(in, "bigkeys/size-dist", "date=1", "date", now);
	refused(in, "bigkeys", "type=hash", "type", now);
	refused(in, "bigkeys", "top=0", "top", now);
	inst_free(in);
	teardown();
}

/* Whatever the histograms say, each command's ladder adds up to its calls. */
static void
test_ladder_random(void)
{
	static const char *const cmds[] = { "get", "set", "hget", "eval" };
	struct instance	*in;
	struct cmdspec	 c[4];
	uint32_t	 seed = 99;
	int64_t		 t = base_time();
	char		 qs[64];
	int		 round, k, i;
	json_t		*top, *lat;

	setup(NULL);
	in = inst_make("r1");
	for (round = 0; round < 300; round++) {
		memset(c, 0, sizeof(c));
		for (k = 0; k < 4; k++) {
			c[k].cmd = cmds[k];
			seed = seed * 1103515245 + 12345;
			c[k].calls = (seed >> 16) % 5000;
			c[k].usec = c[k].calls * ((seed >> 8) % 300);
			c[k].nhist = round % 3 == 0 ? 0 : 20;
			for (i = 0; i < (int)c[k].nhist; i++) {
				seed = seed * 1103515245 + 12345;
				c[k].hist[i] = (seed >> 20) % 700;
			}
		}
		ingest_cmds(in, t - 290000 + round * 900, c, 4,
		    "latency-histogram");
	}
	top = ok(in, "top-commands", "span=30m", t);
	for (k = 0; k < 4; k++) {
		json_t *e = NULL;

		for (i = 0; i < (int)nitems_of(top); i++)
			if (strcmp(str(item(top, (size_t)i), "cmd"), cmds[k]) == 0)
				e = item(top, (size_t)i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		snprintf(qs, sizeof(qs), "span=30m&cmd=%s", cmds[k]);
		lat = ok(in, "latency-dist", qs, t);
		CU_ASSERT_EQUAL(num(lat, "calls"), num(e, "count"));
		CU_ASSERT_STRING_EQUAL(str(lat, "source"), "mixed");
		json_decref(lat);
	}
	lat = ok(in, "latency-dist", "span=30m", t);
	CU_ASSERT_EQUAL(num(lat, "calls"), num(top, "calls"));
	json_decref(lat);
	json_decref(top);
	inst_free(in);
	teardown();
}

/* ---- hot keys ------------------------------------------------------------- */

struct hotspec {
	const char	*key;
	uint64_t	 count;
	const char	*type;
};

static void
ingest_hot(struct instance *in, int64_t start, const struct hotspec *h,
    size_t n, const struct hotspec *lfu, size_t nlfu)
{
	Ccnode__InstanceSample	 is;
	Ccnode__HotKeys		 hk;
	Ccnode__HotKey		 k[200], *pk[200], l[8], *pl[8];
	size_t			 i;

	CU_ASSERT_FATAL(n <= nitems(k) && nlfu <= nitems(l));
	sample_init(&is);
	ccnode__hot_keys__init(&hk);
	hk.source = (char *)"monitor";
	hk.start_ms = start;
	hk.window_ms = 1000;
	hk.period_ms = 10000;
	hk.lines = 5000;
	hk.unparsed = 2;
	for (i = 0; i < n; i++) {
		ccnode__hot_key__init(&k[i]);
		k[i].key.data = (uint8_t *)h[i].key;
		k[i].key.len = strlen(h[i].key);
		k[i].count = h[i].count;
		k[i].type = (char *)(h[i].type ? h[i].type : "");
		pk[i] = &k[i];
	}
	for (i = 0; i < nlfu; i++) {
		ccnode__hot_key__init(&l[i]);
		l[i].key.data = (uint8_t *)lfu[i].key;
		l[i].key.len = strlen(lfu[i].key);
		l[i].count = lfu[i].count;
		pl[i] = &l[i];
	}
	hk.keys = pk;
	hk.n_keys = n;
	hk.lfu = pl;
	hk.n_lfu = nlfu;
	is.hotkeys = &hk;
	analytics_ingest(M.analytics, in, start + 1000, &is);
}

static void
test_hotkeys(void)
{
	struct instance	*in;
	int64_t		 t = base_time(), now = t + 5000;
	struct hotspec	 many[200];
	char		 names[200][16];
	json_t		*j;
	int		 i;

	setup(NULL);
	in = inst_make("r1");
	ingest_hot(in, t - 2 * HOUR, (struct hotspec[]){ { "old", 5000, NULL } },
	    1, NULL, 0);
	ingest_hot(in, t - 20000, (struct hotspec[]){
	    { "k1", 100, "string" }, { "k2", 50, NULL } }, 2, NULL, 0);
	ingest_hot(in, t - 10000, (struct hotspec[]){
	    { "k2", 80, "hash" }, { "k3", 10, NULL }, { "bin\xff", 7, "set" } },
	    3, (struct hotspec[]){ { "lfu1", 255, NULL } }, 1);

	j = ok(in, "hotkeys", "span=realtime", now);
	CU_ASSERT(json_is_true(json_object_get(j, "estimate")));
	CU_ASSERT_STRING_EQUAL(str(j, "source"), "monitor");
	CU_ASSERT_EQUAL(nitems_of(j), 3);
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "key"), "k2");
	CU_ASSERT_EQUAL(num(item(j, 0), "count"), 80);
	CU_ASSERT_STRING_EQUAL(str(item(j, 2), "key"), "bin\\xff");
	CU_ASSERT_STRING_EQUAL(str(item(j, 2), "type"), "set");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "lfu")), 1);
	CU_ASSERT_EQUAL(num(j, "window_ms"), 1000);
	json_decref(j);

	/* 30m merges the windows: k2 50 + 80. */
	j = ok(in, "hotkeys", NULL, now);
	CU_ASSERT_STRING_EQUAL(str(j, "span"), "30m");
	CU_ASSERT_EQUAL(nitems_of(j), 4);
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "key"), "k2");
	CU_ASSERT_EQUAL(num(item(j, 0), "count"), 130);
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "type"), "hash");
	CU_ASSERT_STRING_EQUAL(str(item(j, 1), "key"), "k1");
	json_decref(j);
	j = ok(in, "hotkeys", "span=24h&limit=2", now);
	CU_ASSERT_EQUAL(nitems_of(j), 2);
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "key"), "old");
	json_decref(j);
	j = ok(in, "hotkeys", "span=6h", now);
	CU_ASSERT_EQUAL(nitems_of(j), 5);
	json_decref(j);

	/* A summary keeps the 100 highest. */
	for (i = 0; i < 200; i++) {
		snprintf(names[i], sizeof(names[i]), "m%03d", i);
		many[i].key = names[i];
		many[i].count = 1000 + (uint64_t)i;
		many[i].type = NULL;
	}
	ingest_hot(in, t - 5000, many, 100, NULL, 0);
	ingest_hot(in, t - 4000, many + 100, 100, NULL, 0);
	j = ok(in, "hotkeys", "span=30m", now);
	CU_ASSERT_EQUAL(nitems_of(j), 100);
	CU_ASSERT_STRING_EQUAL(str(item(j, 0), "key"), "m199");
	CU_ASSERT_STRING_EQUAL(str(item(j, 99), "key"), "m100");
	json_decref(j);
	refused(in, "hotkeys", "limit=101", "limit", now);
	inst_free(in);
	teardown();
}

/* ---- sources, proxy, rate ------------------------------------------------- */

static void
test_sources_proxy(void)
{
	struct instance			*in;
	Ccnode__InstanceSample		 is;
	Ccnode__SourceStatus		 src, *psrc = &src;
	Ccnode__ProxyDetail		 pd;
	Ccnode__ProxyServer		 ps, *pps = &ps;
	const struct proxy_detail	*p;
	int64_t				 t = base_time();
	json_t				*o, *u;

	setup(NULL);
	in = inst_make("p1");
	sample_init(&is);
	is.kind = (char *)"interface";
	ccnode__source_status__init(&src);
	src.source = (char *)"slowlog";
	src.reason = (char *)"unknown command (renamed?)";
	is.sources = &psrc;
	is.n_sources = 1;
	ccnode__proxy_detail__init(&pd);
	pd.client_connections = 12;
	pd.requests = 1000;
	pd.responses = 999;
	pd.client_err = 3;
	ccnode__proxy_server__init(&ps);
	ps.pool = (char *)"alpha";
	ps.name = (char *)"127.0.0.1:6379:1";
	ps.requests = 1000;
	ps.errors = 4;
	ps.ejected = 1;
	pd.servers = &pps;
	pd.n_servers = 1;
	is.proxy = &pd;
	analytics_ingest(M.analytics, in, t, &is);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p = analytics_proxy(in));
	CU_ASSERT_EQUAL(p->nservers, 1);
	CU_ASSERT_STRING_EQUAL(p->servers[0].pool, "alpha");
	CU_ASSERT_EQUAL(p->servers[0].ejected, 1);
	o = json_object();
	analytics_instance_json(in, o, 1);
	CU_ASSERT_EQUAL(num(json_object_get(o, "proxy"), "client_connections"),
	    12);
	CU_ASSERT_EQUAL(num(json_array_get(json_object_get(json_object_get(o,
	    "proxy"), "servers"), 0), "errors"), 4);
	u = json_object_get(json_object_get(o, "analytics"), "unavailable");
	CU_ASSERT_EQUAL(json_array_size(u), 1);
	CU_ASSERT_STRING_EQUAL(str(json_array_get(u, 0), "source"), "slowlog");
	CU_ASSERT_STRING_EQUAL(str(json_array_get(u, 0), "reason"),
	    "unknown command (renamed?)");
	json_decref(o);
	/* Not fresh: no stale proxy figures. */
	o = json_object();
	analytics_instance_json(in, o, 0);
	CU_ASSERT_PTR_NULL(json_object_get(o, "proxy"));
	json_decref(o);
	/* The next sample without sources: all available again. */
	is.n_sources = 0;
	analytics_ingest(M.analytics, in, t + 1000, &is);
	CU_ASSERT_EQUAL(analytics_source(in, 0, NULL, NULL), 0);
	inst_free(in);
	teardown();
}

/* ---- retention ------------------------------------------------------------ */

static void
touch(const char *rel)
{
	char *path;

	xasprintf(&path, "%s/analytics/%s", dir, rel);
	tu_write(path, "x", 1, 0600);
	free(path);
}

static int
exists(const char *rel)
{
	char	*path;
	int	 rv;

	xasprintf(&path, "%s/analytics/%s", dir, rel);
	rv = access(path, F_OK) == 0;
	free(path);
	return rv;
}

static void
test_retention(void)
{
	int64_t	 now = wall_ms();
	char	 d0[16], d8[16], d29[16], d31[16], rel[64];
	time_t	 tt;
	struct tm tm;
	char	*path;

	setup(NULL);
	xasprintf(&path, "%s/analytics/r1", dir);
	CU_ASSERT_FATAL(mkdir_p(path, 0700) == 0);
	free(path);
#define DATE(buf, days) do {						\
	tt = (time_t)((now - (int64_t)(days) * DAY) / 1000);		\
	localtime_r(&tt, &tm);						\
	strftime(buf, sizeof(buf), "%Y%m%d", &tm);			\
} while (0)
	DATE(d0, 0);
	DATE(d8, 8);
	DATE(d29, 29);
	DATE(d31, 31);
#undef DATE
#define F(fmt, d) (snprintf(rel, sizeof(rel), fmt, d), rel)
	touch(F("r1/slowlog-%s.pb", d0));
	touch(F("r1/slowlog-%s.lost", d0));
	touch(F("r1/slowlog-%s.pb", d8));
	touch(F("r1/slowlog-%s.lost", d8));
	touch(F("r1/bigkeys-%s.pb", d29));
	touch(F("r1/bigkeys-%s.pb", d31));
	touch("r1/unrelated");
	analytics_sweep(M.analytics, now);
	CU_ASSERT(exists(F("r1/slowlog-%s.pb", d0)));
	CU_ASSERT(exists(F("r1/slowlog-%s.lost", d0)));
	CU_ASSERT(!exists(F("r1/slowlog-%s.pb", d8)));
	CU_ASSERT(!exists(F("r1/slowlog-%s.lost", d8)));
	CU_ASSERT(exists(F("r1/bigkeys-%s.pb", d29)));
	CU_ASSERT(!exists(F("r1/bigkeys-%s.pb", d31)));
	CU_ASSERT(exists("r1/unrelated"));
	/* At start too. */
	touch(F("r1/bigkeys-%s.pb", d31));
	analytics_free(M.analytics);
	M.analytics = analytics_new(&M);
	CU_ASSERT(!exists(F("r1/bigkeys-%s.pb", d31)));
#undef F
	teardown();
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_ladder_conf),
		TU_TEST(test_fold_edges),
		TU_TEST(test_top_commands),
		TU_TEST(test_calls_equal_ladder),
		TU_TEST(test_other),
		TU_TEST(test_slowlog_dedupe),
		TU_TEST(test_slowlog_query),
		TU_TEST(test_slowlog_redact),
		TU_TEST(test_slowlog_cap),
		TU_TEST(test_bigkeys),
		TU_TEST(test_ladder_random),
		TU_TEST(test_hotkeys),
		TU_TEST(test_sources_proxy),
		TU_TEST(test_retention),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return tu_main("analytics", tests, nitems(tests));
}
