#!/bin/sh
# On-demand pull: fc-snap-restore pulls a snapshot it does not have when a
# remote is configured (FCSNAP_REMOTE or --remote), then restores it.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
lc_inputs
at_exit kill_all_vms
R=s3://$S3_BUCKET/od

test_expect_success 'setup: a snapshot made by fc-snap-create, pushed, removed locally' '
	fc-snap-create -l py -r rootfs.img &&
	for f in vmstate mem rootfs.ext4; do sha "$(snapdir py)/$f" >"$f.sha"; done &&
	fc-snap-push py "$R" &&
	fc-snap-rm py && [ ! -e "$(snapdir py)" ]
'

test_expect_success 'without a remote, a missing snapshot is refused and the fix named' '
	expect_code 1 fc-snap-restore py &&
	one_line_err && grep_err "no snapshot named py .*FCSNAP_REMOTE"
'

test_expect_success 'with FCSNAP_REMOTE, restore pulls the snapshot and the VM answers' '
	FCSNAP_REMOTE=$R expect_code 0 fc-snap-restore py &&
	id=$(cat out) && grep -q "pulling it from s3://test/od" err &&
	vm_ping "$id" &&
	for f in vmstate mem rootfs.ext4; do
		[ "$(sha "$(snapdir py)/$f")" = "$(cat "$f.sha")" ] || exit 1
	done &&
	kill_vm "$id"
'

test_expect_success 'a second restore does not pull again' '
	FCSNAP_REMOTE=s3://$S3_BUCKET/elsewhere expect_code 0 fc-snap-restore py &&
	id=$(cat out) && ! grep -q pulling err && kill_vm "$id"
'

test_expect_success '--remote works too; a name missing there too is named' '
	fc-snap-rm py &&
	expect_code 0 fc-snap-restore --remote "$R" py &&
	id=$(cat out) && vm_ping "$id" && kill_vm "$id" &&
	expect_code 1 fc-snap-restore --remote "$R" nope &&
	grep_err "no snapshot named nope at s3://test/od" &&
	test_no_strays && no_run_dirs
'

test_done
