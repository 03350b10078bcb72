/* creds: credential_process argv splitting, Expiration times, the JSON and
 * STS XML answers (hostile ones too), container URL rules, refresh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awshttp.h"
#include "container.h"
#include "credproc.h"
#include "creds.h"
#include "sts.h"
#include "tap.h"
#include "util.h"

/* The words of line joined as "[a][b]", or "ERR: message". */
static const char *
split(const char *line)
{
	static char out[512];
	char **argv;
	size_t n = 0;
	int i;

	if (credproc_split(line, &argv) < 0) {
		snprintf(out, sizeof out, "ERR: %s", errmsg());
		return out;
	}
	for (i = 0; argv[i]; i++)
		n += (size_t)snprintf(out + n, sizeof out - n, "[%s]", argv[i]);
	free(argv);
	return out;
}

static void
splitting(void)
{
	is_str(split("/bin/helper --profile x"), "[/bin/helper][--profile][x]", "blanks split");
	is_str(split("  a\t b  "), "[a][b]", "runs of blanks and tabs, at both ends");
	is_str(split("\"/opt/my tools/helper\" arg"), "[/opt/my tools/helper][arg]",
	    "a double-quoted path keeps its space");
	is_str(split("'it''s' x"), "[its][x]", "adjacent single-quoted pieces join");
	is_str(split("a\\ b c\\\\d"), "[a b][c\\d]", "backslash outside quotes escapes anything");
	is_str(split("\"a\\\"b\\\\c\\d\""), "[a\"b\\c\\d]",
	    "inside double quotes only \\\" and \\\\ are escapes");
	is_str(split("'a\\b'"), "[a\\b]", "single quotes keep backslashes");
	is_str(split("x '' y"), "[x][][y]", "an empty quoted word is a word");
	is_str(split("x; rm -rf / | $HOME `id`"), "[x;][rm][-rf][/][|][$HOME][`id`]",
	    "shell syntax is just text");
	is_str(split("a 'b"), "ERR: credential_process: unterminated ' quote",
	    "unterminated single quote");
	is_str(split("a \"b"), "ERR: credential_process: unterminated \" quote",
	    "unterminated double quote");
	is_str(split("a\\"), "ERR: credential_process: a backslash ends the line",
	    "a trailing backslash");
	is_str(split("   "), "ERR: credential_process is empty", "an empty command");
}

static void
times(void)
{
	time_t t;

	ok(creds_parse_time("2026-12-02T01:02:03Z", &t) == 0 && t == 1796173323,
	    "ISO 8601 UTC");
	ok(creds_parse_time("2026-12-02T01:02:03.123Z", &t) == 0 && t == 1796173323,
	    "fractional seconds");
	ok(creds_parse_time("2026-12-02T01:02:03+00:00", &t) == 0 && t == 1796173323,
	    "+00:00");
	ok(creds_parse_time("2026-12-02T01:02:03+02:00", &t) < 0, "another offset is refused");
	ok(creds_parse_time("2026-12-02 01:02:03Z", &t) < 0, "a blank for T is refused");
	ok(creds_parse_time("2026-13-02T01:02:03Z", &t) < 0, "month 13 is refused");
	ok(creds_parse_time("2026-12-02T01:02:03Zjunk", &t) < 0, "trailing bytes are refused");
	ok(creds_parse_time("", &t) < 0, "empty is refused");
}

/* out = the ISO 8601 time secs from now; returns that time. */
static time_t
iso_in(char out[32], long secs)
{
	time_t t = time(NULL) + secs;

	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	return t;
}

