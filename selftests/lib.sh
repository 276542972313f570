#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for esp_offload's selftests, kselftest style. A test
# sources this file, runs inside the test VM as root, prints TAP and exits
# 0 (pass), 1 (fail) or 4 (skip).
#
#   . "$(dirname "$0")/lib.sh"
#   ksft_plan 3 ... ksft_pass "name" / ksft_fail "name" "why" / ksft_exit

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# pick_ko PATH KEPT: a module for the running kernel: $REPO/PATH if it
# was built for this kernel, else the copy `make` keeps per kernel
# (.build/ko/<release>/KEPT). esp_offload.ko, and the test-only modules.
pick_ko() {
	local k=$REPO/$1
	if [ "$(modinfo -F vermagic "$k" 2>/dev/null | cut -d' ' -f1)" != "$(uname -r)" ] &&
	   [ -e "$REPO/.build/ko/$(uname -r)/$2" ]; then
		k=$REPO/.build/ko/$(uname -r)/$2
	fi
	echo "$k"
}
MODULE_KO=${ESPO_KO:-$(pick_ko esp_offload.ko esp_offload.ko)}
KSFT_PASS=0 KSFT_FAIL=0 KSFT_SKIP=0 KSFT_NUM=0
readonly ksft_skip=4
# Per-run suffix for namespace and interface names.
SUFFIX=$(printf '%04x' $((RANDOM)))
NETNS_LIST=()
CLEANUP_HOOKS=()
DMESG_MARK=0

# --- TAP -----------------------------------------------------------------

ksft_plan() { echo "1..$1"; }
ksft_diag() { echo "# $*"; }

ksft_pass() {
	KSFT_NUM=$((KSFT_NUM + 1)) KSFT_PASS=$((KSFT_PASS + 1))
	echo "ok $KSFT_NUM - $1"
}

ksft_fail() {
	KSFT_NUM=$((KSFT_NUM + 1)) KSFT_FAIL=$((KSFT_FAIL + 1))
	echo "not ok $KSFT_NUM - $1${2:+ # $2}"
}

ksft_skip_case() {
	KSFT_NUM=$((KSFT_NUM + 1)) KSFT_SKIP=$((KSFT_SKIP + 1))
	echo "ok $KSFT_NUM - $1 # SKIP ${2:-}"
}

# ksft_check NAME CMD...: pass if CMD succeeds.
ksft_check() {
	local name=$1
	shift
	if "$@"; then ksft_pass "$name"; else ksft_fail "$name" "failed: $*"; fi
}

# ksft_eq NAME EXPECTED ACTUAL
ksft_eq() {
	if [ "$2" = "$3" ]; then
		ksft_pass "$1"
	else
		ksft_fail "$1" "expected '$2', got '$3'"
	fi
}

# Skip the whole test (exit 4) with a reason.
ksft_skip_all() {
	echo "1..0 # SKIP $*"
	exit $ksft_skip
}

ksft_exit() {
	ksft_diag "$KSFT_PASS passed, $KSFT_FAIL failed, $KSFT_SKIP skipped"
	[ "$KSFT_FAIL" = 0 ] || exit 1
	[ "$KSFT_PASS" != 0 ] || [ "$KSFT_SKIP" = 0 ] || exit $ksft_skip
	exit 0
}

# --- commands ------------------------------------------------------------

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || ksft_skip_all "$c not installed"
	done
}

# run CMD...: print the command, then run it.
run() {
	echo "# + $*"
	"$@"
}

# --- time bounds -----------------------------------------------------------
#
# Every bound a test waits on is written for a machine about three times
# slower than the fastest one seen, and multiplied by TIME_SCALE (default
# 1; `make check TIME_SCALE=2` on a slower or busy machine). A bound is
# only ever a limit: waits poll their condition and return as soon as it
# holds, so a generous bound costs nothing when things go well.
TIME_SCALE=${TIME_SCALE:-1}
case $TIME_SCALE in
'' | *[!0-9.]* | *.*.*) echo "# TIME_SCALE=$TIME_SCALE is not a number" >&2; exit 1 ;;
esac

