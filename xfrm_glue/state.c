// SPDX-License-Identifier: GPL-2.0
/*
 * SA set-up: every field of a new SA is checked before anything is
 * allocated, each refusal carries an extack message that `ip xfrm state
 * add` prints, and nothing is left behind when set-up fails.
 */
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/xfrm.h>

#include "crypto_accel/aead.h"
#include "esp_offload/esp.h"
#include "esp_offload/sa.h"
#include "xfrm_glue/glue.h"

#define ESPO_ALG_GCM	"rfc4106(gcm(aes))"
#define ESPO_ALG_GMAC	"rfc4543(gcm(aes))"

/* Flags the xfrm core implements for us; anything else is refused. */
#define ESPO_KNOWN_FLAGS (XFRM_STATE_NOECN | XFRM_STATE_DECAP_DSCP | \
			  XFRM_STATE_NOPMTUDISC | XFRM_STATE_WILDRECV | \
			  XFRM_STATE_ICMP | XFRM_STATE_AF_UNSPEC | \
			  XFRM_STATE_ALIGN4 | XFRM_STATE_ESN)

static int espo_check_alg(const struct xfrm_state *x,
			  struct netlink_ext_ack *extack)
{
	const struct xfrm_algo_aead *a = x->aead;
	unsigned int keybits;
	bool gmac;

	if (x->calg) {
		NL_SET_ERR_MSG_MOD(extack, "compression (IPComp) is not supported on ESP SAs");
		return -EINVAL;
	}
	if (!a) {
		if (x->ealg || x->aalg)
			NL_SET_ERR_MSG_MOD(extack, "only AEAD algorithms are supported: use rfc4106(gcm(aes)) or rfc4543(gcm(aes))");
		else
			NL_SET_ERR_MSG_MOD(extack, "an AEAD algorithm is required");
		return -EINVAL;
	}
	if (x->ealg || x->aalg) {
		NL_SET_ERR_MSG_MOD(extack, "an AEAD SA must not also carry separate encryption or authentication");
		return -EINVAL;
	}
	gmac = !strcmp(a->alg_name, ESPO_ALG_GMAC);
	if (!gmac && strcmp(a->alg_name, ESPO_ALG_GCM)) {
		NL_SET_ERR_MSG_MOD(extack, "unsupported AEAD: use rfc4106(gcm(aes)) or rfc4543(gcm(aes))");
		return -EINVAL;
	}
	keybits = a->alg_key_len - ESPO_SALT_LEN * 8;
	if (a->alg_key_len <= ESPO_SALT_LEN * 8 ||
	    (keybits != 128 && keybits != 192 && keybits != 256)) {
		NL_SET_ERR_MSG_MOD(extack, "key must be a 128, 192 or 256-bit AES key plus a 32-bit salt (160, 224 or 288 bits)");
		return -EINVAL;
	}
	if (gmac && a->alg_icv_len != 128) {
		NL_SET_ERR_MSG_MOD(extack, "GMAC (RFC 4543) needs a 128-bit ICV");
		return -EINVAL;
	}
	if (a->alg_icv_len != 64 && a->alg_icv_len != 96 &&
	    a->alg_icv_len != 128) {
		NL_SET_ERR_MSG_MOD(extack, "ICV must be 64, 96 or 128 bits");
		return -EINVAL;
	}
	return 0;
}

static int espo_check_props(const struct xfrm_state *x,
			    struct netlink_ext_ack *extack)
{
	if (x->props.mode != XFRM_MODE_TRANSPORT &&
	    x->props.mode != XFRM_MODE_TUNNEL) {
		NL_SET_ERR_MSG_MOD(extack, "only transport and tunnel mode are supported");
		return -EINVAL;
	}
	if (x->props.flags & ~ESPO_KNOWN_FLAGS) {
		NL_SET_ERR_MSG_MOD(extack, "unknown SA flags");
		return -EINVAL;
	}
	if (x->props.extra_flags & XFRM_SA_XFLAG_OSEQ_MAY_WRAP) {
		NL_SET_ERR_MSG_MOD(extack, "oseq-may-wrap would repeat AES-GCM IVs under one key");
		return -EINVAL;
	}
	if (x->props.extra_flags & ~XFRM_SA_XFLAG_DONT_ENCAP_DSCP) {
		NL_SET_ERR_MSG_MOD(extack, "unknown SA extra flags");
		return -EINVAL;
	}
	if (x->tfcpad && x->props.mode != XFRM_MODE_TUNNEL) {
		NL_SET_ERR_MSG_MOD(extack, "TFC padding needs tunnel mode");
		return -EINVAL;
	}
	if (x->encap && x->encap->encap_type != UDP_ENCAP_ESPINUDP) {
		NL_SET_ERR_MSG_MOD(extack, "unsupported encapsulation: only espinudp (RFC 3948) is supported");
		return -EINVAL;
	}
	return 0;
}

static unsigned int espo_header_len(const struct xfrm_state *x)
{
	unsigned int len = ESPO_HDR_LEN;

	if (x->props.mode == XFRM_MODE_TUNNEL)
		len += x->props.family == AF_INET ? sizeof(struct iphdr) :
						    sizeof(struct ipv6hdr);
	if (x->encap)
		len += sizeof(struct udphdr);
	return len;
}

int espo_init_state(struct xfrm_state *x, struct netlink_ext_ack *extack)
{
	int err;

	x->data = NULL;
	err = espo_check_alg(x, extack);
	if (err)
		return err;
	err = espo_check_props(x, extack);
	if (err)
		return err;

	err = espo_aead_init(x, extack);
	if (err)
		return err;
	err = espo_sa_add(x);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "out of memory");
		goto err_aead;
	}

	x->props.header_len = espo_header_len(x);
	/* Worst case: 3 bytes of padding, pad length, next header, ICV. */
	x->props.trailer_len = ESPO_ALIGN - 1 + ESPO_TRAILER_FIXED +
			       x->aead->alg_icv_len / 8;
	espo_offload_state_init(x);
	return 0;

err_aead:
	espo_aead_destroy(x);
	return err;
}

void espo_destroy_state(struct xfrm_state *x)
{
	if (!x->data)
		return;
	espo_sa_del(x);
	espo_aead_destroy(x);
}
