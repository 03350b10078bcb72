#!/bin/sh
# vsock_connect (common/vsock.c) against a fake Firecracker hybrid vsock
# socket (t/helpers/fake-bridge) bridged to a test-mode agent.
. "$(dirname "$0")/lib.sh"

G=$TRASH/g
mkdir -p "$G"
FCSNAP_TEST_TAG=agent-$FCSNAP_TEST_TAG fc-agent --unix-dir "$G" </dev/null >"$TRASH/agent.log" 2>&1 &
AGENT=$!
at_exit "kill $AGENT"
wait_for test -S "$G/10789"

# start_bridge NAME [ARGS...]: a bridge on $TRASH/NAME.  Test bodies run
# in subshells, so pids go to a file that the script's exit reads (the
# bridges also carry the test tag: lib.sh kills them as a backstop).
: >"$TRASH/bridges"
at_exit 'kill $(cat "$TRASH/bridges")'
start_bridge() {
	_n=$1; shift
	fake-bridge "$@" "$TRASH/$_n" "$G" </dev/null >/dev/null 2>&1 &
	echo $! >>"$TRASH/bridges"
}

start_bridge v.sock

test_expect_success 'CONNECT/OK then the agent handshake and a ping' '
	wait_for test -S v.sock &&
	expect_code 0 agent-cli --vsock 10789 "$TRASH/v.sock" ping &&
	grep -qx pong out
'

test_expect_success 'an exec session runs over the bridge' '
	printf "abc" | agent-cli --vsock 10789 "$TRASH/v.sock" exec -- sh -c "cat; exit 5" >out || rc=$?
	test "$rc" = 5 &&
	test "$(cat out)" = abc
'

test_expect_success 'nothing listening on the port: retried until the deadline, clear message' '
	expect_code 125 agent-cli -t 400 --vsock 4444 "$TRASH/v.sock" ping &&
	grep_err "no agent answered on vsock port 4444 via $TRASH/v.sock within 0.4 s" &&
	grep_err "closed without OK"
'

test_expect_success 'a missing socket: retried, message says it does not exist' '
	expect_code 125 agent-cli -t 200 --vsock 10789 "$TRASH/none.sock" ping &&
	grep_err "no agent answered on vsock port 10789 via $TRASH/none.sock" &&
	grep_err "socket does not exist"
'

test_expect_success 'a listener that starts late is reached after retries' '
	start_bridge late.sock -d 300
	expect_code 0 agent-cli -t 20000 --vsock 10789 "$TRASH/late.sock" ping &&
	grep -qx pong out
'

test_expect_success 'connections closed without OK are retried until one answers' '
	start_bridge flaky.sock -n 5
	wait_for test -S flaky.sock &&
	expect_code 0 agent-cli -t 20000 --vsock 10789 "$TRASH/flaky.sock" ping
'

test_expect_success 'connections closed after OK, before the handshake, are retried until one holds' '
	start_bridge reset.sock -r 4
	wait_for test -S reset.sock &&
	expect_code 0 agent-cli -t 20000 --vsock 10789 "$TRASH/reset.sock" ping &&
	grep -qx pong out
'

test_expect_success 'when every connection is closed before the handshake, the deadline ends it' '
	start_bridge resetall.sock -r 1000000
	wait_for test -S resetall.sock &&
	expect_code 125 agent-cli -t 400 --vsock 10789 "$TRASH/resetall.sock" ping &&
	grep_err "vsock port 10789 via $TRASH/resetall.sock: the guest closed all [0-9]+ connections before the agent.s handshake within 0.4 s"
'

test_expect_success 'a socket path longer than sun_path is reached through its directory' '
	long=$TRASH/$(printf "%0110d" 0) &&
	mkdir -p "$long" &&
	start_bridge "$(basename "$long")/v.sock"
	wait_for test -S "$long/v.sock" &&
	expect_code 0 agent-cli --vsock 10789 "$long/v.sock" ping
'

test_expect_success 'a peer that never answers the handshake times out, naming the port' '
	fake-bridge "$G/7" "$TRASH/none" </dev/null >/dev/null 2>&1 &
	echo $! >>"$TRASH/bridges"
	wait_for test -S "$G/7" &&
	expect_code 125 agent-cli -t 300 --vsock 7 "$TRASH/v.sock" ping &&
	grep_err "vsock port 7 via $TRASH/v.sock: agent: timed out"
'

test_done
