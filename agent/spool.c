/*
 * spool.c: reports that the monitor has not yet made durable.
 *
 * Every report is appended to the current segment file under spool-dir
 * before it is sent, and kept in memory until the monitor acknowledges it
 * as durable.  The monitor acknowledges in two steps (received, then saved
 * to its disk), so a monitor that dies between the two loses nothing: the
 * agent sends again, and the monitor drops what it already has by sequence
 * number.
 *
 * Bounds: memory and disk each hold at most spool-max-size of reports (plus
 * one segment of acknowledged leftovers on disk).  When a new report would
 * pass the bound, the oldest reports are dropped and counted, never the
 * newest.
 *
 * Files:
 *	spool.state	epoch, next sequence number, drop count, for each
 *			epoch the last sequence number forgotten (dropped or
 *			acknowledged), and whether the agent stopped cleanly
 *	seg-NNNNNNNNNN	records: be32 length, be64 epoch, be64 seq, Envelope
 *
 * The epoch is a random number that names one unbroken sequence.  After an
 * unclean stop the tail of a segment may be lost, so sequence numbers
 * already sent could be handed out again; a new epoch avoids that.
 *
 * Reports are forgotten in order within an epoch (the oldest are dropped
 * first, and acknowledgements are cumulative), so one small table of
 * epochs says everything: per epoch, the last sequence number forgotten
 * (persisted; records at or below it are skipped at load, not resent or
 * counted again) and the last made durable at the monitor (records at or
 * below it are not resent, and leave as soon as they reach the head).
 *
 * The directory is locked (spool.lock): two agents on one spool would
 * overwrite each other's segments.  Appends and the periodic state write
 * go to the page cache and are not fsynced on the event loop, which must
 * not stall behind a busy disk; a process crash loses nothing, and after
 * a power loss the unclean-stop path starts a new epoch.  Only a clean
 * stop syncs.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_COMP "spool"
#include "log.h"
#include "agent.h"
#include "arena.h"
#include "frame.h"
#include "util.h"

#define SEG_MAX		(1024 * 1024)	/* rotate segments past this */
#define MAX_EPOCHS	8
#define REC_HDR		20
#define REC_MAX		(64u * 1024 * 1024)

struct segment {
	uint32_t	 id;
	uint64_t	 live;		/* entries not yet acknowledged */
	uint64_t	 size;
	struct segment	*next;
};

struct slot {
	struct spool_entry	 e;
	struct segment		*seg;
	int			 received;	/* the monitor has it, unsaved */
};

/* What is known of one epoch's sequence numbers. */
struct mark {
	uint64_t	epoch;
	uint64_t	forgotten;	/* at or below: gone from the spool */
	uint64_t	durable;	/* at or below: saved by the monitor */
};

struct spool {
	char		*dir;
	uint64_t	 max_bytes;
	uint64_t	 epoch;
	uint64_t	 next_seq;
	uint64_t	 last_seq;	/* last spooled */
	uint64_t	 dropped;
	struct mark	 marks[MAX_EPOCHS];
	int		 nmarks;
	struct slot	*ring;
	size_t		 cap, head, n;
	uint64_t	 head_ord;	/* ord of ring[head] */
	uint64_t	 recv_ord;	/* entries before it were received */
	int		 lockfd;
	uint64_t	 bytes;
	struct segment	*segs;		/* oldest first */
	struct segment	*cur;
	int		 fd;		/* of cur */
	uint32_t	 next_seg;
};

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int	 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static char *
seg_path(const struct spool *s, uint32_t id)
{
	char *p;

	xasprintf(&p, "%s/seg-%010u", s->dir, id);
	return p;
}

static struct slot *slot_at(const struct spool *, size_t);

/* The mark of an epoch, or NULL. */
static struct mark *
mark_find(const struct spool *s, uint64_t epoch)
{
	int i;

	for (i = 0; i < s->nmarks; i++)
		if (s->marks[i].epoch == epoch)
			return (struct mark *)&s->marks[i];
	return NULL;
}

/* Whether the current epoch or some entry still refers to an epoch. */
static int
mark_needed(const struct spool *s, uint64_t epoch)
{
	size_t i;

	if (epoch == s->epoch)
		return 1;
	for (i = 0; i < s->n; i++)
		if (slot_at(s, i)->e.epoch == epoch)
			return 1;
	return 0;
}

