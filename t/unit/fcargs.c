/* Unit tests for common/fcargs.c: merging firecracker argument lists; a
 * restore's arguments come from the host, of the recorded ones only the
 * harmless are kept, the rest named. */
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

static char *
joined(const struct fcargs *fa)
{
	static char buf[1024];

	fcargs_join(fa->v, fa->n, buf, sizeof buf);
	return buf;
}

/* A restore's arguments: the host's, and the harmless recorded ones. */
static void
test_restore(void)
{
	char *rec[] = { "--level", "Debug", "--no-seccomp", "--log-path", "/etc/passwd",
		"--show-level", "--level", "Debug;x", "--mmds-size-limit", "100",
		"--http-api-max-payload-size", "1e9", "stray", "--enable-pci" };
	char *host[] = { "--no-seccomp", "--boot-timer" };
	char *two[] = { "--level", "Info" };
	char *many[FCARGS_MAX + 1], buf[16];
	struct fcargs fa;
	int i;

	ok(fcargs_restore(rec, 14, NULL, 0, &fa) == 0, "recorded only");
	is_str(joined(&fa), "--level Debug --show-level --mmds-size-limit 100 --enable-pci",
	    "only the harmless recorded arguments are kept");
	is_str(fa.dropped, "--no-seccomp --log-path /etc/passwd --level Debug;x "
	    "--http-api-max-payload-size 1e9 stray", "the rest is named, values included");
	ok(fcargs_restore(rec, 3, host, 2, &fa) == 0, "with host arguments");
	is_str(joined(&fa), "--level Debug --no-seccomp --boot-timer",
	    "the host's follow the recorded ones");
	is_str(fa.dropped, "", "an option the host gives itself is not reported as dropped");
	ok(fcargs_restore(rec, 2, two, 2, &fa) == 0 && !strcmp(joined(&fa), "--level Info"),
	    "the host's value wins over a recorded one: %s", joined(&fa));
	ok(fcargs_restore(rec, 1, NULL, 0, &fa) == 0 && fa.n == 0 &&
	    !strcmp(fa.dropped, "--level"), "an option without its value is dropped");
	for (i = 0; i <= FCARGS_MAX; i++)
		many[i] = "--show-level";
	ok(fcargs_restore(rec, 2, many, FCARGS_MAX, &fa) < 0, "too many arguments: %s", errmsg());
	fcargs_join(many, FCARGS_MAX, buf, sizeof buf);
	ok(strlen(buf) < sizeof buf && strstr(buf, "...") != NULL, "join cuts with ...: %s", buf);
	{
		char *esc[] = { "--log-path", "/x\033[2J\n" };

		ok(fcargs_restore(esc, 2, NULL, 0, &fa) == 0 &&
		    !strcmp(fa.dropped, "--log-path /x?[2J?"),
		    "control bytes are shown as ?: %s", fa.dropped);
	}
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
	test_restore();
	return done_testing();
}
