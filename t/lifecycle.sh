# t/lifecycle.sh: setup shared by the lifecycle tests (t/05NN-*.t), sourced
# after t/lib.sh.  Runs everything against the Firecracker stand-in with
# fc-agent (test mode) as its guest.
FCSNAP_FIRECRACKER="$FCSNAP_BUILD/t/fc-standin"
FCSTANDIN_AGENT="$FCSNAP_BUILD/bin/fc-agent"
export FCSNAP_FIRECRACKER FCSTANDIN_AGENT
unset FCSTANDIN_DIE FCSTANDIN_FAIL FCSTANDIN_VERSION FCSNAP_KERNEL
# A missing firecracker/kernel is fetched: never from the internet in tests.
FCSNAP_FIRECRACKER_URL=http://127.0.0.1:9/releases
FCSNAP_KERNEL_URL=http://127.0.0.1:9/vmlinux
export FCSNAP_FIRECRACKER_URL FCSNAP_KERNEL_URL
# little guest memory to write: keeps the fsyncs of publish cheap
FCSTANDIN_DIRTY_PCT=1
export FCSTANDIN_DIRTY_PCT

# A dummy kernel and a small sparse rootfs with a recognizable first block.
lc_inputs() {
	printf 'not really a kernel\n' >"$TRASH/vmlinux"
	truncate -s 64M "$TRASH/rootfs.img"
	printf 'rootfs-generation-1' | dd of="$TRASH/rootfs.img" conv=notrunc 2>/dev/null
	FCSNAP_KERNEL="$TRASH/vmlinux"
	export FCSNAP_KERNEL
}

snapdir() { echo "$FCSNAP_DIR/snapshots/$1"; }

# JSON field of a flat object on stdin: jfield KEY -> raw value.
jfield() {
	sed -n "s/.*\"$1\":\\(\"[^\"]*\"\\|[^,}]*\\).*/\\1/p" | sed 's/^"//; s/"$//'
}

vm_pid() {
	sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$FCSNAP_DIR/run/$1/vm.json" 2>/dev/null
}

# pagers_in DIR: pids of the fc-pager processes working in DIR (a lazy
# VM's pager, its server and prefetch; a fill in a pull dir); pagers_of
# ID: in VM ID's run dir; server_of ID: its page server (the pager whose
# parent is a pager).
pagers_in() {
	for _p in $(pgrep -x fc-pager); do
		[ "$(readlink "/proc/$_p/cwd")" = "$1" ] && echo "$_p"
	done
	return 0
}
# all_gone PID...: every one has exited
all_gone() { for _p; do t_gone "$_p" || return 1; done; }
pagers_of() { pagers_in "$FCSNAP_DIR/run/$1"; }
server_of() {
	for _p in $(pagers_of "$1"); do
		_pp=$(ps -o ppid= -p "$_p" | tr -d " ")
		[ "$(cat "/proc/$_pp/comm" 2>/dev/null)" = fc-pager ] && echo "$_p"
	done
	return 0
}

# Stop a VM the way fc-kill does (TERM, then KILL) and remove its run dir.
kill_vm() {
	_p=$(vm_pid "$1")
	if [ -n "$_p" ] && [ "$_p" != 0 ]; then
		kill -TERM "$_p" 2>/dev/null || true
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt 100 ]; do
			sleep 0.02; _i=$((_i + 1))
		done
		kill -KILL "$_p" 2>/dev/null || true
	fi
	rm -rf "$FCSNAP_DIR/run/$1"
}

kill_all_vms() {
	[ -d "$FCSNAP_DIR/run" ] || return 0
	for _d in "$FCSNAP_DIR"/run/*/; do
		[ -d "$_d" ] || continue
		kill_vm "$(basename "$_d")"
	done
	# the stand-in's guest agents go with it; wait until they are gone
	wait_for no_vm_procs || :
}
# no_vm_procs: no stand-in, guest agent or console log keeper (logcap.h)
# of this test is left
no_vm_procs() {
	[ -z "$(t_tagged_comm fc-agent)$(t_tagged_comm fc-standin)$(t_tagged_comm fc-logcap)" ]
}

# Ping the agent of VM id through its vsock socket.
vm_ping() {
	agent-cli --vsock "${2:-10789}" "$FCSNAP_DIR/run/$1/v.sock" ping >/dev/null
}

# GET / on a VM's API socket: prints the state ("Running", "Paused").
vm_state() {
	curl -s --unix-socket "$FCSNAP_DIR/run/$1/api.sock" http://localhost/ | jfield state
}

# No temp entries in the store (test_no_strays without the process check,
# for tests where VMs are meant to run).
no_temp_dirs() {
	_tmp=$(find "$FCSNAP_DIR" -maxdepth 2 -name '.tmp*' 2>/dev/null)
	[ -z "$_tmp" ] || { echo "stray temp entries: $_tmp"; return 1; }
}

# restore_many N SNAP: N concurrent fc-snap-restore SNAP; ids in o.0..,
# stderr in e.0..
restore_many() {
	_i=0; while [ $_i -lt "$1" ]; do
		fc-snap-restore "$2" >o.$_i 2>e.$_i &
		_i=$((_i + 1))
	done
	wait
}
