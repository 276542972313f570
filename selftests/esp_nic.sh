#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: own (loads the test NIC espo_nic and esp_offload with offload_type=1)
# check: all (the test NIC; check-all runs it on every kernel, make check T=esp_nic alone)
#
# NIC crypto offload through the test NIC espo_nic.ko (selftests/espo_nic/,
# built by `make`, never installed): a veth-like pair whose ends implement
# xfrmdev_ops and really do AES-GCM, on TX for outbound SAs offloaded to
# them and on RX for inbound ones. esp_offload (offload_type=1) builds
# header, IV and trailer and leaves the cipher to the device; on receive
# its input_tail strips what the device decrypted (CRYPTO_DONE).
# Checked:
#  - both sides offloaded: `ip xfrm state` shows the offload, a TCP
#    transfer arrives intact (sha256), the NICs' ipsec counters moved in
#    both directions and the module encrypted nothing in software
#    (tx_packets) while counting tx_device/rx_device (transport IPv4,
#    both ways); the same for transport IPv6 and tunnel IPv4/IPv6, A->B,
#    and for ESN SAs across 2^32 (the NIC builds the high half itself);
#  - per-packet fallback: with ok_max_len, xdo_dev_offload_ok refuses
#    large packets and the module encrypts those in software, the peer's
#    NIC still decrypts them;
#  - an ICV the NIC corrupts on TX fails on the offloaded receiver:
#    ipsec_rx_drop_auth and XfrmInStateProtoError count it, and so does
#    the module's drop_icv (module-wide, per SA and per namespace),
#    although the core drops such a packet before the ESP type sees it;
#  - one side offloaded, the other in software: a TCP transfer both
#    ways through the bytes of each (what espo_nic encrypts, the
#    module's software path decrypts, and the reverse);
#  - SAs beyond max_sas are refused by the NIC and fall back to
#    software: installed without offload, traffic passes, the NIC
#    counts the refusals and does no crypto for them.
#
#   A: enic0 ============ enic1 :B     (espo_nic max_sas=2)
#      192.0.2.1          192.0.2.2
#      2001:db8::1        2001:db8::2
#      lo 10.1.0.1 fd01::1  lo 10.2.0.1 fd02::1  (tunnel mode)
. "$(dirname "$0")/lib.sh"

require_cmd socat ethtool

NIC_KO=${ESPO_NIC_KO:-$(pick_ko selftests/espo_nic/espo_nic.ko espo_nic.ko)}
NIC_PARAMS=/sys/module/espo_nic/parameters
KEY_AB=$KEY256
KEY_BA=${KEY256/0x01/0x51}

[ -e "$NIC_KO" ] || ksft_skip_all "espo_nic.ko not built (make)"
test_payload 400000 31

on_exit module_unload
on_exit nic_unload

# The NIC counters the cases look at: KEY -> "SIDE DEVICE COUNTER".
declare -A NICSTAT=(
	[a_tx]="A enic0 ipsec_tx_pkts" [a_rx]="A enic0 ipsec_rx_pkts"
	[b_tx]="B enic1 ipsec_tx_pkts" [b_rx]="B enic1 ipsec_rx_pkts"
	[b_auth]="B enic1 ipsec_rx_drop_auth"
	[a_corrupt]="A enic0 ipsec_tx_icv_corrupted"
	[a_okno]="A enic0 ipsec_offload_ok_no" [a_refused]="A enic0 ipsec_sa_refused"
)
MODSTAT="tx_packets tx_device rx_device drop_icv"

# stat_now KEY: a NIC counter (a_tx, ...) or a module counter (m_NAME).
stat_now() {
	local side dev name ns
	case $1 in
	m_*) module_stat "${1#m_}"; return ;;
	esac
	read -r side dev name <<< "${NICSTAT[$1]}"
	ns=$NS_A
	[ "$side" = B ] && ns=$NS_B
	nic_stat "$ns" "$dev" "$name"
}

