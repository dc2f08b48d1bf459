/*
 * wire.c: see wire.h.
 *
 * Connection states:
 *
 *	W_CONNECTING	client: TCP connect in progress (an EV_WRITE event)
 *	W_HELLO_WAIT	server: Challenge sent, waiting for Hello
 *	W_CHALLENGE_WAIT client: waiting for the server's Challenge
 *	W_WELCOME_WAIT	client: Hello sent, waiting for Welcome
 *	W_UP		authenticated; messages go to the owner
 *	W_FLUSHING	closing once the output is written
 *	W_DEAD		closed; freed when no callback is running
 *
 * Every failure goes through wconn_teardown().
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>

#define LOG_COMP "wire"
#include "log.h"
#include "arena.h"
#include "frame.h"
#include "tls.h"
#include "util.h"
#include "wire.h"

enum wstate {
	W_CONNECTING,
	W_HELLO_WAIT,
	W_CHALLENGE_WAIT,
	W_WELCOME_WAIT,
	W_UP,
	W_FLUSHING,
	W_DEAD,
};

struct wconn {
	struct event_base	*base;
	struct wire_conf	*wc;
	struct bufferevent	*bev;
	struct event		*connev;	/* W_CONNECTING */
	struct event		*timer;		/* handshake, frame or flush deadline */
	int			 fd;
	int			 server;
	int			 preauth;	/* counted in wc->preauth_count */
	enum wstate		 state;
	int			 busy;		/* callbacks on the stack */
	int			 free_pending;
	int			 frame_timer;	/* timer armed for a partial frame */
	int			 conn_err;	/* client: connect() failed at once */
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	char			 peer[64];
	char			*peer_name;
	char			*flush_why;
	uint8_t			 snonce[AUTH_NONCE_LEN];
	uint8_t			 cnonce[AUTH_NONCE_LEN];
	struct arena		*arena;
	const struct wconn_cbs	*cb;
	void			*arg;
	struct wlistener	*listener;	/* server: for the accept hand-off */
	struct wconn		*lnext, *lprev;	/* listener's unauthenticated */
	int			 listed;
};

struct wlistener {
	struct evconnlistener	*lev;
	struct event		*resume;
	struct wire_conf	*wc;
	void			(*accept)(struct wconn *, const Ccnode__Hello *,
				    Ccnode__Welcome *, void *);
	void			*arg;
	struct wconn		*pending;	/* not yet authenticated */
};

static struct ratelimit	refuse_rl = RATELIMIT_INIT(10000, 20);

static void	wconn_read_cb(struct bufferevent *, void *);
static void	wconn_write_cb(struct bufferevent *, void *);
static void	wconn_event_cb(struct bufferevent *, short, void *);
static void	wconn_timer_cb(evutil_socket_t, short, void *);
static void	wconn_connect_cb(evutil_socket_t, short, void *);
static void	wconn_teardown(struct wconn *, const char *);

void
wire_conf_init(struct wire_conf *wc, const char *name)
{
	memset(wc, 0, sizeof(*wc));
	wc->max_frame = FRAME_MAX_DEFAULT;
	wc->frame_timeout_ms = 30000;
	wc->handshake_timeout_ms = 10000;
	wc->max_output = 64u * 1024 * 1024;
	wc->name = name;
	wc->role = "agent";
	wc->preauth_max = 64;
}

void
wire_conf_clear(struct wire_conf *wc)
{
	auth_clear_secret(&wc->secret);
	if (wc->ssl != NULL)
		SSL_CTX_free(wc->ssl);
	wc->ssl = NULL;
}

uint8_t *
wire_pack(Ccnode__Envelope *env, size_t *len)
{
	uint8_t	*buf;

	env->major = WIRE_MAJOR;
	env->minor = WIRE_MINOR;
	*len = ccnode__envelope__get_packed_size(env);
	buf = xmalloc(*len);
	ccnode__envelope__pack(env, buf);
	return buf;
}

/* Takes c off its listener's list of unauthenticated connections. */
static void
unlist(struct wconn *c)
{
	if (!c->listed)
		return;
	if (c->lprev != NULL)
		c->lprev->lnext = c->lnext;
	else
		c->listener->pending = c->lnext;
	if (c->lnext != NULL)
		c->lnext->lprev = c->lprev;
	c->lnext = c->lprev = NULL;
	c->listed = 0;
}

