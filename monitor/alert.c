/*
 * alert.c: alert rules over the latest samples, and the alerts they make.
 *
 * A rule is evaluated on every new sample of every instance (or host, for
 * a host metric).  While its condition holds, the alert of (rule, target)
 * is pending; once it has held for the rule's "for", it fires.  A firing
 * alert is sent to the hooks once, again every alert-repeat-interval
 * (Alertmanager: every alertmanager-resend-interval), and resolved once
 * when the condition stops holding.  A pending alert whose condition stops
 * holding just goes.  instance_down is built in: it fires while the
 * instance's health (probe.c) is down.
 *
 * Alerts keep copies of what they need of their rule, so a reload that
 * frees the old rules leaves them whole; an alert whose rule is gone after
 * a reload is resolved.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define LOG_COMP "alert"
#include "log.h"
#include "hmap.h"
#include "json.h"
#include "monitor.h"
#include "util.h"

#define HISTORY_MAX	1000
#define TICK_MS		1000
#define BUILTIN_DOWN	"instance_down"
#define BUILTIN_SUSPECT	"instance_suspect"

enum astate { AS_PENDING, AS_FIRING };

struct alert {
	char		*key;		/* rule NUL target */
	char		*rule;
	char		*target;
	char		 host[64];
	char		*severity;
	int		 nlabels;
	char		**lkeys, **lvals;
	char		 summary[256];
	char		 fingerprint[17];
	enum astate	 state;
	double		 value;
	int64_t		 active_ms;	/* condition first held */
	int64_t		 notified_ms;	/* last sent to the hooks */
	int64_t		 am_ms;		/* last sent to Alertmanager */
	int		 mark;
};

struct past {
	char		*rule, *target, *severity, *summary;
	char		 host[64];
	int64_t		 starts_ms, ends_ms;
	double		 value;
};

struct alerts {
	struct monitor	*m;
	struct hmap	*active;
	struct event	*tick;
	struct past	 history[HISTORY_MAX];
	size_t		 nhistory, hnext;
	uint64_t	 fired, resolved;
};

static double
instance_value(struct alerts *as, struct instance *in, int idx)
{
	struct target	*t;
	double		 keys = 0, lag = NAN;
	int		 i;

	if (idx >= 0 && idx < RM_COUNT)
		return in->values[idx];
	switch (idx) {
	case D_UP:
		t = probe_target(as->m->probe, in->name);
		return t == NULL || t->state == HS_UNKNOWN ? (in->up ? 1 : 0) :
		    t->state != HS_DOWN;
	case D_KEYS:
		for (i = 0; i < in->ndbs; i++)
			keys += (double)in->dbs[i].keys;
		return in->up ? keys : NAN;
	case D_MEM_RATIO:
		return in->values[RM_MEM_MAX] > 0 ?
		    in->values[RM_MEM_USED] / in->values[RM_MEM_MAX] : NAN;
	case D_REPL_LAG:
		if (strcmp(in->role, "slave") == 0)
			return in->values[RM_LAST_IO];
		for (i = 0; i < in->nreplicas; i++)
			if (isnan(lag) || in->replicas[i].lag > lag)
				lag = in->replicas[i].lag;
		return lag;
	case D_PROXY_FAILING:
		return in->proxy_stats ? in->proxy_failing : NAN;
	case D_SLOWLOG_RATE:
		return analytics_slowlog_rate(in);
	case D_PROBE_RTT:
		t = probe_target(as->m->probe, in->name);
		return t == NULL || t->result != PR_OK ? NAN :
		    t->rtt_us / 1e6;
	}
	return NAN;
}

static int
holds(enum rule_op op, double v, double th)
{
	if (isnan(v))
		return 0;
	switch (op) {
	case OP_GT: return v > th;
	case OP_GE: return v >= th;
	case OP_LT: return v < th;
	case OP_LE: return v <= th;
	case OP_EQ: return v == th;
	case OP_NE: return v != th;
	}
	return 0;
}

static const char *const op_names[] = { ">", ">=", "<", "<=", "==", "!=" };

/* ---- notifications ------------------------------------------------------- */

static void
notify(struct alerts *as, struct alert *a, const char *status, int am_only,
    int64_t ends_ms)
{
	struct alert_note n;

	memset(&n, 0, sizeof(n));
	n.status = status;
	n.alertname = a->rule;
	n.instance = a->target;
	n.host = a->host;
	n.severity = a->severity;
	n.summary = a->summary;
	n.value = a->value;
	n.starts_ms = a->active_ms;
	n.ends_ms = ends_ms;
	n.nlabels = a->nlabels;
	n.lkeys = a->lkeys;
	n.lvals = a->lvals;
	n.fingerprint = a->fingerprint;
	hooks_notify(as->m->hooks, &n, am_only);
}

