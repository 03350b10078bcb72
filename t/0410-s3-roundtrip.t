#!/bin/sh
# S3 transfers through common/s3.c against a real, signature-checking
# server: byte-identical round trips, file ranges, keys with spaces and
# UTF-8, parallel transfers, HEAD/DELETE.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
B=s3://$S3_BUCKET

test_expect_success 'put then get is byte-identical (odd size, several MiB)' '
	head -c 3145729 /dev/urandom >f &&
	s3-cli put "$B/obj/f" f &&
	s3-cli get "$B/obj/f" g >got &&
	cmp f g &&
	[ "$(cat got)" = "$(sha f)" ]
'

test_expect_success 'head gives the size; an empty object round-trips' '
	[ "$(s3-cli head "$B/obj/f")" = 3145729 ] &&
	: >empty &&
	s3-cli put "$B/obj/empty" empty &&
	[ "$(s3-cli head "$B/obj/empty")" = 0 ] &&
	s3-cli get "$B/obj/empty" e2 >/dev/null &&
	[ ! -s e2 ]
'

test_expect_success 'a file range uploads exactly those bytes' '
	head -c 1000000 /dev/urandom >r &&
	s3-cli put "$B/obj/range" r 12345 500001 &&
	s3-cli cat "$B/obj/range" >got &&
	dd if=r of=want bs=1 skip=12345 count=500001 2>/dev/null &&
	cmp want got
'

test_expect_success 'UNSIGNED-PAYLOAD upload is accepted and intact' '
	head -c 70000 /dev/urandom >u &&
	s3-cli --unsigned put "$B/obj/u" u &&
	s3-cli cat "$B/obj/u" | cmp - u
'

test_expect_success 'keys with spaces, UTF-8 and reserved characters round-trip' '
	head -c 5000 /dev/urandom >k &&
	key="dir with space/été ሴ/a+b=c;d,e@f(g)~h!%25 x" &&
	s3-cli put "$B/$key" k &&
	s3-cli cat "$B/$key" | cmp - k &&
	s3-cli ls "$B/dir with space/" >ls &&
	printf "5000\t%s\n" "$key" >want &&
	cmp want ls
'

test_expect_success 'parallel put and get of many objects through one pool' '
	mkdir -p src dst &&
	for i in 1 2 3 4 5 6 7 8 9 10 11; do head -c $((i * 7777)) /dev/urandom >src/p$i; done &&
	s3-cli -j 4 pput "$B/par" src/p* &&
	s3-cli -j 3 pget "$B/par" dst p1 p2 p3 p4 p5 p6 p7 p8 p9 p10 p11 >sums &&
	for i in 1 2 3 4 5 6 7 8 9 10 11; do
		cmp src/p$i dst/p$i &&
		grep -q "^$(sha src/p$i)  p$i\$" sums || exit 1
	done
'

test_expect_success 'delete removes the object; then head and get say no such object' '
	s3-cli rm "$B/obj/u" &&
	expect_code 3 s3-cli head "$B/obj/u" &&
	one_line_err && grep_err "no such object" &&
	expect_code 3 s3-cli get "$B/obj/u" x &&
	grep_err "GET s3://test/obj/u: no such object"
'

test_expect_success 'a local write failure stops the download with one clear line' '
	expect_code 1 s3-cli get "$B/obj/f" /dev/full &&
	one_line_err &&
	grep_err "GET s3://test/obj/f: writing the download at offset 0: No space left on device"
'

test_expect_success 'virtual-hosted addressing forced on a custom endpoint is what it says' '
	expect_code 1 s3-cli --retries 0 --virtual head "$B/obj/f" &&
	grep_err "test\.127\.0\.0\.1"
'

test_expect_success 'nothing left running' '
	test_no_strays
'

test_done
