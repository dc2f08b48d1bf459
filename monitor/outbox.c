/*
 * outbox.c: control-center events, kept on disk until the control center
 * answers 2xx.
 *
 * The outbox is a journal, data-dir/outbox/journal: "+SEQ JSON" when an
 * event is added, "-SEQ" when it is settled (delivered, or a dead letter).
 * Additions are group-committed: the events of one turn of the loop are
 * written with one write(2) and one fdatasync(2), from the loop right
 * after the callback that made them, and none is sent before it is on
 * disk.  A failure of a hundred instances costs one disk flush, not a
 * hundred file creations.  A restarted monitor replays the journal and
 * delivers what is left, in sequence order; the journal is compacted at
 * start, emptied whenever nothing waits, and rewritten when it grows past
 * JOURNAL_MAX with events still waiting.
 *
 * Events of one instance go one at a time, in order; different instances
 * do not wait for each other, up to MAX_INFLIGHT requests at once.
 *
 * Retries follow the Prometheus remote-write rules: no answer, a 5xx or a
 * 429 is retried with capped exponential backoff; any other 4xx will not
 * get better, so the event becomes a dead letter (a line in
 * data-dir/outbox/dead.jsonl with the status, logged, counted) and the
 * next one goes.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define LOG_COMP "outbox"
#include "log.h"
#include "hmap.h"
#include "json.h"
#include "monitor.h"
#include "util.h"

#define MAX_INFLIGHT	16
#define MAX_EVENTS	100000
#define RETRY_MIN_MS	500
#define RETRY_MAX_MS	30000
#define MAX_EVENT_SIZE	(64 * 1024)
#define JOURNAL_MAX	(16 * 1024 * 1024)
#define DEAD_MAX	(64 * 1024 * 1024)	/* then dead.jsonl.1 */

struct item {
	uint64_t	 seq;
	char		*body;
	size_t		 len;
	int64_t		 added_ms;
	struct item	*next;
};

/* The events of one instance. */
struct queue {
	struct outbox	*ob;
	char		*instance;
	struct item	*head, *tail;
	int		 inflight;
	int		 ready;		/* on the ready list */
	uint64_t	 delay_ms;	/* backoff of the head */
	struct event	*retry;
	struct queue	*next_ready;
};

struct outbox {
	struct monitor	*m;
	char		*dir, *journal_path, *dead_path;
	int		 jfd;		/* the journal, appended to */
	off_t		 jsize;
	struct evbuffer	*wbuf;		/* records not written yet */
	int		 need_sync;	/* wbuf holds additions */
	uint64_t	 synced_seq;	/* events up to here are on disk */
	uint64_t	 live_bytes;	/* of the records of waiting events */
	struct event	*flush_ev;
	struct event	*kick_ev;	/* kick() from the loop, never nested */
	struct hmap	*queues;
	struct queue	*ready, *ready_tail;
	int		 inflight;
	uint64_t	 next_seq;
	uint64_t	 depth, dead, delivered, retries, failures, dropped;
	struct ratelimit rl;
};

static void	kick(struct outbox *);

static struct queue *
queue_get(struct outbox *ob, const char *instance)
{
	struct queue *q = hmap_get(ob->queues, instance);

	if (q == NULL) {
		q = xcalloc(1, sizeof(*q));
		q->ob = ob;
		q->instance = xstrdup(instance);
		hmap_put(ob->queues, q->instance, q);
	}
	return q;
}

static void
make_ready(struct queue *q)
{
	struct outbox *ob = q->ob;

	if (q->ready || q->inflight || q->head == NULL ||
	    q->head->seq > ob->synced_seq ||
	    (q->retry != NULL && evtimer_pending(q->retry, NULL)))
		return;
	q->ready = 1;
	q->next_ready = NULL;
	if (ob->ready_tail != NULL)
		ob->ready_tail->next_ready = q;
	else
		ob->ready = q;
	ob->ready_tail = q;
}

