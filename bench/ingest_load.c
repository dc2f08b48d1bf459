/*
 * ingest_load: a load generator for ccmonitor's report port.
 *
 * It simulates many agents.  Each simulated agent is one connection made
 * with wconn_connect (common/wire.c, so the handshake is the real one),
 * named h0001, h0002, ..., and sends Reports shaped like the ones
 * agent/sampler.c builds: every REDIS_METRICS value filled in for each of
 * its instances, the role/version/run_id/mode/policy strings, one or two
 * KeyspaceDb (a master also lists its replica), a HostSample with every
 * HOST_METRICS value, and an AgentStatus.  seq goes 1, 2, 3, ... in a
 * random epoch, and time_ms advances by the sample interval per report.
 *
 * Two pacings:
 *   flat out (-r 0)   each connection keeps a window of unacknowledged
 *                     bytes full, and sends again as the Acks come back;
 *   -r N              N reports a second per host, on wall-clock boundaries
 *                     as real agents do (spread over -j ms), still bounded
 *                     by the window.
 *
 * Reports are packed once per host.  Each send only patches seq and
 * time_ms, which the template holds as fixed-width (padded) varints, so
 * the generator costs a memcpy into the socket buffer per report; with -R
 * it instead bumps the counters and repacks every report through
 * protobuf-c, as an agent would (slower, and otherwise the same bytes for
 * the monitor).
 *
 * It prints one line a second and a summary; the numbers that matter are
 * taken from the monitor's own counters by bench/ingest.sh.
 */
#include "config.h"

#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "metric_defs.h"
#include "util.h"
#include "wire.h"

#define PAD_VARINT	10	/* bytes of a padded varint */

struct sim;

struct gen {
	struct event_base	*base;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 nhosts;
	int			 ninst;
	double			 rate;		/* reports/s per host; 0: flat out */
	int			 duration_s;
	size_t			 window;	/* unacknowledged bytes per conn */
	int64_t			 step_ms;	/* time_ms advance per report */
	int			 jitter_ms;
	int			 repack;
	int			 max_connecting;
	int			 quiet;
	uint64_t		 max_reports;	/* per host; 0: no limit */
	int			 nfinished;

	struct sim		*sims;
	int			 next_connect;
	int			 connecting;
	int			 up;
	int			 stopping;
	uint64_t		 sent, acked, sent_bytes, closes, behind;
	uint64_t		 last_acked, last_sent_bytes;
	uint64_t		 start_us, last_us, all_up_us;
	double			 last_cpu;
	struct event		*tick, *stop, *sigint, *sigterm;
};

struct sim {
	struct gen		*g;
	int			 idx;
	char			 name[16];
	struct wire_conf	 wc;
	struct wconn		*c;
	int			 up;
	uint64_t		 epoch;
	uint64_t		 seq;		/* last sent */
	uint64_t		 acked;		/* highest acknowledged */
	int64_t			 t0_ms;		/* time_ms of seq 1 */
	uint64_t		 due;		/* paced: reports due, not sent */
	int64_t			 next_ms;	/* paced: wall time of the next */
	struct event		*pace, *retry;

	/* The report, as protobuf-c structures (for -R) ... */
	Ccnode__Report		 rep;
	Ccnode__AgentStatus	 st;
	Ccnode__HostSample	 hs;
	double			 hvals[HM_COUNT];
	Ccnode__InstanceSample	*is, **isp;
	double			*vals;		/* ninst * RM_COUNT */
	Ccnode__KeyspaceDb	*dbs, **dbp;	/* 2 per instance */
	Ccnode__Replica		*reps, **repp;	/* 1 per instance */
	char			(*strs)[6][48];	/* per instance */
	char			 ip[32];

	/* ... and packed, with seq and time_ms at fixed offsets. */
	uint8_t			*pk;
	size_t			 pklen, seq_off, time_off;
};

static double
proc_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* A varint padded to PAD_VARINT bytes: valid protobuf, patchable in place. */
static void
put_padded_varint(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < PAD_VARINT - 1; i++) {
		p[i] = (uint8_t)((v & 0x7f) | 0x80);
		v >>= 7;
	}
	p[PAD_VARINT - 1] = (uint8_t)(v & 0x01);
}

/* ---- building a realistic report ---------------------------------------- */

