/*
 * test_topk.c: the Space-Saving summary (common/topk.c) and the MONITOR
 * line parser with its key table (common/monline.c).
 *
 * topk: exact counts while the keys fit, the heavy-hitter guarantee on a
 * Zipf stream checked against exact counts, binary keys, the length cap
 * and dbs.  monline: lines as redis-server 7.0.15 writes them (escapes,
 * lua, unix sockets, IPv6 clients, quotes inside arguments), lines it
 * never writes (rejected), and the keys of GET, MSET, DEL, HSET, the
 * numkeys and STREAMS forms, and unknown commands.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monline.h"
#include "topk.h"
#include "util.h"
#include "testutil.h"

/* ---- topk -------------------------------------------------------------- */

static void
test_topk_exact(void)
{
	struct topk		*t = topk_new(8);
	struct topk_item	 it[8];
	size_t			 n;

	/* "a" 5, "b" 3, "c" 1, "d" 7: fewer keys than capacity, so exact. */
	topk_add(t, 0, "a", 1, "string", 2);
	topk_add(t, 0, "b", 1, "hash", 3);
	topk_add(t, 0, "a", 1, "string", 3);
	topk_add(t, 0, "c", 1, NULL, 1);
	topk_add(t, 0, "d", 1, "", 7);
	topk_add(t, 0, "x", 1, "", 0);		/* n = 0: nothing */
	CU_ASSERT_EQUAL(topk_total(t), 16);
	n = topk_list(t, it, 8);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(it[0].keylen, 1);
	CU_ASSERT_EQUAL(it[0].key[0], 'd');
	CU_ASSERT_EQUAL(it[0].count, 7);
	CU_ASSERT_EQUAL(it[1].key[0], 'a');
	CU_ASSERT_EQUAL(it[1].count, 5);
	CU_ASSERT_STRING_EQUAL(it[1].type, "string");
	CU_ASSERT_EQUAL(it[2].key[0], 'b');
	CU_ASSERT_EQUAL(it[2].count, 3);
	CU_ASSERT_STRING_EQUAL(it[2].type, "hash");
	CU_ASSERT_EQUAL(it[3].key[0], 'c');
	CU_ASSERT_EQUAL(it[3].count, 1);
	CU_ASSERT_STRING_EQUAL(it[3].type, "");
	for (n = 0; n < 4; n++)
		CU_ASSERT_EQUAL(it[n].error, 0);

	/* Fewer asked than held: the best ones. */
	CU_ASSERT_EQUAL(topk_list(t, it, 2), 2);
	CU_ASSERT_EQUAL(it[0].count, 7);
	CU_ASSERT_EQUAL(it[1].count, 5);

	topk_clear(t);
	CU_ASSERT_EQUAL(topk_total(t), 0);
	CU_ASSERT_EQUAL(topk_list(t, it, 8), 0);
	topk_add(t, 0, "a", 1, "", 1);
	CU_ASSERT_EQUAL(topk_list(t, it, 8), 1);
	CU_ASSERT_EQUAL(it[0].count, 1);
	topk_free(t);
	topk_free(NULL);
}

/* Eviction: the new key takes the minimum's count as its error. */
static void
test_topk_evict(void)
{
	struct topk		*t = topk_new(2);
	struct topk_item	 it[2];

	topk_add(t, 0, "a", 1, "", 5);
	topk_add(t, 0, "b", 1, "", 2);
	topk_add(t, 0, "c", 1, "", 1);		/* evicts b: count 3, error 2 */
	CU_ASSERT_EQUAL_FATAL(topk_list(t, it, 2), 2);
	CU_ASSERT_EQUAL(it[0].key[0], 'a');
	CU_ASSERT_EQUAL(it[0].count, 5);
	CU_ASSERT_EQUAL(it[0].error, 0);
	CU_ASSERT_EQUAL(it[1].key[0], 'c');
	CU_ASSERT_EQUAL(it[1].count, 3);
	CU_ASSERT_EQUAL(it[1].error, 2);
	/* b comes back: it takes c's place (the minimum, 3). */
	topk_add(t, 0, "b", 1, "", 1);
	CU_ASSERT_EQUAL(topk_list(t, it, 2), 2);
	CU_ASSERT_EQUAL(it[0].count, 5);
	CU_ASSERT_EQUAL(it[1].key[0], 'b');
	CU_ASSERT_EQUAL(it[1].count, 4);
	CU_ASSERT_EQUAL(it[1].error, 3);
	CU_ASSERT_EQUAL(topk_total(t), 9);
	topk_free(t);

	/* Capacity 0 is one entry. */
	t = topk_new(0);
	topk_add(t, 0, "a", 1, "", 1);
	topk_add(t, 0, "b", 1, "", 1);
	CU_ASSERT_EQUAL(topk_list(t, it, 2), 1);
	CU_ASSERT_EQUAL(it[0].key[0], 'b');
	CU_ASSERT_EQUAL(it[0].count, 2);
	topk_free(t);
}

