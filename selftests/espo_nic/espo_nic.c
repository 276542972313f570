// SPDX-License-Identifier: GPL-2.0
/*
 * espo_nic: a TEST network device for esp_offload's NIC crypto offload.
 * Never installed; `make` builds it in a kbuild pass of its own and the
 * selftests load it with insmod.
 *
 * Loading it creates pairs of devices, enic0/enic1 (pairs=N: up to
 * enic<2N-1>), wired like veth: what one end transmits the other end
 * receives. Each end implements xfrmdev_ops (crypto offload only) and
 * advertises NETIF_F_HW_ESP, and really does the crypto of the SAs
 * offloaded to it, with rfc4106(gcm(aes)) from the crypto API:
 *
 *   TX  for a packet of an outbound SA offloaded here, the ESP module has
 *       built the ESP header, IV, padding, pad length and next header and
 *       left room for the ICV; the device encrypts the payload and
 *       trailer and writes the ICV, like a NIC would on its way to the
 *       wire (in a private copy if the skb shares its memory);
 *   RX  for an ESP packet of an inbound SA offloaded to the receiving
 *       end, the device decrypts in place (after making the memory its
 *       own), leaves header, IV and trailer for the ESP module to strip,
 *       and hands the SA to the stack: a secpath holding the state and an
 *       offload state marked CRYPTO_DONE with CRYPTO_SUCCESS or an ICV
 *       failure status.
 *
 * The transform is allocated synchronous-only (CRYPTO_ALG_ASYNC in the
 * mask), so each request completes inline in the transmit path, which
 * runs with bottom halves off.
 *
 * Parameters: pairs (1 to 8; each device has its own SA table and
 * counters), max_sas (SA table size per device, at most 1024; SAs beyond
 * it are refused with -EOPNOTSUPP, so the core processes them in
 * software),
 * corrupt_icv (corrupt the ICV of the next N packets encrypted here),
 * ok_max_len (xdo_dev_offload_ok refuses packets longer than this, so
 * the core encrypts them in software). Counters: ethtool -S. Offloaded
 * SAs: /sys/kernel/debug/espo_nic/<device>.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/aead.h>
#include <linux/debugfs.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <net/esp.h>
#include <net/xfrm.h>

#ifndef ESPO_HAVE_XSO_DIR
#error "espo_nic needs struct xfrm_dev_offload's dir and type fields"
#endif

#define ESPO_NIC_ALG		"rfc4106(gcm(aes))"
#define ESPO_NIC_IV_LEN		8
#define ESPO_NIC_HDR_LEN	(sizeof(struct ip_esp_hdr) + ESPO_NIC_IV_LEN)
/* SPI, high and low sequence number halves (ESN). */
#define ESPO_NIC_AAD_MAX	12
#define ESPO_NIC_MAX_PAIRS	8
#define ESPO_NIC_MAX_SAS	1024

static unsigned int espo_nic_pairs = 1;
module_param_named(pairs, espo_nic_pairs, uint, 0444);
MODULE_PARM_DESC(pairs, "device pairs to create (enic0/enic1, ...; 1 to 8, default 1)");

static unsigned int espo_nic_max_sas = 4;
module_param_named(max_sas, espo_nic_max_sas, uint, 0444);
MODULE_PARM_DESC(max_sas, "offloaded SAs per device, up to 1024; more are refused (default 4)");

static unsigned int espo_nic_corrupt_icv;
module_param_named(corrupt_icv, espo_nic_corrupt_icv, uint, 0644);
MODULE_PARM_DESC(corrupt_icv, "corrupt the ICV of the next N packets encrypted on TX (default 0)");

static unsigned int espo_nic_ok_max_len;
module_param_named(ok_max_len, espo_nic_ok_max_len, uint, 0644);
MODULE_PARM_DESC(ok_max_len, "xdo_dev_offload_ok refuses packets longer than this (0, default: none)");

enum espo_nic_stat {
	ESPO_NIC_TX_PKTS,
	ESPO_NIC_TX_BYTES,
	ESPO_NIC_TX_DROP,
	ESPO_NIC_TX_ICV_CORRUPTED,
	ESPO_NIC_RX_PKTS,
	ESPO_NIC_RX_BYTES,
	ESPO_NIC_RX_DROP_AUTH,
	ESPO_NIC_RX_DROP,
	ESPO_NIC_RX_NOSA,
	ESPO_NIC_SA_ADD,
	ESPO_NIC_SA_REFUSED,
	ESPO_NIC_SA_DEL,
	ESPO_NIC_ESN_ADVANCE,
	ESPO_NIC_OFFLOAD_OK_NO,
	ESPO_NIC_STAT_COUNT
};

