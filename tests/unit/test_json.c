/*
 * test_json.c: the JSON helpers (common/json.c): arbitrary bytes as JSON
 * strings that map back to them, numbers that JSON cannot hold, timestamps.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "json.h"
#include "util.h"
#include "testutil.h"

/* json_bytes(in, inlen) must give exactly want (NUL-terminated), escaped or not. */
static void
check_bytes(const char *in, size_t inlen, const char *want, int want_escaped)
{
	json_t	*j;
	int	 escaped = -1;

	j = json_bytes(in, inlen, &escaped);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_TRUE(json_is_string(j));
	CU_ASSERT_EQUAL(escaped, want_escaped);
	if (json_string_length(j) != strlen(want) ||
	    memcmp(json_string_value(j), want, strlen(want)) != 0) {
		fprintf(stderr, "\n  json_bytes: want \"%s\", got \"%s\"", want,
		    json_string_value(j));
		CU_FAIL("json_bytes gave the wrong text");
	}
	json_decref(j);
}

static void
test_valid_utf8_kept(void)
{
	check_bytes("plain", 5, "plain", 0);
	check_bytes("", 0, "", 0);
	check_bytes("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15,
	    "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 0);
	/* A backslash in valid text is just a character. */
	check_bytes("a\\b", 3, "a\\b", 0);
	/* Control characters are valid UTF-8; jansson escapes them on output. */
	check_bytes("a\tb\n", 4, "a\tb\n", 0);
	/* The largest code point. */
	check_bytes("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf", 0);
	/* The edges of the 2- and 3-byte forms. */
	check_bytes("\xc2\x80", 2, "\xc2\x80", 0);
	check_bytes("\xe0\xa0\x80", 3, "\xe0\xa0\x80", 0);
	check_bytes("\xed\x9f\xbf", 3, "\xed\x9f\xbf", 0);	/* U+D7FF */
	check_bytes("\xee\x80\x80", 3, "\xee\x80\x80", 0);	/* U+E000 */
}

static void
test_invalid_escaped(void)
{
	check_bytes("\xff", 1, "\\xff", 1);
	check_bytes("ab\xfe", 3, "ab\\xfe", 1);
	/* Once escaping, a backslash is doubled so the text stays readable. */
	check_bytes("a\\b\xff", 4, "a\\\\b\\xff", 1);
	/* Overlong forms of '/'. */
	check_bytes("\xc0\xaf", 2, "\\xc0\\xaf", 1);
	check_bytes("\xe0\x80\xaf", 3, "\\xe0\\x80\\xaf", 1);
	check_bytes("\xf0\x80\x80\xaf", 4, "\\xf0\\x80\\x80\\xaf", 1);
	/* Surrogates. */
	check_bytes("\xed\xa0\x80", 3, "\\xed\\xa0\\x80", 1);
	check_bytes("\xed\xbf\xbf", 3, "\\xed\\xbf\\xbf", 1);
	/* Past U+10FFFF, and 5-byte leads. */
	check_bytes("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80", 1);
	check_bytes("\xf8\x88\x80\x80\x80", 5, "\\xf8\\x88\\x80\\x80\\x80", 1);
	/* Truncated sequences, at the end and in the middle. */
	check_bytes("x\xe2\x82", 3, "x\\xe2\\x82", 1);
	check_bytes("\xe2\x82x", 3, "\\xe2\\x82x", 1);
	/* A lone continuation byte. */
	check_bytes("\x80", 1, "\\x80", 1);
	/* Once escaping, valid characters stay as they are (json_key). */
	check_bytes("\n\x7f\xff\xc3\xa9", 5, "\n\x7f\\xff\xc3\xa9", 1);
	/* escaped may be NULL. */
	json_decref(json_bytes("\xff", 1, NULL));
}

/* A NUL makes text escaped; the NUL itself is kept (JSON writes \u0000). */
static void
test_nul(void)
{
	json_t	*j;
	int	 escaped = -1;

	j = json_bytes("a\0b", 3, &escaped);
	CU_ASSERT_EQUAL(escaped, 1);
	CU_ASSERT_EQUAL(json_string_length(j), 3);
	json_decref(j);
}


static void
test_str(void)
{
	json_t *j;

	j = json_str(NULL);
	CU_ASSERT_TRUE(json_is_null(j));
	json_decref(j);
	j = json_str("caf\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(json_string_value(j), "caf\xc3\xa9");
	json_decref(j);
	j = json_str("bad\xff");
	CU_ASSERT_STRING_EQUAL(json_string_value(j), "bad\\xff");
	json_decref(j);
}

static void
test_num(void)
{
	json_t *j;

	j = json_num(NAN);
	CU_ASSERT_TRUE(json_is_null(j));
	json_decref(j);
	j = json_num(INFINITY);
	CU_ASSERT_TRUE(json_is_null(j));
	json_decref(j);
	j = json_num(-INFINITY);
	CU_ASSERT_TRUE(json_is_null(j));
	json_decref(j);
	j = json_num(3.0);
	CU_ASSERT_TRUE(json_is_integer(j));
	CU_ASSERT_EQUAL(json_integer_value(j), 3);
	json_decref(j);
	j = json_num(-2.0);
	CU_ASSERT_EQUAL(json_integer_value(j), -2);
	json_decref(j);
	j = json_num(2.5);
	CU_ASSERT_TRUE(json_is_real(j));
	CU_ASSERT_DOUBLE_EQUAL(json_real_value(j), 2.5, 0);
	json_decref(j);
	j = json_num(1e300);
	CU_ASSERT_TRUE(json_is_real(j));
	json_decref(j);
	j = json_u64(UINT64_MAX);
	CU_ASSERT_TRUE(json_is_real(j));
	json_decref(j);
	j = json_u64(12345);
	CU_ASSERT_EQUAL(json_integer_value(j), 12345);
	json_decref(j);
}

static void
test_time_ms(void)
{
	static const struct {
		int64_t		 ms;
		const char	*want;
	} cases[] = {
		{ 1795638993123LL, "2026-11-25T20:36:33.123Z" },
		{ 1772323199999LL, "2026-02-28T23:59:59.999Z" },
		{ 951825600000LL, "2000-02-29T12:00:00.000Z" },
		{ 5, "1970-01-01T00:00:00.005Z" },
		{ 1000, "1970-01-01T00:00:01.000Z" },
	};
	json_t	*j;
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		j = json_time_ms(cases[i].ms);
		CU_ASSERT_PTR_NOT_NULL_FATAL(j);
		CU_ASSERT_STRING_EQUAL(json_string_value(j), cases[i].want);
		json_decref(j);
	}
	/* No time: null. */
	j = json_time_ms(0);
	CU_ASSERT_TRUE(json_is_null(j));
	json_decref(j);
	j = json_time_ms(-5);
	CU_ASSERT_TRUE(json_is_null(j));
	json_decref(j);
}

static void
test_to_evbuffer(void)
{
	struct evbuffer	*b = evbuffer_new();
	json_t		*o = json_object();
	char		 out[128];
	size_t		 n;

	json_object_set_new(o, "k", json_bytes("a\"\n\xff", 4, NULL));
	json_object_set_new(o, "n", json_num(NAN));
	json_object_set_new(o, "v", json_num(0.25));
	CU_ASSERT_EQUAL(json_to_evbuffer(o, b), 0);
	n = evbuffer_get_length(b);
	CU_ASSERT_FATAL(n < sizeof(out));
	evbuffer_remove(b, out, n);
	out[n] = '\0';
	CU_ASSERT_STRING_EQUAL(out,
	    "{\"k\":\"a\\\"\\n\\\\xff\",\"n\":null,\"v\":0.25}");
	json_decref(o);
	evbuffer_free(b);
}

/* ---- keys in JSON --------------------------------------------------------- */

static void
check_key(const char *in, size_t len, const char *want_value)
{
	json_t		*j = json_key(in, len);
	char		*text;
	json_t		*back;
	json_error_t	 err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	if (strcmp(json_string_value(j), want_value) != 0) {
		fprintf(stderr, "\n  got \"%s\", want \"%s\"",
		    json_string_value(j), want_value);
		CU_FAIL("wrong key escaping");
	}
	/* Always valid JSON. */
	text = json_dumps(j, JSON_ENCODE_ANY);
	back = json_loads(text, JSON_DECODE_ANY, &err);
	CU_ASSERT_PTR_NOT_NULL(back);
	CU_ASSERT(json_equal(j, back));
	json_decref(back);
	free(text);
	json_decref(j);
}

static void
test_json_key(void)
{
	json_t	*j;
	char	*text;

	check_key("plain", 5, "plain");
	check_key("a\\b", 3, "a\\\\b");
	check_key("\xff", 1, "\\xff");
	check_key("caf\xc3\xa9", 5, "caf\xc3\xa9");
	check_key("caf\xc3", 4, "caf\\xc3");
	check_key("two\nlines", 9, "two\nlines");
	check_key("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");	/* a surrogate */
	check_key("\xc0\xaf", 2, "\\xc0\\xaf");			/* overlong */
	check_key("\\x41", 4, "\\\\x41");
	check_key("", 0, "");
	/* JSON escapes the control characters itself. */
	j = json_key("a\nb\x01", 4);
	text = json_dumps(j, JSON_ENCODE_ANY);
	CU_ASSERT_STRING_EQUAL(text, "\"a\\nb\\u0001\"");
	free(text);
	json_decref(j);
	/* A NUL byte is valid UTF-8, and comes out as \u0000. */
	j = json_key("a\0b", 3);
	CU_ASSERT_EQUAL(json_string_length(j), 3);
	text = json_dumps(j, JSON_ENCODE_ANY);
	CU_ASSERT_STRING_EQUAL(text, "\"a\\u0000b\"");
	free(text);
	json_decref(j);
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

/* Maps the text back to the bytes: \\ is a backslash, \xHH a byte. */
static size_t
unescape(const char *s, size_t n, unsigned char *out)
{
	size_t	i = 0, o = 0;

	while (i < n) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
			out[o++] = '\\';
			i += 2;
		} else if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
		    hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
			out[o++] = (unsigned char)(hexval(s[i + 2]) * 16 +
			    hexval(s[i + 3]));
			i += 4;
		} else {
			CU_ASSERT(s[i] != '\\');	/* never a lone backslash */
			out[o++] = (unsigned char)s[i++];
		}
	}
	return o;
}

