#!/bin/sh
# fc-snap-push --verify=full: a chunk corrupted in place on the server
# (same size, so the listing and a HEAD see nothing wrong) is found by
# GETting and hashing every listed chunk, uploaded again, and the snapshot
# pulls; plain --verify (HEAD) does not notice it, and the pull refuses
# the corrupt chunk.  Also: a raw chunk grown on the server is refused by
# the pull (which writes raw chunks straight into place) before it can
# spill past its own range.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
R=s3://$S3_BUCKET/v
SD=$FCSNAP_DIR/snapshots

jget() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$2"; }

# obj KEY: s3rver's data file of the object KEY in the bucket
obj() { printf '%s/%s/%s._S3rver_object\n' "$S3_DATA" "$S3_BUCKET" "$1"; }

test_expect_success 'setup: a snapshot pushed, one raw chunk corrupted in place' '
	store-tool snap v 16M 1 >/dev/null &&
	head -c 12M /dev/urandom | dd of="$SD/v/mem" bs=1M seek=2 conv=notrunc 2>/dev/null &&
	store-tool restat v &&
	fc-snap-push --json v "$R" >push &&
	[ "$(jget uploaded push)" -ge 3 ] &&
	hash=$(dd if="$SD/v/mem" bs=4M skip=1 count=1 2>/dev/null | sha256sum | cut -c1-64) &&
	echo "$hash" >hash &&
	f=$(obj "v/chunks/$hash") && [ -f "$f" ] &&
	size=$(stat -c %s "$f") && [ "$size" = 4194304 ] &&
	printf "\\377\\377\\377\\377" | dd of="$f" bs=1 seek=1000000 conv=notrunc 2>/dev/null &&
	[ "$(stat -c %s "$f")" = "$size" ] &&
	[ "$(s3-cli head "$R/chunks/$hash")" = 4194304 ] &&
	mkdir keep && cp -a "$SD/v" keep/ && fc-snap-rm v
'

test_expect_success 'the pull refuses the corrupt chunk and publishes nothing' '
	expect_code 1 fc-snap-pull v "$R" &&
	one_line_err &&
	grep_err "chunk $(cat hash) of mem at offset 4194304 is corrupt on the server .*SHA-256 is not its name.*push the snapshot again with fc-snap-push --verify=full" &&
	[ ! -e "$SD/v" ]
'

test_expect_success 'push --verify (HEAD) does not notice it: right name, right size' '
	cp -a keep/v "$SD/" &&
	fc-snap-push --verify --json v "$R" >p1 &&
	[ "$(jget verified p1)" = "$(jget uploaded push)" ] &&
	[ "$(jget repaired p1)" = 0 ] && [ "$(jget uploaded p1)" = 0 ] &&
	! cmp -s "$(obj "v/chunks/$(cat hash)")" keep/v/mem
'

test_expect_success 'push --verify=full -n finds it by its hash and sends nothing' '
	fc-snap-push -n --verify=full --json v "$R" >p2 &&
	[ "$(jget verified p2)" = "$(jget uploaded push)" ] &&
	[ "$(jget repaired p2)" = 1 ] && [ "$(jget uploaded p2)" = 1 ] &&
	expect_code 1 fc-snap-pull --as v2 v "$R" && grep_err "is corrupt on the server"
'

test_expect_success 'push --verify=full GETs and hashes every listed chunk once and sends the bad one again' '
	fc-snap-push --verify=full --json v "$R" >p3 &&
	cat p3 &&
	[ "$(jget verified p3)" = "$(jget uploaded push)" ] &&
	[ "$(jget repaired p3)" = 1 ] && [ "$(jget uploaded p3)" = 1 ] &&
	[ "$(jget bytes_uploaded p3)" = 4194304 ] &&
	[ "$(jget skipped_present p3)" = $(($(jget uploaded push) - 1)) ] &&
	fc-snap-rm v && rm -rf "$SD/.pull-"* &&
	fc-snap-pull v "$R" &&
	cmp "$SD/v/mem" keep/v/mem && cmp "$SD/v/rootfs.ext4" keep/v/rootfs.ext4
'

test_expect_success 'a second push --verify=full finds nothing to repair' '
	fc-snap-push --verify=full --json v "$R" >p4 &&
	[ "$(jget repaired p4)" = 0 ] && [ "$(jget uploaded p4)" = 0 ] &&
	[ "$(jget verified p4)" = "$(jget uploaded push)" ]
'

test_expect_success 'a bad --verify mode is a usage error naming it' '
	expect_code 2 fc-snap-push --verify=quick v "$R" &&
	one_line_err && grep_err "verify.*quick.*head.*full"
'

test_expect_success 'a raw chunk grown on the server: the pull refuses it, publishes nothing' '
	f=$(obj "v/chunks/$(cat hash)") &&
	printf "tail" >>"$f" &&
	s3-cli head "$R/chunks/$(cat hash)" &&
	fc-snap-rm v && rm -rf "$SD/.pull-"* &&
	expect_code 1 fc-snap-pull -j 1 v "$R" &&
	one_line_err &&
	grep_err "chunk $(cat hash) of mem at offset 4194304 is corrupt on the server .*larger than the chunk" &&
	[ ! -e "$SD/v" ] && test_no_strays
'

test_expect_success 'the listing shows its size, so even a plain push sends it again, and the pull works' '
	cp -a keep/v "$SD/" &&
	fc-snap-push --json v "$R" >p5 &&
	[ "$(jget repaired p5)" = 0 ] && [ "$(jget uploaded p5)" = 1 ] &&
	fc-snap-rm v && rm -rf "$SD/.pull-"* &&
	fc-snap-pull v "$R" && cmp "$SD/v/mem" keep/v/mem
'

test_done