static const char espo_nic_stat_names[ESPO_NIC_STAT_COUNT][ETH_GSTRING_LEN] = {
	[ESPO_NIC_TX_PKTS]		= "ipsec_tx_pkts",
	[ESPO_NIC_TX_BYTES]		= "ipsec_tx_bytes",
	[ESPO_NIC_TX_DROP]		= "ipsec_tx_drop",
	[ESPO_NIC_TX_ICV_CORRUPTED]	= "ipsec_tx_icv_corrupted",
	[ESPO_NIC_RX_PKTS]		= "ipsec_rx_pkts",
	[ESPO_NIC_RX_BYTES]		= "ipsec_rx_bytes",
	[ESPO_NIC_RX_DROP_AUTH]		= "ipsec_rx_drop_auth",
	[ESPO_NIC_RX_DROP]		= "ipsec_rx_drop",
	[ESPO_NIC_RX_NOSA]		= "ipsec_rx_nosa",
	[ESPO_NIC_SA_ADD]		= "ipsec_sa_add",
	[ESPO_NIC_SA_REFUSED]		= "ipsec_sa_refused",
	[ESPO_NIC_SA_DEL]		= "ipsec_sa_del",
	[ESPO_NIC_ESN_ADVANCE]		= "ipsec_esn_advance",
	[ESPO_NIC_OFFLOAD_OK_NO]	= "ipsec_offload_ok_no",
};

struct espo_nic_priv;

/* One offloaded SA; x->xso.offload_handle points here. */
struct espo_nic_sa {
	struct xfrm_state *x;
	struct espo_nic_priv *priv;
	struct crypto_aead *tfm;
	unsigned int slot;
	unsigned int icvlen;
	unsigned short family;
	bool rx;
	bool esn;
	__be32 spi;
	xfrm_address_t daddr;
	u32 esn_hi;		/* as of the last advance_esn (debugfs) */
	atomic64_t packets;
};

struct espo_nic_priv {
	struct net_device *dev;
	struct net_device *peer;
	/* The SA table: writers hold sa_lock, the receive path reads under RCU. */
	spinlock_t sa_lock;
	struct espo_nic_sa __rcu **sas;
	atomic64_t stats[ESPO_NIC_STAT_COUNT];
	atomic64_t tx_packets, tx_bytes, tx_dropped;
	atomic64_t rx_packets, rx_bytes, rx_dropped;
};

static struct net_device **espo_nic_devs;
static unsigned int espo_nic_ndevs;
static struct dentry *espo_nic_debugfs;

static void espo_nic_count(struct espo_nic_priv *priv, enum espo_nic_stat s,
			   u64 n)
{
	atomic64_add(n, &priv->stats[s]);
}

/*
 * A refusal: the SA stays in software. 6.1's xdo_dev_state_add has no
 * extack, so the message also goes to the kernel log.
 */
#define espo_nic_refuse(dev, extack, msg) do {				\
	NL_SET_ERR_MSG_MOD(extack, msg);				\
	netdev_info(dev, "SA refused: %s\n", msg);			\
} while (0)

static int espo_nic_check_sa(struct net_device *dev, struct xfrm_state *x,
			     struct netlink_ext_ack *extack)
{
	if (x->xso.type != XFRM_DEV_OFFLOAD_CRYPTO) {
		espo_nic_refuse(dev, extack, "only crypto offload is supported");
		return -EOPNOTSUPP;
	}
	if (x->id.proto != IPPROTO_ESP || !x->aead ||
	    strcmp(x->aead->alg_name, ESPO_NIC_ALG)) {
		espo_nic_refuse(dev, extack, "only ESP with rfc4106(gcm(aes)) is offloaded");
		return -EOPNOTSUPP;
	}
	if (x->encap || x->tfcpad) {
		espo_nic_refuse(dev, extack, "NAT-T and TFC padding are not offloaded");
		return -EOPNOTSUPP;
	}
	if (x->props.mode != XFRM_MODE_TRANSPORT &&
	    x->props.mode != XFRM_MODE_TUNNEL) {
		espo_nic_refuse(dev, extack, "only transport and tunnel mode are offloaded");
		return -EOPNOTSUPP;
	}
	if (x->props.family != AF_INET && x->props.family != AF_INET6) {
		espo_nic_refuse(dev, extack, "unknown address family");
		return -EOPNOTSUPP;
	}
	return 0;
}

static struct espo_nic_sa *espo_nic_sa_alloc(struct xfrm_state *x)
{
	struct espo_nic_sa *sa;
	int err;

