/*
 * hclient.c: one HTTP POST at a time per call, on the event loop, with a
 * deadline.  Names resolve through evdns (never a blocking lookup), and
 * https URLs are verified against the system's CAs and the URL's host.
 *
 * Every request gets a connection of its own, closed after the answer:
 * the callers post at most a few requests a second, and a fresh
 * connection cannot carry a half-read answer of a request that timed out.
 * The connection is freed from the loop after the request's callback
 * (libevent 2.1.12's free-on-completion misses one that never connected).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define LOG_COMP "http-client"
#include "log.h"
#include "monitor.h"
#include "util.h"

struct hreq {
	struct evhttp_connection	*conn;
	struct evhttp_request		*req;
	hclient_cb			*cb;
	void				*arg;
	int				 done;
	struct event			*free_ev;
	struct hreq			*next, *prev;
};

static struct evdns_base	*dns;
static struct hreq		*pending;	/* in flight, or done and not freed */

static void
unlink_req(struct hreq *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		pending = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
}

static void
free_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct hreq *h = arg;

	unlink_req(h);
	evhttp_connection_free(h->conn);
	event_free(h->free_ev);
	free(h);
}
static SSL_CTX			*ssl_ctx;

/* Drops what is in flight, with no callbacks, and frees everything. */
void
hclient_shutdown(void)
{
	struct hreq *h;

	while ((h = pending) != NULL) {
		unlink_req(h);
		evhttp_connection_free(h->conn);
		event_free(h->free_ev);
		free(h);
	}
	if (dns != NULL)
		evdns_base_free(dns, 1);
	dns = NULL;
	if (ssl_ctx != NULL)
		SSL_CTX_free(ssl_ctx);
	ssl_ctx = NULL;
}

static void
finish(struct hreq *h, int status, const char *err)
{
	if (h->done)
		return;
	h->done = 1;
	h->cb(status, err, h->arg);
}

static void
done_cb(struct evhttp_request *req, void *arg)
{
	struct hreq	*h = arg;
	char		 err[128];
	int		 code;

	if (req == NULL || (code = evhttp_request_get_response_code(req)) == 0) {
		snprintf(err, sizeof(err), "no answer (refused, reset or timed "
		    "out)");
		finish(h, 0, err);
	} else
		finish(h, code, NULL);
	/* libevent frees the request; the connection goes from the loop. */
	event_active(h->free_ev, EV_TIMEOUT, 0);
}

static void
error_cb(enum evhttp_request_error e, void *arg)
{
	struct hreq	*h = arg;
	const char	*why = "error";

	switch (e) {
	case EVREQ_HTTP_TIMEOUT:	why = "timeout"; break;
	case EVREQ_HTTP_EOF:		why = "connection closed"; break;
	case EVREQ_HTTP_INVALID_HEADER:	why = "invalid answer"; break;
	case EVREQ_HTTP_BUFFER_ERROR:	why = "connection failed"; break;
	case EVREQ_HTTP_REQUEST_CANCEL:	why = "cancelled"; break;
	case EVREQ_HTTP_DATA_TOO_LONG:	why = "answer too long"; break;
	}
	finish(h, 0, why);
}

static SSL_CTX *
client_ctx(void)
{
	if (ssl_ctx != NULL)
		return ssl_ctx;
	if ((ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ssl_ctx) != 1)
		log_warnx("no system CA certificates: https hooks will fail");
	return ssl_ctx;
}

int
hclient_post(struct event_base *base, const char *url, const char *suffix,
    const char *body, size_t len, uint64_t timeout_ms, hclient_cb *cb,
    void *arg)
{
	struct evhttp_uri	*u;
	struct hreq		*h;
	struct bufferevent	*bev = NULL;
	struct evkeyvalq	*hdr;
	const char		*scheme, *host, *path, *query;
	char			*target = NULL, hostport[300];
	int			 port, tls;
	struct timeval		 tv = { (time_t)(timeout_ms / 1000),
				    (suseconds_t)(timeout_ms % 1000) * 1000 };

	if ((u = evhttp_uri_parse(url)) == NULL) {
		cb(0, "not a URL", arg);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	tls = scheme != NULL && strcmp(scheme, "https") == 0;
	if ((port = evhttp_uri_get_port(u)) == -1)
		port = tls ? 443 : 80;
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	if (path == NULL || *path == '\0')
		path = "/";
	/* "http://am:9093/" + "/api/v2/alerts": one slash. */
	xasprintf(&target, "%.*s%s%s%s", (int)(strlen(path) -
	    (suffix != NULL && path[strlen(path) - 1] == '/')), path,
	    suffix ? suffix : "", query ? "?" : "", query ? query : "");
	if (dns == NULL)
		dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);

	h = xcalloc(1, sizeof(*h));
	h->cb = cb;
	h->arg = arg;
	h->free_ev = evtimer_new(base, free_cb, h);
	if (tls) {
		SSL_CTX	*ctx = client_ctx();
		SSL	*ssl;

		if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL) {
			cb(0, "TLS set-up failed", arg);
			goto fail;
		}
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		SSL_set1_host(ssl, host);
		bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL) {
			SSL_free(ssl);
			cb(0, "TLS set-up failed", arg);
			goto fail;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	}
	h->conn = evhttp_connection_base_bufferevent_new(base, dns, bev, host,
	    (unsigned short)port);
	if (h->conn == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);
		cb(0, "cannot create a connection", arg);
		goto fail;
	}
	evhttp_connection_set_timeout_tv(h->conn, &tv);
	evhttp_connection_set_retries(h->conn, 0);
	evhttp_connection_set_max_body_size(h->conn, 64 * 1024);
	h->req = evhttp_request_new(done_cb, h);
	evhttp_request_set_error_cb(h->req, error_cb);
	hdr = evhttp_request_get_output_headers(h->req);
	if (port == (tls ? 443 : 80))
		snprintf(hostport, sizeof(hostport), "%s", host);
	else
		snprintf(hostport, sizeof(hostport), "%s:%d", host, port);
	evhttp_add_header(hdr, "Host", hostport);
	evhttp_add_header(hdr, "Content-Type", "application/json");
	evhttp_add_header(hdr, "User-Agent", "ccmonitor/" PACKAGE_VERSION);
	evhttp_add_header(hdr, "Connection", "close");
	evbuffer_add(evhttp_request_get_output_buffer(h->req), body, len);
	if (evhttp_make_request(h->conn, h->req, EVHTTP_REQ_POST, target) == -1) {
		/* libevent freed the request. */
		evhttp_connection_free(h->conn);
		cb(0, "cannot send the request", arg);
		goto fail;
	}
	free(target);
	evhttp_uri_free(u);
	if ((h->next = pending) != NULL)
		pending->prev = h;
	pending = h;
	return 0;
fail:
	free(target);
	evhttp_uri_free(u);
	event_free(h->free_ev);
	free(h);
	return -1;
}