# ns_drop_icv NS: the module's drop_icv total of a namespace.
ns_drop_icv() {
	ip netns exec "$1" awk '$1 == "drop_icv" { print $2 }' /proc/net/esp_offload/stats
}

# sa_drop_icv NS SPI: the module's drop_icv of one SA (SPI as 0x%08x).
sa_drop_icv() {
	ip netns exec "$1" awk -v spi="$2" '{
		for (i = 1; i < NF; i++) {
			if ($i == "spi") s = $(i + 1)
			if ($i == "drop_icv") d = $(i + 1)
		}
		if (s == spi) print d
	}' /proc/net/esp_offload/sas
}

# snapshot: every counter now, in S0[KEY]; moved KEY: how far it went since.
declare -A S0
snapshot() {
	local k
	for k in "${!NICSTAT[@]}"; do S0[$k]=$(stat_now "$k"); done
	for k in $MODSTAT; do S0[m_$k]=$(stat_now "m_$k"); done
	PROTOERR0=$(xfrm_stat "$NS_B" XfrmInStateProtoError)
	NSICV0=$(ns_drop_icv "$NS_B")
}
moved() { echo $(($(stat_now "$1") - ${S0[$1]})); }

# sa NS SRC DST SPI KEY [offload DEV in|out]: one transport-mode SA.
sa() {
	local ns=$1 src=$2 dst=$3 spi=$4 key=$5
	shift 5
	ip -n "$ns" xfrm state add src "$src" dst "$dst" proto esp spi "$spi" \
		reqid 5 mode transport aead "$GCM" "$key" 128 "$@"
}

# policies: all traffic between A and B through reqid 5.
policies() {
	ip -n "$NS_A" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir out \
		tmpl proto esp reqid 5 mode transport &&
	ip -n "$NS_A" xfrm policy add src 192.0.2.2 dst 192.0.2.1 dir in \
		tmpl proto esp reqid 5 mode transport &&
	ip -n "$NS_B" xfrm policy add src 192.0.2.2 dst 192.0.2.1 dir out \
		tmpl proto esp reqid 5 mode transport &&
	ip -n "$NS_B" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir in \
		tmpl proto esp reqid 5 mode transport
}

# SAs of A (OFF_A: offload them to enic0) and B (OFF_B: to enic1).
sas() {
	local off_a=$1 off_b=$2
	sa "$NS_A" 192.0.2.1 192.0.2.2 0x5001 "$KEY_AB" \
		${off_a:+offload dev enic0 dir out} &&
	sa "$NS_A" 192.0.2.2 192.0.2.1 0x5002 "$KEY_BA" \
		${off_a:+offload dev enic0 dir in} &&
	sa "$NS_B" 192.0.2.1 192.0.2.2 0x5001 "$KEY_AB" \
		${off_b:+offload dev enic1 dir in} &&
	sa "$NS_B" 192.0.2.2 192.0.2.1 0x5002 "$KEY_BA" \
		${off_b:+offload dev enic1 dir out} &&
	policies
}

# offloaded NS SPI: `ip xfrm state` shows the SA offloaded to a device.
offloaded() {
	ip -n "$1" xfrm state list spi "$2" | grep -q 'offload parameters: dev enic'
}

sas_offloaded() {
	offloaded "$NS_A" 0x5001 && offloaded "$NS_A" 0x5002 &&
	offloaded "$NS_B" 0x5001 && offloaded "$NS_B" 0x5002
}

# transfer NAME PORT: A sends the payload to B over TCP, then B to A.
transfer() {
	busywait 15000 ping_ok "$NS_A" 192.0.2.2 1
	ksft_check "$1: TCP A->B, sha256 matches" \
		tcp_transfer "$NS_A" "$NS_B" 192.0.2.2 "$PAYLOAD" "$2"
	ksft_check "$1: TCP B->A, sha256 matches" \
		tcp_transfer "$NS_B" "$NS_A" 192.0.2.1 "$PAYLOAD" $(($2 + 1))
}

