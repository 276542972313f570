// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP errors about ESP packets we sent: a Fragmentation Needed (IPv4)
 * or Packet Too Big (IPv6) for the SA's outer path lowers the path MTU so
 * the next packets are built to fit; redirects are honoured too. Errors
 * that quote an SPI we do not know are ignored.
 */
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <net/icmp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ndisc.h>
#include <net/route.h>
#include <net/ip6_route.h>
#include <net/xfrm.h>

#include "esp_offload/esp.h"

static bool espo_icmp_sa_known(struct sk_buff *skb, const xfrm_address_t *daddr,
			       __be32 spi, unsigned short family)
{
	struct xfrm_state *x;

	x = xfrm_state_lookup(dev_net(skb->dev), skb->mark, daddr, spi,
			      IPPROTO_ESP, family);
	if (!x)
		return false;
	xfrm_state_put(x);
	return true;
}

/* skb->data is the quoted IPv4 header; 8 bytes after it are present. */
int espo_icmp4_err(struct sk_buff *skb, u32 info)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const struct ip_esp_hdr *esph = (void *)(skb->data + (iph->ihl << 2));
	struct net *net = dev_net(skb->dev);
	u8 type = icmp_hdr(skb)->type;

	if (!(type == ICMP_DEST_UNREACH &&
	      icmp_hdr(skb)->code == ICMP_FRAG_NEEDED) &&
	    type != ICMP_REDIRECT)
		return 0;
	if (!espo_icmp_sa_known(skb, (const xfrm_address_t *)&iph->daddr,
				esph->spi, AF_INET))
		return 0;
	if (type == ICMP_REDIRECT)
		ipv4_redirect(skb, net, 0, IPPROTO_ESP);
	else
		ipv4_update_pmtu(skb, net, info, 0, IPPROTO_ESP);
	return 0;
}

int espo_icmp6_err(struct sk_buff *skb, struct inet6_skb_parm *opt,
		   u8 type, u8 code, int offset, __be32 info)
{
	const struct ipv6hdr *ip6h = (const struct ipv6hdr *)skb->data;
	const struct ip_esp_hdr *esph = (void *)(skb->data + offset);
	struct net *net = dev_net(skb->dev);

	if (type != ICMPV6_PKT_TOOBIG && type != NDISC_REDIRECT)
		return 0;
	if (!espo_icmp_sa_known(skb, (const xfrm_address_t *)&ip6h->daddr,
				esph->spi, AF_INET6))
		return 0;
	if (type == NDISC_REDIRECT)
		ip6_redirect(skb, net, skb->dev->ifindex, 0,
			     sock_net_uid(net, NULL));
	else
		ip6_update_pmtu(skb, net, info, 0, 0, sock_net_uid(net, NULL));
	return 0;
}
