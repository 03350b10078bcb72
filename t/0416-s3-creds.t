#!/bin/sh
# The AWS credential chain against local fakes of the services it talks to
# (t/aws-fake.py: EC2 IMDSv2, the container endpoint, STS), each handing
# out the key pair the real S3 server accepts: instance roles, container
# credentials, credential_process, AssumeRole and web identity, refresh
# before expiry, services sections, and one clear line when it fails.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
B=s3://$S3_BUCKET
R=$B/snaps
SD=$FCSNAP_DIR/snapshots
printf 'hello creds\n' >"$TRASH/f"
s3-cli put "$B/f" "$TRASH/f" >/dev/null

# nokeys CMD...: CMD without the key pair in the environment
nokeys() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$@"; }
# imds URL CMD...: CMD with EC2 metadata at URL and no keys
imds() { _u=$1; shift; nokeys AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT=$_u "$@"; }
count() { grep -c -- "$1" "$TRASH/$2.log" || true; }

aws_fake IMDS
aws_fake IMDS1 --imds-v1
aws_fake SOON --expire 120
aws_fake BAD --garbage
aws_fake ECS --ecs-auth "Bearer pod-token"
aws_fake STS --webid-token "jwt.token.sig"
aws_fake STALE --token-uses 1
aws_fake STSSOON --webid-token "jwt.token.sig" --expire 120

test_expect_success 'EC2 instance role via IMDSv2: token PUT, then the role and its credentials' '
	imds "$IMDS_URL" s3-cli cat "$B/f" | cmp - f &&
	[ "$(count "^PUT /latest/api/token" IMDS)" = 1 ] &&
	grep -q "^GET /latest/meta-data/iam/security-credentials/ token$" IMDS.log &&
	grep -q "^GET /latest/meta-data/iam/security-credentials/fcsnap-role token$" IMDS.log &&
	! grep -v "token$" IMDS.log | grep -q "^GET"
'

test_expect_success 'a token PUT refused with 403 falls back to IMDSv1' '
	imds "$IMDS1_URL" s3-cli cat "$B/f" | cmp - f &&
	grep -q "^GET /latest/meta-data/iam/security-credentials/fcsnap-role$" IMDS1.log
'

test_expect_success 'no IMDSv1 fallback with AWS_EC2_METADATA_V1_DISABLED' '
	AWS_EC2_METADATA_V1_DISABLED=true expect_code 1 imds "$IMDS1_URL" s3-cli cat "$B/f" &&
	one_line_err && grep_err "IMDSv1 is disabled \(AWS_EC2_METADATA_V1_DISABLED\)"
'

test_expect_success 'a token that went stale (401) is replaced once' '
	imds "$STALE_URL" s3-cli cat "$B/f" | cmp - f &&
	[ "$(count "^PUT /latest/api/token" STALE)" = 2 ]
'

test_expect_success 'a control character in the metadata answer is refused' '
	expect_code 1 imds "$BAD_URL" s3-cli cat "$B/f" &&
	one_line_err && grep_err "EC2 instance metadata .*: bad secret access key"
'

test_expect_success 'no credentials anywhere: the error names each source tried' '
	expect_code 1 imds http://127.0.0.1:1 s3-cli cat "$B/f" &&
	one_line_err &&
	grep_err "no AWS credentials: tried the environment .*web identity .*profile .default. .*container credentials .*EC2 instance metadata: http://127.0.0.1:1/latest/api/token: .*; set AWS_ACCESS_KEY_ID"
'

test_expect_success 'push and pull a snapshot with an instance role' '
	store-tool snap rolesnap 8M 1 >/dev/null &&
	head -c 3M /dev/urandom | dd of="$SD/rolesnap/mem" conv=notrunc 2>/dev/null &&
	imds "$IMDS_URL" fc-snap-push rolesnap "$R" &&
	imds "$IMDS_URL" fc-snap-pull --as rolecopy rolesnap "$R" &&
	cmp "$SD/rolesnap/mem" "$SD/rolecopy/mem"
'

