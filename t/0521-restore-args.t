#!/bin/sh
# The firecracker arguments of a restore come from this host: -F and
# FCSNAP_FIRECRACKER_ARGS, plus those recorded in the snapshot that are on
# the allow-list of harmless ones (fcsnap-security(7)).  The rest of what
# meta.json records -- at create time, or edited in the store since -- is
# dropped, and one line on stderr names it.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

cmdline() { tr "\0" " " </proc/"$(vm_pid "$1")"/cmdline; }
# set_args NAME JSON-ARRAY-BODY: edit the firecracker_args of NAME's meta.json
set_args() {
	sed -i "s|\"firecracker_args\":\[[^]]*\]|\"firecracker_args\":[$2]|" "$(snapdir "$1")/meta.json" &&
	grep -q "\"firecracker_args\":\[$2\]" "$(snapdir "$1")/meta.json"
}

test_expect_success 'setup: a snapshot made with -F --level Debug --no-seccomp' '
	fc-snap-create -l py -r rootfs.img -F --level -F Debug -F --no-seccomp &&
	grep -q "\"firecracker_args\":\[\"--level\",\"Debug\",\"--no-seccomp\"\]" "$(snapdir py)/meta.json"
'

test_expect_success 'a harmless recorded argument is passed, --no-seccomp is dropped with one line' '
	expect_code 0 fc-snap-restore py && id=$(cat out) &&
	one_line_err &&
	grep_err "^fc-snap-restore: snapshot py: firecracker arguments in its meta.json not used: --no-seccomp \(" &&
	c=$(cmdline "$id") && echo "$c" | grep -q -- "--api-sock .*api.sock --level Debug" &&
	! echo "$c" | grep -q -- "--no-seccomp" && kill_vm "$id"
'

test_expect_success 'arguments edited into meta.json in the store are dropped' '
	set_args py "\"--log-path\",\"$TRASH/evil.log\",\"--seccomp-filter\",\"/etc/shadow\",\"--show-level\",\"--metrics-path\",\"$TRASH/evil.metrics\",\"--level\",\"Debug; rm\"" &&
	expect_code 0 fc-snap-restore py && id=$(cat out) &&
	one_line_err &&
	grep_err "not used: --log-path $TRASH/evil.log --seccomp-filter /etc/shadow --metrics-path $TRASH/evil.metrics --level Debug; rm \(" &&
	c=$(cmdline "$id") && echo "$c" | grep -q -- "--api-sock .*api.sock --show-level $" &&
	[ ! -e "$TRASH/evil.log" ] && [ ! -e "$TRASH/evil.metrics" ] && kill_vm "$id"
'

test_expect_success 'what the host gives itself is used, and not reported as dropped' '
	set_args py "\"--no-seccomp\",\"--level\",\"Info\"" &&
	FCSNAP_FIRECRACKER_ARGS="--no-seccomp" expect_code 0 fc-snap-restore -F --level -F Warning py &&
	id=$(cat out) && [ ! -s err ] &&
	cmdline "$id" | grep -q -- "--api-sock .*api.sock --no-seccomp --level Warning $" &&
	kill_vm "$id"
'

test_expect_success 'fc-exec -s restores with the same policy' '
	set_args py "\"--no-seccomp\"" &&
	echo hi | expect_code 0 fc-exec -s py -- cat &&
	grep -q "^hi$" out && grep_err "not used: --no-seccomp" &&
	wait_for test_no_strays && no_run_dirs
'

test_expect_success 'a kernel of /etc/shadow in meta.json does not matter: never opened' '
	sed -i "s|\"kernel\":\"[^\"]*\"|\"kernel\":\"/etc/shadow\"|" "$(snapdir py)/meta.json" &&
	set_args py "" &&
	expect_code 0 fc-snap-restore py && id=$(cat out) && [ ! -s err ] &&
	! ls -l /proc/"$(vm_pid "$id")"/fd | grep -q shadow &&
	kill_vm "$id" && test_no_strays && no_run_dirs
'

test_expect_success 'more than 64 -F arguments is a usage error' '
	expect_code 2 fc-snap-restore $(yes -- "-F --show-level" | head -n 65) py && one_line_err
'

test_done