	sa = kzalloc(sizeof(*sa), GFP_KERNEL);
	if (!sa)
		return ERR_PTR(-ENOMEM);
	/* Synchronous only: the transmit path cannot wait. */
	sa->tfm = crypto_alloc_aead(ESPO_NIC_ALG, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(sa->tfm)) {
		err = PTR_ERR(sa->tfm);
		goto err_sa;
	}
	err = crypto_aead_setkey(sa->tfm, x->aead->alg_key,
				 (x->aead->alg_key_len + 7) / 8);
	if (err)
		goto err_tfm;
	err = crypto_aead_setauthsize(sa->tfm, x->aead->alg_icv_len / 8);
	if (err)
		goto err_tfm;

	sa->x = x;
	sa->icvlen = x->aead->alg_icv_len / 8;
	sa->family = x->props.family;
	sa->rx = x->xso.dir == XFRM_DEV_OFFLOAD_IN;
	sa->esn = x->props.flags & XFRM_STATE_ESN;
	sa->spi = x->id.spi;
	sa->daddr = x->id.daddr;
	return sa;

err_tfm:
	crypto_free_aead(sa->tfm);
err_sa:
	kfree(sa);
	return ERR_PTR(err);
}

static void espo_nic_sa_destroy(struct espo_nic_sa *sa)
{
	crypto_free_aead(sa->tfm);
	kfree(sa);
}

/* A free slot, or -1 (the table is full). Called with sa_lock held. */
static int espo_nic_free_slot(struct espo_nic_priv *priv)
{
	unsigned int i;

	for (i = 0; i < espo_nic_max_sas; i++)
		if (!rcu_access_pointer(priv->sas[i]))
			return i;
	return -1;
}

static int espo_nic_state_add(struct xfrm_state *x,
			      struct netlink_ext_ack *extack)
{
	struct net_device *dev = x->xso.dev;
	struct espo_nic_priv *priv = netdev_priv(dev);
	struct espo_nic_sa *sa;
	int err, slot;

	err = espo_nic_check_sa(dev, x, extack);
	if (err)
		goto err_refused;
	sa = espo_nic_sa_alloc(x);
	if (IS_ERR(sa)) {
		err = PTR_ERR(sa);
		NL_SET_ERR_MSG_MOD(extack, "cannot set up the SA's transform");
		goto err_refused;
	}
	sa->priv = priv;

	spin_lock_bh(&priv->sa_lock);
	slot = espo_nic_free_slot(priv);
	if (slot >= 0) {
		sa->slot = slot;
		rcu_assign_pointer(priv->sas[slot], sa);
	}
	spin_unlock_bh(&priv->sa_lock);
	if (slot < 0) {
		espo_nic_refuse(dev, extack, "SA table full (max_sas)");
		err = -EOPNOTSUPP;
		goto err_sa;
	}

	x->xso.offload_handle = (unsigned long)sa;
	espo_nic_count(priv, ESPO_NIC_SA_ADD, 1);
	return 0;

err_sa:
	espo_nic_sa_destroy(sa);
err_refused:
	espo_nic_count(priv, ESPO_NIC_SA_REFUSED, 1);
	return err;
}

#ifdef ESPO_HAVE_XDO_ADD_EXTACK
static int espo_nic_xdo_add(struct xfrm_state *x,
			    struct netlink_ext_ack *extack)
{
	return espo_nic_state_add(x, extack);
}
#else
static int espo_nic_xdo_add(struct xfrm_state *x)
{
	return espo_nic_state_add(x, NULL);
}
#endif

/* Take the SA out of the table; true if it was still there. */
static bool espo_nic_sa_unlink(struct espo_nic_sa *sa)
{
	struct espo_nic_priv *priv = sa->priv;
	bool linked;

	spin_lock_bh(&priv->sa_lock);
	linked = rcu_access_pointer(priv->sas[sa->slot]) == sa;
	if (linked)
		RCU_INIT_POINTER(priv->sas[sa->slot], NULL);
	spin_unlock_bh(&priv->sa_lock);
	return linked;
}

/* May run in atomic context (under x->lock, from a timer). */
static void espo_nic_xdo_delete(struct xfrm_state *x)
{
	struct espo_nic_sa *sa = (struct espo_nic_sa *)x->xso.offload_handle;

	if (sa && espo_nic_sa_unlink(sa))
		espo_nic_count(sa->priv, ESPO_NIC_SA_DEL, 1);
}

/*
 * Process context. On 6.12 the core may call this right after delete
 * while packets still hold the state (device flush): forget the handle,
 * then wait for every transmit and receive path that may have read it.
 */
static void espo_nic_xdo_free(struct xfrm_state *x)
{
	struct espo_nic_sa *sa = (struct espo_nic_sa *)x->xso.offload_handle;

	if (!sa)
		return;
	if (espo_nic_sa_unlink(sa))
		espo_nic_count(sa->priv, ESPO_NIC_SA_DEL, 1);
	WRITE_ONCE(x->xso.offload_handle, 0);
	synchronize_rcu();
	espo_nic_sa_destroy(sa);
}

