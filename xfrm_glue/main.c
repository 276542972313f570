// SPDX-License-Identifier: GPL-2.0
/*
 * esp_offload: module entry points.
 */
#include <linux/module.h>

static int __init espo_init(void)
{
	pr_info("version %s loaded\n", ESPO_VERSION);
	return 0;
}

static void __exit espo_exit(void)
{
	pr_info("unloaded\n");
}

module_init(espo_init);
module_exit(espo_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IPsec ESP (RFC 4303) with AES-GCM/GMAC for the xfrm stack");
MODULE_VERSION(ESPO_VERSION);
MODULE_AUTHOR("The esp_offload developers");
