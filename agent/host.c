/*
 * host.c: host statistics through libstatgrab, and the host warnings that
 * Redis itself complains about at start-up.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/types.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <statgrab.h>

#define LOG_COMP "host"
#include "log.h"
#include "agent.h"
#include "util.h"

struct hostsampler {
	int	ok;
};

struct hostsampler *
host_new(void)
{
	struct hostsampler *h = xcalloc(1, sizeof(*h));

	if (sg_init(1) != SG_ERROR_NONE)
		log_warnx("libstatgrab: %s; some host statistics will be missing",
		    sg_str_error(sg_get_error()));
	/* Prime the CPU counters so the first percentages are a real diff. */
	sg_get_cpu_percents_of(sg_new_diff_cpu_percent, NULL);
	h->ok = 1;
	return h;
}

void
host_free(struct hostsampler *h)
{
	if (h == NULL)
		return;
	sg_shutdown();
	free(h);
}

/*
 * Processes on the host.  libstatgrab's sg_get_process_count reads the
 * stat, status and cmdline of every process (4.7 ms for 88 processes,
 * measured here), which would dominate the agent's cost at 1 Hz; the
 * numbered entries of /proc give the same count for a few microseconds.
 */
static double
count_processes(void)
{
	DIR		*d;
	struct dirent	*de;
	unsigned	 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return NAN;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			n++;
	closedir(d);
	return n;
}

void
host_sample(struct hostsampler *h, double *v)
{
	sg_cpu_percents		*cpu;
	sg_mem_stats		*mem;
	sg_load_stats		*load;
	sg_network_io_stats	*net;
	size_t			 i, n;
	double			 rx = 0, tx = 0;
	long			 ncpu;

	for (i = 0; i < HM_COUNT; i++)
		v[i] = NAN;
	if ((cpu = sg_get_cpu_percents_of(sg_new_diff_cpu_percent, NULL)) != NULL) {
		v[HM_CPU_USER] = (cpu->user + cpu->nice) / 100.0;
		v[HM_CPU_SYSTEM] = cpu->kernel / 100.0;
		v[HM_CPU_IOWAIT] = cpu->iowait / 100.0;
		v[HM_CPU_USAGE] = (100.0 - cpu->idle) / 100.0;
		if (v[HM_CPU_USAGE] < 0)
			v[HM_CPU_USAGE] = 0;
	}
	if ((mem = sg_get_mem_stats(NULL)) != NULL) {
		v[HM_MEM_TOTAL] = (double)mem->total;
		v[HM_MEM_FREE] = (double)mem->free;
		v[HM_MEM_CACHE] = (double)mem->cache;
		/* Cache is reclaimable; where it is counted oddly, skip it. */
		v[HM_MEM_USED] = mem->total >= mem->free + mem->cache ?
		    (double)(mem->total - mem->free - mem->cache) :
		    (double)mem->used;
	}
	if ((load = sg_get_load_stats(NULL)) != NULL) {
		v[HM_LOAD1] = load->min1;
		v[HM_LOAD5] = load->min5;
		v[HM_LOAD15] = load->min15;
	}
	if ((net = sg_get_network_io_stats(&n)) != NULL) {
		for (i = 0; i < n; i++) {
			if (strcmp(net[i].interface_name, "lo") == 0)
				continue;
			rx += (double)net[i].rx;
			tx += (double)net[i].tx;
		}
		v[HM_NET_RX] = rx;
		v[HM_NET_TX] = tx;
	}
	v[HM_PROCS] = count_processes();
	if ((ncpu = sysconf(_SC_NPROCESSORS_ONLN)) > 0)
		v[HM_NCPU] = (double)ncpu;
}

char *
host_primary_ip(void)
{
	struct ifaddrs	*ifa, *i;
	char		 buf[INET_ADDRSTRLEN];
	char		*ip = NULL;

	if (getifaddrs(&ifa) == -1)
		return NULL;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
		    buf, sizeof(buf));
		ip = xstrdup(buf);
		break;
	}
	freeifaddrs(ifa);
	return ip;
}

static int
read_sysctl(const char *path, char *buf, size_t len)
{
	FILE	*fp;
	size_t	 n;

	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, len - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static void add_warning(char ***, int *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
add_warning(char ***w, int *n, const char *fmt, ...)
{
	va_list ap;

	*w = xreallocarray(*w, (size_t)*n + 1, sizeof(**w));
	va_start(ap, fmt);
	if (vasprintf(&(*w)[*n], fmt, ap) == -1)
		fatal("out of memory");
	va_end(ap);
	(*n)++;
}

int
host_warnings(char ***out)
{
	char		 buf[256];
	char		**w = NULL;
	int		 n = 0;
	struct rlimit	 rl;
	char		 num[32];

	if (read_sysctl("/proc/sys/vm/overcommit_memory", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "1") != 0)
		add_warning(&w, &n, "vm.overcommit_memory is %s; Redis wants 1 "
		    "so that BGSAVE cannot fail on fork", buf);
	if (read_sysctl("/sys/kernel/mm/transparent_hugepage/enabled", buf,
	    sizeof(buf)) == 0 && strstr(buf, "[always]") != NULL)
		add_warning(&w, &n, "transparent huge pages are '%s'; use "
		    "madvise or never, or fork latency and memory suffer", "always");
	if (read_sysctl("/proc/sys/net/core/somaxconn", buf, sizeof(buf)) == 0 &&
	    atoi(buf) < 511)
		add_warning(&w, &n, "net.core.somaxconn is %s, below Redis's "
		    "tcp-backlog of 511", buf);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 10032) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)rl.rlim_cur);
		add_warning(&w, &n, "open-file limit is %s; Redis needs 10032 "
		    "for 10000 clients", num);
	}
	*out = w;
	return n;
}
