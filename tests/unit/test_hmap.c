/*
 * test_hmap.c: the open-addressing hash map (common/hmap.c): the basic
 * operations, growth, backward-shift deletion and iteration, checked
 * against a plain array as the model.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"
#include "testutil.h"

#define NKEYS	20000

static char	keys[NKEYS][16];
static int	vals[NKEYS];

static void
make_keys(void)
{
	int i;

	for (i = 0; i < NKEYS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key-%d", i);
		vals[i] = i;
	}
}

static void
test_basic(void)
{
	struct hmap	*m = hmap_new();
	int		 a = 1, b = 2, c = 3;
	char		 k2[] = "alpha";

	CU_ASSERT_EQUAL(hmap_count(m), 0);
	CU_ASSERT_PTR_NULL(hmap_get(m, "alpha"));
	CU_ASSERT_PTR_NULL(hmap_del(m, "alpha"));
	hmap_put(m, "alpha", &a);
	hmap_put(m, "beta", &b);
	hmap_put(m, "", &c);			/* the empty key is a key */
	CU_ASSERT_EQUAL(hmap_count(m), 3);
	CU_ASSERT_PTR_EQUAL(hmap_get(m, "alpha"), &a);
	CU_ASSERT_PTR_EQUAL(hmap_get(m, "beta"), &b);
	CU_ASSERT_PTR_EQUAL(hmap_get(m, ""), &c);
	CU_ASSERT_PTR_NULL(hmap_get(m, "alph"));
	CU_ASSERT_PTR_NULL(hmap_get(m, "alphaa"));

	/* Replace: same count, new value, and the new key pointer is kept. */
	hmap_put(m, k2, &c);
	CU_ASSERT_EQUAL(hmap_count(m), 3);
	CU_ASSERT_PTR_EQUAL(hmap_get(m, "alpha"), &c);

	CU_ASSERT_PTR_EQUAL(hmap_del(m, "alpha"), &c);
	CU_ASSERT_PTR_NULL(hmap_get(m, "alpha"));
	CU_ASSERT_PTR_NULL(hmap_del(m, "alpha"));
	CU_ASSERT_EQUAL(hmap_count(m), 2);
	CU_ASSERT_PTR_EQUAL(hmap_get(m, "beta"), &b);
	hmap_free(m);
	hmap_free(NULL);
}

static void
test_growth(void)
{
	struct hmap	*m = hmap_new();
	int		 i, bad = 0;

	for (i = 0; i < NKEYS; i++) {
		hmap_put(m, keys[i], &vals[i]);
		/* Everything so far is still there while the table grows. */
		if ((i & (i - 1)) == 0) {
			int j;

			for (j = 0; j <= i; j++)
				if (hmap_get(m, keys[j]) != &vals[j])
					bad++;
		}
	}
	CU_ASSERT_EQUAL(hmap_count(m), NKEYS);
	for (i = 0; i < NKEYS; i++)
		if (hmap_get(m, keys[i]) != &vals[i])
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_PTR_NULL(hmap_get(m, "key-20000"));
	hmap_free(m);
}

static void
test_delete_keeps_others(void)
{
	struct hmap	*m = hmap_new();
	int		 i, bad = 0;

	for (i = 0; i < NKEYS; i++)
		hmap_put(m, keys[i], &vals[i]);
	for (i = 0; i < NKEYS; i += 3)
		if (hmap_del(m, keys[i]) != &vals[i])
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(hmap_count(m), NKEYS - (NKEYS + 2) / 3);
	for (i = 0; i < NKEYS; i++) {
		void *want = i % 3 == 0 ? NULL : &vals[i];

		if (hmap_get(m, keys[i]) != want)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* Put them back, delete everything. */
	for (i = 0; i < NKEYS; i += 3)
		hmap_put(m, keys[i], &vals[i]);
	CU_ASSERT_EQUAL(hmap_count(m), NKEYS);
	for (i = NKEYS - 1; i >= 0; i--)
		if (hmap_del(m, keys[i]) != &vals[i])
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(hmap_count(m), 0);
	for (i = 0; i < NKEYS; i++)
		if (hmap_get(m, keys[i]) != NULL)
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	hmap_free(m);
}

static void
test_iterate(void)
{
	struct hmap	*m = hmap_new();
	unsigned char	*seen = xcalloc(NKEYS, 1);
	size_t		 pos = 0, n = 0;
	int		*v, i, twice = 0, missed = 0;

	for (i = 0; i < NKEYS; i++)
		hmap_put(m, keys[i], &vals[i]);
	for (i = 1; i < NKEYS; i += 2)
		hmap_del(m, keys[i]);
	while ((v = hmap_next(m, &pos)) != NULL) {
		if (seen[*v]++)
			twice++;
		n++;
	}
	CU_ASSERT_EQUAL(n, NKEYS / 2);
	CU_ASSERT_EQUAL(twice, 0);
	for (i = 0; i < NKEYS; i++)
		if ((i % 2 == 0) != (seen[i] == 1))
			missed++;
	CU_ASSERT_EQUAL(missed, 0);
	/* At the end it stays at the end. */
	CU_ASSERT_PTR_NULL(hmap_next(m, &pos));
	free(seen);
	hmap_free(m);

	m = hmap_new();
	pos = 0;
	CU_ASSERT_PTR_NULL(hmap_next(m, &pos));
	hmap_free(m);
}

/* Random puts and deletes against an array as the model. */
static void
test_model(void)
{
	enum { NK = 3000, OPS = 200000 };
	struct hmap	*m = hmap_new();
	void		**model = xcalloc(NK, sizeof(*model));
	unsigned	 seed = 4242;
	size_t		 count = 0;
	int		 op, k, bad = 0;

	for (op = 0; op < OPS; op++) {
		k = rand_r(&seed) % NK;
		switch (rand_r(&seed) % 3) {
		case 0:
		case 1:
			if (model[k] == NULL)
				count++;
			model[k] = &vals[(k + op) % NKEYS];
			hmap_put(m, keys[k], model[k]);
			break;
		case 2:
			if (hmap_del(m, keys[k]) != model[k])
				bad++;
			if (model[k] != NULL)
				count--;
			model[k] = NULL;
			break;
		}
		if (op % 20000 == 0) {
			int j;

			for (j = 0; j < NK; j++)
				if (hmap_get(m, keys[j]) != model[j])
					bad++;
		}
	}
	CU_ASSERT_EQUAL(hmap_count(m), count);
	for (k = 0; k < NK; k++)
		if (hmap_get(m, keys[k]) != model[k])
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	free(model);
	hmap_free(m);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_basic),
		TU_TEST(test_growth),
		TU_TEST(test_delete_keeps_others),
		TU_TEST(test_iterate),
		TU_TEST(test_model),
	};

	make_keys();
	return tu_main("hmap", tests, nitems(tests));
}
