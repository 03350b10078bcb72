#!/bin/sh
# Our SHA-256 against coreutils sha256sum on random inputs of awkward sizes,
# in the default (hardware when available) and the portable path.
. "$(dirname "$0")/lib.sh"

test_expect_success 'digests equal sha256sum for sizes around block and padding edges' '
	for n in 0 1 55 56 57 63 64 65 119 120 127 128 129 4095 4097; do
		head -c $n /dev/urandom >f$n
	done &&
	sha256sum f* >want &&
	sha256-file f* >got &&
	cmp want got &&
	sha256-file --portable f* >got2 &&
	cmp want got2
'

test_expect_success 'digests equal sha256sum on large odd-sized random files' '
	head -c 33554435 /dev/urandom >big1 &&
	head -c 5000011 /dev/urandom >big2 &&
	sha256sum big1 big2 >want &&
	sha256-file big1 big2 >got &&
	cmp want got &&
	sha256-file --portable big2 >got2 &&
	grep big2 want | cmp - got2
'

test_expect_success 'a missing file is a one-line error' '
	expect_code 1 sha256-file nosuch &&
	one_line_err && grep_err "nosuch"
'

test_done
