/*
 * test_conf.c: the configuration reader (common/conf.c) over a test table
 * with every directive type, and the real ccagent and ccmonitor tables
 * (agent/conf.c, monitor/conf.c) with their cross-directive checks.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "conf.h"
#include "util.h"
#include "agent/agent.h"
#include "monitor/monitor.h"
#include "testutil.h"

/* ---- a test table with every type --------------------------------------- */

struct item {
	char		*text;		/* the line's arguments joined by ',' */
	struct item	*next;
};

struct tconf {
	struct conf_head head;
	int		 flag;
	long long	 num;
	long long	 rnum;
	uint64_t	 dur;
	uint64_t	 size;
	char		*str;
	char		*nodef;
	int		 level;
	struct item	*items;
};

static const char *const levels[] = { "debug", "info", "warn", NULL };

static int
parse_item(void *field, int argc, char **argv, char **cause)
{
	struct item	**head = field, *it, **tail;
	char		 *joined = NULL, *tmp;
	int		  i;

	if (argc < 1) {
		*cause = xstrdup("needs at least one word");
		return -1;
	}
	if (strcmp(argv[0], "bad") == 0) {
		xasprintf(cause, "'%s' is refused", argv[0]);
		return -1;
	}
	for (i = 0; i < argc; i++) {
		xasprintf(&tmp, "%s%s%s", joined ? joined : "",
		    joined ? "," : "", argv[i]);
		free(joined);
		joined = tmp;
	}
	it = xcalloc(1, sizeof(*it));
	it->text = joined;
	for (tail = head; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = it;
	return 0;
}

static void
free_items(void *field)
{
	struct item **head = field, *it, *next;

	for (it = *head; it != NULL; it = next) {
		next = it->next;
		free(it->text);
		free(it);
	}
	*head = NULL;
}

#define F(name)	offsetof(struct tconf, name), sizeof(((struct tconf *)0)->name)

static const struct conf_def tdefs[] = {
	{ "flag", CONF_BOOL, 0, F(flag), "yes", 0, 0, NULL, NULL, NULL,
	  "yes|no", "A boolean." },
	{ "num", CONF_INT, 0, F(num), "10", 1, 100, NULL, NULL, NULL,
	  "N", "An integer in 1-100, not reloadable." },
	{ "rnum", CONF_INT, CONF_RELOAD, F(rnum), "-5", -10, 10, NULL, NULL,
	  NULL, "N", "A reloadable integer in -10..10." },
	{ "dur", CONF_DURATION, CONF_RELOAD, F(dur), "5s", 100, 3600000,
	  NULL, NULL, NULL, "DURATION", "A duration, 100ms-1h." },
	{ "size", CONF_SIZE, 0, F(size), "4mb", 1024, 1024LL * 1024 * 1024,
	  NULL, NULL, NULL, "SIZE", "A size, 1kb-1gb." },
	{ "str", CONF_STRING, CONF_RELOAD, F(str), "hello", 0, 0, NULL, NULL,
	  NULL, "STRING", "A string with a default." },
	{ "nodef", CONF_STRING, 0, F(nodef), NULL, 0, 0, NULL, NULL, NULL,
	  "STRING", "A string without one." },
	{ "level", CONF_ENUM, CONF_RELOAD, F(level), "info", 0, 0, levels,
	  NULL, NULL, "debug|info|warn", "An enum." },
	{ "item", CONF_CUSTOM, CONF_MULTI | CONF_RELOAD, F(items), NULL, 0, 0,
	  NULL, parse_item, free_items, "WORD...", "A repeatable custom." },
};
#define NDEFS	nitems(tdefs)

/* Loads text into *c; returns the cause (caller frees) or NULL on success. */
static char *
load(struct tconf *c, const char *text)
{
	char *cause = NULL;

	memset(c, 0, sizeof(*c));
	if (conf_load_mem(tdefs, NDEFS, c, "t.conf", text, &cause) == 0) {
		CU_ASSERT(cause == NULL);
		return NULL;
	}
	CU_ASSERT_FATAL(cause != NULL);
	return cause;
}

/* Expects text to fail with exactly msg. */
static void
expect_error(const char *text, const char *msg)
{
	struct tconf	 c;
	char		*cause = load(&c, text);

	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL && strcmp(cause, msg) != 0) {
		fprintf(stderr, "\n  for %s\n  want: %s\n  got:  %s\n", text,
		    msg, cause);
		CU_FAIL("wrong error message");
	}
	free(cause);
	conf_free(&c);
}

static int
nitems_list(const struct item *it)
{
	int n = 0;

	for (; it != NULL; it = it->next)
		n++;
	return n;
}

static void
test_defaults(void)
{
	struct tconf c;

	CU_ASSERT_PTR_NULL(load(&c, ""));
	CU_ASSERT_EQUAL(c.flag, 1);
	CU_ASSERT_EQUAL(c.num, 10);
	CU_ASSERT_EQUAL(c.rnum, -5);
	CU_ASSERT_EQUAL(c.dur, 5000);
	CU_ASSERT_EQUAL(c.size, 4 * 1024 * 1024);
	CU_ASSERT_STRING_EQUAL(c.str, "hello");
	CU_ASSERT_PTR_NULL(c.nodef);
	CU_ASSERT_EQUAL(c.level, 1);
	CU_ASSERT_PTR_NULL(c.items);
	CU_ASSERT_STRING_EQUAL(conf_where(&c, "num"), "default");
	CU_ASSERT_STRING_EQUAL(conf_where(&c, "no-such"), "default");
	CU_ASSERT_FALSE(conf_isset(&c, "num"));
	conf_free(&c);
}

