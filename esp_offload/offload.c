// SPDX-License-Identifier: GPL-2.0
/*
 * The ESP offload type's datapath.
 *
 * Once an ESP offload type is registered, the xfrm core sends every SA it
 * can through it, with or without an offload device: a single transform
 * without NAT-T whose packets fit the path MTU. Transmit then runs in
 * three steps:
 *
 *   encap         (xfrm_output_one, instead of type->output) names ESP in
 *                 the IP header and fills SPI and first sequence number;
 *                 a TCP super-packet stays whole, marked SKB_GSO_ESP;
 *   gso_segment   (validate_xmit_skb, via inet(6)_offloads[IPPROTO_ESP])
 *                 cuts it into MSS-sized packets that each carry a copy of
 *                 the outer headers and of the ESP header;
 *   xmit          (validate_xmit_xfrm, once per packet) adds the trailer,
 *                 the packet's own sequence number and IV, and encrypts
 *                 in software (CRYPTO_FALLBACK), unless the SA is
 *                 offloaded to the outgoing device and its NETIF_F_HW_ESP
 *                 is on: then the device encrypts and writes the ICV.
 *
 * Receive: a NAPI device with GRO hands ESP packets to gro_receive, which
 * finds the SA and passes the packet to xfrm_input marked XFRM_GRO; the
 * module's input decrypts it and the core feeds the inner packet to GRO
 * again (gro_cells), where TCP segments coalesce.
 */
#include <linux/skbuff.h>
#include <net/gro.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/protocol.h>
#include <net/xfrm.h>

#include "esp_offload/compat.h"
#include "esp_offload/esp.h"
#include "esp_offload/offload.h"
#include "esp_offload/stats.h"

/*
 * xfrm_output_one calls this in place of type->output, after the mode
 * made room for the ESP header and the sequence numbers were reserved
 * (xo->seq: the first; a super-packet reserves one per segment).
 */
void espo_offload_encap(struct xfrm_state *x, struct sk_buff *skb)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	struct ip_esp_hdr *esph = ip_esp_hdr(skb);

	/* The mode points the mac header at the protocol field to rewrite. */
	xo->proto = *skb_mac_header(skb);
	*skb_mac_header(skb) = IPPROTO_ESP;
	esph->spi = x->id.spi;
	esph->seq_no = htonl(XFRM_SKB_CB(skb)->seq.output.low);
	skb_push(skb, -skb_network_offset(skb));
}

/* Segment what follows the ESP header and IV (skb->data is there). */
static struct sk_buff *espo_gso_inner(struct xfrm_state *x,
				      struct sk_buff *skb, u8 proto,
				      netdev_features_t features)
{
	const struct net_offload *ops;

	if (x->props.mode == XFRM_MODE_TUNNEL)
		return skb_eth_gso_segment(skb, features,
					   proto == IPPROTO_IPV6 ?
					   htons(ETH_P_IPV6) : htons(ETH_P_IP));
	if (x->props.mode != XFRM_MODE_TRANSPORT)
		return ERR_PTR(-EOPNOTSUPP);

	/* Transport mode: the upper protocol follows the ESP header. */
	skb->transport_header += x->props.header_len;
	if (x->props.family == AF_INET6)
		ops = rcu_dereference(inet6_offloads[proto]);
	else
		ops = rcu_dereference(inet_offloads[proto]);
	if (unlikely(!ops || !ops->callbacks.gso_segment))
		return ERR_PTR(-EPROTONOSUPPORT);
	return ops->callbacks.gso_segment(skb, features);
}

static void espo_gso_count(struct sk_buff *segs)
{
	unsigned int n = 0;

	for (; segs; segs = segs->next)
		n++;
	espo_count(ESPO_TX_GSO_SUPER);
	espo_count_add(ESPO_TX_GSO_SEGS, n);
}

/*
 * The ESP gso_segment of IPv4 and IPv6 (inet_gso_segment / ipv6_gso_segment
 * call it with skb->data at the ESP header). Segments are built without
 * scatter-gather and with their inner checksums computed: each becomes a
 * linear packet of its own, so xmit encrypts memory the segment owns
 * rather than pages shared with the socket, and nothing after encryption
 * could fill in a checksum.
 */
