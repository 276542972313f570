#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NAT traversal with strongSwan through esp_offload (RFC 3948).
#  - A real NAT: a router namespace masquerades gw-a (nftables); charon
#    detects it and moves to UDP 4500 on its own, for IPv4 and for IPv6
#    between the gateways. Traffic passes both ways, checksums match.
#  - NAT keepalives (one 0xff byte over UDP 4500) cross the router and
#    are absorbed without an error or a drop counted anywhere.
#  - The NAT changes its mapping (new source port): esp_offload reports
#    it to the key manager, charon on gw-b moves its SAs to the new port
#    and traffic from gw-b's side reaches gw-a again.
#  - Transport mode through the NAT (IPv4, NAT66): TCP both ways arrives
#    intact although the NAT invalidated the inner checksums.
#  - Forced encapsulation (encap = yes) without a NAT, IPv4 and IPv6.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/swan_lib.sh"

require_cmd socat ping pki swanctl nft conntrack
[ -x /usr/lib/ipsec/charon ] || ksft_skip_all "charon not installed"
test_payload 300000 12
on_exit module_unload

# all_encap NS: every ESP SA in NS carries an espinudp encapsulation.
all_encap() {
	local n e
	n=$(ip -n "$1" xfrm state | grep -c '^[[:space:]]*proto esp')
	e=$(ip -n "$1" xfrm state | grep -c 'encap type espinudp')
	[ "$n" -ge 2 ] && [ "$n" = "$e" ]
}

# encap_dport NS DST: the UDP destination port of the SA towards DST.
encap_dport() {
	ip -n "$1" xfrm state list dst "$2" |
		awk '/encap type espinudp/ {
			for (i = 1; i < NF; i++) if ($i == "dport") print $(i + 1)
			exit
		}'
}

# up NAME LOCAL_A REMOTE_A LOCAL_B REMOTE_B [KEY=VALUE...]: both daemons
# configured, started, CHILD_SA initiated by gw-a.
up() {
	local name=$1 la=$2 ra=$3 lb=$4 rb=$5
	shift 5
	swan_config gw-a "$la" "$ra" 10.1.0.0/24,fd01::/64 10.2.0.0/24,fd02::/64 \
		esp=aes256gcm16-x25519-esn "$@"
	swan_config gw-b "$lb" "$rb" 10.2.0.0/24,fd02::/64 10.1.0.0/24,fd01::/64 \
		esp=aes256gcm16-x25519-esn "$@"
	if swan_start gw-a && swan_start gw-b && swan_initiate; then
		ksft_pass "$name: established"
		return 0
	fi
	ksft_fail "$name: established"
	swan_log_diag gw-a
	swan_log_diag gw-b
	return 1
}

down() {
	swan_stop_all
	xfrm_flush "$GA" "$GB"
}

