#!/bin/sh
# fc-snap-rm: removal, per-name errors, locks, -f, unwritable stores, and
# safety for VMs that still map a removed snapshot's files.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: four snapshots' '
	for n in a b c d; do store-tool snap $n 4M || exit 1; done &&
	test "$(fc-snap-ls -q | tr "\n" " ")" = "a b c d "
'

test_expect_success 'rm removes a snapshot and leaves no temp dir' '
	expect_code 0 fc-snap-rm a &&
	test ! -s out && test ! -s err &&
	test ! -e "$FCSNAP_DIR/snapshots/a" &&
	test_no_strays
'

test_expect_success 'a missing name is an error for that name; the others are removed' '
	expect_code 1 fc-snap-rm nosuch b &&
	one_line_err && grep_err "no snapshot named nosuch" &&
	test ! -e "$FCSNAP_DIR/snapshots/b"
'

test_expect_success 'a bad name is an error naming it; the others are removed' '
	expect_code 1 fc-snap-rm -v "x/../../etc" c &&
	one_line_err && grep_err "bad snapshot name .x/\.\./\.\./etc." &&
	test "$(cat out)" = c &&
	test ! -e "$FCSNAP_DIR/snapshots/c"
'

test_expect_success '-f: a missing snapshot is not an error' '
	expect_code 0 fc-snap-rm -f nosuch &&
	test ! -s err
'

test_expect_success 'no name at all is a usage error' '
	expect_code 2 fc-snap-rm && one_line_err
'

test_expect_success 'a bad --timeout is a usage error' '
	expect_code 2 fc-snap-rm -t soon d && one_line_err && grep_err "bad timeout"
'

# hold d's lock in a helper until the file "release" exists
start_locker() {
	rm -f release lk.out &&
	{ store-tool lock d release >lk.out & } &&
	wait_for grep -q locked lk.out
}

test_expect_success '-n fails at once while the snapshot is locked, and keeps it' '
	start_locker &&
	expect_code 1 fc-snap-rm -n d &&
	one_line_err && grep_err "snapshot d is locked by another process" &&
	test -d "$FCSNAP_DIR/snapshots/d" &&
	touch release && wait
'

test_expect_success '-t gives up after the timeout while the lock is held' '
	start_locker &&
	expect_code 1 fc-snap-rm -t 300ms d &&
	one_line_err && grep_err "still locked .* after 0\.3 s" &&
	test -d "$FCSNAP_DIR/snapshots/d" &&
	touch release && wait
'

# rm_waits: a fc-snap-rm has the lock of d open (and is waiting for it)
rm_waits() {
	for _r in $(t_tagged_comm fc-snap-rm); do
		t_has_open "$_r" "$FCSNAP_DIR/locks/d.lock" && return 0
	done
	return 1
}

test_expect_success 'rm waits for the lock and removes once it is released' '
	start_locker &&
	{ fc-snap-rm -t 60 d >rm.out 2>&1; echo $? >rm.rc; } &
	wait_for rm_waits &&
	test ! -e rm.rc &&
	test -d "$FCSNAP_DIR/snapshots/d" &&
	touch release &&
	wait_for test -s rm.rc &&
	test "$(cat rm.rc)" = 0 &&
	test ! -e "$FCSNAP_DIR/snapshots/d"
'

test_expect_success 'a VM mapping the memory file keeps reading it after rm' '
	store-tool snap mapped 8M 42 &&
	{ store-tool mmap "$FCSNAP_DIR/snapshots/mapped/mem" go >map.out & } &&
	wait_for grep -q mapped map.out &&
	fc-snap-rm mapped &&
	test ! -e "$FCSNAP_DIR/snapshots/mapped" &&
	: >go &&
	wait &&
	test "$(sed -n 2p map.out)" = "gen 42"
'

test_expect_success 'a read-only store: rm fails with a message naming the store and FCSNAP_DIR' '
	store-tool snap ro 1M &&
	mount --bind "$FCSNAP_DIR" "$FCSNAP_DIR" &&
	mount -o remount,bind,ro "$FCSNAP_DIR" &&
	{ expect_code 1 fc-snap-rm -n ro; rc=$?; umount "$FCSNAP_DIR"; test $rc = 0; } &&
	one_line_err &&
	grep_err "store $FCSNAP_DIR is not writable" && grep_err FCSNAP_DIR &&
	test -d "$FCSNAP_DIR/snapshots/ro"
'
at_exit 'umount "$FCSNAP_DIR" 2>/dev/null'

test_expect_success 'a file where the store should be: a clear one-line error' '
	: >notadir &&
	export FCSNAP_DIR="$TRASH/notadir" &&
	expect_code 1 fc-snap-rm x &&
	one_line_err && grep_err "no snapshot named x in $TRASH/notadir/snapshots"
'

test_expect_success 'nothing is left behind' '
	test_no_strays
'

test_done
