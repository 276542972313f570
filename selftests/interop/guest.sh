#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One side of selftests/esp_interop.sh, run inside a VM:
#   guest.sh module|stock
# "module" (192.0.2.x side "a") runs esp_offload, "stock" (side "b") the
# kernel's esp4/esp6. Every variant gets its own addresses and SPIs so
# that one boot carries the whole matrix at once. Each side sends a file
# to the other per variant and judges what it receives; results are TAP
# lines in $RESULTS/tap.
#
# The NIC variants (nic-*) put the test NIC espo_nic on side a's path:
# enic1 and eth0 are ports of a bridge br0 (which takes over eth0's
# addresses), enic0 sits in a namespace of its own ($NICNS) with the
# variants' addresses, SAs offloaded to it and sockets. espo_nic does the
# AES-GCM of those SAs on enic0 (TX and RX), side b the stock ESP in
# software: the two must agree to the byte. They run in a phase of their
# own, before the others, so that side a can show that its module did
# no software crypto then (module-wide counters), and afterwards that
# enic0 processed at least as many packets as the core counted on each
# of their SAs.
#
# The two sides never guess at each other's progress: each publishes its
# state ("setup", "ready", "nicsent", "nicdone", "sent", "done" or
# "failed: why") on a control port over addresses no policy covers, and
# each step waits, with a bound, for the peer to reach the state it
# needs. A side that cannot go on says "failed" (the peer stops at once)
# and exits 3; the host then stops the other VM too.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
role=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
trap - EXIT

tap=$RESULTS/tap
: > "$tap"
state=/tmp/interop-state
echo setup > "$state"
[ "$role" = module ] && me=a peer=b || me=b peer=a
ctl_me=10.99.0.$([ $me = a ] && echo 1 || echo 2)
ctl_peer=10.99.0.$([ $me = a ] && echo 2 || echo 1)
CTL_PORT=5990
NICNS=espo-nic

# abort WHY: tell the peer, record it, stop.
abort() {
	echo "failed: $*" > "$state"
	echo "not ok - interop $role side: $*" >> "$tap"
	echo "# $role side aborted: $*"
	# No wait for the peer: the host stops it as soon as this VM exits 3.
	exit 3
}

# The test NIC built for the running kernel, as lib.sh's pick_ko
# finds esp_offload.ko.
nic_pick_ko() {
	local k=$REPO/selftests/espo_nic/espo_nic.ko
	if [ "$(modinfo -F vermagic "$k" 2>/dev/null | cut -d' ' -f1)" != "$(uname -r)" ] &&
	   [ -e "$REPO/.build/ko/$(uname -r)/espo_nic.ko" ]; then
		k=$REPO/.build/ko/$(uname -r)/espo_nic.ko
	fi
	echo "$k"
}

# nic_setup: espo_nic loaded, enic0 in $NICNS, br0 bridging enic1 and
# eth0 (no STP, no multicast snooping: every frame floods or forwards
# at once). Prints why when it fails.
nic_setup() {
	local ko
	ko=$(nic_pick_ko)
	[ -e "$ko" ] || { echo "espo_nic.ko not built for $(uname -r) (make KVER=$(uname -r))"; return 1; }
	insmod "$ko" max_sas=8 || { echo "insmod espo_nic failed"; return 1; }
	ip netns add $NICNS && ip -n $NICNS link set lo up &&
	ip netns exec $NICNS sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 &&
	ip link set enic0 netns $NICNS && ip -n $NICNS link set enic0 up &&
	ip link add br0 type bridge forward_delay 0 mcast_snooping 0 &&
	ip link set eth0 master br0 && ip link set enic1 master br0 &&
	ip link set enic1 up && ip link set br0 up ||
		{ echo "cannot set up br0 (eth0, enic1) and enic0 in $NICNS"; return 1; }
}

# The control channel: plain TCP on addresses that no policy covers,
# answering every connection with this side's state. Side a's addresses
# are on br0 (eth0 is its port).
sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
	net.ipv6.conf.eth0.accept_dad=0
ip link set eth0 up
lan=eth0 nic_err=
if [ "$role" = module ]; then
	nic_err=$(nic_setup 2>&1) && lan=br0
fi
ip addr add "$ctl_me/24" dev $lan
socat TCP-LISTEN:$CTL_PORT,fork,reuseaddr SYSTEM:"cat $state" 2>/dev/null &

# peer_state: the peer's published state (empty if it does not answer).
peer_state() {
	socat -T 5 -u "TCP:$ctl_peer:$CTL_PORT,connect-timeout=2" - 2>/dev/null
}

