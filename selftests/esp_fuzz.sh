#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fuzz: malformed ESP and ESP-in-UDP (RFC 3948, port 4500) packets, built
# outside the kernel by selftests/esp_fuzz.py (with esp_inject.py's
# builder) from a seed, are sent from namespace A to B on raw sockets in
# one process while TCP transfers (sha256-checked) run A->B over the very
# SAs being fuzzed: one plain ESP SA and one ESP-in-UDP SA.
#
#   FUZZ_SEED=N   the seed (default: random; always printed)
#   FUZZ_COUNT=N  packets of the main phase (default 3000: the systematic
#                 set below plus random mutations up to N); the churn
#                 phase sends N/10 more (at least 300)
#
# The systematic set: truncation at every offset (ESP and ESP-in-UDP),
# every bit of every field flipped after sealing (SPI, sequence number,
# IV, ciphertext, ICV; for ESP-in-UDP also the UDP header), pad length and
# padding flipped before sealing (valid ICV), pad lengths 0-255 with a
# valid ICV (padding bytes wrong, pad length past the payload, and legal),
# every next header 0-255 with a valid ICV, a one-byte and an empty
# payload, 64 KiB datagrams (sent fragmented) and hand-built IP fragments
# of ESP (in reverse order, an 8-byte first fragment, overlapping, one
# missing). Random mutations fill up the count: bit flips, cuts and
# extensions (also fragmented at random), and random trailers sealed with
# a valid ICV. Then the churn phase sends broken packets for an SA that is
# deleted and added again at the same time (ip -batch).
#
# The generator predicts what becomes of every packet; the test checks
# every counter against it (esp_fuzz.py CLASSES):
#   module stats drop_icv/truncated/padlen/padding/dummy = its classes
#     (drop_nomem/crypto/toobig must not move), and the same per SA in
#     debugfs "sas" for the ESP and the ESP-in-UDP SA;
#   XfrmInStateProtoError = the sum of those five (every module refusal);
#   ip -s xfrm state "failed" (integrity_failed) = the ICV failures per SA;
#   XfrmInNoStates = flipped SPIs + next headers 50, 51, 108 (the core
#     parses the decrypted payload as one more ESP/AH/IPComp header);
#   XfrmInHdrError = ESP shorter than its 8-byte header;
#   XfrmInStateSeqError is only reported (see there: the TCP stream's own
#     reordering can move it; no fuzz packet is ever below the window);
#   UDP InCsumErrors / InErrors = broken UDP headers of ESP-in-UDP;
#   ESP-in-UDP of 8 bytes or less reaches the port-4500 socket (RFC 3948
#     2.2: not ESP) and is counted there; of 9-19 bytes the kernel's
#     xfrm4_udp_encap_rcv frees it without counting (its "packet is too
#     small" test compares the length from the UDP header with the IP
#     header's), so those must simply move nothing;
#   IP ReasmOKs / ReasmOverlaps / ReasmTimeout = the fragment cases;
#   packets that must decrypt (legal padding, next headers other than 59,
#     the tiny and 64 KiB ones) use a third "side" SA with the same key:
#     on the traffic SA they would move its replay window past the TCP
#     stream's own sequence numbers. Its packet count must equal theirs,
#     and the listener must get exactly the datagrams predicted (next
#     header 17 and the legal paddings), each once, and nothing else.
# The TCP transfers must all arrive intact, and the kernel log stay clean
# (also checked by vm-run for the whole boot).
. "$(dirname "$0")/lib.sh"

require_cmd socat ss
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
	ksft_skip_all "python3-cryptography missing"
SEED=${FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}
COUNT=${FUZZ_COUNT:-3000}
CHURN=$((COUNT / 10 < 300 ? 300 : COUNT / 10))
FUZZ="/usr/bin/python3 $REPO/selftests/esp_fuzz.py"
KEY=${KEY256:2}
A=192.0.2.1 B=192.0.2.2
# SPIs at least two bits apart: no single flip turns one into another.
SPI=0x0000a001 SPI_R=0x00005a01 NATT=0x0000c004 NATT_R=0x00005c04
SIDE=0x0000b002 CHURN_SPI=0x0000d008
W=/tmp/esp_fuzz.work.$SUFFIX
mkdir -p "$W"
on_exit rm -rf "$W"
on_exit module_unload

