/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AEAD handling: one crypto_aead transform per SA, chosen by the module
 * parameters, and one scratch allocation per packet that holds everything
 * a single AEAD call needs.
 */
#ifndef ESPO_AEAD_H
#define ESPO_AEAD_H

#include <crypto/aead.h>
#include <linux/scatterlist.h>
#include <net/xfrm.h>

/*
 * Crypto completion callbacks: 6.1 passes the async request and the
 * caller's data is in req->data; 6.3+ passes the data pointer itself.
 */
#ifdef ESPO_HAVE_COMPLETION_DATA
#define ESPO_ASYNC_DONE(fn)	void fn(void *espo_arg, int err)
#define espo_async_data()	(espo_arg)
#else
#define ESPO_ASYNC_DONE(fn)	void fn(struct crypto_async_request *espo_arg, int err)
#define espo_async_data()	(espo_arg->data)
#endif

/* RFC 4106 / RFC 4543: 8-byte explicit IV, 4-byte salt at the key's end. */
#define ESPO_IV_LEN	8
#define ESPO_SALT_LEN	4

/*
 * Per-packet scratch. The AAD is built here (SPI, ESN high bits when the
 * SA uses ESN, sequence number) so the packet's own ESP header is never
 * moved around; each scatterlist starts with the AAD and continues with
 * the packet from the IV on. src and dst are the same list unless the
 * output path encrypts into fresh pages (then src_pages counts the page
 * references the src list holds, released once the cipher is done).
 */
struct espo_req {
	struct sk_buff *skb;
	struct xfrm_state *x;
	struct aead_request *areq;
	struct scatterlist *sg;
	struct scatterlist *dst;
	u8 *iv;
	__be32 aad[3];
	u8 aadlen;
	u8 src_pages;
};

int espo_aead_check_params(void);
int espo_aead_init(struct xfrm_state *x, struct netlink_ext_ack *extack);
void espo_aead_destroy(struct xfrm_state *x);
const char *espo_aead_driver(const struct xfrm_state *x);
bool espo_aead_async_by_design(const struct xfrm_state *x);

struct espo_req *espo_req_alloc(struct crypto_aead *aead, int nsg);
void espo_req_set_aad(struct espo_req *r, const struct xfrm_state *x,
		      __be32 spi, __be32 seq_lo, __be32 seq_hi);
int espo_req_map_skb(struct espo_req *r, struct scatterlist *sg, int nsg,
		     struct sk_buff *skb, int offset, int len);

static inline void espo_req_free(struct espo_req *r)
{
	kfree(r);
}

#endif /* ESPO_AEAD_H */
