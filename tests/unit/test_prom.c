/*
 * test_prom.c: the Prometheus exposition helpers (monitor/prom.c): label
 * value escaping and sample values.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "monitor/monitor.h"
#include "util.h"
#include "testutil.h"

/* The text f wrote into a fresh buffer; the caller frees it. */
static char *
text_of(struct evbuffer *b)
{
	size_t	 n = evbuffer_get_length(b);
	char	*s = xmalloc(n + 1);

	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

static void
check_label(const char *in, const char *want)
{
	struct evbuffer	*b = evbuffer_new();
	char		*got;

	prom_label_value(b, in);
	got = text_of(b);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "\n  prom_label_value(\"%s\") = \"%s\", want "
		    "\"%s\"", in, got, want);
		CU_FAIL("wrong label escaping");
	}
	free(got);
	evbuffer_free(b);
}

static char *
value(double v)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	prom_value(b, v);
	s = text_of(b);
	evbuffer_free(b);
	return s;
}

static void
check_value(double v, const char *want)
{
	char *got = value(v);

	if (strcmp(got, want) != 0) {
		fprintf(stderr, "\n  prom_value(%.17g) = \"%s\", want \"%s\"",
		    v, got, want);
		CU_FAIL("wrong value text");
	}
	free(got);
}

/* Parses back to exactly v, as Prometheus would (Go ParseFloat). */
static void
check_roundtrip(double v)
{
	char	*got = value(v), *end;
	double	 back = strtod(got, &end);

	CU_ASSERT(*end == '\0');
	if (back != v) {
		fprintf(stderr, "\n  prom_value(%.17g) = \"%s\" reads back as "
		    "%.17g", v, got, back);
		CU_FAIL("value does not round-trip");
	}
	free(got);
}

static void
test_label_value(void)
{
	check_label("", "");
	check_label("cache-1", "cache-1");
	check_label("a\\b", "a\\\\b");
	check_label("say \"hi\"", "say \\\"hi\\\"");
	check_label("two\nlines", "two\\nlines");
	check_label("\\\"\n", "\\\\\\\"\\n");
	/* Everything else, UTF-8 included, goes as is. */
	check_label("caf\xc3\xa9 {x=1} \t", "caf\xc3\xa9 {x=1} \t");
}

static void
test_value(void)
{
	check_value(0, "0");
	check_value(1, "1");
	check_value(-7, "-7");
	check_value(42, "42");
	check_value(1209592, "1209592");
	check_value(1e14, "100000000000000");
	check_value(123456789012345.0, "123456789012345");
	check_value(NAN, "NaN");
	check_value(INFINITY, "+Inf");
	check_value(-INFINITY, "-Inf");
	check_value(0.5, "0.5");
	check_value(-2.25, "-2.25");
	/* Integral values below 1e15 never use an exponent. */
	{
		char *s = value(999999999999999.0);

		CU_ASSERT_PTR_NULL(strchr(s, 'e'));
		free(s);
	}
	check_roundtrip(0.1);
	check_roundtrip(1.0 / 3);
	check_roundtrip(1e15);
	check_roundtrip(9007199254740993.0);
	check_roundtrip(1.5e300);
	check_roundtrip(-4.9e-324);
	check_roundtrip(1e-7);
	check_roundtrip(18446744073709551615.0);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_label_value),
		TU_TEST(test_value),
	};

	return tu_main("prom", tests, nitems(tests));
}