static void
alert_free(struct alert *a)
{
	int i;

	for (i = 0; i < a->nlabels; i++) {
		free(a->lkeys[i]);
		free(a->lvals[i]);
	}
	free(a->lkeys);
	free(a->lvals);
	free(a->key);
	free(a->rule);
	free(a->target);
	free(a->severity);
	free(a);
}

static void
fire(struct alerts *as, struct alert *a, int64_t now)
{
	a->state = AS_FIRING;
	a->notified_ms = a->am_ms = now;
	as->fired++;
	log_warnx("%s firing instance=%s severity=%s value=%g "
	    "summary=\"%s\"", a->rule, a->target, a->severity, a->value,
	    a->summary);
	notify(as, a, "firing", 0, 0);
}

/* Resolves (if firing) or drops (if pending) a, and frees it. */
static void
clear(struct alerts *as, struct alert *a, int64_t now, const char *why)
{
	struct past *p;

	hmap_del(as->active, a->key);
	if (a->state == AS_FIRING) {
		as->resolved++;
		log_info("%s resolved instance=%s after_s=%lld reason=%s",
		    a->rule, a->target, (long long)(now - a->active_ms) / 1000,
		    why);
		notify(as, a, "resolved", 0, now);
		p = &as->history[as->hnext];
		free(p->rule);
		free(p->target);
		free(p->severity);
		free(p->summary);
		p->rule = xstrdup(a->rule);
		p->target = xstrdup(a->target);
		p->severity = xstrdup(a->severity);
		p->summary = xstrdup(a->summary);
		snprintf(p->host, sizeof(p->host), "%s", a->host);
		p->starts_ms = a->active_ms;
		p->ends_ms = now;
		p->value = a->value;
		as->hnext = (as->hnext + 1) % HISTORY_MAX;
		if (as->nhistory < HISTORY_MAX)
			as->nhistory++;
	} else
		log_debug("%s pending instance=%s cleared", a->rule,
		    a->target);
	alert_free(a);
}

