#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Known answers: published ESP test packets, injected inbound through an
# SA set up with the vector's key, salt, SPI and (64-bit ESN vectors) the
# high half of the sequence number, must decrypt to their published
# plaintext.
#
# The vectors are the test cases of draft-mcgrew-gcm-test-01, "Test Cases
# for the use of Galois/Counter Mode (GCM) and Galois Message
# Authentication Code (GMAC) in IPsec ESP" (D. McGrew, March 2009), as the
# Linux kernel also carries them in crypto/testmgr.h
# (aes_gcm_rfc4106_tv_template from the entry marked "From
# draft-mcgrew-gcm-test-01" on, in the draft's order, and
# aes_gcm_rfc4543_tv_template); "tcN" below is the N-th of them in that
# order. Each gives key + 4-byte salt, the explicit IV, the AAD (SPI,
# sequence number, or SPI, high and low halves for ESN), the plaintext
# with its ESP trailer (padding, pad length, next header) and the
# ciphertext with its 16-byte ICV. The ESP packet sent is SPI, low 32
# bits of the sequence number, IV, ciphertext. Covered:
#   tc2  AES-128 GCM, SPI 0xa5f8, seq 10 (an IPv4 UDP packet inside)
#   tc3  AES-256 GCM, SPI 0x4a2cbfe3, seq 2 (an IPv4 TCP SYN inside)
#   tc7  AES-192 GCM, SPI 0xa5f8, seq 10
#   tc1  AES-128 GCM, 64-bit ESN 0x87654321:00000000 (low half zero)
#   tc9  AES-256 GCM, 64-bit ESN 0x156f3126:dd0db99b
#   tc14 AES-256 GCM, 64-bit ESN 0xffffffff:ffffffff (the last number)
#   tc16 AES-128 GCM, ESN 0x87654321:00000007, an ICMP echo request
#   tc12 AES-128 GCM, seq 0xffffffff, no payload at all (only padding):
#        the ICV is right, but RFC 4303 has no empty ESP payload: the
#        module refuses it as truncated (as the kernel's esp4 does)
#   gmac RFC 4543 AES-128 GMAC, SPI 0x4321, seq 7, and the same packet
#        with its ICV's last 4 bytes zeroed (the kernel's failing copy)
# Every vector's trailer says next header 1 (ICMP), so the SAs are
# transport mode and the decrypted payload is delivered as ICMP: a raw
# ICMP socket on the receiver captures it (raw delivery comes before
# icmp_rcv), and the bytes after its IP header must equal the plaintext
# less the trailer. The module's counters and the SA's must show one
# decryption, or the one expected drop.
#
# First, esp_inject.py's own builder (seal) must reproduce every published
# ciphertext from the plaintext: a typo in the table below, or a builder
# bug, fails there rather than in the kernel cases.
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
	ksft_skip_all "python3-cryptography missing"
A=192.0.2.1 B=192.0.2.2
CAP=/tmp/esp_known_answer.cap.$SUFFIX
on_exit rm -f "$CAP" "$CAP.vectors"
on_exit module_unload

# name alg key+salt spi esn-high|- seq(low) iv expect
# then the plaintext (with trailer) and the ciphertext (with ICV).
cat > "$CAP.vectors" <<'VECTORS'
tc1-aes128-esn GCM 4c80cdefbb5d10da906ac73c3613a6342e443b68 0x00004321 0x87654321 0x00000000 4956ed7e3b244cfe decrypt
   45000048699a000080114db7c0a80102c0a801010a9bf15638d301000001000000000000045f736970045f756470037369700963796265726369747902646b000021000101020201
   fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce61bc17d768fd9732459018148f6cbe722fd04796562dfdb4
tc2-aes128 GCM feffe9928665731c6d6a8f9467308308cafebabe 0x0000a5f8 - 0x0000000a facedbaddecaf888 decrypt
   4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d001000001000000000000037369700963796265726369747902646b00000100010001
   deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd183b70d3aa8bc6ee4c309e9d85a41ad4a
