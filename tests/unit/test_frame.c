/*
 * test_frame.c: length-prefixed framing (common/frame.c) over evbuffers and
 * flat buffers: split and merged frames, empty frames, the limit, and that
 * a huge claimed length allocates nothing.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "frame.h"
#include "util.h"
#include "testutil.h"

/* ---- libevent's allocations, watched ------------------------------------- */

static size_t	biggest_alloc;

static void *
watch_malloc(size_t n)
{
	if (n > biggest_alloc)
		biggest_alloc = n;
	return malloc(n);
}

static void *
watch_realloc(void *p, size_t n)
{
	if (n > biggest_alloc)
		biggest_alloc = n;
	return realloc(p, n);
}

static void
watch_free(void *p)
{
	free(p);
}

static void
hdr(uint8_t *h, uint32_t n)
{
	frame_put_hdr(h, n);
}

static void
test_put_hdr(void)
{
	uint8_t h[FRAME_HDR];

	frame_put_hdr(h, 0x01020304);
	CU_ASSERT(h[0] == 1 && h[1] == 2 && h[2] == 3 && h[3] == 4);
	frame_put_hdr(h, 0);
	CU_ASSERT(h[0] == 0 && h[1] == 0 && h[2] == 0 && h[3] == 0);
	frame_put_hdr(h, UINT32_MAX);
	CU_ASSERT(h[0] == 0xff && h[3] == 0xff);
}

static void
test_split_header_and_body(void)
{
	struct evbuffer	*b = evbuffer_new();
	uint8_t		 h[FRAME_HDR];
	size_t		 len = 12345;

	hdr(h, 10);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(len, 12345);	/* untouched without a header */
	evbuffer_add(b, h, 1);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_NEED_MORE);
	evbuffer_add(b, h + 1, 2);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_NEED_MORE);
	evbuffer_add(b, h + 3, 1);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(len, 10);	/* known as soon as the header is in */
	evbuffer_add(b, "abc", 3);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_NEED_MORE);
	evbuffer_add(b, "defghi", 6);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_NEED_MORE);
	evbuffer_add(b, "j", 1);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_READY);
	CU_ASSERT_EQUAL(len, 10);
	/* Peeking consumes nothing. */
	CU_ASSERT_EQUAL(evbuffer_get_length(b), FRAME_HDR + 10);
	evbuffer_drain(b, FRAME_HDR);
	CU_ASSERT(memcmp(evbuffer_pullup(b, 10), "abcdefghij", 10) == 0);
	evbuffer_free(b);
}

static void
test_merged_frames(void)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 len;
	char		 out[16];

	CU_ASSERT(frame_add(b, "one", 3) == 0);
	CU_ASSERT(frame_add(b, "", 0) == 0);
	CU_ASSERT(frame_add(b, "three", 5) == 0);
	CU_ASSERT(frame_add(b, "fo", 2) == 0);
	/* and half of a fifth */
	evbuffer_add(b, "\0\0\0\x09" "five", 8);

	CU_ASSERT_EQUAL_FATAL(frame_peek(b, 100, &len), FRAME_READY);
	CU_ASSERT_EQUAL(len, 3);
	evbuffer_drain(b, FRAME_HDR);
	evbuffer_remove(b, out, len);
	CU_ASSERT(memcmp(out, "one", 3) == 0);

	CU_ASSERT_EQUAL_FATAL(frame_peek(b, 100, &len), FRAME_READY);
	CU_ASSERT_EQUAL(len, 0);	/* a zero-length frame is ready at once */
	evbuffer_drain(b, FRAME_HDR);

	CU_ASSERT_EQUAL_FATAL(frame_peek(b, 100, &len), FRAME_READY);
	CU_ASSERT_EQUAL(len, 5);
	evbuffer_drain(b, FRAME_HDR);
	evbuffer_remove(b, out, len);
	CU_ASSERT(memcmp(out, "three", 5) == 0);

	CU_ASSERT_EQUAL_FATAL(frame_peek(b, 100, &len), FRAME_READY);
	CU_ASSERT_EQUAL(len, 2);
	evbuffer_drain(b, FRAME_HDR + len);

	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(len, 9);
	evbuffer_add(b, "12345", 5);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_READY);
	evbuffer_free(b);
}

static void
test_limit(void)
{
	struct evbuffer	*b = evbuffer_new();
	uint8_t		 h[FRAME_HDR], body[101];
	size_t		 len;

	memset(body, 'x', sizeof(body));
	/* Exactly at the limit: fine. */
	hdr(h, 100);
	evbuffer_add(b, h, FRAME_HDR);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_NEED_MORE);
	evbuffer_add(b, body, 100);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_READY);
	CU_ASSERT_EQUAL(len, 100);
	evbuffer_drain(b, evbuffer_get_length(b));

	/* One over: refused as soon as the header is in. */
	hdr(h, 101);
	evbuffer_add(b, h, 3);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_NEED_MORE);
	evbuffer_add(b, h + 3, 1);
	len = 0;
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_TOO_BIG);
	CU_ASSERT_EQUAL(len, 101);
	evbuffer_add(b, body, 101);
	CU_ASSERT_EQUAL(frame_peek(b, 100, &len), FRAME_TOO_BIG);
	evbuffer_drain(b, evbuffer_get_length(b));

	/* A zero limit allows only empty frames. */
	hdr(h, 0);
	evbuffer_add(b, h, FRAME_HDR);
	CU_ASSERT_EQUAL(frame_peek(b, 0, &len), FRAME_READY);
	evbuffer_free(b);
}

