/*
 * bigkeys.c: the big-key scan of one redis instance (see bigkeys.h).
 *
 * One scan at a time, on a connection of its own ("ccagent-bigkeys"),
 * driven by one state machine, bs_step.  A batch of keys goes through
 * three rounds, each one pipeline and one round trip:
 *
 *	SCAN	SCAN cursor COUNT n, after SELECT db (READONLY in cluster
 *		mode) when the db or the connection is new
 *	META	TYPE k and MEMORY USAGE k (the default sample count) per key
 *	LEN	STRLEN/LLEN/HLEN/SCARD/ZCARD/XLEN per key, with the next
 *		batch's SCAN behind them when the budget allows it
 *
 * A length is asked only where it can matter (see len_needed): MEMORY
 * USAGE bounds the length of a string, hash, set or zset from above, so a
 * small one that its size keeps out of the top N is known not to be over
 * the limit without it.  Without sizes, every length is asked.
 *
 * Only a finished LEN round commits a batch: its keys go into the figures
 * and the cursor moves on.  A connection lost at any point therefore
 * resumes at the committed cursor and counts no key twice; it resumes only
 * if INFO server gives the run_id of the start, else the scan starts over
 * (restarts).  A lost link is retried after 200 ms, doubling to 5 s; 8
 * retries without a committed batch end the scan, not complete.  A cursor
 * the server resets to 0 early just ends that db.
 * After the last db, the EXACT rounds ask MEMORY USAGE k SAMPLES 0 for the
 * kept keys that are not huge (elements below exact_limit), a few at a
 * time (at most exact_limit elements a round) with pauses of nine times
 * the round's time.  Strings need none: their MEMORY USAGE is exact.
 *
 * Pacing is a token bucket of keys, refilled at the current rate: a SCAN
 * is sent only when the bucket is not empty, and what it returned is
 * taken out.  The current rate starts at the configured one and is halved,
 * at most once a second, when the instance hurts:
 *   - the median of the scan's META round trips of the last second (8 at
 *     least) is over 4x the median of its first second (and over 2 ms);
 *   - two readings of the sampler's round trip in a row are over 4x the
 *     median of its first 3 (and over 2 ms);
 *   - three readings in a row of the workload's ops (the instance's, less
 *     the scan's own commands) are half over their mean (of the first 5
 *     readings, then moving slowly) and 5,000/s or more over it; the rate
 *     does not recover while they stay up.
 * Medians and pairs, not single readings: on a busy host one round trip
 * in a few hundred takes milliseconds for reasons of scheduling alone.
 * The rate grows back by 10% a second after 2 quiet seconds.
 *
 * Every figure is bounded: a type table (32 types; more module types are
 * counted as "other"), the size ladder, a min-heap of the top_n largest
 * keys per type and one of the 1,000 largest keys over the limits.  "Larger"
 * is more bytes, then more elements.  Key names are binary safe and kept up
 * to 1,024 bytes; a longer name is cut there, and its key gets no exact
 * size (the name cannot be asked for again).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define LOG_COMP "bigkeys"
#include "log.h"
#include "bigkeys.h"
#include "cmdstats.h"
#include "info.h"
#include "rconn.h"
#include "util.h"

#define CLIENT_NAME	"ccagent-bigkeys"
#define MAX_REPLY	(8 * 1024 * 1024)
#define ROUND_MS	2000		/* a round trip's deadline */
#define KEY_KEEP	1024		/* bytes of a key name kept */
#define OVER_MAX	1000		/* keys over the limits kept */
#define TYPES_MAX	32
#define TYPE_NAME_MAX	32
#define RETRY_MAX	8		/* reconnects without progress */
#define RATE_MIN	100.0		/* keys/s the back-off goes down to */
#define META_N		8		/* META round trips per median, at least */
#define META_MAX	256		/* and at most */
#define META_MS		1000		/* over this time at least */
#define OPS_HIGH_N	3		/* readings in a row for an ops rise */
#define OPS_WARM_N	5		/* readings averaged before that */
#define RTT_BASE_N	3		/* sampler readings for its baseline */
#define OPS_EWMA	0.05		/* weight of a reading in the ops mean */
#define CURSOR_MAX	24

/* ---- kept keys: records, bounded heaps, the ladder ------------------------ */

struct bkey {
	int		 refs;		/* heaps holding it */
	int		 queued;	/* in the exact list */
	uint32_t	 db;
	int		 type;		/* index into the scan's types */
	uint64_t	 size;		/* bytes */
	uint64_t	 elements;
	int		 exact;
	int		 cut;		/* name cut at KEY_KEEP */
	size_t		 len;
	unsigned char	 name[];
};

/* The cap largest keys: a min-heap, the smallest at v[0]. */
struct kheap {
	struct bkey	**v;
	size_t		  n, cap;
};

static struct bkey *
bkey_new(uint32_t db, int type, const char *name, size_t len, uint64_t size,
    uint64_t elements, int exact)
{
	size_t		 keep = MINIMUM(len, (size_t)KEY_KEEP);
	struct bkey	*b = xmalloc(sizeof(*b) + keep + 1);

	b->refs = 0;
	b->queued = 0;
	b->db = db;
	b->type = type;
	b->size = size;
	b->elements = elements;
	b->exact = exact;
	b->cut = keep < len;
	b->len = keep;
	memcpy(b->name, name, keep);
	b->name[keep] = '\0';
	return b;
}

static void
bkey_unref(struct bkey *b)
{
	if (--b->refs <= 0)
		free(b);
}

/* <0, 0, >0 as a is smaller than, as large as, larger than b. */
static int
bkey_cmp(const struct bkey *a, const struct bkey *b)
{
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	if (a->elements != b->elements)
		return a->elements < b->elements ? -1 : 1;
	return 0;
}

static int
bkey_cmp_desc(const void *a, const void *b)
{
	return bkey_cmp(*(struct bkey *const *)b, *(struct bkey *const *)a);
}

static int
bkey_cmp_db(const void *a, const void *b)
{
	uint32_t x = (*(struct bkey *const *)a)->db;
	uint32_t y = (*(struct bkey *const *)b)->db;

	return x < y ? -1 : x > y;
}

static void
kheap_init(struct kheap *h, size_t cap)
{
	h->v = cap > 0 ? xcalloc(cap, sizeof(*h->v)) : NULL;
	h->n = 0;
	h->cap = cap;
}

static void
kheap_clear(struct kheap *h)
{
	while (h->n > 0)
		bkey_unref(h->v[--h->n]);
}

static void
kheap_free(struct kheap *h)
{
	kheap_clear(h);
	free(h->v);
	h->v = NULL;
	h->cap = 0;
}

static void
kheap_swap(struct kheap *h, size_t i, size_t j)
{
	struct bkey *t = h->v[i];

	h->v[i] = h->v[j];
	h->v[j] = t;
}

static void
kheap_up(struct kheap *h, size_t i)
{
	while (i > 0 && bkey_cmp(h->v[i], h->v[(i - 1) / 2]) < 0) {
		kheap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
kheap_down(struct kheap *h, size_t i)
{
	size_t c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && bkey_cmp(h->v[c + 1], h->v[c]) < 0)
			c++;
		if (bkey_cmp(h->v[c], h->v[i]) >= 0)
			break;
		kheap_swap(h, i, c);
		i = c;
	}
}

/* Whether b would be kept: lets the caller skip making a record. */
static int
kheap_wants(const struct kheap *h, const struct bkey *b)
{
	if (h->cap == 0)
		return 0;
	return h->n < h->cap || bkey_cmp(b, h->v[0]) > 0;
}