static double
jit(unsigned *seed, double base, double spread)
{
	return floor(base * (1.0 + spread * ((double)rand_r(seed) / RAND_MAX)));
}

static void
fill_instance(struct sim *s, int i, unsigned *seed)
{
	Ccnode__InstanceSample	*is = &s->is[i];
	double			*v = s->vals + (size_t)i * RM_COUNT;
	char			(*str)[48] = s->strs[i];
	int			 replica = i % 2 == 1;
	int			 port = 6379 + i;
	int64_t			 now_s = wall_ms() / 1000;
	double			 used = jit(seed, 2e8, 4.0);
	int			 d, nd;

	snprintf(str[0], sizeof(str[0]), "%s-r%02d", s->name, i + 1);
	snprintf(str[1], sizeof(str[1]), "127.%d.%d.%d:%d",
	    1 + s->idx / 65536 % 200, s->idx / 256 % 256, s->idx % 256, port);
	/* A run_id is 40 hex characters. */
	snprintf(str[2], sizeof(str[2]), "%08x%08x%08x%08x%08x",
	    (unsigned)rand_r(seed), (unsigned)rand_r(seed),
	    (unsigned)rand_r(seed), (unsigned)rand_r(seed),
	    (unsigned)rand_r(seed));
	snprintf(str[3], sizeof(str[3]), "127.%d.%d.%d:%d",
	    1 + s->idx / 65536 % 200, s->idx / 256 % 256, s->idx % 256,
	    port - 1);

	v[RM_UPTIME] = jit(seed, 86400 * 20, 2.0);
	v[RM_CLIENTS] = jit(seed, 40, 5.0);
	v[RM_BLOCKED] = rand_r(seed) % 3;
	v[RM_MEM_USED] = used;
	v[RM_MEM_RSS] = floor(used * 1.15);
	v[RM_MEM_PEAK] = floor(used * 1.3);
	v[RM_MEM_LUA] = 31744;
	v[RM_MEM_MAX] = i % 3 == 0 ? 0 : 4294967296.0;
	v[RM_SYS_MEM] = 67108864000.0;
	v[RM_FRAG] = 1.15;
	v[RM_CONN_RECV] = jit(seed, 1e5, 3.0);
	v[RM_REJECTED] = 0;
	v[RM_COMMANDS] = jit(seed, 1e9, 5.0);
	v[RM_OPS] = jit(seed, 3000, 5.0);
	v[RM_NET_IN] = jit(seed, 5e10, 5.0);
	v[RM_NET_OUT] = jit(seed, 2e11, 5.0);
	v[RM_IN_KBPS] = 123.45;
	v[RM_OUT_KBPS] = 456.78;
	v[RM_EXPIRED] = jit(seed, 1e6, 3.0);
	v[RM_EVICTED] = 0;
	v[RM_HITS] = jit(seed, 5e8, 5.0);
	v[RM_MISSES] = jit(seed, 5e7, 5.0);
	v[RM_PUBSUB_CH] = 0;
	v[RM_PUBSUB_PAT] = 0;
	v[RM_FORK_USEC] = jit(seed, 1500, 2.0);
	v[RM_CPU_SYS] = jit(seed, 20000, 3.0) + 0.123456;
	v[RM_CPU_USER] = jit(seed, 40000, 3.0) + 0.654321;
	v[RM_CPU_SYS_CH] = 12.5;
	v[RM_CPU_USER_CH] = 80.25;
	v[RM_SLAVES] = replica ? 0 : 1;
	v[RM_MASTER_OFFSET] = jit(seed, 1e10, 5.0);
	v[RM_SLAVE_OFFSET] = v[RM_MASTER_OFFSET];
	v[RM_LINK_UP] = 1;
	v[RM_LAST_IO] = 0;
	v[RM_SYNCING] = 0;
	v[RM_BACKLOG] = 1048576;
	v[RM_LOADING] = 0;
	v[RM_RDB_CHANGES] = jit(seed, 1e4, 3.0);
	v[RM_RDB_BGSAVE] = 0;
	v[RM_RDB_LAST_SAVE] = (double)(now_s - 600);
	v[RM_RDB_STATUS] = 1;
	v[RM_RDB_DURATION] = 2;
	v[RM_AOF_ENABLED] = 0;
	v[RM_AOF_REWRITE] = 0;
	v[RM_AOF_WRITE_STATUS] = 1;
	v[RM_AOF_REWRITE_STATUS] = 1;
	v[RM_PID] = 1000 + rand_r(seed) % 60000;
	v[RM_ERRORS] = jit(seed, 100, 3.0);
	v[RM_MAXCLIENTS] = 10000;

	ccnode__instance_sample__init(is);
	is->name = str[0];
	is->addr = str[1];
	is->kind = "redis";
	is->up = 1;
	is->error = "";
	is->rtt_us = 150 + (uint32_t)(rand_r(seed) % 300);
	is->n_values = RM_COUNT;
	is->values = v;
	is->role = replica ? "slave" : "master";
	is->redis_version = "7.0.15";
	is->run_id = str[2];
	is->mode = "standalone";
	is->maxmemory_policy = "allkeys-lru";
	if (replica)
		is->master_addr = str[3];

	nd = 1 + i % 2;
	for (d = 0; d < nd; d++) {
		Ccnode__KeyspaceDb *db = &s->dbs[i * 2 + d];

		ccnode__keyspace_db__init(db);
		db->db = (uint32_t)d;
		db->keys = (uint64_t)jit(seed, 1e5, 10.0);
		db->expires = db->keys / 10;
		db->avg_ttl_ms = 3600000;
		s->dbp[i * 2 + d] = db;
	}
	is->n_dbs = (size_t)nd;
	is->dbs = &s->dbp[i * 2];
	if (!replica) {
		Ccnode__Replica *r = &s->reps[i];

		ccnode__replica__init(r);
		snprintf(str[4], sizeof(str[4]), "127.%d.%d.%d:%d",
		    1 + s->idx / 65536 % 200, s->idx / 256 % 256,
		    s->idx % 256, port + 1);
		r->addr = str[4];
		r->state = "online";
		r->offset = (uint64_t)v[RM_MASTER_OFFSET];
		r->lag = 0;
		s->repp[i] = r;
		is->n_replicas = 1;
		is->replicas = &s->repp[i];
	}
}

