#!/bin/sh
# fc-snap-restore --lazy and fc-exec -s --lazy: firecracker loads with the
# Uffd backend and fc-pager serves its memory; every page the guest reads
# is checked by the stand-in against the memory file; the pager lives and
# dies with its VM.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms
FCSTANDIN_UFFD_CHECK=all
export FCSTANDIN_UFFD_CHECK

test_expect_success 'setup: a snapshot' '
	FCSTANDIN_DIRTY_PCT=20 fc-snap-create -l py -r rootfs.img
'

test_expect_success 'a lazy restore runs, its memory served by fc-pager in the run dir' '
	expect_code 0 fc-snap-restore --lazy py &&
	id=$(cat out) && test ! -s err &&
	vm_ping "$id" && vm_ping "$id" &&
	test "$(pagers_of "$id" | wc -l)" = 2 &&
	! test -e "$FCSNAP_DIR/run/$id/pager.sock" &&
	! grep -q "fc-pager" "$FCSNAP_DIR/run/$id/log" &&
	echo "$id" >id1
'

test_expect_success 'fc-ps --json shows the pager of a lazy VM' '
	id=$(cat id1) &&
	fc-ps --json | grep "\"id\":\"$id\"" >ps &&
	grep -q "\"pager\":\"running\"" ps &&
	for p in $(pagers_of "$id"); do grep -q "\"pager_pids\":\[.*$p" ps || exit 1; done &&
	expect_code 0 fc-snap-restore py && plain=$(cat out) &&
	fc-ps --json | grep "\"id\":\"$plain\"" >ps2 && ! grep -q pager ps2 &&
	fc-kill "$plain"
'

test_expect_success 'fc-kill stops the VM and its pager with it' '
	id=$(cat id1) && p=$(pagers_of "$id") &&
	fc-kill "$id" &&
	test -n "$p" && wait_for all_gone $p &&
	test_no_strays
'

test_expect_success 'fc-exec -s --lazy runs the command in a lazily restored VM' '
	expect_code 0 fc-exec -s py --lazy -- echo lazy-hello &&
	test "$(cat out)" = lazy-hello &&
	no_run_dirs && wait_for test_no_strays
'

test_expect_success 'the page server SIGKILLed: the VM is killed and its log says why' '
	expect_code 0 fc-snap-restore --lazy py && id=$(cat out) &&
	fc=$(vm_pid "$id") && srv=$(server_of "$id") && test -n "$srv" &&
	kill -KILL "$srv" &&
	wait_for sh -c "! kill -0 $fc 2>/dev/null" &&
	grep -q "fc-pager: the page server (pid $srv) was killed by signal 9: firecracker (pid $fc) killed" \
		"$FCSNAP_DIR/run/$id/log" &&
	fc-kill "$id" && wait_for test_no_strays
'

test_expect_success 'both pager processes killed at once: fc-ps says the pager is gone' '
	expect_code 0 fc-snap-restore --lazy py && id=$(cat out) &&
	kill -KILL $(pagers_of "$id") &&
	wait_for sh -c "fc-ps --json | grep \"$id\" | grep -q \"\\\"pager\\\":\\\"gone\\\"\"" &&
	fc-kill "$id" && wait_for test_no_strays
'

test_expect_success 'ten concurrent lazy restores of one snapshot all run and check out' '
	for i in 0 1 2 3 4 5 6 7 8 9; do
		fc-snap-restore --lazy py >"id.$i" 2>"err.$i" &
	done &&
	wait &&
	for i in 0 1 2 3 4 5 6 7 8 9; do
		id=$(cat "id.$i") && test -n "$id" && test ! -s "err.$i" &&
		vm_ping "$id" || { cat "err.$i"; exit 1; }
	done &&
	fc-kill --all && no_run_dirs && wait_for test_no_strays
'

test_expect_success 'no fc-pager to be found: one clear line, nothing left behind' '
	FCSNAP_PAGER=/nonexistent/fc-pager expect_code 1 fc-snap-restore --lazy py &&
	one_line_err && grep_err "starting its page server: .*fc-pager" &&
	no_run_dirs && wait_for test_no_strays
'

test_done