static void
test_huge_claim_allocates_nothing(void)
{
	struct evbuffer	*b;
	uint8_t		 h[FRAME_HDR];
	size_t		 len = 0;
	int		 i;

	biggest_alloc = 0;
	b = evbuffer_new();
	hdr(h, UINT32_MAX);
	evbuffer_add(b, h, FRAME_HDR);
	CU_ASSERT_EQUAL(frame_peek(b, FRAME_MAX_DEFAULT, &len), FRAME_TOO_BIG);
	CU_ASSERT_EQUAL(len, (size_t)UINT32_MAX);
	/* Even with no limit, the claim is only waited for. */
	for (i = 0; i < 100; i++) {
		evbuffer_add(b, "0123456789", 10);
		CU_ASSERT_EQUAL(frame_peek(b, SIZE_MAX, &len), FRAME_NEED_MORE);
	}
	CU_ASSERT_EQUAL(len, (size_t)UINT32_MAX);
	CU_ASSERT_EQUAL(evbuffer_get_length(b), FRAME_HDR + 1000);
	evbuffer_free(b);
	if (biggest_alloc >= 1024 * 1024)
		fprintf(stderr, "\n  an allocation of %zu bytes\n", biggest_alloc);
	CU_ASSERT(biggest_alloc < 1024 * 1024);
}

static void
test_peek_mem(void)
{
	uint8_t	buf[64];
	size_t	len = 777;

	memset(buf, 'y', sizeof(buf));
	hdr(buf, 10);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 0, 100, &len), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 3, 100, &len), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(len, 777);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 4, 100, &len), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(len, 10);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 13, 100, &len), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 14, 100, &len), FRAME_READY);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 64, 100, &len), FRAME_READY);
	CU_ASSERT_EQUAL(len, 10);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 64, 10, &len), FRAME_READY);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 64, 9, &len), FRAME_TOO_BIG);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 4, 9, &len), FRAME_TOO_BIG);
	hdr(buf, 0);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 4, 0, &len), FRAME_READY);
	CU_ASSERT_EQUAL(len, 0);
	hdr(buf, UINT32_MAX);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 4, FRAME_MAX_DEFAULT, &len),
	    FRAME_TOO_BIG);
	CU_ASSERT_EQUAL(len, (size_t)UINT32_MAX);
	CU_ASSERT_EQUAL(frame_peek_mem(buf, 64, SIZE_MAX, &len),
	    FRAME_NEED_MORE);
}

/*
 * A stream of frames of random sizes, fed in random pieces, comes out
 * whole and in order from both readers.
 */
static void
test_random_stream(void)
{
	enum { NFRAMES = 300 };
	struct evbuffer	*in = evbuffer_new(), *stream = evbuffer_new();
	size_t		 sizes[NFRAMES], len, total, off = 0, avail;
	uint8_t		*flat, *copy;
	int		 i, got = 0, gotmem = 0, bad = 0;
	unsigned	 seed = 12345;

	for (i = 0; i < NFRAMES; i++) {
		uint8_t body[3000];

		sizes[i] = (size_t)(rand_r(&seed) % 3000);
		if (i % 17 == 0)
			sizes[i] = 0;
		memset(body, (int)(i & 0xff), sizes[i]);
		frame_add(stream, body, sizes[i]);
	}
	total = evbuffer_get_length(stream);
	flat = xmalloc(total);
	evbuffer_copyout(stream, flat, total);

	/* evbuffer: pieces of 1 to 4000 bytes. */
	while (off < total) {
		size_t piece = 1 + (size_t)(rand_r(&seed) % 4000);

		if (piece > total - off)
			piece = total - off;
		evbuffer_add(in, flat + off, piece);
		off += piece;
		for (;;) {
			enum frame_status st = frame_peek(in, 2999, &len);

			if (st != FRAME_READY) {
				CU_ASSERT(st == FRAME_NEED_MORE);
				break;
			}
			if (got >= NFRAMES || len != sizes[got]) {
				bad++;
				break;
			}
			evbuffer_drain(in, FRAME_HDR);
			copy = evbuffer_pullup(in, (ev_ssize_t)len);
			if (len > 0 && (copy[0] != (uint8_t)(got & 0xff) ||
			    copy[len - 1] != (uint8_t)(got & 0xff)))
				bad++;
			evbuffer_drain(in, len);
			got++;
		}
	}
	CU_ASSERT_EQUAL(got, NFRAMES);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(evbuffer_get_length(in), 0);

	/* Flat: a growing window over the same bytes. */
	off = 0;
	avail = 0;
	while (off < total) {
		enum frame_status st = frame_peek_mem(flat + off, avail, 2999,
		    &len);

		if (st == FRAME_READY) {
			if (len != sizes[gotmem])
				bad++;
			off += FRAME_HDR + len;
			avail -= FRAME_HDR + len;
			gotmem++;
			continue;
		}
		CU_ASSERT_FATAL(st == FRAME_NEED_MORE);
		avail += 1 + (size_t)(rand_r(&seed) % 700);
		if (avail > total - off)
			avail = total - off;
	}
	CU_ASSERT_EQUAL(gotmem, NFRAMES);
	CU_ASSERT_EQUAL(bad, 0);
	free(flat);
	evbuffer_free(in);
	evbuffer_free(stream);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_put_hdr),
		TU_TEST(test_split_header_and_body),
		TU_TEST(test_merged_frames),
		TU_TEST(test_limit),
		TU_TEST(test_huge_claim_allocates_nothing),
		TU_TEST(test_peek_mem),
		TU_TEST(test_random_stream),
	};

	/* Before libevent allocates anything. */
	event_set_mem_functions(watch_malloc, watch_realloc, watch_free);
	return tu_main("frame", tests, nitems(tests));
}
