#!/bin/sh
# Never lose a VM (issue 11): a run dir is owned through its lock, which
# firecracker inherits, never through a pid read earlier.  Each race is made
# deterministic: a FIFO as vm.json (a reader held between its read and its
# check), the stand-in's FCSTANDIN_DELAY_MS (a restore or create held
# between two steps), SIGKILL at a known step.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms
run="$FCSNAP_DIR/run"

# dead PID: no such process, or a zombie, or exiting
dead() {
	_s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d" " -f1)
	[ -z "$_s" ] || [ "$_s" = Z ] || [ "$_s" = X ]
}
# the one run dir whose firecracker is recorded
spawned_id() {
	for _sd in "$run"/*/; do
		_sid=$(basename "$_sd")
		_sp=$(vm_pid "$_sid")
		[ -n "$_sp" ] && [ "$_sp" != 0 ] && { echo "$_sid"; return 0; }
	done
	return 1
}
# the temp dirs of a create of "other" (snapshots/ and run/), once both exist
create_tmps() {
	ls -d "$FCSNAP_DIR"/snapshots/.tmp-other-* "$run"/.tmp-*-create-* 2>/dev/null >ct &&
	test "$(wc -l <ct)" = 2 && cat ct
}
# a --from-vm create of NAME has paused its source and copies the disk
copying() { ls "$FCSNAP_DIR"/snapshots/.tmp-$1-*/rootfs.ext4 >/dev/null 2>&1; }
# wait_state ID STATE: up to 10 tries (each API call is held 1.5 s)
wait_state() {
	_n=0
	until [ "$(vm_state "$1")" = "$2" ]; do
		_n=$((_n + 1)); [ $_n -lt 10 ] || { echo "VM $1 is not $2"; return 1; }
	done
}
# START: field 22 of /proc/PID/stat
start_of() { sed 's/.*) //' "/proc/$1/stat" | cut -d" " -f20; }

test_expect_success 'setup: a snapshot' '
	fc-snap-create -l py -r rootfs.img >/dev/null
'

# 1. fc-ps read vm.json while the restore ran (pid 0, the restorer as
#    owner), then checked the owner after the restore had handed over and
#    exited: it removed the live VM's run dir.
test_expect_success 'fc-ps held between reading vm.json and its check keeps a live VM' '
	id=$(fc-snap-restore py) &&
	d="$run/$id" && fcp=$(vm_pid "$id") &&
	cp "$d/vm.json" good &&
	sed "s/\"pid\":[0-9]*,\"pid_start\":[0-9]*/\"pid\":0,\"pid_start\":0/" good >stale &&
	grep -q "\"pid\":0," stale &&
	rm "$d/vm.json" && mkfifo "$d/vm.json" &&
	{ cat stale >"$d/vm.json" & } &&
	w=$! &&
	timeout 20 fc-ps >ps.out 2>ps.err || true
	kill $w 2>/dev/null || true
	test -d "$d" &&
	rm -f "$d/vm.json" && cp good "$d/vm.json" &&
	! dead $fcp &&
	vm_ping "$id" &&
	fc-ps -q >out && grep -qx "$id" out &&
	fc-kill "$id" && dead $fcp
'

test_expect_success 'a VM being restored is never removed by fc-ps or fc-kill --all of others' '
	{ FCSTANDIN_DELAY_MS=1500 fc-snap-restore --id slow py >slow.out 2>slow.err & } &&
	r=$! &&
	wait_for spawned_id &&
	fc-ps >out && grep -Eq "^slow +py +[0-9]+ +starting " out &&
	test -d "$run/slow" &&
	st=0; wait $r || st=$?
	test $st = 0 && test "$(cat slow.out)" = slow &&
	fc-ps -q >out && grep -qx slow out &&
	vm_ping slow &&
	fc-kill slow
'

# 2. SIGKILL of the restore after the spawn, before the id is printed.
test_expect_success 'a restore killed before the handover leaves no VM: fc-ps reaps it' '
	{ FCSTANDIN_DELAY_MS=3000 fc-snap-restore py >id.out & } &&
	r=$! &&
	wait_for spawned_id &&
	id=$(spawned_id) && fcp=$(vm_pid "$id") &&
	kill -KILL $r && wait $r || true
	test ! -s id.out &&
	! dead $fcp &&
	expect_code 0 fc-ps -q &&
	test ! -s out &&
	wait_for dead $fcp &&
	no_run_dirs
'

test_expect_success 'fc-exec -v refuses a VM whose restore died, and it is reaped' '
	{ FCSTANDIN_DELAY_MS=3000 fc-snap-restore py >id.out & } &&
	r=$! &&
	wait_for spawned_id &&
	id=$(spawned_id) && fcp=$(vm_pid "$id") &&
	kill -KILL $r && wait $r || true
	expect_code 125 fc-exec -v "$id" -- true &&
	grep_err "not running" &&
	fc-ps -q >/dev/null &&
	wait_for dead $fcp && no_run_dirs
