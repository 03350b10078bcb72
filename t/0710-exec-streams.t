#!/bin/sh
# fc-exec streams: binary-safe, 100 MiB of stdin through the guest, 1 GiB
# of guest stdout into a slow reader (backpressure, not buffering), a
# guest that never reads its stdin, a reader that goes away.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

# no_run_dirs_but ID: the only run dir left is ID's.
no_run_dirs_but() {
	_l=$(ls -A "$FCSNAP_DIR/run" | grep -vx "$1" || true)
	[ -z "$_l" ] || { echo "run dirs left: $_l"; return 1; }
}

test_expect_success 'setup: a snapshot and a running VM' '
	fc-snap-create -l py -r rootfs.img --run-command "sh -s" >/dev/null &&
	fc-snap-restore --id s1 py >/dev/null
'

test_expect_success 'every byte value passes both ways unchanged' '
	awk "BEGIN { for (i = 0; i < 256; i++) printf \"%c\", i }" >bytes &&
	test "$(wc -c <bytes)" = 256 &&
	fc-exec -v s1 -- cat <bytes >back && cmp bytes back &&
	fc-exec -v s1 -- sh -c "cat >&2" <bytes 2>back2 && cmp bytes back2
'

test_expect_success '100 MiB of stdin through cat and sha256sum in the guest' '
	head -c 104857600 /dev/urandom >big &&
	want=$(sha big) &&
	fc-exec -v s1 -- sha256sum <big >sum &&
	test "$(cut -d" " -f1 sum)" = "$want" &&
	fc-exec -v s1 -- cat <big >big.back &&
	test "$(sha big.back)" = "$want" &&
	rm -f big.back
'

test_expect_success '100 MiB through cat in a throw-away VM, from a pipe' '
	want=$(sha big) &&
	cat big | fc-exec -s py -- cat | sha256sum >sum &&
	test "$(cut -d" " -f1 sum)" = "$want" &&
	no_run_dirs_but s1
'

test_expect_success '1 GiB of guest stdout into a slow reader: all bytes, bounded time' '
	timeout 900 sh -c "fc-exec -v s1 -- head -c 1073741824 /dev/zero | slow-reader 65536 50" >count &&
	test "$(cat count)" = 1073741824 &&
	vm_ping s1
'

# read_at_least NAME BYTES: a process NAME of this script has read BYTES.
read_at_least() {
	for _r in $(t_tagged_comm "$1"); do
		[ "$(sed -n "s/^rchar: //p" "/proc/$_r/io" 2>/dev/null)" -ge "$2" ] 2>/dev/null &&
			return 0
	done
	return 1
}

test_expect_success 'fc-exec memory stays bounded while the reader is slow' '
	( fc-exec -v s1 -- head -c 1073741824 /dev/zero | slow-reader 4096 1000 >count2 ) &
	wait_for read_at_least slow-reader 16777216 &&
	pid=$(t_tagged_comm fc-exec | head -n 1) &&
	rss=$(awk "/^VmRSS/ { print \$2 }" /proc/$pid/status) &&
	echo "rss ${rss} kB" &&
	test "$rss" -lt 131072 &&
	kill -INT "$pid" && sleep 0.2 && kill -INT "$pid" 2>/dev/null; wait
'

test_expect_success 'a command that never reads stdin does not hang fc-exec' '
	head -c 10485760 /dev/zero >ten &&
	expect_code 0 timeout 120 fc-exec -v s1 -- sh -c "echo done" <ten &&
	test "$(cat out)" = done
'

test_expect_success 'a command that reads stdin slowly gets all of it' '
	head -c 3000000 /dev/urandom >three &&
	fc-exec -v s1 -- sh -c "sleep 1; cat" <three >three.back &&
	cmp three three.back
'

test_expect_success 'a reader that goes away: the command gets SIGPIPE' '
	timeout 120 sh -c "fc-exec -v s1 -- yes | head -n 3" >yes.out &&
	test "$(wc -l <yes.out)" = 3
'

test_expect_success 'stdin at EOF at once (/dev/null) and a closed stdin work' '
	expect_code 0 fc-exec -v s1 -- cat </dev/null && test ! -s out &&
	fc-exec -v s1 -- sh -c "cat; echo end" <&- >out && test "$(cat out)" = end
'

test_done
