/*
 * test_state.c: the supervisor's desired state on disk (agent/state.c):
 * loading desired.json, well-formed or damaged, into a supervisor built by
 * hand (no processes are started); saving it back; and the files of an
 * instance (data dir, the ccagent and ccprobe passwords, the proc file).
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent/proc.h"
#include "util.h"
#include "testutil.h"

struct fixture {
	char			*dir, *state_dir, *log_dir;
	struct event_base	*base;
	struct agent_conf	 conf;
	struct agent		 a;
	struct supervisor	 sup;
};

static void
fx_init(struct fixture *x)
{
	memset(x, 0, sizeof(*x));
	x->dir = tu_tmpdir();
	x->state_dir = tu_join(x->dir, "state");
	x->log_dir = tu_join(x->dir, "log");
	CU_ASSERT_FATAL(mkdir(x->state_dir, 0700) == 0);
	CU_ASSERT_FATAL(mkdir(x->log_dir, 0700) == 0);
	x->base = event_base_new();
	CU_ASSERT_FATAL(x->base != NULL);
	x->conf.state_dir = x->state_dir;
	x->conf.log_dir = x->log_dir;
	x->conf.instance_bind = "127.0.0.1";
	x->a.base = x->base;
	x->a.conf = &x->conf;
	x->sup.a = &x->a;
	x->sup.hz = sysconf(_SC_CLK_TCK);
	xasprintf(&x->sup.state_path, "%s/desired.json", x->state_dir);
	xasprintf(&x->sup.inst_root, "%s/instances", x->state_dir);
	CU_ASSERT_FATAL(mkdir(x->sup.inst_root, 0700) == 0);
}

/* Frees the procs loaded so far, keeping the files. */
static void
fx_procs_free(struct fixture *x)
{
	struct proc *p, *next;

	for (p = x->sup.procs; p != NULL; p = next) {
		next = p->next;
		proc_free(p);
	}
	x->sup.procs = NULL;
}

static void
fx_free(struct fixture *x)
{
	fx_procs_free(x);
	free(x->sup.state_path);
	free(x->sup.inst_root);
	event_base_free(x->base);
	free(x->state_dir);
	free(x->log_dir);
	tu_rmdir(x->dir);
}

static void
fx_write(struct fixture *x, const char *json)
{
	tu_write(x->sup.state_path, json, -1, 0600);
}

static int
nprocs(const struct fixture *x)
{
	const struct proc	*p;
	int			 n = 0;

	for (p = x->sup.procs; p != NULL; p = p->next)
		n++;
	return n;
}