'

# 3. SIGKILL of fc-snap-create --from-vm --resume-source while the source
#    is paused: the stand-in holds each request 1.5 s, so the kill comes
#    while the snapshot request is pending, before the resume is sent.
test_expect_success 'a --from-vm --resume-source create killed while the source is paused: resumed' '
	FCSTANDIN_DELAY_MS=1500 fc-snap-restore --id src py >/dev/null &&
	{ fc-snap-create --from-vm src --resume-source -l warm >/dev/null 2>&1 & } &&
	c=$! &&
	wait_for copying warm &&
	kill -KILL $c && wait $c || true
	wait_state src Running &&
	fc-exec -v src -- true &&
	fc-kill src
'

test_expect_success 'killed the same way without --resume-source: resumed too (the failure leaves it as found)' '
	FCSTANDIN_DELAY_MS=1500 fc-snap-restore --id src py >/dev/null &&
	{ fc-snap-create --from-vm src -l warm >/dev/null 2>&1 & } &&
	c=$! &&
	wait_for copying warm &&
	kill -KILL $c && wait $c || true
	wait_state src Running &&
	vm_ping src &&
	fc-kill src
'

# 4. fc-kill trusts nothing in vm.json.
test_expect_success 'fc-kill with vm.json pointing at another process: that one lives, the VM goes' '
	id=$(fc-snap-restore py) && fcp=$(vm_pid "$id") || exit 1
	sleep 1000 &
	s=$!
	sed "s/\"pid\":[0-9]*,\"pid_start\":[0-9]*/\"pid\":$s,\"pid_start\":$(start_of $s)/" \
		"$run/$id/vm.json" >j && mv j "$run/$id/vm.json" &&
	expect_code 0 fc-kill "$id" &&
	! dead $s &&
	dead $fcp &&
	test ! -e "$run/$id" &&
	kill $s
'

test_expect_success 'fc-kill with a damaged vm.json finds the VM process through its run dir' '
	id=$(fc-snap-restore py) && fcp=$(vm_pid "$id") &&
	echo "{" >"$run/$id/vm.json" &&
	fc-ps >out && grep -Eq "^$id +- +- +damaged " out &&
	expect_code 0 fc-kill "$id" &&
	dead $fcp &&
	test ! -e "$run/$id"
'

test_expect_success 'fc-kill --all with damaged and edited entries stops every VM' '
	a=$(fc-snap-restore py) && pa=$(vm_pid "$a") &&
	b=$(fc-snap-restore py) && pb=$(vm_pid "$b") &&
	echo "{" >"$run/$a/vm.json" &&
	sed "s/\"pid\":[0-9]*,/\"pid\":1,/" "$run/$b/vm.json" >j && mv j "$run/$b/vm.json" &&
	expect_code 0 fc-kill --all &&
	dead $pa && dead $pb &&
	no_run_dirs
'

# 5. Temp dirs of killed writers go at the next program of any kind.
test_expect_success 'a create killed mid-way: the next fc-snap-ls removes its temp dirs' '
	{ FCSTANDIN_DELAY_MS=2000 fc-snap-create -l other -r rootfs.img >/dev/null 2>&1 & } &&
	c=$! &&
	wait_for create_tmps &&
	kill -KILL $c && wait $c || true
	create_tmps >tmps &&
	expect_code 0 fc-snap-ls -q &&
	test "$(cat out)" = py &&
	test -z "$(ls -A "$FCSNAP_DIR/snapshots" | grep "^\.tmp-")" &&
	wait_for test ! -e "$(cat tmps | sed -n 2p)"
'

test_expect_success 'the leftovers of a killed rm go at a restore of another name; a live writer keeps its own' '
	mkdir "$FCSNAP_DIR/snapshots/.tmp-gone-Ab12Cd" &&
	truncate -s 1G "$FCSNAP_DIR/snapshots/.tmp-gone-Ab12Cd/mem" &&
	mkdir "$FCSNAP_DIR/snapshots/.tmp-busy-Xy34Zw" &&
	{ ( exec 8>>"$FCSNAP_DIR/locks/busy.lock" && flock 8 && : >locked &&
		exec sleep 1000 ) & } &&
	f=$! &&
	wait_for test -e locked &&
	id=$(fc-snap-restore py) &&
	test ! -e "$FCSNAP_DIR/snapshots/.tmp-gone-Ab12Cd" &&
	test -d "$FCSNAP_DIR/snapshots/.tmp-busy-Xy34Zw" &&
	kill $f && wait $f || true
	fc-kill "$id" &&
	test ! -e "$FCSNAP_DIR/snapshots/.tmp-busy-Xy34Zw"
'

test_expect_success 'nothing is left behind' '
	fc-kill --all && no_run_dirs && wait_for test_no_strays
'

test_done
