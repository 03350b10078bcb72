#!/bin/sh
# fc-standin as Firecracker 1.3.x words its faults as real v1.3.3 does
# (fcsnap shows them to users verbatim); later versions keep theirs.  And
# after a failed load the API socket refuses connections, the process
# having exited.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/standin-lib.sh"

unset FCSTANDIN_AGENT FCSTANDIN_FAIL FCSTANDIN_DIE FCSTANDIN_DELAY_MS FCSTANDIN_VERSION

# Bodies naming files that do not exist.
missing_kernel() { echo '{"kernel_image_path":"/nonexistent-kernel"}'; }
missing_drive() {
	echo '{"drive_id":"rootfs","path_on_host":"/nonexistent.ext4","is_root_device":true,"is_read_only":false}'
}

test_expect_success 'setup: a 1.3.3 snapshot' '
	FCSTANDIN_VERSION=1.3.3 si_start s && si_boot s 8 && si_snapshot s && si_kill s
'

test_expect_success '1.3.3: InstanceStart without a kernel' '
	FCSTANDIN_VERSION=1.3.3 si_start a &&
	expect_fault a "^\\{\"fault_message\":\"Cannot start microvm without kernel configuration\\.\"\\}$" \
		PUT /actions "{\"action_type\":\"InstanceStart\"}"
'

test_expect_success '1.3.3: boot-source with a missing kernel' '
	expect_fault a "^\\{\"fault_message\":\"The kernel file cannot be opened: No such file or directory \\(os error 2\\)\"\\}$" \
		PUT /boot-source "$(missing_kernel)"
'

test_expect_success '1.3.3: a drive with a missing file' '
	expect_fault a "^\\{\"fault_message\":\"Invalid block device path: /nonexistent.ext4\"\\}$" \
		PUT /drives/rootfs "$(missing_drive)"
'

test_expect_success 'every version: a body that is not JSON, as serde_json says it' '
	expect_fault a "^\\{\"fault_message\":\"An error occurred when deserializing the json body of a request: key must be a string at line 1 column 2\\.\"\\}$" \
		PUT /machine-config "{bad json" &&
	expect_fault a "trailing comma at line 1 column 17\\." \
		PUT /machine-config "{\"vcpu_count\":1,}" &&
	si_kill a &&
	si_start n &&
	expect_fault n "key must be a string at line 1 column 2\\." PUT /machine-config "{bad json" &&
	si_kill n
'

test_expect_success '1.3.3: snapshot/load after configuring boot resources' '
	FCSTANDIN_VERSION=1.3.3 si_start b &&
	touch b/vmlinux &&
	expect_api b 204 PUT /boot-source "{\"kernel_image_path\":\"vmlinux\"}" &&
	expect_fault b "^\\{\"fault_message\":\"Load microVM snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources\\.\"\\}$" \
		PUT /snapshot/load "$(load_body)" &&
	si_kill b
'

test_expect_success '1.3.3: snapshot/create while running' '
	FCSTANDIN_VERSION=1.3.3 si_start c && si_boot c 8 &&
	expect_fault c "^\\{\"fault_message\":\"Cannot save the microVM state: Operation not allowed: save/restore unavailable while running\"\\}$" \
		PUT /snapshot/create "{\"snapshot_path\":\"vmstate\",\"mem_file_path\":\"mem\"}" &&
	si_kill c
'

test_expect_success '1.3.3: snapshot/load with a missing memory file; the process exits' '
	si_restore_dir s d && rm d/mem &&
	FCSTANDIN_VERSION=1.3.3 si_start d &&
	expect_fault d "^\\{\"fault_message\":\"Load microVM snapshot error: Failed to restore from snapshot: Failed to load guest memory: Error creating guest memory from file: Failed to load guest memory: No such file or directory \\(os error 2\\)\"\\}$" \
		PUT /snapshot/load "$(load_body)" &&
	si_wait d && [ "$(cat d/status)" = 1 ]
'

test_expect_success '1.16: the same faults keep their 1.16 texts' '
	si_start e &&
	expect_fault e "^\\{\"fault_message\":\"Start microvm error: Cannot start microvm without kernel configuration\\.\"\\}$" \
		PUT /actions "{\"action_type\":\"InstanceStart\"}" &&
	expect_fault e "^\\{\"fault_message\":\"Boot source error: The kernel file cannot be opened" \
		PUT /boot-source "$(missing_kernel)" &&
	expect_fault e "Drive config error: .*/nonexistent.ext4" \
		PUT /drives/rootfs "$(missing_drive)" &&
	si_kill e
'

test_expect_success 'once a failed load is answered, the API socket refuses connections' '
	si_restore_dir s f && rm f/mem &&
	FCSTANDIN_VERSION=1.3.3 si_start f &&
	FCSTANDIN_VERSION=1.3.3 expect_api f 400 PUT /snapshot/load "$(load_body)" &&
	rc=0 && curl -sS --unix-socket f/api.sock http://localhost/ 2>cerr || rc=$? &&
	[ "$rc" = 7 ] &&
	grep -qi "refused\|couldn.t connect" cerr &&
	si_wait f && test -S f/api.sock
'

test_done
