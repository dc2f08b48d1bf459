/*
 * rconn.c: see rconn.h.
 *
 * The libevent glue is our own instead of hiredis's adapters/libevent.h
 * for one reason: after each read we must look at the reader's buffer to
 * cap the size of a reply, and the stock adapter gives no hook for that.
 * It is otherwise the same few lines.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/async.h>

#define LOG_COMP "redis"
#include "log.h"
#include "cmdstats.h"
#include "rconn.h"
#include "util.h"

struct rreq {
	struct rconn	*rc;
	struct event	*timer;
	rconn_reply_cb	*fn;
	void		*arg;
	int		 done;		/* fn already ran, or must not run */
	struct rreq	*next, *prev;
};

/*
 * The events of one hiredis context.  A context can outlive its place in
 * the rconn: hiredis defers a free asked for inside its own callback, and
 * by then the rconn may be connecting again.  So each context has its own
 * glue, and the rconn points only at the current context.
 */
struct glue {
	struct rconn		*rc;
	redisAsyncContext	*ac;
	struct event		*rev, *wev;
	struct event		*sev;		/* a write tried from the loop */
	int			 in_soft;	/* inside that try */
};

struct rconn {
	struct event_base	*base;
	redisAsyncContext	*ac;		/* current context, or NULL */
	struct event		*ctimer;	/* connect deadline */
	char			*ip;
	int			 port;
	char			 addr[64];
	struct rconn_opts	 o;
	enum rconn_state	 state;
	rconn_state_cb		*state_cb;
	void			*arg;
	char			*why;		/* reason of our own close */
	struct rreq		*reqs;		/* outstanding */
	int			 busy;		/* our callbacks on the stack */
	int			 free_pending;
};

static void	rconn_drop(struct rconn *, const char *);
static void	rconn_destroy(struct rconn *);

#define RC_ENTER(rc)	((rc)->busy++)
#define RC_LEAVE(rc)	do {						\
	if (--(rc)->busy == 0 && (rc)->free_pending)			\
		rconn_destroy(rc);					\
} while (0)

/* ---- event glue -------------------------------------------------------- */

static void
rconn_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct glue		*g = arg;
	struct rconn		*rc = g->rc;
	redisAsyncContext	*ac = g->ac;
	char			 why[96];

	RC_ENTER(rc);
	redisAsyncHandleRead(ac);
	/* ac (and g) may be gone now; rc->ac == ac only if it is not. */
	if (rc->ac == ac && ac->c.reader != NULL &&
	    ac->c.reader->len > rc->o.max_reply) {
		snprintf(why, sizeof(why), "reply larger than %zu bytes",
		    rc->o.max_reply);
		log_warnx("dropping connection addr=%s reason=\"%s\"",
		    rc->addr, why);
		rconn_drop(rc, why);
	}
	RC_LEAVE(rc);
}

static void
rconn_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct glue	*g = arg;
	struct rconn	*rc = g->rc;

	RC_ENTER(rc);
	redisAsyncHandleWrite(g->ac);
	RC_LEAVE(rc);
}

/*
 * A command to send on a connected socket: try the write from the loop,
 * without waiting for EPOLLOUT.  The socket almost always has room; only
 * if it has not (hiredis asks for a write again from inside this) is the
 * write event registered.  With the persistent read event this saves the
 * four epoll_ctl calls per command that one-shot events cost.
 */
static void
rconn_soft_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct glue		*g = arg;
	struct rconn		*rc = g->rc;
	redisAsyncContext	*ac = g->ac;

	RC_ENTER(rc);
	g->in_soft = 1;
	redisAsyncHandleWrite(ac);
	/* A failed write frees the context, and g with it (ev_cleanup). */
	if (rc->ac == ac)
		g->in_soft = 0;
	RC_LEAVE(rc);
}

static void
ev_add_read(void *p)
{
	struct glue *g = p;

	/* Persistent: added once, then a no-op. */
	if (!event_pending(g->rev, EV_READ, NULL))
		event_add(g->rev, NULL);
}

static void
ev_del_read(void *p)
{
	event_del(((struct glue *)p)->rev);
}

static void
ev_add_write(void *p)
{
	struct glue *g = p;

	if (!(g->ac->c.flags & REDIS_CONNECTED) || g->in_soft)
		event_add(g->wev, NULL);	/* connecting, or no room */
	else
		event_active(g->sev, EV_WRITE, 0);
}

