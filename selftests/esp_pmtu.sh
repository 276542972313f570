#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ICMP path MTU: an ESP packet too big for the path beyond a router makes
# the router answer Fragmentation Needed (IPv4) / Packet Too Big (IPv6);
# esp_offload's ICMP handler must lower the cached path MTU towards the
# peer so that what follows fits.
#
#   A ---- (mtu 1500) ---- R ---- (mtu 1300) ---- B
#  10.0.1.1/fd00:1::1               10.0.2.2/fd00:2::2
. "$(dirname "$0")/lib.sh"

require_cmd socat ping
test_payload 200000 6
on_exit module_unload

ksft_plan 5
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
netns_new NS_A a && netns_new NS_R r && netns_new NS_B b || ksft_skip_all "netns"
veth_pair "$NS_A" eth0 "$NS_R" ra && veth_pair "$NS_R" rb "$NS_B" eth0
ip -n "$NS_R" link set rb mtu 1300
ip -n "$NS_B" link set eth0 mtu 1300
ip -n "$NS_A" addr add 10.0.1.1/24 dev eth0
ip -n "$NS_R" addr add 10.0.1.254/24 dev ra
ip -n "$NS_R" addr add 10.0.2.254/24 dev rb
ip -n "$NS_B" addr add 10.0.2.2/24 dev eth0
ip -n "$NS_A" addr add fd00:1::1/64 dev eth0 nodad
ip -n "$NS_R" addr add fd00:1::fe/64 dev ra nodad
ip -n "$NS_R" addr add fd00:2::fe/64 dev rb nodad
ip -n "$NS_B" addr add fd00:2::2/64 dev eth0 nodad
ip -n "$NS_A" route add default via 10.0.1.254
ip -n "$NS_B" route add default via 10.0.2.254
ip -n "$NS_A" -6 route add default via fd00:1::fe
ip -n "$NS_B" -6 route add default via fd00:2::fe

for pair in "10.0.1.1 10.0.2.2 0xb001 0xb002" "fd00:1::1 fd00:2::2 0xb011 0xb012"; do
	set -- $pair
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" xfrm state add src $1 dst $2 proto esp spi $3 reqid 11 \
			mode transport aead 'rfc4106(gcm(aes))' "$KEY256" 128
		ip -n "$ns" xfrm state add src $2 dst $1 proto esp spi $4 reqid 11 \
			mode transport aead 'rfc4106(gcm(aes))' "$KEY256" 128
	done
	ip -n "$NS_A" xfrm policy add src $1 dst $2 dir out tmpl proto esp reqid 11 mode transport
	ip -n "$NS_A" xfrm policy add src $2 dst $1 dir in tmpl proto esp reqid 11 mode transport
	ip -n "$NS_B" xfrm policy add src $2 dst $1 dir out tmpl proto esp reqid 11 mode transport
	ip -n "$NS_B" xfrm policy add src $1 dst $2 dir in tmpl proto esp reqid 11 mode transport
done

# A 1400-byte DF ping fits A's link with ESP, not the router's next hop.
busywait 15000 ping_ok "$NS_A" 10.0.2.2 1
ip netns exec "$NS_A" ping -q -M do -s 1400 -c 2 -W 1 10.0.2.2 >/dev/null 2>&1
ksft_check "IPv4: Fragmentation Needed lowers A's path MTU to B" \
	bash -c "ip -n $NS_A route get 10.0.2.2 | grep -q 'mtu 1300'"
ksft_check "IPv4: TCP transfer afterwards, sha256 matches" \
	tcp_transfer "$NS_A" "$NS_B" 10.0.2.2 "$PAYLOAD"

busywait 15000 ping_ok "$NS_A" fd00:2::2 1
ip netns exec "$NS_A" ping -q -s 1400 -c 2 -W 1 fd00:2::2 >/dev/null 2>&1
ksft_check "IPv6: Packet Too Big lowers A's path MTU to B" \
	bash -c "ip -n $NS_A -6 route get fd00:2::2 | grep -q 'mtu 1300'"
ksft_check "IPv6: TCP transfer afterwards, sha256 matches" \
	tcp_transfer "$NS_A" "$NS_B" fd00:2::2 "$PAYLOAD"
ksft_check "dmesg clean" dmesg_clean
ksft_exit
