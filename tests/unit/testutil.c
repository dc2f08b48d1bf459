/*
 * testutil.c: see testutil.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "log.h"
#include "util.h"
#include "testutil.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif

int
tu_main(const char *suite, const struct tu_test *tests, size_t n)
{
	CU_pSuite	s;
	size_t		i;
	int		rc;

	/* The product logs to stderr; keep warnings, drop the chatter. */
	log_set_level(getenv("TU_DEBUG") ? LL_DEBUG : LL_WARN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if ((s = CU_add_suite(suite, NULL, NULL)) == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL) {
			CU_cleanup_registry();
			return 1;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	rc = CU_get_number_of_failures() != 0 || CU_get_error() != 0;
	CU_cleanup_registry();
	return rc;
}

char *
tu_tmpdir(void)
{
	const char	*base = getenv("TMPDIR");
	char		*dir;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	xasprintf(&dir, "%s/ccnode-unit.XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
		abort();
	}
	return dir;
}

static void
rm_tree(const char *path)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	char		*sub;

	if (lstat(path, &st) == -1)
		return;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		if ((d = opendir(path)) != NULL) {
			while ((de = readdir(d)) != NULL) {
				if (strcmp(de->d_name, ".") == 0 ||
				    strcmp(de->d_name, "..") == 0)
					continue;
				sub = tu_join(path, de->d_name);
				rm_tree(sub);
				free(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else
		unlink(path);
}

void
tu_rmdir(char *dir)
{
	if (dir == NULL)
		return;
	rm_tree(dir);
	free(dir);
}

char *
tu_join(const char *dir, const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	return p;
}

char *
tu_srcpath(const char *rel)
{
	const char *top = getenv("top_srcdir");

	if (top == NULL || *top == '\0')
		top = TEST_SRCDIR;
	return tu_join(top, rel);
}

void
tu_write(const char *path, const void *data, ssize_t len, mode_t mode)
{
	size_t	n = len < 0 ? strlen(data) : (size_t)len;
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_FATAL(write(fd, data, n) == (ssize_t)n);
	/* open() honours the umask; the tests need the exact mode. */
	CU_ASSERT(fchmod(fd, mode) == 0);
	close(fd);
}

char *
tu_read(const char *path, size_t *lenp)
{
	char	*buf, *cause = NULL;

	buf = read_small_file(path, 64u * 1024 * 1024, 0, lenp, &cause);
	if (buf == NULL) {
		fprintf(stderr, "tu_read: %s\n", cause);
		free(cause);
		CU_FAIL("cannot read a test file");
	}
	return buf;
}

int
tu_has(const char *haystack, const char *needle)
{
	return haystack != NULL && needle != NULL &&
	    strstr(haystack, needle) != NULL;
}

int
tu_starts(const char *s, const char *prefix)
{
	return s != NULL && prefix != NULL &&
	    strncmp(s, prefix, strlen(prefix)) == 0;
}
