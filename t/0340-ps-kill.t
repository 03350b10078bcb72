#!/bin/sh
# fc-ps and fc-kill on fake VMs: run dirs registered through vm.h whose
# "firecracker" is a sleep started here.
. "$(dirname "$0")/lib.sh"

# dead PID: no such process, or a zombie
dead() {
	_s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d" " -f1)
	[ -z "$_s" ] || [ "$_s" = Z ]
}
run="$FCSNAP_DIR/run"

# PID ignores SIGTERM (bit 15 of SigIgn)
ignores_term() {
	_m=$(sed -n "s/^SigIgn:[[:space:]]*//p" /proc/$1/status)
	[ $(( 0x$_m & 0x4000 )) -ne 0 ]
}

test_expect_success 'no store: fc-ps prints nothing, exits 0 and creates nothing' '
	expect_code 0 fc-ps &&
	test ! -s out && test ! -s err && test ! -e "$FCSNAP_DIR"
'

test_expect_success 'fc-ps lists live VMs sorted by id and drops dead ones' '
	sleep 1000 &
	p1=$!
	sleep 1000 &
	p2=$!
	sleep 1000 &
	p3=$!
	vm-register vm-b py3 $p1 >/dev/null &&
	vm-register vm-a node20 $p2 >/dev/null &&
	vm-register vm-dead py3 $p3 >/dev/null &&
	kill $p3
	wait $p3 || true
	expect_code 0 fc-ps &&
	test ! -s err &&
	sed -n 1p out | grep -Eq "^ID +SNAPSHOT +PID +STATE +AGE$" &&
	sed -n 2p out | grep -Eq "^vm-a +node20 +$p2 +unknown +[0-9]+s$" &&
	sed -n 3p out | grep -Eq "^vm-b +py3 +$p1 +unknown +[0-9]+s$" &&
	test "$(wc -l <out)" -eq 3 &&
	test ! -e "$run/vm-dead" &&
	fc-kill vm-a vm-b &&
	no_run_dirs
'

test_expect_success 'setup: two live VMs' '
	sleep 1000 >/dev/null 2>&1 &
	echo $! >p1
	sleep 1000 >/dev/null 2>&1 &
	echo $! >p2
	vm-register vm-a py3 $(cat p1) >/dev/null &&
	vm-register vm-b py3 $(cat p2) >/dev/null
'

test_expect_success 'fc-ps -q prints the ids only' '
	expect_code 0 fc-ps -q &&
	printf "vm-a\nvm-b\n" >want && cmp want out
'

test_expect_success 'fc-ps --json prints one object per line' '
	expect_code 0 fc-ps --json &&
	test "$(wc -l <out)" -eq 2 &&
	grep -q "^{\"id\":\"vm-a\",\"snapshot\":\"py3\",\"pid\":$(cat p1),\"state\":\"unknown\",\"created_at\":\"[0-9TZ:-]*\",\"age_s\":[0-9]*,\"api_sock\":\"$run/vm-a/api.sock\",\"vsock\":\"$run/vm-a/v.sock\",\"agent_port\":0,\"dir\":\"$run/vm-a\"}$" out
'

test_expect_success 'a reused pid is not taken for the VM: dropped, not signalled' '
	sed "s/\"pid_start\":\([0-9]*\)/\"pid_start\":1\1/" "$run/vm-b/vm.json" >j &&
	mv j "$run/vm-b/vm.json" &&
	fc-ps -q >out &&
	test "$(cat out)" = vm-a &&
	test ! -e "$run/vm-b" &&
	! dead $(cat p2)
'

test_expect_success 'fc-kill of such an entry removes it and leaves the stranger alone' '
	vm-register vm-c py3 $(cat p2) >/dev/null &&
	sed "s/\"pid_start\":\([0-9]*\)/\"pid_start\":1\1/" "$run/vm-c/vm.json" >j &&
	mv j "$run/vm-c/vm.json" &&
	expect_code 0 fc-kill vm-c &&
	test ! -e "$run/vm-c" &&
	! dead $(cat p2) &&
	kill $(cat p2)
'