/* Random bytes, biased to backslashes, x and UTF-8 pieces: always reversible. */
static void
test_json_key_random(void)
{
	static const unsigned char alpha[] = { 0x00, '\\', 'x', 'a', '4', 0xc3,
	    0xa9, 0xff, 0xe4, 0xb8, 0xad, 0x80, '\n', '"', 0xf0, 0x9f };
	unsigned char	 in[40], out[200];
	uint32_t	 seed = 12345;
	size_t		 n, i, m;
	int		 round, bad = 0;
	json_t		*j, *back;
	char		*text;

	for (round = 0; round < 20000; round++) {
		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % sizeof(in);
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			in[i] = alpha[(seed >> 16) % sizeof(alpha)];
		}
		j = json_key(in, n);
		m = unescape(json_string_value(j), json_string_length(j), out);
		if (m != n || memcmp(in, out, n) != 0)
			bad++;
		text = json_dumps(j, JSON_ENCODE_ANY);
		back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (back == NULL || !json_equal(back, j))
			bad++;
		json_decref(back);
		free(text);
		json_decref(j);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_valid_utf8_kept),
		TU_TEST(test_invalid_escaped),
		TU_TEST(test_nul),
		TU_TEST(test_json_key),
		TU_TEST(test_json_key_random),
		TU_TEST(test_str),
		TU_TEST(test_num),
		TU_TEST(test_time_ms),
		TU_TEST(test_to_evbuffer),
	};

	return tu_main("json", tests, nitems(tests));
}