/* Keeps b (taking a reference) if it is among the cap largest. */
static void
kheap_offer(struct kheap *h, struct bkey *b)
{
	if (!kheap_wants(h, b))
		return;
	b->refs++;
	if (h->n < h->cap) {
		h->v[h->n] = b;
		kheap_up(h, h->n++);
		return;
	}
	bkey_unref(h->v[0]);
	h->v[0] = b;
	kheap_down(h, 0);
}

/* Largest first; the heap is a plain array after this. */
static void
kheap_sort(struct kheap *h)
{
	if (h->n > 1)
		xqsort(h->v, h->n, sizeof(*h->v), bkey_cmp_desc);
}

/*
 * The size ladder: slot i holds the keys of edges[i-1] <= size < edges[i],
 * the last slot those of 10 MB and more.
 */
static const uint64_t ladder_edges[] = {
	1024, 10 * 1024, 100 * 1024, 1024 * 1024, 10 * 1024 * 1024
};
#define LADDER_SLOTS	(nitems(ladder_edges) + 1)

static size_t
ladder_slot(uint64_t size)
{
	size_t i;

	for (i = 0; i < nitems(ladder_edges); i++)
		if (size < ladder_edges[i])
			break;
	return i;
}

/*
 * The types whose length the scan asks for, in the order reported.
 * per_elem: bytes an element takes at the very least, so that MEMORY
 * USAGE / per_elem bounds the length (0: no bound; see len_needed).
 */
static const struct ktype {
	const char	*name;
	const char	*cmd;
	const char	*stat;		/* commandstats name */
	int		 collection;
	int		 per_elem;
} ktypes[] = {
	{ "string",	"STRLEN",	"strlen",	0,	1 },
	{ "list",	"LLEN",		"llen",		1,	0 },
	{ "hash",	"HLEN",		"hlen",		1,	2 },
	{ "set",	"SCARD",	"scard",	1,	2 },
	{ "zset",	"ZCARD",	"zcard",	1,	2 },
	{ "stream",	"XLEN",		"xlen",		1,	0 },
};
#define T_STRING	0

/* ---- the scan ------------------------------------------------------------ */

enum bs_phase { PH_IDLE, PH_HELLO, PH_SCAN, PH_META, PH_LEN, PH_EXACT,
    PH_DONE };

/* What one pipelined command was, so that its reply finds its place. */
enum rq_kind { RQ_INFO, RQ_SELECT, RQ_READONLY, RQ_SCAN, RQ_PRESCAN,
    RQ_TYPE, RQ_MEM, RQ_LEN, RQ_EXACT };

struct bsreq {
	uint8_t		 kind;
	uint32_t	 idx;
};

enum { E_OK, E_SKIPPED, E_VANISHED };

struct bentry {
	size_t		 off, len;	/* name, in the batch's buffer */
	int		 type;		/* -1: not known yet */
	int		 state;		/* E_* */
	int		 has_size;
	uint64_t	 size, elements;
};

/* The keys of one SCAN reply. */
struct batch {
	struct bentry	*v;
	size_t		 n, cap;
	char		*buf;
	size_t		 used, bufcap;
	char		 next[CURSOR_MAX];	/* the cursor that came with it */
	int		 ready;
};

struct btype {
	char		 name[TYPE_NAME_MAX];
	int		 known;		/* index into ktypes, or -1 */
	uint64_t	 count, bytes;
	struct kheap	 top;
	Ccnode__TypeCount pb;
};

struct bigscan {
	struct event_base	*base;
	struct bigscan_conf	 conf;
	enum bs_phase		 phase;
	enum bs_phase		 resume;	/* after HELLO on a new link */

	char			*name, *scanned, *ip, *user, *passfile;
	char			*password;
	int			 port;
	struct owncalls		*own;
	char			 why[32];	/* "schedule", "analyze" */

	struct rconn		*rc;
	struct event		*kick;		/* bs_step, from the loop */
	struct event		*wait;		/* pacing, backoff, pauses */
	struct event		*deadline;	/* of the round in flight */
	struct event		*tick;		/* every second */

	/* The round in flight: replies come in the order sent. */
	struct bsreq		*req;
	size_t			 nreq, reqcap, got;
	int			 sending;
	int			 lost;		/* the link failed */
	char			 lost_why[160];
	char			 fatal[200];	/* the scan cannot go on */
	uint64_t		 round_us;

	/* INFO server and keyspace, at start and on each new link */
	int			 hello_seen;
	char			 run_id[48], hello_run_id[48];
	int			 hello_cluster;
	uint32_t		 hello_dbs[INFO_MAX_DBS];
	int			 hello_ndbs;
	int			 cluster;
	uint32_t		 dbs[INFO_MAX_DBS];
	int			 ndbs;

	/* where the scan is */
	int			 dbi;
	char			 cursor[CURSOR_MAX];	/* committed */
	int64_t			 sel_db;	/* SELECTed on this link, or -1 */
	int			 readonly;	/* READONLY sent on this link */
	struct batch		 cur, pre;
	int			 retries;

	/* pacing */
	double			 max_rate, rate, credit;
	uint64_t		 refill_us;
	uint64_t		 meta_us[META_MAX];
	int			 nmeta;
	uint64_t		 meta_start_ms, meta_base;
	uint32_t		 rtt_first[RTT_BASE_N];
	int			 nrtt, rtt_over;
	uint32_t		 rtt_base;
	int			 nops, ops_high, ops_over;
	double			 ops_mean;
	uint64_t		 last_hurt_ms;
	uint32_t		 backoffs;
	uint64_t		 tick_keys, tick_cmds, tick_ms;
	double			 keys_rate, cmds_rate;

	/* the figures */
	struct btype		 types[TYPES_MAX];
	int			 ntypes;
	struct kheap		 over;
	uint64_t		 ladder[LADDER_SLOTS];
	uint64_t		 keys, vanished, skipped, sized;
	uint32_t		 restarts;
	int			 sizes_off;
	char			 note[200];	/* why sizes are missing */

	/* exact sizes */
	struct bkey		**exact;
	size_t			 nexact, exact_pos, exact_sent;
	int			 exact_off;

	/* the end */
	int			 complete, has_result;
	char			 reason[256];
	int64_t			 started_ms, finished_ms;
	uint64_t		 start_mono, duration_ms;

	/* bigscan_take's view */
	Ccnode__BigKey		*pbkeys;
	Ccnode__BigKey		**pbover, **pbtop;
	Ccnode__TypeCount	**pbtypes;
	uint64_t		 pbedges[nitems(ladder_edges)];
};

static void	bs_step(struct bigscan *);
static void	bs_end(struct bigscan *, int, const char *);


/*
 * A server's error for a reason or a log line: printable, and cut before
 * ", with args beginning with:", which would quote a key name.
 */
static void
err_text(char *dst, size_t len, const char *err, size_t errlen)
{
	const char	*cut = ", with args";
	size_t		 i, n = strlen(cut);

	for (i = 0; i + n <= errlen; i++)
		if (memcmp(err + i, cut, n) == 0) {
			errlen = i;
			break;
		}
	str_printable(dst, len, err, errlen);
}

/* ---- types and figures ---------------------------------------------------- */

static void
types_init(struct bigscan *bs)
{
	size_t i;

	for (i = 0; i < nitems(ktypes); i++) {
		str_copy(bs->types[i].name, TYPE_NAME_MAX, ktypes[i].name);
		bs->types[i].known = (int)i;
		kheap_init(&bs->types[i].top, bs->conf.top_n);
	}
	bs->ntypes = (int)nitems(ktypes);
}

/*
 * The slot of a TYPE reply.  A module type gets its own slot while there
 * is room; a name that is not [A-Za-z0-9_.-]{1,31} or one past the room
 * goes to "other" (the last slot).
 */
