#!/bin/sh
# A hostile bucket gets nothing from fc-snap-pull (fcsnap-security(7)):
# crafted manifests and meta.json objects, uploaded to a real
# signature-checking S3 server, are refused before anything is written,
# or their host-side settings are dropped.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
SD=$FCSNAP_DIR/snapshots
TIB=1099511627776

R=s3://$S3_BUCKET/good

# evil NAME MANIFEST META: the snapshot NAME at $R (beside tiny, whose
# chunks are there) made of the given manifest and meta.json, renamed.
evil() {
	sed "s/^{\"format\":\([0-9]\),\"name\":\"tiny\"/{\"format\":\1,\"name\":\"$1\"/" "$2" >"$2.up" &&
	sed "s/^{\"format\":1,\"name\":\"tiny\"/{\"format\":1,\"name\":\"$1\"/" "$3" >"$3.up" &&
	grep -q "\"name\":\"$1\"" "$2.up" && grep -q "\"name\":\"$1\"" "$3.up" &&
	s3-cli put "$R/snapshots/$1/manifest" "$2.up" &&
	s3-cli put "$R/snapshots/$1/meta.json" "$3.up"
}

# set_chunks FILE LIST <manifest: FILE's chunk list replaced by LIST, or
# by the contents of file LIST when it is one
set_chunks() {
	if [ -f "$2" ]; then cp "$2" ".list-$1"; else printf %s "$2" >".list-$1"; fi
	_m=$(cat)
	printf %s "$_m" | sed "s/\(\"name\":\"$1\"[^[]*\[\)[^]]*\].*/\1/" | tr -d "\n"
	cat ".list-$1"
	printf %s "$_m" | sed "s/.*\"name\":\"$1\"[^[]*\[[^]]*\(\].*\)/\1/"
}
# set_size FILE N <manifest or meta.json: FILE's size replaced by N
set_size() { sed "s/\(\"$1\":{\"size\":\|\"name\":\"$1\",\"size\":\)[0-9]*/\1$2/"; }
nulls() { yes null | head -n "$1" | paste -sd, -; }

# nothing_pulled NAME: no snapshot, partial pull or temp dir of NAME
nothing_pulled() {
	[ ! -e "$SD/$1" ] && [ ! -e "$SD/.pull-$1" ] && test_no_strays
}

test_expect_success 'setup: a small snapshot, pushed' '
	store-tool snap tiny 8M 1 >/dev/null &&
	fc-snap-push tiny "$R" &&
	s3-cli cat "$R/snapshots/tiny/manifest" >man &&
	s3-cli cat "$R/snapshots/tiny/meta.json" >meta &&
	X=$(sha "$SD/tiny/vmstate") && echo "$X" >x &&
	grep -q "\"vmstate\".*\[\"$X\"\]" man
'
X=$(cat "$TRASH/x" 2>/dev/null)

# vmstate is the 6-byte chunk X; naming X as mem'"'"'s short last chunk of
# 100 bytes made pull write 94 bytes of its heap after X into mem
test_expect_success 'one chunk named at positions of different lengths is refused (no heap in the snapshot)' '
	set_size mem 4194404 <man | set_chunks mem "null,\"$X\"" >m1 &&
	grep -q "\"mem\",\"size\":4194404,.*\[null,\"$X\"\]" m1 &&
	evil e1 m1 meta &&
	expect_code 1 fc-snap-pull e1 "$R" &&
	one_line_err && grep_err "manifest is damaged: chunk $X is named at positions of different lengths" &&
	nothing_pulled e1
'

test_expect_success 'one chunk named both raw and .sparse is refused' '
	set_chunks mem "\"$X.sparse\",null" <man >m2 &&
	evil e2 m2 meta &&
	expect_code 1 fc-snap-pull e2 "$R" &&
	one_line_err && grep_err "manifest is damaged: chunk $X is named both raw and .sparse" &&
	nothing_pulled e2
'

test_expect_success '10 TiB of null chunks is refused, whatever meta.json says' '
	nulls 2621440 >l3 && set_size mem $((10 * TIB)) <man | set_chunks mem l3 >m3 &&
	[ "$(stat -c %s m3)" -gt 13000000 ] &&
	evil e3 m3 meta &&
	expect_code 1 fc-snap-pull e3 "$R" &&
	one_line_err && grep_err "manifest is damaged: mem is $((10 * TIB)) bytes, more than 1 TiB" &&
	nothing_pulled e3
'

