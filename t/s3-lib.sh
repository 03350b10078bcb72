# t/s3-lib.sh: a real S3 server for the S3 tests (sourced after t/lib.sh).
#
#   . "$(dirname "$0")/lib.sh"
#   . "$FCSNAP_SRC/t/s3-lib.sh"
#   s3_start            # at the top level of the script, not in a test body
#   ... s3-cli put "s3://$S3_BUCKET/key" file ...
#
# s3_start [server.js options] runs t/s3/server.js (@20minutes/s3rver, which verifies SigV4
# signatures) on 127.0.0.1 with a free port, data under $TRASH/s3data, one
# bucket $S3_BUCKET ("test"), a fresh key pair; stops it at exit; exports
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION.
# (https when given --tls-cert/--tls-key). Also sets S3_PORT, S3_PID, S3_DATA. The server runs without
# FCSNAP_TEST_TAG, so test_no_strays does not count it.
# If t/s3/node_modules is missing it installs it first with t/deps (once,
# under a lock), as make check does.
#
# With S3_SERVER=swift (or swift_start), the server is OpenStack Swift with
# its s3api middleware (t/swift/start: data, configs and logs under
# $TRASH/swift, which is S3_DATA) and the key pair is tempauth's
# test:tester / testing; the bucket is made with s3-cli.  Swift checks
# payload hashes and, unlike s3rver, keeps listing an object whose data file
# is gone (swift_object_file finds that file).  Its start is slow under
# load (up to a minute): start it once per test file.  S3_SERVER is
# s3rver (the default) or swift.

S3_BUCKET=test

s3_install() {
	[ -d "$FCSNAP_SRC/t/s3/node_modules/@20minutes/s3rver" ] || sh "$FCSNAP_SRC/t/deps" --s3-server
}

s3_start() {
	case ${S3_SERVER:-s3rver} in
	s3rver) ;;
	swift) swift_start; return ;;
	*) echo "S3_SERVER=$S3_SERVER: want s3rver or swift" >&2; exit 1 ;;
	esac
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

# s3_gate_curl: a curl that stops a push or pull at a chosen point, for
# FCSNAP_CURL=$TRASH/gatecurl.  Before each run it evaluates the shell
# condition in $TRASH/gate/when (with the S3 settings of s3_start, its own
# FCSNAP_CURL unset); once that holds, it creates $TRASH/gate/held and,
# instead of running curl, waits until the program that started it is gone
# or $TRASH/gate/open exists.  So the program cannot get past that point
# however slow or fast the machine is: the test waits for "held"
# (s3_gate_wait PID) and then kills it.
s3_gate_curl() {
	rm -rf "$TRASH/gate" && mkdir -p "$TRASH/gate" || return 1
	printf '%s\n' "$1" >"$TRASH/gate/when"
	{
		echo "AWS_ACCESS_KEY_ID='$AWS_ACCESS_KEY_ID' AWS_SECRET_ACCESS_KEY='$AWS_SECRET_ACCESS_KEY'"
		echo "AWS_ENDPOINT_URL='$AWS_ENDPOINT_URL' AWS_REGION='$AWS_REGION'"
		echo "export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL AWS_REGION"
		echo "unset FCSNAP_CURL"
	} >"$TRASH/gate/env"
	cat >"$TRASH/gatecurl" <<-EOS
	#!/bin/sh
	g='$TRASH/gate'
	if [ ! -e "\$g/open" ] &&
		(. "\$g/env" && eval "\$(cat "\$g/when")") </dev/null >/dev/null 2>&1; then
		: >"\$g/held"
		while [ ! -e "\$g/open" ] && kill -0 \$PPID 2>/dev/null; do sleep 0.05; done
		[ -e "\$g/open" ] || exit 1
	fi
	exec '$(command -v curl)' "\$@"
	EOS
	chmod +x "$TRASH/gatecurl"
}

