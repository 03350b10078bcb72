#!/bin/sh
# fc-snap-push / fc-snap-pull failures: a pull killed half-way resumes (raw
# and sparse chunks), a corrupt chunk on the server (raw, or a sparse one
# damaged in its data, length or bitmap) is caught and nothing is
# published, a full disk leaves the old snapshot and no temp dir, a push
# killed before the end leaves no manifest.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
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

# kill_pull_after N NAME URL: start a one-connection pull of NAME, SIGKILL
# it once its journal lists N chunks (s3_gate_curl holds it there).
kill_pull_after() {
	_j="$SD/.pull-$2/journal"
	s3_gate_curl "[ -f '$_j' ] && [ \$(wc -l <'$_j') -ge $1 ]" || return 1
	FCSNAP_CURL=$TRASH/gatecurl fc-snap-pull -j 1 "$2" "$3" >/dev/null 2>&1 &
	_pid=$!
	s3_gate_wait $_pid || return 1
	kill -9 $_pid
	wait $_pid || :
}

test_expect_success 'setup: a snapshot of many small chunks, pushed' '
	store-tool snap big 32M 1 >/dev/null &&
	head -c 24M /dev/urandom | dd of="$SD/big/mem" bs=1M seek=4 conv=notrunc 2>/dev/null &&
	fc-snap-push --json --chunk-size 64K big "$R" >push &&
	[ "$(jget uploaded push)" -ge 384 ] &&
	mkdir keep && cp -a "$SD/big" keep/ && fc-snap-rm big
'

test_expect_success 'a pull killed with SIGKILL half-way resumes and downloads only the rest' '
	kill_pull_after 40 big "$R" &&
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
	hash=$(dd if="$TRASH/keep/big/mem" bs=64K skip=100 count=1 2>/dev/null | sha256sum | cut -c1-64) &&
	key=f/chunks/$hash &&
	s3-cli head "s3://$S3_BUCKET/$key" >/dev/null &&
	echo "$key" >"$TRASH/key5" &&
	head -c 65536 /dev/urandom >junk &&
	s3-cli put "s3://$S3_BUCKET/$key" junk &&
	expect_code 1 fc-snap-pull --as victim big "$R" &&
	one_line_err &&
	grep_err "chunk $hash of mem at offset 6553600 is corrupt on the server" &&
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
	s3-cli rm "s3://$S3_BUCKET/$(cat "$TRASH/key5")" &&
	s3-cli rm "s3://$S3_BUCKET/$(s3-cli ls "$R/chunks/" | sed -n "7s/^[0-9]*\t//p")" &&
	rm -rf "$SD/.pull-"* &&
	expect_code 1 fc-snap-pull --as victim2 big "$R" &&
	one_line_err && grep_err "is missing on the server" &&
	[ ! -e "$SD/victim2" ]
'

test_expect_success 'once the bad chunks are deleted, a push uploads them again and the pull works' '
	rm -rf "$SD/.pull-"* &&
	rm -rf "$SD/big" && cp -a "$TRASH/keep/big" "$SD/big" &&
	fc-snap-push --chunk-size 64K big "$R" >/dev/null &&
	fc-snap-pull --as healed big "$R" &&
	same_dirs "$SD/big" "$SD/healed"
'

test_expect_success 'a push killed before the end leaves no manifest, so no remote snapshot' '
	store-tool snap half 32M 1 >/dev/null &&
	head -c 24M /dev/urandom | dd of="$SD/half/mem" bs=1M seek=4 conv=notrunc 2>/dev/null &&
	s3_gate_curl "[ \$(s3-cli ls s3://$S3_BUCKET/h/chunks/ | wc -l) -ge 10 ]" || exit 1
	FCSNAP_CURL=$TRASH/gatecurl fc-snap-push -j 1 --chunk-size 64K half "s3://$S3_BUCKET/h" \
		>/dev/null 2>&1 &
	pid=$! &&
	s3_gate_wait $pid &&
	kill -9 $pid && { wait $pid || :; } &&
	expect_code 3 s3-cli head "s3://$S3_BUCKET/h/snapshots/half/manifest" &&
	expect_code 1 fc-snap-pull --as x half "s3://$S3_BUCKET/h" &&
	grep_err "no snapshot named half" &&
	fc-snap-push --json --chunk-size 64K half "s3://$S3_BUCKET/h" >p2 &&
	[ "$(jget skipped_present p2)" -ge 10 ]
'

test_expect_success 'SIGTERM stops a pull, publishes nothing, leaves no process' '
	fc-snap-rm healed &&
	j=$SD/.pull-healed/journal &&
	s3_gate_curl "[ -f $j ] && [ \$(wc -l <$j) -ge 5 ]" || exit 1
	FCSNAP_CURL=$TRASH/gatecurl fc-snap-pull -j 1 --as healed big "$R" >/dev/null 2>err &
	pid=$! &&
	s3_gate_wait $pid &&
	kill -TERM $pid && st=0 && wait $pid || st=$? &&
	[ "$st" = 1 ] &&
	grep -q "interrupted" err &&
	[ ! -e "$SD/healed" ] &&
	wait_for test_no_strays
'

S=s3://$S3_BUCKET/sp

test_expect_success 'setup: a snapshot of raw, sparse and null chunks, pushed' '
	s3_mixsnap mix && fc-snap-push mix "$S" &&
	c2=$(s3_manifest_chunk "$S" mix mem 2) && [ "${c2%.sparse}.sparse" = "$c2" ] &&
	echo "$c2" >"$TRASH/c2" && s3-cli get "$S/chunks/$c2" "$TRASH/good" >/dev/null
