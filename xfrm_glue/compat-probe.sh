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

# 6.3+: crypto completion callbacks take the request's data pointer.
has linux/crypto.h 'typedef void \(\*crypto_completion_t\)\(void \*' ESPO_HAVE_COMPLETION_DATA
# xfrmdev_ops callbacks that take an extack (6.2+, some stable backports).
has linux/netdevice.h 'xdo_dev_state_add\)\(struct xfrm_state \*x,[[:space:]]*struct netlink_ext_ack' ESPO_HAVE_XDO_ADD_EXTACK
has linux/netdevice.h 'xdo_dev_state_add\)\(struct net_device \*dev' ESPO_HAVE_XDO_ADD_DEV
# struct xfrm_dev_offload has a direction field (6.2+, backported to 6.1.y).
has net/xfrm.h '^[[:space:]]*u8[[:space:]]+dir[[:space:]]*:' ESPO_HAVE_XSO_DIR
echo
