#!/bin/sh
# fc-exec concurrency: 10 sessions at once in one VM, 10 throw-away VMs at
# once from one snapshot; each gets its own output and status.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

test_expect_success 'setup: a snapshot and a running VM' '
	fc-snap-create -l py -r rootfs.img --run-command "sh -s" >/dev/null &&
	fc-snap-restore --id c1 py >/dev/null
'

test_expect_success '10 concurrent exec sessions in one VM' '
	i=0; pids=""
	while [ $i -lt 10 ]; do
		head -c $((100000 + i)) /dev/urandom >in.$i
		fc-exec -v c1 -- sh -c "sleep 0.5; cat; echo tag$i >&2; exit $i" <in.$i >out.$i 2>err.$i &
		pids="$pids $!"
		i=$((i + 1))
	done
	i=0
	for p in $pids; do
		rc=0; wait $p || rc=$?
		test $rc = $i || { echo "session $i: exit $rc"; cat err.$i; exit 1; }
		cmp in.$i out.$i && test "$(cat err.$i)" = tag$i
		i=$((i + 1))
	done &&
	vm_ping c1
'

test_expect_success '10 concurrent fc-exec -s from one snapshot' '
	i=0; pids=""
	while [ $i -lt 10 ]; do
		fc-exec -s py -- sh -c "echo run$i; exit $((20 + i))" >s.$i 2>se.$i </dev/null &
		pids="$pids $!"
		i=$((i + 1))
	done
	i=0
	for p in $pids; do
		rc=0; wait $p || rc=$?
		test $rc = $((20 + i)) || { echo "run $i: exit $rc"; cat se.$i; exit 1; }
		test "$(cat s.$i)" = run$i
		i=$((i + 1))
	done &&
	test "$(ls -A "$FCSNAP_DIR/run")" = c1
'

test_expect_success 'nothing is left behind but the running VM' '
	kill_all_vms && wait_for test_no_strays && no_run_dirs
'

test_done
