#!/bin/sh
# t/demo.sh: what `make demo` runs (after building), and what t/0950-demo.t
# runs against the Firecracker stand-in.  From a built tree to code running
# in a restored microVM:
#
#   1. check that /dev/kvm exists and is usable (one line and exit 1 if not)
#   2. stage a tiny root tree from a static busybox (busybox-static), with a
#      symlink per applet, and make DEMO_DIR/demo.ext4 with fc-rootfs,
#      fc-agent as PID 1
#   3. fc-snap-create the snapshot (boots a VM; fc-snap-create fetches a
#      missing firecracker and kernel into the store)
#   4. run a little shell code in a throw-away VM restored from it with
#      fc-exec --timings, twice, to show the restore time
#
# A second run reuses what is up to date, make-style: the image is rebuilt
# only when it is missing or older than busybox or fc-agent, the snapshot
# is re-created only when it is missing or older than the image (the
# re-create replaces it atomically).  FCSNAP_DEMO_REFRESH=1 rebuilds both.
# The host's python is not used: it needs its shared libraries and stdlib,
# which a busybox image does not have (see README for a python image).
#
# Environment (each has a default; a user may set any of them):
#   FCSNAP_BUILD          build dir holding bin/ (default: SRC/build)
#   FCSNAP_DEMO_DIR       work files (default: FCSNAP_BUILD/demo)
#   FCSNAP_DIR            the store (default: FCSNAP_DEMO_DIR/store)
#   FCSNAP_DEMO_NAME      snapshot name (default: demo)
#   FCSNAP_DEMO_BUSYBOX   static busybox (default: /bin/busybox, then
#                         /usr/bin/busybox, then busybox in PATH)
#   FCSNAP_DEMO_MEM       guest memory in MiB (default: 128)
#   FCSNAP_DEMO_REFRESH   1: rebuild the image and the snapshot
#   FCSNAP_KVM            the KVM device to check (default: /dev/kvm)
#   FCSNAP_FIRECRACKER, FCSNAP_KERNEL, FCSNAP_FIRECRACKER_ARGS, ...: passed
#                         on to the programs (see their man pages)
#
# Exit status: 0 when the code ran in the VM, 1 on any failure (one line
# "demo: ..." on stderr for a host that cannot run the demo).
set -u

die() { echo "demo: $*" >&2; exit 1; }
say() { echo "demo: $*"; }

src=$(cd "$(dirname "$0")/.." && pwd) || exit 1
: "${FCSNAP_BUILD:=$src/build}"
: "${FCSNAP_DEMO_DIR:=$FCSNAP_BUILD/demo}"
: "${FCSNAP_DIR:=$FCSNAP_DEMO_DIR/store}"
: "${FCSNAP_DEMO_NAME:=demo}"
: "${FCSNAP_DEMO_MEM:=128}"
: "${FCSNAP_DEMO_REFRESH:=0}"
: "${FCSNAP_KVM:=/dev/kvm}"
export FCSNAP_DIR
PATH="$FCSNAP_BUILD/bin:$PATH"
export PATH

# 1. KVM, before anything else.
if [ ! -e "$FCSNAP_KVM" ]; then
	die "$FCSNAP_KVM is missing: this host cannot run Firecracker VMs" \
	    "(enable KVM or nested virtualisation)"
fi
if [ ! -r "$FCSNAP_KVM" ] || [ ! -w "$FCSNAP_KVM" ]; then
	die "$FCSNAP_KVM is not readable and writable by $(id -un):" \
	    "add yourself to group kvm (sudo usermod -aG kvm $(id -un), then log in again)"
fi

# elf_static FILE: 0 when FILE is an ELF executable with no PT_INTERP
# program header (it needs no dynamic loader), 1 when it has one, 2 when
# it is not a 64-bit little-endian ELF file (the only kind Firecracker
# hosts run: x86_64, aarch64).  Reads the headers with od(1).
elf_static() {
	[ "$(od -An -v -tx1 -N6 "$1" 2>/dev/null | tr -d ' \n')" = 7f454c460201 ] ||
		return 2
	_phoff=$(od -An -v -tu8 -j32 -N8 "$1" | tr -d ' \n')
	_phent=$(od -An -v -tu2 -j54 -N2 "$1" | tr -d ' \n')
	_phnum=$(od -An -v -tu2 -j56 -N2 "$1" | tr -d ' \n')
	[ -n "$_phoff" ] && [ -n "$_phent" ] && [ -n "$_phnum" ] &&
		[ "$_phent" -ge 4 ] && [ $((_phent % 4)) -eq 0 ] || return 2
	_k=$((_phent / 4)) _i=0
	for _w in $(od -An -v -tu4 -j"$_phoff" -N$((_phent * _phnum)) "$1"); do
		[ $((_i % _k)) -eq 0 ] && [ "$_w" = 3 ] && return 1
		_i=$((_i + 1))
	done
	return 0
}

