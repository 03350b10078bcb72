#!/bin/sh
# fc-exec and signals: SIGINT/SIGTERM are forwarded to the guest command;
# a second SIGINT within 2 s aborts fc-exec (130) and removes the VM; a
# fc-exec killed with SIGKILL takes its throw-away VM with it.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

# wait_file F: wait until F has content.
wait_file() { wait_for test -s "$1"; }
# gone PID: no such process (or only its zombie).
gone() {
	! kill -0 "$1" 2>/dev/null ||
		[ "$(sed "s/.*) //" "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]
}

test_expect_success 'setup: a snapshot' '
	fc-snap-create -l py -r rootfs.img --run-command "sh -s" >/dev/null
'

test_expect_success 'SIGINT is forwarded: the guest trap runs, its status comes back' '
	rm -f out
	fc-exec -s py -- sh -c "trap \"echo got INT; exit 7\" INT; echo ready; while :; do sleep 0.1; done" \
		>out 2>err </dev/null &
	p=$!
	wait_file out && kill -INT $p &&
	rc=0; wait $p || rc=$?
	test $rc = 7 || { echo "exit $rc"; cat out err; false; } &&
	grep -q "got INT" out &&
	no_run_dirs
'

test_expect_success 'SIGTERM is forwarded too' '
	rm -f out
	fc-exec -s py -- sh -c "trap \"echo got TERM; exit 9\" TERM; echo ready; while :; do sleep 0.1; done" \
		>out 2>err </dev/null &
	p=$!
	wait_file out && kill -TERM $p &&
	rc=0; wait $p || rc=$?
	test $rc = 9 && grep -q "got TERM" out && no_run_dirs
'

test_expect_success 'an unhandled SIGINT kills the guest command: 130' '
	rm -f out
	fc-exec -s py -- sh -c "echo ready; exec sleep 60" >out 2>err </dev/null &
	p=$!
	wait_file out && kill -INT $p &&
	rc=0; wait $p || rc=$?
	test $rc = 130 && no_run_dirs
'

test_expect_success 'a second SIGINT within 2 s aborts fc-exec with 130 and removes the VM' '
	rm -f out
	rm -f ints
	fc-exec -s py -- sh -c "trap \"echo int >>$TRASH/ints\" INT; echo ready; while :; do sleep 0.1; done" \
		>out 2>err </dev/null &
	p=$!
	wait_file out && kill -INT $p && wait_file ints && kill -INT $p &&
	rc=0; wait $p || rc=$?
	test $rc = 130 || { echo "exit $rc"; cat err; false; } &&
	grep -q "interrupted by signal 2" err &&
	no_run_dirs && wait_for test_no_strays
'

# ticker_stopped: the guest shell writing the ticks is stopped (the pause's
# SIGSTOP has landed, so no tick is in flight).  dash runs `sleep` with
# vfork: when the SIGSTOP catches its child between the vfork and the exec,
# the shell waits for that child in state D, its own SIGSTOP pending, and
# can run nothing until the child goes on.  So: T, or D with every child T.
ticker_stopped() {
	_tp=$(cat "$TRASH/ticker.pid") && _ts=$(t_state "$_tp") || return 1
	[ "$_ts" = T ] && return 0
	[ "$_ts" = D ] || return 1
	_kids=$(cat /proc/[0-9]*/stat 2>/dev/null |
		awk -v pp="$_tp" '{ sub(/^.*\) /, ""); if ($2 == pp) print $1 }')
	[ -n "$_kids" ] && ! echo "$_kids" | grep -qv "^T$"
}

# ticks F: how many lines F has.
ticks() { wc -l <"$1" | tr -d " "; }

test_expect_success 'a paused VM runs none of its commands; resumed, they go on' '
	id=$(fc-snap-restore py) || exit 1
	ok=0
	fc-exec -v "$id" -- sh -c "echo \$\$ >$TRASH/ticker.pid; while :; do echo t >>\"$TRASH/ticks\"; sleep 0.02; done" \
		>/dev/null 2>&1 </dev/null &
	p=$! &&
	wait_for test -s ticks &&
	fc-call "$FCSNAP_DIR/run/$id/api.sock" pause &&
	wait_for ticker_stopped &&
	a=$(ticks ticks) && sleep 0.5 && b=$(ticks ticks) &&
	test "$a" = "$b" &&
	fc-call "$FCSNAP_DIR/run/$id/api.sock" resume &&
	wait_for sh -c "[ \$(wc -l <\"$TRASH/ticks\") -gt $b ]" &&
	ok=1
	# the VM goes whatever happened, so that a failure here fails only here
	fc-kill "$id" && { wait $p || true; } &&
	test "$ok" = 1 && wait_for gone $p
'

test_expect_success 'SIGINT while restoring: 130, nothing left' '
	rm -f out
	FCSTANDIN_DELAY_MS=2000 fc-exec -s py -- true >out 2>err </dev/null &
	p=$!
	wait_for sh -c "ls $FCSNAP_DIR/run/*/vm.json" && kill -INT $p &&
	rc=0; wait $p || rc=$?
	test $rc = 130 || { echo "exit $rc"; cat err; false; } &&
	wait_for no_run_dirs && wait_for test_no_strays
'

test_expect_success 'fc-exec killed with SIGKILL: its VM and command are gone within seconds' '
	fc-exec -s py -- sh -c "echo \$\$ >$TRASH/guest.pid; while :; do echo x; sleep 0.1; done" \
		>out 2>err </dev/null &
	p=$!
	wait_file "$TRASH/guest.pid" &&
	id=$(ls "$FCSNAP_DIR/run") && test -n "$id" &&
	fcpid=$(vm_pid "$id") && kill -0 "$fcpid" &&
	gpid=$(cat "$TRASH/guest.pid") && kill -0 "$gpid" &&
	kill -KILL $p && { wait $p || true; } &&
	wait_for gone "$fcpid" &&
	wait_for no_run_dirs &&
	wait_for gone "$gpid" &&
	wait_for test_no_strays
'

test_expect_success 'SIGKILL right after the start, while restoring: nothing left' '
	rm -f out
	FCSTANDIN_DELAY_MS=2000 fc-exec -s py -- true >out 2>err </dev/null &
	p=$!
	wait_for sh -c "ls $FCSNAP_DIR/run/*/api.sock" && kill -KILL $p && { wait $p || true; } &&
	wait_for no_run_dirs &&
	wait_for test_no_strays
'

test_done
