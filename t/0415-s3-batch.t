#!/bin/sh
# One curl process carries a batch of requests over one connection
# (common/s3pool.c): fewer processes than requests, and a failure inside a
# batch (a refused connection, a response cut short) costs a retry of that
# request only; nothing is lost or duplicated.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
B=s3://$S3_BUCKET
REAL_CURL=$(command -v curl)

# A curl that logs each run to $CURL_LOG, and on the run numbered $BREAK_RUN
# misbehaves as $BREAK says: "url3" points the third request of its batch
# at a closed port; "cut" passes only the first $CUT bytes of the output on;
# "trunc" empties $TRUNC_FILE (an upload's source) before curl starts.
cat >"$TRASH/logcurl" <<EOS
#!/bin/sh
echo run >>"\$CURL_LOG"
n=\$(wc -l <"\$CURL_LOG")
[ "\$n" = "\${BREAK_RUN:-0}" ] || exec "$REAL_CURL" "\$@"
cfg=\$(mktemp "$TRASH/cfg.XXXXXX")
cat "\$3" >"\$cfg"
case "\$BREAK" in
url3)	awk '/^url = /{ n++; if (n == 3) sub(/http:\/\/[^\/]*/, "http://127.0.0.1:1") } { print }' \
		"\$cfg" >"\$cfg.2" && mv "\$cfg.2" "\$cfg"
	"$REAL_CURL" -q -K "\$cfg"; rc=\$? ;;
cut)	"$REAL_CURL" -q -K "\$cfg" | head -c "\$CUT"; rc=0 ;;
trunc)	: >"\$TRUNC_FILE"
	"$REAL_CURL" -q -K "\$cfg"; rc=\$? ;;
esac
rm -f "\$cfg"
exit \$rc
EOS
chmod +x "$TRASH/logcurl"

test_expect_success 'setup: 40 files of 50 KB' '
	mkdir -p src &&
	for i in $(seq 1 40); do head -c 50000 /dev/urandom >src/f$i || exit 1; done
'

runs() { wc -l <"$1" | tr -d " "; }

test_expect_success 'a parallel upload of 40 objects needs a few curl runs, not 40' '
	CURL_LOG=$PWD/log1 FCSNAP_CURL=$TRASH/logcurl s3-cli -j 2 pput "$B/a" src/f* &&
	n=$(runs log1) && echo "curl runs: $n" &&
	[ "$n" -ge 3 ] && [ "$n" -le 8 ]
'

test_expect_success 'the batched download is byte-identical' '
	mkdir -p got &&
	CURL_LOG=$PWD/log2 FCSNAP_CURL=$TRASH/logcurl s3-cli -j 2 pget "$B/a" got \
		$(cd src && ls) >/dev/null &&
	n=$(runs log2) && [ "$n" -le 8 ] &&
	for f in src/*; do cmp "$f" "got/${f#src/}" || exit 1; done
'

test_expect_success 'a refused connection inside a batch: that request is retried, none lost' '
	CURL_LOG=$PWD/log3 BREAK_RUN=1 BREAK=url3 FCSNAP_CURL=$TRASH/logcurl \
		s3-cli -j 1 --retries 2 pput "$B/b" src/f* 2>err &&
	grep -q "; retry 1 of 2 in " err && ! grep -v "; retry [0-9] of 2 in " err &&
	n=$(runs log3) && [ "$n" -ge 4 ] &&
	rm -rf got && mkdir got &&
	s3-cli -j 2 pget "$B/b" got $(cd src && ls) &&
	for f in src/*; do cmp "$f" "got/${f#src/}" || exit 1; done
'

test_expect_success 'a response cut short inside a batch is fetched again' '
	rm -rf got && mkdir got &&
	CURL_LOG=$PWD/log4 BREAK_RUN=1 BREAK=cut CUT=120000 FCSNAP_CURL=$TRASH/logcurl \
		s3-cli -j 1 --retries 2 pget "$B/a" got $(cd src && ls) 2>err &&
	grep -q "; retry 1 of 2 in " err && ! grep -v "; retry [0-9] of 2 in " err &&
	[ "$(runs log4)" -ge 4 ] &&
	for f in src/*; do cmp "$f" "got/${f#src/}" || exit 1; done
'

test_expect_success 'a cut response with no retries left is one clear line' '
	rm -rf got && mkdir got &&
	CURL_LOG=$PWD/log5 BREAK_RUN=1 BREAK=cut CUT=120000 FCSNAP_CURL=$TRASH/logcurl \
		expect_code 1 s3-cli -j 1 --retries 0 pget "$B/a" got $(cd src && ls) &&
	one_line_err && grep_err "GET s3://$S3_BUCKET/a/f[0-9]+: the response ended early"
'

test_expect_success 'an upload source that shrinks fails that request, not its neighbours' '
	mkdir -p big &&
	for i in 1 2 3 4; do head -c 2000000 /dev/urandom >big/b$i || exit 1; done &&
	CURL_LOG=$PWD/log6 BREAK_RUN=1 BREAK=trunc TRUNC_FILE=$PWD/big/b3 \
		FCSNAP_CURL=$TRASH/logcurl expect_code 1 s3-cli -j 1 --retries 0 pput "$B/d" big/b* &&
	one_line_err &&
	grep_err "PUT s3://$S3_BUCKET/d/b3: the upload.s source is shorter than expected" &&
	s3-cli cat "$B/d/b1" | cmp - big/b1 &&
	s3-cli cat "$B/d/b2" | cmp - big/b2
'

test_expect_success 'under a small fd limit a wide parallel upload still works' '
	(ulimit -n 90 && s3-cli -j 32 pput "$B/c" src/f*) &&
	rm -rf got && mkdir got &&
	s3-cli -j 4 pget "$B/c" got $(cd src && ls) >/dev/null &&
	for f in src/*; do cmp "$f" "got/${f#src/}" || exit 1; done
'

test_expect_success 'nothing is left behind' '
	test_no_strays
'

test_done
