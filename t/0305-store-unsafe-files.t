#!/bin/sh
# Files read from the store are opened without following symlinks and
# without blocking: a fifo, a symlink, another user's file or one its
# group or everyone can write is reported as damaged, with its reason, by fc-snap-ls
# and refused by fc-snap-restore; nothing hangs.
. "$(dirname "$0")/lib.sh"
. "$FCSNAP_SRC/t/lifecycle.sh"
lc_inputs

# A hang would stop the test here, not pass it: 60 s is far beyond any run.
bounded() { timeout -k 5 60 "$@"; }

snap() {        # a fresh fake snapshot NAME; prints its dir
	store-tool snap "$1" 1M >/dev/null && echo "$FCSNAP_DIR/snapshots/$1"
}

test_expect_success 'setup: a healthy snapshot' '
	snap good >/dev/null &&
	expect_code 0 fc-snap-ls && grep_out "^good +[0-9]"
'

test_expect_success 'a meta.json that is a fifo: fc-snap-ls does not hang and lists it damaged' '
	d=$(snap fifo) && rm "$d/meta.json" && mkfifo "$d/meta.json" &&
	expect_code 0 bounded fc-snap-ls &&
	grep_out "^fifo +damaged: meta.json is damaged: it is a fifo, not a regular file$" &&
	grep_out "^good +[0-9]"
'

test_expect_success 'a meta.json that is a fifo: restore is refused at once, nothing left' '
	expect_code 1 bounded fc-snap-restore fifo && one_line_err &&
	grep_err "fifo: meta.json is damaged: it is a fifo" &&
	test -z "$(ls "$FCSNAP_DIR/run")"
'

test_expect_success 'a meta.json that is a symlink to a good one is damaged' '
	d=$(snap metalink) && mv "$d/meta.json" "$TRASH/meta-elsewhere" &&
	ln -s "$TRASH/meta-elsewhere" "$d/meta.json" &&
	expect_code 0 fc-snap-ls metalink &&
	grep_out "^metalink +damaged: meta.json is damaged: it is a symbolic link$"
'

test_expect_success 'a mem symlinked to a file of the right size is damaged, restore refuses it' '
	d=$(snap memlink) && mv "$d/mem" "$TRASH/mem-elsewhere" &&
	ln -s "$TRASH/mem-elsewhere" "$d/mem" &&
	expect_code 0 fc-snap-ls memlink &&
	grep_out "^memlink +damaged: mem is a symbolic link$" &&
	expect_code 1 bounded fc-snap-restore memlink && one_line_err &&
	grep_err "snapshot memlink is damaged: mem is a symbolic link"
'

test_expect_success 'a vmstate that is a fifo is damaged, restore does not hang on it' '
	d=$(snap vmfifo) && rm "$d/vmstate" && mkfifo "$d/vmstate" &&
	expect_code 0 fc-snap-ls vmfifo &&
	grep_out "^vmfifo +damaged: vmstate is a fifo, not a regular file$" &&
	expect_code 1 bounded fc-snap-restore vmfifo && one_line_err &&
	grep_err "vmfifo is damaged: vmstate is a fifo"
'

test_expect_success 'a file owned by another user is damaged' '
	d=$(snap foreign) && chown 65534 "$d/rootfs.ext4" &&
	expect_code 0 fc-snap-ls --json foreign &&
	grep_out "\"damaged\":\"rootfs.ext4 is owned by uid 65534, not by us or root\"" &&
	expect_code 1 bounded fc-snap-restore foreign && one_line_err &&
	grep_err "foreign is damaged: rootfs.ext4 is owned by uid 65534"
'

test_expect_success 'a world-writable meta.json is damaged' '
	d=$(snap loose) && chmod 0666 "$d/meta.json" &&
	expect_code 0 fc-snap-ls loose &&
	grep_out "^loose +damaged: meta.json is damaged: it is writable by other users$"
'

test_expect_success 'a file of another size than meta.json says is damaged' '
	d=$(snap short) && truncate -s 100 "$d/mem" &&
	expect_code 0 fc-snap-ls short &&
	grep_out "^short +damaged: mem has 100 bytes, meta.json says 1048576$"
'

test_expect_success 'a live VM (its run dir locked) whose vm.json is a fifo: fc-ps does not hang and lists it damaged' '
	mkdir -p "$FCSNAP_DIR/run/vmfifo" && mkfifo "$FCSNAP_DIR/run/vmfifo/vm.json" &&
	expect_code 0 bounded flock "$FCSNAP_DIR/run/vmfifo" fc-ps &&
	grep_out "^vmfifo .*damaged +VM vmfifo: vm.json is damaged: it is a fifo, not a regular file" &&
	rm -rf "$FCSNAP_DIR/run/vmfifo"
'

# Whoever can write a snapshot's files chooses what root's firecracker
# opens (vmstate names the drive) and runs (mem): the ssh rule, group too.
test_expect_success 'a group-writable snapshot file is damaged; restore refuses it naming the fix' '
	d=$(snap grpfile) && chmod g+w "$d/vmstate" &&
	expect_code 0 fc-snap-ls grpfile &&
	grep_out "^grpfile +damaged: vmstate is writable by its group$" &&
	expect_code 1 bounded fc-snap-restore grpfile && one_line_err &&
	grep_err "grpfile is damaged: vmstate is writable by its group; create it again" &&
	test -z "$(ls "$FCSNAP_DIR/run")"
'

test_expect_success 'a group-writable snapshot directory: listed damaged, restore and push refuse it' '
	d=$(snap grpdir) && chmod g+w "$d" &&
	expect_code 0 fc-snap-ls grpdir &&
	grep_out "^grpdir +damaged: its directory is writable by its group \\(chmod go-w $d\\)$" &&
	expect_code 1 bounded fc-snap-restore grpdir && one_line_err &&
	grep_err "snapshot grpdir is not safe: $d is writable by its group \\(chmod go-w $d" &&
	test -z "$(ls "$FCSNAP_DIR/run")" &&
	AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b AWS_ENDPOINT_URL=http://127.0.0.1:9 \
	expect_code 1 bounded fc-snap-push grpdir s3://b/p && one_line_err &&
	grep_err "snapshot grpdir is not safe: .*writable by its group" &&
	chmod g-w "$d" && expect_code 0 fc-snap-ls grpdir && grep_out "^grpdir +[0-9]"
'

test_expect_success 'fc-snap-push refuses a snapshot with a symlinked file' '
	AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b AWS_ENDPOINT_URL=http://127.0.0.1:9 \
	expect_code 1 bounded fc-snap-push memlink s3://b/p && one_line_err &&
	grep_err "memlink is damaged: mem is a symbolic link"
'

test_done
