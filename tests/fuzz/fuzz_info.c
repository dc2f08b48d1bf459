/*
 * fuzz_info.c: Redis INFO text, which comes from whatever answers on an
 * instance's port.  Every string field must stay NUL-terminated within its
 * buffer and every count within its array.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "info.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_str(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct info	in;
	struct info_repl	ir;
	int			i, n;

	info_replication((const char *)data, size, &ir);
	check_str(ir.role, sizeof(ir.role));

	n = info_parse((const char *)data, size, &in);
	if (n < 0 || in.ndbs < 0 || in.ndbs > INFO_MAX_DBS ||
	    in.nreplicas < 0 || in.nreplicas > INFO_MAX_REPLICAS ||
	    in.master_port < 0 || in.master_port > 65535)
		abort();
	check_str(in.role, sizeof(in.role));
	check_str(in.version, sizeof(in.version));
	check_str(in.run_id, sizeof(in.run_id));
	check_str(in.mode, sizeof(in.mode));
	check_str(in.policy, sizeof(in.policy));
	check_str(in.master_host, sizeof(in.master_host));
	for (i = 0; i < in.nreplicas; i++) {
		check_str(in.replicas[i].addr, sizeof(in.replicas[i].addr));
		check_str(in.replicas[i].state, sizeof(in.replicas[i].state));
	}
	return 0;
}
