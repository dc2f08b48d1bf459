/*
 * procfs.c: what the supervisor reads from /proc to know its processes: a
 * process's start time, CPU and memory, its binary, whether it listens on
 * a port, and whether a port can be bound.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

/*
 * Reads /proc/PID/stat: the start time (clock ticks since boot), CPU ticks
 * (utime + stime) and RSS pages.  The command name may hold spaces and
 * parentheses, so fields are counted from the last ')'.  0 or -1.
 */
int
procfs_stat(pid_t pid, uint64_t *start, uint64_t *ticks, uint64_t *rss)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st, sta;
	long			 rs;
	int			 fd;
	ssize_t			 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* After ") ": state(3) ... utime(14) stime(15) ... starttime(22) rss(24) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
	    "%*d %*d %*d %*d %*d %*d %llu %*u %ld", &ut, &st, &sta, &rs) != 4)
		return -1;
	if (start)
		*start = sta;
	if (ticks)
		*ticks = ut + st;
	if (rss)
		*rss = rs > 0 ? (uint64_t)rs : 0;
	return 0;
}

/* Whether /proc/PID/exe is exe (after an upgrade it reads "... (deleted)"). */
int
procfs_exe_is(pid_t pid, const char *exe)
{
	char	path[64], buf[PATH_MAX];
	ssize_t	n;
	size_t	del = strlen(" (deleted)");

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((n = readlink(path, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	if ((size_t)n > del && strcmp(buf + n - del, " (deleted)") == 0)
		buf[n - del] = '\0';
	return strcmp(buf, exe) == 0;
}

/* Whether pid holds a listening TCP socket on port (IPv4 or IPv6). */
int
procfs_listens(pid_t pid, int port)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	unsigned long	inodes[64];
	int		ninodes = 0, i, found = 0;
	size_t		t;
	char		line[512], path[320], link[64], want[64];
	FILE		*fp;
	DIR		*d;
	struct dirent	*de;
	ssize_t		 n;

	for (t = 0; t < nitems(tables); t++) {
		if ((fp = fopen(tables[t], "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), fp) != NULL) {
			unsigned	lport, st;
			unsigned long	ino;

			/* sl local:port rem:port st tx:rx tr:when retr uid to inode */
			if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x "
			    "%x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lport, &st,
			    &ino) == 3 && (int)lport == port && st == 0x0A &&
			    ninodes < (int)nitems(inodes))
				inodes[ninodes++] = ino;
		}
		fclose(fp);
	}
	if (ninodes == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
		    de->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		for (i = 0; i < ninodes && !found; i++) {
			snprintf(want, sizeof(want), "socket:[%lu]", inodes[i]);
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

/*
 * Whether ip:port can be bound now: nothing else holds it, and the
 * address is on this host.  On failure *why says which (static).
 */
int
procfs_port_free(const char *ip, int port, const char **why)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd, one = 1, ok;

	*why = "not an IP address";
	if (parse_ip(ip, (uint16_t)port, &ss, &len) == -1)
		return 0;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*why = strerror(errno);
		return 0;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
	*why = ok ? NULL : errno == EADDRINUSE ? "in use on this host" :
	    strerror(errno);
	close(fd);
	return ok;
}

/* When a process started, from its start time in clock ticks after boot. */
int64_t
procfs_started_ms(uint64_t starttime, long hz)
{
	char	*text, *cause = NULL;
	double	 up;
	int64_t	 now = wall_ms();

	if ((text = read_small_file("/proc/uptime", 128, 1, NULL, &cause)) ==
	    NULL) {
		free(cause);
		return now;
	}
	up = strtod(text, NULL);
	free(text);
	return now - (int64_t)((up - (double)starttime / (double)hz) *
	    1000.0);
}
