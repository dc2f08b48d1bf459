/*
 * fuzz_query.c: the small parsers that take text from HTTP query strings
 * and config values (times, addresses, durations, sizes, numbers, names),
 * and json_bytes, which turns any bytes into a JSON string.
 *
 * json_bytes is checked against jansson itself: it must never return NULL,
 * and its string must round-trip through a dump and a load.  Text it keeps
 * unescaped is the input; escaped text maps back to the input bytes (a
 * backslash is "\\" there, any other byte may be "\xHH").
 */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

/* json_key's text back into bytes; aborts on a lone backslash. */
static size_t
unescape(const char *s, size_t n, uint8_t *out)
{
	size_t	i = 0, o = 0;

	while (i < n) {
		if (s[i] != '\\')
			out[o++] = (uint8_t)s[i++];
		else if (i + 1 < n && s[i + 1] == '\\') {
			out[o++] = '\\';
			i += 2;
		} else if (i + 3 < n && s[i + 1] == 'x' &&
		    hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
			out[o++] = (uint8_t)(hexval(s[i + 2]) * 16 +
			    hexval(s[i + 3]));
			i += 4;
		} else
			abort();
	}
	return o;
}

static void
check_json(const uint8_t *data, size_t size)
{
	json_t		*j, *back;
	char		*text;
	const char	*s;
	uint8_t		*buf;
	size_t		 n, back_len;
	int		 escaped = -1;

	j = json_bytes((const char *)data, size, &escaped);
	if (j == NULL || (escaped != 0 && escaped != 1))
		abort();
	s = json_string_value(j);
	n = json_string_length(j);
	if (!escaped) {
		if (n != size || memcmp(s, data, size) != 0)
			abort();
	} else {
		/* The bytes back are never more than the text. */
		if ((buf = malloc(n + 1)) == NULL)
			abort();
		back_len = unescape(s, n, buf);
		if (back_len != size || memcmp(buf, data, size) != 0)
			abort();
		free(buf);
	}
	text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	if (text == NULL)
		abort();
	back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (back == NULL || !json_equal(j, back))
		abort();
	json_decref(back);
	free(text);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*cause;
	char			*s, buf[64];
	uint64_t		 u;
	int64_t			 ms;
	long long		 ll;
	double			 d;

	check_json(data, size);
	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	/* From 1970 (less a day of offset) to the end of year 9999. */
	if (parse_time_ms(s, &ms) == 0 && (ms < -86400000LL ||
	    ms > 253402300800000LL + 86400000LL))
		abort();
	if (parse_hostport(s, &ss, &len, &cause) == 0) {
		if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
			abort();
		fmt_addr((struct sockaddr *)&ss, buf, sizeof(buf));
	}
	parse_duration_ms(s, &u);
	parse_size(s, &u);
	parse_ll(s, &ll);
	parse_double(s, &d);
	valid_name(s);
	free(s);
	return 0;
}