static int
type_slot(struct bigscan *bs, const char *s, size_t len)
{
	const char	*name = s;
	size_t		 i;
	int		 t;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			break;
	}
	if (len == 0 || len >= TYPE_NAME_MAX || i < len) {
		name = "other";
		len = 5;
	}
	for (t = 0; t < bs->ntypes; t++)
		if (strlen(bs->types[t].name) == len &&
		    memcmp(bs->types[t].name, name, len) == 0)
			return t;
	/* The last slot is kept for "other": every name past it goes there. */
	if (bs->ntypes >= TYPES_MAX - 1 &&
	    !(len == 5 && memcmp(name, "other", 5) == 0))
		return type_slot(bs, "other", 5);
	t = bs->ntypes++;
	memcpy(bs->types[t].name, name, len);
	bs->types[t].name[len] = '\0';
	bs->types[t].known = -1;
	kheap_init(&bs->types[t].top, bs->conf.top_n);
	return t;
}

static void
exact_clear(struct bigscan *bs)
{
	size_t i;

	for (i = 0; i < bs->nexact; i++)
		bkey_unref(bs->exact[i]);
	free(bs->exact);
	bs->exact = NULL;
	bs->nexact = bs->exact_pos = bs->exact_sent = 0;
}

/* Forgets every figure: a new scan, or the server restarted. */
static void
figures_reset(struct bigscan *bs)
{
	int i;

	exact_clear(bs);
	for (i = 0; i < bs->ntypes; i++)
		kheap_free(&bs->types[i].top);
	memset(bs->types, 0, sizeof(bs->types));
	types_init(bs);
	kheap_free(&bs->over);
	kheap_init(&bs->over, OVER_MAX);
	memset(bs->ladder, 0, sizeof(bs->ladder));
	bs->keys = bs->vanished = bs->skipped = bs->sized = 0;
	bs->sizes_off = 0;
	bs->note[0] = '\0';
	bs->exact_off = 0;
}

static int
is_over(const struct bigscan *bs, int type, uint64_t elements)
{
	int k = bs->types[type].known;

	if (k < 0)
		return 0;
	if (ktypes[k].collection)
		return elements >= bs->conf.elements_limit;
	return elements > bs->conf.string_limit;
}

/* One examined key into the figures. */
static void
account(struct bigscan *bs, uint32_t db, const struct bentry *e,
    const char *name)
{
	struct btype	*t = &bs->types[e->type];
	struct bkey	 probe, *b;
	int		 top, over;

	bs->keys++;
	bs->tick_keys++;
	t->count++;
	if (e->has_size) {
		t->bytes += e->size;
		bs->ladder[ladder_slot(e->size)]++;
		bs->sized++;
	}
	probe.size = e->has_size ? e->size : 0;
	probe.elements = e->elements;
	top = kheap_wants(&t->top, &probe);
	over = is_over(bs, e->type, e->elements) &&
	    kheap_wants(&bs->over, &probe);
	if (!top && !over)
		return;
	/* A string's MEMORY USAGE is exact: only collections are sampled. */
	b = bkey_new(db, e->type, name, e->len, probe.size, e->elements,
	    e->has_size && t->known == T_STRING);
	if (top)
		kheap_offer(&t->top, b);
	if (over)
		kheap_offer(&bs->over, b);
	if (b->refs == 0)
		free(b);
}

/* ---- batches ---------------------------------------------------------------- */

static void
batch_reset(struct batch *b)
{
	b->n = 0;
	b->used = 0;
	b->ready = 0;
	b->next[0] = '\0';
}

