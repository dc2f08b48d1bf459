/*
 * conf.c: the table-driven configuration reader.  See conf.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "config"
#include "log.h"
#include "conf.h"
#include "util.h"

#define CONF_MAX_INCLUDE	8
#define CONF_MAX_LINE		65536
#define CONF_MAX_FILE		(16 * 1024 * 1024)

struct reader {
	struct conf_head	*head;
	void			*conf;
	int			 depth;
	int			 defaults;	/* applying defaults: no raw text */
};

static int	read_text(struct reader *, const char *, char *, char **);

void
conf_free_args(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

int
conf_split(const char *p, char ***argvp, const char **cause)
{
	char	**argv = NULL;
	char	 *cur;
	size_t	  len;
	int	  argc = 0;

	*argvp = NULL;
	/* One scratch buffer for the line; each argument is copied out. */
	cur = xmalloc(strlen(p) + 1);
	for (;;) {
		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#')
			break;
		len = 0;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				int c = (unsigned char)*p;

				if (c == '\0') {
					*cause = "unbalanced quotes";
					goto fail;
				}
				if (c == '\\' && p[1] != '\0') {
					p++;
					switch (*p) {
					case 'n': c = '\n'; break;
					case 'r': c = '\r'; break;
					case 't': c = '\t'; break;
					case 'b': c = '\b'; break;
					case 'a': c = '\a'; break;
					case 'x':
						if (hex_digit(p[1]) >= 0 &&
						    hex_digit(p[2]) >= 0) {
							c = hex_digit(p[1]) * 16 +
							    hex_digit(p[2]);
							p += 2;
							break;
						}
						c = 'x';
						break;
					default: c = (unsigned char)*p; break;
					}
				}
				if (c == '\0') {
					*cause = "NUL byte in a quoted string";
					goto fail;
				}
				cur[len++] = (char)c;
			}
			p++;
			if (*p != '\0' && !isspace((unsigned char)*p)) {
				*cause = "closing quote must be followed by a space";
				goto fail;
			}
		} else if (*p == '\'') {
			for (p++; *p != '\''; p++) {
				if (*p == '\0') {
					*cause = "unbalanced quotes";
					goto fail;
				}
				if (*p == '\\' && p[1] == '\'')
					p++;
				cur[len++] = *p;
			}
			p++;
			if (*p != '\0' && !isspace((unsigned char)*p)) {
				*cause = "closing quote must be followed by a space";
				goto fail;
			}
		} else {
			while (*p != '\0' && !isspace((unsigned char)*p))
				cur[len++] = *p++;
		}
		argv = xreallocarray(argv, (size_t)argc + 2, sizeof(*argv));
		argv[argc++] = xstrndup(cur, len);
		argv[argc] = NULL;
		continue;
fail:
		free(cur);
		conf_free_args(argc, argv);
		return -1;
	}
	free(cur);
	*argvp = argv;
	return argc;
}

static const struct conf_def *
find_def(const struct conf_head *head, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < head->ndefs; i++) {
		if (strcasecmp(head->defs[i].name, name) == 0) {
			*idx = i;
			return &head->defs[i];
		}
	}
	return NULL;
}

static int
parse_bool(const char *s, int *out)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0 ||
	    strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0)
		*out = 1;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "off") == 0 ||
	    strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* Formats a value in base units back into the unit it is written in. */
static void
fmt_bound(const struct conf_def *d, long long v, char *buf, size_t len)
{
	if (d->type == CONF_DURATION) {
		if (v % 86400000 == 0 && v != 0)
			snprintf(buf, len, "%lldd", v / 86400000);
		else if (v % 3600000 == 0 && v != 0)
			snprintf(buf, len, "%lldh", v / 3600000);
		else if (v % 60000 == 0 && v != 0)
			snprintf(buf, len, "%lldm", v / 60000);
		else if (v % 1000 == 0)
			snprintf(buf, len, "%llds", v / 1000);
		else
			snprintf(buf, len, "%lldms", v);
	} else if (d->type == CONF_SIZE) {
		if (v % (1024 * 1024 * 1024) == 0 && v != 0)
			snprintf(buf, len, "%lldgb", v / (1024 * 1024 * 1024));
		else if (v % (1024 * 1024) == 0 && v != 0)
			snprintf(buf, len, "%lldmb", v / (1024 * 1024));
		else if (v % 1024 == 0 && v != 0)
			snprintf(buf, len, "%lldkb", v / 1024);
		else
			snprintf(buf, len, "%lld", v);
	} else
		snprintf(buf, len, "%lld", v);
}