/* A small deterministic generator (xorshift), so failures reproduce. */
static uint64_t rng = 88172645463325252ULL;

static uint64_t
xs(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define ZIPF_KEYS	20000
#define ZIPF_N		400000
#define ZIPF_K		200

/*
 * A Zipf (s = 1) stream over ZIPF_KEYS keys: every key with a true count
 * above N/k is in the summary, every count is an upper bound within the
 * entry's error, and errors stay below N/k.
 */
static void
test_topk_zipf(void)
{
	struct topk		*t = topk_new(ZIPF_K);
	struct topk_item	*it = xcalloc(ZIPF_K, sizeof(*it));
	double			*cdf = xcalloc(ZIPF_KEYS, sizeof(*cdf));
	uint64_t		*truth = xcalloc(ZIPF_KEYS, sizeof(*truth));
	uint64_t		 bound = ZIPF_N / ZIPF_K, sum = 0;
	char			 key[32];
	size_t			 i, n, lo, hi, heavy = 0, found = 0, bad = 0;
	double			 h = 0, u;
	unsigned		 k;

	for (i = 0; i < ZIPF_KEYS; i++) {
		h += 1.0 / (double)(i + 1);
		cdf[i] = h;
	}
	for (i = 0; i < ZIPF_N; i++) {
		u = (double)(xs() >> 11) / 9007199254740992.0 * h;
		for (lo = 0, hi = ZIPF_KEYS - 1; lo < hi;) {
			size_t mid = (lo + hi) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		truth[lo]++;
		snprintf(key, sizeof(key), "key:%zu", lo);
		topk_add(t, 0, key, strlen(key), "string", 1);
	}
	CU_ASSERT_EQUAL(topk_total(t), ZIPF_N);
	n = topk_list(t, it, ZIPF_K);
	CU_ASSERT_EQUAL(n, ZIPF_K);
	for (i = 0; i < n; i++) {
		sum += it[i].count;
		if (i > 0 && it[i].count > it[i - 1].count)
			bad++;				/* not best first */
		if (sscanf(it[i].key, "key:%u", &k) != 1 || k >= ZIPF_KEYS) {
			bad++;
			continue;
		}
		if (it[i].count < truth[k] ||
		    it[i].count - it[i].error > truth[k] ||
		    it[i].error > bound)
			bad++;
		if (truth[k] > bound)
			found++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(sum, ZIPF_N);		/* Space-Saving's invariant */
	for (i = 0; i < ZIPF_KEYS; i++)
		if (truth[i] > bound)
			heavy++;
	CU_ASSERT(heavy >= 15);			/* the test means something */
	CU_ASSERT_EQUAL(found, heavy);
	/* The true top 10, in order, are the summary's first 10. */
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "key:%zu", i);
		CU_ASSERT(it[i].keylen == strlen(key) &&
		    memcmp(it[i].key, key, it[i].keylen) == 0);
	}
	free(truth);
	free(cdf);
	free(it);
	topk_free(t);
}

static void
test_topk_binary(void)
{
	struct topk		*t = topk_new(4);
	struct topk_item	 it[4];
	char			 a[] = { 'k', '\0', 'x' }, b[] = { 'k', '\0', 'y' };
	char			*longk = xmalloc(TOPK_KEY_MAX + 100);

	topk_add(t, 0, a, 3, "", 2);
	topk_add(t, 0, b, 3, "", 1);
	topk_add(t, 0, "k", 1, "", 1);		/* a prefix is another key */
	topk_add(t, 0, "", 0, "", 1);		/* so is the empty key */
	CU_ASSERT_EQUAL_FATAL(topk_list(t, it, 4), 4);
	CU_ASSERT_EQUAL(it[0].keylen, 3);
	CU_ASSERT(memcmp(it[0].key, a, 3) == 0);
	CU_ASSERT_EQUAL(it[0].count, 2);
	CU_ASSERT_EQUAL(it[0].key[3], '\0');	/* NUL after, for printing */
	topk_clear(t);

	/* Longer than TOPK_KEY_MAX: counted by the prefix. */
	memset(longk, 'z', TOPK_KEY_MAX + 100);
	topk_add(t, 0, longk, TOPK_KEY_MAX + 100, "", 1);
	longk[TOPK_KEY_MAX + 50] = 'q';
	topk_add(t, 0, longk, TOPK_KEY_MAX + 60, "", 1);
	CU_ASSERT_EQUAL_FATAL(topk_list(t, it, 4), 1);
	CU_ASSERT_EQUAL(it[0].keylen, TOPK_KEY_MAX);
	CU_ASSERT_EQUAL(it[0].count, 2);
	topk_clear(t);

	/* The same name in two dbs is two keys. */
	topk_add(t, 0, "k", 1, "", 1);
	topk_add(t, 3, "k", 1, "", 2);
	CU_ASSERT_EQUAL_FATAL(topk_list(t, it, 4), 2);
	CU_ASSERT_EQUAL(it[0].db, 3);
	CU_ASSERT_EQUAL(it[0].count, 2);
	CU_ASSERT_EQUAL(it[1].db, 0);
	CU_ASSERT_EQUAL(it[1].count, 1);
	free(longk);
	topk_free(t);
}

/* Many evictions through a small index: every count stays findable. */
static void
test_topk_churn(void)
{
	struct topk		*t = topk_new(16);
	struct topk_item	 it[16];
	char			 key[16];
	uint64_t		 sum = 0;
	size_t			 i, n;

	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "%u", (unsigned)(xs() % 64));
		topk_add(t, 0, key, strlen(key), "", 1);
		topk_add(t, 0, "hot", 3, "", 1);
	}
	n = topk_list(t, it, 16);
	CU_ASSERT_EQUAL(n, 16);
	for (i = 0; i < n; i++)
		sum += it[i].count;
	CU_ASSERT_EQUAL(sum, 200000);
	CU_ASSERT_EQUAL(it[0].keylen, 3);
	CU_ASSERT(it[0].count >= 100000);
	CU_ASSERT(it[0].count - it[0].error <= 100000);
	/* One key in the index per entry: adding "hot" again finds it. */
	sum = it[0].count;
	topk_add(t, 0, "hot", 3, "", 1);
	CU_ASSERT_EQUAL(topk_list(t, it, 16), 16);
	CU_ASSERT_EQUAL(it[0].keylen, 3);
	CU_ASSERT_EQUAL(it[0].count, sum + 1);
	topk_free(t);
}

