#!/bin/sh
# A server in a hostile bucket's hands (t/s3-hostile.py) gets nothing:
# its error text reaches the terminal as printable ASCII only, and a
# listing that would never end (always truncated, or handing back the
# token it got) is refused in one line instead of looping and holding
# keys without end (s3obj.h S3_LIST_MAX_*).
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start        # a real server, for a push that the hostile one then serves

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
mkdir "$TRASH/bigdir"
python3 "$FCSNAP_SRC/t/s3-hostile.py" big "$TRASH/bigdir" >"$TRASH/big.out" 2>"$TRASH/big.log" </dev/null &
at_exit "kill $!"
hostile_wait() { grep -q '^port ' "$TRASH/big.out"; }
wait_for hostile_wait || exit 1
big_URL=http://127.0.0.1:$(sed -n 's/^port //p' "$TRASH/big.out")

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

test_expect_success 'setup: 512 MiB of mem in 64 MiB chunks, each sparse, pushed to a real server' '
	store-tool snap big 536870912 >/dev/null &&
	for i in 0 1 2 3 4 5 6 7; do
		printf "chunk $i" | dd of="$FCSNAP_DIR/snapshots/big/mem" bs=1 seek=$((i * 67108864 + 8192)) \
			conv=notrunc 2>/dev/null || exit 1
	done &&
	store-tool restat big && fc-snap-push --chunk-size 64M big "s3://$S3_BUCKET/good" &&
	s3-cli cat "s3://$S3_BUCKET/good/snapshots/big/manifest" >bigdir/manifest &&
	s3-cli cat "s3://$S3_BUCKET/good/snapshots/big/meta.json" >bigdir/meta.json &&
	sed "s/.*\"name\":\"mem\"[^[]*\[\([^]]*\)\].*/\1/" bigdir/manifest | tr , "\n" | tr -d "\"" >bigdir/mem-chunks &&
	cat bigdir/mem-chunks &&
	test "$(grep -c "^[0-9a-f]\{64\}\.sparse\$" bigdir/mem-chunks)" = 8 &&
	fc-snap-rm big
'

# 256 MiB over 64 MiB and its sparse header: 3 downloads (-j 8 ran 6 of
# these at once beside the two others)
test_expect_success 'a bucket of 64 MiB chunks held in memory gets 3 downloads at once, not -j 8' '
	AWS_ENDPOINT_URL=$big_URL expect_code 1 bounded fc-snap-pull -j 8 --attempts 1 big s3://test/good &&
	one_line_err && cat big.log &&
	max=$(sed -n "s/^MAX //p" big.log | tail -n 1) &&
	test "$max" -ge 1 && test "$max" -le 3 &&
	test ! -e "$FCSNAP_DIR/snapshots/big"
'

test_done
