#!/bin/sh
# The libFuzzer targets (fuzz/*.c) build and run: each replays its seed
# corpus (fuzz/corpus/<target>/) and fuzzes for a few seconds without a
# crash, a leak or a timeout, so a harness that dies at once is caught.
# Long runs are by hand: nice build/fuzz/<t> -max_total_time=300 fuzz/corpus/<t>
. "$(dirname "$0")/lib.sh"

if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	test_skip 'fuzz targets' 'no clang'
	test_done
	exit 0
fi
FUZZ_O="$FCSNAP_BUILD/fuzz"
targets=$(cd "$FCSNAP_SRC/fuzz" && ls *.c | sed 's/\.c$//')

test_expect_success 'every target builds with clang -fsanitize=fuzzer' '
	make -s -C "$FCSNAP_SRC" -j2 fuzz FUZZ_O="$FUZZ_O" >build.log 2>&1 ||
		{ tail -n 30 build.log; exit 1; }
	for t in $targets; do test -x "$FUZZ_O/$t" || { echo "no $t"; exit 1; }; done
'

test_expect_success 'every target has a seed corpus' '
	for t in $targets; do
		test -n "$(ls "$FCSNAP_SRC/fuzz/corpus/$t" 2>/dev/null)" ||
			{ echo "fuzz/corpus/$t is empty or missing"; exit 1; }
	done
'

for t in $targets; do
	test_expect_success "fuzz/$t replays its corpus and runs 3 s cleanly" '
		seeds=$(ls "$FCSNAP_SRC/fuzz/corpus/'"$t"'" | wc -l) &&
		mkdir -p "new-'"$t"'" &&
		code=0 &&
		"$FUZZ_O/'"$t"'" -max_total_time=3 -timeout=20 -rss_limit_mb=2048 \
			-artifact_prefix="$TRASH/art-'"$t"'-" "new-'"$t"'" \
			"$FCSNAP_SRC/fuzz/corpus/'"$t"'" >log 2>&1 || code=$?
		runs=$(sed -n "s/^Done \([0-9]*\) runs.*/\1/p" log)
		echo "exit $code, $runs runs, $seeds seeds"
		[ "$code" = 0 ] && [ -n "$runs" ] && [ "$runs" -ge "$seeds" ] ||
			{ grep -v "^#" log | tail -n 30; exit 1; }
	'
done

test_done