static int
check_bounds(const struct conf_def *d, long long v, char **cause)
{
	char	b[32];

	if (d->min == 0 && d->max == 0)
		return 0;
	if (v < d->min) {
		fmt_bound(d, d->min, b, sizeof(b));
		xasprintf(cause, "%s: must be at least %s", d->name, b);
		return -1;
	}
	if (v > d->max) {
		fmt_bound(d, d->max, b, sizeof(b));
		xasprintf(cause, "%s: must be at most %s", d->name, b);
		return -1;
	}
	return 0;
}

/* Applies one directive line.  Returns 0, or -1 with *cause (no location). */
static int
apply(struct reader *r, const struct conf_def *d, size_t idx, int argc,
    char **argv, const char *where, char **cause)
{
	struct conf_head	*head = r->head;
	void			*field = (char *)r->conf + d->offset;
	uint64_t		 u;
	long long		 ll;
	int			 b, i;
	char			*raw, *joined;

	if (d->type != CONF_CUSTOM && argc != 1) {
		xasprintf(cause, "%s: takes one argument%s%s", d->name,
		    d->args ? ": " : "", d->args ? d->args : "");
		return -1;
	}
	switch (d->type) {
	case CONF_BOOL:
		if (parse_bool(argv[0], &b) == -1) {
			xasprintf(cause, "%s: expected yes or no, not '%s'",
			    d->name, argv[0]);
			return -1;
		}
		*(int *)field = b;
		break;
	case CONF_INT:
		if (parse_ll(argv[0], &ll) == -1) {
			xasprintf(cause, "%s: '%s' is not an integer",
			    d->name, argv[0]);
			return -1;
		}
		if (check_bounds(d, ll, cause) == -1)
			return -1;
		*(long long *)field = ll;
		break;
	case CONF_DURATION:
		if (parse_duration_ms(argv[0], &u) == -1 || u > INT64_MAX) {
			xasprintf(cause, "%s: '%s' is not a duration with a "
			    "unit (examples: 500ms, 5s, 1m, 1h)", d->name, argv[0]);
			return -1;
		}
		if (check_bounds(d, (long long)u, cause) == -1)
			return -1;
		*(uint64_t *)field = u;
		break;
	case CONF_SIZE:
		if (parse_size(argv[0], &u) == -1 || u > INT64_MAX) {
			xasprintf(cause, "%s: '%s' is not a size "
			    "(examples: 512kb, 4mb, 1gb)", d->name, argv[0]);
			return -1;
		}
		if (check_bounds(d, (long long)u, cause) == -1)
			return -1;
		*(uint64_t *)field = u;
		break;
	case CONF_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(argv[0]);
		break;
	case CONF_ENUM:
		for (i = 0; d->enums[i] != NULL; i++) {
			if (strcasecmp(d->enums[i], argv[0]) == 0)
				break;
		}
		if (d->enums[i] == NULL) {
			char *list = NULL, *tmp;
			int j;

			for (j = 0; d->enums[j] != NULL; j++) {
				xasprintf(&tmp, "%s%s%s", list ? list : "",
				    list ? ", " : "", d->enums[j]);
				free(list);
				list = tmp;
			}
			xasprintf(cause, "%s: '%s' is not one of: %s", d->name,
			    argv[0], list);
			free(list);
			return -1;
		}
		*(int *)field = i;
		break;
	case CONF_CUSTOM:
		if (d->parse(field, argc, argv, cause) == -1) {
			char *c = *cause;

			xasprintf(cause, "%s: %s", d->name, c);
			free(c);
			return -1;
		}
		break;
	}
	if (r->defaults)
		return 0;

	/* Remember the text, for reload comparisons, and the place. */
	joined = NULL;
	for (i = 0; i < argc; i++) {
		xasprintf(&raw, "%s%s%s", joined ? joined : "",
		    joined ? " " : "", argv[i]);
		free(joined);
		joined = raw;
	}
	if ((d->flags & CONF_MULTI) && head->raw[idx] != NULL) {
		xasprintf(&raw, "%s\n%s", head->raw[idx], joined);
		free(joined);
		joined = raw;
	}
	free(head->raw[idx]);
	head->raw[idx] = joined;
	free(head->where[idx]);
	head->where[idx] = xstrdup(where);
	return 0;
}

