/*
 * metric_defs.c: the tables behind metric_defs.h.
 */
#include "config.h"

#include "metric_defs.h"

#define X_DEF(id, key, prom, type, conv, flags, help) \
	[RM_##id] = { key, prom, MT_##type, CV_##conv, flags, help },
const struct metric_def redis_metric_defs[RM_COUNT] = { REDIS_METRICS(X_DEF) };
#undef X_DEF
#define X_DEF(id, key, prom, type, conv, flags, help) \
	[HM_##id] = { key, prom, MT_##type, CV_##conv, flags, help },
const struct metric_def host_metric_defs[HM_COUNT] = { HOST_METRICS(X_DEF) };
#undef X_DEF
