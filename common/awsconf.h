/* awsconf: AWS credentials and settings, found the way the AWS tools find
 * them.
 *
 *   profile      the argument, else $AWS_PROFILE, else "default"
 *   credentials  the AWS SDKs' chain, first found wins (creds.h keeps
 *                them fresh):
 *     1. $AWS_ACCESS_KEY_ID + $AWS_SECRET_ACCESS_KEY (+ $AWS_SESSION_TOKEN),
 *        unless the caller names the profile (like the CLI's --profile)
 *     2. web identity: $AWS_WEB_IDENTITY_TOKEN_FILE + $AWS_ROLE_ARN
 *        (+ $AWS_ROLE_SESSION_NAME): STS AssumeRoleWithWebIdentity
 *     3. the profile, its settings from [profile] of the shared
 *        credentials file ($AWS_SHARED_CREDENTIALS_FILE, default
 *        ~/.aws/credentials), else [profile NAME] (or [default]) of the
 *        config file ($AWS_CONFIG_FILE, default ~/.aws/config):
 *        role_arn with source_profile (that profile's credentials, by
 *        these same rules; itself: its static keys), with
 *        credential_source (Environment, Ec2InstanceMetadata,
 *        EcsContainer) or with web_identity_token_file: STS AssumeRole
 *        (role_session_name, external_id, duration_seconds) or
 *        AssumeRoleWithWebIdentity; SSO settings refused by name;
 *        credential_process (credproc.h; refused from a file another
 *        user owns or can write); aws_access_key_id /
 *        aws_secret_access_key / aws_session_token
 *     4. container credentials (container.h)
 *     5. EC2 instance metadata (imds.h), unless $AWS_EC2_METADATA_DISABLED
 *        is true: endpoint $AWS_EC2_METADATA_SERVICE_ENDPOINT or config
 *        ec2_metadata_service_endpoint, else http://169.254.169.254
 *        (http://[fd00:ec2::254] with endpoint mode IPv6);
 *        $AWS_EC2_METADATA_V1_DISABLED / ec2_metadata_v1_disabled;
 *        $AWS_METADATA_SERVICE_TIMEOUT (s, default 1) and
 *        _NUM_ATTEMPTS (default 1), or the config's metadata_service_*
 *                A source that is configured but fails is an error; when
 *                none is configured the error names everything tried.
 *   sts endpoint $AWS_ENDPOINT_URL_STS, then as for S3 below with "sts",
 *                else https://sts.REGION.amazonaws.com
 *   region       $AWS_REGION, $AWS_DEFAULT_REGION, config "region",
 *                else us-east-1
 *   endpoint     $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, the
 *                "s3 = endpoint_url" of the [services NAME] section the
 *                profile's "services = NAME" names (a missing section is
 *                an error, never a silent fall back to AWS), the profile's
 *                "s3 =" sub-section "endpoint_url", its "endpoint_url",
 *                else none (AWS itself); with
 *                $AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (or the profile's
 *                ignore_configured_endpoint_urls) true, none of them
 *   addressing   config "s3 =" sub-section "addressing_style"
 *                (auto | path | virtual), else auto
 *   ca_bundle    $AWS_CA_BUNDLE, config "ca_bundle", else none
 *   max_attempts $AWS_MAX_ATTEMPTS, config "max_attempts" (1..100: the
 *                first try and the retries), else not set
 *
 * INI files: "[section]" headers, "key = value" lines, '#' or ';' comment
 * lines, and nested sub-sections: "s3 =" followed by indented "key = value"
 * lines. A profile named explicitly (argument or $AWS_PROFILE) that is in
 * neither file is an error; a missing file is not.
 */
#ifndef FCSNAP_AWSCONF_H
#define FCSNAP_AWSCONF_H

#include "creds.h"

struct awsconf {
	char *profile;
	struct creds *creds;    /* ask creds_current() for the keys to sign with */
	char *region;
	char *endpoint;         /* NULL: AWS */
	char *addressing;       /* "auto", "path" or "virtual" */
	char *ca_bundle;        /* NULL: curl's default */
	int max_attempts;       /* 0: not set */
};

/* Load settings for profile (NULL = $AWS_PROFILE or "default") and fetch
 * the first credentials of the chain. Fails with "no AWS credentials:
 * tried ...; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or configure
 * ~/.aws/credentials" when none are found, or with one line naming the
 * file and line of a malformed entry, or the source that failed. *c is
 * zeroed first and freed again on failure. */
int awsconf_load(struct awsconf *c, const char *profile);
void awsconf_free(struct awsconf *c);

#endif
