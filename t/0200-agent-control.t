#!/bin/sh
# fc-agent in test mode (--unix-dir): handshake, hello, ping, sync.
. "$(dirname "$0")/lib.sh"

G=$TRASH/g
mkdir -p "$G"
fc-agent --unix-dir "$G" </dev/null >"$TRASH/agent.log" 2>&1 &
AGENT=$!
at_exit "kill $AGENT"
S=$G/10789

test_expect_success 'the agent listens on DIR/<default port>' '
	wait_for test -S "$S"
'

test_expect_success 'hello in test mode reports clock and entropy as skipped, not failed' '
	expect_code 0 agent-cli "$S" hello &&
	grep -q "^clock: skipped" out &&
	grep -q "^entropy: skipped" out &&
	grep -q "^fc-agent: hello: clock: skipped in test mode; entropy: skipped in test mode\$" "$TRASH/agent.log"
'

test_expect_success 'ping answers' '
	expect_code 0 agent-cli "$S" ping &&
	grep -qx pong out
'

test_expect_success 'sync answers; cache drop is skipped in test mode' '
	expect_code 0 agent-cli "$S" sync &&
	grep -q "^drop_caches: skipped" out &&
	expect_code 0 agent-cli "$S" drop &&
	grep -q "^drop_caches: skipped: skipped in test mode" out
'

test_expect_success 'a handshake with another protocol version gets a clear error' '
	expect_code 0 agent-cli --raw-proto 99 "$S" &&
	grep -q "^reply 0xff protocol version mismatch" out
'

test_expect_success 'an unknown request gets an error reply' '
	expect_code 0 agent-cli --raw-type 66 "$S" &&
	grep -q "^reply 0xff unknown request" out
'

test_expect_success 'the agent still serves after protocol errors' '
	expect_code 0 agent-cli "$S" ping
'

test_expect_success '--port chooses the socket name' '
	mkdir -p g2 &&
	fc-agent -p 5000 --unix-dir "$TRASH/g2" </dev/null >/dev/null 2>&1 &
	pid=$! &&
	wait_for test -S "$TRASH/g2/5000" &&
	agent-cli "$TRASH/g2/5000" ping >out &&
	kill $pid && wait $pid 2>/dev/null || true
	grep -qx pong out
'

test_expect_success 'SIGTERM ends the agent and removes its socket' '
	mkdir -p g3 &&
	fc-agent --unix-dir "$TRASH/g3" </dev/null >/dev/null 2>&1 &
	pid=$! &&
	wait_for test -S "$TRASH/g3/10789" &&
	kill -TERM $pid &&
	wait $pid &&
	test ! -e "$TRASH/g3/10789"
'

test_expect_success 'in test mode the agent ends with the process that started it' '
	mkdir -p g4 &&
	sh -c "fc-agent --unix-dir \"$TRASH/g4\" </dev/null >/dev/null 2>&1 & echo \$! >apid; exec sleep 1000" &
	parent=$!
	wait_for test -S "$TRASH/g4/10789" &&
	kill -9 $parent &&
	wait_for t_gone "$(cat apid)"
'

test_expect_success 'a bad port is a usage error' '
	expect_code 2 fc-agent -p 0 --unix-dir "$G" &&
	one_line_err &&
	expect_code 2 fc-agent -p abc --unix-dir "$G"
'

test_expect_success 'a socket path over 108 bytes is refused clearly' '
	long=$(printf "%0120d" 0) &&
	expect_code 1 fc-agent --unix-dir "$TRASH/$long" &&
	grep_err "too long"
'

test_done
