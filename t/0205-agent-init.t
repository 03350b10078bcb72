#!/bin/sh
# fc-agent as process 1 (in a new PID, mount and UTS namespace): mounts,
# host name, reaping of orphans.  Needs root and unshare(1).
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/init-lib.sh"
init_dir 'fc-agent as PID 1'
init_start

test_expect_success 'the agent is process 1 of its namespace and mounted /proc' '
	agent-cli "$S" exec -- cat /proc/1/comm >out &&
	test "$(cat out)" = fc-agent
'

test_expect_success 'it set the host name' '
	agent-cli "$S" exec -- cat /proc/sys/kernel/hostname >out &&
	test "$(cat out)" = fcsnap
'

test_expect_success 'it mounted a tmpfs on /tmp' '
	agent-cli "$S" exec -- sh -c "grep \" /tmp \" /proc/mounts" >out &&
	grep -q tmpfs out
'

test_expect_success 'orphans are reaped: no zombies remain' '
	agent-cli "$S" exec -- sh -c "(sleep 0.1 &); (sleep 0.1 &); sleep 0.5" &&
	agent-cli "$S" exec -- sh -c "cat /proc/[0-9]*/stat" >out &&
	! grep -E "^[0-9]+ \([^)]*\) Z " out
'

test_expect_success 'sessions work as PID 1 (exit status, streams)' '
	echo hi | agent-cli "$S" exec -- sh -c "cat; exit 6" >out || rc=$?
	test "$rc" = 6 &&
	test "$(cat out)" = hi
'

test_expect_success 'SIGTERM to PID 1 shuts down and ends the namespace' '
	kill -TERM $AGENT &&
	wait_for sh -c "! kill -0 $UNSHARE" &&
	! kill -0 $AGENT 2>/dev/null
'

test_done
