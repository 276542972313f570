#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nonce and key hygiene.
#
# AES-GCM breaks if one (key, IV) pair is used twice. Both directions of
# a manually keyed SA pair often share one key, and an SA re-added with
# its old key (after a flush, a reboot, a failover) starts its sequence
# numbers again at 1. The wire is captured while both directions carry
# traffic, then again after every SA is flushed and re-added with the
# same keys and SPIs: no explicit IV may appear twice, and each SA's IVs
# must be its sequence numbers XOR one value of its own (RFC 4106 3.1
# needs uniqueness only; the per-SA value makes SAs under one key
# disjoint).
#
# Keys never reach a view or a log: the key bytes appear neither in the
# module's debugfs files nor in the kernel log. The per-SA view is read
# without pause while SAs are added and flushed (the core frees an SA's
# algorithm before the module's destructor runs; the view must not read
# it then: on a KASAN kernel a use-after-free fails the run).
. "$(dirname "$0")/lib.sh"

CAP=/tmp/esp_nonce.$SUFFIX
on_exit rm -f "$CAP" "$CAP.ready"
on_exit module_unload
K160=${KEY256:0:42}
ROUNDS=${NONCE_CHURN_ROUNDS:-8}

# capture_start: record every ESP packet seen on A's veth0 (both
# directions) as "spi seq iv" lines in $CAP, until killed.
capture_start() {
	rm -f "$CAP" "$CAP.ready"
	ip netns exec "$NS_A" /usr/bin/python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("veth0", 0))
open(sys.argv[2], "w").close()
out = open(sys.argv[1], "w", buffering=1)
while True:
    f = s.recv(65535)
    eth = int.from_bytes(f[12:14], "big")
    if eth == 0x0800 and f[23] == 50:
        esp = f[14 + (f[14] & 15) * 4:]
    elif eth == 0x86dd and f[20] == 50:
        esp = f[54:]
    else:
        continue
    out.write("%s %d %s\n" % (esp[0:4].hex(), int.from_bytes(esp[4:8], "big"),
                              esp[8:16].hex()))' "$CAP" "$CAP.ready" &
	CAP_PID=$!
	on_exit "kill $CAP_PID 2>/dev/null"
	wait_for "ESP capture on veth0" 30 test -e "$CAP.ready"
}

# captured N: at least N packets recorded.
captured() { [ "$(wc -l < "$CAP")" -ge "$1" ]; }

sas_up() {
	esp_transport_pair 192.0.2.1 192.0.2.2 0x4001 0x4002 -- \
		aead "$GCM" "$K160" 128 &&
	ip -n "$NS_A" xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp \
		spi 0x4003 reqid 9 mode transport aead "$GCM" "$K160" 128 flag esn replay-window 128 &&
	ip -n "$NS_B" xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp \
		spi 0x4003 reqid 9 mode transport aead "$GCM" "$K160" 128 flag esn replay-window 128 &&
	ip -n "$NS_A" xfrm state add src 2001:db8::2 dst 2001:db8::1 proto esp \
		spi 0x4004 reqid 9 mode transport aead "$GCM" "$K160" 128 flag esn replay-window 128 &&
	ip -n "$NS_B" xfrm state add src 2001:db8::2 dst 2001:db8::1 proto esp \
		spi 0x4004 reqid 9 mode transport aead "$GCM" "$K160" 128 flag esn replay-window 128 &&
	ip -n "$NS_A" xfrm policy add src 2001:db8::1 dst 2001:db8::2 dir out \
		tmpl proto esp reqid 9 mode transport &&
	ip -n "$NS_A" xfrm policy add src 2001:db8::2 dst 2001:db8::1 dir in \
		tmpl proto esp reqid 9 mode transport &&
	ip -n "$NS_B" xfrm policy add src 2001:db8::2 dst 2001:db8::1 dir out \
		tmpl proto esp reqid 9 mode transport &&
	ip -n "$NS_B" xfrm policy add src 2001:db8::1 dst 2001:db8::2 dir in \
		tmpl proto esp reqid 9 mode transport
}

ksft_plan 9
pair_topology || ksft_skip_all "topology"
module_load || ksft_skip_all "cannot load esp_offload"
dmesg_mark
capture_start || ksft_skip_all "no packet capture"

