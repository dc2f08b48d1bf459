/*
 * rconn.h: one persistent async connection to a Redis server, on the
 * program's event loop.
 *
 * hiredis 0.14 has no connect or command timeout, so a SIGSTOPped server
 * would never call back.  Here every connect and every command has a
 * libevent timer; when one fires, the connection is dropped and every
 * pending command is answered with the error.  A reply that grows past a
 * cap also drops the connection.  Sockets are close-on-exec.
 *
 * On connect the connection authenticates (AUTH [user] password, the
 * password read from a file each time, so rotation needs no restart) and
 * names itself with CLIENT SETNAME.  Commands may be queued while it
 * connects.  Each callback runs exactly once: with a reply, or with
 * reply NULL and err set.
 */
#ifndef CC_RCONN_H
#define CC_RCONN_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

struct event_base;
struct rconn;

struct rconn_opts {
	const char	*client_name;	/* CLIENT SETNAME; NULL: none */
	const char	*user;		/* ACL user; NULL: default */
	const char	*password_file;	/* NULL: password, or no AUTH */
	const char	*password;	/* used when password_file is NULL */
	uint32_t	 connect_timeout_ms;
	uint32_t	 timeout_ms;	/* per command; 0: none, the caller
					   keeps a deadline (rconn_close) */
	size_t		 max_reply;	/* bytes buffered for one reply */
	/*
	 * The handshake's AUTH and CLIENT SETNAME are counted here as the
	 * caller's own calls (cmdstats.h), so that they do not show as the
	 * instance's workload; NULL: not counted.
	 */
	struct owncalls	*own;
};

enum rconn_state { RC_DOWN, RC_CONNECTING, RC_UP };

typedef void rconn_reply_cb(struct rconn *, redisReply *reply, const char *err,
    void *arg);
/* Called when the connection comes up (err NULL) or goes down. */
typedef void rconn_state_cb(struct rconn *, enum rconn_state, const char *err,
    void *arg);

struct rconn	*rconn_new(struct event_base *, const char *ip, int port,
		    const struct rconn_opts *, rconn_state_cb *, void *arg);
void		 rconn_free(struct rconn *);
/* Starts connecting if down.  Returns -1 (and calls back) on failure. */
int		 rconn_connect(struct rconn *);
/* Queues a command; connects first if needed. 0 or -1 (callback ran). */
int		 rconn_cmd(struct rconn *, rconn_reply_cb *, void *arg,
		    int argc, const char **argv, const size_t *argvlen);
int		 rconn_cmdf(struct rconn *, rconn_reply_cb *, void *arg,
		    const char *fmt, ...);
/* A command already in RESP ("*1\r\n$4\r\nPING\r\n"): no formatting. */
int		 rconn_cmd_raw(struct rconn *, rconn_reply_cb *, void *arg,
		    const char *cmd, size_t len);
void		 rconn_close(struct rconn *, const char *why);
/* Whether the TCP connection is established (the handshake may not be). */
int		 rconn_connected(const struct rconn *);
enum rconn_state rconn_state(const struct rconn *);
const char	*rconn_addr(const struct rconn *);
void		 rconn_set_timeout(struct rconn *, uint32_t ms);

#endif
