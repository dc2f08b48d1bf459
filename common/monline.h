/*
 * monline.h: a parser for the lines of Redis MONITOR.
 *
 *	1700000000.123456 [0 127.0.0.1:51234] "GET" "key"
 *	1700000000.123456 [0 lua] "set" "k" "v"
 *	1700000000.123456 [3 unix:/run/redis.sock] "hset" "h\x00\n" "f" "v"
 *
 * (the leading '+' of the status reply is not part of the line; the
 * client may be "[::1]:51234").  Arguments are as sdscatrepr writes them:
 * quoted, with \\ \" \n \r \t \a \b and \xHH escapes, separated by one
 * space; the line holds printable ASCII only.  The parser takes outside
 * bytes: it never reads past len and rejects anything else (a raw
 * control byte, an unknown escape, an unterminated quote, a missing
 * bracket).
 */
#ifndef CC_MONLINE_H
#define CC_MONLINE_H

#include <stddef.h>
#include <stdint.h>

#define MONLINE_MAX_ARGS	64	/* more are checked, not kept */

struct monline {
	double		 time;
	uint32_t	 db;
	char		 client[64];	/* "127.0.0.1:51234", "lua", "unix:..." (cut) */
	int		 argc;		/* decoded arguments, at most MONLINE_MAX_ARGS */
	char		*argv[MONLINE_MAX_ARGS];	/* into buf, NUL after each */
	size_t		 argl[MONLINE_MAX_ARGS];
};

/*
 * Parses line (len bytes, no CRLF) into m, decoding the arguments into
 * buf (at least len bytes).  Every argument is checked, the first
 * MONLINE_MAX_ARGS kept.  Returns 0, or -1 if the line is not a MONITOR
 * line.
 */
int	monline_parse(const char *line, size_t len, char *buf,
	    struct monline *m);

/*
 * The keys of a parsed command: calls fn once per key argument, with the
 * value type the command works on ("string", "hash", "list", "set",
 * "zset", "stream", or "" when it does not say).  The command name is
 * matched without regard to case; key positions are COMMAND INFO's
 * (first, last, step), or follow a numkeys argument (ZUNIONSTORE,
 * LMPOP, ...) or the STREAMS keyword (XREAD).  Commands that name no
 * key, EVAL and FCALL (their script's calls come as "lua" lines), and
 * commands the table does not know give none.  Returns the number of
 * keys.
 */
typedef void monline_key_fn(void *arg, const char *key, size_t keylen,
    const char *type);
int	monline_keys(const struct monline *m, monline_key_fn *fn, void *arg);

#endif
