/*
 * fuzz_monline.c: MONITOR lines, which come from whatever answers on an
 * instance's port.  The input is split at newlines; each line is parsed
 * into a buffer of exactly its length (so ASan sees any overrun), and the
 * keys of the parsed commands go into a small Space-Saving summary, which
 * must keep its invariants: counts add up to the total, each count is at
 * least its error, the list is best first and keys stay within
 * TOPK_KEY_MAX.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monline.h"
#include "topk.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CAP	8

struct ctx {
	struct topk	*tk;
	uint32_t	 db;
	const char	*buf;
	size_t		 buflen;
	uint64_t	 keys;
};

static void
key_cb(void *arg, const char *key, size_t keylen, const char *type)
{
	struct ctx *c = arg;

	/* A key is one decoded argument: inside the buffer. */
	if (key < c->buf || keylen > c->buflen ||
	    key + keylen > c->buf + c->buflen || type == NULL)
		abort();
	topk_add(c->tk, c->db, key, keylen, type, 1);
	c->keys++;
}

static void
check_line(struct ctx *c, const char *line, size_t len)
{
	struct monline	 m;
	char		*buf = malloc(len > 0 ? len : 1);
	size_t		 total = 0;
	int		 i, n;

	if (buf == NULL)
		return;
	if (monline_parse(line, len, buf, &m) == 0) {
		if (m.argc < 1 || m.argc > MONLINE_MAX_ARGS ||
		    memchr(m.client, '\0', sizeof(m.client)) == NULL ||
		    m.client[0] == '\0')
			abort();
		for (i = 0; i < m.argc; i++) {
			if (m.argv[i] < buf ||
			    m.argv[i] + m.argl[i] >= buf + len ||
			    m.argv[i][m.argl[i]] != '\0')
				abort();
			total += m.argl[i] + 1;
		}
		/* Decoded arguments (and their NULs) fit in the line. */
		if (total > len)
			abort();
		c->db = m.db;
		c->buf = buf;
		c->buflen = len;
		n = monline_keys(&m, key_cb, c);
		if (n < 0 || n > m.argc)
			abort();
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx		 c;
	struct topk_item	 it[CAP];
	const char		*p = (const char *)data, *end = p + size, *nl;
	uint64_t		 sum = 0;
	size_t			 i, n;

	memset(&c, 0, sizeof(c));
	c.tk = topk_new(CAP);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		check_line(&c, p, (size_t)(nl - p));
		p = nl + 1;
	}
	if (topk_total(c.tk) != c.keys)
		abort();
	n = topk_list(c.tk, it, CAP);
	if (n > CAP || (c.keys > 0 && n == 0))
		abort();
	for (i = 0; i < n; i++) {
		if (it[i].count < it[i].error || it[i].count == 0 ||
		    it[i].keylen > TOPK_KEY_MAX || it[i].type == NULL ||
		    (i > 0 && it[i].count > it[i - 1].count))
			abort();
		sum += it[i].count;
	}
	if (sum != c.keys)
		abort();
	topk_free(c.tk);
	return 0;
}
