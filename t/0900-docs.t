#!/bin/sh
# Every program: a man page that lints clean and documents exactly the
# options --help lists; --version; unknown options are a one-line usage
# error with exit 2.
. "$(dirname "$0")/lib.sh"

progs=$(ls "$FCSNAP_BUILD/bin" 2>/dev/null)

test_expect_success 'some programs are built' '
	test -n "$progs"
'

# Long options in a text: --foo, --foo-bar (not "--" alone).
long_opts() { grep -oE -- "--[a-z][a-z0-9-]*" | sort -u; }

for p in $progs; do
	page=$(ls "$FCSNAP_SRC"/man/"$p".[1-8] 2>/dev/null | head -n 1)

	test_expect_success "$p has a man page" '
		test -n "$page"
	'

	test_expect_success "$p man page lints clean" '
		mandoc -T lint -W warning "$page" >lint 2>&1 || true
		! grep -v "^\$" lint | grep . || { cat lint; false; }
	'

	test_expect_success "$p man page has every section a user looks for" '
		for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
			grep -Eq "^\.Sh \"?$s\"?\$" "$page" || { echo "no $s section"; exit 1; }
		done
	'

	test_expect_success "$p man page renders with groff without warnings" '
		groff -ww -mandoc -Tutf8 "$page" >/dev/null 2>groff.err &&
		test ! -s groff.err || { cat groff.err; false; }
	'

	test_expect_success "$p --help exits 0 and prints usage on stdout" '
		expect_code 0 "$p" --help &&
		grep -qi "usage" out &&
		test ! -s err
	'

	test_expect_success "$p --version names the suite and version" '
		expect_code 0 "$p" --version &&
		grep -Eq "^$p \\(fcsnap\\) [0-9]+\\.[0-9]+" out
	'

	test_expect_success "$p --help and its man page list the same long options" '
		"$p" --help | long_opts >help.opts &&
		grep "^\.It" "$page" | grep -oE "Fl [\\]?-[a-z][a-z0-9-]*" |
			sed -E "s/^Fl [\\]?-/--/" | sort -u >man.opts &&
		comm -23 help.opts man.opts >only.help &&
		comm -13 help.opts man.opts >only.man &&
		{ test ! -s only.help || { echo "in --help, not in man page:"; cat only.help; false; }; } &&
		{ test ! -s only.man || { echo "in man page, not in --help:"; cat only.man; false; }; }
	'

	test_expect_success "$p rejects an unknown option with one line and exit 2" '
		expect_code 2 "$p" --no-such-option-xyz &&
		one_line_err
	'
done

test_done
