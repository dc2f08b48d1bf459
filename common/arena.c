/*
 * arena.c: see arena.h.  Chunks are kept in a list; the first one survives
 * reset so that steady-state unpacking does not touch malloc at all.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "util.h"

#define ARENA_ALIGN	16

struct chunk {
	struct chunk	*next;
	size_t		 size;
	size_t		 used;
	_Alignas(max_align_t) unsigned char data[];	/* as malloc aligns */
};

struct arena {
	ProtobufCAllocator	 pa;
	struct chunk		*head;		/* current chunk */
	struct chunk		*first;		/* kept across resets */
	size_t			 chunk;
	size_t			 budget;
	size_t			 used;
	int			 exhausted;
};

static void *
pa_alloc(void *data, size_t size)
{
	return arena_alloc(data, size);
}

static void
pa_free(void *data, void *ptr)
{
	/* Everything goes at the next reset. */
}

static struct chunk *
chunk_new(size_t size)
{
	struct chunk *c = xmalloc(sizeof(*c) + size);

	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

struct arena *
arena_new(size_t chunk)
{
	struct arena *a = xcalloc(1, sizeof(*a));

	a->chunk = chunk < 4096 ? 4096 : chunk;
	a->first = a->head = chunk_new(a->chunk);
	a->pa.alloc = pa_alloc;
	a->pa.free = pa_free;
	a->pa.allocator_data = a;
	a->budget = SIZE_MAX;
	return a;
}

void
arena_reset(struct arena *a, size_t budget)
{
	struct chunk *c, *next;

	for (c = a->head; c != a->first; c = next) {
		next = c->next;
		free(c);
	}
	a->head = a->first;
	a->first->used = 0;
	a->used = 0;
	a->budget = budget;
	a->exhausted = 0;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a, 0);
	free(a->first);
	free(a);
}

void *
arena_alloc(struct arena *a, size_t size)
{
	struct chunk	*c;
	size_t		 need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void		*p;

	if (size == 0)
		need = ARENA_ALIGN;
	if (need < size || need > a->budget - a->used) {
		a->exhausted = 1;
		return NULL;
	}
	c = a->head;
	if (c->size - c->used < need) {
		c = chunk_new(need > a->chunk ? need : a->chunk);
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	a->used += need;
	return p;
}

int
arena_exhausted(const struct arena *a)
{
	return a->exhausted;
}

size_t
arena_used(const struct arena *a)
{
	return a->used;
}

ProtobufCAllocator *
arena_allocator(struct arena *a)
{
	return &a->pa;
}
