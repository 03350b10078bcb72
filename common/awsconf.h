/* awsconf: AWS credentials and settings, found the way the AWS tools find
 * them.
 *
 *   profile      the argument, else $AWS_PROFILE, else "default"
 *   credentials  $AWS_ACCESS_KEY_ID + $AWS_SECRET_ACCESS_KEY (+
 *                $AWS_SESSION_TOKEN); else aws_access_key_id /
 *                aws_secret_access_key / aws_session_token of [profile] in
 *                the shared credentials file ($AWS_SHARED_CREDENTIALS_FILE,
 *                default ~/.aws/credentials); else of [profile NAME] (or
 *                [default]) in the config file ($AWS_CONFIG_FILE, default
 *                ~/.aws/config)
 *   region       $AWS_REGION, $AWS_DEFAULT_REGION, config "region",
 *                else us-east-1
 *   endpoint     $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, config
 *                "s3 =" sub-section "endpoint_url", config "endpoint_url",
 *                else none (AWS itself)
 *   addressing   config "s3 =" sub-section "addressing_style"
 *                (auto | path | virtual), else auto
 *   ca_bundle    $AWS_CA_BUNDLE, config "ca_bundle", else none
 *
 * INI files: "[section]" headers, "key = value" lines, '#' or ';' comment
 * lines, and nested sub-sections: "s3 =" followed by indented "key = value"
 * lines. A profile named explicitly (argument or $AWS_PROFILE) that is in
 * neither file is an error; a missing file is not.
 */
#ifndef FCSNAP_AWSCONF_H
#define FCSNAP_AWSCONF_H

struct awsconf {
	char *profile;
	char *access_key, *secret_key, *session_token;  /* token may be NULL */
	char *region;
	char *endpoint;         /* NULL: AWS */
	char *addressing;       /* "auto", "path" or "virtual" */
	char *ca_bundle;        /* NULL: curl's default */
	char *cred_source;      /* "environment" or "<file> [<section>]" */
};

/* Load settings for profile (NULL = $AWS_PROFILE or "default"). Fails with
 * "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
 * configure ~/.aws/credentials" when none are found, or with a message
 * naming the file and line of a malformed entry. *c is zeroed first and
 * freed again on failure. */
int awsconf_load(struct awsconf *c, const char *profile);
void awsconf_free(struct awsconf *c);

#endif