/* Reads one line's worth of arguments; include is handled here. */
static int
line(struct reader *r, const char *file, int lineno, int argc, char **argv,
    char **cause)
{
	const struct conf_def	*d;
	size_t			 idx, len;
	char			 where[512];
	char			*err = NULL, *text = NULL;
	int			 rv;

	snprintf(where, sizeof(where), "%s:%d", file, lineno);
	if (strcasecmp(argv[0], "include") == 0) {
		char *path, *slash;

		if (argc != 2) {
			xasprintf(cause, "%s: include takes one file", where);
			return -1;
		}
		if (argv[1][0] != '/' && (slash = strrchr(file, '/')) != NULL)
			xasprintf(&path, "%.*s/%s", (int)(slash - file), file,
			    argv[1]);
		else
			path = xstrdup(argv[1]);
		if (r->depth >= CONF_MAX_INCLUDE) {
			xasprintf(cause, "%s: includes nested deeper than %d "
			    "(a loop?)", where, CONF_MAX_INCLUDE);
			free(path);
			return -1;
		}
		r->depth++;
		if ((text = read_small_file(path, CONF_MAX_FILE, 0, &len,
		    &err)) == NULL || strlen(text) != len) {
			/* The file itself is the problem: name the include. */
			xasprintf(cause, "%s: include %s", where,
			    err ? err : "holds a NUL byte");
			free(err);
			free(text);
			free(path);
			return -1;
		}
		/* Errors inside the included file carry their own place. */
		rv = read_text(r, path, text, cause);
		free(text);
		if (rv == -1) {
			free(path);
			return -1;
		}
		r->depth--;
		free(path);
		return 0;
	}
	if ((d = find_def(r->head, argv[0], &idx)) == NULL) {
		xasprintf(cause, "%s: unknown directive '%s'", where, argv[0]);
		return -1;
	}
	if (apply(r, d, idx, argc - 1, argv + 1, where, &err) == -1) {
		xasprintf(cause, "%s: %s", where, err);
		free(err);
		return -1;
	}
	return 0;
}

/* Reads the lines of text, named path in messages. */
static int
read_text(struct reader *r, const char *path, char *buf, char **cause)
{
	char		*p, *nl;
	char		**argv;
	const char	*scause;
	int		 argc, lineno = 0, rv = 0;

	for (p = buf; *p != '\0' && rv == 0; p = nl) {
		lineno++;
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		else
			nl = p + strlen(p);
		if (strlen(p) > CONF_MAX_LINE) {
			xasprintf(cause, "%s:%d: line longer than %d bytes",
			    path, lineno, CONF_MAX_LINE);
			rv = -1;
			break;
		}
		argc = conf_split(p, &argv, &scause);
		if (argc == -1) {
			xasprintf(cause, "%s:%d: %s", path, lineno, scause);
			rv = -1;
			break;
		}
		if (argc == 0)
			continue;
		rv = line(r, path, lineno, argc, argv, cause);
		conf_free_args(argc, argv);
	}
	return rv;
}

static int
read_file(struct reader *r, const char *path, char **cause)
{
	char	*buf;
	size_t	 len;
	int	 rv;

	if ((buf = read_small_file(path, CONF_MAX_FILE, 0, &len,
	    cause)) == NULL)
		return -1;
	if (strlen(buf) != len) {
		xasprintf(cause, "%s: holds a NUL byte", path);
		free(buf);
		return -1;
	}
	rv = read_text(r, path, buf, cause);
	free(buf);
	return rv;
}

