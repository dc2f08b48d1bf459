/*
 * metric_defs.h: the metrics an agent reports, as X-macro tables.
 *
 * The order is the wire format: InstanceSample.values[i] and
 * HostSample.values[i] carry the metric with index i.  The tables are
 * append-only; never reorder or reuse an index.  A receiver ignores indexes
 * past its table and treats NaN as "not reported".
 *
 * Columns: X(ID, INFO key, Prometheus name, type, conversion, flags, help)
 *   type:	G gauge, C counter
 *   conv:	NUM a number; OK "ok" -> 1, anything else 0; UP "up" -> 1
 *   flags:	S kept in the monitor's history (counters as per-second rates)
 *
 * Prometheus names follow oliver006/redis_exporter.  Two of its names fail
 * promtool's lint and are spelled out here instead (see README):
 *   redis_instantaneous_ops_per_sec       -> redis_instantaneous_ops_per_second
 *   redis_rdb_last_bgsave_duration_sec    -> redis_rdb_last_bgsave_duration_seconds
 */
#ifndef CC_METRIC_DEFS_H
#define CC_METRIC_DEFS_H

enum metric_type { MT_G, MT_C };
enum metric_conv { CV_NUM, CV_OK, CV_UP };
#define MF_S	0x01

#define REDIS_METRICS(X) \
X(UPTIME, "uptime_in_seconds", "redis_uptime_in_seconds", G, NUM, 0, "Seconds since the server started") \
X(CLIENTS, "connected_clients", "redis_connected_clients", G, NUM, MF_S, "Client connections, replicas excluded") \
X(BLOCKED, "blocked_clients", "redis_blocked_clients", G, NUM, MF_S, "Clients in a blocking call") \
X(MEM_USED, "used_memory", "redis_memory_used_bytes", G, NUM, MF_S, "Bytes allocated by Redis") \
X(MEM_RSS, "used_memory_rss", "redis_memory_used_rss_bytes", G, NUM, MF_S, "Resident set size of the server") \
X(MEM_PEAK, "used_memory_peak", "redis_memory_used_peak_bytes", G, NUM, 0, "Peak of used_memory") \
X(MEM_LUA, "used_memory_lua", "redis_memory_used_lua_bytes", G, NUM, 0, "Bytes used by the Lua engine") \
X(MEM_MAX, "maxmemory", "redis_memory_max_bytes", G, NUM, 0, "The maxmemory setting (0: none)") \
X(SYS_MEM, "total_system_memory", "redis_total_system_memory_bytes", G, NUM, 0, "Memory of the host, as Redis sees it") \
X(FRAG, "mem_fragmentation_ratio", "redis_mem_fragmentation_ratio", G, NUM, MF_S, "RSS over used memory") \
X(CONN_RECV, "total_connections_received", "redis_connections_received_total", C, NUM, MF_S, "Connections accepted") \
X(REJECTED, "rejected_connections", "redis_rejected_connections_total", C, NUM, MF_S, "Connections refused for maxclients") \
X(COMMANDS, "total_commands_processed", "redis_commands_processed_total", C, NUM, MF_S, "Commands processed") \
X(OPS, "instantaneous_ops_per_sec", "redis_instantaneous_ops_per_second", G, NUM, 0, "Commands per second, as Redis samples it") \
X(NET_IN, "total_net_input_bytes", "redis_net_input_bytes_total", C, NUM, MF_S, "Bytes read from the network") \
X(NET_OUT, "total_net_output_bytes", "redis_net_output_bytes_total", C, NUM, MF_S, "Bytes written to the network") \
X(IN_KBPS, "instantaneous_input_kbps", "redis_instantaneous_input_kbps", G, NUM, 0, "Input KB/s, as Redis samples it") \
X(OUT_KBPS, "instantaneous_output_kbps", "redis_instantaneous_output_kbps", G, NUM, 0, "Output KB/s, as Redis samples it") \
X(EXPIRED, "expired_keys", "redis_expired_keys_total", C, NUM, MF_S, "Keys expired") \
X(EVICTED, "evicted_keys", "redis_evicted_keys_total", C, NUM, MF_S, "Keys evicted for maxmemory") \
X(HITS, "keyspace_hits", "redis_keyspace_hits_total", C, NUM, MF_S, "Successful key lookups") \
X(MISSES, "keyspace_misses", "redis_keyspace_misses_total", C, NUM, MF_S, "Failed key lookups") \
X(PUBSUB_CH, "pubsub_channels", "redis_pubsub_channels", G, NUM, 0, "Pub/sub channels with subscribers") \
X(PUBSUB_PAT, "pubsub_patterns", "redis_pubsub_patterns", G, NUM, 0, "Pub/sub patterns with subscribers") \
X(FORK_USEC, "latest_fork_usec", "redis_latest_fork_usec", G, NUM, 0, "Duration of the latest fork, microseconds") \
X(CPU_SYS, "used_cpu_sys", "redis_cpu_sys_seconds_total", C, NUM, MF_S, "System CPU of the server") \
X(CPU_USER, "used_cpu_user", "redis_cpu_user_seconds_total", C, NUM, MF_S, "User CPU of the server") \
X(CPU_SYS_CH, "used_cpu_sys_children", "redis_cpu_sys_children_seconds_total", C, NUM, 0, "System CPU of background children") \
X(CPU_USER_CH, "used_cpu_user_children", "redis_cpu_user_children_seconds_total", C, NUM, 0, "User CPU of background children") \
X(SLAVES, "connected_slaves", "redis_connected_slaves", G, NUM, MF_S, "Connected replicas") \
X(MASTER_OFFSET, "master_repl_offset", "redis_master_repl_offset", G, NUM, 0, "Replication offset of this server") \
X(SLAVE_OFFSET, "slave_repl_offset", "redis_slave_repl_offset", G, NUM, 0, "Replica: offset received from the master") \
X(LINK_UP, "master_link_status", "redis_master_link_up", G, UP, MF_S, "Replica: 1 when the link to the master is up") \
X(LAST_IO, "master_last_io_seconds_ago", "redis_master_last_io_seconds_ago", G, NUM, 0, "Replica: seconds since the master last spoke") \
X(SYNCING, "master_sync_in_progress", "redis_master_sync_in_progress", G, NUM, 0, "Replica: 1 during a full sync") \
X(BACKLOG, "repl_backlog_size", "redis_replication_backlog_bytes", G, NUM, 0, "Size of the replication backlog") \
X(LOADING, "loading", "redis_loading_dump_file", G, NUM, 0, "1 while loading the dataset") \
X(RDB_CHANGES, "rdb_changes_since_last_save", "redis_rdb_changes_since_last_save", G, NUM, 0, "Changes since the last save") \
X(RDB_BGSAVE, "rdb_bgsave_in_progress", "redis_rdb_bgsave_in_progress", G, NUM, 0, "1 during a BGSAVE") \
X(RDB_LAST_SAVE, "rdb_last_save_time", "redis_rdb_last_save_timestamp_seconds", G, NUM, 0, "Unix time of the last save") \
X(RDB_STATUS, "rdb_last_bgsave_status", "redis_rdb_last_bgsave_status", G, OK, 0, "1 when the last BGSAVE succeeded") \
X(RDB_DURATION, "rdb_last_bgsave_time_sec", "redis_rdb_last_bgsave_duration_seconds", G, NUM, 0, "Duration of the last BGSAVE") \
X(AOF_ENABLED, "aof_enabled", "redis_aof_enabled", G, NUM, 0, "1 when the AOF is on") \
X(AOF_REWRITE, "aof_rewrite_in_progress", "redis_aof_rewrite_in_progress", G, NUM, 0, "1 during an AOF rewrite") \
X(AOF_WRITE_STATUS, "aof_last_write_status", "redis_aof_last_write_status", G, OK, 0, "1 when the last AOF write succeeded") \
X(AOF_REWRITE_STATUS, "aof_last_bgrewrite_status", "redis_aof_last_bgrewrite_status", G, OK, 0, "1 when the last AOF rewrite succeeded") \
X(PID, "process_id", "redis_process_id", G, NUM, 0, "Process id of the server") \
X(ERRORS, "total_error_replies", "redis_error_replies_total", C, NUM, 0, "Error replies sent") \
X(MAXCLIENTS, "maxclients", "redis_maxclients", G, NUM, 0, "The maxclients setting (Redis 7)")

