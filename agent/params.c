/*
 * params.c: what StartInstance and SetParams may say, and the config files
 * the agent writes from it.  One table lists every parameter: which kinds
 * take it, whether it applies online or only at start, and how its value
 * is checked.  Anything not in the table is refused by name, and a few
 * names are refused whoever asks, because they would let a caller point
 * Redis at files of the agent's choosing.
 *
 * Values never reach a shell or a Redis command line; they are checked,
 * then written quoted into the generated config.
 */
#include "config.h"

#include <sys/stat.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_COMP "params"
#include "log.h"
#include "agent.h"
#include "util.h"

#define VALUE_MAX	4096

enum ptype {
	PT_SIZE,	/* 100mb */
	PT_INT,		/* within [min, max] */
	PT_ENUM,
	PT_BOOL,	/* yes | no */
	PT_EVENTS,	/* notify-keyspace-events letters */
	PT_CMDLIST,	/* command names, comma or space separated */
	PT_IPS,		/* IP [IP ...] */
	PT_SAVE,	/* "" or "SECONDS CHANGES ..." */
	PT_FILE,	/* a file in secrets-dir */
	PT_REPLICAOF,	/* "IP PORT" */
	PT_SERVERS,	/* IP:PORT[:WEIGHT][,...] */
	PT_PORT,
};

static const char *const policies[] = { "noeviction", "allkeys-lru",
	"allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
	"volatile-random", "volatile-ttl", NULL };
static const char *const hashes[] = { "one_at_a_time", "md5", "crc16",
	"crc32", "crc32a", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32",
	"hsieh", "murmur", "jenkins", NULL };
static const char *const distributions[] = { "ketama", "modula", "random",
	NULL };

#define R	(1 << KIND_REDIS)
#define I	(1 << KIND_INTERFACE)

static const struct param_def {
	const char		*name;
	int			 kinds;
	int			 online;	/* SetParams applies it live */
	enum ptype		 type;
	const char *const	*enums;
	long long		 min, max;
} params[] = {
	{ "maxmemory", R, 1, PT_SIZE, NULL, 0, 0 },
	{ "maxmemory-policy", R, 1, PT_ENUM, policies, 0, 0 },
	{ "slowlog-log-slower-than", R, 1, PT_INT, NULL, -1, 1000000000 },
	{ "timeout", R, 1, PT_INT, NULL, 0, 100000000 },
	{ "notify-keyspace-events", R, 1, PT_EVENTS, NULL, 0, 0 },
	{ "hash-max-ziplist-entries", R, 1, PT_INT, NULL, 0, 100000000 },
	{ "hash-max-ziplist-value", R, 1, PT_INT, NULL, 0, 100000000 },
	{ "zset-max-ziplist-entries", R, 1, PT_INT, NULL, 0, 100000000 },
	{ "zset-max-ziplist-value", R, 1, PT_INT, NULL, 0, 100000000 },
	{ "set-max-intset-entries", R, 1, PT_INT, NULL, 0, 100000000 },
	{ "disable-command-list", R, 1, PT_CMDLIST, NULL, 0, 0 },
	{ "bind", R | I, 0, PT_IPS, NULL, 0, 0 },
	{ "appendonly", R, 0, PT_BOOL, NULL, 0, 0 },
	{ "save", R, 0, PT_SAVE, NULL, 0, 0 },
	{ "requirepass-file", R, 0, PT_FILE, NULL, 0, 0 },
	{ "replicaof", R, 0, PT_REPLICAOF, NULL, 0, 0 },
	{ "masterauth-file", R, 0, PT_FILE, NULL, 0, 0 },
	{ "cluster-enabled", R, 0, PT_BOOL, NULL, 0, 0 },
	{ "servers", I, 0, PT_SERVERS, NULL, 0, 0 },
	{ "hash", I, 0, PT_ENUM, hashes, 0, 0 },
	{ "distribution", I, 0, PT_ENUM, distributions, 0, 0 },
	{ "server-timeout", I, 0, PT_INT, NULL, 1, 3600000 },
	{ "redis-auth-file", I, 0, PT_FILE, NULL, 0, 0 },
	{ "stats-port", I, 0, PT_PORT, NULL, 0, 0 },
};

/* Never forwarded, whoever asks: they would aim Redis at our files. */
static const char *const forbidden[] = { "dir", "dbfilename", "logfile",
	"pidfile", "include", "loadmodule", "rename-command", NULL };

#undef R
#undef I

const char *
kind_name(int kind)
{
	return kind == KIND_REDIS ? "redis" : "interface";
}