tc3-aes256 GCM abbccddef00112233445566778899aababbccddef00112233445566778899aab11223344 0x4a2cbfe3 - 0x00000002 0102030405060708 decrypt
   4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf0000020405b40101040201020201
   ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831824b4c4915956c96
tc7-aes192 GCM feffe9928665731c6d6a8f9467308308feffe9928665731ccafebabe 0x0000a5f8 - 0x0000000a facedbaddecaf888 decrypt
   45000028a4ad4000400678800a01038f0a010612802306b8cb712602dd6bb03e501016d075680001
   a5b1f8066029aea40e598b8122de02420938b3ab33f828e687b8858b5bfbdbd0315b27452144cc7795457b9652037f5318027b5b4cd7a636
tc9-aes256-esn GCM abbccddef00112233445566778899aababbccddef00112233445566778899aab73616c74 0x17405e67 0x156f3126 0xdd0db99b 616e640169766563 decrypt
   45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb71260250101f646d540001
   f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57ff4d3a31ce673119e451626c2415771e3b7eebca614c89b35
tc12-no-payload GCM 7d773d00c144c525ac619d18c84a3f47d9664267 0x335467ae - 0xffffffff 43457e9182443bc6 drop_truncated
   01020201
   437f866bcb3f699fe9b0822bac961c4504bef270
tc14-aes256-esn-last GCM 6c6567616c697a656d6172696a75616e61616e64646f69746265666f726569617475726e 0x796b6963 0xffffffff 0xffffffff 333021696765746d decrypt
   45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201
   f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a864cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f669368661a329fb4c053
tc16-icmp-esn GCM 4c80cdefbb5d10da906ac73c3613a63422433c64 0x00004321 0x87654321 0x00000007 4855ec7d3a234bfd decrypt
   0800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201
   74752e8aeb5d873cd7c0f4acc36c4bff84b7d7b98f0ca8b6acda6894bc619069ef9cbc28fe1b56a7c4e0d58c86cd2bc0
gmac-aes128 GMAC 4c80cdefbb5d10da906ac73c3613a63422433c64 0x00004321 - 0x00000007 0000000000000000 decrypt
   45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201
   45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201f2a9a836e155106aa8dcd618e4099aaa
gmac-bad-icv GMAC 4c80cdefbb5d10da906ac73c3613a63422433c64 0x00004321 - 0x00000007 0000000000000000 drop_icv
   45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201
   45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201f2a9a836e155106aa8dcd61800000000
VECTORS
NVEC=$(grep -c '^[a-z]' "$CAP.vectors")

ksft_plan $((1 + 2 * NVEC + 1))
dmesg_mark

# The table against esp_inject.py's builder.
out=$(/usr/bin/python3 - "$CAP.vectors" "$REPO/selftests" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import esp_inject
lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
bad = []
for h, (pt,), (ct,) in zip(lines[::3], lines[1::3], lines[2::3]):
    name, alg, key, spi, hi, lo, iv, expect = h
    esp = esp_inject.seal(bytes.fromhex(key), int(spi, 16), int(lo, 16),
                          bytes.fromhex(pt), esn=hi != '-',
                          esn_hi=0 if hi == '-' else int(hi, 16),
                          iv=bytes.fromhex(iv), gmac=alg == 'GMAC')
    if (esp[16:].hex() == ct) != (expect != 'drop_icv'):
        bad.append(name)
print(' '.join(bad))
PY
)
ksft_eq "esp_inject.py's builder reproduces every published ciphertext" "" "$out"

module_load || ksft_skip_all "cannot load esp_offload"
pair_topology || ksft_skip_all "topology"
# The receiver's capture: every ICMP packet it gets, bytes after the IP
# header, as a hex line.
ip netns exec "$NS_B" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
while True:
    d = s.recv(65536)
    with open(sys.argv[1], "a") as f:
        f.write(d[(d[0] & 15) * 4:].hex() + "\n")' "$CAP" &
