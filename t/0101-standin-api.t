#!/bin/sh
# fc-standin's API: status codes, strict bodies, Firecracker's state machine.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/standin-lib.sh"

unset FCSTANDIN_AGENT
D=vm

test_expect_success 'setup: a fresh stand-in' '
	si_start $D
'

test_expect_success 'GET / describes a not started instance' '
	expect_api $D 200 GET / &&
	grep -q "\"state\":\"Not started\"" $D/resp &&
	grep -q "\"app_name\":\"Firecracker\"" $D/resp &&
	grep -q "\"vmm_version\":\"1.16.1\"" $D/resp &&
	grep -q "\"id\":\"anonymous-instance\"" $D/resp
'

test_expect_success 'GET /version, /machine-config and /vm/config answer 200 with JSON' '
	expect_api $D 200 GET /version &&
	[ "$(cat $D/resp)" = "{\"firecracker_version\":\"1.16.1\"}" ] &&
	expect_api $D 200 GET /machine-config &&
	grep -q "\"vcpu_count\":1,\"mem_size_mib\":128" $D/resp &&
	expect_api $D 200 GET /vm/config &&
	grep -q "\"drives\":\[\]" $D/resp &&
	grep -q "\"boot-source\":null" $D/resp
'

test_expect_success 'unknown paths are 400 "Invalid request method and/or path"' '
	expect_fault $D "Invalid request method and/or path: GET nothing-here." GET /nothing-here &&
	expect_fault $D "Invalid request method and/or path: PUT bogus." PUT /bogus "{}" &&
	expect_fault $D "Invalid request method and/or path: DELETE vm." DELETE /vm
'

test_expect_success 'PUT on /vm is refused (pause/resume is PATCH)' '
	expect_fault $D "Invalid request method and/or path: PUT vm." PUT /vm "{\"state\":\"Paused\"}"
'

test_expect_success 'a PUT or PATCH without a body and a GET with one are refused' '
	expect_fault $D "Empty PUT request." PUT /actions &&
	expect_fault $D "Empty PATCH request." PATCH /vm &&
	expect_fault $D "GET request cannot have a body." GET / "{}"
'

test_expect_success 'unknown fields are refused, naming the field and the known ones' '
	expect_fault $D "unknown field \`kernel_path\`, expected one of \`kernel_image_path\`, \`initrd_path\`, \`boot_args\`" \
		PUT /boot-source "{\"kernel_path\":\"x\"}" &&
	expect_fault $D "An error occurred when deserializing the json body of a request: unknown field \`cpus\`" \
		PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":64,\"cpus\":2}" &&
	expect_fault $D "unknown field \`bandwith\`" PUT /drives/d1 \
		"{\"drive_id\":\"d1\",\"path_on_host\":\"x\",\"is_root_device\":false,\"rate_limiter\":{\"bandwith\":{}}}"
'

test_expect_success 'wrong types are refused' '
	expect_fault $D "invalid type: string \\\\\"2\\\\\", expected u8" \
		PUT /machine-config "{\"vcpu_count\":\"2\",\"mem_size_mib\":64}" &&
	expect_fault $D "invalid type: integer \`1\`, expected a boolean" PUT /drives/d1 \
		"{\"drive_id\":\"d1\",\"path_on_host\":\"x\",\"is_root_device\":1}" &&
	expect_fault $D "invalid value: integer \`-1\`, expected u32" \
		PUT /vsock "{\"guest_cid\":-1,\"uds_path\":\"v.sock\"}" &&
	expect_fault $D "invalid type: floating point \`1.5\`, expected u8" \
		PUT /machine-config "{\"vcpu_count\":1.5,\"mem_size_mib\":64}" &&
	expect_fault $D "expected struct BootSourceConfig" PUT /boot-source "[1]"
'

test_expect_success 'unknown enum values are refused' '
	expect_fault $D "unknown variant \`Start\`, expected one of \`FlushMetrics\`, \`InstanceStart\`, \`SendCtrlAltDel\`" \
		PUT /actions "{\"action_type\":\"Start\"}" &&
	expect_fault $D "unknown variant \`paused\`, expected \`Paused\` or \`Resumed\`" \
		PATCH /vm "{\"state\":\"paused\"}"
'

