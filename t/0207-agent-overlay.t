#!/bin/sh
# fc-agent as PID 1 with fc_overlay=DIR (in a new PID and mount namespace):
# / becomes an overlay of the root filesystem and a tmpfs, so writes never
# reach the disk; with fc_init=INIT it does the same and then execs INIT.
# Needs root, unshare(1) and overlayfs.
. "$(dirname "$0")/lib.sh"

if ! unshare --fork --pid --mount true 2>/dev/null; then
	test_skip 'fc-agent overlay' 'unshare(1) with PID/mount namespaces not available here'
	test_done
	exit 0
fi
# G must be on the root filesystem: the overlay's lower layer is / alone
G=$(mktemp -d /var/tmp/fcov.XXXXXX 2>/dev/null) || G=
if [ -n "$G" ] && [ "$(stat -c %d "$G")" != "$(stat -c %d /)" ]; then
	rmdir "$G"; G=
fi
if [ -z "$G" ]; then
	test_skip 'fc-agent overlay' '/var/tmp is not a writable directory of the root filesystem'
	test_done
	exit 0
fi
at_exit "rm -rf '$G'"
mkdir "$G/mnt" "$G/sock"
echo disk >"$G/file"

FCSNAP_TEST_TAG=agent-$FCSNAP_TEST_TAG fc_overlay=$G/mnt unshare --fork --pid --mount \
	fc-agent --unix-dir "$G/sock" </dev/null >"$TRASH/agent.log" 2>&1 &
UNSHARE=$!
S=$G/sock/10789
wait_for test -S "$S" || cat "$TRASH/agent.log"
AGENT=$(cat /proc/$UNSHARE/task/$UNSHARE/children 2>/dev/null | tr -d " ")
at_exit "kill -9 $AGENT"

test_expect_success 'as PID 1 with fc_overlay, / is an overlay' '
	agent-cli "$S" exec -- sh -c "grep \"^overlay / overlay\" /proc/mounts" >out &&
	grep -q "lowerdir=/" out
'

test_expect_success 'the guest writes /, and the disk does not change' '
	agent-cli "$S" exec -- sh -c "echo guest >$G/file && echo new >$G/new && cat $G/file" >out &&
	test "$(cat out)" = guest &&
	test "$(cat "$G/file")" = disk &&
	! test -e "$G/new"
'

test_expect_success 'the writes live in the tmpfs on the mount point, not on the disk' '
	agent-cli "$S" exec -- cat "$G/new" >out &&
	test "$(cat out)" = new &&
	test -z "$(ls -A "$G/mnt")"
'

test_expect_success 'fc_overlay and fc_init do not reach the commands it runs' '
	agent-cli "$S" exec -- env >out &&
	! grep -q "^fc_overlay=" out
'

test_expect_success 'its PID-1 duties still hold: /proc mounted, sessions work' '
	agent-cli "$S" exec -- cat /proc/1/comm >out &&
	test "$(cat out)" = fc-agent &&
	kill -TERM $AGENT &&
	wait_for sh -c "! kill -0 $UNSHARE"
'

# the image'"'"'s own init: reports what it sees on stdout, then ends
cat >"$G/init" <<EOI
#!/bin/sh
echo "args \$*"
echo "pid \$\$"
echo "overlay \${fc_overlay:-unset}"
echo guest >$G/file && echo "file \$(cat $G/file)"
mount -t proc proc /proc && grep -q "^overlay / overlay" /proc/mounts && echo "root overlay"
EOI
chmod +x "$G/init"

test_expect_success 'with fc_init, it sets up the overlay and execs that init with its args' '
	fc_overlay=$G/mnt fc_init=$G/init unshare --fork --pid --mount \
		fc-agent single quiet </dev/null >out 2>err &&
	grep -qx "args single quiet" out &&
	grep -qx "pid 1" out &&
	grep -qx "overlay unset" out &&
	grep -qx "file guest" out &&
	grep -qx "root overlay" out &&
	test "$(cat "$G/file")" = disk
'

test_expect_success 'fc_init naming the agent itself just runs the agent' '
	mkdir "$G/sock2" &&
	{ fc_init=$FCSNAP_BUILD/bin/fc-agent unshare --fork --pid --mount \
		"$FCSNAP_BUILD/bin/fc-agent" --unix-dir "$G/sock2" </dev/null >a2.log 2>&1 & } &&
	u2=$! &&
	wait_for test -S "$G/sock2/10789" &&
	agent-cli "$G/sock2/10789" exec -- cat /proc/1/comm >out &&
	test "$(cat out)" = fc-agent &&
	a2=$(cat /proc/$u2/task/$u2/children | tr -d " ") &&
	kill -TERM "$a2" && wait_for sh -c "! kill -0 $u2"
'

test_done
