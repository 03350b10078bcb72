#!/bin/sh
# The working-set hint (hint.h): the first lazy restore of a snapshot
# records the pages its guest faulted in its first seconds beside
# meta.json; fc-snap-push uploads it with its blocks (format 2: where the
# pages are in the stored chunks, and their SHA-256), fc-snap-pull keeps
# it, and a lazy restore from the bucket has fc-pager fetch just those
# blocks (ranged GETs, checked), in parallel, as the VM loads, so the
# guest's first faults fetch nothing.  A hint of format 1 (no blocks) has
# the chunks it names prefetched whole, before the VM starts.
# A hint from a bucket is hostile input: garbage, pages past mem, pages
# out of order, a huge one, all are ignored with one line; a stale one
# (another generation) silently; a snapshot without one still works.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
lc_inputs
at_exit kill_all_vms
R=s3://$S3_BUCKET/hint

mem_gets() { grep -c '/chunks/' "$TRASH/cfglog" || true; }
# the mem chunks (of $2 bytes) holding the pages of hint file $1
hint_chunks() { sed '1,2d' "$1" | awk -v cs="$2" '{ print int($1 * 4096 / cs) }' | sort -nu; }
# the KiB of shared memory the fc-pagers working in dir $1 hold (the
# prefetched blocks)
shmem_kb() {
	for _p in $(pagers_in "$1"); do
		sed -n "s/^RssShmem:[^0-9]*\([0-9]*\) kB/\1/p" "/proc/$_p/status"
	done | awk "{ s += \$1 } END { print s + 0 }"
}
# a fresh host: the snapshot only in the bucket
fresh() { fc-snap-rm "$1" 2>/dev/null; rm -rf "$(pull_dir "$1")"; ! published "$1"; }

test_expect_success 'a local lazy restore records the hint of the snapshot' '
	FCSTANDIN_DIRTY_PCT=10 fc-snap-create -m 128 -l ws -r rootfs.img &&
	! test -e "$(snapdir ws)/hint" &&
	pager_with --hint-window 300ms &&
	FCSNAP_PAGER=$TRASH/pager-wrap expect_code 0 fc-snap-restore --lazy ws &&
	id=$(cat out) && vm_ping "$id" &&
	wait_for test -e "$(snapdir ws)/hint" && h=$(snapdir ws)/hint &&
	test "$(sed -n 1p "$h")" = "fcsnap-hint 1" &&
	at=$(sed -n "s/.*\"created_at\":\"\([^\"]*\)\".*/\1/p" "$(snapdir ws)/meta.json") &&
	test "$(sed -n 2p "$h")" = "created_at $at" &&
	test "$(stat -c %a "$h")" = 600 &&
	sed 1,2d "$h" >pages && test "$(wc -l <pages)" -ge 60 &&
	sort -nu pages | cmp - pages &&
	cp "$h" ws.hint && sha "$(snapdir ws)/mem" >ws.mem.sha &&
	fc-kill "$id" && wait_for test_no_strays
'

test_expect_success 'a second lazy restore keeps the hint it found' '
	FCSNAP_PAGER=$TRASH/pager-wrap expect_code 0 fc-snap-restore --lazy ws &&
	id=$(cat out) && vm_ping "$id" && vm_ping "$id" && fc-kill "$id" &&
	cmp ws.hint "$(snapdir ws)/hint"
'

# block line $1 of hint object $2, checked against mem file $3: its mask
# names the block's non-zero pages, its SHA-256 is theirs, in order
block_ok() {
	set -- $(sed -n "/^blocks /,\$p" "$2" | sed -n "$(($1 + 1))p") "$3" &&
	m=$((0x$2)) && i=0 && : >blk &&
	while [ $i -lt 16 ]; do
		dd if="$5" bs=4096 skip=$(($1 * 16 + i)) count=1 2>/dev/null >pg &&
		if cmp -s pg zpage; then z=1; else z=0; fi &&
		if [ $((m >> i & 1)) = 1 ]; then test $z = 0 && cat pg >>blk; else test $z = 1; fi &&
		i=$((i + 1)) || return 1
	done &&
	test "$(sha blk)" = "$4"
}

