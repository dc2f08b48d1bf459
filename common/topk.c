/*
 * topk.c: see topk.h.  Space-Saving over a fixed set of k entries.
 *
 * The entries sit in a binary min-heap on count, so the entry to evict
 * is the root, and an index of open addressing (linear probing,
 * backward-shift deletion, at most half full) finds a key's entry.  An
 * add is one lookup plus one sift down the heap: O(log k).  A new key
 * when the summary is full takes the root's place with count min + n
 * and error min (the key may have been counted, then evicted, up to min
 * times).  So the sum of all counts is the total, and every key whose
 * true count is above total/k stays in the summary.
 *
 * Keys are copied, and only their first TOPK_KEY_MAX bytes: longer keys
 * are counted by that prefix.  The index is seeded at random, so keys a
 * client chooses cannot pile up in one probe chain on purpose.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "topk.h"
#include "util.h"

#define TOPK_MAX_CAPACITY	(1U << 20)

struct entry {
	char		*key;
	size_t		 keylen;
	size_t		 keycap;
	uint64_t	 count;
	uint64_t	 error;
	uint64_t	 hash;
	uint32_t	 db;
	const char	*type;
	size_t		 heap;		/* position in heap[] */
	size_t		 slot;		/* position in index[] */
};

struct topk {
	size_t		  cap;		/* entries */
	size_t		  n;		/* in use */
	struct entry	 *v;
	struct entry	**heap;		/* min-heap on count */
	struct entry	**index;	/* open addressing, nslots */
	size_t		  nslots;	/* power of two, at least 2 * cap */
	uint64_t	  seed;
	uint64_t	  total;
};

static uint64_t
key_hash(const struct topk *t, uint32_t db, const char *key, size_t len)
{
	uint64_t	h = 14695981039346656037ULL ^ t->seed;
	size_t		i;

	h ^= db;
	h *= 1099511628211ULL;
	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

struct topk *
topk_new(size_t capacity)
{
	struct topk	*t = xcalloc(1, sizeof(*t));

	t->cap = capacity == 0 ? 1 : MINIMUM(capacity, TOPK_MAX_CAPACITY);
	t->v = xcalloc(t->cap, sizeof(*t->v));
	t->heap = xcalloc(t->cap, sizeof(*t->heap));
	t->nslots = 4;
	while (t->nslots < 2 * t->cap)
		t->nslots <<= 1;
	t->index = xcalloc(t->nslots, sizeof(*t->index));
	t->seed = random_u64();
	return t;
}

void
topk_free(struct topk *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->cap; i++)
		free(t->v[i].key);
	free(t->index);
	free(t->heap);
	free(t->v);
	free(t);
}

void
topk_clear(struct topk *t)
{
	memset(t->index, 0, t->nslots * sizeof(*t->index));
	t->n = 0;
	t->total = 0;
	t->seed = random_u64();
}

uint64_t
topk_total(const struct topk *t)
{
	return t->total;
}

/* ---- index ------------------------------------------------------------- */

static struct entry *
index_find(const struct topk *t, uint64_t h, uint32_t db, const char *key,
    size_t len, size_t *slotp)
{
	size_t		 mask = t->nslots - 1, i = h & mask;
	struct entry	*e;

	while ((e = t->index[i]) != NULL) {
		if (e->hash == h && e->db == db && e->keylen == len &&
		    memcmp(e->key, key, len) == 0)
			return e;
		i = (i + 1) & mask;
	}
	*slotp = i;		/* the free slot where key would go */
	return NULL;
}

/* Removes e from the index, shifting later entries of its chain back. */
static void
index_del(struct topk *t, struct entry *e)
{
	size_t		 mask = t->nslots - 1, i = e->slot, j = i, home;
	struct entry	*f;

	t->index[i] = NULL;
	for (;;) {
		j = (j + 1) & mask;
		if ((f = t->index[j]) == NULL)
			return;
		home = f->hash & mask;
		/* f may move into the hole at i unless its home is in (i, j]. */
		if (i <= j ? (home <= i || home > j) :
		    (home <= i && home > j)) {
			t->index[i] = f;
			f->slot = i;
			t->index[j] = NULL;
			i = j;
		}
	}
}