struct sk_buff *espo_gso_segment(struct sk_buff *skb,
				 netdev_features_t features)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	struct sk_buff *segs;
	struct xfrm_state *x;
	struct sec_path *sp;

	if (!xo || !(skb_shinfo(skb)->gso_type & SKB_GSO_ESP))
		return ERR_PTR(-EINVAL);
	sp = skb_sec_path(skb);
	x = sp->xvec[sp->len - 1];
	if (!pskb_may_pull(skb, ESPO_HDR_LEN) ||
	    ip_esp_hdr(skb)->spi != x->id.spi)
		return ERR_PTR(-EINVAL);

	__skb_pull(skb, ESPO_HDR_LEN);
	skb->encap_hdr_csum = 1;
	xo->flags |= XFRM_GSO_SEGMENT;
	segs = espo_gso_inner(x, skb, xo->proto,
			      features & ~(NETIF_F_SG | NETIF_F_CSUM_MASK |
					   NETIF_F_SCTP_CRC));
	if (!IS_ERR_OR_NULL(segs))
		espo_gso_count(segs);
	return segs;
}

/*
 * This packet's sequence number. Segments of one super-packet share its
 * offload state (skb_segment copies the extension by reference), so each
 * xmit takes the next number of the range the core reserved for them;
 * the high half moves on when the low half wraps (ESN).
 */
static u64 espo_offload_seq(struct xfrm_offload *xo)
{
	u64 seq = ((u64)xo->seq.hi << 32) | xo->seq.low;

	if (xo->flags & XFRM_GSO_SEGMENT) {
		xo->seq.low++;
		if (!xo->seq.low)
			xo->seq.hi++;
	}
	return seq;
}

/*
 * The device this packet leaves by does the crypto: the SA was offloaded
 * to it for transmit (xdo_dev_state_add accepted it) and its ESP crypto
 * is on in the features the core computed for this packet. Otherwise
 * (no device, another route, esp-hw-offload turned off) software does.
 */
static bool espo_offload_by_device(struct xfrm_state *x, struct sk_buff *skb,
				   netdev_features_t features)
{
	return (features & NETIF_F_HW_ESP) && x->xso.dev &&
	       x->xso.dev == skb->dev && espo_xso_out(x);
}

/*
 * validate_xmit_xfrm calls this for each packet, skb->data at the
 * payload. A device with ESP crypto gets the packet with header, IV and
 * trailer built and encrypts it itself; every other packet is encrypted
 * here, in software (CRYPTO_FALLBACK).
 */
