#!/bin/sh
# fc-standin: the fault knobs, the guest's lifetime, and cleanup on death.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/standin-lib.sh"

unset FCSTANDIN_AGENT FCSTANDIN_FAIL FCSTANDIN_DIE FCSTANDIN_DELAY_MS FCSTANDIN_BOOT_MS FCSTANDIN_VERBOSE

test_expect_success 'FCSTANDIN_FAIL fails the named calls with an injected fault' '
	FCSTANDIN_FAIL="PUT /snapshot/create, InstanceStart" si_start f &&
	si_config f 8 &&
	expect_fault f "^\\{\"fault_message\":\"fc-standin: injected failure\"\\}$" \
		PUT /actions "{\"action_type\":\"InstanceStart\"}" &&
	expect_api f 200 GET / && grep -q "Not started" f/resp &&
	si_kill f &&
	FCSTANDIN_FAIL="PUT /snapshot/create" si_start g &&
	si_boot g 8 &&
	expect_api g 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	expect_fault g "fc-standin: injected failure" PUT /snapshot/create \
		"{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\"}" &&
	[ ! -e g/s ] && [ ! -e g/m ] &&
	si_kill g
'

test_expect_success 'FCSTANDIN_DIE=start: exits 1 right after binding the API socket' '
	mkdir -p ds &&
	(cd ds && FCSTANDIN_DIE=start expect_code 1 fc-standin --api-sock api.sock) &&
	test -S ds/api.sock &&
	grep -q "dying at start" ds/err
'

test_expect_success 'FCSTANDIN_DIE=InstanceStart: the call gets no answer, exit 1' '
	FCSTANDIN_DIE=InstanceStart si_start_echo di &&
	si_config di 8 &&
	! api di PUT /actions "{\"action_type\":\"InstanceStart\"}" 2>/dev/null &&
	si_wait di && [ "$(cat di/status)" = 1 ] &&
	test_no_strays
'

test_expect_success 'FCSTANDIN_DIE=pause: dies on pause, the guest goes too' '
	FCSTANDIN_DIE=pause si_start_echo dp &&
	si_boot dp 8 && si_guest_ready dp &&
	[ -n "$(guest_pids)" ] &&
	! api dp PATCH /vm "{\"state\":\"Paused\"}" 2>/dev/null &&
	si_wait dp && [ "$(cat dp/status)" = 1 ] &&
	wait_for no_guests &&
	test_no_strays
'

test_expect_success 'FCSTANDIN_DIE=snapshot-create leaves a half-written memory file' '
	FCSTANDIN_DIRTY_PCT=50 si_start full && si_boot full 16 && si_snapshot full && si_kill full &&
	FCSTANDIN_DIRTY_PCT=50 FCSTANDIN_DIE=snapshot-create si_start dc &&
	si_boot dc 16 &&
	expect_api dc 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	! api dc PUT /snapshot/create "{\"snapshot_path\":\"vmstate\",\"mem_file_path\":\"mem\"}" 2>/dev/null &&
	si_wait dc && [ "$(cat dc/status)" = 1 ] &&
	cmp full/vmstate dc/vmstate &&
	h=$(blocks_of dc/mem) && a=$(blocks_of full/mem) &&
	[ $h -gt 0 ] && [ $((h * 3)) -lt $((a * 2)) ] && [ $((h * 3)) -gt $a ]
'

test_expect_success 'FCSTANDIN_DIE=snapshot-load: dies on load' '
	si_restore_dir full dl &&
	FCSTANDIN_DIE=snapshot-load si_start dl &&
	! api dl PUT /snapshot/load "$(load_body)" 2>/dev/null &&
	si_wait dl && [ "$(cat dl/status)" = 1 ]
'

test_expect_success 'FCSTANDIN_DELAY_MS holds every answer at least that long' '
	FCSTANDIN_DELAY_MS=400 si_start dm &&
	t0=$(date +%s%N) &&
	expect_api dm 200 GET /version &&
	t1=$(date +%s%N) &&
	[ $(((t1 - t0) / 1000000)) -ge 400 ] &&
	si_kill dm
'

