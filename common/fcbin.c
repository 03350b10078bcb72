/* fcbin: see fcbin.h. */
#include "fcbin.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "util.h"

static int
is_exe_file(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && access(p, X_OK) == 0;
}

/* dir of path must exist before fetch installs into it. */
static int
make_parent(const char *path)
{
	char d[PATH_MAX], *s;

	if (fmt(d, sizeof d, "%s", path) < 0)
		return -1;
	s = strrchr(d, '/');
	if (!s || s == d)
		return 0;
	*s = 0;
	return mkdir_p(d, 0755);
}

static int
fetch_fc_into(const char *dest, char *out, size_t n)
{
	if (make_parent(dest) < 0 || fetch_firecracker(dest, NULL, NULL, NULL, NULL) < 0)
		return fail("firecracker is missing and could not be fetched: %s "
		    "(give -f FILE, set FCSNAP_FIRECRACKER, or --no-fetch)", errmsg());
	return fmt(out, n, "%s", dest);
}

int
fcbin_firecracker(const struct store *st, const char *given, int fetch, char *out, size_t n)
{
	char def[PATH_MAX];

	if (!given || !*given)
		given = getenv("FCSNAP_FIRECRACKER");
	if (given && *given && strchr(given, '/')) {
		if (is_exe_file(given))
			return fmt(out, n, "%s", given);
		if (access(given, F_OK) == 0)
			return fail("firecracker binary %s is not an executable file", given);
		if (!fetch)
			return fail("firecracker binary %s does not exist; give -f FILE or "
			    "set FCSNAP_FIRECRACKER", given);
		return fetch_fc_into(given, out, n);
	}
	if (find_exe(given && *given ? given : "firecracker", out, n) == 0)
		return 0;
	if (given && *given && strcmp(given, "firecracker"))
		return fail("firecracker binary %s not found in PATH; give -f FILE or "
		    "set FCSNAP_FIRECRACKER", given);
	if (path_join(def, sizeof def, st->root, "bin/firecracker") < 0)
		return -1;
	if (is_exe_file(def))
		return fmt(out, n, "%s", def);
	if (!fetch)
		return fail("firecracker not found in PATH nor at %s; give -f FILE or "
		    "set FCSNAP_FIRECRACKER", def);
	return fetch_fc_into(def, out, n);
}

int
fcbin_kernel(const struct store *st, const char *given, int fetch, char *out, size_t n)
{
	char def[PATH_MAX];
	const char *k;

	if (!given || !*given)
		given = getenv("FCSNAP_KERNEL");
	if (!given || !*given) {
		if (path_join(def, sizeof def, st->root, "kernel/vmlinux") < 0)
			return -1;
		k = def;
	} else {
		k = given;
	}
	if (access(k, R_OK) == 0)
		return fmt(out, n, "%s", k);
	if (errno != ENOENT)
		return fail_errno("kernel %s", k);
	if (!fetch)
		return fail("kernel %s does not exist; give -k FILE or set FCSNAP_KERNEL", k);
	if (make_parent(k) < 0 || fetch_kernel(k, NULL, NULL, NULL) < 0)
		return fail("kernel %s is missing and could not be fetched: %s "
		    "(give -k FILE, set FCSNAP_KERNEL, or --no-fetch)", k, errmsg());
	return fmt(out, n, "%s", k);
}
