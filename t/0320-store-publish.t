#!/bin/sh
# The store's atomic publish: a reader never sees a mix of two generations
# while a writer republishes; stale temp dirs of killed writers are cleaned
# by the next writer of that name; writers of one name are serialised.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: generation 0' '
	store-tool snap s 1M 0 &&
	fc-snap-ls -q >out && test "$(cat out)" = s
'

test_expect_success 'a reader never sees a mix while a writer republishes 100 times' '
	{ store-tool read s 100 >reader.out 2>reader.err & } &&
	store-tool republish s 100 &&
	wait $! &&
	cat reader.out &&
	grep -q "mixed 0 " reader.out &&
	test ! -s reader.err
'

test_expect_success 'after the republishes only the last generation remains, no temp dirs' '
	test "$(head -n 1 "$FCSNAP_DIR/snapshots/s/mem")" = "gen 100" &&
	test_no_strays
'

test_expect_success 'two writers of one name are serialised: both publish whole generations' '
	{ store-tool republish s 30 & } &&
	{ store-tool republish s 30 & } &&
	wait &&
	for f in vmstate mem rootfs.ext4; do
		test "$(head -n 1 "$FCSNAP_DIR/snapshots/s/$f")" = "gen 30" || exit 1
	done &&
	test_no_strays
'

test_expect_success 'a killed writer leaves a temp dir that readers ignore' '
	store-tool tmpdir s >tmpname &&
	test -d "$(cat tmpname)" &&
	fc-snap-ls -q >out && test "$(cat out)" = s
'

test_expect_success 'a temp dir of another name, its writer alive, survives the next writer of s' '
	mkdir "$FCSNAP_DIR/snapshots/.tmp-s-x-AbCdEf"
'

test_expect_success 'the next writer of that name removes the stale temp dir' '
	flock "$FCSNAP_DIR/locks/s-x.lock" store-tool snap s 1M 7 &&
	test ! -e "$(cat tmpname)" &&
	test -d "$FCSNAP_DIR/snapshots/.tmp-s-x-AbCdEf" &&
	rmdir "$FCSNAP_DIR/snapshots/.tmp-s-x-AbCdEf" &&
	test "$(head -n 1 "$FCSNAP_DIR/snapshots/s/vmstate")" = "gen 7" &&
	test_no_strays
'

test_expect_success 'published memory files keep mode 0600' '
	test "$(stat -c %a "$FCSNAP_DIR/snapshots/s/mem")" = 600
'

test_expect_success 'a writer into a read-only store fails naming the store and FCSNAP_DIR' '
	mount --bind "$FCSNAP_DIR" "$FCSNAP_DIR" &&
	mount -o remount,bind,ro "$FCSNAP_DIR" &&
	{ expect_code 1 store-tool snap s 1M 8; rc=$?; umount "$FCSNAP_DIR"; test $rc = 0; } &&
	one_line_err &&
	grep_err "store $FCSNAP_DIR is not writable: .*set FCSNAP_DIR to a writable directory" &&
	test "$(head -n 1 "$FCSNAP_DIR/snapshots/s/vmstate")" = "gen 7"
'
at_exit 'umount "$FCSNAP_DIR" 2>/dev/null'

test_expect_success 'nothing is left behind' '
	test_no_strays
'

test_done
