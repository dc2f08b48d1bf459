/*
 * test_auth.c: the HMAC-SHA256 challenge-response (common/auth.c) and the
 * secret file loader.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "util.h"
#include "testutil.h"

static const char	key_a[] = "correct horse battery staple";
static const char	key_b[] = "correct horse battery staplf";

static struct auth_secret
secret(const char *k)
{
	struct auth_secret s;

	s.key = (uint8_t *)(uintptr_t)k;
	s.len = strlen(k);
	return s;
}

static void
nonces(uint8_t sn[AUTH_NONCE_LEN], uint8_t cn[AUTH_NONCE_LEN])
{
	int i;

	for (i = 0; i < AUTH_NONCE_LEN; i++) {
		sn[i] = (uint8_t)(i * 7 + 1);
		cn[i] = (uint8_t)(255 - i * 3);
	}
}

static void
test_proofs_verify(void)
{
	struct auth_secret	s = secret(key_a);
	uint8_t			sn[AUTH_NONCE_LEN], cn[AUTH_NONCE_LEN];
	uint8_t			cp[AUTH_PROOF_LEN], sp[AUTH_PROOF_LEN];

	nonces(sn, cn);
	auth_proof(&s, 0, sn, cn, "node-1", cp);
	auth_proof(&s, 1, sn, cn, "node-1", sp);
	CU_ASSERT_TRUE(auth_verify(&s, 0, sn, cn, "node-1", cp, sizeof(cp)));
	CU_ASSERT_TRUE(auth_verify(&s, 1, sn, cn, "node-1", sp, sizeof(sp)));
	/* The two directions differ: one is never the other. */
	CU_ASSERT(memcmp(cp, sp, AUTH_PROOF_LEN) != 0);
	/* Deterministic. */
	auth_proof(&s, 0, sn, cn, "node-1", sp);
	CU_ASSERT(memcmp(cp, sp, AUTH_PROOF_LEN) == 0);
}

static void
test_proofs_refuse(void)
{
	struct auth_secret	a = secret(key_a), b = secret(key_b);
	uint8_t			sn[AUTH_NONCE_LEN], cn[AUTH_NONCE_LEN];
	uint8_t			cp[AUTH_PROOF_LEN], sp[AUTH_PROOF_LEN];
	uint8_t			bad[AUTH_PROOF_LEN];

	nonces(sn, cn);
	auth_proof(&a, 0, sn, cn, "node-1", cp);
	auth_proof(&a, 1, sn, cn, "node-1", sp);
	/* Wrong secret. */
	CU_ASSERT_FALSE(auth_verify(&b, 0, sn, cn, "node-1", cp, sizeof(cp)));
	CU_ASSERT_FALSE(auth_verify(&b, 1, sn, cn, "node-1", sp, sizeof(sp)));
	/* Nonces swapped. */
	CU_ASSERT_FALSE(auth_verify(&a, 0, cn, sn, "node-1", cp, sizeof(cp)));
	CU_ASSERT_FALSE(auth_verify(&a, 1, cn, sn, "node-1", sp, sizeof(sp)));
	/* A client proof replayed as the server's, and back. */
	CU_ASSERT_FALSE(auth_verify(&a, 1, sn, cn, "node-1", cp, sizeof(cp)));
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-1", sp, sizeof(sp)));
	/* Reflection: the server's own nonce sent back as the client's. */
	auth_proof(&a, 1, cn, sn, "node-1", bad);
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-1", bad, sizeof(bad)));
	/* Wrong name, and names that only differ at the end. */
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-2", cp, sizeof(cp)));
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-", cp, sizeof(cp)));
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-10", cp, sizeof(cp)));
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "", cp, sizeof(cp)));
	/* Truncated, extended, empty, one bit off. */
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-1", cp, 31));
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-1", cp, 16));
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-1", cp, 0));
	memcpy(bad, cp, sizeof(bad));
	bad[31] ^= 1;
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-1", bad, sizeof(bad)));
	/* One nonce byte off. */
	sn[5] ^= 0x80;
	CU_ASSERT_FALSE(auth_verify(&a, 0, sn, cn, "node-1", cp, sizeof(cp)));
}

/*
 * The wire format is written down in proto/ccnode.proto:
 *   client proof = HMAC-SHA256(secret, "ccnode-v1 client" | snonce | cnonce | name)
 *   server proof = HMAC-SHA256(secret, "ccnode-v1 server" | cnonce | snonce | name)
 * A peer written from that text must interoperate.
 */
