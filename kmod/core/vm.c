// SPDX-License-Identifier: GPL-2.0
/* vm.c: the VM fd: creation, its ioctls, and destruction on the last reference. */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "core/kagami.h"

static void kagami_vm_destroy(struct kref *ref)
{
	struct kagami_vm *vm = container_of(ref, struct kagami_vm, ref);
	unsigned int id;

	for (id = 0; id < KAGAMI_MAX_VCPUS; id++)
		if (vm->vcpus[id])
			kagami_vcpu_free(vm->vcpus[id]);
	kagami_vendor->vm_destroy(vm);
	mmdrop(vm->mm);
	mutex_destroy(&vm->lock);
	kfree(vm);
	atomic_dec(&kagami_stats.vms);
	kagami_hardware_put();
}

void kagami_vm_put(struct kagami_vm *vm)
{
	kref_put(&vm->ref, kagami_vm_destroy);
}

static int kagami_vm_release(struct inode *inode, struct file *file)
{
	kagami_vm_put(file->private_data);
	return 0;
}

static long kagami_vm_set_memory_region(struct kagami_vm *vm, void __user *argp)
{
	struct kvm_userspace_memory_region mem;
	long r;

	if (copy_from_user(&mem, argp, sizeof(mem)))
		return -EFAULT;
	mutex_lock(&vm->lock);
	r = kagami_memslot_set(vm, &mem);
	mutex_unlock(&vm->lock);
	return r;
}

/* As KVM: the TSS takes three pages below 4 GiB. */
static long kagami_vm_set_tss_addr(struct kagami_vm *vm, unsigned long addr)
{
	if (addr > (unsigned int)(-3 * PAGE_SIZE))
		return -EINVAL;
	mutex_lock(&vm->lock);
	vm->tss_addr = addr;
	mutex_unlock(&vm->lock);
	return 0;
}

/* As KVM: only before the first vCPU exists. */
static long kagami_vm_set_identity_map_addr(struct kagami_vm *vm, void __user *argp)
{
	u64 addr;
	long r = 0;

	if (copy_from_user(&addr, argp, sizeof(addr)))
		return -EFAULT;
	mutex_lock(&vm->lock);
	if (vm->nr_vcpus)
		r = -EINVAL;
	else
		vm->identity_map_addr = addr;
	mutex_unlock(&vm->lock);
	return r;
}

static long kagami_vm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kagami_vm *vm = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case KVM_SET_USER_MEMORY_REGION:
		return kagami_vm_set_memory_region(vm, argp);
	case KVM_SET_TSS_ADDR:
		return kagami_vm_set_tss_addr(vm, arg);
	case KVM_SET_IDENTITY_MAP_ADDR:
		return kagami_vm_set_identity_map_addr(vm, argp);
	case KVM_CHECK_EXTENSION:
		return kagami_check_extension(vm, arg);
	case KVM_CREATE_VCPU:
		return kagami_vcpu_create(vm, arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations kagami_vm_fops = {
	.owner = THIS_MODULE,
	.release = kagami_vm_release,
	.unlocked_ioctl = kagami_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* KVM_CREATE_VM: only type 0 (the default machine) exists. */
int kagami_vm_create(unsigned long type)
{
	struct kagami_vm *vm;
	int r;

	if (type)
		return -EINVAL;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	r = kagami_hardware_get();
	if (r) {
		kfree(vm);
		return r;
	}
	kref_init(&vm->ref);
	mutex_init(&vm->lock);
	init_rwsem(&vm->run_sem);
	r = kagami_vendor->vm_init(vm);
	if (r) {
		mutex_destroy(&vm->lock);
		kfree(vm);
		kagami_hardware_put();
		return r;
	}
	vm->mm = current->mm;
	mmgrab(vm->mm);
	atomic_inc(&kagami_stats.vms);
	r = anon_inode_getfd("kagami-vm", &kagami_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (r < 0)
		kagami_vm_put(vm);
	return r;
}