/* ---- monline ----------------------------------------------------------- */

struct got {
	int	 n;
	char	 keys[8][64];
	size_t	 len[8];
	char	 type[8][16];
};

static void
got_key(void *arg, const char *key, size_t keylen, const char *type)
{
	struct got *g = arg;

	if (g->n < 8) {
		memcpy(g->keys[g->n], key, MINIMUM(keylen, 63));
		g->len[g->n] = keylen;
		str_copy(g->type[g->n], sizeof(g->type[g->n]), type);
	}
	g->n++;
}

/* Parses s; returns 0 or -1, with m filled. */
static int
parse(const char *s, struct monline *m, char *buf)
{
	return monline_parse(s, strlen(s), buf, m);
}

static int
keys_of(const char *s, struct got *g)
{
	struct monline	m;
	char		buf[1024];

	memset(g, 0, sizeof(*g));
	if (parse(s, &m, buf) == -1)
		return -1;
	return monline_keys(&m, got_key, g);
}

static void
test_monline_real(void)
{
	struct monline	m;
	char		buf[512];

	/* Lines taken from redis-cli monitor against redis-server 7.0.15. */
	CU_ASSERT_EQUAL_FATAL(parse("1795661598.049295 [0 127.0.0.1:34958] "
	    "\"set\" \"k\\\"q\" \"v\\\\x\"", &m, buf), 0);
	CU_ASSERT(fabs(m.time - 1795661598.049295) < 1e-5);
	CU_ASSERT_EQUAL(m.db, 0);
	CU_ASSERT_STRING_EQUAL(m.client, "127.0.0.1:34958");
	CU_ASSERT_EQUAL_FATAL(m.argc, 3);
	CU_ASSERT_EQUAL(m.argl[0], 3);
	CU_ASSERT(memcmp(m.argv[0], "set", 3) == 0);
	CU_ASSERT_EQUAL(m.argl[1], 3);
	CU_ASSERT(memcmp(m.argv[1], "k\"q", 3) == 0);
	CU_ASSERT_EQUAL(m.argl[2], 3);
	CU_ASSERT(memcmp(m.argv[2], "v\\x", 3) == 0);

	/* Binary: \x00, \n, \xff. */
	CU_ASSERT_EQUAL_FATAL(parse("1795661598.058365 [0 127.0.0.1:34960] "
	    "\"set\" \"bin\" \"a\\x00b\\nc\\xff\"", &m, buf), 0);
	CU_ASSERT_EQUAL_FATAL(m.argc, 3);
	CU_ASSERT_EQUAL(m.argl[2], 6);
	CU_ASSERT(memcmp(m.argv[2], "a\0b\nc\xff", 6) == 0);

	/* Lua, and a script with quotes inside. */
	CU_ASSERT_EQUAL_FATAL(parse("1795661598.066385 [0 lua] \"set\" \"lk\" "
	    "\"lv\"", &m, buf), 0);
	CU_ASSERT_STRING_EQUAL(m.client, "lua");
	CU_ASSERT_EQUAL(m.argc, 3);
	CU_ASSERT_EQUAL_FATAL(parse("1795661598.066310 [0 127.0.0.1:34966] "
	    "\"eval\" \"redis.call('set','lk','lv'); return "
	    "redis.call('get','lk')\" \"0\"", &m, buf), 0);
	CU_ASSERT_EQUAL(m.argc, 3);
	CU_ASSERT_EQUAL(m.argl[1], strlen("redis.call('set','lk','lv'); return "
	    "redis.call('get','lk')"));

	/* A unix socket, db 3, an IPv6 client (brackets inside). */
	CU_ASSERT_EQUAL_FATAL(parse("1795661598.074859 [3 unix:/tmp/hkx/r.sock]"
	    " \"get\" \"unixkey\"", &m, buf), 0);
	CU_ASSERT_EQUAL(m.db, 3);
	CU_ASSERT_STRING_EQUAL(m.client, "unix:/tmp/hkx/r.sock");
	CU_ASSERT_EQUAL_FATAL(parse("1795661659.070835 [0 [::1]:47730] \"get\" "
	    "\"v6\"", &m, buf), 0);
	CU_ASSERT_STRING_EQUAL(m.client, "[::1]:47730");
	CU_ASSERT_EQUAL(m.argc, 2);
	CU_ASSERT_EQUAL(m.argl[1], 2);

	/* "] \"" inside an argument does not end the client. */
	CU_ASSERT_EQUAL_FATAL(parse("1.5 [0 1.2.3.4:5] \"set\" \"a] \\\"b\" "
	    "\"\"", &m, buf), 0);
	CU_ASSERT_STRING_EQUAL(m.client, "1.2.3.4:5");
	CU_ASSERT_EQUAL(m.argc, 3);
	CU_ASSERT_EQUAL(m.argl[1], 5);
	CU_ASSERT(memcmp(m.argv[1], "a] \"b", 5) == 0);
	CU_ASSERT_EQUAL(m.argl[2], 0);		/* an empty argument */

	/* Every escape sdscatrepr writes, upper-case hex too. */
	CU_ASSERT_EQUAL_FATAL(parse("1.000001 [0 c] \"x\" "
	    "\"\\\\\\\"\\n\\r\\t\\a\\b\\x7F\\x0a\"", &m, buf), 0);
	CU_ASSERT_EQUAL(m.argl[1], 9);
	CU_ASSERT(memcmp(m.argv[1], "\\\"\n\r\t\a\b\x7f\n", 9) == 0);

	/* MULTI, EXEC and AUTH's redaction are ordinary lines. */
	CU_ASSERT_EQUAL(parse("1795661598.089658 [0 127.0.0.1:34978] "
	    "\"MULTI\"", &m, buf), 0);
	CU_ASSERT_EQUAL(m.argc, 1);
	CU_ASSERT_EQUAL(parse("1795661598.107120 [0 127.0.0.1:34994] \"auth\" "
	    "\"(redacted)\"", &m, buf), 0);
}