static void
test_proof_matches_spec(void)
{
	struct auth_secret	s = secret(key_a);
	uint8_t			sn[AUTH_NONCE_LEN], cn[AUTH_NONCE_LEN];
	uint8_t			got[AUTH_PROOF_LEN], want[EVP_MAX_MD_SIZE];
	uint8_t			msg[256];
	unsigned int		wlen = 0;
	size_t			n;
	int			server;

	nonces(sn, cn);
	for (server = 0; server <= 1; server++) {
		n = 0;
		/* The label with its NUL: 17 bytes. */
		memcpy(msg, server ? "ccnode-v1 server" : "ccnode-v1 client",
		    17);
		n += 17;
		memcpy(msg + n, server ? cn : sn, AUTH_NONCE_LEN);
		n += AUTH_NONCE_LEN;
		memcpy(msg + n, server ? sn : cn, AUTH_NONCE_LEN);
		n += AUTH_NONCE_LEN;
		msg[n++] = 6;		/* the length byte of the name */
		memcpy(msg + n, "node-1", 6);
		n += 6;
		HMAC(EVP_sha256(), s.key, (int)s.len, msg, n, want, &wlen);
		auth_proof(&s, server, sn, cn, "node-1", got);
		CU_ASSERT_EQUAL(wlen, AUTH_PROOF_LEN);
		if (memcmp(got, want, AUTH_PROOF_LEN) != 0) {
			fprintf(stderr, "\n  BUG: the %s proof is not the one "
			    "proto/ccnode.proto specifies", server ? "server" :
			    "client");
			CU_FAIL("auth_proof differs from the documented formula");
		}
	}
}

static void
test_load_secret(void)
{
	struct auth_secret	 s = { NULL, 0 };
	char			*dir = tu_tmpdir(), *path, *cause = NULL;
	char			 big[AUTH_SECRET_MAX + 10];

	path = tu_join(dir, "secret");

	tu_write(path, "0123456789abcdefXYZ\n", -1, 0600);
	CU_ASSERT_EQUAL_FATAL(auth_load_secret(path, &s, &cause), 0);
	CU_ASSERT_EQUAL(s.len, 19);		/* the newline is dropped */
	CU_ASSERT(memcmp(s.key, "0123456789abcdefXYZ", 19) == 0);
	auth_clear_secret(&s);
	CU_ASSERT_PTR_NULL(s.key);
	CU_ASSERT_EQUAL(s.len, 0);
	auth_clear_secret(&s);			/* twice is fine */

	/* Trailing spaces and CRLF go too; leading ones stay. */
	tu_write(path, " 0123456789abcdef \r\n\n", -1, 0640);
	CU_ASSERT_EQUAL_FATAL(auth_load_secret(path, &s, &cause), 0);
	CU_ASSERT_EQUAL(s.len, 17);
	auth_clear_secret(&s);

	/* Readable by others. */
	tu_write(path, "0123456789abcdefXYZ\n", -1, 0644);
	CU_ASSERT_EQUAL(auth_load_secret(path, &s, &cause), -1);
	CU_ASSERT(tu_has(cause, "readable by others"));
	CU_ASSERT_PTR_NULL(s.key);
	free(cause);
	cause = NULL;

	/* Too short once trimmed. */
	tu_write(path, "0123456789abcde\n\n\n\n", -1, 0600);
	CU_ASSERT_EQUAL(auth_load_secret(path, &s, &cause), -1);
	CU_ASSERT(tu_has(cause, "shorter than 16"));
	free(cause);
	cause = NULL;

	/* Exactly the minimum. */
	tu_write(path, "0123456789abcdef", -1, 0600);
	CU_ASSERT_EQUAL(auth_load_secret(path, &s, &cause), 0);
	CU_ASSERT_EQUAL(s.len, AUTH_SECRET_MIN);
	auth_clear_secret(&s);

	/* Too long. */
	memset(big, 'k', sizeof(big));
	tu_write(path, big, sizeof(big), 0600);
	CU_ASSERT_EQUAL(auth_load_secret(path, &s, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;

	/* Missing. */
	unlink(path);
	CU_ASSERT_EQUAL(auth_load_secret(path, &s, &cause), -1);
	CU_ASSERT(tu_has(cause, path));
	free(cause);

	free(path);
	tu_rmdir(dir);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_proofs_verify),
		TU_TEST(test_proofs_refuse),
		TU_TEST(test_proof_matches_spec),
		TU_TEST(test_load_secret),
	};

	return tu_main("auth", tests, nitems(tests));
}
