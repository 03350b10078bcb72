#!/bin/sh
# Another local user gets nothing from root's store: no lock of it can be
# opened (so root's refresh is never blocked), and a store that another
# user owns or can write, or that sits below such a directory, is refused
# in one line before anything is read from it or removed in it.
. "$(dirname "$0")/lib.sh"

if ! t_user; then
	test_skip 'another local user' 'not root, or no useradd/setpriv'
	test_done
	exit 0
fi

lock="$FCSNAP_DIR/locks/a.lock"

test_expect_success 'setup: a snapshot in root'"'"'s store' '
	store-tool snap a 1M && store-tool snap b 1M &&
	test -e "$lock"
'

test_expect_success 'locks/ is 0700 and a lock file 0600' '
	test "$(stat -c %a "$FCSNAP_DIR/locks")" = 700 &&
	test "$(stat -c %a "$lock")" = 600
'

test_expect_success 'another user cannot open a lock file to hold it' '
	expect_code 66 as_user flock -n -s "$lock" true && grep_err "Permission denied"
'

# The user tries to hold a's lock and says "held" (then waits on gate) or
# "refused" on the fifo st; root reads that before it goes on.
test_expect_success 'a user holding a lock cannot make root'"'"'s fc-snap-rm fail' '
	mkfifo -m 0666 st gate &&
	{ as_user sh -c "flock -n -s \"\$1\" -c \"echo held; cat $TRASH/gate\" || echo refused" \
		sh "$lock" >st 2>/dev/null & } &&
	state=$(timeout 60 head -n 1 st) &&
	code=0 && fc-snap-rm -n a 2>err || code=$? &&
	if [ "$state" = held ]; then echo x >gate; fi &&
	wait &&
	echo "user: $state; fc-snap-rm: $code" &&
	test "$state" = refused && test "$code" = 0 && test ! -e "$FCSNAP_DIR/snapshots/a"
'

test_expect_success 'an older store with a 0755 locks/ and 0644 locks is tightened' '
	chmod 0755 "$FCSNAP_DIR/locks" && chmod 0644 "$FCSNAP_DIR/locks/b.lock" &&
	expect_code 0 fc-snap-rm b &&
	test "$(stat -c %a "$FCSNAP_DIR/locks")" = 700 &&
	test "$(stat -c %a "$FCSNAP_DIR/locks/b.lock")" = 600 &&
	expect_code 66 as_user flock -n -s "$FCSNAP_DIR/locks/b.lock" true &&
	grep_err "Permission denied"
'

# A VM dir, as fc-kill finds one, of a VM long gone.
dead_vm() {
	mkdir -p "$1" &&
	printf "%s" "{\"format\":1,\"id\":\"$(basename "$1")\",\"snapshot\":\"a\",\"pid\":0,\"pid_start\":0,\"owner_pid\":999999999,\"owner_start\":1,\"created_at\":\"2026-01-01T00:00:00Z\",\"created_ms\":0,\"api_sock\":\"x\",\"vsock\":\"y\",\"agent_port\":0}" >"$1/vm.json" &&
	echo keep >"$1/precious"
}

test_expect_success 'root refuses a store another user owns, whose run/ points elsewhere' '
	mkdir -p evil/snapshots evil/locks && dead_vm victim/v1 &&
	ln -s "$TRASH/victim" evil/run && chown -R -h "$T_UID" evil &&
	FCSNAP_DIR=$TRASH/evil expect_code 1 fc-kill --all && one_line_err &&
	grep_err "store $TRASH/evil is not safe: $TRASH/evil is owned by uid $T_UID" &&
	test -e victim/v1/precious &&
	FCSNAP_DIR=$TRASH/evil expect_code 1 fc-kill v1 && one_line_err &&
	test -e victim/v1/precious &&
	FCSNAP_DIR=$TRASH/evil expect_code 1 fc-snap-ls && one_line_err &&
	grep_err "not safe"
'

test_expect_success 'a symlinked run/ is refused in root'"'"'s own store too' '
	mkdir -p own/snapshots own/locks && ln -s "$TRASH/victim" own/run &&
	FCSNAP_DIR=$TRASH/own expect_code 1 fc-kill --all && one_line_err &&
	grep_err "$TRASH/own/run is a symbolic link" &&
	test -e victim/v1/precious
'

test_expect_success 'a store that others can write is refused' '
	mkdir -p loose && chmod 0777 loose &&
	FCSNAP_DIR=$TRASH/loose expect_code 1 fc-snap-ls && one_line_err &&
	grep_err "$TRASH/loose is writable by everyone \\(chmod go-w $TRASH/loose\\)" &&
	chmod 0775 loose &&
	FCSNAP_DIR=$TRASH/loose expect_code 1 store-tool snap c 1M && one_line_err &&
	grep_err "writable by its group" &&
	test ! -e loose/snapshots
'

test_expect_success 'a store below a directory another user owns is refused' '
	mkdir -p theirs/store && chown "$T_UID" theirs &&
	FCSNAP_DIR=$TRASH/theirs/store expect_code 1 fc-snap-ls && one_line_err &&
	grep_err "$TRASH/theirs is owned by uid $T_UID" &&
	FCSNAP_DIR=$TRASH/theirs/store/new expect_code 1 store-tool snap c 1M &&
	test ! -e theirs/store/new
'

test_expect_success 'a store below a sticky world-writable directory (like /tmp) is fine' '
	mkdir -p sticky && chmod 1777 sticky &&
	FCSNAP_DIR=$TRASH/sticky/store expect_code 0 store-tool snap c 1M &&
	FCSNAP_DIR=$TRASH/sticky/store expect_code 0 fc-snap-ls -q && grep_out "^c$"
'

test_expect_success 'a store another user made first in a sticky directory is refused' '
	as_user mkdir sticky/squat &&
	FCSNAP_DIR=$TRASH/sticky/squat expect_code 1 store-tool snap c 1M && one_line_err &&
	grep_err "$TRASH/sticky/squat is owned by uid $T_UID" &&
	test ! -e sticky/squat/snapshots
'

test_expect_success 'FCSNAP_DIR through a symlink the other user owns is pinned to its target' '
	as_user ln -s "$TRASH/sticky/store" sticky/link &&
	FCSNAP_DIR=$TRASH/sticky/link expect_code 0 fc-snap-ls -q && grep_out "^c$" &&
	FCSNAP_DIR=$TRASH/sticky/link expect_code 1 fc-snap-ls -q nosuch &&
	grep_err "$TRASH/sticky/store/snapshots"
'

test_expect_success 'the other user may use a store of their own, and read root'"'"'s' '
	mkdir -p uhome && chown "$T_UID" uhome &&
	FCSNAP_DIR=$TRASH/uhome/store expect_code 0 as_user store-tool snap u 1M &&
	FCSNAP_DIR=$TRASH/uhome/store expect_code 0 as_user fc-snap-ls -q && grep_out "^u$" &&
	FCSNAP_DIR=$TRASH/sticky/store expect_code 0 as_user fc-snap-ls -q && grep_out "^c$"
'

test_done
