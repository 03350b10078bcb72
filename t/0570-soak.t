#!/bin/sh
# The lifecycle mix of bench/soak (issue 11) for 20 seconds: restores,
# fc-exec -v/-s, fc-kill, a refreshing create, fc-ps and fc-snap-ls every
# 0.2 s; then the same with fc-kill --all and other snapshots created and
# removed.  No failure (beyond what fc-kill --all does to the loops' own
# VMs), no process, run dir or damaged entry left.  Counts, not timings:
# a slow host only runs fewer loops.
. "$(dirname "$0")/lib.sh"

test_expect_success 'the soak mix: no failure, nothing left' '
	SOAK_SECONDS=14 SOAK_KILLALL_SECONDS=6 \
		sh "$FCSNAP_SRC/bench/soak/run" >soak.out 2>&1 || { cat soak.out; false; } &&
	cat soak.out &&
	grep -q "^result: PASS" soak.out &&
	grep -Eq "restore loops run +[1-9]" soak.out
'

test_done
