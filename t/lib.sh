# t/lib.sh: shared helpers for the shell tests (TAP output, git t/ style).
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'what it checks' '
#           cmd1 &&
#           cmd2
#   '
#   test_done
#
# Each test body runs in a subshell with `set -e`, in $TRASH (a fresh
# short-named directory per script, removed at the end unless it failed and
# T_KEEP=1).  Helpers below: expect_code, expect_stderr, test_no_strays...
#
# Environment given to every test:
#   FCSNAP_BUILD   build dir (bin/, t/, t/unit/)   FCSNAP_SRC  source root
#   PATH           $FCSNAP_BUILD/bin and $FCSNAP_BUILD/t first
#   FCSNAP_DIR     a private store under $TRASH
#   FCSNAP_TEST_TAG  a unique tag inherited by every process a test starts,
#                  so test_no_strays can find leftovers by their environment.

: "${FCSNAP_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${FCSNAP_BUILD:=$FCSNAP_SRC/build}"
export FCSNAP_SRC FCSNAP_BUILD
PATH="$FCSNAP_BUILD/bin:$FCSNAP_BUILD/t:$PATH"
export PATH
T_NAME=$(basename "$0" .t)

# Short paths: Unix socket paths are limited to 108 bytes.
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/fct.XXXXXX") || exit 1
export TRASH
# the whole script runs in $TRASH: nothing a test writes lands in the source tree
cd "$TRASH" || exit 1
FCSNAP_DIR="$TRASH/store"
FCSNAP_TEST_TAG="fct-$$-$(date +%s%N)"
export FCSNAP_DIR FCSNAP_TEST_TAG
# Keep the caller's AWS/FCSNAP settings from leaking into tests.
unset FCSNAP_REMOTE FCSNAP_FIRECRACKER_ARGS AWS_PROFILE AWS_ACCESS_KEY_ID \
	AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
	AWS_REGION AWS_DEFAULT_REGION AWS_CA_BUNDLE AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE \
	AWS_ENDPOINT_URL_STS AWS_IGNORE_CONFIGURED_ENDPOINT_URLS AWS_WEB_IDENTITY_TOKEN_FILE \
	AWS_ROLE_ARN AWS_ROLE_SESSION_NAME AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
	AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE AWS_EC2_METADATA_SERVICE_ENDPOINT \
	AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE AWS_EC2_METADATA_V1_DISABLED \
	AWS_METADATA_SERVICE_TIMEOUT AWS_METADATA_SERVICE_NUM_ATTEMPTS
# ... and from asking this host's EC2 metadata service (tests that want it
# point AWS_EC2_METADATA_SERVICE_ENDPOINT at t/aws-fake.py)
AWS_EC2_METADATA_DISABLED=true; export AWS_EC2_METADATA_DISABLED
HOME="$TRASH/home"; mkdir -p "$HOME"; export HOME

test_count=0
test_failed=0
_t_cleanups=""

# Register a shell command to run when the script ends (LIFO).
at_exit() { _t_cleanups="$1
$_t_cleanups"; }

_t_finish() {
	_st=$?
	_old_ifs=$IFS; IFS='
'
	for _c in $_t_cleanups; do IFS=$_old_ifs; eval "$_c" >/dev/null 2>&1; done
	IFS=$_old_ifs
	t_kill_tagged
	if [ "$test_failed" -eq 0 ] || [ -z "${T_KEEP:-}" ]; then
		rm -rf "$TRASH"
	else
		echo "# kept $TRASH"
	fi
	exit $_st
}
trap _t_finish EXIT
trap 'exit 130' INT TERM

# List pids (other than ours) whose environment carries our tag: one grep
# over every /proc/PID/environ, not one per process (a busy machine makes
# each fork slow).
t_tagged_pids() {
	grep -lsz -- "^FCSNAP_TEST_TAG=$FCSNAP_TEST_TAG\$" /proc/[0-9]*/environ 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p' | grep -vx "$$"
	return 0
}

t_kill_tagged() {
	_pids=$(t_tagged_pids | grep -v "^$$\$" || true)
	# our own subshells carry the tag too; only kill non-shell leftovers
	for _pid in $_pids; do
		case "$(cat /proc/$_pid/comm 2>/dev/null)" in
		sh|bash|dash|prove|perl) ;;
		*) kill -9 "$_pid" 2>/dev/null ;;
		esac
	done
}

# test_expect_success DESC BODY
test_expect_success() {
	test_count=$((test_count + 1))
	_desc=$1
	(
		cd "$TRASH" || exit 1
		set -e
		eval "$2"
	) >"$TRASH/.out" 2>&1 </dev/null
	_rc=$?
	if [ $_rc -eq 0 ]; then
		echo "ok $test_count - $_desc"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $_desc"
		# on stderr too: prove shows it without -v (CI logs)
		sed 's/^/#   /' "$TRASH/.out" | tail -n 40 | tee /dev/stderr
	fi
	return 0
}

# test_skip DESC REASON: only for environment facts (e.g. no clang), never to get green.
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1 # SKIP $2"
}

test_done() {
	echo "1..$test_count"
	[ "$test_failed" -eq 0 ]
}

