/*
 * state.c: what the supervisor keeps on disk.
 *
 *	state-dir/desired.json		every instance: kind, port, params,
 *					and whether it should run; written
 *					atomically (write, fsync, rename)
 *	state-dir/instances/NAME/	its config, data dir, the passwords of
 *					its ccagent and ccprobe users (0600),
 *					and "proc": pid, start time, binary
 *	log-dir/NAME.log, NAME.out	its log, and its stdout and stderr
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define LOG_COMP "supervisor"
#include "log.h"
#include "proc.h"
#include "util.h"

#define STATE_VERSION	1

/* Reads a password file, or makes one: 32 random bytes in hex, mode 0600. */
static char *
inst_password(const char *path, char **cause)
{
	unsigned char	 raw[32];
	char		*pw, *err = NULL;
	size_t		 i;

	if ((pw = read_small_file(path, 256, 1, NULL, &err)) != NULL &&
	    strlen(pw) >= 32)
		return pw;
	free(pw);
	free(err);
	random_bytes(raw, sizeof(raw));
	pw = xmalloc(sizeof(raw) * 2 + 1);
	for (i = 0; i < sizeof(raw); i++)
		snprintf(pw + i * 2, 3, "%02x", raw[i]);
	if (write_file_atomic(path, pw, strlen(pw), cause) == -1) {
		free(pw);
		return NULL;
	}
	return pw;
}

void
inst_files_free(struct inst_files *f)
{
	free(f->dir);
	free(f->conf_path);
	free(f->data_dir);
	free(f->cluster_conf);
	free(f->proc_path);
	free(f->agent_pw_path);
	free(f->probe_pw_path);
	free(f->agent_pw);
	free(f->probe_pw);
	free(f->log_path);
	free(f->out_path);
	memset(f, 0, sizeof(*f));
}

int
inst_files_init(struct supervisor *sup, struct proc *p, char **cause)
{
	struct inst_files	*f = &p->f;
	const char		*logdir = sup->a->conf->log_dir;

	f->name = p->name;
	xasprintf(&f->dir, "%s/%s", sup->inst_root, p->name);
	xasprintf(&f->conf_path, "%s/%s", f->dir, p->kind == KIND_REDIS ?
	    "redis.conf" : "nutcracker.yml");
	xasprintf(&f->data_dir, "%s/data", f->dir);
	xasprintf(&f->cluster_conf, "%s/nodes.conf", f->dir);
	xasprintf(&f->proc_path, "%s/proc", f->dir);
	xasprintf(&f->agent_pw_path, "%s/agent.pass", f->dir);
	xasprintf(&f->probe_pw_path, "%s/probe.pass", f->dir);
	xasprintf(&f->log_path, "%s/%s.log", logdir, p->name);
	xasprintf(&f->out_path, "%s/%s.out", logdir, p->name);
	if (mkdir_p(f->data_dir, 0700) == -1) {
		xasprintf(cause, "%s: %s", f->data_dir, strerror(errno));
		return -1;
	}
	if ((f->agent_pw = inst_password(f->agent_pw_path, cause)) == NULL ||
	    (f->probe_pw = inst_password(f->probe_pw_path, cause)) == NULL)
		return -1;
	return 0;
}

/*
 * The record adoption checks: "pid starttime exe" into path, through a
 * temporary file and a rename so that a reader never sees half of it.
 * The child writes it before its exec (see proc_spawn); no fsync, since
 * the record matters for as long as the process lives.  0 or -1.
 */
int
inst_write_proc(const char *path, pid_t pid, uint64_t start, const char *exe)
{
	char	tmp[PATH_MAX], line[PATH_MAX + 64];
	int	fd, n, rv = -1;

	n = snprintf(line, sizeof(line), "%d %" PRIu64 " %s\n", (int)pid, start,
	    exe);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if (write(fd, line, (size_t)n) == n && rename(tmp, path) == 0)
		rv = 0;
	close(fd);
	return rv;
}

int
sup_save(struct supervisor *sup, char **cause)
{
	json_t		*root, *arr, *o, *params;
	struct proc	*p;
	char		*text;
	size_t		 i;
	int		 rv;

	arr = json_array();
	for (p = sup->procs; p != NULL; p = p->next) {
		params = json_object();
		for (i = 0; i < p->params.n; i++)
			json_object_set_new(params, p->params.v[i].k,
			    json_string(p->params.v[i].v));
		o = json_pack("{s:s,s:s,s:i,s:i,s:s,s:o}", "name", p->name,
		    "kind", kind_name(p->kind), "port", p->port, "stats_port",
		    p->stats_port, "desired", p->want_running ? "running" :
		    "stopped", "params", params);
		json_array_append_new(arr, o);
	}
	root = json_pack("{s:i,s:o}", "version", STATE_VERSION, "instances", arr);
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	rv = write_file_atomic(sup->state_path, text, strlen(text), cause);
	free(text);
	return rv;
}

/* Loads desired.json.  A damaged file stops the agent: guessing is worse. */
/* A port from JSON: 0..65535 (0 when absent), or -1 (no wrapping casts). */
static int
port_value(json_t *j)
{
	json_int_t v = json_integer_value(j);

	if (j == NULL)
		return 0;
	return json_is_integer(j) && v >= 0 && v <= 65535 ? (int)v : -1;
}

int
state_load(struct supervisor *sup, char **cause)
{
	json_t		*root, *arr, *o, *params, *v;
	json_error_t	 err;
	struct proc	*p;
	const char	*name, *kind, *desired, *k;
	size_t		 i;
	int		 port, stats_port, kd;

	if (access(sup->state_path, F_OK) == -1)
		return 0;
	if ((root = json_load_file(sup->state_path, 0, &err)) == NULL) {
		xasprintf(cause, "%s:%d: %s", sup->state_path, err.line, err.text);
		return -1;
	}
	arr = json_object_get(root, "instances");
	if (!json_is_object(root) ||
	    json_integer_value(json_object_get(root, "version")) !=
	    STATE_VERSION || !json_is_array(arr)) {
		xasprintf(cause, "%s: not a version %d desired state (an object "
		    "with \"version\" and an \"instances\" array)",
		    sup->state_path, STATE_VERSION);
		json_decref(root);
		return -1;
	}
	json_array_foreach(arr, i, o) {
		name = json_string_value(json_object_get(o, "name"));
		kind = json_string_value(json_object_get(o, "kind"));
		desired = json_string_value(json_object_get(o, "desired"));
		port = port_value(json_object_get(o, "port"));
		stats_port = port_value(json_object_get(o, "stats_port"));
		if (name == NULL || !valid_name(name) || kind == NULL ||
		    (kd = kind_parse(kind)) == -1 || port < 1024 ||
		    stats_port < 0 || desired == NULL || sup_find(sup, name)) {
			xasprintf(cause, "%s: instance %zu is not valid",
			    sup->state_path, i);
			json_decref(root);
			return -1;
		}
		p = proc_new(sup, name, kd, port, stats_port);
		p->want_running = strcmp(desired, "running") == 0;
		params = json_object_get(o, "params");
		json_object_foreach(params, k, v)
			if (json_is_string(v))
				kv_set(&p->params, k, json_string_value(v));
		proc_set_ip(p);
		if (inst_files_init(sup, p, cause) == -1) {
			json_decref(root);
			return -1;
		}
	}
	json_decref(root);
	return 0;
}
