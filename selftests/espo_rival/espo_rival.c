// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only stand-in for a rival ESP implementation, built as "esp4" so
 * that esp_offload's exclusion takes it for the kernel's esp4.
 *
 * Its init waits (until the test writes 1 to its "release" parameter, or
 * hold_ms passes) before it registers an IPv4 ESP type. That holds open
 * the window the real esp4 has for microseconds: past
 * the loader's COMING notification (which esp_offload's notifier, not
 * yet registered, never sees) and before its ESP type exists (which
 * esp_offload's check of the core's type cannot see either). An
 * esp_offload loaded in that window must refuse; if it does not, this
 * module's registration over esp_offload's type makes the xfrm core
 * warn, as the real esp4's would.
 *
 * The type itself refuses every SA: nothing is ever processed by it.
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <net/xfrm.h>

static unsigned int hold_ms = 60000;
module_param(hold_ms, uint, 0444);
MODULE_PARM_DESC(hold_ms, "longest wait in init before registering the ESP type (ms)");

static bool release;
module_param(release, bool, 0644);
MODULE_PARM_DESC(release, "write 1 to let init register the ESP type now");

static int espo_rival_init_state(struct xfrm_state *x,
				 struct netlink_ext_ack *extack)
{
	NL_SET_ERR_MSG_MOD(extack, "test stand-in: takes no SA");
	return -EINVAL;
}

static void espo_rival_destructor(struct xfrm_state *x)
{
}

static int espo_rival_input(struct xfrm_state *x, struct sk_buff *skb)
{
	return -EINVAL;
}

static int espo_rival_output(struct xfrm_state *x, struct sk_buff *skb)
{
	return -EINVAL;
}

static const struct xfrm_type espo_rival_type = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_ESP,
	.flags		= XFRM_TYPE_REPLAY_PROT,
	.init_state	= espo_rival_init_state,
	.destructor	= espo_rival_destructor,
	.input		= espo_rival_input,
	.output		= espo_rival_output,
};

static int __init espo_rival_init(void)
{
	unsigned long end = jiffies + msecs_to_jiffies(hold_ms);

	pr_info("test stand-in for esp4: holding before registering\n");
	while (!READ_ONCE(release) && time_before(jiffies, end))
		msleep(20);
	return xfrm_register_type(&espo_rival_type, AF_INET);
}

static void __exit espo_rival_exit(void)
{
	xfrm_unregister_type(&espo_rival_type, AF_INET);
}

module_init(espo_rival_init);
module_exit(espo_rival_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("esp_offload selftests: a slow-loading stand-in for esp4 (test-only)");
