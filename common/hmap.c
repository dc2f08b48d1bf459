/*
 * hmap.c: see hmap.h.  Linear probing with backward-shift deletion, so
 * there are no tombstones; the table doubles past 70% full.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"

struct slot {
	const char	*key;
	void		*value;
	uint64_t	 hash;
};

struct hmap {
	struct slot	*slots;
	size_t		 cap;		/* power of two */
	size_t		 count;
	uint64_t	 seed;
};

static uint64_t
hash(const struct hmap *m, const char *s)
{
	/* FNV-1a over a random seed, finished with a 64-bit mix. */
	uint64_t h = 14695981039346656037ULL ^ m->seed;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

struct hmap *
hmap_new(void)
{
	struct hmap *m = xcalloc(1, sizeof(*m));

	m->cap = 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	m->seed = random_u64();
	return m;
}

void
hmap_free(struct hmap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m);
}

static size_t
find(const struct hmap *m, const char *key, uint64_t h)
{
	size_t i = h & (m->cap - 1);

	while (m->slots[i].key != NULL) {
		if (m->slots[i].hash == h && strcmp(m->slots[i].key, key) == 0)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
	return i;
}

void *
hmap_get(const struct hmap *m, const char *key)
{
	size_t i = find(m, key, hash(m, key));

	return m->slots[i].key ? m->slots[i].value : NULL;
}

static void
grow(struct hmap *m)
{
	struct slot	*old = m->slots;
	size_t		 oldcap = m->cap, i, j;

	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		j = old[i].hash & (m->cap - 1);
		while (m->slots[j].key != NULL)
			j = (j + 1) & (m->cap - 1);
		m->slots[j] = old[i];
	}
	free(old);
}

void
hmap_put(struct hmap *m, const char *key, void *value)
{
	uint64_t	h = hash(m, key);
	size_t		i = find(m, key, h);

	if (m->slots[i].key != NULL) {
		m->slots[i].key = key;
		m->slots[i].value = value;
		return;
	}
	if ((m->count + 1) * 10 > m->cap * 7) {
		grow(m);
		i = find(m, key, h);
	}
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->slots[i].hash = h;
	m->count++;
}

void *
hmap_del(struct hmap *m, const char *key)
{
	size_t	 i = find(m, key, hash(m, key)), j, home;
	void	*value;

	if (m->slots[i].key == NULL)
		return NULL;
	value = m->slots[i].value;
	m->slots[i].key = NULL;
	m->count--;
	/* Shift back the entries that probed past the hole. */
	for (j = (i + 1) & (m->cap - 1); m->slots[j].key != NULL;
	    j = (j + 1) & (m->cap - 1)) {
		home = m->slots[j].hash & (m->cap - 1);
		if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = NULL;
			i = j;
		}
	}
	return value;
}

size_t
hmap_count(const struct hmap *m)
{
	return m->count;
}

void *
hmap_next(const struct hmap *m, size_t *pos)
{
	while (*pos < m->cap) {
		struct slot *s = &m->slots[(*pos)++];

		if (s->key != NULL)
			return s->value;
	}
	return NULL;
}
