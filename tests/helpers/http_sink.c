/*
 * http_sink: a tiny HTTP server on 127.0.0.1 for the integration tests, as a
 * fake control center, webhook receiver and so on.  Every request is logged
 * to OUTFILE as "<unix_ms> <status|hang> <method> <uri> <body>", CR and LF in
 * the body turned into spaces.  The answer is 200 "{}" unless the first line
 * of STATUSFILE, re-read each time, says another status (100-599) or "hang":
 * never answer, so that the client times out.  Bodies over 1 MiB get a 413
 * from libevent itself and are not logged.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#define MAXBODY		(1024 * 1024)

static const char	*outfile, *statusfile;
static FILE		*out;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: http_sink -p port -o outfile [-s statusfile] "
	    "[-P pidfile]\n");
	exit(2);
}

/* The status to answer with, from the first line of STATUSFILE; 0: hang. */
static int
want_status(void)
{
	FILE	*f;
	char	 line[64], *p, *ep;
	long	 v;

	if (statusfile == NULL || (f = fopen(statusfile, "r")) == NULL)
		return 200;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	p = line + strspn(line, " \t");
	p[strcspn(p, " \t\r\n")] = '\0';
	if (*p == '\0')			/* empty, or caught mid-rewrite */
		return 200;
	if (strcmp(p, "hang") == 0)
		return 0;
	errno = 0;
	v = strtol(p, &ep, 10);
	if (errno != 0 || *ep != '\0' || v < 100 || v > 599) {
		warnx("%s: bad status \"%s\", answering 500", statusfile, p);
		return 500;
	}
	return v;
}

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	static const char *names[] = { "GET", "POST", "HEAD", "PUT",
	    "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH" };
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (cmd == 1u << i)		/* EVHTTP_REQ_* are bits */
			return names[i];
	return "UNKNOWN";
}

/*
 * A hung request's connection is going away.  If the client left first,
 * libevent has detached the request and leaves freeing it to us (2.1.12
 * does not notice, so this only runs from evhttp_free with it attached).
 */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	if (evhttp_request_get_connection(arg) == NULL)
		evhttp_request_free(arg);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	const unsigned char	*body = evbuffer_pullup(in, -1);
	size_t			 i, len = evbuffer_get_length(in);
	struct timespec		 ts;
	char			 st[8] = "hang";
	int			 code = want_status();

	(void)arg;
	if (code != 0)
		snprintf(st, sizeof(st), "%d", code);
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		err(1, "clock_gettime");
	fprintf(out, "%lld %s %s %s ", (long long)ts.tv_sec * 1000 +
	    ts.tv_nsec / 1000000, st, method_name(evhttp_request_get_command(req)),
	    evhttp_request_get_uri(req));
	for (i = 0; i < len; i++)
		putc(body[i] == '\n' || body[i] == '\r' ? ' ' : body[i], out);
	if (putc('\n', out) == EOF || fflush(out) == EOF)
		err(1, "%s", outfile);

	if (code == 0) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(req),
		    on_close, req);
		return;
	}
	if (evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json") == -1 ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), "{}", 2) == -1)
		errx(1, "out of memory");
	evhttp_send_reply(req, code, code / 100 == 2 ? "OK" : "sink", NULL);
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
	struct evhttp		*http;
	struct event		*sigterm, *sigint;
	const char		*pidfile = NULL;
	char			*ep, tmp[4096];
	FILE			*f;
	long			 port = 0;
	int			 ch;

	while ((ch = getopt(argc, argv, "p:o:s:P:")) != -1) {
		switch (ch) {
		case 'p':
			errno = 0;
			port = strtol(optarg, &ep, 10);
			if (errno != 0 || *optarg == '\0' || *ep != '\0' ||
			    port < 1 || port > 65535)
				usage();
			break;
		case 'o':
			outfile = optarg;
			break;
		case 's':
			statusfile = optarg;
			break;
		case 'P':
			pidfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || port == 0 || outfile == NULL)
		usage();

	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(1, "signal");
	if ((out = fopen(outfile, "a")) == NULL)
		err(1, "%s", outfile);
	if ((base = event_base_new()) == NULL || (http = evhttp_new(base)) == NULL)
		errx(1, "libevent setup failed");
	evhttp_set_max_body_size(http, MAXBODY);
	evhttp_set_allowed_methods(http, 0x1ff);	/* every EVHTTP_REQ_* */
	evhttp_set_timeout(http, 24 * 3600);		/* "hang" means hang */
	evhttp_set_gencb(http, on_request, NULL);
	if (evhttp_bind_socket_with_handle(http, "127.0.0.1", port) == NULL)
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

	evhttp_free(http);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	if (fclose(out) == EOF)
		err(1, "%s", outfile);
	return 0;
}
