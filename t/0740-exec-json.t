#!/bin/sh
# fc-exec --json: one object that parses, with trace_id, status, exit_code,
# stdout, stderr, times (restore_ms, execution_ms, executionTime, total_ms)
# and the vm id; invalid UTF-8 still gives valid JSON; --max-output caps
# the captured output and says "truncated"; --timings names the steps.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

# jget EXPR: evaluate a python expression over the JSON object j read from ./out.
jget() {
	python3 -c 'import json, sys; j = json.load(open("out")); print(eval(sys.argv[1]))' "$1"
}

test_expect_success 'setup: a snapshot' '
	fc-snap-create -l py -r rootfs.img --run-command "sh -s" >/dev/null
'

test_expect_success 'success: the fields are there and right' '
	expect_code 0 fc-exec --json -s py -- sh -c "echo hello; echo warn >&2" &&
	test "$(wc -l <out)" = 1 && test ! -s err &&
	test "$(jget "j[\"status\"]")" = success &&
	test "$(jget "j[\"exit_code\"]")" = 0 &&
	test "$(jget "j[\"stdout\"]")" = hello &&
	test "$(jget "j[\"stderr\"]")" = warn &&
	test "$(jget "j[\"truncated\"]")" = False &&
	jget "j[\"trace_id\"]" | grep -Eq "^[0-9a-f]{32}$" &&
	jget "j[\"vm\"]" | grep -Eq "^[0-9a-f]{8}$" &&
	for k in restore_ms execution_ms executionTime total_ms; do
		test "$(jget "isinstance(j[\"$k\"], (int, float)) and j[\"$k\"] >= 0")" = True ||
			{ echo "bad $k"; cat out; false; }
	done &&
	test "$(jget "j[\"restore_ms\"] > 0 and j[\"total_ms\"] >= j[\"restore_ms\"]")" = True &&
	test "$(jget "j[\"execution_ms\"] == j[\"executionTime\"]")" = True &&
	no_run_dirs
'

test_expect_success 'a failing command: status error and its exit code' '
	expect_code 3 fc-exec --json -s py -- sh -c "echo oops >&2; exit 3" &&
	test "$(jget "j[\"status\"]")" = error &&
	test "$(jget "j[\"exit_code\"]")" = 3 &&
	test "$(jget "j[\"stderr\"]")" = oops
'

test_expect_success 'a timeout: status timeout, exit code 124' '
	expect_code 124 fc-exec --json -t 1 -s py -- sleep 60 &&
	test "$(jget "j[\"status\"]")" = timeout &&
	test "$(jget "j[\"exit_code\"]")" = 124
'

test_expect_success 'invalid UTF-8 in the output still gives valid JSON (bytes as U+00XX)' '
	expect_code 0 fc-exec --json -s py -- sh -c "printf \"a\\377\\300b\\303\\251\\000c\\n\"" &&
	test "$(jget "[ord(c) for c in j[\"stdout\"]]")" = "[97, 255, 192, 98, 233, 0, 99, 10]"
'

test_expect_success '--max-output caps each stream and sets truncated' '
	expect_code 0 fc-exec --json --max-output 1K -s py -- sh -c "head -c 5000 /dev/zero | tr \"\\0\" x; echo e >&2" &&
	test "$(jget "len(j[\"stdout\"])")" = 1024 &&
	test "$(jget "j[\"truncated\"]")" = True &&
	test "$(jget "j[\"stdout_bytes\"]")" = 5000 &&
	test "$(jget "j[\"stderr\"]")" = e
'

test_expect_success 'the code on stdin and --code work with --json' '
	echo "echo \$((2+3))" | fc-exec --json -s py >out &&
	test "$(jget "j[\"stdout\"]")" = 5 &&
	fc-exec --json -l py --code "echo seed" </dev/null >out &&
	test "$(jget "j[\"stdout\"]")" = seed
'

test_expect_success 'fc-exec failing (missing snapshot): JSON with status error, 125' '
	expect_code 125 fc-exec --json -s nosuch -- true &&
	test "$(jget "j[\"status\"]")" = error &&
	test "$(jget "j[\"exit_code\"]")" = 125 &&
	jget "j[\"error\"]" | grep -q "no snapshot named nosuch" &&
	one_line_err
'

test_expect_success '--timings names the steps on stderr' '
	expect_code 0 fc-exec --timings -s py -- true &&
	grep -Eq "^fc-exec: timings \(ms\): check [0-9.]+ copy [0-9.]+ spawn [0-9.]+ socket [0-9.]+ load [0-9.]+ connect [0-9.]+ hello [0-9.]+ start [0-9.]+ run [0-9.]+ flush [0-9.]+ teardown [0-9.]+ total [0-9.]+ own -?[0-9.]+$" err ||
		{ cat err; false; }
'

test_expect_success 'nothing is left behind' '
	wait_for test_no_strays && no_run_dirs
'

test_done
