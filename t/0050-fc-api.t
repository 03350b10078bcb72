#!/bin/sh
# common/fc.c against the Firecracker stand-in, through t/helpers/fc-call:
# our request bodies are accepted, a refusal's fault_message reaches stderr
# verbatim (compared with what curl gets for the same request), and
# transport failures are told apart.
. "$(dirname "$0")/lib.sh"

# start_fc NAME: a stand-in in $TRASH/NAME with its API socket there.
start_fc() {
	mkdir -p "$TRASH/$1"
	(cd "$TRASH/$1" && exec fc-standin --api-sock api.sock) >"$TRASH/$1.log" 2>&1 &
	echo $! >"$TRASH/$1.pid"
	fc-call "$TRASH/$1/api.sock" wait "$!"
}
stop_fc() {
	kill "$(cat "$TRASH/$1.pid")" 2>/dev/null || true
	wait_for t_gone "$(cat "$TRASH/$1.pid")"
}
at_exit 'for p in "$TRASH"/*.pid; do kill "$(cat "$p")"; done'

# fault_of METHOD PATH BODY: the fault_message curl gets, \" and \\ undone.
fault_of() {
	curl -s --unix-socket "$S" -X "$1" -H 'Content-Type: application/json' \
		-d "$3" "http://localhost$2" >curl.out
	sed -n 's/^{"fault_message":"\(.*\)"}$/\1/p' curl.out |
		sed 's/\\"/"/g; s/\\\\/\\/g'
}

# refused_verbatim CALL ARGS...: fc-call fails with exactly
# "fc-call: <CALL>: <expected fault message in ./want>"
refused_verbatim() {
	_call=$1; shift
	expect_code 1 fc-call "$S" "$@" &&
	one_line_err &&
	printf 'fc-call: %s: %s\n' "$_call" "$(cat want)" >want.err &&
	test -s want &&
	{ cmp -s want.err err || { echo "want: $(cat want.err)"; echo " got: $(cat err)"; false; }; }
}

S=$TRASH/a/api.sock

test_expect_success 'fc_wait_ready sees a fresh stand-in answer' '
	start_fc a
'

test_expect_success 'GET / and GET /version are parsed' '
	fc-call "$S" describe >out &&
	grep -qx "state=Not started" out &&
	grep -qx "app_name=Firecracker" out &&
	v=$(fc-standin --version | sed -n "s/^Firecracker v//p") &&
	grep -qx "vmm_version=$v" out &&
	test "$(fc-call "$S" version)" = "$v"
'

test_expect_success 'PATCH /vm before boot: fault_message verbatim' '
	fault_of PATCH /vm "{\"state\":\"Paused\"}" >want &&
	refused_verbatim "PATCH /vm" pause
'

test_expect_success 'missing kernel: fault_message verbatim' '
	fault_of PUT /boot-source "{\"kernel_image_path\":\"nope\"}" >want &&
	refused_verbatim "PUT /boot-source" boot-source nope
'

test_expect_success 'boot-time configuration is accepted' '
	: >"$TRASH/a/vmlinux" && : >"$TRASH/a/rootfs.ext4" &&
	fc-call "$S" boot-source vmlinux "console=ttyS0 reboot=k" &&
	fc-call "$S" machine-config 2 128 dirty &&
	fc-call "$S" drive rootfs rootfs.ext4 root &&
	fc-call "$S" vsock 3 v.sock &&
	fc-call "$S" get-machine-config >out &&
	grep -qx vcpu_count=2 out && grep -qx mem_size_mib=128 out &&
	grep -qx track_dirty_pages=1 out
'

test_expect_success 'GET /vm/config shows what we sent' '
	fc-call "$S" vm-config >out &&
	grep -q "\"boot_args\":\"console=ttyS0 reboot=k\"" out &&
	grep -q "\"path_on_host\":\"rootfs.ext4\"" out &&
	grep -q "\"uds_path\":\"v.sock\"" out
'

test_expect_success 'snapshot load after configuration: fault_message verbatim' '
	fault_of PUT /snapshot/load \
		"{\"snapshot_path\":\"s\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"m\"}}" >want &&
	refused_verbatim "PUT /snapshot/load" snapshot-load s m
'

test_expect_success 'start, pause, snapshot, resume' '
	fc-call "$S" action InstanceStart &&
	fc-call "$S" describe | grep -qx state=Running &&
	fc-call "$S" pause &&
	fc-call "$S" describe | grep -qx state=Paused &&
	fc-call "$S" snapshot-create snap mem &&
	test -s "$TRASH/a/snap" && test -s "$TRASH/a/mem" &&
	fc-call "$S" snapshot-create snap2 mem2 Full &&
	fc-call "$S" resume &&
	fc-call "$S" describe | grep -qx state=Running
'

test_expect_success 'boot-time call after start: fault_message verbatim' '
	fault_of PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":128}" >want &&
	refused_verbatim "PUT /machine-config" machine-config 1 128
'

test_expect_success 'a fresh stand-in loads the snapshot (mem_backend, resume)' '
	start_fc b &&
	cp "$TRASH/a/snap" "$TRASH/a/mem" "$TRASH/a/rootfs.ext4" "$TRASH/b/" &&
	fc-call "$TRASH/b/api.sock" snapshot-load snap mem resume &&
	fc-call "$TRASH/b/api.sock" describe | grep -qx state=Running
'

test_expect_success 'a stopped stand-in: connection refused, named as such' '
	stop_fc a &&
	test -S "$S" &&
	expect_code 1 fc-call "$S" describe &&
	one_line_err &&
	grep_err "^fc-call: GET /: .*api.sock: connection refused"
'

test_expect_success 'no socket file: "no such socket (is firecracker running?)"' '
	expect_code 1 fc-call "$TRASH/none.sock" pause &&
	one_line_err &&
	grep_err "^fc-call: PATCH /vm: .*none.sock: no such socket \(is firecracker running\?\)"
'

test_expect_success 'fc_wait_ready notices a process that exits' '
	mkdir -p "$TRASH/c" &&
	(cd "$TRASH/c" && exec fc-standin --api-sock api.sock --no-such-flag) 2>/dev/null &
	expect_code 1 fc-call -t 60000 "$TRASH/c/api.sock" wait "$!" &&
	grep_err "pid [0-9]+\) exited"
'

test_expect_success 'fc_wait_ready times out on a socket nobody serves' '
	expect_code 1 fc-call -t 300 "$TRASH/none.sock" wait &&
	grep_err "not ready after 300 ms"
'

test_expect_success 'nothing left behind' '
	stop_fc b &&
	test_no_strays
'

test_done