static bool espo_nic_xdo_offload_ok(struct sk_buff *skb, struct xfrm_state *x)
{
	unsigned int max = READ_ONCE(espo_nic_ok_max_len);

	if (max && skb->len > max) {
		espo_nic_count(netdev_priv(x->xso.dev), ESPO_NIC_OFFLOAD_OK_NO, 1);
		return false;
	}
	return true;
}

/* Under x->lock, after the core moved the inbound replay window. */
static void espo_nic_xdo_advance_esn(struct xfrm_state *x)
{
	struct espo_nic_sa *sa = (struct espo_nic_sa *)x->xso.offload_handle;

	if (!sa || !x->replay_esn)
		return;
	WRITE_ONCE(sa->esn_hi, x->replay_esn->seq_hi);
	espo_nic_count(sa->priv, ESPO_NIC_ESN_ADVANCE, 1);
}

static const struct xfrmdev_ops espo_nic_xfrmdev_ops = {
	.xdo_dev_state_add		= espo_nic_xdo_add,
	.xdo_dev_state_delete		= espo_nic_xdo_delete,
	.xdo_dev_state_free		= espo_nic_xdo_free,
	.xdo_dev_offload_ok		= espo_nic_xdo_offload_ok,
	.xdo_dev_state_advance_esn	= espo_nic_xdo_advance_esn,
};

/*
 * The offset of the ESP header from skb->data, or -1 when the packet is
 * not plain ESP right after the outer IP header. *daddr is the outer
 * destination. The IP header must be linear.
 */
static int espo_nic_esp_offset(struct sk_buff *skb, unsigned short *family,
			       xfrm_address_t *daddr, unsigned int *len)
{
	int noff = skb_network_offset(skb);
	const struct ipv6hdr *ip6h;
	const struct iphdr *iph;

	if (skb->protocol == htons(ETH_P_IP)) {
		if (!pskb_may_pull(skb, noff + sizeof(*iph)))
			return -1;
		iph = (const struct iphdr *)(skb->data + noff);
		if (iph->protocol != IPPROTO_ESP || ip_is_fragment(iph) ||
		    iph->ihl < 5 || ntohs(iph->tot_len) > skb->len - noff)
			return -1;
		*family = AF_INET;
		daddr->a4 = iph->daddr;
		*len = ntohs(iph->tot_len) - iph->ihl * 4;
		return noff + iph->ihl * 4;
	}
	if (skb->protocol == htons(ETH_P_IPV6)) {
		if (!pskb_may_pull(skb, noff + sizeof(*ip6h)))
			return -1;
		ip6h = (const struct ipv6hdr *)(skb->data + noff);
		if (ip6h->nexthdr != IPPROTO_ESP ||
		    ntohs(ip6h->payload_len) > skb->len - noff - sizeof(*ip6h))
			return -1;
		*family = AF_INET6;
		daddr->in6 = ip6h->daddr;
		*len = ntohs(ip6h->payload_len);
		return noff + sizeof(*ip6h);
	}
	return -1;
}

/*
 * AES-GCM over one ESP packet in linear memory the device owns: esp is
 * the ESP header, len runs to the end of the ICV. Encrypting fills the
 * ICV; decrypting checks it (-EBADMSG) and leaves it in place.
 */
static int espo_nic_crypt(struct espo_nic_sa *sa, u8 *esp, unsigned int len,
			  __be32 seq_hi, bool encrypt)
{
	unsigned int reqlen = sizeof(struct aead_request) +
			      crypto_aead_reqsize(sa->tfm);
	unsigned int aadlen = sa->esn ? 12 : 8;
	struct scatterlist sg[2];
	struct aead_request *req;
	u8 *aad, *iv;
	int err;

	if (len < ESPO_NIC_HDR_LEN + 2 + sa->icvlen)
		return -EINVAL;
	/* The AAD and the IV must not live on the (vmapped) stack. */
	req = kmalloc(reqlen + ESPO_NIC_AAD_MAX + ESPO_NIC_IV_LEN, GFP_ATOMIC);
	if (!req)
		return -ENOMEM;
	aad = (u8 *)req + reqlen;
	iv = aad + ESPO_NIC_AAD_MAX;

	/* RFC 4303 / RFC 4106: SPI, [high sequence bits], sequence number. */
	memcpy(aad, esp, 4);
	if (sa->esn) {
		memcpy(aad + 4, &seq_hi, 4);
		memcpy(aad + 8, esp + 4, 4);
	} else {
		memcpy(aad + 4, esp + 4, 4);
	}
	memcpy(iv, esp + sizeof(struct ip_esp_hdr), ESPO_NIC_IV_LEN);

	sg_init_table(sg, 2);
	sg_set_buf(&sg[0], aad, aadlen);
	sg_set_buf(&sg[1], esp + sizeof(struct ip_esp_hdr),
		   len - sizeof(struct ip_esp_hdr));
	aead_request_set_tfm(req, sa->tfm);
	aead_request_set_callback(req, 0, NULL, NULL);
	aead_request_set_ad(req, aadlen + ESPO_NIC_IV_LEN);
	if (encrypt) {
		aead_request_set_crypt(req, sg, sg,
				       len - ESPO_NIC_HDR_LEN - sa->icvlen, iv);
		err = crypto_aead_encrypt(req);
	} else {
		aead_request_set_crypt(req, sg, sg, len - ESPO_NIC_HDR_LEN, iv);
		err = crypto_aead_decrypt(req);
	}
	/* A synchronous transform never queues. */
	if (WARN_ON_ONCE(err == -EINPROGRESS || err == -EBUSY))
		err = -EIO;
	kfree_sensitive(req);
	return err;
}

