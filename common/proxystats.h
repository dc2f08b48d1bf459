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

/* One backend of one pool. */
struct proxy_server {
	char		pool[64];
	char		name[128];	/* as the proxy names it */
	uint64_t	connections;	/* server_connections */
	uint64_t	requests, responses;
	uint64_t	errors;		/* server_err + server_timedout + server_eof */
	int		ejected;	/* server_ejected_at != 0 */
	int		failing;	/* errors rose since prev */
};

struct proxy_stats {
	uint32_t	backends;	/* servers in all pools */
	uint32_t	failing;	/* servers whose errors rose since prev */
	uint64_t	errors;		/* server_err + server_timedout + server_eof */
	uint64_t	client_connections;	/* curr_connections */
	uint64_t	total_connections;
	uint64_t	client_errors;	/* client_err + client_eof, all pools */
	uint64_t	fragments;
	uint64_t	requests, responses;	/* all servers */
	struct proxy_server *servers;	/* backends of them; proxy_stats_clear */
};

/*
 * Parses len bytes of stats JSON into *st.  prev is what the last call
 * returned (NULL the first time): a server whose error count rose since
 * then is failing.  Returns the object to pass next time (the caller's to
 * json_decref), or NULL if the text is not stats JSON (*st is zeroed).
 * *st is overwritten: proxy_stats_clear the last reading before.
 */
json_t	*proxy_stats_parse(const char *text, size_t len, const json_t *prev,
	    struct proxy_stats *st);
/* Frees st->servers and zeroes *st. */
void	 proxy_stats_clear(struct proxy_stats *st);

#endif
