#!/bin/sh
# fc-standin: snapshot create and load, their files and their refusals.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/standin-lib.sh"

unset FCSTANDIN_AGENT FCSTANDIN_DIRTY_PCT FCSTANDIN_SEED

test_expect_success 'happy path: boot, vsock echo, pause, snapshot, restore, echo again' '
	si_start_echo a &&
	si_boot a 16 &&
	si_guest_ready a &&
	si_snapshot a &&
	si_kill a &&
	[ "$(stat -c %s a/mem)" = $((16 * 1048576)) ] &&
	[ "$(stat -c %a a/mem)" = 600 ] &&
	head -n1 a/vmstate | grep -q FCSTANDIN-VMSTATE &&
	si_restore_dir a b &&
	si_start_echo b &&
	expect_api b 204 PUT /snapshot/load "$(load_body)" &&
	expect_api b 200 GET / &&
	grep -q "\"state\":\"Running\"" b/resp &&
	si_guest_ready b &&
	si_kill b &&
	test_no_strays
'

test_expect_success 'a full snapshot writes the whole memory file, about DIRTY_PCT of its pages non-zero' '
	FCSTANDIN_DIRTY_PCT=10 si_start c &&
	si_boot c 64 &&
	si_snapshot c &&
	si_kill c &&
	[ $(blocks_of c/mem) -ge 131072 ] &&
	nz=$(od -An -v -tx8 -w4096 c/mem | grep -vc "^\( 0000000000000000\)*$") &&
	[ $nz -gt 1300 ] && [ $nz -lt 2000 ]
'

test_expect_success 'FCSTANDIN_DIRTY_PCT=0 still writes every page (no holes), all zero' '
	FCSTANDIN_DIRTY_PCT=0 si_start z &&
	si_boot z 8 && si_snapshot z && si_kill z &&
	[ "$(stat -c %s z/mem)" = 8388608 ] &&
	[ $(blocks_of z/mem) -ge 16384 ] &&
	cmp -s z/mem /dev/zero -n 8388608 &&
	FCSTANDIN_DIRTY_PCT=100 si_start f &&
	si_boot f 8 && si_snapshot f && si_kill f &&
	[ $(blocks_of f/mem) -ge 16384 ]
'

test_expect_success 'a restored VM writes its whole memory too, holes of the loaded file included' '
	si_restore_dir c cr &&
	fallocate -p -o 0 -l 1048576 cr/mem &&
	[ $(blocks_of cr/mem) -lt 131072 ] &&
	si_start cr &&
	expect_api cr 204 PUT /snapshot/load "{\"snapshot_path\":\"vmstate\",\"mem_file_path\":\"mem\"}" &&
	expect_api cr 204 PUT /snapshot/create "{\"snapshot_path\":\"vmstate2\",\"mem_file_path\":\"mem2\"}" &&
	si_kill cr &&
	[ $(blocks_of cr/mem2) -ge 131072 ] &&
	cmp cr/mem cr/mem2
'

test_expect_success 'two snapshots of the same config are identical; another seed differs' '
	si_start s1 && si_boot s1 16 && si_snapshot s1 && si_kill s1 &&
	si_start s2 && si_boot s2 16 && si_snapshot s2 && si_kill s2 &&
	cmp s1/mem s2/mem && cmp s1/vmstate s2/vmstate &&
	FCSTANDIN_SEED=7 si_start s3 && si_boot s3 16 && si_snapshot s3 && si_kill s3 &&
	! cmp -s s1/mem s3/mem
'

test_expect_success 'the state file records the config with relative paths as given' '
	grep -q "\"path_on_host\":\"rootfs.ext4\"" s1/vmstate &&
	grep -q "\"uds_path\":\"v.sock\"" s1/vmstate &&
	grep -q "\"mem_size_mib\":16" s1/vmstate &&
	grep -q "\"kernel_image_path\":\"vmlinux\"" s1/vmstate &&
	grep -q "^format v8.0.0$" s1/vmstate
'

