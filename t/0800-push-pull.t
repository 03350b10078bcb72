#!/bin/sh
# fc-snap-push / fc-snap-pull against a real, signature-checking S3 server:
# byte-identical round trips with holes kept, deduplication, zero chunks
# and zero pages never stored (raw, sparse and null chunks), format 1
# manifests still read, local reuse, and refusal of bad credentials.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
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

test_expect_success 'a dry run reports what it would upload and uploads nothing' '
	fc-snap-push -n --json py "s3://$S3_BUCKET/dry" >dry &&
	grep -q "\"dry_run\":true" dry &&
	[ "$(jget uploaded dry)" = "$(jget uploaded push1)" ] &&
	[ -z "$(s3-cli ls "s3://$S3_BUCKET/dry/")" ]
'

test_expect_success 'a second push of an unchanged snapshot uploads no chunk' '
	fc-snap-push --json py "$R" >push2 &&
	[ "$(jget uploaded push2)" = 0 ] &&
	[ "$(jget bytes_uploaded push2)" = 0 ] &&
	[ "$(jget skipped_present push2)" -gt 0 ]
'

# chunk 2 of mem (8..12 MiB) is 2 MiB of hole and 2 MiB of data: stored
# sparse, as its header, bitmap and 512 pages
test_expect_success 'a push after one memory page changed uploads one chunk, without its zero pages' '
	head -c 4096 /dev/urandom | dd of="$SD/py/mem" bs=4096 seek=2600 conv=notrunc 2>/dev/null &&
	fc-snap-push --json py "$R" >push3 &&
	[ "$(jget uploaded push3)" = 1 ] &&
	[ "$(jget bytes_uploaded push3)" = $((16 + 128 + 2097152)) ] &&
	[ "$(jget bytes_raw push3)" = 4194304 ]
'

test_expect_success 'a pull over an older local copy downloads only the changed chunk' '
	fc-snap-pull --json --as copy py "$R" >pull2 &&
	same_snap py copy &&
	[ "$(jget downloaded pull2)" = 1 ] &&
	[ "$(jget bytes_downloaded pull2)" = $((16 + 128 + 2097152)) ] &&
	[ "$(jget bytes_raw pull2)" = 4194304 ] &&
	[ "$(jget reused_local pull2)" -gt 0 ]
'

# fstat NAME: inode, mtime and ctime of the files of local snapshot NAME
fstat() { stat -c "%n %i %y %z" "$SD/$1/vmstate" "$SD/$1/mem" "$SD/$1/rootfs.ext4" "$SD/$1/meta.json"; }

test_expect_success 'a pull of an up-to-date snapshot does nothing and says so in one line' '
	fstat copy >before &&
	expect_code 0 fc-snap-pull --json --as copy py "$R" &&
	one_line_err &&
	grep_err "^fc-snap-pull: snapshot copy is up to date with s3://test/snaps" &&
	grep -q "\"up_to_date\":true" out &&
	[ "$(jget downloaded out)" = 0 ] && [ "$(jget reused_local out)" = 0 ] &&
	fstat copy | cmp - before &&
	same_snap py copy && test_no_strays
'

test_expect_success 'a local file changed since the last pull is put right by the next one' '
	printf x | dd of="$SD/copy/mem" bs=1 seek=10485760 conv=notrunc 2>/dev/null &&
	fc-snap-pull --json --as copy py "$R" >pull3 &&
	grep -q "\"up_to_date\":false" pull3 &&
	[ "$(jget downloaded pull3)" = 1 ] &&
	same_snap py copy &&
	touch "$SD/copy/rootfs.ext4" &&
	fc-snap-pull --json --as copy py "$R" >pull4 &&
	grep -q "\"up_to_date\":false" pull4 &&
	fc-snap-pull --json --as copy py "$R" >pull5 &&
	grep -q "\"up_to_date\":true" pull5
'

test_expect_success 'a pull from another prefix or of a re-pushed snapshot is not taken as up to date' '
	fc-snap-push py "s3://$S3_BUCKET/other" &&
	fc-snap-pull --json --as copy py "s3://$S3_BUCKET/other" >pull6 &&
	grep -q "\"up_to_date\":false" pull6 &&
	fc-snap-pull --json --as copy py "$R" >pull7 &&
	grep -q "\"up_to_date\":false" pull7 &&
	fc-snap-pull --json --as copy py "$R" >pull8 &&
	grep -q "\"up_to_date\":true" pull8
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

M=s3://$S3_BUCKET/mix

# mix_holes FILE: FILE (the mix snapshot's mem) has exactly its data pages
# allocated (give or take ext4's extent blocks): every zero page is a hole
mix_holes() {
	_b=$(($(stat -c %b "$1") * 512))
	[ "$_b" -ge $((S3_MIX_PAGES * 4096)) ] && [ "$_b" -le $((S3_MIX_PAGES * 4096 + 65536)) ] ||
		{ echo "$1: $_b bytes allocated, want $((S3_MIX_PAGES * 4096))"; return 1; }
}

test_expect_success 'raw, sparse and null chunks: push stores no zero page' '
	s3_mixsnap mix &&
	fc-snap-push --json mix "$M" >pm &&
	cat pm &&
	[ "$(jget chunks_total pm)" = 13 ] &&
	[ "$(jget uploaded pm)" = 6 ] &&
	[ "$(jget skipped_zero pm)" = 7 ] &&
	[ "$(jget bytes_uploaded pm)" = "$S3_MIX_STORED" ] &&
	[ "$(jget bytes_raw pm)" = "$S3_MIX_RAW" ] &&
	[ "$S3_MIX_STORED" -lt $((S3_MIX_RAW / 2)) ] &&
	s3-cli cat "$M/snapshots/mix/manifest" | grep -q "^{\"format\":2," &&
	s3-cli ls "$M/chunks/" >objs &&
	[ "$(grep -c "\.sparse\$" objs)" = 4 ] && [ "$(grep -vc "\.sparse\$" objs)" = 2 ] &&
	[ "$(s3_manifest_chunk "$M" mix mem 1)" = null ] &&
	[ "$(s3_manifest_chunk "$M" mix mem 3)" = null ] &&
	c0=$(s3_manifest_chunk "$M" mix mem 0) &&
	[ "$c0" = "$(head -c 4M "$SD/mix/mem" | sha256sum | cut -c1-64)" ]
'

test_expect_success 'a sparse object is as fcsnap-s3(5) says: header, bitmap, present pages' '
	c2=$(s3_manifest_chunk "$M" mix mem 2) &&
	[ "${c2%.sparse}.sparse" = "$c2" ] &&
	s3-cli get "$M/chunks/$c2" obj >/dev/null &&
	[ "$(sha obj)" = "${c2%.sparse}" ] &&
	[ "$(stat -c %s obj)" = $((144 + 511 * 4096)) ] &&
	[ "$(head -c 8 obj)" = fcsparse ] &&
	[ "$(od -An -tu8 -j8 -N8 obj | tr -d " ")" = 4194304 ] &&
	[ "$(od -v -An -tx1 -j16 -N33 obj | tr -d " \n")" = "$(printf "ff%.0s" $(seq 32))fc" ] &&
	[ "$(od -An -tx1 -j143 -N1 obj | tr -d " ")" = 80 ] &&
	cmp -n 1048576 -i 144:8388608 obj "$SD/mix/mem" &&
	cmp -n $((254 * 4096)) -i $((144 + 1048576)):$((9 * 1048576 + 8192)) obj "$SD/mix/mem" &&
	cmp -i $((144 + 510 * 4096)):$((12 * 1048576 - 4096)) -n 4096 obj "$SD/mix/mem"
'

test_expect_success 'it pulls back byte-identical, every zero page a hole' '
	fc-snap-pull --json --as mix2 mix "$M" >pl &&
	cat pl &&
	same_snap mix mix2 &&
	[ "$(jget downloaded pl)" = 6 ] &&
	[ "$(jget bytes_downloaded pl)" = "$S3_MIX_STORED" ] &&
	[ "$(jget bytes_raw pl)" = "$S3_MIX_RAW" ] &&
	mix_holes "$SD/mix2/mem" &&
	[ "$(stat -c %b "$SD/mix2/mem")" -lt "$(stat -c %b "$SD/mix/mem")" ] &&
	[ "$(stat -c %b "$SD/mix2/rootfs.ext4")" -le 64 ] &&
	test_no_strays && [ ! -e "$SD/.pull-mix2" ]
'

test_expect_success 'a re-push of it uploads nothing' '
	fc-snap-push --json mix "$M" >pm2 &&
	[ "$(jget uploaded pm2)" = 0 ] &&
	[ "$(jget bytes_uploaded pm2)" = 0 ] &&
	[ "$(jget skipped_present pm2)" = 6 ]
'

test_expect_success 'a pull over a copy with zero pages written out reuses it and leaves holes' '
	fc-snap-rm mix2 && cp -a --sparse=never "$SD/mix" "$SD/mix2" &&
	fc-snap-pull --json --as mix2 mix "$M" >pl2 &&
	same_snap mix mix2 &&
	[ "$(jget downloaded pl2)" = 0 ] && [ "$(jget reused_local pl2)" = 6 ] &&
	mix_holes "$SD/mix2/mem"
'

# old_push NAME URL: store snapshot NAME as format 1 did (every non-zero
# 4 MiB chunk raw, named by the SHA-256 of its bytes, zero pages and all)
old_push() {
	_d=$SD/$1 _sep= _js="{\"format\":1,\"name\":\"$1\",\"chunk_size\":4194304,\"files\":["
	for _f in vmstate mem rootfs.ext4; do
		_sz=$(stat -c %s "$_d/$_f") _i=0 _cs= _c=
		while [ $_i -lt $(((_sz + 4194303) / 4194304)) ]; do
			dd if="$_d/$_f" of=c bs=4M skip=$_i count=1 iflag=fullblock 2>/dev/null
			if cmp -s -n "$(stat -c %s c)" c /dev/zero; then
				_c=null
			else
				_c=$(sha c)
				s3-cli put "$2/chunks/$_c" c
				_c="\"$_c\""
			fi
			_cs=$_cs${_cs:+,}$_c _i=$((_i + 1))
		done
		_js="$_js$_sep{\"name\":\"$_f\",\"size\":$_sz,\"mode\":$((0$(stat -c %a "$_d/$_f"))),\"chunks\":[$_cs]}"
		_sep=,
	done
	printf "%s]}" "$_js" >old-manifest
	s3-cli put "$2/snapshots/$1/meta.json" "$_d/meta.json"
	s3-cli put "$2/snapshots/$1/manifest" old-manifest
}

test_expect_success 'a format 1 manifest (raw chunks with zero pages inside) still pulls, with holes' '
	old_push mix "s3://$S3_BUCKET/old" &&
	s3-cli cat "s3://$S3_BUCKET/old/snapshots/mix/manifest" | grep -q "^{\"format\":1," &&
	! s3-cli ls "s3://$S3_BUCKET/old/chunks/" | grep -q sparse &&
	fc-snap-pull --json --as old mix "s3://$S3_BUCKET/old" >po &&
	same_snap mix old &&
	[ "$(jget downloaded po)" = 6 ] &&
	[ "$(jget bytes_downloaded po)" = "$S3_MIX_RAW" ] &&
	mix_holes "$SD/old/mem" &&
	touch "$SD/old/mem" &&
	fc-snap-pull --json --as old mix "s3://$S3_BUCKET/old" >po2 &&
	[ "$(jget downloaded po2)" = 0 ] && [ "$(jget reused_local po2)" = 6 ] &&
	same_snap mix old && mix_holes "$SD/old/mem"
'

test_expect_success 'a manifest with a sparse entry that claims format 1 is refused' '
	s3-cli cat "$M/snapshots/mix/manifest" | sed "s/\"format\":2/\"format\":1/" >f1 &&
	s3-cli put "s3://$S3_BUCKET/liar/snapshots/mix/manifest" f1 &&
	s3-cli put "s3://$S3_BUCKET/liar/snapshots/mix/meta.json" "$SD/mix/meta.json" &&
	expect_code 1 fc-snap-pull --as liar mix "s3://$S3_BUCKET/liar" &&
	one_line_err && grep_err "sparse chunk in a format 1 manifest" &&
	[ ! -e "$SD/liar" ] && test_no_strays
'

test_expect_success 'a snapshot without zero pages in its chunks is written as format 1' '
	store-tool snap dense 8M 1 >/dev/null &&
	head -c 8M /dev/urandom >"$SD/dense/mem" && : >"$SD/dense/rootfs.ext4" &&
	fc-snap-push dense "s3://$S3_BUCKET/dense" &&
	s3-cli cat "s3://$S3_BUCKET/dense/snapshots/dense/manifest" >dm &&
	grep -q "^{\"format\":1," dm && ! grep -q sparse dm
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