ksft_diag "FUZZ_SEED=$SEED FUZZ_COUNT=$COUNT (churn $CHURN)"
[ -n "${FUZZ_PROBE:-}" ] && ksft_plan 27 || ksft_plan 28
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
pair_topology || ksft_skip_all "topology"
NETNS_B=$(stat -L -c %i "/run/netns/$NS_B")
test_payload 2000000 11 || ksft_skip_all "cannot write the payload"

# --- SAs and policies --------------------------------------------------------
# TCP to port 5201 uses the ESP SA (reqid 1), to 5202 the ESP-in-UDP SA
# (reqid 2); UDP to the listener (9999) must come through some ESP SA.
sa() { ip -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid "$5" \
	mode transport replay-window 32 aead "$GCM" "$KEY256" 128 "${@:6}"; }
pol() { ip -n "$1" xfrm policy add src "$2" dst "$3" proto "$4" "$5" "$6" dir "$7" \
	tmpl proto esp ${8:+reqid $8} mode transport; }
setup_ok=1
for ns in "$NS_A" "$NS_B"; do
	sa "$ns" $A $B $SPI 1 && sa "$ns" $B $A $SPI_R 1 &&
	sa "$ns" $A $B $NATT 2 encap espinudp 4500 4500 0.0.0.0 &&
	sa "$ns" $B $A $NATT_R 2 encap espinudp 4500 4500 0.0.0.0 || setup_ok=0
done
sa "$NS_B" $A $B $SIDE 3 || setup_ok=0
for r in "1 5201" "2 5202"; do
	set -- $r
	pol "$NS_A" $A $B tcp dport "$2" out "$1" && pol "$NS_B" $A $B tcp dport "$2" in "$1" &&
	pol "$NS_B" $B $A tcp sport "$2" out "$1" && pol "$NS_A" $B $A tcp sport "$2" in "$1" ||
		setup_ok=0
done
pol "$NS_B" $A $B udp dport 9999 in || setup_ok=0
# Incomplete fragment queues expire after 1 s instead of 30.
ip netns exec "$NS_B" sysctl -qw net.ipv4.ipfrag_time=1 || setup_ok=0
[ $setup_ok = 1 ] || ksft_skip_all "SA or policy set-up failed"

# --- sockets: the listener, and the ESP-in-UDP sockets (port 4500) ------------
# sink NS [LISTEN]: a UDP_ENCAP_ESPINUDP socket on 4500 (it counts what
# it receives: RFC 3948 non-ESP datagrams) and, with LISTEN, the UDP
# listener on 9999 that writes the first word of each datagram.
sink() {
	ip netns exec "$1" /usr/bin/python3 -c '
import select, socket, sys
e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
e.bind(("0.0.0.0", 4500))
e.setsockopt(socket.IPPROTO_UDP, 100, 2)    # UDP_ENCAP, ESPINUDP
socks = [e]
if len(sys.argv) > 2:
    l = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    l.bind((sys.argv[2], 9999))
    socks.append(l)
ike = 0
while True:
    for s in select.select(socks, [], [])[0]:
        d = s.recv(65536)
        if s is e:
            ike += 1
            with open(sys.argv[1] + ".ike", "w") as f:
                f.write("%d\n" % ike)
        else:
            with open(sys.argv[1] + ".got", "a") as f:
                f.write((d[:64].split() or [b"-"])[0].decode("ascii", "replace") + "\n")
' "$2" "${3:-}" &
}
sink "$NS_A" "$W/a"
sink "$NS_B" "$W/b" $B
SINK_B=$!
# FUZZ_PROBE=1: no traffic, and the generator checks the counters after
# every packet, printing each surprise (slow; for debugging the model).
PROBE=${FUZZ_PROBE:+--probe-pid $SINK_B}
udp_bound() { [ -n "$(ip netns exec "$1" ss -Hlun "sport = :$2")" ]; }
wait_for "ESP-in-UDP sockets and listener" 60 eval \
	'udp_bound "$NS_A" 4500 && udp_bound "$NS_B" 4500 && udp_bound "$NS_B" 9999' ||
	ksft_skip_all "sockets did not start"

