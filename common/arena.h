/*
 * arena.h: a bump allocator with a budget, used as the ProtobufCAllocator
 * for every unpack of peer input.
 *
 * protobuf-c allocates a whole C struct for each submessage, so a small
 * frame of empty submessages can expand a hundredfold in the heap.  The
 * budget turns that into a failed unpack instead of an exhausted host, and
 * the arena makes the allocations cheap: reset() frees a message at once.
 */
#ifndef CC_ARENA_H
#define CC_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

struct arena;

struct arena	*arena_new(size_t chunk);
void		 arena_free(struct arena *);
/* Forgets every allocation and sets the budget for the next unpack. */
void		 arena_reset(struct arena *, size_t budget);
void		*arena_alloc(struct arena *, size_t);
/* Whether an allocation was refused since the last reset. */
int		 arena_exhausted(const struct arena *);
size_t		 arena_used(const struct arena *);
ProtobufCAllocator *arena_allocator(struct arena *);

/* The budget for unpacking a frame of len bytes. */
#define ARENA_BUDGET(len)	((size_t)(len) * 64 + 64 * 1024)

#endif