#define HOST_METRICS(X) \
X(CPU_USER, "cpu_user", "ccnode_host_cpu_user_ratio", G, NUM, 0, "Share of CPU time in user mode, 0-1") \
X(CPU_SYSTEM, "cpu_system", "ccnode_host_cpu_system_ratio", G, NUM, 0, "Share of CPU time in kernel mode, 0-1") \
X(CPU_IOWAIT, "cpu_iowait", "ccnode_host_cpu_iowait_ratio", G, NUM, 0, "Share of CPU time waiting for I/O, 0-1") \
X(CPU_USAGE, "cpu_usage", "ccnode_host_cpu_usage_ratio", G, NUM, MF_S, "Share of CPU time not idle, 0-1") \
X(MEM_TOTAL, "mem_total", "ccnode_host_memory_total_bytes", G, NUM, 0, "Memory of the host") \
X(MEM_USED, "mem_used", "ccnode_host_memory_used_bytes", G, NUM, MF_S, "Memory in use, cache excluded") \
X(MEM_FREE, "mem_free", "ccnode_host_memory_free_bytes", G, NUM, 0, "Free memory") \
X(MEM_CACHE, "mem_cache", "ccnode_host_memory_cache_bytes", G, NUM, 0, "Page cache") \
X(LOAD1, "load1", "ccnode_host_load1", G, NUM, MF_S, "Load average over 1 minute") \
X(LOAD5, "load5", "ccnode_host_load5", G, NUM, 0, "Load average over 5 minutes") \
X(LOAD15, "load15", "ccnode_host_load15", G, NUM, 0, "Load average over 15 minutes") \
X(NET_RX, "net_rx", "ccnode_host_network_receive_bytes_total", C, NUM, MF_S, "Bytes received on all interfaces but loopback") \
X(NET_TX, "net_tx", "ccnode_host_network_transmit_bytes_total", C, NUM, MF_S, "Bytes sent on all interfaces but loopback") \
X(PROCS, "procs", "ccnode_host_processes", G, NUM, MF_S, "Processes on the host") \
X(NCPU, "ncpu", "ccnode_host_cpus", G, NUM, 0, "Online CPUs")

#define X_ENUM(id, key, prom, type, conv, flags, help) RM_##id,
enum redis_metric { REDIS_METRICS(X_ENUM) RM_COUNT };
#undef X_ENUM
#define X_ENUM(id, key, prom, type, conv, flags, help) HM_##id,
enum host_metric { HOST_METRICS(X_ENUM) HM_COUNT };
#undef X_ENUM

struct metric_def {
	const char	*key;		/* INFO field or short name */
	const char	*prom;		/* Prometheus name */
	enum metric_type type;
	enum metric_conv conv;
	int		 flags;
	const char	*help;
};

extern const struct metric_def redis_metric_defs[RM_COUNT];
extern const struct metric_def host_metric_defs[HM_COUNT];

#endif
