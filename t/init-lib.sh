# t/init-lib.sh: fc-agent as process 1 in new PID, mount and UTS
# namespaces (sourced after lib.sh).  Needs root and unshare(1).

# init_dir WHAT: set G to a fresh socket dir the agent does not mount over
# in its namespace (not under /tmp, /dev, /proc, /sys: the checkout itself
# may be in /tmp), removed at exit; or skip WHAT and end the script.
init_dir() {
	if ! unshare --fork --pid --mount --uts true 2>/dev/null; then
		test_skip "$1" 'unshare(1) with PID/mount/UTS namespaces not available here'
		test_done
		exit 0
	fi
	G=
	for _b in /var/tmp "$FCSNAP_BUILD" /run /root; do
		_real=$(cd "$_b" 2>/dev/null && pwd -P) || continue
		case "$_real/" in /tmp/*|/dev/*|/proc/*|/sys/*) continue ;; esac
		G=$(mktemp -d "$_real/fcg.XXXXXX" 2>/dev/null) && break
	done
	if [ -z "$G" ]; then
		test_skip "$1" 'no writable directory outside /tmp, /dev, /proc, /sys'
		test_done
		exit 0
	fi
	at_exit "rm -rf '$G'"
}

# init_start [ARGS...]: fc-agent --unix-dir $G ARGS as process 1, its
# output in $TRASH/agent.log; sets UNSHARE, AGENT (killed at exit) and S
# (its socket), once it listens.
init_start() {
	FCSNAP_TEST_TAG=agent-$FCSNAP_TEST_TAG unshare --fork --pid --mount --uts \
		fc-agent --unix-dir "$G" "$@" </dev/null >"$TRASH/agent.log" 2>&1 &
	UNSHARE=$!
	S=$G/10789
	wait_for test -S "$S"
	# the agent is unshare's child; killing it (PID 1) ends the namespace
	AGENT=$(cat /proc/$UNSHARE/task/$UNSHARE/children 2>/dev/null | tr -d " ")
	at_exit "kill -9 $AGENT"
}