static void
test_every_type(void)
{
	struct tconf	c;
	const char	*text =
	    "# a comment\n"
	    "\n"
	    "flag no\n"
	    "num 100\n"
	    "   rnum -10   # trailing comment\n"
	    "dur 1.5s\n"
	    "size 4kb\n"
	    "str world\n"
	    "nodef \"set now\"\n"
	    "LEVEL Warn\n"
	    "item a b c\n"
	    "item d\n";

	CU_ASSERT_PTR_NULL(load(&c, text));
	CU_ASSERT_EQUAL(c.flag, 0);
	CU_ASSERT_EQUAL(c.num, 100);
	CU_ASSERT_EQUAL(c.rnum, -10);
	CU_ASSERT_EQUAL(c.dur, 1500);
	CU_ASSERT_EQUAL(c.size, 4096);
	CU_ASSERT_STRING_EQUAL(c.str, "world");
	CU_ASSERT_STRING_EQUAL(c.nodef, "set now");
	CU_ASSERT_EQUAL(c.level, 2);
	CU_ASSERT_EQUAL_FATAL(nitems_list(c.items), 2);
	CU_ASSERT_STRING_EQUAL(c.items->text, "a,b,c");
	CU_ASSERT_STRING_EQUAL(c.items->next->text, "d");
	CU_ASSERT_STRING_EQUAL(conf_where(&c, "flag"), "t.conf:3");
	CU_ASSERT_STRING_EQUAL(conf_where(&c, "rnum"), "t.conf:5");
	CU_ASSERT_STRING_EQUAL(conf_where(&c, "level"), "t.conf:10");
	CU_ASSERT_STRING_EQUAL(conf_where(&c, "item"), "t.conf:12");
	CU_ASSERT_TRUE(conf_isset(&c, "nodef"));
	CU_ASSERT_TRUE(conf_isset(&c, "NUM"));
	conf_free(&c);
}

static void
test_later_line_wins(void)
{
	struct tconf c;

	CU_ASSERT_PTR_NULL(load(&c, "num 5\nstr a\nnum 6\nstr b\n"));
	CU_ASSERT_EQUAL(c.num, 6);
	CU_ASSERT_STRING_EQUAL(c.str, "b");
	CU_ASSERT_STRING_EQUAL(conf_where(&c, "num"), "t.conf:3");
	conf_free(&c);
}

static void
test_bool_values(void)
{
	static const char *const yes[] = { "yes", "YES", "on", "true", "1" };
	static const char *const no[] = { "no", "Off", "false", "0" };
	struct tconf	c;
	char		text[64];
	size_t		i;

	for (i = 0; i < nitems(yes); i++) {
		snprintf(text, sizeof(text), "flag no\nflag %s\n", yes[i]);
		CU_ASSERT_PTR_NULL(load(&c, text));
		CU_ASSERT_EQUAL(c.flag, 1);
		conf_free(&c);
	}
	for (i = 0; i < nitems(no); i++) {
		snprintf(text, sizeof(text), "flag %s\n", no[i]);
		CU_ASSERT_PTR_NULL(load(&c, text));
		CU_ASSERT_EQUAL(c.flag, 0);
		conf_free(&c);
	}
	expect_error("flag maybe\n",
	    "t.conf:1: flag: expected yes or no, not 'maybe'");
	expect_error("\nflag 2\n", "t.conf:2: flag: expected yes or no, not '2'");
}

static void
test_bad_values(void)
{
	expect_error("num 0\n", "t.conf:1: num: must be at least 1");
	expect_error("# x\nnum 101\n", "t.conf:2: num: must be at most 100");
	expect_error("num ten\n", "t.conf:1: num: 'ten' is not an integer");
	expect_error("num 10x\n", "t.conf:1: num: '10x' is not an integer");
	expect_error("num 99999999999999999999\n",
	    "t.conf:1: num: '99999999999999999999' is not an integer");
	expect_error("rnum -11\n", "t.conf:1: rnum: must be at least -10");
	expect_error("dur 50ms\n", "t.conf:1: dur: must be at least 100ms");
	expect_error("dur 2h\n", "t.conf:1: dur: must be at most 1h");
	expect_error("dur soon\n", "t.conf:1: dur: 'soon' is not a duration "
	    "with a unit (examples: 500ms, 5s, 1m, 1h)");
	expect_error("dur -1s\n", "t.conf:1: dur: '-1s' is not a duration "
	    "with a unit (examples: 500ms, 5s, 1m, 1h)");
	/* A bare number could mean seconds or milliseconds: refused. */
	expect_error("dur 2\n", "t.conf:1: dur: '2' is not a duration "
	    "with a unit (examples: 500ms, 5s, 1m, 1h)");
	expect_error("size 1000\n", "t.conf:1: size: must be at least 1kb");
	expect_error("size 2gb\n", "t.conf:1: size: must be at most 1gb");
	expect_error("size 4q\n", "t.conf:1: size: '4q' is not a size "
	    "(examples: 512kb, 4mb, 1gb)");
	expect_error("level loud\n",
	    "t.conf:1: level: 'loud' is not one of: debug, info, warn");
	expect_error("item bad\n", "t.conf:1: item: 'bad' is refused");
	expect_error("item\n", "t.conf:1: item: needs at least one word");
}

