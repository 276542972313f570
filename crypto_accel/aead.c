// SPDX-License-Identifier: GPL-2.0
/*
 * AEAD transforms for ESP SAs through the kernel crypto API.
 *
 * By default each SA gets the highest-priority implementation registered
 * for its algorithm (AES-NI/VAES, or a hardware engine that registered
 * with a higher priority). Two parameters change that for new SAs:
 *
 *   crypto_driver=<driver>  use this driver (cra_driver_name) for the SAs
 *                           whose algorithm it implements;
 *   crypto_mode=direct|async|parallel
 *                           direct: call the implementation as it is;
 *                           async: queue every request to cryptd, so all
 *                           packets complete asynchronously;
 *                           parallel: spread requests over the CPUs with
 *                           pcrypt, which keeps each SA's packet order.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <net/esp.h>

#include "crypto_accel/aead.h"

static char *espo_crypto_driver = "";
module_param_named(crypto_driver, espo_crypto_driver, charp, 0444);
MODULE_PARM_DESC(crypto_driver,
		 "AEAD driver name to use for the SAs whose algorithm it implements (default: best registered)");

static char *espo_crypto_mode = "direct";
module_param_named(crypto_mode, espo_crypto_mode, charp, 0444);
MODULE_PARM_DESC(crypto_mode,
		 "direct (default), async (every request through cryptd) or parallel (pcrypt over all CPUs)");

static const char * const espo_mode_names[] = { "direct", "async", "parallel" };

static int espo_mode_index(void)
{
	return match_string(espo_mode_names, ARRAY_SIZE(espo_mode_names),
			    espo_crypto_mode);
}

/* Validate the parameters once, at load time, so that a typo is loud. */
int espo_aead_check_params(void)
{
	if (espo_mode_index() < 0) {
		pr_err("crypto_mode=%s is not one of direct, async, parallel\n",
		       espo_crypto_mode);
		return -EINVAL;
	}
	if (*espo_crypto_driver &&
	    !crypto_has_alg(espo_crypto_driver, CRYPTO_ALG_TYPE_AEAD,
			    CRYPTO_ALG_TYPE_MASK)) {
		pr_err("crypto_driver=%s: no such AEAD driver is registered\n",
		       espo_crypto_driver);
		return -ENOENT;
	}
	return 0;
}

/* Does the configured driver implement this SA's algorithm? */
static bool espo_driver_fits(const char *alg_name)
{
	struct crypto_aead *tfm;
	bool fits;

	if (!*espo_crypto_driver)
		return false;
	tfm = crypto_alloc_aead(espo_crypto_driver, 0, 0);
	if (IS_ERR(tfm))
		return false;
	fits = !strcmp(crypto_tfm_alg_name(crypto_aead_tfm(tfm)), alg_name);
	crypto_free_aead(tfm);
	return fits;
}

enum espo_mode { ESPO_DIRECT, ESPO_ASYNC, ESPO_PARALLEL };

/*
 * The wrapped transform for async or parallel mode, named after the
 * driver it wraps (drv):
 *
 * - async: cryptd over the driver's internal SIMD implementation
 *   ("__<driver>", which cryptd runs in process context where the FPU is
 *   usable; crypto_simd keeps such an instance). There is no fallback to
 *   cryptd over the driver itself: a new cryptd instance over an AEAD
 *   fails the crypto self-tests on 6.1 ("corrupted request struct", with
 *   a WARN), so such an SA is refused instead (-ENOENT).
 * - parallel: pcrypt over the driver. pcrypt registers under the
 *   algorithm's own name with a higher priority, so from then on it is
 *   the default implementation of that algorithm for every user.
 */
static struct crypto_aead *espo_aead_wrap(enum espo_mode mode, const char *drv)
{
	char name[CRYPTO_MAX_ALG_NAME];

	if (mode == ESPO_PARALLEL) {
		if (snprintf(name, sizeof(name), "pcrypt(%s)", drv) >= sizeof(name))
			return ERR_PTR(-ENAMETOOLONG);
		return crypto_alloc_aead(name, 0, 0);
	}
	if (snprintf(name, sizeof(name), "cryptd(__%s)", drv) >= sizeof(name))
		return ERR_PTR(-ENAMETOOLONG);
	return crypto_alloc_aead(name, CRYPTO_ALG_INTERNAL, CRYPTO_ALG_INTERNAL);
}

/*
 * A pcrypt instance lives on under its algorithm's name once created and
 * outranks what it wraps; look through it so that every SA starts from
 * the implementation itself and wrappers never nest.
 */
static struct crypto_aead *espo_aead_unwrap_pcrypt(struct crypto_aead *tfm)
{
	static const char prefix[] = "pcrypt(";
	char inner[CRYPTO_MAX_ALG_NAME];
	const char *drv;
	size_t len;

	while (!IS_ERR(tfm)) {
		drv = crypto_tfm_alg_driver_name(crypto_aead_tfm(tfm));
		len = strlen(drv);
		if (strncmp(drv, prefix, sizeof(prefix) - 1) || drv[len - 1] != ')')
			break;
		strscpy(inner, drv + sizeof(prefix) - 1,
			min(sizeof(inner), len - (sizeof(prefix) - 1)));
		crypto_free_aead(tfm);
		tfm = crypto_alloc_aead(inner, 0, 0);
	}
	return tfm;
}

/* The SA's transform as the parameters ask, not yet keyed. */
static struct crypto_aead *espo_aead_alloc(const char *alg,
					   struct netlink_ext_ack *extack)
{
	const char *base = espo_driver_fits(alg) ? espo_crypto_driver : alg;
	enum espo_mode mode = espo_mode_index();
	struct crypto_aead *tfm, *wrapped;

