#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every mode and family combination through esp_offload: transport IPv4
# and IPv6, tunnel IPv4-in-IPv4, IPv6-in-IPv6, IPv4-in-IPv6, IPv6-in-IPv4.
# Each passes ping and a TCP transfer whose sha256 matches, with the SA
# and module counters moving and no xfrm error counter.
#
#   hA ---- gA ========== gB ---- hB
#  10.1.0.2  192.0.2.1   192.0.2.2  10.2.0.2
#  fd01::2   2001:db8::1 2001:db8::2 fd02::2
. "$(dirname "$0")/lib.sh"

require_cmd socat ping
KEY=$KEY256
test_payload 400000 1
on_exit module_unload

# sa_pair MODE OUTER_A OUTER_B: the two SAs on both gateways.
sa_pair() {
	local mode=$1 a=$2 b=$3 ns flags=
	[ "$mode" = tunnel ] && flags="flag af-unspec"
	for ns in "$GA" "$GB"; do
		ip -n "$ns" xfrm state add src "$a" dst "$b" proto esp spi 0x1000 \
			reqid 1 mode "$mode" $flags aead 'rfc4106(gcm(aes))' "$KEY" 128 &&
		ip -n "$ns" xfrm state add src "$b" dst "$a" proto esp spi 0x2000 \
			reqid 1 mode "$mode" $flags aead 'rfc4106(gcm(aes))' "$KEY" 128 ||
			return 1
	done
}

# side_policies NS MODE LOCAL REMOTE LOCAL_SEL REMOTE_SEL: one gateway's
# out, in and fwd policies.
side_policies() {
	local ns=$1 mode=$2 l=$3 r=$4 ls=$5 rs=$6 d
	ip -n "$ns" xfrm policy add src "$ls" dst "$rs" dir out \
		tmpl src "$l" dst "$r" proto esp reqid 1 mode "$mode" || return 1
	for d in in fwd; do
		ip -n "$ns" xfrm policy add src "$rs" dst "$ls" dir $d \
			tmpl src "$r" dst "$l" proto esp reqid 1 mode "$mode" || return 1
	done
}

# policies MODE OUTER_A OUTER_B SEL_A SEL_B: both gateways' policies.
policies() {
	side_policies "$GA" "$1" "$2" "$3" "$4" "$5" &&
		side_policies "$GB" "$1" "$3" "$2" "$5" "$4"
}

flush() {
	local ns
	for ns in "$GA" "$GB"; do
		ip -n "$ns" xfrm policy flush
		ip -n "$ns" xfrm state flush
	done
}

# Error counters that moved. XfrmOutStateModeError is left out: it counts
# the first too-big packet of a tunnel, which is how PMTU discovery
# tells TCP to lower its MSS (stock esp4/esp6 count the same).
xfrm_errors() {
	ip netns exec "$1" awk '$2 != 0 && $1 != "XfrmOutStateModeError" { print }' \
		/proc/net/xfrm_stat
}

# one_case NAME MODE OUTER_A OUTER_B SEL_A SEL_B SRC_NS DST_NS DST_ADDR
one_case() {
	local name=$1 mode=$2 tx0 rx0 errs
	tx0=$(module_stat tx_packets) rx0=$(module_stat rx_packets)
	if ! sa_pair "$mode" "$3" "$4" || ! policies "$mode" "$3" "$4" "$5" "$6"; then
		ksft_fail "$name: SAs and policies installed"
		flush
		return
	fi
	busywait 15000 ping_ok "$7" "$9" 1
	ksft_check "$name: ping" ping_ok "$7" "$9" 3
	ksft_check "$name: TCP transfer, sha256 matches" \
		tcp_transfer "$7" "$8" "$9" "$PAYLOAD"
	if [ "$(sa_field "$GA" 0x1000 packets)" -gt 0 ] &&
	   [ "$(sa_field "$GB" 0x2000 packets)" -gt 0 ] &&
	   [ "$(module_stat tx_packets)" -gt "$tx0" ] &&
	   [ "$(module_stat rx_packets)" -gt "$rx0" ]; then
		ksft_pass "$name: SA and module counters moved"
	else
		ksft_fail "$name: SA and module counters moved"
	fi
	errs=$(xfrm_errors "$GA"; xfrm_errors "$GB")
	ksft_eq "$name: no xfrm error counters" "" "$errs"
	ksft_check "$name: driver recorded in debugfs" \
		bash -c "grep -q 'spi 0x00001000 mode $mode.* driver [^ -]' /sys/kernel/debug/esp_offload/sas"
	flush
}

ksft_plan 32
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
gateway_topology || { ksft_fail "topology"; ksft_exit; }

one_case "transport v4" transport 192.0.2.1 192.0.2.2 192.0.2.1 192.0.2.2 \
	"$GA" "$GB" 192.0.2.2
one_case "transport v6" transport 2001:db8::1 2001:db8::2 2001:db8::1 2001:db8::2 \
	"$GA" "$GB" 2001:db8::2
one_case "tunnel v4-in-v4" tunnel 192.0.2.1 192.0.2.2 10.1.0.0/24 10.2.0.0/24 \
	"$HA" "$HB" 10.2.0.2
one_case "tunnel v6-in-v6" tunnel 2001:db8::1 2001:db8::2 fd01::/64 fd02::/64 \
	"$HA" "$HB" fd02::2
one_case "tunnel v4-in-v6" tunnel 2001:db8::1 2001:db8::2 10.1.0.0/24 10.2.0.0/24 \
	"$HA" "$HB" 10.2.0.2
one_case "tunnel v6-in-v4" tunnel 192.0.2.1 192.0.2.2 fd01::/64 fd02::/64 \
	"$HA" "$HB" fd02::2

ksft_check "stock esp4/esp6 never loaded" stock_esp_absent
ksft_check "dmesg clean" dmesg_clean
ksft_exit