/* Reads "--name arg... --name arg..." as lines of a file named "command line". */
static int
read_overrides(struct reader *r, int argc, char **argv, char **cause)
{
	int	i, j, n;

	for (i = 0; i < argc; i = j) {
		if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
			xasprintf(cause, "command line: expected --directive, "
			    "not '%s'", argv[i]);
			return -1;
		}
		for (j = i + 1; j < argc && strncmp(argv[j], "--", 2) != 0; j++)
			;
		{
			char **args = xcalloc((size_t)(j - i) + 1, sizeof(*args));
			int rv;

			args[0] = argv[i] + 2;
			for (n = 1; n < j - i; n++)
				args[n] = argv[i + n];
			rv = line(r, "command line", i + 1, j - i, args, cause);
			free(args);
			if (rv == -1)
				return -1;
		}
	}
	return 0;
}

static int
load(const struct conf_def *defs, size_t ndefs, void *conf, const char *file,
    const char *text, int argc, char **argv, char **cause)
{
	struct conf_head	*head = conf;
	struct reader		 r;
	char			**dargv, *err = NULL;
	const char		*scause;
	int			 dargc;
	size_t			 i;

	head->defs = defs;
	head->ndefs = ndefs;
	head->raw = xcalloc(ndefs, sizeof(char *));
	head->where = xcalloc(ndefs, sizeof(char *));
	head->file = file ? xstrdup(file) : NULL;

	memset(&r, 0, sizeof(r));
	r.head = head;
	r.conf = conf;

	/* Defaults go through the same parsers as the file does. */
	r.defaults = 1;
	for (i = 0; i < ndefs; i++) {
		if (defs[i].def == NULL)
			continue;
		dargc = conf_split(defs[i].def, &dargv, &scause);
		if (dargc <= 0)
			fatal("default of %s: %s", defs[i].name,
			    dargc == -1 ? scause : "empty");
		if (apply(&r, &defs[i], i, dargc, dargv, "default", &err) == -1)
			fatal("default of %s: %s", defs[i].name, err);
		conf_free_args(dargc, dargv);
	}
	r.defaults = 0;

	if (text != NULL) {
		char *copy = xstrdup(text);
		int rv = read_text(&r, file, copy, cause);

		free(copy);
		if (rv == -1)
			return -1;
	} else if (file != NULL && read_file(&r, file, cause) == -1)
		return -1;
	if (argc > 0 && read_overrides(&r, argc, argv, cause) == -1)
		return -1;
	return 0;
}

int
conf_load(const struct conf_def *defs, size_t ndefs, void *conf,
    const char *file, int argc, char **argv, char **cause)
{
	return load(defs, ndefs, conf, file, NULL, argc, argv, cause);
}

int
conf_load_mem(const struct conf_def *defs, size_t ndefs, void *conf,
    const char *name, const char *text, char **cause)
{
	return load(defs, ndefs, conf, name, text, 0, NULL, cause);
}

static void
free_field(const struct conf_def *d, void *conf)
{
	void *field = (char *)conf + d->offset;

	if (d->type == CONF_STRING) {
		free(*(char **)field);
		*(char **)field = NULL;
	} else if (d->type == CONF_CUSTOM && d->free != NULL)
		d->free(field);
}

void
conf_free(void *conf)
{
	struct conf_head	*head = conf;
	size_t			 i;

	if (head->defs == NULL)
		return;
	for (i = 0; i < head->ndefs; i++) {
		free_field(&head->defs[i], conf);
		free(head->raw[i]);
		free(head->where[i]);
	}
	free(head->raw);
	free(head->where);
	free(head->file);
	head->raw = head->where = NULL;
	head->file = NULL;
	head->defs = NULL;	/* a second conf_free is harmless */
}

const char *
conf_where(const void *conf, const char *name)
{
	const struct conf_head	*head = conf;
	size_t			 idx;

	if (find_def(head, name, &idx) == NULL || head->where[idx] == NULL)
		return "default";
	return head->where[idx];
}

