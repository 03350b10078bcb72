/* For the targets whose parser reads a file (meta.json, vm.json, the AWS
 * files): a private temp dir made once per process (on tmpfs when there is
 * one, so a file per input stays cheap) and removed at exit, and a helper
 * that puts an input into a file there. */
#ifndef FCSNAP_FUZZFILE_H
#define FCSNAP_FUZZFILE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_d[64];
static char fuzz_made[8][128];  /* files and dirs to remove, deepest last */
static int fuzz_nmade;

static inline void
fuzz_cleanup(void)
{
	while (fuzz_nmade > 0) {
		const char *p = fuzz_made[--fuzz_nmade];
		if (unlink(p) < 0)
			rmdir(p);
	}
	rmdir(fuzz_d);
}

static inline void
fuzz_remember(const char *p)
{
	int i;

	for (i = 0; i < fuzz_nmade; i++)
		if (!strcmp(fuzz_made[i], p))
			return;
	if (fuzz_nmade == 8 || snprintf(fuzz_made[fuzz_nmade++], 128, "%s", p) >= 128)
		abort();
}

/* The dir, made on first use. */
static inline const char *
fuzz_dir(void)
{
	if (!fuzz_d[0]) {
		snprintf(fuzz_d, sizeof fuzz_d, "%s/fcsnap-fuzz-XXXXXX",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(fuzz_d))
			abort();
		atexit(fuzz_cleanup);
	}
	return fuzz_d;
}

/* dir/rel as a path in out (128 bytes). */
static inline char *
fuzz_path(char *out, const char *rel)
{
	if (snprintf(out, 128, "%s/%s", fuzz_dir(), rel) >= 128)
		abort();
	return out;
}

/* Make dir/rel as a directory (once). */
static inline void
fuzz_mkdir(const char *rel)
{
	char p[128];

	if (mkdir(fuzz_path(p, rel), 0700) < 0 && access(p, F_OK) < 0)
		abort();
	fuzz_remember(p);
}

/* Write n bytes at p into dir/rel (created or truncated, mode 0600). */
static inline void
fuzz_put(const char *rel, const void *b, size_t n)
{
	char p[128];
	int fd = open(fuzz_path(p, rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 || (n && write(fd, b, n) != (ssize_t)n) || close(fd) < 0)
		abort();
	fuzz_remember(p);
}

#endif
