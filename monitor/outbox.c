/*
 * outbox.c: control-center events, kept on disk until the control center
 * answers 2xx.
 *
 * Each event is a file, data-dir/outbox/SEQ.json, written (fsync, rename)
 * before it is sent, and removed after a 2xx.  A restarted monitor loads
 * what is left, in sequence order.  Events of one instance go one at a
 * time, in order; different instances do not wait for each other, up to
 * MAX_INFLIGHT requests at once.
 *
 * Retries follow the Prometheus remote-write rules: no answer, a 5xx or a
 * 429 is retried with capped exponential backoff; any other 4xx will not
 * get better, so the event becomes a dead letter (moved to
 * data-dir/outbox/dead/, logged, counted) and the next one goes.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_COMP "outbox"
#include "log.h"
#include "hmap.h"
#include "monitor.h"
#include "util.h"

#define MAX_INFLIGHT	16
#define MAX_EVENTS	100000
#define RETRY_MIN_MS	500
#define RETRY_MAX_MS	30000
#define MAX_EVENT_SIZE	(64 * 1024)

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
	char		*dir, *dead_dir;
	struct hmap	*queues;
	struct queue	*ready, *ready_tail;
	int		 inflight;
	uint64_t	 next_seq;
	uint64_t	 depth, dead, delivered, retries, failures, dropped;
	struct ratelimit rl;
};

static void	kick(struct outbox *);

static char *
item_path(const struct outbox *ob, uint64_t seq)
{
	char *p;

	xasprintf(&p, "%s/%020llu.json", ob->dir, (unsigned long long)seq);
	return p;
}

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
}

static void
pop(struct queue *q)
{
	struct item *it = q->head;

	if ((q->head = it->next) == NULL)
		q->tail = NULL;
	q->ob->depth--;
	free(it->body);
	free(it);
}

static void
retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct queue *q = arg;

	make_ready(q);
	kick(q->ob);
}

static void
sent_cb(int status, const char *err, void *arg)
{
	struct queue	*q = arg;
	struct outbox	*ob = q->ob;
	struct item	*it = q->head;
	char		*path, *dead;
	struct timeval	 tv;
	uint64_t	 jitter;

	q->inflight = 0;
	ob->inflight--;
	path = item_path(ob, it->seq);
	if (status >= 200 && status < 300) {
		if (unlink(path) == -1 && errno != ENOENT)
			log_warnx("%s: cannot remove: %s", path, strerror(errno));
		log_info("event delivered instance=%s seq=%llu status=%d "
		    "after_ms=%lld", q->instance, (unsigned long long)it->seq,
		    status, (long long)(wall_ms() - it->added_ms));
		ob->delivered++;
		q->delay_ms = 0;
		pop(q);
	} else if (status >= 400 && status < 500 && status != 429) {
		xasprintf(&dead, "%s/%020llu.json", ob->dead_dir,
		    (unsigned long long)it->seq);
		if (rename(path, dead) == -1)
			log_warnx("%s: cannot move to %s: %s", path, dead,
			    strerror(errno));
		log_errx("event refused by the control center instance=%s "
		    "seq=%llu status=%d: kept as a dead letter in %s",
		    q->instance, (unsigned long long)it->seq, status, dead);
		free(dead);
		ob->dead++;
		q->delay_ms = 0;
		pop(q);
	} else {
		ob->failures++;
		ob->retries++;
		q->delay_ms = q->delay_ms == 0 ? RETRY_MIN_MS :
		    MINIMUM(q->delay_ms * 2, RETRY_MAX_MS);
		jitter = random_u64() % (q->delay_ms / 4 + 1);
		log_limited(&ob->rl, LL_WARN, "event not delivered instance=%s seq=%llu "
		    "(%s%s%d); retry in %llu ms", q->instance,
		    (unsigned long long)it->seq, err ? err : "HTTP ",
		    err ? ", status " : "", status,
		    (unsigned long long)(q->delay_ms + jitter));
		if (q->retry == NULL)
			q->retry = evtimer_new(ob->m->base, retry_cb, q);
		tv.tv_sec = (time_t)((q->delay_ms + jitter) / 1000);
		tv.tv_usec = (suseconds_t)((q->delay_ms + jitter) % 1000) * 1000;
		evtimer_add(q->retry, &tv);
	}
	free(path);
	make_ready(q);
	kick(ob);
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
	struct item	*it;
	char		*path, *cause = NULL;

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
	path = item_path(ob, it->seq);
	if (write_file_atomic(path, it->body, it->len, &cause) == -1) {
		/* Still sent: only a monitor restart before then loses it. */
		log_errx("event of instance=%s not saved: %s", instance, cause);
		free(cause);
	}
	free(path);
	push(queue_get(ob, instance), it);
	make_ready(queue_get(ob, instance));
	kick(ob);
}