static void
json(void)
{
	struct creds *c = creds_new(CREDS_STATIC, "test");
	char js[512], exp[32];
	time_t later = iso_in(exp, 3600);

	snprintf(js, sizeof js, "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIA1\","
	    "\"SecretAccessKey\":\"s/+=\",\"Token\":\"t\\u0031\",\"Expiration\":\"%s\"}", exp);
	if (ok(creds_set_json(c, "x", js, strlen(js)) == 0, "IMDS-shaped JSON")) {
		is_str(c->access_key, "ASIA1", "key id");
		is_str(c->secret_key, "s/+=", "secret");
		is_str(c->session_token, "t1", "Token, escapes decoded");
		ok(c->expires == later, "Expiration");
	}
	snprintf(js, sizeof js, "{\"Version\":1,\"AccessKeyId\":\"AK2\",\"SecretAccessKey\":\"s\","
	    "\"SessionToken\":\"st\"}");
	ok(creds_set_json(c, "x", js, strlen(js)) == 0 && !strcmp(c->session_token, "st") &&
	    c->expires == 0, "credential_process JSON: SessionToken, no Expiration");
	snprintf(js, sizeof js, "{\"AccessKeyId\":\"AK\\r\\nX\",\"SecretAccessKey\":\"s\"}");
	ok(creds_set_json(c, "x", js, strlen(js)) < 0 && strstr(errmsg(), "bad access key id"),
	    "CR/LF in a key id is refused");
	snprintf(js, sizeof js, "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"a\\nb\"}");
	ok(creds_set_json(c, "x", js, strlen(js)) < 0 && strstr(errmsg(), "bad secret"),
	    "a newline in a secret is refused");
	snprintf(js, sizeof js, "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":7}");
	ok(creds_set_json(c, "x", js, strlen(js)) < 0, "a number for a secret is refused");
	snprintf(js, sizeof js, "{\"AccessKeyId\":\"AK\"}");
	ok(creds_set_json(c, "x", js, strlen(js)) < 0 && strstr(errmsg(), "no secret"),
	    "a missing secret is named");
	snprintf(js, sizeof js, "[1,2]");
	ok(creds_set_json(c, "x", js, strlen(js)) < 0 && strstr(errmsg(), "not a JSON object"),
	    "not an object");
	ok(!strcmp(c->access_key, "AK2"), "failed answers leave the keys as they were");
	snprintf(js, sizeof js, "{\"Version\":1,\"AccessKeyId\":\"test:tester\",\"SecretAccessKey\":\"s\"}");
	ok(creds_set_json(c, "x", js, strlen(js)) == 0 && !strcmp(c->access_key, "test:tester"),
	    "a key id of an S3-compatible server (Swift's account:user) is taken");
	snprintf(js, sizeof js, "{\"Version\":1,\"AccessKeyId\":\"AK/x\",\"SecretAccessKey\":\"s\"}");
	ok(creds_set_json(c, "x", js, strlen(js)) < 0 && strstr(errmsg(), "bad access key id"),
	    "a '/' in a key id (it would split Credential=) is refused");
	creds_free(c);
}

static void
sts(void)
{
	struct creds *c = creds_new(CREDS_ASSUME_ROLE, "test");
	char x[1024], exp[32];
	time_t later = iso_in(exp, 900);

	snprintf(x, sizeof x, "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/"
	    "2011-06-15/\"><AssumeRoleResult><AssumedRoleUser><Arn>a</Arn></AssumedRoleUser>"
	    "<Credentials><AccessKeyId>ASIA9</AccessKeyId><SecretAccessKey>s&amp;amp;k"
	    "</SecretAccessKey><SessionToken>tok&#43;</SessionToken><Expiration>%s"
	    "</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>", exp);
	if (ok(sts_parse(c, "sts", "AssumeRole", x, strlen(x)) == 0, "AssumeRole answer")) {
		is_str(c->access_key, "ASIA9", "key id");
		is_str(c->secret_key, "s&amp;k", "entities decoded exactly once");
		is_str(c->session_token, "tok+", "numeric entity");
		ok(c->expires == later, "Expiration");
	}
	snprintf(x, sizeof x, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentity"
	    "Result><Credentials><AccessKeyId>A</AccessKeyId>");
	ok(sts_parse(c, "sts", "AssumeRole", x, strlen(x)) < 0 &&
	    strstr(errmsg(), "no <AssumeRoleResult>"), "an answer to another action is refused");
	ok(sts_parse(c, "sts", "AssumeRoleWithWebIdentity", x, strlen(x)) < 0,
	    "a truncated answer is refused");
	snprintf(x, sizeof x, "<AssumeRoleResult><AccessKeyId>A</AccessKeyId><SecretAccessKey>"
	    "s</SecretAccessKey><SessionToken>t</SessionToken></AssumeRoleResult>");
	ok(sts_parse(c, "sts", "AssumeRole", x, strlen(x)) < 0 &&
	    strstr(errmsg(), "lacks <Expiration>"), "credentials without Expiration are refused");
	snprintf(x, sizeof x, "<AssumeRoleResult><AccessKeyId>A&#10;B</AccessKeyId>"
	    "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>%s"
	    "</Expiration></AssumeRoleResult>", exp);
	ok(sts_parse(c, "sts", "AssumeRole", x, strlen(x)) < 0 &&
	    strstr(errmsg(), "bad access key id"), "an encoded newline in a key id is refused");
	snprintf(x, sizeof x, "<AssumeRoleResult><AccessKeyId>A</AccessKeyId><SecretAccessKey>"
	    "s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2001-01-01T00:00:00Z"
	    "</Expiration></AssumeRoleResult>");
	ok(sts_parse(c, "sts", "AssumeRole", x, strlen(x)) < 0 && strstr(errmsg(), "expired"),
	    "credentials that expired already are refused");
	ok(sts_parse(c, "sts", "AssumeRole", "", 0) < 0, "an empty answer is refused");
	ok(!strcmp(c->access_key, "ASIA9"), "refused answers leave the keys as they were");
	creds_free(c);
}

