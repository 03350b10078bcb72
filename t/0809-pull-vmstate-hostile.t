#!/bin/sh
# A bucket's vmstate names host resources (vmcheck.h): a drive's file, the
# vsock's socket, network taps.  The restore of a snapshot not created here
# loads it paused and lets the guest run only if its devices are the ones
# fc-snap-create makes; a shared disk from a bucket is then hard-linked,
# not copied, since it is checked to be attached read-only.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
. "$FCSNAP_SRC/t/s3-lib.sh"
s3_start
lc_inputs
at_exit kill_all_vms
R=s3://$S3_BUCKET/vs

# evil NAME PYTHON: push a copy of snapshot py as NAME whose vmstate's VM
# configuration (the stand-in's JSON, as GET /vm/config shows it) was
# edited by PYTHON (on dict c), then remove the local NAME.
evil() {
	rm -rf "$FCSNAP_DIR/snapshots/$1" &&
	cp -a "$(snapdir py)" "$FCSNAP_DIR/snapshots/$1" &&
	chmod u+w "$(snapdir "$1")/vmstate" &&
	python3 - "$(snapdir "$1")/vmstate" "$2" <<-'PY' &&
	import json, sys
	path, edit = sys.argv[1], sys.argv[2]
	raw = open(path, "rb").read()
	head, body = raw.split(b"\n\n", 1)
	c = json.loads(body)
	exec(edit)
	js = json.dumps(c, separators=(",", ":")).encode()
	h = 0xcbf29ce484222325
	for b in js:
	    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
	lines = [l for l in head.split(b"\n") if not l.startswith((b"length ", b"checksum "))]
	lines += [b"length %d" % len(js), b"checksum %016x" % h]
	open(path, "wb").write(b"\n".join(lines) + b"\n\n" + js)
	PY
	store-tool restat "$1" &&
	fc-snap-push "$1" "$R" >/dev/null &&
	fc-snap-rm "$1" >/dev/null &&
	fc-snap-pull "$1" "$R" >/dev/null 2>&1
}

# refused NAME WHAT: its restore fails with one line naming WHAT, and
# leaves no VM, run dir or stray process.
refused() {
	expect_code 1 fc-snap-restore "$1" &&
	one_line_err &&
	grep_err "^fc-snap-restore: VM [0-9a-f]*: snapshot $1 was not created on this host and its vmstate is not one fcsnap makes: $2; refusing to run it" &&
	no_run_dirs && wait_for test_no_strays
}

test_expect_success 'setup: a shared-disk snapshot created here, pushed' '
	fc-snap-create -l py -r rootfs.img >/dev/null &&
	grep -q "\"disk\":\"shared\"" "$(snapdir py)/meta.json" &&
	grep -q "\"origin\":\"create\"" "$(snapdir py)/meta.json" &&
	fc-snap-push py "$R" >/dev/null &&
	printf "host secret\n" >secret && cp secret secret.orig
'

test_expect_success 'pulled, it keeps its shared disk but not the origin' '
	fc-snap-rm py >/dev/null && fc-snap-pull py "$R" >/dev/null 2>&1 &&
	grep -q "\"disk\":\"shared\"" "$(snapdir py)/meta.json" &&
	! grep -q "\"origin\"" "$(snapdir py)/meta.json"
'

test_expect_success 'its restore checks the devices, then hard-links the disk: no copy' '
	expect_code 0 fc-snap-restore py && id=$(cat out) && test ! -s err &&
	test "$(stat -c %i "$FCSNAP_DIR/run/$id/rootfs.ext4")" = \
		"$(stat -c %i "$(snapdir py)/rootfs.ext4")" &&
	vm_ping "$id" && kill_vm "$id"
'

test_expect_success 'fc-snap-restore --paused of it stays paused after the check' '
	expect_code 0 fc-snap-restore --paused py && id=$(cat out) &&
	fc-call "$FCSNAP_DIR/run/$id/api.sock" describe | grep -qx state=Paused &&
	kill_vm "$id"
'

test_expect_success '--from-vm of a VM of it is not "created here" either, and restores checked' '
	expect_code 0 fc-snap-restore py && id=$(cat out) &&
	expect_code 0 fc-snap-create --from-vm "$id" -l fv &&
	kill_vm "$id" &&
	grep -q "\"disk\":\"shared\"" "$(snapdir fv)/meta.json" &&
	! grep -q "\"origin\"" "$(snapdir fv)/meta.json" &&
	expect_code 0 fc-snap-restore fv && id=$(cat out) && test ! -s err &&
	vm_ping "$id" && kill_vm "$id"
'

test_expect_success 'a drive at a host path: refused before the guest runs, the file untouched' '
	evil ev1 "c[\"drives\"][0][\"path_on_host\"] = \"$TRASH/secret\"; c[\"drives\"][0][\"is_read_only\"] = False" &&
	refused ev1 "drive rootfs is at '\''$TRASH/secret'\'', not rootfs.ext4 in the VM'\''s run dir" &&
	cmp secret secret.orig
'

test_expect_success 'a shared disk attached read-write: refused' '
	evil ev2 "c[\"drives\"][0][\"is_read_only\"] = False" &&
	refused ev2 "drive rootfs is read-write; the snapshot'\''s disk is shared and must be attached read-only"
'

test_expect_success 'a second drive: refused' '
	evil ev3 "d = dict(c[\"drives\"][0]); d[\"drive_id\"] = \"data\"; d[\"path_on_host\"] = \"$TRASH/secret\"; c[\"drives\"].append(d)" &&
	refused ev3 "it has 2 drives, fcsnap attaches one \\(rootfs\\)"
'

test_expect_success 'a network tap: refused' '
	evil ev4 "c[\"network-interfaces\"] = [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap-other\"}]" &&
	refused ev4 "it attaches host network interfaces \\(taps\\); a snapshot from elsewhere gets none"
'

test_expect_success 'a vsock socket elsewhere: refused' '
	evil ev5 "c[\"vsock\"][\"uds_path\"] = \"$TRASH/elsewhere.sock\"" &&
	refused ev5 "its vsock socket is '\''$TRASH/elsewhere.sock'\'', not v.sock in the VM'\''s run dir"
'

test_expect_success 'a copy-disk snapshot from a bucket may attach its private copy read-write' '
	fc-snap-create -l cp --disk copy -r rootfs.img >/dev/null &&
	fc-snap-push cp "$R" >/dev/null && fc-snap-rm cp >/dev/null &&
	fc-snap-pull cp "$R" >/dev/null 2>&1 &&
	expect_code 0 fc-snap-restore cp && id=$(cat out) &&
	test "$(stat -c %i "$FCSNAP_DIR/run/$id/rootfs.ext4")" != \
		"$(stat -c %i "$(snapdir cp)/rootfs.ext4")" &&
	vm_ping "$id" && kill_vm "$id"
'

test_done