static int
seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Loads the events a previous run left, oldest first. */
static void
load(struct outbox *ob)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	*seqs = NULL, seq;
	size_t		 n = 0, i;
	char		*path, *body, *cause = NULL, *end;
	json_t		*j;
	const char	*inst;
	size_t		 len;
	struct item	*it;
	struct stat	 st;

	if ((d = opendir(ob->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		seq = strtoull(de->d_name, &end, 10);
		if (end == de->d_name || strcmp(end, ".json") != 0)
			continue;
		seqs = xreallocarray(seqs, n + 1, sizeof(*seqs));
		seqs[n++] = seq;
	}
	closedir(d);
	if (n > 0)
		qsort(seqs, n, sizeof(*seqs), seq_cmp);
	for (i = 0; i < n; i++) {
		path = item_path(ob, seqs[i]);
		if (ob->next_seq <= seqs[i])
			ob->next_seq = seqs[i] + 1;
		body = read_small_file(path, MAX_EVENT_SIZE, 0, &len, &cause);
		j = body ? json_loads(body, 0, NULL) : NULL;
		inst = j ? json_string_value(json_object_get(j, "instance")) :
		    NULL;
		if (inst == NULL || !valid_name(inst)) {
			log_errx("%s: %s; moved to %s", path, body == NULL ?
			    cause : "not an event", ob->dead_dir);
			free(cause);
			cause = NULL;
			free(body);
			json_decref(j);
			xasprintf(&body, "%s/%020llu.json", ob->dead_dir,
			    (unsigned long long)seqs[i]);
			if (rename(path, body) == -1)
				log_warnx("%s: rename: %s", path,
				    strerror(errno));
			free(body);
			free(path);
			continue;
		}
		it = xcalloc(1, sizeof(*it));
		it->seq = seqs[i];
		it->body = body;
		it->len = len;
		it->added_ms = stat(path, &st) == 0 ?
		    (int64_t)st.st_mtime * 1000 : wall_ms();
		push(queue_get(ob, inst), it);
		json_decref(j);
		free(path);
	}
	free(seqs);
	if (ob->depth > 0)
		log_info("outbox: %llu events from the last run to deliver",
		    (unsigned long long)ob->depth);
}

static void
count_dead(struct outbox *ob)
{
	DIR		*d;
	struct dirent	*de;
	char		*end;
	uint64_t	 seq;

	if ((d = opendir(ob->dead_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		seq = strtoull(de->d_name, &end, 10);
		if (end != de->d_name && strcmp(end, ".json") == 0) {
			ob->dead++;
			if (ob->next_seq <= seq)
				ob->next_seq = seq + 1;
		}
	}
	closedir(d);
}

struct outbox *
outbox_new(struct monitor *m)
{
	struct outbox	*ob = xcalloc(1, sizeof(*ob));

	ob->m = m;
	ob->queues = hmap_new();
	/*
	 * Sequence numbers grow across restarts without a file of their
	 * own: start past the clock (microseconds), and past whatever is
	 * on disk (load() and count_dead() raise it).
	 */
	ob->next_seq = (uint64_t)wall_ms() * 1000;
	ob->rl = (struct ratelimit)RATELIMIT_INIT(10000, 20);
	xasprintf(&ob->dir, "%s/outbox", m->conf->data_dir);
	xasprintf(&ob->dead_dir, "%s/outbox/dead", m->conf->data_dir);
	if (mkdir_p(ob->dead_dir, 0700) == -1)
		fatal("cannot create %s: %s", ob->dead_dir, strerror(errno));
	count_dead(ob);
	load(ob);
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
	free(ob->dir);
	free(ob->dead_dir);
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
