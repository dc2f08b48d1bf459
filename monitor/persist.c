/*
 * persist.c: the history on disk, in data-dir/history.db.
 *
 * The file is a sequence of frames, each one HistoryRecord: a header, then
 * every host and every instance with its latest sample, its sequence
 * numbers and its series.  It is written to history.db.tmp, fsynced and
 * renamed, so a crash leaves the previous file whole.
 *
 * Periodic saves run in a forked child, like Redis's BGSAVE: the child
 * writes the copy-on-write image while the parent goes on ingesting.  When
 * the child succeeds, what it wrote is durable, and the agents are told so
 * (ingest_durable), which lets them forget those reports.  The save at
 * shutdown runs in the process itself.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_COMP "persist"
#include "log.h"
#include "arena.h"
#include "frame.h"
#include "monitor.h"
#include "util.h"

#define HISTORY_VERSION	1
#define WBUF		(1024 * 1024)

struct persist {
	struct monitor	*m;
	char		*path;
	char		*tmp;
	pid_t		 child;
	uint64_t	 started;	/* mono ms of the running save */
};

/* Buffered writes of frames to one file. */
struct writer {
	int	 fd;
	uint8_t	*buf;
	size_t	 len;
	uint8_t	*pack;
	size_t	 packcap;
	int	 err;
};

static void
w_write(struct writer *w, const uint8_t *data, size_t len)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < len && !w->err) {
		n = write(w->fd, data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			w->err = errno;
		else
			off += (size_t)n;
	}
}

static void
w_flush(struct writer *w)
{
	w_write(w, w->buf, w->len);
	w->len = 0;
}

static void
w_record(struct writer *w, const Ccnode__HistoryRecord *rec)
{
	size_t	len = ccnode__history_record__get_packed_size(rec);
	uint8_t	hdr[FRAME_HDR];

	if (len > UINT32_MAX) {
		w->err = EFBIG;
		return;
	}
	if (len > w->packcap) {
		free(w->pack);
		w->packcap = len * 2;
		w->pack = xmalloc(w->packcap);
	}
	ccnode__history_record__pack(rec, w->pack);
	frame_put_hdr(hdr, (uint32_t)len);
	if (w->len + FRAME_HDR + len > WBUF)
		w_flush(w);
	if (FRAME_HDR + len > WBUF) {
		/* Too big to buffer: straight to the file. */
		w_write(w, hdr, FRAME_HDR);
		w_write(w, w->pack, len);
		return;
	}
	memcpy(w->buf + w->len, hdr, FRAME_HDR);
	memcpy(w->buf + w->len + FRAME_HDR, w->pack, len);
	w->len += FRAME_HDR + len;
}

static void
write_host(struct writer *w, struct arena *a, const struct host *h)
{
	Ccnode__HistoryRecord	rec = CCNODE__HISTORY_RECORD__INIT;
	Ccnode__HostRecord	hr = CCNODE__HOST_RECORD__INIT;
	int			i;

	arena_reset(a, SIZE_MAX);
	hr.name = h->name;
	hr.ip = (char *)h->ip;
	hr.epochs = arena_alloc(a, HOST_EPOCHS * sizeof(*hr.epochs));
	for (i = 0; i < h->nepochs; i++) {
		Ccnode__EpochRecord *er = arena_alloc(a, sizeof(*er));

		ccnode__epoch_record__init(er);
		er->epoch = h->epochs[i].epoch;
		er->last_seq = h->epochs[i].last_seq;
		er->order = h->epochs[i].order;
		er->touched_ms = h->epochs[i].touched_ms;
		hr.epochs[hr.n_epochs++] = er;
	}
	hr.reports = h->reports;
	hr.duplicates = h->duplicates;
	hr.missing = h->missing;
	hr.version = (char *)h->version;
	hr.spool_reports = h->spool_reports;
	hr.spool_bytes = h->spool_bytes;
	hr.dropped = h->dropped;
	hr.started_ms = h->started_ms;
	hr.interval_ms = h->interval_ms;
	hr.sample_ms = h->sample_ms;
	hr.last_report_ms = h->last_report_ms;
	hr.n_values = HM_COUNT;
	hr.values = (double *)h->values;
	hr.n_series = series_export(h->series, a, &hr.series);
	rec.rec_case = CCNODE__HISTORY_RECORD__REC_HOST;
	rec.host = &hr;
	w_record(w, &rec);
}

