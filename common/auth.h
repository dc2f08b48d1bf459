/*
 * auth.h: HMAC-SHA256 challenge-response over a shared secret.
 *
 * The server sends a random nonce; the client answers with its own nonce and
 * a proof; the server answers with a proof of its own, so each side knows the
 * other holds the secret, and the secret never crosses the wire.  The two
 * proofs use different labels so that one cannot be replayed as the other.
 */
#ifndef CC_AUTH_H
#define CC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_NONCE_LEN	32
#define AUTH_PROOF_LEN	32
#define AUTH_SECRET_MIN	16
#define AUTH_SECRET_MAX	4096

struct auth_secret {
	uint8_t	*key;
	size_t	 len;
};

/*
 * Reads a secret file: trailing whitespace is dropped; at least
 * AUTH_SECRET_MIN bytes; the file must not be readable by others.
 */
int	auth_load_secret(const char *path, struct auth_secret *, char **cause);
void	auth_clear_secret(struct auth_secret *);

/* server: 0 for the client's proof, 1 for the server's. */
void	auth_proof(const struct auth_secret *, int server,
	    const uint8_t snonce[AUTH_NONCE_LEN],
	    const uint8_t cnonce[AUTH_NONCE_LEN], const char *name,
	    uint8_t out[AUTH_PROOF_LEN]);
/* Constant-time check of a received proof.  Returns 1 when it is right. */
int	auth_verify(const struct auth_secret *, int server,
	    const uint8_t snonce[AUTH_NONCE_LEN],
	    const uint8_t cnonce[AUTH_NONCE_LEN], const char *name,
	    const uint8_t *proof, size_t prooflen);

#endif