# wait_peer STATE... TIMEOUT_S: until the peer is in one of the states;
# a peer that failed ends this side at once.
wait_peer() {
	local t=${*: -1} st start w
	set -- "${@:1:$#-1}"
	t=$(scale "$t")
	start=$(date +%s)
	while true; do
		st=$(peer_state)
		case $st in
		failed*) echo "not ok - interop $role side: the peer $st" >> "$tap"
			 echo "# the peer $st"; exit 3 ;;
		esac
		for w in "$@"; do
			[ "$st" = "$w" ] && return 0
		done
		if [ $(($(date +%s) - start)) -ge "$t" ]; then
			abort "the peer never reached '$*' within $t s (last state: '${st:-no answer}')"
		fi
		sleep 0.5
	done
}

[ "$lan" = br0 ] || [ "$role" != module ] || abort "test NIC: $nic_err"
if [ "$role" = module ]; then
	insmod "$MODULE_KO" || abort "insmod esp_offload failed"
else
	modprobe esp4 && modprobe esp6 || abort "modprobe esp4/esp6 failed"
fi

GCM='rfc4106(gcm(aes))'
K128=${KEY256:0:42}
# name mode outer inner esn alg key icv extra
VARIANTS=(
	"transport-v4 transport 4 - no $GCM $KEY256 128"
	"transport-v4-esn transport 4 - yes $GCM $KEY256 128"
	"transport-v6 transport 6 - no $GCM $K128 128"
	"transport-v6-esn transport 6 - yes $GCM $KEY256 128"
	"tunnel-4in4 tunnel 4 4 no $GCM $KEY256 128"
	"tunnel-4in4-esn tunnel 4 4 yes $GCM $K128 128"
	"tunnel-6in6 tunnel 6 6 no $GCM $KEY256 128"
	"tunnel-6in6-esn tunnel 6 6 yes $GCM $KEY256 128"
	"tunnel-4in6 tunnel 6 4 no $GCM $KEY256 128"
	"tunnel-4in6-esn tunnel 6 4 yes $GCM $KEY256 96"
	"tunnel-6in4 tunnel 4 6 no $GCM $KEY256 128"
	"tunnel-6in4-esn tunnel 4 6 yes $GCM $K128 64"
	"gmac-transport-v4 transport 4 - no rfc4543(gcm(aes)) $KEY256 128"
	"tfc-tunnel-4in4 tunnel 4 4 no $GCM $KEY256 128 tfcpad 1000"
	"natt-transport-v4 transport 4 - no $GCM $KEY256 128 encap espinudp 4500 4500 0.0.0.0"
	"nic-transport-v4 transport 4 - no $GCM $KEY256 128"
	"nic-transport-v6-esn transport 6 - yes $GCM $K128 128"
	"nic-tunnel-4in4 tunnel 4 4 no $GCM $KEY256 128"
	"nic-tunnel-6in6 tunnel 6 6 no $GCM $KEY256 128"
)
# nic I: variant I goes through espo_nic on side a.
nic() { [[ ${VARIANTS[$1]} == nic-* ]]; }
# on I CMD...: CMD where variant I lives on this side (side a's NIC
# variants in $NICNS).
on() {
	local i=$1
	shift
	if [ $me = a ] && nic "$i"; then
		ip netns exec $NICNS "$@"
	else
		"$@"
	fi
}

# addr SIDE FAMILY KIND INDEX: outer or inner address of a side.
addr() {
	local n=$(($4 + 10)) s
	[ "$1" = a ] && s=1 || s=2
	case $2$3 in
	4outer) echo 192.0.2.$((s * 100 + $4)) ;;
	6outer) echo 2001:db8::$s:$n ;;
	4inner) [ $s = 1 ] && echo 198.51.100.$n || echo 203.0.113.$n ;;
	6inner) echo 2001:db8:$s::$n ;;
	esac
}

