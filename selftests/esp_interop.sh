#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: host (boots two VMs itself)
#
# Interoperability with the kernel's own ESP: two VMs on one QEMU socket
# link, A running esp_offload, B the distro's esp4/esp6, carry the whole
# matrix at once (selftests/interop/guest.sh): transport and tunnel mode,
# IPv4/IPv6 inside and outside, ESN on (across 2^32) and off, key and ICV
# sizes, GMAC, TFC padding and NAT-T, a TCP transfer each way per variant
# with its sha256 checked by the receiver. Each guest's kernel log must
# stay clean (vm-run checks).
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$repo/.build/results/interop-$$}
mkdir -p "$results/a" "$results/b"

port=$((20000 + RANDOM % 20000))
"$repo/scripts/vm-run" --quiet --smp 1 --timeout 600 --results "$results/a" \
	--net-listen $port --mac 52:54:00:e5:00:0a \
	-- "$repo/selftests/interop/guest.sh" module &
a=$!
# B connects once A's QEMU listens.
for _ in $(seq 1 100); do
	ss -Htln "sport = :$port" | grep -q . && break
	sleep 0.1
done
"$repo/scripts/vm-run" --quiet --smp 1 --timeout 600 --results "$results/b" \
	--net-connect $port --mac 52:54:00:e5:00:0b \
	-- "$repo/selftests/interop/guest.sh" stock &
b=$!
wait $a; rca=$?
wait $b; rcb=$?

n=0 fail=0
while read -r line; do
	case $line in
	"ok "* | "not ok "*)
		n=$((n + 1))
		case $line in "not ok"*) fail=$((fail + 1)) ;; esac
		echo "${line/ - / $n - }"
		;;
	*) echo "$line" ;;
	esac
done < <(cat "$results/a/tap" "$results/b/tap" 2>/dev/null)
echo "1..$n"
for side in a:$rca b:$rcb; do
	if [ "${side#*:}" != 0 ]; then
		echo "# VM ${side%:*} failed (status ${side#*:}), see $results/${side%:*}"
		fail=$((fail + 1))
	fi
done
[ $n -ge 30 ] || { echo "# only $n results"; fail=$((fail + 1)); }
echo "# $((n - fail)) passed, $fail failed"
[ $fail = 0 ]
