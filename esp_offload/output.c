// SPDX-License-Identifier: GPL-2.0
/*
 * ESP output (RFC 4303 section 3.3).
 *
 * The xfrm core calls us after the mode (transport or tunnel) has made
 * room for x->props.header_len bytes in front of the payload:
 * skb_transport_header() is where the ESP header (or the NAT-T UDP
 * header) goes, skb->data is the payload, and *skb_mac_header() is the
 * protocol field that must name what follows the IP header.
 *
 *   | IP | [UDP] | SPI | seq | IV | payload | TFC | pad | pl | nh | ICV |
 *                       ^aad^   ^----------- encrypted -----------^
 */
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>
#include <net/udp.h>
#include <net/xfrm.h>

#include "crypto_accel/aead.h"
#include "esp_offload/esp.h"
#include "esp_offload/sa.h"
#include "esp_offload/stats.h"

/* Sizes of one packet's trailer, and how the packet is laid out. */
struct espo_tx_geom {
	unsigned int tfclen;	/* TFC padding (RFC 4303 2.7), tunnel mode */
	unsigned int padlen;	/* 0..3 bytes to the 4-byte boundary */
	unsigned int clen;	/* payload + TFC + padding + 2 */
	unsigned int tailen;	/* everything appended after the payload */
	int nfrags;		/* scatterlist entries the packet needs */
	bool fresh_pages;	/* encrypt the fragments into new pages */
};

static unsigned int espo_tfc_len(struct xfrm_state *x, struct sk_buff *skb)
{
	struct xfrm_dst *dst = (struct xfrm_dst *)skb_dst(skb);
	u32 padto;

	if (!x->tfcpad || x->props.mode != XFRM_MODE_TUNNEL)
		return 0;
	padto = min(x->tfcpad, xfrm_state_mtu(x, dst->child_mtu_cached));
	return skb->len < padto ? padto - skb->len : 0;
}

static void espo_tx_geometry(struct sk_buff *skb, unsigned int tfclen,
			     unsigned int icvlen, struct espo_tx_geom *g)
{
	unsigned int plain = skb->len + tfclen;

	g->tfclen = tfclen;
	g->clen = ALIGN(plain + ESPO_TRAILER_FIXED, ESPO_ALIGN);
	g->padlen = g->clen - plain - ESPO_TRAILER_FIXED;
	g->tailen = g->clen - skb->len + icvlen;
}

/* TFC padding (zeros), then the monotonic padding 1, 2, 3, ... */
static void espo_fill_trailer(u8 *tail, const struct espo_tx_geom *g, u8 proto)
{
	unsigned int i;

	memset(tail, 0, g->tfclen);
	tail += g->tfclen;
	for (i = 0; i < g->padlen; i++)
		tail[i] = i + 1;
	tail[g->padlen] = g->padlen;
	tail[g->padlen + 1] = proto;
}

/* Carve len bytes out of the SA's page fragment cache; takes a page ref. */
static struct page *espo_tx_page_frag(struct xfrm_state *x, unsigned int len,
				      unsigned int *offset)
{
	struct page_frag *pfrag = &x->xfrag;
	struct page *page = NULL;

	spin_lock_bh(&x->lock);
	if (likely(skb_page_frag_refill(len, pfrag, GFP_ATOMIC))) {
		page = pfrag->page;
		get_page(page);
		*offset = pfrag->offset;
		pfrag->offset += len;
	}
	spin_unlock_bh(&x->lock);
	return page;
}

/*
 * A paged packet (TCP's usual shape) keeps its fragments: the trailer
 * goes into a new fragment and the cipher later writes into fresh pages,
 * so pages shared with the socket's retransmit queue are only read.
 */
static bool espo_tx_trailer_frag(struct xfrm_state *x, struct sk_buff *skb,
				 struct espo_tx_geom *g, u8 proto)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	struct sock *sk = skb->sk;
	unsigned int offset;
	struct page *page;

	if (shinfo->nr_frags >= MAX_SKB_FRAGS || skb_has_frag_list(skb) ||
	    ALIGN(skb->data_len + g->tailen, L1_CACHE_BYTES) > PAGE_SIZE)
		return false;
	page = espo_tx_page_frag(x, ALIGN(g->tailen, L1_CACHE_BYTES), &offset);
	if (!page)
		return false;

	/* Real page refs before the frag array changes (managed frags). */
	skb_zcopy_downgrade_managed(skb);
	espo_fill_trailer(page_address(page) + offset, g, proto);
	__skb_fill_page_desc(skb, shinfo->nr_frags, page, offset, g->tailen);
	shinfo->nr_frags++;
	skb_len_add(skb, g->tailen);
	if (sk && sk_fullsock(sk))
		refcount_add(g->tailen, &sk->sk_wmem_alloc);

	g->nfrags = shinfo->nr_frags + 1;
	g->fresh_pages = true;
	return true;
}