/*
 * The high half of an outbound ESN: the core's counter is at or past
 * every sequence number it handed out, so a low half above the
 * counter's comes from before the last wrap.
 */
static __be32 espo_nic_tx_seq_hi(const struct espo_nic_sa *sa,
				 const u8 *esp)
{
	const struct xfrm_replay_state_esn *r = sa->x->replay_esn;
	__be32 seq;
	u32 low, hi, cur;

	if (!sa->esn || !r)
		return 0;
	memcpy(&seq, esp + 4, sizeof(seq));
	low = ntohl(seq);
	hi = READ_ONCE(r->oseq_hi);
	cur = READ_ONCE(r->oseq);
	if (low > cur)
		hi--;
	return htonl(hi);
}

/* Take one from corrupt_icv if it is not zero. */
static bool espo_nic_take_corrupt(void)
{
	unsigned int n = READ_ONCE(espo_nic_corrupt_icv);

	while (n) {
		unsigned int old = cmpxchg(&espo_nic_corrupt_icv, n, n - 1);

		if (old == n)
			return true;
		n = old;
	}
	return false;
}

/*
 * A packet the ESP module left for the device to encrypt: it carries
 * the offload state of an outbound SA offloaded to this device, without
 * CRYPTO_FALLBACK (software already encrypted it) or a receive mark.
 */
static struct xfrm_state *espo_nic_tx_state(struct net_device *dev,
					    struct sk_buff *skb)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	struct xfrm_state *x;

	if (!xo || (xo->flags & (CRYPTO_FALLBACK | CRYPTO_DONE | XFRM_GRO)))
		return NULL;
	x = xfrm_input_state(skb);
	if (READ_ONCE(x->xso.dev) != dev ||
	    x->xso.dir != XFRM_DEV_OFFLOAD_OUT)
		return NULL;
	return x;
}

/* Returns the packet to send, or NULL when it was dropped. */
static struct sk_buff *espo_nic_tx_ipsec(struct espo_nic_priv *priv,
					 struct sk_buff *skb)
{
	struct xfrm_state *x = espo_nic_tx_state(priv->dev, skb);
	unsigned int len, esplen;
	xfrm_address_t daddr;
	unsigned short family;
	struct espo_nic_sa *sa;
	u8 *esp;
	int off;

	if (!x)
		return skb;
	sa = (struct espo_nic_sa *)READ_ONCE(x->xso.offload_handle);
	if (unlikely(!sa || sa->rx))
		goto drop;
	/* The wire gets our copy; pages shared with a socket stay intact. */
	if (skb_linearize_cow(skb))
		goto drop;
	off = espo_nic_esp_offset(skb, &family, &daddr, &esplen);
	if (off < 0 || family != sa->family)
		goto drop;
	esp = skb->data + off;
	len = skb->len;
	if (espo_nic_crypt(sa, esp, esplen, espo_nic_tx_seq_hi(sa, esp), true))
		goto drop;
	if (espo_nic_take_corrupt()) {
		esp[esplen - 1] ^= 0x5a;
		espo_nic_count(priv, ESPO_NIC_TX_ICV_CORRUPTED, 1);
	}
	atomic64_inc(&sa->packets);
	espo_nic_count(priv, ESPO_NIC_TX_PKTS, 1);
	espo_nic_count(priv, ESPO_NIC_TX_BYTES, len);
	return skb;

drop:
	espo_nic_count(priv, ESPO_NIC_TX_DROP, 1);
	net_dbg_ratelimited("%s: offloaded ESP packet dropped on TX\n",
			    priv->dev->name);
	kfree_skb(skb);
	return NULL;
}

