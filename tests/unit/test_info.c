/*
 * test_info.c: the Redis INFO parser (common/info.c) over output captured
 * from a real redis-server 7 (tests/fixtures), and over junk.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "info.h"
#include "util.h"
#include "testutil.h"

static char *
fixture(const char *name, size_t *len)
{
	char	*path, *rel, *buf;

	xasprintf(&rel, "tests/fixtures/%s", name);
	path = tu_srcpath(rel);
	buf = tu_read(path, len);
	free(rel);
	free(path);
	return buf;
}

/* The same text with CRLF turned into LF. */
static char *
to_lf(const char *s, size_t len, size_t *outlen)
{
	char	*out = xmalloc(len + 1);
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (!(s[i] == '\r' && i + 1 < len && s[i + 1] == '\n'))
			out[n++] = s[i];
	out[n] = '\0';
	*outlen = n;
	return out;
}

static void
test_master(void)
{
	struct info	*in = xcalloc(1, sizeof(*in));
	char		*buf;
	size_t		 len;
	int		 n;

	buf = fixture("info-master.txt", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_PTR_NOT_NULL(memchr(buf, '\r', len));	/* as Redis sends it */
	n = info_parse(buf, len, in);
	CU_ASSERT(n >= 50);
	CU_ASSERT_STRING_EQUAL(in->role, "master");
	CU_ASSERT_STRING_EQUAL(in->version, "7.0.15");
	CU_ASSERT_STRING_EQUAL(in->run_id,
	    "fcc26818cc61eb55bc9095ba481a95de49c81fb8");
	CU_ASSERT_STRING_EQUAL(in->mode, "standalone");
	CU_ASSERT_STRING_EQUAL(in->policy, "noeviction");
	CU_ASSERT_STRING_EQUAL(in->master_host, "");
	CU_ASSERT_EQUAL(in->master_port, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_CLIENTS], 1, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_MEM_USED], 1209592, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_MEM_RSS], 7127040, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_CONN_RECV], 42, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_HITS], 1, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_MISSES], 1, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_ERRORS], 1, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_MAXCLIENTS], 10000, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_SLAVES], 1, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_MASTER_OFFSET], 1213, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_RDB_STATUS], 1, 0);	/* "ok" */
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_AOF_ENABLED], 0, 0);
	CU_ASSERT(in->values[RM_FRAG] > 0);			/* a fraction */
	CU_ASSERT(in->values[RM_CPU_SYS] >= 0);
	/* Replica-only fields are absent on a master: NaN. */
	CU_ASSERT_TRUE(isnan(in->values[RM_LINK_UP]));
	CU_ASSERT_TRUE(isnan(in->values[RM_SLAVE_OFFSET]));
	CU_ASSERT_TRUE(isnan(in->values[RM_LAST_IO]));

	CU_ASSERT_EQUAL_FATAL(in->ndbs, 2);
	CU_ASSERT_EQUAL(in->dbs[0].db, 0);
	CU_ASSERT_EQUAL(in->dbs[0].keys, 26);
	CU_ASSERT_EQUAL(in->dbs[0].expires, 1);
	CU_ASSERT_EQUAL(in->dbs[0].avg_ttl_ms, 990198);
	CU_ASSERT_EQUAL(in->dbs[1].db, 1);
	CU_ASSERT_EQUAL(in->dbs[1].keys, 7);
	CU_ASSERT_EQUAL(in->dbs[1].expires, 1);
	CU_ASSERT_EQUAL(in->dbs[1].avg_ttl_ms, 490249);

	CU_ASSERT_EQUAL_FATAL(in->nreplicas, 1);
	CU_ASSERT_STRING_EQUAL(in->replicas[0].addr, "127.0.0.1:46380");
	CU_ASSERT_STRING_EQUAL(in->replicas[0].state, "online");
	CU_ASSERT_EQUAL(in->replicas[0].offset, 1213);
	CU_ASSERT_EQUAL(in->replicas[0].lag, 1);
	free(buf);
	free(in);
}

static void
test_replica(void)
{
	struct info	*in = xcalloc(1, sizeof(*in));
	char		*buf;
	size_t		 len;

	buf = fixture("info-replica.txt", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT(info_parse(buf, len, in) >= 50);
	CU_ASSERT_STRING_EQUAL(in->role, "slave");
	CU_ASSERT_STRING_EQUAL(in->run_id,
	    "d6916f1e544154764fcf655f0609e2e51ad4eff2");
	CU_ASSERT_STRING_EQUAL(in->master_host, "127.0.0.1");
	CU_ASSERT_EQUAL(in->master_port, 46379);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_LINK_UP], 1, 0);	/* "up" */
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_LAST_IO], 2, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_SYNCING], 0, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_SLAVE_OFFSET], 1213, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_SLAVES], 0, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_CLIENTS], 2, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_RDB_STATUS], 1, 0);
	CU_ASSERT_EQUAL(in->nreplicas, 0);
	CU_ASSERT_EQUAL_FATAL(in->ndbs, 2);
	CU_ASSERT_EQUAL(in->dbs[0].keys, 26);
	CU_ASSERT_EQUAL(in->dbs[1].keys, 7);
	free(buf);
	free(in);
}

