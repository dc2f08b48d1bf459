/*
 * fuzz_frame.c: peer bytes as the report and management ports see them.
 * The input is a stream of frames; each complete frame is unpacked as an
 * Envelope under the allocation budget the daemons use, and whatever
 * unpacks is packed again, and must read back as the same bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "frame.h"
#include "proto/ccnode.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct arena *arena;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ccnode__Envelope	*env, *again;
	size_t			 off = 0, len, plen;
	uint8_t			*buf;

	if (arena == NULL)
		arena = arena_new(64 * 1024);
	/* The daemons' default limit; a stream of them, as a peer sends. */
	while (frame_peek_mem(data + off, size - off, 4u * 1024 * 1024,
	    &len) == FRAME_READY) {
		const uint8_t *body = data + off + FRAME_HDR;

		off += FRAME_HDR + len;
		arena_reset(arena, ARENA_BUDGET(len));
		env = ccnode__envelope__unpack(arena_allocator(arena), len,
		    body);
		if (env == NULL)
			continue;
		if (arena_used(arena) > ARENA_BUDGET(len))
			abort();
		plen = ccnode__envelope__get_packed_size(env);
		buf = malloc(plen ? plen : 1);
		if (ccnode__envelope__pack(env, buf) != plen)
			abort();
		/*
		 * What we pack, we read back as the same thing.  (Not always
		 * readable: protobuf-c 1.4 accepts a field number 0 written
		 * in two bytes but refuses the one-byte form it packs, so an
		 * unknown field 0 does not survive.  The daemons never
		 * re-pack peer input.)
		 */
		again = ccnode__envelope__unpack(NULL, plen, buf);
		if (again != NULL) {
			uint8_t *buf2 = malloc(plen ? plen : 1);

			if (ccnode__envelope__get_packed_size(again) != plen)
				abort();
			ccnode__envelope__pack(again, buf2);
			if (memcmp(buf, buf2, plen) != 0)
				abort();
			free(buf2);
			ccnode__envelope__free_unpacked(again, NULL);
		}
		free(buf);
	}
	return 0;
}
