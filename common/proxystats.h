/*
 * proxystats.h: the stats twemproxy (nutcracker) serves on its stats port,
 * read for the health of an interface process.  Outside bytes: the parser
 * bounds what it keeps and fails cleanly on junk.
 */
#ifndef CC_PROXYSTATS_H
#define CC_PROXYSTATS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PROXYSTATS_MAX_SERVERS	4096

struct proxy_stats {
	uint32_t	backends;	/* servers in all pools */
	uint32_t	failing;	/* servers whose errors rose since prev */
	uint64_t	errors;		/* server_err + server_timedout + server_eof */
};

/*
 * Parses len bytes of stats JSON into *st.  prev is what the last call
 * returned (NULL the first time): a server whose error count rose since
 * then is failing.  Returns the object to pass next time (the caller's to
 * json_decref), or NULL if the text is not stats JSON (*st is zeroed).
 */
json_t	*proxy_stats_parse(const char *text, size_t len, const json_t *prev,
	    struct proxy_stats *st);

#endif
