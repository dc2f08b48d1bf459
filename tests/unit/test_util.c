/*
 * test_util.c: unit parsing, addresses, names and small durable files
 * (common/util.c).
 */
#include "config.h"

#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "testutil.h"

static void
test_duration(void)
{
	static const struct {
		const char	*s;
		uint64_t	 ms;
	} ok[] = {
		{ "500ms", 500 }, { "5s", 5000 }, { "1m", 60000 },
		{ "1h", 3600000 }, { "1d", 86400000 }, { "0s", 0 },
		{ "1.5s", 1500 }, { "0.25s", 250 }, { "2H", 7200000 },
		{ "90m", 5400000 }, { "100000d", 8640000000000ULL },
	};
	static const char *const bad[] = {
		"", "s", "ms", "-1s", "+1s", "5x", "5 s", " 5s", "5s ", "1e400",
		"abc", "5sec", "nan", "inf", "1ss", "99999999999999999999d",
		"5", "0", "0.25",	/* no unit: seconds or milliseconds? */
	};
	uint64_t	v;
	size_t		i;

	for (i = 0; i < nitems(ok); i++) {
		v = 12345;
		CU_ASSERT_EQUAL(parse_duration_ms(ok[i].s, &v), 0);
		if (v != ok[i].ms)
			fprintf(stderr, "\n  parse_duration_ms(\"%s\") = %llu",
			    ok[i].s, (unsigned long long)v);
		CU_ASSERT_EQUAL(v, ok[i].ms);
	}
	for (i = 0; i < nitems(bad); i++) {
		if (parse_duration_ms(bad[i], &v) != -1) {
			fprintf(stderr, "\n  parse_duration_ms(\"%s\") accepted",
			    bad[i]);
			CU_FAIL("a bad duration was accepted");
		}
	}
}

static void
test_size(void)
{
	static const struct {
		const char	*s;
		uint64_t	 n;
	} ok[] = {
		{ "512", 512 }, { "0", 0 }, { "4k", 4000 }, { "4kb", 4096 },
		{ "4KB", 4096 }, { "4m", 4000000 }, { "4mb", 4194304 },
		{ "1g", 1000000000 }, { "1gb", 1073741824 }, { "1.5kb", 1536 },
		{ "10b", 10 }, { "64gb", 68719476736ULL },
	};
	static const char *const bad[] = {
		"", "kb", "-1", "+1", "4kbb", "4 kb", "4x", "1.3kb", "0.5",
		"abc", "1e30gb", " 4k",
	};
	uint64_t	v;
	size_t		i;

	for (i = 0; i < nitems(ok); i++) {
		v = 12345;
		CU_ASSERT_EQUAL(parse_size(ok[i].s, &v), 0);
		if (v != ok[i].n)
			fprintf(stderr, "\n  parse_size(\"%s\") = %llu", ok[i].s,
			    (unsigned long long)v);
		CU_ASSERT_EQUAL(v, ok[i].n);
	}
	for (i = 0; i < nitems(bad); i++) {
		if (parse_size(bad[i], &v) != -1) {
			fprintf(stderr, "\n  parse_size(\"%s\") accepted", bad[i]);
			CU_FAIL("a bad size was accepted");
		}
	}
}

static void
test_ll_double(void)
{
	long long	ll;
	double		d;

	CU_ASSERT(parse_ll("42", &ll) == 0 && ll == 42);
	CU_ASSERT(parse_ll("-42", &ll) == 0 && ll == -42);
	CU_ASSERT(parse_ll("9223372036854775807", &ll) == 0);
	CU_ASSERT_EQUAL(parse_ll("9223372036854775808", &ll), -1);
	CU_ASSERT_EQUAL(parse_ll("", &ll), -1);
	CU_ASSERT_EQUAL(parse_ll(" 1", &ll), -1);
	CU_ASSERT_EQUAL(parse_ll("1 ", &ll), -1);
	CU_ASSERT_EQUAL(parse_ll("1x", &ll), -1);
	CU_ASSERT(parse_double("2.5", &d) == 0 && d == 2.5);
	CU_ASSERT_EQUAL(parse_double("nan", &d), -1);
	CU_ASSERT_EQUAL(parse_double("inf", &d), -1);
	CU_ASSERT_EQUAL(parse_double("1e999", &d), -1);
	CU_ASSERT_EQUAL(parse_double("", &d), -1);
	CU_ASSERT_EQUAL(parse_double("2.5x", &d), -1);
}