/* The mark of an epoch, made if needed (evicting one nobody needs). */
static struct mark *
mark_get(struct spool *s, uint64_t epoch)
{
	struct mark	*m;
	int		 i, j;

	if ((m = mark_find(s, epoch)) != NULL)
		return m;
	if (s->nmarks == MAX_EPOCHS) {
		for (i = j = 0; i < s->nmarks; i++)
			if (mark_needed(s, s->marks[i].epoch))
				s->marks[j++] = s->marks[i];
		s->nmarks = j;
	}
	if (s->nmarks == MAX_EPOCHS) {
		/* All needed: the oldest goes; at worst its reports are resent. */
		memmove(&s->marks[0], &s->marks[1],
		    (MAX_EPOCHS - 1) * sizeof(s->marks[0]));
		s->nmarks--;
	}
	m = &s->marks[s->nmarks++];
	memset(m, 0, sizeof(*m));
	m->epoch = epoch;
	return m;
}

static uint64_t
forgotten(const struct spool *s, uint64_t epoch)
{
	struct mark *m = mark_find(s, epoch);

	return m ? m->forgotten : 0;
}

static uint64_t
durable(const struct spool *s, uint64_t epoch)
{
	struct mark *m = mark_find(s, epoch);

	return m ? m->durable : 0;
}

/* Writes spool.state; sync only for a clean stop (see the top). */
static void
state_write(struct spool *s, int clean)
{
	char	 buf[2048], *path, *cause = NULL;
	int	 n, i;

	n = snprintf(buf, sizeof(buf),
	    "epoch %016" PRIx64 "\nnext-seq %" PRIu64 "\ndropped %" PRIu64
	    "\nclean %d\n", s->epoch, s->next_seq, s->dropped, clean);
	for (i = 0; i < s->nmarks; i++)
		if (mark_needed(s, s->marks[i].epoch))
			n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			    "mark %016" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
			    s->marks[i].epoch, s->marks[i].forgotten,
			    s->marks[i].durable);
	xasprintf(&path, "%s/spool.state", s->dir);
	if (write_file_replace(path, buf, (size_t)n, clean, &cause) == -1) {
		log_warnx("cannot save the spool state: %s", cause);
		free(cause);
	}
	free(path);
}

/* Reads spool.state.  Returns 1 if it existed and was clean, 0 otherwise. */
static int
state_read(struct spool *s)
{
	char	*path, *buf, *cause = NULL, *line, *save = NULL;
	int	 clean = 0, have_epoch = 0;

	xasprintf(&path, "%s/spool.state", s->dir);
	buf = read_small_file(path, 4096, 0, NULL, &cause);
	free(path);
	if (buf == NULL) {
		free(cause);
		return 0;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char key[32];
		unsigned long long v, w, x;

		if (sscanf(line, "mark %llx %llu %llu", &v, &w, &x) == 3) {
			struct mark *m = mark_get(s, v);

			m->forgotten = w;
			m->durable = x;
		} else if (sscanf(line, "%31s %llx", key, &v) == 2 &&
		    strcmp(key, "epoch") == 0) {
			s->epoch = v;
			have_epoch = 1;
		} else if (sscanf(line, "%31s %llu", key, &v) == 2) {
			if (strcmp(key, "next-seq") == 0)
				s->next_seq = v;
			else if (strcmp(key, "dropped") == 0)
				s->dropped = v;
			else if (strcmp(key, "clean") == 0)
				clean = v == 1;
		}
	}
	free(buf);
	return have_epoch && clean && s->next_seq > 0;
}

static struct slot *
slot_at(const struct spool *s, size_t i)
{
	return &s->ring[(s->head + i) % s->cap];
}

static void
seg_release(struct spool *s, struct segment *g)
{
	struct segment	**pp;
	char		 *path;

	if (--g->live > 0 || g == s->cur)
		return;
	for (pp = &s->segs; *pp != g; pp = &(*pp)->next)
		;
	*pp = g->next;
	path = seg_path(s, g->id);
	if (unlink(path) == -1 && errno != ENOENT)
		log_warnx("unlink %s: %s", path, strerror(errno));
	free(path);
	free(g);
}

/*
 * Removes the head entry.  A dropped entry counts as dropped only if the
 * monitor never received it; if the monitor received it but dies before
 * saving it, the monitor counts it as missing.
 */