# --- counters ---------------------------------------------------------------------
# read_counters ARRAY: every counter checked, in one go.
read_counters() {
	local -n out=$1
	local k v
	out=()
	while read -r k v; do
		out[$k]=$v
	done < <(
		sed 's/^/m_/' /sys/kernel/debug/esp_offload/stats
		ip netns exec "$NS_B" cat /proc/net/xfrm_stat
		ip netns exec "$NS_B" awk '
			/^(Ip|Udp|IpExt):/ { p = substr($1, 1, length($1) - 1)
				if (!h[p]++) { split($0, n); next }
				for (i = 2; i <= NF; i++) print p n[i], $i }' \
			/proc/net/snmp /proc/net/netstat
		awk -v ns="$NETNS_B" '$1 == "netns" && $2 != ns { next }
			{ for (i = 1; i <= NF; i++) if ($i == "spi") s = $(i + 1)
			for (i = 1; i <= NF; i++) if ($i ~ /^drop_/) print "sa_" s "_" $i, $(i + 1)
			for (i = 1; i <= NF; i++) if ($i == "packets") { print "sa_" s "_packets", $(i + 1); break } }' \
			/sys/kernel/debug/esp_offload/sas
		for s in $SPI $NATT; do
			echo "failed_$s $(sa_field "$NS_B" $s failed)"
		done
		for s in $SPI $NATT $SIDE; do
			echo "replay_$s $(sa_field "$NS_B" $s replay)"
		done
		echo "ike $(cat "$W/b.ike" 2>/dev/null || echo 0)"
	)
}
declare -A c0 c1 exp
d() { echo $((${c1[$1]:-0} - ${c0[$1]:-0})); }

# traffic PORT: TCP transfers A->B to PORT until $W/stop exists; writes
# "good bad" to $W/tcp.PORT.
traffic() {
	local good=0 bad=0
	while [ ! -e "$W/stop" ]; do
		if tcp_transfer "$NS_A" "$NS_B" $B "$PAYLOAD" "$1"; then
			good=$((good + 1))
		else
			bad=$((bad + 1))
		fi
	done
	echo "$good $bad" > "$W/tcp.$1"
}

# --- main phase --------------------------------------------------------------------
read_counters c0
[ -z "$PROBE" ] || touch "$W/stop"
ip netns exec "$NS_A" $FUZZ main --seed "$SEED" --count "$COUNT" --out "$W/main" \
	--key "$KEY" --spi $SPI --side-spi $SIDE --natt-spi $NATT --churn-spi $CHURN_SPI \
	--go-file "$W/go" --min-seconds 6 $PROBE > "$W/gen.out" &
gen=$!
wait_for "generator to build its packets" $((120 + COUNT / 200)) grep -q built "$W/gen.out"
start=$(date +%s)
traffic 5201 &
t1=$!
traffic 5202 &
t2=$!
# Send once TCP flows on both SAs (their packet counts at B move).
sa_pk() { sa_field "$NS_B" "$1" packets; }
p1=$(sa_pk $SPI) p2=$(sa_pk $NATT)
wait_for "TCP on both fuzzed SAs" 60 eval '[ -n "$PROBE" ] ||
	[ $(($(sa_pk $SPI) - p1)) -ge 20 -a $(($(sa_pk $NATT) - p2)) -ge 20 ]'
p1=$(sa_pk $SPI) p2=$(sa_pk $NATT)
touch "$W/go"
wait $gen
rc=$?
q1=$(($(sa_pk $SPI) - p1)) q2=$(($(sa_pk $NATT) - p2))
ksft_diag "TCP packets that arrived on the SAs while the fuzzer sent: ESP $q1, ESP-in-UDP $q2"
touch "$W/stop"
ksft_eq "generator sent every packet" 0 "$rc"
if [ "$rc" != 0 ]; then
	wait $t1 $t2
	ksft_exit
fi
while read -r k v; do exp[$k]=$v; done < <(grep -v '^tag \|^sa ' "$W/main")
ksft_diag "main phase: ${exp[total]} packets (${exp[systematic]} systematic, ${exp[ip_packets]} IP packets) built in ${exp[build_s]} s, sent in ${exp[send_s]} s"
ksft_diag "classes: $(grep -v '^tag \|^sa ' "$W/main" | awk '$2 && NR <= 16' | tr '\n' ' ')"
# The TCP transfers stop after the one under way: bounded by tcp_transfer.
wait $t1 $t2
read -r g1 b1 < "$W/tcp.5201"
read -r g2 b2 < "$W/tcp.5202"
ksft_diag "TCP transfers during the fuzzing: ESP $g1 good $b1 bad, ESP-in-UDP $g2 good $b2 bad"
ksft_check "TCP over the fuzzed ESP SA: every transfer intact (sha256)" \
	test "$b1" = 0 -a "$g1" -ge 1