# Epoch 1, then every SA flushed and re-added with the same key: the
# four SAs of each epoch share one key, so all eight must stay apart.
# Each epoch sends at least 20 ESP packets (5 pings each way per family).
ok=1
for epoch in 1 2; do
	sas_up || { ok=0; break; }
	ping_ok "$NS_A" 192.0.2.2 5 && ping_ok "$NS_B" 2001:db8::1 5 || ok=0
	wait_for "$((epoch * 20)) ESP packets captured" 30 \
		captured $((epoch * 20)) || ok=0
	[ $epoch = 1 ] && xfrm_flush "$NS_A" "$NS_B"
done
kill $CAP_PID 2>/dev/null
ksft_check "traffic in both directions, before and after the SAs were re-added" test $ok = 1

n=$(wc -l < "$CAP")
dup=$(awk '{ print $3 }' "$CAP" | sort | uniq -d | head -3)
ksft_check "no explicit IV repeats among $n packets of 8 SAs under one key" \
	test "$n" -ge 40 -a -z "$dup"
[ -z "$dup" ] || ksft_diag "repeated IVs: $dup"

# IV XOR sequence number (its low 32 bits; ESN high bits are 0 here) is
# the SA's mask: two per SPI (one per epoch), eight in all, none zero.
masks=$(/usr/bin/python3 -c '
import sys
m = {}
for line in open(sys.argv[1]):
    spi, seq, iv = line.split()
    m.setdefault(spi, set()).add(int(iv, 16) ^ int(seq))
allm = set().union(*m.values()) if m else set()
print(" ".join("%s:%d" % (k, len(v)) for k, v in sorted(m.items())),
      "| all %d zero %d" % (len(allm), 0 in allm))
' "$CAP")
ksft_diag "masks per SPI: $masks"
ksft_eq "each SA's IVs are its sequence numbers XOR a random value of its own" \
	"00004001:2 00004002:2 00004003:2 00004004:2 | all 8 zero 0" "$masks"

ksft_check "receivers accepted every packet (no integrity failures)" \
	test "$(xfrm_stat "$NS_A" XfrmInStateProtoError)" = 0 -a \
	     "$(xfrm_stat "$NS_B" XfrmInStateProtoError)" = 0

# Keys: the 128-bit key and the salt, in any case, nowhere to be seen.
key=${K160:2:32} salt=${K160:34:8}
ksft_check "the key is not in debugfs stats or sas" \
	bash -c "! cat /sys/kernel/debug/esp_offload/stats /sys/kernel/debug/esp_offload/sas |
		grep -qiE '$key|$salt'"
ksft_check "the per-SA view lists all 8 SAs of this test" \
	test "$(grep -c ' spi 0x0000400[1-4] ' /sys/kernel/debug/esp_offload/sas)" = 8

# The view read without pause while SAs come and go: two readers re-read
# it in a loop while rounds of 128 SAs (NAT-T and GMAC) are added in one
# batch and flushed. Before the view copied what it prints, this read
# freed memory on every round (KASAN, make check-debug); the core frees
# x->aead and x->encap before the type's destructor runs.
xfrm_flush "$NS_A" "$NS_B"
for r in 1 2; do
	/usr/bin/python3 -c '
import sys
f = open(sys.argv[1])
while True:
    f.seek(0)
    f.read()' /sys/kernel/debug/esp_offload/sas &
	on_exit "kill $! 2>/dev/null"
done
ok=1
for ((i = 0; i < ROUNDS; i++)); do
	for ((j = 0; j < 64; j++)); do
		echo "xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi $((0x10000 + j))" \
			"mode tunnel aead $GCM $KEY256 128 encap espinudp 4500 4500 0.0.0.0"
		echo "xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp spi $((0x20000 + j))" \
			"mode transport aead $GMAC $K160 128"
	done > "$CAP.batch"
	ip -n "$NS_A" -batch "$CAP.batch" || ok=0
	ip -n "$NS_A" xfrm state flush
done
rm -f "$CAP.batch"
ksft_check "$ROUNDS rounds of 128 SAs added and flushed with the view read throughout" test $ok = 1
ksft_check "the kernel log holds no key bytes" \
	bash -c "! dmesg | grep -qiE '$key|$salt'"
ksft_check "dmesg clean" dmesg_clean
ksft_exit
