#!/bin/sh
# Stalls, retries and their messages against the real S3 server: a stopped
# server (SIGSTOP) costs --attempts x --stall-timeout, not ten minutes;
# AWS_MAX_ATTEMPTS / max_attempts; one stderr line per retry with its
# reason; a connection lost in the middle of an upload (t/tcp-cut.py in
# front of the server) is said so, and retried.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
R=s3://$S3_BUCKET/snaps
SD=$FCSNAP_DIR/snapshots
store-tool snap rs 12M 1 >/dev/null
head -c 9M /dev/urandom | dd of="$SD/rs/mem" conv=notrunc 2>/dev/null

# retry lines in ./err
retries() { grep -c "; retry [0-9]* of [0-9]* in " err || true; }

test_expect_success 'bad --attempts and --stall-timeout are usage errors' '
	expect_code 2 fc-snap-push --attempts 0 rs "$R" && grep_err "attempts" &&
	expect_code 2 fc-snap-pull --stall-timeout 0.2s rs "$R" &&
	grep_err "stall-timeout .0.2s.: use 1s..1h" &&
	AWS_MAX_ATTEMPTS=lots expect_code 1 fc-snap-push rs "$R" && grep_err "AWS_MAX_ATTEMPTS"
'

test_expect_success 'a stopped server: each retry is one line, then one line naming the endpoint' '
	kill -STOP $S3_PID &&
	{ expect_code 1 fc-snap-push --attempts 3 --stall-timeout 1s rs "$R"; r=$?; kill -CONT $S3_PID; [ $r = 0 ]; } &&
	[ "$(retries)" = 2 ] &&
	grep -q "retry 1 of 2" err && grep -q "retry 2 of 2" err &&
	tail -n 1 err | grep -Eq "^fc-snap-push: .*timed out talking to http://127.0.0.1:$S3_PORT .*; gave up after 3 attempts$" &&
	[ "$(wc -l <err)" = 3 ]
'

test_expect_success 'AWS_MAX_ATTEMPTS=1: no retry at all' '
	kill -STOP $S3_PID &&
	{ AWS_MAX_ATTEMPTS=1 expect_code 1 fc-snap-pull --stall-timeout 1s rs "$R"; r=$?; kill -CONT $S3_PID; [ $r = 0 ]; } &&
	[ "$(retries)" = 0 ] && one_line_err && ! grep -q "gave up" err
'

test_expect_success 'max_attempts in the profile, and --attempts beats it' '
	mkdir -p "$HOME/.aws" && printf "[default]\nmax_attempts = 1\n" >"$HOME/.aws/config" &&
	AWS_ENDPOINT_URL=http://127.0.0.1:1 expect_code 1 fc-snap-push rs "$R" &&
	[ "$(retries)" = 0 ] && one_line_err &&
	grep_err "cannot connect to http://127.0.0.1:1: connection refused" &&
	AWS_ENDPOINT_URL=http://127.0.0.1:1 expect_code 1 fc-snap-push --attempts 2 rs "$R" &&
	[ "$(retries)" = 1 ] && grep_err "gave up after 2 attempts" &&
	rm "$HOME/.aws/config"
'

# a relay that drops each kept-alive connection in the next request's body
python3 "$FCSNAP_SRC/t/tcp-cut.py" "$S3_PORT" >"$TRASH/cut.out" 2>"$TRASH/cut.err" </dev/null &
CUT_PID=$!
at_exit "kill $CUT_PID"
wait_for grep -q "^port " "$TRASH/cut.out" || exit 1
CUT=http://127.0.0.1:$(sed -n 's/^port //p' "$TRASH/cut.out")

test_expect_success 'a connection lost while sending is said so, retried, and the push completes' '
	AWS_ENDPOINT_URL=$CUT fc-snap-push -j 1 --chunk-size 1M rs "$R/cut" 2>err &&
	[ "$(retries)" -ge 1 ] &&
	grep -q "the connection to $CUT was lost" err &&
	! grep -q "seek callback" err &&
	fc-snap-pull --as rscopy rs "$R/cut" && cmp "$SD/rs/mem" "$SD/rscopy/mem"
'

test_expect_success 'with no retries left the lost connection is the one line' '
	AWS_ENDPOINT_URL=$CUT expect_code 1 fc-snap-push -j 1 --chunk-size 1M --attempts 1 rs "$R/cut1" &&
	one_line_err && grep_err "the connection to $CUT was lost"
'

test_done