/*
 * Append the trailer, making sure that whatever the cipher writes is
 * ours: the linear packet in place when it has room, a paged packet into
 * fresh pages, and anything else after a private copy.
 */
static int espo_tx_append_trailer(struct xfrm_state *x, struct sk_buff *skb,
				  struct espo_tx_geom *g, u8 proto)
{
	struct sk_buff *trailer = skb;

	g->nfrags = 1;
	g->fresh_pages = false;
	if (!skb_cloned(skb)) {
		if (!skb_is_nonlinear(skb) && skb_tailroom(skb) >= g->tailen)
			goto fill;
		if (skb_is_nonlinear(skb) && espo_tx_trailer_frag(x, skb, g, proto))
			return 0;
	}
	g->nfrags = skb_cow_data(skb, g->tailen, &trailer);
	if (g->nfrags < 0)
		return g->nfrags;
fill:
	espo_fill_trailer(skb_tail_pointer(trailer), g, proto);
	pskb_put(skb, trailer, g->tailen);
	return 0;
}

/* RFC 3948 UDP header in front of the ESP header. */
static int espo_tx_udp_encap(struct xfrm_state *x, struct sk_buff *skb)
{
	struct udphdr *uh = (struct udphdr *)skb_transport_header(skb);
	unsigned int len = skb->len - skb_transport_offset(skb);

	if (len > U16_MAX)
		return -EMSGSIZE;
	spin_lock_bh(&x->lock);
	uh->source = x->encap->encap_sport;
	uh->dest = x->encap->encap_dport;
	spin_unlock_bh(&x->lock);
	uh->len = htons(len);
	uh->check = 0;
	*skb_mac_header(skb) = IPPROTO_UDP;
	return 0;
}

/*
 * IPv6 forbids a zero UDP checksum (RFC 8200 section 8.1), so an IPv6
 * NAT-T packet gets a real one, over the finished ciphertext.
 */
static void espo_tx_udp6_csum(struct sk_buff *skb)
{
	struct udphdr *uh = udp_hdr(skb);
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	int off = skb_transport_offset(skb);
	unsigned int len = skb->len - off;
	__wsum csum = skb_checksum(skb, off, len, 0);

	uh->check = csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, len,
				    IPPROTO_UDP, csum);
	if (!uh->check)
		uh->check = CSUM_MANGLED_0;
}

/* The tail shared by synchronous and asynchronous completion. */
static int espo_output_finish(struct espo_req *r, int err)
{
	struct xfrm_state *x = r->x;
	struct sk_buff *skb = r->skb;
	struct scatterlist *sg;
	unsigned int i;

	/*
	 * The old fragments were only read; drop the refs the src list
	 * holds (it maps the AAD, the linear part, then one entry each).
	 */
	sg = r->src_pages ? sg_next(sg_next(r->sg)) : NULL;
	for (i = 0; i < r->src_pages; i++, sg = sg_next(sg))
		espo_frag_page_unref(skb, sg_page(sg));
	espo_req_free(r);
	if (unlikely(err == -ENOSPC || err == -EBUSY)) {
		/*
		 * The driver's queue is full and the request was not
		 * queued (we never ask for a backlog): drop the packet as
		 * congestion, so the socket sees a lost packet, not an
		 * error.
		 */
		espo_count_drop(x, ESPO_DROP_BUSY);
		return NET_XMIT_DROP;
	}
	if (unlikely(err)) {
		espo_count_drop(x, ESPO_DROP_CRYPTO);
		net_dbg_ratelimited("encryption failed on SPI 0x%08x: %d\n",
				    ntohl(x->id.spi), err);
		return err;
	}
	if (x->encap && x->props.family == AF_INET6)
		espo_tx_udp6_csum(skb);
	espo_count(ESPO_TX_PACKETS);
	espo_count_add(ESPO_TX_BYTES, skb->len);
	return 0;
}

/*
 * An asynchronous encryption started by the offload type's xmit: the
 * packet goes on to the device the way validate_xmit_xfrm would have
 * sent it (from its link-layer header, without the offload state).
 */
