#!/bin/sh
# Many restores of one snapshot at once, and a refresh of the snapshot
# while restored VMs run and more restores are in flight.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms

test_expect_success 'setup: a snapshot whose restores copy the disk' '
	fc-snap-create -l py --disk copy -r rootfs.img
'

test_expect_success '20 concurrent restores of one snapshot all succeed with distinct ids' '
	restore_many 20 py
	cat o.* | sort >ids &&
	test "$(wc -l <ids)" = 20 &&
	test "$(sort -u ids | wc -l)" = 20 &&
	! grep . e.* 
'

test_expect_success 'each of the 20 has its own firecracker, disk, sockets, and answers its own agent' '
	for id in $(cat ids); do
		d=$FCSNAP_DIR/run/$id &&
		test -S "$d/api.sock" && test -S "$d/v.sock" && test -f "$d/rootfs.ext4" &&
		vm_pid "$id" >>pids &&
		vm_ping "$id" || { echo "VM $id does not answer"; exit 1; }
	done &&
	test "$(sort -u pids | wc -l)" = 20 &&
	test "$(ls "$FCSNAP_DIR"/run/*/rootfs.ext4 | xargs stat -c %i | sort -u | wc -l)" = 20
'

test_expect_success 'a write to one VM disk shows neither in another nor in the snapshot' '
	a=$(sed -n 1p ids) && b=$(sed -n 2p ids) &&
	printf changed | dd of="$FCSNAP_DIR/run/$a/rootfs.ext4" conv=notrunc 2>/dev/null &&
	test "$(head -c 6 "$FCSNAP_DIR/run/$b/rootfs.ext4")" = rootfs &&
	test "$(head -c 6 "$(snapdir py)/rootfs.ext4")" = rootfs
'

test_expect_success 'cleanup: kill the 20' '
	kill_all_vms && test_no_strays && no_run_dirs
'

# The inode of the memory file a VM's firecracker maps.
mapped_mem_inode() {
	awk '$6 ~ /\/mem$/ || ($6 ~ /\/mem/ && $7 == "(deleted)") { print $5; exit }' \
		/proc/"$1"/maps
}

test_expect_success 'setup: 10 VMs of the old snapshot run' '
	old_mem=$(stat -c %i "$(snapdir py)/mem") && echo "$old_mem" >old.ino &&
	i=0; while [ $i -lt 10 ]; do
		fc-snap-restore py >>old.ids || exit 1
		i=$((i + 1))
	done
	test "$(wc -l <old.ids)" = 10
'

test_expect_success 'a refresh while they run and 10 more restores are in flight' '
	printf rootfs-generation-2 | dd of=rootfs.img conv=notrunc 2>/dev/null &&
	fc-snap-create -l py -r rootfs.img >c.out 2>c.err &
	c=$! &&
	i=0; while [ $i -lt 10 ]; do
		fc-snap-restore py >n.$i 2>ne.$i &
		i=$((i + 1))
	done
	rc=0; wait $c || rc=$?
	wait
	cat n.* >new.ids
	{ test $rc = 0 && test "$(cat c.out)" = py &&
	  test "$(wc -l <new.ids)" = 10 && ! grep . ne.*; } || {
		echo "create: $rc"; cat c.err; cat ne.*; false; }
'

test_expect_success 'the old VMs keep running and answering' '
	for id in $(cat old.ids); do
		kill -0 "$(vm_pid "$id")" && vm_ping "$id" || { echo "old VM $id broke"; exit 1; }
	done
'

test_expect_success 'the new snapshot is complete and of the new generation' '
	d=$(snapdir py) &&
	test "$(ls "$d" | sort | tr "\n" " ")" = "mem meta.json rootfs.ext4 vmstate " &&
	test "$(head -c 19 "$d/rootfs.ext4")" = rootfs-generation-2 &&
	test "$(stat -c %i "$d/mem")" != "$(cat old.ino)" &&
	size=$(stat -c %s "$d/mem") && grep -q "\"mem\":{\"size\":$size" "$d/meta.json" &&
	test -z "$(ls -A "$FCSNAP_DIR/snapshots" | grep "^\.tmp")"
'

test_expect_success 'every in-flight restore got disk and memory of one generation' '
	new_ino=$(stat -c %i "$(snapdir py)/mem") &&
	for id in $(cat new.ids); do
		pid=$(vm_pid "$id") &&
		ino=$(mapped_mem_inode "$pid") &&
		gen=$(head -c 19 "$FCSNAP_DIR/run/$id/rootfs.ext4") &&
		case "$gen" in
		rootfs-generation-1) test "$ino" = "$(cat old.ino)" ;;
		rootfs-generation-2) test "$ino" = "$new_ino" ;;
		*) false ;;
		esac || { echo "VM $id: disk $gen, memory inode $ino"; exit 1; }
		vm_ping "$id"
	done
'

test_expect_success 'after the refresh a restore gets the new generation' '
	id=$(fc-snap-restore py) &&
	test "$(head -c 19 "$FCSNAP_DIR/run/$id/rootfs.ext4")" = rootfs-generation-2 &&
	vm_ping "$id"
'

test_expect_success 'cleanup: nothing left' '
	kill_all_vms && test_no_strays && no_run_dirs
'

test_done
