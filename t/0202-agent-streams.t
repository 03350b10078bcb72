#!/bin/sh
# fc-agent exec streaming: large stdin, large output to a slow reader,
# concurrent sessions.
. "$(dirname "$0")/lib.sh"

G=$TRASH/g
mkdir -p "$G"
FCSNAP_TEST_TAG=agent-$FCSNAP_TEST_TAG fc-agent --unix-dir "$G" </dev/null >"$TRASH/agent.log" 2>&1 &
AGENT=$!
at_exit "kill $AGENT"
S=$G/10789
wait_for test -S "$S"

test_expect_success '100 MiB of stdin arrive intact (sha256 on both ends)' '
	head -c 104857600 /dev/urandom >big &&
	agent-cli "$S" exec -- sha256sum <big >out &&
	test "$(cut -d" " -f1 out)" = "$(sha big)"
'

test_expect_success '100 MiB through cat come back intact' '
	agent-cli "$S" exec -- cat <big >back &&
	cmp big back
'

test_expect_success '1 GiB of output reaches a slow reader completely' '
	agent-cli "$S" exec -- head -c 1073741824 /dev/zero | slow-reader 65536 100 >out &&
	test "$(cat out)" = 1073741824
'

test_expect_success 'a slow reader on stdout does not lose stderr' '
	agent-cli "$S" exec -- sh -c "head -c 3000000 /dev/zero; echo done >&2" 2>err |
		slow-reader 4096 1000 >out &&
	test "$(cat out)" = 3000000 &&
	test "$(cat err)" = done
'

test_expect_success '10 exec sessions run at once, each with its own streams' '
	i=0
	while [ $i -lt 10 ]; do
		printf "in-%d\n" $i | agent-cli "$S" exec -- sh -c "read l; sleep 0.2; echo \$l-\$0; exit \$0" $i >o.$i 2>e.$i &
		eval "p$i=\$!"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 10 ]; do
		eval "pid=\$p$i"
		rc=0; wait $pid || rc=$?
		test $rc = $i || { echo "session $i exited $rc"; cat e.$i; exit 1; }
		test "$(cat o.$i)" = "in-$i-$i" || { echo "session $i: $(cat o.$i)"; exit 1; }
		i=$((i + 1))
	done
'

test_expect_success 'sessions block independently: a stalled one does not stop another' '
	mkfifo fifo
	agent-cli "$S" exec -- cat <fifo >stalled &
	pid=$! &&
	exec 3>fifo &&
	expect_code 0 agent-cli "$S" exec -- echo other &&
	test "$(cat out)" = other &&
	echo bye >&3 && exec 3>&- &&
	wait $pid &&
	test "$(cat stalled)" = bye
'

test_done
