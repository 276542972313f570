// SPDX-License-Identifier: GPL-2.0
/*
 * ESP input (RFC 4303 section 3.4).
 *
 * The xfrm core has found the SA by SPI, checked the sequence number
 * against the replay window and put the ESN high bits in
 * XFRM_SKB_CB(skb)->seq.input.hi; skb->data is the ESP header. We verify
 * and decrypt, strip header and trailer, and return the next header (or
 * a negative errno, -EBADMSG for an ICV failure, so the core's counters
 * say what happened). The core then advances the replay window.
 */
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/udp.h>
#include <net/xfrm.h>

#include "crypto_accel/aead.h"
#include "esp_offload/esp.h"
#include "esp_offload/stats.h"

/*
 * Decryption writes into the packet. Only write where the skb owns the
 * memory: a cloned head, a frag list, or fragments that are shared
 * (page-cache pages spliced into a socket) or zero-copy user pages are
 * copied first. Returns the number of scatterlist entries needed.
 */
static int espo_rx_make_writable(struct sk_buff *skb)
{
	struct sk_buff *trailer;

	if (!skb_cloned(skb)) {
		if (!skb_is_nonlinear(skb))
			return 1;
		if (!skb_has_frag_list(skb) && !skb_has_shared_frag(skb) &&
		    !skb_zcopy(skb))
			return skb_shinfo(skb)->nr_frags + 1;
	}
	return skb_cow_data(skb, 0, &trailer);
}

/* RFC 4303 2.4: the padding bytes must read 1, 2, 3, ... */
static bool espo_rx_padding_ok(struct sk_buff *skb, int off, int padlen)
{
	u8 buf[32];
	int done, i, n;

	for (done = 0; done < padlen; done += n) {
		n = min_t(int, padlen - done, sizeof(buf));
		if (skb_copy_bits(skb, off + done, buf, n))
			return false;
		for (i = 0; i < n; i++)
			if (buf[i] != (u8)(done + i + 1))
				return false;
	}
	return true;
}

/*
 * Check and remove padding, pad length, next header and ICV. Returns the
 * next header or a negative errno with the drop already counted.
 */
static int espo_rx_strip_trailer(struct xfrm_state *x, struct sk_buff *skb)
{
	unsigned int icvlen = crypto_aead_authsize(x->data);
	int elen = skb->len - ESPO_HDR_LEN - icvlen;
	int trimlen, padlen;
	u8 tail[2];

	if (skb_copy_bits(skb, skb->len - icvlen - 2, tail, 2))
		goto err_truncated;
	padlen = tail[0];
	if (padlen + ESPO_TRAILER_FIXED > elen) {
		espo_count_drop(x, ESPO_DROP_PADLEN);
		return -EINVAL;
	}
	trimlen = padlen + ESPO_TRAILER_FIXED + icvlen;
	if (!espo_rx_padding_ok(skb, skb->len - trimlen, padlen)) {
		espo_count_drop(x, ESPO_DROP_PADDING);
		return -EINVAL;
	}
	if (tail[1] == IPPROTO_NONE) {
		/* A dummy packet (RFC 4303 2.6): drop it silently. */
		espo_count_drop(x, ESPO_DROP_DUMMY);
		return -EINVAL;
	}
	if (padlen + ESPO_TRAILER_FIXED == elen)
		goto err_truncated;
	if (pskb_trim(skb, skb->len - trimlen)) {
		espo_count_drop(x, ESPO_DROP_NOMEM);
		return -ENOMEM;
	}
	return tail[1];

err_truncated:
	espo_count_drop(x, ESPO_DROP_TRUNCATED);
	return -EINVAL;
}

/*
 * NAT-T (RFC 3948): tell the key manager when the peer's public address
 * or port changed, and accept transport-mode checksums that the NAT
 * invalidated (RFC 3948 3.1.2). The UDP header sits right before ESP.
 */