setup_variant() {
	local i=$1 name mode of inf esn alg key icv extra
	read -r name mode of inf esn alg key icv extra <<< "${VARIANTS[$i]}"
	local oa ob ia ib plen flags= spi=$((0x1000 + i * 2)) dev=$lan off_ab= off_ba=
	oa=$(addr a $of outer $i) ob=$(addr b $of outer $i)
	[ $of = 4 ] && plen=24 || plen=64
	# Side a's NIC variants: a->b is enic0's outbound SA, b->a its inbound.
	if [ $me = a ] && nic $i; then
		dev=enic0 off_ab="offload dev enic0 dir out" off_ba="offload dev enic0 dir in"
	fi
	on $i ip addr add "$(addr $me $of outer $i)/$plen" dev $dev nodad 2>/dev/null ||
		on $i ip addr add "$(addr $me $of outer $i)/$plen" dev $dev
	[ "$esn" = yes ] && flags="flag esn replay-window 128 replay-seq 0xfffffff0 replay-oseq 0xfffffff0"
	[ "$mode" = tunnel ] && flags="$flags flag af-unspec"
	on $i ip xfrm state add src "$oa" dst "$ob" proto esp spi $spi reqid $((i + 1)) mode "$mode" \
		aead "$alg" "$key" "$icv" $flags $extra $off_ab || return 1
	on $i ip xfrm state add src "$ob" dst "$oa" proto esp spi $((spi + 1)) reqid $((i + 1)) \
		mode "$mode" aead "$alg" "$key" "$icv" $flags $extra $off_ba || return 1
	if [ "$mode" = tunnel ]; then
		ia=$(addr a $inf inner $i) ib=$(addr b $inf inner $i)
	else
		ia=$oa ib=$ob
	fi
	local mine=$ia theirs=$ib om=$oa ot=$ob
	[ $me = b ] && mine=$ib theirs=$ia om=$ob ot=$oa
	if [ "$mode" = tunnel ]; then
		on $i ip addr add "$mine" dev lo
		on $i ip route add "$theirs" dev $dev src "$mine"
	fi
	on $i ip xfrm policy add src "$mine" dst "$theirs" dir out \
		tmpl src "$om" dst "$ot" proto esp reqid $((i + 1)) mode "$mode" &&
	on $i ip xfrm policy add src "$theirs" dst "$mine" dir in \
		tmpl src "$ot" dst "$om" proto esp reqid $((i + 1)) mode "$mode"
	echo "$theirs" > "/tmp/peer.$i"
	echo "$mine" > "/tmp/mine.$i"
}

# NAT-T needs what an IKE daemon would hold: a UDP_ENCAP socket on 4500,
# with per-socket policies that let its datagrams bypass the SPD (as
# lib.sh's espinudp_socket): the core checks the inbound policy before
# the socket's ESP hook, and the variant's policy covers all traffic
# between its two addresses, the ESP-in-UDP datagrams too.
/usr/bin/python3 -c '
import signal, socket, struct
INF = (1 << 64) - 1
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in (0, 1):            # XFRM_POLICY_IN, XFRM_POLICY_OUT: allow, no template
    sel = struct.pack("@16s16sHHHHHBBBiI", b"", b"", 0, 0, 0, 0,
                      socket.AF_INET, 0, 0, 0, 0, 0)
    pol = sel + struct.pack("@8Q4QIIBBBBxxxx", *([INF] * 8), 0, 0, 0, 0,
                            0, 0, d, 0, 0, 0)
    s.setsockopt(socket.IPPROTO_IP, 17, pol)    # IP_XFRM_POLICY
s.bind(("0.0.0.0", 4500))
s.setsockopt(socket.IPPROTO_UDP, 100, 2)        # UDP_ENCAP: ESPINUDP
signal.pause()' &

n=${#VARIANTS[@]}
for ((i = 0; i < n; i++)); do
	setup_variant $i || abort "set-up of variant ${VARIANTS[$i]%% *} failed"
done
make_payload /tmp/data 150000 42 || abort "no payload"
want=$(sha256sum < /tmp/data)

# Listeners: variant i arrives on port 6000+i; all must listen before
# this side says it is ready.
for ((i = 0; i < n; i++)); do
	on $i socat -u TCP-LISTEN:$((6000 + i)),reuseaddr,pf=ip6,ipv6only=0 \
		OPEN:/tmp/recv.$i,creat,trunc 2>/dev/null &
done
listening() {
	[ "$({ ss -Htln; [ $me = b ] || ip netns exec $NICNS ss -Htln; } |
	     grep -c ':60[0-9][0-9] ')" -ge "$n" ]
}
slowwait 30 listening || abort "the $n listeners did not come up"

# The module's counters before any ESP packet (side a): nic_phase_check
# compares with them.
mstat() { awk -v n="$1" '$1 == n { print $2 }' /sys/kernel/debug/esp_offload/stats; }
# nic_stat NAME: one of enic0's ethtool -S counters.
nic_stat() {
	ip netns exec $NICNS ethtool -S enic0 |
		awk -v n="$1:" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'
}
declare -A M0
if [ $me = a ]; then
	for c in tx_packets rx_packets tx_device rx_device; do M0[$c]=$(mstat $c); done
	for c in ipsec_tx_pkts ipsec_rx_pkts; do M0[$c]=$(nic_stat $c); done
fi
echo ready > "$state"
echo "# $role side ready"
t_ready=$(date +%s)

# Both sides ready (the peer may already have moved on to sending).
wait_peer ready nicsent nicdone 600

# send I: the file to the peer over variant I, from this side's address
# of the variant: the policies cover those two addresses only, and the
# source address the kernel would pick among the many on the link is
# not always the variant's (then the data would go unprotected).
send() {
	local i=$1 dst src tries
	dst=$(cat "/tmp/peer.$i") src=$(cat "/tmp/mine.$i")
	case $dst in *:*) dst="[$dst]" src="[$src]" ;; esac
	# The peer listens already; a retry only covers neighbour discovery
	# and a lost first SYN, each attempt bounded.
	for tries in 1 2 3; do
		on $i timeout "$(scale 120)" socat -u OPEN:/tmp/data \
			"TCP:$dst:$((6000 + i)),bind=$src,connect-timeout=$(scale 20)" 2>/dev/null &&
			return 0
	done
	return 1
}
# send_all nic|other: send the files of the NIC variants, or the others.
send_all() {
	local i
	for ((i = 0; i < n; i++)); do
		if nic $i; then [ "$1" = nic ] || continue; else [ "$1" = other ] || continue; fi
		if ! send $i; then
			echo "# variant $i (${VARIANTS[$i]%% *}): could not send to the peer" >> "$tap"
			echo "not ok - interop ${VARIANTS[$i]%% *} $me->$peer: send" >> "$tap"
		fi
	done
}