/* The probe's lean parser agrees with info_parse on the three fields. */
static void
test_replication_fields(void)
{
	struct info_repl	 r;
	char			*buf;
	size_t			 len;
	static const char	 junk[] = "role\r\nrole:a-very-long-role-name\r\n"
	    "master_repl_offset:x\r\nmaster_last_io_seconds_ago:-1";

	buf = fixture("info-replica.txt", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	info_replication(buf, len, &r);
	CU_ASSERT_STRING_EQUAL(r.role, "slave");
	CU_ASSERT_DOUBLE_EQUAL(r.last_io, 2, 0);
	CU_ASSERT_DOUBLE_EQUAL(r.offset, 1213, 0);
	free(buf);
	buf = fixture("info-master.txt", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	info_replication(buf, len, &r);
	CU_ASSERT_STRING_EQUAL(r.role, "master");
	CU_ASSERT(isnan(r.last_io));
	CU_ASSERT_DOUBLE_EQUAL(r.offset, 1213, 0);
	free(buf);
	info_replication(junk, sizeof(junk) - 1, &r);
	CU_ASSERT_STRING_EQUAL(r.role, "a-very-long-rol");	/* bounded */
	CU_ASSERT(isnan(r.offset));
	CU_ASSERT_DOUBLE_EQUAL(r.last_io, -1, 0);
	info_replication("", 0, &r);
	CU_ASSERT_STRING_EQUAL(r.role, "");
}

static void
test_lf_same_as_crlf(void)
{
	static const char *const names[] = { "info-master.txt",
	    "info-replica.txt" };
	struct info	*a = xcalloc(1, sizeof(*a)), *b = xcalloc(1, sizeof(*b));
	char		*buf, *lf;
	size_t		 len, lflen, i;

	for (i = 0; i < nitems(names); i++) {
		buf = fixture(names[i], &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		lf = to_lf(buf, len, &lflen);
		CU_ASSERT(lflen < len);
		CU_ASSERT_EQUAL(info_parse(buf, len, a), info_parse(lf, lflen, b));
		/* info_parse clears the whole struct first: compare it all. */
		CU_ASSERT(memcmp(a, b, sizeof(*a)) == 0);
		/* Without the final newline, the last line still counts. */
		CU_ASSERT_EQUAL(info_parse(lf, lflen - 1, b), info_parse(lf,
		    lflen, a));
		CU_ASSERT_EQUAL(b->ndbs, a->ndbs);
		free(lf);
		free(buf);
	}
	free(a);
	free(b);
}

static void
test_absent_and_conversions(void)
{
	struct info	*in = xcalloc(1, sizeof(*in));
	int		 i, nan = 0;
	const char	*t;

	CU_ASSERT_EQUAL(info_parse("", 0, in), 0);
	for (i = 0; i < RM_COUNT; i++)
		nan += isnan(in->values[i]) != 0;
	CU_ASSERT_EQUAL(nan, RM_COUNT);
	CU_ASSERT_STRING_EQUAL(in->role, "");
	CU_ASSERT_EQUAL(in->ndbs, 0);

	t = "master_link_status:down\r\nrdb_last_bgsave_status:err\r\n"
	    "aof_last_write_status:ok\r\nused_memory:abc\r\n"
	    "connected_clients:12abc\r\nblocked_clients:\r\n"
	    "maxmemory:0\r\nloading:1\r\n";
	info_parse(t, strlen(t), in);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_LINK_UP], 0, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_RDB_STATUS], 0, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_AOF_WRITE_STATUS], 1, 0);
	CU_ASSERT_TRUE(isnan(in->values[RM_MEM_USED]));
	CU_ASSERT_TRUE(isnan(in->values[RM_CLIENTS]));
	CU_ASSERT_TRUE(isnan(in->values[RM_BLOCKED]));
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_MEM_MAX], 0, 0);
	CU_ASSERT_DOUBLE_EQUAL(in->values[RM_LOADING], 1, 0);
	CU_ASSERT_TRUE(isnan(in->values[RM_UPTIME]));

	/* Non-finite numbers are not numbers here. */
	t = "used_memory:inf\nused_memory_rss:nan\nused_memory_peak:1e999\n";
	info_parse(t, strlen(t), in);
	CU_ASSERT_TRUE(isnan(in->values[RM_MEM_USED]));
	CU_ASSERT_TRUE(isnan(in->values[RM_MEM_RSS]));
	CU_ASSERT_TRUE(isnan(in->values[RM_MEM_PEAK]));
	free(in);
}

