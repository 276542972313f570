#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Manual keying of ESP SAs handled by esp_offload: the `ip xfrm` commands
# that match the swanctl examples, for when no IKE daemon is used. Run
# with the local and remote roles swapped on the peer. Keys here are
# examples: generate your own (e.g. `openssl rand -hex 36` for 288 bits =
# AES-256 key + 32-bit salt). AES-GCM must never see one IV twice under a
# key: use a different key for each direction (as below), and new keys
# whenever the SAs are added again (after a flush, a reboot or a
# failover), since sequence numbers then restart at 1. esp_offload mixes
# a random per-SA value into every IV, which makes a repeat improbable;
# fresh keys make it impossible. IKE (strongSwan) does all of this for you.
set -euo pipefail
LOCAL=198.51.100.1 REMOTE=203.0.113.1
KEY_OUT=0x$(openssl rand -hex 36) KEY_IN=0x$(openssl rand -hex 36)
echo "give the peer: KEY_OUT=$KEY_IN KEY_IN=$KEY_OUT" >&2
GCM='rfc4106(gcm(aes))'

# --- transport mode between the two hosts, 128-bit ICV, ESN ------------
ip xfrm state add src $LOCAL dst $REMOTE proto esp spi 0x00001001 reqid 1 \
	mode transport aead "$GCM" "$KEY_OUT" 128 flag esn replay-window 1024
ip xfrm state add src $REMOTE dst $LOCAL proto esp spi 0x00001002 reqid 1 \
	mode transport aead "$GCM" "$KEY_IN" 128 flag esn replay-window 1024
ip xfrm policy add src $LOCAL dst $REMOTE dir out \
	tmpl proto esp reqid 1 mode transport
ip xfrm policy add src $REMOTE dst $LOCAL dir in \
	tmpl proto esp reqid 1 mode transport

# --- or tunnel mode between two sites (IPv4 and IPv6 inside) -----------
# ip xfrm state add src $LOCAL dst $REMOTE proto esp spi 0x00002001 reqid 2 \
#	mode tunnel flag af-unspec flag esn replay-window 1024 \
#	aead "$GCM" "$KEY_OUT" 128 [tfcpad 1200] \
#	[encap espinudp 4500 4500 0.0.0.0]       # NAT-T, needs an IKE socket
# ip xfrm state add src $REMOTE dst $LOCAL proto esp spi 0x00002002 reqid 2 \
#	mode tunnel flag af-unspec flag esn replay-window 1024 \
#	aead "$GCM" "$KEY_IN" 128
# for d in out in fwd; do ... ip xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 \
#	dir out tmpl src $LOCAL dst $REMOTE proto esp reqid 2 mode tunnel
# (in and fwd: swap the subnets and the tmpl addresses)

# --- GMAC (RFC 4543): integrity only, no encryption ---------------------
# aead 'rfc4543(gcm(aes))' <160|224|288-bit key> 128

# What esp_offload sees:
#   scripts/espo-stats
