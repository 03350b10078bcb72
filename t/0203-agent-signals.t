#!/bin/sh
# fc-agent exec: signal forwarding, and a lost host connection kills the
# command.
. "$(dirname "$0")/lib.sh"

G=$TRASH/g
mkdir -p "$G"
FCSNAP_TEST_TAG=agent-$FCSNAP_TEST_TAG fc-agent --unix-dir "$G" </dev/null >"$TRASH/agent.log" 2>&1 &
AGENT=$!
at_exit "kill $AGENT"
S=$G/10789
TAG="FCSNAP_TEST_TAG=$FCSNAP_TEST_TAG"
wait_for test -S "$S"
cp "$(command -v sleep)" "$TRASH/napper"
cp "$(command -v cat)" "$TRASH/catter"

# children of the agent (its sessions)
sessions() {
	grep -l "^PPid:[[:space:]]*$AGENT\$" /proc/[0-9]*/status 2>/dev/null | wc -l
}
no_sessions() { test "$(sessions)" -eq 0; }

test_expect_success 'SIGINT to the client reaches the command (trap runs)' '
	agent-cli -e "$TAG" "$S" exec -- sh -c \
		"trap \"echo got-int; exit 7\" INT; echo ready; while :; do \"$TRASH/napper\" 0.05; done" \
		>out 2>err &
	pid=$!
	wait_for grep -q ready out
	kill -INT $pid
	rc=0; wait $pid || rc=$?
	test $rc = 7 &&
	grep -q got-int out
'

test_expect_success 'SIGINT kills a command without a handler: 130' '
	agent-cli -e "$TAG" "$S" exec -- sh -c "echo ready; exec \"$TRASH/napper\" 1000" >out 2>err &
	pid=$!
	wait_for grep -q ready out
	kill -INT $pid
	rc=0; wait $pid || rc=$?
	test $rc = 130
'

test_expect_success 'SIGTERM is forwarded too: 143' '
	agent-cli -e "$TAG" "$S" exec -- sh -c "echo ready; exec \"$TRASH/napper\" 1000" >out 2>err &
	pid=$!
	wait_for grep -q ready out
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	test $rc = 143
'

test_expect_success 'a signal reaches the whole process group' '
	agent-cli -e "$TAG" "$S" exec -- sh -c \
		"\"$TRASH/napper\" 1000 & \"$TRASH/napper\" 1000 & echo ready; wait" >out 2>err &
	pid=$!
	wait_for grep -q ready out
	! test_no_strays >/dev/null
	kill -INT $pid
	wait $pid || true
	wait_for test_no_strays
'

test_expect_success 'a lost host connection kills the command and ends the session' '
	agent-cli -e "$TAG" "$S" exec -- sh -c "echo ready; \"$TRASH/napper\" 1000 & wait" >out 2>err &
	pid=$!
	wait_for grep -q ready out
	kill -9 $pid
	wait $pid || true
	wait_for test_no_strays &&
	wait_for no_sessions
'

test_expect_success 'a host gone while output is blocked still kills the command' '
	agent-cli -e "$TAG" "$S" exec -- sh -c "echo ready >&2; exec \"$TRASH/catter\" /dev/zero" 2>err >/dev/null &
	pid=$!
	wait_for grep -q ready err
	kill -STOP $pid
	kill -9 $pid
	wait $pid || true
	wait_for test_no_strays &&
	wait_for no_sessions
'

test_expect_success 'the agent survives all of this' '
	expect_code 0 agent-cli "$S" ping
'

test_done
