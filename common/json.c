/*
 * json.c: see json.h.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "json.h"
#include "util.h"

/* Whether s[0..len) is valid UTF-8 with no NUL bytes (jansson's rule). */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t	i = 0, n, j;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		for (j = 1; j <= n; j++) {
			if (i + j >= len || (s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

json_t *
json_bytes(const char *s, size_t len, int *escaped)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*buf, *p;
	json_t			*j;
	size_t			 i;

	if (utf8_valid(u, len)) {
		if (escaped != NULL)
			*escaped = 0;
		return json_stringn(s, len);
	}
	if (escaped != NULL)
		*escaped = 1;
	p = buf = xmalloc(len * 4 + 1);
	for (i = 0; i < len; i++) {
		if (u[i] == '\\') {
			*p++ = '\\';
			*p++ = '\\';
		} else if (u[i] >= 0x20 && u[i] < 0x7f)
			*p++ = (char)u[i];
		else
			p += sprintf(p, "\\x%02x", u[i]);
	}
	*p = '\0';
	j = json_stringn(buf, (size_t)(p - buf));
	free(buf);
	return j;
}

json_t *
json_str(const char *s)
{
	if (s == NULL)
		return json_null();
	return json_bytes(s, strlen(s), NULL);
}

json_t *
json_num(double d)
{
	if (!isfinite(d))
		return json_null();
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		return json_integer((json_int_t)d);
	return json_real(d);
}

json_t *
json_u64(uint64_t v)
{
	if (v > (uint64_t)INT64_MAX)
		return json_real((double)v);
	return json_integer((json_int_t)v);
}

static int
dump_cb(const char *buf, size_t size, void *data)
{
	return evbuffer_add(data, buf, size);
}

int
json_to_evbuffer(const json_t *j, struct evbuffer *buf)
{
	return json_dump_callback(j, dump_cb, buf, JSON_COMPACT |
	    JSON_REAL_PRECISION(10));
}

json_t *
json_time_ms(int64_t ms)
{
	char		 buf[40];
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year > 8099)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03dZ",
	    (int)(ms % 1000));
	return json_string(buf);
}