# scale N: N multiplied by TIME_SCALE, rounded to an integer.
scale() {
	awk -v n="$1" -v s="$TIME_SCALE" 'BEGIN { printf "%d", n * s + 0.5 }'
}

# busywait TIMEOUT_MS CMD...: poll CMD until it succeeds or the (scaled)
# bound passes.
busywait() {
	local timeout_ms start now
	timeout_ms=$(scale "$1")
	shift
	start=$(date +%s%3N)
	while true; do
		"$@" && return 0
		now=$(date +%s%3N)
		[ $((now - start)) -lt "$timeout_ms" ] || return 1
		sleep 0.05
	done
}

# slowwait TIMEOUT_S CMD...: the same with a coarser step.
slowwait() {
	local timeout_s start
	timeout_s=$(scale "$1")
	shift
	start=$(date +%s)
	while true; do
		"$@" && return 0
		[ $(($(date +%s) - start)) -lt "$timeout_s" ] || return 1
		sleep 0.25
	done
}

# wait_for WHAT TIMEOUT_S CMD...: slowwait, and when the bound passes say
# what never became ready (as a TAP diagnostic).
wait_for() {
	local what=$1 t=$2
	shift 2
	slowwait "$t" "$@" && return 0
	ksft_diag "never became ready within $(scale "$t") s: $what"
	return 1
}

# --- cleanup -------------------------------------------------------------

on_exit() { CLEANUP_HOOKS+=("$*"); }

# netns_cleanup: delete every namespace this test created (and what runs
# in it); the test can build a new topology afterwards.
netns_cleanup() {
	local ns
	for ns in "${NETNS_LIST[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip -n "$ns" xfrm state flush 2>/dev/null
		ip -n "$ns" xfrm policy flush 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	NETNS_LIST=()
}

