/*
 * monline.c: see monline.h.
 *
 * Redis 7.0 (replicationFeedMonitors) writes each line as
 *
 *	"%ld.%06ld " time
 *	"[%d lua] ", "[%d unix:%s] " or "[%d %s] " db and client
 *	    (the client is ip:port, or [ipv6]:port, so it may hold brackets)
 *	the arguments, each sdscatrepr'd (integers as "%ld" in quotes),
 *	    separated by single spaces
 *
 * sdscatrepr writes \\ \" \n \r \t \a \b as such, other bytes outside
 * the printable ASCII range as \xHH, and the rest as is.  So a line holds
 * printable ASCII only, and a raw control byte, an unknown escape, an
 * unterminated quote or anything between two arguments but one space
 * means the line is not a MONITOR line (or was cut).
 *
 * The key table gives, per command, the key positions as COMMAND INFO
 * does (first, last, step; a negative last counts from the end) and, for
 * commands that carry a key count (ZUNIONSTORE, LMPOP, ...) or a STREAMS
 * keyword (XREAD), where to find it.  EVAL and FCALL are left out on
 * purpose: the commands of the script show up as lines of the "lua"
 * client with their own keys.
 */
#include "config.h"

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monline.h"
#include "util.h"

/* ---- parser ------------------------------------------------------------ */

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The "%ld.%06ld" of the time; *pp moves past it.  0 or -1. */
static int
parse_time(const char **pp, const char *end, double *out)
{
	const char	*p = *pp;
	double		 sec = 0, frac = 0, scale = 1;
	int		 n;

	for (n = 0; p < end && is_digit(*p); p++, n++) {
		if (n >= 12)
			return -1;
		sec = sec * 10 + (*p - '0');
	}
	if (n == 0 || p >= end || *p++ != '.')
		return -1;
	for (n = 0; p < end && is_digit(*p); p++, n++) {
		if (n >= 9)
			return -1;
		frac = frac * 10 + (*p - '0');
		scale *= 10;
	}
	if (n == 0)
		return -1;
	*out = sec + frac / scale;
	*pp = p;
	return 0;
}

/*
 * One quoted argument at *pp, decoded into *dstp (which moves past it and
 * a NUL).  Returns its decoded length, or -1.
 */
static ssize_t
parse_arg(const char **pp, const char *end, char **dstp)
{
	const char	*p = *pp;
	char		*d = *dstp, *start = *dstp;
	int		 hi, lo;

	if (p >= end || *p++ != '"')
		return -1;
	for (;;) {
		if (p >= end)
			return -1;		/* unterminated */
		if (*p == '"')
			break;
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return -1;	/* sdscatrepr would have escaped it */
		if (*p != '\\') {
			*d++ = *p++;
			continue;
		}
		if (++p >= end)
			return -1;
		switch (*p++) {
		case '\\': *d++ = '\\'; break;
		case '"': *d++ = '"'; break;
		case 'n': *d++ = '\n'; break;
		case 'r': *d++ = '\r'; break;
		case 't': *d++ = '\t'; break;
		case 'a': *d++ = '\a'; break;
		case 'b': *d++ = '\b'; break;
		case 'x':
			if (end - p < 2 || (hi = hex_digit(p[0])) < 0 ||
			    (lo = hex_digit(p[1])) < 0)
				return -1;
			*d++ = (char)(hi << 4 | lo);
			p += 2;
			break;
		default:
			return -1;
		}
	}
	*pp = p + 1;			/* past the closing quote */
	*d++ = '\0';
	*dstp = d;
	return d - 1 - start;
}