# A ping from A proves the capture is up (and is captured itself).
: > "$CAP"
wait_for "the capture socket" 60 eval \
	'ip netns exec "$NS_A" ping -q -c 1 -W 1 $B >/dev/null; [ -s "$CAP" ]' ||
	ksft_skip_all "capture did not start"

# One sender for every vector (the interpreter starts slowly under TCG).
coproc INJ { ip netns exec "$NS_A" /usr/bin/python3 "$REPO/selftests/esp_inject.py" \
	--raw-stdin $A $B; }
on_exit "kill $INJ_PID"
read -r -t "$(scale 120)" reply <&"${INJ[0]}" && [ "$reply" = ready ] ||
	ksft_skip_all "the sender did not start"
inject() {
	local reply
	echo "$1" >&"${INJ[1]}"
	read -r -t "$(scale 30)" reply <&"${INJ[0]}" && [ "$reply" = sent ]
}

stat_of() { awk -v n="$1" '$1 == n { print $2 }' /sys/kernel/debug/esp_offload/stats; }
counters() { echo "$(stat_of rx_packets) $(stat_of drop_icv) $(stat_of drop_truncated)"; }

while read -r name alg key spi hi lo iv expect; do
	read -r pt
	read -r ct
	esn=()
	if [ "$hi" != - ]; then
		# Put the window so that the vector's low half infers its high
		# half (RFC 4303 Appendix A): just below it, or just below the
		# previous high half's end when the low half is small.
		if [ $((lo)) -ge 16 ]; then
			esn=(flag esn replay-seq-hi "$hi" replay-seq $((lo - 16)))
		else
			esn=(flag esn replay-seq-hi $((hi - 1)) replay-seq 0xfffffff0)
		fi
	fi
	[ "$alg" = GMAC ] && aead=$GMAC || aead=$GCM
	if ! ip -n "$NS_B" xfrm state add src $A dst $B proto esp spi "$spi" mode transport \
		replay-window 32 "${esn[@]}" aead "$aead" "0x$key" 128; then
		ksft_fail "$name: SA accepted"
		ksft_fail "$name: counted"
		continue
	fi
	read -r rx0 icv0 tr0 <<< "$(counters)"
	[ "$expect" = decrypt ] || x0=$(stat_of "$expect")
	lines0=$(wc -l < "$CAP")
	# The packet on the wire: SPI, low sequence number, IV, ciphertext+ICV.
	inject "$(printf '%08x%08x' $((spi)) $((lo)))$iv$ct" || ksft_diag "$name: sending failed"
	trailer=$((2 * ($(printf '%d' "0x${pt: -4:2}") + 2)))
	want=${pt:0:$((${#pt} - trailer))}
	case $expect in
	decrypt)
		busywait 10000 grep -qx "$want" "$CAP"
		ksft_check "$name: decrypts to the published plaintext (${#want} hex digits)" \
			grep -qx "$want" "$CAP"
		read -r rx1 icv1 tr1 <<< "$(counters)"
		ksft_eq "$name: one decryption (rx, drop_icv, drop_truncated; SA packets)" \
			"1 0 0 1" "$((rx1 - rx0)) $((icv1 - icv0)) $((tr1 - tr0)) $(sa_field "$NS_B" "$spi" packets)"
		;;
	drop_*)
		busywait 10000 eval '[ "$(stat_of "$expect")" != "$x0" ]'
		read -r rx1 icv1 tr1 <<< "$(counters)"
		if [ "$expect" = drop_icv ]; then want_c="0 1 0"; else want_c="0 0 1"; fi
		ksft_eq "$name: refused, $expect (rx, drop_icv, drop_truncated)" \
			"$want_c" "$((rx1 - rx0)) $((icv1 - icv0)) $((tr1 - tr0))"
		ksft_eq "$name: nothing delivered, SA packets 0" "$lines0 0" \
			"$(wc -l < "$CAP") $(sa_field "$NS_B" "$spi" packets)"
		;;
	esac
	ip -n "$NS_B" xfrm state flush
done < <(sed 's/^ *//' "$CAP.vectors")

ksft_check "dmesg clean" dmesg_clean
ksft_exit