test_expect_success 'fc-snap-push uploads it with its blocks; fc-snap-pull keeps that' '
	fc-snap-push --chunk-size 256K ws "$R" &&
	s3-cli cat "$R/snapshots/ws/hint" >obj &&
	test "$(sed -n 1p obj)" = "fcsnap-hint 2" &&
	sed -n "2,/^blocks /p" obj | sed "\$d" >v1 && sed 1d ws.hint | cmp - v1 &&
	grep -qx "blocks 262144" obj &&
	sed -n "/^blocks /,\$p" obj | sed 1d >blocks && test "$(wc -l <blocks)" -ge 30 &&
	awk "{ print int(\$1 / 16) }" pages | sort -u >want.b && cut -d" " -f1 blocks | sort -u >got.b &&
	comm -13 want.b got.b >extra && test ! -s extra &&
	head -c 4096 /dev/zero >zpage &&
	block_ok 1 obj "$(snapdir ws)/mem" && block_ok 7 obj "$(snapdir ws)/mem" &&
	block_ok "$(wc -l <blocks)" obj "$(snapdir ws)/mem" &&
	fresh ws && fc-snap-pull ws "$R" && cmp obj "$(snapdir ws)/hint" && cp obj ws.hint2
'

# every block of the hint with data was asked for, by a ranged GET
all_ranged() {
	test "$(grep -c "^header = \"range: bytes=" "$TRASH/cfglog")" = \
		"$(grep -vc "^[0-9]* 0000 " blocks)"
}

test_expect_success 'a fresh lazy restore fetches the hint'"'"'s blocks, no chunk: the first faults fetch nothing; the served blocks are not held' '
	fresh ws && logging_curl && : >"$TRASH/cfglog" && pager_with --no-fill &&
	FCSNAP_CURL=$TRASH/logcurl FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R \
		expect_code 0 fc-snap-restore --lazy --no-hello ws &&
	id=$(cat out) && d=$(pull_dir ws) && cmp ws.hint2 "$d/hint" &&
	! grep "^1 " "$d/journal" &&
	wait_for all_ranged &&
	n=$(mem_gets) && vm_ping "$id" && vm_ping "$id" && test "$(mem_gets)" = "$n" &&
	! grep "working-set hint" "$FCSNAP_DIR/run/$id/log" &&
	test "$(shmem_kb "$FCSNAP_DIR/run/$id")" -le 64 &&
	fc-kill "$id" && wait_for test_no_strays
'

test_expect_success 'a hint of format 1 has the chunks it names prefetched whole' '
	s3-cli put "$R/snapshots/ws/hint" ws.hint >/dev/null &&
	fresh ws && : >"$TRASH/cfglog" && pager_with --no-fill &&
	FCSNAP_CURL=$TRASH/logcurl FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R \
		expect_code 0 fc-snap-restore --lazy --no-hello ws &&
	id=$(cat out) && d=$(pull_dir ws) &&
	hint_chunks ws.hint 262144 >want && test "$(wc -l <want)" -ge 30 &&
	sed -n "s/^1 //p" "$d/journal" | sort -nu >got &&
	comm -23 want got >missing && test ! -s missing &&
	! grep -q "range: bytes=" "$TRASH/cfglog" &&
	n=$(mem_gets) && vm_ping "$id" && vm_ping "$id" && test "$(mem_gets)" = "$n" &&
	fc-kill "$id" && wait_for test_no_strays
'

# the bucket's hint: ws.hint2 with block line $1 rewritten by awk program $2
bad_block() {
	awk -v n="$1" "/^blocks /{ b = NR } b && NR == b + n { \$0 = \"\" $2 } { print }" \
		ws.hint2 >h.obj &&
	! cmp -s h.obj ws.hint2 && s3-cli put "$R/snapshots/ws/hint" h.obj >/dev/null
}
# another first digit of its SHA-256; an offset that cannot fit its chunk
flip_sha='$1 " " $2 " " $3 " " (substr($4, 1, 1) == "0" ? "1" : "0") substr($4, 2)'
far_skip='$1 " ffff 63 " $4'

test_expect_success 'a hint block whose bytes do not match is served from its chunk, with one line' '
	bad_block 3 "$flip_sha" &&
	fresh ws && pager_with --no-fill &&
	FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R expect_code 0 \
		fc-snap-restore --lazy ws && id=$(cat out) &&
	vm_ping "$id" && vm_ping "$id" &&
	grep "block [0-9]* of its working-set hint is served from its chunk instead (its SHA-256 is not the hint.s)" \
		"$FCSNAP_DIR/run/$id/log" >lines && test "$(wc -l <lines)" = 1 &&
	fc-kill "$id" && wait_for test_no_strays
'

test_expect_success 'a hint block that cannot be where it says is refused: no block is prefetched' '
	bad_block 2 "$far_skip" &&
	fresh ws && logging_curl && : >"$TRASH/cfglog" && pager_with --no-fill &&
	FCSNAP_CURL=$TRASH/logcurl FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R \
		expect_code 0 fc-snap-restore --lazy ws && id=$(cat out) &&
	vm_ping "$id" &&
	grep "its working-set hint.s block [0-9]* does not fit its chunks" \
		"$FCSNAP_DIR/run/$id/log" >lines && test "$(wc -l <lines)" = 1 &&
	! grep -q "range: bytes=" "$TRASH/cfglog" &&
	fc-kill "$id" && wait_for test_no_strays
