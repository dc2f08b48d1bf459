/*
 * test_spool.c: the agent's report spool (agent/spool.c): order, cursors,
 * acknowledgements, reopening after clean and unclean stops, the size
 * bound, and damaged segment files.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "util.h"
#include "wire.h"
#include "testutil.h"

/* A packed Envelope holding a Report with epoch and seq, padded to ~pad. */
static uint8_t *
report(uint64_t epoch, uint64_t seq, size_t pad, size_t *len)
{
	Ccnode__Envelope	 env = CCNODE__ENVELOPE__INIT;
	Ccnode__Report		 rep = CCNODE__REPORT__INIT;
	char			*host = xmalloc(pad + 1);
	uint8_t			*buf;

	memset(host, 'a' + (int)(seq % 26), pad);
	host[pad] = '\0';
	rep.epoch = epoch;
	rep.seq = seq;
	rep.time_ms = 1795638993000LL + (int64_t)seq * 5000;
	rep.host = host;
	env.body_case = CCNODE__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	buf = wire_pack(&env, len);
	free(host);
	return buf;
}

/* Adds one report of the spool's epoch; returns its seq. */
static uint64_t
add(struct spool *s, size_t pad)
{
	uint64_t	 seq = spool_next_seq(s);
	size_t		 len;
	uint8_t		*data = report(spool_epoch(s), seq, pad, &len);

	spool_add(s, seq, data, len);
	return seq;
}

/* The seqs in the spool, in cursor order, into seqs; returns the count. */
static int
seqs_of(const struct spool *s, uint64_t *seqs, int max, uint64_t *epochs)
{
	const struct spool_entry	*e;
	uint64_t			 ord = 0;
	int				 n = 0;

	while ((e = spool_from(s, ord)) != NULL) {
		if (n < max) {
			seqs[n] = e->seq;
			if (epochs != NULL)
				epochs[n] = e->epoch;
		}
		n++;
		ord = e->ord + 1;
	}
	return n;
}

/* Whether e's data is a Report with e's epoch and seq. */
static int
entry_ok(const struct spool_entry *e)
{
	Ccnode__Envelope	*env;
	int			 ok;

	env = ccnode__envelope__unpack(NULL, e->len, e->data);
	ok = env != NULL && env->body_case == CCNODE__ENVELOPE__BODY_REPORT &&
	    env->report->epoch == e->epoch && env->report->seq == e->seq;
	if (env != NULL)
		ccnode__envelope__free_unpacked(env, NULL);
	return ok;
}

static struct spool *
open_ok(const char *dir, uint64_t max)
{
	struct spool	*s;
	char		*cause = NULL;

	s = spool_open(dir, max, &cause);
	if (s == NULL)
		fprintf(stderr, "\n  spool_open: %s", cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

/* The segment files in dir, sorted; returns the count. */
static int
segments(const char *dir, char names[][64], int max)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0, i, j;
	char		 tmp[64];

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "seg-", 4) == 0 && n < max &&
		    strlen(de->d_name) < 64)
			memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
	closedir(d);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				memcpy(tmp, names[i], 64);
				memcpy(names[i], names[j], 64);
				memcpy(names[j], tmp, 64);
			}
	return n;
}