static void
wconn_destroy(struct wconn *c)
{
	unlist(c);
	if (c->preauth) {
		c->wc->preauth_count--;
		c->preauth = 0;
	}
	if (c->bev != NULL)
		bufferevent_free(c->bev);	/* closes fd (and the SSL) */
	else if (c->fd != -1)
		close(c->fd);
	if (c->connev != NULL)
		event_free(c->connev);
	if (c->timer != NULL)
		event_free(c->timer);
	arena_free(c->arena);
	free(c->peer_name);
	free(c->flush_why);
	free(c);
}

/* Drops the connection; closed() runs unless the owner freed it. */
static void
wconn_teardown(struct wconn *c, const char *why)
{
	if (c->state == W_DEAD)
		return;
	c->state = W_DEAD;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->connev != NULL)
		event_del(c->connev);
	event_del(c->timer);
	if (c->cb != NULL && c->cb->closed != NULL) {
		c->busy++;
		c->cb->closed(c, why, c->arg);
		c->busy--;
	}
	if (c->busy > 0)
		c->free_pending = 1;
	else
		wconn_destroy(c);
}

/* Called on the way out of every libevent callback. */
static void
wconn_unbusy(struct wconn *c)
{
	if (--c->busy == 0 && c->free_pending)
		wconn_destroy(c);
}