int
monline_parse(const char *line, size_t len, char *buf, struct monline *m)
{
	const char	*p = line, *end = line + len, *c, *cend;
	char		*d = buf;
	ssize_t		 l;
	uint64_t	 db = 0;
	int		 n;

	m->time = 0;
	m->db = 0;
	m->client[0] = '\0';
	m->argc = 0;
	if (parse_time(&p, end, &m->time) == -1)
		return -1;
	if (end - p < 2 || p[0] != ' ' || p[1] != '[')
		return -1;
	p += 2;
	for (n = 0; p < end && is_digit(*p); p++, n++) {
		if (n >= 10)
			return -1;
		db = db * 10 + (uint64_t)(*p - '0');
	}
	if (n == 0 || db > UINT32_MAX || p >= end || *p++ != ' ')
		return -1;
	m->db = (uint32_t)db;

	/*
	 * The client runs to the first "] \"": it may hold brackets itself.
	 * It is printable ASCII (a socket path could hold anything, but
	 * then it is not worth a client name here).
	 */
	c = p;
	for (cend = NULL; end - p >= 3; p++) {
		if (p[0] == ']' && p[1] == ' ' && p[2] == '"') {
			cend = p;
			break;
		}
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return -1;
	}
	if (cend == NULL || cend == c)
		return -1;
	n = (int)MINIMUM((size_t)(cend - c), sizeof(m->client) - 1);
	memcpy(m->client, c, (size_t)n);
	m->client[n] = '\0';
	p = cend + 2;

	/* Arguments: all are checked, the first MONLINE_MAX_ARGS kept. */
	for (;;) {
		char *a = d;

		if ((l = parse_arg(&p, end, &d)) == -1)
			return -1;
		if (m->argc < MONLINE_MAX_ARGS) {
			m->argv[m->argc] = a;
			m->argl[m->argc] = (size_t)l;
			m->argc++;
		}
		if (p == end)
			break;
		if (*p++ != ' ')
			return -1;
	}
	return 0;
}

/* ---- keys -------------------------------------------------------------- */

enum keyspec {
	KS_RANGE,		/* first, last, step */
	KS_NUMKEYS,		/* first..last, then argv[nk] keys from nk + 1 */
	KS_STREAMS		/* after the STREAMS keyword, half of the rest */
};

struct cmdkeys {
	const char	*name;		/* lower case; the table is sorted */
	enum keyspec	 spec;
	int		 first;		/* 0: no fixed key; KS_STREAMS: where
					   the search for STREAMS starts */
	int		 last;		/* < 0: from the end, -1 the last */
	int		 step;
	int		 nk;		/* KS_NUMKEYS: index of the key count */
	const char	*type;
};

#define R(n, f, l, s, t)	{ n, KS_RANGE, f, l, s, 0, t }
#define NK(n, f, nk, t)		{ n, KS_NUMKEYS, f, f, 1, nk, t }
#define ST(n, from, t)		{ n, KS_STREAMS, from, 0, 1, 0, t }

static const char S[] = "string", H[] = "hash", L[] = "list", SE[] = "set",
    Z[] = "zset", X[] = "stream", G[] = "";

