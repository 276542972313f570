#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the xfrm core does around an ESP type, where 6.12 changed it, with
# esp_offload as the type (kernels/flavours without a feature skip its
# cases and say so):
# - SAs that carry a direction (XFRMA_SA_DIR, 6.10+; iproute2 6.1 cannot
#   set it, selftests/xfrm_sa.py does): in/out SAs carry traffic, and an
#   SA used against its direction is dropped and counted by the core;
# - NAT keepalives the core sends for an outbound ESP-in-UDP SA (6.9+);
# - the input state cache (6.12): an SA deleted and re-added under the
#   same SPI with a new key is used at once, no stale state decrypts;
# - NAT-T packets arriving through the UDP GRO path (6.12: an ESP-in-UDP
#   socket hands them to the ESP GRO handler, xfrm4_gro_udp_encap_rcv):
#   with GRO on at the receiver a transfer over an ESP-in-UDP SA still
#   arrives intact, and a kprobe shows the packets took that path.
. "$(dirname "$0")/lib.sh"

require_cmd socat nft
test_payload 200000 7
on_exit module_unload
XSA="/usr/bin/python3 $(dirname "$0")/xfrm_sa.py"
K1=$KEY256
K2=0xa1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4

has_sa_dir() { grep -q '^XfrmInStateDirError' /proc/net/xfrm_stat; }

# sa NS ARGS...: an SA through the netlink helper.
sa() {
	local ns=$1
	shift
	ip netns exec "$ns" $XSA "$@"
}

# policies_v4: transport policies for all traffic between A and B.
policies_v4() {
	ip -n "$NS_A" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir out \
		tmpl proto esp mode transport &&
	ip -n "$NS_A" xfrm policy add src 192.0.2.2 dst 192.0.2.1 dir in \
		tmpl proto esp mode transport &&
	ip -n "$NS_B" xfrm policy add src 192.0.2.2 dst 192.0.2.1 dir out \
		tmpl proto esp mode transport &&
	ip -n "$NS_B" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir in \
		tmpl proto esp mode transport
}

ksft_plan 15
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
pair_topology || ksft_skip_all "topology"

# --- SA direction -----------------------------------------------------------
if has_sa_dir; then
	ok=1
	sa "$NS_A" --src 192.0.2.1 --dst 192.0.2.2 --spi 0x5001 --dir out \
		--aead "$GCM" "$K1" 128 &&
	sa "$NS_A" --src 192.0.2.2 --dst 192.0.2.1 --spi 0x5002 --dir in \
		--replay-window 32 --aead "$GCM" "$K1" 128 &&
	sa "$NS_B" --src 192.0.2.1 --dst 192.0.2.2 --spi 0x5001 --dir in \
		--replay-window 32 --aead "$GCM" "$K1" 128 &&
	sa "$NS_B" --src 192.0.2.2 --dst 192.0.2.1 --spi 0x5002 --dir out \
		--aead "$GCM" "$K1" 128 && policies_v4 || ok=0
	ksft_eq "SAs with a direction accepted" 1 $ok
	rx0=$(module_stat rx_packets)
	ksft_check "direction SAs: TCP A->B, sha256 matches" \
		tcp_transfer "$NS_A" "$NS_B" 192.0.2.2 "$PAYLOAD"
	ksft_check "direction SAs: processed by esp_offload" \
		eval '[ $(module_stat rx_packets) -gt "$rx0" ] && module_sa_line 0x00005001 >/dev/null'
	xfrm_flush "$NS_A" "$NS_B"

	# B holds the A->B SA as an outbound one: the core must refuse to
	# decrypt with it, before the type sees the packet.
	sa "$NS_A" --src 192.0.2.1 --dst 192.0.2.2 --spi 0x5003 --dir out --aead "$GCM" "$K1" 128
	sa "$NS_B" --src 192.0.2.1 --dst 192.0.2.2 --spi 0x5003 --dir out --aead "$GCM" "$K1" 128
	ip -n "$NS_A" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir out tmpl proto esp mode transport
	d0=$(xfrm_stat "$NS_B" XfrmInStateDirError) rx0=$(module_stat rx_packets)
	ping_ok "$NS_A" 192.0.2.2 2
	ksft_check "inbound packet on an outbound SA: XfrmInStateDirError counted" \
		busywait 10000 eval '[ $(xfrm_stat "$NS_B" XfrmInStateDirError) -gt "$d0" ]'
	ksft_eq "inbound packet on an outbound SA: never reached esp_offload" \
		"$rx0" "$(module_stat rx_packets)"
	xfrm_flush "$NS_A" "$NS_B"

	# A's only A->B SA is an inbound one: output must not use it.
	sa "$NS_A" --src 192.0.2.1 --dst 192.0.2.2 --spi 0x5004 --dir in \
		--replay-window 32 --aead "$GCM" "$K1" 128
	ip -n "$NS_A" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir out tmpl proto esp mode transport
	d0=$(xfrm_stat "$NS_A" XfrmOutStateDirError) tx0=$(module_stat tx_packets)
	ping_ok "$NS_A" 192.0.2.2 1
	ksft_check "outbound packet on an inbound SA: XfrmOutStateDirError counted" \
		eval '[ $(xfrm_stat "$NS_A" XfrmOutStateDirError) -gt "$d0" ]'
	ksft_eq "outbound packet on an inbound SA: never encrypted" "$tx0" "$(module_stat tx_packets)"
	xfrm_flush "$NS_A" "$NS_B"
else
	for c in "SAs with a direction accepted" "direction SAs: TCP A->B" \
		"direction SAs: processed by esp_offload" "inbound packet on an outbound SA: counted" \
		"inbound packet on an outbound SA: not decrypted" "outbound packet on an inbound SA: counted" \
		"outbound packet on an inbound SA: not encrypted"; do
		ksft_skip_case "$c" "this kernel has no SA direction (XFRMA_SA_DIR, 6.10+)"
	done