static void
pop_head(struct spool *s, int drop)
{
	struct slot *sl = slot_at(s, 0);

	struct mark *m = mark_get(s, sl->e.epoch);

	if (drop && !sl->received && sl->e.seq > m->durable)
		s->dropped++;
	if (sl->e.seq > m->forgotten)
		m->forgotten = sl->e.seq;
	s->bytes -= sl->e.len;
	free(sl->e.data);
	if (sl->seg != NULL)
		seg_release(s, sl->seg);
	memset(sl, 0, sizeof(*sl));
	s->head = (s->head + 1) % s->cap;
	s->n--;
	s->head_ord++;
}

static void
push(struct spool *s, uint64_t epoch, uint64_t seq, uint8_t *data, size_t len,
    struct segment *seg)
{
	struct slot	*sl;
	uint64_t	 before = s->dropped;

	while (s->n > 0 && s->bytes + len > s->max_bytes)
		pop_head(s, 1);
	if (s->dropped > before)
		log_warnx("spool full (%llu bytes): dropped %llu oldest "
		    "reports, %llu in all", (unsigned long long)s->max_bytes,
		    (unsigned long long)(s->dropped - before),
		    (unsigned long long)s->dropped);
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64, i;
		struct slot *nr = xcalloc(ncap, sizeof(*nr));

		for (i = 0; i < s->n; i++)
			nr[i] = *slot_at(s, i);
		free(s->ring);
		s->ring = nr;
		s->cap = ncap;
		s->head = 0;
	}
	sl = slot_at(s, s->n);
	sl->e.ord = s->head_ord + s->n;
	sl->e.epoch = epoch;
	sl->e.seq = seq;
	sl->e.data = data;
	sl->e.len = len;
	sl->seg = seg;
	sl->received = 0;
	if (seg != NULL)
		seg->live++;
	s->n++;
	s->bytes += len;
}