static void
ev_del_write(void *p)
{
	struct glue *g = p;

	if (event_pending(g->wev, EV_WRITE, NULL))
		event_del(g->wev);
}

/* hiredis is done with the context: it is freed right after this. */
static void
ev_cleanup(void *p)
{
	struct glue *g = p;

	event_free(g->rev);
	event_free(g->wev);
	event_free(g->sev);
	if (g->rc->ac == g->ac)
		g->rc->ac = NULL;
	free(g);
}

/* ---- state ------------------------------------------------------------- */

static void
set_state(struct rconn *rc, enum rconn_state st, const char *err)
{
	if (rc->state == st)
		return;
	rc->state = st;
	if (rc->state_cb != NULL)
		rc->state_cb(rc, st, err, rc->arg);
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct rconn	*rc = ac->data;
	char		 why[160];

	if (rc == NULL)
		return;		/* dropped already */
	evtimer_del(rc->ctimer);
	if (status != REDIS_OK) {
		/* hiredis frees the context after this returns. */
		snprintf(why, sizeof(why), "%s",
		    ac->errstr ? ac->errstr : "connect failed");
		free(rc->why);
		rc->why = xstrdup(why);
		rc->ac = NULL;
		set_state(rc, RC_DOWN, why);
	}
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rconn	*rc = ac->data;
	char		 why[160];

	if (rc == NULL)
		return;		/* dropped by us and reported then */
	if (rc->why != NULL)
		snprintf(why, sizeof(why), "%s", rc->why);
	else if (status != REDIS_OK && ac->errstr != NULL && ac->err != 0)
		snprintf(why, sizeof(why), "%s", ac->errstr);
	else
		snprintf(why, sizeof(why), "connection closed by server");
	rc->ac = NULL;
	set_state(rc, RC_DOWN, why);
}

static void
req_unlink(struct rreq *q)
{
	struct rconn *rc = q->rc;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		rc->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->next = q->prev = NULL;
}

/* hiredis answers a command (reply NULL when the link is gone). */
static void
on_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct rreq	*q = priv;
	struct rconn	*rc = q->rc;
	const char	*err = NULL;

	if (q->timer != NULL)
		event_free(q->timer);
	req_unlink(q);
	if (!q->done) {
		if (r == NULL)
			err = rc->why ? rc->why :
			    (ac->err && ac->errstr ? ac->errstr :
			    "connection lost");
		RC_ENTER(rc);
		q->fn(rc, r, err, q->arg);
		RC_LEAVE(rc);
	}
	free(q);
}

static void
req_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct rreq	*q = arg;
	struct rconn	*rc = q->rc;
	char		 why[96];

	/*
	 * Replies come in order, so after a timeout nothing on this
	 * connection can be trusted: answer this request, then drop the
	 * connection, which answers the rest.
	 */
	RC_ENTER(rc);
	snprintf(why, sizeof(why), "timeout: no reply within %u ms",
	    rc->o.timeout_ms);
	q->done = 1;
	q->fn(rc, NULL, why, q->arg);
	rconn_drop(rc, why);
	RC_LEAVE(rc);
}

static void
connect_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct rconn	*rc = arg;
	char		 why[96];

	RC_ENTER(rc);
	snprintf(why, sizeof(why), "timeout: not connected within %u ms",
	    rc->o.connect_timeout_ms);
	rconn_drop(rc, why);
	RC_LEAVE(rc);
}

/*
 * Drops the link: the context is detached at once (so the rconn may
 * connect again), every pending callback runs with why, and the state
 * goes down.
 */
static void
rconn_drop(struct rconn *rc, const char *why)
{
	redisAsyncContext *ac = rc->ac;

	if (ac == NULL)
		return;
	free(rc->why);
	rc->why = xstrdup(why);
	evtimer_del(rc->ctimer);
	rc->ac = NULL;
	ac->data = NULL;
	RC_ENTER(rc);
	redisAsyncFree(ac);	/* deferred when inside a hiredis callback */
	set_state(rc, RC_DOWN, why);
	RC_LEAVE(rc);
}

static void
handshake_reply(struct rconn *rc, redisReply *r, const char *err, void *arg)
{
	const char	*what = arg;
	char		 why[256];

	if (r == NULL)
		return;		/* the drop is reported already */
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "%s", r->str);
		if (strcmp(what, "setname") == 0 &&
		    strncmp(r->str, "NOAUTH", 6) != 0 &&
		    strncmp(r->str, "NOPERM", 6) != 0) {
			/* Old server or renamed command: go on unnamed. */
			log_debug("CLIENT SETNAME refused addr=%s reason=\"%s\"",
			    rc->addr, r->str);
		} else {
			rconn_drop(rc, why);
			return;
		}
	}
	if (strcmp(what, "setname") == 0 || rc->o.client_name == NULL)
		set_state(rc, RC_UP, NULL);
}