ksft_check "TCP over the fuzzed ESP-in-UDP SA: every transfer intact (sha256)" \
	test "$b2" = 0 -a "$g2" -ge 1
[ -n "$PROBE" ] || ksft_check "TCP flowed on both fuzzed SAs while the fuzzer sent" \
	test "$q1" -gt 0 -a "$q2" -gt 0

module_drops_want=$((exp[icv] + exp[trunc] + exp[padlen] + exp[padding] + exp[dummy]))
module_drops() {
	echo $(($(d m_drop_icv) + $(d m_drop_truncated) + $(d m_drop_padlen) + \
		$(d m_drop_padding) + $(d m_drop_dummy)))
}
settled() {
	read_counters c1
	[ "$(module_drops)" -ge "$module_drops_want" ] &&
		[ "$(d IpReasmTimeout)" -ge "${exp[timeout]}" ] &&
		[ "$(d ike)" -ge "${exp[ike]}" ] &&
		[ "$(grep -c '^FZ' "$W/b.got" 2>/dev/null)" -ge "$(grep -c '^tag ' "$W/main")" ]
}
wait_for "every fuzz packet counted" 60 settled
read_counters c1

# check_eq NAME WANT COUNTER: a counter moved by exactly WANT.
check_eq() { ksft_eq "$1 ($3 moved by $2)" "$2" "$(d "$3")"; }
check_eq "ICV failures counted" "${exp[icv]}" m_drop_icv
check_eq "truncated packets counted" "${exp[trunc]}" m_drop_truncated
check_eq "pad length past the payload counted" "${exp[padlen]}" m_drop_padlen
check_eq "wrong padding bytes counted" "${exp[padding]}" m_drop_padding
check_eq "dummy packets (next header 59) counted" "${exp[dummy]}" m_drop_dummy
ksft_eq "no drop for memory, crypto errors or size" "0 0 0" \
	"$(d m_drop_nomem) $(d m_drop_crypto) $(d m_drop_toobig)"
check_eq "every module refusal is an xfrm protocol error" "$module_drops_want" XfrmInStateProtoError
check_eq "flipped SPIs and inner IPsec headers find no SA" "$((exp[nostate] + exp[nh_ipsec]))" XfrmInNoStates
check_eq "shorter than an ESP header" "${exp[hdr]}" XfrmInHdrError
# Not checked, reported: replay-window drops. No fuzz packet can be one
# (the exact counts above account for every one of them), but TCP
# segments can: the sender's packets enter the receiving CPU's backlog
# from whichever of the two vCPUs it runs on, and under a loaded host
# two backlogs can deliver them out of order by more than the window
# of 32 (the 100,000-packet run saw 4).
ksft_diag "XfrmInStateSeqError moved by $(d XfrmInStateSeqError) (replay drops: ESP SA $(d replay_$SPI), ESP-in-UDP SA $(d replay_$NATT), side SA $(d replay_$SIDE)); rx_async by $(d m_rx_async)"
check_eq "ESP-in-UDP: broken UDP checksums" "${exp[udp_csum]}" UdpInCsumErrors
check_eq "ESP-in-UDP: all UDP errors" "$((exp[udp_csum] + exp[udp_short]))" UdpInErrors
check_eq "ESP-in-UDP: 8 bytes or less go to the socket (RFC 3948)" "${exp[ike]}" ike
check_eq "fragments: datagrams reassembled" "${exp[reasm]}" IpReasmOKs
check_eq "fragments: overlaps dropped" "${exp[overlap]}" IpExtReasmOverlaps
check_eq "fragments: incomplete datagrams expired" "${exp[timeout]}" IpReasmTimeout
check_eq "side SA: every packet that must decrypt did" "${exp[side_seq]}" "sa_${SIDE}_packets"