static int
is_hex(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
mode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

static const char good_json[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"instances\": [\n"
    "    { \"name\": \"cache-1\", \"kind\": \"redis\", \"port\": 43100,\n"
    "      \"stats_port\": 0, \"desired\": \"running\",\n"
    "      \"params\": { \"maxmemory\": \"100mb\", \"save\": \"\",\n"
    "                  \"disable-command-list\": \"flushall keys\",\n"
    "                  \"ignored-number\": 5 } },\n"
    "    { \"name\": \"proxy_1.a\", \"kind\": \"interface\",\n"
    "      \"port\": 43101, \"stats_port\": 43102,\n"
    "      \"desired\": \"stopped\",\n"
    "      \"params\": { \"servers\": \"127.0.0.1:43100:1\",\n"
    "                  \"bind\": \"10.1.2.3,10.1.2.4\" } },\n"
    "    { \"name\": \"wild\", \"kind\": \"redis\", \"port\": 65535,\n"
    "      \"desired\": \"running\", \"params\": { \"bind\": \"0.0.0.0\" } }\n"
    "  ]\n"
    "}\n";

static void
test_load_missing(void)
{
	struct fixture	 x;
	char		*cause = NULL;

	fx_init(&x);
	/* No desired.json yet: a fresh agent, nothing to load. */
	CU_ASSERT_EQUAL(state_load(&x.sup, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_PTR_NULL(x.sup.procs);
	fx_free(&x);
}

static void
test_load_good(void)
{
	struct fixture	 x;
	struct proc	*p, *q, *w;
	char		*cause = NULL, *path;

	fx_init(&x);
	fx_write(&x, good_json);
	CU_ASSERT_EQUAL_FATAL(state_load(&x.sup, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_EQUAL_FATAL(nprocs(&x), 3);

	/* In file order, each with its kind, ports, state and params. */
	p = x.sup.procs;
	q = p->next;
	w = q->next;
	CU_ASSERT_STRING_EQUAL(p->name, "cache-1");
	CU_ASSERT_EQUAL(p->kind, KIND_REDIS);
	CU_ASSERT_EQUAL(p->port, 43100);
	CU_ASSERT_EQUAL(p->stats_port, 0);
	CU_ASSERT_EQUAL(p->want_running, 1);
	CU_ASSERT_EQUAL(p->state, PS_STOPPED);
	CU_ASSERT_EQUAL(p->pid, 0);
	CU_ASSERT_EQUAL(p->params.n, 3);
	CU_ASSERT_STRING_EQUAL(kv_get(&p->params, "maxmemory"), "100mb");
	CU_ASSERT_STRING_EQUAL(kv_get(&p->params, "save"), "");
	CU_ASSERT_STRING_EQUAL(kv_get(&p->params, "disable-command-list"),
	    "flushall keys");
	CU_ASSERT_PTR_NULL(kv_get(&p->params, "ignored-number"));
	CU_ASSERT_STRING_EQUAL(p->ip, "127.0.0.1");
	CU_ASSERT_PTR_EQUAL(sup_find(&x.sup, "cache-1"), p);

	CU_ASSERT_STRING_EQUAL(q->name, "proxy_1.a");
	CU_ASSERT_EQUAL(q->kind, KIND_INTERFACE);
	CU_ASSERT_EQUAL(q->port, 43101);
	CU_ASSERT_EQUAL(q->stats_port, 43102);
	CU_ASSERT_EQUAL(q->want_running, 0);
	CU_ASSERT_STRING_EQUAL(kv_get(&q->params, "servers"),
	    "127.0.0.1:43100:1");
	/* The agent reaches it at the first address of its bind. */
	CU_ASSERT_STRING_EQUAL(q->ip, "10.1.2.3");

	CU_ASSERT_STRING_EQUAL(w->name, "wild");
	CU_ASSERT_EQUAL(w->port, 65535);
	CU_ASSERT_EQUAL(w->stats_port, 0);
	CU_ASSERT_STRING_EQUAL(w->ip, "127.0.0.1");
	CU_ASSERT_PTR_NULL(w->next);

	/* The instance's files: under state-dir/instances/NAME, logs apart. */
	xasprintf(&path, "%s/instances/cache-1", x.state_dir);
	CU_ASSERT_STRING_EQUAL(p->f.dir, path);
	free(path);
	CU_ASSERT_STRING_EQUAL(p->f.name, "cache-1");
	CU_ASSERT(tu_has(p->f.conf_path, "/instances/cache-1/redis.conf"));
	CU_ASSERT(tu_has(q->f.conf_path, "/instances/proxy_1.a/nutcracker.yml"));
	CU_ASSERT(tu_has(p->f.data_dir, "/instances/cache-1/data"));
	CU_ASSERT(tu_has(p->f.cluster_conf, "/instances/cache-1/nodes.conf"));
	CU_ASSERT(tu_has(p->f.proc_path, "/instances/cache-1/proc"));
	xasprintf(&path, "%s/cache-1.log", x.log_dir);
	CU_ASSERT_STRING_EQUAL(p->f.log_path, path);
	free(path);
	xasprintf(&path, "%s/cache-1.out", x.log_dir);
	CU_ASSERT_STRING_EQUAL(p->f.out_path, path);
	free(path);
	CU_ASSERT_EQUAL(mode_of(p->f.data_dir), 0700);
	CU_ASSERT_EQUAL(mode_of(q->f.data_dir), 0700);

	/* Passwords: 32 random bytes in hex, 0600, one per user and instance. */
	CU_ASSERT(is_hex(p->f.agent_pw, 64));
	CU_ASSERT(is_hex(p->f.probe_pw, 64));
	CU_ASSERT(is_hex(q->f.agent_pw, 64));
	CU_ASSERT(strcmp(p->f.agent_pw, p->f.probe_pw) != 0);
	CU_ASSERT(strcmp(p->f.agent_pw, q->f.agent_pw) != 0);
	CU_ASSERT_EQUAL(mode_of(p->f.agent_pw_path), 0600);
	CU_ASSERT_EQUAL(mode_of(p->f.probe_pw_path), 0600);
	fx_free(&x);
}

/* A second load reads the same passwords back: they stay the instance's. */
static void
test_load_keeps_passwords(void)
{
	struct fixture	 x;
	char		*cause = NULL, *agent_pw, *probe_pw, *shortpw;

	fx_init(&x);
	fx_write(&x, good_json);
	CU_ASSERT_EQUAL_FATAL(state_load(&x.sup, &cause), 0);
	agent_pw = xstrdup(x.sup.procs->f.agent_pw);
	probe_pw = xstrdup(x.sup.procs->f.probe_pw);
	shortpw = xstrdup(x.sup.procs->next->f.agent_pw_path);
	fx_procs_free(&x);

	/* A password too short to be one of ours is made anew. */
	tu_write(shortpw, "short\n", -1, 0600);
	CU_ASSERT_EQUAL_FATAL(state_load(&x.sup, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(nprocs(&x), 3);
	CU_ASSERT_STRING_EQUAL(x.sup.procs->f.agent_pw, agent_pw);
	CU_ASSERT_STRING_EQUAL(x.sup.procs->f.probe_pw, probe_pw);
	CU_ASSERT(is_hex(x.sup.procs->next->f.agent_pw, 64));
	free(agent_pw);
	free(probe_pw);
	free(shortpw);
	fx_free(&x);
}

/* sup_save writes what state_load reads. */
static void
test_save_roundtrip(void)
{
	struct fixture	 x, y;
	struct proc	*p;
	char		*cause = NULL, *text;

	fx_init(&x);
	fx_write(&x, good_json);
	CU_ASSERT_EQUAL_FATAL(state_load(&x.sup, &cause), 0);
	/* Change a few things, then save. */
	x.sup.procs->want_running = 0;
	kv_set(&x.sup.procs->params, "maxmemory", "1gb");
	kv_set(&x.sup.procs->params, "odd \"key\"", "a\\b\"c");
	CU_ASSERT_EQUAL_FATAL(sup_save(&x.sup, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_EQUAL(mode_of(x.sup.state_path), 0600);
	text = tu_read(x.sup.state_path, NULL);
	CU_ASSERT(tu_has(text, "\"version\": 1"));
	free(text);

	/* Another supervisor over the same state dir. */
	memset(&y, 0, sizeof(y));
	y = x;
	y.sup.procs = NULL;
	CU_ASSERT_EQUAL_FATAL(state_load(&y.sup, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(nprocs(&y), 3);
	p = y.sup.procs;
	CU_ASSERT_STRING_EQUAL(p->name, "cache-1");
	CU_ASSERT_EQUAL(p->want_running, 0);
	CU_ASSERT_STRING_EQUAL(kv_get(&p->params, "maxmemory"), "1gb");
	CU_ASSERT_STRING_EQUAL(kv_get(&p->params, "odd \"key\""), "a\\b\"c");
	CU_ASSERT_STRING_EQUAL(kv_get(&p->params, "save"), "");
	CU_ASSERT_STRING_EQUAL(p->f.agent_pw, x.sup.procs->f.agent_pw);
	CU_ASSERT_EQUAL(p->next->stats_port, 43102);
	CU_ASSERT_EQUAL(p->next->want_running, 0);
	CU_ASSERT_EQUAL(p->next->next->want_running, 1);
	CU_ASSERT_STRING_EQUAL(kv_get(&p->next->params, "bind"),
	    "10.1.2.3,10.1.2.4");
	fx_procs_free(&y);

	/* No instances: an empty list, loaded as nothing. */
	fx_procs_free(&x);
	CU_ASSERT_EQUAL_FATAL(sup_save(&x.sup, &cause), 0);
	CU_ASSERT_EQUAL(state_load(&x.sup, &cause), 0);
	CU_ASSERT_EQUAL(nprocs(&x), 0);
	fx_free(&x);
}

/* Expects json to be refused with a cause starting with the path. */
#define REFUSED(json, want)	refused_at((json), (want), __LINE__)
static void
refused_at(const char *json, const char *want, int line)
{
	struct fixture	 x;
	char		*cause = NULL, *full;
	int		 rv, ok;

	fx_init(&x);
	fx_write(&x, json);
	rv = state_load(&x.sup, &cause);
	xasprintf(&full, "%s%s", x.sup.state_path, want);
	ok = rv == -1 && tu_starts(cause, full);
	if (!ok)
		fprintf(stderr, "\n  %s\n  want rv -1, '%s...'\n  got  rv %d, "
		    "'%s'\n", json, full, rv, cause ? cause : "(null)");
	CU_assertImplementation(ok, line, "a damaged desired.json is refused, "
	    "naming the file", __FILE__, "", CU_FALSE);
	free(full);
	free(cause);
	fx_free(&x);
}

static void
test_load_damaged(void)
{
	/* Not JSON: the path, the line, the parser's words. */
	REFUSED("{ \"version\": 1, \"instances\": [", ":1: ");
	REFUSED("", ":");
	REFUSED("{\n\"version\": 1,\n\"instances\": [ { \"name\": } ]\n}\n",
	    ":3: ");
	REFUSED("not json at all\n", ":1: ");
}

static void
test_load_invalid_instance(void)
{
#define INST(body)	"{\"version\":1,\"instances\":[" body "]}"
#define OK_I		"{\"name\":\"a\",\"kind\":\"redis\",\"port\":43200," \
			"\"desired\":\"running\",\"params\":{}}"
	/* The first is fine: the second one is counted from 0. */
	REFUSED(INST(OK_I ",{\"name\":\"../evil\",\"kind\":\"redis\","
	    "\"port\":43201,\"desired\":\"running\"}"),
	    ": instance 1 is not valid");
	REFUSED(INST("{\"name\":\"\",\"kind\":\"redis\",\"port\":43201,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"a b\",\"kind\":\"redis\",\"port\":43201,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"-a\",\"kind\":\"redis\",\"port\":43201,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaa\",\"kind\":\"redis\",\"port\":43201,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"kind\":\"redis\",\"port\":43201,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":5,\"kind\":\"redis\",\"port\":43201,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	/* Ports: 1024-65535, and a number. */
	REFUSED(INST("{\"name\":\"a\",\"kind\":\"redis\",\"port\":80,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"a\",\"kind\":\"redis\",\"port\":1023,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"a\",\"kind\":\"redis\",\"port\":65536,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"a\",\"kind\":\"redis\",\"port\":4294973296,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"a\",\"kind\":\"redis\",\"port\":\"43201\","
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"a\",\"kind\":\"redis\","
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	/* Kind and desired state. */
	REFUSED(INST("{\"name\":\"a\",\"kind\":\"memcached\",\"port\":43201,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"a\",\"port\":43201,"
	    "\"desired\":\"running\"}"), ": instance 0 is not valid");
	REFUSED(INST("{\"name\":\"a\",\"kind\":\"redis\",\"port\":43201}"),
	    ": instance 0 is not valid");
	/* The same name twice. */
	REFUSED(INST(OK_I "," OK_I), ": instance 1 is not valid");
	/* Not an object at all. */
	REFUSED(INST("5"), ": instance 0 is not valid");
	REFUSED(INST("null"), ": instance 0 is not valid");
#undef OK_I
#undef INST
}

/*
 * "A damaged file stops the agent: guessing is worse."  A file that is
 * JSON but not a desired state (no instance list, another version) is
 * damaged too: loading it as "no instances" would let the next save
 * overwrite every instance the agent was asked to keep.
 */
static void
test_load_wrong_shape(void)
{
	REFUSED("[]\n", ":");
	REFUSED("{}\n", ":");
	REFUSED("{\"version\":1,\"instances\":{\"name\":\"a\"}}\n", ":");
	REFUSED("{\"version\":1,\"instances\":\"all of them\"}\n", ":");
	REFUSED("{\"version\":2,\"instances\":[]}\n", ":");
}

/* The proc file: "PID STARTTIME EXE", for adoption after a restart. */
static void
test_write_proc(void)
{
	struct fixture	 x;
	char		*cause = NULL, *text, *want;
	struct proc	*p;

	fx_init(&x);
	fx_write(&x, good_json);
	CU_ASSERT_EQUAL_FATAL(state_load(&x.sup, &cause), 0);
	p = x.sup.procs;
	CU_ASSERT_EQUAL(inst_write_proc(p->f.proc_path, 4242, 987654321ULL,
	    "/usr/bin/redis-server"), 0);
	text = tu_read(p->f.proc_path, NULL);
	CU_ASSERT_STRING_EQUAL(text ? text : "",
	    "4242 987654321 /usr/bin/redis-server\n");
	CU_ASSERT_EQUAL(mode_of(p->f.proc_path), 0600);
	free(text);

	/* A proc file that cannot be written: -1, nothing else. */
	xasprintf(&want, "%s", p->f.proc_path);
	CU_ASSERT(unlink(want) == 0);
	CU_ASSERT(mkdir(want, 0700) == 0);
	CU_ASSERT_EQUAL(inst_write_proc(p->f.proc_path, 1, 1, "/x"), -1);
	CU_ASSERT(rmdir(want) == 0);
	free(want);
	fx_free(&x);
}

/* inst_files_init fails cleanly when its directory cannot be made. */
static void
test_files_init_fails(void)
{
	struct fixture	 x;
	struct proc	*p;
	char		*cause = NULL, *blocker;

	fx_init(&x);
	blocker = tu_join(x.sup.inst_root, "blocked");
	tu_write(blocker, "a file where a dir should be", -1, 0600);
	p = proc_new(&x.sup, "blocked", KIND_REDIS, 43300, 0);
	CU_ASSERT_EQUAL(inst_files_init(&x.sup, p, &cause), -1);
	CU_ASSERT(tu_starts(cause, blocker));
	free(cause);
	free(blocker);
	fx_free(&x);
}

int
main(void)
{
	static const struct tu_test tests[] = {
		TU_TEST(test_load_missing),
		TU_TEST(test_load_good),
		TU_TEST(test_load_keeps_passwords),
		TU_TEST(test_save_roundtrip),
		TU_TEST(test_load_damaged),
		TU_TEST(test_load_invalid_instance),
		TU_TEST(test_load_wrong_shape),
		TU_TEST(test_write_proc),
		TU_TEST(test_files_init_fails),
	};

	return tu_main("state", tests, nitems(tests));
}
