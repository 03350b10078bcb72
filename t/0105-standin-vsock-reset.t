#!/bin/sh
# fc-standin: the vsock transport reset Firecracker queues for the guest
# when it saves a snapshot.  A VM restored from it (on its first resume)
# and the source VM (on its next) drop the vsock connections open when
# their guest processes the reset, FCSTANDIN_VSOCK_RESET_MS after the
# resume (default: random, 0 to 300 ms).  The tests connect while the VM
# is paused, so the connection exists at the resume whatever the load.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/standin-lib.sh"

unset FCSTANDIN_AGENT FCSTANDIN_DIRTY_PCT FCSTANDIN_SEED FCSTANDIN_VSOCK_RESET_MS
export FCSTANDIN_VERBOSE=1

# held D NAME: in the background, send a line through D's vsock port 52;
# NAME.out gets what came back, NAME.err the reply line, NAME.rc the status.
held() {
	(echo "held-$2" | vsock-cat "$1/v.sock" 52 >"$2.out" 2>"$2.err"; echo $? >"$2.rc") &
	echo $! >"$2.pid"
}
# held_waits D: the stand-in holds the CONNECT until the VM resumes.
held_waits() { grep -q "CONNECT 52 waits for the VM" "$1/stderr.log"; }
# reset_done D: the stand-in logged that the guest processed the reset.
reset_done() { grep -q "processed the transport reset" "$1/stderr.log"; }

test_expect_success 'setup: a snapshot of a VM whose guest echoes' '
	FCSTANDIN_VSOCK_RESET_MS=100 si_start_echo a && si_boot a 8 && si_guest_ready a && si_snapshot a
'

test_expect_success 'after a load, a connection open at the resume gets OK, then is closed with no byte through' '
	si_restore_dir a b &&
	FCSTANDIN_VSOCK_RESET_MS=200 si_start_echo b &&
	expect_api b 204 PUT /snapshot/load "{\"snapshot_path\":\"vmstate\",\"mem_file_path\":\"mem\"}" &&
	held b h1 &&
	wait_for held_waits b &&
	[ ! -e h1.rc ] &&
	expect_api b 204 PATCH /vm "{\"state\":\"Resumed\"}" &&
	wait "$(cat h1.pid)" &&
	[ "$(cat h1.rc)" = 0 ] &&
	grep -Eq "^OK [0-9]+$" h1.err &&
	[ ! -s h1.out ] &&
	reset_done b &&
	grep -q "transport reset in 200 ms" b/stderr.log
'

test_expect_success 'connections made after the reset are bridged' '
	si_guest_ready b &&
	echo_ok b &&
	si_kill b
'

test_expect_success 'the source VM drops the connections open when it resumes after a create' '
	expect_api a 204 PATCH /vm "{\"state\":\"Resumed\"}" &&
	wait_for reset_done a &&
	si_guest_ready a &&
	: >a/stderr.log &&
	expect_api a 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	expect_api a 204 PUT /snapshot/create "{\"snapshot_path\":\"vmstate2\",\"mem_file_path\":\"mem2\"}" &&
	held a h2 &&
	wait_for held_waits a &&
	expect_api a 204 PATCH /vm "{\"state\":\"Resumed\"}" &&
	wait "$(cat h2.pid)" &&
	grep -Eq "^OK [0-9]+$" h2.err && [ ! -s h2.out ] &&
	reset_done a &&
	si_guest_ready a
'

test_expect_success 'a pause and resume without a snapshot resets nothing' '
	: >a/stderr.log &&
	expect_api a 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	held a h3 &&
	wait_for held_waits a &&
	expect_api a 204 PATCH /vm "{\"state\":\"Resumed\"}" &&
	wait "$(cat h3.pid)" &&
	[ "$(cat h3.out)" = held-h3 ] &&
	! grep -q "transport reset" a/stderr.log &&
	si_kill a
'

test_expect_success 'FCSTANDIN_VSOCK_RESET_MS=0: the reset is done at the resume' '
	si_restore_dir a c &&
	FCSTANDIN_VSOCK_RESET_MS=0 si_start_echo c &&
	expect_api c 204 PUT /snapshot/load "$(load_body)" &&
	reset_done c &&
	si_guest_ready c &&
	si_kill c
'

test_expect_success 'by default the delay is between 0 and 300 ms' '
	for i in 1 2 3 4 5; do
		rm -rf d && si_restore_dir a d && si_start_echo d &&
		expect_api d 204 PUT /snapshot/load "$(load_body)" &&
		wait_for reset_done d &&
		ms=$(sed -n "s/.*transport reset in \([0-9]*\) ms.*/\1/p" d/stderr.log) &&
		[ -n "$ms" ] && [ "$ms" -ge 0 ] && [ "$ms" -le 300 ] &&
		si_kill d || exit 1
	done
'

test_done