static const struct cmdkeys cmdkeys[] = {
	R("append", 1, 1, 1, S),
	R("bitcount", 1, 1, 1, S),
	R("bitfield", 1, 1, 1, S),
	R("bitfield_ro", 1, 1, 1, S),
	R("bitpos", 1, 1, 1, S),
	R("blmove", 1, 2, 1, L),
	NK("blmpop", 0, 2, L),
	R("blpop", 1, -2, 1, L),
	R("brpop", 1, -2, 1, L),
	R("brpoplpush", 1, 2, 1, L),
	NK("bzmpop", 0, 2, Z),
	R("bzpopmax", 1, -2, 1, Z),
	R("bzpopmin", 1, -2, 1, Z),
	R("copy", 1, 2, 1, G),
	R("decr", 1, 1, 1, S),
	R("decrby", 1, 1, 1, S),
	R("del", 1, -1, 1, G),
	R("dump", 1, 1, 1, G),
	R("exists", 1, -1, 1, G),
	R("expire", 1, 1, 1, G),
	R("expireat", 1, 1, 1, G),
	R("expiretime", 1, 1, 1, G),
	R("geoadd", 1, 1, 1, Z),
	R("geodist", 1, 1, 1, Z),
	R("geohash", 1, 1, 1, Z),
	R("geopos", 1, 1, 1, Z),
	R("georadius", 1, 1, 1, Z),
	R("georadius_ro", 1, 1, 1, Z),
	R("georadiusbymember", 1, 1, 1, Z),
	R("georadiusbymember_ro", 1, 1, 1, Z),
	R("geosearch", 1, 1, 1, Z),
	R("geosearchstore", 1, 2, 1, Z),
	R("get", 1, 1, 1, S),
	R("getbit", 1, 1, 1, S),
	R("getdel", 1, 1, 1, S),
	R("getex", 1, 1, 1, S),
	R("getrange", 1, 1, 1, S),
	R("getset", 1, 1, 1, S),
	R("hdel", 1, 1, 1, H),
	R("hexists", 1, 1, 1, H),
	R("hget", 1, 1, 1, H),
	R("hgetall", 1, 1, 1, H),
	R("hincrby", 1, 1, 1, H),
	R("hincrbyfloat", 1, 1, 1, H),
	R("hkeys", 1, 1, 1, H),
	R("hlen", 1, 1, 1, H),
	R("hmget", 1, 1, 1, H),
	R("hmset", 1, 1, 1, H),
	R("hrandfield", 1, 1, 1, H),
	R("hscan", 1, 1, 1, H),
	R("hset", 1, 1, 1, H),
	R("hsetnx", 1, 1, 1, H),
	R("hstrlen", 1, 1, 1, H),
	R("hvals", 1, 1, 1, H),
	R("incr", 1, 1, 1, S),
	R("incrby", 1, 1, 1, S),
	R("incrbyfloat", 1, 1, 1, S),
	R("lcs", 1, 2, 1, S),
	R("lindex", 1, 1, 1, L),
	R("linsert", 1, 1, 1, L),
	R("llen", 1, 1, 1, L),
	R("lmove", 1, 2, 1, L),
	NK("lmpop", 0, 1, L),
	R("lpop", 1, 1, 1, L),
	R("lpos", 1, 1, 1, L),
	R("lpush", 1, 1, 1, L),
	R("lpushx", 1, 1, 1, L),
	R("lrange", 1, 1, 1, L),
	R("lrem", 1, 1, 1, L),
	R("lset", 1, 1, 1, L),
	R("ltrim", 1, 1, 1, L),
	R("mget", 1, -1, 1, S),
	R("mset", 1, -1, 2, S),
	R("msetnx", 1, -1, 2, S),
	R("persist", 1, 1, 1, G),
	R("pexpire", 1, 1, 1, G),
	R("pexpireat", 1, 1, 1, G),
	R("pexpiretime", 1, 1, 1, G),
	R("pfadd", 1, 1, 1, S),
	R("pfcount", 1, -1, 1, S),
	R("pfmerge", 1, -1, 1, S),
	R("psetex", 1, 1, 1, S),
	R("pttl", 1, 1, 1, G),
	R("rename", 1, 2, 1, G),
	R("renamenx", 1, 2, 1, G),
	R("restore", 1, 1, 1, G),
	R("rpop", 1, 1, 1, L),
	R("rpoplpush", 1, 2, 1, L),
	R("rpush", 1, 1, 1, L),
	R("rpushx", 1, 1, 1, L),
	R("sadd", 1, 1, 1, SE),
	R("scard", 1, 1, 1, SE),
	R("sdiff", 1, -1, 1, SE),
	R("sdiffstore", 1, -1, 1, SE),
	R("set", 1, 1, 1, S),
	R("setbit", 1, 1, 1, S),
	R("setex", 1, 1, 1, S),
	R("setnx", 1, 1, 1, S),
	R("setrange", 1, 1, 1, S),
	R("sinter", 1, -1, 1, SE),
	NK("sintercard", 0, 1, SE),
	R("sinterstore", 1, -1, 1, SE),
	R("sismember", 1, 1, 1, SE),
	R("smembers", 1, 1, 1, SE),
	R("smismember", 1, 1, 1, SE),
	R("smove", 1, 2, 1, SE),
	R("sort", 1, 1, 1, G),
	R("sort_ro", 1, 1, 1, G),
	R("spop", 1, 1, 1, SE),
	R("srandmember", 1, 1, 1, SE),
	R("srem", 1, 1, 1, SE),
	R("sscan", 1, 1, 1, SE),
	R("strlen", 1, 1, 1, S),
	R("substr", 1, 1, 1, S),
	R("sunion", 1, -1, 1, SE),
	R("sunionstore", 1, -1, 1, SE),
	R("touch", 1, -1, 1, G),
	R("ttl", 1, 1, 1, G),
	R("type", 1, 1, 1, G),
	R("unlink", 1, -1, 1, G),
	R("xack", 1, 1, 1, X),
	R("xadd", 1, 1, 1, X),
	R("xautoclaim", 1, 1, 1, X),
	R("xclaim", 1, 1, 1, X),
	R("xdel", 1, 1, 1, X),
	R("xlen", 1, 1, 1, X),
	R("xpending", 1, 1, 1, X),
	R("xrange", 1, 1, 1, X),
	ST("xread", 1, X),		/* the search for STREAMS starts */
	ST("xreadgroup", 4, X),		/* after GROUP g consumer */
	R("xrevrange", 1, 1, 1, X),
	R("xsetid", 1, 1, 1, X),
	R("xtrim", 1, 1, 1, X),
	R("zadd", 1, 1, 1, Z),
	R("zcard", 1, 1, 1, Z),
	R("zcount", 1, 1, 1, Z),
	NK("zdiff", 0, 1, Z),
	NK("zdiffstore", 1, 2, Z),
	R("zincrby", 1, 1, 1, Z),
	NK("zinter", 0, 1, Z),
	NK("zintercard", 0, 1, Z),
	NK("zinterstore", 1, 2, Z),
	R("zlexcount", 1, 1, 1, Z),
	NK("zmpop", 0, 1, Z),
	R("zmscore", 1, 1, 1, Z),
	R("zpopmax", 1, 1, 1, Z),
	R("zpopmin", 1, 1, 1, Z),
	R("zrandmember", 1, 1, 1, Z),
	R("zrange", 1, 1, 1, Z),
	R("zrangebylex", 1, 1, 1, Z),
	R("zrangebyscore", 1, 1, 1, Z),
	R("zrangestore", 1, 2, 1, Z),
	R("zrank", 1, 1, 1, Z),
	R("zrem", 1, 1, 1, Z),
	R("zremrangebylex", 1, 1, 1, Z),
	R("zremrangebyrank", 1, 1, 1, Z),
	R("zremrangebyscore", 1, 1, 1, Z),
	R("zrevrange", 1, 1, 1, Z),
	R("zrevrangebylex", 1, 1, 1, Z),
	R("zrevrangebyscore", 1, 1, 1, Z),
	R("zrevrank", 1, 1, 1, Z),
	R("zscan", 1, 1, 1, Z),
	R("zscore", 1, 1, 1, Z),
	NK("zunion", 0, 1, Z),
	NK("zunionstore", 1, 2, Z),
};

