/*
 * fuzz_query.c: the small parsers that take text from HTTP query strings
 * and config values (times, addresses, durations, sizes, numbers, names),
 * and json_bytes, which turns any bytes into a JSON string.
 *
 * json_bytes is checked against jansson itself: it must never return NULL,
 * text it keeps unescaped must round-trip through a dump and a load, and
 * escaped text must be plain ASCII.
 */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_json(const uint8_t *data, size_t size)
{
	json_t		*j, *back;
	char		*text;
	const char	*s;
	size_t		 i, n;
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
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 ||
			    (unsigned char)s[i] >= 0x7f)
				abort();
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