static void
push(struct queue *q, struct item *it)
{
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->ob->depth++;
	q->ob->live_bytes += it->len + 24;
}

static void
pop(struct queue *q)
{
	struct item *it = q->head;

	if ((q->head = it->next) == NULL)
		q->tail = NULL;
	q->ob->depth--;
	q->ob->live_bytes -= it->len + 24;
	free(it->body);
	free(it);
}

static void
kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	kick(arg);
}

static void
retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct queue *q = arg;

	make_ready(q);
	event_active(q->ob->kick_ev, EV_TIMEOUT, 0);
}

/* Appends a record; flush_cb writes it out from the loop. */
static void
journal_add(struct outbox *ob, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(ob->wbuf, fmt, ap);
	va_end(ap);
	event_active(ob->flush_ev, EV_TIMEOUT, 0);
}

/* A dead letter: a line of dead.jsonl, with why. */
static void
dead_letter(struct outbox *ob, const struct item *it, int status)
{
	struct stat	 st;
	char		*old, *line;
	json_t		*t;
	int		 fd, n;

	if (stat(ob->dead_path, &st) == 0 && st.st_size > DEAD_MAX) {
		xasprintf(&old, "%s.1", ob->dead_path);
		if (rename(ob->dead_path, old) == -1)
			log_warnx("%s: rename: %s", ob->dead_path,
			    strerror(errno));
		free(old);
	}
	t = json_time_ms(wall_ms());
	n = xasprintf(&line, "{\"seq\":%llu,\"status\":%d,\"time\":\"%s\","
	    "\"event\":%.*s}\n", (unsigned long long)it->seq, status,
	    json_string_value(t), (int)it->len, it->body);
	json_decref(t);
	if ((fd = open(ob->dead_path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600)) == -1 || write(fd, line, (size_t)n) != n)
		log_errx("%s: %s", ob->dead_path, strerror(errno));
	if (fd != -1)
		close(fd);
	free(line);
}

static void
sent_cb(int status, const char *err, void *arg)
{
	struct queue	*q = arg;
	struct outbox	*ob = q->ob;
	struct item	*it = q->head;
	struct timeval	 tv;
	uint64_t	 jitter;

	q->inflight = 0;
	ob->inflight--;
	if (status >= 200 && status < 300) {
		log_info("event delivered instance=%s seq=%llu status=%d "
		    "after_ms=%lld", q->instance, (unsigned long long)it->seq,
		    status, (long long)(wall_ms() - it->added_ms));
		journal_add(ob, "-%llu\n", (unsigned long long)it->seq);
		ob->delivered++;
		q->delay_ms = 0;
		pop(q);
	} else if (status >= 400 && status < 500 && status != 429) {
		dead_letter(ob, it, status);
		journal_add(ob, "-%llu\n", (unsigned long long)it->seq);
		log_errx("event refused by the control center instance=%s "
		    "seq=%llu status=%d: kept as a dead letter in %s",
		    q->instance, (unsigned long long)it->seq, status,
		    ob->dead_path);
		ob->dead++;
		q->delay_ms = 0;
		pop(q);
	} else {
		ob->failures++;
		ob->retries++;
		q->delay_ms = q->delay_ms == 0 ? RETRY_MIN_MS :
		    MINIMUM(q->delay_ms * 2, RETRY_MAX_MS);
		jitter = random_u64() % (q->delay_ms / 4 + 1);
		log_limited(&ob->rl, LL_WARN, "event not delivered instance=%s "
		    "seq=%llu (%s%s%d); retry in %llu ms", q->instance,
		    (unsigned long long)it->seq, err ? err : "HTTP ",
		    err ? ", status " : "", status,
		    (unsigned long long)(q->delay_ms + jitter));
		if (q->retry == NULL)
			q->retry = evtimer_new(ob->m->base, retry_cb, q);
		tv.tv_sec = (time_t)((q->delay_ms + jitter) / 1000);
		tv.tv_usec = (suseconds_t)((q->delay_ms + jitter) % 1000) * 1000;
		evtimer_add(q->retry, &tv);
	}
	make_ready(q);
	/* From the loop: sent_cb may run inside kick (a failure at once). */
	event_active(ob->kick_ev, EV_TIMEOUT, 0);
}