# nic_received: every NIC variant's file arrived whole.
nic_received() {
	local i
	for ((i = 0; i < n; i++)); do
		nic $i || continue
		[ "$(sha256sum < /tmp/recv.$i)" = "$want" ] || return 1
	done
}

# nic_phase_check: side a, at the end of the NIC phase (only NIC
# variants' traffic so far): the module encrypted nothing in software
# (tx_packets), decrypted nothing in software (every packet it received
# came decrypted by the device: rx_packets moved as rx_device), handed
# packets to the device both ways, and enic0 counted its crypto.
nic_phase_check() {
	local c
	declare -A d
	for c in tx_packets rx_packets tx_device rx_device; do
		d[$c]=$(($(mstat $c) - M0[$c]))
	done
	for c in ipsec_tx_pkts ipsec_rx_pkts; do
		d[$c]=$(($(nic_stat $c) - M0[$c]))
	done
	NIC_TX=${d[ipsec_tx_pkts]} NIC_RX=${d[ipsec_rx_pkts]}
	local what="module tx_packets +${d[tx_packets]} rx_packets +${d[rx_packets]} tx_device +${d[tx_device]} rx_device +${d[rx_device]}; enic0 ipsec_tx_pkts +$NIC_TX ipsec_rx_pkts +$NIC_RX"
	echo "# NIC phase: $what" >> "$tap"
	if [ "${d[tx_packets]}" = 0 ] && [ "${d[rx_packets]}" = "${d[rx_device]}" ] &&
	   [ "${d[tx_device]}" -gt 0 ] && [ "${d[rx_device]}" -gt 0 ] &&
	   [ "$NIC_TX" -ge "${d[tx_device]}" ] && [ "$NIC_RX" -ge "${d[rx_device]}" ]; then
		echo "ok - interop NIC phase: espo_nic did the crypto, the module none in software ($what)" >> "$tap"
	else
		echo "not ok - interop NIC phase: espo_nic did the crypto, the module none in software ($what)" >> "$tap"
	fi
}

# The NIC phase: both sides send the NIC variants' files, and neither
# sends anything else until side a has read its counters.
send_all nic
echo nicsent > "$state"
echo "# $role side sent the NIC variants"
wait_peer nicsent nicdone 900
if [ $me = a ]; then
	slowwait 60 nic_received ||
		echo "# NIC phase: not every NIC variant's file arrived in time" >> "$tap"
	nic_phase_check
	echo "# NIC phase: $(($(date +%s) - t_ready)) s from ready to the counters read" >> "$tap"
fi
echo nicdone > "$state"
wait_peer nicdone sent done 900

send_all other
echo sent > "$state"
echo "# $role side sent"
echo "# $role side: $(($(date +%s) - t_ready)) s from ready to sent" >> "$tap"

# sa_packets: the packets count of `ip -s xfrm state` (one SA) on stdin.
sa_packets() {
	awk '/lifetime current:/ { c = 1; next }
	     c && /\(bytes\)/ { gsub(/[(),]/, " "); print $3 + 0; exit }'
}