/* An inbound SA of this device, held; call under RCU. */
static struct espo_nic_sa *espo_nic_rx_lookup(struct espo_nic_priv *priv,
					      unsigned short family,
					      const xfrm_address_t *daddr,
					      __be32 spi)
{
	struct espo_nic_sa *sa;
	unsigned int i;

	for (i = 0; i < espo_nic_max_sas; i++) {
		sa = rcu_dereference(priv->sas[i]);
		if (!sa || !sa->rx || sa->spi != spi || sa->family != family ||
		    !xfrm_addr_equal(&sa->daddr, daddr, family))
			continue;
		/* The state may be on its way out: never revive it. */
		if (!refcount_inc_not_zero(&sa->x->refcnt))
			return NULL;
		return sa;
	}
	return NULL;
}

/* Hand the held state and the device's verdict to the xfrm stack. */
static int espo_nic_rx_mark(struct sk_buff *skb, struct espo_nic_sa *sa,
			    int err)
{
	struct xfrm_offload *xo;
	struct sec_path *sp;

	sp = secpath_set(skb);
	if (!sp || sp->len == XFRM_MAX_DEPTH)
		return -ENOMEM;
	sp->xvec[sp->len++] = sa->x;
	sp->olen++;
	xo = xfrm_offload(skb);
	xo->flags = CRYPTO_DONE;
	if (!err)
		xo->status = CRYPTO_SUCCESS;
	else if (err == -EBADMSG)
		xo->status = sa->x->props.mode == XFRM_MODE_TUNNEL ?
			     CRYPTO_TUNNEL_ESP_AUTH_FAILED :
			     CRYPTO_TRANSPORT_ESP_AUTH_FAILED;
	else
		xo->status = CRYPTO_GENERIC_ERROR;
	return 0;
}

/*
 * The receiving end: decrypt an ESP packet of an SA offloaded here.
 * Returns 0 when the packet goes up the stack (decrypted and marked, or
 * untouched), or an error when it must be dropped.
 */
static int espo_nic_rx_ipsec(struct espo_nic_priv *priv, struct sk_buff *skb)
{
	unsigned int len, esplen;
	xfrm_address_t daddr;
	unsigned short family;
	struct espo_nic_sa *sa;
	__be32 spi, seq_hi = 0;
	int off, err;
	u8 *esp;

	skb_reset_network_header(skb);
	off = espo_nic_esp_offset(skb, &family, &daddr, &esplen);
	if (off < 0 || !pskb_may_pull(skb, off + ESPO_NIC_HDR_LEN))
		return 0;
	spi = ((struct ip_esp_hdr *)(skb->data + off))->spi;

	rcu_read_lock();
	sa = espo_nic_rx_lookup(priv, family, &daddr, spi);
	if (!sa) {
		rcu_read_unlock();
		espo_nic_count(priv, ESPO_NIC_RX_NOSA, 1);
		return 0;
	}
	/* Decryption writes: into memory this skb alone owns. */
	err = skb_linearize_cow(skb);
	if (err)
		goto err_put;
	esp = skb->data + off;
	len = skb->len;
	if (sa->esn)
		seq_hi = htonl(xfrm_replay_seqhi(sa->x,
						 ((struct ip_esp_hdr *)esp)->seq_no));
	err = espo_nic_crypt(sa, esp, esplen, seq_hi, false);
	rcu_read_unlock();
	/* The bytes changed: whatever checksum state came with them is gone. */
	skb->ip_summed = CHECKSUM_NONE;
	if (err == -EBADMSG)
		espo_nic_count(priv, ESPO_NIC_RX_DROP_AUTH, 1);
	else if (err)
		espo_nic_count(priv, ESPO_NIC_RX_DROP, 1);
	if (espo_nic_rx_mark(skb, sa, err)) {
		xfrm_state_put(sa->x);
		espo_nic_count(priv, ESPO_NIC_RX_DROP, 1);
		return -ENOMEM;
	}
	if (!err) {
		atomic64_inc(&sa->packets);
		espo_nic_count(priv, ESPO_NIC_RX_PKTS, 1);
		espo_nic_count(priv, ESPO_NIC_RX_BYTES, len);
	}
	return 0;

err_put:
	rcu_read_unlock();
	xfrm_state_put(sa->x);
	espo_nic_count(priv, ESPO_NIC_RX_DROP, 1);
	return err;
}

static netdev_tx_t espo_nic_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct espo_nic_priv *priv = netdev_priv(dev);
	struct net_device *peer = priv->peer;
	struct espo_nic_priv *ppriv = netdev_priv(peer);
	unsigned int len;

	skb = espo_nic_tx_ipsec(priv, skb);
	if (!skb)
		goto dropped;
	if (unlikely(!netif_running(peer))) {
		kfree_skb(skb);
		goto dropped;
	}
	len = skb->len;
	/* Scrubs the packet (the TX secpath goes) and sets skb->dev. */
	if (__dev_forward_skb(peer, skb) != NET_RX_SUCCESS)
		goto dropped;
	if (espo_nic_rx_ipsec(ppriv, skb)) {
		kfree_skb(skb);
		atomic64_inc(&ppriv->rx_dropped);
		goto sent;
	}
	netif_rx(skb);
	atomic64_inc(&ppriv->rx_packets);
	atomic64_add(len, &ppriv->rx_bytes);
