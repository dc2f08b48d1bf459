/*
 * info.h: a parser for the text of Redis INFO.
 *
 * It fills the values of REDIS_METRICS (NaN where the field is absent), the
 * few string fields the monitor shows, the keyspace and the replicas.  It
 * takes outside bytes, so it bounds everything it copies and never fails on
 * junk: unknown lines are skipped.
 */
#ifndef CC_INFO_H
#define CC_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "metric_defs.h"

#define INFO_MAX_DBS		64
#define INFO_MAX_REPLICAS	32

struct info_db {
	uint32_t	db;
	uint64_t	keys;
	uint64_t	expires;
	uint64_t	avg_ttl_ms;
};

struct info_replica {
	char		addr[64];
	char		state[24];
	uint64_t	offset;
	uint32_t	lag;
};

struct info {
	double			values[RM_COUNT];
	char			role[16];
	char			version[32];
	char			run_id[48];
	char			mode[16];
	char			policy[32];
	char			master_host[48];
	int			master_port;
	int			ndbs;
	struct info_db		dbs[INFO_MAX_DBS];
	int			nreplicas;
	struct info_replica	replicas[INFO_MAX_REPLICAS];
};

/* Parses len bytes of INFO output.  Returns the number of fields recognised. */
int	info_parse(const char *buf, size_t len, struct info *);

/*
 * The three fields a probe wants from INFO replication, without the cost
 * of info_parse: role ("master", "slave", or ""), and
 * master_last_io_seconds_ago and master_repl_offset (NaN when absent).
 */
struct info_repl {
	char	role[16];
	double	last_io;
	double	offset;
};
void	info_replication(const char *buf, size_t len, struct info_repl *);

#endif
