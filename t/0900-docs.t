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

# lint_clean PAGE, groff_clean PAGE: no mandoc warning, no groff warning.
lint_clean() {
	mandoc -T lint -W warning "$1" >lint 2>&1 || true
	! grep -v "^\$" lint | grep . || { cat lint; false; }
}
groff_clean() {
	groff -ww -mandoc -Tutf8 "$1" >/dev/null 2>groff.err &&
	test ! -s groff.err || { cat groff.err; false; }
}

for p in $progs; do
	page=$(ls "$FCSNAP_SRC"/man/"$p".[1-8] 2>/dev/null | head -n 1)

	test_expect_success "$p has a man page" '
		test -n "$page"
	'

	test_expect_success "$p man page lints clean" '
		lint_clean "$page"
	'

	test_expect_success "$p man page has every section a user looks for" '
		for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
			grep -Eq "^\.Sh \"?$s\"?\$" "$page" || { echo "no $s section"; exit 1; }
		done
	'

	test_expect_success "$p man page renders with groff without warnings" '
		groff_clean "$page"
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

# The pages that are no program's: formats (5) and overviews (7).
for page in "$FCSNAP_SRC"/man/*.[57]; do
	n=$(basename "$page")

	test_expect_success "$n lints clean and renders with groff without warnings" '
		lint_clean "$page" && groff_clean "$page"
	'

	test_expect_success "$n has a NAME, a DESCRIPTION and a SEE ALSO" '
		for s in NAME DESCRIPTION "SEE ALSO"; do
			grep -Eq "^\.Sh \"?$s\"?\$" "$page" || { echo "no $s section"; exit 1; }
		done
	'
done

test_expect_success 'the trust model is linked from README and from the pages at its boundaries' '
	test -f "$FCSNAP_SRC/man/fcsnap-security.7" &&
	grep -q "fcsnap-security(7)" "$FCSNAP_SRC/README" &&
	for p in fc-snap-pull.1 fc-snap-restore.1 fc-snap-create.1 fc-exec.1 fc-snap-ls.1 fcsnap-s3.5; do
		grep -q "^\.Xr fcsnap-security 7" "$FCSNAP_SRC/man/$p" || { echo "$p lacks it"; exit 1; }
	done
'

test_done
