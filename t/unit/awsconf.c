/* awsconf: environment and ~/.aws files, precedence and errors. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "awsconf.h"
#include "tap.h"
#include "util.h"

static char dir[64], crfile[128], cfgfile[128];

static void
clear_env(void)
{
	static const char *vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	    "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL_STS",
	    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
	    "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT" };
	size_t i;

	for (i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
	setenv("AWS_SHARED_CREDENTIALS_FILE", crfile, 1);
	setenv("AWS_CONFIG_FILE", cfgfile, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unlink(crfile);
	unlink(cfgfile);
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static int
fails_with(const char *profile, const char *want, const char *name)
{
	struct awsconf c;
	int r = awsconf_load(&c, profile);

	if (!ok(r < 0 && strstr(errmsg(), want), "%s", name))
		printf("#   r=%d msg '%s', want '%s'\n", r, r < 0 ? errmsg() : "", want);
	return r;
}

int
main(void)
{
	struct awsconf c;

	snprintf(dir, sizeof dir, "/tmp/awsconf.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(crfile, sizeof crfile, "%s/credentials", dir);
	snprintf(cfgfile, sizeof cfgfile, "%s/config", dir);

	clear_env();
	fails_with(NULL, "no AWS credentials: tried the environment (AWS_ACCESS_KEY_ID), web "
	    "identity (AWS_WEB_IDENTITY_TOKEN_FILE), profile 'default' (", "nothing configured: "
	    "the error names what was tried");
	fails_with(NULL, "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), not EC2 "
	    "instance metadata (AWS_EC2_METADATA_DISABLED); set AWS_ACCESS_KEY_ID/"
	    "AWS_SECRET_ACCESS_KEY or configure ~/.aws/credentials", "... and the fix");

	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	fails_with(NULL, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
	    "half of the environment pair is refused by name");

	setenv("AWS_SECRET_ACCESS_KEY", "skenv", 1);
	setenv("AWS_SESSION_TOKEN", "tokenv", 1);
	put(crfile, "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = skfile\n");
	if (ok(awsconf_load(&c, NULL) == 0, "environment credentials load")) {
		is_str(c.creds->access_key, "AKENV", "environment key wins over the credentials file");
		is_str(c.creds->secret_key, "skenv", "environment secret");
		is_str(c.creds->session_token, "tokenv", "AWS_SESSION_TOKEN is the session token");
		is_str(c.region, "us-east-1", "region defaults to us-east-1");
		ok(c.endpoint == NULL, "no endpoint: AWS itself");
		is_str(c.addressing, "auto", "addressing defaults to auto");
		is_str(c.creds->source, "environment", "source named");
		awsconf_free(&c);
	}

	clear_env();
	put(crfile, "# comment\r\n; another\r\n[default]\r\naws_access_key_id=AKFILE\r\n"
	    "aws_secret_access_key = skfile  \r\naws_session_token = tok\r\n"
	    "[dev]\naws_access_key_id = AKDEV\naws_secret_access_key = skdev\n");
	if (ok(awsconf_load(&c, NULL) == 0, "credentials file [default] loads")) {
		is_str(c.creds->access_key, "AKFILE", "key from [default] (CRLF, comments, no blanks)");
		is_str(c.creds->secret_key, "skfile", "secret trimmed");
		is_str(c.creds->session_token, "tok", "aws_session_token read");
		ok(strstr(c.creds->source, "credentials [default]") != NULL, "source names file and section");
		awsconf_free(&c);
	}

	put(cfgfile, "[default]\nregion = ap-south-1\n"
	    "[profile   dev]\nregion = eu-west-1\nendpoint_url = http://plain:1\n"
	    "s3 =\n  endpoint_url = http://nested:2\n  addressing_style = path\n"
	    "ca_bundle = /etc/ca.pem\n"
	    "[profile cfgonly]\naws_access_key_id = AKCFG\naws_secret_access_key = skcfg\n");
	setenv("AWS_PROFILE", "dev", 1);
	if (ok(awsconf_load(&c, NULL) == 0, "AWS_PROFILE=dev loads")) {
		is_str(c.profile, "dev", "profile from AWS_PROFILE");
		is_str(c.creds->access_key, "AKDEV", "credentials from [dev]");
		is_str(c.region, "eu-west-1", "region from [profile dev] (blanks in header folded)");
		is_str(c.endpoint, "http://nested:2", "nested s3 endpoint_url wins over endpoint_url");
		is_str(c.addressing, "path", "nested s3 addressing_style");
		is_str(c.ca_bundle, "/etc/ca.pem", "ca_bundle after the nested block is top level");
		awsconf_free(&c);
	}
	setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
	setenv("AWS_ENDPOINT_URL", "http://envall:3", 1);
	setenv("AWS_CA_BUNDLE", "/env/ca.pem", 1);
	if (ok(awsconf_load(&c, NULL) == 0, "environment settings load")) {
		is_str(c.region, "us-west-1", "AWS_DEFAULT_REGION beats the config file");
		is_str(c.endpoint, "http://envall:3", "AWS_ENDPOINT_URL beats the config file");
		is_str(c.ca_bundle, "/env/ca.pem", "AWS_CA_BUNDLE beats ca_bundle");
		awsconf_free(&c);
	}
	setenv("AWS_REGION", "sa-east-1", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://envs3:4", 1);
	if (ok(awsconf_load(&c, NULL) == 0, "service-specific settings load")) {
		is_str(c.region, "sa-east-1", "AWS_REGION beats AWS_DEFAULT_REGION");
		is_str(c.endpoint, "http://envs3:4", "AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL");
		awsconf_free(&c);
	}
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_CA_BUNDLE");

	if (ok(awsconf_load(&c, "cfgonly") == 0, "profile argument with credentials only in config")) {
		is_str(c.creds->access_key, "AKCFG", "credentials from [profile cfgonly] in the config file");
		is_str(c.profile, "cfgonly", "argument beats AWS_PROFILE");
		awsconf_free(&c);
	}
	unsetenv("AWS_PROFILE");
	if (ok(awsconf_load(&c, NULL) == 0, "default profile with config")) {
		is_str(c.region, "ap-south-1", "[default] of the config file gives the region");
		awsconf_free(&c);
	}
	fails_with("nosuch", "AWS profile 'nosuch' not found", "an unknown profile is named");

	put(crfile, "[default]\naws_access_key_id = AKONLY\n");
	fails_with(NULL, "has aws_access_key_id but no aws_secret_access_key",
	    "key without secret in a file is refused");
	put(crfile, "[default]\nthis line is wrong\n");
	fails_with(NULL, "credentials:2: expected 'key = value'", "malformed line names file:line");
	put(crfile, "[default]\n");
	put(cfgfile, "[profile x]\ns3 =\n  addressing_style = sideways\n"
	    "aws_access_key_id = a\naws_secret_access_key = b\n");
	fails_with("x", "addressing_style 'sideways'", "bad addressing_style is refused");

	put(cfgfile, "[profile sso]\nsso_session = corp\nregion = eu-west-1\n");
	fails_with("sso", "AWS profile 'sso' uses sso_session, which fcsnap does not support",
	    "an SSO profile is named as unsupported, with the workaround");

	clear_env();
	put(crfile, "[default]\naws_access_key_id = AK\naws_secret_access_key = sk\n");
	put(cfgfile, "[default]\nservices = local\nendpoint_url = http://global:1\n"
	    "[services local]\ns3 =\n  endpoint_url = http://svc:2\n"
	    "sts =\n  endpoint_url = http://sts:3\n");
	if (ok(awsconf_load(&c, NULL) == 0, "a profile with services = NAME loads")) {
		is_str(c.endpoint, "http://svc:2", "[services NAME] s3 endpoint_url beats the "
		    "profile's endpoint_url");
		awsconf_free(&c);
	}
	setenv("AWS_ENDPOINT_URL", "http://envall:3", 1);
	if (ok(awsconf_load(&c, NULL) == 0, "services with AWS_ENDPOINT_URL loads")) {
		is_str(c.endpoint, "http://envall:3", "AWS_ENDPOINT_URL beats [services NAME]");
		awsconf_free(&c);
	}
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	if (ok(awsconf_load(&c, NULL) == 0, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS loads")) {
		ok(c.endpoint == NULL, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: AWS itself");
		awsconf_free(&c);
	}
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "maybe", 1);
	fails_with(NULL, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS 'maybe': want true or false",
	    "a non-boolean ignore setting is refused");
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	unsetenv("AWS_ENDPOINT_URL");
	put(cfgfile, "[default]\nignore_configured_endpoint_urls = true\nendpoint_url = http://g:1\n");
	if (ok(awsconf_load(&c, NULL) == 0, "ignore_configured_endpoint_urls loads")) {
		ok(c.endpoint == NULL, "ignore_configured_endpoint_urls = true: AWS itself");
		awsconf_free(&c);
	}
	put(cfgfile, "[default]\nservices = nowhere\n");
	fails_with(NULL, "has services = nowhere, but", "services naming a missing section "
	    "is an error, not a silent fall back to AWS");

	put(crfile, "");
	put(cfgfile, "[profile r]\nrole_arn = arn:aws:iam::1:role/x\n");
	fails_with("r", "has role_arn but no source_profile, credential_source or "
	    "web_identity_token_file", "role_arn alone is named");
	put(cfgfile, "[profile r]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = s\n"
	    "credential_source = Environment\n[profile s]\n");
	fails_with("r", "has both source_profile and credential_source", "both sources refused");
	put(cfgfile, "[profile r]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Vault\n");
	fails_with("r", "credential_source 'Vault' is not Environment, Ec2InstanceMetadata or "
	    "EcsContainer", "an unknown credential_source is named");
	put(cfgfile, "[profile r]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = none\n");
	fails_with("r", "source_profile 'none' of AWS profile 'r' is in neither",
	    "a missing source_profile is named");
	put(cfgfile, "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
	    "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n");
	fails_with("a", "name each other as source_profile", "a source_profile loop is refused");
	put(cfgfile, "[profile r]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = r\n");
	fails_with("r", "source_profile 'r' of AWS profile 'r' has no credentials",
	    "a profile that is its own source needs static keys");
	put(cfgfile, "[profile r]\nrole_arn = arn:aws:iam::1:role/x\n"
	    "credential_source = Environment\n");
	fails_with("r", "credential_source = Environment, but AWS_ACCESS_KEY_ID",
	    "credential_source = Environment without keys");
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent", 1);
	fails_with(NULL, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not",
	    "half of the web identity pair is refused by name");
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "skenv", 1);
	put(cfgfile, "[profile p]\naws_access_key_id = AKP\naws_secret_access_key = skp\n");
	if (ok(awsconf_load(&c, "p") == 0, "a profile named by the caller loads")) {
		is_str(c.creds->access_key, "AKP", "a profile named by the caller beats the "
		    "environment (the CLI's --profile)");
		awsconf_free(&c);
	}
	setenv("AWS_PROFILE", "p", 1);
	if (ok(awsconf_load(&c, NULL) == 0, "AWS_PROFILE with environment keys loads")) {
		is_str(c.creds->access_key, "AKENV", "with AWS_PROFILE the environment keys win");
		awsconf_free(&c);
	}
	setenv("AWS_REGION", "evil.example/x", 1);
	fails_with(NULL, "AWS region 'evil.example/x' is not a region name",
	    "a region that would change the host name is refused");
	unsetenv("AWS_REGION");
	setenv("AWS_SECRET_ACCESS_KEY", "sk\nenv", 1);
	fails_with(NULL, "environment: bad secret access key", "a control character in a "
	    "secret is refused");

	clear_env();
	rmdir(dir);
	return done_testing();
}
