#!/bin/sh
# fc-snap-create: cold boot against the stand-in, meta.json, output, and
# every bad input refused before anything starts.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs

test_expect_success 'create prints the name and publishes vmstate, mem, rootfs.ext4, meta.json' '
	expect_code 0 fc-snap-create -l py -r rootfs.img -m 256 -c 2 &&
	test "$(cat out)" = py &&
	d=$(snapdir py) &&
	test -s "$d/vmstate" && test -s "$d/mem" && test -s "$d/meta.json" &&
	test "$(ls "$d" | sort | tr "\n" " ")" = "mem meta.json rootfs.ext4 vmstate " &&
	test_no_strays
'

test_expect_success 'memory and state files are mode 0600' '
	d=$(snapdir py) &&
	test "$(stat -c %a "$d/mem")" = 600 &&
	test "$(stat -c %a "$d/vmstate")" = 600
'

test_expect_success 'firecracker writes the memory file whole; the published one has holes for its zero pages' '
	# lifecycle.sh: FCSTANDIN_DIRTY_PCT=1, about 2.6 MiB of 256 are data
	d=$(snapdir py) &&
	test "$(stat -c %s "$d/mem")" = $((256 * 1048576)) &&
	used=$(($(stat -c %b "$d/mem") * 512)) &&
	[ $used -lt $((16 * 1048576)) ] &&
	[ $used -gt 0 ]
'

test_expect_success 'the snapshot disk is a copy of the rootfs; the original is untouched' '
	d=$(snapdir py) &&
	test "$(head -c 19 "$d/rootfs.ext4")" = rootfs-generation-1 &&
	test "$(stat -c %s "$d/rootfs.ext4")" = "$(stat -c %s rootfs.img)" &&
	test "$(stat -c %i "$d/rootfs.ext4")" != "$(stat -c %i rootfs.img)"
'

test_expect_success 'meta.json records version, vendor, kernel, machine, port and sizes' '
	m=$(cat "$(snapdir py)/meta.json") &&
	echo "$m" | grep -q "\"name\":\"py\"" &&
	echo "$m" | grep -Eq "\"firecracker_version\":\"[0-9]+\.[0-9]+\.[0-9]+\"" &&
	echo "$m" | grep -q "\"cpu_vendor\":\"$(sed -n "s/^vendor_id[^:]*: //p" /proc/cpuinfo | head -n 1)\"" &&
	echo "$m" | grep -q "\"kernel\":\"$TRASH/vmlinux\"" &&
	echo "$m" | grep -q "\"mem_mib\":256" &&
	echo "$m" | grep -q "\"vcpus\":2" &&
	echo "$m" | grep -q "\"agent_port\":10789" &&
	echo "$m" | grep -q "\"boot_args\":\"console=ttyS0 reboot=k panic=1 pci=off\"" &&
	echo "$m" | grep -Eq "\"created_at\":\"20[0-9-]+T[0-9:]+Z\"" &&
	size=$(stat -c %s "$(snapdir py)/mem") &&
	echo "$m" | grep -q "\"mem\":{\"size\":$size"
'

test_expect_success 'boot args, initrd, firecracker args and run command are recorded' '
	printf initrd >initrd.img &&
	FCSNAP_FIRECRACKER_ARGS="--level Debug" FCSTANDIN_AGENT_ARGS="--port 5000" \
		expect_code 0 fc-snap-create -l opts \
		-r rootfs.img --boot-args "quiet init=/sbin/fc-agent" --initrd initrd.img \
		-F --no-seccomp -p 5000 --run-command "python3 -c '\''print(1)'\''" &&
	m=$(cat "$(snapdir opts)/meta.json") &&
	echo "$m" | grep -q "\"boot_args\":\"console=ttyS0 reboot=k panic=1 pci=off quiet init=/sbin/fc-agent\"" &&
	echo "$m" | grep -q "\"initrd\":\"$TRASH/initrd.img\"" &&
	echo "$m" | grep -q "\"firecracker_args\":\[\"--level\",\"Debug\",\"--no-seccomp\"\]" &&
	echo "$m" | grep -q "\"run_command\":\[\"python3\",\"-c\",\"print(1)\"\]" &&
	echo "$m" | grep -q "\"agent_port\":5000"
'

test_expect_success '--boot-args-replace replaces the default command line' '
	expect_code 0 fc-snap-create rep -r rootfs.img --boot-args-replace "console=hvc0 ro" &&
	grep -q "\"boot_args\":\"console=hvc0 ro\"" "$(snapdir rep)/meta.json"
'

test_expect_success '--json prints one record with name, dir, sizes and times' '
	expect_code 0 fc-snap-create -l js -r rootfs.img --json &&
	test "$(wc -l <out)" = 1 &&
	test "$(jfield name <out)" = js &&
	test "$(jfield dir <out)" = "$(snapdir js)" &&
	grep -q "\"rootfs.ext4\":{\"size\":67108864" out &&
	grep -q "\"times_ms\":{" out &&
	grep -q "\"total\":" out
'

test_expect_success '-v prints numbered progress lines on stderr' '
	expect_code 0 fc-snap-create -v -l prog -r rootfs.img &&
	grep -q "^\[1/7\] " err && grep -q "^\[3/7\] Starting the VM" err &&
	grep -q "^\[7/7\] Publishing" err
