/* Unit tests for common/fcargs.c: merging firecracker argument lists. */
#include "tap.h"
#include "fcargs.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define MAX 16

/* Merge the words of b (space-separated) into those of a; the result
 * joined with spaces, or "ERR: message". */
static const char *
merge(const char *a, const char *b, int max)
{
	static char res[512];
	char *args[MAX + 1], *add[MAX + 1], bb[256], ab[256], *w, *sv;
	int n = 0, na = 0, i;
	size_t l = 0;

	snprintf(ab, sizeof ab, "%s", a);
	snprintf(bb, sizeof bb, "%s", b);
	for (w = strtok_r(ab, " ", &sv); w; w = strtok_r(NULL, " ", &sv))
		args[n++] = strdup(w);
	for (w = strtok_r(bb, " ", &sv); w; w = strtok_r(NULL, " ", &sv))
		add[na++] = w;
	if (fcargs_merge(args, &n, max, add, na) < 0)
		snprintf(res, sizeof res, "ERR: %s", errmsg());
	else
		for (res[0] = 0, i = 0; i < n; i++)
			l += (size_t)snprintf(res + l, sizeof res - l, "%s%s", i ? " " : "", args[i]);
	for (i = 0; i < n; i++)
		free(args[i]);
	return res;
}

int
main(void)
{
	is_str(merge("--no-seccomp", "--no-seccomp", MAX), "--no-seccomp",
	    "a flag given by both is there once");
	is_str(merge("--no-seccomp --level Debug", "--no-seccomp", MAX), "--level Debug --no-seccomp",
	    "the rest of the recorded list is kept");
	is_str(merge("--level Debug --no-seccomp", "--level Info", MAX), "--no-seccomp --level Info",
	    "a value given again replaces the recorded one");
	is_str(merge("--level=Debug", "--level Warning", MAX), "--level Warning",
	    "--name=value and --name value are the same option");
	is_str(merge("", "--no-seccomp --no-seccomp --level A --level B", MAX),
	    "--no-seccomp --level B", "an option named twice in the addition counts once, the last");
	is_str(merge("--boot-timer", "", MAX), "--boot-timer", "nothing to add: unchanged");
	is_str(merge("--start-time-us 5", "--id x", MAX), "--start-time-us 5 --id x",
	    "new options are appended");
	is_str(merge("--a 1 --b 2", "--c 3 --d 4", 7), "ERR: too many firecracker arguments (limit 7)",
	    "too many words: refused");
	is_str(merge("--a 1 --b 2", "--a 3 --b 4", 4), "--a 3 --b 4",
	    "replacing does not count twice against the limit");
	return done_testing();
}
