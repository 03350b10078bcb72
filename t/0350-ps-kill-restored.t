#!/bin/sh
# fc-ps, fc-kill and fc-snap-rm with VMs restored by fc-snap-restore
# (against the Firecracker stand-in).
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

# dead PID: no such process, or a zombie, or exiting (no memory left)
dead() {
	_s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d" " -f1)
	[ -z "$_s" ] || [ "$_s" = Z ] || [ "$_s" = X ]
}
# stopped PID: the process is stopped (a SIGSTOP has landed)
stopped() { [ "$(t_state "$1")" = T ]; }

test_expect_success 'setup: a snapshot and two restores of it' '
	fc-snap-create -l py -r rootfs.img >/dev/null &&
	fc-snap-restore py >id1 &&
	fc-snap-restore py >id2 &&
	test "$(cat id1)" != "$(cat id2)"
'

test_expect_success 'fc-ps lists both with the state their API reports' '
	expect_code 0 fc-ps &&
	test ! -s err &&
	grep -Eq "^$(cat id1) +py +$(vm_pid $(cat id1)) +running +[0-9]+s$" out &&
	grep -Eq "^$(cat id2) +py +$(vm_pid $(cat id2)) +running +[0-9]+s$" out
'

test_expect_success 'a paused VM shows as paused' '
	fc-call "$FCSNAP_DIR/run/$(cat id2)/api.sock" pause &&
	fc-ps --json >out &&
	grep -q "\"id\":\"$(cat id2)\",\"snapshot\":\"py\",\"pid\":[0-9]*,\"state\":\"paused\"" out &&
	grep -q "\"id\":\"$(cat id1)\",\"snapshot\":\"py\",\"pid\":[0-9]*,\"state\":\"running\"" out
'

test_expect_success 'a VM whose process is stopped shows as stopped without waiting on its API' '
	p=$(vm_pid $(cat id2)) &&
	kill -STOP $p &&
	wait_for stopped $p &&
	rc=0
	fc-ps -t 30 >out || rc=$?
	kill -CONT $p &&
	test $rc = 0 &&
	grep -Eq "^$(cat id2) +py +$p +stopped " out
'

test_expect_success 'removing the snapshot leaves the restored VMs running and answering' '
	expect_code 0 fc-snap-rm py &&
	test ! -e "$FCSNAP_DIR/snapshots/py" &&
	vm_ping "$(cat id1)" &&
	fc-ps -q >out &&
	test "$(wc -l <out)" = 2
'

test_expect_success 'fc-kill stops one VM: its process and run dir are gone' '
	p=$(vm_pid $(cat id1)) &&
	expect_code 0 fc-kill "$(cat id1)" &&
	test ! -e "$FCSNAP_DIR/run/$(cat id1)" &&
	dead $p &&
	fc-ps -q >out && test "$(cat out)" = "$(cat id2)"
'

test_expect_success 'fc-kill --all stops restored VMs and their guest agents' '
	fc-snap-create -l py -r rootfs.img >/dev/null &&
	fc-snap-restore py >/dev/null &&
	expect_code 0 fc-kill --all -v &&
	test "$(wc -l <out)" = 2 &&
	no_run_dirs &&
	wait_for no_vm_procs &&
	test_no_strays
'

test_done
