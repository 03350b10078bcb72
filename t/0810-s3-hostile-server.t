#!/bin/sh
# A server in a hostile bucket's hands (t/s3-hostile.py) gets nothing:
# its error text reaches the terminal as printable ASCII only, and a
# listing that would never end (always truncated, or handing back the
# token it got) is refused in one line instead of looping and holding
# keys without end (s3obj.h S3_LIST_MAX_*).
. "$(dirname "$0")/lib.sh"
AWS_ACCESS_KEY_ID=AKIAFCSNAPHOSTILE AWS_SECRET_ACCESS_KEY=secret AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION

# hostile NAME MODE: start t/s3-hostile.py MODE; NAME_URL is its endpoint
hostile() {
	python3 "$FCSNAP_SRC/t/s3-hostile.py" "$2" >"$TRASH/$1.out" 2>"$TRASH/$1.log" </dev/null &
	at_exit "kill $!"
	_i=0
	until grep -q '^port ' "$TRASH/$1.out" 2>/dev/null; do
		[ $_i -lt 300 ] || { echo "s3-hostile.py did not start" >&2; cat "$TRASH/$1.log" >&2; exit 1; }
		_i=$((_i + 1))
		sleep 0.1
	done
	eval "${1}_URL=http://127.0.0.1:$(sed -n 's/^port //p' "$TRASH/$1.out")"
}
# A listing that loops must fail the test, not hold the suite.
bounded() { timeout -k 5 120 "$@"; }

hostile err err
hostile endless list-endless
hostile repeat list-repeat
hostile drip drip

# no_controls FILE: not one byte outside printable ASCII but the newlines
no_controls() {
	if LC_ALL=C grep -q '[^ -~]' "$1"; then
		echo "$1 holds control bytes:"; od -c "$1" | head; return 1
	fi
}

test_expect_success 'a server error with terminal escapes is shown as ?, in one line' '
	AWS_ENDPOINT_URL=$err_URL expect_code 1 fc-snap-pull x s3://test/p &&
	one_line_err && no_controls err &&
	grep_err "S3 error Weird\\?\\[2J \\(HTTP 400\\): owned \\?\\]0;TITLE\\? \\?\\[31mRED\\?\\?fc-snap-pull: all good"
'

test_expect_success 'and fc-snap-ls --remote shows it the same way' '
	AWS_ENDPOINT_URL=$err_URL expect_code 1 fc-snap-ls --remote s3://test/p &&
	one_line_err && no_controls err && grep_err "S3 error Weird\\?\\[2J"
'

test_expect_success 'a listing that never ends is refused after 1000000 keys' '
	AWS_ENDPOINT_URL=$endless_URL expect_code 1 bounded fc-snap-ls --remote s3://test/p &&
	one_line_err && grep_err "listing test/p/snapshots/: more than 1000000 keys" &&
	test "$(grep -c "list-type" endless.log)" -le 1001
'

test_expect_success 'a listing that hands back the token it got is refused at once' '
	AWS_ENDPOINT_URL=$repeat_URL expect_code 1 bounded fc-snap-ls --remote s3://test/p &&
	one_line_err && grep_err "handed back the continuation token it was given" &&
	test "$(grep -c "list-type" repeat.log)" -eq 2
'

test_expect_success 'a server dripping 2 bytes a second is cut off by the stall timeout' '
	t0=$(date +%s) &&
	AWS_ENDPOINT_URL=$drip_URL expect_code 1 bounded fc-snap-pull --attempts 2 \
		--stall-timeout 2s x s3://test/p &&
	t1=$(date +%s) &&
	tail -n 1 err | grep -q "manifest: timed out talking to .*(Operation too slow.*); gave up after 2 attempts" &&
	test "$(grep -c "retry 1 of 1" err)" -le 3 &&
	test $((t1 - t0)) -lt 60
'

test_done
