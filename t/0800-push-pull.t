#!/bin/sh
# fc-snap-push / fc-snap-pull against a real, signature-checking S3 server:
# byte-identical round trips with holes kept, deduplication, zero chunks
# never stored, local reuse, and refusal of bad credentials.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3-lib.sh"
s3_start
R=s3://$S3_BUCKET/snaps
SD=$FCSNAP_DIR/snapshots

# jget KEY FILE: a number from a flat JSON object.
jget() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$2"; }

# chunks stored under a prefix
nchunks() { s3-cli ls "s3://$S3_BUCKET/$1/chunks/" | wc -l; }

# mksnap NAME: a 64 MiB sparse mem with 8 MiB of random data in two places
mksnap() {
	store-tool snap "$1" 64M 1 >/dev/null &&
	head -c 5M /dev/urandom | dd of="$SD/$1/mem" bs=1M seek=10 conv=notrunc 2>/dev/null &&
	head -c 3M /dev/urandom | dd of="$SD/$1/mem" bs=1M seek=40 conv=notrunc 2>/dev/null &&
	head -c 100000 /dev/urandom | dd of="$SD/$1/rootfs.ext4" bs=1 seek=8000000 conv=notrunc 2>/dev/null
}

same_snap() {
	for f in vmstate mem rootfs.ext4; do
		[ "$(sha "$SD/$1/$f")" = "$(sha "$SD/$2/$f")" ] || { echo "$f differs"; return 1; }
	done
}

test_expect_success 'a wrong secret is refused with one clear line' '
	mksnap py &&
	AWS_SECRET_ACCESS_KEY=wrong expect_code 1 fc-snap-push py "$R" &&
	one_line_err &&
	grep_err "^fc-snap-push: .*(signature|credentials|secret)" &&
	AWS_SECRET_ACCESS_KEY=wrong expect_code 1 fc-snap-pull py "$R" &&
	one_line_err && grep_err "^fc-snap-pull: "
'

test_expect_success 'push stores only non-zero chunks, and the manifest and meta.json' '
	fc-snap-push --json py "$R" >push1 &&
	[ "$(jget chunks_total push1)" = 21 ] &&
	[ "$(jget skipped_present push1)" = 0 ] &&
	up=$(jget uploaded push1) && z=$(jget skipped_zero push1) &&
	[ "$(nchunks snaps)" = "$up" ] &&
	[ "$z" -ge 14 ] &&
	s3-cli head "$R/snapshots/py/manifest" >/dev/null &&
	s3-cli cat "$R/snapshots/py/meta.json" | cmp - "$SD/py/meta.json"
'

test_expect_success 'pull round trip is byte-identical and keeps holes' '
	fc-snap-pull --json --as copy py "$R" >pull1 &&
	same_snap py copy &&
	[ "$(jget downloaded pull1)" = "$(jget uploaded push1)" ] &&
	blocks=$(stat -c %b "$SD/copy/mem") &&
	[ $((blocks * 512)) -le $((9 * 1048576)) ] &&
	[ "$(stat -c %s "$SD/copy/mem")" = 67108864 ] &&
	[ "$(stat -c %a "$SD/copy/mem")" = 600 ] &&
	grep -q "\"name\":\"copy\"" "$SD/copy/meta.json" &&
	fc-snap-ls -q | grep -qx copy &&
	test_no_strays && [ ! -e "$SD/.pull-copy" ]
'

test_expect_success 'a second push of an unchanged snapshot uploads no chunk' '
	fc-snap-push --json py "$R" >push2 &&
	[ "$(jget uploaded push2)" = 0 ] &&
	[ "$(jget bytes_uploaded push2)" = 0 ] &&
	[ "$(jget skipped_present push2)" -gt 0 ]
'

test_expect_success 'a push after one memory page changed uploads one chunk' '
	head -c 4096 /dev/urandom | dd of="$SD/py/mem" bs=4096 seek=2600 conv=notrunc 2>/dev/null &&
	fc-snap-push --json py "$R" >push3 &&
	[ "$(jget uploaded push3)" = 1 ] &&
	[ "$(jget bytes_uploaded push3)" = 4194304 ]
'

test_expect_success 'a pull over an older local copy downloads only the changed chunk' '
	fc-snap-pull --json --as copy py "$R" >pull2 &&
	same_snap py copy &&
	[ "$(jget downloaded pull2)" = 1 ] &&
	[ "$(jget bytes_downloaded pull2)" = 4194304 ] &&
	[ "$(jget reused_local pull2)" -gt 0 ]
'

test_expect_success 'a page that becomes all zero is stored as nothing' '
	dd if=/dev/zero of="$SD/py/mem" bs=1M seek=40 count=3 conv=notrunc 2>/dev/null &&
	fc-snap-push --json py "$R" >push4 &&
	[ "$(jget uploaded push4)" = 0 ] &&
	[ "$(jget skipped_zero push4)" = $(($(jget skipped_zero push1) + 1)) ] &&
	fc-snap-pull --as copy py "$R" && same_snap py copy