static void
batch_free(struct batch *b)
{
	free(b->v);
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

static void
batch_add(struct batch *b, const char *name, size_t len)
{
	struct bentry *e;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 128;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	if (b->bufcap - b->used < len) {
		b->bufcap = MAXIMUM(b->bufcap * 2, b->used + len);
		b->buf = xreallocarray(b->buf, b->bufcap, 1);
	}
	e = &b->v[b->n++];
	memset(e, 0, sizeof(*e));
	e->off = b->used;
	e->len = len;
	e->type = -1;
	memcpy(b->buf + b->used, name, len);
	b->used += len;
}

static const char *
batch_name(const struct batch *b, const struct bentry *e)
{
	return b->buf + e->off;
}

/* ---- pacing ------------------------------------------------------------------ */

static void
pace_init(struct bigscan *bs)
{
	bs->max_rate = bs->conf.rate > 0 ? (double)bs->conf.rate : INFINITY;
	bs->rate = bs->max_rate;
	bs->credit = bs->conf.count;
	bs->refill_us = mono_us();
	bs->nmeta = bs->nrtt = bs->rtt_over = 0;
	bs->meta_base = 0;
	bs->rtt_base = 0;
	bs->nops = bs->ops_high = bs->ops_over = 0;
	bs->last_hurt_ms = 0;
	bs->backoffs = 0;
	bs->tick_keys = bs->tick_cmds = 0;
	bs->tick_ms = mono_ms();
	bs->keys_rate = bs->cmds_rate = 0;
}

/*
 * Whether a SCAN may go now; if not, the wait timer is set for when the
 * bucket has refilled.
 */
static int
pace_ready(struct bigscan *bs, int arm)
{
	uint64_t	now = mono_us();
	double		burst, wait_us;
	struct timeval	tv;

	if (isinf(bs->rate))
		return 1;
	burst = MAXIMUM((double)bs->conf.count, bs->rate / 10);
	bs->credit += bs->rate * (double)(now - bs->refill_us) / 1e6;
	bs->credit = MINIMUM(bs->credit, burst);
	bs->refill_us = now;
	if (bs->credit >= 0)
		return 1;
	if (arm) {
		wait_us = MINIMUM(-bs->credit / bs->rate * 1e6, 10e6);
		tv.tv_sec = (time_t)(wait_us / 1e6);
		tv.tv_usec = (suseconds_t)fmod(wait_us, 1e6);
		evtimer_add(bs->wait, &tv);
	}
	return 0;
}

static double
measured_rate(const struct bigscan *bs)
{
	uint64_t ms = mono_ms() - bs->start_mono;

	if (bs->keys_rate > 0)
		return bs->keys_rate;
	return ms > 0 ? (double)bs->keys * 1000 / (double)ms : 0;
}

/* The instance hurts: halve the rate, at most once a second. */
static void
pace_hurt(struct bigscan *bs, const char *cause, double value, double limit)
{
	uint64_t	now = mono_ms();
	double		r = bs->rate, m = measured_rate(bs);

	if (bs->last_hurt_ms != 0 && now - bs->last_hurt_ms < 1000)
		return;
	bs->last_hurt_ms = now;
	if (m > 0 && m < r)
		r = m;
	if (isinf(r))
		r = 2 * RATE_MIN;
	bs->rate = MAXIMUM(MINIMUM(RATE_MIN, bs->max_rate), r / 2);
	bs->backoffs++;
	log_debug("scan slows down instance=%s cause=%s value=%.0f limit=%.0f "
	    "rate=%.0f", bs->name, cause, value, limit, bs->rate);
}

static uint64_t
median(const uint64_t *in, int n)
{
	uint64_t	v[META_MAX], t;
	int		i, j;

	memcpy(v, in, (size_t)n * sizeof(*v));
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/*
 * The scan's own META round trip: the median of the first window (a
 * second, and META_N batches at least) is the baseline, then the median of
 * each next window is held against it.
 */
static void
pace_batch(struct bigscan *bs, uint64_t us)
{
	uint64_t m, limit, now = mono_ms();

	if (bs->nmeta == 0)
		bs->meta_start_ms = now;
	if (bs->nmeta < META_MAX)
		bs->meta_us[bs->nmeta++] = us;
	if (bs->nmeta < META_N || now - bs->meta_start_ms < META_MS)
		return;
	m = median(bs->meta_us, bs->nmeta);
	bs->nmeta = 0;
	if (bs->meta_base == 0) {
		bs->meta_base = MAXIMUM(m, 1);
		return;
	}
	limit = MAXIMUM(4 * bs->meta_base, 2000);
	if (m > limit)
		pace_hurt(bs, "batch-rtt", (double)m, (double)limit);
}

/* Every second: the rates of the last second, and the slow recovery. */
static void
bs_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bigscan	*bs = arg;
	uint64_t	 now = mono_ms(), dt = now - bs->tick_ms;

	if (dt == 0)
		return;
	bs->keys_rate = (double)bs->tick_keys * 1000 / (double)dt;
	bs->cmds_rate = (double)bs->tick_cmds * 1000 / (double)dt;
	bs->tick_keys = bs->tick_cmds = 0;
	bs->tick_ms = now;
	if (bs->rate < bs->max_rate && !bs->ops_high &&
	    now - bs->last_hurt_ms >= 2000) {
		bs->rate = MINIMUM(bs->max_rate, bs->rate * 1.1);
		/* Unlimited: back to no budget once it no longer binds. */
		if (isinf(bs->max_rate) && bs->rate > 1.5 * bs->keys_rate +
		    1000)
			bs->rate = INFINITY;
	}
}

void
bigscan_round(struct bigscan *bs, double ops_per_sec, uint32_t rtt_us)
{
	uint32_t	a, b, c, limit;
	double		work, high;

	if (!bigscan_running(bs))
		return;
	if (rtt_us > 0 && bs->nrtt < RTT_BASE_N) {
		bs->rtt_first[bs->nrtt++] = rtt_us;
		if (bs->nrtt == RTT_BASE_N) {
			a = bs->rtt_first[0];
			b = bs->rtt_first[1];
			c = bs->rtt_first[2];
			bs->rtt_base = MAXIMUM(MINIMUM(a, b),
			    MINIMUM(MAXIMUM(a, b), c));
		}
	} else if (rtt_us > 0) {
		limit = MAXIMUM(4 * bs->rtt_base, 2000);
		if (rtt_us <= limit)
			bs->rtt_over = 0;
		else if (++bs->rtt_over >= 2)
			pace_hurt(bs, "sampler-rtt", rtt_us, limit);
	}
	if (!(ops_per_sec >= 0))	/* NaN: no reading */
		return;
	work = MAXIMUM(0, ops_per_sec - bs->cmds_rate);
	if (bs->nops < OPS_WARM_N) {
		/* The mean of the first readings, then a moving one. */
		bs->ops_mean = (bs->ops_mean * bs->nops + work) /
		    (bs->nops + 1);
		bs->nops++;
		return;
	}
	/* The slack covers the error of taking our own rate out. */
	high = MAXIMUM(1.5 * bs->ops_mean,
	    bs->ops_mean + 5000 + 0.2 * bs->cmds_rate);
	bs->ops_over = work > high ? bs->ops_over + 1 : 0;
	if (bs->ops_over == OPS_HIGH_N)
		pace_hurt(bs, "ops", work, high);
	bs->ops_high = bs->ops_over >= OPS_HIGH_N;
	bs->ops_mean += OPS_EWMA * (work - bs->ops_mean);
}

/* ---- the link and its rounds ------------------------------------------------- */

static void
bs_kick(struct bigscan *bs)
{
	event_active(bs->kick, EV_TIMEOUT, 0);
}

static int
err_is(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* An error that passes (loading, a script running): retry on a new link. */
static int
err_transient(const char *s)
{
	return err_is(s, "LOADING") || err_is(s, "BUSY") ||
	    err_is(s, "TRYAGAIN") || err_is(s, "MASTERDOWN") ||
	    err_is(s, "CLUSTERDOWN");
}

/* The command is renamed, disabled or denied. */
static int
err_unavailable(const char *s)
{
	return err_is(s, "ERR unknown command") ||
	    err_is(s, "ERR unknown subcommand") || err_is(s, "NOPERM") ||
	    err_is(s, "ERR unknown or unsupported");
}

static void
bs_lose(struct bigscan *bs, const char *why)
{
	if (bs->lost)
		return;
	bs->lost = 1;
	str_copy(bs->lost_why, sizeof(bs->lost_why), why);
}

/* The scan cannot go on: it ends, not complete, after this round. */
static void
bs_fatal(struct bigscan *bs, const char *what, const char *err, size_t len)
{
	char e[160];

	if (bs->fatal[0] != '\0')
		return;
	err_text(e, sizeof(e), err, len);
	snprintf(bs->fatal, sizeof(bs->fatal), "%s: %s", what, e);
}

static void	bs_reply(struct bigscan *, const struct bsreq *, redisReply *);

static void
bs_reply_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct bigscan	*bs = arg;
	struct bsreq	*q;

	if (rc != bs->rc || bs->got >= bs->nreq)
		return;
	q = &bs->req[bs->got++];
	if (r == NULL)
		bs_lose(bs, err != NULL ? err : "connection lost");
	else if (!bs->lost)
		bs_reply(bs, q, r);
	if (bs->got == bs->nreq && !bs->sending)
		bs_kick(bs);
}

static void
bs_state_cb(struct rconn *rc, enum rconn_state st, const char *err,
    void *arg)
{
	struct bigscan *bs = arg;

	if (rc != bs->rc)
		return;
	if (st == RC_DOWN) {
		bs_lose(bs, err != NULL ? err : "connection lost");
		bs_kick(bs);
	}
}

static void
bs_link(struct bigscan *bs)
{
	struct rconn_opts o;

	if (bs->rc != NULL)
		return;
	memset(&o, 0, sizeof(o));
	o.client_name = CLIENT_NAME;
	o.user = bs->user;
	o.password_file = bs->passfile;
	o.password = bs->password;
	o.connect_timeout_ms = ROUND_MS;
	o.timeout_ms = 0;		/* one deadline per round instead */
	o.max_reply = MAX_REPLY;
	o.own = bs->own;		/* AUTH and SETNAME: no workload */
	bs->rc = rconn_new(bs->base, bs->ip, bs->port, &o, bs_state_cb, bs);
}

static void
round_begin(struct bigscan *bs)
{
	struct timeval tv = { ROUND_MS / 1000, (ROUND_MS % 1000) * 1000 };

	bs->nreq = bs->got = 0;
	bs->sending = 1;
	bs->round_us = mono_us();
	bs_link(bs);
	evtimer_add(bs->deadline, &tv);
}

/* Queues one command of the round; its reply goes to bs_reply. */
static void
round_cmd(struct bigscan *bs, enum rq_kind kind, size_t idx, int argc,
    const char **argv, const size_t *lens)
{
	if (bs->lost)
		return;
	if (bs->nreq == bs->reqcap) {
		bs->reqcap = bs->reqcap ? bs->reqcap * 2 : 256;
		bs->req = xreallocarray(bs->req, bs->reqcap, sizeof(*bs->req));
	}
	bs->req[bs->nreq].kind = (uint8_t)kind;
	bs->req[bs->nreq].idx = (uint32_t)idx;
	bs->nreq++;
	bs->tick_cmds++;
	rconn_cmd(bs->rc, bs_reply_cb, bs, argc, argv, lens);
}

/* The round is queued: it ends when the last reply is in. */
static void
round_end(struct bigscan *bs)
{
	bs->sending = 0;
	if (bs->got == bs->nreq)
		bs_kick(bs);
}

static void
round_cmd2(struct bigscan *bs, enum rq_kind kind, size_t idx, const char *a,
    const char *b, size_t blen)
{
	const char	*argv[2] = { a, b };
	size_t		 lens[2] = { strlen(a), blen };

	round_cmd(bs, kind, idx, 2, argv, lens);
}

static void
round_cmd_str(struct bigscan *bs, enum rq_kind kind, size_t idx, const char *a,
    const char *b)
{
	round_cmd2(bs, kind, idx, a, b, strlen(b));
}

/*
 * The link failed: it is dropped (no callback of it runs after this), and
 * after a backoff a new one starts with HELLO.  The batch in flight is
 * forgotten: the scan goes on from the committed cursor.
 */
static void
bs_fault(struct bigscan *bs)
{
	struct timeval	tv;
	uint64_t	ms;
	char		why[160];

	str_copy(why, sizeof(why), bs->lost_why);
	if (bs->rc != NULL)
		rconn_free(bs->rc);
	bs->rc = NULL;
	evtimer_del(bs->deadline);
	evtimer_del(bs->wait);
	bs->nreq = bs->got = 0;
	bs->sending = 0;
	bs->lost = 0;
	if (bs->phase == PH_EXACT)
		bs->resume = PH_EXACT;
	else if (bs->phase != PH_HELLO)
		bs->resume = PH_SCAN;
	batch_reset(&bs->cur);
	batch_reset(&bs->pre);
	bs->sel_db = -1;
	bs->readonly = 0;
	if (++bs->retries > RETRY_MAX) {
		char reason[200];

		snprintf(reason, sizeof(reason), "gave up after %d retries: %s",
		    RETRY_MAX, why);
		bs_end(bs, 0, reason);
		return;
	}
	ms = MINIMUM(200ULL << (bs->retries - 1), 5000);
	log_warnx("scan link lost instance=%s addr=%s:%d retry=%d in_ms=%llu "
	    "reason=\"%s\"", bs->name, bs->ip, bs->port, bs->retries,
	    (unsigned long long)ms, why);
	bs->phase = PH_HELLO;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(bs->wait, &tv);
}

/* ---- replies ------------------------------------------------------------------ */

static void
reply_info(struct bigscan *bs, uint32_t idx, redisReply *r)
{
	struct info	*in;
	int		 i;

	if (r->type != REDIS_REPLY_STRING) {
		bs_fatal(bs, "INFO", "unexpected reply", 16);
		return;
	}
	in = xcalloc(1, sizeof(*in));
	info_parse(r->str, r->len, in);
	if (idx == 0) {
		str_printable(bs->hello_run_id, sizeof(bs->hello_run_id),
		    in->run_id, strlen(in->run_id));
		bs->hello_cluster = strcmp(in->mode, "cluster") == 0;
	} else {
		bs->hello_ndbs = 0;
		for (i = 0; i < in->ndbs && i < INFO_MAX_DBS; i++)
			if (in->dbs[i].keys > 0)
				bs->hello_dbs[bs->hello_ndbs++] = in->dbs[i].db;
	}
	free(in);
}

static void
reply_scan(struct bigscan *bs, struct batch *b, redisReply *r)
{
	redisReply	*c, *ks;
	size_t		 i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		bs_fatal(bs, "SCAN", "unexpected reply", 16);
		return;
	}
	c = r->element[0];
	if (c->len == 0 || c->len >= CURSOR_MAX ||
	    strspn(c->str, "0123456789") != c->len) {
		bs_fatal(bs, "SCAN", "bad cursor", 10);
		return;
	}
	batch_reset(b);
	memcpy(b->next, c->str, c->len);
	b->next[c->len] = '\0';
	ks = r->element[1];
	for (i = 0; i < ks->elements; i++)
		if (ks->element[i]->type == REDIS_REPLY_STRING)
			batch_add(b, ks->element[i]->str, ks->element[i]->len);
		else
			bs->skipped++;
	b->ready = 1;
}

