// SPDX-License-Identifier: GPL-2.0
/* devnode.c: gives the devtmpfs node of a device a group, as devtmpfs gives owners. */
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uidgid.h>

#include "core/kagami.h"

/*
 * A misc device's devtmpfs node gets its mode from miscdevice.mode but always
 * root:root: only a struct device_type's devnode callback may set uid and gid,
 * and misc_register() creates the device without a type. So, right after
 * misc_register() (whose devtmpfs node exists once it returns), set the group
 * the way devtmpfs itself sets owners: notify_change() on its node, found
 * through a kernel-internal mount of devtmpfs, so it does not depend on where
 * (or whether) the loading process has /dev mounted.
 */
int kagami_devnode_set_group(const char *name, int gid)
{
	struct iattr attrs = { .ia_valid = ATTR_GID };
	struct file_system_type *devtmpfs;
	struct vfsmount *mnt;
	struct dentry *node;
	int r;

	attrs.ia_gid = make_kgid(&init_user_ns, gid);
	if (!gid_valid(attrs.ia_gid))
		return -EINVAL;
	devtmpfs = get_fs_type("devtmpfs");
	if (!devtmpfs)
		return -ENODEV;
	mnt = vfs_kern_mount(devtmpfs, 0, "devtmpfs", NULL);
	module_put(devtmpfs->owner);
	if (IS_ERR(mnt))
		return PTR_ERR(mnt);
	node = lookup_one_len_unlocked(name, mnt->mnt_root, strlen(name));
	if (IS_ERR(node)) {
		r = PTR_ERR(node);
	} else if (d_really_is_negative(node)) {
		r = -ENOENT;
		dput(node);
	} else {
		inode_lock(d_inode(node));
		r = notify_change(&init_user_ns, node, &attrs, NULL);
		inode_unlock(d_inode(node));
		dput(node);
	}
	mntput(mnt);
	return r;
}