static void
test_sizes_and_durations(void)
{
	struct tconf c;

	CU_ASSERT_PTR_NULL(load(&c, "size 4k\ndur 100ms\n"));
	CU_ASSERT_EQUAL(c.size, 4000);		/* k = 1000 */
	CU_ASSERT_EQUAL(c.dur, 100);
	conf_free(&c);
	CU_ASSERT_PTR_NULL(load(&c, "size 1gb\ndur 1h\n"));
	CU_ASSERT_EQUAL(c.size, 1024ULL * 1024 * 1024);	/* exactly at max */
	CU_ASSERT_EQUAL(c.dur, 3600000);
	conf_free(&c);
	CU_ASSERT_PTR_NULL(load(&c, "size 1kb\ndur 2s\n"));
	CU_ASSERT_EQUAL(c.size, 1024);
	CU_ASSERT_EQUAL(c.dur, 2000);
	conf_free(&c);
}

static void
test_error_lines(void)
{
	expect_error("# one\n\nnum 5\n\n  bogus 1\nnum 6\n",
	    "t.conf:5: unknown directive 'bogus'");
	expect_error("num 5\r\nbogus\r\n", "t.conf:2: unknown directive 'bogus'");
	expect_error("num\n", "t.conf:1: num: takes one argument: N");
	expect_error("\n\nnum 1 2\n", "t.conf:3: num: takes one argument: N");
	expect_error("str a b\n", "t.conf:1: str: takes one argument: STRING");
	expect_error("flag yes\nstr \"abc\n", "t.conf:2: unbalanced quotes");
	expect_error("str 'abc\n", "t.conf:1: unbalanced quotes");
	expect_error("str \"a\"b\n",
	    "t.conf:1: closing quote must be followed by a space");
	expect_error("str 'a'b\n",
	    "t.conf:1: closing quote must be followed by a space");
	expect_error("str \"a\\x00b\"\n",
	    "t.conf:1: NUL byte in a quoted string");
}

static void
test_quoting(void)
{
	struct tconf c;

	CU_ASSERT_PTR_NULL(load(&c,
	    "str \"a\\nb\\tc\\\\d\\\"e\\x41\\x7a\"\n"
	    "nodef 'x \\'y\\' # not a comment \"'\n"
	    "item \"two words\" 'and # this' plain\n"));
	CU_ASSERT_STRING_EQUAL(c.str, "a\nb\tc\\d\"eAz");
	CU_ASSERT_STRING_EQUAL(c.nodef, "x 'y' # not a comment \"");
	CU_ASSERT_EQUAL_FATAL(nitems_list(c.items), 1);
	CU_ASSERT_STRING_EQUAL(c.items->text, "two words,and # this,plain");
	conf_free(&c);

	CU_ASSERT_PTR_NULL(load(&c, "str \"\"\nnodef ''\n"));
	CU_ASSERT_STRING_EQUAL(c.str, "");
	CU_ASSERT_STRING_EQUAL(c.nodef, "");
	conf_free(&c);
}

static void
test_split(void)
{
	char		**argv;
	const char	 *cause = NULL;
	int		  argc;

	argc = conf_split("  # only a comment", &argv, &cause);
	CU_ASSERT_EQUAL(argc, 0);
	conf_free_args(argc, argv);
	argc = conf_split("a \"b c\"\t'd e' f#g # h", &argv, &cause);
	CU_ASSERT_EQUAL_FATAL(argc, 4);
	CU_ASSERT_STRING_EQUAL(argv[0], "a");
	CU_ASSERT_STRING_EQUAL(argv[1], "b c");
	CU_ASSERT_STRING_EQUAL(argv[2], "d e");
	CU_ASSERT_STRING_EQUAL(argv[3], "f#g");
	CU_ASSERT_PTR_NULL(argv[4]);
	conf_free_args(argc, argv);
	argc = conf_split("x \"\\xzz\"", &argv, &cause);
	CU_ASSERT_EQUAL_FATAL(argc, 2);
	CU_ASSERT_STRING_EQUAL(argv[1], "xzz");	/* not hex: a plain x */
	conf_free_args(argc, argv);
	argc = conf_split("x \"unterminated\\\"", &argv, &cause);
	CU_ASSERT_EQUAL(argc, -1);
	CU_ASSERT_STRING_EQUAL(cause, "unbalanced quotes");
}

/* ---- include ------------------------------------------------------------ */