test_expect_success 'a restored VM re-snapshots its loaded memory' '
	FCSTANDIN_SEED=99 si_restore_dir s1 r1 &&
	FCSTANDIN_SEED=99 si_start r1 &&
	expect_api r1 204 PUT /snapshot/load "$(load_body)" &&
	expect_api r1 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	expect_api r1 204 PUT /snapshot/create "{\"snapshot_path\":\"vmstate2\",\"mem_file_path\":\"mem2\"}" &&
	si_kill r1 &&
	cmp s1/mem r1/mem2 &&
	[ "$(blocks_of r1/mem2)" -le "$(($(blocks_of s1/mem) + 16))" ]
'

test_expect_success 'after a load, GET /vm/config shows the restored devices and no boot-source' '
	si_restore_dir s1 r2 &&
	si_start r2 &&
	expect_api r2 204 PUT /snapshot/load "$(load_body)" &&
	expect_api r2 200 GET /vm/config &&
	grep -q "\"boot-source\":null" r2/resp &&
	grep -q "\"path_on_host\":\"rootfs.ext4\"" r2/resp &&
	grep -q "\"mem_size_mib\":16" r2/resp
'

test_expect_success 'after a load, boot-time config and a second load are refused' '
	expect_fault r2 "not supported after starting the microVM" PUT /boot-source "{\"kernel_image_path\":\"vmstate\"}" &&
	expect_fault r2 "not supported after starting the microVM" PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":16}" &&
	expect_fault r2 "not supported after starting the microVM" PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"x.sock\"}" &&
	expect_fault r2 "not supported after starting the microVM" PUT /actions "{\"action_type\":\"InstanceStart\"}" &&
	expect_fault r2 "not supported after starting the microVM" PUT /snapshot/load "$(load_body)" &&
	si_kill r2
'

test_expect_success 'a load without resume_vm stays paused; PATCH Resumed starts the guest' '
	si_restore_dir a p &&
	si_start_echo p &&
	expect_api p 204 PUT /snapshot/load "{\"snapshot_path\":\"vmstate\",\"mem_file_path\":\"mem\"}" &&
	expect_api p 200 GET / && grep -q "\"state\":\"Paused\"" p/resp &&
	[ -z "$(guest_pids)" ] &&
	expect_api p 204 PATCH /vm "{\"state\":\"Resumed\"}" &&
	si_guest_ready p &&
	si_kill p
'

test_expect_success 'load is refused with both or neither of mem_file_path and mem_backend' '
	si_restore_dir s1 m &&
	si_start m &&
	expect_fault m "too many fields: either \`mem_backend\` or \`mem_file_path\` exclusively is required" \
		PUT /snapshot/load "{\"snapshot_path\":\"vmstate\",\"mem_file_path\":\"mem\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"mem\"}}" &&
	expect_fault m "missing field: either \`mem_backend\` or \`mem_file_path\` is required" \
		PUT /snapshot/load "{\"snapshot_path\":\"vmstate\"}" &&
	expect_fault m "missing field \`backend_type\`" \
		PUT /snapshot/load "{\"snapshot_path\":\"vmstate\",\"mem_backend\":{\"backend_path\":\"mem\"}}" &&
	si_alive m &&
	expect_api m 204 PUT /snapshot/load "$(load_body)" &&
	si_kill m
'

# A failed restore is fatal for Firecracker: it answers 400 and exits.
# load_fails DIR PATTERN [BODY]: start in DIR, load, expect PATTERN and exit 1.
load_fails() {
	si_start "$1" &&
	expect_fault "$1" "$2" PUT /snapshot/load "${3:-$(load_body)}" &&
	si_wait "$1" &&
	[ "$(cat "$1/status")" = 1 ]
}

test_expect_success 'load of a snapshot from another major format version is refused' '
	FCSTANDIN_VERSION=1.12.0 si_start v12 && si_boot v12 8 && si_snapshot v12 && si_kill v12 &&
	si_restore_dir v12 lv &&
	load_fails lv "Load snapshot error: Failed to restore from snapshot: .*Snapshot version mismatch.*v6.0.0"
'

test_expect_success 'load of a newer minor format is refused, an older minor accepted' '
	FCSTANDIN_VERSION=1.13.0 si_start v13 && si_boot v13 8 && si_snapshot v13 && si_kill v13 &&
	si_restore_dir v13 on12 &&
	FCSTANDIN_VERSION=1.12.1 load_fails on12 "Snapshot version mismatch" &&
	si_restore_dir v12 on13 &&
	FCSTANDIN_VERSION=1.13.0 si_start on13 &&
	expect_api on13 204 PUT /snapshot/load "$(load_body)" &&
	si_kill on13
