/*
 * http.c: the HTTP port (55101) on libevent's evhttp: routing, bearer
 * tokens, and the JSON and error replies every handler uses.
 *
 * evhttp's timeout is a read timeout that restarts with every byte, and
 * libevent 2.1 has no connection cap.  So each connection's bufferevent
 * is made here (evhttp_set_bevcb) and tracked, with a reference of our
 * own; once a second a sweep drops the ones evhttp has let go of (their
 * callbacks are gone), shuts down connections past HTTP_MAX_CONNS, and
 * those whose request has taken longer than HTTP_DEADLINE_MS.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#define LOG_COMP "http"
#include "log.h"
#include "json.h"
#include "monitor.h"
#include "util.h"

#define HTTP_MAX_CONNS		1024
#define HTTP_DEADLINE_MS	60000

struct hconn {
	struct bufferevent	*bev;
	uint64_t		 since;		/* accept, or the last request */
	struct hconn		*next;
};

struct http {
	struct monitor		*m;
	struct evhttp		*h;
	struct evconnlistener	*lev;
	struct event		*sweep;
	struct hconn		*conns;
	int			 nconns;
	struct ratelimit	 rl;
};

static struct bufferevent *
http_bev_cb(struct event_base *base, void *arg)
{
	struct http	*hs = arg;
	struct hconn	*hc = xcalloc(1, sizeof(*hc));

	/*
	 * Our reference keeps the struct after evhttp frees it, until the
	 * sweep.  libevent 2.1.12 frees it with its read event still added,
	 * so the socket must stay open until then too (BEV_OPT_CLOSE_ON_FREE:
	 * closed when the last reference goes): a new connection that got
	 * the same descriptor number meanwhile would find the old event in
	 * libevent's map, never be added to epoll, and never be read.
	 */
	hc->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_incref(hc->bev);
	hc->since = mono_ms();
	hc->next = hs->conns;
	hs->conns = hc;
	if (++hs->nconns > HTTP_MAX_CONNS)
		event_active(hs->sweep, EV_TIMEOUT, 0);
	return hc->bev;
}

static void
http_sweep_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct http		*hs = arg;
	struct hconn		**pp, *hc;
	bufferevent_data_cb	 rcb;
	uint64_t		 now = mono_ms();
	int			 over;

	/* First forget what evhttp is done with; then count what is open. */
	for (pp = &hs->conns; (hc = *pp) != NULL; ) {
		bufferevent_getcb(hc->bev, &rcb, NULL, NULL, NULL);
		if (rcb == NULL) {
			*pp = hc->next;
			bufferevent_decref(hc->bev);
			free(hc);
			hs->nconns--;
			continue;
		}
		pp = &hc->next;
	}
	over = hs->nconns - HTTP_MAX_CONNS;
	/* The newest come first: they are the ones over the cap. */
	for (hc = hs->conns; hc != NULL; hc = hc->next) {
		if (over > 0) {
			log_limited(&hs->rl, LL_WARN, "refused an HTTP connection "
			    "reason=\"%d connections open\"", hs->nconns);
			shutdown(bufferevent_getfd(hc->bev), SHUT_RDWR);
			over--;
		} else if (now - hc->since > HTTP_DEADLINE_MS) {
			log_limited(&hs->rl, LL_WARN, "closing an HTTP connection "
			    "reason=\"no request completed in %d s\"",
			    HTTP_DEADLINE_MS / 1000);
			shutdown(bufferevent_getfd(hc->bev), SHUT_RDWR);
			hc->since = now;
		}
	}
}

/* A request arrived whole: its connection's deadline starts again. */
static void
http_request_seen(struct http *hs, struct evhttp_request *req)
{
	struct evhttp_connection	*c = evhttp_request_get_connection(req);
	struct bufferevent		*bev;
	struct hconn			*hc;

	if (c == NULL || (bev = evhttp_connection_get_bufferevent(c)) == NULL)
		return;
	for (hc = hs->conns; hc != NULL; hc = hc->next)
		if (hc->bev == bev) {
			hc->since = mono_ms();
			return;
		}
}

void
http_send_json(struct evhttp_request *req, int code, void *jv)
{
	json_t		*j = jv;
	struct evbuffer	*buf = evbuffer_new();
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	json_to_evbuffer(j, buf);
	evbuffer_add(buf, "\n", 1);
	json_decref(j);
	evhttp_add_header(hdr, "Content-Type", "application/json");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, code == 200 ? "OK" :
	    code == 400 ? "Bad Request" : code == 401 ? "Unauthorized" :
	    code == 404 ? "Not Found" : code == 405 ? "Method Not Allowed" :
	    "Error", buf);
	evbuffer_free(buf);
}

void
http_send_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_send_json(req, code, json_pack("{s:o}", "error", json_str(msg)));
}

static const char *
peer(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection	*c = evhttp_request_get_connection(req);
	char				*addr = NULL;
	ev_uint16_t			 port = 0;

	if (c != NULL)
		evhttp_connection_get_peer(c, &addr, &port);
	snprintf(buf, len, "%s:%u", addr ? addr : "?", port);
	return buf;
}

/* Whether the request carries "Authorization: Bearer <token>". */
static int
authorized(struct http *hs, struct evhttp_request *req)
{
	const char	*a;
	size_t		 tl = strlen(hs->m->token);

	a = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	return strlen(a) == tl && CRYPTO_memcmp(a, hs->m->token, tl) == 0;
}