static void
test_include(void)
{
	struct tconf	 c;
	char		*dir = tu_tmpdir(), *main_conf, *sub, *p, *cause = NULL;
	char		 want[1024];

	p = tu_join(dir, "sub");
	CU_ASSERT_FATAL(mkdir_p(p, 0700) == 0);
	free(p);
	main_conf = tu_join(dir, "main.conf");
	tu_write(main_conf, "num 1\ninclude sub/a.conf\nstr after\n", -1, 0600);
	p = tu_join(dir, "sub/a.conf");
	/* b.conf is relative to sub/, the including file's directory. */
	tu_write(p, "# a\nnum 2\ninclude b.conf\n", -1, 0600);
	free(p);
	sub = tu_join(dir, "sub/b.conf");
	tu_write(sub, "size 8kb\nitem x\n", -1, 0600);

	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, main_conf, 0, NULL, &cause) == 0);
	CU_ASSERT_EQUAL(c.num, 2);
	CU_ASSERT_EQUAL(c.size, 8192);
	CU_ASSERT_STRING_EQUAL(c.str, "after");
	snprintf(want, sizeof(want), "%s:2", sub);
	CU_ASSERT_STRING_EQUAL(conf_where(&c, "item"), want);
	conf_free(&c);

	/* The same through conf_load_mem, named by a path. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load_mem(tdefs, NDEFS, &c, main_conf,
	    "include sub/b.conf\n", &cause) == 0);
	CU_ASSERT_EQUAL(c.size, 8192);
	conf_free(&c);

	/* An error inside a nested include names that file and line. */
	tu_write(sub, "size 8kb\n\nnum 500\n", -1, 0600);
	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, main_conf, 0, NULL, &cause) == -1);
	snprintf(want, sizeof(want), "%s:3: num: must be at most 100", sub);
	CU_ASSERT_STRING_EQUAL(cause, want);
	free(cause);
	cause = NULL;
	conf_free(&c);

	free(sub);
	free(main_conf);
	tu_rmdir(dir);
}

static void
test_include_errors(void)
{
	struct tconf	 c;
	char		*dir = tu_tmpdir(), *a, *b, *cause = NULL;
	char		 want[1024];

	a = tu_join(dir, "a.conf");
	b = tu_join(dir, "b.conf");
	tu_write(a, "num 3\ninclude b.conf\n", -1, 0600);
	tu_write(b, "include a.conf\n", -1, 0600);

	/* A loop is refused with a message, not a crash. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, a, 0, NULL, &cause) == -1);
	CU_ASSERT(tu_has(cause, "nested deeper"));
	CU_ASSERT(tu_starts(cause, dir));
	free(cause);
	cause = NULL;
	conf_free(&c);

	/* A file including itself. */
	tu_write(b, "include b.conf\n", -1, 0600);
	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, b, 0, NULL, &cause) == -1);
	CU_ASSERT(tu_has(cause, "nested deeper"));
	free(cause);
	cause = NULL;
	conf_free(&c);

	/* include needs exactly one file. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load_mem(tdefs, NDEFS, &c, "t.conf", "\ninclude\n",
	    &cause) == -1);
	CU_ASSERT_STRING_EQUAL(cause, "t.conf:2: include takes one file");
	free(cause);
	cause = NULL;
	conf_free(&c);

	/*
	 * A missing include is reported at the include line of the including
	 * file (conf.h: every error is "FILE:LINE: message").
	 */
	tu_write(a, "num 3\n\ninclude missing.conf\n", -1, 0600);
	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, a, 0, NULL, &cause) == -1);
	snprintf(want, sizeof(want), "%s:3: ", a);
	CU_ASSERT(tu_has(cause, "missing.conf"));
	if (!tu_starts(cause, want)) {
		fprintf(stderr, "\n  BUG: missing include not reported at "
		    "its line: \"%s\" (want prefix \"%s\")\n", cause, want);
		CU_FAIL("missing include: error lacks the FILE:LINE of the "
		    "include directive");
	}
	free(cause);
	cause = NULL;
	conf_free(&c);

	/* A missing main file is an error too. */
	unlink(b);
	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, b, 0, NULL, &cause) == -1);
	CU_ASSERT(tu_starts(cause, b));
	free(cause);
	conf_free(&c);

	free(a);
	free(b);
	tu_rmdir(dir);
}

/* ---- command-line overrides --------------------------------------------- */

static void
test_overrides(void)
{
	struct tconf	 c;
	char		*dir = tu_tmpdir(), *file, *cause = NULL;
	char		*argv[] = { "--num", "7", "--item", "x", "--num", "8",
			    "--item", "y", "z", "--str", "cli" };
	char		*bad1[] = { "num", "7" };
	char		*bad2[] = { "--num", "7", "--bogus", "1" };
	char		*bad3[] = { "--num", "1", "2" };
	char		*bad4[] = { "--" };

	file = tu_join(dir, "t.conf");
	tu_write(file, "num 3\nitem file\nstr f\n", -1, 0600);

	memset(&c, 0, sizeof(c));
	CU_ASSERT_FATAL(conf_load(tdefs, NDEFS, &c, file, (int)nitems(argv),
	    argv, &cause) == 0);
	CU_ASSERT_EQUAL(c.num, 8);		/* the later one wins */
	CU_ASSERT_STRING_EQUAL(c.str, "cli");
	CU_ASSERT_EQUAL_FATAL(nitems_list(c.items), 3);	/* repeatable: adds */
	CU_ASSERT_STRING_EQUAL(c.items->text, "file");
	CU_ASSERT_STRING_EQUAL(c.items->next->text, "x");
	CU_ASSERT_STRING_EQUAL(c.items->next->next->text, "y,z");
	CU_ASSERT_STRING_EQUAL(conf_where(&c, "num"), "command line:5");
	conf_free(&c);

	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, file, 2, bad1, &cause) == -1);
	CU_ASSERT_STRING_EQUAL(cause,
	    "command line: expected --directive, not 'num'");
	free(cause);
	conf_free(&c);

	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, file, 4, bad2, &cause) == -1);
	CU_ASSERT_STRING_EQUAL(cause, "command line:3: unknown directive 'bogus'");
	free(cause);
	conf_free(&c);

	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, NULL, 3, bad3, &cause) == -1);
	CU_ASSERT_STRING_EQUAL(cause,
	    "command line:1: num: takes one argument: N");
	free(cause);
	conf_free(&c);

	memset(&c, 0, sizeof(c));
	CU_ASSERT(conf_load(tdefs, NDEFS, &c, NULL, 1, bad4, &cause) == -1);
	CU_ASSERT(tu_starts(cause, "command line"));
	free(cause);
	conf_free(&c);

	free(file);
	tu_rmdir(dir);
}

