#!/bin/sh
# Lazy restore of a snapshot that is only in S3: fc-snap-restore --lazy and
# fc-exec -s --lazy with a remote fetch vmstate and the disk, start the VM,
# and fc-pager --pull fetches the memory's chunks on demand (verified
# before a byte is served) and in the background, into the pull dir, and
# publishes the snapshot once complete.  Every page the guest reads is
# checked by the stand-in (FCSTANDIN_UFFD_CHECK=all).
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
lc_inputs
at_exit kill_all_vms
FCSTANDIN_UFFD_CHECK=all
export FCSTANDIN_UFFD_CHECK
R=s3://$S3_BUCKET/lz

# mem object keys of a pushed snapshot, one per line
mem_chunks() {
	tr '{' '\n' <"$S3_DATA/$S3_BUCKET/lz/snapshots/$1/manifest._S3rver_object" |
		sed -n '/"name":"mem"/s/.*"chunks":\[\([^]]*\)\].*/\1/p' |
		tr ',' '\n' | tr -d '"' | grep -v '^null$'
}
# a pushed snapshot NAME, made with FCSTANDIN_DIRTY_PCT=$2, chunks of $3
pushed() {
	FCSTANDIN_DIRTY_PCT=$2 fc-snap-create -m 128 -l "$1" -r rootfs.img &&
	sha "$(snapdir "$1")/mem" >"$1.mem.sha" &&
	fc-snap-push --chunk-size "$3" "$1" "$R" &&
	fc-snap-rm "$1"
}

test_expect_success 'setup: snapshots with raw, sparse and null chunks, pushed, removed here' '
	pushed full 100 4M && pushed mix 3 64K && pushed part 10 4M &&
	mem_chunks full | grep -v sparse >/dev/null &&
	mem_chunks mix | grep sparse >/dev/null &&
	grep -q null "$S3_DATA/$S3_BUCKET/lz/snapshots/mix/manifest._S3rver_object" &&
	! published full
'

test_expect_success 'a lazy remote restore runs, every page checks out, then it is published' '
	FCSNAP_REMOTE=$R expect_code 0 fc-snap-restore --lazy full &&
	id=$(cat out) && grep -q "restoring it lazily from $R" err &&
	vm_ping "$id" && vm_ping "$id" &&
	wait_for published full && wait_for no_fill full &&
	[ "$(sha "$(snapdir full)/mem")" = "$(cat full.mem.sha)" ] &&
	! test -e "$(pull_dir full)" &&
	ls "$(snapdir full)" >files && ! grep -q "journal\|manifest\|meta.remote" files &&
	vm_ping "$id" && fc-kill "$id" && wait_for test_no_strays
'

test_expect_success 'a second restore of it is a normal local one' '
	FCSNAP_REMOTE=$R expect_code 0 fc-snap-restore full &&
	id=$(cat out) && ! grep -q lazily err && test ! -s err &&
	vm_ping "$id" && fc-kill "$id"
'

test_expect_success 'sparse and null chunks, on demand only (no fill): served right' '
	pager_with --no-fill &&
	FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R expect_code 0 \
		fc-snap-restore --lazy mix &&
	id=$(cat out) && vm_ping "$id" && vm_ping "$id" &&
	! published mix && test -d "$(pull_dir mix)" &&
	fc-kill "$id" && ! published mix
'

test_expect_success 'fc-snap-pull resumes what the lazy restore fetched' '
	fc-snap-pull -v mix "$R" 2>err &&
	published mix && [ "$(sha "$(snapdir mix)/mem")" = "$(cat mix.mem.sha)" ] &&
	! test -e "$(pull_dir mix)" && wait_for test_no_strays
'

test_expect_success 'fc-snap-pull into a lazy pull dir writes only verified bytes (pages are served from it)' '
	pushed raw 100 1M && pager_with --no-fill &&
	FCSTANDIN_UFFD_CHECK=8 FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R \
		expect_code 0 fc-snap-restore --lazy raw &&
	id=$(cat out) && vm_ping "$id" && d=$(pull_dir raw) &&
	i=$(($(mem_chunks raw | wc -l) - 1)) &&
	while grep -qx "1 $i" "$d/journal"; do i=$((i - 1)); done && test "$i" -ge 0 &&
	k=$(mem_chunks raw | sed -n "$((i + 1))p") &&
	obj=$S3_DATA/$S3_BUCKET/lz/chunks/$k._S3rver_object && cp "$obj" obj.orig &&
	printf CORRUPTED-BY-THE-BUCKET | dd of="$obj" bs=1 seek=4096 conv=notrunc 2>/dev/null &&
	expect_code 1 fc-snap-pull raw "$R" && grep -q "is corrupt on the server" err &&
	! dd if="$d/mem" bs=1M skip=$i count=1 2>/dev/null | grep -q CORRUPTED-BY-THE-BUCKET &&
	{ fc-kill "$id" 2>/dev/null || :; } && cp obj.orig "$obj" &&
	fc-snap-pull raw "$R" && published raw &&
	[ "$(sha "$(snapdir raw)/mem")" = "$(cat raw.mem.sha)" ]
'

test_expect_success 'fc-exec -s --lazy with a remote runs the command, then publishes' '
	fc-snap-rm mix &&
	FCSNAP_REMOTE=$R expect_code 0 fc-exec -s mix --lazy -- echo lazy-remote &&
	test "$(cat out)" = lazy-remote && grep -q "lazily" err &&
	wait_for published mix && wait_for no_fill mix &&
	[ "$(sha "$(snapdir mix)/mem")" = "$(cat mix.mem.sha)" ] &&
	no_run_dirs && wait_for test_no_strays
