/*
 * daemon.h: the parts of being a daemon: detaching, systemd notification
 * (READY, RELOADING, STOPPING, STATUS and the watchdog, when built with
 * libsystemd; no-ops otherwise), and the pidfile-free single process.
 */
#ifndef CC_DAEMON_H
#define CC_DAEMON_H

#include <stdio.h>

#include "conf.h"

struct event_base;

/* What the command line of either daemon holds. */
struct daemon_args {
	const char	*conf_file;	/* NULL: embedded defaults only */
	int		 conf_explicit;	/* given with -c */
	int		 test;		/* -t */
	int		 foreground;	/* -f */
	int		 argc;		/* --directive value ... */
	char		**argv;
};

/*
 * Parses -c FILE -t -f -h/--help -V/--version, then "--directive value..."
 * overrides.  Prints help or version and exits for those; exits 1 on bad
 * usage.  --example-config prints the commented example config.  Without
 * -c, a missing default file means the embedded defaults.
 */
void	daemon_args(int argc, char **argv, const char *prog,
	    const char *default_conf, const struct conf_def *, size_t ndefs,
	    struct daemon_args *);

/* Forks into the background, starts a session, points stdio at /dev/null. */
void	daemon_detach(void);
void	daemon_notify_ready(void);
void	daemon_notify_reloading(void);
void	daemon_notify_stopping(void);
void	daemon_notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Pings the systemd watchdog at half its interval, if one is set. */
void	daemon_watchdog_start(struct event_base *);
void	daemon_watchdog_stop(void);

#endif
