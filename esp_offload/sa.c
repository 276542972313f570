// SPDX-License-Identifier: GPL-2.0
/*
 * Per-SA state (see sa.h): struct espo_sa in a resizable hash table
 * keyed by the xfrm_state pointer, so that the packet path's lookup
 * costs the same with one SA or with tens of thousands. Readers on the
 * packet path hold RCU. Every SA is also on a list for the views;
 * writers and the views hold espo_sa_lock.
 */
#include <linux/list.h>
#include <linux/random.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "crypto_accel/aead.h"
#include "esp_offload/sa.h"

static const struct rhashtable_params espo_sa_params = {
	.head_offset		= offsetof(struct espo_sa, node),
	.key_offset		= offsetof(struct espo_sa, x),
	.key_len		= sizeof(const struct xfrm_state *),
	.automatic_shrinking	= true,
};

static struct rhashtable espo_sa_table;
static LIST_HEAD(espo_sa_list);
static DEFINE_SPINLOCK(espo_sa_lock);

/* Per network namespace: the drops of its SAs that have been deleted. */
struct espo_sa_net {
	atomic64_t retired[ESPO_DROP_COUNT];
};

static unsigned int espo_sa_net_id;

static struct pernet_operations espo_sa_net_ops = {
	.id	= &espo_sa_net_id,
	.size	= sizeof(struct espo_sa_net),
};

int espo_sa_init(void)
{
	int err;

	err = rhashtable_init(&espo_sa_table, &espo_sa_params);
	if (err)
		return err;
	err = register_pernet_subsys(&espo_sa_net_ops);
	if (err)
		goto err_pernet;
	return 0;

err_pernet:
	rhashtable_destroy(&espo_sa_table);
	return err;
}

/* At module exit: every SA, and so every entry, is gone by then. */
void espo_sa_exit(void)
{
	unregister_pernet_subsys(&espo_sa_net_ops);
	rhashtable_destroy(&espo_sa_table);
}

/* Under RCU. */
static struct espo_sa *espo_sa_find(const struct xfrm_state *x)
{
	return rhashtable_lookup(&espo_sa_table, &x, espo_sa_params);
}

/* Copy what the view prints while x->aead and x->encap are valid. */
static void espo_sa_snapshot(struct espo_sa *sa, const struct xfrm_state *x)
{
	sa->net = read_pnet(&x->xs_net);
	sa->netns = sa->net->ns.inum;
	sa->family = x->props.family;
	sa->mode = x->props.mode;
	sa->esn = x->props.flags & XFRM_STATE_ESN;
	sa->natt = x->encap;
	sa->icv_bits = x->aead->alg_icv_len;
	sa->spi = x->id.spi;
	sa->saddr = x->props.saddr;
	sa->daddr = x->id.daddr;
	strscpy(sa->alg, x->aead->alg_name, sizeof(sa->alg));
	strscpy(sa->driver, espo_aead_driver(x), sizeof(sa->driver));
}

/* Called from init_state, once the SA's transform is set up. */
int espo_sa_add(struct xfrm_state *x)
{
	struct espo_sa *sa = kzalloc(sizeof(*sa), GFP_KERNEL);
	int err;

	if (!sa)
		return -ENOMEM;
	sa->x = x;
	sa->iv_mask = cpu_to_be64(get_random_u64());
	espo_sa_snapshot(sa, x);
	spin_lock_bh(&espo_sa_lock);
	err = rhashtable_insert_fast(&espo_sa_table, &sa->node,
				     espo_sa_params);
	if (!err)
		list_add_tail(&sa->list, &espo_sa_list);
	spin_unlock_bh(&espo_sa_lock);
	if (err)
		kfree(sa);
	return err;
}

/*
 * Called from the type's destructor, when no packet holds the SA any
 * more, so its drop counters are final: the namespace keeps them. The
 * namespace outlives the call (its SAs are destroyed in the xfrm core's
 * exit for it, before any namespace's private data is freed).
 */
void espo_sa_del(struct xfrm_state *x)
{
	struct espo_sa_net *sn = net_generic(xs_net(x), espo_sa_net_id);
	struct espo_sa *sa;
	unsigned int i;

	spin_lock_bh(&espo_sa_lock);
	rcu_read_lock();
	sa = espo_sa_find(x);
	rcu_read_unlock();
	if (sa) {
		rhashtable_remove_fast(&espo_sa_table, &sa->node,
				       espo_sa_params);
		list_del(&sa->list);
		for (i = 0; i < ESPO_DROP_COUNT; i++)
			atomic64_add(atomic64_read(&sa->drops[i]),
				     &sn->retired[i]);
	}
	spin_unlock_bh(&espo_sa_lock);
	if (sa)
		kfree_rcu(sa, rcu);
}

