// SPDX-License-Identifier: GPL-2.0
/*
 * The operator's view in debugfs:
 *
 *   /sys/kernel/debug/esp_offload/stats   module-wide counters, "name value"
 *   /sys/kernel/debug/esp_offload/sas     one line per SA: network namespace
 *                                         (inode number), addresses, SPI,
 *                                         mode, crypto driver, the core's
 *                                         packet/byte/failure counters and
 *                                         this module's drops by reason
 *
 * Neither file ever shows key material.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "esp_offload/sa.h"
#include "esp_offload/stats.h"
#include "xfrm_glue/debugfs.h"

static struct dentry *espo_debugfs_dir;

static int espo_sas_show(struct seq_file *m, void *v)
{
	espo_sa_seq_show(m, NULL);
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

void espo_debugfs_init(void)
{
	/* debugfs is optional: the module works without it. */
	espo_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0444, espo_debugfs_dir, NULL,
			    &espo_counters_fops);
	debugfs_create_file("sas", 0444, espo_debugfs_dir, NULL,
			    &espo_sas_fops);
}

void espo_debugfs_exit(void)
{
	debugfs_remove_recursive(espo_debugfs_dir);
	espo_debugfs_dir = NULL;
}
