#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check: all (sendfile/splice/MSG_ZEROCOPY in every mode; check-all runs it on every kernel)
#
# Zero-copy sources. Data sent with sendfile or splice travels in the
# page cache's own pages, and data sent with MSG_ZEROCOPY in the sender's
# pinned user pages; ESP must encrypt those packets without writing into
# either. Every transfer, in transport and tunnel mode, IPv4 and IPv6,
# both directions, with GSO/TSO on and off on the sending side, must
# arrive intact (sha256) and leave its source unchanged byte for byte
# (selftests/zc_send.py re-reads the file and the user buffer).
. "$(dirname "$0")/lib.sh"

require_cmd socat ethtool
test_payload 300000 11
on_exit module_unload
SEND="/usr/bin/python3 $REPO/selftests/zc_send.py"

# zc_send SRC_NS ADDR PORT FILE: tcp_transfer's sender for $ZC_METHOD; it
# succeeds only if zc_send.py found its source unchanged.
zc_send() {
	local res
	res=$(timeout "$(scale 180)" ip netns exec "$1" $SEND "$ZC_METHOD" "$2" "$3" "$4" 2>&1)
	[ "$res" = "source intact" ] && return 0
	ksft_diag "$ZC_METHOD to $2: $res"
	return 1
}

# zc_transfer SRC_NS DST_NS ADDR METHOD: one transfer, checked.
zc_transfer() {
	ZC_METHOD=$4 tcp_transfer "$1" "$2" "$3" "$PAYLOAD" 5301 zc_send
}

# offloads NS on|off: GSO and TSO of the namespace's veth0.
offloads() {
	ip netns exec "$1" ethtool -K veth0 gso "$2" tso "$2" >/dev/null 2>&1
}

# matrix NAME ADDR_ON_B ADDR_ON_A: every method, both ways, GSO on/off.
matrix() {
	local name=$1 b=$2 a=$3 m gso
	for gso in on off; do
		offloads "$NS_A" $gso && offloads "$NS_B" $gso
		for m in sendfile splice zerocopy; do
			ksft_check "$name, GSO $gso, $m A->B: intact, source unchanged" \
				zc_transfer "$NS_A" "$NS_B" "$b" $m
			ksft_check "$name, GSO $gso, $m B->A: intact, source unchanged" \
				zc_transfer "$NS_B" "$NS_A" "$a" $m
		done
	done
}

ksft_plan 26
pair_topology || ksft_skip_all "topology"
module_load || ksft_skip_all "cannot load esp_offload"
dmesg_mark
esp_transport_pair 192.0.2.1 192.0.2.2 0x3001 0x3002 -- \
	aead "$GCM" "${KEY256:0:42}" 128 || ksft_skip_all "transport SAs"
matrix "transport v4" 192.0.2.2 192.0.2.1
xfrm_flush "$NS_A" "$NS_B"
if esp_tunnel_v6_pair 0x3011 0x3012 -- aead "$GCM" "$KEY256" 128; then
	matrix "tunnel v6" fd02::1 fd01::1
else
	for i in $(seq 12); do ksft_fail "tunnel v6 SAs installed"; done
fi
ksft_check "the module encrypted and decrypted the traffic" \
	test "$(module_stat tx_packets)" -gt 0 -a "$(module_stat rx_packets)" -gt 0
ksft_check "dmesg clean" dmesg_clean
ksft_exit