static void
sim_build(struct sim *s)
{
	struct gen	*g = s->g;
	unsigned	 seed = (unsigned)s->idx * 2654435761u + 1;
	size_t		 n = (size_t)g->ninst;
	int		 i;

	s->is = xcalloc(n, sizeof(*s->is));
	s->isp = xcalloc(n, sizeof(*s->isp));
	s->vals = xcalloc(n * RM_COUNT, sizeof(*s->vals));
	s->dbs = xcalloc(n * 2, sizeof(*s->dbs));
	s->dbp = xcalloc(n * 2, sizeof(*s->dbp));
	s->reps = xcalloc(n, sizeof(*s->reps));
	s->repp = xcalloc(n, sizeof(*s->repp));
	s->strs = xcalloc(n, sizeof(*s->strs));
	for (i = 0; i < g->ninst; i++) {
		fill_instance(s, i, &seed);
		s->isp[i] = &s->is[i];
	}

	snprintf(s->ip, sizeof(s->ip), "127.%d.%d.%d",
	    1 + s->idx / 65536 % 200, s->idx / 256 % 256, s->idx % 256);
	s->hvals[HM_CPU_USER] = 0.21;
	s->hvals[HM_CPU_SYSTEM] = 0.07;
	s->hvals[HM_CPU_IOWAIT] = 0.004;
	s->hvals[HM_CPU_USAGE] = 0.29;
	s->hvals[HM_MEM_TOTAL] = 67108864000.0;
	s->hvals[HM_MEM_USED] = 30000000000.0 + s->idx;
	s->hvals[HM_MEM_FREE] = 20000000000.0;
	s->hvals[HM_MEM_CACHE] = 17108864000.0;
	s->hvals[HM_LOAD1] = 2.5;
	s->hvals[HM_LOAD5] = 2.25;
	s->hvals[HM_LOAD15] = 2.0;
	s->hvals[HM_NET_RX] = 1.2e12;
	s->hvals[HM_NET_TX] = 3.4e12;
	s->hvals[HM_PROCS] = 412;
	s->hvals[HM_NCPU] = 16;
	ccnode__host_sample__init(&s->hs);
	s->hs.ip = s->ip;
	s->hs.n_values = HM_COUNT;
	s->hs.values = s->hvals;

	ccnode__agent_status__init(&s->st);
	s->st.version = PACKAGE_VERSION;
	s->st.started_ms = wall_ms() - 3600000;
	s->st.sample_interval_ms = (uint32_t)g->step_ms;
	s->st.advertise_addr = s->ip;

	ccnode__report__init(&s->rep);
	s->rep.epoch = s->epoch;
	s->rep.host = s->name;
	s->rep.agent = &s->st;
	s->rep.host_sample = &s->hs;
	s->rep.n_instances = n;
	s->rep.instances = s->isp;
}

