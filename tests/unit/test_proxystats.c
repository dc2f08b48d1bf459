/*
 * test_proxystats.c: nutcracker's stats JSON (common/proxystats.c): the
 * backends, their errors, and which are failing between two readings.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "proxystats.h"
#include "testutil.h"

/* Two pools, three servers; errors are server_err + timedout + eof. */
static const char stats1[] =
    "{\"service\":\"nutcracker\", \"source\":\"h\", \"version\":\"0.5.0\", "
    "\"uptime\":5, \"timestamp\":1, \"total_connections\":3, "
    "\"curr_connections\":1, "
    "\"alpha\": {\"client_eof\":0, \"client_err\":0, \"server_ejects\":0, "
    "\"s1\": {\"server_eof\":1, \"server_err\":2, \"server_timedout\":3, "
    "\"requests\":10},"
    "\"s2\": {\"server_eof\":0, \"server_err\":0, \"server_timedout\":0}}, "
    "\"beta\": {\"client_eof\":0, "
    "\"s3\": {\"server_eof\":0, \"server_err\":5, \"server_timedout\":0}}}";

/* s1's errors rose, s2's did not, s3 kept its count. */
static const char stats2[] =
    "{\"service\":\"nutcracker\", "
    "\"alpha\": {\"s1\": {\"server_eof\":1, \"server_err\":9, "
    "\"server_timedout\":3}, \"s2\": {\"server_err\":0}}, "
    "\"beta\": {\"s3\": {\"server_err\":5}}}";

static void
test_counts(void)
{
	struct proxy_stats	 st;
	json_t			*prev, *next;

	prev = proxy_stats_parse(stats1, strlen(stats1), NULL, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(prev);
	CU_ASSERT_EQUAL(st.backends, 3);
	CU_ASSERT_EQUAL(st.errors, 11);
	CU_ASSERT_EQUAL(st.failing, 0);	/* no earlier reading */
	CU_ASSERT_EQUAL(st.client_connections, 1);
	CU_ASSERT_EQUAL(st.total_connections, 3);
	CU_ASSERT_EQUAL(st.requests, 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st.servers);
	CU_ASSERT_STRING_EQUAL(st.servers[0].pool, "alpha");
	CU_ASSERT_STRING_EQUAL(st.servers[0].name, "s1");
	CU_ASSERT_EQUAL(st.servers[0].errors, 6);
	CU_ASSERT_EQUAL(st.servers[0].requests, 10);
	CU_ASSERT_STRING_EQUAL(st.servers[2].name, "s3");
	CU_ASSERT_EQUAL(st.servers[2].errors, 5);
	proxy_stats_clear(&st);

	next = proxy_stats_parse(stats2, strlen(stats2), prev, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	CU_ASSERT_EQUAL(st.backends, 3);
	CU_ASSERT_EQUAL(st.errors, 18);
	CU_ASSERT_EQUAL(st.failing, 1);
	CU_ASSERT_EQUAL(st.servers[0].failing, 1);	/* s1 */
	CU_ASSERT_EQUAL(st.servers[1].failing, 0);
	CU_ASSERT_EQUAL(st.servers[2].failing, 0);
	json_decref(prev);
	proxy_stats_clear(&st);

	/* The same reading again: nothing failing. */
	prev = next;
	next = proxy_stats_parse(stats2, strlen(stats2), prev, &st);
	CU_ASSERT_EQUAL(st.failing, 0);
	proxy_stats_clear(&st);
	json_decref(prev);
	json_decref(next);
}

/* The same server in two pools: each pool's counters on their own. */
static void
test_shared_server(void)
{
	static const char a[] = "{\"service\":\"nutcracker\", "
	    "\"p1\": {\"s\": {\"server_err\": 9}}, "
	    "\"p2\": {\"s\": {\"server_err\": 1}}}";
	static const char b[] = "{\"service\":\"nutcracker\", "
	    "\"p1\": {\"s\": {\"server_err\": 9}}, "
	    "\"p2\": {\"s\": {\"server_err\": 2}}}";
	struct proxy_stats	 st;
	json_t			*prev, *next;

	prev = proxy_stats_parse(a, strlen(a), NULL, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(prev);
	proxy_stats_clear(&st);
	next = proxy_stats_parse(b, strlen(b), prev, &st);
	CU_ASSERT_EQUAL(st.backends, 2);
	CU_ASSERT_EQUAL(st.failing, 1);		/* p2's only */
	proxy_stats_clear(&st);
	json_decref(prev);
	json_decref(next);
}

static void
test_junk(void)
{
	static const char *const junk[] = {
		"", "{", "[]", "null", "{\"alpha\": {}}",
		"{\"service\": 1}", "+PONG\r\n",
		"{\"service\":\"x\", \"service\":\"y\"}",
	};
	struct proxy_stats	st;
	size_t			i;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		memset(&st, 0xff, sizeof(st));
		CU_ASSERT_PTR_NULL(proxy_stats_parse(junk[i], strlen(junk[i]),
		    NULL, &st));
		CU_ASSERT_EQUAL(st.backends, 0);
		CU_ASSERT_EQUAL(st.failing, 0);
	}
}

static void
test_odd_values(void)
{
	/* Negative and non-integer counters count as 0; non-objects are no servers. */
	static const char s[] = "{\"service\":\"nutcracker\", \"p\": {"
	    "\"a\": {\"server_err\": -5, \"server_eof\": \"7\"}, "
	    "\"b\": [1, 2], \"c\": 3}}";
	struct proxy_stats	 st;
	json_t			*j;

	j = proxy_stats_parse(s, strlen(s), NULL, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(st.backends, 1);
	CU_ASSERT_EQUAL(st.errors, 0);
	proxy_stats_clear(&st);
	json_decref(j);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_counts),
		TU_TEST(test_shared_server),
		TU_TEST(test_junk),
		TU_TEST(test_odd_values),
	};

	return tu_main("proxystats", tests, sizeof(tests) / sizeof(tests[0]));
}