# Judge what arrived, once the peer says it has sent everything: the
# file whole, and this side's inbound SA of the variant counted packets
# (the data came through ESP, not around it).
wait_peer sent done 900
for ((i = 0; i < n; i++)); do
	name=${VARIANTS[$i]%% *}
	spi_in=$((0x1000 + i * 2))
	[ $me = a ] && spi_in=$((spi_in + 1))
	whole= pk=
	slowwait 30 bash -c "[ \"\$(sha256sum < /tmp/recv.$i)\" = '$want' ]" && whole=1
	pk=$(on $i ip -s xfrm state list spi $spi_in | sa_packets)
	if [ -n "$whole" ] && [ "${pk:-0}" -gt 0 ]; then
		echo "ok - interop $name $peer->$me ($([ $me = a ] && echo stock-\>module || echo module-\>stock))" >> "$tap"
	else
		[ -n "$whole" ] ||
			echo "# $name: received $(stat -c %s /tmp/recv.$i 2>/dev/null || echo no) bytes, sha256 $(sha256sum < /tmp/recv.$i 2>/dev/null | cut -c1-16), want $(stat -c %s /tmp/data) bytes ${want:0:16}" >> "$tap"
		[ "${pk:-0}" -gt 0 ] ||
			echo "# $name: inbound SA $(printf 0x%08x $spi_in) counted no packet: the data did not come through ESP" >> "$tap"
		echo "not ok - interop $name $peer->$me" >> "$tap"
	fi
done
# nic_sa_check I: side a, NIC variant I: on each of its two SAs enic0
# processed at least the packets the core counted (TX: encrypted, RX:
# decrypted and verified), and some.
nic_sa_check() {
	local i=$1 spi=$((0x1000 + $1 * 2)) name=${VARIANTS[$1]%% *} out in nout nin
	out=$(ip -n $NICNS -s xfrm state list spi $spi | sa_packets)
	in=$(ip -n $NICNS -s xfrm state list spi $((spi + 1)) | sa_packets)
	nout=$(awk -v s="$(printf 'spi 0x%08x dir out' $spi)" 'index($0, s) { print $NF }' \
		/sys/kernel/debug/espo_nic/enic0)
	nin=$(awk -v s="$(printf 'spi 0x%08x dir in' $((spi + 1)))" 'index($0, s) { print $NF }' \
		/sys/kernel/debug/espo_nic/enic0)
	local what="SA out $out packets, enic0 encrypted ${nout:-none}; SA in $in, enic0 decrypted ${nin:-none}"
	if [ "${out:-0}" -gt 0 ] && [ "${in:-0}" -gt 0 ] &&
	   [ "${nout:-0}" -ge "$out" ] && [ "${nin:-0}" -ge "$in" ]; then
		echo "ok - interop $name: enic0 did the crypto of both SAs ($what)" >> "$tap"
	else
		echo "not ok - interop $name: enic0 did the crypto of both SAs ($what)" >> "$tap"
	fi
}
if [ $me = a ]; then
	for ((i = 0; i < n; i++)); do
		nic $i && nic_sa_check $i
	done
fi

# Who did the work on this side.
if [ "$role" = module ]; then
	if ! grep -qE '^esp(4|6) ' /proc/modules &&
	   [ "$(awk '$1 == "rx_packets" { print $2 }' /sys/kernel/debug/esp_offload/stats)" -gt 0 ]; then
		echo "ok - module side: esp_offload did the work, esp4/esp6 never loaded" >> "$tap"
	else
		echo "not ok - module side: esp_offload did the work, esp4/esp6 never loaded" >> "$tap"
	fi
else
	if grep -qE '^esp4 ' /proc/modules && grep -qE '^esp6 ' /proc/modules; then
		echo "ok - stock side: esp4 and esp6 did the work" >> "$tap"
	else
		echo "not ok - stock side: esp4 and esp6 did the work" >> "$tap"
	fi
fi
ip -s xfrm state > "$RESULTS/xfrm-state.txt"
if [ $me = a ]; then
	{ echo "# in $NICNS (enic0)"; ip -n $NICNS -s xfrm state; } >> "$RESULTS/xfrm-state.txt"
	ip netns exec $NICNS ethtool -S enic0 > "$RESULTS/enic0-ethtool.txt"
	cat /sys/kernel/debug/espo_nic/enic0 > "$RESULTS/enic0-sas.txt"
fi
cat /proc/net/xfrm_stat > "$RESULTS/xfrm_stat.txt"

# Stay up (and answering) until the peer has judged too, or is gone (it
# only powers off after judging; this side's results are written).
echo done > "$state"
slowwait 300 eval 'st=$(peer_state); [ "$st" = done ] || [ -z "$st" ]'
exit 0
