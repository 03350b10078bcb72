/* libFuzzer target: the AWS config and credentials file parser
 * (awsconf_load).
 *
 * The input is cut at its first NUL byte: what comes before is the config
 * file, the rest the credentials file.  Both are written into a private
 * dir, the environment points the loader at them (and holds no AWS
 * variables of its own), and the default profile is loaded.  Loaded
 * settings must be complete: keys, region, addressing style.
 *
 * Nothing the input says may run or reach anything: both files are made
 * group-writable, so a credential_process in them is refused (as one from
 * a file another user can write is); FCSNAP_CURL points nowhere, so no
 * STS, container or metadata request leaves; instance metadata is off.
 */
#include <stdint.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "awsconf.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
setup(void)
{
	static const char *unset[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_MAX_ATTEMPTS",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" };
	char p[128];
	size_t i;

	for (i = 0; i < sizeof unset / sizeof *unset; i++)
		unsetenv(unset[i]);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("FCSNAP_CURL", "/nonexistent/curl", 1);
	setenv("AWS_CONFIG_FILE", fuzz_path(p, "config"), 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", fuzz_path(p, "credentials"), 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	const uint8_t *z = memchr(data, 0, size);
	size_t n1 = z ? (size_t)(z - data) : size;
	struct awsconf c;
	char p[128];

	if (!once) {
		setup();
		once = 1;
	}
	fuzz_put("config", data, n1);
	fuzz_put("credentials", z ? z + 1 : data, z ? size - n1 - 1 : 0);
	if (chmod(fuzz_path(p, "config"), 0660) < 0 || chmod(fuzz_path(p, "credentials"), 0660) < 0)
		abort();
	if (awsconf_load(&c, NULL) == 0) {
		if (!c.creds || !c.creds->access_key || !c.creds->secret_key || !c.region ||
		    !c.addressing || !c.profile || !c.creds->source)
			abort();
		if (strcmp(c.addressing, "auto") && strcmp(c.addressing, "path") &&
		    strcmp(c.addressing, "virtual"))
			abort();
		awsconf_free(&c);
	}
	return 0;
}
