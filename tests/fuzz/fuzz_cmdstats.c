/*
 * fuzz_cmdstats.c: INFO commandstats text and the LATENCY HISTOGRAM and
 * SLOWLOG GET replies, which come from whatever answers as the watched
 * Redis.  The first byte picks the mode and the knobs:
 *
 *	bit 0	1: INFO A '\f' INFO B '\f' RESP replies
 *		0: RESP replies only
 *	bit 1	the delta's fallback (a histogram from the mean)
 *	bits 2-7  own calls to subtract (of "info" and of B's first commands)
 *
 * Reply k goes into table A's histogram (k = 0) or B's (k = 1), and every
 * reply goes through slowlog_parse, with and without a last id.  Then
 * the workload between A and B is taken both ways.  Checked: the tables
 * stay sorted and bounded, no count comes out negative or above the
 * reading's, sum(hist) == calls whenever has_hist is set (or fallback),
 * a reset empties everything, and slowlog entries come out oldest first
 * above the last id, bounded and NUL-terminated.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdstats.h"

#define MAX_REPLIES	8

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct cmdtable	a, b, out;

static void
check_table(const struct cmdtable *t)
{
	size_t	i, j;

	if (t->n > CMD_MAX)
		abort();
	for (i = 0; i < t->n; i++) {
		if (memchr(t->v[i].name, '\0', CMD_NAME_MAX) == NULL ||
		    t->v[i].name[0] == '\0')
			abort();
		for (j = 0; t->v[i].name[j] != '\0'; j++) {
			if (t->v[i].name[j] >= 'A' && t->v[i].name[j] <= 'Z')
				abort();
		}
		if (i > 0 && strcmp(t->v[i - 1].name, t->v[i].name) >= 0)
			abort();
		if (cmdtable_find((struct cmdtable *)t, t->v[i].name) !=
		    &t->v[i])
			abort();
	}
}

static uint64_t
own_total(const struct owncalls *o)
{
	uint64_t	sum = 0;
	size_t		i;

	for (i = 0; i < o->n; i++)
		sum += o->v[i].count + o->v[i].old;
	return sum;
}

/* The workload from p to c, and its invariants. */
static void
delta(const struct cmdtable *p, const struct cmdtable *c, unsigned knobs)
{
	const struct cmdstat	*cs, *src;
	struct owncalls		 own;
	uint64_t		 sum, before;
	size_t			 i;
	int			 fallback = (knobs >> 1) & 1, rc, k;

	memset(&own, 0, sizeof(own));
	owncalls_add(&own, "info", knobs >> 2);
	for (i = 0; i < c->n && i < 3; i++)
		owncalls_add(&own, c->v[i].name, (knobs >> 2) * (i + 1));
	before = own_total(&own);

	rc = cmdstats_delta(p, c, &own, fallback, &out);
	if (rc == -1) {
		/* A reset: no delta; own calls kept only for one more. */
		if (out.n != 0 || own_total(&own) > before)
			abort();
		for (i = 0; i < own.n; i++)
			if (own.v[i].count != 0 || own.v[i].old == 0)
				abort();
		return;
	}
	if (rc != 0 || own_total(&own) > before)
		abort();
	check_table(&out);
	for (i = 0; i < out.n; i++) {
		cs = &out.v[i];
		if ((src = cmdtable_find((struct cmdtable *)c, cs->name)) ==
		    NULL)
			abort();
		if (cs->calls == 0 || cs->calls > src->calls ||
		    cs->usec > src->usec || cs->failed > src->failed)
			abort();
		for (sum = 0, k = 0; k < LAT_BUCKETS; k++) {
			if (cs->hist[k] > cs->calls)
				abort();
			sum += cs->hist[k];
		}
		if (cs->has_hist || fallback) {
			if (sum != cs->calls)
				abort();
		} else if (sum != 0)
			abort();
	}
}