static void
test_junk(void)
{
	struct info	*in = xcalloc(1, sizeof(*in));
	char		*big, *p;
	size_t		 i, len;
	unsigned	 seed = 99;
	static const char t[] =
	    "# Server\r\nno colon here\r\n:\r\n::::\r\n:value\r\nrole:\r\n"
	    "\0\0\0\r\ndb:keys=1\r\ndbx:keys=1\r\nslave:ip=1\r\n"
	    "slavex:ip=1\r\ndb5\r\n\r\n\n\r\r\n";

	/* Lines without a colon, comments, bare colons, NULs. */
	CU_ASSERT_EQUAL(info_parse(t, sizeof(t) - 1, in), 1);	/* only role */
	CU_ASSERT_STRING_EQUAL(in->role, "");
	CU_ASSERT_EQUAL(in->ndbs, 0);
	CU_ASSERT_EQUAL(in->nreplicas, 0);

	/* Over-long keys and values. */
	len = 300000;
	big = xmalloc(len + 1);
	memset(big, 'k', len);
	big[len] = '\0';
	big[len / 2] = ':';
	info_parse(big, len, in);
	memcpy(big, "role:", 5);
	info_parse(big, len, in);
	CU_ASSERT_EQUAL(strlen(in->role), sizeof(in->role) - 1);
	memcpy(big, "run_id:", 7);
	info_parse(big, len, in);
	CU_ASSERT_EQUAL(strlen(in->run_id), sizeof(in->run_id) - 1);
	memcpy(big, "used_memory:", 12);
	info_parse(big, len, in);
	CU_ASSERT_TRUE(isnan(in->values[RM_MEM_USED]));
	memcpy(big, "slave0:ip=", 10);
	info_parse(big, len, in);
	CU_ASSERT_EQUAL_FATAL(in->nreplicas, 1);
	CU_ASSERT(strlen(in->replicas[0].addr) < sizeof(in->replicas[0].addr));
	memcpy(big, "slave0:state=", 13);
	info_parse(big, len, in);
	CU_ASSERT_EQUAL(strlen(in->replicas[0].state),
	    sizeof(in->replicas[0].state) - 1);
	memcpy(big, "db0:keys=", 9);
	memset(big + 9, '9', 1000);
	info_parse(big, len, in);
	CU_ASSERT_EQUAL_FATAL(in->ndbs, 1);
	CU_ASSERT_EQUAL(in->dbs[0].keys, UINT64_MAX);	/* saturated */

	/* Random bytes. */
	for (i = 0; i < len; i++)
		big[i] = (char)(rand_r(&seed) % 7 == 0 ? '\n' :
		    rand_r(&seed) % 9 == 0 ? ':' : rand_r(&seed) & 0xff);
	for (p = big, i = 0; i < 50; i++)
		info_parse(p + i * 1000, len - i * 1000, in);
	free(big);
	free(in);
}

static void
test_bounds(void)
{
	struct info	*in = xcalloc(1, sizeof(*in));
	char		*buf = NULL, *line;
	size_t		 len = 0;
	FILE		*fp = open_memstream(&buf, &len);
	int		 i;

	for (i = 0; i < 200; i++)
		fprintf(fp, "db%d:keys=%d,expires=0,avg_ttl=0\r\n", i, i + 1);
	for (i = 0; i < 100; i++)
		fprintf(fp, "slave%d:ip=10.0.0.%d,port=%d,state=online,"
		    "offset=%d,lag=0\r\n", i, i, 6000 + i, i);
	fprintf(fp, "db99999999999999:keys=5\r\nmaster_port:99999\r\n");
	fclose(fp);
	info_parse(buf, len, in);
	CU_ASSERT_EQUAL(in->ndbs, INFO_MAX_DBS);
	CU_ASSERT_EQUAL(in->nreplicas, INFO_MAX_REPLICAS);
	CU_ASSERT_EQUAL(in->dbs[INFO_MAX_DBS - 1].keys, INFO_MAX_DBS);
	CU_ASSERT_STRING_EQUAL(in->replicas[31].addr, "10.0.0.31:6031");
	CU_ASSERT_EQUAL(in->master_port, 65535);
	free(buf);

	/* A database number past 32 bits is clamped, not wrapped. */
	line = "db99999999999:keys=5\r\n";
	info_parse(line, strlen(line), in);
	CU_ASSERT_EQUAL_FATAL(in->ndbs, 1);
	CU_ASSERT_EQUAL(in->dbs[0].db, UINT32_MAX);
	CU_ASSERT_EQUAL(in->dbs[0].keys, 5);
	free(in);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_master),
		TU_TEST(test_replica),
		TU_TEST(test_replication_fields),
		TU_TEST(test_lf_same_as_crlf),
		TU_TEST(test_absent_and_conversions),
		TU_TEST(test_junk),
		TU_TEST(test_bounds),
	};

	return tu_main("info", tests, nitems(tests));
}
