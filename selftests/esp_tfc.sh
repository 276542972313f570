#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TFC padding (RFC 4303 2.7, XFRMA_TFCPAD): in tunnel mode small packets
# leave padded up to the SA's tfcpad (bounded by the path MTU) and arrive
# intact; without tfcpad nothing is added. (xfrm_user itself refuses
# tfcpad in transport mode: esp_sa_config.) The wire size is read from
# the module's tx counters (bytes of the outer packet per packet built).
. "$(dirname "$0")/lib.sh"

require_cmd socat ping
test_payload 100000 4
on_exit module_unload

# sa_pair MODE A B [tfcpad N]
sa_pair() {
	local mode=$1 a=$2 b=$3 ns
	shift 3
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" xfrm state add src "$a" dst "$b" proto esp spi 0x5001 reqid 5 \
			mode "$mode" aead "$GCM" "$KEY256" 128 "$@" &&
		ip -n "$ns" xfrm state add src "$b" dst "$a" proto esp spi 0x5002 reqid 5 \
			mode "$mode" aead "$GCM" "$KEY256" 128 "$@" || return 1
	done
	ip -n "$NS_A" xfrm policy add src "$a" dst "$b" dir out \
		tmpl src "$a" dst "$b" proto esp reqid 5 mode "$mode" &&
	ip -n "$NS_A" xfrm policy add src "$b" dst "$a" dir in \
		tmpl src "$b" dst "$a" proto esp reqid 5 mode "$mode" &&
	ip -n "$NS_B" xfrm policy add src "$b" dst "$a" dir out \
		tmpl src "$b" dst "$a" proto esp reqid 5 mode "$mode" &&
	ip -n "$NS_B" xfrm policy add src "$a" dst "$b" dir in \
		tmpl src "$a" dst "$b" proto esp reqid 5 mode "$mode"
}

# wire_size NS DST: average bytes per ESP packet built while 10 small
# pings (16 bytes of data) cross the SA.
wire_size() {
	local p0 b0 p1 b1
	p0=$(module_stat tx_packets) b0=$(module_stat tx_bytes)
	ip netns exec "$1" ping -q -c 10 -i 0.2 -W 2 -s 16 "$2" >/dev/null 2>&1 ||
		{ echo 0; return; }
	p1=$(module_stat tx_packets) b1=$(module_stat tx_bytes)
	[ $((p1 - p0)) -gt 0 ] || { echo 0; return; }
	echo $(((b1 - b0) / (p1 - p0)))
}

# one_case NAME MODE A B MIN MAX [STATE_ARGS...]: wire size in [MIN, MAX]
# and a TCP transfer with matching sha256.
one_case() {
	local name=$1 mode=$2 a=$3 b=$4 min=$5 max=$6 size
	shift 6
	if ! sa_pair "$mode" "$a" "$b" "$@"; then
		ksft_fail "$name: SAs accepted"
		ksft_fail "$name: TCP transfer"
		xfrm_flush "$NS_A" "$NS_B"
		return
	fi
	size=$(wire_size "$NS_A" "$b")
	if [ "$size" -ge "$min" ] && [ "$size" -le "$max" ]; then
		ksft_pass "$name: $size bytes per small packet on the wire"
	else
		ksft_fail "$name: wire size" "$size bytes, want $min..$max"
	fi
	ksft_check "$name: TCP transfer, sha256 matches" \
		tcp_transfer "$NS_A" "$NS_B" "$b" "$PAYLOAD" 5301
	xfrm_flush "$NS_A" "$NS_B"
}

ksft_plan 9
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
pair_topology || ksft_skip_all "topology"

one_case "tunnel IPv4 no TFC" tunnel 192.0.2.1 192.0.2.2 60 200
one_case "tunnel IPv4 tfcpad 1000" tunnel 192.0.2.1 192.0.2.2 1000 1200 tfcpad 1000
one_case "tunnel IPv6 tfcpad 800" tunnel 2001:db8::1 2001:db8::2 800 1000 tfcpad 800
# A tfcpad above the path MTU pads only up to what still fits.
one_case "tunnel IPv4 tfcpad 9000 capped by the MTU" tunnel 192.0.2.1 192.0.2.2 \
	1400 1500 tfcpad 9000
ksft_check "dmesg clean" dmesg_clean
ksft_exit