int
kind_parse(const char *s)
{
	if (strcmp(s, "redis") == 0)
		return KIND_REDIS;
	if (strcmp(s, "interface") == 0)
		return KIND_INTERFACE;
	return -1;
}

static const struct param_def *
param_find(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(params); i++)
		if (strcmp(params[i].name, name) == 0)
			return &params[i];
	return NULL;
}

int
param_online(const char *name)
{
	const struct param_def *d = param_find(name);

	return d != NULL && d->online;
}

/*
 * Numbers as Redis reads them in a config: digits, an optional '-' for
 * signed values, no '+', no leading zeros, no fractions or exponents.
 */
static int
redis_int(const char *v, long long *out)
{
	const char *d = v[0] == '-' ? v + 1 : v;

	if (*d == '\0' || strspn(d, "0123456789") != strlen(d) ||
	    (d[0] == '0' && d[1] != '\0') || strcmp(v, "-0") == 0 ||
	    strlen(d) > 18)
		return -1;
	*out = strtoll(v, NULL, 10);
	return 0;
}

/* A Redis memory value: digits and an optional b, k, kb, m, mb, g or gb. */
static int
redis_size(const char *v)
{
	static const char *const units[] = { "", "b", "k", "kb", "m", "mb", "g",
		"gb", NULL };
	size_t	n = strspn(v, "0123456789");
	int	i;

	if (n == 0 || n > 18 || (v[0] == '0' && n > 1))
		return -1;
	for (i = 0; units[i] != NULL; i++)
		if (strcasecmp(v + n, units[i]) == 0)
			return 0;
	return -1;
}

static int
is_ip(const char *s)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	return parse_ip(s, 0, &ss, &len) == 0;
}

/* Splits on spaces and commas; returns the count, or -1 past max. */
static int
split_words(const char *v, char words[][64], int max)
{
	int		 n = 0;
	size_t		 len;
	const char	*p = v;

	for (;;) {
		p += strspn(p, " ,");
		if (*p == '\0')
			return n;
		len = strcspn(p, " ,");
		if (n == max || len >= 64)
			return -1;
		memcpy(words[n], p, len);
		words[n++][len] = '\0';
		p += len;
	}
}

/*
 * A password file named by a caller: it must be a regular file inside
 * secrets-dir once symlinks are resolved.  Without that rule a caller
 * could have the agent read any file it can read and hand the contents
 * to a master or a backend of the caller's choosing.  With out, reads it
 * (at most 1 KiB, one line, opened without following a last symlink).
 */
static int
secret_file(const char *dir, const char *param, const char *path, char **out,
    char **cause)
{
	char		*real = NULL, *rdir = NULL, buf[1024 + 2];
	struct stat	 st;
	size_t		 dl;
	ssize_t		 n;
	int		 fd = -1, rv = -1;

	if (path[0] != '/' || (real = realpath(path, NULL)) == NULL ||
	    (rdir = realpath(dir, NULL)) == NULL ||
	    strncmp(real, rdir, (dl = strlen(rdir))) != 0 || real[dl] != '/') {
		xasprintf(cause, "%s: '%s' is not a file in secrets-dir %s",
		    param, path, dir);
		goto out;
	}
	if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) ==
	    -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: '%s' is not a readable regular file",
		    param, path);
		goto out;
	}
	if (out != NULL) {
		if ((n = read(fd, buf, sizeof(buf) - 1)) < 0 ||
		    (size_t)n > sizeof(buf) - 2) {
			xasprintf(cause, "%s: '%s' cannot be read, or is over "
			    "1 KiB", param, path);
			goto out;
		}
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
		    buf[n - 1] == ' '))
			n--;
		buf[n] = '\0';
		*out = xstrdup(buf);
	}
	rv = 0;
out:
	if (fd != -1)
		close(fd);
	free(real);
	free(rdir);
	return rv;
}