cleanup() {
	local i
	for ((i = ${#CLEANUP_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP_HOOKS[$i]}" >/dev/null 2>&1
	done
	netns_cleanup
}
trap cleanup EXIT

# --- network namespaces ---------------------------------------------------

# Namespaces must be created in the test's own shell (not in $(...)) so
# that cleanup knows them: netns_new VAR NAME sets VAR.
netns_new() {
	local ns=$2-$SUFFIX
	ip netns add "$ns" || return 1
	NETNS_LIST+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1
	printf -v "$1" '%s' "$ns"
}

# veth_pair NS1 IF1 NS2 IF2: a veth between two namespaces, both up.
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" &&
	ip -n "$1" link set "$2" up &&
	ip -n "$3" link set "$4" up
}

# --- the module -----------------------------------------------------------

module_loaded() { grep -q "^$1 " /proc/modules; }

# module_load [PARAMS...]: insmod the module under test.
module_load() {
	module_loaded esp_offload && return 0
	insmod "$MODULE_KO" "$@"
}

# cpus_rx_kick: a packet received on every CPU (a ping over lo from a
# task bound to it), which frees the buffers deferred to that CPU.
cpus_rx_kick() {
	local cpu
	for cpu in $(seq 0 $(($(nproc) - 1))); do
		taskset -c "$cpu" ping -q -c 1 -W 1 127.0.0.1 >/dev/null 2>&1
	done
}

module_unload_try() {
	rmmod esp_offload 2>/dev/null && return 0
	cpus_rx_kick
	return 1
}

# module_unload: flush every namespace's SAs, then rmmod.
module_unload() {
	local ns
	module_loaded esp_offload || return 0
	ip xfrm state flush 2>/dev/null
	for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
		ip -n "$ns" xfrm state flush 2>/dev/null
	done
	# Each SA holds a module reference until the core's garbage collector
	# frees it, after an RCU grace period and after the last packet or
	# cached route using it is gone. A buffer received through GRO can
	# wait on another CPU's deferred-free list, with its secpath and so
	# an SA, until that CPU receives a packet: each try gives every CPU
	# one (seen on 6.12-rt with the offload type).
	busywait 60000 module_unload_try && return 0
	ksft_diag "esp_offload still in use after a flush: refcnt $(cat /sys/module/esp_offload/refcnt 2>/dev/null)"
	return 1
}

# Debugfs counter of the module: stat NAME.
module_stat() {
	awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }' \
		/sys/kernel/debug/esp_offload/stats 2>/dev/null
}

# The module's per-SA line for an SPI (hex, e.g. 0x00000100).
module_sa_line() {
	grep " spi $1 " /sys/kernel/debug/esp_offload/sas 2>/dev/null
}

# The module registered its ESP offload type (offload_type=1).
module_offload_type() {
	[ "$(cat /sys/module/esp_offload/parameters/offload_type 2>/dev/null)" = Y ]
}

# Stock ESP must not be doing the work.
stock_esp_absent() {
	! grep -qE '^esp(4|6)(_offload)? ' /proc/modules
}

# --- xfrm counters --------------------------------------------------------

# xfrm_stat NS NAME: a /proc/net/xfrm_stat counter inside a namespace.
xfrm_stat() {
	ip netns exec "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/xfrm_stat
}

# sa_field NS SPI FIELD: packets | bytes | replay | failed of one SA,
# parsed from `ip -s xfrm state` ("replay-window" there is the count of
# packets that fell outside the window, not the window's size).
sa_field() {
	ip -n "$1" -s xfrm state list spi "$2" 2>/dev/null | awk -v f="$3" '
		/lifetime current:/ { cur = 1; next }
		cur && /\(bytes\)/ {
			gsub(/[(),]/, " ")
			bytes = $1; packets = $3; cur = 0
		}
		/^[ \t]*replay-window [0-9]+ replay [0-9]+ failed/ {
			win = $2; rep = $4; fail = $6
		}
		END {
			if (f == "packets") print packets + 0
			else if (f == "bytes") print bytes + 0
			else if (f == "replay") print rep + 0
			else if (f == "failed") print fail + 0
			else if (f == "replay-window") print win + 0
		}'
}

# --- kernel log -----------------------------------------------------------

# The kernel's reports that fail a test: WARN, BUG, Oops, and those of
# the debug kernel's checkers (KASAN, lockdep and RCU, might_sleep,
# DEBUG_LIST). scripts/vm-run checks a whole boot's log for the same.
KERNEL_BAD='WARNING:|BUG:|Oops|general protection|refcount_t|KASAN'
KERNEL_BAD+='|sleeping function called from invalid context|list_(add|del) corruption'
KERNEL_BAD+='|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage'

# dmesg_mark: remember where the kernel log is; dmesg_since: print what
# came after; dmesg_clean: no KERNEL_BAD report since the mark.
dmesg_mark() { DMESG_MARK=$(dmesg | wc -l); }
dmesg_since() { dmesg | tail -n +$((DMESG_MARK + 1)); }
dmesg_clean() {
	! dmesg_since | grep -E "$KERNEL_BAD"
}

# kmemleak_check FILE: on a kernel with kmemleak (the debug kernel of
# "make check-debug"), scan now, save the report in FILE and clear it
# (the next scan reports only new leaks), then print the leaks that are
# the module's or xfrm's: an allocation whose backtrace passes through
# esp_offload, xfrm or esp4/esp6, or through an address no symbol names
# any more (a module unloaded since). kmemleak reports an object only
# once it is 5 s old. Does nothing on other kernels.
kmemleak_check() {
	local k=/sys/kernel/debug/kmemleak

	[ -w $k ] || return 0
	echo scan > $k && cat $k > "$1" && echo clear > $k
	awk 'function flush() { if (obj != "" && hit) print obj; obj = ""; hit = 0 }
	     /^unreferenced object/ { flush(); obj = $0; next }
	     obj != "" {
		obj = obj "\n" $0
		if ($0 ~ /esp_offload|xfrm|esp[46]|\] 0x[0-9a-f]+$/)
			hit = 1
	     }
	     END { flush() }' "$1"
}