static void
reply_type(struct bigscan *bs, struct bentry *e, redisReply *r)
{
	if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING) {
		if (r->len == 4 && memcmp(r->str, "none", 4) == 0)
			e->state = E_VANISHED;
		else
			e->type = type_slot(bs, r->str, r->len);
	} else
		e->state = E_SKIPPED;
}

static void
reply_mem(struct bigscan *bs, struct bentry *e, redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
		e->size = (uint64_t)r->integer;
		e->has_size = 1;
	} else if (r->type == REDIS_REPLY_NIL) {
		if (e->state == E_OK)
			e->state = E_VANISHED;
	} else if (e->state == E_OK)
		e->state = E_SKIPPED;
}

static void
reply_len(struct bigscan *bs, struct bentry *e, redisReply *r)
{
	if (r->type != REDIS_REPLY_INTEGER || r->integer < 0) {
		e->state = E_SKIPPED;
		return;
	}
	e->elements = (uint64_t)r->integer;
	/* A collection is never empty: this one went since TYPE. */
	if (e->elements == 0 && ktypes[bs->types[e->type].known].collection)
		e->state = E_VANISHED;
}

static void
bs_reply(struct bigscan *bs, const struct bsreq *q, redisReply *r)
{
	struct bentry *e = NULL;

	if (q->kind == RQ_TYPE || q->kind == RQ_MEM || q->kind == RQ_LEN) {
		if (q->idx >= bs->cur.n)
			return;
		e = &bs->cur.v[q->idx];
	}
	if (r->type == REDIS_REPLY_ERROR) {
		if (err_transient(r->str)) {
			char m[160];

			err_text(m, sizeof(m), r->str, r->len);
			bs_lose(bs, m);
			return;
		}
		switch (q->kind) {
		case RQ_INFO:
			bs_fatal(bs, "INFO unavailable", r->str, r->len);
			break;
		case RQ_SELECT:
			bs_fatal(bs, "SELECT", r->str, r->len);
			break;
		case RQ_SCAN:
		case RQ_PRESCAN:
			bs_fatal(bs, err_unavailable(r->str) ?
			    "SCAN unavailable" : "SCAN", r->str, r->len);
			break;
		case RQ_TYPE:
			if (err_unavailable(r->str))
				bs_fatal(bs, "TYPE unavailable", r->str,
				    r->len);
			e->state = E_SKIPPED;
			break;
		case RQ_MEM:
			if (err_unavailable(r->str)) {
				if (!bs->sizes_off) {
					char m[160];

					err_text(m, sizeof(m), r->str, r->len);
					snprintf(bs->note, sizeof(bs->note),
					    "no sizes: MEMORY USAGE: %s", m);
					log_warnx("scan without sizes "
					    "instance=%s reason=\"%s\"",
					    bs->name, m);
				}
				bs->sizes_off = 1;
			} else if (e->state == E_OK)
				e->state = E_SKIPPED;
			break;
		case RQ_LEN:
			e->state = E_SKIPPED;	/* WRONGTYPE: it changed */
			break;
		case RQ_EXACT:
			if (err_unavailable(r->str))
				bs->exact_off = 1;
			break;
		default:
			break;			/* READONLY: not a cluster */
		}
		return;
	}
	switch (q->kind) {
	case RQ_INFO:
		reply_info(bs, q->idx, r);
		break;
	case RQ_SCAN:
		reply_scan(bs, &bs->cur, r);
		break;
	case RQ_PRESCAN:
		reply_scan(bs, &bs->pre, r);
		break;
	case RQ_TYPE:
		reply_type(bs, e, r);
		break;
	case RQ_MEM:
		reply_mem(bs, e, r);
		break;
	case RQ_LEN:
		reply_len(bs, e, r);
		break;
	case RQ_EXACT:
		if (r->type == REDIS_REPLY_INTEGER && r->integer > 0 &&
		    q->idx < bs->nexact) {
			bs->exact[q->idx]->size = (uint64_t)r->integer;
			bs->exact[q->idx]->exact = 1;
		}
		break;
	default:
		break;
	}
}

/* ---- the phases ------------------------------------------------------------- */

static void
hello_send(struct bigscan *bs)
{
	round_begin(bs);
	bs->hello_run_id[0] = '\0';
	bs->hello_ndbs = 0;
	round_cmd_str(bs, RQ_INFO, 0, "INFO", "server");
	round_cmd_str(bs, RQ_INFO, 1, "INFO", "keyspace");
	owncalls_add(bs->own, "info", 2);
	round_end(bs);
}