# Per SA: the module's drops by reason and the core's ICV failures.
per_sa_ok=1
for s in $SPI $NATT; do
	for c in icv:drop_icv trunc:drop_truncated padlen:drop_padlen padding:drop_padding \
		dummy:drop_dummy; do
		want=$(awk -v s="$s" -v c="${c%%:*}" '$1 == "sa" && $2 == s && $3 == c { print $4 }' "$W/main")
		got=$(d "sa_${s}_${c#*:}")
		[ "${want:-0}" = "$got" ] ||
			{ per_sa_ok=0; ksft_diag "SA $s: ${c#*:} moved by $got, want ${want:-0}"; }
	done
	want=$(awk -v s="$s" '$1 == "sa" && $2 == s && $3 == "icv" { print $4 }' "$W/main")
	[ "${want:-0}" = "$(d failed_$s)" ] ||
		{ per_sa_ok=0; ksft_diag "SA $s: ip -s xfrm state failed moved by $(d failed_$s), want ${want:-0}"; }
done
ksft_check "per SA: debugfs drops and xfrm 'failed' match the packets sent to each" \
	test $per_sa_ok = 1

# Delivery: exactly the predicted datagrams, each once.
sort "$W/b.got" | grep '^FZ' > "$W/got.sorted"
awk '$1 == "tag" { print $2 }' "$W/main" | sort > "$W/want.sorted"
extra=$(comm -23 "$W/got.sorted" "$W/want.sorted" | head -5)
missing=$(comm -13 "$W/got.sorted" "$W/want.sorted" | head -5)
[ -z "$extra" ] || ksft_diag "delivered but malformed or twice: $extra"
[ -z "$missing" ] || ksft_diag "not delivered: $missing"
ksft_check "listener got exactly the $(wc -l < "$W/want.sorted") valid datagrams, nothing malformed" \
	test -z "$extra$missing"
ksft_diag "rx_packets moved by $(d m_rx_packets) (TCP and the side SA), natt_remap by $(d m_natt_remap)"
check_eq "no NAT-T remapping from broken packets" 0 m_natt_remap

# --- churn: broken packets for an SA deleted and added again meanwhile -------------
churn_sa() {
	echo "xfrm state add src $A dst $B proto esp spi $CHURN_SPI reqid 4 mode transport replay-window 32 aead $GCM $KEY256 128"
}
{
	for i in $(seq 400); do
		echo "xfrm state delete src $A dst $B proto esp spi $CHURN_SPI"
		churn_sa
	done
} > "$W/churn.batch"
churn_sa | ip -n "$NS_B" -batch -
read_counters c0
rm -f "$W/stop"
(
	while [ ! -e "$W/stop" ]; do
		ip -n "$NS_B" -force -batch "$W/churn.batch" 2>/dev/null
	done
) &
cpid=$!
on_exit "kill $cpid"
ip netns exec "$NS_A" $FUZZ churn --seed "$SEED" --count "$CHURN" --out "$W/churn" \
	--key "$KEY" --spi $CHURN_SPI --side-spi $SIDE --natt-spi $NATT --pace 1
rc=$?
touch "$W/stop"
wait $cpid
ksft_eq "churn: generator sent every packet" 0 "$rc"
churn_total=$(awk '$1 == "total" { print $2 }' "$W/churn")
churn_sum() {
	read_counters c1
	echo $(($(module_drops) + $(d XfrmInNoStates) + $(d XfrmInStateInvalid)))
}
busywait 30000 test "$(churn_sum)" -ge "$churn_total"
read_counters c1
ksft_diag "churn: $churn_total packets: module drops $(module_drops) (icv $(d m_drop_icv), padding $(d m_drop_padding)), no SA $(d XfrmInNoStates), SA dying $(d XfrmInStateInvalid)"
ksft_eq "churn: every packet dropped by the module or for want of an SA" \
	"$churn_total" "$(churn_sum)"
ksft_eq "churn: nothing delivered" 0 "$(grep -c churn "$W/b.got")"
ksft_check "churn: packets met the SA both present and absent" \
	test "$(module_drops)" -gt 0 -a "$(d XfrmInNoStates)" -gt 0

ksft_check "dmesg clean" dmesg_clean
ksft_diag "duration $(($(date +%s) - start)) s"
ksft_exit
