/*
 * frame.h: length-prefixed framing.  A frame is a 4-byte big-endian length
 * and that many bytes.  The reader never allocates the claimed length: it
 * waits for the bytes to arrive in the evbuffer, and refuses a header that
 * claims more than the limit as soon as the 4 bytes are in.
 */
#ifndef CC_FRAME_H
#define CC_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define FRAME_HDR		4
#define FRAME_MAX_DEFAULT	(4u * 1024 * 1024)

enum frame_status {
	FRAME_NEED_MORE = 0,	/* no complete frame yet */
	FRAME_READY = 1,	/* *len bytes of payload follow the header */
	FRAME_TOO_BIG = -1,	/* the header claims more than max */
};

/*
 * Looks at the head of buf without consuming anything.  *len is the claimed
 * length whenever the header is in, even when it is too big.
 */
enum frame_status frame_peek(struct evbuffer *buf, size_t max, size_t *len);
/* The same, over a flat buffer. */
enum frame_status frame_peek_mem(const uint8_t *buf, size_t avail, size_t max,
		    size_t *len);
void		 frame_put_hdr(uint8_t hdr[FRAME_HDR], uint32_t len);
int		 frame_add(struct evbuffer *, const void *, size_t);

#endif
