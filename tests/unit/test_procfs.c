/*
 * test_procfs.c: what the supervisor reads from /proc (agent/procfs.c):
 * start time, CPU ticks and RSS; the binary of a process, also once it is
 * deleted; whether a process listens on a port; whether a port can be
 * bound; and when a process started, in wall-clock time.
 */
#include "config.h"

#include <sys/prctl.h>
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/proc.h"
#include "util.h"
#include "testutil.h"

/*
 * A listening (listening 1) or only bound socket on ip, in 43000-43999;
 * listening 2: with SO_REUSEADDR, as redis-server and nutcracker listen.
 */
static int
tcp_socket(int family, const char *ip, int listening, int *portp)
{
	int			 one = 1;
	static int		 next = -1;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, i, port;

	if (next == -1)
		next = (int)((unsigned)getpid() * 7919u % 1000u);
	for (i = 0; i < 1000; i++) {
		port = 43000 + (next++ % 1000);
		CU_ASSERT_FATAL(parse_ip(ip, (uint16_t)port, &ss, &len) == 0);
		CU_ASSERT_FATAL(ss.ss_family == family);
		fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CU_ASSERT_FATAL(fd != -1);
		if (listening == 2)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			    sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, len) == 0 &&
		    (!listening || listen(fd, 8) == 0)) {
			*portp = port;
			return fd;
		}
		close(fd);
	}
	CU_FAIL_FATAL("no free port in 43000-43999");
	return -1;
}

/* A port in 43000-43999 nothing holds on 127.0.0.1 right now. */
static int
unused_port(void)
{
	int port, fd = tcp_socket(AF_INET, "127.0.0.1", 0, &port);

	close(fd);
	return port;
}

static int
local_port(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A child that exited and was reaped: its pid is dead. */
static pid_t
dead_pid(void)
{
	pid_t	pid = fork();
	int	status;

	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0)
		_exit(0);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	return pid;
}

