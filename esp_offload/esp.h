/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ESP datapath (RFC 4303 with RFC 4106 / RFC 4543 AES-GCM and GMAC).
 */
#ifndef ESPO_ESP_H
#define ESPO_ESP_H

#include <linux/ip.h>
#include <linux/skbuff.h>
#include "esp_offload/compat.h"
#include <net/esp.h>
#include <net/xfrm.h>

/* ESP header (SPI, sequence number) followed by the explicit IV. */
#define ESPO_HDR_LEN	(sizeof(struct ip_esp_hdr) + 8)
/* Ciphertext is padded to a 4-byte boundary (RFC 4303 section 2.4). */
#define ESPO_ALIGN	4
/* Pad length and next header bytes. */
#define ESPO_TRAILER_FIXED	2

int espo_output(struct xfrm_state *x, struct sk_buff *skb);
int espo_input(struct xfrm_state *x, struct sk_buff *skb);
int espo_output_xmit(struct xfrm_state *x, struct sk_buff *skb, u8 proto,
		     u64 seq);
int espo_output_xmit_hw(struct xfrm_state *x, struct sk_buff *skb, u8 proto,
			u64 seq);
int espo_input_tail(struct xfrm_state *x, struct sk_buff *skb);
void espo_input_device_verdict(struct sk_buff *skb);

int espo_icmp4_err(struct sk_buff *skb, u32 info);
int espo_icmp6_err(struct sk_buff *skb, struct inet6_skb_parm *opt,
		   u8 type, u8 code, int offset, __be32 info);

#endif /* ESPO_ESP_H */
