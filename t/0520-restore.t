#!/bin/sh
# fc-snap-restore: a restored VM runs in its own run dir and answers its
# agent; bad snapshots and version/vendor mismatches are refused before
# anything starts; a failed load leaves nothing behind.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

test_expect_success 'setup: a snapshot' '
	fc-snap-create -l py -r rootfs.img
'

test_expect_success 'restore prints an id; the VM runs and its agent answers' '
	expect_code 0 fc-snap-restore py &&
	id=$(cat out) && test -n "$id" &&
	test ! -s err &&
	d=$FCSNAP_DIR/run/$id &&
	test -f "$d/vm.json" && test -S "$d/api.sock" && test -S "$d/v.sock" &&
	pid=$(vm_pid "$id") && kill -0 "$pid" &&
	test "$(cat /proc/$pid/comm)" = fc-standin &&
	test "$(vm_state "$id")" = Running &&
	vm_ping "$id" &&
	echo "$id" >id1
'

test_expect_success 'the VM shares the snapshot disk itself (a hard link, 0400), copying nothing' '
	id=$(cat id1) &&
	d=$FCSNAP_DIR/run/$id &&
	test "$(stat -c %i "$d/rootfs.ext4")" = "$(stat -c %i "$(snapdir py)/rootfs.ext4")" &&
	test "$(stat -c %a "$d/rootfs.ext4")" = 400
'

test_expect_success 'with --disk copy, the VM has a private disk copy with the snapshot content' '
	fc-snap-create -l cp --disk copy -r rootfs.img &&
	grep -q "\"disk\":\"copy\"" "$(snapdir cp)/meta.json" &&
	expect_code 0 fc-snap-restore cp &&
	d=$FCSNAP_DIR/run/$(cat out) &&
	cmp "$d/rootfs.ext4" "$(snapdir cp)/rootfs.ext4" &&
	test "$(stat -c %i "$d/rootfs.ext4")" != "$(stat -c %i "$(snapdir cp)/rootfs.ext4")" &&
	test "$(stat -c %a "$d/rootfs.ext4")" = 600
'

test_expect_success 'firecracker runs in the run dir, in its own session' '
	id=$(cat id1) && pid=$(vm_pid "$id") &&
	test "$(readlink /proc/$pid/cwd)" = "$FCSNAP_DIR/run/$id" &&
	test "$(ps -o sid= -p "$pid" | tr -d " ")" = "$pid"
'

test_expect_success 'restore sends the agent its hello (clock and entropy)' '
	FCSTANDIN_AGENT_ARGS=-v expect_code 0 fc-snap-restore py &&
	log=$FCSNAP_DIR/run/$(cat out)/log &&
	grep -q "hello: clock: .*; entropy: " "$log" || {
		cat "$log"; false; }
'

test_expect_success 'with --no-hello or --paused the agent gets no hello' '
	FCSTANDIN_AGENT_ARGS=-v expect_code 0 fc-snap-restore --no-hello py &&
	id=$(cat out) && vm_ping "$id" &&
	! grep -q "hello:" "$FCSNAP_DIR/run/$id/log"
'

test_expect_success '--id chooses the id; a taken id is refused and the VM is untouched' '
	expect_code 0 fc-snap-restore --id web-1 py &&
	test "$(cat out)" = web-1 &&
	pid=$(vm_pid web-1) &&
	expect_code 1 fc-snap-restore --id web-1 py &&
	one_line_err && grep_err "web-1" &&
	test "$(vm_pid web-1)" = "$pid" && kill -0 "$pid" && vm_ping web-1 &&
	expect_code 2 fc-snap-restore --id Bad py && one_line_err
'

test_expect_success '--json prints id, pid, paths and timings' '
	expect_code 0 fc-snap-restore --json py &&
	test "$(wc -l <out)" = 1 &&
	id=$(jfield id <out) &&
	test "$(jfield pid <out)" = "$(vm_pid "$id")" &&
	test "$(jfield dir <out)" = "$FCSNAP_DIR/run/$id" &&
	test "$(jfield api_sock <out)" = "$FCSNAP_DIR/run/$id/api.sock" &&
	test "$(jfield vsock <out)" = "$FCSNAP_DIR/run/$id/v.sock" &&
	test "$(jfield snapshot <out)" = py &&
	for k in check copy spawn socket load agent total own; do
		grep -Eq "\"$k\":[0-9]" out || { echo "no $k"; cat out; false; }
	done
'

test_expect_success '--timings prints the breakdown on stderr' '
	expect_code 0 fc-snap-restore --timings py &&
	grep -Eq "^fc-snap-restore: timings \(ms\): check [0-9.]+ copy [0-9.]+ spawn [0-9.]+ socket [0-9.]+ load [0-9.]+ agent [0-9.]+ total [0-9.]+ own [0-9.]+" err
'

test_expect_success '--paused leaves the VM paused' '
	expect_code 0 fc-snap-restore --paused py &&
	id=$(cat out) &&
	test "$(vm_state "$id")" = Paused
'

test_expect_success 'extra firecracker arguments recorded in the snapshot are passed again' '
	fc-snap-create -l dbg -r rootfs.img -F --level -F Debug &&
	expect_code 0 fc-snap-restore dbg &&
	pid=$(vm_pid "$(cat out)") &&
	tr "\0" " " </proc/$pid/cmdline | grep -q -- "--api-sock .*api.sock --level Debug"
'

