#!/bin/sh
# During a (slowed) transfer, curl's argv shows no secret, no Authorization
# header and no URL, and its environment has no AWS secret: all of it
# travels on the config pipe.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
B=s3://$S3_BUCKET
export AWS_SESSION_TOKEN=fcsnap-session-token-$$

# s3rver ignores the session token header; it is still signed and sent.
# The slow curl says its pid (exec keeps it) in $TRASH/curl.pid.
cat >"$TRASH/slowcurl" <<EOS
#!/bin/sh
echo \$\$ >"$TRASH/curl.pid"
exec $(command -v curl) --limit-rate 100k "\$@"
EOS
chmod +x "$TRASH/slowcurl"

# curl_pid: the slow curl's pid, once it runs curl.
curl_pid() {
	[ -s "$TRASH/curl.pid" ] && [ "$(cat "/proc/$(cat "$TRASH/curl.pid")/comm" 2>/dev/null)" = curl ] &&
		cat "$TRASH/curl.pid"
}

# check_lists: ./argv (one argument per line) shows no secret, no
# Authorization header, no URL, no key; ./environ shows no secret.
check_lists() {
	echo "curl argv:"; cat argv
	grep -q -- '^-K$' argv
	grep -Eq '^/dev/fd/[0-9]+$' argv
	[ "$(wc -l <argv)" -le 6 ]
	for s in "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" Authorization \
	    "$AWS_ACCESS_KEY_ID" http 127.0.0.1 "$S3_PORT" secret-key-name; do
		if grep -qiF -- "$s" argv; then echo "argv shows '$s'"; return 1; fi
	done
	for s in "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_ACCESS_KEY_ID"; do
		if grep -qF -- "$s" environ; then echo "environment shows '$s'"; return 1; fi
	done
}

# check_proc PID: the same for a running process, read from /proc.
check_proc() {
	tr '\0' '\n' </proc/$1/cmdline >argv
	tr '\0' '\n' </proc/$1/environ >environ
	check_lists
}

test_expect_success 'a slow upload: curl argv and environment carry no secret, header or URL' '
	head -c 700000 /dev/urandom >big &&
	FCSNAP_CURL=$TRASH/slowcurl s3-cli put "$B/secret-key-name/up" big &
	cli=$! &&
	wait_for curl_pid &&
	c=$(curl_pid) && kill -STOP $c &&
	check_proc $c &&
	kill -CONT $c &&
	wait $cli &&
	s3-cli cat "$B/secret-key-name/up" | cmp - big
'

# A curl stand-in that records its argv and environment, then runs curl.
cat >"$TRASH/reccurl" <<EOS
#!/bin/sh
n=\$(ls "\$REC" | wc -l)
mkdir "\$REC/\$n"
for a in "\$@"; do printf "%s\\n" "\$a"; done >"\$REC/\$n/argv"
env >"\$REC/\$n/environ"
exec $(command -v curl) "\$@"
EOS
chmod +x "$TRASH/reccurl"

test_expect_success 'every kind of request: argv and environment carry no secret, header or URL' '
	mkdir rec &&
	export REC=$PWD/rec FCSNAP_CURL=$TRASH/reccurl &&
	s3-cli get "$B/secret-key-name/up" got >/dev/null &&
	cmp big got &&
	s3-cli head "$B/secret-key-name/up" >/dev/null &&
	s3-cli --max-keys 1 ls "$B/secret-key-name/" >/dev/null &&
	s3-cli rm "$B/secret-key-name/up" &&
	[ "$(ls rec | wc -l)" -ge 4 ] &&
	for d in rec/*; do
		cp $d/argv argv && cp $d/environ environ && check_lists || exit 1
	done
'
test_expect_success 'nothing left running' '
	test_no_strays
'

test_done