static void
test_hostport(void)
{
	static const char *const bad[] = {
		"localhost:6379", "redis.example.com:6379", "127.0.0.1",
		"127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:abc", "127.0.0.1:80x", ":6379", "[::1]", "[::1]:",
		"[]:80", "[::1:80", "::1]:80", "1.2.3:80", "256.1.1.1:80",
		"[localhost]:80", "", ":", "127.0.0.1: 80",
	};
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;
	const char		*cause;
	char			 buf[64];
	size_t			 i;

	CU_ASSERT_EQUAL_FATAL(parse_hostport("127.0.0.1:6379", &ss, &len,
	    &cause), 0);
	CU_ASSERT_EQUAL(sin->sin_family, AF_INET);
	CU_ASSERT_EQUAL(ntohs(sin->sin_port), 6379);
	CU_ASSERT_EQUAL(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	CU_ASSERT_EQUAL(len, sizeof(struct sockaddr_in));
	CU_ASSERT_STRING_EQUAL(fmt_addr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "127.0.0.1:6379");
	CU_ASSERT_TRUE(addr_is_loopback((struct sockaddr *)&ss));

	CU_ASSERT_EQUAL_FATAL(parse_hostport("[::1]:6380", &ss, &len,
	    &cause), 0);
	CU_ASSERT_EQUAL(sin6->sin6_family, AF_INET6);
	CU_ASSERT_EQUAL(ntohs(sin6->sin6_port), 6380);
	CU_ASSERT_EQUAL(len, sizeof(struct sockaddr_in6));
	CU_ASSERT_STRING_EQUAL(fmt_addr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "[::1]:6380");
	CU_ASSERT_TRUE(addr_is_loopback((struct sockaddr *)&ss));

	CU_ASSERT_EQUAL(parse_hostport("[fe80::1:2]:65535", &ss, &len,
	    &cause), 0);
	CU_ASSERT_FALSE(addr_is_loopback((struct sockaddr *)&ss));
	CU_ASSERT_EQUAL(parse_hostport("10.1.2.3:1", &ss, &len, &cause), 0);
	CU_ASSERT_FALSE(addr_is_loopback((struct sockaddr *)&ss));
	CU_ASSERT_EQUAL(parse_hostport("127.9.9.9:1", &ss, &len, &cause), 0);
	CU_ASSERT_TRUE(addr_is_loopback((struct sockaddr *)&ss));

	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		if (parse_hostport(bad[i], &ss, &len, &cause) != -1) {
			fprintf(stderr, "\n  parse_hostport(\"%s\") accepted",
			    bad[i]);
			CU_FAIL("a bad IP:PORT was accepted");
		} else
			CU_ASSERT_PTR_NOT_NULL(cause);
	}
	cause = NULL;
	parse_hostport("localhost:6379", &ss, &len, &cause);
	CU_ASSERT(tu_has(cause, "IP address"));
	parse_hostport("127.0.0.1:0", &ss, &len, &cause);
	CU_ASSERT(tu_has(cause, "port"));

	CU_ASSERT_EQUAL(parse_ip("::ffff:1.2.3.4", 5, &ss, &len), 0);
	CU_ASSERT_EQUAL(parse_ip("nope", 5, &ss, &len), -1);
}

static void
test_time(void)
{
	static const struct {
		const char	*s;
		int64_t		 ms;
	} ok[] = {
		{ "1795638993", 1795638993000LL },
		{ "1795638993.5", 1795638993500LL },
		{ "0", 0 },
		{ "2026-11-25T20:36:33Z", 1795638993000LL },
		{ "2026-11-25t20:36:33z", 1795638993000LL },
		{ "2026-11-25 20:36:33Z", 1795638993000LL },
		{ "2026-11-25T20:36:33.5Z", 1795638993500LL },
		{ "2026-11-25T20:36:33.123Z", 1795638993123LL },
		{ "2026-11-25T20:36:33.5+08:00", 1795610193500LL },
		{ "2026-11-25T20:36:33-05:30", 1795658793000LL },
		{ "2026-11-25T20:36:33+00:00", 1795638993000LL },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2000-02-29T12:00:00Z", 951825600000LL },
	};
	static const char *const bad[] = {
		"", "abc", "now", "-5", "nan", "inf", "1e20", "1795638993x",
		"2026-11-25", "2026-11-25T20:36:33", "2026-11-25T20:36Z",
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
		"2026-11-32T00:00:00Z", "2026-11-25T24:00:00Z",
		"2026-11-25T20:60:00Z", "2026-11-25T20:36:33+0800",
		"2026-11-25T20:36:33+08", "2026-11-25T20:36:33+24:00",
		"2026-11-25T20:36:33Z junk", "2026-11-25T20:36:33ZZ",
		"2026-11-25T20:36:33.Z", "1969-12-31T23:59:59Z",
		"2026-11-25X20:36:33Z",
		/* junk that only looks like an offset or a fraction */
		"2026-11-25T20:36:33+08:0x", "2026-11-25T20:36:33+-1:00",
		"2026-11-25T20:36:33.5e3Z", "2026-11-25T20:36:33.5e300Z",
	};
	int64_t	ms;
	size_t	i;

	for (i = 0; i < nitems(ok); i++) {
		ms = -1;
		if (parse_time_ms(ok[i].s, &ms) != 0 || ms != ok[i].ms) {
			fprintf(stderr, "\n  parse_time_ms(\"%s\") = %lld, want "
			    "%lld", ok[i].s, (long long)ms, (long long)ok[i].ms);
			CU_FAIL("a good time was misread");
		}
	}
	for (i = 0; i < nitems(bad); i++) {
		ms = 0;
		if (parse_time_ms(bad[i], &ms) != -1) {
			fprintf(stderr, "\n  BUG? parse_time_ms(\"%s\") accepted: "
			    "%lld", bad[i], (long long)ms);
			CU_FAIL("a bad time was accepted");
		}
	}
}