/* ---- reload ------------------------------------------------------------- */

static void
test_merge(void)
{
	struct tconf	run, next;
	int		ignored;

	CU_ASSERT_PTR_NULL(load(&run, "num 5\nstr old\nitem a\ndur 1s\n"));
	CU_ASSERT_PTR_NULL(load(&next,
	    "num 6\n\nstr new\nitem b\nitem c\ndur 1s\nrnum 3\n"));
	ignored = conf_merge(&run, &next);
	CU_ASSERT_EQUAL(ignored, 1);			/* num needs a restart */
	CU_ASSERT_EQUAL(run.num, 5);
	CU_ASSERT_STRING_EQUAL(run.str, "new");		/* reloadable: swapped */
	CU_ASSERT_EQUAL(run.rnum, 3);
	CU_ASSERT_EQUAL(run.dur, 1000);
	CU_ASSERT_EQUAL_FATAL(nitems_list(run.items), 2);
	CU_ASSERT_STRING_EQUAL(run.items->text, "b");
	CU_ASSERT_STRING_EQUAL(run.items->next->text, "c");
	CU_ASSERT_STRING_EQUAL(conf_where(&run, "str"), "t.conf:3");
	CU_ASSERT_STRING_EQUAL(conf_where(&run, "num"), "t.conf:1");
	/* next holds the old reloadable values, for conf_free. */
	CU_ASSERT_STRING_EQUAL(next.str, "old");
	CU_ASSERT_EQUAL_FATAL(nitems_list(next.items), 1);
	CU_ASSERT_STRING_EQUAL(next.items->text, "a");
	conf_free(&next);

	/* The same text again: nothing changes, nothing is ignored. */
	CU_ASSERT_PTR_NULL(load(&next,
	    "num 5\nstr new\nitem b\nitem c\ndur 1s\nrnum 3\n"));
	CU_ASSERT_EQUAL(conf_merge(&run, &next), 0);
	conf_free(&next);

	/* Setting a directive to its default text is no change either. */
	CU_ASSERT_PTR_NULL(load(&next, "num 10\n"));
	conf_free(&run);
	CU_ASSERT_PTR_NULL(load(&run, ""));
	CU_ASSERT_EQUAL(conf_merge(&run, &next), 0);
	conf_free(&next);

	/* A reloadable directive removed from the file reverts to default. */
	CU_ASSERT_PTR_NULL(load(&next, ""));
	conf_free(&run);
	CU_ASSERT_PTR_NULL(load(&run, "str x\nrnum 1\n"));
	CU_ASSERT_EQUAL(conf_merge(&run, &next), 0);
	CU_ASSERT_STRING_EQUAL(run.str, "hello");
	CU_ASSERT_EQUAL(run.rnum, -5);
	CU_ASSERT_STRING_EQUAL(conf_where(&run, "str"), "default");
	conf_free(&next);
	conf_free(&run);
}

static void
test_usage_and_example(void)
{
	char	*buf = NULL, *text;
	size_t	 len = 0;
	FILE	*fp;
	struct tconf c;

	fp = open_memstream(&buf, &len);
	CU_ASSERT_FATAL(fp != NULL);
	conf_usage(tdefs, NDEFS, fp);
	fclose(fp);
	CU_ASSERT(tu_has(buf, "item WORD..."));
	CU_ASSERT(tu_has(buf, "[repeatable]"));
	CU_ASSERT(tu_has(buf, "[default: 4mb]"));
	free(buf);

	/* The example loads, and gives the defaults. */
	buf = NULL;
	fp = open_memstream(&buf, &len);
	conf_example(tdefs, NDEFS, "test", fp);
	fclose(fp);
	text = buf;
	CU_ASSERT_PTR_NULL(load(&c, text));
	CU_ASSERT_EQUAL(c.num, 10);
	conf_free(&c);
	free(buf);
}

/* ---- the real tables ---------------------------------------------------- */

static char	*agent_dir;

/* Loads text as a file of the agent; returns the cause or NULL. */
static char *
agent_text(const char *text, char **pathp, struct agent_conf **out)
{
	struct agent_conf	*c;
	char			*cause = NULL;

	free(*pathp);
	*pathp = tu_join(agent_dir, "ccagent.conf");
	tu_write(*pathp, text, -1, 0600);
	c = agent_conf_load(*pathp, 0, NULL, &cause);
	if (out != NULL)
		*out = c;
	else
		agent_conf_free(c);
	return cause;
}