/*
 * The template: an Envelope { major 1, report { seq, time_ms, rest } } with
 * seq and time_ms as padded varints ahead of the other Report fields (field
 * order does not matter on the wire).
 */
static void
sim_prepack(struct sim *s)
{
	uint8_t	*body, *p;
	size_t	 blen, rlen;

	s->rep.seq = 0;		/* proto3: zero fields are left out */
	s->rep.time_ms = 0;
	blen = ccnode__report__get_packed_size(&s->rep);
	body = xmalloc(blen);
	ccnode__report__pack(&s->rep, body);
	rlen = 2 * (1 + PAD_VARINT) + blen;
	free(s->pk);
	s->pk = p = xmalloc(2 + 2 + 10 + rlen);
	*p++ = 0x08;			/* Envelope.major = 1 */
	*p++ = WIRE_MAJOR;
	*p++ = 0xa2;			/* Envelope.report (20), bytes */
	*p++ = 0x01;
	p += put_varint(p, rlen);
	*p++ = 0x10;			/* Report.seq (2), varint */
	s->seq_off = (size_t)(p - s->pk);
	put_padded_varint(p, 0);
	p += PAD_VARINT;
	*p++ = 0x18;			/* Report.time_ms (3), varint */
	s->time_off = (size_t)(p - s->pk);
	put_padded_varint(p, 0);
	p += PAD_VARINT;
	memcpy(p, body, blen);
	p += blen;
	s->pklen = (size_t)(p - s->pk);
	free(body);
}

/* -R: what an agent does per round: new values, one fresh pack. */
static void
sim_bump(struct sim *s)
{
	static const int counters[] = { RM_CONN_RECV, RM_COMMANDS, RM_NET_IN,
	    RM_NET_OUT, RM_EXPIRED, RM_HITS, RM_MISSES, RM_MASTER_OFFSET,
	    RM_SLAVE_OFFSET, RM_RDB_CHANGES, RM_UPTIME };
	int	i;
	size_t	k;

	for (i = 0; i < s->g->ninst; i++) {
		double *v = s->vals + (size_t)i * RM_COUNT;

		for (k = 0; k < nitems(counters); k++)
			v[counters[k]] += 1 + (double)((s->seq + k) % 7) * 100;
		v[RM_CPU_SYS] += 0.01;
		v[RM_CPU_USER] += 0.03;
		v[RM_CLIENTS] = 40 + (double)(s->seq % 5);
	}
	s->hvals[HM_NET_RX] += 123456;
	s->hvals[HM_NET_TX] += 654321;
}

/* ---- sending -------------------------------------------------------------- */

static void	sim_connect(struct sim *);

static void
sim_send_some(struct sim *s)
{
	struct gen	*g = s->g;
	uint64_t	 inflight;
	int64_t		 t;
	int		 rc;

	while (s->up && !g->stopping && (g->rate == 0 || s->due > 0) &&
	    (g->max_reports == 0 || s->seq < g->max_reports)) {
		inflight = s->seq - s->acked;
		if (inflight > 0 && (inflight + 1) * s->pklen > g->window)
			break;
		s->seq++;
		t = s->t0_ms + (int64_t)(s->seq - 1) * g->step_ms;
		if (g->repack) {
			Ccnode__Envelope env = CCNODE__ENVELOPE__INIT;

			sim_bump(s);
			s->rep.seq = s->seq;
			s->rep.time_ms = t;
			env.body_case = CCNODE__ENVELOPE__BODY_REPORT;
			env.report = &s->rep;
			rc = wconn_send(s->c, &env);
		} else {
			put_padded_varint(s->pk + s->seq_off, s->seq);
			put_padded_varint(s->pk + s->time_off, (uint64_t)t);
			rc = wconn_send_packed(s->c, s->pk, s->pklen);
		}
		if (rc == -1) {
			s->seq--;
			break;
		}
		if (s->due > 0)
			s->due--;
		g->sent++;
		g->sent_bytes += s->pklen + 4;
	}
}