/* The SA's IV mask; false only for an SA this module never set up. */
bool espo_sa_iv_mask(const struct xfrm_state *x, __be64 *mask)
{
	struct espo_sa *sa;

	rcu_read_lock();
	sa = espo_sa_find(x);
	if (sa)
		*mask = sa->iv_mask;
	rcu_read_unlock();
	return sa;
}

void espo_sa_count_drop(const struct xfrm_state *x, unsigned int reason)
{
	struct espo_sa *sa;

	rcu_read_lock();
	sa = espo_sa_find(x);
	if (sa)
		atomic64_inc(&sa->drops[reason]);
	rcu_read_unlock();
}

static const char *espo_sa_mode_name(const struct espo_sa *sa)
{
	return sa->mode == XFRM_MODE_TUNNEL ? "tunnel" : "transport";
}

/*
 * One line per SA. The xfrm_state itself is still read for the core's
 * live counters: it is freed only after its destructor has taken the
 * SA out of the table under espo_sa_lock, which is held here.
 */
static void espo_sa_show_one(struct seq_file *m, const struct espo_sa *sa,
			     bool netns)
{
	const struct xfrm_state *x = sa->x;
	unsigned int i;

	if (netns)
		seq_printf(m, "netns %u ", sa->netns);
	if (sa->family == AF_INET)
		seq_printf(m, "src %pI4 dst %pI4", &sa->saddr.a4,
			   &sa->daddr.a4);
	else
		seq_printf(m, "src %pI6c dst %pI6c", &sa->saddr.in6,
			   &sa->daddr.in6);
	seq_printf(m, " spi 0x%08x mode %s%s%s alg %s icv %u driver %s",
		   ntohl(sa->spi), espo_sa_mode_name(sa),
		   sa->esn ? " esn" : "", sa->natt ? " natt" : "", sa->alg,
		   sa->icv_bits, sa->driver);
	seq_printf(m, " packets %llu bytes %llu icv_fail %u replay %u",
		   x->curlft.packets, x->curlft.bytes,
		   x->stats.integrity_failed, x->stats.replay);
	for (i = 0; i < ESPO_DROP_COUNT; i++)
		seq_printf(m, " %s %lld", espo_counter_name(ESPO_DROP_FIRST + i),
			   (long long)atomic64_read(&sa->drops[i]));
	seq_putc(m, '\n');
}

/* The SAs of one namespace, or with net NULL all, each naming its own. */
void espo_sa_seq_show(struct seq_file *m, const struct net *net)
{
	struct espo_sa *sa;

	spin_lock_bh(&espo_sa_lock);
	list_for_each_entry(sa, &espo_sa_list, list)
		if (!net || sa->net == net)
			espo_sa_show_one(m, sa, !net);
	spin_unlock_bh(&espo_sa_lock);
}

/*
 * A namespace's totals, "name value" per line: its SAs, and its drops by
 * reason, of the SAs it has now and of those it had.
 */
void espo_sa_netns_show(struct seq_file *m, const struct net *net)
{
	struct espo_sa_net *sn = net_generic(net, espo_sa_net_id);
	u64 drops[ESPO_DROP_COUNT];
	unsigned int i, n = 0;
	struct espo_sa *sa;

	spin_lock_bh(&espo_sa_lock);
	for (i = 0; i < ESPO_DROP_COUNT; i++)
		drops[i] = atomic64_read(&sn->retired[i]);
	list_for_each_entry(sa, &espo_sa_list, list) {
		if (sa->net != net)
			continue;
		n++;
		for (i = 0; i < ESPO_DROP_COUNT; i++)
			drops[i] += atomic64_read(&sa->drops[i]);
	}
	spin_unlock_bh(&espo_sa_lock);
	seq_printf(m, "sas %u\n", n);
	for (i = 0; i < ESPO_DROP_COUNT; i++)
		seq_printf(m, "%s %llu\n",
			   espo_counter_name(ESPO_DROP_FIRST + i), drops[i]);
}
