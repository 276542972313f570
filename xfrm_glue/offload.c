// SPDX-License-Identifier: GPL-2.0
/*
 * The ESP offload type: registration of struct xfrm_type_offload and of
 * the ESP GSO/GRO callbacks (struct net_offload) for IPv4 and IPv6. The
 * datapath they call is in esp_offload/offload.c.
 *
 *   offload_type=1  register them: the xfrm core then sends every
 *                   eligible SA's packets through encap/xmit, TCP
 *                   super-packets are segmented after ESP, and NAPI
 *                   devices with GRO hand ESP to the GRO handler;
 *                   (the default);
 *   offload_type=0  register nothing: every packet takes type->output
 *                   and the plain receive path, as before the offload
 *                   type existed.
 */
#include <linux/module.h>
#include <net/protocol.h>
#include <net/xfrm.h>

#include "crypto_accel/aead.h"
#include "esp_offload/esp.h"
#include "esp_offload/offload.h"
#include "xfrm_glue/glue.h"

static bool espo_offload_type = true;
module_param_named(offload_type, espo_offload_type, bool, 0444);
MODULE_PARM_DESC(offload_type,
		 "1 (default): register the ESP offload type and ESP GSO/GRO; 0: the plain xfrm path only (read at load time)");

static const struct xfrm_type_offload espo_type_offload = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_ESP,
	.encap		= espo_offload_encap,
	.input_tail	= espo_input_tail,
	.xmit		= espo_offload_xmit,
};

static const struct net_offload espo_net_offload4 = {
	.callbacks = {
		.gso_segment	= espo_gso_segment,
		.gro_receive	= espo_gro_receive4,
	},
};

static const struct net_offload espo_net_offload6 = {
	.callbacks = {
		.gso_segment	= espo_gso_segment,
		.gro_receive	= espo_gro_receive6,
	},
};

static bool espo_offload_registered;

/*
 * Called last in init_state. Some SAs stay on type->output:
 * - with TFC padding: the padding length depends on the route MTU, which
 *   only the output path knows (the core's own ESP offload does not pad
 *   either, and 6.1 refuses to offload such SAs to a device);
 * - on a transform that completes asynchronously by design (crypto_mode
 *   async or parallel, an engine chosen with crypto_driver): with the
 *   offload type a TCP transfer over cryptd stalled on 6.12 (esp_async).
 *   Likely cause, read in the core but not proven: on a device without a
 *   qdisc (veth) __dev_queue_xmit returns -ENOMEM when validate_xmit_xfrm
 *   keeps the packet for asynchronous crypto, so TCP takes a packet that
 *   was sent for one that was not. Such SAs keep the plain path, where
 *   their completion resumes through xfrm_output_resume.
 */
void espo_offload_state_init(struct xfrm_state *x)
{
	if (x->type_offload == &espo_type_offload &&
	    (x->tfcpad || espo_aead_async_by_design(x))) {
		/* Drop the module reference xfrm_get_type_offload took. */
		x->type_offload = NULL;
		module_put(THIS_MODULE);
	}
}

int espo_offload_init(void)
{
	int err;

	if (!espo_offload_type) {
		pr_info("offload_type=0: no ESP offload type, no ESP GSO/GRO\n");
		return 0;
	}
	err = inet_add_offload(&espo_net_offload4, IPPROTO_ESP);
	if (err)
		goto err_gso4;
	err = inet6_add_offload(&espo_net_offload6, IPPROTO_ESP);
	if (err)
		goto err_gso6;
	err = xfrm_register_type_offload(&espo_type_offload, AF_INET);
	if (err)
		goto err_type4;
	err = xfrm_register_type_offload(&espo_type_offload, AF_INET6);
	if (err)
		goto err_type6;
	espo_offload_registered = true;
	return 0;

err_type6:
	xfrm_unregister_type_offload(&espo_type_offload, AF_INET);
err_type4:
	inet6_del_offload(&espo_net_offload6, IPPROTO_ESP);
err_gso6:
	inet_del_offload(&espo_net_offload4, IPPROTO_ESP);
err_gso4:
	pr_err("could not register the ESP offload type (ESP GSO/GRO taken?): %d\n",
	       err);
	return err;
}

void espo_offload_exit(void)
{
	if (!espo_offload_registered)
		return;
	xfrm_unregister_type_offload(&espo_type_offload, AF_INET6);
	xfrm_unregister_type_offload(&espo_type_offload, AF_INET);
	inet6_del_offload(&espo_net_offload6, IPPROTO_ESP);
	inet_del_offload(&espo_net_offload4, IPPROTO_ESP);
	espo_offload_registered = false;
}