	tfm = espo_aead_unwrap_pcrypt(crypto_alloc_aead(base, 0, 0));
	if (IS_ERR(tfm)) {
		NL_SET_ERR_MSG_MOD(extack, "AEAD implementation not available (see crypto_driver)");
		return tfm;
	}
	if (mode == ESPO_DIRECT)
		return tfm;
	wrapped = espo_aead_wrap(mode,
				 crypto_tfm_alg_driver_name(crypto_aead_tfm(tfm)));
	crypto_free_aead(tfm);
	if (IS_ERR(wrapped) && mode == ESPO_ASYNC)
		NL_SET_ERR_MSG_MOD(extack, "crypto_mode=async needs a driver with an internal SIMD implementation for cryptd; choose another crypto_driver or crypto_mode");
	else if (IS_ERR(wrapped))
		NL_SET_ERR_MSG_MOD(extack, "crypto_mode=parallel: pcrypt is not available for this driver");
	return wrapped;
}

/*
 * Allocate and key the SA's transform. On success x->data holds it (the
 * xfrm core reads x->data as a crypto_aead for ESP MTU computations); on
 * failure nothing is left behind.
 */
int espo_aead_init(struct xfrm_state *x, struct netlink_ext_ack *extack)
{
	struct crypto_aead *aead;
	int err;

	aead = espo_aead_alloc(x->aead->alg_name, extack);
	if (IS_ERR(aead))
		return PTR_ERR(aead);
	if (crypto_aead_ivsize(aead) != ESPO_IV_LEN) {
		NL_SET_ERR_MSG_MOD(extack, "AEAD implementation has an unexpected IV size");
		err = -EINVAL;
		goto err_free;
	}
	err = crypto_aead_setkey(aead, x->aead->alg_key,
				 (x->aead->alg_key_len + 7) / 8);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "AEAD implementation refused the key");
		goto err_free;
	}
	err = crypto_aead_setauthsize(aead, x->aead->alg_icv_len / 8);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "AEAD implementation refused the ICV length");
		goto err_free;
	}
	x->data = aead;
	return 0;

err_free:
	crypto_free_aead(aead);
	return err;
}

void espo_aead_destroy(struct xfrm_state *x)
{
	struct crypto_aead *aead = x->data;

	x->data = NULL;
	if (aead)
		crypto_free_aead(aead);
}

/*
 * Will the SA's transform complete requests asynchronously by design: a
 * cryptd or pcrypt wrapper (crypto_mode=async/parallel), or a driver
 * chosen with crypto_driver (an engine)? Called at SA set-up.
 */
bool espo_aead_async_by_design(const struct xfrm_state *x)
{
	return espo_mode_index() != ESPO_DIRECT ||
	       espo_driver_fits(x->aead->alg_name);
}

const char *espo_aead_driver(const struct xfrm_state *x)
{
	struct crypto_aead *aead = x->data;

	return aead ? crypto_tfm_alg_driver_name(crypto_aead_tfm(aead)) : "-";
}

/*
 * One allocation per packet: struct espo_req, the IV aligned as the
 * driver asks, the aead_request with the driver's context, and nsg
 * scatterlist entries for the AAD buffers and the packet's pieces.
 */
struct espo_req *espo_req_alloc(struct crypto_aead *aead, int nsg)
{
	unsigned int ivalign = crypto_aead_alignmask(aead) + 1;
	unsigned int reqlen = sizeof(struct aead_request) +
			      crypto_aead_reqsize(aead);
	struct espo_req *r;
	size_t len;
	u8 *p;

	len = sizeof(*r) + ivalign - 1 + ESPO_IV_LEN +
	      crypto_tfm_ctx_alignment() - 1 + reqlen +
	      __alignof__(struct scatterlist) - 1 +
	      (size_t)nsg * sizeof(struct scatterlist);
	r = kmalloc(len, GFP_ATOMIC);
	if (!r)
		return NULL;

	p = PTR_ALIGN((u8 *)(r + 1), ivalign);
	r->iv = p;
	p = PTR_ALIGN(p + ESPO_IV_LEN, crypto_tfm_ctx_alignment());
	r->areq = (struct aead_request *)p;
	p = PTR_ALIGN(p + reqlen, __alignof__(struct scatterlist));
	r->sg = (struct scatterlist *)p;

	r->dst = r->sg;
	r->src_pages = 0;
	aead_request_set_tfm(r->areq, aead);
	return r;
}

/*
 * The AAD of RFC 4106 section 5 and RFC 4543 section 3.3: SPI and 32-bit
 * sequence number, or SPI and the 64-bit extended sequence number.
 */
void espo_req_set_aad(struct espo_req *r, const struct xfrm_state *x,
		      __be32 spi, __be32 seq_lo, __be32 seq_hi)
{
	r->aad[0] = spi;
	if (x->props.flags & XFRM_STATE_ESN) {
		r->aad[1] = seq_hi;
		r->aad[2] = seq_lo;
		r->aadlen = 3 * sizeof(__be32);
	} else {
		r->aad[1] = seq_lo;
		r->aadlen = 2 * sizeof(__be32);
	}
}

/*
 * Fill a scatterlist of nsg entries: the AAD, then len bytes of the
 * packet from offset (which must be the IV). Returns 0 or -errno.
 */
int espo_req_map_skb(struct espo_req *r, struct scatterlist *sg, int nsg,
		     struct sk_buff *skb, int offset, int len)
{
	int n;

	sg_init_table(sg, nsg);
	sg_set_buf(sg, r->aad, r->aadlen);
	n = skb_to_sgvec(skb, sg + 1, offset, len);
	return n < 0 ? n : 0;
}
