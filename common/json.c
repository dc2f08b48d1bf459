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

size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char	c = s[0];
	size_t		n, j;
	uint32_t	cp;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n > len)
		return 0;
	for (j = 1; j < n; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	/* Overlong forms, beyond U+10FFFF, surrogates. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Whether s[0..len) is valid UTF-8 with no NUL bytes. */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t	i = 0, n;

	while (i < len) {
		if (s[i] == 0 || (n = utf8_seq(s + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

json_t *
json_key(const void *p, size_t len)
{
	const unsigned char	*s = p;
	char			*buf = xmalloc(len * 4 + 1), *o = buf;
	size_t			 i = 0, n;
	json_t			*j;

	while (i < len) {
		if (s[i] == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			i++;
		} else if ((n = utf8_seq(s + i, len - i)) == 0) {
			o += sprintf(o, "\\x%02x", s[i]);
			i++;
		} else {
			memcpy(o, s + i, n);
			o += n;
			i += n;
		}
	}
	j = json_stringn(buf, (size_t)(o - buf));
	free(buf);
	return j != NULL ? j : json_string("");
}

json_t *
json_bytes(const char *s, size_t len, int *escaped)
{
	int	valid = utf8_valid((const unsigned char *)s, len);

	if (escaped != NULL)
		*escaped = !valid;
	return valid ? json_stringn(s, len) : json_key(s, len);
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
