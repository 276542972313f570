// SPDX-License-Identifier: GPL-2.0
/*
 * esp_offload: module entry points and registration with the xfrm stack.
 *
 * Once loaded, this module is the ESP transform (IP protocol 50) for
 * IPv4 and IPv6 in every network namespace: the xfrm core hands it every
 * ESP SA to set up and every ESP packet to build or verify.
 */
#include <linux/module.h>
#include <net/xfrm.h>

#include "crypto_accel/aead.h"
#include "esp_offload/esp.h"
#include "esp_offload/sa.h"
#include "esp_offload/stats.h"
#include "xfrm_glue/glue.h"
#include "xfrm_glue/debugfs.h"
#include "xfrm_glue/procfs.h"

/*
 * One type serves both families: the packet path reads the family from
 * the state, and xfrm keeps a pointer per family.
 */
static const struct xfrm_type espo_type = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_ESP,
	.flags		= XFRM_TYPE_REPLAY_PROT,
	.init_state	= espo_init_state,
	.destructor	= espo_destroy_state,
	.input		= espo_input,
	.output		= espo_output,
};

static int espo_rcv_cb(struct sk_buff *skb, int err)
{
	return 0;
}

/*
 * ESP after the IP header: xfrm4_rcv/xfrm6_rcv, after counting an ICV
 * failure a device reported (the core drops such packets before the
 * type sees them).
 */
static int espo_rcv4(struct sk_buff *skb)
{
	espo_input_device_verdict(skb);
	return xfrm4_rcv(skb);
}

static int espo_rcv6(struct sk_buff *skb)
{
	espo_input_device_verdict(skb);
	return xfrm6_rcv(skb);
}

static struct xfrm4_protocol espo_proto4 = {
	.handler	= espo_rcv4,
	.input_handler	= xfrm_input,
	.cb_handler	= espo_rcv_cb,
	.err_handler	= espo_icmp4_err,
	.priority	= 0,
};

static struct xfrm6_protocol espo_proto6 = {
	.handler	= espo_rcv6,
	.input_handler	= xfrm_input,
	.cb_handler	= espo_rcv_cb,
	.err_handler	= espo_icmp6_err,
	.priority	= 0,
};

static int __init espo_init(void)
{
	int err;

	err = espo_aead_check_params();
	if (err)
		return err;
	err = espo_exclusive_init();
	if (err)
		return err;
	err = espo_stats_init();
	if (err)
		goto err_stats;
	err = espo_sa_init();
	if (err)
		goto err_sa;
	err = espo_procfs_init();
	if (err)
		goto err_procfs;
	espo_debugfs_init();

	err = xfrm_register_type(&espo_type, AF_INET);
	if (err)
		goto err_type4;
	err = xfrm_register_type(&espo_type, AF_INET6);
	if (err)
		goto err_type6;
	err = xfrm4_protocol_register(&espo_proto4, IPPROTO_ESP);
	if (err)
		goto err_proto4;
	err = xfrm6_protocol_register(&espo_proto6, IPPROTO_ESP);
	if (err)
		goto err_proto6;
	err = espo_offload_init();
	if (err)
		goto err_offload;

	pr_info("version %s loaded: ESP for IPv4 and IPv6\n", ESPO_VERSION);
	return 0;

err_offload:
	xfrm6_protocol_deregister(&espo_proto6, IPPROTO_ESP);
err_proto6:
	xfrm4_protocol_deregister(&espo_proto4, IPPROTO_ESP);
err_proto4:
	xfrm_unregister_type(&espo_type, AF_INET6);
err_type6:
	xfrm_unregister_type(&espo_type, AF_INET);
err_type4:
	espo_debugfs_exit();
	espo_procfs_exit();
err_procfs:
	espo_sa_exit();
err_sa:
	espo_stats_exit();
err_stats:
	espo_exclusive_exit();
	pr_err("could not register with xfrm: %d\n", err);
	return err;
}

static void __exit espo_exit(void)
{
	espo_offload_exit();
	xfrm6_protocol_deregister(&espo_proto6, IPPROTO_ESP);
	xfrm4_protocol_deregister(&espo_proto4, IPPROTO_ESP);
	xfrm_unregister_type(&espo_type, AF_INET6);
	xfrm_unregister_type(&espo_type, AF_INET);
	/* Let in-flight packets and RCU readers of the SA table finish. */
	synchronize_net();
	rcu_barrier();
	espo_debugfs_exit();
	espo_procfs_exit();
	espo_sa_exit();
	espo_stats_exit();
	espo_exclusive_exit();
	pr_info("unloaded\n");
}

module_init(espo_init);
module_exit(espo_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IPsec ESP (RFC 4303) with AES-GCM/GMAC for the xfrm stack");
MODULE_VERSION(ESPO_VERSION);
MODULE_INFO(kernels, "6.1 (Debian 12), 6.12 LTS and 6.12 PREEMPT_RT");
MODULE_AUTHOR("The esp_offload developers");
MODULE_ALIAS_XFRM_TYPE(AF_INET, XFRM_PROTO_ESP);
MODULE_ALIAS_XFRM_TYPE(AF_INET6, XFRM_PROTO_ESP);