# --- kprobes: how often a kernel function ran ---------------------------------

KPROBE_DIR=/sys/kernel/debug/tracing

# kprobe_add NAME FUNC: count calls of the kernel function FUNC (the
# trace events themselves are not kept: tracing stays off).
kprobe_add() {
	[ -w "$KPROBE_DIR/kprobe_events" ] || return 1
	echo 0 > "$KPROBE_DIR/tracing_on" &&
	echo "p:$1 $2" >> "$KPROBE_DIR/kprobe_events" &&
	echo 1 > "$KPROBE_DIR/events/kprobes/$1/enable"
}

# kprobe_hits NAME: the calls counted so far.
kprobe_hits() {
	awk -v n="$1" '$1 == n { print $2 }' "$KPROBE_DIR/kprobe_profile"
}

# kprobe_del NAME: remove the probe.
kprobe_del() {
	echo 0 > "$KPROBE_DIR/events/kprobes/$1/enable" 2>/dev/null
	echo "-:$1" >> "$KPROBE_DIR/kprobe_events"
}

# --- the test NIC ----------------------------------------------------------

# nic_unload: remove espo_nic (its devices and their SAs go with it).
nic_unload() {
	module_loaded espo_nic || return 0
	busywait 10000 rmmod espo_nic 2>/dev/null
}

# nic_stat NS DEV NAME: one of the NIC's ethtool -S counters.
nic_stat() {
	ip netns exec "$1" ethtool -S "$2" 2>/dev/null |
		awk -v n="$3:" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'
}

# --- payloads -------------------------------------------------------------

# make_payload FILE BYTES [SEED]: deterministic pseudo-random data.
make_payload() {
	/usr/bin/python3 -c 'import random, sys
r = random.Random(int(sys.argv[3]))
open(sys.argv[1], "wb").write(r.randbytes(int(sys.argv[2])))' "$1" "$2" "${3:-1}"
}

# test_payload BYTES SEED: deterministic data in $PAYLOAD for transfers,
# removed when the test exits.
test_payload() {
	PAYLOAD=/tmp/$(basename "$0" .sh).$SUFFIX
	make_payload "$PAYLOAD" "$1" "$2" || return 1
	on_exit rm -f "$PAYLOAD"
}

# port_listening NS PORT: a TCP socket listens on PORT in NS.
port_listening() {
	[ -n "$(ip netns exec "$1" ss -Htln "sport = :$2")" ]
}

# tcp_send_socat SRC_NS ADDR PORT FILE: tcp_transfer's default sender.
tcp_send_socat() {
	local addr=$2
	case $addr in *:*) addr="[$addr]" ;; esac
	timeout "$(scale 180)" ip netns exec "$1" socat -u "OPEN:$4" "TCP:$addr:$3"
}

