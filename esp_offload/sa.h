/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's own state for each SA it serves: what the packet path
 * needs beyond struct xfrm_state (the IV mask), the per-SA drop
 * counters, and a copy of what the operator's view prints.
 *
 * x->data must stay the SA's crypto_aead (the xfrm core reads it for MTU
 * computations), so this state lives in a table keyed by the xfrm_state
 * pointer (resizable: the lookup per packet does not grow with the
 * number of SAs), entered in init_state and left in the type's
 * destructor; a list of them serves the views.
 *
 * Each network namespace also keeps the drops of its SAs that are gone,
 * so that its totals (the SAs' live counters plus those) only grow.
 */
#ifndef ESPO_SA_H
#define ESPO_SA_H

#include <crypto/algapi.h>
#include <linux/rhashtable-types.h>
#include <linux/seq_file.h>
#include <net/xfrm.h>

#include "esp_offload/stats.h"

struct espo_sa {
	struct rhash_head node;
	struct list_head list;
	struct rcu_head rcu;
	const struct xfrm_state *x;	/* the key; the view never follows it */
	const struct net *net;		/* the SA's namespace, only compared */
	/*
	 * XORed with the 64-bit sequence number to form the explicit IV:
	 * random per SA, so SAs that share a key (both directions keyed
	 * alike, an SA re-added with its old key) do not share IVs.
	 */
	__be64 iv_mask;
	atomic64_t drops[ESPO_DROP_COUNT];

	/*
	 * Copied at set-up: the core frees x->aead and x->encap before it
	 * calls the type's destructor, so the view must not read them.
	 */
	unsigned int netns;
	unsigned short family;
	u8 mode;
	bool esn;
	bool natt;
	u16 icv_bits;
	__be32 spi;
	xfrm_address_t saddr;
	xfrm_address_t daddr;
	char alg[CRYPTO_MAX_ALG_NAME];
	char driver[CRYPTO_MAX_ALG_NAME];
};

int espo_sa_add(struct xfrm_state *x);
void espo_sa_del(struct xfrm_state *x);
bool espo_sa_iv_mask(const struct xfrm_state *x, __be64 *mask);
void espo_sa_count_drop(const struct xfrm_state *x, unsigned int reason);
void espo_sa_seq_show(struct seq_file *m, const struct net *net);
void espo_sa_netns_show(struct seq_file *m, const struct net *net);

int espo_sa_init(void);
void espo_sa_exit(void);

#endif /* ESPO_SA_H */
