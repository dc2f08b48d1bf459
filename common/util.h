/*
 * util.h: small helpers shared by every program: allocation that cannot
 * fail, clocks, unit parsing, addresses and durable file writes.
 */
#ifndef CC_UTIL_H
#define CC_UTIL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define MINIMUM(a, b)	((a) < (b) ? (a) : (b))
#define MAXIMUM(a, b)	((a) > (b) ? (a) : (b))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/*
 * qsort(3) that takes an empty array, NULL included: C leaves
 * qsort(NULL, 0, ...) undefined and UBSan stops the program on it.
 */
void	 xqsort(void *, size_t, size_t, int (*)(const void *, const void *));
int	 xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));

uint64_t mono_ms(void);		/* CLOCK_MONOTONIC, milliseconds */
uint64_t mono_us(void);
int64_t	 wall_ms(void);		/* Unix time, milliseconds */

/*
 * "500ms", "5s", "1m", "1h", "1d".  A bare number is refused: "500" could
 * mean either unit.  Returns 0 and the value in milliseconds, or -1.
 */
int	parse_duration_ms(const char *, uint64_t *);
/* Redis units: "512", "4k", "4kb", "4mb", "1gb" (k = 1000, kb = 1024). */
int	parse_size(const char *, uint64_t *);
/* A decimal integer with no sign games or trailing junk. */
int	parse_ll(const char *, long long *);
int	parse_double(const char *, double *);
/*
 * Unix seconds (with an optional fraction) or RFC 3339
 * (2026-11-25T20:36:33Z, 2026-11-25T20:36:33.5+08:00) into Unix ms.
 */
int	parse_time_ms(const char *, int64_t *);

/*
 * "IP:PORT" or "[IPv6]:PORT" with an IP literal, never a name: name lookups
 * block the event loop.  Returns 0 or -1 with *cause set (static string).
 */
int	parse_hostport(const char *, struct sockaddr_storage *, socklen_t *,
	    const char **cause);
/* An IP literal with the given port. */
int	parse_ip(const char *, uint16_t port, struct sockaddr_storage *,
	    socklen_t *);
/* "IP:PORT" into buf (at least 64 bytes). */
const char *fmt_addr(const struct sockaddr *, char *buf, size_t len);
int	addr_is_loopback(const struct sockaddr *);

/*
 * Reads a whole small file (at most max bytes) into a NUL-terminated buffer.
 * With trim, trailing whitespace is removed.  Returns NULL and sets *cause.
 */
char	*read_small_file(const char *path, size_t max, int trim, size_t *lenp,
	    char **cause);
/* Writes data to path through path.tmp, fsync and rename, then fsyncs the dir. */
int	write_file_atomic(const char *path, const void *, size_t, char **cause);
/*
 * The same, with the fsyncs only if sync: the rename keeps the file whole
 * against a process crash without waiting for the disk.
 */
int	write_file_replace(const char *path, const void *, size_t, int sync,
	    char **cause);
int	mkdir_p(const char *path, mode_t mode);
int	set_cloexec(int fd);
/* Closes every descriptor from lowfd up (close_range, or a loop). */
void	close_from(int lowfd);
int	set_nonblock(int fd);

/* Fills buf with cryptographically random bytes (OpenSSL RAND_bytes). */
void	random_bytes(void *, size_t);
uint64_t random_u64(void);

/*
 * Copies at most len - 1 bytes of src (NULL: none) and a NUL: the bounded
 * copy of hot paths (ingest, probes), where snprintf costs too much.
 */
void	str_copy(char *dst, size_t len, const char *src);
/* "IP:PORT" or "[IPv6]:PORT" into the bare IP literal and the port. */
int	split_hostport(const char *, char *ip, size_t iplen, int *port,
	    const char **cause);
/* Checks a name against [A-Za-z0-9_][A-Za-z0-9_.-]{0,63}. */
int	valid_name(const char *);
/*
 * A copy of at most max bytes of s for a one-line record: control
 * characters, quotes and backslashes as \xNN.  The caller frees it.
 */
char	*str_escape(const char *s, size_t max);
/*
 * At most len - 1 bytes of src[0..srclen) and a NUL, every byte outside
 * printable ASCII as '?': server text (an error, a type name) for a log
 * line or a fixed field.
 */
void	str_printable(char *dst, size_t len, const char *src, size_t srclen);
/* The value of a hex digit, or -1. */
int	hex_digit(int c);
/* A host name: 1 to 253 of letters, digits, '-', '.' and '_'. */
int	valid_host_name(const char *);
/* v within [lo, hi]; NaN gives lo.  For casts of outside numbers. */
double	clamp(double v, double lo, double hi);

#endif