ksft_plan 39
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
gateway_topology nat || ksft_skip_all "topology"
# Count the keepalives crossing the router: UDP to 4500, one byte.
ip netns exec "$RT" nft -f - <<-'NFT' || ksft_skip_all "nft"
table inet count {
	chain ka {
		type filter hook forward priority filter;
		udp dport 4500 udp length 9 counter
	}
}
NFT
keepalives() {
	ip netns exec "$RT" nft list chain inet count ka |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# --- IPv4 through the NAT ------------------------------------------------
name="NAT IPv4"
if up "$name" 172.16.0.2 192.0.2.2 192.0.2.2 192.0.2.1 keepalive=2; then
	ksft_check "$name: charon chose UDP encapsulation on gw-a" all_encap "$GA"
	ksft_check "$name: and on gw-b" all_encap "$GB"
	rx0=$(module_stat rx_packets)
	swan_traffic "$name"
	ksft_check "$name: SAs processed by esp_offload" \
		eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB" &&
			[ $(($(module_stat rx_packets) - rx0)) -gt 200 ]'

	# Keepalives: wait for a few, then nothing may have been counted
	# as an error or a drop.
	err0=$(xfrm_stat "$GB" XfrmInHdrError)$(xfrm_stat "$GB" XfrmInNoStates)
	drop0=$(module_stat drop_truncated)$(module_stat drop_icv)
	ka0=$(keepalives)
	ksft_check "$name: NAT keepalives cross the router" \
		slowwait 40 eval '[ $(($(keepalives) - ka0)) -ge 2 ]'
	ksft_eq "$name: keepalives: no xfrm error on gw-b" "$err0" \
		"$(xfrm_stat "$GB" XfrmInHdrError)$(xfrm_stat "$GB" XfrmInNoStates)"
	ksft_eq "$name: keepalives: no module drop" "$drop0" \
		"$(module_stat drop_truncated)$(module_stat drop_icv)"

	# The NAT forgets its mapping and picks a port from 40000-40099.
	old=$(encap_dport "$GB" 192.0.2.1)
	remap0=$(module_stat natt_remap)
	ip netns exec "$RT" nft -f - <<-'NFT'
	flush chain inet nat post
	add rule inet nat post oifname "outside" meta l4proto udp masquerade to :40000-40099
	add rule inet nat post oifname "outside" masquerade
	NFT
	ip netns exec "$RT" conntrack -F >/dev/null 2>&1
	ping_ok "$HA" 10.2.0.2 3
	ksft_check "$name: new mapping seen by esp_offload (natt_remap)" \
		slowwait 30 eval '[ $(module_stat natt_remap) -gt "$remap0" ]'
	ksft_check "$name: charon moved gw-b's SA from port $old to the new one" \
		slowwait 30 eval 'p=$(encap_dport "$GB" 192.0.2.1);
			[ "${p:-0}" -ge 40000 ] && [ "$p" -le 40099 ]'
	ksft_check "$name: gw-b's side reaches gw-a through the new mapping" \
		ping_ok "$HB" 10.1.0.2 5
	down
fi

# --- transport mode through the NAT (IPv4, NAT66) -------------------------
# The NAT rewrites the outer addresses, so the TCP checksums inside the ESP
# payload (computed over the pre-NAT addresses) no longer match; RFC 3948
# 3.1.2 lets the receiver skip them, and the TCP transfers only arrive
# intact if it does, in each direction.
port=5004
for fam in 4 6; do
	name="NAT IPv$fam transport"
	a=172.16.0.2 b=192.0.2.2 a_public=192.0.2.1
	[ $fam = 6 ] && a=fd00:16::2 b=2001:db8::2 a_public=2001:db8::1
	swan_config gw-a $a $b dynamic dynamic mode=transport \
		esp=aes128gcm16-x25519
	swan_config gw-b $b $a_public dynamic dynamic mode=transport \
		esp=aes128gcm16-x25519
	if swan_start gw-a && swan_start gw-b && swan_initiate; then
		ksft_pass "$name: established"
		ksft_check "$name: transport-mode SAs with UDP encapsulation" \
			eval 'all_encap "$GA" && all_encap "$GB" &&
				[ $(ip -n "$GA" xfrm state | grep -c "mode transport") -ge 2 ]'
		ksft_check "$name: TCP gw-a -> gw-b, sha256 matches" \
			tcp_transfer "$GA" "$GB" $b "$PAYLOAD" $port
		ksft_check "$name: TCP gw-b -> gw-a (to the NAT address), sha256 matches" \
			tcp_transfer "$GB" "$GA" $a_public "$PAYLOAD" $((port + 1))
		ksft_check "$name: SAs processed by esp_offload" \
			eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB"'
	else
		ksft_fail "$name: established"
		swan_log_diag gw-a
		swan_log_diag gw-b
	fi
	down
	port=$((port + 2))
done

# --- IPv6 through the NAT (NAT66 masquerade) ------------------------------
name="NAT IPv6"
if up "$name" fd00:16::2 2001:db8::2 2001:db8::2 2001:db8::1; then
	ksft_check "$name: charon chose UDP encapsulation" \
		eval 'all_encap "$GA" && all_encap "$GB"'
	swan_traffic "$name"
	ksft_check "$name: SAs processed by esp_offload" \
		eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB"'
	down
fi

# --- forced encapsulation without a NAT ----------------------------------
swan_stop_all
netns_cleanup
gateway_topology || ksft_skip_all "second topology"
for fam in 4 6; do
	name="encap=yes IPv$fam"
	a=192.0.2.1 b=192.0.2.2
	[ $fam = 6 ] && a=2001:db8::1 b=2001:db8::2
	up "$name" $a $b $b $a encap=yes || continue
	ksft_check "$name: UDP encapsulation on both gateways" \
		eval 'all_encap "$GA" && all_encap "$GB"'
	ksft_check "$name: TCP A->B, sha256 matches" \
		tcp_transfer "$HA" "$HB" 10.2.0.2 "$PAYLOAD" 5003
	down
done

ksft_check "esp4/esp6 never loaded" stock_esp_absent
ksft_check "dmesg clean" dmesg_clean
ksft_exit
