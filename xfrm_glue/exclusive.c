// SPDX-License-Identifier: GPL-2.0
/*
 * One ESP implementation at a time.
 *
 * The xfrm core keeps a single ESP type per address family and does not
 * refuse a second registration (it warns and overwrites), so this module
 * and the kernel's esp4/esp6 (and their GSO/offload companions) must
 * never be loaded together. We refuse to load while they are, and a
 * module notifier stops them loading while we are.
 */
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <net/xfrm.h>

#include "xfrm_glue/glue.h"

static const char * const espo_rivals[] = {
	"esp4", "esp6", "esp4_offload", "esp6_offload",
};

static int espo_module_notify(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	struct module *mod = data;

	if (action != MODULE_STATE_COMING ||
	    match_string(espo_rivals, ARRAY_SIZE(espo_rivals), mod->name) < 0)
		return NOTIFY_DONE;
	pr_err("refusing to load %s: esp_offload provides IPsec ESP; run 'rmmod esp_offload' first to use %s\n",
	       mod->name, mod->name);
	return notifier_from_errno(-EBUSY);
}

static struct notifier_block espo_module_nb = {
	.notifier_call = espo_module_notify,
};

static bool espo_esp_type_taken(unsigned short family)
{
	struct xfrm_state_afinfo *afinfo;
	bool taken;

	rcu_read_lock();
	afinfo = xfrm_state_afinfo_get_rcu(family);
	taken = afinfo && (afinfo->type_esp || afinfo->type_offload_esp);
	rcu_read_unlock();
	return taken;
}

/*
 * A rival that was already past the loader's COMING notification when
 * our notifier was registered may not have run its init yet, so its ESP
 * type is not visible. From just after that notification (once its
 * parameters are parsed) until it is freed it is in /sys/module, the
 * kset our own module object belongs to: look it up there.
 */
static const char *espo_rival_loading(void)
{
	struct kset *modules = THIS_MODULE->mkobj.kobj.kset;
	struct kobject *kobj;
	unsigned int i;

	if (!modules)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(espo_rivals); i++) {
		kobj = kset_find_obj(modules, espo_rivals[i]);
		if (kobj) {
			kobject_put(kobj);
			return espo_rivals[i];
		}
	}
	return NULL;
}

/*
 * Register the notifier first, then look: a rival that loads after this
 * point is stopped by the notifier, one loaded before is seen by its ESP
 * type, and one caught in between by its module object.
 */
int espo_exclusive_init(void)
{
	const char *rival;
	int err;

	err = register_module_notifier(&espo_module_nb);
	if (err)
		return err;
	if (espo_esp_type_taken(AF_INET) || espo_esp_type_taken(AF_INET6)) {
		pr_err("the kernel's ESP (esp4/esp6) is loaded: remove every ESP SA, run 'modprobe -r esp4_offload esp6_offload esp4 esp6', then load esp_offload\n");
		goto err_busy;
	}
	rival = espo_rival_loading();
	if (rival) {
		pr_err("%s is loaded or being loaded or unloaded: remove every ESP SA, run 'modprobe -r esp4_offload esp6_offload esp4 esp6', then load esp_offload\n",
		       rival);
		goto err_busy;
	}
	return 0;

err_busy:
	unregister_module_notifier(&espo_module_nb);
	return -EBUSY;
}

void espo_exclusive_exit(void)
{
	unregister_module_notifier(&espo_module_nb);
}
