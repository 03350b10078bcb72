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

# s3_mixsnap NAME and s3_manifest_chunk URL NAME FILE I: see below.
#
# s3_mb NAME: create another bucket.
s3_mb() { s3-cli mb "s3://$1"; }

# s3_mixsnap NAME: a snapshot whose chunks (4 MiB) take every stored form
# (its meta.json gives mem's size, as a pull requires).
#   vmstate  6 bytes                                    raw
#   mem      30 MiB + 100 bytes:
#            chunk 0  random                            raw
#            chunk 1  a hole                            null
#            chunk 2  1 MiB random, 8 KiB of written zeros, 1 MiB - 8 KiB
#                     random, a hole, one random page   sparse (511 pages)
#            chunk 3  written zeros                     null
#            chunk 4  one random page in a hole         sparse
#            5, 6     holes                             null
#            chunk 7  2 MiB of hole, then 100 random bytes (a short last
#                     page)                             sparse
#   rootfs   16 MiB, "gen 1\n" then a hole             sparse, then null
# S3_MIX_PAGES is the number of non-zero pages of mem (1537), S3_MIX_STORED
# the bytes a push stores, S3_MIX_RAW the bytes of the chunks it stores.
S3_MIX_PAGES=1537
S3_MIX_STORED=$((6 + 4194304 + (144 + 511 * 4096) + (144 + 4096) + (81 + 100) + (144 + 4096)))
S3_MIX_RAW=$((6 + 4 * 4194304 + 2097252))
s3_mixsnap() {
	_m=$FCSNAP_DIR/snapshots/$1/mem
	store-tool snap "$1" 32M 1 >/dev/null &&
	truncate -s $((30 * 1048576 + 100)) "$_m" &&
	head -c 4M /dev/urandom | dd of="$_m" conv=notrunc 2>/dev/null &&
	head -c 1M /dev/urandom | dd of="$_m" bs=1M seek=8 conv=notrunc 2>/dev/null &&
	dd if=/dev/zero of="$_m" bs=4096 seek=2304 count=2 conv=notrunc 2>/dev/null &&
	head -c $((1048576 - 8192)) /dev/urandom |
		dd of="$_m" bs=4096 seek=2306 conv=notrunc 2>/dev/null &&
	head -c 4096 /dev/urandom | dd of="$_m" bs=4096 seek=3071 conv=notrunc 2>/dev/null &&
	dd if=/dev/zero of="$_m" bs=1M seek=12 count=4 conv=notrunc 2>/dev/null &&
	head -c 4096 /dev/urandom | dd of="$_m" bs=4096 seek=4353 conv=notrunc 2>/dev/null &&
	head -c 100 /dev/urandom | dd of="$_m" bs=1 seek=$((30 * 1048576)) conv=notrunc 2>/dev/null &&
	sed -i "s/\"mem\":{\"size\":[0-9]*/\"mem\":{\"size\":$((30 * 1048576 + 100))/" \
		"$FCSNAP_DIR/snapshots/$1/meta.json"
}

# s3_manifest_chunk URL NAME FILE I: entry I (from 0) of FILE's chunks in
# the manifest of snapshot NAME at URL, without quotes ("null" for null).
s3_manifest_chunk() {
	s3-cli cat "$1/snapshots/$2/manifest" |
		sed "s/.*\"name\":\"$3\"[^[]*\[\([^]]*\)\].*/\1/" | tr ',' '\n' |
		sed -n "$(($4 + 1))p" | tr -d '"'
}

# aws_fake NAME [aws-fake.py options]: start t/aws-fake.py (fake EC2
# metadata, container credentials and STS services) handing out the S3
# server's key pair; sets NAME_URL (http://127.0.0.1:PORT) and logs its
# requests to $TRASH/NAME.log. Source pair for signed AssumeRole calls:
# FAKE_SRC_AK / FAKE_SRC_SK (exported here). Stopped at exit.
FAKE_SRC_AK=AKIASOURCE$$
FAKE_SRC_SK=source/secret+$$=
export FAKE_SRC_AK FAKE_SRC_SK
aws_fake() {
	_n=$1
	shift
	: >"$TRASH/$_n.log"
	env -u FCSNAP_TEST_TAG FAKE_AK="$AWS_ACCESS_KEY_ID" FAKE_SK="$AWS_SECRET_ACCESS_KEY" \
		python3 "$FCSNAP_SRC/t/aws-fake.py" --log "$TRASH/$_n.log" "$@" \
		>"$TRASH/$_n.out" 2>"$TRASH/$_n.err" </dev/null &
	eval "${_n}_PID=$!"
	at_exit "kill $!"
	_i=0
	until grep -q '^port ' "$TRASH/$_n.out" 2>/dev/null; do
		if [ $_i -ge 300 ]; then
			echo "aws-fake.py did not start:" >&2
			cat "$TRASH/$_n.err" >&2
			exit 1
		fi
		_i=$((_i + 1))
		sleep 0.1
	done
	eval "${_n}_URL=http://127.0.0.1:$(sed -n 's/^port //p' "$TRASH/$_n.out")"
}