# xsa NS SRC DST SPI KEY MODE DEV DIR: one SA of reqid 6, offloaded.
xsa() {
	ip -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid 6 \
		mode "$6" aead "$GCM" "$5" 128 offload dev "$7" dir "$8"
}

# xpol NS SRC DST DIR MODE TSRC TDST: one policy of reqid 6.
xpol() {
	ip -n "$1" xfrm policy add src "$2" dst "$3" dir "$4" \
		tmpl src "$6" dst "$7" proto esp reqid 6 mode "$5"
}

# offload_case NAME MODE OUTER_A OUTER_B SEL_A SEL_B PORT: both sides
# offloaded, a TCP transfer from A to SEL_B.
offload_case() {
	local name=$1 mode=$2 a=$3 b=$4 sa=$5 sb=$6 port=$7
	snapshot
	if xsa "$NS_A" "$a" "$b" 0x6001 "$KEY_AB" "$mode" enic0 out &&
	   xsa "$NS_A" "$b" "$a" 0x6002 "$KEY_BA" "$mode" enic0 in &&
	   xsa "$NS_B" "$a" "$b" 0x6001 "$KEY_AB" "$mode" enic1 in &&
	   xsa "$NS_B" "$b" "$a" 0x6002 "$KEY_BA" "$mode" enic1 out &&
	   xpol "$NS_A" "$sa" "$sb" out "$mode" "$a" "$b" &&
	   xpol "$NS_A" "$sb" "$sa" in "$mode" "$b" "$a" &&
	   xpol "$NS_B" "$sb" "$sa" out "$mode" "$b" "$a" &&
	   xpol "$NS_B" "$sa" "$sb" in "$mode" "$a" "$b"; then
		busywait 15000 ping_ok "$NS_A" "$sb" 1
		ksft_check "$name: TCP A->B, sha256 matches" \
			tcp_transfer "$NS_A" "$NS_B" "$sb" "$PAYLOAD" "$port"
		ksft_diag "$name: enic0 tx $(moved a_tx) rx $(moved a_rx), enic1 tx" \
			"$(moved b_tx) rx $(moved b_rx); software tx_packets $(moved m_tx_packets)"
		ksft_check "$name: the NICs did the crypto both ways, none in software" \
			test "$(moved a_tx)" -gt 0 -a "$(moved b_rx)" -gt 0 \
			-a "$(moved b_tx)" -gt 0 -a "$(moved a_rx)" -gt 0 \
			-a "$(moved m_tx_packets)" = 0
	else
		ksft_fail "$name: SAs and policies installed"
		ksft_fail "$name: SAs and policies installed"
	fi
	xfrm_flush "$NS_A" "$NS_B"
}

flush_deferred() {
	local cpu
	for cpu in $(seq 0 $(($(nproc) - 1))); do
		taskset -c "$cpu" ip netns exec "$NS_A" ping -q -c 1 -W 1 192.0.2.2 >/dev/null
	done
}

ksft_plan 47
dmesg_mark
module_load offload_type=1 || ksft_skip_all "cannot load esp_offload offload_type=1"
insmod "$NIC_KO" max_sas=2 || ksft_skip_all "cannot load espo_nic.ko"
netns_new NS_A a && netns_new NS_B b || ksft_skip_all "namespaces"
ip link set enic0 netns "$NS_A" && ip link set enic1 netns "$NS_B" ||
	ksft_skip_all "cannot move enic0/enic1 into namespaces"