# tcp_transfer SRC_NS DST_NS DST_ADDR FILE [PORT [SENDER]]: send FILE over
# TCP and check the sha256 of what arrived. Works for IPv4 and IPv6
# addresses. SENDER (default tcp_send_socat) is called as SENDER SRC_NS
# DST_ADDR PORT FILE and must send FILE and succeed. Each step is bounded
# and says which one failed.
tcp_transfer() {
	local src=$1 dst=$2 addr=$3 file=$4 port=${5:-5201} sender=${6:-tcp_send_socat}
	local out want got pid
	out=$(mktemp /tmp/recv.XXXXXX)
	ip netns exec "$dst" socat -u "TCP-LISTEN:$port,reuseaddr,ipv6only=0,pf=ip6" \
		"OPEN:$out,creat,trunc" 2>/dev/null &
	pid=$!
	if ! wait_for "TCP listener on port $port in $dst" 30 port_listening "$dst" "$port"; then
		kill $pid 2>/dev/null
		rm -f "$out"
		return 1
	fi
	if ! "$sender" "$src" "$addr" "$port" "$file"; then
		ksft_diag "tcp_transfer: sending $file to $addr port $port from $src failed"
		kill $pid 2>/dev/null
		rm -f "$out"
		return 1
	fi
	if ! wait_for "receiver on port $port in $dst to finish" 90 \
		eval "! kill -0 $pid 2>/dev/null"; then
		kill $pid 2>/dev/null
	fi
	want=$(sha256sum < "$file")
	got=$(sha256sum < "$out")
	rm -f "$out"
	[ "$want" = "$got" ] && return 0
	ksft_diag "tcp_transfer: $addr port $port received data whose sha256 differs"
	return 1
}

# espinudp_socket NS [gro]: what an IKE daemon holds open on a NAT-T
# peer: a UDP socket on port 4500 switched to ESP-in-UDP (RFC 3948),
# with per-socket policies that let its own datagrams bypass the SPD
# (the core checks the inbound policy before the socket's ESP hook, so an
# SA's policy for all traffic would otherwise catch the ESP-in-UDP
# datagrams themselves). With "gro", UDP_GRO is set first: only then do
# 6.12's UDP GRO layer hand the socket's datagrams to the ESP-in-UDP GRO
# handler. Runs in the background until the test exits.
espinudp_socket() {
	ip netns exec "$1" /usr/bin/python3 -c '
import signal, socket, struct, sys
INF = (1 << 64) - 1
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in (0, 1):            # XFRM_POLICY_IN, XFRM_POLICY_OUT: allow, no template
    sel = struct.pack("@16s16sHHHHHBBBiI", b"", b"", 0, 0, 0, 0,
                      socket.AF_INET, 0, 0, 0, 0, 0)
    pol = sel + struct.pack("@8Q4QIIBBBBxxxx", *([INF] * 8), 0, 0, 0, 0,
                            0, 0, d, 0, 0, 0)
    s.setsockopt(socket.IPPROTO_IP, 17, pol)    # IP_XFRM_POLICY
s.bind(("0.0.0.0", 4500))
if sys.argv[1] == "gro":
    s.setsockopt(socket.IPPROTO_UDP, 104, 1)    # UDP_GRO
s.setsockopt(socket.IPPROTO_UDP, 100, 2)        # UDP_ENCAP: ESPINUDP
signal.pause()' "${2:--}" &
	on_exit kill $!
}

# ping_ok NS ADDR [COUNT]: ping succeeds (IPv4 or IPv6).
ping_ok() {
	ip netns exec "$1" ping -q -c "${3:-3}" -i 0.2 -W 2 "$2" >/dev/null 2>&1
}

# --- two gateways with hosts behind them -----------------------------------

