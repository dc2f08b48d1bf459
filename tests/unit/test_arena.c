/*
 * test_arena.c: the budgeted bump allocator (common/arena.c), alone and as
 * the ProtobufCAllocator for unpacking peer frames.
 */
#include "config.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "util.h"
#include "proto/ccnode.pb-c.h"
#include "testutil.h"

static void
test_budget(void)
{
	struct arena	*a = arena_new(4096);
	void		*p, *q;

	/* No budget set yet: unbounded. */
	CU_ASSERT_PTR_NOT_NULL(arena_alloc(a, 100000));
	CU_ASSERT_FALSE(arena_exhausted(a));

	arena_reset(a, 1000);
	CU_ASSERT_EQUAL(arena_used(a), 0);
	p = arena_alloc(a, 500);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_FALSE(arena_exhausted(a));
	q = arena_alloc(a, 600);
	CU_ASSERT_PTR_NULL(q);
	CU_ASSERT_TRUE(arena_exhausted(a));
	CU_ASSERT(arena_used(a) <= 1000);
	/* Smaller requests may still fit; exhausted stays set until reset. */
	CU_ASSERT_PTR_NOT_NULL(arena_alloc(a, 100));
	CU_ASSERT_TRUE(arena_exhausted(a));
	CU_ASSERT(arena_used(a) <= 1000);

	arena_reset(a, 1000);
	CU_ASSERT_FALSE(arena_exhausted(a));
	CU_ASSERT_EQUAL(arena_used(a), 0);
	/* Exactly the budget fits; one byte more does not. */
	CU_ASSERT_PTR_NOT_NULL(arena_alloc(a, 992));
	CU_ASSERT_PTR_NULL(arena_alloc(a, 1));
	CU_ASSERT_TRUE(arena_exhausted(a));

	/* Sizes that would overflow the rounding are refused. */
	arena_reset(a, SIZE_MAX);
	CU_ASSERT_PTR_NULL(arena_alloc(a, SIZE_MAX));
	CU_ASSERT_TRUE(arena_exhausted(a));
	arena_reset(a, SIZE_MAX);
	CU_ASSERT_PTR_NULL(arena_alloc(a, SIZE_MAX - 3));
	arena_reset(a, 0);
	CU_ASSERT_PTR_NULL(arena_alloc(a, 1));
	arena_free(a);
	arena_free(NULL);
}

static void
test_alignment(void)
{
	static const size_t sizes[] = { 1, 3, 7, 8, 9, 15, 16, 17, 33, 0, 5000,
	    1, 100000, 2 };
	struct arena	*a = arena_new(4096);
	size_t		 i, al = alignof(max_align_t);
	int		 bad = 0;

	for (i = 0; i < nitems(sizes); i++) {
		uintptr_t p = (uintptr_t)arena_alloc(a, sizes[i]);

		CU_ASSERT(p != 0);
		if (p % al != 0) {
			fprintf(stderr, "\n  arena_alloc(%zu) = %p: not aligned "
			    "to %zu", sizes[i], (void *)p, al);
			bad++;
		}
	}
	/* Aligned for any object, as malloc is (max_align_t). */
	CU_ASSERT_EQUAL(bad, 0);
	arena_free(a);
}