'

test_expect_success 'without -v and a terminal, stderr stays empty' '
	expect_code 0 fc-snap-create -l quiet -r rootfs.img &&
	test ! -s err
'

test_expect_success 'a refresh replaces the snapshot; the old files are gone' '
	old=$(stat -c %i "$(snapdir py)/mem") &&
	printf "rootfs-generation-2" | dd of=rootfs.img conv=notrunc 2>/dev/null &&
	expect_code 0 fc-snap-create -l py -r rootfs.img &&
	test "$(head -c 19 "$(snapdir py)/rootfs.ext4")" = rootfs-generation-2 &&
	test "$(stat -c %i "$(snapdir py)/mem")" != "$old" &&
	test_no_strays
'

# Bad inputs: refused with one line before anything starts.
bad() {
	_code=$1 _pat=$2; shift 2
	expect_code "$_code" "$@" && one_line_err && grep_err "$_pat" &&
	test ! -e "$(snapdir bad)" && test_no_strays && no_run_dirs
}

test_expect_success 'bad names are usage errors' '
	bad 2 "snapshot name" fc-snap-create -l Bad -r rootfs.img &&
	bad 2 "snapshot name" fc-snap-create -l ../x -r rootfs.img &&
	bad 2 "snapshot name" fc-snap-create -l .hidden -r rootfs.img &&
	bad 2 "snapshot name" fc-snap-create -l "" -r rootfs.img &&
	bad 2 "longer than 63" fc-snap-create -l "$(printf "%070d" 0)" -r rootfs.img
'

test_expect_success 'a missing name, rootfs option or conflicting flags are usage errors' '
	bad 2 "no snapshot name" fc-snap-create -r rootfs.img &&
	bad 2 "no root filesystem" fc-snap-create bad &&
	bad 2 "exclude each other" fc-snap-create bad -r rootfs.img --boot-args a --boot-args-replace b &&
	bad 2 "needs --from-vm" fc-snap-create bad -r rootfs.img --resume-source &&
	bad 2 "drop -r" fc-snap-create bad -r rootfs.img --from-vm abc &&
	bad 2 "--mac needs --tap" fc-snap-create bad -r rootfs.img --mac 06:00:00:00:00:01
'

test_expect_success 'mem and vcpus out of range are usage errors' '
	bad 2 "--mem.*between 128" fc-snap-create bad -r rootfs.img -m 64 &&
	bad 2 "--mem" fc-snap-create bad -r rootfs.img -m 2000000 &&
	bad 2 "--mem" fc-snap-create bad -r rootfs.img -m 12x &&
	bad 2 "--vcpus.*between 1 and 32" fc-snap-create bad -r rootfs.img -c 0 &&
	bad 2 "--vcpus" fc-snap-create bad -r rootfs.img -c 33 &&
	bad 2 "--timeout" fc-snap-create bad -r rootfs.img -t soon
'

test_expect_success 'a missing kernel, rootfs or initrd is refused' '
	bad 1 "kernel $TRASH/nope does not exist" fc-snap-create --no-fetch bad -r rootfs.img -k "$TRASH/nope" &&
	bad 1 "rootfs nope.img: No such file" fc-snap-create bad -r nope.img &&
	bad 1 "initrd nope" fc-snap-create bad -r rootfs.img --initrd nope &&
	: >empty.img && bad 1 "rootfs empty.img is empty" fc-snap-create bad -r empty.img &&
	bad 1 "rootfs . is not a regular file" fc-snap-create bad -r . &&
	(unset FCSNAP_KERNEL; bad 1 "kernel .*/kernel/vmlinux does not exist.*FCSNAP_KERNEL" \
		fc-snap-create --no-fetch bad -r rootfs.img)
'

test_expect_success 'a missing or non-executable firecracker is refused' '
	bad 1 "firecracker binary $TRASH/nofc does not exist" \
		fc-snap-create --no-fetch bad -r rootfs.img -f "$TRASH/nofc" &&
	printf "#!/bin/sh\n" >noexec && chmod 644 noexec &&
	bad 1 "firecracker binary" fc-snap-create bad -r rootfs.img -f "$TRASH/noexec" &&
	(PATH=/usr/bin:/bin; unset FCSNAP_FIRECRACKER;
	 bad 1 "firecracker not found in PATH" "$FCSNAP_BUILD/bin/fc-snap-create" --no-fetch \
		bad -r rootfs.img)
'

test_expect_success 'bad --tap and --mac values are refused' '
	bad 1 "bad --tap" fc-snap-create bad -r rootfs.img --tap waytoolongdevicename &&
	bad 1 "bad --mac" fc-snap-create bad -r rootfs.img --tap tap0 --mac 06:00:zz:00:00:01
'

test_expect_success 'an unwritable store is refused' '
	: >afile &&
	(FCSNAP_DIR=$TRASH/afile/store; export FCSNAP_DIR;
	 expect_code 1 fc-snap-create bad -r rootfs.img && one_line_err &&
	 grep_err "afile/store") &&
	test_no_strays
'

test_done
