/*
 * test_wire.c: the framed, authenticated connection (common/wire.c) over
 * real loopback TCP on a real event_base: handshakes with and without a
 * secret, refusals, frame caps, junk peers, version errors, split and
 * merged frames, and mutual TLS with throwaway certificates.
 *
 * A "raw" peer is a plain non-blocking socket driven by the test, to send
 * exactly the bytes a misbehaving peer would.  Every wait has a deadline,
 * so a hang fails the test instead of the run.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "frame.h"
#include "tls.h"
#include "util.h"
#include "wire.h"
#include "testutil.h"

#define MAXCONN	32

struct wt {
	struct event_base	*base;
	struct event		*tick;
	struct wire_conf	 scfg, ccfg;
	struct wlistener	*l;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 port;

	/* server side */
	int			 accepted;
	char			 hello_name[64], hello_role[16];
	struct wconn		*sconns[MAXCONN];
	int			 nsconns;
	int			 srv_closed;
	char			 srv_why[256];
	uint64_t		 srv_ids[64];
	int			 nsrv;

	/* client side */
	struct wconn		*cli;
	int			 cli_up, cli_closed, cli_msgs;
	char			 cli_why[256], cli_peer_name[64];
	uint64_t		 welcome_durable, cli_last_id;

	/* raw peer */
	int			 rfd;
	struct evbuffer		*rin;
	int			 reof;
};

/* Waits until cond holds or ms pass; the raw socket is read meanwhile. */
#define WAIT_FOR(t, cond, ms) do {					\
	uint64_t end_ = mono_ms() + (ms);				\
	while (!(cond) && mono_ms() < end_)				\
		event_base_loop((t)->base, EVLOOP_ONCE);		\
} while (0)

/* ---- callbacks ----------------------------------------------------------- */

static void
srv_msg(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct wt		*t = arg;
	Ccnode__Envelope	 out = CCNODE__ENVELOPE__INIT;
	Ccnode__Ack		 ack = CCNODE__ACK__INIT;

	if (t->nsrv < (int)nitems(t->srv_ids))
		t->srv_ids[t->nsrv] = env->id;
	t->nsrv++;
	/* A report with seq 99 is answered, to test the way back. */
	if (env->body_case == CCNODE__ENVELOPE__BODY_REPORT &&
	    env->report->seq == 99) {
		out.id = env->id;
		out.body_case = CCNODE__ENVELOPE__BODY_ACK;
		out.ack = &ack;
		ack.seq = 99;
		CU_ASSERT(wconn_send(c, &out) == 0);
	}
}

static void
srv_closed(struct wconn *c, const char *why, void *arg)
{
	struct wt	*t = arg;
	int		 i;

	for (i = 0; i < t->nsconns; i++)
		if (t->sconns[i] == c)
			t->sconns[i] = NULL;
	t->srv_closed++;
	snprintf(t->srv_why, sizeof(t->srv_why), "%s", why);
}

static const struct wconn_cbs srv_cbs = { NULL, srv_msg, NULL, srv_closed };

static void
srv_accept(struct wconn *c, const Ccnode__Hello *h, Ccnode__Welcome *w,
    void *arg)
{
	struct wt *t = arg;

	t->accepted++;
	snprintf(t->hello_name, sizeof(t->hello_name), "%s", h->name);
	snprintf(t->hello_role, sizeof(t->hello_role), "%s", h->role);
	if (t->nsconns < MAXCONN)
		t->sconns[t->nsconns++] = c;
	wconn_set_cbs(c, &srv_cbs, t);
	w->durable_seq = 42;
	w->epoch = 7;
}

static void
cli_up(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct wt *t = arg;

	t->cli_up++;
	if (env->body_case == CCNODE__ENVELOPE__BODY_WELCOME)
		t->welcome_durable = env->welcome->durable_seq;
	snprintf(t->cli_peer_name, sizeof(t->cli_peer_name), "%s",
	    wconn_peer_name(c));
}

static void
cli_msg(struct wconn *c, const Ccnode__Envelope *env, void *arg)
{
	struct wt *t = arg;

	t->cli_msgs++;
	t->cli_last_id = env->id;
}