test_expect_success 'missing required fields are refused' '
	expect_fault $D "missing field \`kernel_image_path\`" PUT /boot-source "{\"boot_args\":\"x\"}" &&
	expect_fault $D "missing field \`is_root_device\`" PUT /drives/d1 \
		"{\"drive_id\":\"d1\",\"path_on_host\":\"x\"}" &&
	expect_fault $D "missing field \`uds_path\`" PUT /vsock "{\"guest_cid\":3}" &&
	expect_fault $D "missing field \`mem_size_mib\`" PUT /machine-config "{\"vcpu_count\":1}" &&
	expect_fault $D "missing field \`snapshot_path\`" PUT /snapshot/create "{\"mem_file_path\":\"m\"}"
'

test_expect_success 'duplicate fields and malformed JSON are refused' '
	expect_fault $D "duplicate field \`boot_args\`" PUT /boot-source \
		"{\"kernel_image_path\":\"k\",\"boot_args\":\"a\",\"boot_args\":\"b\"}" &&
	expect_fault $D "deserializing the json body" PUT /boot-source "{\"kernel_image_path\":" &&
	expect_fault $D "deserializing the json body" PUT /boot-source "{\"kernel_image_path\":\"k\",}"
'

test_expect_success 'the drive id in the path must match the body and be valid' '
	expect_fault $D "The id from the path does not match the id from the body!" PUT /drives/other \
		"{\"drive_id\":\"d1\",\"path_on_host\":\"x\",\"is_root_device\":false}" &&
	expect_fault $D "API Resource IDs can only contain alphanumeric characters and underscores." \
		PUT /drives/a-b "{\"drive_id\":\"a-b\",\"path_on_host\":\"x\",\"is_root_device\":false}" &&
	expect_fault $D "The ID cannot be empty." PUT /drives \
		"{\"drive_id\":\"d\",\"path_on_host\":\"x\",\"is_root_device\":false}"
'

test_expect_success 'paths that do not exist are refused (relative to the working directory)' '
	expect_fault $D "Boot source error: The kernel file cannot be opened: No such file or directory" \
		PUT /boot-source "{\"kernel_image_path\":\"no-kernel\"}" &&
	: >$D/vmlinux &&
	expect_api $D 204 PUT /boot-source "{\"kernel_image_path\":\"vmlinux\"}" &&
	expect_fault $D "initrd file cannot be opened" \
		PUT /boot-source "{\"kernel_image_path\":\"vmlinux\",\"initrd_path\":\"no-initrd\"}" &&
	expect_fault $D "Drive config error: .*No such file or directory .*no-disk.ext4" PUT /drives/root \
		"{\"drive_id\":\"root\",\"path_on_host\":\"no-disk.ext4\",\"is_root_device\":true,\"is_read_only\":false}" &&
	: >vmlinux-in-trash &&
	expect_fault $D "kernel file cannot be opened" \
		PUT /boot-source "{\"kernel_image_path\":\"vmlinux-in-trash\"}"
'

test_expect_success 'a second root drive is refused' '
	: >$D/a.ext4 && : >$D/b.ext4 &&
	expect_api $D 204 PUT /drives/a "{\"drive_id\":\"a\",\"path_on_host\":\"a.ext4\",\"is_root_device\":true}" &&
	expect_fault $D "A root block device already exists" \
		PUT /drives/b "{\"drive_id\":\"b\",\"path_on_host\":\"b.ext4\",\"is_root_device\":true}" &&
	expect_api $D 204 PUT /drives/b "{\"drive_id\":\"b\",\"path_on_host\":\"b.ext4\",\"is_root_device\":false}"
'

test_expect_success 'machine config values out of range are refused' '
	expect_fault $D "The vCPU number is invalid" PUT /machine-config "{\"vcpu_count\":0,\"mem_size_mib\":64}" &&
	expect_fault $D "The vCPU number is invalid" PUT /machine-config "{\"vcpu_count\":33,\"mem_size_mib\":64}" &&
	expect_fault $D "The memory size \\(MiB\\) is invalid" PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":0}" &&
	expect_api $D 204 PATCH /machine-config "{\"vcpu_count\":2}" &&
	expect_api $D 200 GET /machine-config &&
	grep -q "\"vcpu_count\":2,\"mem_size_mib\":128" $D/resp
'

test_expect_success 'vsock: a reserved guest cid and an existing uds_path are refused' '
	expect_fault $D "Vsock config error" PUT /vsock "{\"guest_cid\":2,\"uds_path\":\"v.sock\"}" &&
	: >$D/taken.sock &&
	expect_fault $D "Vsock config error: Cannot create backend for vsock device: .*Address in use" \
		PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"taken.sock\"}" &&
	expect_api $D 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"v.sock\"}" &&
	test -S $D/v.sock
'

