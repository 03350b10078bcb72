#!/bin/sh
# common/fetch (through t/helpers/fetch-cli): Firecracker release and kernel
# downloads from a local HTTP server: checksums, atomic install, failures.
. "$(dirname "$0")/lib.sh"

ARCH=$(uname -m)
[ "$ARCH" = arm64 ] && ARCH=aarch64

# Nothing but the expected files in dir $1.
only_in() {
	d=$1; shift
	got=$(ls -A "$d" | sort | tr '\n' ' ')
	want=""
	[ $# -eq 0 ] || want=$(printf "%s\n" "$@" | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || { echo "in $d: got '$got', want '$want'"; return 1; }
}

# A fake release VERSION whose firecracker prints MSG.
mkrel() {
	v=$1; msg=$2
	mkdir -p "srv/$v" "rel/release-$v-$ARCH" &&
	printf '#!/bin/sh\necho "%s"\n' "$msg" >"rel/release-$v-$ARCH/firecracker-$v-$ARCH" &&
	chmod 755 "rel/release-$v-$ARCH/firecracker-$v-$ARCH" &&
	: >"rel/release-$v-$ARCH/jailer-$v-$ARCH" &&
	tar -C rel -czf "srv/$v/firecracker-$v-$ARCH.tgz" "release-$v-$ARCH" &&
	(cd "srv/$v" && sha256sum "firecracker-$v-$ARCH.tgz" >"firecracker-$v-$ARCH.tgz.sha256.txt")
}

test_expect_success 'setup: fake releases and a local HTTP server' '
	mkrel v1.2.3 "Firecracker v1.2.3" &&
	mkrel v2.0.0 "two" && echo "0000000000000000000000000000000000000000000000000000000000000000  x.tgz" \
		>srv/v2.0.0/firecracker-v2.0.0-$ARCH.tgz.sha256.txt &&
	mkrel v3.0.0 "three" && rm srv/v3.0.0/*.sha256.txt &&
	mkdir -p srv/v4.0.0 && echo junk >junk && tar -czf srv/v4.0.0/firecracker-v4.0.0-$ARCH.tgz junk &&
	(cd srv/v4.0.0 && sha256sum *.tgz >firecracker-v4.0.0-$ARCH.tgz.sha256.txt) &&
	head -c 100000 /dev/urandom >srv/vmlinux &&
	(cd srv && exec python3 -u -m http.server --bind 127.0.0.1 0 >../http.log 2>&1) &
	echo $! >http.pid &&
	wait_for grep -q "port [0-9]" http.log &&
	sed -n "s/.* port \([0-9]*\).*/\1/p" http.log | head -n 1 >http.port &&
	test -s http.port
'
at_exit 'kill $(cat "$TRASH/http.pid")'
URL="http://127.0.0.1:$(cat "$TRASH/http.port" 2>/dev/null)"

test_expect_success 'a release is fetched, verified against its .sha256.txt, installed 0755' '
	FCSNAP_FIRECRACKER_URL=$URL expect_code 0 fetch-cli firecracker bin/firecracker v1.2.3 &&
	[ "$(bin/firecracker)" = "Firecracker v1.2.3" ] &&
	[ "$(stat -c %a bin/firecracker)" = 755 ] &&
	h=$(sha srv/v1.2.3/firecracker-v1.2.3-$ARCH.tgz) &&
	grep -qx "fetch-cli: fetched firecracker v1.2.3 from $URL/v1.2.3/firecracker-v1.2.3-$ARCH.tgz (sha256 $h)" err &&
	only_in bin firecracker
'

test_expect_success 'version without v, base URL by argument with a trailing slash' '
	expect_code 0 fetch-cli firecracker fc2 1.2.3 "$URL/" &&
	[ "$(./fc2)" = "Firecracker v1.2.3" ]
'

test_expect_success 'version from FCSNAP_FIRECRACKER_VERSION' '
	FCSNAP_FIRECRACKER_URL=$URL FCSNAP_FIRECRACKER_VERSION=v1.2.3 \
		expect_code 0 fetch-cli firecracker fc3 &&
	[ "$(./fc3)" = "Firecracker v1.2.3" ]
'

test_expect_success 'a download that does not match the published checksum is refused' '
	mkdir d2 && echo keep >d2/firecracker &&
	expect_code 1 fetch-cli firecracker d2/firecracker v2.0.0 "$URL" &&
	one_line_err && grep_err "SHA-256 mismatch .*corrupt or tampered download refused" &&
	[ "$(cat d2/firecracker)" = keep ] && only_in d2 firecracker
'

test_expect_success 'an explicit SHA-256 wins; a wrong one is refused' '
	h=$(sha srv/v2.0.0/firecracker-v2.0.0-$ARCH.tgz) &&
	expect_code 0 fetch-cli firecracker d3/fc v2.0.0 "$URL" "$h" &&
	[ "$(d3/fc)" = two ] &&
	expect_code 1 fetch-cli firecracker d4/fc v1.2.3 "$URL" "$h" &&
	grep_err "SHA-256 mismatch" && only_in d4 &&
	expect_code 1 fetch-cli firecracker d4/fc v1.2.3 "$URL" 1234 &&
	grep_err "expected 64 hex digits"
'

test_expect_success 'a mirror without a published checksum: warning, installed' '
	expect_code 0 fetch-cli firecracker d5/fc v3.0.0 "$URL" &&
	[ "$(d5/fc)" = three ] &&
	grep_err "no published checksum at $URL/v3.0.0/.*not verified" &&
	grep_err "fetched firecracker v3.0.0 .*not verified"
'

test_expect_success 'a missing release is a clear error' '
	expect_code 1 fetch-cli firecracker d6/fc v9.9.9 "$URL" &&
	one_line_err && grep_err "cannot download $URL/v9.9.9/firecracker-v9.9.9-$ARCH.tgz: not found" &&
	only_in d6
'

test_expect_success 'a tarball without the binary is refused' '
	expect_code 1 fetch-cli firecracker d7/fc v4.0.0 "$URL" &&
	one_line_err && grep_err "has no firecracker-v4.0.0-$ARCH" && only_in d7
'

test_expect_success 'no server: "no network?", nothing installed' '
	expect_code 1 fetch-cli firecracker d8/fc v1.2.3 "http://127.0.0.1:1" &&
	one_line_err && grep_err "cannot download http://127.0.0.1:1/v1.2.3/.*: no network\?" &&
	only_in d8 &&
	expect_code 1 fetch-cli kernel d8/vmlinux "http://127.0.0.1:1/vmlinux" &&
	one_line_err && grep_err "no network\?" && only_in d8
'

test_expect_success 'a kernel is fetched and checked against a given SHA-256' '
	h=$(sha srv/vmlinux) &&
	expect_code 0 fetch-cli kernel k/vmlinux "$URL/vmlinux" "$h" &&
	cmp k/vmlinux srv/vmlinux &&
	grep -qx "fetch-cli: fetched kernel from $URL/vmlinux (sha256 $h)" err &&
	FCSNAP_KERNEL_URL=$URL/vmlinux expect_code 0 fetch-cli kernel k/v2 &&
	cmp k/v2 srv/vmlinux && grep_err "not verified" &&
	only_in k vmlinux v2
'

test_expect_success 'a kernel with the wrong SHA-256 is refused and not installed' '
	expect_code 1 fetch-cli kernel k2/vmlinux "$URL/vmlinux" \
		0000000000000000000000000000000000000000000000000000000000000000 &&
	one_line_err && grep_err "SHA-256 mismatch" && only_in k2
'

test_expect_success 'nothing stray is left' '
	kill $(cat http.pid) && wait_for t_gone "$(cat http.pid)" &&
	test_no_strays
'

test_done