static void	exact_start(struct bigscan *);

static void
hello_done(struct bigscan *bs)
{
	if (bs->hello_seen && strcmp(bs->hello_run_id, bs->run_id) == 0) {
		bs->phase = bs->resume;
		return;
	}
	if (bs->hello_seen) {
		/* Another server: its data may differ.  Never mix. */
		bs->restarts++;
		log_info("scan starts over instance=%s run_id=%s was=%s "
		    "restarts=%u", bs->name, bs->hello_run_id, bs->run_id,
		    bs->restarts);
		figures_reset(bs);
	}
	bs->hello_seen = 1;
	str_copy(bs->run_id, sizeof(bs->run_id), bs->hello_run_id);
	bs->cluster = bs->hello_cluster;
	bs->ndbs = 0;
	if (bs->cluster) {
		if (bs->hello_ndbs > 0 && bs->hello_dbs[0] == 0)
			bs->dbs[bs->ndbs++] = 0;
	} else {
		memcpy(bs->dbs, bs->hello_dbs, sizeof(bs->dbs));
		bs->ndbs = bs->hello_ndbs;
	}
	bs->dbi = 0;
	str_copy(bs->cursor, sizeof(bs->cursor), "0");
	bs->phase = PH_SCAN;
	if (bs->ndbs == 0)
		exact_start(bs);
}

static void
scan_send(struct bigscan *bs, struct batch *b, enum rq_kind kind,
    const char *cursor)
{
	char		 count[16];
	const char	*argv[4] = { "SCAN", cursor, "COUNT", count };
	size_t		 lens[4];
	int		 i;

	snprintf(count, sizeof(count), "%u", bs->conf.count);
	for (i = 0; i < 4; i++)
		lens[i] = strlen(argv[i]);
	batch_reset(b);
	round_cmd(bs, kind, 0, 4, argv, lens);
	owncalls_add(bs->own, "scan", 1);
}

/*
 * Into the round: SELECT db if the link is not on it, or in cluster mode
 * (db 0 only) READONLY once per link, so that a replica answers.
 */
static void
select_db(struct bigscan *bs, uint32_t db)
{
	const char	*ro[1] = { "READONLY" };
	size_t		 rolen[1] = { 8 };
	char		 s[16];

	if (bs->cluster) {
		if (!bs->readonly) {
			round_cmd(bs, RQ_READONLY, 0, 1, ro, rolen);
			owncalls_add(bs->own, "readonly", 1);
			bs->readonly = 1;
		}
	} else if (bs->sel_db != (int64_t)db) {
		snprintf(s, sizeof(s), "%u", db);
		round_cmd_str(bs, RQ_SELECT, 0, "SELECT", s);
		owncalls_add(bs->own, "select", 1);
		bs->sel_db = db;
	}
}

static void
scan_round(struct bigscan *bs)
{
	round_begin(bs);
	select_db(bs, bs->dbs[bs->dbi]);
	scan_send(bs, &bs->cur, RQ_SCAN, bs->cursor);
	round_end(bs);
}

/* The db is done: the next one, or the exact sizes. */
static void
db_next(struct bigscan *bs)
{
	bs->dbi++;
	str_copy(bs->cursor, sizeof(bs->cursor), "0");
	bs->phase = PH_SCAN;
	if (bs->dbi >= bs->ndbs)
		exact_start(bs);
}

/* Commits the current batch: its keys count, and the cursor moves on. */
static void
batch_commit(struct bigscan *bs)
{
	struct batch	*b = &bs->cur;
	size_t		 i;

	for (i = 0; i < b->n; i++) {
		struct bentry *e = &b->v[i];

		if (e->state == E_VANISHED)
			bs->vanished++;
		else if (e->state == E_SKIPPED || e->type < 0)
			bs->skipped++;
		else
			account(bs, bs->dbs[bs->dbi], e, batch_name(b, e));
	}
	bs->retries = 0;
	str_copy(bs->cursor, sizeof(bs->cursor), b->next);
	batch_reset(b);
	if (strcmp(bs->cursor, "0") == 0)
		db_next(bs);
	else
		bs->phase = PH_SCAN;
}

/* A SCAN reply is in the current batch: charge its keys, and go on. */
static void
batch_arrived(struct bigscan *bs)
{
	bs->credit -= (double)MAXIMUM(bs->cur.n, 1);
	if (bs->cur.n == 0)
		batch_commit(bs);
	else
		bs->phase = PH_META;
}

static void
meta_round(struct bigscan *bs)
{
	struct batch	*b = &bs->cur;
	size_t		 i;

	round_begin(bs);
	for (i = 0; i < b->n; i++) {
		const char	*name = batch_name(b, &b->v[i]);
		const char	*argv[3] = { "MEMORY", "USAGE", name };
		size_t		 lens[3] = { 6, 5, b->v[i].len };

		round_cmd2(bs, RQ_TYPE, i, "TYPE", name, b->v[i].len);
		if (!bs->sizes_off)
			round_cmd(bs, RQ_MEM, i, 3, argv, lens);
	}
	owncalls_add(bs->own, "type", b->n);
	if (!bs->sizes_off)
		owncalls_add(bs->own, "memory|usage", b->n);
	round_end(bs);
}

/*
 * Whether a key's length can matter: whether it can be over the limit, or
 * be kept among the largest of its type (by its size alone).  MEMORY USAGE
 * bounds the length from above:
 *   - a string's length is at most its size, which counts the value's
 *     allocation and more;
 *   - a hash, set or zset takes 2 bytes an element at the very least, in
 *     every encoding: a listpack entry (a field, a value, a member or a
 *     score) 2 bytes and more, an intset member 2 and more, and a dict or
 *     skiplist element a 24-byte dictEntry (the sampled estimate is the
 *     average of whole elements times their count).
 * A list's size is estimated from its first quicklist nodes, which can be
 * emptier than the rest, and a stream's from its first listpacks: their
 * lengths are always asked.
 */
static int
len_needed(const struct bigscan *bs, const struct bentry *e, int k)
{
	struct bkey	probe;
	uint64_t	most;

	if (!e->has_size || ktypes[k].per_elem == 0)
		return 1;
	most = e->size / (uint64_t)ktypes[k].per_elem;
	if (is_over(bs, e->type, most))
		return 1;
	/*
	 * Keys of the same size tie: one that is only as large as the least
	 * kept is not kept (a heap's least only grows, so this holds when
	 * the batch commits too).
	 */
	probe.size = e->size;
	probe.elements = 0;
	return kheap_wants(&bs->types[e->type].top, &probe);
}

/*
 * The length of each key of a known type where it can matter, and the next
 * batch's SCAN if the budget allows it.  0: nothing to send.
 */
static int
len_round(struct bigscan *bs)
{
	struct batch	*b = &bs->cur;
	uint64_t	 per[nitems(ktypes)];
	size_t		 i;
	int		 k, n = 0;

	memset(per, 0, sizeof(per));
	for (i = 0; i < b->n; i++) {
		struct bentry *e = &b->v[i];

		if (e->state != E_OK || e->type < 0 ||
		    (k = bs->types[e->type].known) < 0)
			continue;
		if (!len_needed(bs, e, k))
			continue;
		if (n++ == 0)
			round_begin(bs);
		round_cmd2(bs, RQ_LEN, i, ktypes[k].cmd, batch_name(b, e),
		    e->len);
		per[k]++;
	}
	for (k = 0; k < (int)nitems(ktypes); k++)
		owncalls_add(bs->own, ktypes[k].stat, per[k]);
	if (strcmp(b->next, "0") != 0 && pace_ready(bs, 0)) {
		if (n++ == 0)
			round_begin(bs);
		scan_send(bs, &bs->pre, RQ_PRESCAN, b->next);
	}
	if (n > 0)
		round_end(bs);
	return n;
}

