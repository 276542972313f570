#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check: by name (four charon negotiations on the test NIC, 183 s on 6.12 and 115 s on 6.1 on a 2-core machine at load 4: make check T=swan_hw_offload)
#
# strongSwan's `hw_offload` on the test NIC espo_nic.ko: the two gateways
# of gateway_topology are joined by enic0/enic1 instead of a veth, and
# charon installs a tunnel-mode CHILD_SA (IPv4 and IPv6 subnets, IPv4
# between the gateways) through esp_offload. charon 5.9 asks for crypto
# offload (XFRMA_OFFLOAD_DEV on the interface of the SA's local address)
# only when the interface's esp-hw-offload feature is on; otherwise
# `hw_offload = yes` fails the SA and `auto` installs it without offload.
# What the kernel does with the request is the driver's: one that
# refuses with EOPNOTSUPP leaves the SA in software, and charon, which
# asked and got no error, does not know. Cases:
#  - yes: `ip xfrm state` shows every SA offloaded (dev enic0/enic1, dir
#    out and in), traffic both ways (sha256), the NICs' ipsec counters
#    move and the module encrypted and decrypted nothing itself;
#  - yes, the NIC's SA table full (max_sas=2, filled first): the NIC
#    refuses the SAs, the kernel installs them in software without an
#    error, the CHILD_SA comes up and carries traffic in software;
#  - yes, esp-hw-offload off on the NICs: no CHILD_SA, no SA in the
#    kernel, and charon says why in its log;
#  - auto, esp-hw-offload off: the CHILD_SA comes up in software and
#    carries traffic (module counters move, NIC ipsec counters do not).
#
#   hA ---- gA ==== enic0 ======== enic1 ==== gB ---- hB   (espo_nic max_sas=2)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/swan_lib.sh"

require_cmd socat ping swanctl ethtool
[ -x /usr/lib/ipsec/charon ] || ksft_skip_all "charon not installed"
NIC_KO=${ESPO_NIC_KO:-$(pick_ko selftests/espo_nic/espo_nic.ko espo_nic.ko)}
[ -e "$NIC_KO" ] || ksft_skip_all "espo_nic.ko not built (make)"
test_payload 300000 43
on_exit module_unload
on_exit nic_unload

LTS=10.1.0.0/24,fd01::/64 RTS=10.2.0.0/24,fd02::/64

# A NIC counter: KEY -> "GATEWAY DEVICE COUNTER"; m_NAME: the module's.
declare -A NICSTAT=(
	[a_tx]="A enic0 ipsec_tx_pkts" [a_rx]="A enic0 ipsec_rx_pkts"
	[b_tx]="B enic1 ipsec_tx_pkts" [b_rx]="B enic1 ipsec_rx_pkts"
	[a_refused]="A enic0 ipsec_sa_refused" [b_refused]="B enic1 ipsec_sa_refused"
)
MODSTAT="tx_packets tx_device rx_packets rx_device"
stat_now() {
	local side dev name ns
	case $1 in
	m_*) module_stat "${1#m_}"; return ;;
	esac
	read -r side dev name <<< "${NICSTAT[$1]}"
	ns=$GA
	[ "$side" = B ] && ns=$GB
	nic_stat "$ns" "$dev" "$name"
}
declare -A S0
snapshot() {
	local k
	for k in "${!NICSTAT[@]}"; do S0[$k]=$(stat_now "$k"); done
	for k in $MODSTAT; do S0[m_$k]=$(stat_now "m_$k"); done
}
moved() { echo $(($(stat_now "$1") - ${S0[$1]})); }
# Packets the module decrypted itself (rx_packets counts those a device
# decrypted too).
sw_rx_moved() { echo $(($(moved m_rx_packets) - $(moved m_rx_device))); }

counters_diag() {
	ksft_diag "$1: enic0 tx $(moved a_tx) rx $(moved a_rx), enic1 tx $(moved b_tx)" \
		"rx $(moved b_rx); module tx_device $(moved m_tx_device) rx_device" \
		"$(moved m_rx_device), in software tx_packets $(moved m_tx_packets)" \
		"rx $(sw_rx_moved)"
}