sent:
	atomic64_inc(&priv->tx_packets);
	atomic64_add(len, &priv->tx_bytes);
	return NETDEV_TX_OK;

dropped:
	atomic64_inc(&priv->tx_dropped);
	return NETDEV_TX_OK;
}

static int espo_nic_open(struct net_device *dev)
{
	struct espo_nic_priv *priv = netdev_priv(dev);

	if (netif_running(priv->peer)) {
		netif_carrier_on(dev);
		netif_carrier_on(priv->peer);
	}
	return 0;
}

static int espo_nic_stop(struct net_device *dev)
{
	struct espo_nic_priv *priv = netdev_priv(dev);

	netif_carrier_off(dev);
	netif_carrier_off(priv->peer);
	return 0;
}

static void espo_nic_get_stats64(struct net_device *dev,
				 struct rtnl_link_stats64 *s)
{
	struct espo_nic_priv *priv = netdev_priv(dev);

	s->tx_packets = atomic64_read(&priv->tx_packets);
	s->tx_bytes = atomic64_read(&priv->tx_bytes);
	s->tx_dropped = atomic64_read(&priv->tx_dropped);
	s->rx_packets = atomic64_read(&priv->rx_packets);
	s->rx_bytes = atomic64_read(&priv->rx_bytes);
	s->rx_dropped = atomic64_read(&priv->rx_dropped);
}

static const struct net_device_ops espo_nic_netdev_ops = {
	.ndo_open		= espo_nic_open,
	.ndo_stop		= espo_nic_stop,
	.ndo_start_xmit		= espo_nic_xmit,
	.ndo_get_stats64	= espo_nic_get_stats64,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

static void espo_nic_get_drvinfo(struct net_device *dev,
				 struct ethtool_drvinfo *info)
{
	strscpy(info->driver, KBUILD_MODNAME, sizeof(info->driver));
}

static int espo_nic_get_sset_count(struct net_device *dev, int sset)
{
	return sset == ETH_SS_STATS ? ESPO_NIC_STAT_COUNT : -EOPNOTSUPP;
}

static void espo_nic_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	if (sset == ETH_SS_STATS)
		memcpy(data, espo_nic_stat_names, sizeof(espo_nic_stat_names));
}

static void espo_nic_get_ethtool_stats(struct net_device *dev,
				       struct ethtool_stats *stats, u64 *data)
{
	struct espo_nic_priv *priv = netdev_priv(dev);
	unsigned int i;

	for (i = 0; i < ESPO_NIC_STAT_COUNT; i++)
		data[i] = atomic64_read(&priv->stats[i]);
}

static const struct ethtool_ops espo_nic_ethtool_ops = {
	.get_drvinfo		= espo_nic_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_sset_count		= espo_nic_get_sset_count,
	.get_strings		= espo_nic_get_strings,
	.get_ethtool_stats	= espo_nic_get_ethtool_stats,
};

/* debugfs: one line per offloaded SA. */
static int espo_nic_sas_show(struct seq_file *m, void *v)
{
	struct espo_nic_priv *priv = m->private;
	struct espo_nic_sa *sa;
	unsigned int i;

	rcu_read_lock();
	for (i = 0; i < espo_nic_max_sas; i++) {
		sa = rcu_dereference(priv->sas[i]);
		if (!sa)
			continue;
		seq_printf(m, "slot %u spi 0x%08x dir %s ", i, ntohl(sa->spi),
			   sa->rx ? "in" : "out");
		if (sa->family == AF_INET)
			seq_printf(m, "dst %pI4", &sa->daddr.a4);
		else
			seq_printf(m, "dst %pI6c", &sa->daddr.in6);
		seq_printf(m, " icv %u esn %u esn_hi %u packets %lld\n",
			   sa->icvlen * 8, sa->esn, READ_ONCE(sa->esn_hi),
			   (long long)atomic64_read(&sa->packets));
	}
	rcu_read_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(espo_nic_sas);

#define ESPO_NIC_FEATURES (NETIF_F_HW_ESP | NETIF_F_SG | NETIF_F_HW_CSUM | \
			   NETIF_F_HIGHDMA)