test_expect_success 'credentials that expire within 5 minutes are fetched again before use' '
	: >SOON.log &&
	imds "$SOON_URL" fc-snap-push rolesnap "$R/soon" &&
	n=$(count "security-credentials/fcsnap-role" SOON) &&
	[ "$n" -ge 3 ] &&
	: >IMDS.log &&
	imds "$IMDS_URL" fc-snap-push rolesnap "$R/late" &&
	[ "$(count "security-credentials/fcsnap-role" IMDS)" = 1 ]
'

test_expect_success 'container credentials: FULL_URI with the token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE' '
	printf "Bearer pod-token\n" >pod-token &&
	nokeys AWS_CONTAINER_CREDENTIALS_FULL_URI="$ECS_URL/ecs/creds" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$TRASH/pod-token" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong s3-cli cat "$B/f" | cmp - f &&
	nokeys AWS_CONTAINER_CREDENTIALS_FULL_URI="$ECS_URL/ecs/creds" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer pod-token" s3-cli cat "$B/f" | cmp - f
'

test_expect_success 'container credentials: a refused token is one line naming the endpoint' '
	expect_code 1 nokeys AWS_CONTAINER_CREDENTIALS_FULL_URI="$ECS_URL/ecs/creds" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN=nope s3-cli cat "$B/f" &&
	one_line_err && grep_err "container credentials $ECS_URL/ecs/creds: HTTP 403"
'

test_expect_success 'container credentials: an http URL to another host gets no token' '
	: >ECS.log &&
	expect_code 1 nokeys AWS_CONTAINER_CREDENTIALS_FULL_URI=http://192.0.2.1:$S3_PORT/x \
		AWS_CONTAINER_AUTHORIZATION_TOKEN=secret s3-cli cat "$B/f" &&
	one_line_err && grep_err "must be a loopback address, 169.254.170.2 or 169.254.170.23" &&
	expect_code 1 nokeys AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=x s3-cli cat "$B/f" &&
	one_line_err && grep_err "does not start with ./."
'

test_expect_success 'container credentials: RELATIVE_URI goes to 169.254.170.2' '
	expect_code 1 nokeys AWS_METADATA_SERVICE_TIMEOUT=1 \
		AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/abc s3-cli cat "$B/f" &&
	one_line_err && grep_err "container credentials:? http://169.254.170.2/v2/credentials/abc: "
'

test_expect_success 'container credentials before instance metadata' '
	: >IMDS.log &&
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$ECS_URL/ecs/creds" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer pod-token" \
		imds "$IMDS_URL" s3-cli cat "$B/f" | cmp - f &&
	[ ! -s IMDS.log ]
'

# a credential_process that logs its argv and prints the S3 pair
cat >"$TRASH/cred proc" <<EOF
#!/bin/sh
for a in "\$@"; do printf '[%s]' "\$a"; done >"$TRASH/proc.argv"
case "\$1" in
fail) echo "cannot reach the vault" >&2; exit 3 ;;
v2) echo '{"Version": 2}'; exit 0 ;;
old) exp=2001-01-01T00:00:00Z ;;
*) exp=\$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ) ;;
esac
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "t1", "Expiration": "%s"}\n' \
	"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "\$exp"
EOF
chmod 755 "$TRASH/cred proc"

# cfg TEXT: the config file; credentials file empty
cfg() {
	mkdir -p "$HOME/.aws" && printf "%s\n" "$1" >"$HOME/.aws/config" &&
	chmod 600 "$HOME/.aws/config" && : >"$HOME/.aws/credentials"
}

test_expect_success 'credential_process: argv split like the AWS CLI, no shell' '
	cfg "[default]
credential_process = \"$TRASH/cred proc\" '"'"'a b'"'"' c\\ d \"e \\\"f\\\"\" ;touch\\ \$TRASH/pwned" &&
	nokeys s3-cli cat "$B/f" | cmp - f &&
	[ "$(cat proc.argv)" = "[a b][c d][e \"f\"][;touch \$TRASH/pwned]" ] &&
	[ ! -e pwned ]
'

