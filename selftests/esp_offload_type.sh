#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The ESP offload type. With offload_type=1 the xfrm core hands TCP's GSO
# super-packets to ESP whole: the module's ESP gso_segment cuts them up
# after the ESP header and its xmit encrypts every segment with its own
# sequence number and IV; on receive the module's GRO handler hands ESP
# packets to xfrm and the module decrypts them there. For transport and
# tunnel mode, IPv4 and IPv6, a TCP transfer in 64 KB writes must arrive
# intact (sha256) and the counters must show both paths taken: the
# module's (tx_gso_super, tx_gso_segs, tx_xmit, rx_gro_decrypted) and the
# SA's packet count (one per super-packet) below the ESP packets veth
# sent. An SA on an asynchronous transform (crypto_mode=async) keeps the
# plain path. With offload_type=0 the same traffic passes and those
# counters stay at zero.
#
#   A: veth0 (TSO off, GSO on) ======== veth0 (GRO on) :B
#      192.0.2.1  2001:db8::1           192.0.2.2  2001:db8::2
#      lo 10.1.0.1  fd01::1             lo 10.2.0.1  fd02::1  (tunnel)
#
# veth hands a packet to its peer's GRO only while the sending side has
# TSO off; GSO stays on, so TCP still builds super-packets.
. "$(dirname "$0")/lib.sh"

require_cmd socat ethtool
test_payload 300000 21
on_exit module_unload
COUNTERS="tx_gso_super tx_gso_segs tx_xmit rx_gro rx_gro_decrypted tx_packets tx_async"

# send64k SRC_NS ADDR PORT FILE: tcp_transfer's sender, 64 KB writes.
send64k() {
	local addr=$2
	case $addr in *:*) addr="[$addr]" ;; esac
	timeout "$(scale 180)" ip netns exec "$1" socat -u -b 65536 \
		"OPEN:$4" "TCP:$addr:$3"
}

veth_tx() {
	ip netns exec "$NS_A" cat /sys/class/net/veth0/statistics/tx_packets
}

# snapshot: the counters now, in C0_<name>; delta NAME: moved since.
snapshot() {
	local c
	for c in $COUNTERS; do printf -v "C0_$c" '%s' "$(module_stat $c)"; done
	WIRE0=$(veth_tx)
}
delta() {
	local v="C0_$1"
	echo $(($(module_stat "$1") - ${!v}))
}

# sas MODE OUTER_A OUTER_B SEL_A SEL_B: SAs and policies on both sides.
sas() {
	local mode=$1 a=$2 b=$3 sa=$4 sb=$5 ns
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" xfrm state add src "$a" dst "$b" proto esp spi 0x4001 \
			reqid 9 mode "$mode" aead "$GCM" "$KEY256" 128 &&
		ip -n "$ns" xfrm state add src "$b" dst "$a" proto esp spi 0x4002 \
			reqid 9 mode "$mode" aead "$GCM" "${KEY256/0x01/0x51}" 128 ||
			return 1
	done
	ip -n "$NS_A" xfrm policy add src "$sa" dst "$sb" dir out \
		tmpl src "$a" dst "$b" proto esp reqid 9 mode "$mode" &&
	ip -n "$NS_A" xfrm policy add src "$sb" dst "$sa" dir in \
		tmpl src "$b" dst "$a" proto esp reqid 9 mode "$mode" &&
	ip -n "$NS_B" xfrm policy add src "$sb" dst "$sa" dir out \
		tmpl src "$b" dst "$a" proto esp reqid 9 mode "$mode" &&
	ip -n "$NS_B" xfrm policy add src "$sa" dst "$sb" dir in \
		tmpl src "$a" dst "$b" proto esp reqid 9 mode "$mode"
}

# Error counters that moved (XfrmOutStateModeError: see esp_modes.sh).
xfrm_errors() {
	ip netns exec "$1" awk '$2 != 0 && $1 != "XfrmOutStateModeError" { print }' \
		/proc/net/xfrm_stat
}

# transfer NAME MODE OUTER_A OUTER_B SEL_A SEL_B DST: SAs, a TCP transfer
# from A to DST in 64 KB writes, checked; the counters are left in
# C0_*/delta for the caller.
transfer() {
	local name=$1
	snapshot
	if ! sas "$2" "$3" "$4" "$5" "$6"; then
		ksft_fail "$name: SAs and policies installed"
		return 1
	fi
	busywait 15000 ping_ok "$NS_A" "$7" 1
	ksft_check "$name: TCP in 64 KB writes, sha256 matches" \
		tcp_transfer "$NS_A" "$NS_B" "$7" "$PAYLOAD" 5401 send64k
}