'

test_expect_success 'load of a truncated or corrupt state file is refused' '
	si_restore_dir s1 tr &&
	head -c 300 s1/vmstate >tr/vmstate &&
	load_fails tr "truncated or corrupt" &&
	si_restore_dir s1 bad &&
	echo garbage >bad/vmstate &&
	load_fails bad "bad magic" &&
	si_restore_dir s1 cs &&
	sed "s/rootfs.ext4/rootfs.ext5/" s1/vmstate >cs/vmstate &&
	load_fails cs "CRC mismatch"
'

test_expect_success 'load with a memory file of the wrong size is refused' '
	si_restore_dir s1 ms &&
	truncate -s 1M ms/mem &&
	load_fails ms "memory file mem is 1048576 bytes"
'

test_expect_success 'load is refused when the snapshot drive is missing (relative to cwd)' '
	si_restore_dir s1 nd &&
	rm nd/rootfs.ext4 &&
	load_fails nd "No such file or directory .*rootfs.ext4"
'

test_expect_success 'load is refused when the vsock uds_path already exists' '
	si_restore_dir s1 ve &&
	: >ve/v.sock &&
	load_fails ve "Load snapshot error: .*Address in use"
'

test_expect_success 'a missing state file is refused' '
	mkdir -p ms2 &&
	load_fails ms2 "Failed to get snapshot state from file"
'

test_expect_success 'vsock_override binds the new uds_path' '
	si_restore_dir a vo &&
	si_start_echo vo &&
	expect_api vo 204 PUT /snapshot/load "$(load_body "\"vsock_override\":{\"uds_path\":\"other.sock\"}")" &&
	test -S vo/other.sock && [ ! -e vo/v.sock ] &&
	wait_for sh -c "echo x | vsock-cat vo/other.sock 52 2>/dev/null | grep -q x" &&
	expect_api vo 200 GET /vm/config &&
	grep -q "\"uds_path\":\"other.sock\"" vo/resp &&
	si_kill vo
'

test_expect_success 'Diff snapshots work with track_dirty_pages; a second diff is all holes' '
	si_start d &&
	touch d/vmlinux d/rootfs.ext4 &&
	expect_api d 204 PUT /boot-source "{\"kernel_image_path\":\"vmlinux\"}" &&
	expect_api d 204 PUT /machine-config "{\"vcpu_count\":2,\"mem_size_mib\":8,\"track_dirty_pages\":true}" &&
	expect_api d 204 PUT /actions "{\"action_type\":\"InstanceStart\"}" &&
	expect_api d 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	expect_api d 204 PUT /snapshot/create "{\"snapshot_path\":\"s1\",\"mem_file_path\":\"m1\",\"snapshot_type\":\"Diff\"}" &&
	expect_api d 204 PUT /snapshot/create "{\"snapshot_path\":\"s2\",\"mem_file_path\":\"m2\",\"snapshot_type\":\"Diff\"}" &&
	[ "$(blocks_of d/m1)" -gt 0 ] && [ "$(blocks_of d/m2)" = 0 ] &&
	[ "$(stat -c %s d/m2)" = 8388608 ] &&
	si_kill d
'

test_expect_success 'load with enable_diff_snapshots or track_dirty_pages allows Diff' '
	si_restore_dir s1 dl &&
	si_start dl &&
	expect_api dl 204 PUT /snapshot/load "$(load_body "\"track_dirty_pages\":true")" &&
	expect_api dl 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	expect_api dl 204 PUT /snapshot/create "{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\",\"snapshot_type\":\"Diff\"}" &&
	si_kill dl
'

test_expect_success 'snapshot create into a missing directory fails with a message' '
	si_start e && si_boot e 8 &&
	expect_api e 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	expect_fault e "Create snapshot error: Cannot write snapshot file .*No such file or directory" \
		PUT /snapshot/create "{\"snapshot_path\":\"no/dir/s\",\"mem_file_path\":\"m\"}" &&
	si_kill e
'

test_expect_success 'nothing is left running' '
	test_no_strays
'

test_done
