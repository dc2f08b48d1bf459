/*
 * topk.h: the heaviest keys of a stream, in bounded memory (Space-Saving,
 * Metwally et al. 2005).  With capacity k, every key whose true count is
 * above N/k is in the summary, and each count is at most over by the
 * entry's error.  Keys are binary-safe byte strings, copied; only their
 * first TOPK_KEY_MAX bytes are kept, so longer keys are counted by that
 * prefix.  Memory is fixed at creation: k entries and their keys.
 */
#ifndef CC_TOPK_H
#define CC_TOPK_H

#include <stddef.h>
#include <stdint.h>

#define TOPK_KEY_MAX	1024	/* bytes of a key that are counted */

struct topk;

struct topk_item {
	const char	*key;		/* owned by the summary */
	size_t		 keylen;
	uint64_t	 count;		/* an upper bound of the true count */
	uint64_t	 error;		/* count - error is a lower bound */
	uint32_t	 db;
	const char	*type;		/* static string, or "" */
};

/* capacity k: 1 to 2^20 (outside values are clamped). */
struct topk	*topk_new(size_t capacity);
void		 topk_free(struct topk *);
void		 topk_clear(struct topk *);
/*
 * Counts n occurrences of key in db (the same name in two dbs is two
 * keys).  type, when not NULL or "", replaces the entry's type.
 * O(log k).
 */
void		 topk_add(struct topk *, uint32_t db, const char *key,
		    size_t keylen, const char *type, uint64_t n);
/* Total of all counts added since the last clear. */
uint64_t	 topk_total(const struct topk *);
/*
 * The n heaviest, best first, into out (at most n).  Pointers stay valid
 * until the next add, clear or free.  Returns how many.
 */
size_t		 topk_list(const struct topk *, struct topk_item *out, size_t n);

#endif