struct rconn *
rconn_new(struct event_base *base, const char *ip, int port,
    const struct rconn_opts *o, rconn_state_cb *cb, void *arg)
{
	struct rconn *rc = xcalloc(1, sizeof(*rc));

	rc->base = base;
	rc->ip = xstrdup(ip);
	rc->port = port;
	if (strchr(ip, ':') != NULL)
		snprintf(rc->addr, sizeof(rc->addr), "[%s]:%d", ip, port);
	else
		snprintf(rc->addr, sizeof(rc->addr), "%s:%d", ip, port);
	rc->o = *o;
	rc->o.client_name = o->client_name ? xstrdup(o->client_name) : NULL;
	rc->o.user = o->user ? xstrdup(o->user) : NULL;
	rc->o.password_file = o->password_file ? xstrdup(o->password_file) : NULL;
	rc->o.password = o->password ? xstrdup(o->password) : NULL;
	if (rc->o.max_reply == 0)
		rc->o.max_reply = 16 * 1024 * 1024;
	rc->state_cb = cb;
	rc->arg = arg;
	rc->ctimer = evtimer_new(base, connect_timeout_cb, rc);
	return rc;
}

int
rconn_connect(struct rconn *rc)
{
	redisAsyncContext	*ac;
	struct glue		*g;
	char			*pass = NULL, *cause = NULL, why[256];
	struct timeval		 tv;
	int			 auth;

	if (rc->state != RC_DOWN)
		return 0;
	free(rc->why);
	rc->why = NULL;
	if (rc->o.password_file != NULL &&
	    (pass = read_small_file(rc->o.password_file, 4096, 1, NULL,
	    &cause)) == NULL) {
		snprintf(why, sizeof(why), "password file: %s", cause);
		free(cause);
		rc->state = RC_CONNECTING;
		set_state(rc, RC_DOWN, why);
		return -1;
	}
	if (pass == NULL && rc->o.password != NULL)
		pass = xstrdup(rc->o.password);
	ac = redisAsyncConnect(rc->ip, rc->port);
	if (ac == NULL || ac->err) {
		snprintf(why, sizeof(why), "%s",
		    ac ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		free(pass);
		rc->state = RC_CONNECTING;
		set_state(rc, RC_DOWN, why);
		return -1;
	}
	set_cloexec(ac->c.fd);
	ac->data = rc;
	rc->ac = ac;
	g = xcalloc(1, sizeof(*g));
	g->rc = rc;
	g->ac = ac;
	g->rev = event_new(rc->base, ac->c.fd, EV_READ | EV_PERSIST,
	    rconn_read_cb, g);
	g->wev = event_new(rc->base, ac->c.fd, EV_WRITE, rconn_write_cb, g);
	g->sev = event_new(rc->base, -1, 0, rconn_soft_write_cb, g);
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	ac->ev.data = g;
	event_add(g->rev, NULL);
	event_add(g->wev, NULL);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	rc->state = RC_CONNECTING;
	tv.tv_sec = rc->o.connect_timeout_ms / 1000;
	tv.tv_usec = (rc->o.connect_timeout_ms % 1000) * 1000;
	evtimer_add(rc->ctimer, &tv);

	auth = pass != NULL;
	if (auth) {
		if (rc->o.user != NULL)
			rconn_cmdf(rc, handshake_reply, "auth", "AUTH %s %s",
			    rc->o.user, pass);
		else
			rconn_cmdf(rc, handshake_reply, "auth", "AUTH %s", pass);
		owncalls_add(rc->o.own, "auth", 1);
		memset(pass, 0, strlen(pass));
		free(pass);
	}
	if (rc->o.client_name != NULL) {
		rconn_cmdf(rc, handshake_reply, "setname", "CLIENT SETNAME %s",
		    rc->o.client_name);
		owncalls_add(rc->o.own, "client|setname", 1);
	} else if (!auth)
		set_state(rc, RC_UP, NULL);
	return rc->state == RC_DOWN ? -1 : 0;
}

static struct rreq *
req_new(struct rconn *rc, rconn_reply_cb *fn, void *arg)
{
	struct rreq	*q = xcalloc(1, sizeof(*q));
	struct timeval	 tv;

	q->rc = rc;
	q->fn = fn;
	q->arg = arg;
	if (rc->o.timeout_ms > 0) {
		q->timer = evtimer_new(rc->base, req_timeout_cb, q);
		tv.tv_sec = rc->o.timeout_ms / 1000;
		tv.tv_usec = (rc->o.timeout_ms % 1000) * 1000;
		evtimer_add(q->timer, &tv);
	}
	q->next = rc->reqs;
	if (rc->reqs != NULL)
		rc->reqs->prev = q;
	rc->reqs = q;
	return q;
}

static void
req_fail_now(struct rreq *q, const char *why)
{
	if (q->timer != NULL)
		event_free(q->timer);
	req_unlink(q);
	q->fn(q->rc, NULL, why, q->arg);
	free(q);
}

/*
 * The start of every command: a connection (made if needed) and a request
 * with its timer.  NULL: the callback has run with why.
 */
static struct rreq *
cmd_begin(struct rconn *rc, rconn_reply_cb *fn, void *arg)
{
	if (rc->ac == NULL && rconn_connect(rc) == -1) {
		fn(rc, NULL, rc->why ? rc->why : "not connected", arg);
		return NULL;
	}
	if (rc->ac == NULL) {
		/* Called back from a drop still under way. */
		fn(rc, NULL, "not connected", arg);
		return NULL;
	}
	return req_new(rc, fn, arg);
}

/* The end: hiredis took the command (rv), or the request fails now. */
static int
cmd_end(struct rreq *q, int rv)
{
	if (rv != REDIS_OK) {
		req_fail_now(q, "cannot queue the command");
		return -1;
	}
	return 0;
}

int
rconn_cmd(struct rconn *rc, rconn_reply_cb *fn, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	struct rreq *q;

	if ((q = cmd_begin(rc, fn, arg)) == NULL)
		return -1;
	return cmd_end(q, redisAsyncCommandArgv(rc->ac, on_reply, q, argc,
	    argv, argvlen));
}

int
rconn_cmdf(struct rconn *rc, rconn_reply_cb *fn, void *arg, const char *fmt,
    ...)
{
	struct rreq	*q;
	va_list		 ap;
	int		 rv;

	if ((q = cmd_begin(rc, fn, arg)) == NULL)
		return -1;
	va_start(ap, fmt);
	rv = redisvAsyncCommand(rc->ac, on_reply, q, fmt, ap);
	va_end(ap);
	return cmd_end(q, rv);
}

int
rconn_cmd_raw(struct rconn *rc, rconn_reply_cb *fn, void *arg,
    const char *cmd, size_t len)
{
	struct rreq *q;

	if ((q = cmd_begin(rc, fn, arg)) == NULL)
		return -1;
	return cmd_end(q, redisAsyncFormattedCommand(rc->ac, on_reply, q, cmd,
	    len));
}

int
rconn_connected(const struct rconn *rc)
{
	return rc->ac != NULL && (rc->ac->c.flags & REDIS_CONNECTED) != 0;
}

void
rconn_close(struct rconn *rc, const char *why)
{
	RC_ENTER(rc);
	rconn_drop(rc, why);
	RC_LEAVE(rc);
}

static void
rconn_destroy(struct rconn *rc)
{
	event_free(rc->ctimer);
	free(rc->ip);
	free((char *)rc->o.client_name);
	free((char *)rc->o.user);
	free((char *)rc->o.password_file);
	if (rc->o.password != NULL) {
		explicit_bzero((char *)rc->o.password, strlen(rc->o.password));
		free((char *)rc->o.password);
	}
	free(rc->why);
	free(rc);
}

/*
 * Frees the connection.  No callback of the owner runs after this, not
 * even for the commands still outstanding.
 */
void
rconn_free(struct rconn *rc)
{
	struct rreq *q;

	if (rc == NULL)
		return;
	rc->state_cb = NULL;
	for (q = rc->reqs; q != NULL; q = q->next)
		q->done = 1;
	RC_ENTER(rc);
	rconn_drop(rc, "closing");
	rc->free_pending = 1;
	RC_LEAVE(rc);
}

enum rconn_state
rconn_state(const struct rconn *rc)
{
	return rc->state;
}

const char *
rconn_addr(const struct rconn *rc)
{
	return rc->addr;
}

void
rconn_set_timeout(struct rconn *rc, uint32_t ms)
{
	rc->o.timeout_ms = ms;
}
