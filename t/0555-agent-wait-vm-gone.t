#!/bin/sh
# Waiting for a VM's agent stops when the VM does: fc-exec -v and the
# restore's hello watch the VM between tries (agent_connect_watch), so a
# VM killed under them is named at once instead of waited for until the
# connect timeout (here 100 s, longer than any wait below).
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms
run="$FCSNAP_DIR/run"

# the one run dir, once its firecracker is recorded
only_vm() {
	set -- "$run"/*/
	[ $# = 1 ] && [ -d "$1" ] && _p=$(vm_pid "$(basename "$1")") &&
		[ -n "$_p" ] && [ "$_p" != 0 ] && basename "$1"
}

test_expect_success 'setup: a snapshot' '
	fc-snap-create -l py -r rootfs.img >/dev/null
'

test_expect_success 'fc-exec -v: the VM killed while its CONNECT is held fails at once, naming it' '
	FCSTANDIN_VERBOSE=1 expect_code 0 fc-snap-restore --paused py && id=$(cat out) && fc=$(vm_pid "$id") &&
	{ fc-exec -v "$id" --connect-timeout 100s -- true >x.out 2>x.err & } && x=$! &&
	wait_for grep -q "CONNECT .* waits for the VM to resume" "$run/$id/log" &&
	kill -KILL "$fc" &&
	wait_for t_gone "$x" && st=0 && { wait "$x" || st=$?; } &&
	test "$st" = 125 &&
	grep -q "VM $id stopped" x.err && ! grep -q "within 100.0 s" x.err &&
	test "$(wc -l <x.err)" = 1 &&
	{ fc-kill "$id" 2>/dev/null || :; }
'

test_expect_success 'fc-snap-restore: firecracker killed during the hello is named at once, nothing left' '
	{ env -u FCSTANDIN_AGENT fc-snap-restore -t 100s py >r.out 2>r.err & } && r=$! &&
	wait_for only_vm >/dev/null && id=$(only_vm) &&
	wait_for grep -q "no guest runs" "$run/$id/log" &&
	kill -KILL "$(vm_pid "$id")" &&
	wait_for t_gone "$r" && st=0 && { wait "$r" || st=$?; } &&
	test "$st" = 1 && test ! -s r.out &&
	grep -q "the agent did not answer: firecracker .*signal 9" r.err &&
	! grep -q "within 100.0 s" r.err &&
	wait_for no_run_dirs && test_no_strays
'

test_done
