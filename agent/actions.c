/*
 * actions.c: the requests that act on a running redis instance through its
 * control connection (user ccagent, named ccagent-control): SetParams,
 * KillAllConnections, FlushInstance and PromoteInstance.  Each sends its
 * commands pipelined; a batch counts the replies and answers the request
 * once the last one is in.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMP "actions"
#include "log.h"
#include "proc.h"
#include "util.h"

struct batch {
	struct proc	*p;
	struct batch	*next;		/* in p->batches */
	op_done_fn	*done;
	void		*arg;
	int		 pending;
	struct op_result r;
	char		 err[256];	/* the first error */
	struct kvlist	 stored;	/* params to keep in the desired state */
	void		(*finish)(struct batch *);
};

void
op_init(struct op_result *r, const char *instance)
{
	memset(r, 0, sizeof(*r));
	r->ok = 1;
	r->instance = instance;
}

void
op_fail(op_done_fn *done, void *arg, const char *instance, int code,
    const char *fmt, ...)
{
	struct op_result	r;
	va_list			ap;

	op_init(&r, instance);
	r.ok = 0;
	r.code = code;
	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	done(arg, &r);
}

static struct batch *
batch_new(struct proc *p, op_done_fn *done, void *arg,
    void (*finish)(struct batch *))
{
	struct batch *b = xcalloc(1, sizeof(*b));

	b->p = p;
	b->done = done;
	b->arg = arg;
	b->finish = finish;
	op_init(&b->r, p->name);
	b->pending = 1;		/* held until every command is queued */
	b->next = p->batches;
	p->batches = b;
	return b;
}

static void
batch_free(struct batch *b)
{
	struct batch **pp;

	for (pp = &b->p->batches; *pp != b; pp = &(*pp)->next)
		;
	*pp = b->next;
	kv_clear(&b->r.applied);
	kv_clear(&b->r.needs_restart);
	kv_clear(&b->stored);
	free(b);
}

/*
 * The agent is stopping: the connection's callbacks will not run again,
 * so each request in flight is answered here.
 */
void
act_abort(struct proc *p)
{
	struct batch *b;

	while ((b = p->batches) != NULL) {
		b->r.ok = 0;
		b->r.code = CCNODE__ERROR_REPLY__CODE__INTERNAL;
		snprintf(b->r.msg, sizeof(b->r.msg), "%s: the agent is stopping; "
		    "the request may have been applied in part", p->name);
		b->done(b->arg, &b->r);
		batch_free(b);
	}
}

static void
batch_release(struct batch *b)
{
	if (--b->pending > 0)
		return;
	if (b->err[0] != '\0') {
		b->r.ok = 0;
		b->r.code = CCNODE__ERROR_REPLY__CODE__REFUSED;
		snprintf(b->r.msg, sizeof(b->r.msg), "%s", b->err);
		log_warnx("instance %s: request failed: %s", b->p->name, b->err);
	}
	b->finish(b);
	b->done(b->arg, &b->r);
	batch_free(b);
}

/* A reply that must not be an error; what fails is named in the answer. */
static void
expect_ok_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct batch *b = arg;

	if (b->err[0] == '\0' && (r == NULL || r->type == REDIS_REPLY_ERROR))
		snprintf(b->err, sizeof(b->err), "%s", r ? r->str : err);
	batch_release(b);
}

/* ---- SetParams ---------------------------------------------------------------- */

struct set_one {
	struct batch	*b;
	char		*key, *value;
};

static void
set_one_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct set_one	*s = arg;
	struct batch	*b = s->b;

	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		if (b->err[0] == '\0')
			snprintf(b->err, sizeof(b->err), "%s: %s", s->key,
			    r ? r->str : err);
	} else {
		kv_set(&b->r.applied, s->key, "");
		kv_set(&b->stored, s->key, s->value);
	}
	free(s->key);
	free(s->value);
	free(s);
	batch_release(b);
}

