/*
 * log.h: one-line structured logging.
 *
 * Each line is "level component message key=value...".  In the foreground the
 * lines go to stderr with a timestamp (or with a "<N>" priority prefix when
 * stderr is a journald stream); otherwise to syslog.  A file sets its
 * component once:
 *
 *	#define LOG_COMP "sampler"
 *	#include "log.h"
 */
#ifndef CC_LOG_H
#define CC_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level { LL_DEBUG, LL_INFO, LL_NOTICE, LL_WARN, LL_ERR };

void	log_init(const char *ident, int foreground);
void	log_set_level(enum log_level);
int	log_parse_level(const char *, enum log_level *);
const char *log_level_name(enum log_level);
int	log_enabled(enum log_level);

void	log_emit(enum log_level, const char *comp, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_vemit(enum log_level, const char *comp, const char *fmt, va_list)
	    __attribute__((format(printf, 3, 0)));
/* Logs at LL_ERR and exits 1.  Start-up errors and broken invariants only. */
void	fatalx(const char *comp, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#ifndef LOG_COMP
#define LOG_COMP "main"
#endif

#define log_debug(...)	do { if (log_enabled(LL_DEBUG)) \
	log_emit(LL_DEBUG, LOG_COMP, __VA_ARGS__); } while (0)
#define log_info(...)	log_emit(LL_INFO, LOG_COMP, __VA_ARGS__)
#define log_notice(...)	log_emit(LL_NOTICE, LOG_COMP, __VA_ARGS__)
#define log_warnx(...)	log_emit(LL_WARN, LOG_COMP, __VA_ARGS__)
#define log_errx(...)	log_emit(LL_ERR, LOG_COMP, __VA_ARGS__)
#define fatal(...)	fatalx(LOG_COMP, __VA_ARGS__)

/*
 * A token bucket for lines a peer can provoke (failed logins, bad frames):
 * at most `burst` lines per `interval_ms`; the rest are counted and the count
 * is reported on the next line that passes.
 */
struct ratelimit {
	uint32_t	interval_ms;
	uint32_t	burst;
	uint32_t	used;
	uint64_t	suppressed;
	uint64_t	window_start;
};
#define RATELIMIT_INIT(ms, n) { (ms), (n), 0, 0, 0 }

/* Returns 1 when the caller may log; *suppressed gets the lines skipped since. */
int	ratelimit_ok(struct ratelimit *, uint64_t *suppressed);

#define log_limited(rl, lvl, ...) do {					\
	uint64_t rl_skipped_;						\
	if (ratelimit_ok((rl), &rl_skipped_)) {				\
		if (rl_skipped_ > 0)					\
			log_emit((lvl), LOG_COMP, "%llu similar lines suppressed", \
			    (unsigned long long)rl_skipped_);		\
		log_emit((lvl), LOG_COMP, __VA_ARGS__);			\
	}								\
} while (0)

#endif
