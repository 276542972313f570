#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Print -D flags for kernel API differences, found by reading the headers
# of the kernel being built against (never by comparing version numbers).
# Usage: compat-probe.sh <kernel include dir>
inc=$1

has() {
	grep -qsE "$2" "$inc/$1" && printf ' -D%s' "$3"
}

# The header exists (a file that moved between releases).
exists() {
	[ -e "$inc/$1" ] && printf ' -D%s' "$2"
}

# 6.12: <linux/unaligned.h>; before, only <asm/unaligned.h>.
exists linux/unaligned.h ESPO_HAVE_LINUX_UNALIGNED
# 6.3+: crypto completion callbacks take the request's data pointer.
has linux/crypto.h 'typedef void \(\*crypto_completion_t\)\(void \*' ESPO_HAVE_COMPLETION_DATA
# xfrmdev_ops callbacks that take an extack (6.2+, some stable backports;
# 6.12 writes "xdo_dev_state_add) (struct xfrm_state *x, struct netlink...").
has linux/netdevice.h 'xdo_dev_state_add\)[[:space:]]*\(struct xfrm_state \*x,[[:space:]]*struct netlink_ext_ack' ESPO_HAVE_XDO_ADD_EXTACK
has linux/netdevice.h 'xdo_dev_state_add\)[[:space:]]*\(struct net_device \*dev' ESPO_HAVE_XDO_ADD_DEV
# struct xfrm_dev_offload has a direction field (6.2+, backported to 6.1.y).
has net/xfrm.h '^[[:space:]]*u8[[:space:]]+dir[[:space:]]*:' ESPO_HAVE_XSO_DIR
# SAs carry a direction of their own (XFRMA_SA_DIR, 6.10+).
has net/xfrm.h '^[[:space:]]*u8[[:space:]]+dir;' ESPO_HAVE_SA_DIR
# skb_page_unref() (page_pool-aware release of a fragment's page).
# 6.1.y: skb_page_unref(skb, page, napi_safe) in skbuff.h; 6.12:
# skb_page_unref(netmem, recycle) in skbuff_ref.h.
has linux/skbuff.h '^skb_page_unref\(const struct sk_buff' ESPO_HAVE_SKB_PAGE_UNREF_SKB
has linux/skbuff_ref.h 'skb_page_unref\(netmem_ref' ESPO_HAVE_SKB_PAGE_UNREF_NETMEM
# <net/gso.h> holds the GSO helpers (skb_eth_gso_segment) from 6.4 on;
# before, <linux/netdevice.h> declared them.
exists net/gso.h ESPO_HAVE_NET_GSO_H
# The receive-side state lookup through the per-CPU input cache (6.12).
has net/xfrm.h 'xfrm_input_state_lookup\(' ESPO_HAVE_INPUT_STATE_LOOKUP
# A NAT-T socket's UDP GRO hands ESP-in-UDP to the ESP gro_receive,
# marked with NAPI_GRO_CB(skb)->proto == IPPROTO_UDP (6.12).
has net/xfrm.h 'xfrm4_gro_udp_encap_rcv\(' ESPO_HAVE_ESP_UDP_GRO
echo