static void espo_rx_natt(struct xfrm_state *x, struct sk_buff *skb)
{
	const struct udphdr *uh = (void *)(skb_transport_header(skb) -
					   sizeof(struct udphdr));
	xfrm_address_t src = {};
	bool moved;

	if (x->props.family == AF_INET) {
		src.a4 = ip_hdr(skb)->saddr;
		moved = src.a4 != x->props.saddr.a4;
	} else {
		src.in6 = ipv6_hdr(skb)->saddr;
		moved = !ipv6_addr_equal(&src.in6, &x->props.saddr.in6);
	}
	if (moved || uh->source != READ_ONCE(x->encap->encap_sport)) {
		espo_count(ESPO_NATT_REMAP);
		km_new_mapping(x, &src, uh->source);
	}
	if (x->props.mode == XFRM_MODE_TRANSPORT)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
}

/*
 * A verified packet (by our cipher, or by a device for the offload
 * type's input_tail): check and strip the trailer, then the ESP header.
 * Returns the next header or a negative errno with the drop counted.
 */
static int espo_rx_decap(struct xfrm_state *x, struct sk_buff *skb)
{
	int iphlen, nexthdr;

	nexthdr = espo_rx_strip_trailer(x, skb);
	if (nexthdr < 0)
		return nexthdr;

	/* IP header and extension headers, not the NAT-T UDP header. */
	iphlen = skb_network_header_len(skb);
	if (x->encap) {
		espo_rx_natt(x, skb);
		iphlen -= sizeof(struct udphdr);
	}
	skb_pull_rcsum(skb, ESPO_HDR_LEN);
	if (x->props.mode == XFRM_MODE_TUNNEL)
		skb_reset_transport_header(skb);
	else
		skb_set_transport_header(skb, -iphlen);

	espo_count(ESPO_RX_PACKETS);
	espo_count_add(ESPO_RX_BYTES, skb->len);
	return nexthdr;
}

static int espo_input_finish(struct espo_req *r, int err)
{
	struct xfrm_state *x = r->x;
	struct sk_buff *skb = r->skb;
	struct xfrm_offload *xo;
	int nexthdr;

	espo_req_free(r);
	if (unlikely(err)) {
		if (err == -EBADMSG)
			espo_count_drop(x, ESPO_DROP_ICV);
		else if (err == -ENOSPC || err == -EBUSY)
			espo_count_drop(x, ESPO_DROP_BUSY);
		else
			espo_count_drop(x, ESPO_DROP_CRYPTO);
		return err;
	}
	nexthdr = espo_rx_decap(x, skb);
	xo = xfrm_offload(skb);
	if (nexthdr >= 0 && xo && (xo->flags & XFRM_GRO))
		espo_count(ESPO_RX_GRO_DECRYPTED);
	return nexthdr;
}

/*
 * The offload type's input_tail: the core calls it for packets a device
 * already verified and decrypted (CRYPTO_DONE); only the trailer and the
 * header are left to remove. On 6.12 it runs before the replay check and
 * before XFRM_SKB_CB(skb)->seq is filled, so it must not read them.
 */
int espo_input_tail(struct xfrm_state *x, struct sk_buff *skb)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	unsigned int icvlen = crypto_aead_authsize(x->data);
	int nexthdr;

	if (!pskb_may_pull(skb, ESPO_HDR_LEN) ||
	    skb->len < ESPO_HDR_LEN + ESPO_TRAILER_FIXED + icvlen) {
		espo_count_drop(x, ESPO_DROP_TRUNCATED);
		return -EINVAL;
	}
	if (!xo || !(xo->flags & CRYPTO_DONE)) {
		skb->ip_summed = CHECKSUM_NONE;
		return espo_rx_decap(x, skb);
	}
	nexthdr = espo_rx_decap(x, skb);
	if (nexthdr >= 0)
		espo_count(ESPO_RX_DEVICE);
	return nexthdr;
}

