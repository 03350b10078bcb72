#!/bin/sh
# fc-snap-create failures: firecracker dying, an agent that never answers,
# a failing snapshot call, SIGTERM, and two creates of one name.  Each
# leaves no process, temp dir or half snapshot, and the old snapshot intact.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs

# The identity of snapshot keep: its meta.json and its files' inodes.
keep_id() {
	sha "$(snapdir keep)/meta.json" &&
	stat -c "%n %i %s %Y" "$(snapdir keep)"/*
}

test_expect_success 'setup: an existing snapshot to keep' '
	fc-snap-create -l keep -r rootfs.img &&
	keep_id >keep.sha
'

keep_intact() {
	keep_id >now.sha &&
	cmp -s keep.sha now.sha || { echo "snapshot keep changed"; return 1; }
}

test_expect_success 'firecracker dying at InstanceStart: exit 1, the reason, nothing left' '
	FCSTANDIN_DIE=InstanceStart expect_code 1 fc-snap-create -l keep -r rootfs.img &&
	one_line_err &&
	grep_err "InstanceStart|/actions" &&
	grep_err "firecracker exited with status 1" &&
	keep_intact && test_no_strays && no_run_dirs
'

test_expect_success 'firecracker missing its API socket: reported, nothing left' '
	printf "#!/bin/sh\nexit 3\n" >fakefc && chmod +x fakefc &&
	expect_code 1 fc-snap-create -l keep -r rootfs.img -f "$TRASH/fakefc" &&
	one_line_err && grep_err "exited with status 3" &&
	keep_intact && test_no_strays && no_run_dirs
'

test_expect_success 'an agent that never answers: timeout with the console tail' '
	(unset FCSTANDIN_AGENT; expect_code 1 fc-snap-create -l keep -r rootfs.img -t 4) &&
	head -n 1 err | grep -q "^fc-snap-create: the guest agent did not answer on vsock port 10789 within 4 s" &&
	grep -q "^last 10 lines of the guest console:" err &&
	grep -q "^  | .*Command line: console=ttyS0 reboot=k panic=1 pci=off" err &&
	grep -q "^  | .*FCSTANDIN_AGENT is not set" err &&
	test "$(grep -c "^  | " err)" -le 10 &&
	keep_intact && test_no_strays && no_run_dirs
'

test_expect_success 'a failing snapshot create: Firecracker'\''s fault message, nothing left' '
	FCSTANDIN_FAIL="PUT /snapshot/create" expect_code 1 fc-snap-create -l keep -r rootfs.img &&
	one_line_err && grep_err "snapshot/create" &&
	keep_intact && test_no_strays && no_run_dirs
'

test_expect_success 'a failing pause is reported the same way' '
	FCSTANDIN_FAIL="PATCH /vm" expect_code 1 fc-snap-create -l keep -r rootfs.img &&
	one_line_err && grep_err "PATCH /vm" &&
	keep_intact && test_no_strays && no_run_dirs
'

# A create that holds the lock: no agent, so it waits (up to 60 s).
start_hanging_create() {
	(unset FCSTANDIN_AGENT; exec fc-snap-create -l keep -r rootfs.img -t 60) >o1 2>e1 &
	echo $! >hang.pid
	wait_for has_standin
}
has_standin() {
	for _p in $(t_tagged_pids); do
		[ "$(cat /proc/$_p/comm 2>/dev/null)" = fc-standin ] && return 0
	done
	return 1
}

test_expect_success 'SIGTERM during create: exit 1, firecracker killed, temp dirs removed' '
	start_hanging_create &&
	ls -d "$FCSNAP_DIR"/snapshots/.tmp-keep-* &&
	kill -TERM "$(cat hang.pid)" &&
	rc=0 && wait "$(cat hang.pid)" || rc=$? &&
	test "$rc" = 1 &&
	grep -q "interrupted by signal 15" e1 &&
	test ! -s o1 &&
	keep_intact && test_no_strays && no_run_dirs
'

test_expect_success 'SIGINT during create does the same' '
	start_hanging_create &&
	kill -INT "$(cat hang.pid)" &&
	rc=0 && wait "$(cat hang.pid)" || rc=$? &&
	test "$rc" = 1 && grep -q "interrupted by signal 2" e1 &&
	keep_intact && test_no_strays && no_run_dirs
'

# (a dead process stays a zombie until init reaps it: that counts as gone)
no_standin() {
	for _p in $(t_tagged_pids); do
		[ "$(cat /proc/$_p/comm 2>/dev/null)" = fc-standin ] &&
			[ "$(cut -d" " -f3 /proc/$_p/stat 2>/dev/null)" != Z ] && return 1
	done
	return 0
}

test_expect_success 'SIGKILL during create: firecracker dies with it, the next create cleans up' '
	start_hanging_create &&
	kill -KILL "$(cat hang.pid)" &&
	{ wait "$(cat hang.pid)" || true; } &&
	wait_for no_standin &&
	keep_intact &&
	# what it could not clean up, the next create of the name does
	start_hanging_create &&
	kill -TERM "$(cat hang.pid)" && { wait "$(cat hang.pid)" || true; } &&
	keep_intact && test_no_strays && no_run_dirs
'
test_expect_success 'a second create of the same name fails at once, naming the lock' '
	start_hanging_create &&
	expect_code 1 fc-snap-create -l keep -r rootfs.img &&
	one_line_err && grep_err "locked" && grep_err "-w" &&
	kill -TERM "$(cat hang.pid)" && { wait "$(cat hang.pid)" || true; } &&
	keep_intact && test_no_strays && no_run_dirs
'

test_expect_success 'with -w the second create waits for the first, then succeeds' '
	start_hanging_create
	fc-snap-create -w -l keep -r rootfs.img >o2 2>e2 &
	w=$!
	wait_for t_has_open $w "$FCSNAP_DIR/locks/keep.lock" &&
	kill -0 $w &&
	kill -TERM "$(cat hang.pid)" && { wait "$(cat hang.pid)" || true; } &&
	wait $w &&
	test "$(cat o2)" = keep &&
	test_no_strays && no_run_dirs &&
	keep_id >keep.sha
'

test_expect_success 'a create of another name runs beside a locked one' '
	start_hanging_create &&
	expect_code 0 fc-snap-create -l other -r rootfs.img &&
	kill -TERM "$(cat hang.pid)" && { wait "$(cat hang.pid)" || true; } &&
	test_no_strays
'

test_done
