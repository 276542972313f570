#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sequence numbers: ESN across the 2^32 boundary (the high bits enter the
# AAD), a 4096-packet replay window, and a 32-bit SA that must stop, not
# wrap, when its counter is exhausted (RFC 4303 3.3.3).
. "$(dirname "$0")/lib.sh"

require_cmd socat ping
test_payload 300000 3
on_exit module_unload

ksft_plan 9
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
pair_topology || ksft_skip_all "topology"

# 1. ESN, starting 64 packets before the boundary in both directions.
esp_transport_pair 192.0.2.1 192.0.2.2 0x4001 0x4002 -- aead "$GCM" "$KEY256" 128 \
	flag esn replay-window 128 replay-seq 0xffffffc0 replay-oseq 0xffffffc0
ksft_check "esn: TCP transfer across 2^32, sha256 matches" \
	tcp_transfer "$NS_A" "$NS_B" 192.0.2.2 "$PAYLOAD"
ksft_check "esn: sender's oseq-hi is 1" \
	bash -c "ip -n $NS_A xfrm state list spi 0x4001 | grep -q 'oseq-hi 0x1,'"
ksft_check "esn: receiver's seq-hi is 1" \
	bash -c "ip -n $NS_B xfrm state list spi 0x4001 | grep -q 'seq-hi 0x1,'"
ksft_check "esn: module lists the SA with esn" \
	grep -q ' spi 0x00004001 mode transport esn ' /sys/kernel/debug/esp_offload/sas
xfrm_flush "$NS_A" "$NS_B"

# 2. A 4096-packet window (needs ESN state) carries traffic.
esp_transport_pair 2001:db8::1 2001:db8::2 0x4011 0x4012 -- aead "$GCM" "$KEY256" 128 \
	flag esn replay-window 4096
ksft_check "window 4096: TCP transfer over IPv6" \
	tcp_transfer "$NS_A" "$NS_B" 2001:db8::2 "$PAYLOAD"
ksft_check "window 4096: the core keeps the window" \
	bash -c "ip -n $NS_B xfrm state list spi 0x4011 | grep -q 'replay_window 4096,'"
xfrm_flush "$NS_A" "$NS_B"

# 3. A 32-bit SA three packets before exhaustion: two pings pass, then
# the SA stops with XfrmOutStateSeqError and oseq stays at 0xffffffff.
esp_transport_pair 192.0.2.1 192.0.2.2 0x4021 0x4022 -- aead "$GCM" "$KEY256" 128 \
	replay-window 32 replay-oseq 0xfffffffd
err0=$(xfrm_stat "$NS_A" XfrmOutStateSeqError)
ip netns exec "$NS_A" ping -q -c 2 -i 0.2 -W 1 192.0.2.2 >/dev/null
got=$(sa_field "$NS_B" 0x4021 packets)
ip netns exec "$NS_A" ping -q -c 3 -i 0.2 -W 1 192.0.2.2 >/dev/null
ksft_eq "seq exhaustion: packets 0xfffffffe and 0xffffffff arrive, nothing after" \
	"2 2" "$got $(sa_field "$NS_B" 0x4021 packets)"
ksft_check "seq exhaustion: XfrmOutStateSeqError counted" \
	test "$(xfrm_stat "$NS_A" XfrmOutStateSeqError)" -gt "$err0"
ksft_check "seq exhaustion: counter did not wrap" \
	bash -c "ip -n $NS_A xfrm state list spi 0x4021 | grep -q 'oseq 0xffffffff,'"
xfrm_flush "$NS_A" "$NS_B"
dmesg_clean >/dev/null || ksft_diag "dmesg not clean"
ksft_exit
