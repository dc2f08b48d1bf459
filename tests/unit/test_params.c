/*
 * test_params.c: instance parameters (agent/params.c): what params_check
 * accepts and refuses, and with which message; the key-value list; the ACL
 * rules of the default user; the redis.conf and nutcracker.yml written
 * from the parameters, checked as text and then read back by a real
 * redis-server (CONFIG GET, ACL GETUSER, AUTH as each user) and a real
 * `nutcracker -t`.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "agent/agent.h"
#include "util.h"
#include "testutil.h"

#define R	(1 << KIND_REDIS)
#define I	(1 << KIND_INTERFACE)

/* Records an assertion at the caller's line. */
#define ASSERT_AT(cond, line, msg) \
	CU_assertImplementation((cond), (line), (msg), __FILE__, "", CU_FALSE)

/* Files the file-typed params point at, made once per test. */
static char	*g_dir, *g_file, *g_missing;

static void
files_init(void)
{
	g_dir = tu_tmpdir();
	g_file = tu_join(g_dir, "secret");
	g_missing = tu_join(g_dir, "no-such-file");
	tu_write(g_file, "s3cret\n", -1, 0600);
}

static void
files_free(void)
{
	free(g_file);
	free(g_missing);
	tu_rmdir(g_dir);
	g_file = g_missing = g_dir = NULL;
}

/* "@FILE" and "@MISSING" stand for files made at run time. */
static const char *
subst(const char *v)
{
	if (strcmp(v, "@FILE") == 0)
		return g_file;
	if (strcmp(v, "@MISSING") == 0)
		return g_missing;
	return v;
}

/* params_check of params given as key, value, key, value, ..., NULL. */
static int
checkv(int kind, int start, char **cause, const char *const *kv)
{
	Ccnode__Param	 ps[16], *pp[16];
	size_t		 n = 0;

	while (kv[2 * n] != NULL && n < nitems(ps)) {
		ccnode__param__init(&ps[n]);
		ps[n].key = (char *)kv[2 * n];
		ps[n].value = (char *)kv[2 * n + 1];
		pp[n] = &ps[n];
		n++;
	}
	*cause = NULL;
	return params_check(kind, pp, n, start, g_dir, cause);
}

static int
check1(int kind, const char *k, const char *v, int start, char **cause)
{
	const char *kv[] = { k, v, NULL };

	return checkv(kind, start, cause, kv);
}

#define GOOD(kind, k, v)	good_at((kind), (k), (v), __LINE__)
static void
good_at(int kind, const char *k, const char *v, int line)
{
	char	*cause = NULL;
	int	 rv = check1(kind, k, v, 0, &cause);

	if (rv != 0)
		fprintf(stderr, "\n  %s %s='%s' refused: %s\n", kind_name(kind),
		    k, v, cause ? cause : "(no cause)");
	ASSERT_AT(rv == 0, line, "a good value is accepted");
	ASSERT_AT(rv != 0 || cause == NULL, line, "no cause on success");
	free(cause);
}

/* Expects a refusal with exactly msg (NULL: "K: 'V' is not a valid value"). */
#define BAD(kind, k, v, msg)	bad_at((kind), (k), (v), (msg), __LINE__)
static void
bad_at(int kind, const char *k, const char *v, const char *msg, int line)
{
	char	*cause = NULL, *want = NULL;
	int	 rv = check1(kind, k, v, 0, &cause);

	if (msg == NULL)
		xasprintf(&want, "%s: '%s' is not a valid value", k, v);
	else
		want = xstrdup(msg);
	if (rv != -1)
		fprintf(stderr, "\n  %s %s='%s' accepted\n", kind_name(kind),
		    k, v);
	else if (cause == NULL || strcmp(cause, want) != 0)
		fprintf(stderr, "\n  %s %s='%.80s'\n  want: %.200s\n  got:  "
		    "%.200s\n", kind_name(kind), k, v, want,
		    cause ? cause : "(null)");
	ASSERT_AT(rv == -1, line, "a bad value is refused");
	ASSERT_AT(rv != -1 || (cause != NULL && strcmp(cause, want) == 0),
	    line, "the refusal names the parameter, exactly");
	free(cause);
	free(want);
}

/* Expects params (key, value, ..., NULL) to fail with exactly msg. */
#define REFUSED(kind, start, msg, ...)	do {				\
	const char *kv_[] = { __VA_ARGS__, NULL };			\
	refused_at((kind), (start), kv_, (msg), __LINE__);		\
} while (0)
static void
refused_at(int kind, int start, const char *const *kv, const char *msg,
    int line)
{
	char	*cause = NULL;
	int	 rv = checkv(kind, start, &cause, kv);

	if (rv != -1 || cause == NULL || strcmp(cause, msg) != 0)
		fprintf(stderr, "\n  want: %s\n  got:  %s (rv %d)\n", msg,
		    cause ? cause : "(null)", rv);
	ASSERT_AT(rv == -1, line, "refused");
	ASSERT_AT(cause != NULL && strcmp(cause, msg) == 0, line,
	    "with exactly the expected message");
	free(cause);
}

/* ---- params_check --------------------------------------------------------- */

