/*
 * tls.c: see tls.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "util.h"

const char *
tls_error(unsigned long err, char *buf, size_t len)
{
	if (err == 0)
		err = ERR_peek_last_error();
	if (err == 0) {
		snprintf(buf, len, "unknown TLS error");
		return buf;
	}
	ERR_error_string_n(err, buf, len);
	return buf;
}

/* OpenSSL says "system lib" for a missing file; say what is wrong. */
static int
readable(const char *path, char **cause)
{
	if (path != NULL && access(path, R_OK) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return 0;
	}
	return 1;
}

static SSL_CTX *
ctx_common(const SSL_METHOD *m, const char *cert, const char *key,
    const char *ca, char **cause)
{
	SSL_CTX	*ctx;
	char	 err[256];

	if (!readable(cert, cause) || !readable(key, cause) ||
	    !readable(ca, cause))
		return NULL;

	if ((ctx = SSL_CTX_new(m)) == NULL) {
		xasprintf(cause, "SSL_CTX_new: %s", tls_error(0, err, sizeof(err)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			xasprintf(cause, "%s: %s", cert,
			    tls_error(0, err, sizeof(err)));
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert,
		    SSL_FILETYPE_PEM) != 1) {
			xasprintf(cause, "%s: %s", key ? key : cert,
			    tls_error(0, err, sizeof(err)));
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			xasprintf(cause, "%s does not match %s", key ? key : cert,
			    cert);
			goto fail;
		}
	}
	if (ca != NULL && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		xasprintf(cause, "%s: %s", ca, tls_error(0, err, sizeof(err)));
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_server_ctx(const char *cert, const char *key, const char *ca, char **cause)
{
	SSL_CTX	*ctx;

	if (cert == NULL) {
		*cause = xstrdup("TLS needs tls-cert-file and tls-key-file");
		return NULL;
	}
	if ((ctx = ctx_common(TLS_server_method(), cert, key, ca, cause)) == NULL)
		return NULL;
	if (ca != NULL) {
		SSL_CTX_set_verify(ctx,
		    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
		if (names != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
	}
	return ctx;
}

SSL_CTX *
tls_client_ctx(const char *cert, const char *key, const char *ca, char **cause)
{
	SSL_CTX	*ctx;

	if ((ctx = ctx_common(TLS_client_method(), cert, key, ca, cause)) == NULL)
		return NULL;
	/* Always verify the server; without a CA, against the system's. */
	if (ca == NULL)
		SSL_CTX_set_default_verify_paths(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

SSL *
tls_new(SSL_CTX *ctx, int server, const struct sockaddr *peer)
{
	SSL	*ssl;
	char	 ip[INET6_ADDRSTRLEN];

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	if (!server && peer != NULL) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		if (peer->sa_family == AF_INET)
			inet_ntop(AF_INET,
			    &((const struct sockaddr_in *)peer)->sin_addr, ip,
			    sizeof(ip));
		else
			inet_ntop(AF_INET6,
			    &((const struct sockaddr_in6 *)peer)->sin6_addr, ip,
			    sizeof(ip));
		X509_VERIFY_PARAM_set1_ip_asc(vp, ip);
	}
	return ssl;
}

int
tls_peer_verified(SSL *ssl)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	int ok;

	if (peer == NULL)
		return 0;
	ok = SSL_get_verify_result(ssl) == X509_V_OK;
	X509_free(peer);
	return ok;
}