static void
len_done(struct bigscan *bs)
{
	batch_commit(bs);
	if (bs->pre.ready && bs->phase == PH_SCAN) {
		struct batch t = bs->cur;

		bs->cur = bs->pre;
		bs->pre = t;
		batch_reset(&bs->pre);
		batch_arrived(bs);
	}
}

static void
exact_queue(struct bigscan *bs, struct bkey *b)
{
	int k = bs->types[b->type].known;

	if (b->queued || b->cut || b->exact || b->size == 0 || k < 0 ||
	    !ktypes[k].collection || b->elements == 0 ||
	    b->elements >= bs->conf.exact_limit)
		return;
	b->queued = 1;
	b->refs++;
	bs->exact = xreallocarray(bs->exact, bs->nexact + 1,
	    sizeof(*bs->exact));
	bs->exact[bs->nexact++] = b;
}

/* Every db is done: the candidates for exact sizes, or the end. */
static void
exact_start(struct bigscan *bs)
{
	size_t	i;
	int	t;

	exact_clear(bs);
	if (bs->conf.exact_limit > 0 && !bs->sizes_off) {
		for (t = 0; t < bs->ntypes; t++)
			for (i = 0; i < bs->types[t].top.n; i++)
				exact_queue(bs, bs->types[t].top.v[i]);
		for (i = 0; i < bs->over.n; i++)
			exact_queue(bs, bs->over.v[i]);
	}
	if (bs->nexact == 0) {
		bs_end(bs, 1, NULL);
		return;
	}
	/* By db, so that a round needs few SELECTs. */
	xqsort(bs->exact, bs->nexact, sizeof(*bs->exact), bkey_cmp_db);
	bs->phase = PH_EXACT;
}

static void
exact_round(struct bigscan *bs)
{
	uint64_t	sum = 0;
	size_t		i;

	round_begin(bs);
	bs->exact_sent = 0;
	for (i = bs->exact_pos; i < bs->nexact; i++) {
		struct bkey	*b = bs->exact[i];
		const char	*argv[5] = { "MEMORY", "USAGE",
				    (const char *)b->name, "SAMPLES", "0" };
		size_t		 lens[5] = { 6, 5, b->len, 7, 1 };

		if (bs->exact_sent > 0 && sum + b->elements >
		    bs->conf.exact_limit)
			break;
		sum += b->elements;
		select_db(bs, b->db);
		round_cmd(bs, RQ_EXACT, i, 5, argv, lens);
		bs->exact_sent++;
	}
	owncalls_add(bs->own, "memory|usage", bs->exact_sent);
	round_end(bs);
}

static void
exact_done(struct bigscan *bs)
{
	uint64_t	us = mono_us() - bs->round_us, pause;
	struct timeval	tv;

	bs->exact_pos += bs->exact_sent;
	bs->exact_sent = 0;
	if (bs->exact_pos >= bs->nexact || bs->exact_off) {
		bs_end(bs, 1, NULL);
		return;
	}
	/* At most a tenth of the server's time. */
	pause = MAXIMUM(9 * us, 5000);
	tv.tv_sec = (time_t)(pause / 1000000);
	tv.tv_usec = (suseconds_t)(pause % 1000000);
	evtimer_add(bs->wait, &tv);
}

/* A round is over: what it means for the scan. */
static void
bs_done(struct bigscan *bs)
{
	switch (bs->phase) {
	case PH_HELLO:
		hello_done(bs);
		break;
	case PH_SCAN:
		batch_arrived(bs);
		break;
	case PH_META:
		pace_batch(bs, mono_us() - bs->round_us);
		bs->phase = PH_LEN;
		break;
	case PH_LEN:
		len_done(bs);
		break;
	case PH_EXACT:
		exact_done(bs);
		break;
	default:
		break;
	}
}

/* Sends the round of the phase, arms a wait, or moves on. */
static void
bs_next(struct bigscan *bs)
{
	while (bigscan_running(bs) && bs->nreq == 0 && !bs->lost &&
	    !evtimer_pending(bs->wait, NULL)) {
		switch (bs->phase) {
		case PH_HELLO:
			hello_send(bs);
			break;
		case PH_SCAN:
			if (pace_ready(bs, 1))
				scan_round(bs);
			break;
		case PH_META:
			meta_round(bs);
			break;
		case PH_LEN:
			if (len_round(bs) == 0)
				len_done(bs);
			break;
		case PH_EXACT:
			exact_round(bs);
			break;
		default:
			return;
		}
	}
}

static void
bs_step(struct bigscan *bs)
{
	if (!bigscan_running(bs) || bs->sending)
		return;
	if (bs->nreq > 0 && bs->got < bs->nreq)
		return;				/* the round is not over */
	if (bs->fatal[0] != '\0') {
		bs_end(bs, 0, bs->fatal);
		return;
	}
	if (bs->lost) {
		bs_fault(bs);
		return;
	}
	if (bs->nreq > 0) {
		evtimer_del(bs->deadline);
		bs->nreq = bs->got = 0;
		bs_done(bs);
	}
	bs_next(bs);
}

/* The kick (run soon) and the pacing wait: both take the next step. */
static void
bs_step_cb(evutil_socket_t fd, short ev, void *arg)
{
	bs_step(arg);
}

static void
bs_deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bigscan	*bs = arg;
	char		 why[64];

	snprintf(why, sizeof(why), "timeout: no reply within %d ms", ROUND_MS);
	bs_lose(bs, why);
	bs_fault(bs);
}

/* ---- start, end, take ------------------------------------------------------- */

static void
bs_end(struct bigscan *bs, int complete, const char *why)
{
	uint64_t	ms;
	int		t;

	if (bs->rc != NULL)
		rconn_free(bs->rc);
	bs->rc = NULL;
	evtimer_del(bs->wait);
	evtimer_del(bs->deadline);
	evtimer_del(bs->tick);
	event_del(bs->kick);
	bs->nreq = bs->got = 0;
	for (t = 0; t < bs->ntypes; t++)
		kheap_sort(&bs->types[t].top);
	kheap_sort(&bs->over);
	exact_clear(bs);
	batch_reset(&bs->cur);
	batch_reset(&bs->pre);
	bs->finished_ms = wall_ms();
	bs->duration_ms = mono_ms() - bs->start_mono;
	bs->complete = complete;
	if (complete && bs->note[0] != '\0')
		snprintf(bs->reason, sizeof(bs->reason), "%s; %s", bs->why,
		    bs->note);
	else if (complete)
		str_copy(bs->reason, sizeof(bs->reason), bs->why);
	else {
		if (why == NULL)
			why = "aborted";
		str_printable(bs->reason, sizeof(bs->reason), why,
		    strlen(why));
	}
	bs->phase = PH_DONE;
	bs->has_result = 1;
	ms = MAXIMUM(bs->duration_ms, 1);
	log_info("scan end instance=%s scanned=%s complete=%s keys=%llu "
	    "vanished=%llu skipped=%llu over=%zu duration_ms=%llu rate=%.0f "
	    "restarts=%u backoffs=%u reason=\"%s\"", bs->name, bs->scanned,
	    complete ? "yes" : "no", (unsigned long long)bs->keys,
	    (unsigned long long)bs->vanished, (unsigned long long)bs->skipped,
	    bs->over.n, (unsigned long long)bs->duration_ms,
	    (double)bs->keys * 1000 / (double)ms, bs->restarts, bs->backoffs,
	    bs->reason);
}

