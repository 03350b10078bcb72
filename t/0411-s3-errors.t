#!/bin/sh
# S3 failures become one clear line: bad credentials, no such bucket,
# missing curl, server down, no credentials; transient failures are
# retried with a bound.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
B=s3://$S3_BUCKET

test_expect_success 'setup: one object' '
	echo hello >f &&
	s3-cli put "$B/f" f
'

test_expect_success 'a wrong secret is refused with a one-line bad-credentials message' '
	AWS_SECRET_ACCESS_KEY=wrong expect_code 1 s3-cli get "$B/f" g &&
	one_line_err &&
	grep_err "GET s3://test/f: bad credentials" &&
	grep_err "SignatureDoesNotMatch" &&
	grep_err "AWS_SECRET_ACCESS_KEY" &&
	! grep -q wrong err
'

test_expect_success 'a wrong secret on PUT is refused too and stores nothing' '
	AWS_SECRET_ACCESS_KEY=wrong expect_code 1 s3-cli put "$B/g" f &&
	one_line_err && grep_err "bad credentials" &&
	expect_code 3 s3-cli head "$B/g"
'

test_expect_success 'an unknown access key is named' '
	AWS_ACCESS_KEY_ID=AKIAUNKNOWN expect_code 1 s3-cli cat "$B/f" &&
	one_line_err && grep_err "access key AKIAUNKNOWN is not known" &&
	grep_err "InvalidAccessKeyId"
'

test_expect_success 'no such bucket' '
	expect_code 1 s3-cli ls s3://nosuchbucket/x &&
	one_line_err && grep_err "no such bucket .nosuchbucket. \(NoSuchBucket\)"
'

test_expect_success 'no credentials at all gives the documented message' '
	expect_code 1 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY s3-cli head "$B/f" &&
	one_line_err &&
	grep_err "no AWS credentials: tried the environment .*; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or configure ~/.aws/credentials"
'

test_expect_success 'credentials from ~/.aws/credentials work' '
	mkdir -p "$HOME/.aws" &&
	printf "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n" \
		"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$HOME/.aws/credentials" &&
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY s3-cli cat "$B/f" | cmp - f &&
	rm "$HOME/.aws/credentials"
'

test_expect_success 'FCSNAP_CURL pointing nowhere is a clear error' '
	FCSNAP_CURL=/nonexistent expect_code 1 s3-cli head "$B/f" &&
	one_line_err && grep_err "cannot run curl ./nonexistent. \(from FCSNAP_CURL\)"
'

test_expect_success 'no curl in PATH is a clear error' '
	mkdir -p nocurl &&
	PATH=$PWD/nocurl:$FCSNAP_BUILD/t expect_code 1 s3-cli head "$B/f" &&
	one_line_err && grep_err "curl not found in PATH: install curl"
'

test_expect_success 'server down: a line for the retry, then one saying connection refused' '
	AWS_ENDPOINT_URL=http://127.0.0.1:1 expect_code 1 s3-cli --retries 1 head "$B/f" &&
	[ "$(wc -l <err)" = 2 ] && head -n 1 err | grep -q "; retry 1 of 1 in " &&
	tail -n 1 err | grep -Eq "^s3-cli: .*cannot connect to http://127.0.0.1:1: connection refused.*; gave up after 2 attempts$"
'