static void espo_xmit_resume(struct xfrm_state *x, struct sk_buff *skb,
			     int err)
{
	if (unlikely(err)) {
		XFRM_INC_STATS(xs_net(x), LINUX_MIB_XFRMOUTSTATEPROTOERROR);
		kfree_skb(skb);
		return;
	}
	skb_push(skb, skb->data - skb_mac_header(skb));
	secpath_reset(skb);
	xfrm_dev_resume(skb);
}

static ESPO_ASYNC_DONE(espo_output_done)
{
	struct espo_req *r = espo_async_data();
	struct sk_buff *skb = r->skb;
	struct xfrm_offload *xo = xfrm_offload(skb);
	struct xfrm_state *x = r->x;

	espo_count(ESPO_TX_ASYNC);
	err = espo_output_finish(r, err);
	/* The skb's offload state holds x until the secpath is reset. */
	if (xo && (xo->flags & XFRM_DEV_RESUME))
		espo_xmit_resume(x, skb, err);
	else
		xfrm_output_resume(skb_to_full_sk(skb), skb, err);
}

/*
 * Point the paged part of the packet at fresh pages for the cipher to
 * write into. The refs on the old fragments move to the src list.
 */
static int espo_tx_fresh_pages(struct espo_req *r, struct sk_buff *skb,
			       int ivoff, int len)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	unsigned int offset;
	struct page *page;

	page = espo_tx_page_frag(r->x, ALIGN(skb->data_len, L1_CACHE_BYTES),
				 &offset);
	if (!page)
		return -ENOMEM;
	r->src_pages = shinfo->nr_frags;
	shinfo->nr_frags = 1;
	__skb_fill_page_desc(skb, 0, page, offset, skb->data_len);
	/* AAD, linear part from the IV, the new page. */
	return espo_req_map_skb(r, r->dst, 3, skb, ivoff, len);
}

static int espo_tx_encrypt(struct xfrm_state *x, struct sk_buff *skb,
			   struct ip_esp_hdr *esph, __be32 seq_hi,
			   const struct espo_tx_geom *g, unsigned int icvlen)
{
	struct crypto_aead *aead = x->data;
	int ivoff = (u8 *)(esph + 1) - skb->data;
	int len = ESPO_IV_LEN + g->clen + icvlen;
	int nsg = g->nfrags + 1;
	struct espo_req *r;
	int err;

	r = espo_req_alloc(aead, nsg + (g->fresh_pages ? 3 : 0));
	if (unlikely(!r)) {
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return -ENOMEM;
	}
	r->skb = skb;
	r->x = x;
	memcpy(r->iv, esph + 1, ESPO_IV_LEN);
	espo_req_set_aad(r, x, esph->spi, esph->seq_no, seq_hi);
	err = espo_req_map_skb(r, r->sg, nsg, skb, ivoff, len);
	if (!err && g->fresh_pages) {
		r->dst = r->sg + nsg;
		err = espo_tx_fresh_pages(r, skb, ivoff, len);
	}
	if (unlikely(err)) {
		espo_req_free(r);
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return err;
	}
	aead_request_set_callback(r->areq, 0, espo_output_done, r);
	aead_request_set_crypt(r->areq, r->sg, r->dst, g->clen, r->iv);
	aead_request_set_ad(r->areq, r->aadlen + ESPO_IV_LEN);

	err = crypto_aead_encrypt(r->areq);
	if (err == -EINPROGRESS)
		return err;
	return espo_output_finish(r, err);
}

/*
 * SPI, sequence number and explicit IV. The IV is the 64-bit sequence
 * number XOR the SA's random mask (RFC 4106 3.1 asks only that an IV
 * never repeat under a key). Within the SA it is unique because the core
 * never lets the counter wrap (init_state refuses SAs that would allow
 * it) and every packet, every GSO segment included, gets its own
 * number; the mask keeps SAs that share a key, such as both directions
 * keyed alike or an SA re-added with its old key, from sending the same
 * IVs.
 */
static int espo_tx_write_header(struct xfrm_state *x, struct ip_esp_hdr *esph,
				u64 seq)
{
	__be64 mask;

	if (unlikely(!espo_sa_iv_mask(x, &mask))) {
		espo_count(ESPO_DROP_CRYPTO);
		return -EINVAL;
	}
	esph->spi = x->id.spi;
	esph->seq_no = htonl(lower_32_bits(seq));
	put_unaligned(cpu_to_be64(seq) ^ mask, (__be64 *)(esph + 1));
	return 0;
}