# offload_shown NS DEV DIR: an ESP SA in NS is offloaded to DEV for DIR.
offload_shown() {
	ip -n "$1" xfrm state | grep -q "crypto offload parameters: dev $2 dir $3"
}

# none_offloaded NS: no SA in NS is offloaded.
none_offloaded() {
	[ "$(swan_spis "$1" | wc -l)" -ge 2 ] &&
		! ip -n "$1" xfrm state | grep -q 'offload parameters'
}

# hw_esp NS DEV on|off: the NIC's esp-hw-offload feature.
hw_esp() {
	ip netns exec "$1" ethtool -K "$2" esp-hw-offload "$3"
}

# up NAME HW_OFFLOAD: both gateways configured with hw_offload, charon
# started, gw-a initiates. Fails (with the logs as diagnostics) if the
# CHILD_SA does not come up.
up() {
	swan_config gw-a 192.0.2.1 192.0.2.2 "$LTS" "$RTS" hw_offload="$2"
	swan_config gw-b 192.0.2.2 192.0.2.1 "$RTS" "$LTS" hw_offload="$2"
	# Each case's own log (charon appends to it).
	rm -f "$SWAN_DIR/gw-a/charon.log" "$SWAN_DIR/gw-b/charon.log"
	swan_start gw-a && swan_start gw-b && swan_initiate && return 0
	swan_log_diag gw-a
	swan_log_diag gw-b
	return 1
}

down() {
	swan_stop_all
	xfrm_flush "$GA" "$GB"
}

# software_traffic NAME: ping and TCP A->B through a CHILD_SA that is
# not offloaded: the module did the crypto, the NICs none.
software_traffic() {
	ksft_check "$1: ping IPv4 A->B" ping_ok "$HA" 10.2.0.2 5
	ksft_check "$1: TCP IPv6 B->A, sha256 matches" \
		tcp_transfer "$HB" "$HA" fd01::2 "$PAYLOAD" 5012
	counters_diag "$1"
	ksft_check "$1: the module encrypted and decrypted, the NICs did no crypto" \
		test "$(moved m_tx_packets)" -gt 0 -a "$(sw_rx_moved)" -gt 0 \
		-a "$(moved a_tx)" = 0 -a "$(moved a_rx)" = 0 \
		-a "$(moved b_tx)" = 0 -a "$(moved b_rx)" = 0
}

ksft_plan 27
dmesg_mark
module_load offload_type=1 || ksft_skip_all "cannot load esp_offload offload_type=1"
module_offload_type || ksft_skip_all "esp_offload is loaded without its offload type"
insmod "$NIC_KO" max_sas=2 || ksft_skip_all "cannot load espo_nic.ko"
gateway_topology enic || ksft_skip_all "topology"

# --- hw_offload = yes, the NIC takes the SAs ---------------------------------
snapshot
if up "yes" yes; then
	ksft_pass "yes: CHILD_SA established"
	ksft_check "yes: ip xfrm state shows the SAs offloaded (enic0 and enic1, out and in)" \
		eval 'offload_shown "$GA" enic0 out && offload_shown "$GA" enic0 in &&
			offload_shown "$GB" enic1 out && offload_shown "$GB" enic1 in'
	swan_traffic "yes"
	counters_diag "yes"
	ksft_check "yes: the NICs encrypted and decrypted both ways" \
		test "$(moved a_tx)" -gt 0 -a "$(moved b_rx)" -gt 0 \
		-a "$(moved b_tx)" -gt 0 -a "$(moved a_rx)" -gt 0
	ksft_check "yes: the module left the crypto to the NICs (tx_device, rx_device), none in software" \
		test "$(moved m_tx_device)" -gt 0 -a "$(moved m_rx_device)" -gt 0 \
		-a "$(moved m_tx_packets)" = 0 -a "$(sw_rx_moved)" = 0
	ksft_check "yes: every SA charon installed is esp_offload's" \
		eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB"'
else
	for _ in $(seq 9); do ksft_fail "yes: CHILD_SA established"; done
fi
down

