#!/bin/sh
# fc-agent exec sessions: exit status, failures, streams, env, cwd, timeout.
. "$(dirname "$0")/lib.sh"

G=$TRASH/g
mkdir -p "$G"
# The agent gets its own tag so test_no_strays sees only what it runs;
# commands get the test tag through -e.
FCSNAP_TEST_TAG=agent-$FCSNAP_TEST_TAG fc-agent --unix-dir "$G" </dev/null >"$TRASH/agent.log" 2>&1 &
AGENT=$!
at_exit "kill $AGENT"
S=$G/10789
TAG="FCSNAP_TEST_TAG=$FCSNAP_TEST_TAG"
wait_for test -S "$S"

test_expect_success 'exit codes 0, 1 and 3 pass through' '
	expect_code 0 agent-cli "$S" exec -- true &&
	expect_code 1 agent-cli "$S" exec -- false &&
	expect_code 3 agent-cli "$S" exec -- sh -c "exit 3"
'

test_expect_success 'a missing command is 127 with a clear message' '
	expect_code 127 agent-cli "$S" exec -- no-such-command-xyz &&
	grep_err "no-such-command-xyz: command not found"
'

test_expect_success 'a file that is not executable is 126' '
	printf "#!/bin/sh\necho hi\n" >noexec &&
	chmod 644 noexec &&
	expect_code 126 agent-cli "$S" exec -- "$TRASH/noexec" &&
	grep_err "cannot execute" &&
	expect_code 126 agent-cli "$S" exec -- /
'

test_expect_success 'a missing working directory is reported, not run' '
	expect_code 125 agent-cli -w /no/such/dir "$S" exec -- true &&
	grep_err "working directory /no/such/dir"
'

test_expect_success 'death by a signal is 128+N' '
	expect_code 137 agent-cli "$S" exec -- sh -c "kill -9 \$\$" &&
	expect_code 143 agent-cli "$S" exec -- sh -c "kill -TERM \$\$"
'

test_expect_success 'stdout and stderr stay separate' '
	expect_code 0 agent-cli "$S" exec -- sh -c "echo to-out; echo to-err >&2; echo more-out" &&
	printf "to-out\nmore-out\n" >want &&
	cmp want out &&
	test "$(cat err)" = to-err
'

test_expect_success 'output order is kept within a stream' '
	agent-cli "$S" exec -- sh -c "i=0; while [ \$i -lt 2000 ]; do echo \$i; i=\$((i+1)); done" >out &&
	seq 0 1999 >want &&
	cmp want out
'

test_expect_success 'binary output is passed unchanged' '
	head -c 300000 /dev/urandom >bin &&
	agent-cli "$S" exec -- cat "$TRASH/bin" >out &&
	cmp bin out
'

test_expect_success 'environment entries are set and unset on top of the agent environment' '
	FROM_AGENT=x agent-cli -e FOO=bar -e "SP=a b" -e HOME "$S" exec -- \
		sh -c "echo \$FOO; echo \$SP; echo \${HOME-unset}; echo \${PATH:+has-path}" >out &&
	printf "bar\na b\nunset\nhas-path\n" >want &&
	cmp want out
'

test_expect_success '--clear-env starts from an empty environment' '
	agent-cli --clear-env -e ONLY=1 "$S" exec -- /usr/bin/env >out &&
	test "$(cat out)" = ONLY=1
'

test_expect_success 'the command is found in its own PATH' '
	mkdir -p pbin &&
	printf "#!/bin/sh\necho from-pbin\n" >pbin/only-here &&
	chmod 755 pbin/only-here &&
	agent-cli -e "PATH=$TRASH/pbin:/usr/bin:/bin" "$S" exec -- only-here >out &&
	test "$(cat out)" = from-pbin
'

test_expect_success 'the working directory is set' '
	mkdir -p wd &&
	agent-cli -w "$TRASH/wd" "$S" exec -- pwd >out &&
	test "$(cat out)" = "$TRASH/wd"
'

test_expect_success 'the default working directory is /' '
	agent-cli "$S" exec -- pwd >out &&
	test "$(cat out)" = /
'

test_expect_success 'stdin reaches the command and its end is passed' '
	printf "line1\nline2\n" | agent-cli "$S" exec -- wc -l >out &&
	test "$(cat out)" -eq 2
'

test_expect_success 'a command that never reads stdin does not block its output' '
	head -c 20000000 /dev/zero >zin &&
	agent-cli "$S" exec -- sh -c "head -c 5000000 /dev/zero; exit 4" <zin >out || rc=$?
	test "$rc" = 4 &&
	test "$(wc -c <out)" -eq 5000000
'

test_expect_success 'a command closing stdin early still finishes' '
	agent-cli "$S" exec -- head -c 10 <zin >out &&
	test "$(wc -c <out)" -eq 10
'

test_expect_success 'a timeout kills the command group and reports 124' '
	cp "$(command -v sleep)" napper &&
	expect_code 124 agent-cli -e "$TAG" -T 300 "$S" exec -- sh -c "\"$TRASH/napper\" 1000 & wait" &&
	test_no_strays
'

test_expect_success 'a command ignoring SIGTERM is killed after the grace time' '
	expect_code 124 agent-cli -T 100 "$S" exec -- sh -c "trap \"\" TERM; while :; do :; done"
'

test_expect_success 'background processes are killed when the command exits' '
	expect_code 0 agent-cli -e "$TAG" "$S" exec -- sh -c "\"$TRASH/napper\" 1000 &" &&
	test_no_strays
'

test_expect_success 'the agent log has no crash' '
	! grep -i "sanitizer\|runtime error" "$TRASH/agent.log"
'

test_done