static int
check_value(const struct param_def *d, const char *v, const char *secrets,
    char **cause)
{
	char		 w[64][64];
	long long	 ll;
	int		 n, i;
	const char	*p;

	switch (d->type) {
	case PT_SIZE:
		if (redis_size(v) == -1)
			goto bad;
		return 0;
	case PT_INT:
		if (redis_int(v, &ll) == -1 || ll < d->min || ll > d->max)
			goto bad;
		return 0;
	case PT_PORT:
		if (redis_int(v, &ll) == -1 || ll < 1024 || ll > 65535)
			goto bad;
		return 0;
	case PT_ENUM:
		for (i = 0; d->enums[i] != NULL; i++)
			if (strcmp(v, d->enums[i]) == 0)
				return 0;
		goto bad;
	case PT_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0)
			return 0;
		goto bad;
	case PT_EVENTS:
		if (strspn(v, "KEg$lshzxeAtmdn") != strlen(v))
			goto bad;
		return 0;
	case PT_CMDLIST:
		/* cmd or cmd|sub, each starting with a letter ("-x" is a rule). */
		if ((n = split_words(v, w, 64)) == -1)
			goto bad;
		for (i = 0; i < n; i++) {
			int after_bar = 1;

			for (p = w[i]; *p != '\0'; p++) {
				if (after_bar && !islower((unsigned char)*p))
					goto bad;
				after_bar = *p == '|';
				if (!islower((unsigned char)*p) &&
				    !isdigit((unsigned char)*p) && *p != '|' &&
				    *p != '-' && *p != '_')
					goto bad;
			}
			if (after_bar || strchr(strchr(w[i], '|') ?
			    strchr(w[i], '|') + 1 : "", '|') != NULL)
				goto bad;
		}
		return 0;
	case PT_IPS:
		if ((n = split_words(v, w, 16)) <= 0)
			goto bad;
		for (i = 0; i < n; i++)
			if (!is_ip(w[i]))
				goto bad;
		return 0;
	case PT_SAVE:
		/* "SECONDS CHANGES ...", space separated, as redis.conf has it. */
		if (strchr(v, ',') != NULL ||
		    (n = split_words(v, w, 32)) == -1 || n % 2 != 0)
			goto bad;
		/* Seconds from 1 (redis refuses 0), changes from 0. */
		for (i = 0; i < n; i++)
			if (redis_int(w[i], &ll) == -1 || ll < (i % 2 == 0))
				goto bad;
		return 0;
	case PT_FILE:
		if (secret_file(secrets, d->name, v, NULL, cause) == -1)
			return -1;
		return 0;
	case PT_REPLICAOF:
		if (split_words(v, w, 2) != 2 || !is_ip(w[0]) ||
		    parse_ll(w[1], &ll) == -1 || ll < 1 || ll > 65535)
			goto bad;
		return 0;
	case PT_SERVERS:
		if ((n = split_words(v, w, 64)) <= 0)
			goto bad;
		for (i = 0; i < n; i++) {
			struct sockaddr_storage	ss;
			socklen_t		len;
			const char		*err;
			char			*last = strrchr(w[i], ':');

			/* IPv4:PORT or IPv4:PORT:WEIGHT (nutcracker 0.5 reads
			 * no bracketed IPv6) */
			if (strchr(w[i], '[') != NULL) {
				xasprintf(cause, "servers: '%s': the proxy takes "
				    "IPv4 backends only", w[i]);
				return -1;
			}
			if (parse_hostport(w[i], &ss, &len, &err) == 0 &&
			    ss.ss_family == AF_INET)
				continue;
			if (last == NULL || parse_ll(last + 1, &ll) == -1 ||
			    ll < 1 || ll > 1000000)
				goto bad;
			*last = '\0';
			if (parse_hostport(w[i], &ss, &len, &err) == -1 ||
			    ss.ss_family != AF_INET)
				goto bad;
		}
		return 0;
	}
bad:
	xasprintf(cause, "%s: '%s' is not a valid value", d->name, v);
	return -1;
}

int
params_check(int kind, Ccnode__Param *const *p, size_t n, int start,
    const char *secrets, char **cause)
{
	const struct param_def	*d;
	size_t			 i, j;
	const char		*c;
	int			 k;

	for (i = 0; i < n; i++) {
		const char *name = p[i]->key, *v = p[i]->value;

		for (k = 0; forbidden[k] != NULL; k++)
			if (strcmp(name, forbidden[k]) == 0) {
				xasprintf(cause, "'%s' is never forwarded", name);
				return -1;
			}
		if ((d = param_find(name)) == NULL) {
			xasprintf(cause, "unknown parameter '%.64s'", name);
			return -1;
		}
		if (!(d->kinds & (1 << kind))) {
			xasprintf(cause, "'%s' is not a parameter of kind %s",
			    name, kind_name(kind));
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(p[j]->key, name) == 0) {
				xasprintf(cause, "'%s' is given twice", name);
				return -1;
			}
		if (strlen(v) > VALUE_MAX) {
			xasprintf(cause, "the value of '%s' is longer than %d "
			    "bytes", name, VALUE_MAX);
			return -1;
		}
		for (c = v; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				xasprintf(cause, "the value of '%s' holds a "
				    "control character", name);
				return -1;
			}
		if (check_value(d, v, secrets, cause) == -1)
			return -1;
	}
	if (start && kind == KIND_INTERFACE) {
		for (i = 0; i < n; i++)
			if (strcmp(p[i]->key, "servers") == 0)
				break;
		if (i == n) {
			*cause = xstrdup("an interface needs servers=IP:PORT[:WEIGHT],...");
			return -1;
		}
	}
	return 0;
}