static void
test_valid_name(void)
{
	char long_ok[65], long_bad[66];

	memset(long_ok, 'a', 64);
	long_ok[64] = '\0';
	memset(long_bad, 'a', 65);
	long_bad[65] = '\0';
	CU_ASSERT_TRUE(valid_name("a"));
	CU_ASSERT_TRUE(valid_name("_x"));
	CU_ASSERT_TRUE(valid_name("9"));
	CU_ASSERT_TRUE(valid_name("cache-1.prod_eu"));
	CU_ASSERT_TRUE(valid_name(long_ok));
	CU_ASSERT_FALSE(valid_name(long_bad));
	CU_ASSERT_FALSE(valid_name(""));
	CU_ASSERT_FALSE(valid_name(".a"));
	CU_ASSERT_FALSE(valid_name("-a"));
	CU_ASSERT_FALSE(valid_name("a b"));
	CU_ASSERT_FALSE(valid_name("a/b"));
	CU_ASSERT_FALSE(valid_name("a:b"));
	CU_ASSERT_FALSE(valid_name("caf\xc3\xa9"));
	CU_ASSERT_FALSE(valid_name("a\n"));
}

static void
test_files(void)
{
	char		*dir = tu_tmpdir(), *path, *tmp, *buf, *cause = NULL;
	char		*deep;
	size_t		 len;
	struct stat	 st;
	char		 big[1000];

	path = tu_join(dir, "f");
	xasprintf(&tmp, "%s.tmp", path);

	CU_ASSERT_EQUAL_FATAL(write_file_atomic(path, "hello\n \n", 8,
	    &cause), 0);
	CU_ASSERT_EQUAL(access(tmp, F_OK), -1);		/* renamed away */
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	buf = read_small_file(path, 100, 0, &len, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL(len, 8);
	CU_ASSERT_STRING_EQUAL(buf, "hello\n \n");
	free(buf);
	buf = read_small_file(path, 100, 1, &len, &cause);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_STRING_EQUAL(buf, "hello");
	free(buf);

	/* Overwrite, and an empty file. */
	CU_ASSERT_EQUAL(write_file_atomic(path, "", 0, &cause), 0);
	buf = read_small_file(path, 100, 0, &len, &cause);
	CU_ASSERT(buf != NULL && len == 0 && buf[0] == '\0');
	free(buf);

	/* Limits: exactly max is fine, one more is not. */
	memset(big, 'z', sizeof(big));
	CU_ASSERT_EQUAL(write_file_atomic(path, big, sizeof(big), &cause), 0);
	buf = read_small_file(path, sizeof(big), 0, &len, &cause);
	CU_ASSERT(buf != NULL && len == sizeof(big));
	free(buf);
	buf = read_small_file(path, sizeof(big) - 1, 0, &len, &cause);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT(tu_has(cause, "larger than"));
	free(cause);
	cause = NULL;
	buf = read_small_file(path, 1, 0, &len, &cause);
	CU_ASSERT_PTR_NULL(buf);
	free(buf);
	free(cause);
	cause = NULL;
	/* A limit of 0 admits only an empty file. */
	buf = read_small_file(path, 0, 0, &len, &cause);
	if (buf != NULL) {
		fprintf(stderr, "\n  BUG: read_small_file(max 0) returned %zu "
		    "bytes of a %zu-byte file", len, sizeof(big));
		CU_FAIL("read_small_file with max 0 truncates silently");
	}
	free(buf);
	free(cause);
	cause = NULL;

	/* Past the first 64 KiB guess. */
	{
		size_t	 n = 300000;
		char	*data = xmalloc(n);

		memset(data, 'q', n);
		CU_ASSERT_EQUAL(write_file_atomic(path, data, n, &cause), 0);
		buf = read_small_file(path, n, 0, &len, &cause);
		CU_ASSERT(buf != NULL && len == n && memcmp(buf, data, n) == 0);
		free(buf);
		buf = read_small_file(path, n - 1, 0, &len, &cause);
		CU_ASSERT_PTR_NULL(buf);
		free(cause);
		cause = NULL;
		free(data);
	}

	/* Missing file; missing directory. */
	buf = read_small_file(tmp, 100, 0, &len, &cause);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT(tu_has(cause, tmp));
	free(cause);
	cause = NULL;
	deep = tu_join(dir, "no/such/dir/f");
	CU_ASSERT_EQUAL(write_file_atomic(deep, "x", 1, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	free(deep);

	/* mkdir_p makes every level, and tolerates existing ones. */
	deep = tu_join(dir, "a/b/c");
	CU_ASSERT_EQUAL(mkdir_p(deep, 0700), 0);
	CU_ASSERT_EQUAL(mkdir_p(deep, 0700), 0);
	CU_ASSERT(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));
	free(deep);

	free(tmp);
	free(path);
	tu_rmdir(dir);
}

static void
escaped_is(const char *in, size_t max, const char *want)
{
	char *got = str_escape(in, max);

	if (strcmp(got, want) != 0)
		fprintf(stderr, "\n  str_escape: want '%s' got '%s'\n", want,
		    got);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

/* One audit line per request, whatever a caller puts in a field. */
static void
test_escape(void)
{
	escaped_is("", 64, "");
	escaped_is("r1", 64, "r1");
	escaped_is("a\nb", 64, "a\\x0ab");
	escaped_is("x\" result=ok", 64, "x\\x22 result=ok");
	escaped_is("back\\slash", 64, "back\\x5cslash");
	escaped_is("\x7f\x01", 64, "\\x7f\\x01");
	escaped_is("h\xc3\xa9", 64, "h\xc3\xa9");	/* UTF-8 kept */
	escaped_is("abcdef", 3, "abc");		/* at most max bytes in */
	escaped_is("\n\n\n", 3, "\\x0a\\x0a\\x0a");	/* the worst: 4 out per 1 in */
}

static void
test_random(void)
{
	uint8_t	a[32], b[32];

	random_bytes(a, sizeof(a));
	random_bytes(b, sizeof(b));
	CU_ASSERT(memcmp(a, b, sizeof(a)) != 0);
	CU_ASSERT(random_u64() != random_u64());
}

static void
test_split_hostport(void)
{
	char		 ip[64], small[4];
	int		 port = 0;
	const char	*err = NULL;

	CU_ASSERT_EQUAL(split_hostport("127.0.0.1:6379", ip, sizeof(ip), &port,
	    &err), 0);
	CU_ASSERT_STRING_EQUAL(ip, "127.0.0.1");
	CU_ASSERT_EQUAL(port, 6379);
	CU_ASSERT_EQUAL(split_hostport("[::1]:7000", ip, sizeof(ip), &port,
	    &err), 0);
	CU_ASSERT_STRING_EQUAL(ip, "::1");
	CU_ASSERT_EQUAL(port, 7000);
	CU_ASSERT_EQUAL(split_hostport("localhost:6379", ip, sizeof(ip), &port,
	    &err), -1);
	CU_ASSERT_EQUAL(split_hostport("127.0.0.1", ip, sizeof(ip), &port,
	    &err), -1);
	CU_ASSERT_EQUAL(split_hostport("", ip, sizeof(ip), &port, &err), -1);
	str_copy(small, sizeof(small), "abcdef");
	CU_ASSERT_STRING_EQUAL(small, "abc");
	str_copy(small, sizeof(small), NULL);
	CU_ASSERT_STRING_EQUAL(small, "");
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_duration),
		TU_TEST(test_size),
		TU_TEST(test_ll_double),
		TU_TEST(test_hostport),
		TU_TEST(test_time),
		TU_TEST(test_valid_name),
		TU_TEST(test_files),
		TU_TEST(test_random),
		TU_TEST(test_escape),
		TU_TEST(test_split_hostport),
	};

	return tu_main("util", tests, nitems(tests));
}
