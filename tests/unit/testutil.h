/*
 * testutil.h: what every CUnit suite under tests/unit shares: a runner
 * that registers a table of tests and exits non-zero on any failure,
 * scratch directories, and small file helpers.
 */
#ifndef CC_TESTUTIL_H
#define CC_TESTUTIL_H

#include <sys/types.h>
#include <stddef.h>

#include <CUnit/CUnit.h>

struct tu_test {
	const char	*name;
	void		(*fn)(void);
};

#define TU_TEST(f)	{ #f, f }

/*
 * Runs the tests as one suite with the basic interface, verbose.  Returns
 * the process exit status: 0 when every assertion passed.
 */
int	 tu_main(const char *suite, const struct tu_test *, size_t n);

/* A fresh directory under $TMPDIR (or /tmp); free with tu_rmdir. */
char	*tu_tmpdir(void);
/* Removes dir and everything under it, then frees the string. */
void	 tu_rmdir(char *dir);
/* dir/name, malloc'd. */
char	*tu_join(const char *dir, const char *name);
/* A path under the source tree (top_srcdir from the environment). */
char	*tu_srcpath(const char *rel);
/* Writes len bytes (len -1: strlen) to path with mode.  Fails the test on error. */
void	 tu_write(const char *path, const void *data, ssize_t len, mode_t mode);
/* The whole file, NUL-terminated; NULL (and a test failure) on error. */
char	*tu_read(const char *path, size_t *len);
/* Whether haystack contains needle (NULL-safe, for assertions). */
int	 tu_has(const char *haystack, const char *needle);
/* Whether s starts with prefix (NULL-safe). */
int	 tu_starts(const char *s, const char *prefix);

#endif