# A curl stand-in that fails the first $FAILS runs (counting in ./count)
# the way a reset connection or a throttling server does, then runs the
# real curl with the same arguments. Like curl, it ends a response with
# the write-out line its config (-K FILE, $3) asks for.
cat >"$TRASH/flaky" <<EOS
#!/bin/sh
n=\$(cat "\$FLAKY_COUNT" 2>/dev/null || echo 0)
n=\$((n + 1)); echo \$n >"\$FLAKY_COUNT"
if [ \$n -le "\$FAILS" ]; then
	tok=\$(sed -n "s/^write-out = .\\(~fcsnap~[0-9a-f]*\\) .*/\\1/p" "\$3" | head -n 1)
	reply() {       # reply CODE HEAD BODY
		printf "%b%s" "\$2" "\$3"
		printf "%s %s %s\\n" "\$tok" "\$1" "\$(printf %s "\$3" | wc -c)"
	}
	case "\$MODE" in
	reset) echo "curl: (56) Recv failure: Connection reset by peer" >&2; reply 000 "" ""; exit 56 ;;
	slowdown) reply 503 "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n\r\n" \
		"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"; exit 0 ;;
	skew|denied|expired) code=\$(echo \$MODE | sed "s/skew/RequestTimeTooSkewed/;s/denied/AccessDenied/;s/expired/ExpiredToken/")
		reply 403 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\n\r\n" \
			"<Error><Code>\$code</Code><Message>m</Message></Error>"; exit 0 ;;
	exit*) echo "curl: (\${MODE#exit}) some failure" >&2; exit \${MODE#exit} ;;
	esac
fi
exec $(command -v curl) "\$@"
EOS
chmod +x "$TRASH/flaky"

test_expect_success 'a reset connection is retried and then succeeds' '
	FLAKY_COUNT=$PWD/c1 FAILS=2 MODE=reset FCSNAP_CURL=$TRASH/flaky \
		s3-cli --retries 3 cat "$B/f" >out &&
	cmp out f && [ "$(cat c1)" = 3 ]
'

test_expect_success 'SlowDown (503) is retried and then succeeds' '
	FLAKY_COUNT=$PWD/c2 FAILS=1 MODE=slowdown FCSNAP_CURL=$TRASH/flaky \
		s3-cli --retries 2 cat "$B/f" >out &&
	cmp out f && [ "$(cat c2)" = 2 ]
'

test_expect_success 'retries are bounded: the last error is reported' '
	FLAKY_COUNT=$PWD/c3 FAILS=99 MODE=reset FCSNAP_CURL=$TRASH/flaky \
		expect_code 1 s3-cli --retries 2 cat "$B/f" &&
	[ "$(cat c3)" = 3 ] && [ "$(wc -l <err)" = 3 ] &&
	tail -n 1 err | grep -Eq "the connection to http://127.0.0.1:[0-9]+ was lost .*; gave up after 3 attempts$" &&
	FLAKY_COUNT=$PWD/c4 FAILS=99 MODE=slowdown FCSNAP_CURL=$TRASH/flaky \
		expect_code 1 s3-cli --retries 1 cat "$B/f" &&
	[ "$(cat c4)" = 2 ] && [ "$(wc -l <err)" = 2 ] &&
	tail -n 1 err | grep -Eq "S3 error SlowDown \(HTTP 503\): Please reduce.*; gave up after 2 attempts$"
'

test_expect_success 'S3 error codes and curl failures become one clear line each' '
	for m in "skew:the local clock is wrong.*RequestTimeTooSkewed.*fix the system clock" \
	    "denied:access denied \(AccessDenied\)" \
	    "expired:the session token is expired or invalid \(ExpiredToken\)" \
	    "exit6:cannot resolve host of http://127.0.0.1:[0-9]+: check the endpoint" \
	    "exit60:TLS certificate of http://127.0.0.1:[0-9]+ is not trusted: set AWS_CA_BUNDLE" \
	    "exit77:cannot use the CA bundle" \
	    "exit3:curl failed \(exit 3\): some failure"; do
		rm -f cnt &&
		FLAKY_COUNT=$PWD/cnt FAILS=1 MODE=${m%%:*} FCSNAP_CURL=$TRASH/flaky \
			expect_code 1 s3-cli --retries 3 cat "$B/f" &&
		one_line_err && grep_err "GET s3://test/f: ${m#*:}" &&
		[ "$(cat cnt)" = 1 ] || exit 1
	done
'

test_expect_success 'a timeout (curl 28) is transient: retried' '
	FLAKY_COUNT=$PWD/c6 FAILS=1 MODE=exit28 FCSNAP_CURL=$TRASH/flaky \
		s3-cli --retries 1 cat "$B/f" | cmp - f &&
	[ "$(cat c6)" = 2 ]
'

test_expect_success 'bad credentials are not retried' '
	FLAKY_COUNT=$PWD/c5 FAILS=0 MODE=none FCSNAP_CURL=$TRASH/flaky \
		AWS_SECRET_ACCESS_KEY=wrong expect_code 1 s3-cli --retries 5 cat "$B/f" &&
	[ "$(cat c5)" = 1 ]
'

test_expect_success 'nothing left running' '
	test_no_strays
'

test_done