const char *
kv_get(const struct kvlist *l, const char *k)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].k, k) == 0)
			return l->v[i].v;
	return NULL;
}

void
kv_set(struct kvlist *l, const char *k, const char *v)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].k, k) == 0) {
			free(l->v[i].v);
			l->v[i].v = xstrdup(v);
			return;
		}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].k = xstrdup(k);
	l->v[l->n].v = xstrdup(v);
	l->n++;
}

void
kv_del(struct kvlist *l, const char *k)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].k, k) == 0) {
			free(l->v[i].k);
			free(l->v[i].v);
			l->v[i] = l->v[--l->n];
			return;
		}
}

void
kv_clear(struct kvlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].k);
		free(l->v[i].v);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- generated files ----------------------------------------------------- */

struct text {
	char	*buf;
	size_t	 len, cap;
};

static void text_add(struct text *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatal("vsnprintf");
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n) * 2 + 256;
		t->buf = xreallocarray(t->buf, t->cap, 1);
	}
}

/*
 * A double-quoted string for redis.conf or YAML: both read \\ and \"
 * inside double quotes, and our values hold no control characters.
 */
static void
text_quoted(struct text *t, const char *s)
{
	text_add(t, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			text_add(t, "\\%c", *s);
		else
			text_add(t, "%c", *s);
	}
	text_add(t, "\"");
}

/* Reads a password file (see secret_file): one line, no control characters. */
static char *
read_secret(const char *secrets, const char *param, const char *path,
    char **cause)
{
	char		*s = NULL;
	const char	*c;

	if (secret_file(secrets, param, path, &s, cause) == -1)
		return NULL;
	for (c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			xasprintf(cause, "%s: %s holds a control character or "
			    "more than one line", param, path);
			free(s);
			return NULL;
		}
	if (*s == '\0') {
		xasprintf(cause, "%s: %s is empty", param, path);
		free(s);
		return NULL;
	}
	return s;
}

/*
 * What the client-facing user may never do: change users, the config or
 * the replication topology, load code, or stop the server.  Without this
 * any client could drop the agent's user, or point dir and dbfilename at
 * a file of its choosing (the classic CONFIG SET takeover).  Data
 * commands, MONITOR, CLIENT and SLOWLOG stay.
 */
#define DEFAULT_USER_DENY "-acl +acl|whoami -config -debug -module -shutdown " \
	"-replicaof -slaveof -failover -cluster|reset -cluster|failover " \
	"-cluster|forget -cluster|meet -cluster|replicate"

/* The ACL rules of the client-facing default user. */
static void
default_user_rules(struct text *t, const char *pass, const char *disabled)
{
	char	w[64][64];
	int	n, i;

	text_add(t, "user default on ");
	if (pass != NULL) {
		char *rule;

		xasprintf(&rule, ">%s", pass);
		text_quoted(t, rule);
		free(rule);
	} else
		text_add(t, "nopass");
	text_add(t, " ~* &* +@all %s", DEFAULT_USER_DENY);
	n = disabled ? split_words(disabled, w, 64) : 0;
	for (i = 0; i < n; i++)
		text_add(t, " -%s", w[i]);
	text_add(t, "\n");
}

char *
params_acl_default(const struct kvlist *l)
{
	struct text	t = { NULL, 0, 0 };
	char		w[64][64];
	int		n, i;

	/* ACL SETUSER default +@all ...: undoes what was disabled before. */
	text_add(&t, "+@all %s", DEFAULT_USER_DENY);
	n = kv_get(l, "disable-command-list") ?
	    split_words(kv_get(l, "disable-command-list"), w, 64) : 0;
	for (i = 0; i < n; i++)
		text_add(&t, " -%s", w[i]);
	return t.buf;
}