static void
sim_up_cb(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct sim	*s = arg;
	struct gen	*g = s->g;

	s->up = 1;
	g->up++;
	g->connecting--;
	if (g->up == g->nhosts && g->all_up_us == 0)
		g->all_up_us = mono_us();
	/*
	 * A resumed link starts after what the monitor acknowledged (seq
	 * numbers above it are resent, as an agent's spool would).
	 */
	s->seq = s->acked;
	while (g->connecting < g->max_connecting &&
	    g->next_connect < g->nhosts)
		sim_connect(&g->sims[g->next_connect++]);
	sim_send_some(s);
}

static void
sim_msg_cb(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct sim	*s = arg;
	struct gen	*g = s->g;
	const Ccnode__Ack *ack;

	if (env->body_case != CCNODE__ENVELOPE__BODY_ACK) {
		if (env->body_case == CCNODE__ENVELOPE__BODY_ERROR)
			fprintf(stderr, "%s: monitor says: %s\n", s->name,
			    env->error->message);
		return;
	}
	ack = env->ack;
	if (ack->epoch == s->epoch && ack->seq > s->acked) {
		g->acked += ack->seq - s->acked;
		s->acked = ack->seq;
		if (g->max_reports != 0 && s->acked == g->max_reports &&
		    ++g->nfinished == g->nhosts)
			event_base_loopexit(g->base, NULL);
	}
	sim_send_some(s);
}

static void
sim_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sim *s = arg;

	if (!s->g->stopping)
		sim_connect(s);
}

static void
sim_closed_cb(struct wconn *c, const char *why, void *arg)
{
	struct sim	*s = arg;
	struct gen	*g = s->g;
	struct timeval	 tv = { 1, 0 };

	s->c = NULL;
	if (s->up) {
		s->up = 0;
		g->up--;
	} else
		g->connecting--;
	if (g->stopping)
		return;
	g->closes++;
	fprintf(stderr, "%s: link closed: %s (reconnecting in 1 s)\n",
	    s->name, why);
	evtimer_add(s->retry, &tv);
	while (g->connecting < g->max_connecting &&
	    g->next_connect < g->nhosts)
		sim_connect(&g->sims[g->next_connect++]);
}

static const struct wconn_cbs sim_cbs = {
	.up = sim_up_cb,
	.msg = sim_msg_cb,
	.closed = sim_closed_cb,
};

static void
sim_connect(struct sim *s)
{
	struct gen *g = s->g;

	g->connecting++;
	s->c = wconn_connect(g->base, (struct sockaddr *)&g->ss, g->sslen,
	    &s->wc, &sim_cbs, s);
	if (s->c == NULL) {
		struct timeval tv = { 1, 0 };

		g->connecting--;
		fprintf(stderr, "%s: socket: %s\n", s->name, strerror(errno));
		evtimer_add(s->retry, &tv);
	}
}

/* Paced mode: the next wall-clock boundary of this host, plus its offset. */
static void
sim_pace_arm(struct sim *s)
{
	struct gen	*g = s->g;
	int64_t		 iv = (int64_t)(1000.0 / g->rate), now = wall_ms();
	int64_t		 off = g->nhosts > 1 ?
			    (int64_t)s->idx * g->jitter_ms / g->nhosts : 0;
	int64_t		 next = (now - off) / iv * iv + iv + off;
	int64_t		 d;
	struct timeval	 tv;

	/* A timer that fired a little early must not fire twice for one. */
	if (s->next_ms != 0 && next < s->next_ms + iv)
		next = s->next_ms + iv;
	s->next_ms = next;
	d = MAXIMUM(next - now, 0);
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(s->pace, &tv);
}

static void
sim_pace_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sim *s = arg;

	if (s->due > 0)
		s->g->behind++;
	s->due++;
	sim_send_some(s);
	sim_pace_arm(s);
}

