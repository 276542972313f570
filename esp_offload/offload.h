/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The datapath of the ESP offload type: what the xfrm core calls through
 * struct xfrm_type_offload (encap, xmit; input_tail is in esp.h) and the
 * ESP GSO/GRO callbacks of struct net_offload. xfrm_glue/offload.c
 * registers them.
 */
#ifndef ESPO_OFFLOAD_H
#define ESPO_OFFLOAD_H

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/xfrm.h>

void espo_offload_encap(struct xfrm_state *x, struct sk_buff *skb);
int espo_offload_xmit(struct xfrm_state *x, struct sk_buff *skb,
		      netdev_features_t features);
struct sk_buff *espo_gso_segment(struct sk_buff *skb,
				 netdev_features_t features);
struct sk_buff *espo_gro_receive4(struct list_head *head, struct sk_buff *skb);
struct sk_buff *espo_gro_receive6(struct list_head *head, struct sk_buff *skb);

#endif /* ESPO_OFFLOAD_H */
