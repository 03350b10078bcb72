# t/s3-lib.sh: a real S3 server for the S3 tests (sourced after t/lib.sh).
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/s3-lib.sh"
#   s3_start            # at the top level of the script, not in a test body
#   ... s3-cli put "s3://$S3_BUCKET/key" file ...
#
# s3_start [server.js options] runs t/s3/server.js (@20minutes/s3rver, which verifies SigV4
# signatures) on 127.0.0.1 with a free port, data under $TRASH/s3data, one
# bucket $S3_BUCKET ("test"), a fresh key pair; stops it at exit; exports
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION.
# (https when given --tls-cert/--tls-key). Also sets S3_PORT, S3_PID, S3_DATA. The server runs without
# FCSNAP_TEST_TAG, so test_no_strays does not count it.
# If t/s3/node_modules is missing it runs `npm install` there first (once,
# under a lock); .ci/run does the same.

S3_BUCKET=test

s3_install() {
	_s3dir=$FCSNAP_SRC/t/s3
	[ -d "$_s3dir/node_modules/@20minutes/s3rver" ] && return 0
	command -v npm >/dev/null 2>&1 ||
		{ echo "npm is missing: install nodejs and npm (the S3 tests need them)"; return 1; }
	(
		command -v flock >/dev/null 2>&1 && flock 9
		[ -d "$_s3dir/node_modules/@20minutes/s3rver" ] ||
			(cd "$_s3dir" && npm install --no-audit --no-fund --loglevel=error >&2)
	) 9>"${TMPDIR:-/tmp}/fcsnap-npm-install.lock"
}

s3_start() {
	command -v node >/dev/null 2>&1 ||
		{ echo "node is missing: install nodejs (the S3 tests need it)" >&2; exit 1; }
	s3_install >&2 || exit 1
	S3_DATA=$TRASH/s3data
	mkdir -p "$S3_DATA"
	AWS_ACCESS_KEY_ID=AKIAFCSNAP$$
	AWS_SECRET_ACCESS_KEY=fcsnap-secret-$$-$(date +%N)
	env -u FCSNAP_TEST_TAG S3_ACCESS_KEY="$AWS_ACCESS_KEY_ID" \
		S3_SECRET_KEY="$AWS_SECRET_ACCESS_KEY" NODE_OPTIONS=--openssl-legacy-provider \
		node "$FCSNAP_SRC/t/s3/server.js" --dir "$S3_DATA" --bucket "$S3_BUCKET" "$@" \
		>"$TRASH/s3.out" 2>"$TRASH/s3.err" </dev/null &
	S3_PID=$!
	at_exit "kill $S3_PID"
	_i=0
	until grep -q '^port ' "$TRASH/s3.out" 2>/dev/null; do
		if ! kill -0 "$S3_PID" 2>/dev/null || [ $_i -ge 600 ]; then
			echo "S3 test server did not start:" >&2
			cat "$TRASH/s3.err" >&2
			exit 1
		fi
		_i=$((_i + 1))
		sleep 0.1
	done
	S3_PORT=$(sed -n 's/^port //p' "$TRASH/s3.out")
	_scheme=http
	case " $* " in *" --tls-cert "*) _scheme=https ;; esac
	AWS_ENDPOINT_URL=$_scheme://127.0.0.1:$S3_PORT
	AWS_REGION=us-east-1
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL AWS_REGION S3_BUCKET S3_PORT
}

# s3_mb NAME: create another bucket.
s3_mb() { s3-cli mb "s3://$1"; }