/* A handshake failure: logged here, rate limited, with the peer address. */
static void wconn_refuse(struct wconn *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
wconn_refuse(struct wconn *c, const char *fmt, ...)
{
	char	why[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->server) {
		c->wc->refused++;
		log_limited(&refuse_rl, LL_WARN, "refused peer=%s reason=\"%s\"",
		    c->peer, why);
	}
	wconn_teardown(c, why);
}

/*
 * A bad frame or a timeout: before authentication it is a refusal (rate
 * limited); after, the owner's peer misbehaved, which is logged as such.
 */
static void
wconn_fail(struct wconn *c, const char *why)
{
	if (c->state != W_UP) {
		wconn_refuse(c, "%s", why);
		return;
	}
	log_warnx("closing peer=%s name=%s reason=\"%s\"", c->peer,
	    wconn_peer_name(c), why);
	wconn_teardown(c, why);
}

/*
 * A handshake failure the peer should hear about: logged like
 * wconn_refuse, then an ErrorReply, then the close once it is written.
 */
static void
wconn_refuse_reply(struct wconn *c, uint64_t id, Ccnode__ErrorReply__Code code,
    const char *reply, const char *why)
{
	if (c->server) {
		c->wc->refused++;
		log_limited(&refuse_rl, LL_WARN, "refused peer=%s reason=\"%s\"",
		    c->peer, why);
	}
	wconn_send_error(c, id, code, reply);
}

void
wconn_free(struct wconn *c)
{
	if (c == NULL)
		return;
	c->cb = NULL;
	if (c->state == W_DEAD) {
		/* Already torn down; the free is pending. */
		return;
	}
	c->state = W_DEAD;
	if (c->busy > 0) {
		if (c->bev != NULL)
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		event_del(c->timer);
		c->free_pending = 1;
		return;
	}
	wconn_destroy(c);
}

void
wconn_close(struct wconn *c, const char *why)
{
	wconn_teardown(c, why);
}

static void
arm_timer(struct wconn *c, uint32_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

void
wconn_close_flush(struct wconn *c, const char *why)
{
	if (c->state == W_DEAD || c->state == W_FLUSHING)
		return;
	if (c->bev == NULL || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		wconn_teardown(c, why);
		return;
	}
	c->state = W_FLUSHING;
	c->flush_why = xstrdup(why);
	bufferevent_disable(c->bev, EV_READ);
	arm_timer(c, 5000);
}

size_t
wconn_output_len(const struct wconn *c)
{
	return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

const char *
wconn_peer(const struct wconn *c)
{
	return c->peer;
}

const char *
wconn_peer_name(const struct wconn *c)
{
	return c->peer_name ? c->peer_name : "";
}

int
wconn_is_up(const struct wconn *c)
{
	return c->state == W_UP;
}

void
wconn_set_cbs(struct wconn *c, const struct wconn_cbs *cb, void *arg)
{
	c->cb = cb;
	c->arg = arg;
}

/*
 * Closes from the loop, not from here: a send fails inside the caller's
 * own loops (acks to every agent, say), which must not see the connection
 * and its owner's session freed under them.
 */
static void
wconn_close_later(struct wconn *c, const char *why)
{
	if (c->state == W_DEAD || c->state == W_FLUSHING)
		return;
	c->state = W_FLUSHING;
	free(c->flush_why);
	c->flush_why = xstrdup(why);
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	arm_timer(c, 0);
}

static int
output_room(struct wconn *c, size_t len)
{
	size_t queued = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (queued + len > c->wc->max_output) {
		log_warnx("peer=%s is not reading; %zu bytes queued, dropping it",
		    c->peer, queued);
		wconn_close_later(c, "peer is not reading its input");
		return 0;
	}
	return 1;
}

int
wconn_send_packed(struct wconn *c, const uint8_t *data, size_t len)
{
	if (c->state == W_DEAD || c->state == W_FLUSHING || c->bev == NULL)
		return -1;
	if (!output_room(c, len + FRAME_HDR))
		return -1;
	if (frame_add(bufferevent_get_output(c->bev), data, len) == -1) {
		wconn_close_later(c, "out of memory queueing a frame");
		return -1;
	}
	return 0;
}

int
wconn_send(struct wconn *c, Ccnode__Envelope *env)
{
	struct evbuffer		*out;
	struct evbuffer_iovec	 v;
	size_t			 len;
	uint8_t			 hdr[FRAME_HDR];

	if (c->state == W_DEAD || c->state == W_FLUSHING || c->bev == NULL)
		return -1;
	env->major = WIRE_MAJOR;
	env->minor = WIRE_MINOR;
	len = ccnode__envelope__get_packed_size(env);
	if (len > UINT32_MAX || !output_room(c, len + FRAME_HDR))
		return -1;
	out = bufferevent_get_output(c->bev);
	frame_put_hdr(hdr, (uint32_t)len);
	/* Pack straight into the output buffer: no intermediate copy. */
	if (evbuffer_add(out, hdr, FRAME_HDR) == -1 ||
	    evbuffer_reserve_space(out, (ev_ssize_t)(len ? len : 1), &v, 1) != 1) {
		wconn_close_later(c, "out of memory queueing a frame");
		return -1;
	}
	ccnode__envelope__pack(env, v.iov_base);
	v.iov_len = len;
	evbuffer_commit_space(out, &v, 1);
	return 0;
}

void
wconn_send_error(struct wconn *c, uint64_t id, Ccnode__ErrorReply__Code code,
    const char *msg)
{
	Ccnode__Envelope	env = CCNODE__ENVELOPE__INIT;
	Ccnode__ErrorReply	err = CCNODE__ERROR_REPLY__INIT;

	err.code = code;
	err.message = (char *)msg;
	env.id = id;
	env.body_case = CCNODE__ENVELOPE__BODY_ERROR;
	env.error = &err;
	wconn_send(c, &env);
	wconn_close_flush(c, msg);
}

static void
send_challenge(struct wconn *c)
{
	Ccnode__Envelope	env = CCNODE__ENVELOPE__INIT;
	Ccnode__Challenge	ch = CCNODE__CHALLENGE__INIT;

	random_bytes(c->snonce, sizeof(c->snonce));
	ch.nonce.data = c->snonce;
	ch.nonce.len = sizeof(c->snonce);
	ch.secret_required = c->wc->secret.key != NULL;
	ch.server = (char *)c->wc->name;
	env.body_case = CCNODE__ENVELOPE__BODY_CHALLENGE;
	env.challenge = &ch;
	wconn_send(c, &env);
}

/* Server: checks a Hello and answers with a Welcome. */
static void
on_hello(struct wconn *c, const Ccnode__Envelope *env)
{
	Ccnode__Envelope	 out = CCNODE__ENVELOPE__INIT;
	Ccnode__Welcome		 w = CCNODE__WELCOME__INIT;
	const Ccnode__Hello	*h = env->hello;
	uint8_t			 proof[AUTH_PROOF_LEN];
	struct wlistener	*l = c->listener;

	if (env->body_case != CCNODE__ENVELOPE__BODY_HELLO) {
		wconn_refuse_reply(c, env->id,
		    CCNODE__ERROR_REPLY__CODE__PROTOCOL, "authenticate first",
		    "sent a message before authenticating");
		return;
	}
	if (h->nonce.len != AUTH_NONCE_LEN) {
		wconn_refuse(c, "%s", "hello without a proper nonce");
		return;
	}
	memcpy(c->cnonce, h->nonce.data, AUTH_NONCE_LEN);
	c->peer_name = xstrndup(h->name, 64);
	if (c->wc->secret.key != NULL &&
	    !auth_verify(&c->wc->secret, 0, c->snonce, c->cnonce, h->name,
	    h->proof.data, h->proof.len)) {
		char why[128];

		snprintf(why, sizeof(why), "wrong secret from name=%s",
		    c->peer_name);
		wconn_refuse_reply(c, env->id, CCNODE__ERROR_REPLY__CODE__AUTH,
		    "authentication failed", why);
		return;
	}
	if (c->wc->secret.key != NULL) {
		auth_proof(&c->wc->secret, 1, c->snonce, c->cnonce, h->name,
		    proof);
		w.proof.data = proof;
		w.proof.len = sizeof(proof);
	}
	c->state = W_UP;
	c->preauth = 0;
	c->wc->preauth_count--;
	unlist(c);
	event_del(c->timer);
	bufferevent_set_max_single_read(c->bev, 65536);
	/* The owner takes the connection and may fill in the Welcome. */
	l->accept(c, h, &w, l->arg);
	if (c->state != W_UP)
		return;
	out.body_case = CCNODE__ENVELOPE__BODY_WELCOME;
	out.welcome = &w;
	wconn_send(c, &out);
}

/* Client: answers the Challenge with a Hello. */
static void
on_challenge(struct wconn *c, const Ccnode__Envelope *env)
{
	Ccnode__Envelope	 out = CCNODE__ENVELOPE__INIT;
	Ccnode__Hello		 h = CCNODE__HELLO__INIT;
	const Ccnode__Challenge	*ch = env->challenge;
	uint8_t			 proof[AUTH_PROOF_LEN];

	if (env->body_case != CCNODE__ENVELOPE__BODY_CHALLENGE ||
	    ch->nonce.len != AUTH_NONCE_LEN) {
		wconn_teardown(c, "server did not send a challenge");
		return;
	}
	if (ch->secret_required && c->wc->secret.key == NULL) {
		wconn_teardown(c, "server requires a shared secret; "
		    "set auth-secret-file");
		return;
	}
	free(c->peer_name);
	c->peer_name = xstrndup(ch->server, 64);
	memcpy(c->snonce, ch->nonce.data, AUTH_NONCE_LEN);
	random_bytes(c->cnonce, sizeof(c->cnonce));
	h.name = (char *)c->wc->name;
	h.role = (char *)c->wc->role;
	h.version = PACKAGE_VERSION;
	h.nonce.data = c->cnonce;
	h.nonce.len = sizeof(c->cnonce);
	if (c->wc->secret.key != NULL) {
		auth_proof(&c->wc->secret, 0, c->snonce, c->cnonce, c->wc->name,
		    proof);
		h.proof.data = proof;
		h.proof.len = sizeof(proof);
	}
	out.body_case = CCNODE__ENVELOPE__BODY_HELLO;
	out.hello = &h;
	c->state = W_WELCOME_WAIT;
	wconn_send(c, &out);
}

/* Client: checks the server's proof. */
static void
on_welcome(struct wconn *c, const Ccnode__Envelope *env)
{
	char why[512];

	if (env->body_case == CCNODE__ENVELOPE__BODY_ERROR) {
		snprintf(why, sizeof(why), "server refused: %s",
		    env->error->message);
		wconn_teardown(c, why);
		return;
	}
	if (env->body_case != CCNODE__ENVELOPE__BODY_WELCOME) {
		wconn_teardown(c, "server did not answer the hello");
		return;
	}
	if (c->wc->secret.key != NULL &&
	    !auth_verify(&c->wc->secret, 1, c->snonce, c->cnonce, c->wc->name,
	    env->welcome->proof.data, env->welcome->proof.len)) {
		wconn_teardown(c, "server failed to prove the shared secret");
		return;
	}
	c->state = W_UP;
	event_del(c->timer);
	bufferevent_set_max_single_read(c->bev, 65536);
	if (c->cb != NULL && c->cb->up != NULL)
		c->cb->up(c, env, c->arg);
}

/* One complete frame.  Every path that ends the connection tears it down. */
static void
handle_frame(struct wconn *c, const uint8_t *data, size_t len)
{
	Ccnode__Envelope	*env;
	char			 why[160];

	arena_reset(c->arena, ARENA_BUDGET(len));
	env = ccnode__envelope__unpack(arena_allocator(c->arena), len, data);
	if (env == NULL) {
		if (arena_exhausted(c->arena))
			snprintf(why, sizeof(why), "a %zu-byte frame needs more "
			    "than %zu bytes to decode", len, ARENA_BUDGET(len));
		else
			snprintf(why, sizeof(why), "malformed %zu-byte frame",
			    len);
		wconn_fail(c, why);
		return;
	}
	if (env->major != WIRE_MAJOR) {
		snprintf(why, sizeof(why), "unsupported protocol version %u "
		    "(this peer speaks %u)", env->major, WIRE_MAJOR);
		if (c->server && c->state != W_UP)
			wconn_refuse_reply(c, env->id,
			    CCNODE__ERROR_REPLY__CODE__VERSION, why, why);
		else {
			log_warnx("closing peer=%s reason=\"%s\"", c->peer, why);
			wconn_send_error(c, env->id,
			    CCNODE__ERROR_REPLY__CODE__VERSION, why);
		}
		return;
	}
	switch (c->state) {
	case W_HELLO_WAIT:
		on_hello(c, env);
		break;
	case W_CHALLENGE_WAIT:
		on_challenge(c, env);
		break;
	case W_WELCOME_WAIT:
		on_welcome(c, env);
		break;
	case W_UP:
		if (env->body_case == CCNODE__ENVELOPE__BODY_KEEPALIVE)
			break;
		if (c->cb != NULL && c->cb->msg != NULL)
			c->cb->msg(c, env, c->arg);
		break;
	default:
		break;
	}
}

static void
wconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct wconn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 len, max;
	int		 progress = 0;
	uint8_t		*data;
	char		 why[128];

	c->busy++;
	while (c->state != W_DEAD && c->state != W_FLUSHING) {
		max = c->state == W_UP ? c->wc->max_frame : WIRE_PREAUTH_FRAME;
		enum frame_status st = frame_peek(in, max, &len);

		if (st == FRAME_TOO_BIG) {
			snprintf(why, sizeof(why), "frame of %zu bytes is over "
			    "the %zu-byte limit", len, max);
			wconn_fail(c, why);
			break;
		}
		if (st == FRAME_NEED_MORE)
			break;
		evbuffer_drain(in, FRAME_HDR);
		data = evbuffer_pullup(in, (ev_ssize_t)len);
		if (data == NULL && len > 0) {
			wconn_teardown(c, "out of memory reading a frame");
			break;
		}
		handle_frame(c, data, len);
		if (c->state == W_DEAD)
			break;
		evbuffer_drain(in, len);
		progress = 1;
	}
	/*
	 * The frame deadline runs from the first byte of a frame, and is
	 * re-armed only when a frame completes.
	 */
	if (c->state == W_UP) {
		if (evbuffer_get_length(in) == 0) {
			if (c->frame_timer)
				event_del(c->timer);
			c->frame_timer = 0;
		} else if (progress || !c->frame_timer) {
			arm_timer(c, c->wc->frame_timeout_ms);
			c->frame_timer = 1;
		}
	}
	wconn_unbusy(c);
}

static void
wconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct wconn *c = arg;

	c->busy++;
	if (c->state == W_FLUSHING)
		wconn_teardown(c, c->flush_why);
	else if (c->state == W_UP && c->cb != NULL && c->cb->drained != NULL)
		c->cb->drained(c, c->arg);
	wconn_unbusy(c);
}

static void
wconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct wconn	*c = arg;
	char		 why[300], err[256];
	unsigned long	 e;

	if (what & BEV_EVENT_CONNECTED)
		return;
	c->busy++;
	if (what & BEV_EVENT_TIMEOUT) {
		snprintf(why, sizeof(why), "idle for %u ms",
		    c->wc->idle_timeout_ms);
		if (c->state == W_UP)
			wconn_fail(c, why);
		else
			wconn_teardown(c, why);
	} else if (what & BEV_EVENT_EOF) {
		if (c->state == W_UP || c->state == W_FLUSHING)
			wconn_teardown(c, "closed by peer");
		else
			wconn_refuse(c, "%s", "closed during the handshake");
	} else if (what & BEV_EVENT_ERROR) {
		if ((e = bufferevent_get_openssl_error(bev)) != 0) {
			snprintf(why, sizeof(why), "TLS: %s",
			    tls_error(e, err, sizeof(err)));
			while (bufferevent_get_openssl_error(bev) != 0)
				;
		} else
			snprintf(why, sizeof(why), "%s",
			    errno ? strerror(errno) : "connection error");
		if (c->state == W_UP || c->state == W_FLUSHING || !c->server)
			wconn_teardown(c, why);
		else
			wconn_refuse(c, "%s", why);
	}
	wconn_unbusy(c);
}

