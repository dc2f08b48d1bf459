/*
 * info.c: see info.h.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "info.h"
#include "util.h"

struct key_index {
	const char	*key;
	int		 id;
};

static struct key_index	keys[RM_COUNT];
static int		keys_ready;

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct key_index *)a)->key,
	    ((const struct key_index *)b)->key);
}

static void
keys_init(void)
{
	int i;

	for (i = 0; i < RM_COUNT; i++) {
		keys[i].key = redis_metric_defs[i].key;
		keys[i].id = i;
	}
	xqsort(keys, RM_COUNT, sizeof(keys[0]), key_cmp);
	keys_ready = 1;
}

/* Copies at most dstlen-1 bytes of a length-delimited field. */
static void
copy_field(char *dst, size_t dstlen, const char *src, size_t len)
{
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* strtoull/strtod over a field that is not NUL-terminated. */
static int
field_double(const char *v, size_t len, double *out)
{
	char	 buf[64], *end;
	double	 d;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	d = strtod(buf, &end);
	if (end == buf || *end != '\0' || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

static uint64_t
field_u64(const char *v, size_t len)
{
	uint64_t n = 0;
	size_t	 i;

	for (i = 0; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		if (n > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	return n;
}

/*
 * Takes the next "k=v" from a "k=v,k=v,..." list, as in the dbN and slaveN
 * lines.  Returns 0 at the end of the list.
 */
static int
next_pair(const char **p, const char *end, const char **k, size_t *klen,
    const char **v, size_t *vlen)
{
	const char *comma, *eq;

	if (*p >= end)
		return 0;
	if ((comma = memchr(*p, ',', (size_t)(end - *p))) == NULL)
		comma = end;
	*k = *p;
	if ((eq = memchr(*p, '=', (size_t)(comma - *p))) == NULL) {
		*klen = (size_t)(comma - *p);
		*v = comma;
		*vlen = 0;
	} else {
		*klen = (size_t)(eq - *p);
		*v = eq + 1;
		*vlen = (size_t)(comma - eq - 1);
	}
	*p = comma < end ? comma + 1 : end;
	return 1;
}

#define PAIR_IS(lit) (pklen == sizeof(lit) - 1 && memcmp(pk, lit, pklen) == 0)

static void
parse_db(struct info *in, const char *k, size_t klen, const char *v,
    size_t vlen)
{
	struct info_db	*db;
	const char	*p = v, *end = v + vlen, *pk, *pv;
	size_t		 pklen, pvlen;

	if (in->ndbs >= INFO_MAX_DBS)
		return;
	db = &in->dbs[in->ndbs];
	memset(db, 0, sizeof(*db));
	db->db = (uint32_t)MINIMUM(field_u64(k + 2, klen - 2), UINT32_MAX);
	while (next_pair(&p, end, &pk, &pklen, &pv, &pvlen)) {
		if (PAIR_IS("keys"))
			db->keys = field_u64(pv, pvlen);
		else if (PAIR_IS("expires"))
			db->expires = field_u64(pv, pvlen);
		else if (PAIR_IS("avg_ttl"))
			db->avg_ttl_ms = field_u64(pv, pvlen);
	}
	in->ndbs++;
}

static void
parse_replica(struct info *in, const char *v, size_t vlen)
{
	struct info_replica	*r;
	char			 ip[48] = "", port[8] = "";
	const char		*p = v, *end = v + vlen, *pk, *pv;
	size_t			 pklen, pvlen;

	if (in->nreplicas >= INFO_MAX_REPLICAS)
		return;
	r = &in->replicas[in->nreplicas];
	memset(r, 0, sizeof(*r));
	while (next_pair(&p, end, &pk, &pklen, &pv, &pvlen)) {
		if (PAIR_IS("ip"))
			copy_field(ip, sizeof(ip), pv, pvlen);
		else if (PAIR_IS("port"))
			copy_field(port, sizeof(port), pv, pvlen);
		else if (PAIR_IS("state"))
			copy_field(r->state, sizeof(r->state), pv, pvlen);
		else if (PAIR_IS("offset"))
			r->offset = field_u64(pv, pvlen);
		else if (PAIR_IS("lag"))
			r->lag = (uint32_t)MINIMUM(field_u64(pv, pvlen), UINT32_MAX);
	}
	snprintf(r->addr, sizeof(r->addr), "%s:%s", ip, port);
	in->nreplicas++;
}

static int
is_digits(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

#define KEY_IS(lit) (klen == sizeof(lit) - 1 && memcmp(k, lit, klen) == 0)

static int
parse_line(struct info *in, const char *k, size_t klen, const char *v,
    size_t vlen)
{
	struct key_index	 want, *hit;
	char			 key[64];
	double			 d;
	const struct metric_def	*md;

	if (klen == 0 || klen >= sizeof(key))
		return 0;
	memcpy(key, k, klen);
	key[klen] = '\0';
	want.key = key;
	hit = bsearch(&want, keys, RM_COUNT, sizeof(keys[0]), key_cmp);
	if (hit != NULL) {
		md = &redis_metric_defs[hit->id];
		switch (md->conv) {
		case CV_NUM:
			if (field_double(v, vlen, &d) == -1)
				return 0;
			break;
		case CV_OK:
			d = (vlen == 2 && memcmp(v, "ok", 2) == 0) ? 1 : 0;
			break;
		case CV_UP:
			d = (vlen == 2 && memcmp(v, "up", 2) == 0) ? 1 : 0;
			break;
		default:
			return 0;
		}
		in->values[hit->id] = d;
		return 1;
	}
	if (KEY_IS("role"))
		copy_field(in->role, sizeof(in->role), v, vlen);
	else if (KEY_IS("redis_version"))
		copy_field(in->version, sizeof(in->version), v, vlen);
	else if (KEY_IS("run_id"))
		copy_field(in->run_id, sizeof(in->run_id), v, vlen);
	else if (KEY_IS("redis_mode"))
		copy_field(in->mode, sizeof(in->mode), v, vlen);
	else if (KEY_IS("maxmemory_policy"))
		copy_field(in->policy, sizeof(in->policy), v, vlen);
	else if (KEY_IS("master_host"))
		copy_field(in->master_host, sizeof(in->master_host), v, vlen);
	else if (KEY_IS("master_port"))
		in->master_port = (int)MINIMUM(field_u64(v, vlen), 65535);
	else if (klen > 2 && memcmp(k, "db", 2) == 0 && is_digits(k + 2, klen - 2))
		parse_db(in, k, klen, v, vlen);
	else if (klen > 5 && memcmp(k, "slave", 5) == 0 &&
	    is_digits(k + 5, klen - 5))
		parse_replica(in, v, vlen);
	else
		return 0;
	return 1;
}

int
info_parse(const char *buf, size_t len, struct info *in)
{
	const char	*p = buf, *end = buf + len, *nl, *colon, *eol;
	int		 i, n = 0;

	if (!keys_ready)
		keys_init();
	memset(in, 0, sizeof(*in));
	for (i = 0; i < RM_COUNT; i++)
		in->values[i] = NAN;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		eol = nl ? nl : end;
		if (eol > p && eol[-1] == '\r')
			eol--;
		if (eol > p && *p != '#' &&
		    (colon = memchr(p, ':', (size_t)(eol - p))) != NULL)
			n += parse_line(in, p, (size_t)(colon - p), colon + 1,
			    (size_t)(eol - colon - 1));
		p = nl ? nl + 1 : end;
	}
	return n;
}

/* "key:value\r\n" lines; only the three keys are looked at. */
void
info_replication(const char *buf, size_t len, struct info_repl *r)
{
	const char	*p = buf, *end = buf + len, *nl, *v;
	size_t		 n, klen;
	char		 num[32];

	r->role[0] = '\0';
	r->last_io = r->offset = NAN;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((v = memchr(p, ':', (size_t)(nl - p))) == NULL)
			continue;
		klen = (size_t)(v - p);
		v++;
		n = (size_t)(nl - v);
		if (n > 0 && v[n - 1] == '\r')
			n--;
		if (klen == 4 && memcmp(p, "role", 4) == 0) {
			n = MINIMUM(n, sizeof(r->role) - 1);
			memcpy(r->role, v, n);
			r->role[n] = '\0';
			continue;
		}
		if (!(klen == 26 && memcmp(p, "master_last_io_seconds_ago",
		    26) == 0) && !(klen == 18 && memcmp(p,
		    "master_repl_offset", 18) == 0))
			continue;
		if (n == 0 || n >= sizeof(num))
			continue;
		memcpy(num, v, n);
		num[n] = '\0';
		if (klen == 26)
			(void)parse_double(num, &r->last_io);
		else
			(void)parse_double(num, &r->offset);
	}
}