# gateway_topology [nat|enic]: two gateways with a host behind each.
#
#   hA ---- gA ====================== gB ---- hB
#           wan 192.0.2.1/2001:db8::1  wan 192.0.2.2/2001:db8::2
#   10.1.0.2/fd01::2  (lan .1/::1)     (lan .1/::1)  10.2.0.2/fd02::2
#
# With "nat", a router $RT sits between gA and gB and masquerades gA
# (nftables): gA's wan is 172.16.0.2/fd00:16::2 behind rt's
# 172.16.0.1/fd00:16::1, and rt faces gB as 192.0.2.1 and 2001:db8::1,
# so gB sees gA only as the router's address. With "enic", the test NIC's
# pair joins them instead of a veth (espo_nic loaded): gA's wan device is
# enic0 and gB's enic1 ($WAN_A, $WAN_B).
gateway_topology() {
	local nat=${1:-}
	WAN_A=wan WAN_B=wan
	netns_new GA ga && netns_new GB gb && netns_new HA ha && netns_new HB hb &&
	veth_pair "$HA" eth0 "$GA" lan && veth_pair "$HB" eth0 "$GB" lan || return 1
	if [ "$nat" = nat ]; then
		netns_new RT rt && veth_pair "$GA" wan "$RT" inside &&
		veth_pair "$RT" outside "$GB" wan || return 1
		ip -n "$GA" addr add 172.16.0.2/24 dev wan
		ip -n "$GA" addr add fd00:16::2/64 dev wan nodad
		ip -n "$RT" addr add 172.16.0.1/24 dev inside
		ip -n "$RT" addr add fd00:16::1/64 dev inside nodad
		ip -n "$RT" addr add 192.0.2.1/24 dev outside
		ip -n "$RT" addr add 2001:db8::1/64 dev outside nodad
		ip -n "$GA" route add default via 172.16.0.1
		ip -n "$GA" -6 route add default via fd00:16::1
		ip netns exec "$RT" nft -f - <<-'NFT' || return 1
		table inet nat {
			chain post {
				type nat hook postrouting priority srcnat;
				oifname "outside" masquerade
			}
		}
		NFT
	else
		if [ "$nat" = enic ]; then
			WAN_A=enic0 WAN_B=enic1
			ip link set enic0 netns "$GA" && ip link set enic1 netns "$GB" &&
			ip -n "$GA" link set enic0 up && ip -n "$GB" link set enic1 up ||
				return 1
		else
			veth_pair "$GA" wan "$GB" wan || return 1
		fi
		ip -n "$GA" addr add 192.0.2.1/24 dev "$WAN_A"
		ip -n "$GA" addr add 2001:db8::1/64 dev "$WAN_A" nodad
		ip -n "$GA" route add 10.2.0.0/24 via 192.0.2.2
		ip -n "$GA" -6 route add fd02::/64 via 2001:db8::2
	fi
	ip -n "$GB" addr add 192.0.2.2/24 dev "$WAN_B"
	ip -n "$GB" addr add 2001:db8::2/64 dev "$WAN_B" nodad
	ip -n "$GA" addr add 10.1.0.1/24 dev lan
	ip -n "$GA" addr add fd01::1/64 dev lan nodad
	ip -n "$GB" addr add 10.2.0.1/24 dev lan
	ip -n "$GB" addr add fd02::1/64 dev lan nodad
	ip -n "$HA" addr add 10.1.0.2/24 dev eth0
	ip -n "$HA" addr add fd01::2/64 dev eth0 nodad
	ip -n "$HB" addr add 10.2.0.2/24 dev eth0
	ip -n "$HB" addr add fd02::2/64 dev eth0 nodad
	ip -n "$HA" route add default via 10.1.0.1
	ip -n "$HA" -6 route add default via fd01::1
	ip -n "$HB" route add default via 10.2.0.1
	ip -n "$HB" -6 route add default via fd02::1
	# Routes to the far subnets only matter until the policies exist;
	# charon installs none of its own (install_routes = no).
	ip -n "$GB" route add 10.1.0.0/24 via 192.0.2.1
	ip -n "$GB" -6 route add fd01::/64 via 2001:db8::1
	[ "$nat" = nat ] || return 0
	ip -n "$GA" route add 10.2.0.0/24 via 172.16.0.1
	ip -n "$GA" -6 route add fd02::/64 via fd00:16::1
}

# --- a pair of hosts -----------------------------------------------------

# pair_topology: namespaces $NS_A and $NS_B joined by veth "veth0",
# with 192.0.2.1/24 + 2001:db8::1/64 (A) and .2/::2 (B).
pair_topology() {
	netns_new NS_A a && netns_new NS_B b &&
	veth_pair "$NS_A" veth0 "$NS_B" veth0 || return 1
	ip -n "$NS_A" addr add 192.0.2.1/24 dev veth0
	ip -n "$NS_B" addr add 192.0.2.2/24 dev veth0
	ip -n "$NS_A" addr add 2001:db8::1/64 dev veth0 nodad
	ip -n "$NS_B" addr add 2001:db8::2/64 dev veth0 nodad
}