/* Sends the heads of ready queues, up to MAX_INFLIGHT. */
static void
kick(struct outbox *ob)
{
	struct monitor	*m = ob->m;
	struct queue	*q;

	if (m->conf->control_center_url == NULL)
		return;
	while (ob->inflight < MAX_INFLIGHT && (q = ob->ready) != NULL) {
		if ((ob->ready = q->next_ready) == NULL)
			ob->ready_tail = NULL;
		q->ready = 0;
		if (q->head == NULL || q->inflight)
			continue;
		q->inflight = 1;
		ob->inflight++;
		/* On an immediate failure sent_cb has run already. */
		hclient_post(m->base, m->conf->control_center_url, NULL,
		    q->head->body, q->head->len, m->conf->http_timeout,
		    sent_cb, q);
	}
}

void
outbox_add(struct outbox *ob, const char *instance, json_t *ev)
{
	struct item *it;

	if (ob->m->conf->control_center_url == NULL) {
		json_decref(ev);
		return;
	}
	if (ob->depth >= MAX_EVENTS) {
		ob->dropped++;
		log_errx("outbox full (%d events): event of instance=%s "
		    "dropped", MAX_EVENTS, instance);
		json_decref(ev);
		return;
	}
	it = xcalloc(1, sizeof(*it));
	it->seq = ob->next_seq++;
	it->added_ms = wall_ms();
	json_object_set_new(ev, "seq", json_integer((json_int_t)it->seq));
	it->body = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (it->body == NULL)
		fatal("json_dumps: out of memory");
	it->len = strlen(it->body);
	/* Sent once flush_cb has it on disk. */
	journal_add(ob, "+%llu %s\n", (unsigned long long)it->seq, it->body);
	ob->need_sync = 1;
	push(queue_get(ob, instance), it);
}

/* Writes the journal with only what waits, and appends to it from then on. */
static void
journal_rewrite(struct outbox *ob)
{
	struct evbuffer	*b = evbuffer_new();
	struct queue	*q;
	struct item	*it;
	size_t		 pos = 0;
	char		*cause = NULL;

	while ((q = hmap_next(ob->queues, &pos)) != NULL)
		for (it = q->head; it != NULL; it = it->next)
			evbuffer_add_printf(b, "+%llu %s\n",
			    (unsigned long long)it->seq, it->body);
	if (write_file_atomic(ob->journal_path, evbuffer_pullup(b, -1),
	    evbuffer_get_length(b), &cause) == -1) {
		log_errx("outbox: %s", cause);
		free(cause);
	}
	ob->jsize = (off_t)evbuffer_get_length(b);
	evbuffer_free(b);
	if (ob->jfd != -1)
		close(ob->jfd);
	if ((ob->jfd = open(ob->journal_path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600)) == -1)
		log_errx("%s: %s", ob->journal_path, strerror(errno));
}

/*
 * The records of this turn of the loop, in one write, and one fdatasync if
 * any is an addition; then the new events may go.
 */