# 2. busybox: present and static (it runs alone in the guest).
bb=${FCSNAP_DEMO_BUSYBOX:-}
if [ -z "$bb" ]; then
	for _c in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null)"; do
		[ -n "$_c" ] && [ -f "$_c" ] && { bb=$_c; break; }
	done
	[ -n "$bb" ] || die "busybox not found (looked in /bin, /usr/bin and PATH):" \
	    "install it with: sudo apt-get install busybox-static"
fi
[ -f "$bb" ] || die "busybox not found at $bb: install it with: sudo apt-get install busybox-static"
elf_static "$bb"
case $? in
1) die "$bb is dynamically linked and cannot run alone in the guest:" \
       "install a static one with: sudo apt-get install busybox-static" ;;
2) die "$bb is not a 64-bit ELF executable: install a static busybox" \
       "with: sudo apt-get install busybox-static" ;;
esac

agent=$FCSNAP_BUILD/bin/fc-agent
[ -x "$agent" ] || die "$agent is missing: run make first"
elf_static "$agent" ||
	echo "demo: warning: $agent is not a static binary (a SANITIZE=1 build?):" \
	    "the guest may not boot" >&2
mkdir -p "$FCSNAP_DEMO_DIR" || exit 1
image=$FCSNAP_DEMO_DIR/demo.ext4
stage=$FCSNAP_DEMO_DIR/root
meta=$FCSNAP_DIR/snapshots/$FCSNAP_DEMO_NAME/meta.json
trap 'rm -rf "$stage"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stage_tree: busybox, a symlink per applet (where `busybox --list-full`
# puts it; bin/ for a busybox that lists bare names), the usual dirs.
stage_tree() {
	rm -rf "$stage" &&
	mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin" \
	    "$stage/etc" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" \
	    "$stage/run" "$stage/root" &&
	cp "$bb" "$stage/bin/busybox" && chmod 755 "$stage/bin/busybox" || return 1
	_list=$("$bb" --list-full 2>/dev/null) || _list=$("$bb" --list) ||
		{ echo "demo: $bb --list failed" >&2; return 1; }
	for _a in $_list; do
		case $_a in
		*/*) ;;
		*) _a=bin/$_a ;;
		esac
		case $_a in
		/*|*..*|bin/busybox|*/init|linuxrc) continue ;;
		esac
		mkdir -p "$stage/${_a%/*}" &&
		ln -sf /bin/busybox "$stage/$_a" || return 1
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd" &&
	echo "root:x:0:" >"$stage/etc/group"
}

# newer A B: A exists and was modified after B (find -newer: POSIX, unlike -nt).
newer() { [ -n "$(find -H "$1" -prune -newer "$2" 2>/dev/null)" ]; }

# 2b. The image, rebuilt only when stale.
if [ "$FCSNAP_DEMO_REFRESH" = 1 ] || ! newer "$image" "$bb" || ! newer "$image" "$agent"; then
	say "making the root filesystem $image (busybox from $bb, fc-agent as PID 1)"
	stage_tree || die "cannot stage the root tree in $stage"
	fc-rootfs -d "$stage" -o "$image" --init agent --agent "$agent" || exit 1
	rm -rf "$stage"
else
	say "reusing $image (up to date)"
fi

# 3. The snapshot, re-created (atomically, by fc-snap-create) only when stale.
if [ "$FCSNAP_DEMO_REFRESH" = 1 ] || ! newer "$meta" "$image"; then
	say "creating snapshot $FCSNAP_DEMO_NAME in $FCSNAP_DIR (boots a VM; a missing" \
	    "firecracker or kernel is fetched first)"
	fc-snap-create -l "$FCSNAP_DEMO_NAME" -r "$image" -m "$FCSNAP_DEMO_MEM" \
	    --run-command 'sh -s' >/dev/null || exit 1
else
	say "reusing snapshot $FCSNAP_DEMO_NAME (newer than $image)"
fi

# 4. Run code in throw-away VMs restored from the snapshot.
code='echo "hello from $(uname -n)"; cat /proc/uptime'
run() {
	say "$1: echo '$code' | fc-exec -s $FCSNAP_DEMO_NAME --timings"
	echo "$code" | fc-exec -s "$FCSNAP_DEMO_NAME" --timings
	_st=$?
	[ $_st -eq 0 ] && return 0
	echo "demo: fc-exec failed with status $_st; if the snapshot is stale" \
	    "(another firecracker version), rerun with FCSNAP_DEMO_REFRESH=1" >&2
	exit 1
}
run "run 1, in a throw-away VM restored from snapshot $FCSNAP_DEMO_NAME"
run "run 2, a fresh VM again"
say "done: snapshot $FCSNAP_DEMO_NAME is in $FCSNAP_DIR; try" \
    "FCSNAP_DIR=$FCSNAP_DIR $FCSNAP_BUILD/bin/fc-exec -s $FCSNAP_DEMO_NAME -- uname -a"