int espo_offload_xmit(struct xfrm_state *x, struct sk_buff *skb,
		      netdev_features_t features)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	int err;

	if (unlikely(!xo))
		return -EINVAL;
	if (unlikely(skb_is_gso(skb))) {
		/* Only a device with ESP segmentation could leave one. */
		net_dbg_ratelimited("unsegmented ESP super-packet on SPI 0x%08x\n",
				    ntohl(x->id.spi));
		return -EINVAL;
	}
	if (unlikely(x->encap)) {
		/*
		 * Only a device that took a NAT-T SA (6.12 allows it) sends
		 * one here, and encap wrote no UDP header: drop rather than
		 * send a malformed packet.
		 */
		net_dbg_ratelimited("NAT-T SA 0x%08x offloaded to a device: not supported\n",
				    ntohl(x->id.spi));
		espo_count_drop(x, ESPO_DROP_CRYPTO);
		return -EOPNOTSUPP;
	}
	if (espo_offload_by_device(x, skb, features))
		return espo_output_xmit_hw(x, skb, xo->proto,
					   espo_offload_seq(xo));
	xo->flags |= CRYPTO_FALLBACK;

	err = espo_output_xmit(x, skb, xo->proto, espo_offload_seq(xo));
	if (err)
		return err;

	/* Encrypted: nothing below must take it for an offload packet. */
	secpath_reset(skb);
	if (skb_needs_linearize(skb, skb->dev->features) &&
	    __skb_linearize(skb)) {
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Offset of the next-header field that names ESP (or, for ESP in UDP,
 * UDP) within the IPv6 header chain of hlen bytes; 0 if none does.
 */
static u16 espo_ipv6_esp_nhoff(const struct sk_buff *skb, unsigned int hlen)
{
	const u8 *nh = skb_network_header(skb);
	const struct ipv6_opt_hdr *opt;
	unsigned int off = sizeof(struct ipv6hdr);
	u8 next = ipv6_hdr(skb)->nexthdr;
	u16 nhoff = offsetof(struct ipv6hdr, nexthdr);

	while (next != NEXTHDR_ESP && next != NEXTHDR_UDP) {
		if (off + sizeof(*opt) > hlen)
			return 0;
		opt = (const struct ipv6_opt_hdr *)(nh + off);
		nhoff = off;
		next = opt->nexthdr;
		off += ipv6_optlen(opt);
	}
	return nhoff;
}

/*
 * Hand an ESP packet from GRO to xfrm_input, marked XFRM_GRO, with the
 * control block filled as xfrm4_rcv/xfrm6_rcv would. The skb is then
 * xfrm's: it comes back decrypted through gro_cells, or is dropped and
 * counted there.
 */
static struct sk_buff *espo_gro_receive(struct sk_buff *skb,
					unsigned short family)
{
	int encap_type = espo_gro_encap_type(skb);
	int offset = skb_gro_offset(skb);
	const xfrm_address_t *daddr;
	struct xfrm_offload *xo;
	struct xfrm_state *x;
	struct sec_path *sp;
	__be32 spi, seq;
	u16 nhoff = 0;

	/* The headers may be in frag0 only: make them linear first. */
	if (!pskb_pull(skb, offset))
		return NULL;
	if (xfrm_parse_spi(skb, IPPROTO_ESP, &spi, &seq))
		goto out;
	if (family == AF_INET) {
		daddr = (xfrm_address_t *)&ip_hdr(skb)->daddr;
	} else {
		nhoff = espo_ipv6_esp_nhoff(skb, skb->data -
					    skb_network_header(skb));
		if (!nhoff)
			goto out;
		daddr = (xfrm_address_t *)&ipv6_hdr(skb)->daddr;
	}

	xo = xfrm_offload(skb);
	if (!xo || !(xo->flags & CRYPTO_DONE)) {
		sp = secpath_set(skb);
		if (!sp)
			goto out;
		if (sp->len == XFRM_MAX_DEPTH)
			goto out_reset;
		x = espo_input_state_lookup(skb, daddr, spi, family);
		if (!x)
			goto out_reset;
		skb->mark = xfrm_smark_get(skb->mark, x);
		sp->xvec[sp->len++] = x;
		sp->olen++;
		xo = xfrm_offload(skb);
		if (!xo)
			goto out_reset;
	} else {
		/* The device decrypted it: count an ICV it found bad. */
		espo_input_device_verdict(skb);
	}
	xo->flags |= XFRM_GRO;
	espo_count(ESPO_RX_GRO);

	/* From here skb->cb is xfrm's, no longer GRO's. */
	if (family == AF_INET) {
		XFRM_TUNNEL_SKB_CB(skb)->tunnel.ip4 = NULL;
		XFRM_SPI_SKB_CB(skb)->daddroff = offsetof(struct iphdr, daddr);
	} else {
		IP6CB(skb)->nhoff = nhoff;
		XFRM_TUNNEL_SKB_CB(skb)->tunnel.ip6 = NULL;
		XFRM_SPI_SKB_CB(skb)->daddroff = offsetof(struct ipv6hdr, daddr);
	}
	XFRM_SPI_SKB_CB(skb)->family = family;
	XFRM_SPI_SKB_CB(skb)->seq = seq;
	xfrm_input(skb, IPPROTO_ESP, spi, encap_type);
	return ERR_PTR(-EINPROGRESS);

out_reset:
	secpath_reset(skb);
out:
	skb_push(skb, offset);
	NAPI_GRO_CB(skb)->same_flow = 0;
	NAPI_GRO_CB(skb)->flush = 1;
	return NULL;
}

struct sk_buff *espo_gro_receive4(struct list_head *head, struct sk_buff *skb)
{
	return espo_gro_receive(skb, AF_INET);
}

struct sk_buff *espo_gro_receive6(struct list_head *head, struct sk_buff *skb)
{
	return espo_gro_receive(skb, AF_INET6);
}
