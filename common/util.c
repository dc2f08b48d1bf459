/*
 * util.c: see util.h.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#define LOG_COMP "util"
#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		fatal("allocation overflow: %zu x %zu", n, size);
	p = realloc(old, n != 0 && size != 0 ? n * size : 1);
	if (p == NULL)
		fatal("out of memory reallocating %zu x %zu bytes", n, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("out of memory duplicating a string");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatal("out of memory duplicating a string");
	return p;
}

void
xqsort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

int
xasprintf(char **out, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory formatting a string");
	return n;
}

uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
mono_ms(void)
{
	return mono_us() / 1000;
}

int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
parse_ll(const char *s, long long *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
parse_double(const char *s, double *out)
{
	char	*end;
	double	 v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* Splits "123unit" into a non-negative number and a unit suffix. */
static int
split_number(const char *s, double *num, const char **unit)
{
	char	*end;
	double	 v;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || !isfinite(v) || v < 0 || end == s)
		return -1;
	*num = v;
	*unit = end;
	return 0;
}

int
parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct { const char *u; double ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	double		 v;
	const char	*unit;
	size_t		 i;

	if (split_number(s, &v, &unit) == -1)
		return -1;
	for (i = 0; i < nitems(units); i++) {
		if (strcasecmp(unit, units[i].u) == 0) {
			v *= units[i].ms;
			if (v > (double)UINT64_MAX / 2)
				return -1;
			*out = (uint64_t)(v + 0.5);
			return 0;
		}
	}
	return -1;
}

int
parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *u; double mul; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1e3 }, { "kb", 1024.0 },
		{ "m", 1e6 }, { "mb", 1024.0 * 1024 },
		{ "g", 1e9 }, { "gb", 1024.0 * 1024 * 1024 },
	};
	double		 v;
	const char	*unit;
	size_t		 i;

	if (split_number(s, &v, &unit) == -1)
		return -1;
	for (i = 0; i < nitems(units); i++) {
		if (strcasecmp(unit, units[i].u) == 0) {
			v *= units[i].mul;
			if (v > (double)UINT64_MAX / 2 || v != floor(v))
				return -1;
			*out = (uint64_t)v;
			return 0;
		}
	}
	return -1;
}

int
parse_ip(const char *ip, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *slen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*slen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*slen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Reads exactly n decimal digits. */
static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return 0;
}

/*
 * Unix seconds (with an optional fraction), or RFC 3339:
 * YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM).  Anything else, and
 * dates that do not exist (February 31), are refused.  0 or -1.
 */
int
parse_time_ms(const char *s, int64_t *ms)
{
	struct tm	 tm, chk;
	const char	*p = s;
	int		 y, mo, d, h, mi, sec, oh, om, sign = 0;
	int64_t		 frac = 0, scale = 1000;
	double		 secs;
	time_t		 t;

	if (parse_double(s, &secs) == 0) {
		/* Plain digits with an optional fraction only: no exponents. */
		if (strspn(s, "0123456789.") != strlen(s) || secs < 0 ||
		    secs > 32503680000.0)	/* year 3000 */
			return -1;
		*ms = (int64_t)(secs * 1000);
		return 0;
	}
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) || (*p != 'T' && *p != 't' &&
	    *p != ' ') || (p++, digits(&p, 2, &h)) || *p++ != ':' ||
	    digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (*p != '\0' || y < 1970 || y > 2999 || mo < 1 || mo > 12 ||
	    d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;	/* a leap second */
	if ((t = timegm(&tm)) == (time_t)-1 || gmtime_r(&t, &chk) == NULL ||
	    chk.tm_mday != d || chk.tm_mon != mo - 1)
		return -1;
	if (sign != 0)
		t -= sign * (oh * 3600 + om * 60);
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

int
parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *slen,
    const char **cause)
{
	char		 host[INET6_ADDRSTRLEN + 2];
	const char	*colon, *h = s;
	size_t		 hlen;
	long long	 port;

	colon = strrchr(s, ':');
	if (colon == NULL) {
		*cause = "expected IP:PORT";
		return -1;
	}
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		h = s + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*cause = "expected IP:PORT";
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (parse_ll(colon + 1, &port) == -1 || port < 1 || port > 65535) {
		*cause = "port must be 1-65535";
		return -1;
	}
	if (parse_ip(host, (uint16_t)port, ss, slen) == -1) {
		*cause = "host must be an IP address (names would block the event loop)";
		return -1;
	}
	return 0;
}