static void
check_slowlog(const redisReply *r, int have_last, uint64_t last)
{
	struct slowentry	*v;
	uint64_t		 lost;
	int			 n, i, j;

	n = slowlog_parse(r, have_last, last, &v, &lost);
	if (n <= 0) {
		if (v != NULL || (n == -1 && lost != 0))
			abort();
		return;
	}
	if (lost != 0 && (!have_last || lost != v[0].id - last - 1))
		abort();
	for (i = 0; i < n; i++) {
		if ((have_last && v[i].id <= last) ||
		    (i > 0 && v[i].id <= v[i - 1].id))
			abort();
		if (v[i].nargs < 0 || v[i].nargs > SLOW_MAX_ARGS)
			abort();
		for (j = 0; j < v[i].nargs; j++) {
			if (v[i].arglen[j] > SLOW_MAX_ARG ||
			    v[i].args[j][v[i].arglen[j]] != '\0')
				abort();
		}
		if (memchr(v[i].client, '\0', sizeof(v[i].client)) == NULL ||
		    memchr(v[i].name, '\0', sizeof(v[i].name)) == NULL)
			abort();
	}
	/* Again above the newest-but-one: one entry, nothing lost. */
	if (v[n - 1].id == 0) {
		slowlog_free(v, n);
		return;
	}
	last = v[n - 1].id - 1;
	slowlog_free(v, n);
	n = slowlog_parse(r, 1, last, &v, &lost);
	if (n != 1 || lost != 0)
		abort();
	slowlog_free(v, n);
}

/*
 * Whether the RESP bytes announce an array so long that hiredis would
 * allocate its element vector beyond the fuzzer's malloc limit (the
 * agent reads the watched Redis, whose replies are bounded by its
 * output buffer).
 */
static int
resp_too_big(const uint8_t *d, size_t n)
{
	size_t		i;
	uint64_t	v;

	for (i = 0; i < n; i++) {
		if (d[i] != '*')
			continue;
		for (v = 0; i + 1 < n && d[i + 1] >= '0' && d[i + 1] <= '9';
		    i++) {
			v = v * 10 + (d[i + 1] - '0');
			if (v > 100000)
				return 1;
		}
	}
	return 0;
}

static void
resp(const uint8_t *d, size_t n, unsigned knobs)
{
	redisReader	*rd;
	void		*r;
	int		 k;

	if (n == 0 || resp_too_big(d, n))
		return;
	if ((rd = redisReaderCreate()) == NULL)
		return;
	if (redisReaderFeed(rd, (const char *)d, n) != REDIS_OK) {
		redisReaderFree(rd);
		return;
	}
	for (k = 0; k < MAX_REPLIES; k++) {
		r = NULL;
		if (redisReaderGetReply(rd, &r) != REDIS_OK || r == NULL)
			break;
		if (k < 2) {
			if (cmdstats_parse_histogram(r, k == 0 ? &a : &b) <
			    -1)
				abort();
			check_table(k == 0 ? &a : &b);
		}
		check_slowlog(r, 0, 0);
		check_slowlog(r, 1, knobs >> 2);
		freeReplyObject(r);
	}
	redisReaderFree(rd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	const uint8_t	*p, *end, *ff;
	unsigned	 knobs;
	int		 i;

	if (n == 0)
		return 0;
	knobs = d[0];
	p = d + 1;
	end = d + n;
	cmdtable_clear(&a);
	cmdtable_clear(&b);
	if (knobs & 1) {
		/* INFO A, INFO B (A again if there is no B), then RESP. */
		for (i = 0; i < 2; i++) {
			if ((ff = memchr(p, '\f', (size_t)(end - p))) == NULL)
				ff = end;
			if (cmdstats_parse_info((const char *)p,
			    (size_t)(ff - p), i == 0 ? &a : &b) !=
			    (int)(i == 0 ? a.n : b.n))
				abort();
			p = ff < end ? ff + 1 : end;
		}
		check_table(&a);
		check_table(&b);
	}
	resp(p, (size_t)(end - p), knobs);

	delta(&a, &b, knobs);
	delta(&b, &a, knobs);
	/* A reading against itself: no workload, no reset. */
	if (cmdstats_delta(&b, &b, NULL, 1, &out) != 0 || out.n != 0)
		abort();
	return 0;
}