static void
expect_agent(const char *text, int line, const char *msg)
{
	char	*path = NULL, *cause, want[1024];

	cause = agent_text(text, &path, NULL);
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	if (!tu_starts(cause, want) || !tu_has(cause, msg)) {
		fprintf(stderr, "\n  for %s\n  want: %s...%s\n  got:  %s\n",
		    text, want, msg, cause ? cause : "(success)");
		CU_FAIL("wrong agent config error");
	}
	free(cause);
	free(path);
}

static void
test_agent_example(void)
{
	struct agent_conf	*c;
	char			*cause = NULL, *path = tu_srcpath("etc/ccagent.conf");
	char			*buf = NULL, *want;
	size_t			 len = 0, wlen;
	FILE			*fp;

	c = agent_conf_load(path, 0, NULL, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->bind, "127.0.0.1");
	CU_ASSERT_EQUAL(c->port, 5000);
	CU_ASSERT_EQUAL_FATAL(c->monitors.n, 1);
	CU_ASSERT_STRING_EQUAL(c->monitors.v[0].text, "127.0.0.1:55100");
	CU_ASSERT_EQUAL(c->sample_interval, 5000);
	CU_ASSERT_EQUAL(c->sample_timeout, 2000);
	CU_ASSERT_EQUAL(c->spool_max_size, 64ULL * 1024 * 1024);
	CU_ASSERT_EQUAL(c->max_frame_size, 4ULL * 1024 * 1024);
	CU_ASSERT_EQUAL(c->log_level, 1);
	CU_ASSERT_PTR_NULL(c->watches);
	agent_conf_free(c);

	/* The shipped example is what --example-config prints. */
	fp = open_memstream(&buf, &len);
	conf_example(agent_conf_defs, agent_conf_ndefs, "ccagent example "
	    "configuration (generated by ccagent --example-config)", fp);
	fclose(fp);
	want = tu_read(path, &wlen);
	CU_ASSERT(want != NULL && len == wlen && memcmp(buf, want, len) == 0);
	free(want);
	free(buf);
	free(path);
}

static void
test_monitor_example(void)
{
	struct monitor_conf	*c;
	char			*cause = NULL, *path = tu_srcpath("etc/ccmonitor.conf");
	char			*buf = NULL, *want;
	size_t			 len = 0, wlen;
	FILE			*fp;

	c = monitor_conf_load(path, 0, NULL, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->port, 55100);
	CU_ASSERT_EQUAL(c->http_port, 55101);
	CU_ASSERT_EQUAL(c->save_interval, 60000);
	CU_ASSERT_EQUAL(c->instance_expire, 30ULL * 86400000);
	CU_ASSERT_EQUAL(c->max_hosts, 10000);
	monitor_conf_free(c);

	fp = open_memstream(&buf, &len);
	conf_example(monitor_conf_defs, monitor_conf_ndefs, "ccmonitor example "
	    "configuration (generated by ccmonitor --example-config)", fp);
	fclose(fp);
	want = tu_read(path, &wlen);
	CU_ASSERT(want != NULL && len == wlen && memcmp(buf, want, len) == 0);
	free(want);
	free(buf);
	free(path);
}

static void
test_agent_checks(void)
{
	struct agent_conf	*c;
	char			*path = NULL, *cause, *secret, *dir;
	char			 text[1024];

	/* sample-timeout must stay below sample-interval. */
	expect_agent("sample-interval 2s\nsample-timeout 2s\n", 2,
	    "sample-timeout (2000 ms) must be below sample-interval (2000 ms)");
	/* Blamed on the line that made it so, even when that is the interval. */
	expect_agent("# x\nsample-interval 1s\n", 2,
	    "sample-timeout (2000 ms) must be below sample-interval (1000 ms)");

	/* A non-loopback management port needs a secret or mutual TLS. */
	expect_agent("port 5001\n\nbind 0.0.0.0\n", 3, "is not loopback");
	expect_agent("bind 10.1.2.3\ntls-cert-file /c\ntls-key-file /k\n", 1,
	    "is not loopback");
	expect_agent("bind ::1x\n", 1, "is not an IP address");
	cause = agent_text("bind 0.0.0.0\nauth-secret-file /etc/secret\n",
	    &path, &c);
	CU_ASSERT_PTR_NULL(cause);
	agent_conf_free(c);
	free(cause);
	cause = agent_text("bind 0.0.0.0\ntls-cert-file /c\ntls-key-file /k\n"
	    "tls-ca-cert-file /ca\n", &path, &c);
	CU_ASSERT_PTR_NULL(cause);
	agent_conf_free(c);
	free(cause);
	expect_agent("\ntls-cert-file /c\n", 2, "go together");

	/* watch takes an IP, never a name. */
	expect_agent("watch a 127.0.0.1:6379\nwatch b localhost:6380\n", 2,
	    "host must be an IP address");
	expect_agent("watch a 127.0.0.1:6379\nwatch a 127.0.0.1:6380\n", 2,
	    "watched twice");
	expect_agent("watch bad/name 127.0.0.1:6379\n", 1, "not a valid name");
	expect_agent("watch a 127.0.0.1:0\n", 1, "port must be 1-65535");
	expect_agent("watch a\n", 1, "usage: watch");
	expect_agent("monitor 127.0.0.1:1 mon.example:55100\n", 1,
	    "host must be an IP address");
	expect_agent("host-name \"a b\"\n", 1, "host-name");
	expect_agent("spool-max-size 1kb\n", 1, "must be at least 1mb");
	expect_agent("log-level loud\n", 1, "is not one of");

	/* Good watches, IPv4 and IPv6, with a password file. */
	dir = tu_tmpdir();
	secret = tu_join(dir, "pw");
	tu_write(secret, "pw\n", -1, 0600);
	snprintf(text, sizeof(text), "watch a 127.0.0.1:6379\n"
	    "watch b [::1]:6380 default %s\nmonitor 10.0.0.1:1 [::1]:2\n",
	    secret);
	cause = agent_text(text, &path, &c);
	CU_ASSERT_PTR_NULL(cause);
	free(cause);
	if (c != NULL) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(c->watches);
		CU_ASSERT_STRING_EQUAL(c->watches->name, "a");
		CU_ASSERT_STRING_EQUAL(c->watches->ip, "127.0.0.1");
		CU_ASSERT_EQUAL(c->watches->port, 6379);
		CU_ASSERT_PTR_NULL(c->watches->user);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c->watches->next);
		CU_ASSERT_STRING_EQUAL(c->watches->next->ip, "::1");
		CU_ASSERT_EQUAL(c->watches->next->port, 6380);
		CU_ASSERT_STRING_EQUAL(c->watches->next->user, "default");
		CU_ASSERT_EQUAL(c->monitors.n, 2);
		CU_ASSERT_STRING_EQUAL(c->monitors.v[1].text, "[::1]:2");
		agent_conf_free(c);
	}
	/* An unreadable password file is caught at load. */
	snprintf(text, sizeof(text), "watch a 127.0.0.1:6379 u %s/nope\n", dir);
	expect_agent(text, 1, "is not readable");
	free(secret);
	tu_rmdir(dir);
	free(path);
}

