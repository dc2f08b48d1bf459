/*
 * resp_stub: a fake RESP server on 127.0.0.1 for the integration tests.  It
 * answers every complete command it reads (inline or multibulk, pipelined
 * or not) with REPLY followed by CRLF, REPLY given raw: "-LOADING Redis is
 * loading the dataset in memory", "+PONG", ":1" and so on.  An empty
 * command (a blank line, "*0") gets no answer, as with redis.  A protocol
 * error, or over 1 MiB of unparsed input, closes the connection.  SIGTERM
 * and SIGINT make it exit 0.
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define MAXINPUT	(1024 * 1024)

struct conn {
	struct bufferevent	*bev;
	struct conn		*prev, *next;
};

static const char	*reply;
static size_t		 reply_len;
static struct conn	*conns;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: resp_stub -p port -r reply [-P pidfile]\n");
	exit(2);
}

static void
conn_free(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	free(c);
}

/*
 * A decimal number from p up to the CRLF at or before end; -2 if it is not
 * one.
 */
static long long
number(const char *p, const char *end)
{
	long long	 v = 0;
	int		 neg = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p == end)
		return -2;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || v > (LLONG_MAX - 9) / 10)
			return -2;
		v = v * 10 + (*p - '0');
	}
	return neg ? -v : v;
}

/*
 * One command at buf: the bytes it takes (0: not complete yet; -1: a
 * protocol error); *empty is set for a command that gets no answer.
 */
static long long
parse(const char *buf, size_t len, int *empty)
{
	const char	*p = buf, *end = buf + len, *eol, *s;
	long long	 n, i, blen;

	*empty = 0;
	if (len == 0)
		return 0;
	if (*p != '*') {		/* inline: one line */
		if ((eol = memchr(p, '\n', len)) == NULL)
			return 0;
		for (s = p; s < eol && (*s == ' ' || *s == '\t' ||
		    *s == '\r'); s++)
			;
		*empty = s == eol;
		return eol + 1 - buf;
	}
	if ((eol = memchr(p, '\r', len)) == NULL || eol + 1 >= end)
		return 0;
	if (eol[1] != '\n' || (n = number(p + 1, eol)) < -1 || n > 1024 * 1024)
		return -1;
	p = eol + 2;
	*empty = n <= 0;
	for (i = 0; i < n; i++) {
		if (p >= end)
			return 0;
		if (*p != '$')
			return -1;
		if ((eol = memchr(p, '\r', (size_t)(end - p))) == NULL ||
		    eol + 1 >= end)
			return 0;
		if (eol[1] != '\n' || (blen = number(p + 1, eol)) < 0 ||
		    blen > MAXINPUT)
			return -1;
		p = eol + 2;
		if (end - p < blen + 2)
			return 0;
		if (p[blen] != '\r' || p[blen + 1] != '\n')
			return -1;
		p += blen + 2;
	}
	return p - buf;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer		*out = bufferevent_get_output(bev);
	const char		*buf;
	size_t			 len;
	long long		 used;
	int			 empty;

	for (;;) {
		len = evbuffer_get_length(in);
		if (len == 0)
			return;
		if ((buf = (const char *)evbuffer_pullup(in, -1)) == NULL)
			errx(1, "out of memory");
		if ((used = parse(buf, len, &empty)) == -1) {
			warnx("protocol error; closing the connection");
			conn_free(c);
			return;
		}
		if (used == 0) {
			if (len > MAXINPUT) {
				warnx("over %d bytes of input; closing the "
				    "connection", MAXINPUT);
				conn_free(c);
			}
			return;
		}
		evbuffer_drain(in, (size_t)used);
		if (!empty && (evbuffer_add(out, reply, reply_len) == -1 ||
		    evbuffer_add(out, "\r\n", 2) == -1))
			errx(1, "out of memory");
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(arg);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct event_base	*base = arg;
	struct conn		*c;

	(void)l;
	(void)sa;
	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		err(1, "calloc");
	if ((c->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		errx(1, "bufferevent_socket_new failed");
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1)
		errx(1, "bufferevent_enable failed");
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(int argc, char *argv[])
{
	struct event_base	*base;
	struct evconnlistener	*lis;
	struct event		*sigterm, *sigint;
	struct sockaddr_in	 sin;
	const char		*pidfile = NULL;
	char			*ep, tmp[4096];
	FILE			*f;
	long			 port = 0;
	int			 ch;

	while ((ch = getopt(argc, argv, "p:r:P:")) != -1) {
		switch (ch) {
		case 'p':
			errno = 0;
			port = strtol(optarg, &ep, 10);
			if (errno != 0 || *optarg == '\0' || *ep != '\0' ||
			    port < 1 || port > 65535)
				usage();
			break;
		case 'r':
			reply = optarg;
			break;
		case 'P':
			pidfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || port == 0 || reply == NULL)
		usage();
	reply_len = strlen(reply);

	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(1, "signal");
	if ((base = event_base_new()) == NULL)
		errx(1, "libevent setup failed");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lis = evconnlistener_new_bind(base, on_accept, base,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    64, (struct sockaddr *)&sin, sizeof(sin))) == NULL)
		err(1, "cannot listen on 127.0.0.1:%ld", port);

	if ((sigterm = evsignal_new(base, SIGTERM, on_signal, base)) == NULL ||
	    (sigint = evsignal_new(base, SIGINT, on_signal, base)) == NULL ||
	    event_add(sigterm, NULL) == -1 || event_add(sigint, NULL) == -1)
		errx(1, "cannot set up signal events");

	if (pidfile != NULL) {		/* write, then rename: never half seen */
		if (snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile) >=
		    (int)sizeof(tmp) || (f = fopen(tmp, "w")) == NULL ||
		    fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) == EOF ||
		    rename(tmp, pidfile) == -1)
			err(1, "pid file %s", pidfile);
	}

	if (event_base_dispatch(base) == -1)
		errx(1, "event loop failed");

	while (conns != NULL)
		conn_free(conns);
	evconnlistener_free(lis);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	return 0;
}