'

# $TRASH/holdcurl: a curl whose ranged GETs hang (their pids in held)
# or, with $TRASH/refuse present, fail at once as if refused
hold_curl() {
	cat >"$TRASH/holdcurl" <<-EOS
	#!/bin/sh
	f=\$(mktemp "$TRASH/cfg.XXXXXX") || exit 1
	cat "\$3" >"\$f" || exit 2
	if grep -q "^header = .range: " "\$f"; then
		rm -f "\$f"
		[ ! -e "$TRASH/refuse" ] || { echo "curl: (7) Failed to connect" >&2; exit 7; }
		echo \$\$ >>"$TRASH/held"; exec sleep 600
	fi
	'$(command -v curl)' -q -K "\$f"; st=\$?
	rm -f "\$f"; exit \$st
	EOS
	chmod +x "$TRASH/holdcurl" && : >"$TRASH/held"
}
release_held() { for p in $(cat "$TRASH/held"); do kill "$p" 2>/dev/null || :; done; }

test_expect_success 'hint blocks that fail are served from their chunks, with one line' '
	s3-cli put "$R/snapshots/ws/hint" ws.hint2 >/dev/null &&
	fresh ws && hold_curl && : >"$TRASH/refuse" && pager_with --no-fill &&
	FCSNAP_CURL=$TRASH/holdcurl FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R \
		expect_code 0 fc-snap-restore --lazy ws && id=$(cat out) &&
	vm_ping "$id" && vm_ping "$id" &&
	grep "block [0-9]* of its working-set hint is served from its chunk instead (.*onnect" \
		"$FCSNAP_DIR/run/$id/log" >lines && test "$(wc -l <lines)" = 1 &&
	fc-kill "$id" && wait_for test_no_strays
'

test_expect_success 'hint blocks that hang are waited for one fetch timeout, then served from their chunks; the prefetch ends with its VM' '
	fresh ws && hold_curl && rm -f "$TRASH/refuse" &&
	pager_with --no-fill --fetch-timeout 2s &&
	FCSNAP_CURL=$TRASH/holdcurl FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R \
		expect_code 0 fc-snap-restore --lazy ws && id=$(cat out) &&
	vm_ping "$id" && vm_ping "$id" && test -s "$TRASH/held" &&
	grep "the working-set hint.s blocks are late: the blocks not here yet are served from the source" \
		"$FCSNAP_DIR/run/$id/log" >lines && test "$(wc -l <lines)" = 1 &&
	pagers_in "$FCSNAP_DIR/run/$id" >pids && test "$(wc -l <pids)" -ge 3 &&
	kill -9 "$(vm_pid "$id")" && { T_WAIT=20 wait_for all_gone $(cat pids); gone=$?; } &&
	release_held && fc-kill "$id"; wait_for test_no_strays && test "$gone" = 0
'

test_expect_success 'without a hint (fresh pull, no prefetch) the first fault fetches' '
	fresh ws && s3-cli rm "$R/snapshots/ws/hint" &&
	: >"$TRASH/cfglog" &&
	FCSNAP_CURL=$TRASH/logcurl FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R \
		expect_code 0 fc-snap-restore --lazy --no-hello ws &&
	id=$(cat out) && ! grep -q "working-set hint" err &&
	n=$(mem_gets) && vm_ping "$id" && test "$(mem_gets)" -gt "$n" &&
	fc-kill "$id" && wait_for test_no_strays
'

# put text $2 as the bucket's hint of $1
put_hint() { printf "%s" "$2" >h.obj && s3-cli put "$R/snapshots/$1/hint" h.obj >/dev/null; }
# a lazy restore (on demand only) with hint text $1 in the bucket: ok,
# the VM works
lazy_with() {
	put_hint ws "$1" && fresh ws && lazy_ws
}
lazy_ws() {
	pager_with --no-fill &&
	FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R expect_code 0 \
		fc-snap-restore --lazy ws && id=$(cat out) &&
	vm_ping "$id" && fc-kill "$id"
}
ignored() {
	grep "its working-set hint is ignored: $1" err >lines &&
	test "$(wc -l <lines)" = 1
}

test_expect_success 'hostile hints are ignored with one line, and the VM runs' '
	at=$(sed -n 2p ws.hint) &&
	lazy_with "garbage" && ignored "it does not start with" &&
	lazy_with "fcsnap-hint 3
" && ignored "it does not start with" &&
	lazy_with "fcsnap-hint 2
$at
7
" && ignored "it has no blocks line" &&
	lazy_with "fcsnap-hint 2