static void
test_agent_overrides(void)
{
	struct agent_conf	*c;
	char			*cause = NULL;
	char			*ok[] = { "--sample-interval", "10s",
				    "--watch", "a", "127.0.0.1:1",
				    "--watch", "b", "127.0.0.1:2" };
	char			*bad[] = { "--port", "5001",
				    "--sample-timeout", "10s" };

	c = agent_conf_load(NULL, (int)nitems(ok), ok, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->sample_interval, 10000);
	CU_ASSERT_PTR_NOT_NULL(c->watches);
	CU_ASSERT(c->watches != NULL && c->watches->next != NULL &&
	    strcmp(c->watches->next->name, "b") == 0);
	agent_conf_free(c);

	c = agent_conf_load(NULL, (int)nitems(bad), bad, &cause);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT(tu_starts(cause, "command line:3: sample-timeout (10000 ms) "
	    "must be below"));
	free(cause);
}

static void
test_agent_reload(void)
{
	struct agent_conf	*run, *next;
	char			*cause = NULL, *path = NULL;

	free(agent_text("watch a 127.0.0.1:1\nport 5001\n", &path, &run));
	CU_ASSERT_PTR_NOT_NULL_FATAL(run);
	free(agent_text("watch b 127.0.0.1:2\nwatch c 127.0.0.1:3\n"
	    "port 5002\nsample-interval 10s\n", &path, &next));
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	CU_ASSERT_EQUAL(conf_merge(run, next), 1);	/* port: restart */
	CU_ASSERT_EQUAL(run->port, 5001);
	CU_ASSERT_EQUAL(run->sample_interval, 10000);
	CU_ASSERT_STRING_EQUAL(run->watches->name, "b");
	CU_ASSERT_STRING_EQUAL(run->watches->next->name, "c");
	CU_ASSERT_STRING_EQUAL(next->watches->name, "a");
	agent_conf_free(next);
	agent_conf_free(run);
	free(cause);
	free(path);
}