/* ---- progress ------------------------------------------------------------- */

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct gen	*g = arg;
	uint64_t	 now = mono_us();
	double		 dt = (double)(now - g->last_us) / 1e6, cpu = proc_cpu_s();

	if (!g->quiet)
		printf("t=%5.1fs up=%d acked=%.0f reports/s "
		    "(%.0f samples/s) sent=%.1f MB/s gen_cpu=%.0f%%\n",
		    (double)(now - g->start_us) / 1e6, g->up,
		    (double)(g->acked - g->last_acked) / dt,
		    (double)(g->acked - g->last_acked) * g->ninst / dt,
		    (double)(g->sent_bytes - g->last_sent_bytes) / dt / 1e6,
		    100.0 * (cpu - g->last_cpu) / dt);
	g->last_us = now;
	g->last_acked = g->acked;
	g->last_sent_bytes = g->sent_bytes;
	g->last_cpu = cpu;
}

static void
stop_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct gen *g = arg;

	g->stopping = 1;
	event_base_loopexit(g->base, NULL);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: ingest_load [-Rq] [-a IP:PORT] [-n hosts] [-i instances] "
	    "[-r reports/s]\n"
	    "         [-d seconds] [-w window-bytes] [-s step-ms] [-j jitter-ms] "
	    "[-c max-connecting] [-m max-reports]\n"
	    "  -a  monitor report port (default 127.0.0.1:55100)\n"
	    "  -n  simulated hosts, one connection each (default 100)\n"
	    "  -i  instances per host (default 30)\n"
	    "  -r  reports per second per host; 0: as fast as acked "
	    "(default 0)\n"
	    "  -d  seconds to run (default 30)\n"
	    "  -w  unacknowledged bytes per connection (default 262144)\n"
	    "  -s  time_ms advance per report (default 1000: a 1 s agent)\n"
	    "  -j  paced mode: spread the hosts over this many ms after each "
	    "second (default 200)\n"
	    "  -c  handshakes in progress at once (default 32; the monitor "
	    "allows 64)\n"
	    "  -m  stop once every host has sent and had acknowledged this "
	    "many reports\n"
	    "  -R  repack every report through protobuf-c with new values\n"
	    "  -q  no per-second lines\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct gen	 g;
	struct timeval	 one = { 1, 0 }, dur;
	const char	*addr = "127.0.0.1:55100", *cause;
	double		 cpu0, el;
	long long	 ll;
	int		 ch, i;

	memset(&g, 0, sizeof(g));
	g.nhosts = 100;
	g.ninst = 30;
	g.duration_s = 30;
	g.window = 256 * 1024;
	g.step_ms = 1000;
	g.jitter_ms = 200;
	g.max_connecting = 32;
	while ((ch = getopt(argc, argv, "a:n:i:r:d:w:s:j:c:m:Rqh")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'n':
		case 'i':
		case 'd':
		case 'w':
		case 's':
		case 'j':
		case 'c':
		case 'm':
			if (parse_ll(optarg, &ll) == -1 || ll < 0 ||
			    ll > 1000000000)
				usage();
			if (ch == 'n')
				g.nhosts = (int)ll;
			else if (ch == 'i')
				g.ninst = (int)ll;
			else if (ch == 'd')
				g.duration_s = (int)ll;
			else if (ch == 'w')
				g.window = (size_t)ll;
			else if (ch == 's')
				g.step_ms = ll;
			else if (ch == 'j')
				g.jitter_ms = (int)ll;
			else if (ch == 'm')
				g.max_reports = (uint64_t)ll;
			else
				g.max_connecting = (int)ll;
			break;
		case 'r':
			if (parse_double(optarg, &g.rate) == -1 || g.rate < 0 ||
			    g.rate > 1000)
				usage();
			break;
		case 'R':
			g.repack = 1;
			break;
		case 'q':
			g.quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || g.nhosts < 1 || g.nhosts > 99999 ||
	    g.ninst < 1 || g.max_connecting < 1 || g.step_ms < 1)
		usage();
	if (parse_hostport(addr, &g.ss, &g.sslen, &cause) == -1) {
		fprintf(stderr, "ingest_load: %s: %s\n", addr, cause);
		return 2;
	}
	if (!addr_is_loopback((struct sockaddr *)&g.ss)) {
		fprintf(stderr, "ingest_load: %s is not a loopback address\n",
		    addr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("ingest_load", 1);
	log_set_level(LL_WARN);

	printf("# command:");
	for (i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");

	g.base = event_base_new();
	g.sims = xcalloc((size_t)g.nhosts, sizeof(*g.sims));
	for (i = 0; i < g.nhosts; i++) {
		struct sim *s = &g.sims[i];

		s->g = &g;
		s->idx = i + 1;
		snprintf(s->name, sizeof(s->name), "h%04d", i + 1);
		wire_conf_init(&s->wc, s->name);
		s->wc.role = "agent";
		s->epoch = random_u64() | 1;
		/*
		 * time_ms of seq 1: now, on a step boundary, as the agent's;
		 * with -m, early enough that the last report is about now.
		 */
		s->t0_ms = wall_ms() / g.step_ms * g.step_ms -
		    (int64_t)g.max_reports * g.step_ms;
		sim_build(s);
		sim_prepack(s);
		s->retry = evtimer_new(g.base, sim_retry_cb, s);
		if (g.rate > 0)
			s->pace = evtimer_new(g.base, sim_pace_cb, s);
	}
	printf("# %d hosts x %d instances, report %zu bytes (%.0f bytes per "
	    "instance sample), %s, window %zu bytes\n", g.nhosts, g.ninst,
	    g.sims[0].pklen, (double)g.sims[0].pklen / g.ninst,
	    g.rate > 0 ? "paced" : "flat out", g.window);
	if (g.rate > 0)
		printf("# paced: %.3g reports/s per host, on wall-clock "
		    "boundaries spread over %d ms\n", g.rate, g.jitter_ms);

	g.start_us = g.last_us = mono_us();
	g.last_cpu = cpu0 = proc_cpu_s();
	for (g.next_connect = 0; g.next_connect < g.nhosts &&
	    g.next_connect < g.max_connecting; g.next_connect++)
		sim_connect(&g.sims[g.next_connect]);
	if (g.rate > 0)
		for (i = 0; i < g.nhosts; i++)
			sim_pace_arm(&g.sims[i]);
	g.tick = event_new(g.base, -1, EV_PERSIST, tick_cb, &g);
	event_add(g.tick, &one);
	g.stop = evtimer_new(g.base, stop_cb, &g);
	dur.tv_sec = g.duration_s;
	dur.tv_usec = 0;
	event_add(g.stop, &dur);
	g.sigint = evsignal_new(g.base, SIGINT, stop_cb, &g);
	g.sigterm = evsignal_new(g.base, SIGTERM, stop_cb, &g);
	event_add(g.sigint, NULL);
	event_add(g.sigterm, NULL);

	event_base_dispatch(g.base);
	g.stopping = 1;

	el = (double)(mono_us() - g.start_us) / 1e6;
	printf("# done: %.1f s, %d/%d links up (all up after %.1f s), "
	    "%llu reports sent, %llu acked (%.0f samples/s acked on average), "
	    "%llu link closes, %llu paced reports late\n", el, g.up, g.nhosts,
	    g.all_up_us ? (double)(g.all_up_us - g.start_us) / 1e6 : -1.0,
	    (unsigned long long)g.sent, (unsigned long long)g.acked,
	    (double)g.acked * g.ninst / el, (unsigned long long)g.closes,
	    (unsigned long long)g.behind);
	printf("# generator cpu: %.2f s over %.1f s (%.0f%% of one core)\n",
	    proc_cpu_s() - cpu0, el, 100.0 * (proc_cpu_s() - cpu0) / el);

	for (i = 0; i < g.nhosts; i++) {
		struct sim *s = &g.sims[i];

		if (s->c != NULL)
			wconn_free(s->c);
		if (s->pace != NULL)
			event_free(s->pace);
		event_free(s->retry);
		wire_conf_clear(&s->wc);
		free(s->is);
		free(s->isp);
		free(s->vals);
		free(s->dbs);
		free(s->dbp);
		free(s->reps);
		free(s->repp);
		free(s->strs);
		free(s->pk);
	}
	free(g.sims);
	event_free(g.tick);
	event_free(g.stop);
	event_free(g.sigint);
	event_free(g.sigterm);
	event_base_free(g.base);
	return 0;
}