struct bigscan *
bigscan_new(struct event_base *base, const struct bigscan_conf *conf)
{
	struct bigscan *bs = xcalloc(1, sizeof(*bs));

	bs->base = base;
	bs->conf = *conf;
	if (bs->conf.count == 0)
		bs->conf.count = BIGSCAN_COUNT;
	if (bs->conf.string_limit == 0)
		bs->conf.string_limit = BIGSCAN_STRING_LIMIT;
	if (bs->conf.elements_limit == 0)
		bs->conf.elements_limit = BIGSCAN_ELEMENTS_LIMIT;
	if (bs->conf.top_n == 0)
		bs->conf.top_n = BIGSCAN_TOP_N;
	bs->kick = event_new(base, -1, 0, bs_step_cb, bs);
	bs->wait = evtimer_new(base, bs_step_cb, bs);
	bs->deadline = evtimer_new(base, bs_deadline_cb, bs);
	bs->tick = event_new(base, -1, EV_PERSIST, bs_tick_cb, bs);
	types_init(bs);
	kheap_init(&bs->over, OVER_MAX);
	return bs;
}

static void
take_free(struct bigscan *bs)
{
	free(bs->pbkeys);
	free(bs->pbover);
	free(bs->pbtop);
	free(bs->pbtypes);
	bs->pbkeys = NULL;
	bs->pbover = bs->pbtop = NULL;
	bs->pbtypes = NULL;
}

static void
target_free(struct bigscan *bs)
{
	free(bs->name);
	free(bs->scanned);
	free(bs->ip);
	free(bs->user);
	free(bs->passfile);
	if (bs->password != NULL) {
		explicit_bzero(bs->password, strlen(bs->password));
		free(bs->password);
	}
	bs->name = bs->scanned = bs->ip = bs->user = bs->passfile = NULL;
	bs->password = NULL;
}

void
bigscan_free(struct bigscan *bs)
{
	int t;

	if (bs == NULL)
		return;
	if (bs->rc != NULL)
		rconn_free(bs->rc);
	event_free(bs->tick);
	event_free(bs->deadline);
	event_free(bs->wait);
	event_free(bs->kick);
	exact_clear(bs);
	for (t = 0; t < bs->ntypes; t++)
		kheap_free(&bs->types[t].top);
	kheap_free(&bs->over);
	batch_free(&bs->cur);
	batch_free(&bs->pre);
	take_free(bs);
	target_free(bs);
	free(bs->req);
	free(bs);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

int
bigscan_start(struct bigscan *bs, const struct bigscan_target *t,
    const char *reason, char *err, size_t errlen)
{
	struct timeval tv = { 1, 0 };

	if (bigscan_running(bs)) {
		snprintf(err, errlen, "a big-key scan of %s is running since "
		    "%llu ms", bs->name,
		    (unsigned long long)(mono_ms() - bs->start_mono));
		return -1;
	}
	take_free(bs);
	target_free(bs);
	bs->name = xstrdup(t->name);
	bs->scanned = xstrdup(t->scanned != NULL ? t->scanned : t->name);
	bs->ip = xstrdup(t->ip);
	bs->port = t->port;
	bs->user = dup_or_null(t->user);
	bs->passfile = dup_or_null(t->passfile);
	bs->password = dup_or_null(t->password);
	bs->own = t->own;
	str_copy(bs->why, sizeof(bs->why), reason != NULL ? reason : "analyze");

	figures_reset(bs);
	bs->restarts = 0;
	bs->hello_seen = 0;
	bs->run_id[0] = '\0';
	bs->fatal[0] = '\0';
	bs->reason[0] = '\0';
	bs->lost = 0;
	bs->nreq = bs->got = 0;
	bs->retries = 0;
	bs->dbi = bs->ndbs = 0;
	bs->sel_db = -1;
	bs->readonly = 0;
	bs->resume = PH_SCAN;
	bs->complete = bs->has_result = 0;
	batch_reset(&bs->cur);
	batch_reset(&bs->pre);
	bs->started_ms = wall_ms();
	bs->finished_ms = 0;
	bs->start_mono = mono_ms();
	pace_init(bs);
	bs->phase = PH_HELLO;
	event_add(bs->tick, &tv);
	log_info("scan start instance=%s scanned=%s addr=%s:%d reason=%s "
	    "rate=%llu count=%u", bs->name, bs->scanned, bs->ip, bs->port,
	    bs->why, (unsigned long long)bs->conf.rate, bs->conf.count);
	bs_kick(bs);
	return 0;
}

void
bigscan_abort(struct bigscan *bs, const char *why)
{
	if (bigscan_running(bs))
		bs_end(bs, 0, why != NULL ? why : "aborted");
}

int
bigscan_running(const struct bigscan *bs)
{
	return bs->phase != PH_IDLE && bs->phase != PH_DONE;
}

static void
take_key(struct bigscan *bs, Ccnode__BigKey *k, const struct bkey *b)
{
	ccnode__big_key__init(k);
	k->db = b->db;
	k->key.data = (uint8_t *)b->name;
	k->key.len = b->len;
	k->type = bs->types[b->type].name;
	k->size = b->size;
	k->elements = b->elements;
	k->size_exact = b->exact;
}

int
bigscan_take(struct bigscan *bs, Ccnode__BigKeyScan *out)
{
	size_t	i, n, ntop = 0, nk = 0;
	int	t;

	take_free(bs);
	if (!bs->has_result)
		return 0;
	bs->has_result = 0;
	ccnode__big_key_scan__init(out);
	out->scanned = bs->scanned;
	out->run_id = bs->run_id;
	out->started_ms = bs->started_ms;
	out->finished_ms = bs->finished_ms;
	out->complete = bs->complete;
	out->reason = bs->reason;
	out->keys = bs->keys;
	out->vanished = bs->vanished;
	out->restarts = bs->restarts;
	out->string_limit = bs->conf.string_limit;
	out->elements_limit = bs->conf.elements_limit;
	out->top_n = bs->conf.top_n;
	out->duration_ms = bs->duration_ms;

	for (t = 0; t < bs->ntypes; t++)
		ntop += bs->types[t].top.n;
	bs->pbkeys = xcalloc(bs->over.n + ntop + 1, sizeof(*bs->pbkeys));
	bs->pbover = xcalloc(bs->over.n + 1, sizeof(*bs->pbover));
	bs->pbtop = xcalloc(ntop + 1, sizeof(*bs->pbtop));
	bs->pbtypes = xcalloc((size_t)bs->ntypes + 1, sizeof(*bs->pbtypes));
	for (i = 0; i < bs->over.n; i++) {
		take_key(bs, &bs->pbkeys[nk], bs->over.v[i]);
		bs->pbover[i] = &bs->pbkeys[nk++];
	}
	out->n_over = bs->over.n;
	out->over = bs->pbover;
	for (n = 0, t = 0; t < bs->ntypes; t++)
		for (i = 0; i < bs->types[t].top.n; i++) {
			take_key(bs, &bs->pbkeys[nk], bs->types[t].top.v[i]);
			bs->pbtop[n++] = &bs->pbkeys[nk++];
		}
	out->n_top = n;
	out->top = bs->pbtop;
	for (n = 0, t = 0; t < bs->ntypes; t++) {
		struct btype *bt = &bs->types[t];

		if (bt->count == 0)
			continue;
		ccnode__type_count__init(&bt->pb);
		bt->pb.type = bt->name;
		bt->pb.count = bt->count;
		bt->pb.size = bt->bytes;
		bs->pbtypes[n++] = &bt->pb;
	}
	out->n_types = n;
	out->types = bs->pbtypes;
	/* No ladder when no key had a size (MEMORY unavailable). */
	if (bs->sized > 0 || bs->keys == 0) {
		memcpy(bs->pbedges, ladder_edges, sizeof(bs->pbedges));
		out->n_size_edges = nitems(ladder_edges);
		out->size_edges = bs->pbedges;
		out->n_size_counts = LADDER_SLOTS;
		out->size_counts = bs->ladder;
	}
	return 1;
}