'

# damaged WHY: with ./bad stored as chunk 2 of mem (a sparse one), a pull
# fails naming the chunk and WHY, and publishes nothing
damaged() {
	c2=$(cat "$TRASH/c2") &&
	s3-cli put "$S/chunks/$c2" bad &&
	rm -rf "$SD/.pull-victim" &&
	expect_code 1 fc-snap-pull --as victim mix "$S" &&
	one_line_err &&
	grep_err "^fc-snap-pull: chunk $c2 of mem at offset 8388608 is corrupt on the server \\(.*$1.*\\); nothing was published" &&
	[ ! -e "$SD/victim" ] && ! fc-snap-ls -q | grep -qx victim && test_no_strays
}

test_expect_success 'a sparse chunk with a flipped data byte is caught by its hash' '
	cp "$TRASH/good" bad &&
	dd if=bad bs=1 skip=5000 count=1 2>/dev/null | tr "\\0-\\377" "\\1-\\377\\0" |
		dd of=bad bs=1 seek=5000 conv=notrunc 2>/dev/null &&
	! cmp -s bad "$TRASH/good" && [ "$(stat -c %s bad)" = "$(stat -c %s "$TRASH/good")" ] &&
	damaged "its SHA-256 is not its name"
'

test_expect_success 'a truncated sparse chunk is caught' '
	head -c -1 "$TRASH/good" >bad &&
	damaged "where its bitmap says"
'

test_expect_success 'a sparse chunk with a trailing byte is caught' '
	{ cat "$TRASH/good" && printf x; } >bad &&
	damaged "where its bitmap says"
'

test_expect_success 'a sparse chunk with a bad bitmap is caught' '
	cp "$TRASH/good" bad &&
	dd if=/dev/zero of=bad bs=1 seek=16 count=128 conv=notrunc 2>/dev/null &&
	damaged "its bitmap has no page" &&
	cp "$TRASH/good" bad && printf "\\001" | dd of=bad bs=1 seek=80 conv=notrunc 2>/dev/null &&
	damaged "where its bitmap says"
'

test_expect_success 'a sparse chunk whose header has another length is caught' '
	cp "$TRASH/good" bad && printf "\\001" | dd of=bad bs=1 seek=8 conv=notrunc 2>/dev/null &&
	damaged "its header says 4194305 bytes, the manifest 4194304"
'

test_expect_success 'with the chunk repaired, the pull works' '
	s3-cli put "$S/chunks/$(cat "$TRASH/c2")" "$TRASH/good" &&
	fc-snap-pull --as victim mix "$S" &&
	same_dirs "$SD/mix" "$SD/victim" && [ ! -e "$SD/.pull-victim" ]
'

# alloc_ok FILE PAGES: FILE has PAGES pages allocated (give or take ext4's
# extent blocks): its zero pages are holes
alloc_ok() {
	_b=$(($(stat -c %b "$1") * 512))
	[ "$_b" -ge $(($2 * 4096)) ] && [ "$_b" -le $(($2 * 4096 + 65536)) ] ||
		{ echo "$1: $_b bytes allocated for $2 pages"; return 1; }
}

test_expect_success 'setup: a snapshot of sparse 64K chunks, pushed' '
	store-tool snap spm 16M 1 >/dev/null &&
	mkmem -s "$SD/spm/mem" 16 5 >"$TRASH/pages" &&
	fc-snap-push --json --chunk-size 64K spm "$S" >"$TRASH/push-spm" &&
	[ "$(jget bytes_uploaded "$TRASH/push-spm")" -lt "$(jget bytes_raw "$TRASH/push-spm")" ] &&
	s3-cli cat "$S/snapshots/spm/manifest" |
		sed "s/.*\"name\":\"mem\"[^[]*\\[\\([^]]*\\)\\].*/\\1/" | tr -d "\"" | tr "," "\\n" >"$TRASH/list" &&
	[ "$(grep -c "sparse\$" "$TRASH/list")" -ge 250 ] &&
	mkdir keep2 && cp -a "$SD/spm" keep2/ && fc-snap-rm spm
'

test_expect_success 'a pull of sparse chunks killed half-way resumes, verifies them, keeps holes' '
	kill_pull_after 60 spm "$S" &&
	j="$SD/.pull-spm/journal" &&
	[ ! -e "$SD/spm" ] &&
	awk "\$1 == 1 { print \$2 + 1 }" "$j" | while read n; do sed -n "${n}p" list; done >had &&
	[ "$(grep -c "sparse\$" had)" -ge 50 ] &&
	wait_for test_no_strays &&
	fc-snap-pull --json spm "$S" >pull &&
	cat pull &&
	[ "$(jget resumed pull)" -ge 60 ] &&
	[ $(($(jget resumed pull) + $(jget downloaded pull) + $(jget duplicate pull))) = \
	  $(($(jget uploaded push-spm) + $(jget skipped_present push-spm) +
	  $(jget skipped_duplicate push-spm))) ] &&
	[ "$(jget bytes_downloaded pull)" -lt "$(jget bytes_uploaded push-spm)" ] &&
	same_dirs "$SD/spm" "$TRASH/keep2/spm" &&
	alloc_ok "$SD/spm/mem" "$(cat pages)"
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
