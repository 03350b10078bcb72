#!/bin/sh
# A shared-disk snapshot (fc-snap-create --disk shared, the default): every
# restore uses the snapshot's own 0400 disk by hard link, attached
# read-only; nothing a clone does reaches it; --from-vm links it too; a disk
# that moved since create is refused.  In the stand-in world the "guest" is
# a host process holding the drive as firecracker opened it, so what is
# shown here is the host side: the disk is opened O_RDONLY by every clone,
# writes through it fail and its hash does not change.  The guest side (a
# writable / in guest memory) is t/0206.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs
at_exit kill_all_vms
# real data in the disk, so a copy would show in du
head -c 8388608 /dev/urandom | dd of=rootfs.img bs=1M seek=1 conv=notrunc 2>/dev/null

# disk_mode PID: how firecracker PID holds rootfs.ext4 open: ro, rw or closed
disk_mode() {
	for _f in /proc/$1/fd/*; do
		case $(readlink "$_f") in */rootfs.ext4) ;; *) continue ;; esac
		_fl=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$1/fdinfo/${_f##*/}")
		case $(( 0$_fl & 3 )) in 0) echo ro ;; *) echo rw ;; esac
		return 0
	done
	echo closed
}

test_expect_success 'setup: a snapshot with the default --disk' '
	fc-snap-create -l sh -r rootfs.img &&
	d=$(snapdir sh) &&
	grep -q "\"disk\":\"shared\"" "$d/meta.json" &&
	grep -q "\"mtime_ns\":$(stat -c %Y "$d/rootfs.ext4")" "$d/meta.json" &&
	grep -q "fc_overlay=/.fcsnap" "$d/meta.json" &&
	grep -q "\"is_read_only\":true" "$d/vmstate" &&
	test "$(stat -c %a "$d/rootfs.ext4")" = 400 &&
	sha256sum <"$d/rootfs.ext4" >disk.sum &&
	du -sk "$FCSNAP_DIR" | cut -f1 >du.before
'

test_expect_success '20 concurrent clones all get the snapshot disk itself, read-only' '
	restore_many 20 sh
	cat o.* >ids && test "$(sort -u ids | wc -l)" = 20 && ! grep . e.* &&
	ino=$(stat -c %i "$(snapdir sh)/rootfs.ext4") &&
	for id in $(cat ids); do
		test "$(stat -c %i "$FCSNAP_DIR/run/$id/rootfs.ext4")" = "$ino" &&
		test "$(disk_mode "$(vm_pid "$id")")" = ro ||
		{ echo "VM $id: $(disk_mode "$(vm_pid "$id")")"; exit 1; }
	done
'

test_expect_success 'the 20 clones cost no disk image: du of the store grew < 1 MiB' '
	after=$(du -sk "$FCSNAP_DIR" | cut -f1) &&
	test $((after - $(cat du.before))) -lt 1024 ||
	{ echo "grew $((after - $(cat du.before))) KiB"; false; }
'

test_expect_success 'every clone writes its drive heavily; every write fails, the disk hash stays' '
	for id in $(cat ids); do
		fc-exec -v "$id" -- sh -c "fd=\${FCSTANDIN_DRIVES#*=}; fd=\${fd%%:*}; n=0
			head -c 1 <&\$fd >/dev/null && printf \"readable \"
			for i in 1 2 3 4 5 6 7 8; do
				head -c 1048576 /dev/zero >&\$fd 2>/dev/null && n=\$((n + 1))
			done; echo \$n" >w.$id 2>&1 &
	done
	wait
	for id in $(cat ids); do
		test "$(cat w.$id)" = "readable 0" || { echo "VM $id: $(cat w.$id)"; exit 1; }
	done &&
	sha256sum <"$(snapdir sh)/rootfs.ext4" | cmp - disk.sum
'

test_expect_success '--from-vm of a clone shares the disk: the checkpoint costs its memory' '
	id=$(sed -n 1p ids) &&
	fc-snap-create --from-vm "$id" -l ck &&
	grep -q "\"disk\":\"shared\"" "$(snapdir ck)/meta.json" &&
	test "$(stat -c %i "$(snapdir ck)/rootfs.ext4")" = "$(stat -c %i "$(snapdir sh)/rootfs.ext4")" &&
	expect_code 0 fc-snap-restore ck &&
	test "$(stat -c %i "$FCSNAP_DIR/run/$(cat out)/rootfs.ext4")" = "$(stat -c %i "$(snapdir sh)/rootfs.ext4")" &&
	vm_ping "$(cat out)"
'

test_expect_success 'a clone outlives the removal of its snapshot; its disk goes with it' '
	kill_all_vms &&
	expect_code 0 fc-snap-restore ck && id=$(cat out) &&
	fc-snap-rm ck && fc-snap-rm sh &&
	vm_ping "$id" && test -s "$FCSNAP_DIR/run/$id/rootfs.ext4" &&
	kill_all_vms && no_run_dirs
'

test_expect_success 'a shared disk modified after create is refused, naming the fix' '
	fc-snap-create -l t -r rootfs.img &&
	touch "$(snapdir t)/rootfs.ext4" &&
	expect_code 1 fc-snap-restore t &&
	grep -q "snapshot t is damaged: rootfs.ext4 was modified after the snapshot was taken" err &&
	grep -q "create the snapshot again or pull it" err &&
	no_run_dirs
'

test_expect_success 'cleanup: nothing left' '
	kill_all_vms && test_no_strays && no_run_dirs
'
test_done
