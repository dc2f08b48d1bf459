/*
 * fuzz_conf.c: configuration text through the table-driven reader, with a
 * table of every directive type, then the real ccagent and ccmonitor
 * tables.  "include" is left out: it would read arbitrary files.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "log.h"
#include "util.h"
#include "agent/agent.h"
#include "monitor/monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct item {
	char		*text;
	struct item	*next;
};

struct fconf {
	struct conf_head head;
	int		 flag;
	long long	 num;
	uint64_t	 dur;
	uint64_t	 size;
	char		*str;
	int		 level;
	struct item	*items;
};

static const char *const levels[] = { "debug", "info", "warn", NULL };

static int
parse_item(void *field, int argc, char **argv, char **cause)
{
	struct item **head = field, *it;

	if (argc < 1 || argc > 3) {
		*cause = strdup("one to three words");
		return -1;
	}
	it = calloc(1, sizeof(*it));
	it->text = strdup(argv[argc - 1]);
	it->next = *head;
	*head = it;
	return 0;
}

static void
free_items(void *field)
{
	struct item **head = field, *it, *next;

	for (it = *head; it != NULL; it = next) {
		next = it->next;
		free(it->text);
		free(it);
	}
	*head = NULL;
}

#define F(name)	offsetof(struct fconf, name), sizeof(((struct fconf *)0)->name)

static const struct conf_def defs[] = {
	{ "flag", CONF_BOOL, 0, F(flag), "yes", 0, 0, NULL, NULL, NULL, NULL, "" },
	{ "num", CONF_INT, CONF_RELOAD, F(num), "10", -5, 100, NULL, NULL, NULL,
	  NULL, "" },
	{ "dur", CONF_DURATION, CONF_RELOAD, F(dur), "5s", 100, 3600000, NULL,
	  NULL, NULL, NULL, "" },
	{ "size", CONF_SIZE, 0, F(size), "4mb", 1024, 1LL << 40, NULL, NULL,
	  NULL, NULL, "" },
	{ "str", CONF_STRING, CONF_RELOAD, F(str), "x", 0, 0, NULL, NULL, NULL,
	  NULL, "" },
	{ "level", CONF_ENUM, 0, F(level), "info", 0, 0, levels, NULL, NULL,
	  NULL, "" },
	{ "item", CONF_CUSTOM, CONF_MULTI | CONF_RELOAD, F(items), NULL, 0, 0,
	  NULL, parse_item, free_items, NULL, "" },
};

/*
 * Whether a line of text is an include, read as the reader reads it (the
 * directive may be quoted and escaped).
 */
static int
has_include(const char *text)
{
	const char	*p = text, *nl, *scause;
	char		*line, **argv;
	int		 argc, found = 0;

	while (!found && *p != '\0') {
		nl = strchr(p, '\n');
		line = nl ? strndup(p, (size_t)(nl - p)) : strdup(p);
		argc = conf_split(line, &argv, &scause);
		if (argc > 0 && strcasecmp(argv[0], "include") == 0)
			found = 1;
		if (argc > 0)
			conf_free_args(argc, argv);
		free(line);
		p = nl ? nl + 1 : p + strlen(p);
	}
	return found;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 init;
	struct fconf		 a, b;
	struct agent_conf	 ac;
	struct monitor_conf	 mc;
	char			*text, *cause = NULL;
	const char		*w;

	if (!init) {
		log_set_level(LL_ERR);
		init = 1;
	}
	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (has_include(text)) {
		free(text);
		return 0;
	}

	memset(&a, 0, sizeof(a));
	if (conf_load_mem(defs, nitems(defs), &a, "fuzz.conf", text,
	    &cause) == 0) {
		/* A reload against the defaults, both ways. */
		memset(&b, 0, sizeof(b));
		if (conf_load_mem(defs, nitems(defs), &b, "b.conf", "",
		    &cause) != 0)
			abort();
		conf_merge(&b, &a);
		conf_merge(&a, &b);
		w = conf_where(&a, "num");
		if (w == NULL)
			abort();
		conf_free(&b);
		if (a.num < -5 || a.num > 100 || a.dur < 100 ||
		    a.dur > 3600000 || a.level < 0 || a.level > 2)
			abort();
	} else if (cause == NULL || strncmp(cause, "fuzz.conf:", 10) != 0)
		abort();		/* every error names its place */
	free(cause);
	cause = NULL;
	conf_free(&a);

	memset(&ac, 0, sizeof(ac));
	conf_load_mem(agent_conf_defs, agent_conf_ndefs, &ac, "agent.conf",
	    text, &cause);
	free(cause);
	cause = NULL;
	conf_free(&ac);

	memset(&mc, 0, sizeof(mc));
	conf_load_mem(monitor_conf_defs, monitor_conf_ndefs, &mc,
	    "monitor.conf", text, &cause);
	free(cause);
	conf_free(&mc);
	free(text);
	return 0;
}