ip -n "$NS_A" addr add 192.0.2.1/24 dev enic0
ip -n "$NS_B" addr add 192.0.2.2/24 dev enic1
ip -n "$NS_A" addr add 2001:db8::1/64 dev enic0 nodad
ip -n "$NS_B" addr add 2001:db8::2/64 dev enic1 nodad
ip -n "$NS_A" link set enic0 up
ip -n "$NS_B" link set enic1 up
# Tunnel mode: traffic between A's and B's loopback addresses.
ip -n "$NS_A" addr add 10.1.0.1/32 dev lo
ip -n "$NS_A" addr add fd01::1/128 dev lo
ip -n "$NS_B" addr add 10.2.0.1/32 dev lo
ip -n "$NS_B" addr add fd02::1/128 dev lo
ip -n "$NS_A" route add 10.2.0.1/32 via 192.0.2.2 src 10.1.0.1
ip -n "$NS_A" route add fd02::1/128 via 2001:db8::2 src fd01::1
ip -n "$NS_B" route add 10.1.0.1/32 via 192.0.2.1 src 10.2.0.1
ip -n "$NS_B" route add fd01::1/128 via 2001:db8::1 src fd02::1
ksft_check "enic0 has esp-hw-offload on" eval \
	"ip netns exec $NS_A ethtool -k enic0 | grep -q '^esp-hw-offload: on'"

# --- both sides offloaded ---------------------------------------------------
snapshot
if sas 1 1; then
	ksft_check "offloaded: ip xfrm state shows all four SAs offloaded" sas_offloaded
	transfer "offloaded" 5501
	ksft_diag "offloaded: enic0 tx $(moved a_tx) rx $(moved a_rx), enic1 tx $(moved b_tx)" \
		"rx $(moved b_rx); module tx_device $(moved m_tx_device) rx_device" \
		"$(moved m_rx_device) software tx_packets $(moved m_tx_packets)"
	ksft_check "offloaded: enic0 encrypted, enic1 decrypted (A->B)" \
		test "$(moved a_tx)" -gt 0 -a "$(moved b_rx)" -gt 0
	ksft_check "offloaded: enic1 encrypted, enic0 decrypted (B->A)" \
		test "$(moved b_tx)" -gt 0 -a "$(moved a_rx)" -gt 0
	ksft_check "offloaded: module left crypto to the NICs (tx_device, rx_device), none in software" \
		test "$(moved m_tx_device)" -gt 0 -a "$(moved m_rx_device)" -gt 0 \
		-a "$(moved m_tx_packets)" = 0
	ksft_check "offloaded: SA packet counts in debugfs" eval \
		"grep -q 'spi 0x00005001 dir out .* packets [1-9]' /sys/kernel/debug/espo_nic/enic0"

	# Per-packet fallback: the NIC refuses packets over 500 bytes.
	snapshot
	echo 500 > $NIC_PARAMS/ok_max_len
	ip netns exec "$NS_A" ping -q -c 3 -i 0.2 -s 1000 -W 2 192.0.2.2 >/dev/null
	ok=$?
	echo 0 > $NIC_PARAMS/ok_max_len
	ksft_check "offload_ok refusal: large pings pass, encrypted in software" \
		test "$ok" = 0 -a "$(moved a_okno)" -gt 0 -a "$(moved m_tx_packets)" -ge 3
	ksft_check "offload_ok refusal: enic1 still decrypted them" \
		test "$(moved b_rx)" -ge 3

	# An ICV the NIC corrupts: the offloaded receiver reports it failed.
	snapshot
	sa_icv0=$(sa_drop_icv "$NS_B" 0x00005001)
	echo 2 > $NIC_PARAMS/corrupt_icv
	ip netns exec "$NS_A" ping -q -c 4 -i 0.2 -W 1 192.0.2.2 >/dev/null
	ksft_eq "ICV corruption: enic0 corrupted 2" 2 "$(moved a_corrupt)"
	ksft_eq "ICV corruption: enic1 ipsec_rx_drop_auth counted 2" 2 "$(moved b_auth)"
	ksft_eq "ICV corruption: XfrmInStateProtoError counted 2" 2 \
		$(($(xfrm_stat "$NS_B" XfrmInStateProtoError) - PROTOERR0))
	# The module counts what the NIC reported, before the core drops it.
	ksft_eq "ICV corruption: module drop_icv counted 2" 2 "$(moved m_drop_icv)"
	ksft_eq "ICV corruption: drop_icv 2 on B's SA 0x5001 and in B's namespace" "2 2" \
		"$(($(sa_drop_icv "$NS_B" 0x00005001) - sa_icv0)) $(($(ns_drop_icv "$NS_B") - NSICV0))"