static void
cli_closed(struct wconn *c, const char *why, void *arg)
{
	struct wt *t = arg;

	t->cli_closed++;
	snprintf(t->cli_why, sizeof(t->cli_why), "%s", why);
	if (t->cli == c)
		t->cli = NULL;
}

static const struct wconn_cbs cli_cbs = { cli_up, cli_msg, NULL, cli_closed };

/* ---- set-up --------------------------------------------------------------- */

static void raw_pump(struct wt *);

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	raw_pump(arg);
}

static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void
set_secret(struct wire_conf *wc, const char *s)
{
	if (s == NULL)
		return;
	wc->secret.key = (uint8_t *)xstrdup(s);
	wc->secret.len = strlen(s);
}

static void
wt_setup(struct wt *t, const char *ssecret, const char *csecret)
{
	struct timeval	 tv = { 0, 5000 };
	char		*cause = NULL;

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->base);
	wire_conf_init(&t->scfg, "srv");
	t->scfg.handshake_timeout_ms = 1000;
	t->scfg.frame_timeout_ms = 1000;
	t->scfg.max_frame = 65536;
	set_secret(&t->scfg, ssecret);
	wire_conf_init(&t->ccfg, "cli");
	t->ccfg.handshake_timeout_ms = 2000;
	set_secret(&t->ccfg, csecret);
	t->port = free_port();
	CU_ASSERT_FATAL(t->port > 0);
	CU_ASSERT_FATAL(parse_ip("127.0.0.1", (uint16_t)t->port, &t->ss,
	    &t->sslen) == 0);
	t->l = wire_listen(t->base, (struct sockaddr *)&t->ss, t->sslen,
	    &t->scfg, srv_accept, t, &cause);
	if (t->l == NULL)
		fprintf(stderr, "wire_listen: %s\n", cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->l);
	t->rfd = -1;
	t->rin = evbuffer_new();
	/* Wakes the loop so that waits notice their deadline. */
	t->tick = event_new(t->base, -1, EV_PERSIST, tick_cb, t);
	event_add(t->tick, &tv);
}

static void
wt_teardown(struct wt *t)
{
	int i;

	if (t->cli != NULL)
		wconn_free(t->cli);
	for (i = 0; i < t->nsconns; i++)
		if (t->sconns[i] != NULL)
			wconn_free(t->sconns[i]);
	if (t->rfd != -1)
		close(t->rfd);
	wire_listener_free(t->l);
	event_free(t->tick);
	/* Let connections the server was still refusing go. */
	event_base_loop(t->base, EVLOOP_NONBLOCK);
	wire_conf_clear(&t->scfg);
	wire_conf_clear(&t->ccfg);
	evbuffer_free(t->rin);
	event_base_free(t->base);
}

static void
wt_connect(struct wt *t)
{
	t->cli = wconn_connect(t->base, (struct sockaddr *)&t->ss, t->sslen,
	    &t->ccfg, &cli_cbs, t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->cli);
}

/* ---- the raw peer --------------------------------------------------------- */

static void
raw_pump(struct wt *t)
{
	char	buf[65536];
	ssize_t	n;

	if (t->rfd == -1 || t->reof)
		return;
	for (;;) {
		n = recv(t->rfd, buf, sizeof(buf), 0);
		if (n > 0) {
			evbuffer_add(t->rin, buf, (size_t)n);
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			t->reof = 1;	/* closed, or reset */
		break;
	}
}

static void
raw_connect(struct wt *t)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&t->ss, t->sslen) == 0);
	set_nonblock(fd);
	if (t->rfd != -1)
		close(t->rfd);
	t->rfd = fd;
	t->reof = 0;
	evbuffer_drain(t->rin, evbuffer_get_length(t->rin));
}