static void
urls(void)
{
	ok(container_url_ok("http://127.0.0.1:8080/creds", "U") == 0, "loopback IPv4");
	ok(container_url_ok("http://127.200.3.4/creds", "U") == 0, "anywhere in 127/8");
	ok(container_url_ok("http://[::1]:80/c", "U") == 0, "loopback IPv6");
	ok(container_url_ok("http://localhost/c", "U") == 0, "localhost");
	ok(container_url_ok("http://169.254.170.2/v2/c", "U") == 0, "the ECS host");
	ok(container_url_ok("http://169.254.170.23/v1/c", "U") == 0, "the EKS host");
	ok(container_url_ok("http://[fd00:ec2::23]/v1/c", "U") == 0, "the EKS IPv6 host");
	ok(container_url_ok("https://creds.example.com/c", "U") == 0, "any https host");
	ok(container_url_ok("http://creds.example.com/c", "U") < 0 &&
	    strstr(errmsg(), "U 'http://creds.example.com/c'"), "http to another host is refused");
	ok(container_url_ok("http://127.0.0.1.evil.com/c", "U") < 0, "127.0.0.1.evil.com is not loopback");
	ok(container_url_ok("http://127.0.0.1@evil.com/c", "U") < 0, "userinfo tricks are refused");
	ok(container_url_ok("http://1270.0.0.1/c", "U") < 0, "1270.0.0.1 is not loopback");
	ok(container_url_ok("ftp://127.0.0.1/c", "U") < 0, "another scheme is refused");
	ok(container_url_ok("http:///c", "U") < 0, "no host is refused");
}

static void
refresh(void)
{
	struct creds *c = creds_new(CREDS_PROCESS, "credential_process of AWS profile 't'");
	struct sigv4_cred sc;
	char line[256], exp[32];

	/* a process whose keys expire in 100 s: creds_current fetches again */
	iso_in(exp, 100);
	snprintf(line, sizeof line, "/bin/echo '{\"Version\":1,\"AccessKeyId\":\"NEW\","
	    "\"SecretAccessKey\":\"s\"}'");
	c->cmd = strdup(line);
	creds_set(c, "t", "OLD", "s", NULL, exp);
	ok(creds_current(c, &sc) == 0 && !strcmp(sc.access_key, "NEW") && c->expires == 0,
	    "keys within CREDS_REFRESH_S of expiry are fetched again before use");
	iso_in(exp, 3600);
	creds_set(c, "t", "OLD", "s", NULL, exp);
	ok(creds_current(c, &sc) == 0 && !strcmp(sc.access_key, "OLD"),
	    "keys with an hour left are used as they are");
	iso_in(exp, 200);
	creds_set(c, "t", "OLD", "s", NULL, exp);
	free(c->cmd);
	c->cmd = strdup("/bin/false");
	ok(creds_current(c, &sc) == 0 && !strcmp(sc.access_key, "OLD") && c->retry_after > 0,
	    "a failed refresh with 200 s left keeps the old keys (and waits before trying again)");
	iso_in(exp, 30);
	creds_set(c, "t", "OLD", "s", NULL, exp);
	c->retry_after = 0;
	ok(creds_current(c, &sc) < 0 && strstr(errmsg(), "cannot refresh the AWS credentials"),
	    "a failed refresh with 30 s left is an error");
	creds_free(c);
}

int
main(void)
{
	prog_init((char *[]){ "creds", NULL });
	splitting();
	times();
	json();
	sts();
	urls();
	refresh();
	return done_testing();
}