# on_case NAME MODE OUTER_A OUTER_B SEL_A SEL_B DST (offload_type=1)
on_case() {
	local name=$1 super segs xmit gro dec sa wire errs
	if ! transfer "$@"; then
		for _ in 1 2 3 4; do ksft_fail "$name: SAs and policies installed"; done
		xfrm_flush "$NS_A" "$NS_B"
		return
	fi
	super=$(delta tx_gso_super) segs=$(delta tx_gso_segs) xmit=$(delta tx_xmit)
	gro=$(delta rx_gro) dec=$(delta rx_gro_decrypted)
	sa=$(sa_field "$NS_A" 0x4001 packets) wire=$(($(veth_tx) - WIRE0))
	ksft_diag "$name: $super super-packets -> $segs segments, $xmit encrypted in xmit;" \
		"SA A->B counted $sa packets, veth A sent $wire; GRO took $gro, decrypted $dec"
	ksft_check "$name: GSO super-packets segmented after ESP" \
		test "$super" -gt 0 -a "$segs" -gt "$super"
	ksft_check "$name: every segment encrypted in xmit, SA counts super-packets" \
		test "$xmit" -ge "$segs" -a "$sa" -gt 0 -a "$sa" -lt "$wire"
	ksft_check "$name: GRO handler took ESP packets, module decrypted them" \
		test "$dec" -gt 0 -a "$gro" -ge "$dec"
	errs=$(xfrm_errors "$NS_A"; xfrm_errors "$NS_B")
	ksft_eq "$name: no xfrm error counters" "" "$errs"
	xfrm_flush "$NS_A" "$NS_B"
}

# off_case NAME MODE OUTER_A OUTER_B SEL_A SEL_B DST (offload_type=0)
off_case() {
	local name=$1 c moved=
	if ! transfer "$@"; then
		ksft_fail "$name: SAs and policies installed"
		xfrm_flush "$NS_A" "$NS_B"
		return
	fi
	for c in tx_gso_super tx_gso_segs tx_xmit rx_gro rx_gro_decrypted; do
		[ "$(delta $c)" = 0 ] || moved+=" $c+$(delta $c)"
	done
	ksft_eq "$name: offload counters stay at zero, tx_packets moved" \
		"" "$moved$([ "$(delta tx_packets)" -gt 0 ] || echo ' tx_packets=0')"
	xfrm_flush "$NS_A" "$NS_B"
}

flush_deferred() {
	local cpu
	for cpu in $(seq 0 $(($(nproc) - 1))); do
		taskset -c "$cpu" ip netns exec "$NS_A" ping -q -c 1 -W 1 192.0.2.2 >/dev/null
	done
}

param() { cat /sys/module/esp_offload/parameters/offload_type 2>/dev/null; }

ksft_plan 30
pair_topology || ksft_skip_all "topology"
ip netns exec "$NS_A" ethtool -K veth0 tso off gso on >/dev/null &&
	ip netns exec "$NS_B" ethtool -K veth0 gro on >/dev/null ||
	ksft_skip_all "ethtool cannot set TSO/GRO on veth"
ip -n "$NS_A" addr add 10.1.0.1/32 dev lo
ip -n "$NS_A" addr add fd01::1/128 dev lo
ip -n "$NS_B" addr add 10.2.0.1/32 dev lo
ip -n "$NS_B" addr add fd02::1/128 dev lo
ip -n "$NS_A" route add 10.2.0.1/32 via 192.0.2.2 src 10.1.0.1
ip -n "$NS_A" route add fd02::1/128 via 2001:db8::2 src fd01::1
ip -n "$NS_B" route add 10.1.0.1/32 via 192.0.2.1 src 10.2.0.1
ip -n "$NS_B" route add fd01::1/128 via 2001:db8::1 src fd02::1
dmesg_mark

module_load offload_type=1 || ksft_skip_all "cannot load esp_offload"
ksft_eq "offload_type=1 reads back" "Y" "$(param)"
on_case "transport v4" transport 192.0.2.1 192.0.2.2 192.0.2.1 192.0.2.2 192.0.2.2
on_case "transport v6" transport 2001:db8::1 2001:db8::2 2001:db8::1 2001:db8::2 2001:db8::2
on_case "tunnel v4" tunnel 192.0.2.1 192.0.2.2 10.1.0.1 10.2.0.1 10.2.0.1
on_case "tunnel v6" tunnel 2001:db8::1 2001:db8::2 fd01::1 fd02::1 fd02::1

# Freed receive buffers can wait on a CPU's deferred-free list, their
# secpath still holding the SA, until that CPU next runs network receive
# (skb_attempt_defer_free): give every CPU a packet before unloading.
flush_deferred
module_unload

# An SA on an asynchronous transform (crypto_mode=async: cryptd) stays on
# the plain path even with the offload type: traffic passes, completions
# are asynchronous, nothing goes through the offload xmit.
if module_load offload_type=1 crypto_mode=async; then
	if transfer "async, transport v4" transport 192.0.2.1 192.0.2.2 192.0.2.1 \
		192.0.2.2 192.0.2.2; then
		ksft_check "async, transport v4: plain path (no xmit), async completions" \
			test "$(delta tx_xmit)" = 0 -a "$(delta tx_async)" -gt 0
	else
		ksft_fail "async, transport v4: SAs and policies installed"
	fi
	xfrm_flush "$NS_A" "$NS_B"
	flush_deferred
	module_unload
else
	ksft_fail "async: esp_offload loads with offload_type=1 crypto_mode=async"
	ksft_fail "async: esp_offload loads with offload_type=1 crypto_mode=async"
fi
module_load offload_type=0 || ksft_skip_all "cannot load esp_offload offload_type=0"
ksft_eq "offload_type=0 reads back" "N" "$(param)"
off_case "off, transport v4" transport 192.0.2.1 192.0.2.2 192.0.2.1 192.0.2.2 192.0.2.2
off_case "off, tunnel v6" tunnel 2001:db8::1 2001:db8::2 fd01::1 fd02::1 fd02::1

flush_deferred
ksft_check "stock esp4/esp6 never loaded" stock_esp_absent
ksft_check "dmesg clean" dmesg_clean
ksft_exit