static void
raw_send(struct wt *t, const void *data, size_t len)
{
	const uint8_t	*p = data;
	ssize_t		 n;
	uint64_t	 end = mono_ms() + 2000;

	while (len > 0 && mono_ms() < end) {
		n = send(t->rfd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			event_base_loop(t->base, EVLOOP_ONCE);
		else
			break;		/* the server hung up: fine */
	}
}

/* Packs env as a frame, with the given major version. */
static uint8_t *
frame_env(Ccnode__Envelope *env, uint32_t major, size_t *lenp)
{
	size_t	 len;
	uint8_t	*buf;

	env->major = major;
	env->minor = 0;
	len = ccnode__envelope__get_packed_size(env);
	buf = xmalloc(len + FRAME_HDR);
	frame_put_hdr(buf, (uint32_t)len);
	ccnode__envelope__pack(env, buf + FRAME_HDR);
	*lenp = len + FRAME_HDR;
	return buf;
}

static void
raw_send_env(struct wt *t, Ccnode__Envelope *env, uint32_t major)
{
	size_t	 len;
	uint8_t	*buf = frame_env(env, major, &len);

	raw_send(t, buf, len);
	free(buf);
}

static int
raw_ready(struct wt *t)
{
	size_t len;

	return frame_peek(t->rin, 1 << 20, &len) == FRAME_READY;
}

/* The next Envelope from the server, or NULL at the end or on timeout. */
static Ccnode__Envelope *
raw_next(struct wt *t, unsigned ms)
{
	Ccnode__Envelope	*env;
	size_t			 len;

	WAIT_FOR(t, raw_ready(t) || t->reof, ms);
	if (frame_peek(t->rin, 1 << 20, &len) != FRAME_READY)
		return NULL;
	evbuffer_drain(t->rin, FRAME_HDR);
	env = ccnode__envelope__unpack(NULL, len,
	    evbuffer_pullup(t->rin, (ev_ssize_t)len));
	evbuffer_drain(t->rin, len);
	CU_ASSERT_PTR_NOT_NULL(env);
	return env;
}

/* Connects and reads the Challenge. */
static void
raw_challenged(struct wt *t)
{
	Ccnode__Envelope *env;

	raw_connect(t);
	env = raw_next(t, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(env);
	CU_ASSERT_EQUAL(env->body_case, CCNODE__ENVELOPE__BODY_CHALLENGE);
	if (env->body_case == CCNODE__ENVELOPE__BODY_CHALLENGE) {
		CU_ASSERT_EQUAL(env->challenge->nonce.len, AUTH_NONCE_LEN);
		CU_ASSERT_STRING_EQUAL(env->challenge->server, "srv");
		CU_ASSERT_EQUAL(env->major, WIRE_MAJOR);
	}
	ccnode__envelope__free_unpacked(env, NULL);
}

/* A complete handshake by hand, without a secret. */
static void
raw_handshake(struct wt *t)
{
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT, *in;
	Ccnode__Hello		 h = CCNODE__HELLO__INIT;
	uint8_t			 nonce[AUTH_NONCE_LEN];

	raw_challenged(t);
	memset(nonce, 0x5a, sizeof(nonce));
	h.name = "raw";
	h.role = "agent";
	h.version = "test";
	h.nonce.data = nonce;
	h.nonce.len = sizeof(nonce);
	env.body_case = CCNODE__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	raw_send_env(t, &env, WIRE_MAJOR);
	in = raw_next(t, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	CU_ASSERT_EQUAL_FATAL(in->body_case, CCNODE__ENVELOPE__BODY_WELCOME);
	CU_ASSERT_EQUAL(in->welcome->durable_seq, 42);
	ccnode__envelope__free_unpacked(in, NULL);
	WAIT_FOR(t, t->accepted > 0, 1000);
	CU_ASSERT_EQUAL(t->accepted, 1);
	CU_ASSERT_STRING_EQUAL(t->hello_name, "raw");
}

/* A packed Report frame with an id, a seq and padding. */
static uint8_t *
report_frame(uint64_t id, uint64_t seq, size_t pad, size_t *lenp)
{
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Report		 rep = CCNODE__REPORT__INIT;
	char			*host = xmalloc(pad + 1);
	uint8_t			*buf;

	memset(host, 'h', pad);
	host[pad] = '\0';
	rep.seq = seq;
	rep.epoch = 1;
	rep.host = host;
	env.id = id;
	env.body_case = CCNODE__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	buf = frame_env(&env, WIRE_MAJOR, lenp);
	free(host);
	return buf;
}

/* ---- the tests ------------------------------------------------------------ */

static void
test_plain_handshake(void)
{
	struct wt		 t;
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Report		 rep = CCNODE__REPORT__INIT;
	Ccnode__Keepalive	 ka = CCNODE__KEEPALIVE__INIT;
	char			 want[64];

	wt_setup(&t, NULL, NULL);
	wt_connect(&t);
	WAIT_FOR(&t, t.cli_up && t.accepted, 3000);
	CU_ASSERT_EQUAL_FATAL(t.cli_up, 1);
	CU_ASSERT_EQUAL(t.accepted, 1);
	CU_ASSERT_EQUAL(t.welcome_durable, 42);
	CU_ASSERT_STRING_EQUAL(t.cli_peer_name, "srv");
	CU_ASSERT_STRING_EQUAL(t.hello_name, "cli");
	CU_ASSERT_STRING_EQUAL(t.hello_role, "agent");
	CU_ASSERT_TRUE(wconn_is_up(t.cli));
	snprintf(want, sizeof(want), "127.0.0.1:%d", t.port);
	CU_ASSERT_STRING_EQUAL(wconn_peer(t.cli), want);
	CU_ASSERT_FATAL(t.nsconns == 1 && t.sconns[0] != NULL);
	CU_ASSERT_STRING_EQUAL(wconn_peer_name(t.sconns[0]), "cli");
	CU_ASSERT_EQUAL(t.scfg.preauth_count, 0);
	CU_ASSERT_EQUAL(t.scfg.refused, 0);

	/* There and back. */
	rep.seq = 99;
	env.id = 5;
	env.body_case = CCNODE__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	CU_ASSERT(wconn_send(t.cli, &env) == 0);
	WAIT_FOR(&t, t.cli_msgs > 0, 2000);
	CU_ASSERT_EQUAL(t.nsrv, 1);
	CU_ASSERT_EQUAL(t.srv_ids[0], 5);
	CU_ASSERT_EQUAL(t.cli_msgs, 1);
	CU_ASSERT_EQUAL(t.cli_last_id, 5);

	/* Keepalives are not handed to the owner. */
	env.id = 6;
	env.body_case = CCNODE__ENVELOPE__BODY_KEEPALIVE;
	env.keepalive = &ka;
	CU_ASSERT(wconn_send(t.cli, &env) == 0);
	env.id = 7;
	env.body_case = CCNODE__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	rep.seq = 1;
	CU_ASSERT(wconn_send(t.cli, &env) == 0);
	WAIT_FOR(&t, t.nsrv >= 2, 2000);
	CU_ASSERT_EQUAL(t.nsrv, 2);
	CU_ASSERT_EQUAL(t.srv_ids[1], 7);

	/* A close on one side is seen on the other. */
	wconn_close(t.cli, "done");
	CU_ASSERT_EQUAL(t.cli_closed, 1);
	CU_ASSERT_STRING_EQUAL(t.cli_why, "done");
	CU_ASSERT_PTR_NULL(t.cli);
	WAIT_FOR(&t, t.srv_closed > 0, 2000);
	CU_ASSERT_EQUAL(t.srv_closed, 1);
	CU_ASSERT_STRING_EQUAL(t.srv_why, "closed by peer");
	wt_teardown(&t);
}

static void
test_secret_handshake(void)
{
	struct wt t;

	wt_setup(&t, "the same secret, 0123456789", "the same secret, 0123456789");
	wt_connect(&t);
	WAIT_FOR(&t, t.cli_up && t.accepted, 3000);
	CU_ASSERT_EQUAL(t.cli_up, 1);
	CU_ASSERT_EQUAL(t.accepted, 1);
	CU_ASSERT_EQUAL(t.welcome_durable, 42);
	CU_ASSERT_EQUAL(t.scfg.refused, 0);
	CU_ASSERT_EQUAL(t.cli_closed, 0);
	wt_teardown(&t);
}

static void
test_wrong_secret(void)
{
	struct wt t;

	wt_setup(&t, "server secret 0123456789", "client secret 0123456789");
	wt_connect(&t);
	WAIT_FOR(&t, t.cli_closed && t.scfg.refused > 0, 3000);
	CU_ASSERT_EQUAL(t.cli_closed, 1);
	CU_ASSERT_EQUAL(t.cli_up, 0);
	CU_ASSERT_EQUAL(t.accepted, 0);
	CU_ASSERT_EQUAL(t.scfg.refused, 1);
	CU_ASSERT_EQUAL(t.scfg.preauth_count, 0);
	/* The server sends an ErrorReply (AUTH) before it closes. */
	if (!tu_has(t.cli_why, "authentication failed")) {
		fprintf(stderr, "\n  BUG: the client saw \"%s\", not the "
		    "server's AUTH ErrorReply", t.cli_why);
		CU_FAIL("handshake ErrorReply (AUTH) never reaches the client");
	}
	wt_teardown(&t);
}

static void
test_secret_required(void)
{
	struct wt t;

	wt_setup(&t, "server secret 0123456789", NULL);
	wt_connect(&t);
	WAIT_FOR(&t, t.cli_closed && t.scfg.refused > 0, 3000);
	CU_ASSERT_EQUAL(t.cli_closed, 1);
	CU_ASSERT(tu_has(t.cli_why, "requires a shared secret"));
	CU_ASSERT_EQUAL(t.cli_up, 0);
	CU_ASSERT_EQUAL(t.accepted, 0);
	CU_ASSERT_EQUAL(t.scfg.refused, 1);
	wt_teardown(&t);
}

/* A client with a secret against a server without one: the server's
 * Welcome carries no proof, and the client must not accept that. */
static void
test_server_without_secret(void)
{
	struct wt t;

	wt_setup(&t, NULL, "client secret 0123456789");
	wt_connect(&t);
	WAIT_FOR(&t, t.cli_closed || t.cli_up, 3000);
	CU_ASSERT_EQUAL(t.cli_up, 0);
	CU_ASSERT_EQUAL(t.cli_closed, 1);
	CU_ASSERT(tu_has(t.cli_why, "failed to prove"));
	wt_teardown(&t);
}

static void
test_preauth_frame_cap(void)
{
	struct wt	 t;
	uint8_t		*big = xmalloc(5004);

	wt_setup(&t, NULL, NULL);
	raw_challenged(&t);
	frame_put_hdr(big, 5000);
	memset(big + 4, 'A', 5000);
	raw_send(&t, big, 5004);
	WAIT_FOR(&t, t.reof && t.scfg.refused > 0, 2000);
	CU_ASSERT_TRUE(t.reof);
	CU_ASSERT_EQUAL(t.scfg.refused, 1);
	CU_ASSERT_EQUAL(t.accepted, 0);
	CU_ASSERT_EQUAL(t.scfg.preauth_count, 0);
	free(big);
	wt_teardown(&t);
}

static void
test_oversized_after_auth(void)
{
	struct wt	t;
	uint8_t		h[FRAME_HDR];

	wt_setup(&t, NULL, NULL);
	raw_handshake(&t);
	frame_put_hdr(h, 100000);
	raw_send(&t, h, sizeof(h));
	WAIT_FOR(&t, t.reof && t.srv_closed, 2000);
	CU_ASSERT_TRUE(t.reof);
	CU_ASSERT_EQUAL(t.srv_closed, 1);
	CU_ASSERT(tu_has(t.srv_why, "over the 65536-byte limit"));
	wt_teardown(&t);
}

static void
test_junk_peers(void)
{
	static const struct {
		const char	*name;
		const char	*bytes;
		size_t		 len;
	} junk[] = {
		{ "garbage", "GARBAGE GARBAGE GARBAGE\r\n", 25 },
		{ "http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27 },
		{ "malformed", "\0\0\0\x03\xff\xff\xff", 7 },
		{ "truncated", "\0\0\0\x64" "0123456789", 14 },
		{ "tiny", "\0", 1 },
	};
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Keepalive	 ka = CCNODE__KEEPALIVE__INIT;
	struct wt		 t;
	size_t			 i;

	wt_setup(&t, NULL, NULL);
	t.scfg.handshake_timeout_ms = 300;
	for (i = 0; i < nitems(junk); i++) {
		raw_challenged(&t);
		raw_send(&t, junk[i].bytes, junk[i].len);
		WAIT_FOR(&t, t.reof, 2000);
		if (!t.reof)
			fprintf(stderr, "\n  %s: still open", junk[i].name);
		CU_ASSERT_TRUE(t.reof);
	}
	/* A valid message, but not a Hello. */
	raw_challenged(&t);
	env.body_case = CCNODE__ENVELOPE__BODY_KEEPALIVE;
	env.keepalive = &ka;
	raw_send_env(&t, &env, WIRE_MAJOR);
	WAIT_FOR(&t, t.reof, 2000);
	CU_ASSERT_TRUE(t.reof);
	/* A peer that connects and says nothing. */
	raw_connect(&t);
	WAIT_FOR(&t, t.reof, 2000);
	CU_ASSERT_TRUE(t.reof);

	WAIT_FOR(&t, t.scfg.refused >= nitems(junk) + 2, 1000);
	CU_ASSERT_EQUAL(t.scfg.refused, nitems(junk) + 2);
	CU_ASSERT_EQUAL(t.scfg.preauth_count, 0);
	CU_ASSERT_EQUAL(t.accepted, 0);

	/* And the listener still serves a good client. */
	wt_connect(&t);
	WAIT_FOR(&t, t.cli_up, 3000);
	CU_ASSERT_EQUAL(t.cli_up, 1);
	CU_ASSERT_EQUAL(t.accepted, 1);
	wt_teardown(&t);
}

/* Reads until the end; returns the ErrorReply code seen, or -1. */
static int
raw_error_code(struct wt *t)
{
	Ccnode__Envelope	*env;
	int			 code = -1;

	while ((env = raw_next(t, 2000)) != NULL) {
		if (env->body_case == CCNODE__ENVELOPE__BODY_ERROR)
			code = (int)env->error->code;
		ccnode__envelope__free_unpacked(env, NULL);
	}
	return code;
}

static void
test_version_preauth(void)
{
	struct wt		 t;
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Hello		 h = CCNODE__HELLO__INIT;
	uint8_t			 nonce[AUTH_NONCE_LEN] = { 0 };
	int			 code;

	wt_setup(&t, NULL, NULL);
	raw_challenged(&t);
	h.name = "future";
	h.nonce.data = nonce;
	h.nonce.len = sizeof(nonce);
	env.id = 77;
	env.body_case = CCNODE__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	raw_send_env(&t, &env, 2);
	code = raw_error_code(&t);
	CU_ASSERT_TRUE(t.reof);
	CU_ASSERT_EQUAL(t.accepted, 0);
	if (code != CCNODE__ERROR_REPLY__CODE__VERSION) {
		fprintf(stderr, "\n  BUG: a major=2 Hello got error code %d "
		    "before the close, not VERSION", code);
		CU_FAIL("no ErrorReply VERSION before the close (pre-auth)");
	}
	wt_teardown(&t);
}

static void
test_version_after_auth(void)
{
	struct wt		 t;
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Report		 rep = CCNODE__REPORT__INIT;
	int			 code;

	wt_setup(&t, NULL, NULL);
	raw_handshake(&t);
	env.body_case = CCNODE__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	raw_send_env(&t, &env, 2);
	code = raw_error_code(&t);
	CU_ASSERT_TRUE(t.reof);
	WAIT_FOR(&t, t.srv_closed, 1000);
	CU_ASSERT_EQUAL(t.srv_closed, 1);
	CU_ASSERT_EQUAL(t.nsrv, 0);	/* never handed to the owner */
	if (code != CCNODE__ERROR_REPLY__CODE__VERSION) {
		fprintf(stderr, "\n  BUG: a major=2 Report got error code %d "
		    "before the close, not VERSION", code);
		CU_FAIL("no ErrorReply VERSION before the close (after auth)");
	}
	wt_teardown(&t);
}

static void
test_split_and_merged(void)
{
	struct wt	 t;
	struct evbuffer	*merged = evbuffer_new();
	uint8_t		*f, *m;
	size_t		 len, len6, off, piece, i;
	Ccnode__Envelope env = CCNODE__ENVELOPE__INIT;
	Ccnode__Keepalive ka = CCNODE__KEEPALIVE__INIT;

	wt_setup(&t, NULL, NULL);
	raw_handshake(&t);

	/* Frame 1, near the limit, in pieces with the loop run in between. */
	f = report_frame(1, 1, 60000, &len);
	CU_ASSERT(len < 65536);
	for (off = 0, piece = 3; off < len; off += piece, piece *= 7) {
		if (piece > len - off)
			piece = len - off;
		raw_send(&t, f + off, piece);
		WAIT_FOR(&t, 0, 20);
		if (off + piece < len)
			CU_ASSERT_EQUAL(t.nsrv, 0);
	}
	free(f);
	WAIT_FOR(&t, t.nsrv >= 1, 1000);
	CU_ASSERT_EQUAL(t.nsrv, 1);

	/* Frames 2 to 5 and a keepalive, in one write. */
	for (i = 2; i <= 5; i++) {
		f = report_frame(i, i, 10 * i, &len);
		evbuffer_add(merged, f, len);
		free(f);
		if (i == 3) {
			env.body_case = CCNODE__ENVELOPE__BODY_KEEPALIVE;
			env.keepalive = &ka;
			f = frame_env(&env, WIRE_MAJOR, &len);
			evbuffer_add(merged, f, len);
			free(f);
		}
	}
	/* And the first half of a sixth. */
	f = report_frame(6, 6, 100, &len6);
	evbuffer_add(merged, f, len6 / 2);
	len = evbuffer_get_length(merged);
	m = evbuffer_pullup(merged, -1);
	raw_send(&t, m, len);
	WAIT_FOR(&t, t.nsrv >= 5, 2000);
	WAIT_FOR(&t, 0, 30);
	CU_ASSERT_EQUAL_FATAL(t.nsrv, 5);
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(t.srv_ids[i], i + 1);
	raw_send(&t, f + len6 / 2, len6 - len6 / 2);
	free(f);
	WAIT_FOR(&t, t.nsrv >= 6, 2000);
	CU_ASSERT_EQUAL(t.nsrv, 6);
	CU_ASSERT_EQUAL(t.srv_ids[5], 6);
	CU_ASSERT_EQUAL(t.srv_closed, 0);
	CU_ASSERT_FALSE(t.reof);
	evbuffer_free(merged);
	wt_teardown(&t);
}

/* A frame that trickles in slower than frame-timeout is dropped. */
static void
test_slow_frame(void)
{
	struct wt	 t;
	uint8_t		*f;
	size_t		 len;

	wt_setup(&t, NULL, NULL);
	t.scfg.frame_timeout_ms = 300;
	raw_handshake(&t);
	f = report_frame(1, 1, 1000, &len);
	raw_send(&t, f, 100);
	WAIT_FOR(&t, t.srv_closed, 2000);
	CU_ASSERT_EQUAL(t.srv_closed, 1);
	CU_ASSERT(tu_has(t.srv_why, "took longer than 300 ms"));
	CU_ASSERT_EQUAL(t.nsrv, 0);
	free(f);
	wt_teardown(&t);
}

/* ---- TLS ------------------------------------------------------------------ */

static int
make_certs(const char *dir)
{
	char *cmd;
	int rc;

	xasprintf(&cmd, "cd '%s' && {"
	    " printf 'subjectAltName=IP:127.0.0.1\\n' > srv.ext &&"
	    " printf 'extendedKeyUsage=clientAuth\\n' > cli.ext &&"
	    " openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
	    "  -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca &&"
	    " for n in srv cli; do"
	    "  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
	    "   -nodes -keyout $n.key -out $n.csr -subj /CN=$n &&"
	    "  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key"
	    "   -CAcreateserial -out $n.crt -days 2 -extfile $n.ext || exit 1;"
	    " done; } >/dev/null 2>&1", dir);
	rc = system(cmd);
	free(cmd);
	return rc == 0;
}

static SSL_CTX *
ctx(int server, const char *dir, const char *name, int with_cert)
{
	char	*cert = NULL, *key = NULL, *ca, *cause = NULL;
	SSL_CTX	*c;

	ca = tu_join(dir, "ca.crt");
	if (with_cert) {
		xasprintf(&cert, "%s/%s.crt", dir, name);
		xasprintf(&key, "%s/%s.key", dir, name);
	}
	c = server ? tls_server_ctx(cert, key, ca, &cause) :
	    tls_client_ctx(cert, key, ca, &cause);
	if (c == NULL)
		fprintf(stderr, "\n  TLS context: %s\n", cause);
	CU_ASSERT_PTR_NOT_NULL(c);
	free(cause);
	free(cert);
	free(key);
	free(ca);
	return c;
}

static void
test_tls(void)
{
	struct wt	 t;
	char		*dir = tu_tmpdir();

	if (!make_certs(dir)) {
		fprintf(stderr, "\n  openssl could not make test certificates; "
		    "TLS not tested ");
		tu_rmdir(dir);
		return;
	}

	/* Mutual TLS: both sides present certificates from the CA. */
	wt_setup(&t, NULL, NULL);
	t.scfg.ssl = ctx(1, dir, "srv", 1);
	t.ccfg.ssl = ctx(0, dir, "cli", 1);
	wt_connect(&t);
	WAIT_FOR(&t, t.cli_up && t.accepted, 5000);
	CU_ASSERT_EQUAL(t.cli_up, 1);
	CU_ASSERT_EQUAL(t.accepted, 1);
	CU_ASSERT_EQUAL(t.welcome_durable, 42);
	CU_ASSERT_EQUAL(t.scfg.refused, 0);
	wt_teardown(&t);

	/* A client without a certificate is refused. */
	wt_setup(&t, NULL, NULL);
	t.scfg.ssl = ctx(1, dir, "srv", 1);
	t.ccfg.ssl = ctx(0, dir, "cli", 0);
	wt_connect(&t);
	WAIT_FOR(&t, t.cli_closed && t.scfg.refused > 0, 5000);
	CU_ASSERT_EQUAL(t.cli_up, 0);
	CU_ASSERT_EQUAL(t.cli_closed, 1);
	CU_ASSERT_EQUAL(t.accepted, 0);
	CU_ASSERT(t.scfg.refused >= 1);
	wt_teardown(&t);

	/* A plain TCP client against the TLS port gets nowhere. */
	wt_setup(&t, NULL, NULL);
	t.scfg.ssl = ctx(1, dir, "srv", 1);
	t.scfg.handshake_timeout_ms = 300;
	wt_connect(&t);
	WAIT_FOR(&t, t.cli_closed && t.scfg.refused > 0, 5000);
	CU_ASSERT_EQUAL(t.cli_up, 0);
	CU_ASSERT_EQUAL(t.accepted, 0);
	wt_teardown(&t);

	tu_rmdir(dir);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_plain_handshake),
		TU_TEST(test_secret_handshake),
		TU_TEST(test_wrong_secret),
		TU_TEST(test_secret_required),
		TU_TEST(test_server_without_secret),
		TU_TEST(test_preauth_frame_cap),
		TU_TEST(test_oversized_after_auth),
		TU_TEST(test_junk_peers),
		TU_TEST(test_version_preauth),
		TU_TEST(test_version_after_auth),
		TU_TEST(test_split_and_merged),
		TU_TEST(test_slow_frame),
		TU_TEST(test_tls),
	};

	signal(SIGPIPE, SIG_IGN);
	return tu_main("wire", tests, nitems(tests));
}
