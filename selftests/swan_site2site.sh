#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# strongSwan site-to-site through esp_offload: two charon daemons
# negotiate IKEv2 and a tunnel-mode CHILD_SA covering an IPv4 and an IPv6
# subnet behind each gateway. Cases: PSK and X.509 certificates (a CA made
# here with pki), aes128gcm16 and aes256gcm16 with x25519, ESN on and off,
# IPv4 and IPv6 between the gateways. Each case pings and moves a file
# over TCP both ways inside, checks the sha256, that every SA charon
# installed is one esp_offload tracks and counts, that the ESN flag is as
# negotiated, and that esp4/esp6 are not loaded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/swan_lib.sh"

require_cmd socat ping pki swanctl
[ -x /usr/lib/ipsec/charon ] || ksft_skip_all "charon not installed"
test_payload 300000 11
on_exit module_unload

# one_case NAME AUTH IKE ESP ESN(yes|no) OUTER(4|6) KEY_BITS
one_case() {
	local name=$1 auth=$2 ike=$3 esp=$4 esn=$5 outer=$6 bits=$7
	local a=192.0.2.1 b=192.0.2.2 rx0 rx1 n esn_sas
	[ "$outer" = 6 ] && a=2001:db8::1 b=2001:db8::2
	swan_config gw-a "$a" "$b" 10.1.0.0/24,fd01::/64 10.2.0.0/24,fd02::/64 \
		auth="$auth" ike="$ike" esp="$esp"
	swan_config gw-b "$b" "$a" 10.2.0.0/24,fd02::/64 10.1.0.0/24,fd01::/64 \
		auth="$auth" ike="$ike" esp="$esp"
	rx0=$(module_stat rx_packets)
	if ! swan_start gw-a || ! swan_start gw-b || ! swan_initiate; then
		ksft_fail "$name: IKE_SA and CHILD_SA established"
		swan_log_diag gw-a
		swan_log_diag gw-b
		swan_stop_all
		return
	fi
	ksft_pass "$name: IKE_SA and CHILD_SA established"
	swan_traffic "$name"
	rx1=$(module_stat rx_packets)
	n=$(swan_spis "$GA" | wc -l)
	ksft_check "$name: all $n SAs processed by esp_offload, rx +$((rx1 - rx0))" \
		eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB" &&
			[ $((rx1 - rx0)) -gt 200 ] && [ "$n" -ge 2 ]'
	esn_sas=$(ip -n "$GA" xfrm state | grep -c 'flag.*esn')
	if [ "$esn" = yes ]; then
		ksft_eq "$name: ESN negotiated on every SA" "$n" "$esn_sas"
	else
		ksft_eq "$name: no ESN" 0 "$esn_sas"
	fi
	ksft_eq "$name: AEAD key $bits bits (salt included)" "$bits " "$(swan_key_bits "$GB")"
	swan_stop_all
	xfrm_flush "$GA" "$GB"
}

ksft_plan 35
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
gateway_topology || ksft_skip_all "topology"
swan_ca || ksft_skip_all "pki could not make the certificates"

one_case "PSK aes128gcm16 IPv4" psk aes128gcm16-prfsha256-x25519 \
	aes128gcm16-x25519 no 4 160
one_case "PSK aes256gcm16 ESN IPv6" psk aes256gcm16-prfsha384-x25519 \
	aes256gcm16-x25519-esn yes 6 288
one_case "certs aes256gcm16 ESN IPv4" cert aes256gcm16-prfsha384-x25519 \
	aes256gcm16-x25519-esn yes 4 288
one_case "certs aes128gcm16 IPv6" cert aes128gcm16-prfsha256-x25519 \
	aes128gcm16-x25519-noesn no 6 160

ksft_check "esp4/esp6 never loaded" stock_esp_absent
ksft_check "module drop counters stayed 0" \
	eval '[ "$(module_stat drop_icv)$(module_stat drop_padding)$(module_stat drop_padlen)" = 000 ]'
ksft_check "dmesg clean" dmesg_clean
ksft_exit
