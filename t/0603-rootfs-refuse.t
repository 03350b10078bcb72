#!/bin/sh
# fc-rootfs refusals: unsafe or broken tar input, too small a size, no
# mkfs.ext4, mkfs failures, signals.  Never a partial output or temp file.
. "$(dirname "$0")/lib.sh"

# nothing beside the outputs but what the test made
clean_dir() {
	left=$(find . -name ".*stage*" -o -name ".*.tmp.*" -o -name ".fc-rootfs.*")
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

test_expect_success 'setup' '
	printf "#!/bin/sh\n" >agent && chmod 755 agent &&
	mkdir -p src/etc && echo hi >src/etc/x &&
	dd if=/dev/zero of=src/blob bs=1M count=12 2>/dev/null &&
	echo precious >old.ext4
'

test_expect_success 'a tar entry with a .. component is refused, naming it' '
	mkdir -p sub && echo x >x &&
	tar -cPf dd.tar -C sub ../x &&
	expect_code 1 fc-rootfs -o old.ext4 --agent ./agent <dd.tar &&
	one_line_err && grep_err "tar entry .\.\./x. has a .\.\.. component: refused" &&
	[ "$(cat old.ext4)" = precious ] && clean_dir
'

test_expect_success 'an absolute tar entry is refused, naming it' '
	tar -cPf abs.tar "$TRASH/x" &&
	expect_code 1 fc-rootfs -o new.ext4 --agent ./agent <abs.tar &&
	one_line_err && grep_err "tar entry .$TRASH/x. is an absolute path: refused" &&
	[ ! -e new.ext4 ] && clean_dir
'

test_expect_success 'an entry through an earlier symlink never escapes' '
	mkdir -p e1 e2/evil outside && ln -s "$TRASH/outside" e1/evil &&
	echo pwned >e2/evil/pwn &&
	tar -cf esc.tar -C e1 evil && tar -rf esc.tar -C e2 evil/pwn &&
	expect_code 1 fc-rootfs -o new.ext4 --agent ./agent <esc.tar &&
	one_line_err && grep_err "evil. is a symlink or not a directory: refusing" &&
	[ ! -e outside/pwn ] && [ ! -e new.ext4 ] && clean_dir
'

test_expect_success 'a hard link to an earlier symlinked path never escapes' '
	mkdir -p h1 h2/evil && ln -s /etc h1/evil && echo a >h2/evil/passwd &&
	tar -cf hl.tar -C h1 evil && tar -rf hl.tar -C h2 evil/passwd &&
	expect_code 1 fc-rootfs -o new.ext4 --agent ./agent <hl.tar &&
	one_line_err && [ ! -e new.ext4 ] && clean_dir
'

test_expect_success 'a tar truncated inside a file is refused' '
	tar -C src -cf good.tar . &&
	head -c 200000 good.tar >trunc.tar &&
	expect_code 1 fc-rootfs -o new.ext4 --agent ./agent <trunc.tar &&
	one_line_err && grep_err "truncated" && [ ! -e new.ext4 ] && clean_dir
'

test_expect_success 'a tar truncated inside a header or before the end is refused' '
	head -c 700 good.tar >t2.tar &&
	expect_code 1 fc-rootfs -o new.ext4 --agent ./agent <t2.tar &&
	one_line_err && grep_err "truncated" &&
	tar -C src -cf small.tar ./etc/x &&
	n=$(stat -c %s small.tar) && head -c $((n - 10240 + 1024)) small.tar >t3.tar &&
	expect_code 1 fc-rootfs -o new.ext4 --agent ./agent <t3.tar &&
	one_line_err && grep_err "truncated" && [ ! -e new.ext4 ] && clean_dir
'

test_expect_success 'a header with a bad checksum is refused' '
	cp small.tar bad.tar &&
	printf Z | dd of=bad.tar bs=1 seek=3 conv=notrunc 2>/dev/null &&
	expect_code 1 fc-rootfs -o new.ext4 --agent ./agent <bad.tar &&
	one_line_err && grep_err "not a tar archive \(bad header checksum" &&
	tar -C src -cf two.tar ./etc/x ./blob && cp two.tar bad2.tar &&
	printf Z | dd of=bad2.tar bs=1 seek=1030 conv=notrunc 2>/dev/null &&
	expect_code 1 fc-rootfs -o new.ext4 --agent ./agent <bad2.tar &&
	one_line_err && grep_err "corrupt tar archive: bad header checksum at byte 1024" &&
	[ ! -e new.ext4 ] && clean_dir
'

test_expect_success 'a size too small for the content is refused before mkfs, with a fix' '
	expect_code 1 fc-rootfs -d src -o old.ext4 -s 8M --agent ./agent &&
	one_line_err && grep_err "size 8 MiB is too small for the content .* use -s [0-9]+M or more" &&
	[ "$(cat old.ext4)" = precious ] && clean_dir
'

test_expect_success 'the suggested size works' '
	s=$(sed -n "s/.*use -s \([0-9]*M\) or more.*/\1/p" err) &&
	fc-rootfs -d src -o fits.ext4 -s "$s" --agent ./agent &&
	e2fsck -fn fits.ext4 >/dev/null 2>&1
'

test_expect_success 'no mkfs.ext4: refused, naming e2fsprogs' '
	FCSNAP_MKFS_EXT4=$TRASH/nowhere/mkfs.ext4 \
		expect_code 1 fc-rootfs -d src -o new.ext4 --agent ./agent &&
	one_line_err && grep_err "mkfs.ext4 not found.*install e2fsprogs" &&
	[ ! -e new.ext4 ] && clean_dir
'

test_expect_success 'mkfs running out of space is reported as a size problem' '
	printf "#!/bin/sh\necho \"__populate_fs: Could not allocate block in ext2 filesystem while writing file \\\"blob\\\"\" >&2\nexit 1\n" >fakemkfs &&
	chmod 755 fakemkfs &&
	FCSNAP_MKFS_EXT4=$TRASH/fakemkfs \
		expect_code 1 fc-rootfs -d src -o old.ext4 -s 100M --agent ./agent &&
	one_line_err && grep_err "mkfs.ext4 ran out of space: size 100 MiB is too small" &&
	[ "$(cat old.ext4)" = precious ] && clean_dir
'

test_expect_success 'other mkfs failures carry its last line' '
	printf "#!/bin/sh\necho one >&2\necho \"mkfs: it broke\" >&2\nexit 3\n" >fakemkfs2 &&
	chmod 755 fakemkfs2 &&
	FCSNAP_MKFS_EXT4=$TRASH/fakemkfs2 \
		expect_code 1 fc-rootfs -d src -o old.ext4 --agent ./agent &&
	one_line_err && grep_err "mkfs.ext4 failed \(exit 3\): mkfs: it broke" &&
	[ "$(cat old.ext4)" = precious ] && clean_dir
'

test_expect_success 'a missing agent or input directory is refused' '
	expect_code 1 fc-rootfs -d src -o new.ext4 --agent ./nope &&
	one_line_err && grep_err "agent ./nope" &&
	expect_code 1 fc-rootfs -d nodir -o new.ext4 --agent ./agent &&
	one_line_err && grep_err "input directory nodir" &&
	[ ! -e new.ext4 ] && clean_dir
'

# mkfs_gone: no slow mkfs (below) of this script runs; it dies of the
# SIGKILL fc-rootfs sent it, maybe only after fc-rootfs has exited
mkfs_gone() {
	for _q in $(t_tagged_comm sleep); do
		! grep -q "7350\.5" "/proc/$_q/cmdline" 2>/dev/null || return 1
	done
}

test_expect_success 'SIGTERM during mkfs: child killed, temp files removed' '
	printf "#!/bin/sh\n: >\"$TRASH/mkfs.started\"\nexec sleep 7350.5\n" >slowmkfs &&
	chmod 755 slowmkfs &&
	FCSNAP_MKFS_EXT4=$TRASH/slowmkfs fc-rootfs -d src -o sig.ext4 --agent ./agent &
	pid=$! &&
	wait_for test -e mkfs.started &&
	kill -TERM $pid && st=0 && wait $pid || st=$? &&
	[ "$st" -ne 0 ] &&
	[ ! -e sig.ext4 ] && clean_dir &&
	wait_for mkfs_gone &&
	true
'

test_expect_success 'nothing stray is left' '
	test_no_strays && clean_dir
'

test_done
