#!/bin/sh
# fc-snap-ls: table, -q, --json, damaged entries, name filters, bad input.
. "$(dirname "$0")/lib.sh"

test_expect_success 'a missing store lists nothing and exits 0' '
	expect_code 0 fc-snap-ls &&
	test ! -s out && test ! -s err &&
	test ! -e "$FCSNAP_DIR"
'

test_expect_success 'setup: three snapshots, one damaged, one without meta.json' '
	store-tool snap python3 512M 1 1.16.1 &&
	store-tool snap node20 1G 1 1.7.0 &&
	store-tool snap bad 1M &&
	printf "{\"format\":1,\"name\":" >"$FCSNAP_DIR/snapshots/bad/meta.json" &&
	mkdir "$FCSNAP_DIR/snapshots/nometa"
'

test_expect_success 'the table lists every snapshot, sorted, with a header' '
	expect_code 0 fc-snap-ls &&
	test ! -s err &&
	sed -n 1p out | grep -Eq "^NAME +VMSTATE +MEM +MEM-USED +DISK +FC +CREATED$" &&
	test "$(sed 1d out | cut -d" " -f1 | tr "\n" " ")" = "bad node20 nometa python3 "
'

test_expect_success 'the table shows human sizes and the Firecracker version' '
	fc-snap-ls >out &&
	grep -Eq "^python3 +[0-9]+ +512M +[0-9.]+K +16M +1\.16\.1 +20[0-9-]+T[0-9:]+Z$" out &&
	grep -Eq "^node20 +[0-9]+ +1G +[0-9.]+K +16M +1\.7\.0 " out
'

test_expect_success 'damaged entries are listed with the reason, not skipped' '
	fc-snap-ls >out &&
	grep -Eq "^bad +damaged: meta.json is damaged: truncated JSON" out &&
	grep -Eq "^nometa +damaged: meta.json is missing$" out
'

test_expect_success '-q prints names only, damaged ones included' '
	expect_code 0 fc-snap-ls -q &&
	printf "bad\nnode20\nnometa\npython3\n" >want &&
	cmp want out
'

test_expect_success '--json prints one object per line with sizes in bytes' '
	expect_code 0 fc-snap-ls --json &&
	test "$(wc -l <out)" -eq 4 &&
	grep -q "^{\"format\":1,\"name\":\"python3\",.*\"firecracker_version\":\"1.16.1\"" out &&
	grep "\"name\":\"python3\"" out | grep -q "\"mem\":{\"size\":536870912,\"disk\":[0-9]*}" &&
	grep -q "^{\"name\":\"bad\",\"damaged\":\"meta.json is damaged: [^\"]*\"}$" out &&
	grep -q "^{\"name\":\"nometa\",\"damaged\":\"meta.json is missing\"}$" out
'

test_expect_success 'names filter the listing' '
	expect_code 0 fc-snap-ls -q python3 bad &&
	printf "python3\nbad\n" >want &&
	cmp want out
'

test_expect_success 'a missing name is an error; the others are still listed' '
	expect_code 1 fc-snap-ls -q nosuch python3 &&
	test "$(cat out)" = python3 &&
	one_line_err &&
	grep_err "no snapshot named nosuch in .*/snapshots"
'

test_expect_success 'a bad name is a one-line error naming it' '
	expect_code 1 fc-snap-ls "../etc" &&
	one_line_err && grep_err "bad snapshot name .\.\./etc."
'

test_expect_success 'temp dirs of writers are not listed' '
	store-tool tmpdir python3 >tmpname &&
	fc-snap-ls -q >out &&
	! grep -q tmp out &&
	rm -rf "$(cat tmpname)"
'

test_expect_success 'ls stats the files too: a missing mem file lists the snapshot damaged' '
	mv "$FCSNAP_DIR/snapshots/node20/mem" mem.saved &&
	fc-snap-ls --json node20 >after &&
	mv mem.saved "$FCSNAP_DIR/snapshots/node20/mem" &&
	grep -q "^{\"name\":\"node20\",\"damaged\":\"mem is missing\"}$" after &&
	fc-snap-ls --json node20 >again &&
	grep -q "\"firecracker_version\":\"1.7.0\"" again
'

test_expect_success 'nothing is left behind' '
	test_no_strays
'

test_done
