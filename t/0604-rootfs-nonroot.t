#!/bin/sh
# fc-rootfs without root: files are root's in the image (user namespace for
# mkfs), and a tar's owners and device nodes are kept (debugfs afterwards).
. "$(dirname "$0")/lib.sh"

dbg() { debugfs -R "$1" "$2" 2>/dev/null; }

# Run as an unprivileged user: nobody when we are root, else ourselves.
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null 2>&1 || { test_skip 'non-root runs' 'no setpriv'; test_done; exit 0; }
	as_user() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
	chmod 711 "$TRASH"
	mkdir "$TRASH/u" && chown 65534:65534 "$TRASH/u"
else
	as_user() { "$@"; }
	mkdir "$TRASH/u"
fi
U=$TRASH/u

test_expect_success 'setup: a tar with owners, device nodes and odd names' '
	mkdir -p src/etc src/dev src/home/u "src/a b" &&
	echo hi >src/etc/x && echo u >src/home/u/f && echo q >"src/a b/c d" &&
	printf "#!/bin/sh\n" >"$U/agent" && chmod 755 "$U/agent" &&
	if [ "$(id -u)" = 0 ]; then
		mknod src/dev/null c 1 3 && mknod src/dev/sda b 8 0 &&
		chown -R 1000:1001 src/home/u && chown 5:6 "src/a b/c d"
	fi &&
	tar -C src -cf "$U/t.tar" . && chmod 644 "$U/t.tar" &&
	mkdir -p "$U/d/etc" && echo d >"$U/d/etc/d" &&
	if [ "$(id -u)" = 0 ]; then chown -R 65534:65534 "$U"; fi
'

userns=yes
as_user unshare -r true 2>/dev/null || userns=no

test_expect_success 'a directory built without root is owned by root in the image' '
	cd "$U" &&
	as_user fc-rootfs -d d -o d.ext4 --agent ./agent 2>err &&
	if [ $userns = yes ]; then
		[ ! -s err ] &&
		dbg "stat /etc/d" d.ext4 | grep -Eq "User: +0 +Group: +0" &&
		dbg "stat /usr/sbin/fc-agent" d.ext4 | grep -Eq "User: +0 +Group: +0"
	else
		grep_err "owned by uid .* not root"
	fi
'

test_expect_success 'a tar built without root keeps its owners and device nodes' '
	cd "$U" &&
	as_user fc-rootfs -o t.ext4 --agent ./agent <t.tar &&
	[ "$(dbg "cat \"/a b/c d\"" t.ext4)" = q ] &&
	if [ "$(id -u)" = 0 ]; then
		dbg "stat /home/u/f" t.ext4 | grep -Eq "User: +1000 +Group: +1001" &&
		dbg "stat /home/u" t.ext4 | grep -Eq "User: +1000 +Group: +1001" &&
		dbg "stat \"/a b/c d\"" t.ext4 | grep -Eq "User: +5 +Group: +6" &&
		dbg "stat /dev/null" t.ext4 | grep -q "Type: character special" &&
		dbg "stat /dev/null" t.ext4 | grep -q "Device major/minor number: 01:03" &&
		dbg "stat /dev/sda" t.ext4 | grep -q "Type: block special" &&
		dbg "stat /dev/sda" t.ext4 | grep -q "Device major/minor number: 08:00"
	fi &&
	e2fsck -fn t.ext4 >/dev/null 2>&1
'

test_expect_success 'nothing stray is left' '
	test_no_strays &&
	[ -z "$(find "$U" -name ".*stage*" -o -name ".*.tmp.*")" ]
'

test_done