$at
7
blocks 262144
0 0001 0 abc
" && ignored "a block line is malformed" &&
	lazy_with "fcsnap-hint 2
$at
7
blocks 262144
2048 ffff 0 $(printf %064d 0)
" && ignored "block 2048 is past the end of mem" &&
	lazy_with "fcsnap-hint 2
$at
7
blocks 100000
" && ignored "its blocks line is malformed" &&
	lazy_with "fcsnap-hint 1
$at
99999999
" && ignored "page 99999999 is past the end of mem (32768 pages)" &&
	lazy_with "fcsnap-hint 1
$at
7
5
" && ignored "page 5 is out of order" &&
	lazy_with "fcsnap-hint 1
$at
7
-1
" && ignored "line 4 is not a page number" &&
	lazy_with "fcsnap-hint 1
$at
7" && ignored "its last line is not ended" &&
	lazy_with "fcsnap-hint 1
$at
07
" && ignored "line 3 is not a page number" &&
	{ sed -n 1,2p ws.hint; seq 0 20000; } >big && s3-cli put "$R/snapshots/ws/hint" big &&
	fresh ws && lazy_ws && ignored "it lists more than 16384 pages" &&
	head -c 3000000 /dev/zero | tr "\0" 1 >huge && s3-cli put "$R/snapshots/ws/hint" huge &&
	fresh ws && lazy_ws && ignored "it is larger than" && wait_for test_no_strays
'

test_expect_success 'a stale hint (another generation) is ignored silently; a new one is recorded and published' '
	put_hint ws "fcsnap-hint 1
created_at 2001-01-01T00:00:00Z
1
" && fresh ws && pager_with --hint-window 300ms &&
	FCSNAP_PAGER=$TRASH/pager-wrap FCSNAP_REMOTE=$R expect_code 0 \
		fc-snap-restore --lazy ws && id=$(cat out) && ! grep -q "working-set hint" err &&
	vm_ping "$id" && wait_for published ws && wait_for no_fill ws && fc-kill "$id" &&
	test "$(sed -n 2p "$(snapdir ws)/hint")" = "$(sed -n 2p ws.hint)" && wait_for test_no_strays
'

test_expect_success 'fc-snap-pull ignores a hostile hint with one line, and keeps none' '
	put_hint ws "junk" && fresh ws &&
	expect_code 0 fc-snap-pull ws "$R" && ignored "it does not start with" &&
	! test -e "$(snapdir ws)/hint"
'

test_expect_success 'fc-snap-push leaves out a broken local hint with one line' '
	printf "fcsnap-hint 1\nnope\n" >"$(snapdir ws)/hint" &&
	expect_code 0 fc-snap-push ws "$R" &&
	grep "its working-set hint is left out: no created_at line" err >lines &&
	test "$(wc -l <lines)" = 1
'

# The fill's curls (their parent is the pager; one request each here) are
# logged at their start and end, and each waits after its start until
# three have started (at most 10 s): a fill that runs requests one at a
# time never has two running, one of FILL_JOBS at a time has three held at
# that barrier together.  Other curls (the lazy pull's) are not counted.
test_expect_success 'the background fill fetches several chunks at once' '
	cat >"$TRASH/countcurl" <<-EOS &&
	#!/bin/sh
	[ "\$(cat /proc/\$PPID/comm)" = fc-pager ] || exec '$(command -v curl)' "\$@"
	echo "+ \$\$" >>"$TRASH/conc"
	i=0
	while [ "\$(grep -c "^+" "$TRASH/conc")" -lt 3 ] && [ \$i -lt 200 ]; do
		sleep 0.05; i=\$((i + 1))
	done
	'$(command -v curl)' "\$@"; st=\$?
	echo "- \$\$" >>"$TRASH/conc"; exit \$st
	EOS
	chmod +x "$TRASH/countcurl" && fresh ws && s3-cli rm "$R/snapshots/ws/hint" &&
	: >"$TRASH/conc" &&
	FCSNAP_CURL=$TRASH/countcurl FCSNAP_REMOTE=$R expect_code 0 \
		fc-snap-restore --lazy --no-hello ws &&
	id=$(cat out) &&
	wait_for published ws && wait_for no_fill ws &&
	grep "^-" "$TRASH/conc" | cut -c3- >ended &&
	awk "NR == FNR { e[\$1] = 1; next } !(\$2 in e) { next }
		/^\+/ { n++; if (n > m) m = n } /^-/ { n-- } END { print m; exit m < 3 }" \
		ended "$TRASH/conc" &&
	[ "$(sha "$(snapdir ws)/mem")" = "$(cat ws.mem.sha)" ] &&
	fc-kill "$id" && wait_for test_no_strays
'

test_done
