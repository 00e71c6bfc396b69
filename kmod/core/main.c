// SPDX-License-Identifier: GPL-2.0
/* main.c: module load and unload, the /dev/kagami misc device and its parameters. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/seq_file.h>

#include "core/kagami.h"
#include "x86/kvmclock.h"

static int group = -1;
module_param(group, int, 0444);
MODULE_PARM_DESC(group,
		 "gid of the group that may use /dev/kagami (mode 0660); -1 (default): root only (0600)");

struct kagami_stats kagami_stats;

static struct miscdevice kagami_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kagami",
	.fops = &kagami_dev_fops,
	.mode = 0600,
};

static struct dentry *kagami_debugfs;

static int live_objects_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "vms %d\nvcpus %d\npages %d\npinned %d\nhuge %d\nbitmaps %d\n",
		   atomic_read(&kagami_stats.vms), atomic_read(&kagami_stats.vcpus),
		   atomic_read(&kagami_stats.pages), atomic_read(&kagami_stats.pinned),
		   atomic_read(&kagami_stats.huge), atomic_read(&kagami_stats.bitmaps));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(live_objects);

static int __init kagami_init(void)
{
	const char *reason = "";
	int r;

	if (group < -1) {
		pr_err("cannot load: group=%d is not a gid (use -1 for root only)\n", group);
		return -EINVAL;
	}
	r = kagami_vendor_select(&reason);
	if (r) {
		pr_err("cannot load: %s\n", reason);
		return r;
	}
	if (group >= 0)
		kagami_misc.mode = 0660;
	r = kagami_kvmclock_init();
	if (r) {
		pr_err("cannot load: cannot follow the host's clock (error %d)\n", r);
		return r;
	}
	r = misc_register(&kagami_misc);
	if (r) {
		pr_err("cannot load: cannot register /dev/kagami (error %d)\n", r);
		kagami_kvmclock_exit();
		return r;
	}
	if (group >= 0) {
		r = kagami_devnode_set_group(kagami_misc.name, group);
		if (r) {
			pr_err("cannot load: cannot give /dev/kagami the group %d (error %d)\n",
			       group, r);
			misc_deregister(&kagami_misc);
			kagami_kvmclock_exit();
			return r;
		}
	}
	kagami_debugfs = debugfs_create_dir("kagami", NULL);
	debugfs_create_file("live_objects", 0400, kagami_debugfs, NULL, &live_objects_fops);
	pr_info("ready on /dev/kagami (%s)\n", kagami_vendor->name);
	return 0;
}

static void __exit kagami_exit(void)
{
	debugfs_remove_recursive(kagami_debugfs);
	misc_deregister(&kagami_misc);
	kagami_kvmclock_exit();
}

module_init(kagami_init);
module_exit(kagami_exit);
MODULE_DESCRIPTION("kagami: a hypervisor serving the KVM ABI on /dev/kagami");
MODULE_LICENSE("GPL");