# --- hw_offload = yes, the NIC's SA table full --------------------------------
# Two SAs nothing uses fill each NIC's table; the NIC refuses charon's
# with EOPNOTSUPP and the kernel installs them without offload.
filler() {
	ip -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid 99 \
		mode tunnel aead "$GCM" "$KEY256" 128 offload dev "$5" dir out
}
snapshot
if filler "$GA" 192.0.2.1 192.0.2.9 0x9901 enic0 && filler "$GA" 192.0.2.1 192.0.2.8 0x9902 enic0 &&
   filler "$GB" 192.0.2.2 192.0.2.9 0x9901 enic1 && filler "$GB" 192.0.2.2 192.0.2.8 0x9902 enic1 &&
   up "yes, table full" yes; then
	ksft_pass "yes, table full: CHILD_SA established all the same"
	ksft_check "yes, table full: the NICs refused 2 SAs each, none of charon's is offloaded" \
		eval '[ "$(moved a_refused) $(moved b_refused)" = "2 2" ] &&
			! ip -n "$GA" xfrm state | grep -q "dev enic0 dir in" &&
			! ip -n "$GB" xfrm state | grep -q "dev enic1 dir in" &&
			[ "$(ip -n "$GA" xfrm state | grep -c "offload parameters")" = 2 ]'
	software_traffic "yes, table full"
else
	for _ in $(seq 5); do ksft_fail "yes, table full: CHILD_SA established"; done
fi
ksft_check "yes, table full: the NIC's refusal is in the kernel log" \
	eval "dmesg_since | grep -q 'SA refused: SA table full'"
down

# --- hw_offload = yes, esp-hw-offload off -------------------------------------
hw_esp "$GA" enic0 off && hw_esp "$GB" enic1 off
if up "yes, no esp-hw-offload" yes >/dev/null 2>&1; then
	ksft_fail "yes, no esp-hw-offload: CHILD_SA refused" "it was established"
else
	ksft_pass "yes, no esp-hw-offload: CHILD_SA refused"
fi
ksft_eq "yes, no esp-hw-offload: no ESP SA in either kernel" "0 0" \
	"$(swan_spis "$GA" | wc -l) $(swan_spis "$GB" | wc -l)"
# charon buffers its log file: read it once the daemons have exited.
down
# What charon 5.9 logs, in this order, for each SA it cannot offload,
# and then for the CHILD_SA (the responder, gw-b, installs first).
ksft_check "yes, no esp-hw-offload: charon says 'HW offload is not supported by device', 'failed to configure HW offload', 'unable to install inbound and outbound IPsec SA (SAD) in kernel'" \
	eval "grep -A1 'HW offload is not supported by device' $SWAN_DIR/gw-b/charon.log |
		grep -q 'failed to configure HW offload' &&
		grep -q 'unable to install inbound and outbound IPsec SA (SAD) in kernel' \
			$SWAN_DIR/gw-b/charon.log"
for g in gw-b gw-a; do
	grep -E 'HW offload|unable to (add|install)|CHILD_SA|notify' "$SWAN_DIR/$g/charon.log" |
		head -n 12 | sed "s/^/# $g: /"
done
sed 's/^/# swanctl --initiate: /' "$SWAN_DIR/initiate.log" | tail -n 4

# --- hw_offload = auto, esp-hw-offload off ------------------------------------
snapshot
if up "auto, no esp-hw-offload" auto; then
	ksft_pass "auto, no esp-hw-offload: CHILD_SA established"
	ksft_check "auto, no esp-hw-offload: no SA offloaded" \
		eval 'none_offloaded "$GA" && none_offloaded "$GB"'
	software_traffic "auto, no esp-hw-offload"
	down
	ksft_check "auto, no esp-hw-offload: charon logged that the device cannot" \
		grep -q 'HW offload is not supported by device' "$SWAN_DIR/gw-a/charon.log"
else
	for _ in $(seq 6); do ksft_fail "auto, no esp-hw-offload: CHILD_SA established"; done
	down
fi

netns_cleanup
nic_unload
ksft_check "espo_nic unloads" eval "! module_loaded espo_nic"
ksft_check "stock esp4/esp6 never loaded" stock_esp_absent
ksft_check "dmesg clean" dmesg_clean
ksft_exit