'

test_expect_success 'identical chunks are uploaded once' '
	store-tool snap twin 16M 1 >/dev/null &&
	head -c 4M /dev/urandom >blk &&
	dd if=blk of="$SD/twin/mem" bs=4M seek=1 conv=notrunc 2>/dev/null &&
	dd if=blk of="$SD/twin/mem" bs=4M seek=3 conv=notrunc 2>/dev/null &&
	fc-snap-push --json twin "s3://$S3_BUCKET/twin" >tw &&
	[ "$(nchunks twin)" = "$(jget uploaded tw)" ] &&
	[ "$(jget skipped_duplicate tw)" -ge 1 ] &&
	rm -rf "$SD/twin" && fc-snap-pull twin "s3://$S3_BUCKET/twin" &&
	dd if="$SD/twin/mem" bs=4M skip=1 count=1 2>/dev/null | cmp - blk &&
	dd if="$SD/twin/mem" bs=4M skip=3 count=1 2>/dev/null | cmp - blk
'

test_expect_success 'the seed spellings: --lang and --bucket/--prefix, and FCSNAP_REMOTE' '
	fc-snap-push --json --lang py --bucket "$S3_BUCKET" --prefix snaps >p5 &&
	[ "$(jget uploaded p5)" = 0 ] &&
	FCSNAP_REMOTE=$R fc-snap-pull --as viaenv py &&
	same_snap py viaenv &&
	expect_code 2 fc-snap-push py && one_line_err && grep_err "FCSNAP_REMOTE"
'

test_expect_success 'a snapshot that is not there is named' '
	expect_code 1 fc-snap-pull nosuch "$R" &&
	one_line_err && grep_err "no snapshot named nosuch at s3://test/snaps" &&
	expect_code 1 fc-snap-push nosuch "$R" &&
	one_line_err && grep_err "no snapshot named nosuch" &&
	test_no_strays && [ ! -e "$SD/.pull-nosuch" ]
'

test_expect_success 'keys with spaces and UTF-8 in the prefix round-trip' '
	P="s3://$S3_BUCKET/a dir/été ሴ/x" &&
	fc-snap-push --json py "$P" >pu &&
	s3-cli ls "s3://$S3_BUCKET/a dir/été ሴ/x/snapshots/" | grep -q "x/snapshots/py/manifest" &&
	fc-snap-pull --as utf py "$P" &&
	same_snap py utf
'

test_expect_success 'fc-snap-ls --remote lists pushed snapshots: table, -q, --json, names' '
	fc-snap-ls --remote "$R" -q >q &&
	printf "py\n" >want && cmp want q &&
	fc-snap-push twin "$R" &&
	mkdir -p tmpd && TMPDIR=$TRASH/tmpd fc-snap-ls --remote "$R" >tab &&
	[ -z "$(ls -A tmpd)" ] &&
	head -n 1 tab | grep -Eq "^NAME +VMSTATE +MEM +MEM-USED +DISK +FC +CREATED" &&
	grep -Eq "^py +6 +64M " tab && grep -Eq "^twin +6 +16M " tab &&
	fc-snap-ls -r "$R" --json twin >js &&
	[ "$(wc -l <js)" = 1 ] && grep -q "^{\"format\":1,\"name\":\"twin\"" js &&
	expect_code 1 fc-snap-ls --remote "$R" nosuch py &&
	grep_err "no snapshot named nosuch at s3://test/snaps" && grep_out "^py " &&
	fc-snap-ls --remote "s3://$S3_BUCKET/empty" >e && [ ! -s e ] &&
	test_no_strays
'

test_expect_success 'a remote snapshot with a damaged meta.json is listed as damaged' '
	printf "{\"format\":1" >bad.json &&
	s3-cli put "$R/snapshots/twin/meta.json" bad.json &&
	fc-snap-ls --remote "$R" >tab &&
	grep -Eq "^twin +damaged: meta.json is damaged" tab
'

test_expect_success 'usage errors exit 2 with one line' '
	expect_code 2 fc-snap-push && one_line_err &&
	expect_code 2 fc-snap-push --chunk-size 1K py "$R" && one_line_err &&
	expect_code 2 fc-snap-pull -j 0 py "$R" && one_line_err &&
	expect_code 2 fc-snap-pull py "$R" extra && one_line_err &&
	expect_code 2 fc-snap-pull --as ../x py "$R" && one_line_err &&
	fc-snap-push --help | grep -q "^usage: fc-snap-push" &&
	fc-snap-pull --version | grep -q "^fc-snap-pull (fcsnap) "
'

test_done