static void
flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct outbox	*ob = arg;
	struct queue	*q;
	size_t		 len = evbuffer_get_length(ob->wbuf), pos = 0;
	ssize_t		 n;

	if (len > 0) {
		n = ob->jfd == -1 ? -1 :
		    write(ob->jfd, evbuffer_pullup(ob->wbuf, -1), len);
		if (n != (ssize_t)len) {
			/*
			 * Still sent: only a restart before then loses them.
			 * A torn record would swallow the next one on replay:
			 * back to the last whole record.
			 */
			log_errx("%s: write: %s", ob->journal_path, n == -1 ?
			    strerror(errno) : "short write");
			if (n > 0 && ftruncate(ob->jfd, ob->jsize) == -1)
				log_errx("%s: ftruncate: %s", ob->journal_path,
				    strerror(errno));
		} else {
			ob->jsize += n;
			if (ob->need_sync && fdatasync(ob->jfd) == -1)
				log_errx("%s: fdatasync: %s", ob->journal_path,
				    strerror(errno));
		}
		evbuffer_drain(ob->wbuf, len);
	}
	ob->need_sync = 0;
	ob->synced_seq = ob->next_seq - 1;
	if (ob->depth == 0 && ob->jsize > 0 && ob->jfd != -1) {
		/* Nothing waits: the journal starts over. */
		if (ftruncate(ob->jfd, 0) == 0)
			ob->jsize = 0;
	} else if (ob->jsize > JOURNAL_MAX &&
	    (uint64_t)ob->jsize > 2 * ob->live_bytes)
		/* Mostly settled records: worth a rewrite (not every turn). */
		journal_rewrite(ob);
	while ((q = hmap_next(ob->queues, &pos)) != NULL)
		make_ready(q);
	kick(ob);
}

static int
item_cmp(const void *a, const void *b)
{
	uint64_t x = (*(struct item *const *)a)->seq;
	uint64_t y = (*(struct item *const *)b)->seq;

	return x < y ? -1 : x > y;
}

/*
 * Replays the journal of a previous run: what was added and not settled
 * waits again, oldest first.  A torn last line (a crash mid-write) is
 * dropped; so is anything that is not an event.
 */
static void
load(struct outbox *ob)
{
	FILE		*f;
	char		*line = NULL, *sp, *end;
	size_t		 cap = 0, n = 0, i, j;
	ssize_t		 len;
	struct item	**v = NULL, *it;
	uint64_t	 seq, bad = 0;
	json_t		*ev;
	const char	*inst;
	struct stat	 st;
	int64_t		 mtime;

	if ((f = fopen(ob->journal_path, "re")) == NULL)
		return;
	mtime = fstat(fileno(f), &st) == 0 ? (int64_t)st.st_mtime * 1000 :
	    wall_ms();
	while ((len = getline(&line, &cap, f)) != -1) {
		if (len == 0 || line[len - 1] != '\n') {
			bad++;
			continue;
		}
		line[--len] = '\0';
		seq = strtoull(line + 1, &end, 10);
		if (line[0] == '-' && end != line + 1 && *end == '\0') {
			for (i = 0; i < n; i++)
				if (v[i] != NULL && v[i]->seq == seq) {
					free(v[i]->body);
					free(v[i]);
					v[i] = NULL;
					break;
				}
			continue;
		}
		if (line[0] != '+' || end == line + 1 || *end != ' ' ||
		    len - (end + 1 - line) > MAX_EVENT_SIZE) {
			bad++;
			continue;
		}
		sp = end + 1;
		it = xcalloc(1, sizeof(*it));
		it->seq = seq;
		it->body = xstrdup(sp);
		it->len = strlen(sp);
		it->added_ms = mtime;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = it;
		if (ob->next_seq <= seq)
			ob->next_seq = seq + 1;
	}
	free(line);
	fclose(f);
	/* Drop the settled ones, then order what is left. */
	for (i = j = 0; i < n; i++)
		if (v[i] != NULL)
			v[j++] = v[i];
	n = j;
	if (n > 0)
		xqsort(v, n, sizeof(*v), item_cmp);
	for (i = 0; i < n; i++) {
		ev = json_loadb(v[i]->body, v[i]->len, 0, NULL);
		inst = json_string_value(json_object_get(ev, "instance"));
		if (inst == NULL || !valid_name(inst) || ob->depth >= MAX_EVENTS) {
			bad++;
			free(v[i]->body);
			free(v[i]);
		} else
			push(queue_get(ob, inst), v[i]);
		json_decref(ev);
	}
	free(v);
	if (bad > 0)
		log_warnx("%s: %llu records that are not events (or torn) "
		    "dropped", ob->journal_path, (unsigned long long)bad);
	if (ob->depth > 0)
		log_info("outbox: %llu events from the last run to deliver",
		    (unsigned long long)ob->depth);
}

