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

/* The length (1 to 4) of the valid UTF-8 sequence at s, or 0. */
size_t	 utf8_seq(const unsigned char *s, size_t len);
/*
 * Any bytes (a Redis key, a slowlog argument) as a JSON string that maps
 * back to them: valid UTF-8 as it is (jansson escapes controls and NUL on
 * output), a backslash as "\\", every byte of invalid UTF-8 as "\xNN".
 */
json_t	*json_key(const void *, size_t);
/*
 * Text as it is when it is valid UTF-8 without NUL, else as json_key
 * gives it; *escaped (if not NULL) tells which happened.
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
