#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: host (boots two VMs itself)
# check: all (two VMs; check-all runs it on each kernel and across them)
#
# Interoperability with the kernel's own ESP: two VMs on one QEMU socket
# link, A running esp_offload, B the distro's esp4/esp6, carry the whole
# matrix at once (selftests/interop/guest.sh): transport and tunnel mode,
# IPv4/IPv6 inside and outside, ESN on (across 2^32) and off, key and ICV
# sizes, GMAC, TFC padding and NAT-T, a TCP transfer each way per variant
# with its sha256 checked by the receiver. Each guest's kernel log must
# stay clean (vm-run checks).
#
# The NIC variants prove the test NIC's crypto offload byte-compatible
# with the stock ESP across the link: in A, espo_nic's enic1 is bridged
# with the VM's NIC and A's SAs of those variants are offloaded to enic0,
# so espo_nic encrypts what B's esp4/esp6 decrypts in software, and the
# reverse (transport v4, v6 with ESN across 2^32, tunnel 4in4, 6in6).
# A checks that enic0's counters moved by at least the packets the core
# counted on each of those SAs and that its module did no software
# crypto while only they carried traffic.
#
# The guests hand-shake over a control port (guest.sh); here, when one VM
# ends badly the other is stopped at once rather than at its time limit.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/selftests/lib.sh"
trap - EXIT
results=${RESULTS:-$repo/.build/results/interop-$$}
mkdir -p "$results/a" "$results/b"
limit=$(scale 1200)

# Each side may boot another kernel (KVER_A for the module, KVER_B for the
# stock ESP; both default to KVER): `make check-all` runs 6.12 against 6.1
# and the reverse. The module must have been built for KVER_A.
kver_a=${KVER_A:-${KVER:-$("$repo/scripts/kernels" --default)}}
kver_b=${KVER_B:-${KVER:-$kver_a}}
[ -e "$repo/.build/ko/$kver_a/esp_offload.ko" ] ||
	[ "$(modinfo -F vermagic "$repo/esp_offload.ko" | cut -d' ' -f1)" = "$kver_a" ] || {
	echo "not ok 1 - interop: esp_offload.ko built for $kver_a (make KVER=$kver_a)"
	exit 1
}
# The test NIC for A's kernel, found the way guest.sh finds it.
[ -e "$repo/.build/ko/$kver_a/espo_nic.ko" ] ||
	[ "$(modinfo -F vermagic "$repo/selftests/espo_nic/espo_nic.ko" 2>/dev/null | cut -d' ' -f1)" = "$kver_a" ] || {
	echo "not ok 1 - interop: espo_nic.ko built for $kver_a (make KVER=$kver_a)"
	exit 1
}
echo "# module side: $kver_a, stock side: $kver_b"

# vm SIDE ROLE NETOPT PORT MAC: one guest, in its own process group so
# that it can be stopped with everything it started.
vm() {
	local k=$kver_a
	[ "$1" = b ] && k=$kver_b
	KVER=$k setsid "$repo/scripts/vm-run" --quiet --smp 1 --timeout "$limit" \
		--results "$results/$1" "$3" "$4" --mac "$5" \
		-- "$repo/selftests/interop/guest.sh" "$2" &
}

port=$((20000 + RANDOM % 20000))
vm a module --net-listen $port 52:54:00:e5:00:0a
pid_a=$!
# B connects once A's QEMU listens.
if ! slowwait 60 eval "ss -Htln 'sport = :$port' | grep -q ."; then
	echo "# VM a's QEMU never listened on port $port"
	kill -TERM -- -$pid_a 2>/dev/null
	wait
	echo "not ok 1 - interop: VM a started"
	exit 1
fi
vm b stock --net-connect $port 52:54:00:e5:00:0b
pid_b=$!

declare -A rc
# The first VM to end: if it failed, stop the other now.
wait -n -p first $pid_a $pid_b
rc[$first]=$?
if [ "${rc[$first]}" != 0 ]; then
	other=$([ "$first" = "$pid_a" ] && echo $pid_b || echo $pid_a)
	echo "# VM $([ "$first" = "$pid_a" ] && echo a || echo b) ended with status ${rc[$first]}: stopping the other now"
	kill -TERM -- -"$other" 2>/dev/null
fi
for p in $pid_a $pid_b; do
	[ -n "${rc[$p]:-}" ] && continue
	wait "$p"
	rc[$p]=$?
done
rca=${rc[$pid_a]} rcb=${rc[$pid_b]}

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
for side in a:$rca b:$rcb; do
	if [ "${side#*:}" != 0 ]; then
		n=$((n + 1)) fail=$((fail + 1))
		echo "not ok $n - VM ${side%:*} ended with status ${side#*:} (see $results/${side%:*})"
	fi
done
# 19 variants received on each side, who did the work on each, and A's
# NIC phase and one line per NIC variant.
if [ $n -lt 45 ]; then
	n=$((n + 1)) fail=$((fail + 1))
	echo "not ok $n - the two VMs reported all 45 results"
fi
echo "1..$n"
echo "# $((n - fail)) passed, $fail failed"
[ $fail = 0 ]