test_expect_success 'FCSTANDIN_DELAY_MS delays one client without blocking the others past it' '
	FCSTANDIN_DELAY_MS=300 si_start dd &&
	t0=$(date +%s%N) &&
	pids= &&
	for i in 1 2 3 4 5 6; do
		curl -sS --unix-socket dd/api.sock http://localhost/version >o$i & pids="$pids $!"
	done &&
	wait $pids &&
	t1=$(date +%s%N) &&
	for i in 1 2 3 4 5 6; do grep -q 1.16.1 o$i || exit 1; done &&
	[ $(((t1 - t0) / 1000000)) -ge 300 ] &&
	si_kill dd
'

test_expect_success 'FCSTANDIN_BOOT_MS delays the guest after InstanceStart' '
	FCSTANDIN_BOOT_MS=15000 si_start_echo bm &&
	si_boot bm 8 &&
	[ -z "$(guest_pids)" ] &&
	expect_code 3 vsock-cat bm/v.sock 52 </dev/null &&
	si_guest_ready bm &&
	si_kill bm
'

test_expect_success 'SendCtrlAltDel: the guest exits and the stand-in exits 0' '
	si_start_echo cad &&
	si_boot cad 8 && si_guest_ready cad &&
	expect_api cad 204 PUT /actions "{\"action_type\":\"SendCtrlAltDel\"}" &&
	si_wait cad && [ "$(cat cad/status)" = 0 ] &&
	[ -z "$(guest_pids)" ] &&
	test_no_strays
'

test_expect_success 'a guest that exits on its own ends the stand-in with 0' '
	FCSTANDIN_AGENT=true si_start tr &&
	si_boot tr 8 &&
	si_wait tr && [ "$(cat tr/status)" = 0 ] &&
	grep -q "reboot: Restarting system" tr/console.log
'

test_expect_success 'an agent that cannot run is reported on the console' '
	FCSTANDIN_AGENT=/nonexistent/agent si_start na &&
	si_boot na 8 &&
	si_wait na &&
	grep -q "cannot run /nonexistent/agent" na/console.log
'

test_expect_success 'the agent gets the kernel command line in FCSTANDIN_CMDLINE, also after a load' '
	si_start_echo cl && si_boot cl 8 && si_guest_ready cl &&
	g=$(guest_pids | head -n1) &&
	tr "\0" "\n" </proc/$g/environ | grep -qx "FCSTANDIN_CMDLINE=console=ttyS0" &&
	si_snapshot cl && si_kill cl &&
	si_restore_dir cl cl2 &&
	si_start_echo cl2 &&
	expect_api cl2 204 PUT /snapshot/load "$(load_body)" &&
	si_guest_ready cl2 &&
	g=$(guest_pids | head -n1) &&
	tr "\0" "\n" </proc/$g/environ | grep -qx "FCSTANDIN_CMDLINE=console=ttyS0" &&
	si_kill cl2
'

test_expect_success 'SIGKILL of the stand-in takes the guest down (PDEATHSIG)' '
	si_start_echo k9 &&
	si_boot k9 8 && si_guest_ready k9 &&
	g=$(guest_pids) && [ -n "$g" ] &&
	si_kill k9 KILL &&
	wait_for t_gone $g &&
	test_no_strays
'

test_expect_success 'SIGTERM of the stand-in: exit by the signal, no guest left' '
	si_start_echo k15 &&
	si_boot k15 8 && si_guest_ready k15 &&
	echo hi | vsock-cat k15/v.sock 53 >/dev/null 2>&1 &&
	si_kill k15 TERM &&
	[ "$(cat k15/status)" = 143 ] &&
	[ -z "$(guest_pids)" ] &&
	test_no_strays
'

test_expect_success 'FCSTANDIN_VERBOSE logs requests on stderr; silent without it' '
	FCSTANDIN_VERBOSE=1 si_start vb &&
	expect_api vb 200 GET /version &&
	si_kill vb &&
	grep -q "GET /version" vb/stderr.log &&
	si_start q &&
	expect_api q 200 GET /version &&
	si_kill q &&
	[ ! -s q/stderr.log ]
'

test_expect_success 'nothing is left running' '
	test_no_strays
'

test_done