static void
fingerprint(struct alert *a)
{
	uint64_t		 h = 1469598103934665603ULL;
	const unsigned char	*p;

	for (p = (const unsigned char *)a->rule; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (p = (const unsigned char *)a->target; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	snprintf(a->fingerprint, sizeof(a->fingerprint), "%016llx",
	    (unsigned long long)h);
}

static struct alert *
alert_get(struct alerts *as, const char *rule, const char *target,
    const char *host, const char *severity, int nlabels, char **lkeys,
    char **lvals, int create)
{
	struct alert	*a;
	char		 buf[256], *key = buf;
	size_t		 rl = strlen(rule), tl = strlen(target);
	int		 i;

	/* Every sample looks up every rule: no allocation for that. */
	if (rl + tl + 2 > sizeof(buf))
		key = xmalloc(rl + tl + 2);
	memcpy(key, rule, rl);
	key[rl] = '/';
	memcpy(key + rl + 1, target, tl + 1);
	if ((a = hmap_get(as->active, key)) != NULL || !create) {
		if (key != buf)
			free(key);
		return a;
	}
	if (key == buf)
		key = xstrdup(buf);
	a = xcalloc(1, sizeof(*a));
	a->key = key;
	a->rule = xstrdup(rule);
	a->target = xstrdup(target);
	snprintf(a->host, sizeof(a->host), "%s", host ? host : "");
	a->severity = xstrdup(severity);
	a->nlabels = nlabels;
	if (nlabels > 0) {
		a->lkeys = xcalloc((size_t)nlabels, sizeof(*a->lkeys));
		a->lvals = xcalloc((size_t)nlabels, sizeof(*a->lvals));
		for (i = 0; i < nlabels; i++) {
			a->lkeys[i] = xstrdup(lkeys[i]);
			a->lvals[i] = xstrdup(lvals[i]);
		}
	}
	a->state = AS_PENDING;
	fingerprint(a);
	hmap_put(as->active, a->key, a);
	return a;
}

static void
eval_rule(struct alerts *as, const struct rule *r, const char *target,
    const char *host, double v)
{
	struct alert	*a;
	int64_t		 now = wall_ms();

	a = alert_get(as, r->name, target, host, r->severity, r->nlabels,
	    r->lkeys, r->lvals, 0);
	if (!holds(r->op, v, r->threshold)) {
		if (a != NULL)
			clear(as, a, now, "condition no longer holds");
		return;
	}
	if (a == NULL) {
		a = alert_get(as, r->name, target, host, r->severity,
		    r->nlabels, r->lkeys, r->lvals, 1);
		a->active_ms = now;
		log_info("%s pending instance=%s value=%g for_ms=%llu",
		    r->name, target, v, (unsigned long long)r->for_ms);
	}
	a->value = v;
	snprintf(a->summary, sizeof(a->summary), "%s %s %g (value %g)",
	    r->metric, op_names[r->op], r->threshold, v);
	if (a->state == AS_PENDING && now - a->active_ms >= (int64_t)r->for_ms)
		fire(as, a, now);
}

void
alerts_eval_instance(struct alerts *as, struct instance *in)
{
	const struct rule *r;

	for (r = as->m->conf->rules; r != NULL; r = r->next)
		if (!r->host)
			eval_rule(as, r, in->name, in->host->name,
			    instance_value(as, in, r->idx));
}

void
alerts_eval_host(struct alerts *as, struct host *h)
{
	const struct rule *r;

	for (r = as->m->conf->rules; r != NULL; r = r->next)
		if (r->host)
			eval_rule(as, r, h->name, h->name,
			    h->values[r->idx - D_HOST]);
}

/* One built-in alert of t: firing while its health is st. */
static void
builtin(struct alerts *as, struct target *t, const char *rule,
    enum hstate st, const char *severity)
{
	struct alert	*a;
	int64_t		 now = wall_ms();

	a = alert_get(as, rule, t->name, t->host, severity, 0, NULL, NULL, 0);
	if (t->state != st) {
		if (a != NULL)
			clear(as, a, now, t->state == HS_UP ? "recovered" :
			    hstate_name(t->state));
		return;
	}
	if (a != NULL)
		return;
	a = alert_get(as, rule, t->name, t->host, severity, 0, NULL, NULL, 1);
	a->active_ms = t->since_ms;
	a->value = 0;
	snprintf(a->summary, sizeof(a->summary), "instance %s is %s (%s): %s",
	    t->name, hstate_name(st), t->cause, t->error[0] ? t->error :
	    t->agent_event);
	fire(as, a, now);
}

/*
 * The built-in rules: instance_suspect (warning) while probes fail but not
 * yet probe-failures times, instance_down (critical) while down.  Alert
 * fast, act slowly: the control center acts on down only.
 */
void
alerts_instance_health(struct alerts *as, struct target *t)
{
	if (as == NULL)
		return;
	builtin(as, t, BUILTIN_SUSPECT, HS_SUSPECT, "warning");
	builtin(as, t, BUILTIN_DOWN, HS_DOWN, "critical");
}

/* Repeats and resends, and alerts whose rule or instance is gone. */
static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct alerts		*as = arg;
	struct monitor		*m = as->m;
	struct alert		*a, **gone = NULL;
	const struct rule	*r;
	struct target		*t;
	size_t			 pos = 0, n = 0, i;
	int64_t			 now = wall_ms();

	while ((a = hmap_next(as->active, &pos)) != NULL) {
		if (strcmp(a->rule, BUILTIN_DOWN) == 0 ||
		    strcmp(a->rule, BUILTIN_SUSPECT) == 0) {
			t = probe_target(m->probe, a->target);
			a->mark = t != NULL && t->state == (strcmp(a->rule,
			    BUILTIN_DOWN) == 0 ? HS_DOWN : HS_SUSPECT);
		} else {
			for (r = m->conf->rules; r != NULL; r = r->next)
				if (strcmp(r->name, a->rule) == 0)
					break;
			a->mark = r != NULL && (r->host ?
			    store_host(m->store, a->target, 0) != NULL :
			    store_instance(m->store, a->target) != NULL);
		}
		if (!a->mark) {
			gone = xreallocarray(gone, n + 1, sizeof(*gone));
			gone[n++] = a;
			continue;
		}
		if (a->state != AS_FIRING)
			continue;
		if (now - a->notified_ms >= (int64_t)m->conf->alert_repeat_interval) {
			a->notified_ms = a->am_ms = now;
			log_info("%s still firing instance=%s: sent again",
			    a->rule, a->target);
			notify(as, a, "firing", 0, 0);
		} else if (now - a->am_ms >= (int64_t)m->conf->alertmanager_resend) {
			a->am_ms = now;
			notify(as, a, "firing", 1, 0);
		}
	}
	for (i = 0; i < n; i++)
		clear(as, gone[i], now, "rule or instance gone");
	free(gone);
}

void
alerts_reconfigure(struct alerts *as)
{
	tick_cb(-1, 0, as);
}

struct alerts *
alerts_new(struct monitor *m)
{
	struct alerts	*as = xcalloc(1, sizeof(*as));
	struct timeval	 tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };

	as->m = m;
	as->active = hmap_new();
	as->tick = event_new(m->base, -1, EV_PERSIST, tick_cb, as);
	event_add(as->tick, &tv);
	return as;
}