static void
write_instance(struct writer *w, struct arena *a, const struct instance *in)
{
	Ccnode__HistoryRecord	rec = CCNODE__HISTORY_RECORD__INIT;
	Ccnode__InstanceRecord	ir = CCNODE__INSTANCE_RECORD__INIT;
	Ccnode__KeyspaceDb	*dbs, **dbp;
	int			 i;

	arena_reset(a, SIZE_MAX);
	ir.name = in->name;
	ir.host = in->host->name;
	ir.addr = (char *)in->addr;
	ir.kind = (char *)in->kind;
	ir.up = in->up;
	ir.error = (char *)in->error;
	ir.rtt_us = in->rtt_us;
	ir.n_values = RM_COUNT;
	ir.values = (double *)in->values;
	ir.role = (char *)in->role;
	ir.redis_version = (char *)in->version;
	ir.run_id = (char *)in->run_id;
	ir.mode = (char *)in->mode;
	ir.master_addr = (char *)in->master_addr;
	ir.maxmemory_policy = (char *)in->policy;
	dbs = arena_alloc(a, (size_t)(in->ndbs + 1) * sizeof(*dbs));
	dbp = arena_alloc(a, (size_t)(in->ndbs + 1) * sizeof(*dbp));
	for (i = 0; i < in->ndbs; i++) {
		ccnode__keyspace_db__init(&dbs[i]);
		dbs[i].db = in->dbs[i].db;
		dbs[i].keys = in->dbs[i].keys;
		dbs[i].expires = in->dbs[i].expires;
		dbs[i].avg_ttl_ms = in->dbs[i].avg_ttl_ms;
		dbp[i] = &dbs[i];
	}
	ir.n_dbs = (size_t)in->ndbs;
	ir.dbs = dbp;
	ir.sample_ms = in->sample_ms;
	ir.last_seen_ms = in->last_seen_ms;
	ir.proc_state = (char *)in->proc_state;
	ir.n_series = series_export(in->series, a, &ir.series);
	rec.rec_case = CCNODE__HISTORY_RECORD__REC_INSTANCE;
	rec.instance = &ir;
	w_record(w, &rec);
}