else
	for _ in $(seq 14); do ksft_fail "offloaded: SAs and policies installed"; done
fi
xfrm_flush "$NS_A" "$NS_B"

# --- IPv6, tunnel mode ------------------------------------------------------
offload_case "transport v6" transport 2001:db8::1 2001:db8::2 2001:db8::1 2001:db8::2 5531
offload_case "tunnel v4" tunnel 192.0.2.1 192.0.2.2 10.1.0.1 10.2.0.1 5541
offload_case "tunnel v6" tunnel 2001:db8::1 2001:db8::2 fd01::1 fd02::1 5551

# --- ESN across 2^32, both sides offloaded ----------------------------------
# The NIC puts the high half in the AAD itself: from the core's output
# counter on TX, from xfrm_replay_seqhi on RX (advance_esn is counted).
esn_sa() {
	ip -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid 5 \
		mode transport aead "$GCM" "$5" 128 flag esn replay-window 128 \
		replay-seq 0xffffffc0 replay-oseq 0xffffffc0 offload dev "$6" dir "$7"
}
NICSTAT[b_esn]="B enic1 ipsec_esn_advance"
snapshot
if esn_sa "$NS_A" 192.0.2.1 192.0.2.2 0x5001 "$KEY_AB" enic0 out &&
   esn_sa "$NS_A" 192.0.2.2 192.0.2.1 0x5002 "$KEY_BA" enic0 in &&
   esn_sa "$NS_B" 192.0.2.1 192.0.2.2 0x5001 "$KEY_AB" enic1 in &&
   esn_sa "$NS_B" 192.0.2.2 192.0.2.1 0x5002 "$KEY_BA" enic1 out && policies; then
	transfer "esn" 5561
	ksft_diag "esn: enic0 tx $(moved a_tx), enic1 rx $(moved b_rx) advance_esn" \
		"$(moved b_esn); software tx_packets $(moved m_tx_packets)"
	ksft_check "esn: sender's oseq-hi is 1" eval \
		"ip -n $NS_A xfrm state list spi 0x5001 | grep -q 'oseq-hi 0x1'"
	ksft_check "esn: the NICs did the crypto across the wrap, none in software" \
		test "$(moved a_tx)" -gt 64 -a "$(moved b_rx)" -gt 64 \
		-a "$(moved b_esn)" -gt 0 -a "$(moved m_tx_packets)" = 0
else
	for _ in 1 2 3 4; do ksft_fail "esn: SAs and policies installed"; done
fi
xfrm_flush "$NS_A" "$NS_B"

# --- A offloaded, B in software ---------------------------------------------
snapshot
if sas 1 ""; then
	ksft_check "mixed: A offloaded, B not" eval \
		"offloaded $NS_A 0x5001 && offloaded $NS_A 0x5002 && ! offloaded $NS_B 0x5001"
	transfer "mixed" 5511
	ksft_diag "mixed: enic0 tx $(moved a_tx) rx $(moved a_rx), enic1 tx $(moved b_tx)" \
		"rx $(moved b_rx); module software tx_packets $(moved m_tx_packets)"
	ksft_check "mixed: enic0 did the crypto both ways, enic1 none" \
		test "$(moved a_tx)" -gt 0 -a "$(moved a_rx)" -gt 0 \
		-a "$(moved b_tx)" = 0 -a "$(moved b_rx)" = 0
	ksft_check "mixed: B encrypted in software" test "$(moved m_tx_packets)" -gt 0