static void
test_monline_many_args(void)
{
	struct monline	 m;
	char		*line, *buf, *p;
	size_t		 len;
	int		 i;

	line = xmalloc(64 * 8 + 200);
	buf = xmalloc(64 * 8 + 200);
	p = line + sprintf(line, "1.1 [0 x:1] \"del\"");
	for (i = 0; i < 99; i++)
		p += sprintf(p, " \"k%d\"", i);
	len = (size_t)(p - line);
	CU_ASSERT_EQUAL_FATAL(monline_parse(line, len, buf, &m), 0);
	CU_ASSERT_EQUAL(m.argc, MONLINE_MAX_ARGS);
	CU_ASSERT_EQUAL(m.argl[MONLINE_MAX_ARGS - 1], 3);
	CU_ASSERT(memcmp(m.argv[MONLINE_MAX_ARGS - 1], "k62", 3) == 0);
	/* A bad argument past the kept ones still rejects the line. */
	p[-1] = '\\';
	CU_ASSERT_EQUAL(monline_parse(line, len, buf, &m), -1);
	free(line);
	free(buf);
}

static void
test_monline_bad(void)
{
	static const char *const bad[] = {
		"",
		"hello",
		"1795661598.049295",
		"1795661598.049295 [0 127.0.0.1:1] ",		/* no argument */
		"1795661598.049295 [0 127.0.0.1:1] \"get\" \"k",	/* unterminated */
		"1795661598.049295 [0 127.0.0.1:1] \"get",
		"1795661598.049295 [0 127.0.0.1:1] \"get\" \"k\\q\"",	/* bad escape */
		"1795661598.049295 [0 127.0.0.1:1] \"get\" \"k\\x4\"",
		"1795661598.049295 [0 127.0.0.1:1] \"get\" \"k\\xzz\"",
		"1795661598.049295 [0 127.0.0.1:1] \"get\" \"k\\\"",
		"1795661598.049295 [0 127.0.0.1:1 \"get\" \"k\"",	/* no bracket */
		"1795661598.049295 0 127.0.0.1:1] \"get\" \"k\"",
		"1795661598.049295 [0 ] \"get\"",			/* no client */
		"1795661598.049295 [x 127.0.0.1:1] \"get\"",	/* bad db */
		"1795661598.049295 [99999999999 c] \"get\"",
		"1795661598.049295 [ c] \"get\"",
		".049295 [0 c] \"get\"",				/* bad time */
		"1795661598. [0 c] \"get\"",
		"1795661598 [0 c] \"get\"",
		"+1795661598.049295 [0 c] \"get\"",		/* reply marker */
		"1795661598.049295 [0 c] \"get\"  \"k\"",	/* two spaces */
		"1795661598.049295 [0 c] \"get\"\"k\"",		/* none */
		"1795661598.049295 [0 c] \"get\" k",		/* unquoted */
		"1795661598.049295 [0 c] \"get\" \"k\" ",	/* trailing space */
		"1795661598.049295 [0 c] \"g\tt\"",		/* raw control */
		"1795661598.049295 [0 c\x01] \"get\"",	/* in the client */
	};
	struct monline	m;
	char		buf[256];
	size_t		i;

	for (i = 0; i < nitems(bad); i++) {
		if (parse(bad[i], &m, buf) != -1)
			CU_FAIL(bad[i]);
	}
	/* A raw byte above 0x7e, and a NUL, are never written either. */
	CU_ASSERT_EQUAL(monline_parse("1.1 [0 c] \"g\xc3\xa9\"", 15, buf, &m),
	    -1);
	CU_ASSERT_EQUAL(monline_parse("1.1 [0 c] \"g\0\"", 14, buf, &m), -1);
	/* len bounds the line: the same bytes cut short are rejected. */
	CU_ASSERT_EQUAL(monline_parse("1.1 [0 c] \"get\" \"k\"", 18, buf, &m),
	    -1);
	CU_ASSERT_EQUAL(monline_parse("1.1 [0 c] \"get\" \"k\"", 19, buf, &m),
	    0);
}

