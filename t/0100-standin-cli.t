#!/bin/sh
# fc-standin's command line behaves like firecracker's.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/standin-lib.sh"

test_expect_success '--version prints the version and the snapshot format' '
	expect_code 0 fc-standin --version &&
	[ "$(head -n1 out)" = "Firecracker v1.16.1" ] &&
	grep -q "^Supported snapshot data format versions: v8.0.0$" out
'

test_expect_success 'FCSTANDIN_VERSION changes --version and --snapshot-version' '
	FCSTANDIN_VERSION=1.7.0 expect_code 0 fc-standin --version &&
	[ "$(head -n1 out)" = "Firecracker v1.7.0" ] &&
	FCSTANDIN_VERSION=1.7.0 expect_code 0 fc-standin --snapshot-version &&
	[ "$(cat out)" = "v1.0.0" ] &&
	FCSTANDIN_VERSION=1.12.1 expect_code 0 fc-standin --snapshot-version &&
	[ "$(cat out)" = "v6.0.0" ] &&
	expect_code 0 fc-standin --snapshot-version &&
	[ "$(cat out)" = "v8.0.0" ]
'

test_expect_success 'a malformed FCSTANDIN_VERSION is refused' '
	FCSTANDIN_VERSION=banana expect_code 1 timeout 120 fc-standin --version &&
	grep_err FCSTANDIN_VERSION
'

test_expect_success 'unknown arguments are refused like firecracker (exit 153)' '
	expect_code 153 timeout 120 fc-standin --api-sock x.sock --bogus &&
	grep_err "Found argument .--bogus." &&
	expect_code 153 timeout 120 fc-standin stray &&
	[ ! -e x.sock ]
'

test_expect_success 'a flag that needs a value without one is refused' '
	expect_code 153 timeout 120 fc-standin --api-sock &&
	grep_err "requires a value" &&
	expect_code 153 timeout 120 fc-standin --id --api-sock x.sock
'

test_expect_success 'a repeated flag is refused' '
	expect_code 153 timeout 120 fc-standin --api-sock a.sock --api-sock b.sock &&
	grep_err "more than once"
'

test_expect_success '--level needs --log-path before 1.6 only; --no-seccomp excludes --seccomp-filter' '
	FCSTANDIN_VERSION=1.5.1 expect_code 153 timeout 120 fc-standin --api-sock a.sock --level Debug &&
	grep_err log-path &&
	[ ! -e a.sock ] &&
	si_start lv --level Debug &&
	expect_api lv 200 GET /version &&
	si_kill lv &&
	expect_code 153 timeout 120 fc-standin --api-sock a.sock --no-seccomp --seccomp-filter f &&
	grep_err seccomp
'

test_expect_success '--config-file and --no-api are refused as unsupported' '
	expect_code 1 timeout 120 fc-standin --api-sock a.sock --config-file c.json &&
	grep_err "not supported" &&
	[ ! -e a.sock ]
'

test_expect_success 'the real value-taking and boolean flags are accepted' '
	: >fc.log &&
	si_start vm --id my-vm-1 --log-path fc.log --level Debug --show-level \
		--show-log-origin --module api_server --no-seccomp --boot-timer \
		--http-api-max-payload-size 100000 --mmds-size-limit 1000 \
		--start-time-us 1 --start-time-cpu-us 2 --parent-cpu-time-us 3 &&
	expect_api vm 200 GET / &&
	grep -q "\"id\":\"my-vm-1\"" vm/resp &&
	grep -q "Running Firecracker v1.16.1" vm/fc.log &&
	si_kill vm
'

test_expect_success 'a bad instance id is refused' '
	expect_code 1 timeout 120 fc-standin --api-sock a.sock --id "bad id!" &&
	grep_err "Invalid instance ID"
'

test_expect_success 'the API socket path is relative to the working directory' '
	mkdir -p rel &&
	(cd rel && exec fc-standin --api-sock sub.sock >/dev/null 2>&1) &
	pid=$! &&
	wait_for test -S rel/sub.sock &&
	curl -sS --unix-socket rel/sub.sock http://localhost/version | grep -q 1.16.1 &&
	kill $pid && { wait $pid || true; }
'

test_expect_success 'an existing API socket path makes it exit 1 like firecracker' '
	mkdir -p busy && : >busy/api.sock &&
	(cd busy && expect_code 1 timeout 120 fc-standin --api-sock api.sock) &&
	grep -q "Failed to open the API socket at: api.sock. Check that it is not already used." busy/out &&
	grep -q "FailedToBindSocket" busy/err
'

test_expect_success '--describe-snapshot prints the format of a state file' '
	FCSTANDIN_AGENT= si_start snap &&
	si_boot snap &&
	si_snapshot snap &&
	si_kill snap &&
	expect_code 0 fc-standin --describe-snapshot snap/vmstate &&
	[ "$(cat out)" = "v8.0.0" ] &&
	echo junk >junk &&
	expect_code 1 timeout 120 fc-standin --describe-snapshot junk
'

test_expect_success '--help prints usage and exits 0' '
	expect_code 0 fc-standin --help &&
	grep -q -- --api-sock out
'

test_expect_success 'nothing is left running' '
	test_no_strays
'

test_done