static void
burn_cpu(long ms)
{
	uint64_t		 until = mono_ms() + (uint64_t)ms;
	volatile unsigned	 x = 0;

	while (mono_ms() < until)
		x += 1;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- procfs_stat ---------------------------------------------------------- */

static void
test_stat_self(void)
{
	uint64_t	start1, start2, ticks1, ticks2, rss1, rss2;

	CU_ASSERT_EQUAL_FATAL(procfs_stat(getpid(), &start1, &ticks1, &rss1), 0);
	CU_ASSERT(start1 > 0);
	CU_ASSERT(rss1 > 0);
	burn_cpu(60);
	CU_ASSERT_EQUAL_FATAL(procfs_stat(getpid(), &start2, &ticks2, &rss2), 0);
	/* The start time is the process's identity: it never moves. */
	CU_ASSERT_EQUAL(start1, start2);
	CU_ASSERT(ticks2 >= ticks1);
	/* 60 ms of CPU is at least a tick or two at any HZ (100..1000). */
	CU_ASSERT(ticks2 > ticks1);
	CU_ASSERT(rss2 > 0);
	/* RSS is in pages, not bytes: under a GiB of pages, over 0. */
	CU_ASSERT(rss2 < (1u << 30) / 4096);

	/* Every output is optional. */
	CU_ASSERT_EQUAL(procfs_stat(getpid(), NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(procfs_stat(getpid(), &start2, NULL, NULL), 0);
	CU_ASSERT_EQUAL(start1, start2);

	/* Our parent started no later than we did. */
	if (getppid() > 0) {
		CU_ASSERT_EQUAL(procfs_stat(getppid(), &start2, NULL, NULL), 0);
		CU_ASSERT(start2 <= start1);
	}
}

static void
test_stat_dead(void)
{
	pid_t		pid = dead_pid();
	uint64_t	start = 12345, ticks = 12345, rss = 12345;

	CU_ASSERT_EQUAL(procfs_stat(pid, &start, &ticks, &rss), -1);
	CU_ASSERT_EQUAL(procfs_stat(-1, &start, &ticks, &rss), -1);
	CU_ASSERT_EQUAL(procfs_stat(0, &start, &ticks, &rss), -1);
	CU_ASSERT_EQUAL(procfs_stat(INT_MAX, &start, &ticks, &rss), -1);
	/* Nothing written on failure. */
	CU_ASSERT_EQUAL(start, 12345);
	CU_ASSERT_EQUAL(ticks, 12345);
	CU_ASSERT_EQUAL(rss, 12345);
}

/*
 * A process whose name holds spaces and parentheses: the fields are
 * counted from the last ')', so its start time reads right.
 */
static void
test_stat_odd_name(void)
{
	static const char *const names[] = { "a) b (c", ") 1 2 3 4", "x y)" };
	uint64_t	 mine, start, ticks, rss;
	size_t		 i;
	pid_t		 pid;
	int		 p[2], status;
	char		 c;

	CU_ASSERT_EQUAL_FATAL(procfs_stat(getpid(), &mine, NULL, NULL), 0);
	for (i = 0; i < nitems(names); i++) {
		CU_ASSERT_FATAL(pipe(p) == 0);
		pid = fork();
		CU_ASSERT_FATAL(pid != -1);
		if (pid == 0) {
			close(p[0]);
			prctl(PR_SET_NAME, names[i], 0, 0, 0);
			if (write(p[1], "x", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		close(p[1]);
		CU_ASSERT(read(p[0], &c, 1) == 1);
		close(p[0]);
		start = ticks = rss = 0;
		CU_ASSERT_EQUAL(procfs_stat(pid, &start, &ticks, &rss), 0);
		/* Started after us, within a few seconds' worth of ticks. */
		CU_ASSERT(start >= mine);
		CU_ASSERT(start - mine < 10u * (uint64_t)sysconf(_SC_CLK_TCK));
		CU_ASSERT(rss > 0);
		CU_ASSERT(ticks < 1000);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
}

/* ---- procfs_exe_is -------------------------------------------------------- */

static void
test_exe_self(void)
{
	char	exe[PATH_MAX];
	ssize_t	n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CU_ASSERT_FATAL(n > 0);
	exe[n] = '\0';
	CU_ASSERT_EQUAL(procfs_exe_is(getpid(), exe), 1);
	CU_ASSERT_EQUAL(procfs_exe_is(getpid(), "/bin/true"), 0);
	CU_ASSERT_EQUAL(procfs_exe_is(getpid(), ""), 0);
	/* A prefix, or the path with a suffix, is another binary. */
	exe[n - 1] = '\0';
	CU_ASSERT_EQUAL(procfs_exe_is(getpid(), exe), 0);
	CU_ASSERT_EQUAL(procfs_exe_is(dead_pid(), "/bin/true"), 0);
	CU_ASSERT_EQUAL(procfs_exe_is(-1, exe), 0);
}

/* Copies a file (a binary) to path, mode 0755. */
static int
copy_file(const char *from, const char *to)
{
	char	buf[65536];
	ssize_t	n;
	int	in, out, rv = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0755)) == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			rv = -1;
	if (n == -1)
		rv = -1;
	close(in);
	close(out);
	return rv;
}

/* After an upgrade the old binary reads "PATH (deleted)": still the same. */
static void
test_exe_deleted(void)
{
	char		*dir = tu_tmpdir(), *bin = tu_join(dir, "sleeper");
	char		 link[64], got[PATH_MAX];
	const char	*src = access("/bin/sleep", X_OK) == 0 ? "/bin/sleep" :
			    "/usr/bin/sleep";
	pid_t		 pid;
	ssize_t		 n = 0;
	int		 i, status;

	CU_ASSERT_FATAL(copy_file(src, bin) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		execl(bin, "sleeper", "10", (char *)NULL);
		_exit(127);
	}
	/* Wait for the exec. */
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	for (i = 0; i < 300; i++) {
		if ((n = readlink(link, got, sizeof(got) - 1)) > 0) {
			got[n] = '\0';
			if (strcmp(got, bin) == 0)
				break;
		}
		sleep_ms(5);
	}
	CU_ASSERT_FATAL(n > 0 && strcmp(got, bin) == 0);
	CU_ASSERT_EQUAL(procfs_exe_is(pid, bin), 1);
	CU_ASSERT_EQUAL(procfs_exe_is(pid, src), 0);

	CU_ASSERT_FATAL(unlink(bin) == 0);
	n = readlink(link, got, sizeof(got) - 1);
	CU_ASSERT_FATAL(n > 0);
	got[n] = '\0';
	CU_ASSERT(tu_has(got, " (deleted)"));
	CU_ASSERT_EQUAL(procfs_exe_is(pid, bin), 1);
	/* The suffix is not part of the name. */
	CU_ASSERT_EQUAL(procfs_exe_is(pid, got), 0);

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CU_ASSERT_EQUAL(procfs_exe_is(pid, bin), 0);
	free(bin);
	tu_rmdir(dir);
}

/* ---- procfs_listens ------------------------------------------------------- */

static void
test_listens(void)
{
	struct sockaddr_in	 sin;
	int			 lfd, cfd, afd, bfd, port, bport, cport, other;

	lfd = tcp_socket(AF_INET, "127.0.0.1", 1, &port);
	CU_ASSERT_EQUAL(procfs_listens(getpid(), port), 1);

	/* A port we do not hold, and a process that does not hold it. */
	other = unused_port();
	CU_ASSERT_EQUAL(procfs_listens(getpid(), other), 0);
	CU_ASSERT_EQUAL(procfs_listens(getppid(), port), 0);
	CU_ASSERT_EQUAL(procfs_listens(dead_pid(), port), 0);
	CU_ASSERT_EQUAL(procfs_listens(getpid(), 0), 0);

	/* A connection: the client's port is not a listening one. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(cfd != -1);
	CU_ASSERT_FATAL(connect(cfd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0);
	afd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(afd != -1);
	cport = local_port(cfd);
	CU_ASSERT_EQUAL(procfs_listens(getpid(), cport), 0);

	/* Bound, not listening: not listening. */
	bfd = tcp_socket(AF_INET, "127.0.0.1", 0, &bport);
	CU_ASSERT_EQUAL(procfs_listens(getpid(), bport), 0);

	/* Closing the listener: the accepted socket on port is not one. */
	close(lfd);
	CU_ASSERT_EQUAL(procfs_listens(getpid(), port), 0);
	close(afd);
	close(cfd);
	close(bfd);
}

static void
test_listens_ipv6(void)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd, port;

	/* No IPv6 loopback here: nothing to test. */
	if (parse_ip("::1", 0, &ss, &len) != 0 ||
	    (fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1) {
		fprintf(stderr, "(no ::1: skipped) ");
		return;
	}
	close(fd);
	fd = tcp_socket(AF_INET6, "::1", 1, &port);
	CU_ASSERT_EQUAL(procfs_listens(getpid(), port), 1);
	close(fd);
	CU_ASSERT_EQUAL(procfs_listens(getpid(), port), 0);
}

/* ---- procfs_port_free ----------------------------------------------------- */

static void
test_port_free(void)
{
	const char	*why = "unset";
	int		 fd, port, wfd, wport;

	fd = tcp_socket(AF_INET, "127.0.0.1", 1, &port);
	CU_ASSERT_EQUAL(procfs_port_free("127.0.0.1", port, &why), 0);
	CU_ASSERT_STRING_EQUAL(why ? why : "", "in use on this host");
	/* Held, bound but not listening: in use as well. */
	wfd = tcp_socket(AF_INET, "127.0.0.1", 0, &wport);
	why = "unset";
	CU_ASSERT_EQUAL(procfs_port_free("127.0.0.1", wport, &why), 0);
	CU_ASSERT_STRING_EQUAL(why ? why : "", "in use on this host");
	close(wfd);

	/* Free once closed (no TIME_WAIT without a connection). */
	close(fd);
	why = "unset";
	CU_ASSERT_EQUAL(procfs_port_free("127.0.0.1", port, &why), 1);
	CU_ASSERT_PTR_NULL(why);

	/* A wildcard listener holds the port for every address. */
	fd = tcp_socket(AF_INET, "0.0.0.0", 1, &port);
	why = "unset";
	CU_ASSERT_EQUAL(procfs_port_free("127.0.0.1", port, &why), 0);
	CU_ASSERT_STRING_EQUAL(why ? why : "", "in use on this host");
	close(fd);

	/* An address this host does not have. */
	why = NULL;
	CU_ASSERT_EQUAL(procfs_port_free("10.255.255.1", unused_port(), &why),
	    0);
	CU_ASSERT_STRING_EQUAL(why ? why : "", strerror(EADDRNOTAVAIL));
	CU_ASSERT(tu_has(why, "Cannot assign requested address"));

	/* Not an address at all: never a name lookup. */
	why = NULL;
	CU_ASSERT_EQUAL(procfs_port_free("localhost", unused_port(), &why), 0);
	CU_ASSERT_STRING_EQUAL(why ? why : "", "not an IP address");
	why = NULL;
	CU_ASSERT_EQUAL(procfs_port_free("", unused_port(), &why), 0);
	CU_ASSERT_STRING_EQUAL(why ? why : "", "not an IP address");

	/* The wildcard is bindable when nothing holds the port. */
	why = "unset";
	CU_ASSERT_EQUAL(procfs_port_free("0.0.0.0", unused_port(), &why), 1);
	CU_ASSERT_PTR_NULL(why);
}

/*
 * A port a redis left in TIME_WAIT (it listens with SO_REUSEADDR) can be
 * bound again: a restart must not wait out TIME_WAIT.
 */
static void
test_port_free_time_wait(void)
{
	struct sockaddr_in	 sin;
	const char		*why = "unset";
	int			 lfd, cfd, afd, port;

	lfd = tcp_socket(AF_INET, "127.0.0.1", 2, &port);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(connect(cfd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0);
	afd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(afd != -1);
	/* The server side closes first: its end goes to TIME_WAIT. */
	close(afd);
	close(lfd);
	sleep_ms(5);
	close(cfd);
	sleep_ms(20);
	CU_ASSERT_EQUAL(procfs_port_free("127.0.0.1", port, &why), 1);
	CU_ASSERT_PTR_NULL(why);
}

/* ---- procfs_started_ms ---------------------------------------------------- */

static void
test_started_ms(void)
{
	long		 hz = sysconf(_SC_CLK_TCK);
	uint64_t	 start, cstart;
	int64_t		 now, ms, boot_ms;
	char		*stat, *cause = NULL, *p;
	pid_t		 pid;
	int		 status;

	CU_ASSERT_FATAL(hz > 0);
	CU_ASSERT_EQUAL_FATAL(procfs_stat(getpid(), &start, NULL, NULL), 0);
	now = wall_ms();
	ms = procfs_started_ms(start, hz);
	/* This suite started moments ago; never in the future. */
	if (!(ms <= now + 50 && ms >= now - 10000))
		fprintf(stderr, "\n  started %lld ms before now\n",
		    (long long)(now - ms));
	CU_ASSERT(ms <= now + 50);
	CU_ASSERT(ms >= now - 10000);

	/* A child started now started now. */
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	CU_ASSERT_EQUAL(procfs_stat(pid, &cstart, NULL, NULL), 0);
	now = wall_ms();
	ms = procfs_started_ms(cstart, hz);
	CU_ASSERT(ms <= now + 50);
	CU_ASSERT(ms >= now - 1000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);

	/* Start time 0 is boot: /proc/stat's btime, to a second or so. */
	stat = read_small_file("/proc/stat", 1 << 20, 0, NULL, &cause);
	CU_ASSERT_FATAL(stat != NULL);
	p = strstr(stat, "\nbtime ");
	CU_ASSERT_FATAL(p != NULL);
	boot_ms = strtoll(p + 7, NULL, 10) * 1000;
	ms = procfs_started_ms(0, hz);
	CU_ASSERT(ms >= boot_ms - 2000 && ms <= boot_ms + 2000);
	free(stat);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_stat_self),
		TU_TEST(test_stat_dead),
		TU_TEST(test_stat_odd_name),
		TU_TEST(test_exe_self),
		TU_TEST(test_exe_deleted),
		TU_TEST(test_listens),
		TU_TEST(test_listens_ipv6),
		TU_TEST(test_port_free),
		TU_TEST(test_port_free_time_wait),
		TU_TEST(test_started_ms),
	};

	return tu_main("procfs", tests, nitems(tests));
}