int
conf_isset(const void *conf, const char *name)
{
	const struct conf_head	*head = conf;
	size_t			 idx;

	return find_def(head, name, &idx) != NULL && head->where[idx] != NULL;
}

/* Compares two directive texts; an unset directive reads as its default. */
static int
same_text(const struct conf_def *d, const char *a, const char *b)
{
	if (a == NULL)
		a = d->def;
	if (b == NULL)
		b = d->def;
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
conf_merge(void *running, void *next)
{
	struct conf_head	*rh = running, *nh = next;
	const struct conf_def	*d;
	unsigned char		 tmp[256];
	size_t			 i;
	int			 ignored = 0;
	char			*s;

	for (i = 0; i < rh->ndefs; i++) {
		d = &rh->defs[i];
		if (same_text(d, rh->raw[i], nh->raw[i]))
			continue;
		if (!(d->flags & CONF_RELOAD)) {
			log_warnx("%s changed in %s but needs a restart; "
			    "the running value is kept", d->name,
			    nh->where[i] ? nh->where[i] : "the file");
			ignored++;
			continue;
		}
		if (d->size > sizeof(tmp))
			fatal("conf_merge: %s is too large to swap", d->name);
		memcpy(tmp, (char *)running + d->offset, d->size);
		memcpy((char *)running + d->offset, (char *)next + d->offset,
		    d->size);
		memcpy((char *)next + d->offset, tmp, d->size);
		s = rh->raw[i];
		rh->raw[i] = nh->raw[i];
		nh->raw[i] = s;
		s = rh->where[i];
		rh->where[i] = nh->where[i];
		nh->where[i] = s;
		log_info("%s reloaded value=\"%s\"", d->name,
		    rh->raw[i] ? rh->raw[i] : (d->def ? d->def : ""));
	}
	return ignored;
}

static const char *
type_hint(const struct conf_def *d)
{
	switch (d->type) {
	case CONF_BOOL:		return "yes|no";
	case CONF_INT:		return "N";
	case CONF_DURATION:	return "DURATION";
	case CONF_SIZE:		return "SIZE";
	case CONF_STRING:	return "STRING";
	case CONF_ENUM:		return "WORD";
	case CONF_CUSTOM:	return "ARGS";
	}
	return "";
}

void
conf_usage(const struct conf_def *defs, size_t ndefs, FILE *fp)
{
	size_t	i;
	char	head[128];

	for (i = 0; i < ndefs; i++) {
		const struct conf_def *d = &defs[i];

		if (d->flags & CONF_HIDDEN)
			continue;
		snprintf(head, sizeof(head), "%s %s", d->name,
		    d->args ? d->args : type_hint(d));
		fprintf(fp, "  %-44s %s", head, d->help);
		if (d->def != NULL)
			fprintf(fp, " [default: %s]", d->def);
		if (d->flags & CONF_MULTI)
			fprintf(fp, " [repeatable]");
		if (d->flags & CONF_RELOAD)
			fprintf(fp, " [reloadable]");
		fputc('\n', fp);
	}
}

void
conf_example(const struct conf_def *defs, size_t ndefs, const char *title,
    FILE *fp)
{
	size_t	i;

	fprintf(fp, "# %s\n#\n", title);
	fprintf(fp, "# Every directive is shown with its default, commented "
	    "out.  Durations take a\n# unit (500ms, 5s, 1m, 1h); sizes take "
	    "Redis units (4mb, 1gb).  Any directive\n# can also be given on "
	    "the command line as --directive value.  Directives\n# marked "
	    "reloadable change on SIGHUP; the others need a restart.\n");
	for (i = 0; i < ndefs; i++) {
		const struct conf_def *d = &defs[i];

		if (d->flags & CONF_HIDDEN)
			continue;
		fprintf(fp, "\n# %s %s\n#   %s%s%s\n", d->name,
		    d->args ? d->args : type_hint(d), d->help,
		    (d->flags & CONF_MULTI) ? " Repeatable." : "",
		    (d->flags & CONF_RELOAD) ? " Reloadable." : "");
		if (d->def != NULL)
			fprintf(fp, "# %s %s\n", d->name, d->def);
	}
}
