#!/bin/sh
# A bucket's meta.json decides nothing about how the host runs firecracker
# (fcsnap-security(7)): its firecracker_args, kernel, initrd and boot_args
# are not kept by fc-snap-pull (one line says so), and the restore of the
# pulled snapshot runs firecracker with this host's arguments only.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
lc_inputs
at_exit kill_all_vms
R=s3://$S3_BUCKET/hm

# cmdline ID: the firecracker command line of VM ID, space-separated
cmdline() { tr "\0" " " </proc/"$(vm_pid "$1")"/cmdline; }

test_expect_success 'setup: a snapshot pushed with a meta.json edited in the bucket' '
	fc-snap-create -l py -r rootfs.img &&
	fc-snap-push py "$R" &&
	s3-cli cat "$R/snapshots/py/meta.json" >meta &&
	sed "s|\"kernel\":\"[^\"]*\"|\"kernel\":\"/etc/shadow\"|; s|\"initrd\":\"[^\"]*\"|\"initrd\":\"/etc/gshadow\"|; s|\"firecracker_args\":\[[^]]*\]|\"firecracker_args\":[\"--no-seccomp\",\"--log-path\",\"$TRASH/fc-evil.log\",\"--level\",\"Debug\"]|" meta >evil &&
	grep -q "\"kernel\":\"/etc/shadow\"" evil && grep -q -- "--no-seccomp" evil &&
	s3-cli put "$R/snapshots/py/meta.json" evil &&
	fc-snap-rm py
'

test_expect_success 'pull keeps only the data of the remote meta.json and says what it dropped' '
	expect_code 0 fc-snap-pull py "$R" &&
	one_line_err &&
	grep_err "^fc-snap-pull: snapshot py from s3://test/hm: firecracker arguments not taken from the bucket: --no-seccomp --log-path $TRASH/fc-evil.log --level Debug" &&
	m=$(cat "$(snapdir py)/meta.json") &&
	echo "$m" | grep -q "\"firecracker_args\":\[\]" &&
	echo "$m" | grep -q "\"kernel\":\"\"" && echo "$m" | grep -q "\"initrd\":\"\"" &&
	! grep -q shadow "$(snapdir py)/meta.json" &&
	echo "$m" | grep -q "\"name\":\"py\"" && echo "$m" | grep -q "\"agent_port\":10789"
'

test_expect_success 'the restore of the pulled snapshot gets no firecracker argument from the bucket' '
	expect_code 0 fc-snap-restore py && id=$(cat out) &&
	[ ! -s err ] &&
	c=$(cmdline "$id") && echo "$c" | grep -q -- "--api-sock" &&
	! echo "$c" | grep -q -- "--no-seccomp" && ! echo "$c" | grep -q -- "--log-path" &&
	! echo "$c" | grep -q -- "--level" && [ ! -e "$TRASH/fc-evil.log" ] &&
	vm_ping "$id" && kill_vm "$id"
'

test_expect_success 'the host decides: FCSNAP_FIRECRACKER_ARGS and -F reach firecracker' '
	FCSNAP_FIRECRACKER_ARGS="--no-seccomp" expect_code 0 fc-snap-restore -F --show-level py &&
	id=$(cat out) && [ ! -s err ] &&
	cmdline "$id" | grep -q -- "--no-seccomp --show-level" &&
	kill_vm "$id" && test_no_strays && no_run_dirs
'

test_done
