// SPDX-License-Identifier: GPL-2.0
/*
 * The operator's view, per network namespace, the interface monitoring
 * reads (scripts/espo-stats --prometheus):
 *
 *   /proc/net/esp_offload/stats  "name value" lines: the namespace's SAs
 *                                and its drops by reason, of the SAs it
 *                                has and had (the totals only grow)
 *   /proc/net/esp_offload/sas    one line per SA of the namespace, as in
 *                                debugfs without the netns field
 *                                (readable by the namespace's root only)
 *
 * A process sees its own namespace's files, so a container's root sees
 * its own SAs and no one else's. No file ever shows key material.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "esp_offload/sa.h"
#include "xfrm_glue/procfs.h"

#define ESPO_PROC_DIR	"esp_offload"

static int espo_proc_stats_show(struct seq_file *m, void *v)
{
	espo_sa_netns_show(m, seq_file_single_net(m));
	return 0;
}

static int espo_proc_sas_show(struct seq_file *m, void *v)
{
	espo_sa_seq_show(m, seq_file_single_net(m));
	return 0;
}

static int __net_init espo_proc_net_init(struct net *net)
{
	struct proc_dir_entry *dir;

	dir = proc_net_mkdir(net, ESPO_PROC_DIR, net->proc_net);
	if (!dir)
		return -ENOMEM;
	if (!proc_create_net_single("stats", 0444, dir, espo_proc_stats_show,
				    NULL))
		goto err_files;
	if (!proc_create_net_single("sas", 0400, dir, espo_proc_sas_show,
				    NULL))
		goto err_files;
	return 0;

err_files:
	remove_proc_subtree(ESPO_PROC_DIR, net->proc_net);
	return -ENOMEM;
}

static void __net_exit espo_proc_net_exit(struct net *net)
{
	remove_proc_subtree(ESPO_PROC_DIR, net->proc_net);
}

static struct pernet_operations espo_proc_net_ops = {
	.init	= espo_proc_net_init,
	.exit	= espo_proc_net_exit,
};

int espo_procfs_init(void)
{
	return register_pernet_subsys(&espo_proc_net_ops);
}

void espo_procfs_exit(void)
{
	unregister_pernet_subsys(&espo_proc_net_ops);
}
