/*
 * conf.h: the redis.conf-style configuration reader, driven by one table of
 * directives per program.
 *
 * Syntax: one "directive arg..." per line; '#' starts a comment; arguments
 * may be double-quoted with C escapes (\n \t \\ \" \xHH) or single-quoted;
 * "include FILE" reads another file (relative to the including file).
 * Command-line overrides "--directive arg..." are read after the file, so
 * the later value wins as with redis-server.
 *
 * Each program describes its directives once, in a struct conf_def table:
 * type, default, bounds, whether SIGHUP may change it, usage and help.  The
 * defaults, -t, --help and the example config all come from that table.
 */
#ifndef CC_CONF_H
#define CC_CONF_H

#include <stddef.h>
#include <stdio.h>

enum conf_type {
	CONF_BOOL,		/* int: yes/no */
	CONF_INT,		/* long long, within [min, max] */
	CONF_DURATION,		/* uint64_t milliseconds, within [min, max] */
	CONF_SIZE,		/* uint64_t bytes, within [min, max] */
	CONF_STRING,		/* char * */
	CONF_ENUM,		/* int: index into enums[] */
	CONF_CUSTOM,		/* parse() owns the field */
};

#define CONF_RELOAD	0x01	/* SIGHUP may change it */
#define CONF_MULTI	0x02	/* may repeat: each line adds */
#define CONF_HIDDEN	0x04	/* left out of --help and the example */

struct conf_def {
	const char	*name;
	enum conf_type	 type;
	int		 flags;
	size_t		 offset;	/* of the field in the program's config */
	size_t		 size;		/* of the field, for merges */
	const char	*def;		/* default, written as in a file; NULL: unset */
	long long	 min, max;	/* bounds in base units (ms, bytes) */
	const char *const *enums;	/* CONF_ENUM: NULL-terminated names */
	/* CONF_CUSTOM: parse one line's arguments into the field. */
	int		(*parse)(void *field, int argc, char **argv, char **cause);
	void		(*free)(void *field);
	const char	*args;		/* usage of the arguments, for --help */
	const char	*help;
};

/*
 * Every program config starts with this head.  The reader keeps there the
 * text each directive was given with (to detect changes on reload) and
 * where it was last set (for cross-directive errors).
 */
struct conf_head {
	const struct conf_def *defs;
	size_t		 ndefs;
	char		**raw;		/* per directive: args of every line, or NULL */
	char		**where;	/* per directive: "FILE:LINE" of the last line */
	char		*file;		/* the main file, or NULL */
};

/*
 * Builds a configuration into conf (zeroed, of the program's type): the
 * defaults, then file (NULL: none), then the command-line overrides.
 * Returns 0, or -1 and *cause = "FILE:LINE: message" for the caller to free.
 */
int	conf_load(const struct conf_def *, size_t ndefs, void *conf,
	    const char *file, int argc, char **argv, char **cause);
/* The same over text in memory, named name in messages (tests, fuzzing). */
int	conf_load_mem(const struct conf_def *, size_t ndefs, void *conf,
	    const char *name, const char *text, char **cause);
/* Frees what conf_load allocated, including custom fields. */
void	conf_free(void *conf);
/* "FILE:LINE" where a directive was last set, or "default". */
const char *conf_where(const void *conf, const char *name);
/* Whether a directive appeared in the file or on the command line. */
int	conf_isset(const void *conf, const char *name);

/*
 * Moves every reloadable directive from next into running.  A changed
 * directive that cannot be reloaded keeps its running value and is logged.
 * Returns how many such changes were ignored.  next is freed by the caller
 * with conf_free (it then holds the old reloadable values).
 */
int	conf_merge(void *running, void *next);

/* --help: one line per directive with its arguments, default and help. */
void	conf_usage(const struct conf_def *, size_t ndefs, FILE *);
/* A commented example config. */
void	conf_example(const struct conf_def *, size_t ndefs, const char *title,
	    FILE *);

/*
 * Splits a line into arguments, redis style.  Returns the count (0 for a
 * blank or comment line) or -1 with *cause set (static).  *argv is freed
 * with conf_free_args.
 */
int	conf_split(const char *line, char ***argv, const char **cause);
void	conf_free_args(int argc, char **argv);

#endif