# s3_gate_wait PID: wait until the gate of s3_gate_curl holds the program
# PID; fail if PID ends first.
s3_gate_wait() {
	until [ -e "$TRASH/gate/held" ]; do
		t_gone "$1" && { echo "$1 ended before the gate held it"; return 1; }
		sleep 0.05
	done
}

swift_start() {
	S3_SERVER=swift
	S3_DATA=$TRASH/swift
	mkdir -p "$S3_DATA"
	at_exit "\"$FCSNAP_SRC/t/swift/stop\" \"$S3_DATA\""
	env -u FCSNAP_TEST_TAG "$FCSNAP_SRC/t/swift/start" "$S3_DATA" \
		>"$TRASH/swift.out" 2>"$TRASH/swift.err" </dev/null || {
		echo "the Swift test server did not start:" >&2
		cat "$TRASH/swift.err" >&2
		exit 1
	}
	S3_PORT=$(sed -n 's/^port //p' "$TRASH/swift.out")
	AWS_ACCESS_KEY_ID=test:tester
	AWS_SECRET_ACCESS_KEY=testing
	AWS_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
	AWS_REGION=us-east-1
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL AWS_REGION S3_BUCKET S3_PORT S3_SERVER
	AWS_MAX_ATTEMPTS=20 s3-cli mb "s3://$S3_BUCKET" >&2 || {
		echo "could not make bucket $S3_BUCKET on Swift (port $S3_PORT)" >&2
		exit 1
	}
}

# swift_object_file KEY: the data file Swift keeps for object KEY of
# $S3_BUCKET (S3_SERVER=swift), found by its name in the object's metadata.
swift_object_file() {
	python3 - "$S3_DATA/srv/d1/objects" "/AUTH_test/$S3_BUCKET/$1" <<'PY'
import os, pickle, sys
want = sys.argv[2].encode()
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        if not f.endswith(".data"):
            continue
        p, raw, i = os.path.join(root, f), b"", 0
        while True:
            try:
                raw += os.getxattr(p, "user.swift.metadata" + (str(i) if i else ""))
            except OSError:
                break
            i += 1
        m = pickle.loads(raw, encoding="bytes")
        n = m.get("name", m.get(b"name"))
        if (n.encode() if isinstance(n, str) else n) == want:
            print(p)
            sys.exit(0)
sys.exit(1)
PY
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

# logging_curl: $TRASH/logcurl, a curl (for FCSNAP_CURL) that appends the
# config of every request (its URLs) to $TRASH/cfglog before it runs, so
# that a request that has been answered is already in the log.
logging_curl() {
	cat >"$TRASH/logcurl" <<-EOS
	#!/bin/sh
	# curl -q -K /dev/fd/N: the config is read whole, logged, then used
	f=\$(mktemp "$TRASH/cfg.XXXXXX") || exit 1
	cat "\$3" >"\$f" && cat "\$f" >>"$TRASH/cfglog" || { rm -f "\$f"; exit 2; }
	'$(command -v curl)' -q -K "\$f"; st=\$?
	rm -f "\$f"; exit \$st
	EOS
	chmod +x "$TRASH/logcurl"
}

# Lazy restores from a bucket (fc-pager --pull):
# pager_with OPTS...: $TRASH/pager-wrap, fc-pager with OPTS added (for
# FCSNAP_PAGER); published NAME: in the store; pull_dir NAME: its
# pull-in-progress dir; fills_of NAME: the pids of fc-pagers working in it
# (its fill; pagers_in, t/lifecycle.sh); no_fill NAME: none.
pager_with() {
	printf '#!/bin/sh\nexec "%s" "$@" %s\n' "$FCSNAP_BUILD/bin/fc-pager" "$*" \
		>"$TRASH/pager-wrap" && chmod +x "$TRASH/pager-wrap"
}
published() { fc-snap-ls -q | grep -qx "$1"; }
pull_dir() { echo "$FCSNAP_DIR/snapshots/.pull-$1"; }
fills_of() { pagers_in "$(pull_dir "$1")"; }
no_fill() { test -z "$(fills_of "$1")"; }