/* Rewrites "clean 1" in spool.state as "clean 0": an unclean stop. */
static void
make_unclean(const char *dir)
{
	char	*path = tu_join(dir, "spool.state"), *buf, *p;
	size_t	 len;

	buf = tu_read(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	p = strstr(buf, "clean 1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p[6] = '0';
	tu_write(path, buf, (ssize_t)len, 0600);
	free(buf);
	free(path);
}

static void
test_add_and_cursor(void)
{
	char				*dir = tu_tmpdir();
	struct spool			*s = open_ok(dir, 1 << 20);
	const struct spool_entry	*e1, *e2, *e3;
	uint64_t			 seqs[8];

	CU_ASSERT(spool_epoch(s) != 0);
	CU_ASSERT_EQUAL(spool_count(s), 0);
	CU_ASSERT_PTR_NULL(spool_from(s, 0));
	CU_ASSERT_EQUAL(add(s, 10), 1);
	CU_ASSERT_EQUAL(add(s, 10), 2);
	CU_ASSERT_EQUAL(add(s, 10), 3);
	CU_ASSERT_EQUAL(spool_count(s), 3);
	CU_ASSERT_EQUAL(spool_last_seq(s), 3);
	CU_ASSERT(spool_bytes(s) > 30);

	e1 = spool_from(s, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
	CU_ASSERT_EQUAL(e1->seq, 1);
	CU_ASSERT_EQUAL(e1->epoch, spool_epoch(s));
	CU_ASSERT_TRUE(entry_ok(e1));
	e2 = spool_from(s, e1->ord + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e2);
	CU_ASSERT_EQUAL(e2->seq, 2);
	CU_ASSERT(e2->ord > e1->ord);
	e3 = spool_from(s, e2->ord + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e3);
	CU_ASSERT_EQUAL(e3->seq, 3);
	CU_ASSERT_PTR_NULL(spool_from(s, e3->ord + 1));
	CU_ASSERT_PTR_EQUAL(spool_from(s, e2->ord), e2);

	/* Acknowledged entries are forgotten; the cursor skips them. */
	spool_ack(s, spool_epoch(s), 2);
	CU_ASSERT_EQUAL(spool_count(s), 1);
	CU_ASSERT_EQUAL(spool_acked_seq(s), 2);
	CU_ASSERT_EQUAL(seqs_of(s, seqs, 8, NULL), 1);
	CU_ASSERT_EQUAL(seqs[0], 3);
	/* A stale cursor starts at the oldest left. */
	CU_ASSERT_EQUAL(spool_from(s, 0)->seq, 3);
	/* An ack for another epoch changes nothing. */
	spool_ack(s, spool_epoch(s) ^ 2, 100);
	CU_ASSERT_EQUAL(spool_count(s), 1);
	CU_ASSERT_EQUAL(spool_acked_seq(s), 2);
	/* Nor does an older ack. */
	spool_ack(s, spool_epoch(s), 1);
	CU_ASSERT_EQUAL(spool_acked_seq(s), 2);
	spool_ack(s, spool_epoch(s), 3);
	CU_ASSERT_EQUAL(spool_count(s), 0);
	CU_ASSERT_EQUAL(spool_bytes(s), 0);
	CU_ASSERT_PTR_NULL(spool_from(s, 0));
	CU_ASSERT_EQUAL(spool_dropped(s), 0);
	spool_close(s);
	tu_rmdir(dir);
}

static void
test_reopen_clean(void)
{
	char				*dir = tu_tmpdir();
	struct spool			*s = open_ok(dir, 1 << 20);
	const struct spool_entry	*e;
	uint64_t			 epoch, seqs[8], ord;
	uint8_t				*copy[6];
	size_t				 lens[6];
	int				 i;

	epoch = spool_epoch(s);
	for (i = 1; i <= 5; i++)
		add(s, 100 * (size_t)i);
	for (i = 1, ord = 0; (e = spool_from(s, ord)) != NULL; i++) {
		copy[i] = xmalloc(e->len);
		memcpy(copy[i], e->data, e->len);
		lens[i] = e->len;
		ord = e->ord + 1;
	}
	spool_ack(s, epoch, 2);
	spool_close(s);

	s = open_ok(dir, 1 << 20);
	CU_ASSERT_EQUAL(spool_epoch(s), epoch);
	CU_ASSERT_EQUAL(spool_count(s), 3);
	CU_ASSERT_EQUAL(spool_acked_seq(s), 2);
	CU_ASSERT_EQUAL(spool_last_seq(s), 5);
	CU_ASSERT_EQUAL(seqs_of(s, seqs, 8, NULL), 3);
	CU_ASSERT(seqs[0] == 3 && seqs[1] == 4 && seqs[2] == 5);
	/* The same bytes came back. */
	for (ord = 0, i = 3; (e = spool_from(s, ord)) != NULL; i++) {
		CU_ASSERT(e->len == lens[i] && memcmp(e->data, copy[i],
		    e->len) == 0);
		CU_ASSERT_TRUE(entry_ok(e));
		ord = e->ord + 1;
	}
	CU_ASSERT_EQUAL(spool_next_seq(s), 6);
	spool_close(s);

	/* Reopened again without adding: still the same. */
	s = open_ok(dir, 1 << 20);
	CU_ASSERT_EQUAL(spool_epoch(s), epoch);
	CU_ASSERT_EQUAL(spool_count(s), 3);
	/* seq 6 was handed out before the close: it is never reused. */
	CU_ASSERT_EQUAL(spool_next_seq(s), 7);
	spool_ack(s, epoch, 7);
	CU_ASSERT_EQUAL(spool_count(s), 0);
	spool_close(s);

	/* Everything acknowledged: nothing comes back. */
	s = open_ok(dir, 1 << 20);
	CU_ASSERT_EQUAL(spool_count(s), 0);
	CU_ASSERT_EQUAL(spool_epoch(s), epoch);
	spool_close(s);

	for (i = 1; i <= 5; i++)
		free(copy[i]);
	tu_rmdir(dir);
}

static void
test_reopen_unclean(void)
{
	char		*dir = tu_tmpdir(), *state;
	struct spool	*s = open_ok(dir, 1 << 20);
	uint64_t	 epoch, seqs[16], epochs[16];
	int		 i, n;

	epoch = spool_epoch(s);
	for (i = 0; i < 4; i++)
		add(s, 50);
	spool_ack(s, epoch, 1);
	spool_close(s);
	make_unclean(dir);

	s = open_ok(dir, 1 << 20);
	CU_ASSERT(spool_epoch(s) != epoch);	/* a new epoch */
	CU_ASSERT(spool_epoch(s) != 0);
	CU_ASSERT_EQUAL(spool_count(s), 3);	/* old unacked entries kept */
	CU_ASSERT_EQUAL(spool_next_seq(s), 1);	/* seq restarts in the epoch */
	spool_ack(s, spool_epoch(s), 0);
	add(s, 50);
	n = seqs_of(s, seqs, 16, epochs);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT(seqs[0] == 2 && seqs[1] == 3 && seqs[2] == 4);
	CU_ASSERT(epochs[0] == epoch && epochs[2] == epoch);
	CU_ASSERT_EQUAL(epochs[3], spool_epoch(s));
	CU_ASSERT_EQUAL(seqs[3], 2);
	/* The old epoch is acknowledged on its own. */
	spool_ack(s, epoch, 4);
	CU_ASSERT_EQUAL(spool_count(s), 1);
	spool_close(s);

	/* No state file at all: a new epoch too, and the segments load. */
	state = tu_join(dir, "spool.state");
	unlink(state);
	s = open_ok(dir, 1 << 20);
	CU_ASSERT_EQUAL(spool_count(s), 1);
	spool_close(s);
	free(state);
	tu_rmdir(dir);
}

static void
test_overflow_drops_oldest(void)
{
	char		*dir = tu_tmpdir();
	struct spool	*s;
	size_t		 one;
	uint64_t	 seqs[32], max;
	uint8_t		*probe = report(1, 1, 1000, &one);
	int		 i, n;

	free(probe);
	max = 10 * one + one / 2;	/* room for 10 */
	s = open_ok(dir, max);
	for (i = 0; i < 15; i++)
		add(s, 1000);
	CU_ASSERT(spool_bytes(s) <= max);
	CU_ASSERT_EQUAL(spool_count(s), 10);
	CU_ASSERT_EQUAL(spool_dropped(s), 5);
	n = seqs_of(s, seqs, 32, NULL);
	CU_ASSERT_EQUAL_FATAL(n, 10);
	CU_ASSERT_EQUAL(seqs[0], 6);		/* the oldest went */
	CU_ASSERT_EQUAL(seqs[9], 15);		/* never the newest */
	spool_close(s);

	/* After a restart: the same ten, and the drops counted once. */
	s = open_ok(dir, max);
	CU_ASSERT_EQUAL(spool_count(s), 10);
	n = seqs_of(s, seqs, 32, NULL);
	CU_ASSERT(n == 10 && seqs[0] == 6);
	if (spool_dropped(s) != 5) {
		fprintf(stderr, "\n  BUG: %llu dropped after a clean restart, "
		    "want 5 (dropped reports reloaded and dropped again)",
		    (unsigned long long)spool_dropped(s));
		CU_FAIL("dropped reports are counted again after a restart");
	}
	spool_close(s);

	/* With more room after the restart, dropped reports stay dropped. */
	s = open_ok(dir, 100 * one);
	n = seqs_of(s, seqs, 32, NULL);
	if (n != 10 || seqs[0] != 6) {
		fprintf(stderr, "\n  BUG: %d reports after reopening with more "
		    "room, the oldest seq %llu (want 10, from 6)", n,
		    (unsigned long long)seqs[0]);
		CU_FAIL("dropped reports come back from the segment file");
	}
	spool_close(s);
	tu_rmdir(dir);
}

static void
test_damaged_segment(void)
{
	char		*dir = tu_tmpdir(), *path, names[8][64];
	struct spool	*s;
	struct stat	 st;
	uint64_t	 epoch, seqs[16];
	int		 i, nseg;
	FILE		*fp;

	s = open_ok(dir, 1 << 20);
	epoch = spool_epoch(s);
	for (i = 0; i < 5; i++)
		add(s, 200);
	spool_close(s);
	nseg = segments(dir, names, 8);
	CU_ASSERT_EQUAL_FATAL(nseg, 1);
	path = tu_join(dir, names[0]);

	/* Garbage after the last record. */
	fp = fopen(path, "ab");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fwrite("\0\0\0\x05junkjunk", 1, 12, fp);
	fclose(fp);
	s = open_ok(dir, 1 << 20);
	CU_ASSERT_EQUAL(spool_epoch(s), epoch);
	CU_ASSERT_EQUAL(spool_count(s), 5);
	spool_close(s);

	/* The last record cut short: the four before it load. */
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(truncate(path, st.st_size - 12 - 30), 0);
	s = open_ok(dir, 1 << 20);
	CU_ASSERT_EQUAL(spool_count(s), 4);
	CU_ASSERT_EQUAL(seqs_of(s, seqs, 16, NULL), 4);
	CU_ASSERT_EQUAL(seqs[3], 4);
	/* New reports go to a new segment, after the old ones. */
	CU_ASSERT(add(s, 10) >= 6);
	spool_close(s);

	/* A record whose header does not match its Report ends the file. */
	{
		char	*buf;
		size_t	 len, off;

		buf = tu_read(path, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		/* The second record's seq field: be64 at 4 + 8. */
		off = 20 + (((size_t)(uint8_t)buf[0] << 24) |
		    ((size_t)(uint8_t)buf[1] << 16) |
		    ((size_t)(uint8_t)buf[2] << 8) | (uint8_t)buf[3]);
		buf[off + 19] ^= 0x40;
		tu_write(path, buf, (ssize_t)len, 0600);
		free(buf);
	}
	s = open_ok(dir, 1 << 20);
	CU_ASSERT_EQUAL(seqs_of(s, seqs, 16, NULL), 2);	/* seq 1, and the new one */
	CU_ASSERT_EQUAL(seqs[0], 1);
	spool_close(s);

	/* A segment that is pure junk, and a state file that is too. */
	tu_write(path, "not a segment at all", -1, 0600);
	free(path);
	path = tu_join(dir, "spool.state");
	tu_write(path, "epoch zz\nclean banana\n", -1, 0600);
	s = open_ok(dir, 1 << 20);
	CU_ASSERT(spool_epoch(s) != epoch);
	CU_ASSERT_EQUAL(spool_count(s), 1);		/* the new segment */
	spool_close(s);

	free(path);
	tu_rmdir(dir);
}

static void
test_many_segments(void)
{
	char		*dir = tu_tmpdir(), names[64][64];
	struct spool	*s;
	uint64_t	 epoch, seqs[64];
	int		 i, n;

	/* 40 reports of ~50 KB: past one 1 MiB segment. */
	s = open_ok(dir, 64 << 20);
	epoch = spool_epoch(s);
	for (i = 0; i < 40; i++)
		add(s, 50000);
	CU_ASSERT(segments(dir, names, 64) >= 2);
	/* Acknowledging the first half frees whole segments. */
	spool_ack(s, epoch, 30);
	CU_ASSERT_EQUAL(spool_count(s), 10);
	CU_ASSERT_EQUAL(segments(dir, names, 64), 1);
	spool_close(s);

	s = open_ok(dir, 64 << 20);
	n = seqs_of(s, seqs, 64, NULL);
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT(seqs[0] == 31 && seqs[9] == 40);
	spool_ack(s, epoch, 40);
	CU_ASSERT_EQUAL(spool_count(s), 0);
	spool_close(s);
	tu_rmdir(dir);
}

static void
test_open_fails(void)
{
	char		*dir = tu_tmpdir(), *file, *sub, *cause = NULL;
	struct spool	*s;

	file = tu_join(dir, "file");
	tu_write(file, "x", -1, 0600);
	sub = tu_join(file, "spool");
	s = spool_open(sub, 1 << 20, &cause);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT(tu_has(cause, "spool-dir"));
	free(cause);
	free(sub);
	free(file);
	tu_rmdir(dir);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_add_and_cursor),
		TU_TEST(test_reopen_clean),
		TU_TEST(test_reopen_unclean),
		TU_TEST(test_overflow_drops_oldest),
		TU_TEST(test_damaged_segment),
		TU_TEST(test_many_segments),
		TU_TEST(test_open_fails),
	};

	return tu_main("spool", tests, nitems(tests));
}