/* Dead letters of earlier runs, for the count on /metrics. */
static void
count_dead(struct outbox *ob)
{
	FILE	*f;
	int	 c;

	if ((f = fopen(ob->dead_path, "re")) == NULL)
		return;
	while ((c = getc(f)) != EOF)
		if (c == '\n')
			ob->dead++;
	fclose(f);
}

struct outbox *
outbox_new(struct monitor *m)
{
	struct outbox	*ob = xcalloc(1, sizeof(*ob));

	ob->m = m;
	ob->queues = hmap_new();
	ob->jfd = -1;
	ob->wbuf = evbuffer_new();
	ob->flush_ev = event_new(m->base, -1, 0, flush_cb, ob);
	ob->kick_ev = event_new(m->base, -1, 0, kick_cb, ob);
	ob->rl = (struct ratelimit)RATELIMIT_INIT(10000, 20);
	/*
	 * Sequence numbers grow across restarts without a file of their
	 * own: they start past the clock (microseconds), and past what the
	 * journal holds.
	 */
	ob->next_seq = (uint64_t)wall_ms() * 1000;
	xasprintf(&ob->dir, "%s/outbox", m->conf->data_dir);
	xasprintf(&ob->journal_path, "%s/journal", ob->dir);
	xasprintf(&ob->dead_path, "%s/dead.jsonl", ob->dir);
	if (mkdir_p(ob->dir, 0700) == -1)
		fatal("cannot create %s: %s", ob->dir, strerror(errno));
	count_dead(ob);
	load(ob);
	journal_rewrite(ob);
	ob->synced_seq = ob->next_seq - 1;
	outbox_reconfigure(ob);
	return ob;
}

void
outbox_reconfigure(struct outbox *ob)
{
	struct queue	*q;
	size_t		 pos = 0;

	if (ob->m->conf->control_center_url == NULL) {
		if (ob->depth > 0)
			log_warnx("outbox: %llu events wait, but "
			    "control-center-url is not set",
			    (unsigned long long)ob->depth);
		return;
	}
	while ((q = hmap_next(ob->queues, &pos)) != NULL)
		make_ready(q);
	kick(ob);
}

void
outbox_free(struct outbox *ob)
{
	struct queue	*q;
	size_t		 pos = 0;

	if (ob == NULL)
		return;
	while ((q = hmap_next(ob->queues, &pos)) != NULL) {
		while (q->head != NULL)
			pop(q);
		if (q->retry != NULL)
			event_free(q->retry);
		free(q->instance);
		free(q);
	}
	hmap_free(ob->queues);
	/* What this turn of the loop settled, if anything. */
	if (evbuffer_get_length(ob->wbuf) > 0 && ob->jfd != -1 &&
	    write(ob->jfd, evbuffer_pullup(ob->wbuf, -1),
	    evbuffer_get_length(ob->wbuf)) == -1)
		log_errx("%s: write: %s", ob->journal_path, strerror(errno));
	if (ob->jfd != -1)
		close(ob->jfd);
	evbuffer_free(ob->wbuf);
	event_free(ob->flush_ev);
	event_free(ob->kick_ev);
	free(ob->dir);
	free(ob->journal_path);
	free(ob->dead_path);
	free(ob);
}

void
outbox_stats(const struct outbox *ob, struct outbox_stats *s)
{
	struct queue	*q;
	size_t		 pos = 0;

	s->depth = ob->depth;
	s->dead = ob->dead;
	s->delivered = ob->delivered;
	s->retries = ob->retries;
	s->failures = ob->failures;
	s->oldest_ms = 0;
	while ((q = hmap_next(ob->queues, &pos)) != NULL)
		if (q->head != NULL && (s->oldest_ms == 0 ||
		    q->head->added_ms < s->oldest_ms))
			s->oldest_ms = q->head->added_ms;
}
