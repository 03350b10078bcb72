#!/bin/sh
# t/demo.sh (what `make demo` runs) against the Firecracker stand-in: the
# environment plays the user's host (a fake /dev/kvm, a fake static
# busybox, a dummy kernel, the stand-in as firecracker).  It refuses a host
# without KVM or without a static busybox in one line, runs end to end,
# reuses an up-to-date image and snapshot, refreshes stale ones cleanly,
# and fetches a missing firecracker and kernel through fc-snap-create.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs

DEMO="$FCSNAP_SRC/t/demo.sh"
FCSNAP_DEMO_DIR="$TRASH/demo"
FCSNAP_KVM="$TRASH/kvm"
FCSNAP_DEMO_BUSYBOX="$TRASH/bb"
export FCSNAP_DEMO_DIR FCSNAP_KVM FCSNAP_DEMO_BUSYBOX
unset FCSNAP_DEMO_REFRESH FCSNAP_DEMO_NAME FCSNAP_DEMO_MEM

dbg() { debugfs -R "$1" "$2" 2>/dev/null; }
link_of() { dbg "stat $2" "$1" | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p'; }
inode() { ls -i "$1" | cut -d" " -f1; }
# the demo's output: two runs, each with the guest's lines and fc-exec's timings
ran_twice() {
	[ "$(grep -c "^hello from [^ ]" out)" -eq 2 ] &&
	[ "$(grep -Ec "^[0-9]+\.[0-9]+ [0-9]+\.[0-9]+$" out)" -eq 2 ] &&
	[ "$(grep -Ec "^fc-exec: timings \(ms\): check [0-9.]+ .* load [0-9.]+ .* total [0-9.]+" err)" -eq 2 ] ||
		{ echo "--- out"; cat out; echo "--- err"; cat err; return 1; }
}

test_expect_success 'setup: a fake static busybox listing a few applets, a fake KVM' '
	cat >bb.c <<-\EOF &&
	#include <stdio.h>
	#include <string.h>
	int main(int argc, char **argv)
	{
		if (argc > 1 && strcmp(argv[1], "--list-full") == 0) {
			fputs("bin/sh\nbin/cat\nusr/bin/env\nsbin/init\nlinuxrc\n", stdout);
			return 0;
		}
		return 1;
	}
	EOF
	${CC:-cc} -static -o bb bb.c &&
	${CC:-cc} -o dyn bb.c &&
	: >kvm
'

test_expect_success 'no KVM: exactly one line saying so, exit 1, nothing made' '
	expect_code 1 env FCSNAP_KVM="$TRASH/nokvm" sh "$DEMO" &&
	one_line_err && grep_err "^demo: .*/nokvm is missing: this host cannot run Firecracker VMs" &&
	test ! -s out && test ! -e demo && test ! -e "$FCSNAP_DIR/snapshots"
'

# As root every file is readable: play an ordinary user with setpriv.
AS_USER=
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null &&
		AS_USER="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
if [ "$(id -u)" = 0 ] && [ -z "$AS_USER" ]; then
	test_skip 'a KVM device we may not open: one line naming group kvm' 'root, and no setpriv'
else
	test_expect_success 'a KVM device we may not open: one line naming group kvm' '
		chmod 711 "$TRASH" && : >kvm0 && chmod 0 kvm0 &&
		expect_code 1 $AS_USER env FCSNAP_KVM="$TRASH/kvm0" sh "$DEMO" &&
		one_line_err && grep_err "kvm0 is not readable and writable by .*group kvm" &&
		test ! -s out && test ! -e demo
	'
fi

test_expect_success 'busybox missing: one line naming busybox-static, nothing made' '
	expect_code 1 env FCSNAP_DEMO_BUSYBOX="$TRASH/no/busybox" sh "$DEMO" &&
	one_line_err && grep_err "^demo: busybox not found at .*/no/busybox: .*apt-get install busybox-static" &&
	test ! -e demo
'

test_expect_success 'a dynamically linked busybox: one line naming busybox-static' '
	expect_code 1 env FCSNAP_DEMO_BUSYBOX="$TRASH/dyn" sh "$DEMO" &&
	one_line_err && grep_err "dyn is dynamically linked.*apt-get install busybox-static"
'

test_expect_success 'a busybox that is not an ELF binary: one line naming busybox-static' '
	printf "#!/bin/sh\n" >script && chmod 755 script &&
	expect_code 1 env FCSNAP_DEMO_BUSYBOX="$TRASH/script" sh "$DEMO" &&
	one_line_err && grep_err "script is not a 64-bit ELF executable.*busybox-static"
'

test_expect_success 'end to end: image, snapshot, code run twice with timings' '
	expect_code 0 sh "$DEMO" &&
	ran_twice &&
	grep_out "^demo: making the root filesystem" && grep_out "^demo: creating snapshot demo" &&
	grep -q "\"run_command\":\[\"sh\",\"-s\"\]" "$(snapdir demo)/meta.json" &&
	grep -q "\"mem_mib\":128," "$(snapdir demo)/meta.json" &&
	test ! -e demo/root &&
	wait_for test_no_strays && no_run_dirs
'

test_expect_success 'the image: busybox, one link per applet where it is listed, agent as init' '
	img=demo/demo.ext4 &&
	dbg "stat /bin/busybox" $img | grep -q "Type: regular" &&
	[ "$(link_of $img /bin/sh)" = /bin/busybox ] &&
	[ "$(link_of $img /bin/cat)" = /bin/busybox ] &&
	[ "$(link_of $img /usr/bin/env)" = /bin/busybox ] &&
	[ "$(link_of $img /sbin/init)" = /usr/sbin/fc-agent ] &&
	! dbg "stat /linuxrc" $img | grep -q Type &&
	dbg "stat /usr/sbin/fc-agent" $img | grep -q "Type: regular"
'

test_expect_success 'a second run reuses the up-to-date image and snapshot' '
	ino_img=$(inode demo/demo.ext4) && ino_meta=$(inode "$(snapdir demo)/meta.json") &&
	expect_code 0 sh "$DEMO" &&
	ran_twice && grep_out "^demo: reusing .*demo.ext4" && grep_out "^demo: reusing snapshot demo" &&
	! grep -q "^demo: making\|^demo: creating" out &&
	[ "$(inode demo/demo.ext4)" = "$ino_img" ] &&
	[ "$(inode "$(snapdir demo)/meta.json")" = "$ino_meta" ] &&
	wait_for test_no_strays && no_run_dirs
'

test_expect_success 'a newer busybox: the image and the snapshot are refreshed cleanly' '
	ino_img=$(inode demo/demo.ext4) && ino_meta=$(inode "$(snapdir demo)/meta.json") &&
	sleep 1 && touch bb &&
	expect_code 0 sh "$DEMO" &&
	ran_twice && grep_out "^demo: making" && grep_out "^demo: creating snapshot demo" &&
	[ "$(inode demo/demo.ext4)" != "$ino_img" ] &&
	[ "$(inode "$(snapdir demo)/meta.json")" != "$ino_meta" ] &&
	[ "$(fc-snap-ls -q)" = demo ] &&
	wait_for test_no_strays && no_run_dirs
'

test_expect_success 'FCSNAP_DEMO_REFRESH=1 rebuilds both even when up to date' '
	ino_meta=$(inode "$(snapdir demo)/meta.json") &&
	expect_code 0 env FCSNAP_DEMO_REFRESH=1 sh "$DEMO" &&
	ran_twice && grep_out "^demo: making" && grep_out "^demo: creating" &&
	[ "$(inode "$(snapdir demo)/meta.json")" != "$ino_meta" ] &&
	wait_for test_no_strays && no_run_dirs
'

test_expect_success 'without FCSNAP_DIR the store is the demo dir'"'"'s store' '
	expect_code 0 env -u FCSNAP_DIR FCSNAP_DEMO_DIR="$TRASH/d2" FCSNAP_DEMO_NAME=other sh "$DEMO" &&
	ran_twice &&
	test -f d2/store/snapshots/other/meta.json && test -f d2/demo.ext4 &&
	test ! -e "$(snapdir other)" &&
	wait_for test_no_strays &&
	{ [ ! -d d2/store/run ] || [ -z "$(ls -A d2/store/run)" ]; }
'

test_expect_success 'a failing fc-snap-create: exit 1, no snapshot, nothing running' '
	expect_code 1 env FCSNAP_DEMO_NAME=broken FCSNAP_KERNEL="$TRASH/no/kernel" \
		FCSNAP_KERNEL_URL=http://127.0.0.1:1/vmlinux sh "$DEMO" &&
	test ! -e "$(snapdir broken)" && ! grep -q "^hello" out &&
	test_no_strays && no_run_dirs
'

# "fetch what is missing": with no firecracker and no kernel anywhere,
# fc-snap-create downloads them (from a local release server here).
ARCH=$(uname -m)
[ "$ARCH" = arm64 ] && ARCH=aarch64
V=v1.16.1
test_expect_success 'setup: a local release server offering the stand-in and a kernel' '
	r=rel/release-$V-$ARCH && mkdir -p "$r" srv/$V &&
	cp "$FCSNAP_BUILD/t/fc-standin" "$r/firecracker-$V-$ARCH" &&
	tar -C rel -czf "srv/$V/firecracker-$V-$ARCH.tgz" "release-$V-$ARCH" &&
	(cd srv/$V && sha256sum "firecracker-$V-$ARCH.tgz" >"firecracker-$V-$ARCH.tgz.sha256.txt") &&
	cp vmlinux srv/vmlinux &&
	(cd srv && exec env -u FCSNAP_TEST_TAG python3 -u -m http.server --bind 127.0.0.1 0 >../http.log 2>&1) &
	echo $! >http.pid &&
	wait_for grep -q "port [0-9]" http.log &&
	sed -n "s/.* port \([0-9]*\).*/\1/p" http.log | head -n 1 >http.port
'
at_exit 'kill $(cat "$TRASH/http.pid")'

test_expect_success 'a fresh store: firecracker and the kernel are fetched, then the code runs' '
	url="http://127.0.0.1:$(cat http.port)" &&
	nofc=$(echo "$PATH" | tr : "\n" | while read -r d; do
		[ -x "$d/firecracker" ] || printf "%s:" "$d"; done) &&
	expect_code 0 env -u FCSNAP_FIRECRACKER -u FCSNAP_KERNEL PATH="$nofc" \
		FCSNAP_DIR="$TRASH/fresh" FCSNAP_FIRECRACKER_URL="$url" \
		FCSNAP_KERNEL_URL="$url/vmlinux" sh "$DEMO" &&
	ran_twice &&
	grep_err "fetched firecracker $V" && grep_err "fetched kernel" &&
	test -x fresh/bin/firecracker && cmp fresh/kernel/vmlinux vmlinux &&
	test -f fresh/snapshots/demo/meta.json &&
	wait_for test_no_strays && { [ ! -d fresh/run ] || [ -z "$(ls -A fresh/run)" ]; }
'

test_done