test_expect_success 'runtime calls are refused before boot' '
	expect_fault $D "^\\{\"fault_message\":\"The requested operation is not supported before starting the microVM.\"\\}$" \
		PATCH /vm "{\"state\":\"Paused\"}" &&
	expect_fault $D "not supported before starting the microVM" \
		PUT /snapshot/create "{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\"}" &&
	expect_fault $D "not supported before starting the microVM" PUT /actions "{\"action_type\":\"SendCtrlAltDel\"}" &&
	expect_fault $D "not supported before starting the microVM" PATCH /drives/a "{\"drive_id\":\"a\"}"
'

test_expect_success 'snapshot load is refused once boot resources were configured' '
	expect_fault $D "^\\{\"fault_message\":\"Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources.\"\\}$" \
		PUT /snapshot/load "$(load_body)" &&
	si_alive $D
'

test_expect_success 'each boot-specific resource alone makes a later load refused' '
	for req in "PUT /network-interfaces/eth0 {\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\"}" \
		"PUT /machine-config {\"vcpu_count\":1,\"mem_size_mib\":64}" \
		"PUT /vsock {\"guest_cid\":3,\"uds_path\":\"v.sock\"}" \
		"PUT /entropy {}"; do
		rm -rf one && si_start one &&
		set -- $req &&
		expect_api one 204 "$@" &&
		expect_fault one "Loading a microVM snapshot not allowed after configuring boot-specific resources" \
			PUT /snapshot/load "$(load_body)" &&
		si_kill one || exit 1
	done
'

test_expect_success 'the logger is not boot-specific: a load after it is attempted' '
	si_start lg && : >lg/fc.log &&
	expect_api lg 204 PUT /logger "{\"log_path\":\"fc.log\",\"level\":\"Debug\"}" &&
	expect_fault lg "Failed to get snapshot state from file" PUT /snapshot/load "$(load_body)" &&
	si_wait lg
'

test_expect_success 'a network interface shows in /vm/config; a reused tap is refused' '
	expect_api $D 204 PUT /network-interfaces/eth0 \
		"{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"06:00:00:00:00:01\"}" &&
	expect_fault $D "The host device name tap0 is already in use" PUT /network-interfaces/eth1 \
		"{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap0\"}" &&
	expect_api $D 200 GET /vm/config &&
	grep -q "\"host_dev_name\":\"tap0\"" $D/resp
'

test_expect_success 'InstanceStart without a kernel is refused' '
	si_start nokernel &&
	expect_fault nokernel "Start microvm error: Cannot start microvm without kernel configuration." \
		PUT /actions "{\"action_type\":\"InstanceStart\"}" &&
	expect_api nokernel 200 GET / &&
	grep -q "Not started" nokernel/resp &&
	si_kill nokernel
'

test_expect_success 'InstanceStart boots; GET / says Running' '
	expect_api $D 204 PUT /actions "{\"action_type\":\"InstanceStart\"}" &&
	expect_api $D 200 GET / &&
	grep -q "\"state\":\"Running\"" $D/resp &&
	grep -q "Linux version" $D/console.log
'

test_expect_success 'boot-time resources and a second InstanceStart are refused after boot' '
	for req in "PUT /boot-source {\"kernel_image_path\":\"vmlinux\"}" \
		"PUT /drives/c {\"drive_id\":\"c\",\"path_on_host\":\"a.ext4\",\"is_root_device\":false}" \
		"PUT /machine-config {\"vcpu_count\":1,\"mem_size_mib\":64}" \
		"PATCH /machine-config {\"vcpu_count\":1}" \
		"PUT /vsock {\"guest_cid\":3,\"uds_path\":\"w.sock\"}" \
		"PUT /network-interfaces/eth0 {\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\"}" \
		"PUT /actions {\"action_type\":\"InstanceStart\"}" \
		"PUT /logger {\"level\":\"Info\"}"; do
		set -- $req &&
		expect_fault $D "^\\{\"fault_message\":\"The requested operation is not supported after starting the microVM.\"\\}$" "$@" || exit 1
	done
'

test_expect_success 'snapshot load is refused after boot' '
	expect_fault $D "not supported after starting the microVM" PUT /snapshot/load "$(load_body)"
'

test_expect_success 'snapshot create is refused while running' '
	expect_fault $D "Create snapshot error: .*paused" \
		PUT /snapshot/create "{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\"}" &&
	[ ! -e $D/s ] && [ ! -e $D/m ]
'

test_expect_success 'a Diff snapshot without dirty page tracking is refused' '
	expect_api $D 204 PATCH /vm "{\"state\":\"Paused\"}" &&
	expect_fault $D "The requested operation is not supported: Diff snapshots are not allowed on uVMs with dirty page tracking disabled." \
		PUT /snapshot/create "{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\",\"snapshot_type\":\"Diff\"}" &&
	[ ! -e $D/s ]
