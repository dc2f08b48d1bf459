/*
 * wire.h: one framed, authenticated protobuf connection, as used on the
 * report port (55100) and the management port (5000).
 *
 * A connection is plain TCP or TLS (bufferevent_openssl).  The server speaks
 * first with a Challenge; the client answers with a Hello carrying its
 * HMAC proof; the server answers with a Welcome carrying its own.  Until
 * then a peer can send nothing else, frames are capped small, and the whole
 * exchange has a deadline.  A server's owner sees a connection only once it
 * is authenticated.
 *
 * Afterwards each frame has an absolute deadline from its first byte (a
 * read timeout alone would let a one-byte-a-second sender live forever),
 * each unpack has an allocation budget, and a peer that stops reading is
 * dropped when its output queue passes a limit.
 */
#ifndef CC_WIRE_H
#define CC_WIRE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "auth.h"
#include "proto/ccnode.pb-c.h"

#define WIRE_MAJOR		1
#define WIRE_MINOR		0
#define WIRE_PREAUTH_FRAME	4096

struct event_base;
struct wconn;
struct wlistener;

struct wire_conf {
	struct auth_secret	 secret;	/* key NULL: no shared secret */
	SSL_CTX			*ssl;		/* NULL: plain TCP */
	size_t			 max_frame;
	uint32_t		 frame_timeout_ms;
	uint32_t		 handshake_timeout_ms;
	uint32_t		 idle_timeout_ms;	/* 0: none */
	size_t			 max_output;
	const char		*name;		/* ours, sent in Challenge/Hello */
	const char		*role;		/* client: "agent" or "ctl" */
	unsigned		 preauth_max;	/* server: unauthenticated conns */
	unsigned		 preauth_count;
	uint64_t		 refused;	/* server: failed handshakes */
};

/* Fills in the defaults: 4 MiB frames, 30 s per frame, 10 s handshake. */
void	wire_conf_init(struct wire_conf *, const char *name);
void	wire_conf_clear(struct wire_conf *);

struct wconn_cbs {
	/* Client: authentication finished; env is the server's Welcome. */
	void	(*up)(struct wconn *, const Ccnode__Envelope *env, void *arg);
	/* A message after authentication, valid during the call. */
	void	(*msg)(struct wconn *, const Ccnode__Envelope *env, void *arg);
	/* The output queue is empty again (optional). */
	void	(*drained)(struct wconn *, void *arg);
	/*
	 * The connection is gone (not called after wconn_free).  The wconn
	 * is freed when this returns.
	 */
	void	(*closed)(struct wconn *, const char *why, void *arg);
};

/*
 * Listens on addr.  Each authenticated connection is handed to accept(),
 * which must set the connection's callbacks with wconn_set_cbs (or close
 * it), and may fill in the Welcome that is then sent.
 */
struct wlistener *wire_listen(struct event_base *, const struct sockaddr *,
	    socklen_t, struct wire_conf *,
	    void (*accept)(struct wconn *, const Ccnode__Hello *hello,
	    Ccnode__Welcome *welcome, void *arg),
	    void *arg, char **cause);
void	wire_listener_free(struct wlistener *);

/* Dials addr; the callbacks see the handshake finish or fail. */
struct wconn *wconn_connect(struct event_base *, const struct sockaddr *,
	    socklen_t, struct wire_conf *, const struct wconn_cbs *, void *arg);

void	wconn_set_cbs(struct wconn *, const struct wconn_cbs *, void *arg);
/* Packs and queues one message (major/minor are filled in). 0 or -1. */
int	wconn_send(struct wconn *, Ccnode__Envelope *);
/* Queues an already packed Envelope. */
int	wconn_send_packed(struct wconn *, const uint8_t *, size_t);
/* Sends an ErrorReply and closes once it is written. */
void	wconn_send_error(struct wconn *, uint64_t id,
	    Ccnode__ErrorReply__Code, const char *msg);
/* Closes now: closed() is called with why. */
void	wconn_close(struct wconn *, const char *why);
/* Closes once the queued output is written (bounded by a deadline). */
void	wconn_close_flush(struct wconn *, const char *why);
/* Frees without calling closed(). */
void	wconn_free(struct wconn *);

size_t	 wconn_output_len(const struct wconn *);
const char *wconn_peer(const struct wconn *);		/* "IP:PORT" */
const char *wconn_peer_name(const struct wconn *);	/* from Hello/Challenge */
int	 wconn_is_up(const struct wconn *);

/* Packs an Envelope (major/minor filled in) into a fresh buffer. */
uint8_t	*wire_pack(Ccnode__Envelope *, size_t *len);

#endif
