#!/bin/sh
# fc-rootfs --init: the agent is started by the image's own init (systemd,
# OpenRC, busybox, sysvinit) or runs as PID 1; auto picks by marker files.
. "$(dirname "$0")/lib.sh"

dbg() { debugfs -R "$1" "$2" 2>/dev/null; }
link_of() { dbg "stat $2" "$1" | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p'; }

test_expect_success 'setup: fake trees for each kind of init' '
	printf "#!/bin/sh\n" >agent && chmod 755 agent &&
	mkdir -p sd/lib/systemd sd/sbin sd/etc/systemd/system &&
	: >sd/lib/systemd/systemd && chmod 755 sd/lib/systemd/systemd &&
	ln -s ../lib/systemd/systemd sd/sbin/init &&
	mkdir -p mu/usr/lib/systemd mu/usr/sbin mu/usr/bin mu/etc &&
	ln -s usr/lib mu/lib && ln -s usr/sbin mu/sbin && ln -s usr/bin mu/bin &&
	: >mu/usr/lib/systemd/systemd && ln -s /lib/systemd/systemd mu/usr/sbin/init &&
	mkdir -p rc/sbin rc/bin rc/etc/init.d rc/etc/runlevels/default &&
	: >rc/bin/busybox && ln -s /bin/busybox rc/sbin/init && : >rc/sbin/openrc-run &&
	printf "::sysinit:/sbin/openrc sysinit\n" >rc/etc/inittab &&
	mkdir -p bb/sbin bb/bin bb/etc &&
	: >bb/bin/busybox && ln -s /bin/busybox bb/sbin/init &&
	printf "::sysinit:/etc/init.d/rcS\n::askfirst:-/bin/sh" >bb/etc/inittab &&
	mkdir -p bn/sbin bn/bin && : >bn/bin/busybox && ln -s ../bin/busybox bn/sbin/init &&
	mkdir -p sv/sbin sv/etc && : >sv/sbin/init &&
	printf "id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n" >sv/etc/inittab &&
	mkdir -p un/sbin && : >un/sbin/init &&
	mkdir -p none/etc && echo x >none/etc/x
'

test_expect_success 'systemd: a unit with the port, enabled by a wants symlink' '
	fc-rootfs -d sd -o sd.ext4 --agent ./agent --port 1234 &&
	dbg "cat /etc/systemd/system/fc-agent.service" sd.ext4 >unit &&
	grep -qx "ExecStart=/usr/sbin/fc-agent -p 1234" unit &&
	grep -qx "WantedBy=multi-user.target" unit &&
	[ "$(link_of sd.ext4 /etc/systemd/system/multi-user.target.wants/fc-agent.service)" = \
		/etc/systemd/system/fc-agent.service ] &&
	[ "$(link_of sd.ext4 /sbin/init)" = ../lib/systemd/systemd ]
'

test_expect_success 'systemd in a merged-/usr tree: files land through the image symlinks' '
	fc-rootfs -d mu -o mu.ext4 --agent ./agent &&
	dbg "cat /etc/systemd/system/fc-agent.service" mu.ext4 | grep -qx "ExecStart=/usr/sbin/fc-agent" &&
	dbg "stat /usr/sbin/fc-agent" mu.ext4 | grep -q "Type: regular" &&
	[ "$(link_of mu.ext4 /sbin)" = usr/sbin ] &&
	[ "$(link_of mu.ext4 /usr/sbin/init)" = /lib/systemd/systemd ]
'

test_expect_success 'OpenRC: an init.d script and a default runlevel link' '
	fc-rootfs -d rc -o rc.ext4 --agent ./agent --port 99 &&
	dbg "cat /etc/init.d/fc-agent" rc.ext4 >svc &&
	head -1 svc | grep -qx "#!/sbin/openrc-run" &&
	grep -qx "command=\"/usr/sbin/fc-agent\"" svc &&
	grep -qx "command_args=\"-p 99\"" svc &&
	dbg "stat /etc/init.d/fc-agent" rc.ext4 | grep -q "Mode:  0755" &&
	[ "$(link_of rc.ext4 /etc/runlevels/default/fc-agent)" = /etc/init.d/fc-agent ] &&
	[ "$(dbg "cat /etc/inittab" rc.ext4)" = "::sysinit:/sbin/openrc sysinit" ]
'

test_expect_success 'busybox init: a respawn line appended, the source inittab untouched' '
	cp bb/etc/inittab bb.orig &&
	fc-rootfs -d bb -o bb.ext4 --agent ./agent --port 7 &&
	dbg "cat /etc/inittab" bb.ext4 >tab &&
	printf "::sysinit:/etc/init.d/rcS\n::askfirst:-/bin/sh\n::respawn:/usr/sbin/fc-agent -p 7\n" >want &&
	cmp tab want && cmp bb/etc/inittab bb.orig
'

test_expect_success 'running again over a tree that has our line does not duplicate it' '
	mkdir bb2 && cp -a bb/. bb2/ && cp tab bb2/etc/inittab &&
	fc-rootfs -d bb2 -o bb2.ext4 --agent ./agent --port 7 &&
	[ "$(dbg "cat /etc/inittab" bb2.ext4 | grep -c fc-agent)" = 1 ]
'

test_expect_success 'busybox without an inittab: one is written with the respawn line' '
	fc-rootfs -d bn -o bn.ext4 --agent ./agent &&
	dbg "cat /etc/inittab" bn.ext4 >tab2 &&
	grep -qx "::respawn:/usr/sbin/fc-agent" tab2 &&
	grep -q "::sysinit:/bin/mount -t proc proc /proc" tab2
'

test_expect_success 'sysvinit: an inittab respawn entry with runlevels' '
	fc-rootfs -d sv -o sv.ext4 --agent ./agent &&
	dbg "cat /etc/inittab" sv.ext4 >tab3 &&
	grep -qx "fca:2345:respawn:/usr/sbin/fc-agent" tab3 &&
	grep -qx "id:2:initdefault:" tab3
'

test_expect_success 'no init: fc-agent becomes /sbin/init' '
	fc-rootfs -d none -o none.ext4 --agent ./agent &&
	[ "$(link_of none.ext4 /sbin/init)" = /usr/sbin/fc-agent ]
'

test_expect_success '--init agent replaces an existing init; a port gets a boot-args hint' '
	fc-rootfs -d sd -o sda.ext4 --agent ./agent --init agent --port 5 2>err &&
	[ "$(link_of sda.ext4 /sbin/init)" = /usr/sbin/fc-agent ] &&
	grep_err "add .-- -p 5. to the kernel boot args" &&
	! dbg "stat /etc/systemd/system/fc-agent.service" sda.ext4 | grep -q Inode &&
	[ "$(readlink sd/sbin/init)" = ../lib/systemd/systemd ]
'

test_expect_success '--init forces a kind over detection' '
	fc-rootfs -d none -o forced.ext4 --agent ./agent --init openrc &&
	dbg "cat /etc/init.d/fc-agent" forced.ext4 | grep -q openrc-run
'

test_expect_success 'an init fc-rootfs cannot classify is refused with the choices' '
	expect_code 1 fc-rootfs -d un -o un.ext4 --agent ./agent &&
	one_line_err && grep_err "cannot tell how .*--init agent" &&
	[ ! -e un.ext4 ]
'

test_expect_success 'nothing stray is left' '
	test_no_strays &&
	[ -z "$(find . -name ".*stage*" -o -name ".*.tmp.*" -o -name ".fc-rootfs.*")" ]
'

test_done