'

test_expect_success 'PATCH /vm pauses and resumes; GET / follows' '
	expect_api $D 200 GET / && grep -q "\"state\":\"Paused\"" $D/resp &&
	expect_api $D 204 PATCH /vm "{\"state\":\"Resumed\"}" &&
	expect_api $D 200 GET / && grep -q "\"state\":\"Running\"" $D/resp
'

test_expect_success 'PATCH /drives updates the path after boot, refusing a missing file' '
	: >$D/new.ext4 &&
	expect_api $D 204 PATCH /drives/a "{\"drive_id\":\"a\",\"path_on_host\":\"new.ext4\"}" &&
	expect_api $D 200 GET /vm/config &&
	grep -q "\"path_on_host\":\"new.ext4\"" $D/resp &&
	expect_fault $D "No such file or directory" PATCH /drives/a "{\"drive_id\":\"a\",\"path_on_host\":\"gone.ext4\"}"
'

test_expect_success 'keep-alive: several requests on one connection' '
	curl -sS --unix-socket $D/api.sock -o /dev/null -o /dev/null -o /dev/null \
		-w "%{http_code} %{num_connects}\n" \
		http://localhost/ http://localhost/version http://localhost/machine-config >ka &&
	[ "$(wc -l <ka)" = 3 ] &&
	[ "$(grep -c "^200 " ka)" = 3 ] &&
	[ "$(grep -c " 0$" ka)" = 2 ]
'

test_expect_success 'malformed HTTP gets 400 and the connection closed' '
	printf "NONSENSE\r\n\r\n" | socat -t 60 - UNIX-CONNECT:$D/api.sock >raw &&
	head -n1 raw | grep -q "^HTTP/1.1 400" &&
	printf "PUT /actions HTTP/1.1\r\nContent-Length: abc\r\n\r\n" | socat -t 60 - UNIX-CONNECT:$D/api.sock >raw &&
	head -n1 raw | grep -q "^HTTP/1.1 400" &&
	printf "PUT /actions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" |
		socat -t 60 - UNIX-CONNECT:$D/api.sock >raw &&
	head -n1 raw | grep -q "^HTTP/1.1 400"
'

test_expect_success 'a body over the payload limit is refused with 413' '
	big=$(head -c 60000 /dev/zero | tr "\0" a) &&
	expect_api $D 413 PUT /boot-source "{\"kernel_image_path\":\"$big\"}"
'

test_expect_success 'replies look like micro_http (Server header, Content-Length)' '
	curl -sS -i --unix-socket $D/api.sock http://localhost/version | tr -d "\r" >hdr &&
	grep -q "^Server: Firecracker API$" hdr &&
	grep -q "^Content-Length: 32$" hdr &&
	grep -q "^Content-Type: application/json$" hdr
'

test_expect_success 'several clients at once are served' '
	pids= &&
	for i in 1 2 3 4 5 6 7 8; do
		curl -sS --unix-socket $D/api.sock http://localhost/version >c$i & pids="$pids $!"
	done &&
	wait $pids &&
	for i in 1 2 3 4 5 6 7 8; do grep -q 1.16.1 c$i || exit 1; done
'

test_expect_success 'FCSTANDIN_VERSION 1.7.0 refuses fields that 1.7.0 does not know' '
	FCSTANDIN_VERSION=1.7.0 si_start old &&
	expect_fault old "unknown field \`vsock_override\`" PUT /snapshot/load \
		"{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\",\"vsock_override\":{\"uds_path\":\"x\"}}" &&
	expect_fault old "unknown field \`network_overrides\`" PUT /snapshot/load \
		"{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\",\"network_overrides\":[]}" &&
	expect_fault old "unknown field \`track_dirty_pages\`, expected one of \`snapshot_path\`, \`mem_file_path\`, \`mem_backend\`, \`enable_diff_snapshots\`, \`resume_vm\` at" \
		PUT /snapshot/load "{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\",\"track_dirty_pages\":true}" &&
	expect_fault old "unknown field \`mtu\`" PUT /network-interfaces/eth0 \
		"{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"mtu\":1500}" &&
	expect_api old 200 GET /version && grep -q "\"1.7.0\"" old/resp &&
	si_kill old
'

test_expect_success 'SIGTERM ends it; nothing is left running' '
	si_kill $D &&
	! si_alive $D &&
	test_no_strays
'

test_done
