/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences the datapath meets (the crypto API's are in
 * crypto_accel/aead.h). Each ESPO_HAVE_* flag is set by
 * scripts/compat-probe.sh from what the target kernel's headers contain,
 * never from version numbers.
 */
#ifndef ESPO_COMPAT_H
#define ESPO_COMPAT_H

#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/gro.h>
#include <net/xfrm.h>
#ifdef ESPO_HAVE_NET_GSO_H
#include <net/gso.h>
#endif
#ifdef ESPO_HAVE_SKB_PAGE_UNREF_NETMEM
#include <linux/skbuff_ref.h>
#endif

#ifdef ESPO_HAVE_LINUX_UNALIGNED
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * Release a page that was one of skb's fragments: a page_pool page goes
 * back to its pool, any other page is put (upstream "esp: fix bad
 * handling of pages from page_pool").
 */
static inline void espo_frag_page_unref(const struct sk_buff *skb,
					struct page *page)
{
#if defined(ESPO_HAVE_SKB_PAGE_UNREF_NETMEM)
	skb_page_unref(page_to_netmem(page), skb->pp_recycle);
#elif defined(ESPO_HAVE_SKB_PAGE_UNREF_SKB)
	skb_page_unref(skb, page, false);
#else
	put_page(page);
#endif
}

/*
 * The inbound SA for a packet the GRO handler sees: 6.12 looks it up
 * through the per-CPU input cache and refuses an SA whose direction is
 * "out" (the xfrm input path then records that error itself).
 */
static inline struct xfrm_state *
espo_input_state_lookup(struct sk_buff *skb, const xfrm_address_t *daddr,
			__be32 spi, unsigned short family)
{
	struct xfrm_state *x;

#ifdef ESPO_HAVE_INPUT_STATE_LOOKUP
	x = xfrm_input_state_lookup(dev_net(skb->dev), skb->mark, daddr, spi,
				    IPPROTO_ESP, family);
#else
	x = xfrm_state_lookup(dev_net(skb->dev), skb->mark, daddr, spi,
			      IPPROTO_ESP, family);
#endif
#ifdef ESPO_HAVE_SA_DIR
	if (x && x->dir && x->dir != XFRM_SA_DIR_IN) {
		xfrm_state_put(x);
		x = NULL;
	}
#endif
	return x;
}

/*
 * 6.12: a NAT-T socket's UDP GRO passes ESP-in-UDP to the ESP
 * gro_receive with NAPI_GRO_CB(skb)->proto set to UDP. Before, only
 * plain ESP arrives there.
 */
static inline int espo_gro_encap_type(struct sk_buff *skb)
{
#ifdef ESPO_HAVE_ESP_UDP_GRO
	if (NAPI_GRO_CB(skb)->proto == IPPROTO_UDP)
		return UDP_ENCAP_ESPINUDP;
#endif
	return 0;
}

/* An SA offloaded to a device for transmit (xfrmdev_ops). */
static inline bool espo_xso_out(const struct xfrm_state *x)
{
#ifdef ESPO_HAVE_XSO_DIR
	return x->xso.dir == XFRM_DEV_OFFLOAD_OUT;
#else
	return !(x->xso.flags & XFRM_OFFLOAD_INBOUND);
#endif
}

#endif /* ESPO_COMPAT_H */