else
	for _ in $(seq 5); do ksft_fail "mixed: SAs and policies installed"; done
fi
xfrm_flush "$NS_A" "$NS_B"

# --- beyond max_sas ---------------------------------------------------------
# Two SAs that nothing uses fill enic0's table (max_sas=2); A's real SAs
# then ask for offload and are refused: they run in software.
snapshot
if sa "$NS_A" 192.0.2.1 192.0.2.9 0x5901 "$KEY_AB" offload dev enic0 dir out &&
   sa "$NS_A" 192.0.2.1 192.0.2.8 0x5902 "$KEY_AB" offload dev enic0 dir out &&
   sas 1 1; then
	ksft_check "max_sas: the filler SAs are offloaded" eval \
		"offloaded $NS_A 0x5901 && offloaded $NS_A 0x5902"
	ksft_check "max_sas: A's SAs installed without offload, B's offloaded" eval \
		"! offloaded $NS_A 0x5001 && ! offloaded $NS_A 0x5002 && offloaded $NS_B 0x5001"
	ksft_eq "max_sas: enic0 refused 2 SAs" 2 "$(moved a_refused)"
	transfer "max_sas" 5521
	ksft_check "max_sas: enic0 did no crypto, A encrypted in software, enic1 decrypted" \
		test "$(moved a_tx)" = 0 -a "$(moved a_rx)" = 0 \
		-a "$(moved m_tx_packets)" -gt 0 -a "$(moved b_rx)" -gt 0
else
	for _ in $(seq 6); do ksft_fail "max_sas: SAs and policies installed"; done
fi
ksft_check "max_sas: the refusal is logged" eval \
	"dmesg_since | grep -q 'SA refused: SA table full'"
xfrm_flush "$NS_A" "$NS_B"

flush_deferred
netns_cleanup
nic_unload
ksft_check "espo_nic unloads" eval "! module_loaded espo_nic"

# --- pairs=2: two NICs at once ----------------------------------------------
# Out-of-range pair counts are refused with a message. Then enic0/enic1
# and enic2/enic3 carry one offloaded transfer each, at the same time:
# each device's ethtool -S counts only its own pair's traffic (what one
# end encrypted, its peer decrypted, and no more; each SA table holds its
# pair's SAs only).
dmesg_mark
ksft_check "pairs=0 and pairs=9 refused, with a message" eval \
	"! insmod $NIC_KO pairs=0 2>/dev/null && ! insmod $NIC_KO pairs=9 2>/dev/null &&
	 dmesg_since | grep -q 'pairs=9 refused: 1 to 8 device pairs'"
