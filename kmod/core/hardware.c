// SPDX-License-Identifier: GPL-2.0
/* hardware.c: enables the vendor's hardware on every online CPU while at least one VM exists. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpuhotplug.h>
#include <linux/mutex.h>

#include "core/kagami.h"

/*
 * The first VM registers a dynamic CPU hotplug state: cpuhp_setup_state() runs
 * the enable callback on every online CPU (and rolls back if one fails) and on
 * each CPU that comes online later; the disable callback runs on a CPU going
 * offline. The last VM removes the state, which disables every CPU. So the
 * hardware is ours exactly while VMs exist, and idle kagami leaves it alone.
 */
static DEFINE_MUTEX(hardware_lock);
static unsigned int hardware_users;	/* guarded by hardware_lock */
static enum cpuhp_state hardware_state;	/* guarded by hardware_lock; valid while users */

static int kagami_cpu_online(unsigned int cpu)
{
	return kagami_vendor->hardware_enable();
}

static int kagami_cpu_offline(unsigned int cpu)
{
	kagami_vendor->hardware_disable();
	return 0;
}

int kagami_hardware_get(void)
{
	int r = 0;

	mutex_lock(&hardware_lock);
	if (!hardware_users) {
		r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "kagami:online",
				      kagami_cpu_online, kagami_cpu_offline);
		if (r < 0)
			goto out;
		hardware_state = r;
		r = 0;
	}
	hardware_users++;
out:
	mutex_unlock(&hardware_lock);
	return r;
}

void kagami_hardware_put(void)
{
	mutex_lock(&hardware_lock);
	if (!WARN_ON(!hardware_users) && !--hardware_users)
		cpuhp_remove_state(hardware_state);
	mutex_unlock(&hardware_lock);
}
