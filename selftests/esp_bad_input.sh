#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bad input: packets built outside the kernel (selftests/esp_inject.py,
# AES-GCM from python3-cryptography) are sent to a receiver whose SA is
# handled by esp_offload. A valid packet proves the builder right; then
# each broken packet must be dropped, counted where it belongs (module
# debugfs, /proc/net/xfrm_stat, the SA's own counters), delivered never,
# and leave the kernel log clean.
. "$(dirname "$0")/lib.sh"

require_cmd socat
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
	ksft_skip_all "python3-cryptography missing"
INJECT="/usr/bin/python3 $REPO/selftests/esp_inject.py"
KEY=${KEY256:2}
GOT=/tmp/esp_bad_input.$SUFFIX
on_exit rm -f "$GOT" "$GOT.6"
on_exit module_unload

# listener NS ADDR FILE: log every UDP datagram to port 9999 as a line.
listener() {
	ip netns exec "$1" /usr/bin/python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9999))
while True:
    d = s.recv(2048)
    with open(sys.argv[2], "ab") as f:
        f.write(d + b"\n")' "$2" "$3" &
	busywait 10000 bash -c "ip netns exec $1 ss -Hlun 'sport = :9999' | grep -q ."
}

# inject SRC DST SPI SEQ CASE [TEXT] [extra args]: one packet from A,
# through the injector started once (start_injector).
start_injector() {
	local reply
	coproc INJ { ip netns exec "$NS_A" $INJECT --stdin; }
	on_exit "kill $INJ_PID"
	# The first import of the crypto library is slow under emulation.
	read -r -t 120 reply <&"${INJ[0]}" && [ "$reply" = ready ]
}
inject() {
	local reply
	echo "$1 $2 $3 $KEY $4 $5 --text ${6:-$5-$4} ${*:7}" >&"${INJ[1]}"
	read -r -t 30 reply <&"${INJ[0]}" && [ "$reply" = sent ]
}

delivered() { grep -c "^$2\$" "$1" 2>/dev/null; }

# read_counters ARRAY: every counter the cases look at, read with as few
# processes as possible (each one is slow under emulation).
read_counters() {
	local -n out=$1
	local k v
	out=()
	while read -r k v; do
		out[$k]=$v
	done < <(
		awk '$1 ~ /^(drop_icv|drop_truncated|drop_padlen|drop_padding|drop_dummy|rx_packets)$/' \
			/sys/kernel/debug/esp_offload/stats
		ip netns exec "$NS_B" awk \
			'$1 ~ /^Xfrm(InStateProtoError|InStateSeqError|InNoStates|InHdrError)$/' \
			/proc/net/xfrm_stat
		ip -n "$NS_B" -s xfrm state list spi "$SPI" | awk '
			/lifetime current:/ { cur = 1; next }
			cur && /\(bytes\)/ { gsub(/[(),]/, " "); print "sa_packets", $3; cur = 0 }
			/^[ \t]*replay-window [0-9]+ replay [0-9]+ failed/ {
				print "sa_replay", $4; print "sa_failed", $6 }'
	)
}

declare -A before after
snapshot() { read_counters before; }
delta() { echo $((${after[$1]:-0} - ${before[$1]:-0})); }
first_moved() { read_counters after; [ "$(delta "$1")" = "$2" ]; }