const char *
fmt_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char	ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, len, "unix");
	}
	return buf;
}

int
addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return sa->sa_family == AF_UNIX;
}

char *
read_small_file(const char *path, size_t max, int trim, size_t *lenp,
    char **cause)
{
	char	*buf;
	size_t	 len = 0, cap;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/*
	 * Grow as the bytes arrive, up to max + 1 of them: max bounds the
	 * file, not the first guess, and the extra byte tells a file of
	 * exactly max bytes from a larger one.  cap counts the NUL too.
	 */
	cap = MINIMUM(max, 65536) + 2;
	buf = xmalloc(cap);
	for (;;) {
		if (len == cap - 1) {
			if (len > max) {
				xasprintf(cause, "%s: larger than %zu bytes",
				    path, max);
				goto fail;
			}
			cap = MINIMUM(max + 1, (cap - 1) * 2) + 1;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		xasprintf(cause, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	close(fd);
	if (trim) {
		while (len > 0 && isspace((unsigned char)buf[len - 1]))
			len--;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

int
write_file_atomic(const char *path, const void *data, size_t len, char **cause)
{
	return write_file_replace(path, data, len, 1, cause);
}

int
write_file_replace(const char *path, const void *data, size_t len, int sync,
    char **cause)
{
	char		*tmp, *dir, *slash;
	const char	*p = data;
	ssize_t		 n;
	int		 fd, dfd;

	xasprintf(&tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "%s: %s", tmp, strerror(errno));
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (sync && fsync(fd) == -1) {
		xasprintf(cause, "%s: fsync: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		xasprintf(cause, "%s: close: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		xasprintf(cause, "rename %s: %s", path, strerror(errno));
		goto fail;
	}
	free(tmp);
	if (!sync)
		return 0;
	/* Make the rename itself durable. */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (*dir == '\0')
			strcpy(dir, "/");
	} else
		strcpy(dir, ".");
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

int
mkdir_p(const char *path, mode_t mode)
{
	char	*p, *s;
	int	 rv = 0;

	p = xstrdup(path);
	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) == -1 && errno != EEXIST) {
				rv = -1;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return rv;
}

void
close_from(int lowfd)
{
	struct rlimit	rl;
	long		fd, max = 65536;

	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = (long)MINIMUM(rl.rlim_cur, 1 << 20);
	for (fd = lowfd; fd < max; fd++)
		close((int)fd);
}

int
set_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags == -1)
		return -1;
	return fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

int
set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags == -1)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void
random_bytes(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		fatal("RAND_bytes failed");
}

uint64_t
random_u64(void)
{
	uint64_t v;

	random_bytes(&v, sizeof(v));
	return v;
}

char *
str_escape(const char *s, size_t max)
{
	char	*out = xmalloc(max * 4 + 1), *q = out;
	size_t	 i;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '\\' || c == '"')
			q += sprintf(q, "\\x%02x", c);
		else
			*q++ = (char)c;
	}
	*q = '\0';
	return out;
}

int
valid_host_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

/* Clamps a double into [lo, hi]; NaN becomes lo. */
double
clamp(double v, double lo, double hi)
{
	if (!(v >= lo))
		return lo;
	return v > hi ? hi : v;
}

int
valid_name(const char *s)
{
	size_t	i;

	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= 64)
			return 0;
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	}
	return 1;
}

void
str_printable(char *dst, size_t len, const char *src, size_t srclen)
{
	size_t i, n = MINIMUM(srclen, len - 1);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[n] = '\0';
}

void
str_copy(char *dst, size_t len, const char *src)
{
	size_t n = src != NULL ? strnlen(src, len - 1) : 0;

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

int
split_hostport(const char *s, char *ip, size_t iplen, int *port,
    const char **cause)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			 buf[64], *p = buf, *colon;

	if (parse_hostport(s, &ss, &sl, cause) == -1)
		return -1;
	fmt_addr((struct sockaddr *)&ss, buf, sizeof(buf));
	if ((colon = strrchr(buf, ':')) != NULL)
		*colon = '\0';
	if (*p == '[') {
		p++;
		p[strlen(p) - 1] = '\0';
	}
	str_copy(ip, iplen, p);
	*port = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
