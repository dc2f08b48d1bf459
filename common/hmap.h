/*
 * hmap.h: a string-keyed hash map with open addressing.  Keys are owned by
 * the caller (usually a name inside the value).  The hash is seeded at
 * random per map, so names chosen by a peer cannot pile into one chain.
 */
#ifndef CC_HMAP_H
#define CC_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap;

struct hmap	*hmap_new(void);
void		 hmap_free(struct hmap *);
void		*hmap_get(const struct hmap *, const char *key);
/* Inserts or replaces; key must live as long as the entry. */
void		 hmap_put(struct hmap *, const char *key, void *value);
void		*hmap_del(struct hmap *, const char *key);
size_t		 hmap_count(const struct hmap *);
/* Iteration: *pos starts at 0; returns NULL at the end. */
void		*hmap_next(const struct hmap *, size_t *pos);

#endif