# pair2_sas NS P A|B DEV: the SAs (offloaded to DEV) and policies of pair
# P (0 or 1) on side A or B.
pair2_sas() {
	local ns=$1 p=$2 side=$3 dev=$4 a b spi dir_ab dir_ba
	a=198.18.$p.1 b=198.18.$p.2 spi=$((0x7001 + p * 16))
	[ "$side" = A ] && dir_ab=out dir_ba=in || dir_ab=in dir_ba=out
	ip -n "$ns" xfrm state add src $a dst $b proto esp spi $spi reqid $((10 + p)) \
		mode transport aead "$GCM" "$KEY_AB" 128 offload dev "$dev" dir $dir_ab &&
	ip -n "$ns" xfrm state add src $b dst $a proto esp spi $((spi + 1)) \
		reqid $((10 + p)) mode transport aead "$GCM" "$KEY_BA" 128 \
		offload dev "$dev" dir $dir_ba || return 1
	[ "$side" = B ] && { a=198.18.$p.2 b=198.18.$p.1; }
	ip -n "$ns" xfrm policy add src $a dst $b dir out \
		tmpl proto esp reqid $((10 + p)) mode transport &&
	ip -n "$ns" xfrm policy add src $b dst $a dir in \
		tmpl proto esp reqid $((10 + p)) mode transport
}
# sas_packets DEV DIR: the packets of DEV's offloaded SAs of one direction.
sas_packets() {
	awk -v d="$2" '$6 == d { n += $NF } END { print n + 0 }' \
		"/sys/kernel/debug/espo_nic/$1"
}
# p2_read: every device's counters now, in P2_<counter>_<device> and
# P2_out_/P2_in_<device> (its SAs' packets per direction).
p2_read() {
	local d ns c
	for d in 0 1 2 3; do
		ns=$NS_A
		[ $((d % 2)) = 1 ] && ns=$NS_B
		for c in ipsec_tx_pkts ipsec_rx_pkts ipsec_sa_add; do
			printf -v "P2_${c}_$d" %s "$(nic_stat "$ns" enic$d $c)"
		done
		printf -v "P2_out_$d" %s "$(sas_packets enic$d out)"
		printf -v "P2_in_$d" %s "$(sas_packets enic$d in)"
	done
}
# p2_settled: read, and each end's encryptions match its peer's decryptions.
p2_settled() {
	p2_read
	[ "$P2_ipsec_tx_pkts_0" = "$P2_ipsec_rx_pkts_1" ] &&
	[ "$P2_ipsec_tx_pkts_1" = "$P2_ipsec_rx_pkts_0" ] &&
	[ "$P2_ipsec_tx_pkts_2" = "$P2_ipsec_rx_pkts_3" ] &&
	[ "$P2_ipsec_tx_pkts_3" = "$P2_ipsec_rx_pkts_2" ]
}
if insmod "$NIC_KO" pairs=2 && netns_new NS_A a && netns_new NS_B b &&
   ip link set enic0 netns "$NS_A" && ip link set enic2 netns "$NS_A" &&
   ip link set enic1 netns "$NS_B" && ip link set enic3 netns "$NS_B"; then
	for p in 0 1; do
		ip -n "$NS_A" addr add 198.18.$p.1/24 dev enic$((2 * p))
		ip -n "$NS_B" addr add 198.18.$p.2/24 dev enic$((2 * p + 1))
		ip -n "$NS_A" link set enic$((2 * p)) up
		ip -n "$NS_B" link set enic$((2 * p + 1)) up
	done
	if pair2_sas "$NS_A" 0 A enic0 && pair2_sas "$NS_B" 0 B enic1 &&
	   pair2_sas "$NS_A" 1 A enic2 && pair2_sas "$NS_B" 1 B enic3 &&
	   busywait 15000 ping_ok "$NS_A" 198.18.0.2 1 &&
	   busywait 15000 ping_ok "$NS_A" 198.18.1.2 1; then
		# 100 kB over pair 0, 200 kB over pair 1, so that the counts
		# differ (CI's time is short: no more than that).
		PAYLOAD1=$PAYLOAD.1 PAYLOAD2=$PAYLOAD.2
		on_exit rm -f "$PAYLOAD1" "$PAYLOAD2"
		head -c 100000 "$PAYLOAD" > "$PAYLOAD1"
		head -c 200000 "$PAYLOAD" > "$PAYLOAD2"
		tcp_transfer "$NS_A" "$NS_B" 198.18.1.2 "$PAYLOAD2" 5571 &
		pid=$!
		tcp_transfer "$NS_A" "$NS_B" 198.18.0.2 "$PAYLOAD1" 5570
		ok0=$?
		wait $pid
		ok1=$?
		ksft_check "pairs=2: TCP over both pairs at once, sha256 matches" \
			test "$ok0" = 0 -a "$ok1" = 0
		# The counters settle once the last ACKs are through.
		busywait 10000 p2_settled
		ksft_diag "pairs=2: tx/rx enic0 $P2_ipsec_tx_pkts_0/$P2_ipsec_rx_pkts_0" \
			"enic1 $P2_ipsec_tx_pkts_1/$P2_ipsec_rx_pkts_1" \
			"enic2 $P2_ipsec_tx_pkts_2/$P2_ipsec_rx_pkts_2" \
			"enic3 $P2_ipsec_tx_pkts_3/$P2_ipsec_rx_pkts_3"
		ksft_check "pairs=2: every device did crypto both ways, two SAs each" \
			test "$P2_ipsec_tx_pkts_0" -gt 0 -a "$P2_ipsec_rx_pkts_0" -gt 0 \
			-a "$P2_ipsec_tx_pkts_1" -gt 0 -a "$P2_ipsec_rx_pkts_1" -gt 0 \
			-a "$P2_ipsec_tx_pkts_2" -gt 0 -a "$P2_ipsec_rx_pkts_2" -gt 0 \
			-a "$P2_ipsec_tx_pkts_3" -gt 0 -a "$P2_ipsec_rx_pkts_3" -gt 0 \
			-a "$P2_ipsec_sa_add_0$P2_ipsec_sa_add_1$P2_ipsec_sa_add_2$P2_ipsec_sa_add_3" = 2222
		ksft_check "pairs=2: what each end encrypted, its own peer decrypted" \
			test "$P2_ipsec_tx_pkts_0" = "$P2_ipsec_rx_pkts_1" \
			-a "$P2_ipsec_tx_pkts_1" = "$P2_ipsec_rx_pkts_0" \
			-a "$P2_ipsec_tx_pkts_2" = "$P2_ipsec_rx_pkts_3" \
			-a "$P2_ipsec_tx_pkts_3" = "$P2_ipsec_rx_pkts_2" \
			-a "$P2_ipsec_tx_pkts_0" != "$P2_ipsec_tx_pkts_2"
		ksft_check "pairs=2: each device's counters are its own SAs' packets" \
			test "$P2_ipsec_tx_pkts_0" = "$P2_out_0" -a "$P2_ipsec_rx_pkts_0" = "$P2_in_0" \
			-a "$P2_ipsec_tx_pkts_1" = "$P2_out_1" -a "$P2_ipsec_rx_pkts_1" = "$P2_in_1" \
			-a "$P2_ipsec_tx_pkts_2" = "$P2_out_2" -a "$P2_ipsec_rx_pkts_2" = "$P2_in_2" \
			-a "$P2_ipsec_tx_pkts_3" = "$P2_out_3" -a "$P2_ipsec_rx_pkts_3" = "$P2_in_3"
		ksft_check "pairs=2: each SA table holds its own pair's SAs only" eval \
			"! grep -q 'spi 0x0000701[12]' /sys/kernel/debug/espo_nic/enic0 &&
			 ! grep -q 'spi 0x0000701[12]' /sys/kernel/debug/espo_nic/enic1 &&
			 ! grep -q 'spi 0x0000700[12]' /sys/kernel/debug/espo_nic/enic2 &&
			 ! grep -q 'spi 0x0000700[12]' /sys/kernel/debug/espo_nic/enic3"
	else
		for _ in $(seq 5); do ksft_fail "pairs=2: SAs and policies installed"; done
	fi
	xfrm_flush "$NS_A" "$NS_B"
else
	for _ in $(seq 5); do ksft_fail "pairs=2: espo_nic loaded, devices in namespaces"; done
fi
for cpu in $(seq 0 $(($(nproc) - 1))); do
	taskset -c "$cpu" ip netns exec "$NS_A" ping -q -c 1 -W 1 198.18.0.2 >/dev/null
done
netns_cleanup
nic_unload
ksft_check "pairs=2: espo_nic unloads, no device left" eval \
	"! module_loaded espo_nic && ! ip link show enic3 >/dev/null 2>&1"
ksft_check "stock esp4/esp6 never loaded" stock_esp_absent
ksft_check "dmesg clean" dmesg_clean
ksft_exit
