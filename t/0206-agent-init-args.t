#!/bin/sh
# fc-agent as process 1 takes the kernel's unknown boot words: Linux hands
# every command line word it does not recognise to init as an argument, so
# PID 1 logs them and goes on (exiting would panic the kernel).  Needs root
# and unshare(1).
. "$(dirname "$0")/lib.sh"

test_expect_success 'not process 1, an unknown argument or option is a usage error' '
	expect_code 2 fc-agent --unix-dir "$TRASH" noxsave &&
	grep_err "unexpected argument .noxsave." &&
	expect_code 2 fc-agent --unix-dir "$TRASH" --bogus &&
	grep_err "bad option .--bogus."
'

. "$FCSNAP_SRC/t/init-lib.sh"
init_dir 'fc-agent as PID 1 with boot words'
init_start noxsave nopku --bogus -p notaport --help --version nosmap

test_expect_success 'as process 1 it runs and serves sessions on the default port' '
	agent-cli "$S" exec -- cat /proc/1/comm >out &&
	test "$(cat out)" = fc-agent &&
	kill -0 $UNSHARE
'

test_expect_success 'each unknown word and option is logged on the console' '
	for w in noxsave nopku nosmap; do
		grep -q "fc-agent: as process 1, ignoring the argument .$w." agent.log || exit 1
	done &&
	grep -q "ignoring the option .--bogus." agent.log &&
	grep -q "ignoring the option .--help." agent.log &&
	grep -q "ignoring the option .--version." agent.log &&
	grep -q "notaport.*ignored, listening on port 10789" agent.log &&
	! grep -q "^usage:" agent.log
'

test_expect_success 'SIGTERM still shuts it down' '
	kill -TERM $AGENT &&
	wait_for sh -c "! kill -0 $UNSHARE"
'

test_done