test_expect_success 'credential_process: failure, a bad Version and expired keys are refused by name' '
	cfg "[default]
credential_process = \"$TRASH/cred proc\" fail" &&
	expect_code 1 nokeys s3-cli cat "$B/f" && one_line_err &&
	grep_err "credential_process .*cred proc. exited with status 3: cannot reach the vault" &&
	cfg "[default]
credential_process = \"$TRASH/cred proc\" v2" &&
	expect_code 1 nokeys s3-cli cat "$B/f" && one_line_err && grep_err "\"Version\": 1" &&
	cfg "[default]
credential_process = \"$TRASH/cred proc\" old" &&
	expect_code 1 nokeys s3-cli cat "$B/f" && one_line_err &&
	grep_err "expired already \(at 2001-01-01T00:00:00Z\)"
'

test_expect_success 'credential_process from a group-writable config file is refused' '
	cfg "[default]
credential_process = \"$TRASH/cred proc\"" && chmod 664 "$HOME/.aws/config" &&
	rm -f proc.argv &&
	expect_code 1 nokeys s3-cli cat "$B/f" && one_line_err &&
	grep_err "refusing credential_process from a file that another user owns or can write" &&
	[ ! -e proc.argv ]
'

test_expect_success 'role_arn + source_profile: STS AssumeRole signed with the source keys' '
	cfg "[profile app]
role_arn = arn:aws:iam::123456789012:role/app
source_profile = base
role_session_name = fcsnap-test
[profile base]
aws_access_key_id = $FAKE_SRC_AK
aws_secret_access_key = $FAKE_SRC_SK" &&
	: >STS.log &&
	nokeys AWS_PROFILE=app AWS_ENDPOINT_URL_STS="$STS_URL" s3-cli cat "$B/f" | cmp - f &&
	grep -q "^POST / AssumeRole$" STS.log
'

test_expect_success 'AssumeRole with a wrong source secret: STS refusal in one line' '
	cfg "[profile app]
role_arn = arn:aws:iam::123456789012:role/app
source_profile = base
[profile base]
aws_access_key_id = $FAKE_SRC_AK
aws_secret_access_key = wrong" &&
	expect_code 1 nokeys AWS_PROFILE=app AWS_ENDPOINT_URL_STS="$STS_URL" s3-cli cat "$B/f" &&
	one_line_err &&
	grep_err "STS AssumeRole of arn:aws:iam::123456789012:role/app at $STS_URL: HTTP 403 SignatureDoesNotMatch"
'

test_expect_success 'role_arn + credential_source = Environment (profile named by the caller)' '
	cfg "[profile envrole]
role_arn = arn:aws:iam::123456789012:role/env
credential_source = Environment" &&
	: >STS.log &&
	AWS_ACCESS_KEY_ID=$FAKE_SRC_AK AWS_SECRET_ACCESS_KEY=$FAKE_SRC_SK \
		AWS_ENDPOINT_URL_STS="$STS_URL" s3-cli --profile envrole cat "$B/f" | cmp - f &&
	grep -q "^POST / AssumeRole$" STS.log
'

test_expect_success 'role_arn + credential_source = Ec2InstanceMetadata chains IMDS into STS' '
	cfg "[default]
role_arn = arn:aws:iam::123456789012:role/chained
credential_source = Ec2InstanceMetadata" &&
	: >STS.log && : >IMDS.log &&
	AWS_ENDPOINT_URL_STS="$STS_URL" imds "$IMDS_URL" s3-cli cat "$B/f" >out 2>err ||
		{ cat err; false; } &&
	grep -q "^POST / AssumeRole$" STS.log && grep -q "fcsnap-role token" IMDS.log
'

test_expect_success 'web identity from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN' '
	printf "jwt.token.sig\n" >webid &&
	cfg "" && : >STS.log &&
	nokeys AWS_WEB_IDENTITY_TOKEN_FILE="$TRASH/webid" AWS_ROLE_ARN=arn:aws:iam::1:role/w \
		AWS_ENDPOINT_URL_STS="$STS_URL" s3-cli cat "$B/f" | cmp - f &&
	grep -q "^POST / AssumeRoleWithWebIdentity$" STS.log