static void
wconn_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct wconn	*c = arg;
	char		 why[128];

	c->busy++;
	switch (c->state) {
	case W_UP:
		snprintf(why, sizeof(why), "a frame took longer than %u ms "
		    "to arrive (slow sender)", c->wc->frame_timeout_ms);
		wconn_fail(c, why);
		break;
	case W_FLUSHING:
		wconn_teardown(c, c->flush_why);
		break;
	case W_CONNECTING:
		wconn_teardown(c, "connect timed out");
		break;
	default:
		snprintf(why, sizeof(why), "no authentication within %u ms",
		    c->wc->handshake_timeout_ms);
		if (c->server)
			wconn_refuse(c, "%s", why);
		else
			wconn_teardown(c, why);
		break;
	}
	wconn_unbusy(c);
}

static struct wconn *
wconn_new(struct event_base *base, struct wire_conf *wc, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct wconn *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->wc = wc;
	c->fd = fd;
	memcpy(&c->sa, sa, salen);
	c->salen = salen;
	fmt_addr(sa, c->peer, sizeof(c->peer));
	c->timer = evtimer_new(base, wconn_timer_cb, c);
	c->arena = arena_new(64 * 1024);
	return c;
}

/* Wraps the connected fd in a (TLS) bufferevent and starts reading. */
static int
wconn_start(struct wconn *c)
{
	int	one = 1;
	SSL	*ssl;

	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (c->wc->ssl != NULL) {
		if ((ssl = tls_new(c->wc->ssl, c->server,
		    (struct sockaddr *)&c->sa)) == NULL)
			return -1;
		c->bev = bufferevent_openssl_socket_new(c->base, c->fd, ssl,
		    c->server ? BUFFEREVENT_SSL_ACCEPTING :
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		else
			SSL_free(ssl);
	} else
		c->bev = bufferevent_socket_new(c->base, c->fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		return -1;
	c->fd = -1;	/* owned by the bufferevent now */
	bufferevent_setcb(c->bev, wconn_read_cb, wconn_write_cb, wconn_event_cb, c);
	/* Small reads until authenticated: a stranger gets little of us. */
	bufferevent_set_max_single_read(c->bev, WIRE_PREAUTH_FRAME);
	if (c->wc->idle_timeout_ms > 0) {
		struct timeval tv = { c->wc->idle_timeout_ms / 1000,
		    (c->wc->idle_timeout_ms % 1000) * 1000 };
		bufferevent_set_timeouts(c->bev, &tv, NULL);
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
}

/* ---- server side --------------------------------------------------------- */

static void
listener_resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct wlistener *l = arg;

	evconnlistener_enable(l->lev);
}

static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct wlistener	*l = arg;
	struct timeval		 tv = { 1, 0 };
	static struct ratelimit	 rl = RATELIMIT_INIT(10000, 5);

	/* EMFILE and friends: back off a second instead of spinning. */
	log_limited(&rl, LL_WARN, "accept failed: %s; pausing 1s",
	    strerror(errno));
	evconnlistener_disable(lev);
	evtimer_add(l->resume, &tv);
}

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct wlistener	*l = arg;
	struct wire_conf	*wc = l->wc;
	struct wconn		*c;
	char			 peer[64];

	if (wc->preauth_count >= wc->preauth_max) {
		wc->refused++;
		log_limited(&refuse_rl, LL_WARN, "refused peer=%s reason=\"%u "
		    "connections already authenticating\"",
		    fmt_addr(sa, peer, sizeof(peer)), wc->preauth_count);
		close(fd);
		return;
	}
	c = wconn_new(evconnlistener_get_base(lev), wc, fd, sa,
	    (socklen_t)salen);
	c->server = 1;
	c->listener = l;
	c->state = W_HELLO_WAIT;
	c->preauth = 1;
	wc->preauth_count++;
	c->lnext = l->pending;
	if (l->pending != NULL)
		l->pending->lprev = c;
	l->pending = c;
	c->listed = 1;
	if (wconn_start(c) == -1) {
		log_warnx("cannot set up a connection from %s", c->peer);
		wconn_destroy(c);
		return;
	}
	arm_timer(c, wc->handshake_timeout_ms);
	send_challenge(c);
}