test_expect_success 'fc-kill sends SIGTERM and removes the run dir' '
	sleep 1000 &
	p=$!
	vm-register k1 py3 $p >/dev/null &&
	expect_code 0 fc-kill -v k1 &&
	test "$(cat out)" = k1 && test ! -s err &&
	st=0; wait $p || st=$?
	test $st = 143 &&
	test ! -e "$run/k1"
'

test_expect_success 'fc-kill sends SIGKILL after the grace period to a VM ignoring SIGTERM' '
	sh -c "trap \"\" TERM; exec sleep 1000" &
	p=$!
	wait_for ignores_term $p
	vm-register k2 py3 $p >/dev/null &&
	expect_code 0 fc-kill -t 300ms k2 &&
	st=0; wait $p || st=$?
	test $st = 137 &&
	test ! -e "$run/k2"
'

test_expect_success 'an unknown id is an error; the other ids are still stopped' '
	sleep 1000 &
	p=$!
	vm-register k3 py3 $p >/dev/null &&
	expect_code 1 fc-kill nosuch k3 &&
	one_line_err && grep_err "no VM with id nosuch" &&
	st=0; wait $p || st=$?
	test $st = 143 && test ! -e "$run/k3"
'

test_expect_success 'a bad id is a one-line error' '
	expect_code 1 fc-kill ../../etc &&
	one_line_err && grep_err "bad VM id"
'

test_expect_success 'usage errors: no id, ids with --all, a bad timeout' '
	expect_code 2 fc-kill && one_line_err &&
	expect_code 2 fc-kill --all vm-a && one_line_err &&
	expect_code 2 fc-kill -t never vm-a && one_line_err &&
	expect_code 2 fc-ps extra && one_line_err
'

test_expect_success 'a VM still being restored shows as starting; fc-kill stops its restorer' '
	{ vm-register k4 py3 hold >hold.out & } &&
	wait_for test -s hold.out &&
	fc-ps >out &&
	grep -Eq "^k4 +py3 +- +starting " out &&
	expect_code 0 fc-kill -t 5 k4 &&
	test ! -e "$run/k4" &&
	wait_for test -z "$(t_tagged_pids | xargs -r -n1 sh -c "cat /proc/\$0/comm" 2>/dev/null | grep vm-register)"
'

test_expect_success 'a damaged vm.json is listed as damaged and fc-kill removes it' '
	mkdir "$run/bad" && echo "{" >"$run/bad/vm.json" &&
	fc-ps >out &&
	grep -Eq "^bad +- +- +damaged +VM bad: vm.json is damaged" out &&
	fc-ps --json | grep -q "^{\"id\":\"bad\",\"state\":\"damaged\",\"damaged\":\"VM bad: vm.json is damaged" &&
	expect_code 0 fc-kill bad &&
	test ! -e "$run/bad"
'

test_expect_success 'fc-kill --all stops every VM and removes every run dir' '
	sleep 1000 &
	p=$!
	vm-register k5 py3 $p >/dev/null &&
	expect_code 0 fc-kill --all -v &&
	printf "k5\nvm-a\n" >want && cmp want out &&
	st=0; wait $p || st=$?
	test $st = 143 &&
	no_run_dirs &&
	dead $(cat p1)
'

test_expect_success 'the id of a dead VM can be used again' '
	sleep 1000 &
	p=$!
	vm-register again py3 $p >/dev/null &&
	kill $p
	wait $p || true
	sleep 1000 &
	p=$!
	expect_code 0 vm-register again py3 $p &&
	grep -q "\"pid\":$p," "$run/again/vm.json" &&
	fc-kill again
'

test_expect_success 'a VM id in use is refused' '
	sleep 1000 &
	p=$!
	vm-register dup py3 $p >/dev/null &&
	expect_code 1 vm-register dup py3 $p &&
	grep_err "VM id dup is in use" &&
	fc-kill dup
	wait $p || true
'

test_expect_success 'a file where the store should be: fc-ps fails with one line' '
	: >notadir &&
	export FCSNAP_DIR="$TRASH/notadir" &&
	expect_code 1 fc-ps &&
	one_line_err && grep_err "notadir"
'

test_expect_success 'nothing is left behind' '
	no_run_dirs && test_no_strays
'

test_done
