#!/bin/sh
# A guest that writes its serial console without end fills no host disk:
# a restored VM's firecracker writes to a pipe whose keeper (fc-logcap,
# logcap.h) keeps the run dir's log under 1 MiB, its last lines kept
# after one line counting what went.  The keeper holds nothing of the
# VM's (not its run dir, not its lock) and goes with it.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms
run="$FCSNAP_DIR/run"

test_expect_success 'setup: a snapshot, a VM restored from it' '
	printf "%s\n" "{ head -c 3000000 /dev/zero | tr \"\\\\0\" x; echo; echo the-last-line; } >/proc/\$PPID/fd/1" >spam.sh &&
	cat spam.sh &&
	fc-snap-create -l py -r rootfs.img >/dev/null &&
	fc-snap-restore py >id && test -d "$run/$(cat id)"
'
id=$(cat "$TRASH/id" 2>/dev/null)

# The stand-in's guest agent has firecracker's stdout as its own: the
# guest's console.
test_expect_success 'a guest writing 3 MB to its console: the log stays under 1 MiB, its last line kept' '
	fc-exec -v "$id" -- sh "$TRASH/spam.sh" &&
	wait_for grep -q "^the-last-line\$" "$run/$id/log" &&
	sz=$(stat -c %s "$run/$id/log") && echo "log: $sz bytes" &&
	test "$sz" -le $((1048576 + 65536)) &&
	head -n 1 "$run/$id/log" | grep -Eq "^\\[fcsnap: [0-9]+ bytes of console output went here: the log keeps its last 512 KiB\\]\$" &&
	test "$(tail -n 1 "$run/$id/log")" = the-last-line &&
	fc-exec -v "$id" -- true
'

test_expect_success 'the keeper holds only its pipe and the log: not the run dir, not its lock' '
	k=$(t_tagged_comm fc-logcap) && test -n "$k" && test "$(echo "$k" | wc -l)" = 1 &&
	test "$(readlink "/proc/$k/cwd")" = / &&
	ls -l "/proc/$k/fd" >fds && cat fds &&
	test "$(grep -c -- "->" fds)" = 3 &&
	grep -q "0 -> pipe:" fds && grep -q "1 -> $run/$id/log" fds && grep -q "2 -> /dev/null" fds
'

test_expect_success 'it goes with its VM' '
	fc-kill "$id" && wait_for no_vm_procs && test_no_strays
'

test_done