static void
test_monitor_checks(void)
{
	struct monitor_conf	*c;
	char			*dir = tu_tmpdir(), *path, *cause = NULL;
	char			 want[1024];
	static const struct {
		const char	*text;
		int		 line;
		const char	*msg;
	} cases[] = {
		{ "\nbind 0.0.0.0\n", 2, "is not loopback" },
		{ "bind 0.0.0.0\nauth-secret-file /s\n", 1,
		  "http-auth-token-file" },
		{ "port 6000\nhttp-port 6000\n", 2, "http-port must differ" },
		{ "tls-ca-cert-file /ca\n", 1, "needs tls-cert-file" },
		{ "bind localhost\n", 1, "is not an IP address" },
		{ "save-interval 10ms\n", 1, "must be at least 1s" },
		{ "max-hosts 0\n", 1, "must be at least 1" },
		{ "probe-interval 1s\nprobe-timeout 2s\n", 2,
		  "must not exceed probe-interval" },
		{ "probe-failures 0\n", 1, "must be at least 1" },
		{ "instance r1\n", 1, "usage: instance NAME" },
		{ "instance ../x 127.0.0.1:6379\n", 1, "not a valid name" },
		{ "instance r1 localhost:6379\n", 1, "localhost:6379" },
		{ "instance r1 127.0.0.1:6379\ninstance r1 127.0.0.1:6380\n", 2,
		  "given twice" },
		{ "instance r1 127.0.0.1:6379 u /nonexistent/pw\n", 1,
		  "not readable" },
		{ "rule a redis_up\n", 1, "usage: rule NAME" },
		{ "rule a-b redis_up < 1\n", 1, "letters, digits and _" },
		{ "rule a no_such_metric > 1\n", 1, "not a metric rules know" },
		{ "rule a redis_commands_processed_total > 1\n", 1,
		  "not a metric rules know" },
		{ "rule a redis_up =< 1\n", 1, "is not one of" },
		{ "rule a redis_up < one\n", 1, "is not a number" },
		{ "rule a redis_up < 1 for 5\n", 1, "a duration with a unit" },
		{ "rule a redis_up < 1 for\n", 1, "needs a value" },
		{ "rule a redis_up < 1 severity bad-level\n", 1, "severity" },
		{ "rule a redis_up < 1 labels x\n", 1, "is not k=v" },
		{ "rule a redis_up < 1 labels instance=x\n", 1,
		  "set by the monitor" },
		{ "rule a redis_up < 1 labels a=1,a=2\n", 1, "given twice" },
		{ "rule a redis_up < 1 when 5s\n", 1, "expected for, severity" },
		{ "rule a redis_up < 1\nrule a redis_up > 1\n", 2,
		  "given twice" },
		{ "rule instance_down redis_up < 1\n", 1, "built in" },
		{ "control-center-url ftp://x/\n", 1, "only http" },
		{ "alert-webhook http://u:p@127.0.0.1/\n", 1, "user:password" },
		{ "alertmanager-url nothing\n", 1, "alertmanager-url" },
		{ "alert-exec relative/path\n", 1, "executable absolute path" },
	};
	size_t i;

	path = tu_join(dir, "ccmonitor.conf");
	for (i = 0; i < nitems(cases); i++) {
		tu_write(path, cases[i].text, -1, 0600);
		c = monitor_conf_load(path, 0, NULL, &cause);
		CU_ASSERT_PTR_NULL(c);
		monitor_conf_free(c);
		snprintf(want, sizeof(want), "%s:%d: ", path, cases[i].line);
		if (!tu_starts(cause, want) || !tu_has(cause, cases[i].msg)) {
			fprintf(stderr, "\n  for %s\n  want: %s...%s\n  got: %s\n",
			    cases[i].text, want, cases[i].msg, cause);
			CU_FAIL("wrong monitor config error");
		}
		free(cause);
		cause = NULL;
	}
	tu_write(path, "bind 0.0.0.0\nauth-secret-file /s\n"
	    "http-auth-token-file /t\n", -1, 0600);
	c = monitor_conf_load(path, 0, NULL, &cause);
	CU_ASSERT_PTR_NOT_NULL(c);
	monitor_conf_free(c);

	/* Rules and instance lines, parsed. */
	tu_write(path, "rule mem_high redis_memory_used_ratio >= 0.9 for 1m "
	    "severity critical labels team=cache,tier=1\n"
	    "rule cpu ccnode_host_cpu_usage_ratio > 0.8\n"
	    "instance r9 127.0.0.1:6390\n"
	    "control-center-url http://127.0.0.1:9/events\n", -1, 0600);
	c = monitor_conf_load(path, 0, NULL, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->rules->name, "mem_high");
	CU_ASSERT_EQUAL(c->rules->op, OP_GE);
	CU_ASSERT_DOUBLE_EQUAL(c->rules->threshold, 0.9, 1e-9);
	CU_ASSERT_EQUAL(c->rules->for_ms, 60000);
	CU_ASSERT_STRING_EQUAL(c->rules->severity, "critical");
	CU_ASSERT_EQUAL(c->rules->nlabels, 2);
	CU_ASSERT_STRING_EQUAL(c->rules->lkeys[1], "tier");
	CU_ASSERT_STRING_EQUAL(c->rules->lvals[1], "1");
	CU_ASSERT_EQUAL(c->rules->host, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->rules->next);
	CU_ASSERT_EQUAL(c->rules->next->host, 1);
	CU_ASSERT_STRING_EQUAL(c->rules->next->severity, "warning");
	CU_ASSERT_STRING_EQUAL(c->probes->ip, "127.0.0.1");
	CU_ASSERT_EQUAL(c->probes->port, 6390);
	monitor_conf_free(c);
	free(path);
	tu_rmdir(dir);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_defaults),
		TU_TEST(test_every_type),
		TU_TEST(test_later_line_wins),
		TU_TEST(test_bool_values),
		TU_TEST(test_bad_values),
		TU_TEST(test_sizes_and_durations),
		TU_TEST(test_error_lines),
		TU_TEST(test_quoting),
		TU_TEST(test_split),
		TU_TEST(test_include),
		TU_TEST(test_include_errors),
		TU_TEST(test_overrides),
		TU_TEST(test_merge),
		TU_TEST(test_usage_and_example),
		TU_TEST(test_agent_example),
		TU_TEST(test_monitor_example),
		TU_TEST(test_agent_checks),
		TU_TEST(test_agent_overrides),
		TU_TEST(test_agent_reload),
		TU_TEST(test_monitor_checks),
	};

	int rc;

	agent_dir = tu_tmpdir();
	rc = tu_main("conf", tests, nitems(tests));
	tu_rmdir(agent_dir);
	return rc;
}