static void
send_text(struct evhttp_request *req, const char *type, struct evbuffer *buf)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	evhttp_add_header(hdr, "Content-Type", type);
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", buf);
}

/* Splits "/api/v1/instances/NAME/SUB" after the prefix into NAME and SUB. */
static int
split_tail(const char *tail, char *name, size_t len, const char **sub)
{
	const char	*slash = strchr(tail, '/');
	size_t		 n = slash ? (size_t)(slash - tail) : strlen(tail);

	if (n == 0 || n >= len)
		return -1;
	memcpy(name, tail, n);
	name[n] = '\0';
	*sub = slash ? slash + 1 : "";
	return 0;
}

static void
http_route_cb(struct evhttp_request *req, void *arg)
{
	struct http		*hs = arg;
	struct monitor		*m = hs->m;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = evhttp_uri_get_path(uri), *sub;
	struct evbuffer		*buf;
	char			 name[256], addr[80];
	int			 open_path;

	m->stats.http_requests++;
	http_request_seen(hs, req);
	if (path == NULL || *path == '\0')
		path = "/";
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		http_send_error(req, 405, "only GET is served");
		return;
	}
	open_path = strcmp(path, "/") == 0 ||
	    (strcmp(path, "/metrics") == 0 && m->http_loopback);
	if (m->token != NULL && !open_path && !authorized(hs, req)) {
		log_limited(&hs->rl, LL_WARN, "refused peer=%s path=%s "
		    "reason=\"missing or wrong bearer token\"",
		    peer(req, addr, sizeof(addr)), path);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		http_send_error(req, 401, "a bearer token is required");
		return;
	}
	if (strcmp(path, "/") == 0) {
		buf = evbuffer_new();
		evbuffer_add_reference(buf, dashboard_html,
		    strlen(dashboard_html), NULL, NULL);
		send_text(req, "text/html; charset=utf-8", buf);
		evbuffer_free(buf);
	} else if (strcmp(path, "/metrics") == 0) {
		buf = evbuffer_new();
		prom_render(m, buf);
		send_text(req, "text/plain; version=0.0.4; charset=utf-8", buf);
		evbuffer_free(buf);
	} else if (strcmp(path, "/api/v1/status") == 0)
		api_status(m, req);
	else if (strcmp(path, "/api/v1/machines") == 0)
		api_machines(m, req);
	else if (strncmp(path, "/api/v1/machines/", 17) == 0 &&
	    split_tail(path + 17, name, sizeof(name), &sub) == 0)
		api_machine(m, req, name, sub);
	else if (strcmp(path, "/api/v1/instances") == 0)
		api_instances(m, req);
	else if (strcmp(path, "/api/v1/alerts") == 0)
		api_alerts(m, req, 0);
	else if (strcmp(path, "/api/v1/alerts/history") == 0)
		api_alerts(m, req, 1);
	else if (strncmp(path, "/api/v1/instances/", 18) == 0 &&
	    split_tail(path + 18, name, sizeof(name), &sub) == 0)
		api_instance(m, req, name, sub);
	else
		http_send_error(req, 404, "no such path: %s", path);
}

struct http *
http_new(struct monitor *m, char **cause)
{
	struct http		*hs = xcalloc(1, sizeof(*hs));
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 addr[64];

	hs->m = m;
	hs->rl = (struct ratelimit)RATELIMIT_INIT(10000, 10);
	if (parse_ip(m->conf->bind, (uint16_t)m->conf->http_port, &ss,
	    &len) == -1) {
		xasprintf(cause, "bind: '%s' is not an IP address", m->conf->bind);
		free(hs);
		return NULL;
	}
	m->http_loopback = addr_is_loopback((struct sockaddr *)&ss);
	hs->lev = evconnlistener_new_bind(m->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    512, (struct sockaddr *)&ss, (int)len);
	if (hs->lev == NULL) {
		xasprintf(cause, "cannot listen on %s: %s",
		    fmt_addr((struct sockaddr *)&ss, addr, sizeof(addr)),
		    strerror(errno));
		free(hs);
		return NULL;
	}
	hs->h = evhttp_new(m->base);
	evhttp_set_timeout(hs->h, 30);
	evhttp_set_max_headers_size(hs->h, 16 * 1024);
	evhttp_set_max_body_size(hs->h, 64 * 1024);
	evhttp_set_allowed_methods(hs->h, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(hs->h, http_route_cb, hs);
	evhttp_set_bevcb(hs->h, http_bev_cb, hs);
	hs->sweep = event_new(m->base, -1, EV_PERSIST, http_sweep_cb, hs);
	{
		struct timeval tv = { 1, 0 };

		event_add(hs->sweep, &tv);
	}
	if (evhttp_bind_listener(hs->h, hs->lev) == NULL) {
		xasprintf(cause, "cannot attach HTTP to its listener");
		evhttp_free(hs->h);
		event_free(hs->sweep);
		free(hs);
		return NULL;
	}
	return hs;
}

void
http_free(struct http *hs)
{
	struct hconn *hc, *next;

	if (hs == NULL)
		return;
	evhttp_free(hs->h);	/* frees the listener and the connections */
	for (hc = hs->conns; hc != NULL; hc = next) {
		next = hc->next;
		bufferevent_decref(hc->bev);
		free(hc);
	}
	event_free(hs->sweep);
	free(hs);
}