fi

# --- NAT keepalives -------------------------------------------------------------
# B counts what arrives on UDP 4500 with a one-byte payload (RFC 3948 2.3).
ip netns exec "$NS_B" nft -f - <<-'NFT'
table inet ka {
	chain in {
		type filter hook input priority 0;
		udp dport 4500 udp length 9 counter
	}
}
NFT
keepalives() {
	ip netns exec "$NS_B" nft list chain inet ka in | awk '/counter/ { print $(NF - 2) }'
}
if has_sa_dir && sa "$NS_A" --src 192.0.2.1 --dst 192.0.2.2 --spi 0x5005 --dir out \
	--encap 4500 4500 --nat-keepalive 1 --aead "$GCM" "$K1" 128 2>/tmp/ka.err; then
	ka0=$(keepalives)
	ksft_check "NAT keepalives sent for an outbound ESP-in-UDP SA" \
		wait_for "two keepalives at B" 30 eval '[ $(($(keepalives) - ka0)) -ge 2 ]'
	xfrm_flush "$NS_A"
elif has_sa_dir; then
	ksft_fail "NAT keepalives sent for an outbound ESP-in-UDP SA" "$(cat /tmp/ka.err)"
else
	ksft_skip_case "NAT keepalives sent for an outbound ESP-in-UDP SA" "no XFRMA_NAT_KEEPALIVE_INTERVAL on this kernel"
fi
rm -f /tmp/ka.err

# --- a re-added SA is used at once (the input state cache) -----------------
esp_transport_pair 192.0.2.1 192.0.2.2 0x5008 0x5009 -- aead "$GCM" "$K1" 128
ping_ok "$NS_A" 192.0.2.2 3
icv0=$(module_stat drop_icv)
for ns in "$NS_A" "$NS_B"; do
	ip -n "$ns" xfrm state delete src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x5008
	ip -n "$ns" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x5008 \
		reqid 7 mode transport aead "$GCM" "$K2" 128
done
ksft_check "SA re-added under the same SPI with a new key: ping" ping_ok "$NS_A" 192.0.2.2 3
ksft_eq "re-added SA: no ICV failure (no stale state used)" "$icv0" "$(module_stat drop_icv)"
xfrm_flush "$NS_A" "$NS_B"

# --- NAT-T packets through the UDP GRO path -----------------------------------
# Both ends hold an ESP-in-UDP socket on 4500 with UDP_GRO set (as an IKE
# daemon would) and B receives with GRO on (veth then runs NAPI). On 6.12 the UDP GRO layer
# passes datagrams for such a socket to xfrm4_gro_udp_encap_rcv, which
# hands them to the module's ESP GRO handler (offload_type=1), or back to
# the ordinary path when no ESP offload type is registered; 6.1 has no
# such path.
esp_transport_pair 192.0.2.1 192.0.2.2 0x500a 0x500b -- aead "$GCM" "$K1" 128 \
	encap espinudp 4500 4500 0.0.0.0
espinudp_socket "$NS_A" gro
espinudp_socket "$NS_B" gro
udp_bound() { [ -n "$(ip netns exec "$1" ss -Hlun "sport = :4500")" ]; }
wait_for "ESP-in-UDP sockets on port 4500" 30 eval 'udp_bound "$NS_A" && udp_bound "$NS_B"'
# veth runs GRO for a sender without TSO: A's TSO off, B's GRO on.
ip netns exec "$NS_A" ethtool -K veth0 tso off
ip netns exec "$NS_B" ethtool -K veth0 gro on
GRO_FN=xfrm4_gro_udp_encap_rcv
gro_probe=0
if grep -q " $GRO_FN\$" /proc/kallsyms && kprobe_add espo_natt_gro "$GRO_FN"; then
	gro_probe=1
	on_exit kprobe_del espo_natt_gro
fi
rx0=$(module_stat rx_packets) gro0=$(module_stat rx_gro_decrypted)
ksft_check "NAT-T, GRO on at the receiver: TCP A->B, sha256 matches" \
	tcp_transfer "$NS_A" "$NS_B" 192.0.2.2 "$PAYLOAD"
ksft_check "NAT-T, GRO on: decrypted by esp_offload" \
	eval '[ $(module_stat rx_packets) -gt "$rx0" ] && module_sa_line 0x0000500a >/dev/null'
if [ $gro_probe = 1 ]; then
	hits=$(kprobe_hits espo_natt_gro)
	ksft_diag "$GRO_FN ran $hits times"
	ksft_check "NAT-T, GRO on: the datagrams reached $GRO_FN" [ "$hits" -gt 0 ]
else
	ksft_skip_case "NAT-T, GRO on: the datagrams reached $GRO_FN" \
		"this kernel has no $GRO_FN: 6.1 has no UDP GRO path for ESP-in-UDP"
fi
# With the module's offload type, $GRO_FN hands them to its ESP GRO
# handler, which passes them to xfrm as ESP-in-UDP.
if [ $gro_probe = 1 ] && module_offload_type; then
	ksft_check "NAT-T, GRO on: the module's ESP GRO handler decrypted them" \
		[ "$(module_stat rx_gro_decrypted)" -gt "$gro0" ]
else
	ksft_skip_case "NAT-T, GRO on: the module's ESP GRO handler decrypted them" \
		"no UDP GRO path for ESP-in-UDP (6.1) or offload_type=0"
fi
ip netns exec "$NS_B" ethtool -K veth0 gro off
ip netns exec "$NS_A" ethtool -K veth0 tso on
xfrm_flush "$NS_A" "$NS_B"

ksft_check "dmesg clean" dmesg_clean
ksft_exit
