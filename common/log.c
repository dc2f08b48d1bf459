/*
 * log.c: the logging sink.  See log.h for the line format.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static const char *const level_names[] = {
	"debug", "info", "notice", "warn", "error"
};
static const int level_syslog[] = {
	LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR
};

static int		log_foreground = 1;
static int		log_journal;
static enum log_level	log_min = LL_INFO;

void
log_init(const char *ident, int foreground)
{
	log_foreground = foreground;
	/* journald adds its own timestamps; give it priorities instead. */
	log_journal = foreground && getenv("JOURNAL_STREAM") != NULL;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level l)
{
	log_min = l;
}

int
log_enabled(enum log_level l)
{
	return l >= log_min;
}

const char *
log_level_name(enum log_level l)
{
	return level_names[l];
}

int
log_parse_level(const char *s, enum log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LL_WARN;
		return 0;
	}
	return -1;
}

void
log_vemit(enum log_level l, const char *comp, const char *fmt, va_list ap)
{
	char		 raw[2048], msg[2048], *q;
	const char	*p;
	char		 ts[40];
	struct timespec	 now;
	struct tm	 tm;
	int		 saved = errno;

	if (l < log_min)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/*
	 * One event, one line: control characters (a peer's name, a Redis
	 * error, a key) are written as \xNN, so no one can forge a line.
	 */
	for (p = raw, q = msg; *p != '\0' && q < msg + sizeof(msg) - 5; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch == 0x7f)
			q += snprintf(q, 5, "\\x%02x", ch);
		else
			*q++ = (char)ch;
	}
	*q = '\0';
	if (!log_foreground) {
		syslog(level_syslog[l], "%s %s %s", level_names[l], comp, msg);
	} else if (log_journal) {
		fprintf(stderr, "<%d>%s %s %s\n", level_syslog[l],
		    level_names[l], comp, msg);
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s %s %s\n", ts,
		    now.tv_nsec / 1000000, level_names[l], comp, msg);
	}
	errno = saved;
}

void
log_emit(enum log_level l, const char *comp, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(l, comp, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *comp, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LL_ERR, comp, fmt, ap);
	va_end(ap);
	exit(1);
}

int
ratelimit_ok(struct ratelimit *rl, uint64_t *suppressed)
{
	uint64_t now = mono_ms();

	*suppressed = 0;
	if (rl->window_start == 0 || now - rl->window_start >= rl->interval_ms) {
		rl->window_start = now;
		rl->used = 0;
	}
	if (rl->used >= rl->burst) {
		rl->suppressed++;
		return 0;
	}
	rl->used++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}
