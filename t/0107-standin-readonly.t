#!/bin/sh
# fc-standin: is_read_only is honoured: the drive is held open O_RDONLY, the
# guest cannot write through it, and a snapshot keeps it read-only.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/standin-lib.sh"

unset FCSTANDIN_AGENT_ARGS FCSTANDIN_DIRTY_PCT FCSTANDIN_SEED

# the "guest": try one write on each drive fd, report, then idle
cat >ro-guest <<'G'
#!/bin/sh
for d in $FCSTANDIN_DRIVES; do
	id=${d%%=*} fd=${d#*=}; fd=${fd%%:*}
	if eval "printf W >&$fd" 2>/dev/null; then echo "$id wrote"; else echo "$id refused"; fi
done >guest.out.tmp
mv guest.out.tmp guest.out
exec sleep 100000
G
chmod +x ro-guest
export FCSTANDIN_AGENT=$PWD/ro-guest

# ro_config D RO: kernel, root drive (is_read_only RO), data drive (rw), machine
ro_config() {
	touch "$1/vmlinux" && printf disk >"$1/rootfs.ext4" && printf data >"$1/data.img" &&
	expect_api "$1" 204 PUT /boot-source '{"kernel_image_path":"vmlinux"}' &&
	expect_api "$1" 204 PUT /drives/rootfs \
		"{\"drive_id\":\"rootfs\",\"path_on_host\":\"rootfs.ext4\",\"is_root_device\":true,\"is_read_only\":$2}" &&
	expect_api "$1" 204 PUT /drives/data \
		'{"drive_id":"data","path_on_host":"data.img","is_root_device":false,"is_read_only":false}' &&
	expect_api "$1" 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":8}'
}

# open_mode D FILE: "ro" or "rw": how the stand-in of D holds FILE open
open_mode() {
	_p=$(cat "$1/pid") _want=$(readlink -f "$1/$2")
	for _f in /proc/$_p/fd/*; do
		[ "$(readlink "$_f")" = "$_want" ] || continue
		_fl=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$_p/fdinfo/${_f##*/}")
		case $(( 0$_fl & 3 )) in 0) echo ro ;; 2) echo rw ;; *) echo other ;; esac
		return 0
	done
	echo closed
}

test_expect_success 'a read-only drive is held O_RDONLY, a writable one O_RDWR' '
	si_start a && ro_config a true &&
	expect_api a 204 PUT /actions "{\"action_type\":\"InstanceStart\"}" &&
	wait_for test -f a/guest.out &&
	[ "$(open_mode a rootfs.ext4)" = ro ] &&
	[ "$(open_mode a data.img)" = rw ]
'

test_expect_success 'the guest cannot write a read-only drive; it can write the other' '
	grep -qx "rootfs refused" a/guest.out &&
	grep -qx "data wrote" a/guest.out &&
	[ "$(cat a/rootfs.ext4)" = disk ] &&
	[ "$(cat a/data.img)" = Wata ]
'

test_expect_success 'the snapshot records the drive as read-only' '
	si_snapshot a && si_kill a &&
	grep -q "\"is_read_only\":true" a/vmstate
'

test_expect_success 'a snapshot taken with a read-only drive restores it read-only' '
	mkdir b && cp a/vmstate a/mem a/data.img b/ && cp -p a/rootfs.ext4 b/ &&
	chmod 0400 b/rootfs.ext4 &&
	si_start b &&
	expect_api b 204 PUT /snapshot/load "$(load_body)" &&
	wait_for test -f b/guest.out &&
	[ "$(open_mode b rootfs.ext4)" = ro ] &&
	grep -qx "rootfs refused" b/guest.out &&
	[ "$(cat b/rootfs.ext4)" = disk ] &&
	si_kill b
'

test_expect_success 'no strays' 'test_no_strays'
test_done