/* ---- heap -------------------------------------------------------------- */

static void
heap_set(struct topk *t, size_t i, struct entry *e)
{
	t->heap[i] = e;
	e->heap = i;
}

/* A new entry at the end: move it towards the root. */
static void
heap_up(struct topk *t, struct entry *e)
{
	size_t i = e->heap, p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (t->heap[p]->count <= e->count)
			break;
		heap_set(t, i, t->heap[p]);
		i = p;
	}
	heap_set(t, i, e);
}

/* e's count went up: move it towards the leaves. */
static void
heap_down(struct topk *t, struct entry *e)
{
	size_t		 i = e->heap, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= t->n)
			break;
		if (c + 1 < t->n && t->heap[c + 1]->count < t->heap[c]->count)
			c++;
		if (t->heap[c]->count >= e->count)
			break;
		heap_set(t, i, t->heap[c]);
		i = c;
	}
	heap_set(t, i, e);
}

/* ---- add and list ------------------------------------------------------ */

static void
entry_setkey(struct entry *e, const char *key, size_t len)
{
	if (len > e->keycap || e->key == NULL) {
		free(e->key);
		e->keycap = MAXIMUM(len, 16);
		e->key = xmalloc(e->keycap + 1);
	}
	memcpy(e->key, key, len);
	e->key[len] = '\0';
	e->keylen = len;
}

void
topk_add(struct topk *t, uint32_t db, const char *key, size_t keylen,
    const char *type, uint64_t n)
{
	struct entry	*e;
	uint64_t	 h;
	size_t		 slot = 0;
	int		 appended = 0;

	if (n == 0)
		return;
	if (key == NULL) {
		key = "";	/* never NULL into memcpy or memcmp */
		keylen = 0;
	}
	if (keylen > TOPK_KEY_MAX)
		keylen = TOPK_KEY_MAX;
	t->total += n;
	h = key_hash(t, db, key, keylen);
	if ((e = index_find(t, h, db, key, keylen, &slot)) != NULL) {
		e->count += n;
		if (type != NULL && *type != '\0')
			e->type = type;
		heap_down(t, e);
		return;
	}
	if (t->n < t->cap) {
		e = &t->v[t->n];
		e->count = n;
		e->error = 0;
		heap_set(t, t->n, e);
		t->n++;
		appended = 1;
	} else {
		/* Evict the minimum; the new key inherits its count. */
		e = t->heap[0];
		index_del(t, e);
		/* The deletion may have moved the chain: find the slot anew. */
		(void)index_find(t, h, db, key, keylen, &slot);
		e->error = e->count;
		e->count += n;
	}
	entry_setkey(e, key, keylen);
	e->hash = h;
	e->db = db;
	e->type = type != NULL ? type : "";
	e->slot = slot;
	t->index[slot] = e;
	if (appended)
		heap_up(t, e);
	else
		heap_down(t, e);	/* in the root's place */
}

static int
item_cmp(const void *a, const void *b)
{
	const struct entry	*x = *(struct entry * const *)a;
	const struct entry	*y = *(struct entry * const *)b;
	size_t			 l;
	int			 c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->error != y->error)
		return x->error < y->error ? -1 : 1;
	if (x->db != y->db)
		return x->db < y->db ? -1 : 1;
	l = MINIMUM(x->keylen, y->keylen);
	if ((c = memcmp(x->key, y->key, l)) != 0)
		return c;
	return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

size_t
topk_list(const struct topk *t, struct topk_item *out, size_t n)
{
	struct entry	**v;
	size_t		  i;

	if (n == 0 || t->n == 0)
		return 0;
	v = xreallocarray(NULL, t->n, sizeof(*v));
	memcpy(v, t->heap, t->n * sizeof(*v));
	xqsort(v, t->n, sizeof(*v), item_cmp);
	n = MINIMUM(n, t->n);
	for (i = 0; i < n; i++) {
		out[i].key = v[i]->key;
		out[i].keylen = v[i]->keylen;
		out[i].count = v[i]->count;
		out[i].error = v[i]->error;
		out[i].db = v[i]->db;
		out[i].type = v[i]->type;
	}
	free(v);
	return n;
}
