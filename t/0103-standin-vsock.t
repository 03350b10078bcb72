#!/bin/sh
# fc-standin: the hybrid vsock bridge between uds_path and the guest.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/standin-lib.sh"

unset FCSTANDIN_AGENT

# proc_state PID: the one-letter state from /proc/PID/stat.
proc_state() { sed 's/^.*) //' "/proc/$1/stat" | cut -c1; }

# vsock_accepted D: the stand-in of D holds an accepted connection on its
# vsock socket (a connected socket of its own bound to v.sock).
vsock_accepted() {
	for _ino in $(ls -l "/proc/$(cat "$1/pid")/fd" 2>/dev/null |
			sed -n "s/.*socket:\[\([0-9]*\)\]\$/\1/p"); do
		awk -v i="$_ino" '$7 == i && $6 == "03" && $8 ~ /(^|\/)v\.sock$/ { f = 1 } END { exit !f }' \
			/proc/net/unix && return 0
	done
	return 1
}

test_expect_success 'CONNECT before boot is closed without OK' '
	si_start_echo v &&
	si_config v 8 &&
	expect_code 3 vsock-cat v/v.sock 52 </dev/null &&
	grep_err "closed without OK"
'

test_expect_success 'after boot CONNECT is answered "OK 1073741824" and bridged to the guest' '
	expect_api v 204 PUT /actions "{\"action_type\":\"InstanceStart\"}" &&
	si_guest_ready v &&
	echo hello | vsock-cat v/v.sock 53 >out 2>err &&
	[ "$(cat out)" = hello ] &&
	grep -Eq "^OK 10737418[2-9][0-9]$" err &&
	grep -q "echo-guest: listening on 52" v/console.log
'

test_expect_success 'host-side port numbers increase per connection' '
	vsock-cat -n v/v.sock 52 2>e1 && vsock-cat -n v/v.sock 52 2>e2 &&
	a=$(cut -d" " -f2 e1) && b=$(cut -d" " -f2 e2) &&
	[ $b -gt $a ] && [ $a -gt 1073741824 ]
'

test_expect_success 'CONNECT to a port nothing listens on is closed without a reply' '
	expect_code 3 vsock-cat v/v.sock 99 </dev/null &&
	[ "$(cat err)" = "vsock-cat: closed without OK" ]
'

test_expect_success 'malformed CONNECT lines are closed without a reply' '
	expect_code 3 vsock-cat -l "HELLO 52" v/v.sock 0 </dev/null &&
	expect_code 3 vsock-cat -l "CONNECT x52" v/v.sock 0 </dev/null &&
	expect_code 3 vsock-cat -l "CONNECT 99999999999" v/v.sock 0 </dev/null &&
	expect_code 3 vsock-cat -l "CONNECT 000000000000000000000000000000052" v/v.sock 0 </dev/null
'

test_expect_success 'bytes sent with the CONNECT line in one write are not lost' '
	printf "CONNECT 52\nsame-segment\n" | socat -t 60 - UNIX-CONNECT:v/v.sock >raw &&
	head -n1 raw | grep -Eq "^OK [0-9]+$" &&
	[ "$(sed -n 2p raw)" = same-segment ]
'

test_expect_success 'a 64 MiB stream goes through both ways intact, with EOF propagated' '
	head -c 67108864 /dev/urandom >big &&
	vsock-cat v/v.sock 52 <big >back 2>/dev/null &&
	cmp big back
'

test_expect_success 'ten concurrent connections each get their own echo' '
	pids= &&
	for i in 0 1 2 3 4 5 6 7 8 9; do
		(head -c 1000000 /dev/urandom >in$i && vsock-cat v/v.sock 52 <in$i >out$i 2>/dev/null) &
		pids="$pids $!"
	done &&
	wait $pids &&
	for i in 0 1 2 3 4 5 6 7 8 9; do cmp in$i out$i || exit 1; done
'

test_expect_success 'pause stops the guest process group; resume continues it' '
	g=$(guest_pids | head -n1) && [ -n "$g" ] &&
	expect_api v 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	wait_for sh -c "[ \"\$(sed \"s/^.*) //\" /proc/$g/stat | cut -c1)\" = T ]" &&
	expect_api v 204 PATCH /vm "{\"state\":\"Resumed\"}" &&
	wait_for sh -c "[ \"\$(sed \"s/^.*) //\" /proc/$g/stat | cut -c1)\" != T ]" &&
	si_guest_ready v
'

test_expect_success 'a CONNECT while paused waits and is answered after resume' '
	expect_api v 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	(echo held | vsock-cat v/v.sock 52 >held.out 2>held.err; echo $? >held.rc) &
	hp=$! &&
	wait_for vsock_accepted v &&
	[ ! -e held.rc ] &&
	expect_api v 204 PATCH /vm "{\"state\":\"Resumed\"}" &&
	wait $hp &&
	[ "$(cat held.rc)" = 0 ] && [ "$(cat held.out)" = held ]
'

test_expect_success 'snapshot create closes bridged connections; guest listeners survive' '
	(sleep 30 | (vsock-cat v/v.sock 52 >/dev/null 2>conn.err; echo $? >conn.rc)) &
	wait_for grep -q "^OK " conn.err &&
	[ ! -e conn.rc ] &&
	si_snapshot v &&
	wait_for test -e conn.rc &&
	expect_api v 204 PATCH /vm "{\"state\":\"Resumed\"}" &&
	si_guest_ready v
'

test_expect_success 'without FCSTANDIN_AGENT no guest runs and CONNECT is closed' '
	si_start none && si_boot none 8 &&
	grep -q "FCSTANDIN_AGENT is not set" none/console.log &&
	expect_code 3 vsock-cat none/v.sock 52 </dev/null &&
	si_kill none
'

test_expect_success 'SIGTERM: the stand-in and its guest are gone, its temp dir removed' '
	g=$(guest_pids | head -n1) && [ -n "$g" ] &&
	gdir=$(tr "\0" "\n" </proc/$g/cmdline | tail -n1) && [ -d "$gdir" ] &&
	si_kill v &&
	wait_for t_gone $g &&
	[ ! -e "$gdir" ] &&
	test_no_strays
'

test_done
