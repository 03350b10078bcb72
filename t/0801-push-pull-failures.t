#!/bin/sh
# fc-snap-push / fc-snap-pull failures: a pull killed half-way resumes, a
# corrupt chunk on the server is caught and nothing is published, a full
# disk leaves the old snapshot and no temp dir, a push killed before the
# end leaves no manifest.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3-lib.sh"
s3_start
R=s3://$S3_BUCKET/f
SD=$FCSNAP_DIR/snapshots

jget() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$2"; }

# same_dirs DIR1 DIR2: the three snapshot files are identical
same_dirs() {
	for f in vmstate mem rootfs.ext4; do
		[ "$(sha "$1/$f")" = "$(sha "$2/$f")" ] || { echo "$f differs"; return 1; }
	done
}

# big: 24 MiB of random memory in 64 KiB chunks (384 of them)
test_expect_success 'setup: a snapshot of many small chunks, pushed' '
	store-tool snap big 32M 1 >/dev/null &&
	head -c 24M /dev/urandom | dd of="$SD/big/mem" bs=1M seek=4 conv=notrunc 2>/dev/null &&
	fc-snap-push --json --chunk-size 64K big "$R" >push &&
	[ "$(jget uploaded push)" -ge 384 ] &&
	mkdir keep && cp -a "$SD/big" keep/ && fc-snap-rm big
'

test_expect_success 'a pull killed with SIGKILL half-way resumes and downloads only the rest' '
	fc-snap-pull -j 1 big "$R" >/dev/null 2>&1 &
	pid=$! &&
	j="$SD/.pull-big/journal" &&
	i=0 &&
	until [ -f "$j" ] && [ "$(wc -l <"$j")" -ge 40 ]; do
		i=$((i + 1)); [ $i -lt 3000 ] || { echo "pull never got going"; exit 1; }
		kill -0 $pid 2>/dev/null || { echo "pull ended before the kill"; exit 1; }
		sleep 0.01
	done &&
	kill -9 $pid && { wait $pid || :; } &&
	[ ! -e "$SD/big" ] && [ -d "$SD/.pull-big" ] &&
	wait_for test_no_strays &&
	fc-snap-pull --json big "$R" >pull &&
	cat pull &&
	resumed=$(jget resumed pull) && got=$(jget downloaded pull) &&
	dup=$(jget duplicate pull) &&
	[ "$resumed" -ge 40 ] &&
	[ $((resumed + got + dup)) = $(($(jget uploaded push) + $(jget skipped_duplicate push))) ] &&
	[ "$(jget bytes_downloaded pull)" -lt $((24 * 1048576)) ] &&
	[ ! -e "$SD/.pull-big" ] &&
	same_dirs "$SD/big" "$TRASH/keep/big"
'

