/*
 * auth.c: see auth.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "util.h"

int
auth_load_secret(const char *path, struct auth_secret *s, char **cause)
{
	struct stat	 st;
	char		*buf;
	size_t		 len;

	if (stat(path, &st) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & S_IROTH) {
		xasprintf(cause, "%s: readable by others; chmod o-r it", path);
		return -1;
	}
	if ((buf = read_small_file(path, AUTH_SECRET_MAX, 1, &len, cause)) == NULL)
		return -1;
	if (len < AUTH_SECRET_MIN) {
		xasprintf(cause, "%s: secret shorter than %d bytes", path,
		    AUTH_SECRET_MIN);
		OPENSSL_cleanse(buf, len);
		free(buf);
		return -1;
	}
	s->key = (uint8_t *)buf;
	s->len = len;
	return 0;
}

void
auth_clear_secret(struct auth_secret *s)
{
	if (s->key != NULL) {
		OPENSSL_cleanse(s->key, s->len);
		free(s->key);
	}
	s->key = NULL;
	s->len = 0;
}

void
auth_proof(const struct auth_secret *s, int server,
    const uint8_t snonce[AUTH_NONCE_LEN], const uint8_t cnonce[AUTH_NONCE_LEN],
    const char *name, uint8_t out[AUTH_PROOF_LEN])
{
	static const char	 cl[] = "ccnode-v1 client";
	static const char	 sl[] = "ccnode-v1 server";
	uint8_t			 msg[sizeof(cl) + 2 * AUTH_NONCE_LEN + 256];
	size_t			 n = 0, namelen = strlen(name);
	unsigned int		 outlen = AUTH_PROOF_LEN;

	if (namelen > 255)
		namelen = 255;
	memcpy(msg, server ? sl : cl, sizeof(cl));
	n += sizeof(cl);
	memcpy(msg + n, server ? cnonce : snonce, AUTH_NONCE_LEN);
	n += AUTH_NONCE_LEN;
	memcpy(msg + n, server ? snonce : cnonce, AUTH_NONCE_LEN);
	n += AUTH_NONCE_LEN;
	msg[n++] = (uint8_t)namelen;
	memcpy(msg + n, name, namelen);
	n += namelen;
	HMAC(EVP_sha256(), s->key, (int)s->len, msg, n, out, &outlen);
}

int
auth_verify(const struct auth_secret *s, int server,
    const uint8_t snonce[AUTH_NONCE_LEN], const uint8_t cnonce[AUTH_NONCE_LEN],
    const char *name, const uint8_t *proof, size_t prooflen)
{
	uint8_t	want[AUTH_PROOF_LEN];

	if (prooflen != AUTH_PROOF_LEN)
		return 0;
	auth_proof(s, server, snonce, cnonce, name, want);
	return CRYPTO_memcmp(want, proof, AUTH_PROOF_LEN) == 0;
}