static void
set_finish(struct batch *b)
{
	struct proc	*p = b->p;
	char		*cause = NULL;
	size_t		 i;

	/* What applied or waits for a restart is what should hold from now. */
	for (i = 0; i < b->stored.n; i++)
		kv_set(&p->params, b->stored.v[i].k, b->stored.v[i].v);
	if (b->stored.n > 0 && sup_save(p->sup, &cause) == -1) {
		log_errx("instance %s: cannot save the desired state: %s",
		    p->name, cause);
		free(cause);
	}
	if (b->r.ok)
		snprintf(b->r.msg, sizeof(b->r.msg), "%s: %zu applied, %zu at the "
		    "next start", p->name, b->r.applied.n, b->r.needs_restart.n);
	for (i = 0; i < b->r.applied.n; i++)
		log_info("instance %s: %s applied online", p->name,
		    b->r.applied.v[i].k);
}

/* Sends one online parameter: CONFIG SET, or ACL rules for the commands. */
static void
send_param(struct batch *b, const char *key, const char *value)
{
	struct set_one	*s = xcalloc(1, sizeof(*s));
	struct kvlist	 tmp = { 0, NULL };
	const char	*argv[70];
	char		*rules, *save = NULL, *tok;
	int		 argc = 0;

	s->b = b;
	s->key = xstrdup(key);
	s->value = xstrdup(value);
	b->pending++;
	if (strcmp(key, "disable-command-list") != 0) {
		argv[0] = "CONFIG";
		argv[1] = "SET";
		argv[2] = key;
		argv[3] = value;
		rconn_cmd(proc_conn(b->p), set_one_cb, s, 4, argv, NULL);
		return;
	}
	/*
	 * The client-facing user gets +@all and then each command taken
	 * away; the agent's and the monitor's users keep what they have.
	 */
	kv_set(&tmp, key, value);
	rules = params_acl_default(&tmp);
	kv_clear(&tmp);
	argv[argc++] = "ACL";
	argv[argc++] = "SETUSER";
	argv[argc++] = "default";
	for (tok = strtok_r(rules, " ", &save); tok != NULL && argc < 70;
	    tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	rconn_cmd(proc_conn(b->p), set_one_cb, s, argc, argv, NULL);
	free(rules);
}

void
act_set_params(struct proc *p, const Ccnode__SetParams *req, op_done_fn *done,
    void *arg)
{
	struct batch	*b = batch_new(p, done, arg, set_finish);
	size_t		 i;

	for (i = 0; i < req->n_params; i++) {
		const char *k = req->params[i]->key, *v = req->params[i]->value;

		if (p->kind == KIND_REDIS && param_online(k) &&
		    p->state == PS_RUNNING)
			send_param(b, k, v);
		else {
			/* Start-only, or not running: the next start has it. */
			kv_set(&b->r.needs_restart, k, "");
			kv_set(&b->stored, k, v);
		}
	}
	batch_release(b);
}

/* ---- KillAllConnections --------------------------------------------------- */

static void
kill_one_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct batch *b = arg;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
		b->r.count += (uint64_t)r->integer;
	else if (r != NULL && r->type == REDIS_REPLY_STATUS)
		b->r.count++;
	batch_release(b);
}

/*
 * The value of key in a CLIENT LIST line ("id=3 addr=... user=x ..."),
 * into buf.  Fields are separated by spaces, and no value holds one
 * (client names may not), so matching whole fields is exact.
 */
static int
field(const char *line, const char *key, char *buf, size_t len)
{
	size_t		 kl = strlen(key), vl;
	const char	*p = line;

	for (;;) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			p += kl + 1;
			vl = strcspn(p, " \r");
			snprintf(buf, len, "%.*s", (int)vl, p);
			return 0;
		}
		if ((p = strchr(p, ' ')) == NULL)
			return -1;
		p++;
	}
}

/*
 * Whether a CLIENT LIST line is a connection to keep: the agent's and the
 * monitor's, known by their ACL user (which needs its password; a name is
 * anyone's to set), and the replication links.
 */
static int
spare(const char *line)
{
	char user[64], flags[32];

	if (field(line, "user", user, sizeof(user)) == 0 &&
	    (strcmp(user, AGENT_USER) == 0 || strcmp(user, PROBE_USER) == 0))
		return 1;
	/* Replication links: killing them would force a full resync. */
	if (field(line, "flags", flags, sizeof(flags)) == 0 &&
	    (strchr(flags, 'S') != NULL || strchr(flags, 'M') != NULL))
		return 1;
	return 0;
}