/* Blocks do not overlap, and big ones get a chunk of their own. */
static void
test_no_overlap(void)
{
	struct arena	*a = arena_new(4096);
	unsigned char	*blocks[200];
	size_t		 sizes[200], i, j;
	unsigned	 seed = 7;
	int		 bad = 0;

	arena_reset(a, 10 * 1024 * 1024);
	for (i = 0; i < nitems(blocks); i++) {
		sizes[i] = (size_t)(rand_r(&seed) % (i % 10 == 0 ? 20000 : 300));
		blocks[i] = arena_alloc(a, sizes[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(blocks[i]);
		memset(blocks[i], (int)(i & 0xff), sizes[i]);
	}
	for (i = 0; i < nitems(blocks); i++)
		for (j = 0; j < sizes[i]; j++)
			if (blocks[i][j] != (unsigned char)(i & 0xff))
				bad++;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(arena_used(a) >= 20000);
	arena_free(a);
}

static void
test_reset_reuses(void)
{
	struct arena	*a = arena_new(8192);
	void		*first, *again;
	int		 i;

	arena_reset(a, 1 << 20);
	first = arena_alloc(a, 64);
	for (i = 0; i < 100; i++)
		arena_alloc(a, 1000);		/* spills into more chunks */
	arena_reset(a, 1 << 20);
	again = arena_alloc(a, 64);
	CU_ASSERT_PTR_EQUAL(first, again);	/* the first chunk survives */
	CU_ASSERT_EQUAL(arena_used(a), 64);
	arena_free(a);
}

/* ---- as a protobuf-c allocator ------------------------------------------ */

static uint8_t *
pack_report(size_t ninst, size_t *len)
{
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Report		 rep = CCNODE__REPORT__INIT;
	Ccnode__InstanceSample	*inst, **pinst;
	Ccnode__KeyspaceDb	 db = CCNODE__KEYSPACE_DB__INIT, *pdb = &db;
	double			 vals[5] = { 1, 2.5, -3, 4e9, 0 };
	uint8_t			*buf;
	size_t			 i;

	inst = xcalloc(ninst, sizeof(*inst));
	pinst = xcalloc(ninst, sizeof(*pinst));
	for (i = 0; i < ninst; i++) {
		ccnode__instance_sample__init(&inst[i]);
		inst[i].name = "cache-1";
		inst[i].addr = "10.0.0.1:6379";
		inst[i].up = 1;
		inst[i].n_values = nitems(vals);
		inst[i].values = vals;
		inst[i].n_dbs = 1;
		inst[i].dbs = &pdb;
		pinst[i] = &inst[i];
	}
	db.db = 3;
	db.keys = 1000;
	rep.epoch = 0xabcdef;
	rep.seq = 42;
	rep.host = "node-1";
	rep.n_instances = ninst;
	rep.instances = pinst;
	env.id = 9;
	env.body_case = CCNODE__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	env.major = 1;
	*len = ccnode__envelope__get_packed_size(&env);
	buf = xmalloc(*len);
	ccnode__envelope__pack(&env, buf);
	free(inst);
	free(pinst);
	return buf;
}

static void
test_unpack_report(void)
{
	struct arena		*a = arena_new(64 * 1024);
	Ccnode__Envelope	*env;
	uint8_t			*buf, *again;
	size_t			 len, len2;
	int			 round;

	buf = pack_report(3, &len);
	for (round = 0; round < 2; round++) {
		arena_reset(a, ARENA_BUDGET(len));
		env = ccnode__envelope__unpack(arena_allocator(a), len, buf);
		CU_ASSERT_PTR_NOT_NULL_FATAL(env);
		CU_ASSERT_FALSE(arena_exhausted(a));
		CU_ASSERT(arena_used(a) > 0 && arena_used(a) <= ARENA_BUDGET(len));
		CU_ASSERT_EQUAL(env->major, 1);
		CU_ASSERT_EQUAL(env->id, 9);
		CU_ASSERT_EQUAL_FATAL(env->body_case,
		    CCNODE__ENVELOPE__BODY_REPORT);
		CU_ASSERT_EQUAL(env->report->seq, 42);
		CU_ASSERT_EQUAL(env->report->epoch, 0xabcdef);
		CU_ASSERT_STRING_EQUAL(env->report->host, "node-1");
		CU_ASSERT_EQUAL_FATAL(env->report->n_instances, 3);
		CU_ASSERT_STRING_EQUAL(env->report->instances[2]->addr,
		    "10.0.0.1:6379");
		CU_ASSERT_EQUAL_FATAL(env->report->instances[1]->n_values, 5);
		CU_ASSERT_DOUBLE_EQUAL(env->report->instances[1]->values[3],
		    4e9, 0);
		CU_ASSERT_EQUAL(env->report->instances[0]->dbs[0]->keys, 1000);
		/* Re-packing gives the same bytes. */
		len2 = ccnode__envelope__get_packed_size(env);
		CU_ASSERT_EQUAL_FATAL(len2, len);
		again = xmalloc(len2);
		ccnode__envelope__pack(env, again);
		CU_ASSERT(memcmp(again, buf, len) == 0);
		free(again);
		/* Nothing to free: the arena takes it all at the next reset. */
		ccnode__envelope__free_unpacked(env, arena_allocator(a));
	}
	free(buf);
	arena_free(a);
}

/* Appends a protobuf varint. */
static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * An Envelope holding a Report of n empty InstanceSamples: 2 bytes each on
 * the wire, a whole struct each once unpacked.
 */
static uint8_t *
bomb(size_t n, size_t *lenp)
{
	size_t	 body = 2 * n, len = 0;
	uint8_t	*buf = xmalloc(body + 32), *p;
	size_t	 i;

	buf[len++] = 0x08;		/* major = 1 */
	buf[len++] = 0x01;
	buf[len++] = 0xa2;		/* field 20 (report), length-delimited */
	buf[len++] = 0x01;
	len += put_varint(buf + len, body);
	for (i = 0, p = buf + len; i < n; i++) {
		*p++ = 0x3a;		/* field 7 (instances), length-delimited */
		*p++ = 0x00;		/* empty */
	}
	*lenp = len + body;
	return buf;
}

static void
test_unpack_bomb(void)
{
	struct arena		*a = arena_new(64 * 1024);
	Ccnode__Envelope	*env;
	uint8_t			*buf;
	size_t			 len, n = 200000;

	/* The point of the budget: a struct per 2 bytes is beyond 64x. */
	CU_ASSERT(sizeof(Ccnode__InstanceSample) + sizeof(void *) >
	    2 * 64 + 1);
	buf = bomb(n, &len);
	arena_reset(a, ARENA_BUDGET(len));
	env = ccnode__envelope__unpack(arena_allocator(a), len, buf);
	CU_ASSERT_PTR_NULL(env);
	CU_ASSERT_TRUE(arena_exhausted(a));
	CU_ASSERT(arena_used(a) <= ARENA_BUDGET(len));
	free(buf);

	/* A few empty samples are fine: it is the budget, not the shape. */
	buf = bomb(10, &len);
	arena_reset(a, ARENA_BUDGET(len));
	env = ccnode__envelope__unpack(arena_allocator(a), len, buf);
	CU_ASSERT_PTR_NOT_NULL(env);
	if (env != NULL) {
		CU_ASSERT_EQUAL(env->body_case, CCNODE__ENVELOPE__BODY_REPORT);
		CU_ASSERT_EQUAL(env->report->n_instances, 10);
	}
	CU_ASSERT_FALSE(arena_exhausted(a));
	free(buf);
	arena_free(a);
}

static void
test_unpack_garbage(void)
{
	struct arena		*a = arena_new(4096);
	static const uint8_t	 junk[] = { 0xa2, 0x01, 0xff, 0xff, 0xff, 0xff,
				    0x0f, 0x00 };

	/* A length past the end fails without touching the budget. */
	arena_reset(a, ARENA_BUDGET(sizeof(junk)));
	CU_ASSERT_PTR_NULL(ccnode__envelope__unpack(arena_allocator(a),
	    sizeof(junk), junk));
	CU_ASSERT_FALSE(arena_exhausted(a));
	arena_free(a);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_budget),
		TU_TEST(test_alignment),
		TU_TEST(test_no_overlap),
		TU_TEST(test_reset_reuses),
		TU_TEST(test_unpack_report),
		TU_TEST(test_unpack_bomb),
		TU_TEST(test_unpack_garbage),
	};

	return tu_main("arena", tests, nitems(tests));
}
