#!/bin/sh
# fc-snap-create --from-vm: snapshot a VM that fc-snap-restore started;
# it stays paused unless --resume-source; the new snapshot restores.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

test_expect_success 'setup: a snapshot with settings, and a VM from it' '
	fc-snap-create -l base -r rootfs.img -m 256 -c 2 -F --level -F Debug \
		--boot-args quiet --run-command "python3 -" &&
	fc-snap-restore --id src base &&
	printf "written-in-vm" | dd of="$FCSNAP_DIR/run/src/rootfs.ext4" conv=notrunc 2>/dev/null
'

test_expect_success '--from-vm snapshots the VM and leaves it paused' '
	expect_code 0 fc-snap-create --from-vm src -l warm &&
	test "$(cat out)" = warm &&
	d=$(snapdir warm) &&
	test "$(ls "$d" | sort | tr "\n" " ")" = "mem meta.json rootfs.ext4 vmstate " &&
	test "$(stat -c %a "$d/mem")" = 600 &&
	test "$(head -c 13 "$d/rootfs.ext4")" = written-in-vm &&
	test "$(vm_state src)" = Paused &&
	no_temp_dirs
'

test_expect_success 'the new snapshot keeps the source settings under its own name' '
	m=$(cat "$(snapdir warm)/meta.json") &&
	echo "$m" | grep -q "\"name\":\"warm\"" &&
	echo "$m" | grep -q "\"mem_mib\":256" &&
	echo "$m" | grep -q "\"vcpus\":2" &&
	echo "$m" | grep -q "\"firecracker_args\":\[\"--level\",\"Debug\"\]" &&
	echo "$m" | grep -q "\"boot_args\":\"console=ttyS0 reboot=k panic=1 pci=off quiet\"" &&
	echo "$m" | grep -q "\"run_command\":\[\"python3\",\"-\"\]" &&
	echo "$m" | grep -q "\"kernel\":\"$TRASH/vmlinux\""
'

test_expect_success 'the new snapshot restores and answers' '
	expect_code 0 fc-snap-restore warm &&
	id=$(cat out) &&
	vm_ping "$id" &&
	test "$(head -c 13 "$FCSNAP_DIR/run/$id/rootfs.ext4")" = written-in-vm
'

test_expect_success '--resume-source resumes the source afterwards' '
	expect_code 0 fc-snap-create --from-vm src --resume-source -l warm2 &&
	test "$(vm_state src)" = Running &&
	vm_ping src &&
	test -s "$(snapdir warm2)/vmstate"
'

test_expect_success 'a running source is paused for the copy and resumed with --resume-source' '
	fc-snap-restore --id src2 base &&
	expect_code 0 fc-snap-create --from-vm src2 --resume-source -l warm3 --json &&
	test "$(jfield from_vm <out)" = src2 &&
	test "$(vm_state src2)" = Running && vm_ping src2
'

test_expect_success 'FCSNAP_FIRECRACKER_ARGS and -F merge with the source args: each option once, ours win' '
	FCSNAP_FIRECRACKER_ARGS=--no-seccomp fc-snap-create -l sec -r rootfs.img -m 128 &&
	grep -q "\"firecracker_args\":\[\"--no-seccomp\"\]" "$(snapdir sec)/meta.json" &&
	fc-snap-restore --id secsrc sec &&
	FCSNAP_FIRECRACKER_ARGS="--no-seccomp --level Info" \
		expect_code 0 fc-snap-create --from-vm secsrc -l sec2 -F --level -F Warning &&
	grep -q "\"firecracker_args\":\[\"--no-seccomp\",\"--level\",\"Warning\"\]" \
		"$(snapdir sec2)/meta.json" &&
	expect_code 0 fc-snap-restore sec2 &&
	vm_ping "$(cat out)"
'

test_expect_success 'a failing snapshot: the reason, the source resumed, nothing else left' '
	FCSTANDIN_FAIL="PUT /snapshot/create" fc-snap-restore --id src3 base >/dev/null &&
	expect_code 1 fc-snap-create --from-vm src3 -l warm4 &&
	one_line_err && grep_err "src3" && grep_err "snapshot/create" &&
	test "$(vm_state src3)" = Running && vm_ping src3 &&
	test ! -e "$(snapdir warm4)" && no_temp_dirs
'

test_expect_success 'an unknown VM is refused' '
	expect_code 1 fc-snap-create --from-vm nosuchvm -l x &&
	one_line_err && grep_err "nosuchvm" &&
	test ! -e "$(snapdir x)" && no_temp_dirs
'

test_expect_success 'a dead VM is refused' '
	fc-snap-restore --id dead base &&
	kill -9 "$(vm_pid dead)" &&
	sleep 0.1 &&
	expect_code 1 fc-snap-create --from-vm dead -l x &&
	one_line_err && grep_err "not running" &&
	test ! -e "$(snapdir x)"
'

test_expect_success 'cleanup: nothing left' '
	kill_all_vms && test_no_strays && no_run_dirs
'

test_done
