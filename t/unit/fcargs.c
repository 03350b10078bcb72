/* fcargs: a restore's firecracker arguments come from the host; of the
 * recorded ones only the harmless are kept, the rest named. */
#include "fcargs.h"
#include "util.h"
#include "tap.h"

#include <string.h>

static char *
joined(const struct fcargs *fa)
{
	static char buf[1024];

	fcargs_join(fa->v, fa->n, buf, sizeof buf);
	return buf;
}

int
main(void)
{
	char *rec[] = { "--level", "Debug", "--no-seccomp", "--log-path", "/etc/passwd",
		"--show-level", "--level", "Debug;x", "--mmds-size-limit", "100",
		"--http-api-max-payload-size", "1e9", "stray", "--enable-pci" };
	char *host[] = { "--no-seccomp", "--boot-timer" };
	char *two[] = { "--level", "Info" };
	char *many[FCARGS_MAX + 1], buf[16];
	struct fcargs fa;
	int i;

	prog_init((char *[]){ "fcargs", NULL });
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
	return done_testing();
}