'

test_expect_success 'a corrupted chunk: the VM is killed, one clear line, nothing published' '
	k=$(mem_chunks part | head -1) &&
	obj=$S3_DATA/$S3_BUCKET/lz/chunks/$k._S3rver_object &&
	test -n "$obj" && cp "$obj" obj.orig &&
	printf X | dd of="$obj" bs=1 seek=5000 conv=notrunc 2>/dev/null &&
	FCSNAP_REMOTE=$R expect_code 0 fc-snap-restore --lazy --no-hello part &&
	id=$(cat out) && fc=$(vm_pid "$id") &&
	wait_for sh -c "! kill -0 $fc 2>/dev/null" &&
	grep "is corrupt on the server" "$FCSNAP_DIR/run/$id/log" >lines &&
	test "$(wc -l <lines)" = 1 && grep -q "chunk $k of mem .*nothing was published" lines &&
	grep -q "firecracker is killed" lines &&
	! published part && wait_for no_fill part &&
	{ fc-kill "$id" 2>/dev/null || :; } && ! published part && cp obj.orig "$obj" && wait_for test_no_strays
'

test_expect_success 'a chunk missing on the server: the VM is killed, one line names it' '
	rm -rf "$(pull_dir part)" &&
	k=$(mem_chunks part | tail -1) &&
	obj=$S3_DATA/$S3_BUCKET/lz/chunks/$k._S3rver_object &&
	mv "$obj" obj.away &&
	FCSNAP_REMOTE=$R expect_code 0 fc-snap-restore --lazy --no-hello part &&
	id=$(cat out) && fc=$(vm_pid "$id") &&
	wait_for sh -c "! kill -0 $fc 2>/dev/null" &&
	grep "of mem at offset" "$FCSNAP_DIR/run/$id/log" >lines &&
	test "$(wc -l <lines)" = 1 &&
	grep -q "chunk $k of mem .*is missing on the server.*fc-snap-push --verify" lines &&
	wait_for no_fill part && mv obj.away "$obj" &&
	{ fc-kill "$id" 2>/dev/null || :; } && ! published part && wait_for test_no_strays
'

test_expect_success 'the page server SIGKILLed: the VM is killed, its log says why' '
	pager_with --no-fill && rm -rf "$(pull_dir part)" &&
	FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R expect_code 0 \
		fc-snap-restore --lazy part && id=$(cat out) &&
	fc=$(vm_pid "$id") && srv=$(server_of "$id") && test -n "$srv" &&
	kill -KILL "$srv" &&
	wait_for sh -c "! kill -0 $fc 2>/dev/null" &&
	grep -q "the page server (pid $srv) was killed by signal 9: firecracker (pid $fc) killed" \
		"$FCSNAP_DIR/run/$id/log" &&
	{ fc-kill "$id" 2>/dev/null || :; } && ! published part && wait_for test_no_strays
'

test_expect_success 'ten concurrent lazy restores of one snapshot: each chunk fetched once' '
	pushed ten 10 4M && mem_chunks ten >keys && test "$(wc -l <keys)" -gt 8 &&
	logging_curl && : >"$TRASH/cfglog" &&
	for i in 0 1 2 3 4 5 6 7 8 9; do
		FCSNAP_CURL=$TRASH/logcurl FCSNAP_REMOTE=$R \
			fc-snap-restore --lazy ten >"id.$i" 2>"err.$i" &
	done &&
	wait &&
	for i in 0 1 2 3 4 5 6 7 8 9; do
		id=$(cat "id.$i") && test -n "$id" && vm_ping "$id" ||
			{ cat "err.$i"; exit 1; }
	done &&
	wait_for published ten && wait_for no_fill ten &&
	[ "$(sha "$(snapdir ten)/mem")" = "$(cat ten.mem.sha)" ] &&
	while read -r k; do
		n=$(grep -c "chunks/$k\"" "$TRASH/cfglog") &&
		test "$n" = 1 || { echo "chunk $k fetched $n times"; exit 1; }
	done <keys &&
	for i in 0 1 2 3 4 5 6 7 8 9; do vm_ping "$(cat "id.$i")" || exit 1; done &&
	fc-kill --all && no_run_dirs && wait_for test_no_strays
'

test_expect_success 'S3 killed mid-run: the fault is retried, then the VM is killed, nothing published' '
	rm -rf "$(pull_dir part)" &&
	pager_with --no-fill --fetch-timeout 2s &&
	FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R expect_code 0 \
		fc-snap-restore --lazy --no-hello part && id=$(cat out) &&
	fc=$(vm_pid "$id") &&
	kill -KILL "$S3_PID" && wait_for t_gone "$S3_PID" &&
	{ fc-exec -v "$id" -- true >/dev/null 2>&1 & } && ex=$! &&
	wait_for sh -c "! kill -0 $fc 2>/dev/null" &&
	{ kill "$ex" 2>/dev/null || :; } && { wait "$ex" || :; } &&
	grep "failed (tried for" "$FCSNAP_DIR/run/$id/log" >lines &&
	test "$(wc -l <lines)" = 1 && grep -q "firecracker is killed" lines &&
	grep -q "fc-snap-pull resumes the partial pull" lines &&
	! published part && test -d "$(pull_dir part)" &&
	{ fc-kill "$id" 2>/dev/null || :; } && ! published part && wait_for test_no_strays
'

test_done