'

test_expect_success 'web identity from a profile, pushing and pulling a snapshot' '
	cfg "[default]
role_arn = arn:aws:iam::1:role/w
web_identity_token_file = $TRASH/webid
services = local
[services local]
sts =
  endpoint_url = $STS_URL
s3 =
  endpoint_url = $AWS_ENDPOINT_URL" &&
	nokeys env -u AWS_ENDPOINT_URL fc-snap-push rolesnap "$R/webid" &&
	nokeys env -u AWS_ENDPOINT_URL fc-snap-pull --as webcopy rolesnap "$R/webid" &&
	cmp "$SD/rolesnap/mem" "$SD/webcopy/mem"
'

test_expect_success 'STS credentials about to expire are renewed during a push (token file read again)' '
	cfg "" && : >STSSOON.log &&
	nokeys AWS_WEB_IDENTITY_TOKEN_FILE="$TRASH/webid" AWS_ROLE_ARN=arn:aws:iam::1:role/w \
		AWS_ENDPOINT_URL_STS="$STSSOON_URL" fc-snap-push rolesnap "$R/stssoon" &&
	[ "$(count AssumeRoleWithWebIdentity STSSOON)" -ge 3 ] &&
	cfg "[default]
role_arn = arn:aws:iam::1:role/r
source_profile = base
[profile base]
aws_access_key_id = $FAKE_SRC_AK
aws_secret_access_key = $FAKE_SRC_SK" && : >STSSOON.log &&
	nokeys AWS_ENDPOINT_URL_STS="$STSSOON_URL" fc-snap-pull --as stscopy rolesnap "$R/stssoon" &&
	cmp "$SD/rolesnap/mem" "$SD/stscopy/mem" &&
	[ "$(count "AssumeRole$" STSSOON)" -ge 3 ]
'

test_expect_success 'a wrong web identity token: STS error code and message' '
	printf "other\n" >webid2 &&
	expect_code 1 nokeys AWS_WEB_IDENTITY_TOKEN_FILE="$TRASH/webid2" AWS_ROLE_ARN=arn:aws:iam::1:role/w \
		AWS_ENDPOINT_URL_STS="$STS_URL" s3-cli cat "$B/f" &&
	one_line_err && grep_err "HTTP 400 InvalidIdentityToken: bad web identity token"
'

test_expect_success 'services = NAME gives the S3 endpoint; a missing section is an error' '
	cfg "[default]
services = here
[services here]
s3 =
  endpoint_url = $AWS_ENDPOINT_URL" &&
	env -u AWS_ENDPOINT_URL s3-cli cat "$B/f" | cmp - f &&
	cfg "[default]
services = gone" &&
	expect_code 1 env -u AWS_ENDPOINT_URL s3-cli cat "$B/f" && one_line_err &&
	grep_err "has services = gone, but .* has no \[services gone\] section"
'

test_expect_success 'SSO profiles are refused by name' '
	cfg "[default]
sso_session = corp" &&
	expect_code 1 nokeys s3-cli cat "$B/f" && one_line_err &&
	grep_err "uses sso_session, which fcsnap does not support"
'

cat >"$TRASH/spy" <<EOF
#!/bin/sh
{ echo "\$*"; env; } >>"$TRASH/spy.log"
exec curl "\$@"
EOF
chmod 755 "$TRASH/spy"

test_expect_success 'no secret or token in any argv or curl environment' '
	cfg "" && : >spy.log &&
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$ECS_URL/ecs/creds" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer pod-token" FCSNAP_CURL="$TRASH/spy" \
		nokeys s3-cli cat "$B/f" | cmp - f &&
	[ "$(grep -c -- "-q -K /dev/fd/" spy.log)" -ge 2 ] &&
	! grep -q -e pod-token -e "$AWS_SECRET_ACCESS_KEY" spy.log
'

rm -f "$HOME/.aws/config" "$HOME/.aws/credentials"
test_done