# expect_code N CMD...: run CMD, require exit status N; stdout to ./out, stderr to ./err.
expect_code() {
	_want=$1; shift
	_got=0
	"$@" >out 2>err || _got=$?
	if [ "$_got" != "$_want" ]; then
		echo "expected exit $_want, got $_got from: $*"
		echo "--- stdout"; head -c 2000 out; echo "--- stderr"; head -c 2000 err
		return 1
	fi
}

# grep_err PATTERN: ./err has PATTERN (extended regex); show it otherwise.
grep_err() {
	grep -Eq -- "$1" err || { echo "stderr lacks /$1/:"; cat err; return 1; }
}
grep_out() {
	grep -Eq -- "$1" out || { echo "stdout lacks /$1/:"; cat out; return 1; }
}

# one_line_err: stderr is exactly one line starting "prog: ".
one_line_err() {
	[ "$(wc -l <err)" -eq 1 ] && grep -Eq '^[a-z0-9-]+: ' err ||
		{ echo "expected one 'prog: ...' line on stderr, got:"; cat err; return 1; }
}

# test_no_strays: no process started by this test is still running (other
# than shells running this script), and no temp/run dir is left in the store.
test_no_strays() {
	# a VM's console log keeper (logcap.h) exits at the EOF its
	# firecracker's exit makes: a moment after it, not with it
	wait_for t_keepers_settled || :
	_left=""
	for _pid in $(t_tagged_pids); do
		case "$(cat /proc/$_pid/comm 2>/dev/null)" in
		sh|bash|dash|prove|perl|sleep|cat|grep|sed|wc|head|tail) ;;
		"") ;;
		*) _left="$_left $_pid($(cat /proc/$_pid/comm 2>/dev/null))" ;;
		esac
	done
	[ -z "$_left" ] || { echo "stray processes:$_left"; return 1; }
	if [ -d "$FCSNAP_DIR" ]; then
		# find fails when a dir vanishes mid-walk: not a failure here
		_tmp=$(find "$FCSNAP_DIR" -maxdepth 2 -name '.tmp*' 2>/dev/null || true)
		[ -z "$_tmp" ] || { echo "stray temp entries: $_tmp"; return 1; }
	fi
}

# t_keepers_settled: no console log keeper is left, or a firecracker is
# (whose keeper stays with it)
t_keepers_settled() {
	[ -z "$(t_tagged_comm fc-logcap)" ] || [ -n "$(t_tagged_comm fc-standin)" ]
}

# no_run_dirs: the store has no restored-VM directories left.
no_run_dirs() {
	[ ! -d "$FCSNAP_DIR/run" ] || [ -z "$(ls -A "$FCSNAP_DIR/run")" ] ||
		{ echo "run dirs left: $(ls -A "$FCSNAP_DIR/run")"; return 1; }
}

# wait_for CMD...: retry CMD until it succeeds: every 50 ms, for up to
# T_WAIT seconds (default 120: a limit for a hung test, not a timing
# assumption; the suite must pass with both cores busy).
wait_for() {
	_end=$(($(date +%s) + ${T_WAIT:-120}))
	until "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt $_end ] || { echo "timed out waiting for: $*"; return 1; }
		sleep 0.05
	done
}

# t_gone PID: the process has exited.  A zombie counts: an orphan's zombie
# waits for init, which here may take a minute to reap it.
t_gone() {
	_st=$(t_state "$1")
	[ -z "$_st" ] || [ "$_st" = Z ] || [ "$_st" = X ]
}

# t_state PID: its one-letter state (R, S, T, Z...), empty when there is none.
t_state() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1; }

# t_tagged_comm NAME: pids of this script's processes whose command is NAME.
t_tagged_comm() {
	for _tp in $(t_tagged_pids); do
		[ "$(cat "/proc/$_tp/comm" 2>/dev/null)" = "$1" ] && echo "$_tp"
	done
	return 0
}

# t_has_open PID FILE: process PID has FILE open (for example a lock it is
# waiting for).
t_has_open() {
	for _fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$_fd" 2>/dev/null)" = "$2" ] && return 0
	done
	return 1
}

# t_user: make a throwaway local user for this script (root only; useradd
# and setpriv needed), removed when the script ends.  Sets T_USER, T_UID,
# T_GID.  Returns 1 when that is not possible here (say so with test_skip).
# as_user CMD...: run CMD as that user, with no supplementary groups.
t_user() {
	[ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null 2>&1 &&
		command -v setpriv >/dev/null 2>&1 || return 1
	T_USER="fct$$"
	_end=$(($(date +%s) + ${T_WAIT:-120}))
	# another script may hold the passwd lock for a moment: try again
	until useradd -M -N -r -d /nonexistent -s /bin/sh "$T_USER" 2>"$TRASH/.useradd"; do
		grep -q "lock" "$TRASH/.useradd" && [ "$(date +%s)" -lt $_end ] ||
			{ cat "$TRASH/.useradd"; return 1; }
		sleep 0.2
	done
	at_exit "userdel $T_USER"
	T_UID=$(id -u "$T_USER") && T_GID=$(id -g "$T_USER")
	# the user must reach files in $TRASH (mktemp made it 0700)
	chmod 0755 "$TRASH"
}
as_user() { setpriv --reuid "$T_UID" --regid "$T_GID" --clear-groups "$@"; }

# sha256 of a file, hex only.
sha() { sha256sum "$1" | cut -d' ' -f1; }