# expect NAME COUNTER=DELTA...: wait for the first counter to move, then
# check every listed counter moved by exactly its delta and every other
# one not at all.
expect() {
	local name=$1 kv c want ok=1
	shift
	busywait 10000 first_moved "${1%=*}" "${1#*=}"
	read_counters after
	# A counter that could not be read fails the case, never passes it.
	for kv in "$@"; do
		c=${kv%=*}
		[ -n "${before[$c]:-}" ] && [ -n "${after[$c]:-}" ] ||
			{ ok=0; ksft_diag "$name: counter $c not readable"; }
	done
	[ ${#before[@]} -ge 10 ] || { ok=0; ksft_diag "$name: only ${#before[@]} counters read"; }
	for c in "${!before[@]}"; do
		want=0
		for kv in "$@"; do
			[ "${kv%=*}" = "$c" ] && want=${kv#*=}
		done
		[ "$(delta "$c")" = "$want" ] ||
			{ ok=0; ksft_diag "$name: $c moved by $(delta "$c"), want $want"; }
	done
	[ $ok = 1 ] && ksft_pass "$name" || ksft_fail "$name"
}

# one_case NAME SEQ CASE COUNTER=DELTA...
one_case() {
	local name=$1 seq=$2 case=$3
	shift 3
	snapshot
	inject "$SRC" "$DST" "$SPI" "$seq" "$case" "$case-$seq" "${INJ_ARGS[@]}"
	expect "$name" "$@"
	[ "$(delivered "$OUT" "$case-$seq")" = 0 ] ||
		ksft_diag "$name: payload was delivered"
}

ksft_plan 19
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
pair_topology || ksft_skip_all "topology"
ns=$NS_B
ip -n "$ns" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x8001 \
	mode transport replay-window 32 aead 'rfc4106(gcm(aes))' "$KEY256" 128
ip -n "$ns" xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp spi 0x8006 \
	mode transport replay-window 32 aead 'rfc4106(gcm(aes))' "$KEY256" 128
ip -n "$ns" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x8002 \
	mode transport flag esn replay-window 32 aead 'rfc4106(gcm(aes))' "$KEY256" 128
ip -n "$NS_B" xfrm policy add src 192.0.2.1 dst 192.0.2.2 proto udp dir in \
	tmpl proto esp mode transport
ip -n "$NS_B" xfrm policy add src 2001:db8::1 dst 2001:db8::2 proto udp dir in \
	tmpl proto esp mode transport
start_injector || ksft_skip_all "the injector did not start"
listener "$NS_B" 192.0.2.2 "$GOT"
listener "$NS_B" 2001:db8::2 "$GOT.6"

SRC=192.0.2.1 DST=192.0.2.2 SPI=0x8001 OUT=$GOT INJ_ARGS=()
snapshot
inject $SRC $DST $SPI 1 valid valid-1
expect "valid packet accepted" rx_packets=1 sa_packets=1
busywait 10000 test "$(delivered "$GOT" valid-1)" = 1
ksft_eq "valid packet delivered once" 1 "$(delivered "$GOT" valid-1)"

snapshot
inject $SRC $DST $SPI 1 valid valid-1
# expect saw the replay counted: the core dropped the packet before any
# delivery, so nothing is left in flight to wait for.
expect "replayed packet dropped" XfrmInStateSeqError=1 sa_replay=1
ksft_eq "replayed packet not delivered again" 1 "$(delivered "$GOT" valid-1)"

one_case "tampered ciphertext: ICV failure" 2 tamper-ct \
	drop_icv=1 XfrmInStateProtoError=1 sa_failed=1
one_case "tampered ICV: ICV failure" 3 tamper-icv \
	drop_icv=1 XfrmInStateProtoError=1 sa_failed=1
one_case "sequence number changed after sealing: ICV failure" 4 tamper-seq \
	drop_icv=1 XfrmInStateProtoError=1 sa_failed=1
one_case "truncated inside the ICV: ICV failure" 6 truncate-icv \
	drop_icv=1 XfrmInStateProtoError=1 sa_failed=1
one_case "truncated to header and IV" 7 truncate-hdr \
	drop_truncated=1 XfrmInStateProtoError=1
one_case "pad length beyond the payload" 8 bad-padlen \
	drop_padlen=1 XfrmInStateProtoError=1
one_case "padding bytes not 1, 2, 3" 9 bad-padding \
	drop_padding=1 XfrmInStateProtoError=1
one_case "dummy packet (next header 59) discarded" 10 dummy \
	drop_dummy=1 XfrmInStateProtoError=1

snapshot
inject $SRC $DST 0x8fff 11 valid unknown-spi
expect "unknown SPI" XfrmInNoStates=1
snapshot
inject $SRC $DST $SPI 12 short
expect "shorter than an ESP header" XfrmInHdrError=1

snapshot
inject $SRC $DST $SPI 13 valid valid-13
expect "valid packet after all that still accepted" rx_packets=1 sa_packets=1

# ESN: the high bits are authenticated (AAD) but never sent.
SPI=0x8002
INJ_ARGS=(--esn --esn-hi 1)
one_case "ESN: wrong high bits fail the ICV" 5 valid drop_icv=1 \
	XfrmInStateProtoError=1 sa_failed=1
INJ_ARGS=()
snapshot
inject $SRC $DST $SPI 5 valid esn-5 --esn --esn-hi 0
expect "ESN: right high bits accepted" rx_packets=1 sa_packets=1

# IPv6.
SRC=2001:db8::1 DST=2001:db8::2 SPI=0x8006 OUT=$GOT.6 INJ_ARGS=()
snapshot
inject $SRC $DST $SPI 1 valid v6-valid
expect "IPv6: valid packet accepted" rx_packets=1 sa_packets=1
one_case "IPv6: tampered ICV" 2 tamper-icv drop_icv=1 XfrmInStateProtoError=1 sa_failed=1
one_case "IPv6: pad length beyond the payload" 3 bad-padlen \
	drop_padlen=1 XfrmInStateProtoError=1
busywait 10000 test "$(delivered "$GOT.6" v6-valid)" = 1
ksft_eq "IPv6: valid payload delivered" 1 "$(delivered "$GOT.6" v6-valid)"

ksft_check "dmesg clean" dmesg_clean
ksft_exit