test_expect_success 'cleanup: kill the VMs' '
	kill_all_vms && test_no_strays && no_run_dirs
'

refused() {
	_pat=$1; shift
	expect_code 1 "$@" && one_line_err && grep_err "$_pat" &&
	test_no_strays && no_run_dirs
}

test_expect_success 'a missing snapshot is refused' '
	refused "no snapshot named nope" fc-snap-restore nope &&
	expect_code 2 fc-snap-restore Bad/name && one_line_err
'

test_expect_success 'a truncated or missing file is refused before anything starts' '
	fc-snap-create -l dmg -r rootfs.img &&
	d=$(snapdir dmg) &&
	truncate -s -4096 "$d/mem" &&
	refused "dmg is damaged: mem has .* bytes, meta.json says" fc-snap-restore dmg &&
	truncate -s +4096 "$d/mem" &&
	rm "$d/rootfs.ext4" &&
	refused "dmg is incomplete: rootfs.ext4 is missing" fc-snap-restore dmg &&
	rm "$d/meta.json" &&
	refused "dmg: meta.json is missing" fc-snap-restore dmg
'

# A binary's version is fixed (restore caches it by inode and ctime), so
# each release the stand-in plays is a binary of its own.
fc_release() {
	cp "$FCSNAP_FIRECRACKER" "$TRASH/fc-$1" &&
	printf "#!/bin/sh\nFCSTANDIN_VERSION=$1 exec \"$TRASH/fc-$1\" \"\$@\"\n" >"$TRASH/firecracker-$1" &&
	chmod +x "$TRASH/firecracker-$1"
}

test_expect_success 'a snapshot of another Firecracker release is refused before anything starts' '
	fc_release 1.7.0 && fc_release 1.16.1 && fc_release 1.7.2 &&
	fc-snap-create -f "$TRASH/firecracker-1.7.0" -l old -r rootfs.img &&
	grep -q "\"firecracker_version\":\"1.7.0\"" "$(snapdir old)/meta.json" &&
	refused "made by Firecracker 1.7.0.* is 1.16.1 and cannot load it" \
		fc-snap-restore -f "$TRASH/firecracker-1.16.1" old &&
	expect_code 0 fc-snap-restore -f "$TRASH/firecracker-1.7.2" old &&
	kill_all_vms
'

test_expect_success 'the version of a binary is remembered, and asked again when it changes' '
	ls "$FCSNAP_DIR"/cache/fcver-* >/dev/null &&
	cp "$TRASH/fc-1.7.2" "$TRASH/fc-swap" &&
	printf "#!/bin/sh\nFCSTANDIN_VERSION=1.16.1 exec \"$TRASH/fc-swap\" \"\$@\"\n" >"$TRASH/fcw" &&
	chmod +x "$TRASH/fcw" &&
	refused "is 1.16.1 and cannot load it" fc-snap-restore -f "$TRASH/fcw" old &&
	printf "#!/bin/sh\nFCSTANDIN_VERSION=1.7.2 exec \"$TRASH/fc-swap\" \"\$@\"\n" >"$TRASH/fcw.new" &&
	chmod +x "$TRASH/fcw.new" && mv "$TRASH/fcw.new" "$TRASH/fcw" &&
	expect_code 0 fc-snap-restore -f "$TRASH/fcw" old &&
	kill_all_vms
'

test_expect_success 'a snapshot from a CPU of another vendor is refused' '
	fc-snap-create -l cpu -r rootfs.img &&
	sed -i "s/\"cpu_vendor\":\"[^\"]*\"/\"cpu_vendor\":\"OtherVendor\"/" "$(snapdir cpu)/meta.json" &&
	refused "made on a OtherVendor CPU" fc-snap-restore cpu
'

test_expect_success 'a missing firecracker binary is refused' '
	refused "firecracker binary" fc-snap-restore -f "$TRASH/nofc" py
'

test_expect_success 'a failing load: the reason, firecracker killed, run dir removed' '
	FCSTANDIN_FAIL="PUT /snapshot/load" refused "loading snapshot py" fc-snap-restore py
'

test_expect_success 'firecracker dying at load: reported, nothing left' '
	FCSTANDIN_DIE=snapshot-load refused "loading snapshot py.*firecracker exited with status 1" \
		fc-snap-restore py
'

test_expect_success 'an agent that never answers the hello: timeout, nothing left' '
	(unset FCSTANDIN_AGENT; refused "agent did not answer" fc-snap-restore -t 4 py)
'

test_expect_success '--no-hello resumes without contacting the agent' '
	(unset FCSTANDIN_AGENT; expect_code 0 fc-snap-restore --no-hello -t 60 py) &&
	test "$(vm_state "$(cat out)")" = Running &&
	kill_all_vms
'

has_api_sock() { ls "$FCSNAP_DIR"/run/*/api.sock >/dev/null 2>&1; }

test_expect_success 'SIGTERM during restore: nothing left' '
	(unset FCSTANDIN_AGENT; exec fc-snap-restore -t 60 py) >o1 2>e1 &
	p=$! &&
	wait_for has_api_sock &&
	wait_for sh -c "curl -s --unix-socket $FCSNAP_DIR/run/*/api.sock http://localhost/ | grep -q Running" &&
	kill -TERM $p && rc=0 && wait $p || rc=$? &&
	test "$rc" = 1 && grep -q "interrupted by signal 15" e1 &&
	test_no_strays && no_run_dirs
'

test_done