int
params_redis_conf(const struct inst_files *f, const struct kvlist *l,
    const char *bind, int port, const char *secrets, char **out, char **cause)
{
	struct text	 t = { NULL, 0, 0 };
	const char	*v, *disabled = kv_get(l, "disable-command-list");
	char		*pass = NULL, *mauth = NULL, w[2][64];
	size_t		 i;

	if ((v = kv_get(l, "requirepass-file")) != NULL &&
	    (pass = read_secret(secrets, "requirepass-file", v, cause)) == NULL)
		return -1;
	if ((v = kv_get(l, "masterauth-file")) != NULL &&
	    (mauth = read_secret(secrets, "masterauth-file", v, cause)) == NULL) {
		free(pass);
		return -1;
	}
	text_add(&t, "# Written by ccagent for instance %s; ccagent rewrites it "
	    "at every start.\n", f->name);
	text_add(&t, "port %d\nbind %s\ndaemonize no\nsupervised no\n", port,
	    bind);
	text_add(&t, "dir ");
	text_quoted(&t, f->data_dir);
	text_add(&t, "\nlogfile ");
	text_quoted(&t, f->log_path);
	text_add(&t, "\nappendonly %s\n", (v = kv_get(l, "appendonly")) ? v :
	    "no");
	text_add(&t, "save ");
	text_quoted(&t, (v = kv_get(l, "save")) ? v : "");
	text_add(&t, "\n");
	/* The settable ones, when given. */
	for (i = 0; i < l->n; i++) {
		if (!param_online(l->v[i].k) ||
		    strcmp(l->v[i].k, "disable-command-list") == 0)
			continue;
		text_add(&t, "%s ", l->v[i].k);
		text_quoted(&t, l->v[i].v);
		text_add(&t, "\n");
	}
	if ((v = kv_get(l, "replicaof")) != NULL &&
	    split_words(v, w, 2) == 2)
		text_add(&t, "replicaof %s %s\n", w[0], w[1]);
	if (mauth != NULL) {
		text_add(&t, "masterauth ");
		text_quoted(&t, mauth);
		text_add(&t, "\n");
	}
	if ((v = kv_get(l, "cluster-enabled")) != NULL &&
	    strcmp(v, "yes") == 0) {
		text_add(&t, "cluster-enabled yes\ncluster-config-file ");
		text_quoted(&t, f->cluster_conf);
		text_add(&t, "\n");
	}
	/*
	 * Users: the clients', the agent's own, and the monitor's probes,
	 * which may only PING, INFO, ROLE and name their connection.
	 */
	default_user_rules(&t, pass, disabled);
	text_add(&t, "user %s on >%s ~* &* +@all\n", AGENT_USER, f->agent_pw);
	text_add(&t, "user %s on >%s -@all +ping +info +role +client|setname "
	    "+auth +hello\n", PROBE_USER, f->probe_pw);
	if (pass != NULL) {
		memset(pass, 0, strlen(pass));
		free(pass);
	}
	if (mauth != NULL) {
		memset(mauth, 0, strlen(mauth));
		free(mauth);
	}
	*out = t.buf;
	return 0;
}

int
params_nutcracker_yaml(const struct inst_files *f, const struct kvlist *l,
    const char *bind, int port, const char *secrets, char **out, char **cause)
{
	struct text	 t = { NULL, 0, 0 };
	const char	*v;
	char		*auth = NULL, w[64][64];
	int		 n, i;

	if ((v = kv_get(l, "redis-auth-file")) != NULL &&
	    (auth = read_secret(secrets, "redis-auth-file", v, cause)) == NULL)
		return -1;
	text_add(&t, "# Written by ccagent for instance %s; ccagent rewrites it "
	    "at every start.\n", f->name);
	text_quoted(&t, f->name);
	text_add(&t, ":\n  listen: %s:%d\n", bind, port);
	text_add(&t, "  hash: %s\n", (v = kv_get(l, "hash")) ? v : "fnv1a_64");
	text_add(&t, "  distribution: %s\n", (v = kv_get(l, "distribution")) ?
	    v : "ketama");
	text_add(&t, "  redis: true\n  auto_eject_hosts: false\n");
	text_add(&t, "  timeout: %s\n", (v = kv_get(l, "server-timeout")) ?
	    v : "400");
	if (auth != NULL) {
		text_add(&t, "  redis_auth: ");
		text_quoted(&t, auth);
		text_add(&t, "\n");
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	text_add(&t, "  servers:\n");
	n = split_words(kv_get(l, "servers"), w, 64);
	for (i = 0; i < n; i++) {
		/* nutcracker wants IP:PORT:WEIGHT. */
		int colons = 0;
		const char *c;

		for (c = w[i]; *c != '\0'; c++)
			colons += *c == ':';
		text_add(&t, "   - %s%s\n", w[i], colons == 1 ? ":1" : "");
	}
	*out = t.buf;
	return 0;
}