# esp_transport_pair ADDR_A ADDR_B SPI_AB SPI_BA -- STATE_ARGS...: the
# same two transport-mode SAs in both namespaces (A->B with SPI_AB, B->A
# with SPI_BA, each with STATE_ARGS, e.g. the aead and flags), and the
# policies for all traffic between the two addresses.
esp_transport_pair() {
	local a=$1 b=$2 sab=$3 sba=$4 ns
	shift 5
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" xfrm state add src "$a" dst "$b" proto esp spi "$sab" \
			reqid 7 mode transport "$@" &&
		ip -n "$ns" xfrm state add src "$b" dst "$a" proto esp spi "$sba" \
			reqid 7 mode transport "$@" || return 1
	done
	ip -n "$NS_A" xfrm policy add src "$a" dst "$b" dir out \
		tmpl proto esp reqid 7 mode transport &&
	ip -n "$NS_A" xfrm policy add src "$b" dst "$a" dir in \
		tmpl proto esp reqid 7 mode transport &&
	ip -n "$NS_B" xfrm policy add src "$b" dst "$a" dir out \
		tmpl proto esp reqid 7 mode transport &&
	ip -n "$NS_B" xfrm policy add src "$a" dst "$b" dir in \
		tmpl proto esp reqid 7 mode transport
}

# esp_tunnel_v6_pair SPI_AB SPI_BA -- STATE_ARGS...: IPv6 tunnel-mode SAs
# between A's 2001:db8::1 and B's 2001:db8::2 in both namespaces (reqid
# 8, each with STATE_ARGS) for traffic between fd01::1 (A's loopback) and
# fd02::1 (B's), with the addresses, routes and policies (again after
# xfrm_flush: addresses and routes are replaced).
esp_tunnel_v6_pair() {
	local sab=$1 sba=$2 ns a b
	shift 3
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp \
			spi "$sab" reqid 8 mode tunnel "$@" &&
		ip -n "$ns" xfrm state add src 2001:db8::2 dst 2001:db8::1 proto esp \
			spi "$sba" reqid 8 mode tunnel "$@" || return 1
	done
	ip -n "$NS_A" addr replace fd01::1/128 dev lo &&
	ip -n "$NS_B" addr replace fd02::1/128 dev lo &&
	ip -n "$NS_A" route replace fd02::1/128 via 2001:db8::2 src fd01::1 &&
	ip -n "$NS_B" route replace fd01::1/128 via 2001:db8::1 src fd02::1 || return 1
	for ns in "$NS_A" "$NS_B"; do
		[ "$ns" = "$NS_A" ] && a=1 b=2 || a=2 b=1
		ip -n "$ns" xfrm policy add src fd0$a::1 dst fd0$b::1 dir out tmpl \
			src 2001:db8::$a dst 2001:db8::$b proto esp reqid 8 mode tunnel &&
		ip -n "$ns" xfrm policy add src fd0$b::1 dst fd0$a::1 dir in tmpl \
			src 2001:db8::$b dst 2001:db8::$a proto esp reqid 8 mode tunnel ||
			return 1
	done
}

# xfrm_flush NS...: remove all states and policies.
xfrm_flush() {
	local ns
	for ns in "$@"; do
		ip -n "$ns" xfrm policy flush
		ip -n "$ns" xfrm state flush
	done
}

# The AEAD names xfrm uses, and a 288-bit key (AES-256 + salt);
# ${KEY256:0:42} is 160 bits, ${KEY256:0:58} 224.
GCM='rfc4106(gcm(aes))'
GMAC='rfc4543(gcm(aes))'
KEY256=0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20aabbccdd