/* Writes the whole store to p->tmp and renames it.  0 or -1. */
static int
save(struct persist *p)
{
	struct monitor		*m = p->m;
	struct writer		 w;
	struct arena		*a;
	struct host		**hv;
	struct instance		**iv;
	size_t			 nh, ni, i;
	Ccnode__HistoryRecord	 rec = CCNODE__HISTORY_RECORD__INIT;
	Ccnode__HistoryHeader	 hdr = CCNODE__HISTORY_HEADER__INIT;
	int			 dfd;

	memset(&w, 0, sizeof(w));
	w.fd = open(p->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w.fd == -1) {
		log_errx("cannot save the history: %s: %s", p->tmp,
		    strerror(errno));
		return -1;
	}
	w.buf = xmalloc(WBUF);
	a = arena_new(1024 * 1024);
	hdr.version = HISTORY_VERSION;
	hdr.saved_ms = wall_ms();
	rec.rec_case = CCNODE__HISTORY_RECORD__REC_HEADER;
	rec.header = &hdr;
	w_record(&w, &rec);
	nh = store_hosts(m->store, &hv);
	for (i = 0; i < nh && !w.err; i++)
		write_host(&w, a, hv[i]);
	ni = store_instances(m->store, &iv);
	for (i = 0; i < ni && !w.err; i++)
		write_instance(&w, a, iv[i]);
	w_flush(&w);
	free(hv);
	free(iv);
	arena_free(a);
	free(w.buf);
	free(w.pack);
	if (!w.err && fsync(w.fd) == -1)
		w.err = errno;
	if (close(w.fd) == -1 && !w.err)
		w.err = errno;
	if (!w.err && rename(p->tmp, p->path) == -1)
		w.err = errno;
	if (w.err) {
		log_errx("cannot save the history to %s: %s", p->path,
		    strerror(w.err));
		unlink(p->tmp);
		return -1;
	}
	if ((dfd = open(m->conf->data_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

struct persist *
persist_new(struct monitor *m)
{
	struct persist *p = xcalloc(1, sizeof(*p));

	p->m = m;
	if (mkdir_p(m->conf->data_dir, 0700) == -1)
		fatal("data-dir %s: %s", m->conf->data_dir, strerror(errno));
	xasprintf(&p->path, "%s/history.db", m->conf->data_dir);
	xasprintf(&p->tmp, "%s/history.db.tmp", m->conf->data_dir);
	return p;
}

void
persist_free(struct persist *p)
{
	if (p == NULL)
		return;
	if (p->child > 0) {
		kill(p->child, SIGKILL);
		waitpid(p->child, NULL, 0);
		unlink(p->tmp);
	}
	free(p->path);
	free(p->tmp);
	free(p);
}

/* Marks what the save about to start will hold. */
static void
mark_hosts(struct persist *p)
{
	struct host	**hv;
	size_t		  n, i;
	int		  k;

	n = store_hosts(p->m->store, &hv);
	for (i = 0; i < n; i++)
		for (k = 0; k < hv[i]->nepochs; k++)
			hv[i]->epochs[k].save_seq = hv[i]->epochs[k].last_seq;
	free(hv);
}

/*
 * The save finished: what it held is durable now.  An epoch slot reused
 * since the save began has a save_seq of 0 (set when it was made).
 */
static void
mark_durable(struct persist *p)
{
	struct host_epoch	*e;
	struct host		**hv;
	size_t			  n, i;
	int			  k;

	n = store_hosts(p->m->store, &hv);
	for (i = 0; i < n; i++)
		for (k = 0; k < hv[i]->nepochs; k++) {
			e = &hv[i]->epochs[k];
			if (e->save_seq > e->durable_seq)
				e->durable_seq = e->save_seq;
		}
	free(hv);
	if (p->m->ingest != NULL)
		ingest_durable(p->m->ingest);
}

void
persist_save_bg(struct persist *p)
{
	pid_t pid;

	if (p->child > 0) {
		log_warnx("the previous save (pid %d) is still running; "
		    "skipping this one", (int)p->child);
		return;
	}
	mark_hosts(p);
	p->started = mono_ms();
	if ((pid = fork()) == -1) {
		log_errx("fork for a save: %s; saving in the foreground",
		    strerror(errno));
		persist_save_now(p);
		return;
	}
	if (pid == 0) {
		/*
		 * The child: write the image, and nothing else.  It lets go of
		 * the sockets it inherited at once, so that agent links that
		 * close get their FIN, and a monitor restarted meanwhile can
		 * bind its ports.
		 */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		close_from(STDERR_FILENO + 1);
		_exit(save(p) == 0 ? 0 : 1);
	}
	p->child = pid;
	log_debug("history save started pid=%d", (int)pid);
}

int
persist_child(struct persist *p, pid_t pid, int status)
{
	struct monitor	*m = p->m;
	uint64_t	 took;

	if (pid != p->child)
		return 0;
	p->child = 0;
	took = mono_ms() - p->started;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		m->stats.saves++;
		m->stats.last_save_ms = wall_ms();
		m->stats.last_save_duration_ms = took;
		log_debug("history saved in %llu ms", (unsigned long long)took);
		mark_durable(p);
	} else {
		m->stats.save_failures++;
		log_errx("history save failed (status %d); the agents keep "
		    "their reports until a save succeeds", status);
	}
	return 1;
}

int
persist_save_now(struct persist *p)
{
	struct monitor	*m = p->m;
	uint64_t	 start = mono_ms();

	if (p->child > 0) {
		kill(p->child, SIGKILL);
		waitpid(p->child, NULL, 0);
		p->child = 0;
	}
	mark_hosts(p);
	if (save(p) == -1) {
		m->stats.save_failures++;
		return -1;
	}
	m->stats.saves++;
	m->stats.last_save_ms = wall_ms();
	m->stats.last_save_duration_ms = mono_ms() - start;
	mark_durable(p);
	log_info("history saved to %s in %llu ms: %zu hosts, %zu instances",
	    p->path, (unsigned long long)m->stats.last_save_duration_ms,
	    store_nhosts(m->store), store_ninstances(m->store));
	return 0;
}

static void
load_host(struct persist *p, const Ccnode__HostRecord *r)
{
	struct host	*h;
	size_t		 i;

	if (r->name == NULL || r->name[0] == '\0' ||
	    (h = store_host(p->m->store, r->name, 1)) == NULL)
		return;
	snprintf(h->ip, sizeof(h->ip), "%s", r->ip);
	/* Everything in the file is durable. */
	for (i = 0; i < r->n_epochs && i < HOST_EPOCHS; i++) {
		struct host_epoch *e = &h->epochs[h->nepochs++];

		e->epoch = r->epochs[i]->epoch;
		e->last_seq = e->durable_seq = r->epochs[i]->last_seq;
		e->order = r->epochs[i]->order;
		e->touched_ms = r->epochs[i]->touched_ms;
		if (e->order > h->epoch_order)
			h->epoch_order = e->order;
	}
	h->reports = r->reports;
	h->duplicates = r->duplicates;
	h->missing = r->missing;
	snprintf(h->version, sizeof(h->version), "%s", r->version);
	h->spool_reports = r->spool_reports;
	h->spool_bytes = r->spool_bytes;
	h->dropped = r->dropped;
	h->started_ms = r->started_ms;
	h->interval_ms = r->interval_ms;
	h->sample_ms = r->sample_ms;
	h->last_report_ms = r->last_report_ms;
	for (i = 0; i < r->n_values && i < HM_COUNT; i++)
		h->values[i] = r->values[i];
	for (i = 0; i < r->n_series; i++)
		series_import(h->series, r->series[i]);
}

static void
load_instance(struct persist *p, const Ccnode__InstanceRecord *r)
{
	struct host	*h;
	struct instance	*in;
	size_t		 i, n;

	if (r->name == NULL || !valid_name(r->name) ||
	    (h = store_host(p->m->store, r->host, 0)) == NULL ||
	    (in = store_instance_restore(p->m->store, r->name, h)) == NULL)
		return;
	snprintf(in->addr, sizeof(in->addr), "%s", r->addr);
	snprintf(in->kind, sizeof(in->kind), "%s", r->kind);
	in->up = r->up;
	snprintf(in->error, sizeof(in->error), "%s", r->error);
	in->rtt_us = r->rtt_us;
	for (i = 0; i < r->n_values && i < RM_COUNT; i++)
		in->values[i] = r->values[i];
	snprintf(in->role, sizeof(in->role), "%s", r->role);
	snprintf(in->version, sizeof(in->version), "%s", r->redis_version);
	snprintf(in->run_id, sizeof(in->run_id), "%s", r->run_id);
	snprintf(in->mode, sizeof(in->mode), "%s", r->mode);
	snprintf(in->master_addr, sizeof(in->master_addr), "%s", r->master_addr);
	snprintf(in->policy, sizeof(in->policy), "%s", r->maxmemory_policy);
	n = MINIMUM(r->n_dbs, (size_t)INFO_MAX_DBS);
	if (n > 0) {
		in->dbs = xcalloc(n, sizeof(*in->dbs));
		for (i = 0; i < n; i++) {
			in->dbs[i].db = r->dbs[i]->db;
			in->dbs[i].keys = r->dbs[i]->keys;
			in->dbs[i].expires = r->dbs[i]->expires;
			in->dbs[i].avg_ttl_ms = r->dbs[i]->avg_ttl_ms;
		}
		in->ndbs = (int)n;
	}
	in->sample_ms = r->sample_ms;
	in->last_seen_ms = r->last_seen_ms;
	/* A stop asked for before the restart is still no failure. */
	str_copy(in->proc_state, sizeof(in->proc_state), r->proc_state);
	for (i = 0; i < r->n_series; i++)
		series_import(in->series, r->series[i]);
}

void
persist_load(struct persist *p)
{
	struct arena		*a;
	Ccnode__HistoryRecord	*rec;
	char			*cause = NULL, *bad;
	uint8_t			*buf;
	size_t			 len, off = 0, rlen;
	uint64_t		 start = mono_ms();
	int			 records = 0, ok = 1;

	buf = (uint8_t *)read_small_file(p->path, SIZE_MAX / 2, 0, &len, &cause);
	if (buf == NULL) {
		if (access(p->path, F_OK) == 0)
			log_errx("cannot read the history: %s", cause);
		else
			log_info("no history at %s; starting empty", p->path);
		free(cause);
		return;
	}
	a = arena_new(1024 * 1024);
	while (off < len) {
		if (frame_peek_mem(buf + off, len - off, UINT32_MAX, &rlen) !=
		    FRAME_READY) {
			ok = 0;
			break;
		}
		arena_reset(a, ARENA_BUDGET(rlen));
		rec = ccnode__history_record__unpack(arena_allocator(a), rlen,
		    buf + off + FRAME_HDR);
		if (rec == NULL) {
			ok = 0;
			break;
		}
		if (records == 0 && (rec->rec_case !=
		    CCNODE__HISTORY_RECORD__REC_HEADER ||
		    rec->header->version != HISTORY_VERSION)) {
			ok = 0;
			break;
		}
		if (rec->rec_case == CCNODE__HISTORY_RECORD__REC_HOST)
			load_host(p, rec->host);
		else if (rec->rec_case == CCNODE__HISTORY_RECORD__REC_INSTANCE)
			load_instance(p, rec->instance);
		records++;
		off += FRAME_HDR + rlen;
	}
	arena_free(a);
	free(buf);
	if (!ok) {
		/* Keep the damaged file for a post-mortem; start from what loaded. */
		xasprintf(&bad, "%s.damaged-%lld", p->path, (long long)time(NULL));
		rename(p->path, bad);
		log_errx("history file damaged at offset %zu after %d records; "
		    "moved to %s", off, records, bad);
		free(bad);
	}
	log_info("history loaded from %s in %llu ms: %zu hosts, %zu instances",
	    p->path, (unsigned long long)(mono_ms() - start),
	    store_nhosts(p->m->store), store_ninstances(p->m->store));
}
