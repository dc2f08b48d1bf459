/*
 * proxystats.c: nutcracker's stats JSON.
 *
 *	{"service": "nutcracker", ..., "POOL": {"client_eof": 0, ...,
 *	    "SERVER": {"server_err": 0, "server_timedout": 0,
 *	    "server_eof": 0, ...}, ...}, ...}
 *
 * Every object inside a pool object is a server.  Counters are cumulative,
 * so "failing" needs the previous reading: a server whose errors rose in
 * between had requests fail on it just now.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxystats.h"
#include "util.h"

static uint64_t
counter(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) > 0 ?
	    (uint64_t)json_integer_value(v) : 0;
}

json_t *
proxy_stats_parse(const char *text, size_t len, const json_t *prev,
    struct proxy_stats *st)
{
	json_t		*root, *pool, *srv, *next, *was;
	const char	*pk, *sk;
	struct proxy_server *ps;
	uint64_t	 errs;
	size_t		 nsrv = 0;
	char		 key[256];

	memset(st, 0, sizeof(*st));
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL)
		return NULL;
	if (!json_is_object(root) || !json_is_string(json_object_get(root,
	    "service"))) {
		json_decref(root);
		return NULL;
	}
	/* Servers first, to size the array: at most PROXYSTATS_MAX_SERVERS. */
	json_object_foreach(root, pk, pool) {
		if (!json_is_object(pool))
			continue;
		json_object_foreach(pool, sk, srv)
			if (json_is_object(srv) && nsrv < PROXYSTATS_MAX_SERVERS)
				nsrv++;
	}
	st->servers = nsrv > 0 ? xcalloc(nsrv, sizeof(*st->servers)) : NULL;
	st->client_connections = counter(root, "curr_connections");
	st->total_connections = counter(root, "total_connections");
	next = json_object();
	json_object_foreach(root, pk, pool) {
		if (!json_is_object(pool))
			continue;
		st->client_errors += counter(pool, "client_err") +
		    counter(pool, "client_eof");
		st->fragments += counter(pool, "fragments");
		json_object_foreach(pool, sk, srv) {
			if (!json_is_object(srv) ||
			    st->backends == PROXYSTATS_MAX_SERVERS)
				continue;
			errs = counter(srv, "server_err") +
			    counter(srv, "server_timedout") +
			    counter(srv, "server_eof");
			ps = &st->servers[st->backends++];
			str_copy(ps->pool, sizeof(ps->pool), pk);
			str_copy(ps->name, sizeof(ps->name), sk);
			ps->connections = counter(srv, "server_connections");
			ps->requests = counter(srv, "requests");
			ps->responses = counter(srv, "responses");
			ps->errors = errs;
			ps->ejected = counter(srv, "server_ejected_at") != 0;
			st->requests += ps->requests;
			st->responses += ps->responses;
			st->errors += errs;
			/* Pools may list the same server: pool/server. */
			snprintf(key, sizeof(key), "%.120s/%.120s", pk, sk);
			was = prev != NULL ? json_object_get(prev, key) : NULL;
			if (json_is_integer(was) &&
			    errs > (uint64_t)json_integer_value(was)) {
				ps->failing = 1;
				st->failing++;
			}
			json_object_set_new(next, key,
			    json_integer((json_int_t)(errs & INT64_MAX)));
		}
	}
	json_decref(root);
	return next;
}

void
proxy_stats_clear(struct proxy_stats *st)
{
	free(st->servers);
	memset(st, 0, sizeof(*st));
}
