#!/bin/sh
# fc-exec -s tears its throw-away VM down without waiting for what the
# user does not need: it returns once firecracker is SIGKILLed and the run
# dir is gone, not when its helper processes have finished exiting.  The
# reaper, stopped here (SIGSTOP) so that it cannot exit, shows it: the old
# teardown waited for it.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

# reaper_of PID: the fc-exec-reaper child of PID
reaper_of() {
	for _s in /proc/[0-9]*/stat; do
		sed -n "s/^\([0-9]*\) (fc-exec-reaper) . $1 .*/\1/p" "$_s" 2>/dev/null ||
			:       # a process that exited meanwhile
	done
}

# stopped PID: PID is stopped (SIGSTOP has landed)
stopped() { [ "$(t_state "$1")" = T ]; }

test_expect_success 'setup: a snapshot' '
	fc-snap-create -l py -r rootfs.img >/dev/null
'

test_expect_success 'fc-exec -s returns with the VM gone while its reaper cannot exit' '
	fc-exec -s py -- sh -c "echo ready; until [ -e $TRASH/go ]; do sleep 0.02; done; echo done" \
		>out 2>err </dev/null &
	p=$!
	wait_for test -s out && r=$(reaper_of $p) && test -n "$r" &&
	kill -STOP "$r" && wait_for stopped "$r" &&
	touch go &&
	ok=0 && { T_WAIT=60 wait_for t_gone $p || ok=1; } &&
	kill -CONT "$r" &&
	test $ok = 0 &&
	rc=0 && { wait $p || rc=$?; } &&
	test $rc = 0 || { echo "exit $rc"; cat out err; false; } &&
	test "$(cat out)" = "ready
done" &&
	no_run_dirs
'

test_expect_success 'the reaper, let go, exits without touching anything; nothing is left' '
	wait_for test_no_strays && no_run_dirs
'

test_done
