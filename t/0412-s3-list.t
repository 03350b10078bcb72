#!/bin/sh
# ListObjectsV2 through common/s3.c: paging with continuation tokens,
# delimiters, prefixes with spaces and UTF-8.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
B=s3://$S3_BUCKET

test_expect_success 'setup: 23 keys under a prefix with spaces and UTF-8, and others' '
	echo x >f &&
	i=1 && while [ $i -le 23 ]; do
		printf "%s\n" "pre fix/é ሴ/k$(printf %02d $i)" >>keys
		i=$((i + 1))
	done &&
	mkdir -p src &&
	i=1 && while [ $i -le 23 ]; do
		head -c $i /dev/urandom >"src/k$(printf %02d $i)"
		i=$((i + 1))
	done &&
	s3-cli -j 6 pput "$B/pre fix/é ሴ" src/* &&
	s3-cli put "$B/pre fix/other" f &&
	s3-cli put "$B/pre fix/sub/a" f &&
	s3-cli put "$B/pre fix/sub/b" f &&
	s3-cli put "$B/elsewhere" f
'

test_expect_success 'paging with max-keys 4 lists every key exactly once, in order' '
	s3-cli --max-keys 4 ls "$B/pre fix/é ሴ/" >ls &&
	cut -f2 ls >got &&
	cmp keys got &&
	i=1 && while [ $i -le 23 ]; do
		grep -q "^$i	pre fix/é ሴ/k$(printf %02d $i)\$" ls || exit 1
		i=$((i + 1))
	done
'

test_expect_success 'max-keys 1 pages through all 26 keys too' '
	s3-cli --max-keys 1 ls "$B/pre fix/" >ls1 &&
	[ "$(wc -l <ls1)" = 26 ] &&
	[ "$(sort -u ls1 | wc -l)" = 26 ] &&
	! grep -q elsewhere ls1
'

test_expect_success 'a delimiter gives common prefixes, paged' '
	s3-cli --max-keys 1 --delimiter / ls "$B/pre fix/" >ld &&
	printf "2\tpre fix/other\nPRE\tpre fix/sub/\nPRE\tpre fix/é ሴ/\n" >want &&
	cmp want ld
'

test_expect_success 'an empty listing is empty, not an error' '
	s3-cli ls "$B/nothing/here/" >le &&
	[ ! -s le ]
'

test_done