test_expect_success 'file sizes of the manifest and of meta.json must be equal' '
	set_size mem 16777216 <man | set_chunks mem "null,null,null,null" >m4 &&
	evil e4 m4 meta &&
	expect_code 1 fc-snap-pull e4 "$R" &&
	one_line_err &&
	grep_err "e4 at s3://test/good is damaged: its manifest gives mem 16777216 bytes, its meta.json 8388608" &&
	nothing_pulled e4
'

test_expect_success 'mem larger than its mem_mib is refused, even when both agree' '
	set_size mem 16777216 <meta >meta5 &&
	evil e5 m4 meta5 &&
	expect_code 1 fc-snap-pull e5 "$R" &&
	one_line_err && grep_err "mem is 16777216 bytes, more than its mem_mib of 8 MiB" &&
	nothing_pulled e5
'

test_expect_success 'meta.json strings must be what they claim' '
	sed "s/\"cpu_vendor\":\"[^\"]*\"/\"cpu_vendor\":\"x\\\\u001b[2J\"/" meta >meta6 &&
	grep -q "x.u001b" meta6 && evil e6 man meta6 &&
	expect_code 1 fc-snap-pull e6 "$R" &&
	one_line_err && grep_err "meta.json is damaged: \"?cpu_vendor" &&
	! grep -q "$(printf "\033")" err && nothing_pulled e6 &&
	sed "s/\"firecracker_version\":\"[^\"]*\"/\"firecracker_version\":\"1.7;rm -rf \/\"/" meta >meta9 &&
	grep -q "1.7;rm" meta9 && evil e9 man meta9 &&
	expect_code 1 fc-snap-pull e9 "$R" &&
	one_line_err && grep_err "meta.json is damaged: firecracker_version is not a version" &&
	nothing_pulled e9
'

test_expect_success 'fc-snap-ls --remote shows only checked data: bad strings as damaged' '
	fc-snap-ls --remote "$R" e6 e9 >tab &&
	grep -Eq "^e6 +damaged: meta.json is damaged: \"?cpu_vendor" tab &&
	grep -Eq "^e9 +damaged: meta.json is damaged: firecracker_version is not a version" tab &&
	! grep -q "$(printf "\033")" tab &&
	sed "s|\"kernel\":\"[^\"]*\"|\"kernel\":\"/etc/shadow\"|" meta >meta8 && evil e8 man meta8 &&
	fc-snap-ls --json --remote "$R" e8 >js &&
	grep -q "\"name\":\"e8\"" js && ! grep -q shadow js
'

test_expect_success 'modes that let group or others write are not taken from the manifest' '
	sed "s/\"mode\":[0-9]*/\"mode\":438/g" man >m8 && grep -q "\"mode\":438" m8 &&
	! grep -q "\"mode\":[0-35-9]" m8 &&
	evil e8 m8 meta &&
	fc-snap-pull e8 "$R" &&
	for f in meta.json vmstate mem rootfs.ext4; do
		test "$(stat -c %a "$SD/e8/$f")" = 644 || { echo "$f: $(stat -c %a "$SD/e8/$f")"; false; }
	done &&
	expect_code 0 fc-snap-ls e8 && grep_out "^e8 +[0-9]"
'

free=$(df -B1 --output=avail "$FCSNAP_DIR" | tail -1)
if [ "$free" -lt $((TIB + 4194304)) ]; then
test_expect_success 'a snapshot larger than the free space is refused before any download' '
	Y=$(printf y | sha256sum | cut -d" " -f1) &&
	sed "s/\"chunk_size\":[0-9]*/\"chunk_size\":1073741824/" man |
		set_chunks mem null | set_size rootfs.ext4 $TIB |
		set_chunks rootfs.ext4 "$(yes "\"$Y\"" | head -n 1024 | paste -sd, -)" >m7 &&
	grep -q "\"rootfs.ext4\",\"size\":$TIB," m7 &&
	set_size rootfs.ext4 $TIB <meta | sed "s/\(\"rootfs.ext4\":{[^}]*\"disk\":\)[0-9]*/\1$TIB/" >meta7 &&
	evil e7 m7 meta7 &&
	expect_code 1 fc-snap-pull e7 "$R" &&
	one_line_err && grep_err "e7 at s3://test/good needs 1048576 MiB in .*, [0-9]+ MiB are free" &&
	nothing_pulled e7
'
else
test_skip 'a snapshot larger than the free space is refused' "more than 1 TiB free in $FCSNAP_DIR"
fi

test_done