static void espo_nic_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &espo_nic_netdev_ops;
	dev->ethtool_ops = &espo_nic_ethtool_ops;
	dev->xfrmdev_ops = &espo_nic_xfrmdev_ops;
	dev->features |= ESPO_NIC_FEATURES;
	dev->hw_features |= ESPO_NIC_FEATURES;
	/* ESP packets are marked encapsulated: the device sees these. */
	dev->hw_enc_features |= NETIF_F_HW_ESP | NETIF_F_SG;
	eth_hw_addr_random(dev);
}

static void espo_nic_free(struct net_device *dev)
{
	struct espo_nic_priv *priv = netdev_priv(dev);

	kfree(priv->sas);
	free_netdev(dev);
}

static struct net_device *espo_nic_alloc(unsigned int index)
{
	struct espo_nic_priv *priv;
	struct net_device *dev;
	char name[IFNAMSIZ];

	snprintf(name, sizeof(name), "enic%u", index);
	dev = alloc_netdev(sizeof(*priv), name, NET_NAME_USER, espo_nic_setup);
	if (!dev)
		return NULL;
	priv = netdev_priv(dev);
	priv->dev = dev;
	spin_lock_init(&priv->sa_lock);
	priv->sas = kcalloc(max(espo_nic_max_sas, 1U), sizeof(*priv->sas),
			    GFP_KERNEL);
	if (!priv->sas) {
		free_netdev(dev);
		return NULL;
	}
	netif_carrier_off(dev);
	return dev;
}

static void espo_nic_unregister(unsigned int n)
{
	LIST_HEAD(list);
	unsigned int i;

	rtnl_lock();
	for (i = 0; i < n; i++)
		unregister_netdevice_queue(espo_nic_devs[i], &list);
	unregister_netdevice_many(&list);
	rtnl_unlock();
}

static int espo_nic_register(void)
{
	unsigned int i;
	int err = 0;

	rtnl_lock();
	for (i = 0; i < espo_nic_ndevs; i++) {
		err = register_netdevice(espo_nic_devs[i]);
		if (err)
			break;
	}
	rtnl_unlock();
	if (err && i)
		espo_nic_unregister(i);
	return err;
}

static int __init espo_nic_init(void)
{
	struct espo_nic_priv *a, *b;
	unsigned int i;
	int err;

	if (!espo_nic_pairs || espo_nic_pairs > ESPO_NIC_MAX_PAIRS) {
		pr_err("pairs=%u refused: 1 to %u device pairs\n",
		       espo_nic_pairs, ESPO_NIC_MAX_PAIRS);
		return -EINVAL;
	}
	if (espo_nic_max_sas > ESPO_NIC_MAX_SAS) {
		pr_err("max_sas=%u refused: at most %u SAs per device\n",
		       espo_nic_max_sas, ESPO_NIC_MAX_SAS);
		return -EINVAL;
	}
	espo_nic_ndevs = 2 * espo_nic_pairs;
	espo_nic_devs = kcalloc(espo_nic_ndevs, sizeof(*espo_nic_devs),
				GFP_KERNEL);
	if (!espo_nic_devs)
		return -ENOMEM;
	for (i = 0; i < espo_nic_ndevs; i++) {
		espo_nic_devs[i] = espo_nic_alloc(i);
		if (!espo_nic_devs[i]) {
			err = -ENOMEM;
			goto err_alloc;
		}
	}
	for (i = 0; i < espo_nic_ndevs; i += 2) {
		a = netdev_priv(espo_nic_devs[i]);
		b = netdev_priv(espo_nic_devs[i + 1]);
		a->peer = b->dev;
		b->peer = a->dev;
	}
	err = espo_nic_register();
	if (err)
		goto err_register;

	espo_nic_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	for (i = 0; i < espo_nic_ndevs; i++)
		debugfs_create_file(espo_nic_devs[i]->name, 0444,
				    espo_nic_debugfs,
				    netdev_priv(espo_nic_devs[i]),
				    &espo_nic_sas_fops);
	pr_info("%u device pair(s), max_sas=%u\n", espo_nic_pairs,
		espo_nic_max_sas);
	return 0;

err_register:
	i = espo_nic_ndevs;
err_alloc:
	while (i--)
		espo_nic_free(espo_nic_devs[i]);
	kfree(espo_nic_devs);
	return err;
}

static void __exit espo_nic_exit(void)
{
	unsigned int i;

	debugfs_remove_recursive(espo_nic_debugfs);
	/* Unregistering flushes the SAs offloaded to the devices. */
	espo_nic_unregister(espo_nic_ndevs);
	for (i = 0; i < espo_nic_ndevs; i++)
		espo_nic_free(espo_nic_devs[i]);
	kfree(espo_nic_devs);
}

module_init(espo_nic_init);
module_exit(espo_nic_exit);
MODULE_DESCRIPTION("TEST ONLY: a veth-like device pair that does ESP crypto offload");
MODULE_AUTHOR("esp_offload contributors");
MODULE_LICENSE("GPL");