/* What a device reports for an ESP or AH integrity check that failed. */
#define ESPO_DEVICE_AUTH_FAILED (CRYPTO_TRANSPORT_AH_AUTH_FAILED |	\
				 CRYPTO_TRANSPORT_ESP_AUTH_FAILED |	\
				 CRYPTO_TUNNEL_AH_AUTH_FAILED |		\
				 CRYPTO_TUNNEL_ESP_AUTH_FAILED)

/*
 * A device that decrypts on receive marks each packet CRYPTO_DONE with
 * its verdict. For one whose ICV failed, xfrm_input (6.1 and 6.12 alike)
 * counts XfrmInStateProtoError and the SA's integrity_failed and drops
 * it before it would call input_tail: the module never sees it there.
 * The receive handlers (ESP after IP, ESP GRO) call this just before
 * xfrm_input so that drop_icv counts it as well; the core still drops
 * the packet. The test is the core's: a valid SA of this module, status
 * not CRYPTO_SUCCESS, an authentication failure named.
 */
void espo_input_device_verdict(struct sk_buff *skb)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	struct sec_path *sp = skb_sec_path(skb);
	struct xfrm_state *x;

	if (likely(!xo) || !(xo->flags & CRYPTO_DONE) ||
	    (xo->status & CRYPTO_SUCCESS) ||
	    !(xo->status & ESPO_DEVICE_AUTH_FAILED) || !sp->len)
		return;
	x = sp->xvec[sp->len - 1];
	if (!x->type || x->type->owner != THIS_MODULE ||
	    READ_ONCE(x->km.state) != XFRM_STATE_VALID)
		return;
	espo_count_drop(x, ESPO_DROP_ICV);
	net_dbg_ratelimited("SPI 0x%08x: the device reports an ICV failure\n",
			    ntohl(x->id.spi));
}

static ESPO_ASYNC_DONE(espo_input_done)
{
	struct espo_req *r = espo_async_data();
	struct sk_buff *skb = r->skb;

	espo_count(ESPO_RX_ASYNC);
	xfrm_input_resume(skb, espo_input_finish(r, err));
}

int espo_input(struct xfrm_state *x, struct sk_buff *skb)
{
	struct crypto_aead *aead = x->data;
	unsigned int icvlen = crypto_aead_authsize(aead);
	struct ip_esp_hdr *esph;
	struct espo_req *r;
	int nfrags, err;

	/* Header, IV, pad length, next header and ICV at the least. */
	if (!pskb_may_pull(skb, ESPO_HDR_LEN) ||
	    skb->len < ESPO_HDR_LEN + ESPO_TRAILER_FIXED + icvlen) {
		espo_count_drop(x, ESPO_DROP_TRUNCATED);
		return -EINVAL;
	}
	nfrags = espo_rx_make_writable(skb);
	if (unlikely(nfrags < 0))
		goto err_nomem;
	r = espo_req_alloc(aead, nfrags + 1);
	if (unlikely(!r))
		goto err_nomem;

	r->skb = skb;
	r->x = x;
	esph = ip_esp_hdr(skb);
	memcpy(r->iv, esph + 1, ESPO_IV_LEN);
	espo_req_set_aad(r, x, esph->spi, esph->seq_no,
			 XFRM_SKB_CB(skb)->seq.input.hi);
	err = espo_req_map_skb(r, r->sg, nfrags + 1, skb, sizeof(*esph),
			       skb->len - sizeof(*esph));
	if (unlikely(err)) {
		espo_req_free(r);
		goto err_nomem;
	}
	skb->ip_summed = CHECKSUM_NONE;

	aead_request_set_callback(r->areq, 0, espo_input_done, r);
	aead_request_set_crypt(r->areq, r->sg, r->sg,
			       skb->len - ESPO_HDR_LEN, r->iv);
	aead_request_set_ad(r->areq, r->aadlen + ESPO_IV_LEN);

	err = crypto_aead_decrypt(r->areq);
	if (err == -EINPROGRESS)
		return err;
	return espo_input_finish(r, err);

err_nomem:
	espo_count_drop(x, ESPO_DROP_NOMEM);
	return -ENOMEM;
}