static int
seg_open_new(struct spool *s)
{
	struct segment	*g, **pp;
	char		*path;

	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	if (s->cur != NULL && s->cur->live == 0) {
		/* Unlink the old current segment now that it is not current. */
		s->cur->live = 1;
		g = s->cur;
		s->cur = NULL;
		seg_release(s, g);
	}
	s->cur = NULL;
	path = seg_path(s, s->next_seg);
	s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
	    0600);
	if (s->fd == -1) {
		log_warnx("open %s: %s; reports are kept in memory only",
		    path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	g = xcalloc(1, sizeof(*g));
	g->id = s->next_seg++;
	for (pp = &s->segs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = g;
	s->cur = g;
	return 0;
}

/* Appends one record to the current segment.  Returns its segment or NULL. */
static struct segment *
seg_append(struct spool *s, uint64_t epoch, uint64_t seq, const uint8_t *data,
    size_t len)
{
	uint8_t	 hdr[REC_HDR];
	struct part {
		const void	*b;
		size_t		 l;
	} parts[2] = { { hdr, REC_HDR }, { data, len } };
	size_t	 i, off;
	ssize_t	 n;

	if ((s->cur == NULL || s->cur->size >= SEG_MAX) && seg_open_new(s) == -1)
		return NULL;
	frame_put_hdr(hdr, (uint32_t)len);
	put_be64(hdr + 4, epoch);
	put_be64(hdr + 12, seq);
	for (i = 0; i < 2; i++) {
		for (off = 0; off < parts[i].l; off += (size_t)n) {
			n = write(s->fd, (const uint8_t *)parts[i].b + off,
			    parts[i].l - off);
			if (n == -1 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n == -1) {
				log_warnx("write to the spool: %s; rotating",
				    strerror(errno));
				s->cur->size = SEG_MAX;	/* force a new file */
				return NULL;
			}
		}
	}
	s->cur->size += REC_HDR + len;
	return s->cur;
}

/* Loads the records of one segment file. */
static void
seg_load(struct spool *s, uint32_t id)
{
	struct segment	*g, **pp;
	struct arena	*a;
	Ccnode__Envelope *env;
	char		*path, *cause = NULL;
	uint8_t		*buf;
	size_t		 len, off = 0, rlen;
	uint64_t	 epoch, seq, kept = 0;
	int		 bad = 0;

	path = seg_path(s, id);
	buf = (uint8_t *)read_small_file(path, 256u * 1024 * 1024, 0, &len,
	    &cause);
	if (buf == NULL) {
		log_warnx("cannot read %s", cause);
		free(cause);
		free(path);
		return;
	}
	g = xcalloc(1, sizeof(*g));
	g->id = id;
	g->size = len;
	for (pp = &s->segs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = g;
	a = arena_new(64 * 1024);
	while (off < len) {
		if (len - off < REC_HDR) {
			bad = 1;
			break;
		}
		rlen = ((size_t)buf[off] << 24) | ((size_t)buf[off + 1] << 16) |
		    ((size_t)buf[off + 2] << 8) | buf[off + 3];
		epoch = get_be64(buf + off + 4);
		seq = get_be64(buf + off + 12);
		if (rlen > REC_MAX || len - off - REC_HDR < rlen) {
			bad = 1;
			break;
		}
		/* The record must hold the report it claims to. */
		arena_reset(a, ARENA_BUDGET(rlen));
		env = ccnode__envelope__unpack(arena_allocator(a), rlen,
		    buf + off + REC_HDR);
		if (env == NULL || env->body_case != CCNODE__ENVELOPE__BODY_REPORT ||
		    env->report->epoch != epoch || env->report->seq != seq) {
			bad = 1;
			break;
		}
		if (seq > forgotten(s, epoch)) {
			uint8_t *copy = xmalloc(rlen);

			memcpy(copy, buf + off + REC_HDR, rlen);
			push(s, epoch, seq, copy, rlen, g);
			kept++;
			if (epoch == s->epoch && seq >= s->next_seq)
				s->next_seq = seq + 1;
		}
		off += REC_HDR + rlen;
	}
	arena_free(a);
	if (bad)
		log_warnx("%s: damaged record at offset %zu; the rest of the "
		    "file is ignored", path, off);
	free(buf);
	free(path);
	if (kept > 0)
		log_info("loaded %llu unacknowledged reports from segment %u",
		    (unsigned long long)kept, id);
	/* A segment with nothing live goes now (it is not current). */
	g->live++;
	seg_release(s, g);
}

static int
id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct spool *
spool_open(const char *dir, uint64_t max_bytes, char **cause)
{
	struct spool	*s = xcalloc(1, sizeof(*s));
	DIR		*d;
	struct dirent	*de;
	uint32_t	*ids = NULL, id;
	size_t		 nids = 0, i;
	int		 clean;
	char		*lock;

	s->dir = xstrdup(dir);
	s->max_bytes = max_bytes;
	s->fd = -1;
	if (mkdir_p(dir, 0700) == -1) {
		xasprintf(cause, "spool-dir %s: %s", dir, strerror(errno));
		free(s->dir);
		free(s);
		return NULL;
	}
	xasprintf(&lock, "%s/spool.lock", dir);
	s->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd == -1 || flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		xasprintf(cause, "spool-dir %s: %s", dir, s->lockfd == -1 ?
		    strerror(errno) : "another ccagent uses it");
		if (s->lockfd != -1)
			close(s->lockfd);
		free(lock);
		free(s->dir);
		free(s);
		return NULL;
	}
	free(lock);
	clean = state_read(s);
	if (!clean) {
		uint64_t old = s->epoch;

		s->epoch = random_u64() | 1;
		s->next_seq = 1;
		if (old != 0)
			log_warnx("the agent did not stop cleanly; new report "
			    "epoch %016llx (was %016llx)",
			    (unsigned long long)s->epoch, (unsigned long long)old);
	}
	if ((d = opendir(dir)) == NULL) {
		xasprintf(cause, "spool-dir %s: %s", dir, strerror(errno));
		close(s->lockfd);
		free(s->dir);
		free(s);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		unsigned long v;

		if (strncmp(de->d_name, "seg-", 4) != 0)
			continue;
		v = strtoul(de->d_name + 4, &end, 10);
		if (*end != '\0' || v > UINT32_MAX - 1)
			continue;
		ids = xreallocarray(ids, nids + 1, sizeof(*ids));
		ids[nids++] = (uint32_t)v;
	}
	closedir(d);
	if (nids > 0)
		xqsort(ids, nids, sizeof(*ids), id_cmp);
	for (i = 0; i < nids; i++) {
		id = ids[i];
		seg_load(s, id);
		if (id >= s->next_seg)
			s->next_seg = id + 1;
	}
	free(ids);
	s->last_seq = s->next_seq - 1;
	state_write(s, 0);
	log_info("spool %s: epoch %016llx, next seq %llu, %llu reports "
	    "pending", dir, (unsigned long long)s->epoch,
	    (unsigned long long)s->next_seq, (unsigned long long)s->n);
	return s;
}

void
spool_close(struct spool *s)
{
	size_t	 i;
	uint64_t lost = 0;

	if (s == NULL)
		return;
	/* Reports that never reached the disk die with the process. */
	for (i = 0; i < s->n; i++)
		if (slot_at(s, i)->seg == NULL &&
		    slot_at(s, i)->e.seq > durable(s, slot_at(s, i)->e.epoch))
			lost++;
	if (lost > 0) {
		s->dropped += lost;
		log_warnx("%llu reports were kept in memory only (the spool "
		    "could not be written) and are lost; counted as dropped",
		    (unsigned long long)lost);
	}
	if (s->fd != -1 && fdatasync(s->fd) == -1)
		log_warnx("fdatasync of the spool: %s", strerror(errno));
	if (s->fd != -1)
		close(s->fd);
	state_write(s, 1);
	while (s->n > 0) {
		struct slot *sl = slot_at(s, 0);

		sl->seg = NULL;		/* keep the files */
		pop_head(s, 0);
	}
	while (s->segs != NULL) {
		struct segment *g = s->segs;

		s->segs = g->next;
		free(g);
	}
	free(s->ring);
	free(s->dir);
	close(s->lockfd);
	free(s);
}

uint64_t
spool_epoch(const struct spool *s)
{
	return s->epoch;
}

uint64_t
spool_next_seq(struct spool *s)
{
	return s->next_seq++;
}

void
spool_add(struct spool *s, uint64_t seq, uint8_t *data, size_t len)
{
	struct segment *g;

	g = seg_append(s, s->epoch, seq, data, len);
	push(s, s->epoch, seq, data, len, g);
	s->last_seq = seq;
}

/*
 * Acks come in the order the reports were sent, so a cursor marks them:
 * amortised O(1) per ack.  An ack of a resent report that was already
 * marked moves nothing.
 */
void
spool_received(struct spool *s, uint64_t epoch, uint64_t seq)
{
	struct slot *sl;

	if (s->recv_ord < s->head_ord)
		s->recv_ord = s->head_ord;
	while (s->recv_ord < s->head_ord + s->n) {
		sl = slot_at(s, (size_t)(s->recv_ord - s->head_ord));
		if (sl->e.epoch != epoch || sl->e.seq > seq)
			break;
		sl->received = 1;
		s->recv_ord++;
	}
}

/* Records the durable watermark and lets durable reports at the head go. */
void
spool_ack(struct spool *s, uint64_t epoch, uint64_t seq)
{
	struct mark	*m;
	struct slot	*sl;

	if ((m = mark_find(s, epoch)) == NULL) {
		if (!mark_needed(s, epoch))
			return;		/* an epoch this spool never held */
		m = mark_get(s, epoch);
	}
	if (seq <= m->durable)
		return;
	m->durable = seq;
	while (s->n > 0) {
		sl = slot_at(s, 0);
		if (sl->e.seq > durable(s, sl->e.epoch))
			break;
		pop_head(s, 0);
	}
	/* Nothing left in the current segment: start a fresh one. */
	if (s->cur != NULL && s->cur->live == 0 && s->cur->size > 0)
		seg_open_new(s);
}

/* The first entry at or after ord that is not yet durable, or NULL. */
const struct spool_entry *
spool_from(const struct spool *s, uint64_t ord)
{
	size_t		 i;
	struct slot	*sl;

	i = ord > s->head_ord ? (size_t)(ord - s->head_ord) : 0;
	for (; i < s->n; i++) {
		sl = slot_at(s, i);
		if (sl->e.seq > durable(s, sl->e.epoch))
			return &sl->e;
	}
	return NULL;
}

uint64_t
spool_count(const struct spool *s)
{
	return s->n;
}

uint64_t
spool_bytes(const struct spool *s)
{
	return s->bytes;
}

uint64_t
spool_dropped(const struct spool *s)
{
	return s->dropped;
}

uint64_t
spool_last_seq(const struct spool *s)
{
	return s->last_seq;
}

uint64_t
spool_acked_seq(const struct spool *s)
{
	return durable(s, s->epoch);
}

void
spool_sync(struct spool *s)
{
	state_write(s, 0);
}
