// SPDX-License-Identifier: GPL-2.0
/* coexist.c: tells whether another hypervisor module (kvm_amd, kvm_intel) is loaded. */
#include <linux/kobject.h>
#include <linux/module.h>

#include "core/kagami.h"

/*
 * Whether module @name is loaded (or built in with parameters): whether
 * /sys/module/@name exists. A module's kobject joins that kset before its init
 * runs and leaves it when it unloads, so this is exactly what lsmod shows.
 * module_kset is not exported, but every module's kobject belongs to it,
 * ours included.
 *
 * Why not something else: Linux 6.1's kvm_amd exports no symbol to
 * __symbol_get(); kvm.ko's exports (kvm_init, kvm_x86_vendor_init, ...) only
 * show that kvm.ko is loaded, which it stays after kvm_amd leaves; its
 * kvm_x86_ops (set while a vendor module is loaded) is not exported; and
 * kvm_amd sets EFER.SVME only while it has VMs.
 */
bool kagami_module_loaded(const char *name)
{
	struct kobject *kobj = kset_find_obj(THIS_MODULE->mkobj.kobj.kset, name);

	if (!kobj)
		return false;
	kobject_put(kobj);
	return true;
}
