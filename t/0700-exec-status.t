#!/bin/sh
# fc-exec: exit statuses (the command's, 128+N for a signal, 124 timeout,
# 125 own failure, 126/127 not executable/not found), stream separation,
# the default run command, --code, -e, -w, --keep, -v; throw-away VMs
# leave nothing behind (the stand-in's guest, a separate process unlike a
# real VM's, may take a moment to exit after its firecracker: wait_for).
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

test_expect_success 'setup: a snapshot with a run command, and one without' '
	fc-snap-create -l py -r rootfs.img --run-command "sh -s" >/dev/null &&
	fc-snap-create -l bare -r rootfs.img >/dev/null
'

test_expect_success 'exit status 0, 1 and 3 pass through' '
	expect_code 0 fc-exec -s py -- true &&
	expect_code 1 fc-exec -s py -- false &&
	expect_code 3 fc-exec -s py -- sh -c "exit 3" &&
	no_run_dirs
'

test_expect_success 'a command not found is 127, not executable is 126' '
	expect_code 127 fc-exec -s py -- no-such-command-xyz &&
	one_line_err && grep_err "no-such-command-xyz" && grep_err "not found" &&
	printf "#!/bin/sh\necho hi\n" >"$TRASH/noexec.sh" && chmod 644 "$TRASH/noexec.sh" &&
	expect_code 126 fc-exec -s py -- "$TRASH/noexec.sh" &&
	one_line_err && grep_err "noexec.sh" &&
	no_run_dirs
'

test_expect_success 'a command killed by signal N is 128+N' '
	expect_code 143 fc-exec -s py -- sh -c "kill -TERM \$\$" &&
	expect_code 137 fc-exec -s py -- sh -c "kill -KILL \$\$"
'

test_expect_success '-t: the command group is killed, status 124, quickly' '
	t0=$(date +%s) &&
	expect_code 124 fc-exec -t 1 -s py -- sh -c "sleep 60; echo never" &&
	t1=$(date +%s) && test $((t1 - t0)) -lt 30 &&
	! grep -q never out &&
	no_run_dirs
'

test_expect_success 'stdout and stderr are separate, each in order' '
	expect_code 0 fc-exec -s py -- sh -c "
		i=0; while [ \$i -lt 200 ]; do echo out\$i; echo err\$i >&2; i=\$((i+1)); done" &&
	i=0; : >want.out; : >want.err
	while [ $i -lt 200 ]; do echo out$i >>want.out; echo err$i >>want.err; i=$((i+1)); done
	cmp out want.out && cmp err want.err
'

test_expect_success 'no command: the run command gets the code on stdin' '
	echo "echo \$((6*7)); echo warn >&2; exit 5" >code.sh &&
	expect_code 5 fc-exec -s py <code.sh &&
	test "$(cat out)" = 42 && test "$(cat err)" = warn
'

test_expect_success 'the seed shape: -l NAME --code CODE' '
	expect_code 0 fc-exec -l py --code "echo seed-\$((1+1))" </dev/null &&
	test "$(cat out)" = seed-2
'

test_expect_success 'a snapshot without a run command and no command: 125, clear' '
	expect_code 125 fc-exec -s bare </dev/null &&
	one_line_err && grep_err "bare has no run command" &&
	wait_for test_no_strays && no_run_dirs
'

test_expect_success 'a missing snapshot: 125 and one clear line, nothing started' '
	expect_code 125 fc-exec -s nosuch -- true &&
	one_line_err && grep_err "no snapshot named nosuch" && grep_err "fc-snap-create" &&
	wait_for test_no_strays && no_run_dirs
'

test_expect_success '-e sets and unsets variables, -w sets the directory' '
	mkdir -p "$TRASH/wd" &&
	FOO=inherited expect_code 0 fc-exec -e A=1 -e "B=x y" -e HOME -w "$TRASH/wd" -s py -- \
		sh -c "echo \"\$A|\$B|\${HOME-unset}\"; pwd" &&
	test "$(sed -n 1p out)" = "1|x y|unset" &&
	test "$(sed -n 2p out)" = "$TRASH/wd"
'

test_expect_success 'a bad working directory: 125 with the reason' '
	expect_code 125 fc-exec -w /no/such/dir -s py -- true &&
	one_line_err && grep_err "/no/such/dir" && no_run_dirs
'

test_expect_success 'usage errors exit 2 with one line' '
	expect_code 2 fc-exec -- true && one_line_err &&
	expect_code 2 fc-exec -s py -v abc -- true && one_line_err &&
	expect_code 2 fc-exec -s Bad -- true && one_line_err &&
	expect_code 2 fc-exec -t nonsense -s py -- true && one_line_err
'

test_expect_success '--keep leaves the VM running and prints its id on stderr' '
	expect_code 0 fc-exec --keep -s py -- true &&
	id=$(sed -n "s/^fc-exec: VM \([a-z0-9]*\) kept running$/\1/p" err) &&
	test -n "$id" &&
	pid=$(vm_pid "$id") && kill -0 "$pid" && vm_ping "$id" &&
	echo "$id" >kept
'

test_expect_success '-v ID runs in that VM; the VM keeps running' '
	id=$(cat kept) &&
	expect_code 0 fc-exec -v "$id" -- sh -c "echo in-vm" &&
	test "$(cat out)" = in-vm &&
	expect_code 4 fc-exec -v "$id" -- sh -c "exit 4" &&
	vm_ping "$id" &&
	echo "echo default" | fc-exec -v "$id" >out2 && test "$(cat out2)" = default
'

test_expect_success '-v with an unknown or dead VM: 125, clear' '
	expect_code 125 fc-exec -v nosuchvm -- true &&
	one_line_err && grep_err "no VM with id nosuchvm" &&
	id=$(cat kept) && kill_vm "$id" && mkdir -p "$FCSNAP_DIR/run/$id" &&
	expect_code 125 fc-exec -v "$id" -- true && one_line_err &&
	rm -rf "$FCSNAP_DIR/run/$id"
'

test_expect_success 'throw-away runs leave no process, run dir or temp dir' '
	kill_all_vms &&
	wait_for test_no_strays && no_run_dirs
'

test_done
