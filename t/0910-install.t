#!/bin/sh
# install.sh: stages programs (0755) and man pages (0644) under DESTDIR,
# replaces existing files, refuses bad input in one line.
. "$(dirname "$0")/lib.sh"

INST="$FCSNAP_SRC/install.sh"

test_expect_success 'installs every program and man page under DESTDIR/PREFIX' '
	expect_code 0 sh "$INST" --prefix /opt/fcs --destdir "$TRASH/d" --from "$FCSNAP_BUILD/bin" &&
	for p in "$FCSNAP_BUILD"/bin/*; do
		b=$(basename "$p") &&
		test "$(stat -c %a "d/opt/fcs/bin/$b")" = 755 &&
		cmp "$p" "d/opt/fcs/bin/$b" || exit 1
	done &&
	for m in "$FCSNAP_SRC"/man/*.[1-8]; do
		b=$(basename "$m") && sec=${b##*.} &&
		test "$(stat -c %a "d/opt/fcs/share/man/man$sec/$b")" = 644 || exit 1
	done
'

test_expect_success 'a second install replaces the files in place, leaving no temp files' '
	expect_code 0 sh "$INST" --prefix /opt/fcs --destdir "$TRASH/d" --from "$FCSNAP_BUILD/bin" &&
	test -z "$(find d -name ".inst.*")"
'

test_expect_success 'an unknown option is one line, exit 2' '
	expect_code 2 sh "$INST" --bogus &&
	test "$(wc -l <err)" -eq 1 && grep_err "unknown option"
'

test_expect_success 'no built programs: one line naming make, nothing installed' '
	expect_code 1 sh "$INST" --destdir "$TRASH/e" --from "$TRASH/nothing" &&
	test "$(wc -l <err)" -eq 1 && grep_err "run .make. first" &&
	test ! -e e
'

test_expect_success '--help prints the usage on stdout' '
	expect_code 0 sh "$INST" --help && grep -q "^Usage: install.sh" out
'

test_done
