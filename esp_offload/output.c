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
#include <net/ip6_checksum.h>
#include <net/udp.h>
#include <net/xfrm.h>

#include "crypto_accel/aead.h"
#include "esp_offload/esp.h"
#include "esp_offload/stats.h"

/* Sizes of one packet's trailer. */
struct espo_tx_geom {
	unsigned int tfclen;	/* TFC padding (RFC 4303 2.7), tunnel mode */
	unsigned int padlen;	/* 0..3 bytes to the 4-byte boundary */
	unsigned int clen;	/* payload + TFC + padding + 2 */
	unsigned int tailen;	/* everything appended after the payload */
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

static void espo_tx_geometry(struct xfrm_state *x, struct sk_buff *skb,
			     unsigned int icvlen, struct espo_tx_geom *g)
{
	unsigned int plain = skb->len + espo_tfc_len(x, skb);

	g->tfclen = plain - skb->len;
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

/*
 * Make the packet ours to encrypt in place and append the trailer.
 * Returns the number of scatterlist entries the packet needs.
 */
static int espo_tx_append_trailer(struct sk_buff *skb,
				  const struct espo_tx_geom *g, u8 proto)
{
	struct sk_buff *trailer = skb;
	int nfrags = 1;

	if (skb_cloned(skb) || skb_is_nonlinear(skb) ||
	    skb_tailroom(skb) < g->tailen) {
		nfrags = skb_cow_data(skb, g->tailen, &trailer);
		if (nfrags < 0)
			return nfrags;
	}
	espo_fill_trailer(skb_tail_pointer(trailer), g, proto);
	pskb_put(skb, trailer, g->tailen);
	return nfrags;
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

	espo_req_free(r);
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

static ESPO_ASYNC_DONE(espo_output_done)
{
	struct espo_req *r = espo_async_data();
	struct sk_buff *skb = r->skb;

	espo_count(ESPO_TX_ASYNC);
	err = espo_output_finish(r, err);
	xfrm_output_resume(skb_to_full_sk(skb), skb, err);
}

static int espo_tx_encrypt(struct xfrm_state *x, struct sk_buff *skb,
			   struct ip_esp_hdr *esph, int nfrags,
			   const struct espo_tx_geom *g, unsigned int icvlen)
{
	struct crypto_aead *aead = x->data;
	int ivoff = (u8 *)(esph + 1) - skb->data;
	struct espo_req *r;
	int err;

	r = espo_req_alloc(aead, nfrags + 1);
	if (unlikely(!r)) {
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return -ENOMEM;
	}
	r->skb = skb;
	r->x = x;
	memcpy(r->iv, esph + 1, ESPO_IV_LEN);
	espo_req_set_aad(r, x, esph->spi, esph->seq_no,
			 htonl(XFRM_SKB_CB(skb)->seq.output.hi));
	err = skb_to_sgvec(skb, &r->sg[1], ivoff,
			   ESPO_IV_LEN + g->clen + icvlen);
	if (unlikely(err < 0)) {
		espo_req_free(r);
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return err;
	}
	aead_request_set_callback(r->areq, 0, espo_output_done, r);
	aead_request_set_crypt(r->areq, r->sg, r->sg, g->clen, r->iv);
	aead_request_set_ad(r->areq, r->aadlen + ESPO_IV_LEN);

	err = crypto_aead_encrypt(r->areq);
	if (err == -EINPROGRESS)
		return err;
	return espo_output_finish(r, err);
}

int espo_output(struct xfrm_state *x, struct sk_buff *skb)
{
	struct crypto_aead *aead = x->data;
	unsigned int icvlen = crypto_aead_authsize(aead);
	u8 proto = *skb_mac_header(skb);
	struct xfrm_skb_cb *cb = XFRM_SKB_CB(skb);
	struct ip_esp_hdr *esph;
	struct espo_tx_geom g;
	int nfrags, err;
	u64 seq;

	espo_tx_geometry(x, skb, icvlen, &g);
	nfrags = espo_tx_append_trailer(skb, &g, proto);
	if (unlikely(nfrags < 0)) {
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return nfrags;
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

	/*
	 * The explicit IV is the 64-bit sequence number: unique for the
	 * SA's life because the core never lets the counter wrap (and
	 * init_state refuses SAs that would allow it). RFC 4106 3.1.
	 */
	seq = cb->seq.output.low + ((u64)cb->seq.output.hi << 32);
	esph->spi = x->id.spi;
	esph->seq_no = htonl(cb->seq.output.low);
	put_unaligned_be64(seq, esph + 1);

	skb_push(skb, -skb_network_offset(skb));
	return espo_tx_encrypt(x, skb, esph, nfrags, &g, icvlen);
}
