#!/bin/sh
# fc-rootfs from a tar stream on stdin: ustar, GNU and pax long names,
# gzip, hard links, the `tar -C dir -cf - . | fc-rootfs` pipe.
. "$(dirname "$0")/lib.sh"

dbg() { debugfs -R "$1" "$2" 2>/dev/null; }
ino() { dbg "stat $2" "$1" | sed -n 's/^Inode: \([0-9]*\).*/\1/p'; }

L1=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
L2=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
LONG=$L1/$L2/cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.txt

test_expect_success 'setup: a tree with long names, links and modes' '
	mkdir -p src/etc src/$L1/$L2 src/empty &&
	echo hello >src/etc/x &&
	echo long >"src/$LONG" &&
	mkdir -p lsrc && ln -s "/$LONG" lsrc/longlink &&
	ln src/etc/x src/etc/hl &&
	chmod 2711 src/etc/x &&
	printf "#!/bin/sh\n" >agent && chmod 755 agent
'

test_expect_success 'tar -C dir -cf - . | fc-rootfs -o img composes' '
	tar -C src -cf - . | fc-rootfs -o img.ext4 --agent ./agent &&
	[ "$(dbg "cat /etc/x" img.ext4)" = hello ] &&
	dbg "stat /etc/x" img.ext4 | grep -q "Mode:  02711" &&
	[ "$(ino img.ext4 /etc/x)" = "$(ino img.ext4 /etc/hl)" ] &&
	dbg "stat /empty" img.ext4 | grep -q "Type: directory" &&
	dbg "stat /sbin/init" img.ext4 | grep -q "/usr/sbin/fc-agent"
'

for f in gnu pax ustar; do
test_expect_success "long names in --format=$f archives" '
	tar --format='$f' -C src -cf a.'$f'.tar . &&
	fc-rootfs -o '$f'.ext4 --agent ./agent <a.'$f'.tar &&
	[ "$(dbg "cat /$LONG" '$f'.ext4)" = long ] &&
	if [ '$f' != ustar ]; then
		tar --format='$f' -C lsrc -cf - . | fc-rootfs -o l'$f'.ext4 --agent ./agent &&
		[ "$(dbg "cat /longlink" l'$f'.ext4)" = "/$LONG" ]
	fi
'
done

test_expect_success 'gzip input is decompressed (gzip -dc)' '
	tar -C src -czf - . | fc-rootfs -o gz.ext4 --agent ./agent &&
	[ "$(dbg "cat /$LONG" gz.ext4)" = long ]
'

test_expect_success 'a corrupt gzip stream is refused, nothing written' '
	tar -C src -czf - . >a.tgz &&
	head -c 300 a.tgz >bad.tgz &&
	expect_code 1 fc-rootfs -o bad.ext4 --agent ./agent <bad.tgz &&
	one_line_err && grep_err "gzip|truncated" &&
	[ ! -e bad.ext4 ]
'

test_expect_success 'xz input is refused with the fix' '
	printf "\375""7zXZ\000rest" >a.txz &&
	expect_code 1 fc-rootfs -o xz.ext4 --agent ./agent <a.txz &&
	one_line_err && grep_err "xz-compressed: decompress it first" && [ ! -e xz.ext4 ]
'

test_expect_success 'pax numeric overrides (uid, gid, big mtime) apply when root' '
	if [ "$(id -u)" = 0 ]; then
		mkdir -p own && echo o >own/f && chown 3000000:4000000 own/f &&
		tar --format=pax -C own -cf - . | fc-rootfs -o own.ext4 --agent ./agent &&
		dbg "stat /f" own.ext4 | grep -Eq "User: +3000000 +Group: +4000000"
	else
		tar --format=pax -C src -cf - . | fc-rootfs -o own.ext4 --agent ./agent
	fi
'

test_expect_success 'GNU base-256 numbers (huge uid) are read' '
	if [ "$(id -u)" = 0 ]; then
		mkdir -p big && echo b >big/f && chown 2100000000 big/f &&
		tar --format=gnu -C big -cf - . | fc-rootfs -o big.ext4 --agent ./agent &&
		dbg "stat /f" big.ext4 | grep -Eq "User: +2100000000"
	else
		: not root
	fi
'

test_expect_success 'device nodes in a tar' '
	if [ "$(id -u)" = 0 ]; then
		mkdir -p dev/dev && mknod dev/dev/null c 1 3 && mknod dev/dev/sda b 8 0 &&
		mkfifo dev/fifo &&
		tar -C dev -cf - . | fc-rootfs -o dev.ext4 --agent ./agent 2>err &&
		[ ! -s err ] &&
		dbg "stat /dev/null" dev.ext4 | grep -q "Type: character special" &&
		dbg "stat /dev/sda" dev.ext4 | grep -q "Type: block special" &&
		dbg "stat /fifo" dev.ext4 | grep -q "Type: FIFO"
	else
		: not root
	fi
'

test_expect_success 'later entries replace earlier ones, as tar does' '
	mkdir -p r1/etc r2/etc && echo one >r1/etc/f && echo two >r2/etc/f &&
	tar -C r1 -cf r.tar . && tar -C r2 -rf r.tar ./etc/f &&
	fc-rootfs -o r.ext4 --agent ./agent <r.tar &&
	[ "$(dbg "cat /etc/f" r.ext4)" = two ]
'

test_expect_success 'an empty stream is refused' '
	expect_code 1 fc-rootfs -o e.ext4 --agent ./agent </dev/null &&
	one_line_err && grep_err "empty input: not a tar archive" && [ ! -e e.ext4 ]
'

test_expect_success 'nothing stray is left' '
	test_no_strays &&
	[ -z "$(find . -name ".*stage*" -o -name ".*.tmp.*")" ]
'

test_done
