#!/bin/sh
# fc-standin's Uffd memory backend, served by fc-pager: every page the guest
# reads is the one written at snapshot time, holes read as zeroes, and a
# fault nobody answers hangs the VM as it hangs Firecracker.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/standin-lib.sh"

unset FCSTANDIN_AGENT FCSTANDIN_SEED FCSTANDIN_UFFD_CHECK FCSTANDIN_UFFD_REMOVE
# the vsock reset after a load (t/0105) is done at the resume, before the
# connections these tests make: they check pages, not the reset
FCSTANDIN_VSOCK_RESET_MS=0; export FCSTANDIN_VSOCK_RESET_MS

uffd_body() {
	echo "{\"snapshot_path\":\"vmstate\",\"mem_backend\":{\"backend_type\":\"Uffd\",\"backend_path\":\"uffd.sock\"},\"resume_vm\":true}"
}

# pager_start D [MEMFILE]: fc-pager for D's stand-in on D/uffd.sock.
pager_start() {
	(cd "$1" && exec fc-pager -m "${2:-mem}" -s uffd.sock -p "$(cat pid)" --stats \
		--ready-fd 3 3>ready 2>pager.log) &
	echo $! >"$1/pager.pid"
	wait_for grep -q ready "$1/ready"
}

# snap D VERSION MEM_MIB: a booted and snapshotted stand-in's files in D,
# its zero pages made holes (Firecracker writes them all; fc-snap-create
# punches them, as fallocate --dig-holes does here).
snap() {
	FCSTANDIN_VERSION=$2 si_start_echo "$1" && si_boot "$1" "$3" && si_guest_ready "$1" &&
	si_snapshot "$1" && si_kill "$1" && fallocate --dig-holes "$1/mem"
}

# lazy D SRC VERSION: restore SRC's snapshot into D through fc-pager.
lazy() {
	si_restore_dir "$2" "$1" &&
	FCSTANDIN_VERSION=$3 si_start_echo "$1" && pager_start "$1" &&
	expect_api "$1" 204 PUT /snapshot/load "$(uffd_body)"
}

test_expect_success 'without a page server listening, the load fails as Firecracker'"'"'s does' '
	snap s 1.16.1 32 &&
	si_restore_dir s nl && si_start nl &&
	expect_fault nl "Failed to connect to UDS Unix stream: No such file" PUT /snapshot/load "$(uffd_body)"
'

test_expect_success 'every page read after a Uffd load is the one in the memory file, holes zero' '
	FCSTANDIN_UFFD_CHECK=all lazy a s 1.16.1 &&
	si_guest_ready a && echo_ok a &&
	si_kill a && wait "$(cat a/pager.pid)" &&
	grep -q "served .* faults" a/pager.log &&
	copied=$(sed -n "s/.* faults: \([0-9]*\) pages copied, \([0-9]*\) zero pages.*/\1/p" a/pager.log) &&
	zeroed=$(sed -n "s/.* faults: \([0-9]*\) pages copied, \([0-9]*\) zero pages.*/\2/p" a/pager.log) &&
	[ "$((copied + zeroed))" = 8192 ] && [ "$copied" -gt 300 ] && [ "$zeroed" -gt 500 ] &&
	test_no_strays
'

test_expect_success 'each release'"'"'s region list (1.5, 1.8, 1.12) is served' '
	for v in 1.5.0 1.8.0 1.12.1; do
		snap "s$v" $v 16 &&
		FCSTANDIN_UFFD_CHECK=all lazy "l$v" "s$v" $v &&
		si_guest_ready "l$v" && si_kill "l$v" && wait "$(cat l$v/pager.pid)" &&
		grep -q "4096 pages\|pages copied" "l$v/pager.log" || exit 1
	done
'

test_expect_success 'a page that differs from the memory file makes the stand-in fail loudly' '
	FCSTANDIN_SEED=9 FCSTANDIN_VERSION=1.16.1 si_start_echo o && si_boot o 32 && si_snapshot o && si_kill o &&
	si_restore_dir s wrong && cp o/mem wrong/mem &&
	FCSTANDIN_UFFD_CHECK=all lazy bad wrong 1.16.1 &&
	! echo_ok bad &&
	si_wait bad && [ "$(cat bad/status)" = 1 ] &&
	grep -q "guest memory check failed: page [0-9]* .*memory file written at snapshot time" bad/stderr.log
'

test_expect_success 'pages a balloon gave back (UFFD_EVENT_REMOVE) read as zeroes afterwards' '
	FCSTANDIN_UFFD_CHECK=all FCSTANDIN_UFFD_REMOVE=2048 lazy rm s 1.16.1 &&
	si_guest_ready rm && echo_ok rm && echo_ok rm &&
	si_alive rm && si_kill rm && wait "$(cat rm/pager.pid)" &&
	grep -Eq "[1-9][0-9]* removes" rm/pager.log
'

test_expect_success 'a fault nobody answers hangs the VM until the page server serves it' '
	lazy h s 1.16.1 &&
	srv=$(pgrep -P "$(cat h/pager.pid)") && kill -STOP "$srv" &&
	! timeout 2 sh -c "echo x | vsock-cat h/v.sock 52" &&
	si_alive h &&
	kill -CONT "$srv" &&
	si_guest_ready h && si_kill h && wait "$(cat h/pager.pid)"
'

test_expect_success 'the page server SIGKILLed: firecracker is killed and the log says why' '
	lazy k s 1.16.1 && si_guest_ready k &&
	srv=$(pgrep -P "$(cat k/pager.pid)") && kill -KILL "$srv" &&
	si_wait k && [ "$(cat k/status)" = 137 ] &&
	! wait "$(cat k/pager.pid)" &&
	grep -q "fc-pager: the page server (pid $srv) was killed by signal 9: firecracker (pid $(cat k/pid)) killed" k/pager.log &&
	test_no_strays
'

test_expect_success 'fc-pager refuses a memory file or socket dir others may write' '
	mkdir -p w && cp s/mem w/mem && chmod 666 w/mem &&
	expect_code 1 fc-pager -m w/mem -s w/u.sock && grep_err "w/mem: unsafe owner or mode" && one_line_err &&
	chmod 600 w/mem && chmod 777 w &&
	expect_code 1 fc-pager -m w/mem -s w/u.sock && grep_err "socket directory w: unsafe" && one_line_err &&
	chmod 755 w && [ ! -e w/u.sock ] &&
	expect_code 2 fc-pager -s w/u.sock && one_line_err
'

test_done
