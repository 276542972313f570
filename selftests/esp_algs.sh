#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every key size and ICV length of RFC 4106 AES-GCM, and RFC 4543 GMAC,
# each carrying a TCP transfer whose sha256 matches.
. "$(dirname "$0")/lib.sh"

require_cmd socat
test_payload 150000 2
on_exit module_unload

# case NAME ADDR_A ADDR_B ALG KEY ICV
one_case() {
	local name=$1 a=$2 b=$3 rx0
	rx0=$(module_stat rx_packets)
	if ! esp_transport_pair "$a" "$b" 0x3001 0x3002 -- aead "$4" "$5" "$6"; then
		ksft_fail "$name: SAs accepted"
		xfrm_flush "$NS_A" "$NS_B"
		return
	fi
	if tcp_transfer "$NS_A" "$NS_B" "$b" "$PAYLOAD" &&
	   [ "$(module_stat rx_packets)" -gt "$rx0" ] &&
	   module_sa_line 0x00003001 | grep -q "alg $4 icv $6 "; then
		ksft_pass "$name"
	else
		ksft_fail "$name" "transfer, counters or SA table wrong"
	fi
	xfrm_flush "$NS_A" "$NS_B"
}

ksft_plan 14
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
pair_topology || ksft_skip_all "topology"

for bits in 128 192 256; do
	case $bits in
	128) key=${KEY256:0:42} ;;
	192) key=${KEY256:0:58} ;;
	256) key=$KEY256 ;;
	esac
	for icv in 64 96 128; do
		one_case "gcm aes-$bits icv $icv" 192.0.2.1 192.0.2.2 "$GCM" "$key" $icv
	done
done
one_case "gcm aes-256 icv 128 over IPv6" 2001:db8::1 2001:db8::2 "$GCM" "$KEY256" 128
one_case "gmac aes-128" 192.0.2.1 192.0.2.2 "$GMAC" "${KEY256:0:42}" 128
one_case "gmac aes-256" 192.0.2.1 192.0.2.2 "$GMAC" "$KEY256" 128
one_case "gmac aes-256 over IPv6" 2001:db8::1 2001:db8::2 "$GMAC" "$KEY256" 128
ksft_check "dmesg clean" dmesg_clean
ksft_exit