#define CMDNAME_MAX	32

static int
cmdkeys_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct cmdkeys *)e)->name);
}

static const struct cmdkeys *
cmdkeys_find(const char *name, size_t len)
{
	char	lower[CMDNAME_MAX + 1];
	size_t	i;

	if (len == 0 || len > CMDNAME_MAX)
		return NULL;
	for (i = 0; i < len; i++) {
		if (name[i] == '\0')
			return NULL;	/* a NUL inside */
		if (name[i] >= 'A' && name[i] <= 'Z')
			lower[i] = name[i] - 'A' + 'a';
		else
			lower[i] = name[i];
	}
	lower[len] = '\0';
	return bsearch(lower, cmdkeys, nitems(cmdkeys), sizeof(cmdkeys[0]),
	    cmdkeys_cmp);
}

/* A small non-negative decimal (a key count), or -1. */
static long
small_count(const char *s, size_t len)
{
	long	v = 0;
	size_t	i;

	if (len == 0 || len > 6)
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Keys at first..last by step (last already absolute), within argc. */
static int
keys_range(const struct monline *m, int first, int last, int step,
    const char *type, monline_key_fn *fn, void *arg)
{
	int i, n = 0;

	if (first <= 0 || step <= 0)
		return 0;
	for (i = first; i <= last && i < m->argc; i += step) {
		fn(arg, m->argv[i], m->argl[i], type);
		n++;
	}
	return n;
}

int
monline_keys(const struct monline *m, monline_key_fn *fn, void *arg)
{
	const struct cmdkeys	*ck;
	long			 nk;
	int			 i, last, n = 0;

	if (m->argc < 2 ||
	    (ck = cmdkeys_find(m->argv[0], m->argl[0])) == NULL)
		return 0;
	switch (ck->spec) {
	case KS_RANGE:
		last = ck->last < 0 ? m->argc + ck->last : ck->last;
		return keys_range(m, ck->first, last, ck->step, ck->type, fn,
		    arg);
	case KS_NUMKEYS:
		n = keys_range(m, ck->first, ck->last, 1, ck->type, fn, arg);
		if (ck->nk >= m->argc ||
		    (nk = small_count(m->argv[ck->nk], m->argl[ck->nk])) <= 0)
			return n;
		return n + keys_range(m, ck->nk + 1, ck->nk + (int)nk, 1,
		    ck->type, fn, arg);
	case KS_STREAMS:
		for (i = ck->first; i < m->argc; i++) {
			if (m->argl[i] == 7 &&
			    strncasecmp(m->argv[i], "streams", 7) == 0)
				break;
		}
		if (i >= m->argc)
			return 0;
		/* STREAMS k1 k2 id1 id2: the keys are the first half. */
		return keys_range(m, i + 1, i + (m->argc - i - 1) / 2, 1,
		    ck->type, fn, arg);
	}
	return 0;
}