static void
test_monline_keys(void)
{
	struct got	g;

	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"GET\" \"user:1\"", &g), 1);
	CU_ASSERT_STRING_EQUAL(g.keys[0], "user:1");
	CU_ASSERT_STRING_EQUAL(g.type[0], "string");
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"gEt\" \"a\"", &g), 1);

	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"mset\" \"a\" \"1\" \"b\" \"2\" "
	    "\"c\" \"3\"", &g), 3);
	CU_ASSERT_STRING_EQUAL(g.keys[0], "a");
	CU_ASSERT_STRING_EQUAL(g.keys[1], "b");
	CU_ASSERT_STRING_EQUAL(g.keys[2], "c");

	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"DEL\" \"a\" \"b\\x00\"", &g), 2);
	CU_ASSERT_EQUAL(g.len[1], 2);
	CU_ASSERT(memcmp(g.keys[1], "b\0", 2) == 0);
	CU_ASSERT_STRING_EQUAL(g.type[0], "");

	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"hset\" \"h\" \"f\" \"v\" \"f2\" "
	    "\"v2\"", &g), 1);
	CU_ASSERT_STRING_EQUAL(g.keys[0], "h");
	CU_ASSERT_STRING_EQUAL(g.type[0], "hash");

	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"lpush\" \"l\" \"x\"", &g), 1);
	CU_ASSERT_STRING_EQUAL(g.type[0], "list");
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"zadd\" \"z\" \"1\" \"m\"", &g), 1);
	CU_ASSERT_STRING_EQUAL(g.type[0], "zset");
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"xadd\" \"s\" \"*\" \"f\" \"v\"",
	    &g), 1);
	CU_ASSERT_STRING_EQUAL(g.type[0], "stream");
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"sadd\" \"s\" \"x\"", &g), 1);
	CU_ASSERT_STRING_EQUAL(g.type[0], "set");

	/* BLPOP: every argument but the timeout. */
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"blpop\" \"a\" \"b\" \"0\"", &g), 2);
	CU_ASSERT_STRING_EQUAL(g.keys[1], "b");
	/* RENAME: both. */
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"rename\" \"a\" \"b\"", &g), 2);

	/* numkeys forms. */
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"zunionstore\" \"d\" \"2\" \"a\" "
	    "\"b\" \"WEIGHTS\" \"1\" \"2\"", &g), 3);
	CU_ASSERT_STRING_EQUAL(g.keys[0], "d");
	CU_ASSERT_STRING_EQUAL(g.keys[2], "b");
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"lmpop\" \"2\" \"a\" \"b\" "
	    "\"LEFT\"", &g), 2);
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"blmpop\" \"0\" \"1\" \"a\" "
	    "\"LEFT\"", &g), 1);
	CU_ASSERT_STRING_EQUAL(g.keys[0], "a");
	/* A key count past the arguments stops at the last one. */
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"lmpop\" \"9\" \"a\"", &g), 1);
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"lmpop\" \"x\" \"a\"", &g), 0);

	/* XREAD: the first half after STREAMS. */
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"XREAD\" \"COUNT\" \"2\" "
	    "\"streams\" \"s1\" \"s2\" \"0\" \"0\"", &g), 2);
	CU_ASSERT_STRING_EQUAL(g.keys[0], "s1");
	CU_ASSERT_STRING_EQUAL(g.keys[1], "s2");
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"xread\" \"count\" \"2\"", &g), 0);
	/* XREADGROUP: a group or consumer named "streams" is no keyword. */
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"XREADGROUP\" \"GROUP\" "
	    "\"streams\" \"streams\" \"STREAMS\" \"k\" \">\"", &g), 1);
	CU_ASSERT_STRING_EQUAL(g.keys[0], "k");

	/* No key: unknown commands, EVAL, INFO, a command with no args. */
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"frobnicate\" \"a\"", &g), 0);
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"eval\" \"return 1\" \"1\" \"k\"",
	    &g), 0);
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"info\"", &g), 0);
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"get\"", &g), 0);
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"ge\\x00\" \"a\"", &g), 0);
	CU_ASSERT_EQUAL(keys_of("1.1 [0 c] \"getaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaa\" \"a\"", &g), 0);
	CU_ASSERT_EQUAL(g.n, 0);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_topk_exact),
		TU_TEST(test_topk_evict),
		TU_TEST(test_topk_zipf),
		TU_TEST(test_topk_binary),
		TU_TEST(test_topk_churn),
		TU_TEST(test_monline_real),
		TU_TEST(test_monline_many_args),
		TU_TEST(test_monline_bad),
		TU_TEST(test_monline_keys),
	};

	return tu_main("topk", tests, nitems(tests));
}
