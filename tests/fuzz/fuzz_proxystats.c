/*
 * fuzz_proxystats.c: nutcracker's stats JSON, which comes from whatever
 * answers on a proxy's stats port.  Each input is parsed twice, the second
 * time against the first reading, as the agent does round after round:
 * counts stay within their bounds, and nothing leaks.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "proxystats.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_stats	 st;
	json_t			*prev, *next;

	prev = proxy_stats_parse((const char *)data, size, NULL, &st);
	if (st.failing != 0 || st.backends > PROXYSTATS_MAX_SERVERS)
		abort();
	proxy_stats_clear(&st);
	next = proxy_stats_parse((const char *)data, size, prev, &st);
	/* The same counters again: nothing rose, nothing is failing. */
	if (st.failing != 0 || st.backends > PROXYSTATS_MAX_SERVERS ||
	    (prev == NULL) != (next == NULL))
		abort();
	proxy_stats_clear(&st);
	json_decref(prev);
	json_decref(next);
	return 0;
}