void
alerts_free(struct alerts *as)
{
	struct alert	*a;
	size_t		 pos = 0, i;

	if (as == NULL)
		return;
	while ((a = hmap_next(as->active, &pos)) != NULL)
		alert_free(a);
	hmap_free(as->active);
	for (i = 0; i < HISTORY_MAX; i++) {
		free(as->history[i].rule);
		free(as->history[i].target);
		free(as->history[i].severity);
		free(as->history[i].summary);
	}
	event_free(as->tick);
	free(as);
}

static int
alert_cmp(const void *x, const void *y)
{
	const struct alert *a = *(struct alert *const *)x;
	const struct alert *b = *(struct alert *const *)y;

	if (a->active_ms != b->active_ms)
		return a->active_ms < b->active_ms ? -1 : 1;
	return strcmp(a->key, b->key);
}

static json_t *
labels_json(const char *rule, const char *target, const char *host,
    const char *severity, int n, char **k, char **v)
{
	json_t	*l = json_object();
	int	 i;

	json_object_set_new(l, "alertname", json_str(rule));
	json_object_set_new(l, "instance", json_str(target));
	if (host != NULL && host[0] != '\0')
		json_object_set_new(l, "host", json_str(host));
	json_object_set_new(l, "severity", json_str(severity));
	for (i = 0; i < n; i++)
		json_object_set_new(l, k[i], json_str(v[i]));
	return l;
}

json_t *
alerts_json(struct alerts *as, int history, size_t limit)
{
	json_t		*o = json_object(), *items = json_array(), *j;
	struct alert	*a, **v;
	struct past	*p;
	size_t		 n, i, pos = 0;

	if (!history) {
		n = hmap_count(as->active);
		v = xcalloc(n + 1, sizeof(*v));
		for (i = 0; (a = hmap_next(as->active, &pos)) != NULL; i++)
			v[i] = a;
		xqsort(v, n, sizeof(*v), alert_cmp);
		for (i = 0; i < n && i < limit; i++) {
			a = v[i];
			j = json_object();
			json_object_set_new(j, "rule", json_str(a->rule));
			json_object_set_new(j, "instance", json_str(a->target));
			json_object_set_new(j, "host", a->host[0] ?
			    json_str(a->host) : json_null());
			json_object_set_new(j, "state", json_string(
			    a->state == AS_FIRING ? "firing" : "pending"));
			json_object_set_new(j, "severity", json_str(a->severity));
			json_object_set_new(j, "value", json_num(a->value));
			json_object_set_new(j, "start", json_time_ms(
			    a->active_ms));
			json_object_set_new(j, "summary", json_str(a->summary));
			json_object_set_new(j, "labels", labels_json(a->rule,
			    a->target, a->host, a->severity, a->nlabels,
			    a->lkeys, a->lvals));
			json_array_append_new(items, j);
		}
		free(v);
		json_object_set_new(o, "total", json_integer((json_int_t)n));
	} else {
		/* Newest first. */
		for (i = 0; i < as->nhistory && i < limit; i++) {
			p = &as->history[(as->hnext + HISTORY_MAX - 1 - i) %
			    HISTORY_MAX];
			j = json_object();
			json_object_set_new(j, "rule", json_str(p->rule));
			json_object_set_new(j, "instance", json_str(p->target));
			json_object_set_new(j, "host", p->host[0] ?
			    json_str(p->host) : json_null());
			json_object_set_new(j, "severity", json_str(p->severity));
			json_object_set_new(j, "value", json_num(p->value));
			json_object_set_new(j, "start", json_time_ms(
			    p->starts_ms));
			json_object_set_new(j, "end", json_time_ms(p->ends_ms));
			json_object_set_new(j, "summary", json_str(p->summary));
			json_array_append_new(items, j);
		}
		json_object_set_new(o, "total",
		    json_integer((json_int_t)as->nhistory));
	}
	json_object_set_new(o, "items", items);
	return o;
}

void
alerts_stats(const struct alerts *as, struct alert_stats *s)
{
	struct alert	*a;
	size_t		 pos = 0;

	memset(s, 0, sizeof(*s));
	while ((a = hmap_next(as->active, &pos)) != NULL) {
		if (a->state == AS_FIRING)
			s->firing++;
		else
			s->pending++;
	}
	s->fired = as->fired;
	s->resolved = as->resolved;
}
