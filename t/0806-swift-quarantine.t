#!/bin/sh
# A chunk the server still lists but cannot serve (Swift after it
# quarantined a damaged object: its data file is gone, GET and HEAD 404):
# pull names it and says to push with --verify; a plain push trusts the
# listing and sends nothing; fc-snap-push --verify finds it with a HEAD,
# sends it again, and the snapshot pulls.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
swift_start
R=s3://$S3_BUCKET/q
SD=$FCSNAP_DIR/snapshots

jget() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$2"; }

test_expect_success 'setup: a snapshot pushed to Swift, one chunk quarantined' '
	store-tool snap q 16M 1 >/dev/null &&
	head -c 12M /dev/urandom | dd of="$SD/q/mem" bs=1M seek=2 conv=notrunc 2>/dev/null &&
	fc-snap-push --json q "$R" >push &&
	[ "$(jget uploaded push)" -ge 3 ] &&
	hash=$(dd if="$SD/q/mem" bs=4M skip=1 count=1 2>/dev/null | sha256sum | cut -c1-64) &&
	echo "$hash" >hash &&
	f=$(swift_object_file "q/chunks/$hash") && [ -f "$f" ] &&
	rm "$f" &&
	s3-cli ls "$R/chunks/" | grep -q "q/chunks/$hash\$" &&
	expect_code 3 s3-cli head "$R/chunks/$hash" &&
	mkdir keep && cp -a "$SD/q" keep/ && fc-snap-rm q
'

test_expect_success 'pull names the missing chunk and says to push with --verify' '
	expect_code 1 fc-snap-pull q "$R" &&
	one_line_err &&
	grep_err "chunk $(cat hash) of mem at offset 4194304 is missing on the server .*push the snapshot again with fc-snap-push --verify" &&
	[ ! -e "$SD/q" ] && test_no_strays
'

test_expect_success 'a plain push trusts the listing and sends nothing' '
	cp -a keep/q "$SD/" &&
	fc-snap-push --json q "$R" >p2 &&
	[ "$(jget uploaded p2)" = 0 ] && [ "$(jget verified p2)" = 0 ] &&
	expect_code 3 s3-cli head "$R/chunks/$(cat hash)"
'

test_expect_success 'push --verify -n finds it and sends nothing' '
	fc-snap-push -n --verify --json q "$R" >p3 &&
	[ "$(jget verified p3)" = "$(jget uploaded push)" ] &&
	[ "$(jget repaired p3)" = 1 ] && [ "$(jget uploaded p3)" = 1 ] &&
	expect_code 3 s3-cli head "$R/chunks/$(cat hash)"
'

test_expect_success 'push --verify checks every listed chunk once and sends the missing one' '
	fc-snap-push --verify --json q "$R" >p4 &&
	cat p4 &&
	[ "$(jget verified p4)" = "$(jget uploaded push)" ] &&
	[ "$(jget repaired p4)" = 1 ] && [ "$(jget uploaded p4)" = 1 ] &&
	[ "$(jget bytes_uploaded p4)" = 4194304 ] &&
	[ "$(jget skipped_present p4)" = $(($(jget uploaded push) - 1)) ] &&
	[ "$(s3-cli head "$R/chunks/$(cat hash)")" = 4194304 ] &&
	fc-snap-rm q && fc-snap-pull q "$R" &&
	cmp "$SD/q/mem" keep/q/mem && cmp "$SD/q/rootfs.ext4" keep/q/rootfs.ext4
'

test_expect_success 'a second push --verify finds nothing to repair' '
	fc-snap-push --verify --json q "$R" >p5 &&
	[ "$(jget repaired p5)" = 0 ] && [ "$(jget uploaded p5)" = 0 ] &&
	[ "$(jget verified p5)" = "$(jget uploaded push)" ]
'

test_done