test_expect_success 'a chunk corrupted on the server fails the pull, names it, publishes nothing' '
	key=$(s3-cli ls "$R/chunks/" | sed -n "5s/^[0-9]*\t//p") &&
	echo "$key" >"$TRASH/key5" &&
	hash=${key##*/} &&
	head -c 65536 /dev/urandom >junk &&
	s3-cli put "s3://$S3_BUCKET/$key" junk &&
	expect_code 1 fc-snap-pull --as victim big "$R" &&
	one_line_err &&
	grep_err "chunk $hash of mem at offset [0-9]+ is corrupt on the server" &&
	[ ! -e "$SD/victim" ] &&
	fc-snap-ls -q | grep -vqx victim &&
	test_no_strays
'

test_expect_success 'a corrupt chunk over an existing snapshot leaves it untouched' '
	head -c 24M /dev/urandom | dd of="$SD/big/mem" bs=1M seek=4 conv=notrunc 2>/dev/null &&
	before=$(sha "$SD/big/mem") &&
	expect_code 1 fc-snap-pull -j 2 big "$R" &&
	grep_err "is corrupt on the server" &&
	[ "$(sha "$SD/big/mem")" = "$before" ]
'

test_expect_success 'a missing chunk on the server is named' '
	s3-cli rm "s3://$S3_BUCKET/$(s3-cli ls "$R/chunks/" | sed -n "7s/^[0-9]*\t//p")" &&
	rm -rf "$SD/.pull-"* &&
	expect_code 1 fc-snap-pull --as victim2 big "$R" &&
	one_line_err && grep_err "is missing on the server" &&
	[ ! -e "$SD/victim2" ]
'

test_expect_success 'once the bad chunks are deleted, a push uploads them again and the pull works' '
	rm -rf "$SD/.pull-"* &&
	s3-cli rm "s3://$S3_BUCKET/$(cat "$TRASH/key5")" &&
	rm -rf "$SD/big" && cp -a "$TRASH/keep/big" "$SD/big" &&
	fc-snap-push --chunk-size 64K big "$R" >/dev/null &&
	fc-snap-pull --as healed big "$R" &&
	same_dirs "$SD/big" "$SD/healed"
'

test_expect_success 'a push killed before the end leaves no manifest, so no remote snapshot' '
	store-tool snap half 32M 1 >/dev/null &&
	head -c 24M /dev/urandom | dd of="$SD/half/mem" bs=1M seek=4 conv=notrunc 2>/dev/null &&
	fc-snap-push -j 1 --chunk-size 64K half "s3://$S3_BUCKET/h" >/dev/null 2>&1 &
	pid=$! && i=0 &&
	until [ "$(s3-cli ls "s3://$S3_BUCKET/h/chunks/" | wc -l)" -ge 10 ]; do
		i=$((i + 1)); [ $i -lt 3000 ] || { echo "push never got going"; exit 1; }
		kill -0 $pid 2>/dev/null || { echo "push ended before the kill"; exit 1; }
		sleep 0.01
	done &&
	kill -9 $pid && { wait $pid || :; } &&
	expect_code 3 s3-cli head "s3://$S3_BUCKET/h/snapshots/half/manifest" &&
	expect_code 1 fc-snap-pull --as x half "s3://$S3_BUCKET/h" &&
	grep_err "no snapshot named half" &&
	fc-snap-push --json --chunk-size 64K half "s3://$S3_BUCKET/h" >p2 &&
	[ "$(jget skipped_present p2)" -ge 10 ]
'

test_expect_success 'SIGTERM stops a pull, publishes nothing, leaves no process' '
	fc-snap-rm healed &&
	fc-snap-pull -j 1 --as healed big "$R" >/dev/null 2>err &
	pid=$! && i=0 &&
	until [ -f "$SD/.pull-healed/journal" ] && [ "$(wc -l <"$SD/.pull-healed/journal")" -ge 5 ]; do
		i=$((i + 1)); [ $i -lt 3000 ] || { echo "pull never got going"; exit 1; }
		sleep 0.01
	done &&
	kill -TERM $pid && st=0 && wait $pid || st=$? &&
	[ "$st" = 1 ] &&
	grep -q "interrupted" err &&
	[ ! -e "$SD/healed" ] &&
	wait_for test_no_strays
'

if [ "$(id -u)" = 0 ] && mkdir -p "$TRASH/small" &&
	mount -t tmpfs -o size=6m fcsnap-test "$TRASH/small" 2>/dev/null; then
	at_exit "umount -l '$TRASH/small'"
	test_expect_success 'disk full during a pull: old snapshot intact, temp dir removed, one line' '
		FCSNAP_DIR=$TRASH/small/store && export FCSNAP_DIR &&
		store-tool snap big 4M 1 >/dev/null &&
		before=$(cat "$FCSNAP_DIR/snapshots/big/meta.json" | sha256sum) &&
		expect_code 1 fc-snap-pull big "$R" &&
		one_line_err &&
		grep_err "No space left on device" &&
		grep_err "partial pull was removed" &&
		[ "$(cat "$FCSNAP_DIR/snapshots/big/meta.json" | sha256sum)" = "$before" ] &&
		[ -z "$(ls -A "$FCSNAP_DIR/snapshots" | grep -v "^big\$")" ] &&
		test_no_strays
	'
else
	test_skip 'disk full during a pull' 'needs root to mount a small tmpfs'
fi

test_done
