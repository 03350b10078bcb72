#!/bin/sh
# copy_file: holes kept (same fs and across filesystems), ENOSPC on a tiny
# tmpfs leaves no destination behind and names both files.
. "$(dirname "$0")/lib.sh"

mnt="$TRASH/tiny"
at_exit 'umount "$TRASH/tiny" 2>/dev/null'

test_expect_success 'setup: a 64 MiB sparse file with two data regions' '
	dd if=/dev/urandom of=src bs=1M count=1 seek=8 conv=notrunc 2>/dev/null &&
	printf island | dd of=src bs=1M seek=40 conv=notrunc 2>/dev/null &&
	truncate -s 64M src &&
	test "$(stat -c %s src)" = 67108864
'

test_expect_success 'a copy on the same filesystem has the same bytes and keeps the holes' '
	expect_code 0 copy-file src dst &&
	grep -Eq "^(sparse|reflink)$" out &&
	cmp src dst &&
	test "$(stat -c %s dst)" = 67108864 &&
	test "$(du -k dst | cut -f1)" -le "$(( $(du -k src | cut -f1) + 64 ))" &&
	test "$(du -k dst | cut -f1)" -lt 4096
'

test_expect_success 'the mode is the one asked for' '
	test "$(stat -c %a dst)" = 600 &&
	copy-file src dst2 644 >/dev/null &&
	test "$(stat -c %a dst2)" = 644 &&
	rm -f dst dst2
'

test_expect_success 'setup: a 16 MiB tmpfs' '
	mkdir "$mnt" && mount -t tmpfs -o size=16m tmpfs "$mnt"
'

test_expect_success 'a copy to another filesystem has the same bytes and keeps the holes' '
	expect_code 0 copy-file src "$mnt/d" &&
	cmp src "$mnt/d" &&
	test "$(du -k "$mnt/d" | cut -f1)" -lt 4096 &&
	rm -f "$mnt/d"
'

test_expect_success 'setup: a 1 MiB tmpfs and 4 MiB of data' '
	umount "$mnt" && mount -t tmpfs -o size=1m tmpfs "$mnt" &&
	dd if=/dev/urandom of=big bs=1M count=4 2>/dev/null
'

test_expect_success 'ENOSPC: exit 1, one line naming both files, no destination left' '
	expect_code 1 copy-file big "$mnt/d" &&
	one_line_err &&
	grep_err "copying $TRASH/big|copying big" &&
	grep_err "$mnt/d: No space left on device" &&
	test ! -e "$mnt/d" &&
	test -z "$(ls -A "$mnt")"
'

test_expect_success 'a sparse source whose data fits is copied into the tiny tmpfs' '
	truncate -s 1G sparse1g &&
	printf hello | dd of=sparse1g bs=1M seek=500 conv=notrunc 2>/dev/null &&
	expect_code 0 copy-file sparse1g "$mnt/s" &&
	cmp sparse1g "$mnt/s" &&
	rm -f "$mnt/s"
'

test_expect_success 'an existing destination is refused and kept' '
	echo keep >"$mnt/k" &&
	expect_code 1 copy-file src "$mnt/k" &&
	grep_err "File exists" &&
	test "$(cat "$mnt/k")" = keep
'

test_expect_success 'cleanup' '
	umount "$mnt"
'

test_done
