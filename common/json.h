/*
 * json.h: small helpers over jansson, which builds and escapes all JSON we
 * emit.
 */
#ifndef CC_JSON_H
#define CC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct evbuffer;

/*
 * A JSON string from arbitrary bytes (Redis keys can hold anything).
 * Valid UTF-8 is kept as it is; otherwise the bytes are written the way
 * redis-cli shows them: printable ASCII as is, backslash as "\\", and
 * every other byte as "\xNN".  *escaped tells which happened.
 */
json_t	*json_bytes(const char *, size_t, int *escaped);
/* A string, or JSON null for NULL; invalid UTF-8 escaped as above. */
json_t	*json_str(const char *);
/* A number, or JSON null for NaN and infinities (JSON has neither). */
json_t	*json_num(double);
json_t	*json_u64(uint64_t);
/* Appends the compact serialisation of j to buf; returns 0 or -1. */
int	 json_to_evbuffer(const json_t *, struct evbuffer *);
/* Unix milliseconds as RFC 3339 UTC with milliseconds, e.g. 2026-11-25T20:36:33.123Z */
json_t	*json_time_ms(int64_t);

#endif
