#!/bin/sh
# fc-ps and fc-kill on fake VMs: run dirs registered through vm.h whose
# "firecracker" is a sleep exec'd by vm-register (cwd in the run dir, the
# run dir's lock inherited, as firecracker has them).
. "$(dirname "$0")/lib.sh"

# dead PID: no such process, or a zombie
dead() {
	_s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d" " -f1)
	[ -z "$_s" ] || [ "$_s" = Z ]
}
run="$FCSNAP_DIR/run"

# reg ID SNAPSHOT CMD...: a fake VM running CMD; its pid in $p once handed over
reg() {
	_id=$1
	vm-register "$@" >/dev/null &
	p=$!
	wait_for grep -q "\"pid\":$p," "$run/$_id/vm.json" &&
	wait_for test ! -e "$run/$_id/restoring"
}

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
	reg vm-b py3 sleep 1000 && p1=$p &&
	reg vm-a node20 sleep 1000 && p2=$p &&
	reg vm-dead py3 sleep 1000 && p3=$p &&
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
	reg vm-a py3 sleep 1000 && echo $p >p1 &&
	reg vm-b py3 sleep 1000 && echo $p >p2
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

test_expect_success 'a pid in vm.json that is not the VM process is not trusted: still listed' '
	sleep 1000 &
	echo $! >stranger
	sed "s/\"pid\":[0-9]*,\"pid_start\":[0-9]*/\"pid\":$(cat stranger),\"pid_start\":$(sed "s/.*) //" /proc/$(cat stranger)/stat | cut -d" " -f20)/" "$run/vm-b/vm.json" >j &&
	mv j "$run/vm-b/vm.json" &&
	grep -q "\"pid\":$(cat stranger)," "$run/vm-b/vm.json" &&
	fc-ps -q >out &&
	printf "vm-a\nvm-b\n" >want && cmp want out &&
	test -e "$run/vm-b"
'

test_expect_success 'fc-kill of such an entry stops the VM process and leaves the stranger alone' '
	expect_code 0 fc-kill vm-b &&
	test ! -e "$run/vm-b" &&
	dead $(cat p2) &&
	! dead $(cat stranger) &&
	kill $(cat stranger)
'

test_expect_success 'fc-kill sends SIGTERM and removes the run dir' '
	reg k1 py3 sleep 1000 &&
	expect_code 0 fc-kill -v k1 &&
	test "$(cat out)" = k1 && test ! -s err &&
	st=0; wait $p || st=$?
	test $st = 143 &&
	test ! -e "$run/k1"
'

test_expect_success 'fc-kill sends SIGKILL after the grace period to a VM ignoring SIGTERM' '
	reg k2 py3 sh -c "trap \"\" TERM; exec sleep 1000" &&
	wait_for ignores_term $p &&
	expect_code 0 fc-kill -t 300ms k2 &&
	st=0; wait $p || st=$?
	test $st = 137 &&
	test ! -e "$run/k2"
'

test_expect_success 'an unknown id is an error; the other ids are still stopped' '
	reg k3 py3 sleep 1000 &&
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

test_expect_success 'a damaged vm.json of a live VM is listed as damaged; fc-kill stops its process' '
	reg bad py3 sleep 1000 &&
	echo "{" >"$run/bad/vm.json" &&
	fc-ps >out &&
	grep -Eq "^bad +- +- +damaged +VM bad: vm.json is damaged" out &&
	fc-ps --json | grep -q "^{\"id\":\"bad\",\"state\":\"damaged\",\"damaged\":\"VM bad: vm.json is damaged" &&
	expect_code 0 fc-kill bad &&
	st=0; wait $p || st=$?
	test $st = 143 &&
	test ! -e "$run/bad"
'

test_expect_success 'a run dir nothing holds is dead, damaged or not: fc-ps removes it' '
	mkdir "$run/bad2" && echo "{" >"$run/bad2/vm.json" &&
	expect_code 0 fc-ps -q &&
	! grep -q bad2 out &&
	test ! -e "$run/bad2"
'

test_expect_success 'a process sharing the run dir lock that is not its firecracker is never signalled' '
	reg odd py3 sh -c "(cd / && exec sleep 1000) & echo \$! >holder; exec sleep 1000" &&
	wait_for test -s "$run/odd/holder" &&
	cp "$run/odd/holder" holder &&
	expect_code 1 fc-kill -t 100ms odd &&
	one_line_err && grep_err "still in use" &&
	dead $p &&
	! dead $(cat holder) &&
	test -e "$run/odd" &&
	kill $(cat holder) &&
	wait_for fc-kill odd &&
	test ! -e "$run/odd"
'

test_expect_success 'fc-kill --all stops every VM and removes every run dir' '
	reg k5 py3 sleep 1000 &&
	expect_code 0 fc-kill --all -v &&
	printf "k5\nvm-a\n" >want && cmp want out &&
	st=0; wait $p || st=$?
	test $st = 143 &&
	no_run_dirs &&
	dead $(cat p1)
'

test_expect_success 'the id of a dead VM can be used again' '
	reg again py3 sleep 1000 &&
	kill $p
	wait $p || true
	reg again py3 sleep 1000 &&
	grep -q "\"pid\":$p," "$run/again/vm.json" &&
	fc-kill again
'

test_expect_success 'a VM id in use is refused' '
	reg dup py3 sleep 1000 &&
	expect_code 1 vm-register dup py3 sleep 1000 &&
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
