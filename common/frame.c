/*
 * frame.c: see frame.h.
 */
#include "config.h"

#include <event2/buffer.h>

#include "frame.h"

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void
frame_put_hdr(uint8_t hdr[FRAME_HDR], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

enum frame_status
frame_peek_mem(const uint8_t *buf, size_t avail, size_t max, size_t *len)
{
	uint32_t n;

	if (avail < FRAME_HDR)
		return FRAME_NEED_MORE;
	n = get_be32(buf);
	*len = n;
	if (n > max)
		return FRAME_TOO_BIG;
	return avail - FRAME_HDR >= n ? FRAME_READY : FRAME_NEED_MORE;
}

enum frame_status
frame_peek(struct evbuffer *buf, size_t max, size_t *len)
{
	uint8_t	hdr[FRAME_HDR];
	size_t	avail = evbuffer_get_length(buf);
	uint32_t n;

	if (avail < FRAME_HDR)
		return FRAME_NEED_MORE;
	evbuffer_copyout(buf, hdr, FRAME_HDR);
	n = get_be32(hdr);
	*len = n;
	if (n > max)
		return FRAME_TOO_BIG;
	return avail - FRAME_HDR >= n ? FRAME_READY : FRAME_NEED_MORE;
}

int
frame_add(struct evbuffer *buf, const void *data, size_t len)
{
	uint8_t hdr[FRAME_HDR];

	if (len > UINT32_MAX)
		return -1;
	frame_put_hdr(hdr, (uint32_t)len);
	if (evbuffer_add(buf, hdr, FRAME_HDR) == -1 ||
	    evbuffer_add(buf, data, len) == -1)
		return -1;
	return 0;
}
