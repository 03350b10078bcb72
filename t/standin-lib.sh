# t/standin-lib.sh: helpers for the fc-standin tests (sourced after lib.sh).
# The API client is `curl --unix-socket`, so these tests do not depend on
# our own HTTP code.  A "VM dir" D holds api.sock, console.log, stderr.log
# and pid; the stand-in runs with D as its working directory.

ECHO_GUEST="$FCSNAP_BUILD/t/echo-guest"

# si_start D [ARGS...]: start fc-standin in D (created if needed) with
# api.sock; wait for the socket.  Environment knobs are inherited.
si_start() {
	_d=$1; shift
	mkdir -p "$_d"
	(cd "$_d" && exec fc-standin --api-sock api.sock "$@" >console.log 2>stderr.log) &
	echo $! >"$_d/pid"
	wait_for test -S "$_d/api.sock" || { cat "$_d/stderr.log"; return 1; }
}

# si_start_echo D [ARGS...]: the same with echo-guest on ports 52 and 53.
si_start_echo() {
	FCSTANDIN_AGENT=$ECHO_GUEST FCSTANDIN_AGENT_ARGS="52 53" si_start "$@"
}

# si_wait D: wait for the stand-in of D to exit; its status in D/status
# ("gone" when it was started by another test's subshell, so not our child).
si_wait() {
	_st=0
	wait "$(cat "$1/pid")" 2>/dev/null || _st=$?
	if [ "$_st" = 127 ]; then
		wait_for t_gone "$(cat "$1/pid")" || return 1
		_st=gone
	fi
	echo "$_st" >"$1/status"
}

# si_kill D [SIG]: signal the stand-in and wait for it.
si_kill() {
	kill "-${2:-TERM}" "$(cat "$1/pid")" 2>/dev/null || true
	si_wait "$1"
}

# si_alive D: the stand-in still runs (its zombie, waiting for a slow init
# to reap it, does not).
si_alive() { ! t_gone "$(cat "$1/pid")"; }

# api D METHOD PATH [BODY]: one request; status in D/code, body in D/resp.
api() {
	_d=$1 _m=$2 _p=$3 _rc=0
	if [ $# -ge 4 ]; then
		curl -sS --unix-socket "$_d/api.sock" -X "$_m" -H 'Content-Type: application/json' \
			--data-binary "$4" -o "$_d/resp" -w '%{http_code}' "http://localhost$_p" >"$_d/code" || _rc=$?
	else
		curl -sS --unix-socket "$_d/api.sock" -X "$_m" \
			-o "$_d/resp" -w '%{http_code}' "http://localhost$_p" >"$_d/code" || _rc=$?
	fi
	[ -f "$_d/resp" ] || : >"$_d/resp"
	return $_rc
}

# expect_api D CODE METHOD PATH [BODY]: the request answers CODE.
expect_api() {
	_d=$1 _want=$2; shift 2
	rm -f "$_d/resp"
	api "$_d" "$@"
	[ "$(cat "$_d/code")" = "$_want" ] || {
		echo "expected $_want, got $(cat "$_d/code") for: $*"; cat "$_d/resp"; echo; return 1; }
}

# expect_fault D PATTERN METHOD PATH [BODY]: 400 with a fault_message
# matching PATTERN (extended regex, on the raw JSON).
expect_fault() {
	_d=$1 _pat=$2; shift 2
	expect_api "$_d" 400 "$@" || return 1
	grep -q '^{"fault_message":"' "$_d/resp" || { echo "no fault_message:"; cat "$_d/resp"; return 1; }
	grep -Eq -- "$_pat" "$_d/resp" || { echo "fault lacks /$_pat/:"; cat "$_d/resp"; echo; return 1; }
}

# si_config D [MEM_MIB]: kernel, root drive, vsock v.sock, machine config,
# all with relative paths.
si_config() {
	touch "$1/vmlinux" "$1/rootfs.ext4"
	expect_api "$1" 204 PUT /boot-source '{"kernel_image_path":"vmlinux","boot_args":"console=ttyS0"}' &&
	expect_api "$1" 204 PUT /drives/rootfs \
		'{"drive_id":"rootfs","path_on_host":"rootfs.ext4","is_root_device":true,"is_read_only":false}' &&
	expect_api "$1" 204 PUT /vsock '{"guest_cid":3,"uds_path":"v.sock"}' &&
	expect_api "$1" 204 PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":${2:-16}}"
}

# si_boot D [MEM_MIB]: configure and InstanceStart.
si_boot() {
	si_config "$@" && expect_api "$1" 204 PUT /actions '{"action_type":"InstanceStart"}'
}

# echo_ok D [PORT]: a line sent through the vsock bridge comes back.
echo_ok() {
	[ "$(echo "ping-$$" | vsock-cat "$1/v.sock" "${2:-52}" 2>/dev/null)" = "ping-$$" ]
}

# si_guest_ready D: wait until the guest answers on port 52.
si_guest_ready() { wait_for echo_ok "$1"; }

# guest_pids: pids of echo-guest processes started by this test script.
guest_pids() {
	for _gp in $(t_tagged_pids); do
		[ "$(cat "/proc/$_gp/comm" 2>/dev/null)" = echo-guest ] && echo "$_gp"
	done
	return 0
}

# no_guests: no echo-guest of this script runs.
no_guests() { [ -z "$(guest_pids)" ]; }

# si_snapshot D: pause and snapshot into D/vmstate and D/mem.
si_snapshot() {
	expect_api "$1" 204 PATCH /vm '{"state":"Paused"}' &&
	expect_api "$1" 204 PUT /snapshot/create '{"snapshot_path":"vmstate","mem_file_path":"mem"}'
}

# si_restore_dir SRC DST: a fresh dir for a restore of SRC's snapshot.
si_restore_dir() {
	mkdir -p "$2" && cp "$1/vmstate" "$1/mem" "$1/rootfs.ext4" "$2/"
}

# load D [EXTRA_JSON]: PUT /snapshot/load of D's vmstate+mem, resumed.
load_body() {
	echo "{\"snapshot_path\":\"vmstate\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"mem\"},\"resume_vm\":true${1:+,$1}}"
}

# blocks_of FILE: allocated 512-byte blocks.
blocks_of() { stat -c %b "$1"; }