/* Every parameter of the table, with values it must take and refuse. */
static const struct pcase {
	const char	*name;
	int		 kinds;
	int		 online;
	const char	*good[13];
	const char	*bad[14];
} pcases[] = {
	{ "maxmemory", R, 1,
	  { "0", "100mb", "1gb", "4096", "1k", "2kb", "100MB", "1G", "5b" },
	  { "", "-1", "100xb", "abc", "mb", "1 mb", " 100mb", "100mb ",
	    "1tb" } },
	{ "maxmemory-policy", R, 1,
	  { "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
	    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl" },
	  { "", "LRU", "allkeys-LRU", "lru", " noeviction", "noeviction " } },
	{ "slowlog-log-slower-than", R, 1,
	  { "-1", "0", "10000", "1000000000" },
	  { "-2", "1000000001", "", "1.5", "10ms", "x", " 5",
	    "99999999999999999999" } },
	{ "timeout", R, 1,
	  { "0", "300", "100000000" },
	  { "-1", "100000001", "", "5s", "0x10" } },
	{ "notify-keyspace-events", R, 1,
	  { "", "KEA", "KEg$lshzxeAtmdn", "Ex", "Kx" },
	  { "KEQ", "kea", "K E", "all", "KE,A" } },
	{ "hash-max-ziplist-entries", R, 1,
	  { "0", "128", "100000000" }, { "-1", "100000001", "", "1k" } },
	{ "hash-max-ziplist-value", R, 1,
	  { "0", "64", "100000000" }, { "-1", "100000001", "", "1k" } },
	{ "zset-max-ziplist-entries", R, 1,
	  { "0", "128", "100000000" }, { "-1", "100000001", "", "1k" } },
	{ "zset-max-ziplist-value", R, 1,
	  { "0", "64", "100000000" }, { "-1", "100000001", "", "1k" } },
	{ "set-max-intset-entries", R, 1,
	  { "0", "512", "100000000" }, { "-1", "100000001", "", "1k" } },
	{ "disable-command-list", R, 1,
	  { "", "flushall", "flushall,flushdb keys", "config|set",
	    "debug, shutdown", "client|no-evict", " , " },
	  { "FLUSHALL", "flush*all", "keys;", "a/b", "+@all", "@admin",
	    "config set|x\"" } },
	{ "bind", R | I, 0,
	  { "127.0.0.1", "127.0.0.1 ::1", "10.0.0.1,10.0.0.2", "0.0.0.0",
	    "::" },
	  { "", "localhost", "127.0.0.1 300.1.1.1", "127.0.0.1:6379", " , ",
	    "[::1]" } },
	{ "appendonly", R, 0,
	  { "yes", "no" }, { "", "YES", "true", "1", "no " } },
	{ "save", R, 0,
	  { "", "900 1 300 10", "3600 1", "900 1 300 10 60 10000", "1 0" },
	  { "900", "900 x", "-1 1", "900 1 300", "x y", "900 1.5", "0 0",
	    "0 1" } },
	{ "requirepass-file", R, 0,
	  { "@FILE" }, { "relative/pass", "", "@MISSING", "./secret" } },
	{ "replicaof", R, 0,
	  { "10.0.0.1 6379", "::1 6380", "127.0.0.1 1", "127.0.0.1 65535" },
	  { "", "10.0.0.1", "10.0.0.1 0", "10.0.0.1 65536", "redis1 6379",
	    "10.0.0.1 6379 1", "10.0.0.1:6379", "10.0.0.1 x", "no one" } },
	{ "masterauth-file", R, 0,
	  { "@FILE" }, { "relative/pass", "", "@MISSING" } },
	{ "cluster-enabled", R, 0,
	  { "yes", "no" }, { "", "Yes", "on", "0" } },
	{ "servers", I, 0,
	  { "127.0.0.1:6379", "127.0.0.1:6379:2,10.0.0.2:6380",
	    "127.0.0.1:6379 127.0.0.1:6380:1000000", "127.0.0.1:6379:1" },
	  { "", "redis1:6379", "redis1:6379:1", "127.0.0.1",
	    "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:6379:0",
	    "127.0.0.1:6379:1000001", "127.0.0.1:6379:x",
	    "127.0.0.1:6379,redis2.example.com:6379", " , ", "::1:6379",
	    "::1:6379:2" } },
	{ "hash", I, 0,
	  { "one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64",
	    "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins" },
	  { "", "sha1", "MD5", "fnv1a" } },
	{ "distribution", I, 0,
	  { "ketama", "modula", "random" }, { "", "Ketama", "consistent" } },
	{ "server-timeout", I, 0,
	  { "1", "400", "3600000" }, { "0", "3600001", "-1", "", "400ms" } },
	{ "redis-auth-file", I, 0,
	  { "@FILE" }, { "relative/pass", "", "@MISSING" } },
	{ "stats-port", I, 0,
	  { "1024", "22222", "65535" },
	  { "1023", "65536", "0", "", "x", "22222 ", "-22222" } },
};

static int
is_file_param(const char *name)
{
	return strcmp(name, "requirepass-file") == 0 ||
	    strcmp(name, "masterauth-file") == 0 ||
	    strcmp(name, "redis-auth-file") == 0;
}

static void
test_check_every_param(void)
{
	const struct pcase	*c;
	size_t			 i, j;
	int			 kind;
	char			*msg;

	files_init();
	for (i = 0; i < nitems(pcases); i++) {
		c = &pcases[i];
		CU_ASSERT_EQUAL(param_online(c->name), c->online);
		for (kind = KIND_REDIS; kind <= KIND_INTERFACE; kind++) {
			if (!(c->kinds & (1 << kind))) {
				/* The other kind's: refused by name. */
				xasprintf(&msg, "'%s' is not a parameter of "
				    "kind %s", c->name, kind_name(kind));
				BAD(kind, c->name, subst(c->good[0]), msg);
				free(msg);
				continue;
			}
			for (j = 0; j < nitems(c->good) && c->good[j]; j++)
				GOOD(kind, c->name, subst(c->good[j]));
			for (j = 0; j < nitems(c->bad) && c->bad[j]; j++) {
				const char *v = subst(c->bad[j]);

				if (is_file_param(c->name)) {
					xasprintf(&msg, "%s: '%s' is not a "
					    "file in secrets-dir %s", c->name,
					    v, g_dir);
					BAD(kind, c->name, v, msg);
					free(msg);
				} else
					BAD(kind, c->name, v, NULL);
			}
		}
	}
	files_free();
}

static void
test_check_unreadable_file(void)
{
	char *msg, *f;

	files_init();
	f = tu_join(g_dir, "locked");
	tu_write(f, "pw\n", -1, 0000);
	if (geteuid() == 0) {
		/* root opens anything. */
		fprintf(stderr, "(unreadable file: skipped as root) ");
	} else {
		xasprintf(&msg, "requirepass-file: '%s' is not a readable "
		    "regular file", f);
		BAD(KIND_REDIS, "requirepass-file", f, msg);
		free(msg);
	}
	free(f);
	files_free();
}

/* A directory, a FIFO: inside secrets-dir, but not password files. */
static void
test_check_file_is_a_file(void)
{
	char *sub, *fifo, *msg;

	files_init();
	sub = tu_join(g_dir, "sub");
	fifo = tu_join(g_dir, "fifo");
	CU_ASSERT_FATAL(mkdir(sub, 0700) == 0);
	CU_ASSERT_FATAL(mkfifo(fifo, 0600) == 0);
	xasprintf(&msg, "masterauth-file: '%s' is not a readable regular "
	    "file", sub);
	BAD(KIND_REDIS, "masterauth-file", sub, msg);
	free(msg);
	/* Opened without blocking: a FIFO with no writer does not hang. */
	xasprintf(&msg, "requirepass-file: '%s' is not a readable regular "
	    "file", fifo);
	BAD(KIND_REDIS, "requirepass-file", fifo, msg);
	free(msg);
	free(sub);
	free(fifo);
	files_free();
}

/*
 * Only files inside secrets-dir, once resolved: a caller must not have
 * the agent read /etc/shadow and hand it to a master of its choosing.
 */
static void
test_check_secrets_dir(void)
{
	char	*out, *twin, *escape, *link, *inner, *dotdot, *msg, *f;
	char	 buf[PATH_MAX];

	files_init();
	out = tu_tmpdir();
	f = tu_join(out, "pw");
	tu_write(f, "outside\n", -1, 0600);
	/* A sibling whose name starts with secrets-dir's. */
	snprintf(buf, sizeof(buf), "%s-twin", g_dir);
	twin = xstrdup(buf);
	CU_ASSERT_FATAL(mkdir(twin, 0700) == 0);
	snprintf(buf, sizeof(buf), "%s/pw", twin);
	tu_write(buf, "twin\n", -1, 0600);
	escape = xstrdup(buf);
	link = tu_join(g_dir, "link");
	CU_ASSERT_FATAL(symlink(f, link) == 0);
	inner = tu_join(g_dir, "inner");
	CU_ASSERT_FATAL(symlink(g_file, inner) == 0);
	xasprintf(&dotdot, "%s/../%s/pw", g_dir, strrchr(out, '/') + 1);

	xasprintf(&msg, "requirepass-file: '%s' is not a file in secrets-dir "
	    "%s", f, g_dir);
	BAD(KIND_REDIS, "requirepass-file", f, msg);
	free(msg);
	xasprintf(&msg, "requirepass-file: '%s' is not a file in secrets-dir "
	    "%s", escape, g_dir);
	BAD(KIND_REDIS, "requirepass-file", escape, msg);
	free(msg);
	xasprintf(&msg, "masterauth-file: '%s' is not a file in secrets-dir "
	    "%s", link, g_dir);
	BAD(KIND_REDIS, "masterauth-file", link, msg);
	free(msg);
	xasprintf(&msg, "redis-auth-file: '%s' is not a file in secrets-dir "
	    "%s", dotdot, g_dir);
	BAD(KIND_INTERFACE, "redis-auth-file", dotdot, msg);
	free(msg);
	xasprintf(&msg, "requirepass-file: '%s' is not a file in secrets-dir "
	    "%s", g_dir, g_dir);
	BAD(KIND_REDIS, "requirepass-file", g_dir, msg);
	free(msg);
	/* A link that stays inside is fine. */
	GOOD(KIND_REDIS, "requirepass-file", inner);

	unlink(link);
	unlink(inner);
	free(link);
	free(inner);
	free(dotdot);
	free(escape);
	free(f);
	tu_rmdir(twin);
	tu_rmdir(out);
	files_free();
}

static void
test_check_refusals(void)
{
	static const char *const forbidden[] = { "dir", "dbfilename",
	    "logfile", "pidfile", "include", "loadmodule", "rename-command" };
	char	 buf[128], name[128], *cause = NULL;
	size_t	 i;
	int	 kind;

	/* The forbidden ones, for either kind, whatever the value. */
	for (i = 0; i < nitems(forbidden); i++) {
		snprintf(buf, sizeof(buf), "'%s' is never forwarded",
		    forbidden[i]);
		for (kind = KIND_REDIS; kind <= KIND_INTERFACE; kind++)
			REFUSED(kind, 0, buf, forbidden[i], "/tmp/x");
	}
	/* A forbidden one is refused even after good ones. */
	REFUSED(KIND_REDIS, 0, "'dir' is never forwarded",
	    "maxmemory", "1mb", "dir", "/tmp");

	/* Unknown, by name; a long name is cut at 64 bytes. */
	REFUSED(KIND_REDIS, 0, "unknown parameter 'maxmemroy'",
	    "maxmemroy", "1mb");
	REFUSED(KIND_INTERFACE, 0, "unknown parameter 'requirepass'",
	    "requirepass", "secret");
	REFUSED(KIND_REDIS, 0, "unknown parameter 'MAXMEMORY'",
	    "MAXMEMORY", "1mb");
	REFUSED(KIND_REDIS, 0, "unknown parameter ''", "", "x");
	memset(name, 'x', 100);
	name[100] = '\0';
	snprintf(buf, sizeof(buf), "unknown parameter '%.64s'", name);
	REFUSED(KIND_REDIS, 0, buf, name, "1");

	/* The other kind's. */
	REFUSED(KIND_REDIS, 0, "'servers' is not a parameter of kind redis",
	    "servers", "127.0.0.1:6379");
	REFUSED(KIND_INTERFACE, 0,
	    "'maxmemory' is not a parameter of kind interface",
	    "maxmemory", "1mb");

	/* Twice, even with the same value. */
	REFUSED(KIND_REDIS, 0, "'maxmemory' is given twice",
	    "maxmemory", "1mb", "timeout", "0", "maxmemory", "1mb");
	REFUSED(KIND_INTERFACE, 0, "'hash' is given twice",
	    "hash", "md5", "hash", "crc16", "servers", "127.0.0.1:1");

	/* Control characters, wherever they are. */
	REFUSED(KIND_REDIS, 0,
	    "the value of 'maxmemory' holds a control character",
	    "maxmemory", "1mb\n");
	REFUSED(KIND_REDIS, 0,
	    "the value of 'disable-command-list' holds a control character",
	    "disable-command-list", "flushall\nkeys");
	REFUSED(KIND_REDIS, 0,
	    "the value of 'save' holds a control character",
	    "save", "900\t1");
	REFUSED(KIND_REDIS, 0,
	    "the value of 'notify-keyspace-events' holds a control character",
	    "notify-keyspace-events", "KE\x7f");
	REFUSED(KIND_INTERFACE, 0,
	    "the value of 'servers' holds a control character",
	    "servers", "127.0.0.1:6379\r");
	REFUSED(KIND_REDIS, 0,
	    "the value of 'requirepass-file' holds a control character",
	    "requirepass-file", "/etc/\x01passwd");

	/* Start of an interface: servers are required; not for SetParams. */
	REFUSED(KIND_INTERFACE, 1,
	    "an interface needs servers=IP:PORT[:WEIGHT],...",
	    "hash", "md5");
	{
		const char *none[] = { NULL };
		const char *with[] = { "hash", "md5", "servers",
		    "127.0.0.1:6379", NULL };

		CU_ASSERT_EQUAL(checkv(KIND_INTERFACE, 1, &cause, none), -1);
		CU_ASSERT(tu_has(cause, "servers="));
		free(cause);
		CU_ASSERT_EQUAL(checkv(KIND_INTERFACE, 1, &cause, with), 0);
		CU_ASSERT_PTR_NULL(cause);
		CU_ASSERT_EQUAL(checkv(KIND_INTERFACE, 0, &cause, none + 0), 0);
		CU_ASSERT_EQUAL(checkv(KIND_INTERFACE, 0, &cause, with + 2), 0);
		/* A redis needs nothing. */
		CU_ASSERT_EQUAL(checkv(KIND_REDIS, 1, &cause, none), 0);
		CU_ASSERT_PTR_NULL(cause);
	}
}

static void
test_check_value_length(void)
{
	char	*v = xmalloc(8192), *cause = NULL;
	int	 i;

	/* 64 words of 63 letters, comma separated: exactly 4096 bytes. */
	for (i = 0; i < 64; i++) {
		memset(v + i * 64, 'a', 63);
		v[i * 64 + 63] = ',';
	}
	v[4096] = '\0';
	CU_ASSERT_EQUAL(strlen(v), 4096);
	CU_ASSERT_EQUAL(check1(KIND_REDIS, "disable-command-list", v, 0,
	    &cause), 0);
	free(cause);

	/* One more byte: refused for its length, before anything else. */
	v[4096] = 'a';
	v[4097] = '\0';
	CU_ASSERT_EQUAL(check1(KIND_REDIS, "disable-command-list", v, 0,
	    &cause), -1);
	CU_ASSERT_STRING_EQUAL(cause ? cause : "", "the value of "
	    "'disable-command-list' is longer than 4096 bytes");
	free(cause);
	memset(v, '1', 8000);
	v[8000] = '\0';
	CU_ASSERT_EQUAL(check1(KIND_REDIS, "maxmemory", v, 0, &cause), -1);
	CU_ASSERT_STRING_EQUAL(cause ? cause : "",
	    "the value of 'maxmemory' is longer than 4096 bytes");
	free(cause);

	/* A 64-letter command name, or 65 names, are not command lists. */
	memset(v, 'a', 64);
	v[64] = '\0';
	BAD(KIND_REDIS, "disable-command-list", v, NULL);
	for (i = 0; i < 65; i++) {
		v[i * 2] = 'a';
		v[i * 2 + 1] = ' ';
	}
	v[130] = '\0';
	BAD(KIND_REDIS, "disable-command-list", v, NULL);
	v[128] = '\0';			/* 64 names */
	GOOD(KIND_REDIS, "disable-command-list", v);

	/* bind takes 16 addresses, not 17. */
	v[0] = '\0';
	for (i = 0; i < 16; i++)
		strcat(v, "127.0.0.1 ");
	GOOD(KIND_REDIS, "bind", v);
	strcat(v, "127.0.0.1");
	BAD(KIND_REDIS, "bind", v, NULL);
	free(v);
}

/*
 * What params_check accepts must be what redis-server (7.x) reads: an
 * accepted value it refuses makes an instance that cannot start (save,
 * at the next restart) or a SetParams that fails half-way.  Redis reads
 * sizes as digits and a unit, integers as plain decimals (no '+', no
 * leading zeros), and save as space-separated pairs.
 */
static void
test_check_only_what_redis_reads(void)
{
	struct inst_files	 f;
	struct kvlist		 l = { 0, NULL };
	char			*cause = NULL, *text = NULL;

	BAD(KIND_REDIS, "maxmemory", "1.5gb", NULL);
	BAD(KIND_REDIS, "maxmemory", "0x10", NULL);
	BAD(KIND_REDIS, "maxmemory", "1e3", NULL);
	BAD(KIND_REDIS, "maxmemory", ".5k", NULL);
	BAD(KIND_REDIS, "timeout", "+5", NULL);
	BAD(KIND_REDIS, "timeout", "05", NULL);
	BAD(KIND_REDIS, "slowlog-log-slower-than", "-0", NULL);

	/* "900,1": refused, or written the way redis reads it. */
	if (check1(KIND_REDIS, "save", "900,1", 0, &cause) == 0) {
		memset(&f, 0, sizeof(f));
		f.name = "r";
		f.data_dir = "/d";
		f.log_path = "/l";
		f.cluster_conf = "/c";
		f.agent_pw = "a";
		f.probe_pw = "p";
		kv_set(&l, "save", "900,1");
		CU_ASSERT_EQUAL_FATAL(params_redis_conf(&f, &l, "127.0.0.1",
		    6379, "/nonexistent", &text, &cause), 0);
		if (!tu_has(text, "\nsave \"900 1\"\n"))
			fprintf(stderr, "\n  save=900,1 accepted and written "
			    "as: %.40s\n", strstr(text, "\nsave "));
		CU_ASSERT(tu_has(text, "\nsave \"900 1\"\n"));
		free(text);
		kv_clear(&l);
	}
	free(cause);
	cause = NULL;

	/* "-keys" would be written "--keys", which redis does not read. */
	if (check1(KIND_REDIS, "disable-command-list", "-keys", 0, &cause) ==
	    0) {
		kv_set(&l, "disable-command-list", "-keys");
		text = params_acl_default(&l);
		if (tu_has(text, "--keys"))
			fprintf(stderr, "\n  disable-command-list=-keys "
			    "accepted: '%s'\n", text);
		CU_ASSERT(!tu_has(text, "--keys"));
		free(text);
		kv_clear(&l);
	}
	free(cause);
}

static void
test_kind(void)
{
	CU_ASSERT_STRING_EQUAL(kind_name(KIND_REDIS), "redis");
	CU_ASSERT_STRING_EQUAL(kind_name(KIND_INTERFACE), "interface");
	CU_ASSERT_EQUAL(kind_parse("redis"), KIND_REDIS);
	CU_ASSERT_EQUAL(kind_parse("interface"), KIND_INTERFACE);
	CU_ASSERT_EQUAL(kind_parse("Redis"), -1);
	CU_ASSERT_EQUAL(kind_parse(""), -1);
	CU_ASSERT_EQUAL(kind_parse("nutcracker"), -1);
	CU_ASSERT_EQUAL(param_online("maxmemory"), 1);
	CU_ASSERT_EQUAL(param_online("save"), 0);
	CU_ASSERT_EQUAL(param_online("dir"), 0);
	CU_ASSERT_EQUAL(param_online("no-such"), 0);
}

/* ---- kvlist --------------------------------------------------------------- */

static void
test_kv(void)
{
	struct kvlist	l = { 0, NULL };

	CU_ASSERT_PTR_NULL(kv_get(&l, "a"));
	kv_del(&l, "a");		/* nothing to delete */
	kv_clear(&l);			/* nothing to clear */
	CU_ASSERT_EQUAL(l.n, 0);

	kv_set(&l, "a", "1");
	kv_set(&l, "b", "2");
	kv_set(&l, "c", "3");
	CU_ASSERT_EQUAL(l.n, 3);
	CU_ASSERT_STRING_EQUAL(kv_get(&l, "a"), "1");
	CU_ASSERT_STRING_EQUAL(kv_get(&l, "b"), "2");
	CU_ASSERT_STRING_EQUAL(kv_get(&l, "c"), "3");
	CU_ASSERT_PTR_NULL(kv_get(&l, "A"));
	CU_ASSERT_PTR_NULL(kv_get(&l, ""));

	/* Overwriting keeps one entry, in place. */
	kv_set(&l, "b", "two");
	CU_ASSERT_EQUAL(l.n, 3);
	CU_ASSERT_STRING_EQUAL(l.v[1].k, "b");
	CU_ASSERT_STRING_EQUAL(kv_get(&l, "b"), "two");
	kv_set(&l, "b", "");
	CU_ASSERT_STRING_EQUAL(kv_get(&l, "b"), "");
	CU_ASSERT_EQUAL(l.n, 3);

	/* The list owns copies. */
	{
		char k[] = "key", v[] = "val";

		kv_set(&l, k, v);
		k[0] = 'X';
		v[0] = 'X';
		CU_ASSERT_STRING_EQUAL(kv_get(&l, "key"), "val");
	}
	CU_ASSERT_EQUAL(l.n, 4);

	kv_del(&l, "a");
	CU_ASSERT_EQUAL(l.n, 3);
	CU_ASSERT_PTR_NULL(kv_get(&l, "a"));
	CU_ASSERT_STRING_EQUAL(kv_get(&l, "b"), "");
	CU_ASSERT_STRING_EQUAL(kv_get(&l, "c"), "3");
	CU_ASSERT_STRING_EQUAL(kv_get(&l, "key"), "val");
	kv_del(&l, "a");
	CU_ASSERT_EQUAL(l.n, 3);
	kv_del(&l, "key");		/* the last one */
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT_PTR_NULL(kv_get(&l, "key"));

	kv_clear(&l);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_PTR_NULL(l.v);
	CU_ASSERT_PTR_NULL(kv_get(&l, "b"));
	/* Usable again after a clear. */
	kv_set(&l, "z", "26");
	CU_ASSERT_STRING_EQUAL(kv_get(&l, "z"), "26");
	kv_del(&l, "z");
	CU_ASSERT_EQUAL(l.n, 0);
	kv_clear(&l);
}

/* ---- params_acl_default --------------------------------------------------- */

/* What the client-facing default user may never do, whatever the params. */
#define DENY	"-acl +acl|whoami -config -debug -module -shutdown -replicaof " \
	"-slaveof -failover -cluster|reset -cluster|failover -cluster|forget " \
	"-cluster|meet -cluster|replicate"

static void
acl_is(const char *list, const char *want, int line)
{
	struct kvlist	 l = { 0, NULL };
	char		*got;

	if (list != NULL)
		kv_set(&l, "disable-command-list", list);
	kv_set(&l, "maxmemory", "1mb");
	got = params_acl_default(&l);
	if (got == NULL || strcmp(got, want) != 0)
		fprintf(stderr, "\n  list '%s'\n  want '%s'\n  got  '%s'\n",
		    list ? list : "(none)", want, got ? got : "(null)");
	ASSERT_AT(got != NULL && strcmp(got, want) == 0, line,
	    "the ACL rules of the default user");
	free(got);
	kv_clear(&l);
}

static void
test_acl_default(void)
{
	acl_is(NULL, "+@all " DENY, __LINE__);
	acl_is("", "+@all " DENY, __LINE__);
	acl_is(" , ,", "+@all " DENY, __LINE__);
	acl_is("flushall", "+@all " DENY " -flushall", __LINE__);
	acl_is("flushall,flushdb keys", "+@all " DENY " -flushall -flushdb "
	    "-keys", __LINE__);
	acl_is("  debug ,, config|set  ", "+@all " DENY " -debug -config|set",
	    __LINE__);
}

/* ---- redis.conf ----------------------------------------------------------- */

struct fixture {
	char			*dir;		/* realpath of a scratch dir */
	char			*odd;		/* dir/d"q\b: quote, backslash */
	struct inst_files	 f;
	char			*pass_path, *mauth_path;
};

static void
fixture_init(struct fixture *x, const char *name, const char *pass,
    const char *mauth)
{
	char *tmp = tu_tmpdir(), real[PATH_MAX];

	memset(x, 0, sizeof(*x));
	/* redis reports its dir resolved: compare with a resolved path. */
	CU_ASSERT_FATAL(realpath(tmp, real) != NULL);
	free(tmp);
	x->dir = xstrdup(real);
	x->odd = tu_join(x->dir, "d\"q\\b");
	CU_ASSERT_FATAL(mkdir(x->odd, 0700) == 0);
	x->f.name = name;
	x->f.dir = xstrdup(x->odd);
	x->f.conf_path = tu_join(x->odd, "redis.conf");
	x->f.data_dir = tu_join(x->odd, "data");
	CU_ASSERT_FATAL(mkdir(x->f.data_dir, 0700) == 0);
	x->f.cluster_conf = tu_join(x->odd, "nodes.conf");
	x->f.proc_path = tu_join(x->odd, "proc");
	x->f.agent_pw_path = tu_join(x->odd, "agent.pass");
	x->f.probe_pw_path = tu_join(x->odd, "probe.pass");
	x->f.agent_pw = xstrdup("a0b1c2d3e4f5a0b1c2d3e4f5a0b1c2d3e4f5a0b1");
	x->f.probe_pw = xstrdup("99887766554433221100ffeeddccbbaa99887766");
	x->f.log_path = tu_join(x->odd, "redis.log");
	x->f.out_path = tu_join(x->odd, "redis.out");
	if (pass != NULL) {
		x->pass_path = tu_join(x->dir, "requirepass");
		tu_write(x->pass_path, pass, -1, 0600);
	}
	if (mauth != NULL) {
		x->mauth_path = tu_join(x->dir, "masterauth");
		tu_write(x->mauth_path, mauth, -1, 0600);
	}
}

static void
fixture_free(struct fixture *x)
{
	char *dir = x->dir;

	free(x->f.dir);
	free(x->f.conf_path);
	free(x->f.data_dir);
	free(x->f.cluster_conf);
	free(x->f.proc_path);
	free(x->f.agent_pw_path);
	free(x->f.probe_pw_path);
	free(x->f.agent_pw);
	free(x->f.probe_pw);
	free(x->f.log_path);
	free(x->f.out_path);
	free(x->odd);
	free(x->pass_path);
	free(x->mauth_path);
	tu_rmdir(dir);
	memset(x, 0, sizeof(*x));
}

/* Whether text holds line, as a whole line. */
#define HAS_LINE(text, line)	has_line_at((text), (line), __LINE__)
static void
has_line_at(const char *text, const char *line, int at)
{
	char	*want;
	int	 ok;

	xasprintf(&want, "\n%s\n", line);
	ok = tu_has(text, want);
	if (!ok)
		fprintf(stderr, "\n  missing line: %s\n", line);
	ASSERT_AT(ok, at, "the generated file holds the line");
	free(want);
}

/* The quoted form of s, as the product should write it (built here). */
static char *
quoted(const char *s)
{
	char	*q = xmalloc(strlen(s) * 2 + 3), *p = q;

	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

static void
test_redis_conf_text(void)
{
	struct fixture	 x;
	struct kvlist	 l = { 0, NULL };
	char		*text = NULL, *cause = NULL, *line, *q;

	/* A password and a masterauth with a quote and a backslash. */
	fixture_init(&x, "cache1", "p\"w\\x y\n", "m\"a\\z\n");
	kv_set(&l, "maxmemory", "100mb");
	kv_set(&l, "maxmemory-policy", "allkeys-lru");
	kv_set(&l, "disable-command-list", "flushall,keys config|set");
	kv_set(&l, "appendonly", "yes");
	kv_set(&l, "save", "900 1 300 10");
	kv_set(&l, "timeout", "300");
	kv_set(&l, "notify-keyspace-events", "KEA");
	kv_set(&l, "bind", "10.9.9.9");		/* the caller resolves bind */
	kv_set(&l, "requirepass-file", x.pass_path);
	kv_set(&l, "replicaof", "10.0.0.2 6380");
	kv_set(&l, "masterauth-file", x.mauth_path);
	kv_set(&l, "cluster-enabled", "no");
	CU_ASSERT_EQUAL_FATAL(params_redis_conf(&x.f, &l, "127.0.0.1 ::1",
	    6379, x.dir, &text, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_FATAL(text != NULL);

	CU_ASSERT(tu_starts(text, "# Written by ccagent for instance cache1;"));
	HAS_LINE(text, "port 6379");
	HAS_LINE(text, "bind 127.0.0.1 ::1");
	HAS_LINE(text, "daemonize no");
	HAS_LINE(text, "supervised no");
	/* The dir holds a quote and a backslash: escaped, exactly. */
	q = quoted(x.f.data_dir);
	xasprintf(&line, "dir %s", q);
	HAS_LINE(text, line);
	CU_ASSERT(tu_has(line, "/d\\\"q\\\\b/data\""));
	free(line);
	free(q);
	q = quoted(x.f.log_path);
	xasprintf(&line, "logfile %s", q);
	HAS_LINE(text, line);
	free(line);
	free(q);
	HAS_LINE(text, "appendonly yes");
	HAS_LINE(text, "save \"900 1 300 10\"");
	/* The online ones, quoted, in the list's order. */
	HAS_LINE(text, "maxmemory \"100mb\"");
	HAS_LINE(text, "maxmemory-policy \"allkeys-lru\"");
	HAS_LINE(text, "timeout \"300\"");
	HAS_LINE(text, "notify-keyspace-events \"KEA\"");
	CU_ASSERT(strstr(text, "\nmaxmemory \"") < strstr(text, "\ntimeout "));
	HAS_LINE(text, "replicaof 10.0.0.2 6380");
	HAS_LINE(text, "masterauth \"m\\\"a\\\\z\"");
	/* Users: the password is a quoted ">..." rule. */
	HAS_LINE(text, "user default on \">p\\\"w\\\\x y\" ~* &* +@all "
	    DENY " -flushall -keys -config|set");
	HAS_LINE(text, "user ccagent on "
	    ">a0b1c2d3e4f5a0b1c2d3e4f5a0b1c2d3e4f5a0b1 ~* &* +@all");
	HAS_LINE(text, "user ccprobe on "
	    ">99887766554433221100ffeeddccbbaa99887766 -@all +ping +info "
	    "+role +client|setname +auth +hello");
	/* Nothing else: not the agent's own params, not cluster, no bind param. */
	CU_ASSERT(!tu_has(text, "\ncluster"));
	CU_ASSERT(!tu_has(text, "disable-command-list"));
	CU_ASSERT(!tu_has(text, "requirepass"));
	CU_ASSERT(!tu_has(text, "-file"));
	CU_ASSERT(!tu_has(text, x.pass_path));
	CU_ASSERT(!tu_has(text, "10.9.9.9"));
	CU_ASSERT(!tu_has(text, "nopass"));
	/* Every line ends; nothing is cut. */
	CU_ASSERT(text[strlen(text) - 1] == '\n');
	free(text);
	kv_clear(&l);

	/* The defaults: nopass, appendonly no, save "", no replica. */
	kv_set(&l, "cluster-enabled", "yes");
	kv_set(&l, "maxmemory", "1k\"\\");	/* not checked here: quoted */
	CU_ASSERT_EQUAL_FATAL(params_redis_conf(&x.f, &l, "0.0.0.0", 43210,
	    x.dir, &text, &cause), 0);
	HAS_LINE(text, "port 43210");
	HAS_LINE(text, "bind 0.0.0.0");
	HAS_LINE(text, "appendonly no");
	HAS_LINE(text, "save \"\"");
	HAS_LINE(text, "maxmemory \"1k\\\"\\\\\"");
	HAS_LINE(text, "cluster-enabled yes");
	q = quoted(x.f.cluster_conf);
	xasprintf(&line, "cluster-config-file %s", q);
	HAS_LINE(text, line);
	free(line);
	free(q);
	HAS_LINE(text, "user default on nopass ~* &* +@all " DENY);
	CU_ASSERT(!tu_has(text, "\nreplicaof"));
	CU_ASSERT(!tu_has(text, "masterauth"));
	free(text);
	kv_clear(&l);
	fixture_free(&x);
}

static void
conf_fails(const struct fixture *x, const char *k, const char *path,
    const char *want, int line)
{
	struct kvlist	 l = { 0, NULL };
	char		*text = NULL, *cause = NULL;
	int		 rv;

	/* A good requirepass first: the masterauth failure must free it. */
	if (strcmp(k, "masterauth-file") == 0)
		kv_set(&l, "requirepass-file", x->pass_path);
	kv_set(&l, k, path);
	rv = params_redis_conf(&x->f, &l, "127.0.0.1", 6379, x->dir, &text,
	    &cause);
	if (rv != -1 || !tu_starts(cause, k) || !tu_has(cause, want))
		fprintf(stderr, "\n  %s=%s: rv %d, cause %s\n", k, path, rv,
		    cause ? cause : "(null)");
	ASSERT_AT(rv == -1, line, "a bad secret file fails the config");
	ASSERT_AT(tu_starts(cause, k) && tu_has(cause, want), line,
	    "the cause names the param and the problem");
	ASSERT_AT(text == NULL, line, "no text on failure");
	free(text);
	free(cause);
	kv_clear(&l);
}

static void
test_redis_conf_bad_secrets(void)
{
	struct fixture	 x;
	char		*empty, *two, *ctl, *missing, *big;
	char		 buf[2000];

	fixture_init(&x, "r", "good", NULL);
	empty = tu_join(x.dir, "empty");
	two = tu_join(x.dir, "two");
	ctl = tu_join(x.dir, "ctl");
	missing = tu_join(x.dir, "missing");
	big = tu_join(x.dir, "big");
	tu_write(empty, " \n\n", -1, 0600);
	tu_write(two, "line1\nline2\n", -1, 0600);
	tu_write(ctl, "pa\tss", -1, 0600);
	memset(buf, 'x', sizeof(buf));
	tu_write(big, buf, sizeof(buf), 0600);

	conf_fails(&x, "requirepass-file", empty, "is empty", __LINE__);
	conf_fails(&x, "requirepass-file", two, "more than one line", __LINE__);
	conf_fails(&x, "requirepass-file", ctl, "control character", __LINE__);
	conf_fails(&x, "requirepass-file", missing, "not a file in secrets-dir",
	    __LINE__);
	conf_fails(&x, "requirepass-file", big, "over 1 KiB", __LINE__);
	conf_fails(&x, "masterauth-file", two, "more than one line", __LINE__);
	conf_fails(&x, "masterauth-file", missing, "not a file in secrets-dir",
	    __LINE__);
	{
		struct kvlist	 l = { 0, NULL };
		char		*text = NULL, *cause = NULL;

		kv_set(&l, "servers", "127.0.0.1:6379");
		kv_set(&l, "redis-auth-file", two);
		CU_ASSERT_EQUAL(params_nutcracker_yaml(&x.f, &l, "127.0.0.1",
		    22121, x.dir, &text, &cause), -1);
		CU_ASSERT(tu_starts(cause, "redis-auth-file: "));
		CU_ASSERT_PTR_NULL(text);
		free(cause);
		kv_clear(&l);
	}
	free(empty);
	free(two);
	free(ctl);
	free(missing);
	free(big);
	fixture_free(&x);
}

/* ---- a real redis-server reads it back ------------------------------------ */

static int
in_path(const char *prog)
{
	const char	*path = getenv("PATH");
	char		*copy, *dir, *save = NULL, *full;
	int		 found = 0;

	if (path == NULL)
		return 0;
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		full = tu_join(dir, prog);
		found = access(full, X_OK) == 0;
		free(full);
	}
	free(copy);
	return found;
}

/* A free loopback port in 43000-43999 (bound once to be sure). */
static int
free_port(void)
{
	static int		 next = -1;
	struct sockaddr_in	 sin;
	int			 fd, i, port, ok;

	if (next == -1)
		next = (int)((unsigned)getpid() * 7919u % 1000u);
	for (i = 0; i < 1000; i++) {
		port = 43000 + (next++ % 1000);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			continue;
		ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	return -1;
}

/* Runs argv with stdout and stderr into out; returns the pid. */
static pid_t
spawn(char *const argv[], const char *out)
{
	pid_t	pid;
	int	fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits up to ms for pid to exit; kills it past that.  Its status. */
static int
reap(pid_t pid, long ms)
{
	int	status = -1;
	long	waited;

	for (waited = 0; waited < ms; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static void
dump_file(const char *what, const char *path)
{
	char *cause = NULL, *s = read_small_file(path, 1 << 20, 0, NULL, &cause);

	fprintf(stderr, "\n--- %s (%s) ---\n%s\n---\n", what, path,
	    s ? s : cause);
	free(s);
	free(cause);
}

struct live {
	pid_t		 pid;
	int		 port;
	redisContext	*c;
};

/*
 * Writes the config for l (port chosen here), starts redis-server on it,
 * and connects.  0, or -1 (failed: logs shown).
 */
static int
live_start(struct fixture *x, struct kvlist *l, struct live *lv)
{
	char		*text = NULL, *cause = NULL, *argv[3];
	int		 attempt, status;
	long		 waited;
	redisReply	*r;

	memset(lv, 0, sizeof(*lv));
	for (attempt = 0; attempt < 3; attempt++) {
		lv->port = free_port();
		CU_ASSERT_FATAL(lv->port > 0);
		text = NULL;
		CU_ASSERT_FATAL(params_redis_conf(&x->f, l, "127.0.0.1",
		    lv->port, x->dir, &text, &cause) == 0);
		tu_write(x->f.conf_path, text, -1, 0600);
		free(text);
		argv[0] = "redis-server";
		argv[1] = x->f.conf_path;
		argv[2] = NULL;
		lv->pid = spawn(argv, x->f.out_path);
		CU_ASSERT_FATAL(lv->pid > 0);
		for (waited = 0; waited < 3000; waited += 10) {
			if (waitpid(lv->pid, &status, WNOHANG) == lv->pid) {
				lv->pid = 0;
				break;
			}
			if ((lv->c = redisConnect("127.0.0.1", lv->port)) !=
			    NULL && lv->c->err == 0) {
				/* Up, and it is ours: it answers (or NOAUTH). */
				r = redisCommand(lv->c, "PING");
				if (r != NULL) {
					freeReplyObject(r);
					return 0;
				}
			}
			if (lv->c != NULL)
				redisFree(lv->c);
			lv->c = NULL;
			sleep_ms(10);
		}
		if (lv->pid != 0) {
			reap(lv->pid, 0);
			lv->pid = 0;
		}
		/* Someone took the port meanwhile: try another. */
		{
			char *log = read_small_file(x->f.log_path, 1 << 20, 0,
			    NULL, &cause);
			int busy = tu_has(log, "Address already in use");

			free(log);
			free(cause);
			cause = NULL;
			if (!busy)
				break;
		}
	}
	dump_file("redis.conf", x->f.conf_path);
	dump_file("redis log", x->f.log_path);
	dump_file("redis stdout", x->f.out_path);
	CU_FAIL("redis-server did not start with the generated config");
	return -1;
}

static void
live_stop(struct live *lv)
{
	redisReply	*r;
	int		 status;

	if (lv->c != NULL) {
		r = redisCommand(lv->c, "AUTH %s %s", AGENT_USER,
		    "a0b1c2d3e4f5a0b1c2d3e4f5a0b1c2d3e4f5a0b1");
		freeReplyObject(r);
		r = redisCommand(lv->c, "SHUTDOWN NOSAVE");
		freeReplyObject(r);	/* NULL: the connection closed */
		redisFree(lv->c);
		lv->c = NULL;
	}
	if (lv->pid > 0) {
		status = reap(lv->pid, 3000);
		CU_ASSERT(status != -1);
		lv->pid = 0;
	}
}

/* A reply's text (status, string or error), or "" */
static const char *
rtext(const redisReply *r)
{
	if (r == NULL)
		return "(no reply)";
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
	    r->type == REDIS_REPLY_ERROR)
		return r->str;
	return "";
}

/* Runs a command (format, args) and checks its reply starts with want. */
#define EXPECT(c, want, ...)	expect_at(__LINE__, (c), (want), __VA_ARGS__)
static void
expect_at(int line, redisContext *c, const char *want, const char *fmt, ...)
{
	va_list		 ap;
	redisReply	*r;
	int		 ok;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	ok = tu_starts(rtext(r), want);
	if (!ok)
		fprintf(stderr, "\n  %s: want '%s', got '%s'\n", fmt, want,
		    rtext(r));
	ASSERT_AT(ok, line, "the reply redis gives");
	freeReplyObject(r);
}

/* CONFIG GET name, malloc'd; NULL when absent. */
static char *
config_get(redisContext *c, const char *name)
{
	redisReply	*r = redisCommand(c, "CONFIG GET %s", name);
	char		*v = NULL;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING)
		v = xstrdup(r->element[1]->str);
	freeReplyObject(r);
	return v;
}

#define CONFIG_IS(c, name, want)	config_is_at(__LINE__, (c), (name), (want))
static void
config_is_at(int line, redisContext *c, const char *name, const char *want)
{
	char	*v = config_get(c, name);
	int	 ok = v != NULL && strcmp(v, want) == 0;

	if (!ok)
		fprintf(stderr, "\n  CONFIG GET %s: want '%s', got '%s'\n",
		    name, want, v ? v : "(none)");
	ASSERT_AT(ok, line, "redis read the parameter as given");
	free(v);
}

/* The "commands" field of ACL GETUSER user. */
static char *
acl_commands(redisContext *c, const char *user)
{
	redisReply	*r = redisCommand(c, "ACL GETUSER %s", user);
	char		*v = NULL;
	size_t		 i;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY)
		for (i = 0; i + 1 < r->elements; i += 2)
			if (r->element[i]->type == REDIS_REPLY_STRING &&
			    strcmp(r->element[i]->str, "commands") == 0 &&
			    r->element[i + 1]->type == REDIS_REPLY_STRING)
				v = xstrdup(r->element[i + 1]->str);
	freeReplyObject(r);
	return v;
}

static void
test_redis_conf_live(void)
{
	static const char	 pw[] = "p\"w\\x y";
	static const char	 mauth[] = "m\"a\\z";
	struct fixture		 x;
	struct kvlist		 l = { 0, NULL };
	struct live		 lv;
	redisReply		*r;
	char			*v, *pwfile, *mfile, replicaof[64];
	char			 portbuf[16];
	int			 master;

	if (!in_path("redis-server")) {
		fprintf(stderr, "(redis-server not in PATH: skipped) ");
		return;
	}
	xasprintf(&pwfile, "%s\n", pw);
	xasprintf(&mfile, "%s\n", mauth);
	fixture_init(&x, "live1", pwfile, mfile);
	free(pwfile);
	free(mfile);
	/* A master nobody listens on: the replica just keeps trying. */
	master = free_port();
	snprintf(replicaof, sizeof(replicaof), "127.0.0.1 %d", master);

	kv_set(&l, "maxmemory", "100mb");
	kv_set(&l, "maxmemory-policy", "allkeys-lru");
	kv_set(&l, "slowlog-log-slower-than", "5000");
	kv_set(&l, "timeout", "300");
	kv_set(&l, "notify-keyspace-events", "KEA");
	kv_set(&l, "hash-max-ziplist-entries", "256");
	kv_set(&l, "hash-max-ziplist-value", "32");
	kv_set(&l, "zset-max-ziplist-entries", "100");
	kv_set(&l, "zset-max-ziplist-value", "48");
	kv_set(&l, "set-max-intset-entries", "1000");
	kv_set(&l, "disable-command-list", "flushall,keys config|set");
	kv_set(&l, "appendonly", "yes");
	kv_set(&l, "save", "900 1 300 10");
	kv_set(&l, "requirepass-file", x.pass_path);
	kv_set(&l, "replicaof", replicaof);
	kv_set(&l, "masterauth-file", x.mauth_path);
	if (live_start(&x, &l, &lv) == -1)
		goto out;

	/* Unauthenticated: the default user has a password now. */
	EXPECT(lv.c, "NOAUTH", "GET k");
	EXPECT(lv.c, "WRONGPASS", "AUTH %s", "p\\\"w\\\\x y");
	EXPECT(lv.c, "OK", "AUTH %s", pw);
	EXPECT(lv.c, "default", "ACL WHOAMI");
	EXPECT(lv.c, "NOPERM", "FLUSHALL");
	EXPECT(lv.c, "NOPERM", "KEYS *");
	EXPECT(lv.c, "NOPERM", "CONFIG SET timeout 1");
	/* Never the default user's, whatever the params. */
	EXPECT(lv.c, "NOPERM", "CONFIG GET dir");
	EXPECT(lv.c, "NOPERM", "ACL SETUSER ccagent off");
	EXPECT(lv.c, "NOPERM", "ACL LIST");
	EXPECT(lv.c, "NOPERM", "MODULE LIST");
	EXPECT(lv.c, "NOPERM", "SHUTDOWN NOSAVE");
	EXPECT(lv.c, "NOPERM", "REPLICAOF NO ONE");
	EXPECT(lv.c, "NOPERM", "SLAVEOF NO ONE");
	EXPECT(lv.c, "NOPERM", "FAILOVER ABORT");
	r = redisCommand(lv.c, "GET k");
	CU_ASSERT(r != NULL && r->type == REDIS_REPLY_NIL);
	freeReplyObject(r);

	/* The agent's user sees everything. */
	EXPECT(lv.c, "WRONGPASS", "AUTH %s %s", AGENT_USER, "nope");
	EXPECT(lv.c, "OK", "AUTH %s %s", AGENT_USER, x.f.agent_pw);
	EXPECT(lv.c, AGENT_USER, "ACL WHOAMI");
	v = acl_commands(lv.c, "default");
	CU_ASSERT(tu_starts(v, "+@all"));
	CU_ASSERT(tu_has(v, "-flushall"));
	CU_ASSERT(tu_has(v, "-keys"));
	CU_ASSERT(tu_has(v, "-config"));
	CU_ASSERT(tu_has(v, "-acl"));
	free(v);
	snprintf(portbuf, sizeof(portbuf), "%d", lv.port);
	CONFIG_IS(lv.c, "port", portbuf);
	CONFIG_IS(lv.c, "bind", "127.0.0.1");
	CONFIG_IS(lv.c, "dir", x.f.data_dir);
	CONFIG_IS(lv.c, "logfile", x.f.log_path);
	CONFIG_IS(lv.c, "appendonly", "yes");
	CONFIG_IS(lv.c, "save", "900 1 300 10");
	CONFIG_IS(lv.c, "maxmemory", "104857600");
	CONFIG_IS(lv.c, "maxmemory-policy", "allkeys-lru");
	CONFIG_IS(lv.c, "slowlog-log-slower-than", "5000");
	CONFIG_IS(lv.c, "timeout", "300");
	CONFIG_IS(lv.c, "notify-keyspace-events", "AKE");
	CONFIG_IS(lv.c, "hash-max-ziplist-entries", "256");
	CONFIG_IS(lv.c, "hash-max-ziplist-value", "32");
	CONFIG_IS(lv.c, "zset-max-ziplist-entries", "100");
	CONFIG_IS(lv.c, "zset-max-ziplist-value", "48");
	CONFIG_IS(lv.c, "set-max-intset-entries", "1000");
	CONFIG_IS(lv.c, "masterauth", mauth);
	CONFIG_IS(lv.c, "cluster-enabled", "no");
	r = redisCommand(lv.c, "ROLE");
	CU_ASSERT(r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements >= 3 && strcmp(rtext(r->element[0]), "slave") == 0 &&
	    strcmp(rtext(r->element[1]), "127.0.0.1") == 0 &&
	    r->element[2]->type == REDIS_REPLY_INTEGER &&
	    r->element[2]->integer == master);
	freeReplyObject(r);
	v = acl_commands(lv.c, AGENT_USER);
	CU_ASSERT(v != NULL && strcmp(v, "+@all") == 0);
	free(v);

	/* The probe user: PING, INFO, ROLE, CLIENT SETNAME, and no more. */
	EXPECT(lv.c, "OK", "AUTH %s %s", PROBE_USER, x.f.probe_pw);
	EXPECT(lv.c, "PONG", "PING");
	EXPECT(lv.c, "# Server", "INFO server");
	EXPECT(lv.c, "OK", "CLIENT SETNAME ccmonitor-probe");
	r = redisCommand(lv.c, "ROLE");
	CU_ASSERT(r != NULL && r->type == REDIS_REPLY_ARRAY);
	freeReplyObject(r);
	EXPECT(lv.c, "NOPERM", "GET k");
	EXPECT(lv.c, "NOPERM", "CONFIG GET maxmemory");
	EXPECT(lv.c, "NOPERM", "CLIENT LIST");
	EXPECT(lv.c, "NOPERM", "SHUTDOWN NOSAVE");
	EXPECT(lv.c, "NOPERM", "ACL WHOAMI");
out:
	live_stop(&lv);
	kv_clear(&l);
	fixture_free(&x);
}

static void
test_redis_conf_live_cluster(void)
{
	struct fixture	 x;
	struct kvlist	 l = { 0, NULL };
	struct live	 lv;
	redisReply	*r;
	struct stat	 st;

	if (!in_path("redis-server")) {
		fprintf(stderr, "(redis-server not in PATH: skipped) ");
		return;
	}
	fixture_init(&x, "live2", NULL, NULL);
	kv_set(&l, "cluster-enabled", "yes");
	kv_set(&l, "save", "");
	kv_set(&l, "disable-command-list", "flushdb");
	if (live_start(&x, &l, &lv) == -1)
		goto out;
	/* No requirepass: the default user needs none. */
	EXPECT(lv.c, "default", "ACL WHOAMI");
	EXPECT(lv.c, "NOPERM", "FLUSHDB");
	r = redisCommand(lv.c, "CLUSTER MYID");
	CU_ASSERT(r != NULL && r->type == REDIS_REPLY_STRING &&
	    r->len == 40);
	freeReplyObject(r);
	EXPECT(lv.c, "OK", "AUTH %s %s", AGENT_USER, x.f.agent_pw);
	CONFIG_IS(lv.c, "cluster-enabled", "yes");
	CONFIG_IS(lv.c, "cluster-config-file", x.f.cluster_conf);
	CONFIG_IS(lv.c, "save", "");
	CONFIG_IS(lv.c, "appendonly", "no");
	CU_ASSERT(stat(x.f.cluster_conf, &st) == 0);
out:
	live_stop(&lv);
	kv_clear(&l);
	fixture_free(&x);
}

/* ---- nutcracker.yml ------------------------------------------------------- */

/* `nutcracker -t -c path`: 0 when it says the syntax is ok. */
static int
nutcracker_test(const char *path, const char *out)
{
	char	*argv[] = { "nutcracker", "-t", "-c", (char *)path, NULL };
	char	*text, *cause = NULL;
	pid_t	 pid = spawn(argv, out);
	int	 status = reap(pid, 3000), ok;

	text = read_small_file(out, 1 << 20, 0, NULL, &cause);
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    tu_has(text, "syntax is ok");
	if (!ok) {
		dump_file("nutcracker.yml", path);
		fprintf(stderr, "--- nutcracker -t ---\n%s\n", text ? text :
		    cause);
	}
	free(text);
	free(cause);
	return ok ? 0 : -1;
}

static void
test_nutcracker_yaml(void)
{
	struct fixture	 x;
	struct kvlist	 l = { 0, NULL };
	char		*text = NULL, *cause = NULL, *path, *out;
	int		 have = in_path("nutcracker");

	fixture_init(&x, "proxy1", "r\"a\\b c\n", NULL);
	path = tu_join(x.dir, "nutcracker.yml");
	out = tu_join(x.dir, "nutcracker.out");

	/* Defaults; a weightless server gets ":1", a weighted one keeps it. */
	kv_set(&l, "servers", "127.0.0.1:6379,10.0.0.2:6380:5 10.0.0.3:6381");
	CU_ASSERT_EQUAL_FATAL(params_nutcracker_yaml(&x.f, &l, "127.0.0.1",
	    22121, x.dir, &text, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT(tu_starts(text, "# Written by ccagent for instance proxy1;"));
	HAS_LINE(text, "\"proxy1\":");
	HAS_LINE(text, "  listen: 127.0.0.1:22121");
	HAS_LINE(text, "  hash: fnv1a_64");
	HAS_LINE(text, "  distribution: ketama");
	HAS_LINE(text, "  redis: true");
	HAS_LINE(text, "  auto_eject_hosts: false");
	HAS_LINE(text, "  timeout: 400");
	HAS_LINE(text, "  servers:");
	HAS_LINE(text, "   - 127.0.0.1:6379:1");
	HAS_LINE(text, "   - 10.0.0.2:6380:5");
	HAS_LINE(text, "   - 10.0.0.3:6381:1");
	CU_ASSERT(!tu_has(text, "redis_auth"));
	CU_ASSERT(strstr(text, "127.0.0.1:6379:1") <
	    strstr(text, "10.0.0.3:6381:1"));
	if (have) {
		tu_write(path, text, -1, 0600);
		CU_ASSERT(nutcracker_test(path, out) == 0);
	}
	free(text);
	kv_clear(&l);

	/* Values given; the auth password with a quote and a backslash. */
	kv_set(&l, "servers", "127.0.0.1:7000:1");
	kv_set(&l, "hash", "murmur");
	kv_set(&l, "distribution", "modula");
	kv_set(&l, "server-timeout", "2500");
	kv_set(&l, "redis-auth-file", x.pass_path);
	kv_set(&l, "stats-port", "22222");
	kv_set(&l, "bind", "10.9.9.9");
	CU_ASSERT_EQUAL_FATAL(params_nutcracker_yaml(&x.f, &l, "127.0.0.2",
	    43001, x.dir, &text, &cause), 0);
	HAS_LINE(text, "  listen: 127.0.0.2:43001");
	HAS_LINE(text, "  hash: murmur");
	HAS_LINE(text, "  distribution: modula");
	HAS_LINE(text, "  timeout: 2500");
	HAS_LINE(text, "  redis_auth: \"r\\\"a\\\\b c\"");
	HAS_LINE(text, "   - 127.0.0.1:7000:1");
	CU_ASSERT(!tu_has(text, "7000:1:1"));
	CU_ASSERT(!tu_has(text, "22222"));
	CU_ASSERT(!tu_has(text, "10.9.9.9"));
	CU_ASSERT(!tu_has(text, x.pass_path));
	if (have) {
		tu_write(path, text, -1, 0600);
		CU_ASSERT(nutcracker_test(path, out) == 0);
	} else
		fprintf(stderr, "(nutcracker not in PATH: -t skipped) ");
	free(text);
	kv_clear(&l);

	free(path);
	free(out);
	fixture_free(&x);
}

/*
 * An IPv6 server params_check accepts must make a file nutcracker takes:
 * either refused up front, or written the way nutcracker reads it.
 */
static void
test_nutcracker_ipv6_server(void)
{
	static const char *const servers[] = { "[::1]:6379", "[::1]:6379:2" };
	struct fixture	 x;
	struct kvlist	 l = { 0, NULL };
	char		*text = NULL, *cause = NULL, *path, *out;
	size_t		 i;
	int		 ok;

	if (!in_path("nutcracker")) {
		fprintf(stderr, "(nutcracker not in PATH: skipped) ");
		return;
	}
	fixture_init(&x, "proxy6", NULL, NULL);
	path = tu_join(x.dir, "nutcracker.yml");
	out = tu_join(x.dir, "nutcracker.out");
	for (i = 0; i < nitems(servers); i++) {
		if (check1(KIND_INTERFACE, "servers", servers[i], 1, &cause) ==
		    -1) {
			free(cause);
			cause = NULL;
			continue;
		}
		kv_set(&l, "servers", servers[i]);
		CU_ASSERT_EQUAL_FATAL(params_nutcracker_yaml(&x.f, &l,
		    "127.0.0.1", 22121, x.dir, &text, &cause), 0);
		tu_write(path, text, -1, 0600);
		ok = nutcracker_test(path, out) == 0;
		if (!ok)
			fprintf(stderr, "  servers=%s passed params_check\n",
			    servers[i]);
		CU_ASSERT(ok);
		free(text);
		kv_clear(&l);
	}
	free(path);
	free(out);
	fixture_free(&x);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_kind),
		TU_TEST(test_check_every_param),
		TU_TEST(test_check_unreadable_file),
		TU_TEST(test_check_file_is_a_file),
		TU_TEST(test_check_secrets_dir),
		TU_TEST(test_check_refusals),
		TU_TEST(test_check_value_length),
		TU_TEST(test_check_only_what_redis_reads),
		TU_TEST(test_kv),
		TU_TEST(test_acl_default),
		TU_TEST(test_redis_conf_text),
		TU_TEST(test_redis_conf_bad_secrets),
		TU_TEST(test_redis_conf_live),
		TU_TEST(test_redis_conf_live_cluster),
		TU_TEST(test_nutcracker_yaml),
		TU_TEST(test_nutcracker_ipv6_server),
	};

	/* A replica's master, and a killed child, must not stop the suite. */
	signal(SIGPIPE, SIG_IGN);
	return tu_main("params", tests, nitems(tests));
}
