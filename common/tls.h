/*
 * tls.h: OpenSSL contexts for the report link and the management port.
 *
 * A server context with a CA file asks for and verifies a client
 * certificate (mutual TLS).  A client context with a CA file verifies the
 * server's certificate, including that it names the IP address dialled.
 */
#ifndef CC_TLS_H
#define CC_TLS_H

#include <sys/socket.h>
#include <openssl/ssl.h>

SSL_CTX	*tls_server_ctx(const char *cert, const char *key, const char *ca,
	    char **cause);
SSL_CTX	*tls_client_ctx(const char *cert, const char *key, const char *ca,
	    char **cause);
/* A new SSL for one connection; a client checks the server's IP. */
SSL	*tls_new(SSL_CTX *, int server, const struct sockaddr *peer);
/* The last OpenSSL error as text, for logs. */
const char *tls_error(unsigned long err, char *buf, size_t len);
/* Whether the peer presented a certificate that verified. */
int	 tls_peer_verified(SSL *);

#endif