int espo_output(struct xfrm_state *x, struct sk_buff *skb)
{
	struct crypto_aead *aead = x->data;
	unsigned int icvlen = crypto_aead_authsize(aead);
	u8 proto = *skb_mac_header(skb);
	struct xfrm_skb_cb *cb = XFRM_SKB_CB(skb);
	struct ip_esp_hdr *esph;
	struct espo_tx_geom g;
	u64 seq;
	int err;

	espo_tx_geometry(skb, espo_tfc_len(x, skb), icvlen, &g);
	err = espo_tx_append_trailer(x, skb, &g, proto);
	if (unlikely(err)) {
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return err;
	}

	*skb_mac_header(skb) = IPPROTO_ESP;
	esph = ip_esp_hdr(skb);
	if (x->encap) {
		err = espo_tx_udp_encap(x, skb);
		if (unlikely(err)) {
			espo_count_drop(x, ESPO_DROP_TOOBIG);
			return err;
		}
		esph = (struct ip_esp_hdr *)(udp_hdr(skb) + 1);
	}

	seq = cb->seq.output.low + ((u64)cb->seq.output.hi << 32);
	err = espo_tx_write_header(x, esph, seq);
	if (unlikely(err))
		return err;

	skb_push(skb, -skb_network_offset(skb));
	return espo_tx_encrypt(x, skb, esph, htonl(cb->seq.output.hi), &g,
			       icvlen);
}

/* The outer header's length field, once the trailer is in. */
static void espo_tx_set_outer_len(struct xfrm_state *x, struct sk_buff *skb)
{
	if (x->props.family == AF_INET) {
		ip_hdr(skb)->tot_len = htons(skb->len);
		ip_send_check(ip_hdr(skb));
	} else {
		ipv6_hdr(skb)->payload_len =
			htons(skb->len - sizeof(struct ipv6hdr));
	}
}

/*
 * The offload type's software transmit (esp_offload/offload.c): skb->data
 * is the payload, the transport header the ESP header the core made room
 * for, and proto the protocol that the payload carries. Same trailer,
 * header and cipher as espo_output, so the same ownership rules: only
 * memory the skb owns is written. No TFC padding: SAs with TFC never
 * take this path (xfrm_glue/offload.c).
 */
int espo_output_xmit(struct xfrm_state *x, struct sk_buff *skb, u8 proto,
		     u64 seq)
{
	struct crypto_aead *aead = x->data;
	unsigned int icvlen = crypto_aead_authsize(aead);
	struct ip_esp_hdr *esph;
	struct espo_tx_geom g;
	int err;

	espo_tx_geometry(skb, 0, icvlen, &g);
	err = espo_tx_append_trailer(x, skb, &g, proto);
	if (unlikely(err)) {
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return err;
	}
	/* After the trailer: a copy-on-write may have moved the head. */
	esph = ip_esp_hdr(skb);
	err = espo_tx_write_header(x, esph, seq);
	if (unlikely(err))
		return err;

	skb_push(skb, -skb_network_offset(skb));
	espo_tx_set_outer_len(x, skb);
	espo_count(ESPO_TX_XMIT);
	return espo_tx_encrypt(x, skb, esph, htonl(upper_32_bits(seq)), &g,
			       icvlen);
}

/*
 * The offload type's transmit for a device that does the crypto (its
 * NETIF_F_HW_ESP is on and the SA is offloaded to it): header, IV,
 * padding, pad length and next header as above, room for the ICV, the
 * outer length; the device encrypts and writes the ICV on its way out,
 * so the packet keeps its offload state (the device reads the SA there).
 */
int espo_output_xmit_hw(struct xfrm_state *x, struct sk_buff *skb, u8 proto,
			u64 seq)
{
	unsigned int icvlen = crypto_aead_authsize(x->data);
	struct espo_tx_geom g;
	int err;

	espo_tx_geometry(skb, 0, icvlen, &g);
	err = espo_tx_append_trailer(x, skb, &g, proto);
	if (unlikely(err)) {
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return err;
	}
	err = espo_tx_write_header(x, ip_esp_hdr(skb), seq);
	if (unlikely(err))
		return err;

	skb_push(skb, -skb_network_offset(skb));
	espo_tx_set_outer_len(x, skb);
	espo_count(ESPO_TX_DEVICE);
	return 0;
}