static void
kill_finish(struct batch *b)
{
	if (b->r.ok)
		snprintf(b->r.msg, sizeof(b->r.msg), "%s: killed %llu client "
		    "connections", b->p->name, (unsigned long long)b->r.count);
	log_info("instance %s: killed %llu client connections", b->p->name,
	    (unsigned long long)b->r.count);
}

static void
client_list_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct batch	*b = arg;
	char		*text, *line, *save = NULL, id[32];
	const char	*argv[4] = { "CLIENT", "KILL", "ID", id };

	if (r == NULL || r->type != REDIS_REPLY_STRING) {
		snprintf(b->err, sizeof(b->err), "CLIENT LIST: %s",
		    r ? (r->type == REDIS_REPLY_ERROR ? r->str : "bad reply") :
		    err);
		batch_release(b);
		return;
	}
	text = xstrndup(r->str, r->len);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		unsigned long long cid;

		if (sscanf(line, "id=%llu", &cid) != 1 || spare(line))
			continue;
		snprintf(id, sizeof(id), "%llu", cid);
		b->pending++;
		rconn_cmd(rc, kill_one_cb, b, 4, argv, NULL);
	}
	free(text);
	batch_release(b);
}

void
act_kill_clients(struct proc *p, op_done_fn *done, void *arg)
{
	struct batch *b = batch_new(p, done, arg, kill_finish);

	/*
	 * Not CLIENT KILL TYPE normal: it spares pubsub clients and kills
	 * MONITOR clients and our own other connections.  One by one, by id.
	 */
	rconn_cmdf(proc_conn(p), client_list_cb, b, "CLIENT LIST");
}

/* ---- FlushInstance ------------------------------------------------------------ */

static void
flush_finish(struct batch *b)
{
	if (b->r.ok) {
		snprintf(b->r.msg, sizeof(b->r.msg), "%s: flushed", b->p->name);
		log_info("instance %s: flushed (FLUSHALL ASYNC)", b->p->name);
	}
}

void
act_flush(struct proc *p, op_done_fn *done, void *arg)
{
	struct batch *b = batch_new(p, done, arg, flush_finish);

	/* ASYNC: the memory is freed in the background, Redis stays up. */
	b->pending++;
	rconn_cmdf(proc_conn(p), expect_ok_cb, b, "FLUSHALL ASYNC");
	batch_release(b);
}

/* ---- PromoteInstance ---------------------------------------------------------- */

static void
promote_finish(struct batch *b)
{
	struct proc	*p = b->p;
	char		*cause = NULL;

	if (!b->r.ok)
		return;
	/* A master from now on, in the desired state too. */
	kv_del(&p->params, "replicaof");
	if (sup_save(p->sup, &cause) == -1) {
		log_errx("instance %s: cannot save the desired state: %s",
		    p->name, cause);
		free(cause);
	}
	snprintf(b->r.msg, sizeof(b->r.msg), "%s: promoted to master", p->name);
	log_notice("instance %s: promoted to master", p->name);
}

static void
promote_info_cb(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	struct batch *b = arg;

	if (r == NULL || r->type != REDIS_REPLY_STRING) {
		snprintf(b->err, sizeof(b->err), "INFO: %s", r ?
		    (r->type == REDIS_REPLY_ERROR ? r->str : "bad reply") : err);
		batch_release(b);
		return;
	}
	b->pending++;
	if (strstr(r->str, "cluster_enabled:1") != NULL)
		rconn_cmdf(rc, expect_ok_cb, b, "CLUSTER FAILOVER");
	else
		rconn_cmdf(rc, expect_ok_cb, b, "REPLICAOF NO ONE");
	batch_release(b);
}

void
act_promote(struct proc *p, op_done_fn *done, void *arg)
{
	struct batch *b = batch_new(p, done, arg, promote_finish);

	rconn_cmdf(proc_conn(p), promote_info_cb, b, "INFO cluster");
}
