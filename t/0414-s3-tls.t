#!/bin/sh
# HTTPS endpoints: an untrusted certificate is a clear error naming
# AWS_CA_BUNDLE; with AWS_CA_BUNDLE (passed to curl as --cacert) it works.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
command -v openssl >/dev/null 2>&1 || {
	test_skip 'HTTPS endpoint tests' 'openssl(1) is not installed'
	test_done
	exit 0
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TRASH/key.pem" -out "$TRASH/cert.pem" >/dev/null 2>&1 ||
	{ echo "cannot make a test certificate"; exit 1; }
s3_start --tls-cert "$TRASH/cert.pem" --tls-key "$TRASH/key.pem"
B=s3://$S3_BUCKET

test_expect_success 'the endpoint is HTTPS' '
	case "$AWS_ENDPOINT_URL" in https://*) ;; *) exit 1 ;; esac
'

test_expect_success 'an untrusted server certificate: one line naming AWS_CA_BUNDLE' '
	echo x >f &&
	expect_code 1 s3-cli --retries 0 put "$B/f" f &&
	one_line_err &&
	grep_err "TLS certificate of https://127.0.0.1:[0-9]+ is not trusted: set AWS_CA_BUNDLE"
'

test_expect_success 'AWS_CA_BUNDLE makes it trusted: round trip over TLS' '
	head -c 300001 /dev/urandom >f &&
	AWS_CA_BUNDLE=$TRASH/cert.pem s3-cli put "$B/f" f &&
	AWS_CA_BUNDLE=$TRASH/cert.pem s3-cli cat "$B/f" | cmp - f
'

test_expect_success 'a batch of requests over one kept-alive TLS connection' '
	mkdir -p many got &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do head -c 70000 /dev/urandom >many/m$i || exit 1; done &&
	AWS_CA_BUNDLE=$TRASH/cert.pem s3-cli -j 1 pput "$B/many" many/m* &&
	AWS_CA_BUNDLE=$TRASH/cert.pem s3-cli -j 1 pget "$B/many" got $(cd many && ls) >/dev/null &&
	for f in many/*; do cmp "$f" "got/${f#many/}" || exit 1; done
'

test_expect_success 'a CA bundle that does not exist is named' '
	AWS_CA_BUNDLE=$TRASH/nonexistent.pem expect_code 1 s3-cli --retries 0 head "$B/f" &&
	one_line_err && grep_err "CA bundle .*nonexistent.pem.*AWS_CA_BUNDLE"
'

test_done