struct wlistener *
wire_listen(struct event_base *base, const struct sockaddr *sa, socklen_t salen,
    struct wire_conf *wc,
    void (*accept)(struct wconn *, const Ccnode__Hello *, Ccnode__Welcome *,
    void *), void *arg, char **cause)
{
	struct wlistener	*l = xcalloc(1, sizeof(*l));
	char			 addr[64];

	l->wc = wc;
	l->accept = accept;
	l->arg = arg;
	l->lev = evconnlistener_new_bind(base, listener_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    512, sa, (int)salen);
	if (l->lev == NULL) {
		xasprintf(cause, "cannot listen on %s: %s",
		    fmt_addr(sa, addr, sizeof(addr)), strerror(errno));
		free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->lev, listener_error_cb);
	l->resume = evtimer_new(base, listener_resume_cb, l);
	return l;
}

/*
 * Frees the listener and the connections still authenticating on it; the
 * authenticated ones belong to their owners.
 */
void
wire_listener_free(struct wlistener *l)
{
	if (l == NULL)
		return;
	while (l->pending != NULL)
		wconn_destroy(l->pending);
	evconnlistener_free(l->lev);
	event_free(l->resume);
	free(l);
}

/* ---- client side --------------------------------------------------------- */

static void
wconn_connect_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct wconn	*c = arg;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	c->busy++;
	if (c->conn_err != 0)
		err = c->conn_err;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		wconn_teardown(c, strerror(err));
	} else {
		event_free(c->connev);
		c->connev = NULL;
		c->state = W_CHALLENGE_WAIT;
		if (wconn_start(c) == -1)
			wconn_teardown(c, "cannot set up the connection");
	}
	wconn_unbusy(c);
}

struct wconn *
wconn_connect(struct event_base *base, const struct sockaddr *sa,
    socklen_t salen, struct wire_conf *wc, const struct wconn_cbs *cb,
    void *arg)
{
	struct wconn	*c;
	int		 fd;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return NULL;
	c = wconn_new(base, wc, fd, sa, salen);
	c->cb = cb;
	c->arg = arg;
	c->state = W_CONNECTING;
	arm_timer(c, wc->handshake_timeout_ms);
	c->connev = event_new(base, fd, EV_WRITE, wconn_connect_cb, c);
	if (connect(fd, sa, salen) == -1 && errno != EINPROGRESS) {
		/* Report it from the loop, so the caller sees one path. */
		c->conn_err = errno;
		event_active(c->connev, EV_WRITE, 0);
	} else
		event_add(c->connev, NULL);
	return c;
}
