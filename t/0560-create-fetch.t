#!/bin/sh
# fc-snap-create fetches a missing firecracker binary and kernel (from a
# local release server here), verifies them, and boots with them;
# --no-fetch refuses instead; a corrupt release is refused and nothing
# is created.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
unset FCSNAP_KERNEL FCSNAP_FIRECRACKER

ARCH=$(uname -m)
[ "$ARCH" = arm64 ] && ARCH=aarch64
V=v1.16.1

test_expect_success 'setup: a release whose firecracker is the stand-in, a kernel, a server' '
	r=rel/release-$V-$ARCH && mkdir -p "$r" srv/$V srv/bad/$V &&
	cp "$FCSNAP_BUILD/t/fc-standin" "$r/firecracker-$V-$ARCH" &&
	tar -C rel -czf "srv/$V/firecracker-$V-$ARCH.tgz" "release-$V-$ARCH" &&
	(cd srv/$V && sha256sum "firecracker-$V-$ARCH.tgz" >"firecracker-$V-$ARCH.tgz.sha256.txt") &&
	head -c 300000 /dev/urandom >"srv/bad/$V/firecracker-$V-$ARCH.tgz" &&
	cp "srv/$V/firecracker-$V-$ARCH.tgz.sha256.txt" srv/bad/$V/ &&
	cp vmlinux srv/vmlinux &&
	(cd srv && exec env -u FCSNAP_TEST_TAG python3 -u -m http.server --bind 127.0.0.1 0 >../http.log 2>&1) &
	echo $! >http.pid &&
	wait_for grep -q "port [0-9]" http.log &&
	sed -n "s/.* port \([0-9]*\).*/\1/p" http.log | head -n 1 >http.port
'
at_exit 'kill $(cat "$TRASH/http.pid")'
URL="http://127.0.0.1:$(cat "$TRASH/http.port" 2>/dev/null)"
export FCSNAP_FIRECRACKER_URL="$URL" FCSNAP_KERNEL_URL="$URL/vmlinux"
# Keep PATH from offering a real firecracker.
PATH=$(echo "$PATH" | tr : "\n" | while read -r d; do
	[ -x "$d/firecracker" ] || printf "%s:" "$d"; done)
export PATH

test_expect_success '--no-fetch: a missing firecracker is refused, nothing downloaded' '
	expect_code 1 fc-snap-create --no-fetch -l nf -r rootfs.img &&
	one_line_err && grep_err "firecracker not found" &&
	test ! -e "$FCSNAP_DIR/bin/firecracker" && test ! -d "$FCSNAP_DIR/snapshots/nf"
'

test_expect_success 'a missing firecracker and kernel are fetched into the store and used' '
	expect_code 0 fc-snap-create -l fetched -r rootfs.img &&
	test "$(cat out)" = fetched &&
	grep_err "fetched firecracker $V from $URL/$V/firecracker-$V-$ARCH.tgz" &&
	grep_err "fetched kernel" &&
	test -x "$FCSNAP_DIR/bin/firecracker" &&
	cmp "$FCSNAP_DIR/kernel/vmlinux" vmlinux &&
	grep -q "\"kernel\":\"$FCSNAP_DIR/kernel/vmlinux\"" "$FCSNAP_DIR/snapshots/fetched/meta.json" &&
	test_no_strays
'

test_expect_success 'the second create finds them in the store and fetches nothing' '
	kill "$(cat http.pid)" && wait_for t_gone "$(cat http.pid)" &&
	expect_code 0 fc-snap-create -l again -r rootfs.img &&
	! grep -q fetched err
'

test_expect_success 'a given path that does not exist is fetched to that path' '
	(cd srv && exec env -u FCSNAP_TEST_TAG python3 -u -m http.server --bind 127.0.0.1 "$(cat ../http.port)" >../http2.log 2>&1) &
	echo $! >http.pid &&
	wait_for grep -q "port [0-9]" http2.log &&
	expect_code 0 fc-snap-create -l given -r rootfs.img -f "$TRASH/mine/fc" -k "$TRASH/mine/k" &&
	test -x mine/fc && cmp mine/k vmlinux
'

test_expect_success 'a corrupt release is refused; no binary installed, no snapshot made' '
	expect_code 1 env FCSNAP_FIRECRACKER_URL="$URL/bad" fc-snap-create -l bad -r rootfs.img \
		-f "$TRASH/badfc/firecracker" &&
	one_line_err && grep_err "could not be fetched" &&
	test ! -e badfc/firecracker && test ! -d "$FCSNAP_DIR/snapshots/bad" &&
	test_no_strays
'

# A server that accepts and then says nothing: a download that hangs.
start_stall() {
	(exec env -u FCSNAP_TEST_TAG python3 -u -c "
import socket, time
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(8)
print(\"port\", s.getsockname()[1])
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
" >stall.log 2>&1) &
	echo $! >stall.pid &&
	wait_for grep -q "port [0-9]" stall.log &&
	STALL="http://127.0.0.1:$(sed -n "s/port //p" stall.log)"
}
in_fetch() { ls -d slow/.fetch-* >/dev/null 2>&1; }
# a create whose download of firecracker hangs (pid in c.pid)
start_stalled_create() {
	start_stall &&
	(exec env FCSNAP_FIRECRACKER_URL="$STALL" fc-snap-create -l slow -r rootfs.img \
		-f "$TRASH/slow/fc") >o1 2>e1 &
	echo $! >c.pid &&
	wait_for in_fetch
}

test_expect_success 'SIGINT during the download: no temp files left beside the target' '
	start_stalled_create &&
	kill -INT "$(cat c.pid)" &&
	rc=0 && wait "$(cat c.pid)" || rc=$? &&
	test "$rc" = 1 && grep -q "interrupted by signal 2" e1 &&
	test -z "$(ls -A slow)" && test ! -d "$FCSNAP_DIR/snapshots/slow" &&
	kill "$(cat stall.pid)"
'

test_expect_success 'after a SIGKILL during the download, the next fetch drops the leftovers' '
	start_stalled_create &&
	kill -KILL "$(cat c.pid)" && { wait "$(cat c.pid)" || true; } &&
	in_fetch &&
	kill "$(cat stall.pid)" &&
	expect_code 1 env FCSNAP_FIRECRACKER_URL="$STALL" fc-snap-create -l slow \
		-r rootfs.img -f "$TRASH/slow/fc" &&
	test -z "$(ls -A slow)"
'

test_expect_success 'offline: a clear one-line error naming the URL' '
	kill "$(cat http.pid)" && wait_for t_gone "$(cat http.pid)" &&
	expect_code 1 fc-snap-create -l off -r rootfs.img -f "$TRASH/off/fc" &&
	one_line_err && grep_err "cannot download|no network"
'

test_done
