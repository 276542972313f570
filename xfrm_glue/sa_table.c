// SPDX-License-Identifier: GPL-2.0
/*
 * SA table and debugfs.
 *
 *   /sys/kernel/debug/esp_offload/stats   module-wide counters, "name value"
 *   /sys/kernel/debug/esp_offload/sas     one line per SA: network namespace
 *                                         (inode number), addresses, SPI,
 *                                         mode, crypto driver, the core's
 *                                         packet/byte/failure counters and
 *                                         this module's drops by reason
 */
#include <linux/debugfs.h>
#include <linux/hashtable.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "crypto_accel/aead.h"
#include "esp_offload/stats.h"
#include "xfrm_glue/sa_table.h"

struct espo_sa_entry {
	struct hlist_node node;
	struct rcu_head rcu;
	const struct xfrm_state *x;
	atomic64_t drops[ESPO_DROP_COUNT];
};

#define ESPO_SA_HASH_BITS	8
static DEFINE_HASHTABLE(espo_sa_hash, ESPO_SA_HASH_BITS);
static DEFINE_SPINLOCK(espo_sa_lock);
static struct dentry *espo_debugfs_dir;

static struct espo_sa_entry *espo_sa_find(const struct xfrm_state *x)
{
	struct espo_sa_entry *e;

	hash_for_each_possible_rcu(espo_sa_hash, e, node, (unsigned long)x)
		if (e->x == x)
			return e;
	return NULL;
}

int espo_sa_track(struct xfrm_state *x)
{
	struct espo_sa_entry *e = kzalloc(sizeof(*e), GFP_KERNEL);

	if (!e)
		return -ENOMEM;
	e->x = x;
	spin_lock_bh(&espo_sa_lock);
	hash_add_rcu(espo_sa_hash, &e->node, (unsigned long)x);
	spin_unlock_bh(&espo_sa_lock);
	return 0;
}

void espo_sa_untrack(struct xfrm_state *x)
{
	struct espo_sa_entry *e;

	spin_lock_bh(&espo_sa_lock);
	e = espo_sa_find(x);
	if (e)
		hash_del_rcu(&e->node);
	spin_unlock_bh(&espo_sa_lock);
	if (e)
		kfree_rcu(e, rcu);
}

void espo_sa_count_drop(const struct xfrm_state *x, unsigned int reason)
{
	struct espo_sa_entry *e;

	rcu_read_lock();
	e = espo_sa_find(x);
	if (e)
		atomic64_inc(&e->drops[reason]);
	rcu_read_unlock();
}

static const char *espo_mode_name(const struct xfrm_state *x)
{
	return x->props.mode == XFRM_MODE_TUNNEL ? "tunnel" : "transport";
}

static void espo_sa_show_one(struct seq_file *m, const struct espo_sa_entry *e)
{
	const struct xfrm_state *x = e->x;
	unsigned int i;

	seq_printf(m, "netns %u ", read_pnet(&x->xs_net)->ns.inum);
	if (x->props.family == AF_INET)
		seq_printf(m, "src %pI4 dst %pI4", &x->props.saddr.a4,
			   &x->id.daddr.a4);
	else
		seq_printf(m, "src %pI6c dst %pI6c", &x->props.saddr.in6,
			   &x->id.daddr.in6);
	seq_printf(m, " spi 0x%08x mode %s%s%s alg %s icv %u driver %s",
		   ntohl(x->id.spi), espo_mode_name(x),
		   x->props.flags & XFRM_STATE_ESN ? " esn" : "",
		   x->encap ? " natt" : "", x->aead->alg_name,
		   x->aead->alg_icv_len, espo_aead_driver(x));
	seq_printf(m, " packets %llu bytes %llu icv_fail %u replay %u",
		   x->curlft.packets, x->curlft.bytes,
		   x->stats.integrity_failed, x->stats.replay);
	for (i = 0; i < ESPO_DROP_COUNT; i++)
		seq_printf(m, " %s %lld", espo_counter_name(ESPO_DROP_FIRST + i),
			   (long long)atomic64_read(&e->drops[i]));
	seq_putc(m, '\n');
}

static int espo_sas_show(struct seq_file *m, void *v)
{
	struct espo_sa_entry *e;
	unsigned int bkt;

	/* Under the lock, so no SA is destroyed while it is printed. */
	spin_lock_bh(&espo_sa_lock);
	hash_for_each(espo_sa_hash, bkt, e, node)
		espo_sa_show_one(m, e);
	spin_unlock_bh(&espo_sa_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(espo_sas);

static int espo_counters_show(struct seq_file *m, void *v)
{
	enum espo_counter c;

	for (c = 0; c < ESPO_COUNTER_MAX; c++)
		seq_printf(m, "%s %llu\n", espo_counter_name(c),
			   espo_counter_sum(c));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(espo_counters);

int espo_debugfs_init(void)
{
	/* debugfs is optional: the module works without it. */
	espo_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0444, espo_debugfs_dir, NULL,
			    &espo_counters_fops);
	debugfs_create_file("sas", 0444, espo_debugfs_dir, NULL,
			    &espo_sas_fops);
	return 0;
}

void espo_debugfs_exit(void)
{
	debugfs_remove_recursive(espo_debugfs_dir);
	espo_debugfs_dir = NULL;
}
